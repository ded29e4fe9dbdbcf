"""What a person reads when a model call is refused or fails.

Every error names what was hit: the budget (task, workflow, user or tenant),
its cap and its spend; the approval request to decide; the models tried and
what each returned.
"""

from __future__ import annotations

from decimal import Decimal

from governed_agents.errors import GovernanceError


def usd(value: Decimal | int | float | str) -> str:
    """Money for people: at least cents, more digits only when they matter (``$0.000375``)."""
    amount = Decimal(str(value))
    if amount == amount.quantize(Decimal("0.01")):
        return f"${amount:,.2f}"
    text = f"{amount.normalize():f}"
    return f"${text}"


class BudgetExhausted(GovernanceError):
    """No reservation: the call would take a budget past its cap. Nothing was called or spent.

    ``budget`` is one of ``task_cost``, ``task_tokens``, ``workflow_daily``,
    ``workflow_monthly``, ``user_daily``, ``tenant_monthly``; ``scope`` is
    ``task``, ``workflow``, ``user`` or ``tenant``; ``name`` says which one.
    """

    def __init__(self, message: str, *, budget: str, scope: str, name: str, cap, spent, requested,
                 unit: str = "usd", hint: str | None = None, details: dict | None = None):
        super().__init__(message, hint=hint, details=details)
        self.budget = budget
        self.scope = scope
        self.name = name
        self.cap = cap
        self.spent = spent
        self.requested = requested
        self.unit = unit


class ConfirmationRequired(GovernanceError):
    """A budget is close to its cap: further spend on this task needs an approved confirmation.

    ``approval_request_id`` is the request to approve (``governed-agents approvals``);
    call again once it is approved (the gateway finds it by task, or pass
    ``confirmation=<id>``).
    """

    def __init__(self, message: str, *, approval_request_id: str, budget: str, hint: str | None = None,
                 details: dict | None = None):
        super().__init__(message, hint=hint, details=details)
        self.approval_request_id = approval_request_id
        self.budget = budget


class ConfirmationRefused(GovernanceError):
    """The confirmation for further spend was rejected or expired, or names another task."""


class ModelCallFailed(GovernanceError):
    """Every model tried failed (rate limits, server errors, timeouts, malformed answers).

    ``attempts`` lists each try: model, tier, outcome, HTTP status, error.
    Its reservations were released: nothing was charged for the failed attempts.
    """

    def __init__(self, message: str, *, attempts: tuple = (), hint: str | None = None, details: dict | None = None):
        super().__init__(message, hint=hint, details=details)
        self.attempts = attempts


class ModelOutputInvalid(GovernanceError):
    """The model answered, but not in the form asked for (e.g. JSON that does not parse)."""


__all__ = [
    "BudgetExhausted",
    "ConfirmationRefused",
    "ConfirmationRequired",
    "ModelCallFailed",
    "ModelOutputInvalid",
    "usd",
]
