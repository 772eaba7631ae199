"""What every command shares: the consoles, the error mapping, and each option declared once (choices as Enums,
so typer checks them and lists them in ``--help``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from papercoder._methods import METHODS
from papercoder.errors import PapercoderError
from papercoder.llm.base import ChatModel
from papercoder.llm.urls import redact

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

EXIT_CODES = (
    "Exit codes: 0 success; 1 a stage or model call failed (the run dir keeps what was done — re-run to resume); "
    "2 bad input or options; 3 a budget would be exceeded; 4 the run finished with problems left after the repair "
    "round (status done-with-problems: syntax errors, unresolved imports, empty files, see RUN_DIR/checks.json)."
)


class CliError(PapercoderError):
    """An option error found by the CLI itself."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = code


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """Turn library errors into one line on stderr and their documented exit code; never a traceback."""
    try:
        yield
    except PapercoderError as exc:
        # redact(): a safety net for key shapes and URL credentials in messages no model call produced.
        err.print(f"[red]error:[/] {escape(redact(str(exc)))}", soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("[red]interrupted:[/] the run dir keeps what was done; run the same command to resume")
        raise typer.Exit(130) from None


T = TypeVar("T")


def run_closing(models: list[ChatModel], work: Callable[[], Awaitable[T]]) -> T:
    """``work()`` in one event loop, the ``models`` closed inside it."""

    async def main() -> T:
        try:
            return await work()
        finally:
            for m in models:
                await m.aclose()

    return asyncio.run(main())


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True)


# The choices. A method's value is its name in the stage table (``papercoder._methods.METHODS``).
Method = StrEnum("Method", {name.replace("-", "_"): name for name in METHODS})  # type: ignore[misc]
DEFAULT_METHOD = Method("papercoder")


class CodingOrder(StrEnum):
    auto = "auto"
    sequential = "sequential"
    dag = "dag"


class DepContext(StrEnum):
    interface = "interface"
    full = "full"


class PdfEngine(StrEnum):
    pymupdf = "pymupdf"
    pypdf = "pypdf"


class SandboxKind(StrEnum):
    auto = "auto"
    bwrap = "bwrap"
    docker = "docker"
    podman = "podman"
    none = "none"


class Network(StrEnum):
    install = "install"
    always = "always"
    never = "never"


ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="openai/NAME for OpenAI; NAME with --base-url for any OpenAI-compatible server; local/smollm2 for the "
        "embedded demo model. Default: $PAPERCODER_MODEL, else OpenAI if OPENAI_API_KEY is set, else local/smollm2.",
    ),
]
JudgeModelOpt = Annotated[
    str | None,
    typer.Option(
        "--judge-model", help="The judge: openai/NAME, NAME with --base-url, or local/smollm2 (same rules as --model)."
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option("--base-url", help="OpenAI-compatible endpoint of the model(s), e.g. http://localhost:8000/v1."),
]
KeyEnvOpt = Annotated[
    str | None,
    typer.Option("--api-key-env", help="Read the API key from this variable instead of OPENAI_API_KEY."),
]
EffortOpt = Annotated[
    str | None,
    typer.Option("--reasoning-effort", help="Passed to reasoning models: minimal, low, medium or high."),
]
ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", min=1, help="Parallel model calls.")]
ContextOpt = Annotated[
    int | None,
    typer.Option(
        "--context-tokens", min=1000, help="The judge's context window in tokens; prompts that do not fit are refused."
    ),
]
RpmOpt = Annotated[
    float | None,
    typer.Option("--rpm", min=0.1, help="Send at most N requests a minute per model, spaced evenly."),
]
TpmOpt = Annotated[
    float | None,
    typer.Option("--tpm", min=1, help="Send at most N tokens (prompt and answer limit) a minute per model."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and the result line.")]
PdfEngineOpt = Annotated[
    PdfEngine, typer.Option("--pdf-engine", help="pymupdf (default, AGPL) or pypdf (BSD, plain text).")
]

# The sandbox options, shared by `papercoder debug` and `papercoder run --debug`.
SANDBOX_HELP = (
    "Where generated code runs: auto (bwrap where it works; docker/podman with --image otherwise), bwrap, docker, "
    "podman, or none (unisolated, with a warning)."
)
IMAGE_HELP = "The container image for --sandbox docker/podman; it needs bash and python3."
GPUS_HELP = "Give the code the GPUs (/dev/nvidia*, /dev/dri; docker --gpus all); lifts the address-space limit."
NETWORK_HELP = (
    "When the code may use the network: install (default: only while creating the venv and installing "
    "requirements.txt; the command itself runs offline), always, or never."
)
SandboxOpt = Annotated[SandboxKind, typer.Option("--sandbox", help=SANDBOX_HELP)]
ImageOpt = Annotated[str | None, typer.Option("--image", help=IMAGE_HELP)]
GpusOpt = Annotated[bool, typer.Option("--gpus", help=GPUS_HELP)]
NetworkOpt = Annotated[Network, typer.Option("--network", help=NETWORK_HELP)]

# Prices for models the table does not know (USD per million tokens), shared by every command that calls a model.
PriceInputOpt = Annotated[
    float | None,
    typer.Option(
        "--price-input",
        min=0,
        help="USD per 1M prompt tokens for a model with no known price (with --price-output); makes --max-cost work.",
    ),
]
PriceOutputOpt = Annotated[
    float | None,
    typer.Option("--price-output", min=0, help="USD per 1M completion tokens for a model with no known price."),
]
PricesOpt = Annotated[
    Path | None,
    typer.Option(
        "--prices",
        help="A YAML/JSON file of prices: MODEL: {input: USD, output: USD, cached_input: USD} per 1M tokens. A "
        "provider that reports its own cost (OpenRouter) is billed by that.",
    ),
]
