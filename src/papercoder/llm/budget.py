"""Cost and token budgets: the run stops before the call that would pass them (exit code 3, resumable)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from papercoder.errors import BudgetExceeded
from papercoder.llm.base import Usage
from papercoder.llm.pricing import price_for

# What a step's answer is assumed to cost before it is made, when the call sets no max_tokens.
DEFAULT_ANSWER_TOKENS = 4000


@dataclass
class Budget:
    """Limits for one run. ``spent_*`` count every answer the run used, cached ones included (they were paid
    when made), so a resumed run and an uninterrupted one stop at the same call."""

    model: str
    max_cost_usd: float | None = None
    max_tokens: int | None = None
    spent_cost_usd: float = 0.0
    spent_tokens: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        # USD per token, the highest the provider reported so far: projects the next call when no price is known.
        self._reported_rate: float | None = None

    @property
    def priced(self) -> bool:
        """Whether a call's cost can be known before it is made (a listed or user-given price)."""
        return price_for(self.model) is not None

    @property
    def has_limits(self) -> bool:
        return self.max_cost_usd is not None or self.max_tokens is not None

    def check(self, prompt_tokens: int, max_answer_tokens: int | None, step: str, model: str | None = None) -> None:
        """Raise ``BudgetExceeded`` if a call with this prompt could pass a limit, at ``model``'s price (the call's
        model: a judge may cost more or less than the run's model; default: the run's)."""
        answer = max_answer_tokens or DEFAULT_ANSWER_TOKENS
        with self._lock:
            if self.max_tokens is not None and self.spent_tokens + prompt_tokens + answer > self.max_tokens:
                raise BudgetExceeded(
                    f"--max-tokens {self.max_tokens}: step '{step}' could take {prompt_tokens + answer} more tokens "
                    f"after {self.spent_tokens} spent; raise the budget and re-run the same command to resume"
                )
            price = price_for(model or self.model)
            if price is not None:
                worst: float | None = (prompt_tokens * price.input + answer * price.output) / 1_000_000
            else:
                worst = None if self._reported_rate is None else (prompt_tokens + answer) * self._reported_rate
            if self.max_cost_usd is not None and worst is not None and self.spent_cost_usd + worst > self.max_cost_usd:
                raise BudgetExceeded(
                    f"--max-cost {self.max_cost_usd:.2f}: step '{step}' could cost up to ${worst:.4f} after "
                    f"${self.spent_cost_usd:.4f} spent; raise the budget and re-run the same command to resume"
                )

    def spend(self, usage: Usage, cost: float | None) -> None:
        with self._lock:
            tokens = usage.prompt_tokens + usage.completion_tokens
            self.spent_tokens += tokens
            self.spent_cost_usd += cost or 0.0
            if usage.reported_cost_usd is not None and tokens:
                rate = usage.reported_cost_usd / tokens
                self._reported_rate = max(rate, self._reported_rate or 0.0)
