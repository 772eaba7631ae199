"""Pure parsers on ugly model output: JSON wrappers, key spellings, code blocks, unsafe file names."""

from __future__ import annotations

import pytest

from papercoder.parsing.code_extract import extract_code, extract_yaml
from papercoder.parsing.json_extract import JSONExtractionError, canonical, extract_json, normalize_keys
from papercoder.parsing.paths import dedupe_paths, is_source_file, safe_repo_path
from papercoder.pipeline.schemas import ArchitectureDesign, LogicDesign, parse_planning_json

OBJ = {"a": 1, "b": ["x", "y"]}


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "b": ["x", "y"]}',
        'Sure! Here it is:\n```json\n{"a": 1, "b": ["x", "y"]}\n```\nHope this helps.',
        '```\n{"a": 1, "b": ["x", "y"]}\n```',
        '~~~json\n{"a": 1, "b": ["x", "y"]}\n~~~',
        '[CONTENT]\n{"a": 1, "b": ["x", "y"]}\n[/CONTENT]',
        '[CONTENT]\n```json\n{"a": 1, "b": ["x", "y"],}\n```\n[/CONTENT]',
        '{"a": 1, "b": ["x", "y",],}',
        '{\n  "a": 1,  # the count\n  // a comment line\n  "b": ["x", "y"]\n}',
        "\ufeff{\u201ca\u201d: 1, \u201cb\u201d: [\u201cx\u201d, \u201cy\u201d]}",
        "{'a': 1, 'b': ['x', 'y']}",
        'The design is {"a": 1, "b": ["x", "y"]} as discussed.',
        '```json\n{"wrong": }\n```\nCorrected:\n```json\n{"a": 1, "b": ["x", "y"]}\n```',
    ],
)
def test_extract_json_wrappers(text: str) -> None:
    assert extract_json(text) == OBJ


def test_hash_and_slashes_inside_strings_survive() -> None:
    text = '{"lang": "C#", "url": "https://x.org/a#frag", "note": "a // b"}  # trailing comment'
    assert extract_json(text) == {"lang": "C#", "url": "https://x.org/a#frag", "note": "a // b"}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("I cannot answer in JSON.", "no JSON"),
        ('```json\n{"File list": ["a.py", "b.py"\n```', "cut off"),
    ],
)
def test_extract_json_errors_are_specific(text: str, fragment: str) -> None:
    with pytest.raises(JSONExtractionError, match=fragment):
        extract_json(text)


def test_key_spellings_and_aliases() -> None:
    assert canonical("File list") == canonical("file_list") == canonical("fileList") == "filelist"
    data = {"File list": [], "Data structures and interfaces": "x", "Anything UNCLEAR": "", "extra": 1}
    fields = {
        "file_list": [],
        "class_diagram": ["Data structures and interfaces"],
        "unclear_points": ["anything unclear"],
    }
    assert normalize_keys(data, fields) == {"file_list": [], "class_diagram": "x", "unclear_points": "", "extra": 1}


def test_original_paper2code_shapes_validate() -> None:
    arch = parse_planning_json(
        {
            "Implementation approach": ["Use", "PyTorch"],
            "File list": ["main.py"],
            "Data structures and interfaces": "classDiagram",
            "Program call flow": "sequenceDiagram",
            "Anything UNCLEAR": "",
        },
        ArchitectureDesign,
    )
    assert arch.implementation_approach == "Use\nPyTorch" and arch.file_list == ["main.py"]
    logic = parse_planning_json(
        {
            "Required packages": ["torch"],
            "Logic Analysis": [["main.py", "entry"], {"filename": "a.py", "description": "helper"}],
            "Task list": ["a.py", "main.py"],
        },
        LogicDesign,
    )
    assert [(e.file, e.logic) for e in logic.logic_analysis] == [("main.py", "entry"), ("a.py", "helper")]


CODE = "import os\n\n\ndef f() -> int:\n    return 1\n"


@pytest.mark.parametrize(
    "answer",
    [
        f"```python\n{CODE}```",
        f"Here is the file:\n\n```py\n{CODE}```\nThat's all.",
        f"```\n{CODE}```",
        f"```python\n{CODE}",  # cut off: no closing fence
        CODE,
        f"Here is the code:\n{CODE}",
        f"```python\r\n{CODE.replace(chr(10), chr(13) + chr(10))}```",
        f"[CONTENT]\n```python\n{CODE}```\n[/CONTENT]",
        f"```bash\npip install torch\n```\nNow the file:\n```python\n{CODE}```",
    ],
)
def test_extract_code(answer: str) -> None:
    assert extract_code(answer, filename="m.py") == CODE


def test_nested_fences_inside_a_python_docstring() -> None:
    code = 'def f():\n    """Example:\n\n    ```python\n    f()\n    ```\n    """\n    return 1\n'
    assert extract_code(f"````python\n{code}````", filename="m.py") == code
    assert extract_code(f"```python\n{code}```", filename="m.py") == code


def test_markdown_file_with_inner_fences() -> None:
    readme = "# Title\n\n```bash\npython main.py\n```\n\nDone.\n"
    assert extract_code(f"````markdown\n{readme}````", filename="README.md") == readme


def test_empty_answer_gives_empty_code() -> None:
    assert extract_code("   \n", filename="a.py") == ""


def test_extract_yaml() -> None:
    assert extract_yaml("```yaml\nlr: 0.01\nepochs: 3\n```") == "lr: 0.01\nepochs: 3\n"
    with pytest.raises(ValueError, match="mapping"):
        extract_yaml("```yaml\n- a\n- b\n```")
    with pytest.raises(ValueError, match="YAML"):
        extract_yaml("key: [unclosed")


@pytest.mark.parametrize(
    ("name", "path", "refused"),
    [
        ("model.py", "model.py", False),
        ("./model.py", "model.py", False),
        ("src//model.py", "src/model.py", False),
        ("`model.py`", "model.py", False),
        ("- model.py", "model.py", False),
        ("1. model.py", "model.py", False),
        ("src\\data\\loader.py", "src/data/loader.py", False),
        ("../../etc/passwd", None, True),
        ("/abs.py", None, True),
        ("C:\\x.py", None, True),
        ("a/../../b.py", None, True),
        (".git/config", None, True),
        ("data/", None, True),
        ("", None, True),
        ("bad\x00name.py", None, True),
    ],
)
def test_safe_repo_path(name: str, path: str | None, refused: bool) -> None:
    got, note = safe_repo_path(name)
    assert got == path
    assert (note is not None) == (refused or name != path)


def test_dedupe_paths() -> None:
    kept, warnings = dedupe_paths(["a.py", "./a.py", "A.py", "../x.py", "b.py", "b.py"])
    assert kept == ["a.py", "b.py"]
    joined = "\n".join(warnings)
    assert "'A.py'" in joined and "../x.py" in joined and "duplicate 'b.py'" in joined


def test_is_source_file() -> None:
    assert is_source_file("model.py") and is_source_file("configs/base.yaml") and is_source_file("Makefile")
    assert not is_source_file("weights.pt") and not is_source_file("figure.png") and not is_source_file("data.csv")
