"""Receipts in the ledger: store (with a ``receipt.issued`` audit event), fetch, list.

The stored body is the receipt's canonical JSON, exactly the bytes inside the
signed input, so a stored receipt can be re-exported and re-verified at any time;
the ``receipt.issued`` audit event carries the receipt's digest, which ties the
receipt into the hash chain: editing the row afterwards breaks either the
signature or the digest recorded in the chain.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from governed_agents.canonical import canonical_json
from governed_agents.errors import GovernanceError, LedgerError
from governed_agents.ledger.schema import receipts
from governed_agents.receipts.model import Receipt
from governed_agents.receipts.signing import ALG, SignedReceipt

if TYPE_CHECKING:
    from governed_agents.ledger.audit import AuditEvent
    from governed_agents.ledger.db import Ledger

ISSUER = "governed-agents"
_MIN_PREFIX = 6


class ReceiptNotFound(GovernanceError):
    """No receipt with that id (or id prefix) is in the ledger."""


def store_receipt(ledger: Ledger, signed: SignedReceipt, *, conn: sa.Connection | None = None) -> AuditEvent:
    """Insert the signed receipt and append its ``receipt.issued`` audit event.

    With ``conn`` (from ``Ledger.transaction()``) both are part of that
    transaction; otherwise they commit together on their own. Returns the audit event.
    """
    if conn is None:
        with ledger.transaction() as own:
            return _store(ledger, signed, own)
    return _store(ledger, signed, conn)


def _store(ledger: Ledger, signed: SignedReceipt, conn: sa.Connection) -> AuditEvent:
    r = signed.receipt
    exists = conn.execute(sa.select(receipts.c.id).where(receipts.c.id == r.receipt_id)).first()
    if exists is not None:
        raise LedgerError(f"receipt {r.receipt_id} is already stored; receipts are never replaced")
    conn.execute(
        receipts.insert().values(
            id=r.receipt_id,
            kind=r.kind,
            workflow=r.workflow,
            trace_id=r.trace_id,
            run_id=r.run_id,
            approval_request_id=r.approval_request_id,
            body=canonical_json(r.to_json_dict()),
            signature=signed.signature,
            key_id=signed.key_id,
            audit_hash=r.audit_anchor.hash,
            created_at=_dt.datetime.now(_dt.timezone.utc),
        )
    )
    return ledger.append(
        "receipt.issued",
        {
            "receipt_id": r.receipt_id,
            "kind": r.kind,
            "digest": r.digest(),
            "key_id": signed.key_id,
            "signature": signed.signature,
            "anchor": {"seq": r.audit_anchor.seq, "hash": r.audit_anchor.hash},
            "approval_request_id": r.approval_request_id,
        },
        actor=ISSUER,
        workflow=r.workflow,
        trace_id=r.trace_id,
        run_id=r.run_id,
        envelope_version=r.envelope_version,
        envelope_digest=r.envelope_digest,
        conn=conn,
    )


def _from_row(row: Any) -> SignedReceipt:
    try:
        receipt = Receipt.model_validate_json(row["body"])
    except ValueError as exc:
        raise LedgerError(f"stored receipt {row['id']} does not parse: {exc}") from None
    return SignedReceipt(receipt=receipt, alg=ALG, key_id=row["key_id"], signature=row["signature"])


def get_receipt(ledger: Ledger, receipt_id: str, *, conn: sa.Connection | None = None) -> SignedReceipt:
    """The receipt with this id, or with this unique id prefix (at least 6 characters)."""
    receipt_id = receipt_id.strip()
    stmt = sa.select(receipts).where(receipts.c.id == receipt_id)
    rows = _rows(ledger, stmt, conn)
    if not rows and len(receipt_id) >= _MIN_PREFIX:
        pattern = receipt_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = _rows(ledger, sa.select(receipts).where(receipts.c.id.like(pattern, escape="\\")).limit(5), conn)
        if len(rows) > 1:
            raise ReceiptNotFound(
                f"receipt id prefix {receipt_id!r} is ambiguous: {', '.join(r['id'] for r in rows)}",
                hint="give more of the id",
            )
    if not rows:
        raise ReceiptNotFound(
            f"no receipt {receipt_id!r} in the ledger at {_safe(ledger)}",
            hint="list receipts with `governed-agents receipts list`",
        )
    return _from_row(rows[0])


def list_receipts(
    ledger: Ledger,
    *,
    workflow: str | None = None,
    trace_id: str | None = None,
    run_id: str | None = None,
    limit: int = 50,
) -> list[SignedReceipt]:
    """Receipts, newest first, optionally filtered."""
    stmt = sa.select(receipts).order_by(receipts.c.created_at.desc(), receipts.c.id)
    if workflow is not None:
        stmt = stmt.where(receipts.c.workflow == workflow)
    if trace_id is not None:
        stmt = stmt.where(receipts.c.trace_id == trace_id)
    if run_id is not None:
        stmt = stmt.where(receipts.c.run_id == run_id)
    if limit is not None:
        stmt = stmt.limit(max(0, int(limit)))
    return [_from_row(row) for row in _rows(ledger, stmt, None)]


def _rows(ledger: Ledger, stmt: Any, conn: sa.Connection | None) -> list[Any]:
    if conn is not None:
        return list(conn.execute(stmt).mappings())
    try:
        with ledger.engine.connect() as own:
            return list(own.execute(stmt).mappings())
    except sa.exc.DBAPIError as exc:
        raise LedgerError(f"cannot read receipts from the ledger at {_safe(ledger)}: {exc.orig}") from None


def _safe(ledger: Ledger) -> str:
    try:
        from governed_agents.ledger.db import safe_url

        return safe_url(ledger.url)
    except Exception:  # noqa: BLE001 - only for a message
        return "the configured database"
