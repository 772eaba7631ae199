"""``papercoder ingest``: show (or save) exactly what the model would read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from papercoder._cli._common import PdfEngine, PdfEngineOpt
from papercoder.fsutil import disk_errors


def register(app: typer.Typer) -> None:
    """Add the ``ingest`` command to ``app``."""

    @app.command()
    def ingest(
        paper: Annotated[Path, typer.Argument(help="The paper: .pdf, .tex (or folder / .tar.gz), .md, .json, .xml.")],
        output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the Markdown here.")] = None,
        pdf_engine: PdfEngineOpt = PdfEngine.pymupdf,
        keep_references: Annotated[bool, typer.Option("--keep-references", help="Keep the bibliography.")] = False,
        grobid_url: Annotated[str | None, typer.Option("--grobid-url", help="Use a running GROBID server.")] = None,
        max_paper_tokens: Annotated[
            int | None, typer.Option("--max-paper-tokens", min=100, help="Condense to this many tokens.")
        ] = None,
        jobs: Annotated[
            int | None, typer.Option("--jobs", "-j", min=1, help="Cores for PDF layout analysis (default: all).")
        ] = None,
    ) -> None:
        """Print the Markdown the pipeline would send for PAPER (or write it with -o), and a one-line summary.

        Example: papercoder ingest paper.pdf -o paper.md
        """
        from papercoder._cli._common import errors_to_exit
        from papercoder.paper import load_paper
        from papercoder.paper.budget import fit_paper
        from papercoder.paper.tokens import count_tokens

        err = Console(stderr=True, highlight=False)
        with errors_to_exit():
            parsed = load_paper(
                paper,
                pdf_engine="pypdf" if pdf_engine is PdfEngine.pypdf else "pymupdf",
                keep_references=keep_references,
                grobid_url=grobid_url,
                jobs=jobs,
            )
            steps: list[str] = []
            if max_paper_tokens is not None:
                parsed, steps = fit_paper(parsed, max_paper_tokens)
            text = parsed.markdown()
            if output is not None:
                output.parent.mkdir(parents=True, exist_ok=True)
                with disk_errors(output):
                    output.write_text(text, encoding="utf-8")
            else:
                typer.echo(text, nl=False)
            pages = f", {parsed.pages} pages" if parsed.pages else ""
            dropped = "; ".join(dict.fromkeys([*parsed.dropped, *steps])) or "nothing"
            err.print(
                f"{parsed.title or '(untitled)'} — {parsed.source_format}{pages}, {len(parsed.sections)} sections, "
                f"{count_tokens(text)} tokens; dropped: {dropped}",
                soft_wrap=True,
            )
