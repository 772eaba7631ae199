"""extract_code, extract_yaml and fenced_blocks on ugly coding answers."""

from __future__ import annotations

import pytest
import yaml

from papercoder.parsing.code_extract import extract_code, extract_yaml, fenced_blocks

CODE = "import torch\n\n\nclass Model(torch.nn.Module):\n    def forward(self, x):\n        return x\n"
CRLF = CODE.replace("\n", "\r\n")


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(f"```python\n{CODE}```", id="python"),
        pytest.param(f"```py\n{CODE}```", id="py"),
        pytest.param(f"```Python3\n{CODE}```", id="python3-upper"),
        pytest.param(f"```\n{CODE}```", id="untagged"),
        pytest.param(f"~~~python\n{CODE}~~~", id="tilde"),
        pytest.param(f"````python\n{CODE}````", id="four-backticks"),
        pytest.param(f"```python model.py\n{CODE}```", id="tag-and-name"),
        pytest.param(f"```python:model.py\n{CODE}```", id="tag-colon-name"),
        pytest.param(f"```model.py\n{CODE}```", id="name-as-tag"),
        pytest.param(f"Here is the file:\n\n```python\n{CODE}```\n\nThis defines the model.", id="prose-around"),
        pytest.param(f"```python\n{CODE}", id="unterminated"),
        pytest.param(f"```python\n{CODE}\n\n\n", id="unterminated-blank-tail"),
        pytest.param(f"```python\r\n{CRLF}```\r\n", id="crlf"),
        pytest.param(f"[CONTENT]\n```python\n{CODE}```\n[/CONTENT]", id="content-fenced"),
        pytest.param(f"[CONTENT]\n{CODE}[/CONTENT]", id="content-bare"),
        pytest.param(f"```bash\npip install torch\n```\nNow the file:\n```python\n{CODE}```", id="bash-first"),
        pytest.param(f"```python\nm = Model()\n```\nThe full file:\n```python\n{CODE}```", id="usage-then-file"),
        pytest.param(f"```python\n{CODE}```\nUsage:\n```python\nModel()(x)\n```", id="file-then-usage"),
        pytest.param(f"```bash\npip install torch\n```\n```\n{CODE}```", id="untagged-beats-other-tag"),
        pytest.param(f"1. model.py\n   ```python\n{CODE.replace(chr(10), chr(10) + '   ')[:-3]}   ```", id="indented"),
        pytest.param(CODE, id="no-fence"),
        pytest.param(f"Here is the code:\n{CODE}", id="no-fence-chatter"),
        pytest.param(
            f"Sure! Here's the complete implementation of model.py:\n\n{CODE}\nThis follows the paper.", id="both-ends"
        ),
        pytest.param(f"\n\n```python\n\n\n{CODE}\n\n```\n", id="blank-lines"),
        pytest.param(f"\ufeff```python\n{CODE}```", id="bom"),
    ],
)
def test_extract_code(answer: str) -> None:
    assert extract_code(answer, filename="model.py") == CODE


def test_block_naming_the_file_wins() -> None:
    other = "x = 1\n" * 10
    answer = f"```python:src/utils.py\n{other}```\n```python:src/model.py\n{CODE}```"
    assert extract_code(answer, filename="src/model.py") == CODE
    assert extract_code(answer, filename="src/utils.py") == other


def test_language_argument_without_filename() -> None:
    answer = f"```yaml\na: 1\n```\n```python\n{CODE}```"
    assert extract_code(answer, language="python") == CODE
    assert extract_code(answer, language="yml") == "a: 1\n"


def test_no_hint_takes_the_longest_block() -> None:
    assert extract_code(f"```text\nshort\n```\n```python\n{CODE}```") == CODE


DOC_INDENTED = 'def f():\n    """Example:\n\n    ```python\n    f()\n    ```\n    """\n    return 1\n'
DOC_MODULE = '"""Usage.\n\n```\npython main.py\n```\n"""\n\nimport os\n\nPATH = os.sep\n'
DOC_SINGLE = "def g():\n    '''Run:\n\n```\ng()\n```\n    '''\n    return 2\n"


