"""SEARCH/REPLACE edits: parsing the ways models write them, applying them strictly, diffing the result."""

from __future__ import annotations

from pathlib import Path

import pytest

from papercoder.parsing.edit_apply import apply_edits, apply_to_repo, unified_diff
from papercoder.parsing.edits import Edit, EditParseError, parse_edits

BLOCK = "<<<<<<< SEARCH\nlr = 1\n=======\nlr = 0.1\n>>>>>>> REPLACE\n"
EDIT = Edit("src/train.py", "lr = 1\n", "lr = 0.1\n")


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(f"src/train.py\n{BLOCK}", id="bare-line"),
        pytest.param(f"src/train.py:\n```python\n{BLOCK}```", id="colon-then-fence"),
        pytest.param(f"```python\nsrc/train.py\n{BLOCK}```", id="inside-fence"),
        pytest.param(f"**src/train.py**\n```python\n{BLOCK}```", id="bold"),
        pytest.param(f"**`src/train.py`**\n\n```\n{BLOCK}```", id="bold-backticks"),
        pytest.param(f"### src/train.py\n```python\n{BLOCK}```", id="heading"),
        pytest.param(f"File: src/train.py\n```python\n{BLOCK}```", id="file-label"),
        pytest.param(f"```python src/train.py\n{BLOCK}```", id="fence-info"),
        pytest.param(f"```python:src/train.py\n{BLOCK}```", id="fence-info-colon"),
        pytest.param(f"- `src/train.py`\n{BLOCK}", id="bullet"),
        pytest.param(f"src\\train.py\n{BLOCK}", id="backslashes-kept-for-apply"),
        pytest.param(f"In `src/train.py`, lower the rate:\n\n```python\n{BLOCK}```\nDone.", id="prose-backticks"),
        pytest.param(f"src/train.py\n```python\n{BLOCK}```".replace("\n", "\r\n"), id="crlf"),
        pytest.param(f"src/train.py\n{BLOCK}".replace("<<<<<<< SEARCH", "<<<<<<< SEARCH  "), id="marker-spaces"),
    ],
)
def test_parse_path_styles(answer: str) -> None:
    edits = parse_edits(answer)
    assert len(edits) == 1
    assert edits[0].path.replace("\\", "/") == "src/train.py"
    assert (edits[0].search, edits[0].replace) == (EDIT.search, EDIT.replace)


def test_parse_several_blocks_and_files() -> None:
    answer = (
        "I'll fix two things. First `model.py`:\n\n"
        "model.py\n```python\n"
        "<<<<<<< SEARCH\n    def forward(self, x):\n        return x\n=======\n"
        "    def forward(self, x):\n        return self.fc(x)\n>>>>>>> REPLACE\n"
        "<<<<<<< SEARCH\nimport os\n=======\nimport os\nimport torch\n>>>>>>> REPLACE\n```\n\n"
        "Then a new helper (note the `x.shape` fix):\n\nutils/helpers.py\n```python\n"
        "<<<<<<< SEARCH\n=======\ndef helper():\n    return 1\n>>>>>>> REPLACE\n```\n"
        "And a deletion:\n```python\nmodel.py\n<<<<<<< SEARCH\nDEBUG = True\n=======\n>>>>>>> REPLACE\n```\n"
    )
    edits = parse_edits(answer)
    assert [e.path for e in edits] == ["model.py", "model.py", "utils/helpers.py", "model.py"]
    assert edits[1] == Edit("model.py", "import os\n", "import os\nimport torch\n")
    assert edits[2].search == "" and edits[2].replace == "def helper():\n    return 1\n"
    assert edits[3].replace == ""


def test_parse_keeps_markdown_fences_and_dividers_inside_sections() -> None:
    answer = "README.md\n<<<<<<< SEARCH\n```bash\nold\n```\n=======\nTitle\n=======\n```bash\nnew\n```\n>>>>>>> REPLACE"
    (edit,) = parse_edits(answer)
    assert edit.search == "```bash\nold\n```\n"
    assert edit.replace == "Title\n=======\n```bash\nnew\n```\n"


def test_parse_no_blocks() -> None:
    assert parse_edits("The code looks right to me; no changes needed.") == []
    assert parse_edits("Summary\n=======\nNothing to change in `model.py`.") == []


