"""Named crash and fault points on the write path, for the adversarial tests.

Two environment variables arm them; both are read once, when this module is
first imported, and a point that is not armed costs one dictionary lookup:

``GOVERNED_AGENTS_CRASH_AT=name[:n][,name[:n]…]``
    The process kills itself with SIGKILL the ``n``-th time (default 1) it
    reaches point ``name``: no ``finally``, no ``atexit``, no flush, exactly
    what a power cut or an OOM kill leaves behind.

``GOVERNED_AGENTS_FAULT_AT=name[:k][,name[:k]…]``
    Point ``name`` raises ``TransientFault`` the first ``k`` times (default 1)
    it is reached, then lets calls through: a flaky dependency that recovers.

A name that is not in ``CRASH_POINTS`` / ``FAULT_POINTS`` is an error at
import (a misspelt point would otherwise arm nothing and a crash test would
pass without crashing). Production never sets these variables.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "GOVERNED_AGENTS_CRASH_AT"
FAULT_ENV = "GOVERNED_AGENTS_FAULT_AT"

# Where each point sits, in the order a governed write reaches them.
CRASH_POINTS: dict[str, str] = {
    "after_gate_decision_audit": "executor: the gate's decision is audited, nothing else done yet",
    "after_approval_request": "executor: the approval request and its audit event are committed",
    "in_approval_decision": "approvals: a decision row is written, its transaction not yet committed",
    "after_approval_decision": "approvals: the decision is committed, the caller not yet told",
    "after_idempotency_key": "executor: the idempotency key (write intent) is committed, the ERP not yet written",
    "in_erp_write": "ERP tool: the journal entry is inserted, the ERP transaction not yet committed",
    "after_erp_write": "executor: the ERP write is committed, no receipt yet",
    "after_receipt": "executor: audit event, receipt and key result written, the ledger transaction not committed",
    "after_write_commit": "executor: everything committed, the posting step not yet finished",
    "after_budget_reservation": "routing: a model-spend reservation is committed, the model not yet called",
}

FAULT_POINTS: dict[str, str] = {
    "erp_write": "ERP tool: the journal-entry write fails (a timeout or an error from the ERP)",
}


class TransientFault(ConnectionError):
    """An injected failure of a dependency (the kind a retry may cure)."""


def _parse(env: str, known: dict[str, str]) -> dict[str, int]:
    raw = os.environ.get(env, "").strip()
    armed: dict[str, int] = {}
    if not raw:
        return armed
    for item in raw.split(","):
        name, _, count = item.strip().partition(":")
        if name not in known:
            raise ValueError(f"{env}: unknown point {name!r}; known: {', '.join(known)}")
        try:
            n = int(count) if count else 1
        except ValueError:
            raise ValueError(f"{env}: {item!r}: the count after ':' must be a whole number") from None
        if n < 1:
            raise ValueError(f"{env}: {item!r}: the count must be at least 1")
        armed[name] = n
    return armed


_crash: dict[str, int] = {}
_fault: dict[str, int] = {}


def reload() -> None:
    """Read the environment again (tests that arm fault points in-process)."""
    global _crash, _fault
    _crash = _parse(CRASH_ENV, CRASH_POINTS)
    _fault = _parse(FAULT_ENV, FAULT_POINTS)


reload()


def crash_point(name: str) -> None:
    """SIGKILL this process if ``name`` is armed and this is the armed hit."""
    if not _crash or name not in _crash:
        return
    _crash[name] -= 1
    if _crash[name] <= 0:
        os.kill(os.getpid(), signal.SIGKILL)


def fault_point(name: str) -> None:
    """Raise ``TransientFault`` while ``name`` has injected failures left."""
    if not _fault or _fault.get(name, 0) <= 0:
        return
    _fault[name] -= 1
    raise TransientFault(f"injected fault at {name} ({FAULT_ENV}); {_fault[name]} more to come")


__all__ = ["CRASH_ENV", "CRASH_POINTS", "FAULT_ENV", "FAULT_POINTS", "TransientFault", "crash_point",
           "fault_point", "reload"]
