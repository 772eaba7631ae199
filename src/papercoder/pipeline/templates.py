"""Prompt templates: Jinja files beside the stages, rendered strictly (a missing variable is an error).

A user can override any template by pointing ``PAPERCODER_PROMPTS`` at a folder with the same layout
(``system.j2``, ``planning/plan.j2``, ...): files found there win, the rest come from the package.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

_PACKAGE_DIR = Path(__file__).parent / "prompts"
_EXTENSIONS = {".py": "python", ".yaml": "yaml", ".yml": "yaml", ".sh": "bash", ".md": "markdown", ".json": "json"}


def code_language(path: str) -> str:
    """The fence tag for a file, from its extension."""
    return _EXTENSIONS.get(Path(path).suffix.lower(), "")


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
    """Render the template ``name`` (e.g. ``planning/plan.j2``) with ``variables``."""
    env = _environment(os.environ.get("PAPERCODER_PROMPTS") or None)
    return env.get_template(name).render(**variables).strip()