@pytest.mark.parametrize(
    ("answer", "fragments"),
    [
        (BLOCK, ["line 1", "names no file"]),
        ("a.py\n<<<<<<< SEARCH\nx = 1\n>>>>>>> REPLACE\n", ["line 2", "a.py", "'======='"]),
        ("a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n", ["'>>>>>>> REPLACE'", "cut off"]),
        ("a.py\n<<<<<<< SEARCH\nx = 1\n", ["'======='", "cut off"]),
        ("a.py\n<<<<<<< SEARCH\nx\n=======\ny\n<<<<<<< SEARCH\n", ["'>>>>>>> REPLACE'", "line 6"]),
        ("a.py\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n", ["line 5", "without a '<<<<<<< SEARCH'"]),
    ],
)
def test_parse_errors_are_specific(answer: str, fragments: list[str]) -> None:
    with pytest.raises(EditParseError) as info:
        parse_edits(answer)
    for fragment in fragments:
        assert fragment in str(info.value)


MODEL = (
    "import os\n\n\nclass Model:\n    def forward(self, x):\n        return x\n\n    def loss(self, y):\n"
    "        return y\n"
)


def _apply_one(content: str, search: str, replace: str, path: str = "model.py") -> tuple[str | None, str]:
    result = apply_edits({path: content}, [Edit(path, search, replace)])
    return result.files.get(path), result.report()


@pytest.mark.parametrize(
    ("search", "replace", "expected"),
    [
        pytest.param(
            "        return x\n", "        return x * 2\n", MODEL.replace("return x\n", "return x * 2\n"), id="exact"
        ),
        pytest.param(
            "        return x   \n", "        return -x\n", MODEL.replace("return x\n", "return -x\n"), id="trailing-ws"
        ),
        pytest.param(
            "def forward(self, x):\n    return x\n",
            "def forward(self, x):\n    x = x + 1\n    return x\n",
            MODEL.replace("        return x\n", "        x = x + 1\n        return x\n"),
            id="indent-drift-less",
        ),
        pytest.param(
            "            def forward(self, x):\n                return x\n",
            "            def forward(self, x):\n                return x.relu()\n",
            MODEL.replace("return x\n", "return x.relu()\n"),
            id="indent-drift-more",
        ),
        pytest.param(
            "\n\n    def forward(self, x):\n        return x\n\n",
            "\n\n    def forward(self, x):\n        return x + 1\n\n",
            MODEL.replace("return x\n", "return x + 1\n"),
            id="extra-blank-lines",
        ),
        pytest.param("import os\n", "import os\nimport sys\n", "import os\nimport sys\n" + MODEL[10:], id="top"),
        pytest.param(
            "    def loss(self, y):\n        return y\n", "", MODEL[: MODEL.index("    def loss")], id="delete"
        ),
    ],
)
def test_apply_matching_levels(search: str, replace: str, expected: str) -> None:
    new, report = _apply_one(MODEL, search, replace)
    assert report == ""
    assert new == expected


def test_apply_crlf_file_keeps_crlf() -> None:
    crlf = MODEL.replace("\n", "\r\n")
    new, report = _apply_one(crlf, "        return x\n", "        return x + 1\n")
    assert report == ""
    assert new == MODEL.replace("return x\n", "return x + 1\n").replace("\n", "\r\n")


def test_apply_crlf_edit_on_lf_file() -> None:
    new, _ = _apply_one(MODEL, "        return x\r\n", "        return 0\r\n")
    assert new == MODEL.replace("return x\n", "return 0\n")


def test_apply_keeps_missing_final_newline() -> None:
    new, _ = _apply_one("a = 1\nb = 2", "a = 1\n", "a = 3\n")
    assert new == "a = 3\nb = 2"


def test_ambiguous_match_is_refused() -> None:
    content = "x = 0\nx = 0\n"
    new, report = _apply_one(content, "x = 0\n", "x = 1\n", path="a.py")
    assert new is None
    assert "SEARCH block for a.py matched 2 places (lines 1, 2); add surrounding lines to make it unique" in report


def test_ambiguous_after_indent_normalisation_is_refused() -> None:
    content = "def f():\n    return 1\n\nclass A:\n    def f():\n        return 1\n"
    new, report = _apply_one(content, "def f():\n    return 1\n", "def f():\n    return 2\n", path="a.py")
    assert new == content.replace("    return 1\n\nclass", "    return 2\n\nclass")  # the exact match wins
    new, report = _apply_one(content, "  def f():\n      return 1\n", "  def f():\n      return 2\n", path="a.py")
    assert new is None and "matched 2 places" in report


