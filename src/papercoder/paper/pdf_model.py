"""PyMuPDF's layout model, loaded once per process that parses pages, with its ONNX Runtime sessions on one thread.

``--jobs N`` is meant as N cores for layout analysis: N processes, each on one core. ONNX Runtime gives a session
one intra-op thread per core by default (pymupdf.layout's ``make_session`` sets no thread count), so one process
kept about 1.6 of our 2 cores busy, and two processes fought over them. On the layout model's small inputs the
extra threads bought nothing: one thread read the 15-page example faster (2.9–3.0 s against 3.2–4.3 s) on 0.7 of
the CPU seconds.

``import pymupdf`` itself loads pymupdf.layout's default (image + text) model, multi-threaded, and we use another
one (``rf``, below): once ours is installed the default one is collected, which gives back about 50 MB.
"""

from __future__ import annotations

import gc
import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: ONNX Runtime threads per session: one, so a process is one core (see above).
SESSION_THREADS = 1


@contextmanager
def _sessions_on_one_thread(ort: Any) -> Iterator[None]:
    """Every ``onnxruntime.SessionOptions()`` made inside gets ``SESSION_THREADS`` threads.

    pymupdf.layout makes its sessions' options itself, in ``make_session``, which every model part imports by
    name; the options class is the one place they all look up at call time."""
    original = ort.SessionOptions

    def options() -> Any:
        made = original()
        made.intra_op_num_threads = SESSION_THREADS
        made.inter_op_num_threads = SESSION_THREADS
        return made

    ort.SessionOptions = options
    try:
        yield
    finally:
        ort.SessionOptions = original


def _load_model(pymupdf: Any) -> None:
    """Install PyMuPDF's text-feature layout model ("rf"), or with ``PAPERCODER_PDF_LAYOUT=full`` its default
    image + text one, as the layout function.

    "rf" is about twice as fast on our benchmark paper (3.9 vs 1.8–2.5 pages/s on 2 cores, before the one-thread
    sessions) with the same 3-gram and table-cell recall. PyMuPDF calls its model through the ``_get_layout`` hook;
    a PyMuPDF whose layout package lacks ``get_model`` gets its own default model instead."""
    if getattr(pymupdf, "_papercoder_layout", None):
        return
    name = "imf+rf" if os.environ.get("PAPERCODER_PDF_LAYOUT") == "full" else "rf"
    try:
        ort: Any = importlib.import_module("onnxruntime")
        layout: Any = importlib.import_module("pymupdf.layout")
        with _sessions_on_one_thread(ort):
            model = layout.DocumentLayoutAnalyzer.get_model(feature_set_name=name)
    except Exception:  # a PyMuPDF without this model: keep its default
        return
    if not hasattr(pymupdf, "_get_layout"):
        return

    def _get_layout(*args: Any, **kwargs: Any) -> Any:
        return model.predict(*args, **kwargs)

    pymupdf._get_layout = _get_layout
    pymupdf._papercoder_layout = name
    gc.collect()  # the default model's objects hold one another in cycles: free them now, before parsing


def modules(model: bool = True) -> tuple[Any, Any]:
    """pymupdf and pymupdf4llm's ``document_layout``; with ``model``, our layout model installed (about a second the
    first time). Imported here (and untyped) because importing pymupdf loads a layout model (another second)."""
    pymupdf: Any = importlib.import_module("pymupdf")
    importlib.import_module("pymupdf4llm")
    if model:
        _load_model(pymupdf)
    return pymupdf, importlib.import_module("pymupdf4llm.helpers.document_layout")
