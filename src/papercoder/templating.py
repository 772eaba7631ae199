"""The one prompt-template loader: Jinja files shipped as package data, rendered strictly (a missing variable is
an error), each set overridable by pointing an environment variable at a folder of the same layout (files found
there win, the rest come from the package)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from papercoder.repo.walk import code_language


@lru_cache(maxsize=8)
def _environment(package_dir: str, override: str | None) -> jinja2.Environment:
    search = [override, package_dir] if override else [package_dir]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,  # prompts are plain text, not HTML
    )
    env.globals["lang"] = code_language
    return env


class Templates:
    """The templates of one folder (``package_dir``), overridable through the variable ``override_env``."""

    def __init__(self, package_dir: Path, override_env: str) -> None:
        self.package_dir = package_dir
        self.override_env = override_env

    def render(self, name: str, **variables: Any) -> str:
        """Render the template ``name`` (e.g. ``planning/plan.j2``) with ``variables``."""
        override = os.environ.get(self.override_env) or None
        env = _environment(str(self.package_dir), override)
        return env.get_template(name).render(**variables).strip()