def test_no_match_is_refused_with_a_hint() -> None:
    new, report = _apply_one(MODEL, "    def forward(self, x, mask):\n        return x\n", "pass\n")
    assert new is None
    assert "SEARCH block for model.py matched nothing" in report
    assert "closest line is 5: 'def forward(self, x):'" in report


def test_inconsistent_indentation_is_not_a_match() -> None:
    new, report = _apply_one(MODEL, "def forward(self, x):\n        return x\n", "pass\n")
    assert new is None and "matched nothing" in report


def test_new_file_creation_and_empty_search_on_existing_file() -> None:
    edits = [
        Edit("pkg/new.py", "", "def f():\n    return 1"),
        Edit("pkg/new.py", "    return 1\n", "    return 2\n"),
        Edit("model.py", "", "x = 1\n"),
        Edit("empty.py", "", "y = 2\n"),
    ]
    result = apply_edits({"model.py": MODEL, "empty.py": ""}, edits)
    assert result.files == {"pkg/new.py": "def f():\n    return 2\n", "empty.py": "y = 2\n"}
    assert [f.edit for f in result.failures] == [edits[2]]
    assert "SEARCH block for model.py is empty but model.py exists" in result.report()
    assert len(result.applied) == 3 and not result.ok


def test_missing_file_with_search_is_refused() -> None:
    result = apply_edits({}, [Edit("nope.py", "x = 1\n", "x = 2\n")])
    assert result.files == {} and "nope.py does not exist" in result.report()


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("../outside.py", "'..'"),
        ("../../etc/passwd", "'..'"),
        ("/etc/passwd", "absolute"),
        ("C:\\x.py", "absolute"),
        (".git/hooks/pre-commit", ".git"),
        ("", "empty"),
    ],
)
def test_path_traversal_is_refused(path: str, fragment: str) -> None:
    result = apply_edits({"a.py": "x = 1\n"}, [Edit(path, "", "evil\n")])
    assert result.files == {}
    assert result.report().startswith("refused edit:") and fragment in result.report()


def test_paths_are_normalised_and_matched_up_to_case() -> None:
    edits = [Edit("./src\\Model.py", "x = 1\n", "x = 2\n")]
    result = apply_edits({"src/model.py": "x = 1\n"}, edits)
    assert result.files == {"src/model.py": "x = 2\n"} and result.ok


def test_edits_build_on_each_other_and_failures_do_not_block_others() -> None:
    edits = [
        Edit("a.py", "x = 1\n", "x = 2\n"),
        Edit("a.py", "x = 2\n", "x = 3\n"),
        Edit("a.py", "missing\n", "y\n"),
        Edit("b.py", "z = 1\n", "z = 1\n"),
    ]
    result = apply_edits({"a.py": "x = 1\n", "b.py": "z = 1\n"}, edits)
    assert result.files == {"a.py": "x = 3\n"}  # b.py did not change
    assert len(result.applied) == 3 and len(result.failures) == 1


def test_apply_does_not_mutate_input() -> None:
    files = {"a.py": "x = 1\n"}
    apply_edits(files, [Edit("a.py", "x = 1\n", "x = 2\n")])
    assert files == {"a.py": "x = 1\n"}


def test_unified_diff() -> None:
    old = {"a.py": "x = 1\ny = 2\n", "gone.py": "z\n", "same.py": "s\n"}
    new = {"a.py": "x = 1\ny = 3", "new.py": "n\n", "same.py": "s\n"}
    diff = unified_diff(old, new)
    assert "--- a/a.py\n+++ b/a.py\n" in diff and "-y = 2\n+y = 3\n" in diff
    assert "--- /dev/null\n+++ b/new.py\n" in diff and "--- a/gone.py\n+++ /dev/null\n" in diff
    assert "same.py" not in diff
    assert unified_diff(old, old) == ""


def test_parse_apply_diff_round_trip() -> None:
    answer = (
        "model.py\n```python\n<<<<<<< SEARCH\n        return x\n=======\n        return x + 1\n>>>>>>> REPLACE\n```"
    )
    files = {"model.py": MODEL}
    result = apply_edits(files, parse_edits(answer))
    diff = unified_diff(files, {**files, **result.files})
    assert "-        return x\n+        return x + 1\n" in diff


