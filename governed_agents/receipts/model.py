"""The receipt: what a governed write (or run) did, in a form a person and a verifier can read.

A receipt is evidence, so it is strict: frozen, unknown fields refused (new
information goes in ``extra``), datetimes normalised to UTC, money as a decimal
string. Its canonical JSON (``governed_agents.canonical``) is what is signed and
stored, and validating that JSON gives back a receipt with the same canonical
form, byte for byte; ``signing.verify_receipt_bytes`` relies on that.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from governed_agents.canonical import canonical_bytes, digest

ReceiptKind = Literal["write_executed", "write_refused", "write_rejected", "write_expired", "write_failed",
                      "run"]
RECEIPT_KINDS: tuple[str, ...] = ReceiptKind.__args__  # type: ignore[attr-defined]


def _to_utc(value: _dt.datetime) -> _dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=_dt.timezone.utc)
    return value.astimezone(_dt.timezone.utc)


def _iso_utc(value: _dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


# Naive datetimes are taken as UTC (as canonical.py does); every datetime is
# stored and serialised as UTC with a ``Z`` so one instant has one rendering.
UtcDatetime = Annotated[
    _dt.datetime,
    AfterValidator(_to_utc),
    PlainSerializer(_iso_utc, return_type=str, when_used="json"),
]


def _decimal_str(value: Decimal) -> str:
    return str(value)


# Money: a finite decimal, serialised as its string so that no float rounding creeps in.
Money = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    PlainSerializer(_decimal_str, return_type=str, when_used="json"),
]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ApprovalRecord(_Strict):
    """One person's decision on the approval request behind a write."""

    approver: str
    decision: str  # approve | reject
    reason: str | None = None
    decided_at: UtcDatetime


class ToolCallRecord(_Strict):
    """One tool call of the task as the gate decided it."""

    tool: str
    arguments_digest: str
    outcome: str  # the gate's outcome: allow | deny | needs_approval
    reasons: tuple[str, ...] = ()
    at: UtcDatetime


class CheckRecord(_Strict):
    """A check that ran for this task (data quality, policy conformance, …)."""

    name: str
    passed: bool
    details: Any = None


class AuditAnchor(_Strict):
    """The audit event that records the write or refusal this receipt is about."""

    seq: int = Field(ge=1)
    hash: str = Field(min_length=1, max_length=64)


class Receipt(_Strict):
    """What happened, who asked, who approved, what changed, and where it sits in the audit chain."""

    receipt_id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=1, max_length=36)
    kind: ReceiptKind
    workflow: str = Field(min_length=1, max_length=128)
    envelope_version: str
    envelope_digest: str
    trace_id: str = Field(min_length=1, max_length=64)
    run_id: str | None = Field(default=None, max_length=64)
    requester: str | None = None
    approvals: tuple[ApprovalRecord, ...] = ()
    tool_calls: tuple[ToolCallRecord, ...] = ()
    checks: tuple[CheckRecord, ...] = ()
    state_before: dict[str, Any] | None = None
    state_after: dict[str, Any] | None = None
    changes: tuple[str, ...] = ()
    idempotency_key: str | None = None
    cost_usd: Money = Decimal("0")
    tokens: int = Field(default=0, ge=0)
    started_at: UtcDatetime
    finished_at: UtcDatetime
    audit_anchor: AuditAnchor
    approval_request_id: str | None = Field(default=None, max_length=36)
    notes: str | None = None
    offline_model: bool = False
    extra: dict[str, Any] = Field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON form (UTC ``Z`` datetimes, decimal strings) that is canonicalised and signed."""
        return self.model_dump(mode="json")

    def canonical_bytes(self) -> bytes:
        return canonical_bytes(self.to_json_dict())

    def digest(self) -> str:
        """``sha256:<hex>`` of the receipt's canonical JSON."""
        return digest(self.to_json_dict())