@pytest.mark.parametrize("code", [DOC_INDENTED, DOC_MODULE, DOC_SINGLE])
@pytest.mark.parametrize("fence", ["```", "````"])
def test_nested_fences_in_python_docstrings(code: str, fence: str) -> None:
    answer = f"Here it is:\n{fence}python\n{code}{fence}\nUsage:\n```bash\npython main.py\n```"
    assert extract_code(answer, filename="pkg/main.py") == code


def test_untagged_python_block_is_docstring_aware() -> None:
    assert extract_code(f"```\n{DOC_MODULE}```\nDone.", filename="main.py") == DOC_MODULE


def test_stray_triple_quote_does_not_swallow_the_answer() -> None:
    code = "QUOTE = \"'''\"\nx = 1\n"
    answer = f"```python\n{code}```\nThat sets QUOTE.\n```bash\npython a.py\n```"
    assert extract_code(answer, filename="a.py") == code


def test_fence_characters_inside_a_string_line_are_content() -> None:
    code = 'FENCE = "```"\nprint(FENCE)\n'
    assert extract_code(f"```python\n{code}```", filename="a.py") == code


README = "# Title\n\nInstall:\n\n```bash\npip install -r requirements.txt\n```\n\nRun:\n\n```\npython main.py\n```\n"


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(f"````markdown\n{README}````", id="four-backtick-wrapper"),
        pytest.param(f"```markdown\n{README}```", id="same-length-wrapper"),
        pytest.param(f"Here is the README:\n\n```md\n{README}```\nLet me know!", id="md-tag-prose"),
        pytest.param(f"Here is the README:\n```\n{README}```", id="untagged-wrapper"),
        pytest.param(README, id="bare"),
        pytest.param(f"Here is the README.md file:\n\n{README}", id="bare-with-chatter"),
        pytest.param(f"```markdown\n{README}", id="unterminated"),
    ],
)
def test_markdown_files_keep_their_own_fences(answer: str) -> None:
    assert extract_code(answer, filename="README.md") == README


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("", ""),
        ("   \n\n", ""),
        ("```python\n```", ""),
        ("[CONTENT]\n[/CONTENT]", ""),
        ("x = 1", "x = 1\n"),
        ("x = 1\n\n\n\n", "x = 1\n"),
        ("x = 1\r\ny = 2\r\n", "x = 1\ny = 2\n"),
        ("x = 1\ry = 2", "x = 1\ny = 2\n"),
        ("# model.py\nimport os\n", "# model.py\nimport os\n"),
        ("I could not write this file because the paper omits the details.", None),
    ],
)
def test_edge_answers(answer: str, expected: str | None) -> None:
    got = extract_code(answer, filename="a.py")
    assert got == (expected if expected is not None else answer + "\n")


def test_prose_is_kept_when_the_rest_is_not_code() -> None:
    answer = "Here is my reasoning:\nThe model has two parts.\nBoth are simple."
    assert extract_code(answer, filename="a.py") == answer + "\n"


@pytest.mark.parametrize(
    "answer",
    [
        "# Project\n\nThis project is licensed under MIT.\n",
        "Overview:\n\nThe model has two parts.\nBoth are simple.\n",
    ],
)
def test_markdown_sentences_are_content(answer: str) -> None:
    assert extract_code(answer, filename="README.md") == answer


def test_requirements_txt() -> None:
    answer = "```bash\npip install -r requirements.txt\n```\n```text\ntorch>=2.0\nnumpy\n```"
    assert extract_code(answer, filename="requirements.txt") == "torch>=2.0\nnumpy\n"


def test_fenced_blocks_reports_closing() -> None:
    blocks = fenced_blocks("```python\na = 1\n```\ntext\n~~~\nb\n")
    assert [(b.lang, b.body, b.closed) for b in blocks] == [("python", "a = 1", True), ("", "b\n", False)]


