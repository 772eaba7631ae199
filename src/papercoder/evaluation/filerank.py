"""Which repository files to show the judge for one rubric requirement: ranked by word overlap, top-k in a budget.

Words are lower-cased alphanumeric runs of three or more characters, with ``snake_case`` and ``camelCase``
identifiers also split into their parts, minus common English words. A file's relevance is
``3 × |requirement words ∩ path words| + |requirement words ∩ content words|``; ties go to the shorter path, then
alphabetical order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_STOPWORDS_TEXT = """
    the and for with that this from are was were has have had not but its their there which when where what
    into onto than then them they these those using used use all any each per via can should must may will
    been being also such other code implemented implementation implements implement correctly correct paper
    section described describes value values file files
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
PATH_WEIGHT = 3


def words(text: str) -> set[str]:
    """The set of matching words of ``text`` (see the module docstring)."""
    found: set[str] = set()
    for token in _WORD.findall(text.replace("_", " ")):
        for part in {token, *_CAMEL.findall(token)}:
            low = part.lower()
            if len(low) >= 3 and low not in STOPWORDS:
                found.add(low)
    return found


class FileIndex:
    """Words and token counts of a repository's files, computed once for many requirements."""

    def __init__(self, files: Mapping[str, str], count_tokens: Callable[[str], int]) -> None:
        self.paths = list(files)
        self._path_words = {p: words(p) for p in self.paths}
        self._content_words = {p: words(t) for p, t in files.items()}
        self._tokens = {p: count_tokens(t) for p, t in files.items()}

    def rank(self, requirement: str) -> list[tuple[str, int]]:
        """Every file with its relevance to ``requirement``, most relevant first."""
        wanted = words(requirement)
        scored = [
            (p, PATH_WEIGHT * len(wanted & self._path_words[p]) + len(wanted & self._content_words[p]))
            for p in self.paths
        ]
        return sorted(scored, key=lambda item: (-item[1], len(item[0]), item[0]))

    def select(self, requirement: str, top_k: int, budget: int) -> list[str]:
        """Up to ``top_k`` of the most relevant files whose tokens fit ``budget`` together; a file too large for
        what is left is passed over for the next one."""
        chosen: list[str] = []
        left = budget
        for path, _ in self.rank(requirement):
            if len(chosen) >= top_k:
                break
            if self._tokens[path] <= left:
                chosen.append(path)
                left -= self._tokens[path]
        return chosen
