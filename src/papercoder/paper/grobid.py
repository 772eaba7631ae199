"""Optional PDF route through a running GROBID server (``--grobid-url``), for users who already run one."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import requests

from papercoder.errors import InputError
from papercoder.paper.model import Paper
from papercoder.paper.tei import tei_to_paper


def load_via_grobid(path: Path, url: str, *, keep_references: bool = False, timeout_s: float = 180.0) -> Paper:
    """Send ``path`` (a PDF) to GROBID's full-text service and parse the TEI it returns.

    Raises:
        InputError: the server cannot be reached, refuses the PDF, or answers something that is not TEI.
    """
    endpoint = url.rstrip("/") + "/api/processFulltextDocument"
    try:
        with path.open("rb") as fh:
            resp = requests.post(
                endpoint,
                files={"input": (path.name, fh, "application/pdf")},
                data={"consolidateHeader": "0", "consolidateCitations": "0"},
                timeout=timeout_s,
            )
    except requests.RequestException as exc:
        raise InputError(
            f"cannot reach GROBID at {url} ({type(exc).__name__}): start it or drop --grobid-url"
        ) from None
    if resp.status_code != 200:
        raise InputError(f"GROBID at {url} answered HTTP {resp.status_code} for {path.name}: check the server log")
    try:
        root = ET.fromstring(resp.content)
    except ET.ParseError as exc:
        raise InputError(f"GROBID at {url} answered something that is not TEI XML ({exc}): check the URL") from None
    paper = tei_to_paper(root, source_path=str(path), keep_references=keep_references)
    return paper.model_copy(update={"source_format": "pdf (grobid)"})