def test_apply_to_repo(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "m.py").write_bytes(b"a = 1\r\nb = 2\r\n")
    outside = tmp_path / "outside.py"
    outside.write_text("secret\n")
    (repo / "link").symlink_to(tmp_path, target_is_directory=True)
    edits = [
        Edit("src/m.py", "a = 1\n", "a = 10\n"),
        Edit("pkg/new.py", "", "n = 1\n"),
        Edit("../escape.py", "", "x\n"),
        Edit("link/outside.py", "secret\n", "pwned\n"),
        Edit("src/m.py", "missing\n", "x\n"),
    ]
    result = apply_to_repo(repo, edits)
    assert (repo / "src" / "m.py").read_bytes() == b"a = 10\r\nb = 2\r\n"
    assert (repo / "pkg" / "new.py").read_text() == "n = 1\n"
    assert outside.read_text() == "secret\n" and not (tmp_path / "escape.py").exists()
    assert set(result.files) == {"src/m.py", "pkg/new.py"}
    messages = [f.message for f in result.failures]
    assert len(messages) == 3 and "matched nothing" in messages[1]
    assert sum(m.startswith("refused edit") for m in messages) == 2


def test_large_file_is_fast() -> None:
    content = "".join(f"line_{i} = {i}\n" for i in range(20000))
    new, report = _apply_one(content, "line_19998 = 19998\nline_19999 = 19999\n", "done = True\n", path="big.py")
    assert report == "" and new is not None and new.endswith("line_19997 = 19997\ndone = True\n")


# A model's common slip: a second divider right before the REPLACE marker, or in its place.
SLIP_BEFORE_MARKER = (
    "Fixing the learning rate.\n\n```python\ntrain.py\n<<<<<<< SEARCH\nlr = 1\n=======\nlr = 0.1\n"
    "=======\n>>>>>>> REPLACE\n```\n"
)
SLIP_IN_PLACE = (
    "train.py\n```python\n<<<<<<< SEARCH\nlr = 1\n=======\nlr = 0.1\n=======\n```\n\n"
    "model.py\n```python\n<<<<<<< SEARCH\ndepth = 2\n=======\ndepth = 6\n  =======  \n```\nThat is all."
)


def test_second_divider_right_before_the_marker_ends_the_replacement() -> None:
    (edit,) = parse_edits(SLIP_BEFORE_MARKER)
    assert edit == Edit("train.py", "lr = 1\n", "lr = 0.1\n")
    blank_between = SLIP_BEFORE_MARKER.replace("=======\n>>>>>>>", "=======\n\n>>>>>>>")
    assert parse_edits(blank_between) == [edit]


def test_second_divider_in_place_of_the_marker_ends_the_block() -> None:
    edits = parse_edits(SLIP_IN_PLACE)
    assert edits == [Edit("train.py", "lr = 1\n", "lr = 0.1\n"), Edit("model.py", "depth = 2\n", "depth = 6\n")]
    result = apply_edits({"train.py": "lr = 1\n", "model.py": "depth = 2\n"}, edits)
    assert result.ok and "=======" not in "".join(result.files.values())


def test_divider_followed_by_content_is_an_underline_not_a_slip() -> None:
    answer = 'doc.py\n<<<<<<< SEARCH\n"""Old."""\n=======\n"""Results\n=======\nTable 1."""\n>>>>>>> REPLACE\n'
    (edit,) = parse_edits(answer)
    assert edit.replace == '"""Results\n=======\nTable 1."""\n'


def test_markdown_divider_before_the_marker_is_content() -> None:
    answer = "README.md\n<<<<<<< SEARCH\nold\n=======\nResults\n=======\n>>>>>>> REPLACE\n"
    (edit,) = parse_edits(answer)
    assert edit.replace == "Results\n=======\n"


@pytest.mark.parametrize("name", ["train.sbatch", "configs/base.jsonnet", "setup.cfg", "Makefile", "notes.xyz"])
def test_a_file_name_line_with_any_suffix_starts_a_new_file(name: str) -> None:
    answer = (
        f"model.py\n{BLOCK}\nand the launcher:\n\n{name}\n```\n<<<<<<< SEARCH\nsteps: 10\n=======\nsteps: 20\n"
        ">>>>>>> REPLACE\n```\n"
    )
    first, second = parse_edits(answer)
    assert first.path == "model.py"
    assert second.path == name  # never inherited from model.py
    result = apply_edits({"model.py": "lr = 1\n"}, [first, second])
    assert result.files == {"model.py": "lr = 0.1\n"}
    assert len(result.failures) == 1 and name in result.failures[0].message


def test_prose_without_a_name_still_keeps_the_previous_file() -> None:
    answer = f"model.py\n{BLOCK}\nAlso lower it again, e.g. as below.\n{BLOCK}"
    assert [e.path for e in parse_edits(answer)] == ["model.py", "model.py"]
