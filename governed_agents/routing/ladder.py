"""The downgrade ladder and the estimates a reservation is made from (pure functions).

As a budget fills, the gateway steps down before it stops. With the envelope's
``budgets.downgrade_at_fraction`` thresholds ``(t1, t2, t3)`` (default 0.6, 0.8,
0.95) and ``f`` the highest fraction of any budget that applies to the call
already committed (settled + reserved) before it:

==========  ======================================================================
f ≥ t1      **smaller model**: the tier steps down to the next cheaper tier of the
            envelope (reasoning → fallback → router, by catalog price)
f ≥ t2      **reduced context**: also keep only the system prompt, the first user
            message and the last few messages, each cut to a length limit, and
            halve the output allowance
f ≥ t3      **require confirmation**: also no call until an approval request for
            further spend on this task is approved
cap         **stop**: a call whose estimate would take any budget past its cap is
            refused (``BudgetExhausted``), whatever the thresholds
==========  ======================================================================

Fewer thresholds use the first rungs only; more than three all mean
confirmation. Nothing here touches the database; ``gateway`` applies it inside
the reservation transaction.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Iterable

from governed_agents.routing.budget import Budget, Usage

SMALLER_MODEL = "smaller_model"
REDUCED_CONTEXT = "reduced_context"
REQUIRE_CONFIRMATION = "require_confirmation"
STOP = "stop"
LADDER: tuple[str, ...] = (SMALLER_MODEL, REDUCED_CONTEXT, REQUIRE_CONFIRMATION)

#: Messages kept at the end of the conversation by the reduced-context step.
KEEP_LAST_MESSAGES = 4
#: Characters kept of any one message's text by the reduced-context step.
MAX_MESSAGE_CHARS = 2000
TRUNCATION_NOTE = " …[cut by the gateway: reduced context, budget near its cap]"


@dataclass(frozen=True, slots=True)
class DowngradeStep:
    """One rung applied to a call, and the budget that caused it."""

    step: str  # smaller_model | reduced_context | require_confirmation | stop
    budget: str  # task_cost | workflow_daily | …
    scope: str
    name: str
    fraction: float  # committed / cap before the call
    threshold: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "budget": self.budget,
            "scope": self.scope,
            "name": self.name,
            "fraction": round(self.fraction, 4),
            "threshold": self.threshold,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Pressure:
    """How full one budget is before the call."""

    budget: Budget
    committed: int  # 1e-8 USD, or tokens
    fraction: float
    level: int  # how many thresholds the fraction has reached


def pressures(budgets: Iterable[Budget], usage: dict[str, Usage], thresholds: tuple[float, ...]) -> list[Pressure]:
    """Every budget's pressure, fullest first."""
    out = []
    for budget in budgets:
        cap = budget.cap_e8
        committed = usage.get(budget.scope.key, Usage()).committed(budget.unit)
        fraction = committed / cap if cap > 0 else 1.0
        level = sum(1 for t in thresholds if fraction >= t)
        out.append(Pressure(budget, committed, fraction, level))
    return sorted(out, key=lambda p: (-p.fraction, p.budget.budget))


def over_cap(budgets: Iterable[Budget], usage: dict[str, Usage], add_e8: int, add_tokens: int) -> list[Pressure]:
    """The budgets that adding this estimate would take past their cap, in budget order."""
    out = []
    for budget in budgets:
        committed = usage.get(budget.scope.key, Usage()).committed(budget.unit)
        add = add_tokens if budget.unit == "tokens" else add_e8
        if committed + add > budget.cap_e8:
            cap = budget.cap_e8
            out.append(Pressure(budget, committed, committed / cap if cap > 0 else 1.0, len(LADDER) + 1))
    return out


def steps_for(pressure: Pressure | None, thresholds: tuple[float, ...]) -> list[tuple[str, float]]:
    """The rungs (step, threshold) that apply at this pressure."""
    if pressure is None:
        return []
    steps = []
    for index, threshold in enumerate(thresholds):
        if pressure.fraction >= threshold:
            steps.append((LADDER[min(index, len(LADDER) - 1)], threshold))
    # More thresholds than rungs: each extra one repeats the confirmation rung.
    seen: dict[str, float] = {}
    for step, threshold in steps:
        seen.setdefault(step, threshold)
    return list(seen.items())


def _text_of(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return json.dumps(content, default=str) if content is not None else ""


def reduce_context(messages: list[dict], *, keep_last: int = KEEP_LAST_MESSAGES,
                   max_chars: int = MAX_MESSAGE_CHARS) -> list[dict]:
    """System prompts, the first user message and the last ``keep_last`` messages, each cut to ``max_chars``.

    The kept tail never starts with a tool result whose assistant tool call was
    dropped (providers refuse an orphaned tool message): the cut moves back to
    include that assistant message.
    """
    indexed = list(enumerate(messages))
    keep: set[int] = {i for i, m in indexed if m.get("role") in ("system", "developer")}
    first_user = next((i for i, m in indexed if m.get("role") == "user"), None)
    if first_user is not None:
        keep.add(first_user)
    start = max(0, len(messages) - keep_last)
    while start > 0 and messages[start].get("role") == "tool":
        start -= 1
    keep.update(range(start, len(messages)))
    out = []
    for i in sorted(keep):
        message = dict(messages[i])
        content = message.get("content")
        if isinstance(content, str) and len(content) > max_chars:
            message["content"] = content[:max_chars] + TRUNCATION_NOTE
        out.append(message)
    return out


def estimate_input_tokens(messages: list[dict], tools: list[dict] | None = None) -> int:
    """A deliberately high estimate of prompt tokens: one per three characters of JSON, plus framing.

    Real tokenizers average about four characters per token on English text;
    over-estimating keeps the reservation an upper bound of the settlement.
    """
    chars = len(json.dumps(messages, default=str, ensure_ascii=False))
    if tools:
        chars += len(json.dumps(tools, default=str, ensure_ascii=False))
    return math.ceil(chars / 3) + 4 * len(messages)


__all__ = [
    "KEEP_LAST_MESSAGES",
    "LADDER",
    "MAX_MESSAGE_CHARS",
    "REDUCED_CONTEXT",
    "REQUIRE_CONFIRMATION",
    "SMALLER_MODEL",
    "STOP",
    "DowngradeStep",
    "Pressure",
    "estimate_input_tokens",
    "over_cap",
    "pressures",
    "reduce_context",
    "steps_for",
]
