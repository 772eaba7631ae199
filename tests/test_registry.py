"""Which model the options select."""

from __future__ import annotations

import pytest

from papercoder.errors import InputError
from papercoder.llm.registry import DEMO_WARNING, OPENAI_BASE_URL, resolve


def test_nothing_configured_means_the_embedded_model_with_a_warning() -> None:
    choice = resolve(None, None, None, env={})
    assert (choice.provider, choice.name, choice.demo_warning) == ("local", "local/smollm2", DEMO_WARNING)


def test_explicit_local() -> None:
    choice = resolve("local/smollm2", None, None, env={"OPENAI_API_KEY": "sk-x"})
    assert choice.provider == "local" and choice.demo_warning is None


def test_openai_prefix_uses_openai_and_the_key_variable() -> None:
    choice = resolve("openai/gpt-4.1", None, None, env={"OPENAI_API_KEY": "sk-x"})
    assert (choice.provider, choice.model, choice.base_url, choice.api_key_env) == (
        "openai",
        "gpt-4.1",
        OPENAI_BASE_URL,
        "OPENAI_API_KEY",
    )


def test_base_url_without_key_needs_no_key() -> None:
    choice = resolve("llama3", "http://localhost:11434/v1", None, env={})
    assert (choice.provider, choice.api_key_env) == ("compat", None)


def test_api_key_env_is_named_not_copied() -> None:
    choice = resolve("m", "http://x/v1", "MY_KEY", env={"MY_KEY": "secret-value"})
    assert choice.api_key_env == "MY_KEY"
    assert "secret-value" not in repr(choice)


@pytest.mark.parametrize(
    ("model", "base_url", "key_env", "env", "fragment"),
    [
        ("openai/gpt-4.1", None, None, {}, "OPENAI_API_KEY"),
        ("local/llama", None, None, {}, "local/smollm2"),
        (None, "http://x/v1", None, {}, "--model"),
        ("m", None, "NOPE", {}, "NOPE"),
        ("gpt-4.1", None, None, {}, "--base-url"),
    ],
)
def test_bad_model_options(
    model: str | None, base_url: str | None, key_env: str | None, env: dict[str, str], fragment: str
) -> None:
    with pytest.raises(InputError, match=fragment.replace("-", r"\-")):
        resolve(model, base_url, key_env, env=env)
