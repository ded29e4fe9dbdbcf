"""The governance ledger: audit chain, approvals, idempotency, spend, kill switch, receipts.

Creates exactly the tables of ``governed_agents/ledger/schema.py`` as it stood at
this revision (written out, not imported, so later schema edits cannot rewrite
history; a test compares the migrated database with the live metadata), seeds
the chain head, and installs the triggers that make the audit trail append-only
in the database itself, on PostgreSQL and on SQLite (plus, on PostgreSQL, the
one-round-trip append function ``ga_audit_append``):

- ``audit_events``: UPDATE, DELETE (and TRUNCATE) are refused; an INSERT must
  extend the head (seq = head.seq + 1, prev_hash = head.hash).
- ``audit_head``: only an UPDATE that advances seq by exactly one, onto an event
  that exists with that hash, is allowed; INSERT, DELETE, TRUNCATE are refused.

A superuser can still disable the triggers; ``audit verify`` catches what they
change afterwards (see docs/ledger.md).

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64


def _seq_type() -> sa.types.TypeEngine:
    # INTEGER PRIMARY KEY is SQLite's rowid alias; BIGINT elsewhere.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tables() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", _seq_type(), primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(128), nullable=True),
        sa.Column("workflow", sa.String(128), nullable=True),
        sa.Column("trace_id", sa.String(64), nullable=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("envelope_version", sa.String(64), nullable=True),
        sa.Column("envelope_digest", sa.String(80), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_audit_events_trace", "audit_events", ["trace_id"])
    op.create_index("ix_audit_events_kind", "audit_events", ["kind"])

    audit_head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", _seq_type(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(audit_head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])

    op.create_table(
        "approval_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("batch_id", sa.String(36), nullable=True),
        sa.Column("workflow", sa.String(128), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=True),
        sa.Column("action", sa.String(128), nullable=False),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("preview", sa.Text(), nullable=False),
        sa.Column("preview_digest", sa.String(80), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("required_roles", sa.Text(), nullable=False),
        sa.Column("min_approvals", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trace_id", sa.String(64), nullable=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("envelope_version", sa.String(64), nullable=False),
        sa.Column("envelope_digest", sa.String(80), nullable=False),
    )
    op.create_index("ix_approval_requests_status", "approval_requests", ["status"])
    op.create_index("ix_approval_requests_batch", "approval_requests", ["batch_id"])

    op.create_table(
        "approval_decisions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("approver", sa.String(128), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("preview_digest", sa.String(80), nullable=False),
        sa.Column("token_id", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("request_id", "approver", name="uq_one_decision_per_approver"),
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("tool", sa.String(128), nullable=False),
        sa.Column("workflow", sa.String(128), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("receipt_id", sa.String(36), nullable=True),
        sa.Column("trace_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    )

    op.create_table(
        "spend_reservations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("workflow", sa.String(128), nullable=False),
        sa.Column("principal", sa.String(128), nullable=True),
        sa.Column("tenant", sa.String(128), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("tier", sa.String(32), nullable=True),
        sa.Column("estimated_usd", sa.Numeric(18, 8), nullable=False),
        sa.Column("actual_usd", sa.Numeric(18, 8), nullable=True),
        sa.Column("estimated_tokens", sa.Integer(), nullable=False),
        sa.Column("actual_tokens", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("trace_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_spend_task", "spend_reservations", ["task_id"])
    op.create_index("ix_spend_workflow_created", "spend_reservations", ["workflow", "created_at"])

    op.create_table(
        "kill_switch",
        sa.Column("scope", sa.String(160), primary_key=True),
        sa.Column("engaged", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.String(128), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )

    op.create_table(
        "receipts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("workflow", sa.String(128), nullable=False),
        sa.Column("trace_id", sa.String(64), nullable=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("approval_request_id", sa.String(36), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(200), nullable=False),
        sa.Column("key_id", sa.String(80), nullable=False),
        sa.Column("audit_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_receipts_trace", "receipts", ["trace_id"])
    op.create_index("ix_receipts_workflow", "receipts", ["workflow"])


# --- append-only triggers -------------------------------------------------------------------

_PG_TRIGGERS = [
    r"""
    CREATE FUNCTION ga_audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
            USING HINT = 'The governance audit trail cannot be changed; record a correcting event instead.';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION ga_audit_events_append_only()
    """,
    """
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION ga_audit_events_append_only()
    """,
    r"""
    CREATE FUNCTION ga_audit_events_extend_head() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        head_seq bigint;
        head_hash varchar(64);
    BEGIN
        SELECT seq, hash INTO head_seq, head_hash FROM audit_head WHERE id = 1;
        IF NEW.seq IS DISTINCT FROM head_seq + 1 OR NEW.prev_hash IS DISTINCT FROM head_hash THEN
            RAISE EXCEPTION 'audit_events: event % does not extend the chain head (head is event %)', NEW.seq, head_seq
                USING HINT = 'Append audit events through governed-agents (Ledger.append), which holds the chain lock.';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER audit_events_extend_head BEFORE INSERT ON audit_events
        FOR EACH ROW EXECUTE FUNCTION ga_audit_events_extend_head()
    """,
    r"""
    CREATE FUNCTION ga_audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            IF NEW.id = OLD.id AND NEW.seq = OLD.seq + 1
               AND EXISTS (SELECT 1 FROM audit_events WHERE seq = NEW.seq AND hash = NEW.hash) THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'audit_head may only advance by one, onto the event just appended (from % to %)', OLD.seq, NEW.seq
                USING HINT = 'The chain head is moved only by Ledger.append.';
        END IF;
        RAISE EXCEPTION 'audit_head: % refused (the chain head is moved only by appends)', TG_OP;
    END
    $$
    """,
    """
    CREATE TRIGGER audit_head_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_head
        FOR EACH ROW EXECUTE FUNCTION ga_audit_head_guard()
    """,
    """
    CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
        FOR EACH STATEMENT EXECUTE FUNCTION ga_audit_head_guard()
    """,
]

# The append itself, server-side, so that it costs one round trip: lock the head
# (SELECT ... FOR UPDATE), hash the event with the head filled into the text the
# client prepared (audit.hash_template), insert it, move the head. The client
# recomputes the hash from what comes back and refuses a mismatch.
_PG_APPEND_FUNCTION = r"""
    CREATE FUNCTION ga_audit_append(
        p_event_id varchar, p_ts timestamptz, p_kind varchar, p_actor varchar, p_workflow varchar,
        p_trace_id varchar, p_run_id varchar, p_envelope_version varchar, p_envelope_digest varchar,
        p_payload text, p_hash_prefix text, p_hash_middle text, p_hash_suffix text
    ) RETURNS TABLE (o_seq bigint, o_prev_hash varchar, o_hash varchar) LANGUAGE plpgsql AS $$
    DECLARE
        head_seq bigint;
        head_hash varchar(64);
        new_hash varchar(64);
    BEGIN
        SELECT h.seq, h.hash INTO head_seq, head_hash FROM audit_head h WHERE h.id = 1 FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'audit_head has no row id=1: the chain head was deleted';
        END IF;
        new_hash := encode(sha256(convert_to(
            p_hash_prefix || head_hash || p_hash_middle || (head_seq + 1)::text || p_hash_suffix, 'UTF8')), 'hex');
        INSERT INTO audit_events (seq, event_id, ts, kind, actor, workflow, trace_id, run_id,
                                  envelope_version, envelope_digest, payload, prev_hash, hash)
        VALUES (head_seq + 1, p_event_id, p_ts, p_kind, p_actor, p_workflow, p_trace_id, p_run_id,
                p_envelope_version, p_envelope_digest, p_payload, head_hash, new_hash);
        UPDATE audit_head SET seq = head_seq + 1, hash = new_hash WHERE id = 1;
        RETURN QUERY SELECT head_seq + 1, head_hash, new_hash;
    END
    $$
