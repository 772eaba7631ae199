"""Turn the user's model options into a ``ChatModel``; heavy providers are imported only when chosen."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from papercoder.errors import InputError
from papercoder.llm.base import ChatModel
from papercoder.llm.ratelimit import RateLimiter, WaitCallback, shared_limiter
from papercoder.llm.urls import UrlCredentials, redact, split_base_url

OPENAI_BASE_URL = "https://api.openai.com/v1"
LOCAL_MODELS = ("smollm2",)
DEFAULT_OPENAI_MODEL = "gpt-4.1-mini"
DEMO_WARNING = (
    "No model configured: using the embedded demo model local/smollm2 (135M parameters; its code is a demo's, "
    "not a reproduction). For real output set OPENAI_API_KEY, or pass --model NAME --base-url URL."
)


@dataclass(frozen=True)
class ModelChoice:
    """What the options resolved to: provider kind, model names, endpoint, and where the key comes from.

    ``base_url`` is the safe form (see ``papercoder.llm.urls``): what the manifest records and commands print.
    Credentials the given URL carried are in ``credentials``, in memory only.
    """

    provider: str  # "openai", "compat" or "local"
    model: str  # the name sent to the server (or the local model's name)
    name: str  # the stable display/cache name, e.g. "openai/gpt-4.1-mini"
    base_url: str | None
    api_key_env: str | None  # the variable that holds the key, never the key itself
    demo_warning: str | None = None
    credentials: UrlCredentials = field(default=UrlCredentials(), repr=False)


def user_base_url(base_url: str | None, env: dict[str, str] | None = None) -> str | None:
    """The endpoint the user chose: ``--base-url``, else ``PAPERCODER_BASE_URL``, else ``OPENAI_BASE_URL``."""
    environ = os.environ if env is None else env
    return base_url or environ.get("PAPERCODER_BASE_URL") or environ.get("OPENAI_BASE_URL") or None


def _endpoint(base_url: str) -> tuple[str, UrlCredentials]:
    """Split a base URL into its safe form and credentials; anything but an http(s) URL is refused."""
    safe, credentials = split_base_url(base_url)
    if not safe.lower().startswith(("http://", "https://")):
        raise InputError(f"--base-url {redact(base_url)}: give a full http(s) URL, e.g. http://localhost:8000/v1")
    return safe, credentials


def resolve(
    model: str | None,
    base_url: str | None,
    api_key_env: str | None,
    env: dict[str, str] | None = None,
) -> ModelChoice:
    """Decide which model to use from ``--model``, ``--base-url``, ``--api-key-env`` and the environment.

    Rules: ``local/NAME`` is the embedded model; ``openai/NAME`` is OpenAI itself; a bare name with a base URL is
    any OpenAI-compatible server; nothing configured at all means the embedded model, with a warning.
    """
    environ = dict(os.environ) if env is None else env
    key_var = api_key_env or "OPENAI_API_KEY"
    if api_key_env and not environ.get(api_key_env):
        raise InputError(f"--api-key-env {api_key_env}: that variable is not set; export it or name another")
    model = model or environ.get("PAPERCODER_MODEL") or None
    base_url = user_base_url(base_url, environ)
    has_key = bool(environ.get(key_var))

    if model and model.startswith("local/"):
        local = model.split("/", 1)[1]
        if local not in LOCAL_MODELS:
            raise InputError(f"unknown embedded model {model!r}: the embedded models are local/smollm2")
        return ModelChoice("local", local, model, None, None)
    if model is None and base_url is None and not has_key:
        return ModelChoice("local", "smollm2", "local/smollm2", None, None, demo_warning=DEMO_WARNING)
    safe, credentials = _endpoint(base_url) if base_url else (None, UrlCredentials())
    if model and model.startswith("openai/"):
        if not has_key:
            raise InputError(f"{model} needs an API key: export {key_var}=... (or pass --api-key-env VAR)")
        bare = model.split("/", 1)[1]
        return ModelChoice("openai", bare, model, safe or OPENAI_BASE_URL, key_var, credentials=credentials)
    if safe:
        if not model:
            raise InputError(f"--base-url {safe} needs --model NAME (the model name that server serves)")
        return ModelChoice("compat", model, model, safe, key_var if has_key else None, credentials=credentials)
    # A key but no base URL: OpenAI itself.
    bare = model or DEFAULT_OPENAI_MODEL
    if not has_key:
        raise InputError(
            f"--model {bare} without --base-url means OpenAI, which needs {key_var}; "
            "set it, or pass --base-url for another server, or --model local/smollm2"
        )
    return ModelChoice("openai", bare, f"openai/{bare}", OPENAI_BASE_URL, key_var)


def limit_key(choice: ModelChoice) -> tuple[str, str]:
    """What a provider counts its rate limits by, and so what a limiter is shared by: the endpoint and the model."""
    return choice.base_url or OPENAI_BASE_URL, choice.model


def build(
    choice: ModelChoice,
    *,
    env: dict[str, str] | None = None,
    timeout_s: float = 600.0,
    rpm: float | None = None,
    tpm: float | None = None,
    on_rate_wait: WaitCallback | None = None,
    rate_limiter: RateLimiter | None = None,
) -> ChatModel:
    """Instantiate the model ``choice`` names. The key is read from the environment here and kept in memory only.

    A served model gets the process's rate limiter for its endpoint and model (``llm/ratelimit.py``): ``rpm`` and
    ``tpm`` when given, the server's rate-limit headers always; ``on_rate_wait`` hears of each wait."""
    environ = dict(os.environ) if env is None else env
    if choice.provider == "local":
        from papercoder.llm.local import LocalLlamaModel

        return LocalLlamaModel.embedded(choice.model)
    from papercoder.llm.openai_compat import OpenAICompatModel

    limiter = rate_limiter
    if limiter is None:
        limiter = shared_limiter(*limit_key(choice), rpm, tpm)
        if on_rate_wait is not None:
            limiter.on_wait = on_rate_wait

    # Local servers often need no key, but the SDK insists on one: send a placeholder.
    api_key = environ.get(choice.api_key_env, "") if choice.api_key_env else ""
    return OpenAICompatModel(
        choice.model,
        name=choice.name,
        base_url=choice.base_url,
        api_key=api_key or "not-needed",
        timeout_s=timeout_s,
        credentials=choice.credentials,
        rate_limiter=limiter,
    )
