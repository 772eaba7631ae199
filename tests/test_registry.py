"""Which model the options select."""

from __future__ import annotations

import base64

import pytest

from papercoder._cli.debug import model_of_run
from papercoder.errors import InputError
from papercoder.llm.registry import DEMO_WARNING, OPENAI_BASE_URL, resolve
from papercoder.llm.urls import client_settings, redact, split_base_url
from papercoder.run_dir import Manifest, ModelInfo


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


def test_credentials_in_the_base_url_are_split_off() -> None:
    choice = resolve("m", "https://bob:pa55-word@proxy.example/v1?api_key=qk-1234&api-version=2", None, env={})
    assert choice.base_url == "https://proxy.example/v1?api-version=2"
    assert choice.credentials.basic_auth() == "Basic " + base64.b64encode(b"bob:pa55-word").decode()
    assert choice.credentials.query == (("api_key", "qk-1234"),)
    assert "pa55-word" not in repr(choice) and "qk-1234" not in repr(choice)
    assert client_settings(choice.base_url or "", choice.credentials) == (
        "https://proxy.example/v1",
        {"Authorization": choice.credentials.basic_auth()},
        {"api-version": "2", "api_key": "qk-1234"},
    )


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("http://localhost:8000/v1", "http://localhost:8000/v1"),
        ("http://:only-password@host/v1", "http://host/v1"),
        ("http://u:p%40ss@host:1/v1", "http://host:1/v1"),
        ("http://host/v1?key=abc&token=t&x=1", "http://host/v1?x=1"),
    ],
)
def test_safe_url(url: str, safe: str) -> None:
    assert split_base_url(url)[0] == safe


def test_percent_encoded_userinfo_is_decoded_for_the_header() -> None:
    _, credentials = split_base_url("http://u:p%40ss@host/v1")
    assert (credentials.username, credentials.password) == ("u", "p@ss")


def test_a_base_url_that_is_not_http_is_refused_without_echoing_credentials() -> None:
    with pytest.raises(InputError, match="full http") as info:
        resolve("m", "ftp://bob:s3cret-pw@host/v1", None, env={})
    assert "s3cret-pw" not in str(info.value)
    with pytest.raises(InputError, match="full http"):
        resolve("m", "localhost:8000/v1", None, env={})


def test_environment_base_url_is_split_too() -> None:
    choice = resolve("m", None, None, env={"OPENAI_BASE_URL": "http://bob:s3cret-pw@host/v1"})
    assert choice.base_url == "http://host/v1" and choice.credentials.password == "s3cret-pw"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Authorization: Bearer abc.def-123", "Authorization: Bearer ***"),
        ("Authorization: Basic dXNlcjpwYXNz=", "Authorization: Basic ***"),
        ("a basic understanding", "a basic understanding"),
        ("got sk-proj-ABCDEFGHijkl", "got ***"),
        ("cannot reach http://bob:pw@host/v1", "cannot reach http://***@host/v1"),
        ("GET /v1?api_key=zz9&x=1", "GET /v1?api_key=***&x=1"),
        ("the key hunter22 was wrong", "the key *** was wrong"),
    ],
)
def test_redact(text: str, kept: str) -> None:
    assert redact(text, ["hunter22"]) == kept


def test_an_old_manifest_with_credentials_is_read_and_written_without_them() -> None:
    info = ModelInfo.model_validate({"name": "m", "provider": "compat", "base_url": "http://bob:pw-123@host/v1"})
    assert info.base_url == "http://host/v1"


def test_debug_never_sends_a_key_to_an_endpoint_only_the_manifest_names() -> None:
    manifest = Manifest(model=ModelInfo(name="m", provider="compat", base_url="http://elsewhere:9/v1"))
    with pytest.raises(InputError, match=r"pass --base-url http://elsewhere:9/v1 to use it again"):
        model_of_run(manifest, None, None, None, env={"OPENAI_API_KEY": "sk-x"})
    # The manifest's own key variable counts too.
    manifest.model.api_key_env = "THEIR_API_KEY"
    with pytest.raises(InputError, match="your key will be sent there"):
        model_of_run(manifest, None, None, None, env={"THEIR_API_KEY": "k-123"})
    # No key set: nothing to leak, the recorded endpoint is used without one.
    choice = model_of_run(manifest, None, None, None, env={})
    assert (choice.base_url, choice.api_key_env) == ("http://elsewhere:9/v1", None)
    # The user's --base-url or their own environment default decide instead.
    assert model_of_run(manifest, None, "http://mine/v1", None, env={"OPENAI_API_KEY": "sk-x"}).base_url == (
        "http://mine/v1"
    )
    mine = model_of_run(
        manifest, None, None, None, env={"OPENAI_API_KEY": "sk-x", "PAPERCODER_BASE_URL": "http://m/v1"}
    )
    assert (mine.base_url, mine.api_key_env) == ("http://m/v1", "OPENAI_API_KEY")


@pytest.mark.parametrize("variable", ["AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "HOME", "openai_api_key"])
def test_a_manifest_cannot_name_any_variable_as_the_key(variable: str) -> None:
    manifest = Manifest(model=ModelInfo(name="openai/gpt-4.1", provider="openai", api_key_env=variable))
    env = {variable: "not-a-model-key", "OPENAI_API_KEY": "sk-mine"}
    assert model_of_run(manifest, None, None, None, env=env).api_key_env == "OPENAI_API_KEY"
    honoured = Manifest(model=ModelInfo(name="openai/gpt-4.1", provider="openai", api_key_env="MY_API_KEY"))
    assert model_of_run(honoured, None, None, None, env={**env, "MY_API_KEY": "k"}).api_key_env == "MY_API_KEY"
