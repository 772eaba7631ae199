"""The interface of a dependency that ``--coding-order dag`` attaches: names and signatures kept, bodies gone."""

from __future__ import annotations

import ast

from papercoder.pipeline.interfaces import interface

CODE = '''"""The Transformer model."""
import math
from dataclasses import dataclass

import torch
from torch import nn

MAX_LEN = 512
VOCAB: list[str] = ["<pad>", "<s>", "</s>"]
TABLE = {i: math.sin(i) for i in range(1000)} if True else {"a very long value": "that goes on and on and on and on"}


@dataclass
class Settings:
    """Model sizes."""

    d_model: int = 512
    heads: int = 8


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention over several heads.

    Splits d_model into heads.
    """

    def __init__(self, d_model: int, heads: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.heads = heads
        self.d_k: int = d_model // heads
        self.proj = nn.Linear(d_model, d_model)
        if dropout:
            self.drop = nn.Dropout(dropout)
        self.heads = heads * 1

    def forward(self, q: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Attend; returns (batch, len, d_model)."""
        scores = q @ q.transpose(-2, -1) / math.sqrt(self.d_k)

        def helper(x):
            return x

        return helper(scores)

    @staticmethod
    def causal(n: int) -> torch.Tensor:
        return torch.tril(torch.ones(n, n))


async def fetch(url: str, *, retries: int = 3, **kw: object) -> bytes:
    """Download a file."""
    return b""
'''


def test_interface_keeps_names_and_signatures_and_drops_bodies() -> None:
    text = interface("model.py", CODE)
    ast.parse(text)  # still Python
    for kept in [
        '"""The Transformer model."""',
        "import math",
        "from torch import nn",
        "MAX_LEN = 512",
        "VOCAB: list[str] = ['<pad>', '<s>', '</s>']",
        "TABLE = ...",
        "@dataclass",
        "class Settings:",
        "    d_model: int = 512",
        "class MultiHeadAttention(nn.Module):",
        "    Splits d_model into heads.",
        "    def __init__(self, d_model: int, heads: int, dropout: float=0.1) -> None:",
        "        self.heads = heads",
        "        self.d_k = d_model // heads",
        "        self.drop = nn.Dropout(dropout)",
        "    def forward(self, q: torch.Tensor, mask: torch.Tensor | None=None) -> torch.Tensor:",
        '        """Attend; returns (batch, len, d_model)."""',
        "    @staticmethod",
        "    def causal(n: int) -> torch.Tensor:",
        "async def fetch(url: str, *, retries: int=3, **kw: object) -> bytes:",
    ]:
        assert kept in text, kept
    for dropped in ["scores =", "def helper", "torch.tril", "super().__init__()", "heads * 1", "return b"]:
        assert dropped not in text, dropped
    assert len(text) < len(CODE)


def test_non_python_and_unparsable_files_are_attached_whole() -> None:
    assert interface("config.yaml", "a: 1\n") == "a: 1\n"
    broken = "def f(:\n    pass\n"
    assert interface("broken.py", broken) == broken
    assert interface("empty.py", "") == "\n"
