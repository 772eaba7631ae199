"""Prices of common models, in US dollars per million tokens; unknown models cost "unknown" (None)."""

from __future__ import annotations

from typing import NamedTuple

from papercoder.llm.base import Usage


class Price(NamedTuple):
    """USD per 1M tokens: uncached input, cached input, output (reasoning tokens bill as output)."""

    input: float
    cached_input: float
    output: float


# List prices as published by the providers; a user can check them with `papercoder run --estimate`.
PRICES: dict[str, Price] = {
    "gpt-4o": Price(2.50, 1.25, 10.00),
    "gpt-4o-mini": Price(0.15, 0.075, 0.60),
    "gpt-4.1": Price(2.00, 0.50, 8.00),
    "gpt-4.1-mini": Price(0.40, 0.10, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.025, 0.40),
    "gpt-5": Price(1.25, 0.125, 10.00),
    "gpt-5-mini": Price(0.25, 0.025, 2.00),
    "gpt-5-nano": Price(0.05, 0.005, 0.40),
    "o1": Price(15.00, 7.50, 60.00),
    "o3": Price(2.00, 0.50, 8.00),
    "o3-mini": Price(1.10, 0.55, 4.40),
    "o4-mini": Price(1.10, 0.275, 4.40),
    "deepseek-chat": Price(0.27, 0.07, 1.10),
    "deepseek-reasoner": Price(0.55, 0.14, 2.19),
    "smollm2": Price(0.0, 0.0, 0.0),
}


def price_for(model: str) -> Price | None:
    """The price of ``model`` (provider prefixes such as ``openai/`` are ignored), or None if unknown."""
    bare = model.rsplit("/", 1)[-1].lower()
    if bare in PRICES:
        return PRICES[bare]
    # Dated snapshots ("gpt-4o-2024-08-06") cost what their family costs: take the longest matching prefix.
    matches = [k for k in PRICES if bare.startswith(k + "-")]
    return PRICES[max(matches, key=len)] if matches else None


def cost_usd(model: str, usage: Usage) -> float | None:
    """Cost of ``usage`` on ``model``; None when the price is unknown."""
    price = price_for(model)
    if price is None:
        return None
    uncached = max(usage.prompt_tokens - usage.cached_tokens, 0)
    total = uncached * price.input + usage.cached_tokens * price.cached_input + usage.completion_tokens * price.output
    return total / 1_000_000
