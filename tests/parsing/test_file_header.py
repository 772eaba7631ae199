"""Which file a coding answer's headers say it is (``headed_for``)."""

from __future__ import annotations

import pytest

from papercoder.parsing.file_header import headed_for

PLANNED = ["utils.py", "src/model.py", "main.py", "config.yaml"]
F = "```"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (f"Here is `utils.py`:\n{F}python\nx = 1\n{F}\n", None),
        (f"{F}python\nx = 1\n{F}\n", None),
        (f"Here is `model.py`:\n{F}python\nx = 1\n{F}\n", "src/model.py"),
        (f"{F}python:src/model.py\nx = 1\n{F}\n", "src/model.py"),
        (f'{F}python title="main.py"\nx = 1\n{F}\n', "main.py"),
        (f"{F}python\n# File: main.py\nx = 1\n{F}\n", "main.py"),
        (f"{F}python\n# main.py\nx = 1\n{F}\n", "main.py"),
        (f"**main.py**\n{F}python\nx = 1\n{F}\n", "main.py"),
        (f"### main.py\n{F}python\nx = 1\n{F}\n", "main.py"),
        ("File: main.py\nimport os\n", "main.py"),
        ("# main.py\nimport os\n", "main.py"),
        # The asked file named too: another block (a config, say) does not make it another file.
        (f"### utils.py\n{F}python\nx = 1\n{F}\n### config.yaml\n{F}yaml\na: 1\n{F}\n", None),
        # Mentions in prose or code are no headers.
        (f"{F}python\nfrom model import X\n# main.py calls this\n{F}\nSee main.py for the entry point.\n", None),
        (f"This uses `main.py` and `src/model.py`:\n{F}python\nx = 1\n{F}\n", None),
        (f"{F}python\nimport os\n# main.py\n{F}\n", None),  # a comment that is not the first line
        # A file that is not planned is no other file of the run.
        (f"**helpers.py**\n{F}python\nx = 1\n{F}\n", None),
    ],
)
def test_headed_for(answer: str, expected: str | None) -> None:
    assert headed_for(answer, "utils.py", PLANNED) == expected


def test_a_base_name_shared_by_two_planned_files_is_not_guessed() -> None:
    planned = ["a/model.py", "b/model.py", "main.py"]
    assert headed_for(f"**model.py**\n{F}python\nx = 1\n{F}\n", "main.py", planned) is None
    assert headed_for(f"**b/model.py**\n{F}python\nx = 1\n{F}\n", "main.py", planned) == "b/model.py"
