"""Cut a LaTeX body into pieces that parse alone, so pylatexenc never sees one huge run of text.

pylatexenc's parse time grows with the square of the length of a run of plain characters (1 MB of prose took 29 s,
4 MB several minutes). Parsed piece by piece, the same nodes come out in the same order, as long as every cut is a
line end at the top level: outside braces, environments and math. Then each piece is complete LaTeX, and the
line end a cut follows stays in the piece before it.
"""

from __future__ import annotations

PIECE_CHARS = 20_000  # a cut is made at the first safe line end after this many characters


def top_level_pieces(text: str, size: int = PIECE_CHARS) -> list[str]:
    """``text`` cut at top-level line ends into pieces of about ``size`` characters; ``"".join`` gives it back.

    Escaped characters (``\\{``, ``\\$``, ``\\\\``) do not count; unbalanced markup only means fewer cuts after it.
    """
    if len(text) <= size:
        return [text]
    pieces: list[str] = []
    start = i = depth = envs = 0
    math: str | None = None  # the closer awaited: "$", "$$", "\\]" or "\\)"
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            if text.startswith("\\begin", i) and math is None:
                envs += 1
            elif text.startswith("\\end", i) and math is None:
                envs = max(envs - 1, 0)
            elif math is None and text[i + 1 : i + 2] in ("[", "("):
                math = "\\]" if text[i + 1] == "[" else "\\)"
            elif math is not None and text.startswith(math, i):
                math = None
            i += 2  # the backslash and the character it escapes or starts a name with
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth = max(depth - 1, 0)
        elif c == "$":
            closer = "$$" if text.startswith("$$", i) else "$"
            if math is None:
                math = closer
            elif math == closer:
                math = None
            i += len(closer)
            continue
        elif c == "\n" and not depth and not envs and math is None and i + 1 - start >= size:
            pieces.append(text[start : i + 1])
            start = i + 1
        i += 1
    pieces.append(text[start:])
    return [p for p in pieces if p]
