"""After coding and the checks: ``repo/reproduce.sh``, the one command that reproduces the paper (step
``repo/reproduce``).

The script creates a virtual environment, installs requirements.txt and runs the entry point; ``--smoke`` exports
``PAPERCODER_SMOKE=1``, which the coding prompt asks the code to honour with a minutes-long run on tiny data. The
script is written, never run. The model's script is kept when it is sound (``repo/script.py``: valid bash, installs
the requirements, runs a Python file the repository has, sets the smoke variable); otherwise it gets the fallback
below and a warning naming what was wrong.
"""

from __future__ import annotations

from papercoder.llm.base import Message
from papercoder.parsing.code_extract import extract_code
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.steps import ask, settings_for
from papercoder.pipeline.templates import render
from papercoder.repo.files import entry_point, snapshot
from papercoder.repo.sandbox import SMOKE_ENV
from papercoder.repo.script import script_problem

STEP = "repo/reproduce"
SCRIPT = "reproduce.sh"
SHOWN_CHARS = 12_000  # of the entry point and of config.yaml


def fallback_script(entry: str) -> str:
    """The script papercoder writes itself when the model's is unusable."""
    return f"""#!/usr/bin/env bash
# Reproduce the experiment: a virtual environment, the requirements, then the entry point.
# Usage: bash reproduce.sh [--smoke]   (--smoke: {SMOKE_ENV}=1, a minutes-long check run on tiny data)
set -euo pipefail
cd "$(dirname "$0")"
if [ "${{1:-}}" = "--smoke" ]; then
  export {SMOKE_ENV}=1
  shift
fi
python3 -m venv .venv
. .venv/bin/activate
python -m pip install --upgrade pip
if [ -f requirements.txt ]; then
  python -m pip install -r requirements.txt
fi
python {entry} "$@"
"""


def _cut(text: str, compact: bool) -> str:
    """``text`` as attached to the reproduce prompt: at most ``SHOWN_CHARS`` (a quarter for a small local model)."""
    limit = SHOWN_CHARS // 4 if compact else SHOWN_CHARS
    return text if len(text) <= limit else text[:limit] + f"\n# [... {len(text) - limit:,} more characters]\n"


async def run(ctx: RunContext, order: list[str]) -> str | None:
    """Write ``repo/reproduce.sh`` (and the raw answer in ``coding/reproduce.sh.md``); its text, or None when the
    repository has no Python entry point (no call is made then)."""
    with ctx.stage("reproduce") as clock:
        files = snapshot(ctx.run.repo)
        entry = entry_point(files, order)
        if entry is None:
            ctx.warn("reproduce.sh: the repository has no Python entry point; no script written")
            clock.finish("skipped")
            return None
        ctx.note("reproduce", f"writing {SCRIPT} for {entry}")
        prompt = render(
            "reproduce/script.j2",
            files=[p for p in files if p not in (SCRIPT, "README.md")],  # both written after this call
            entry=entry,
            requirements=files.get("requirements.txt", "").strip(),
            smoke_env=SMOKE_ENV,
            # The entry point's code and the config, so the script passes the arguments the code parses.
            entry_code=_cut(files.get(entry, ""), ctx.options.compact),
            config=_cut(files.get("config.yaml", "").strip(), ctx.options.compact),
        )
        messages: list[Message] = [
            {"role": "system", "content": render("repo/system.j2")},
            {"role": "user", "content": prompt},
        ]
        done = await ask(ctx, clock, messages, settings_for(ctx, STEP, ctx.options.limits.script))
        ctx.run.write(f"coding/{SCRIPT}.md", done.text)
        script = extract_code(done.text, filename=SCRIPT)
        problem = script_problem(script, files, SMOKE_ENV)
        if problem is not None:
            ctx.warn(f"{SCRIPT}: {problem}; wrote the standard script instead (venv, requirements, python {entry})")
            script = fallback_script(entry)
        elif not script.startswith("#!"):
            script = "#!/usr/bin/env bash\n" + script
        path = ctx.run.write(f"repo/{SCRIPT}", script)
        path.chmod(0o755)
    return script