"""

_SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END
    """,
    """
    CREATE TRIGGER audit_events_extend_head BEFORE INSERT ON audit_events
    WHEN NOT EXISTS (SELECT 1 FROM audit_head WHERE id = 1 AND seq + 1 = NEW.seq AND hash = NEW.prev_hash)
    BEGIN SELECT RAISE(ABORT, 'audit_events: the event does not extend the chain head (append through governed-agents)'); END
    """,
    """
    CREATE TRIGGER audit_head_advance_only BEFORE UPDATE ON audit_head
    WHEN NEW.id != OLD.id OR NEW.seq != OLD.seq + 1
         OR NOT EXISTS (SELECT 1 FROM audit_events WHERE seq = NEW.seq AND hash = NEW.hash)
    BEGIN SELECT RAISE(ABORT, 'audit_head may only advance by one, onto the event just appended'); END
    """,
    """
    CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    BEGIN SELECT RAISE(ABORT, 'audit_head: DELETE refused (the chain head is moved only by appends)'); END
    """,
    """
    CREATE TRIGGER audit_head_no_insert BEFORE INSERT ON audit_head
    BEGIN SELECT RAISE(ABORT, 'audit_head: INSERT refused (the chain head is moved only by appends)'); END
    """,
]


def upgrade() -> None:
    _tables()
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        statements = [*_PG_TRIGGERS, _PG_APPEND_FUNCTION]
    elif dialect == "sqlite":
        statements = _SQLITE_TRIGGERS
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"the governance ledger supports SQLite and PostgreSQL, not {dialect}")
    for statement in statements:
        op.execute(sa.text(statement))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ga_audit_append")
        for name in ("ga_audit_head_guard", "ga_audit_events_extend_head", "ga_audit_events_append_only"):
            op.execute(f"DROP FUNCTION IF EXISTS {name}() CASCADE")
    for table in (
        "receipts",
        "kill_switch",
        "spend_reservations",
        "idempotency_keys",
        "approval_decisions",
        "approval_requests",
        "audit_head",
        "audit_events",
    ):
        op.drop_table(table)  # drops its indexes and (on SQLite) its triggers
