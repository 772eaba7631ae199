"""The paper's one-shot baselines: the whole repository from one call.

* ``abstract``: the model sees only the title and abstract;
* ``paper``: the model sees the full paper.

The answer lists files as ``### File: <path>`` plus one fenced block each (``filesplit.split_files``); the files
land in ``RUN_DIR/repo/`` (a ``config.yaml`` or ``requirements.txt`` the model wrote included) and the run
directory gets the same ``paper/`` artifacts and ``manifest.json`` as a pipeline run, so ``eval`` and ``stats``
read it alike. The raw answer is kept in ``coding/baseline_<method>.md``. Calls go through the run's call cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from papercoder import __version__
from papercoder.errors import PapercoderError, StageError
from papercoder.evaluation.filesplit import split_files
from papercoder.evaluation.templates import render
from papercoder.llm.base import CallSettings, ChatModel, Message
from papercoder.llm.cache import CachedModel, CallCache
from papercoder.llm.families import sampling_for
from papercoder.paper import Paper
from papercoder.pipeline.rundir import (
    check_out,
    edited_files,
    kept_message,
    prepare,
    refusal,
    repo_sha256,
    text_sha256,
)
from papercoder.run import Manifest, ModelInfo, RunDir, StageClock, now_iso
from papercoder.rundir_lock import hold

BaselineMethod = Literal["abstract", "paper"]
BASELINES: tuple[BaselineMethod, ...] = ("abstract", "paper")


def baseline_messages(method: BaselineMethod, paper: Paper) -> list[Message]:
    """The single prompt of a baseline."""
    if method == "abstract" and not paper.abstract.strip():
        raise StageError("the abstract baseline needs the paper's abstract, and none was found in the paper")
    user = render(
        "baseline.j2",
        method=method,
        title=paper.title or "(untitled)",
        abstract=paper.abstract.strip(),
        paper=paper.markdown().strip(),
    )
    return [{"role": "system", "content": render("baseline_system.j2")}, {"role": "user", "content": user}]


def _manifest(
    old: Manifest | None, method: BaselineMethod, paper: Paper, model: ChatModel, settings: CallSettings
) -> Manifest:
    info = ModelInfo(name=model.name, context_window=model.context_window)
    wanted: dict[str, object] = {"method": method, **settings.model_dump(mode="json", exclude={"step"})}
    sha = text_sha256(paper.markdown())
    same = old is not None and old.model.name == info.name and old.settings == wanted
    if old is not None and same and old.paper.get("text_sha256") == sha:
        old.status, old.error = "running", None
        return old
    manifest = Manifest(papercoder_version=__version__, created_at=now_iso(), model=info, settings=wanted)
    manifest.paper["text_sha256"] = sha
    for stage in ("planning", "analysis"):
        manifest.stages[stage].status = "skipped"
    return manifest


def _ingest(run: RunDir, manifest: Manifest, paper: Paper, model: ChatModel) -> None:
    clock = StageClock(manifest.stages["ingest"], model.name)
    clock.start()
    text = paper.markdown()
    run.write("paper/paper.md", text)
    run.write("paper/paper.json", paper.model_dump_json(indent=2) + "\n")
    manifest.paper.update(
        {
            "path": paper.source_path,
            "title": paper.title,
            "format": paper.source_format,
            "pages": paper.pages,
            "sections": len(paper.sections),
            "tokens": model.count_tokens(text),
        }
    )
    clock.finish("done")


def _warn(manifest: Manifest, message: str) -> None:
    if message not in manifest.warnings:
        manifest.warnings.append(message)


def _write_files(run: RunDir, files: dict[str, str]) -> list[str]:
    root = run.repo.resolve()
    written: list[str] = []
    for path, code in files.items():
        # Belt and braces: split_files already refused unsafe names; a symlink inside repo/ must not lead out.
        if not (run.repo / path).resolve().is_relative_to(root):
            raise StageError(f"refused to write {path!r}: it resolves outside {run.repo}")
        run.write(f"repo/{path}", code)
        written.append(path)
    return written


async def run_baseline(
    method: BaselineMethod,
    paper: Paper,
    model: ChatModel,
    run: RunDir,
    *,
    temperature: float | None = None,
    reasoning_effort: str | None = None,
    max_tokens: int | None = None,
    fresh: bool = False,
) -> list[str]:
    """Generate a repository for ``paper`` with one call and write it into ``run``.

    Args:
        method: ``abstract`` (title and abstract only) or ``paper`` (the full paper).
        paper: the parsed paper.
        model: the model; wrapped in the run's call cache unless it is a ``CachedModel`` already.
        run: the run directory (created when missing).
        temperature: sampling temperature.
        reasoning_effort: passed to reasoning models.
        max_tokens: cap on the answer.
        fresh: empty the run directory first (else a run dir of another paper is refused).

    Returns:
        The repository paths written, in answer order.

    Raises:
        InputError: ``run`` is a non-empty folder that is not a run directory, holds another paper (without
            ``fresh``), or is in use by another process.
        StageError: the answer holds no file in the asked format (its cache entry is dropped so a re-run asks
            again), or the abstract baseline gets a paper without an abstract.
        ModelError: the call failed after its retries.
    """
    if method not in BASELINES:
        raise StageError(f"unknown baseline {method!r}: use one of {', '.join(BASELINES)}")
    check_out(run.root)  # the same --out rules and lock as a pipeline run (``pipeline/rundir.py``)
    with hold(run.root, f"run --method {method}"):
        source = Path(paper.source_path).resolve() if paper.source_path else None
        old = prepare(run, fresh, source, text_sha256(paper.markdown()))
        sampling = sampling_for(model.name, reasoning_effort, temperature)  # the same family rules as a run's
        settings = CallSettings(
            step=f"baseline/{method}",
            max_tokens=max_tokens,
            temperature=sampling.temperature,
            reasoning_effort=sampling.reasoning_effort,
        )
        manifest = _manifest(old, method, paper, model, settings)
        edited = edited_files(run, old)
        if edited and (manifest is not old or manifest.stages["coding"].status != "done"):
            raise refusal(run, edited, "the paper, the model or the settings changed, so the repository is redone")
        if edited:  # the same finished baseline: keep what `papercoder debug` (or a person) changed
            _warn(manifest, kept_message(edited))
            manifest.status = "done"
            run.save_manifest(manifest)
            return manifest.files
        return await _generate(method, paper, model, run, settings, manifest)


async def _generate(
    method: BaselineMethod, paper: Paper, model: ChatModel, run: RunDir, settings: CallSettings, manifest: Manifest
) -> list[str]:
    cached = model if isinstance(model, CachedModel) else CachedModel(model, CallCache(run.calls))
    run.save_manifest(manifest)
    clock = StageClock(manifest.stages["coding"], model.name)
    try:
        _ingest(run, manifest, paper, model)
        messages = baseline_messages(method, paper)
        clock.start()
        answer = await cached.complete(messages, settings)
        clock.add(answer.usage, answer.from_cache)
        run.write(f"coding/baseline_{method}.md", answer.text)
        if answer.finish_reason == "length":
            _warn(manifest, "the answer hit the output limit: the last file may be cut short")
        split = split_files(answer.text)
        for warning in split.warnings:
            _warn(manifest, f"baseline {method}: {warning}")
        if not split.files:
            cached.cache.evict(cached.key(messages, settings))
            raise StageError(
                f"the {method} baseline's answer holds no '### File: <path>' block with code; the "
                f"answer is in {run.root / 'coding' / f'baseline_{method}.md'}; re-run to ask again"
            )
        manifest.files = _write_files(run, split.files)
        manifest.repo_sha256 = repo_sha256(run.repo)
    except PapercoderError as exc:
        if manifest.stages["coding"].status == "running":
            clock.finish("failed", str(exc))
        manifest.status, manifest.error = "failed", str(exc)
        run.save_manifest(manifest)
        raise
    clock.finish("done")
    manifest.status = "done"
    run.save_manifest(manifest)
    return manifest.files


__all__ = ["BASELINES", "BaselineMethod", "baseline_messages", "run_baseline"]
