"""Prompt templates of the evaluation package, rendered strictly (a missing variable is an error).

The templates live in ``evaluation/prompts/`` and ship as package data. A user may override any of them by
pointing ``PAPERCODER_EVAL_PROMPTS`` at a folder holding files of the same names.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from papercoder.evaluation.repofiles import code_language

_PACKAGE_DIR = Path(__file__).parent / "prompts"


@lru_cache(maxsize=4)
def _environment(override: str | None) -> jinja2.Environment:
    search = [override, str(_PACKAGE_DIR)] if override else [str(_PACKAGE_DIR)]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,  # prompts are plain text, not HTML
    )
    env.globals["lang"] = code_language
    return env


def render(name: str, **variables: Any) -> str:
    """Render the evaluation template ``name`` (e.g. ``judge.j2``) with ``variables``."""
    env = _environment(os.environ.get("PAPERCODER_EVAL_PROMPTS") or None)
    return env.get_template(name).render(**variables).strip()
