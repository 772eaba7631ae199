"""The compact planning turns for small models: a worked example, one-word file names, and the logic design held
to the files the architecture named."""

from __future__ import annotations

import re

import papercoder.pipeline  # noqa: F401
from papercoder.parsing.json_extract import extract_json
from papercoder.pipeline.planning import _with_example
from papercoder.pipeline.schemas import ArchitectureDesign, FileLogic, LogicDesign, json_schema
from papercoder.pipeline.steps import COMPACT_FILE_PATTERN

KEYS = {*ArchitectureDesign.model_fields, *LogicDesign.model_fields, *FileLogic.model_fields}


def test_no_schema_key_fits_the_compact_file_pattern() -> None:
    multiword = sorted(k for k in KEYS if "_" in k)
    assert multiword and not any(re.fullmatch(COMPACT_FILE_PATTERN, f"{k}.py") for k in multiword)
    assert all(re.fullmatch(COMPACT_FILE_PATTERN, name) for name in ("main.py", "model.py", "train2.py"))


def test_the_logic_schema_allows_only_the_planned_files() -> None:
    schema = json_schema(LogicDesign, max_items=3, max_length=300, file_pattern=COMPACT_FILE_PATTERN,
                         file_enum=["model.py", "main.py"])  # fmt: skip
    assert schema["properties"]["task_list"]["items"]["enum"] == ["model.py", "main.py"]
    assert schema["$defs"]["FileLogic"]["properties"]["file"]["enum"] == ["model.py", "main.py"]
    assert "enum" not in json_schema(LogicDesign)["properties"]["task_list"]["items"]


def test_compact_turns_end_with_a_valid_example_and_full_ones_do_not() -> None:
    for step, model in (("architecture", ArchitectureDesign), ("logic", LogicDesign)):
        turn = _with_example("TURN", step, compact=True)
        assert turn.startswith("TURN\n") and _with_example("TURN", step, compact=False) == "TURN"
        example = model.model_validate(extract_json(turn.split("\n", 2)[2]))
        files = example.file_list if isinstance(example, ArchitectureDesign) else example.task_list
        assert len(files) == 2 and all(re.fullmatch(COMPACT_FILE_PATTERN, f) for f in files)