@pytest.mark.parametrize(
    "answer",
    [
        "```yaml\nlr: 0.01\nepochs: 3\n```",
        "```yml\nlr: 0.01\nepochs: 3\n```",
        "Here is the config:\n```yaml\nlr: 0.01\nepochs: 3\n```\nAdjust as needed.",
        "lr: 0.01\nepochs: 3",
        "Here is the config:\nlr: 0.01\nepochs: 3",
        "[CONTENT]\n```yaml\nlr: 0.01\nepochs: 3\n```\n[/CONTENT]",
        "```yaml\r\nlr: 0.01\r\nepochs: 3\r\n```",
        "```bash\npython main.py --config config.yaml\n```\n```yaml\nlr: 0.01\nepochs: 3\n```",
    ],
)
def test_extract_yaml(answer: str) -> None:
    assert extract_yaml(answer) == "lr: 0.01\nepochs: 3\n"


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        ("", "empty"),
        ("```yaml\n- a\n- b\n```", "not a YAML mapping (got list)"),
        ("just a sentence", "not a YAML mapping (got str)"),
        ("key: [unclosed", "not valid YAML at line"),
        ("```yaml\na: 1\n  b: 2\n```", "not valid YAML at line 2"),
    ],
)
def test_extract_yaml_errors(answer: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        extract_yaml(answer)
    assert fragment in str(info.value)


CONFIG = "training:\n  lr: 0.1\n"
LOGIC_JSON = '{"Required packages": ["torch==2.1"], "Logic Analysis": [["model.py", "the encoder"]], "Task list": []}'


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(
            f"[CONTENT]\n{LOGIC_JSON}\n[/CONTENT]\n\n```yaml\ntraining:\n  lr: 0.1\n```\n", id="after-content"
        ),
        pytest.param(
            f"Repeating the design:\n```json\n{LOGIC_JSON}\n```\nAnd the config:\n```yml\ntraining:\n  lr: 0.1\n```",
            id="after-json-block",
        ),
        pytest.param('{"Code: config.yaml": "```yaml\\ntraining:\\n  lr: 0.1\\n```"}', id="yaml-string-in-json"),
        pytest.param('[CONTENT]{"config.yaml": "training:\\n  lr: 0.1\\n"}[/CONTENT]', id="bare-yaml-string-in-json"),
    ],
)
def test_config_answers_of_real_models_give_the_yaml(answer: str) -> None:
    assert yaml.safe_load(extract_yaml(answer)) == {"training": {"lr": 0.1}}


def test_config_answer_that_only_repeats_the_logic_json_is_refused() -> None:
    with pytest.raises(ValueError, match="logic design"):
        extract_yaml(f"[CONTENT]\n{LOGIC_JSON}\n[/CONTENT]")


def test_one_key_config_with_a_text_block_is_kept() -> None:
    answer = "```yaml\nnotes: |\n  trained on 8 GPUs\n  for 3 days\n```"
    assert yaml.safe_load(extract_yaml(answer)) == {"notes": "trained on 8 GPUs\nfor 3 days\n"}


README_IN_PYTHON_FENCE = (
    "Here is the README:\n\n```python\n# Transformer\n\nInstall:\n\n```bash\npip install -r requirements.txt\n```\n\n"
    "Run the smoke test:\n\n```python\nimport main\nmain.run(smoke=True)\n```\n\nLicense: MIT.\n```\n\nHope this helps!"
)


def test_markdown_file_wrapped_whole_in_a_python_fence_is_unwrapped() -> None:
    readme = extract_code(README_IN_PYTHON_FENCE, filename="README.md")
    assert readme.startswith("# Transformer\n") and readme.endswith("License: MIT.\n")
    assert "```bash\npip install -r requirements.txt\n```" in readme and "```python\nimport main" in readme


def test_markdown_file_that_starts_with_a_code_example_is_not_unwrapped() -> None:
    answer = "```bash\npip install .\n```\n\nThen read the docs.\n\n```bash\nmake test\n```\n"
    assert extract_code(answer, filename="README.md") == answer
