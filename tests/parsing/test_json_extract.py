"""extract_json and normalize_keys on ugly, real-world model answers."""

from __future__ import annotations

import pytest

from papercoder.parsing.json_extract import JSONExtractionError, canonical, extract_json, normalize_keys

OBJ = {"File list": ["main.py", "model.py"], "Anything UNCLEAR": ""}
BODY = '{\n  "File list": ["main.py", "model.py"],\n  "Anything UNCLEAR": ""\n}'


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(BODY, id="bare"),
        pytest.param(f"  \n{BODY}\n\n", id="bare-whitespace"),
        pytest.param(f"\ufeff{BODY}", id="bom"),
        pytest.param(f"```json\n{BODY}\n```", id="fenced-json"),
        pytest.param(f"```JSON\n{BODY}\n```", id="fenced-upper-tag"),
        pytest.param(f"```\n{BODY}\n```", id="fenced-untagged"),
        pytest.param(f"~~~json\n{BODY}\n~~~", id="tilde-fence"),
        pytest.param(f"````json\n{BODY}\n````", id="four-backticks"),
        pytest.param(f"Sure! Here is the design:\n\n```json\n{BODY}\n```\n\nLet me know.", id="prose-around-fence"),
        pytest.param(f"```json\n{BODY}", id="unterminated-fence"),
        pytest.param(f"[CONTENT]\n{BODY}\n[/CONTENT]", id="content"),
        pytest.param(f"## Design\n[CONTENT]\n```json\n{BODY}\n```\n[/CONTENT]\nThat's it.", id="content-fenced"),
        pytest.param(f"[CONTENT]\n{BODY}", id="content-unclosed"),
        pytest.param(f"[content]{BODY}[/content]", id="content-lowercase"),
        pytest.param(f"The design is {BODY} as discussed.", id="embedded-in-prose"),
        pytest.param(f"Use the format {{file: logic}}. Answer: {BODY}", id="stray-braces-before"),
        pytest.param('{\n  "File list": ["main.py", "model.py",],\n  "Anything UNCLEAR": "",\n}', id="trailing-commas"),
        pytest.param(BODY.replace("\n", "\r\n"), id="crlf"),
        pytest.param(
            '{\n  // files to write\n  "File list": ["main.py", "model.py"], # both\n'
            '  /* none */ "Anything UNCLEAR": ""\n}',
            id="comments",
        ),
        pytest.param(
            "{\u201cFile list\u201d: [\u201cmain.py\u201d, \u201cmodel.py\u201d], "
            "\u201cAnything UNCLEAR\u201d: \u201c\u201d}",
            id="smart",
        ),
        pytest.param("{'File list': ['main.py', 'model.py'], 'Anything UNCLEAR': ''}", id="python-dict"),
        pytest.param(
            '```json\n{"File list": [}\n```\nSorry, corrected:\n```json\n' + BODY + "\n```", id="second-block-fixes"
        ),
        pytest.param('```json\n{"x": 1}\n```\nFull answer:\n```json\n' + BODY + "\n```", id="largest-dict-wins"),
        pytest.param(
            '```json\n["a", "b", "c", "d", "e", "f", "g"]\n```\n```json\n' + BODY + "\n```", id="dict-beats-list"
        ),
        pytest.param(f"```bash\npip install torch\n```\n```json\n{BODY}\n```", id="other-block-first"),
    ],
)
def test_wrappers(text: str) -> None:
    assert extract_json(text) == OBJ


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"lang": "C#", "url": "https://x.org/a#frag"} # note', {"lang": "C#", "url": "https://x.org/a#frag"}),
        ('{"note": "a // b", "glob": "/* x */"} // note', {"note": "a // b", "glob": "/* x */"}),
        ('{"q": "the \u201cbest\u201d run"}', {"q": "the \u201cbest\u201d run"}),
        ('{"q": "say \\"hi\\" # not a comment",}', {"q": 'say "hi" # not a comment'}),
        ('{"code": "def f():\n    return 1"}', {"code": "def f():\n    return 1"}),
        ("{'ok': true, 'none': null, 'no': False}", {"ok": True, "none": None, "no": False}),
        ("{'C#': 'x # y'}  # comment", {"C#": "x # y"}),
        ('[{"file": "a.py"}, {"file": "b.py"},]', [{"file": "a.py"}, {"file": "b.py"}]),
        ('Files: ["a.py", "b.py"]. Done.', ["a.py", "b.py"]),
        ("42", 42),
        ('{"a": 1}\n{"b": 2}', {"a": 1}),
        ('{"n": 1e-3, "big": [1, 2, [3, {"deep": true}]]}', {"n": 0.001, "big": [1, 2, [3, {"deep": True}]]}),
    ],
)
def test_strings_and_values_survive(text: str, expected: object) -> None:
    assert extract_json(text) == expected


