"""Prices of models, in US dollars per million tokens; unknown models cost "unknown" (None).

Three sources, in order: what the provider reports it billed for a call (OpenRouter puts ``cost`` in the usage),
prices the user gives for models the table does not know (``--price-input``/``--price-output``, or a prices file
read by :func:`load_prices`), and the list prices below.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple, TypeGuard

import yaml

from papercoder.errors import InputError
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

# Prices the user gave for this process, by model name as given (checked before the table).
_USER_PRICES: dict[str, Price] = {}
_LOCK = threading.Lock()


def set_price(model: str, input_usd: float, output_usd: float, cached_input_usd: float | None = None) -> Price:
    """Use these prices (USD per 1M tokens) for ``model`` in this process; cached input defaults to the input price.

    Raises:
        InputError: a price is negative.
    """
    if min(input_usd, output_usd, cached_input_usd or 0.0) < 0:
        raise InputError(f"prices for {model} must not be negative; give USD per million tokens")
    price = Price(input_usd, input_usd if cached_input_usd is None else cached_input_usd, output_usd)
    with _LOCK:
        _USER_PRICES[model.lower()] = price
        _USER_PRICES[model.rsplit("/", 1)[-1].lower()] = price
    return price


def clear_prices() -> None:
    """Forget the prices given with :func:`set_price` or :func:`load_prices`."""
    with _LOCK:
        _USER_PRICES.clear()


def load_prices(path: Path) -> dict[str, Price]:
    """Read a prices file (YAML or JSON: ``MODEL: {input: USD, output: USD, cached_input: USD}`` per million tokens)
    and use its prices in this process.

    Raises:
        InputError: the file is missing, unreadable, or an entry lacks a number for ``input`` or ``output``.
    """
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read prices file {path} ({type(exc).__name__}); give a YAML or JSON file") from None
    if not isinstance(data, Mapping):
        raise InputError(f"{path}: a prices file maps model names to {{input: USD, output: USD}} per 1M tokens")
    loaded: dict[str, Price] = {}
    for model, entry in data.items():
        numbers = entry if isinstance(entry, Mapping) else {}
        inp, out, cached = (numbers.get(k) for k in ("input", "output", "cached_input"))
        if not (_is_number(inp) and _is_number(out) and (cached is None or _is_number(cached))):
            raise InputError(f"{path}: {model!s} needs numbers for input and output (USD per 1M tokens)")
        loaded[str(model)] = set_price(str(model), float(inp), float(out), None if cached is None else float(cached))
    return loaded


def apply_prices(
    models: list[str], price_input: float | None, price_output: float | None, prices_file: Path | None
) -> None:
    """What ``--prices FILE`` and ``--price-input``/``--price-output`` say: the file's prices, then the given pair
    for each of ``models`` that still has no price (a listed or filed price is kept).

    Raises:
        InputError: only one of the pair is given, or the file cannot be used.
    """
    if prices_file is not None:
        load_prices(prices_file)
    if price_input is None and price_output is None:
        return
    if price_input is None or price_output is None:
        raise InputError("--price-input and --price-output go together: give both, in USD per million tokens")
    for model in models:
        if model and price_for(model) is None:
            set_price(model, price_input, price_output)


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def price_for(model: str) -> Price | None:
    """The price of ``model`` (provider prefixes such as ``openai/`` are ignored), or None if unknown."""
    with _LOCK:
        user = _USER_PRICES.get(model.lower()) or _USER_PRICES.get(model.rsplit("/", 1)[-1].lower())
    if user is not None:
        return user
    bare = model.rsplit("/", 1)[-1].lower()
    if bare in PRICES:
        return PRICES[bare]
    # Dated snapshots ("gpt-4o-2024-08-06") cost what their family costs: take the longest matching prefix.
    matches = [k for k in PRICES if bare.startswith(k + "-")]
    return PRICES[max(matches, key=len)] if matches else None


def cost_usd(model: str, usage: Usage) -> float | None:
    """Cost of ``usage`` on ``model``: what the provider reported, else by price; None when neither is known."""
    if usage.reported_cost_usd is not None:
        return usage.reported_cost_usd
    price = price_for(model)
    if price is None:
        return None
    uncached = max(usage.prompt_tokens - usage.cached_tokens, 0)
    total = uncached * price.input + usage.cached_tokens * price.cached_input + usage.completion_tokens * price.output
    return total / 1_000_000
