"""The evaluation's prompt templates in ``evaluation/prompts/`` (``papercoder.templating`` loads them). A user may
override any of them by pointing ``PAPERCODER_EVAL_PROMPTS`` at a folder holding files of the same names."""

from __future__ import annotations

from pathlib import Path

from papercoder.templating import Templates

render = Templates(Path(__file__).parent / "prompts", "PAPERCODER_EVAL_PROMPTS").render
