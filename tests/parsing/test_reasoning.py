"""Thinking text of reasoning models is split from the answer, and only at its start."""

from __future__ import annotations

import pytest

from papercoder.parsing.reasoning import split_reasoning

CODE = "```python\nprint('hi')\n```\n"


@pytest.mark.parametrize(
    ("text", "answer", "reasoning"),
    [
        pytest.param(f"<think>\nThe paper says lr=0.1.\n</think>\n\n{CODE}", CODE, "The paper says lr=0.1.", id="r1"),
        pytest.param(f"<THINKING>a</THINKING>{CODE}", CODE, "a", id="upper-case-thinking"),
        pytest.param(f"<think>a</think>\n<think>b</think>\n{CODE}", CODE, "a\n\nb", id="two-blocks"),
        pytest.param(
            f"Okay, the user wants code.\n</think>\n\n{CODE}", CODE, "Okay, the user wants code.", id="open-in-template"
        ),
        pytest.param(
            "<think>\nStill weighing the options", "", "Still weighing the options", id="cut-off-while-thinking"
        ),
        pytest.param(f"<think></think>\n{CODE}", CODE, "", id="empty-thinking"),
    ],
)
def test_leading_thinking_is_split_off(text: str, answer: str, reasoning: str) -> None:
    assert split_reasoning(text) == (answer, reasoning)


@pytest.mark.parametrize(
    "text",
    [
        CODE,
        "",
        "def strip(t):\n    return t.replace('<think>', '').replace('</think>', '')\n",
        "Intro text.\n<think>not leading</think>\n",
        "x = '<think>'\n",
    ],
)
def test_answers_without_leading_thinking_are_unchanged(text: str) -> None:
    assert split_reasoning(text) == (text, "")
