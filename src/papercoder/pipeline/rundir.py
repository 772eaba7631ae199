"""What may go into a run directory, and what a run may rewrite there.

* ``--out`` at a non-empty folder that is not a papercoder run directory is refused before anything is written.
* A run directory holds one paper: another paper is refused unless ``--fresh``. The *same* paper is the same input
  path (resolved), however its content was edited since, or a paper whose ingested text is the same; so editing a
  file in place (or a ``\\input`` file of it) is a resume, not a refusal.
* A run's identity is the ingested text (``paper/paper.md``, what the model reads), the model and the settings
  (ingest options included): a change of any gives a new manifest and every stage is redone, the calls whose
  prompts did not change still served from ``calls/``.
* ``repo/`` files changed after the pipeline wrote them (``papercoder debug``, or by hand) are never rewritten: a
  resume of the same identity keeps them and skips coding; a run that would have to recode is refused.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from papercoder.errors import InputError
from papercoder.repo.walk import walk_files
from papercoder.run_dir import Manifest, RunDir


def check_out(root: Path) -> None:
    """Refuse an ``--out`` that is a file, or a non-empty folder that is not a run directory; touches nothing."""
    if root.exists() and not root.is_dir():
        raise InputError(f"--out {root} is a file; give a directory for the run")
    if not root.is_dir():
        return
    run = RunDir(root)
    entries = list(root.iterdir())
    if not entries or run.manifest_path.is_file() or run.lock_path.is_file():
        return
    raise InputError(
        f"--out {root} is not empty and not a papercoder run directory (no manifest.json); nothing was changed: "
        "pick a new or empty folder"
    )


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def other_paper(old: Manifest, source: Path | None, text_sha: str) -> str | None:
    """The paper ``old`` was made from when it is another than ``source`` with text hash ``text_sha``; else None."""
    recorded = old.paper.source or old.paper.path
    if not recorded or old.paper.text_sha256 == text_sha:
        return None
    if source is not None and Path(str(recorded)).expanduser().resolve() == source.resolve():
        return None
    return str(recorded)


def prepare(run: RunDir, fresh: bool, source: Path | None, text_sha: str) -> Manifest | None:
    """Make ``run`` ready for a run of ``source`` (call it holding the run dir's lock): emptied with ``fresh``
    (the lock file stays), else refused when it holds another paper. Returns the manifest found (None if fresh)."""
    if fresh:
        for entry in run.root.iterdir() if run.root.is_dir() else []:
            if entry == run.lock_path:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        run.create()
        return None
    old = run.load_manifest()
    if old is not None and (other := other_paper(old, source, text_sha)) is not None:
        raise InputError(
            f"{run.root} holds the run of another paper ({other}); pass --fresh to replace it, or pick another --out"
        )
    run.create()
    return old


def repo_sha256(repo: Path) -> dict[str, str]:
    """Every file of ``repo`` (skipping caches, venvs, hidden folders) → the sha256 of its bytes."""
    if not repo.is_dir():
        return {}
    return {rel: hashlib.sha256(path.read_bytes()).hexdigest() for rel, path in walk_files(repo)}


def edited_files(run: RunDir, manifest: Manifest | None) -> list[str]:
    """The repo files that differ from what the pipeline last wrote (a deleted file is not an edit: a re-run
    writes it again)."""
    if manifest is None or not manifest.repo_sha256:
        return []
    edited = []
    for rel, digest in manifest.repo_sha256.items():
        path = run.repo / rel
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            edited.append(rel)
    return edited


def kept_message(edited: list[str]) -> str:
    return (
        f"kept repo/ as changed after papercoder wrote it ({_names(edited)}: by `papercoder debug` or by hand); "
        "coding is not redone: pass --fresh to regenerate it"
    )


def refusal(run: RunDir, edited: list[str], why: str) -> InputError:
    return InputError(
        f"{run.repo} has changes made after papercoder wrote it ({_names(edited)}: by `papercoder debug` or by "
        f"hand) and {why}, which would rewrite them: move repo/ aside or pass --fresh to regenerate, or use another "
        "--out"
    )


def _names(paths: list[str], shown: int = 3) -> str:
    more = len(paths) - shown
    return ", ".join(paths[:shown]) + (f" and {more} more" if more > 0 else "")
