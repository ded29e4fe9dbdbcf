"""The errors a person reads.

Every expected refusal is a ``GovernanceError``: it says what was wrong, where,
and what to do, and the CLI turns it into exit code 1 (a refusal or failed check)
or 2 (bad usage) without a traceback.
"""

from __future__ import annotations


class GovernanceError(Exception):
    """A refusal or failed check that a person must read (CLI exit code 1)."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or {}

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"

    def to_json(self) -> dict:
        out = {"error": type(self).__name__, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        if self.details:
            out["details"] = self.details
        return out


class UsageError(GovernanceError):
    """The command was called wrongly (CLI exit code 2)."""

    exit_code = 2


class PolicyError(GovernanceError):
    """An execution envelope does not load; the workflow it governs does not run."""


class LedgerError(GovernanceError):
    """The governance ledger cannot be read or written; writes are refused."""


class AuditChainBroken(GovernanceError):
    """The hash chain of audit events does not verify."""


class TokenError(GovernanceError):
    """A token is missing, forged, expired or out of scope."""


class ApprovalRefused(GovernanceError):
    """An approval or rejection was refused; nothing changed."""


class ReceiptInvalid(GovernanceError):
    """A receipt's signature or form does not verify."""


class KillSwitchEngaged(GovernanceError):
    """The kill switch is on: no write executes."""
