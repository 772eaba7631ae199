"""Decoding text files whose encoding nobody declared."""

from __future__ import annotations


def read_text(data: bytes) -> str:
    """Decode bytes as UTF-8 (with or without BOM), falling back to Windows-1252, then Latin-1.

    Old LaTeX sources are often Latin-1 or Windows-1252; decoding never fails because Latin-1 maps every
    byte. Windows-1252 is tried first since it agrees with Latin-1 on letters and also maps the curly quotes
    and dashes (0x80-0x9F) that editors on Windows write.

    Args:
        data: raw file content.

    Returns:
        The decoded text with ``\\r\\n`` line ends normalised to ``\\n``.
    """
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")
