"""Repository statistics of the paper's Table 1: tokens, files and functions.

* tokens: ``papercoder.paper.tokens.count_tokens`` (cl100k_base) summed over the *source files*: code files plus
  configuration files (``SOURCE_SUFFIXES``);
* files: the number of *code files* (programming-language and shell files, ``CODE_SUFFIXES``); configs, docs
  and data are not counted;
* functions: ``def`` and ``async def`` statements (methods and nested functions included) in ``.py`` files, found
  with ``ast``; a ``.py`` file that does not parse counts 0 and is listed in ``unparsable``.

Folders in ``repo.walk.IGNORED_DIRS`` and hidden folders are skipped; undecodable bytes are replaced.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

from pydantic import BaseModel, Field

from papercoder.errors import InputError
from papercoder.paper.tokens import count_tokens
from papercoder.repo.walk import walk_files

CODE_SUFFIXES = frozenset(
    {
        ".py",
        ".pyx",
        ".sh",
        ".bash",
        ".c",
        ".cc",
        ".cpp",
        ".cu",
        ".h",
        ".hpp",
        ".java",
        ".js",
        ".ts",
        ".jl",
        ".r",
        ".go",
        ".rs",
        ".scala",
        ".lua",
        ".m",
        ".swift",
        ".kt",
    }
)
CONFIG_SUFFIXES = frozenset({".yaml", ".yml", ".json", ".toml", ".cfg", ".ini"})
SOURCE_SUFFIXES = CODE_SUFFIXES | CONFIG_SUFFIXES


class RepoStats(BaseModel):
    """Table-1 statistics of one folder."""

    tokens: int
    files: int
    functions: int
    source_files: list[str] = Field(default_factory=list)
    code_files: list[str] = Field(default_factory=list)
    unparsable: list[str] = Field(default_factory=list)


def count_functions(source: str) -> int | None:
    """The number of function definitions (sync and async, at any depth) in Python ``source``; None when it does
    not parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # invalid escapes in generated code are not our concern
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # the last two: absurd nesting
        return None
    return sum(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) for node in ast.walk(tree))


def repo_stats(folder: Path) -> RepoStats:
    """Count the tokens, code files and functions of ``folder`` (see the module docstring).

    Raises:
        InputError: ``folder`` is not a folder.
    """
    if not folder.is_dir():
        raise InputError(f"not a folder: {folder}")
    tokens = functions = 0
    source: list[str] = []
    code: list[str] = []
    unparsable: list[str] = []
    for rel, path in walk_files(folder):
        suffix = path.suffix.lower()
        if suffix not in SOURCE_SUFFIXES:
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        source.append(rel)
        tokens += count_tokens(text)
        if suffix in CODE_SUFFIXES:
            code.append(rel)
        if suffix == ".py":
            found = count_functions(text)
            if found is None:
                unparsable.append(rel)
            else:
                functions += found
    return RepoStats(
        tokens=tokens, files=len(code), functions=functions, source_files=source, code_files=code, unparsable=unparsable
    )
