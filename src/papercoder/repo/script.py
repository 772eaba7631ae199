"""Is the model's ``reproduce.sh`` sound? What a script must do to be kept rather than replaced by the standard one.

Sound means, read without running anything:

* it parses as bash (``bash -n``);
* when the repository has a non-empty ``requirements.txt``, it installs it (a ``pip install`` naming the file);
* it runs at least one Python file (or ``-m`` module) that the repository has, and no ``.py`` file it lacks;
* it exports the smoke variable, so ``--smoke`` reaches the code.

Any interpreter spelling counts (``python``, ``python3.11``, ``.venv/bin/python``, ``"$VENV/bin/python"``), after
``exec``, ``time`` or ``VAR=value`` prefixes, in ``&&`` chains; so does a second run (``python train.py && python
evaluate.py``). The model's choice of entry point is respected when it is a file of the repository.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping

_PYTHON = re.compile(r"^python(?:\d+(?:\.\d+)*)?$")
_SEPARATORS = re.compile(r"&&|\|\||[;|&()]")
_OPTION_WITH_VALUE = {"-W", "-X", "-Q"}


def _commands(script: str) -> list[list[str]]:
    """The simple commands of ``script`` as token lists: comments dropped, lines joined at ``\\``, split at
    ``;``, ``&&``, ``||``, ``|`` and parentheses. A line shlex cannot read is split on blanks."""
    joined = re.sub(r"\\\n", " ", script)
    out: list[list[str]] = []
    for line in joined.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        for part in _SEPARATORS.split(stripped):
            try:
                tokens = shlex.split(part, comments=True)
            except ValueError:
                tokens = part.split()
            if tokens:
                out.append(tokens)
    return out


def python_runs(script: str) -> list[tuple[str, str]]:
    """What the script runs with a Python interpreter: ``("file", "main.py")`` or ``("module", "pkg.train")``.
    ``python -c`` and a bare interpreter run nothing of the repository and are left out."""
    runs: list[tuple[str, str]] = []
    for tokens in _commands(script):
        for i, token in enumerate(tokens):
            if not _PYTHON.match(token.rsplit("/", 1)[-1].strip("\"'")):
                continue
            rest = tokens[i + 1 :]
            j = 0
            while j < len(rest):
                arg = rest[j]
                if arg == "-m" and j + 1 < len(rest):
                    runs.append(("module", rest[j + 1]))
                    break
                if arg == "-c" or arg.startswith("-c"):
                    break
                if arg in _OPTION_WITH_VALUE:
                    j += 2
                    continue
                if arg.startswith("-"):
                    j += 1
                    continue
                runs.append(("file", arg.removeprefix("./")))
                break
            break
    return runs


def _module_file(module: str, files: Mapping[str, str]) -> bool:
    base = module.replace(".", "/")
    return f"{base}.py" in files or f"{base}/__main__.py" in files or f"src/{base}.py" in files


def bash_problem(script: str) -> str | None:
    """Why ``bash -n`` refuses the script, or None (also when bash is not installed)."""
    bash = shutil.which("bash")
    if bash is None:
        return None
    checked = subprocess.run([bash, "-n"], input=script.encode(), capture_output=True, timeout=10, check=False)
    if checked.returncode != 0:
        return f"the script is not valid bash ({checked.stderr.decode(errors='replace').strip()[:120]})"
    return None


def script_problem(script: str, files: Mapping[str, str], smoke_env: str) -> str | None:
    """Why ``script`` is not a sound reproduce.sh for a repository holding ``files`` (path → text), or None."""
    if not script.strip():
        return "the answer held no script"
    runs = python_runs(script)
    missing = [name for kind, name in runs if kind == "file" and name.endswith(".py") and name not in files]
    if missing:
        return f"the script runs {missing[0]}, which the repository does not have"
    existing = [
        name
        for kind, name in runs
        if (kind == "file" and name in files) or (kind == "module" and _module_file(name, files))
    ]
    if not existing:
        return "the script runs no Python file of the repository"
    requirements = files.get("requirements.txt", "").strip()
    if requirements and not ("requirements.txt" in script and "pip" in script):
        return "the script does not install requirements.txt"
    if smoke_env not in script:
        return f"the script ignores --smoke (it never sets {smoke_env})"
    return bash_problem(script)