def test_json_inside_a_string_does_not_win_over_the_whole_answer() -> None:
    text = '{"readme": "```json\\n{\\"x\\": 1}\\n```", "File list": []}'
    assert extract_json(text) == {"readme": '```json\n{"x": 1}\n```', "File list": []}


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("", ["empty"]),
        ("   \n\t", ["empty"]),
        ("I cannot answer in JSON.", ["no JSON object"]),
        ("See [1] and [2] for details.", ["no JSON object"]),
        ("```json\n```", ["```json block is empty"]),
        ('```json\n{"File list": ["a.py", "b.py"\n```', ["cut off", "']}'"]),
        ('{"Logic Analysis": [["a.py", "does x"], ["b.py", "does', ["cut off", "line 1", "'\"]]}'"]),
        ('[CONTENT]\n{\n  "a": 1,\n  "b": [\n', ["cut off", "[CONTENT]", "']}'"]),
        (
            '```json\n{"a": 1 "b": 2}\n```',
            ["Expecting ',' delimiter", "line 1 column 9", "```json block", '{"a": 1 "b": 2}'],
        ),
        ('{\n  "a": 1,\n  "b": tru\n}', ["line 3 column 8", "'\"b\": tru'"]),
        ('{\n  // c\n  "a": 1\n  "b": 2\n}', ["line 4 column 3"]),
    ],
)
def test_errors_are_specific(text: str, fragments: list[str]) -> None:
    with pytest.raises(JSONExtractionError) as info:
        extract_json(text)
    message = str(info.value)
    assert "\n" not in message and len(message) < 240
    for fragment in fragments:
        assert fragment in message


def test_error_excerpt_is_shortened() -> None:
    text = '{"a": "' + "x" * 300 + '" "b": 1}'
    with pytest.raises(JSONExtractionError, match=r"\.\.\.'$"):
        extract_json(text)


def test_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        extract_json("nope")


@pytest.mark.parametrize(
    "spelling",
    ["file_list", "File list", "fileList", "FileList", "file-list", "FILE_LIST", " File  List ", "file.list"],
)
def test_canonical(spelling: str) -> None:
    assert canonical(spelling) == "filelist"


FIELDS = {
    "implementation_approach": [],
    "file_list": [],
    "class_diagram": ["Data structures and interfaces"],
    "sequence_diagram": ["Program call flow"],
    "logic_analysis": [],
    "task_list": [],
    "required_packages": ["Required Python third-party packages"],
    "unclear_points": ["Anything UNCLEAR"],
}


@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("File list", "file_list"),
        ("fileList", "file_list"),
        ("Implementation approach", "implementation_approach"),
        ("Data structures and interfaces", "class_diagram"),
        ("data-structures-and-interfaces", "class_diagram"),
        ("classDiagram", "class_diagram"),
        ("Program call flow", "sequence_diagram"),
        ("Logic Analysis", "logic_analysis"),
        ("Task list", "task_list"),
        ("Required packages", "required_packages"),
        ("Required Python third-party packages", "required_packages"),
        ("Anything UNCLEAR", "unclear_points"),
        ("anything_unclear", "unclear_points"),
    ],
)
def test_normalize_keys_aliases(key: str, field: str) -> None:
    assert normalize_keys({key: 1, "Extra Key": 2}, FIELDS) == {field: 1, "Extra Key": 2}


def test_normalize_keys_exact_name_wins_and_order_is_kept() -> None:
    data = {"File list": ["a.py"], "file_list": ["b.py"], "Task list": [], "other": None}
    assert list(normalize_keys(data, FIELDS).items()) == [("file_list", ["b.py"]), ("task_list", []), ("other", None)]


def test_normalize_keys_first_alias_wins_without_exact_name() -> None:
    assert normalize_keys({"File List": 1, "fileList": 2}, FIELDS) == {"file_list": 1}


def test_field_name_beats_another_fields_alias() -> None:
    fields = {"name": ["title"], "title": []}
    assert normalize_keys({"Title": "t", "Name": "n"}, fields) == {"title": "t", "name": "n"}


def test_normalize_keys_does_not_mutate_input() -> None:
    data: dict[str, object] = {"File list": []}
    normalize_keys(data, FIELDS)
    assert data == {"File list": []}


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, "x ```json\n" + '{"a":' * 50_000 + "1" + "}" * 50_000])
def test_json_nested_past_the_recursion_limit_is_an_extraction_error(text: str) -> None:
    with pytest.raises(JSONExtractionError, match="nested too deeply") as info:
        extract_json(text)
    assert "\n" not in str(info.value)


def test_cut_off_json_names_a_bounded_number_of_closers() -> None:
    with pytest.raises(JSONExtractionError) as info:
        extract_json("[" * 100_000)
    assert "100,000 closers" in str(info.value) and len(str(info.value)) < 300


def test_lone_surrogate_escapes_decode_to_replacement_characters() -> None:
    value = extract_json('{"file\\ud800": ["x\\udfff.py", "pair \\ud83d\\ude00"]}')
    assert value == {"file\ufffd": ["x\ufffd.py", "pair \U0001f600"]}
