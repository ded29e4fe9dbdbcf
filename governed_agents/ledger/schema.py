"""The governance ledger's tables (SQLAlchemy Core).

The ledger is the system of record for governance decisions; Dagster is the
system of record for runs. Both are linked by ``run_id`` and ``trace_id``.
Migrations in ``migrations/versions`` create exactly these tables; a test checks
that the migrated database and this metadata agree.

Timestamps are timezone-aware UTC. JSON bodies are stored as canonical JSON text
(not a JSON column type) so that what is hashed is byte-for-byte what is stored,
identically on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# Append-only, hash-chained. ``seq`` is assigned by the appender under the chain
# lock (1, 2, 3, … with no gaps); UNIQUE(prev_hash) makes a fork impossible even
# if the lock were bypassed: two events cannot both follow the same event.
audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("actor", String(128), nullable=True),
    Column("workflow", String(128), nullable=True),
    Column("trace_id", String(64), nullable=True),
    Column("run_id", String(64), nullable=True),
    Column("envelope_version", String(64), nullable=True),
    Column("envelope_digest", String(80), nullable=True),
    Column("payload", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False, unique=True),
)
Index("ix_audit_events_trace", audit_events.c.trace_id)
Index("ix_audit_events_kind", audit_events.c.kind)

# One row (id = 1): the head of the chain, moved in the same transaction as each
# append. It is the chain's lock and lets ``audit verify`` detect a deleted tail.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("hash", String(64), nullable=False),
)

approval_requests = Table(
    "approval_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("batch_id", String(36), nullable=True),
    Column("workflow", String(128), nullable=False),
    Column("tenant", String(128), nullable=True),
    Column("action", String(128), nullable=False),  # the tool, e.g. erp.create_journal_entry
    Column("arguments", Text, nullable=False),  # canonical JSON of the validated input
    Column("preview", Text, nullable=False),  # canonical JSON of the preview shown to approvers
    Column("preview_digest", String(80), nullable=False),
    Column("idempotency_key", String(200), nullable=True),
    Column("reason", Text, nullable=True),  # why the agent asks
    Column("requested_by", String(128), nullable=False),
    Column("required_roles", Text, nullable=False),  # canonical JSON list
    Column("min_approvals", Integer, nullable=False, default=1),
    Column("status", String(16), nullable=False),  # pending | approved | rejected | expired | executed
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("trace_id", String(64), nullable=True),
    Column("run_id", String(64), nullable=True),
    Column("envelope_version", String(64), nullable=False),
    Column("envelope_digest", String(80), nullable=False),
)
Index("ix_approval_requests_status", approval_requests.c.status)
Index("ix_approval_requests_batch", approval_requests.c.batch_id)

approval_decisions = Table(
    "approval_decisions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("request_id", String(36), nullable=False),
    Column("approver", String(128), nullable=False),
    Column("decision", String(16), nullable=False),  # approve | reject
    Column("reason", Text, nullable=True),
    Column("preview_digest", String(80), nullable=False),
    Column("token_id", String(64), nullable=True),  # the jti of the token used
    Column("decided_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("request_id", "approver", name="uq_one_decision_per_approver"),
)

# Taken before a write executes; a retry with the same key finds the row and
# returns the recorded result instead of writing again.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("tool", String(128), nullable=False),
    Column("workflow", String(128), nullable=True),
    Column("status", String(16), nullable=False),  # in_progress | done | failed
    Column("result", Text, nullable=True),
    Column("receipt_id", String(36), nullable=True),
    Column("trace_id", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=True),
)

# Filled by the model gateway (routing): a reservation is taken before any model
# call and settled with the actual cost afterwards.
spend_reservations = Table(
    "spend_reservations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("task_id", String(64), nullable=False),
    Column("workflow", String(128), nullable=False),
    Column("principal", String(128), nullable=True),
    Column("tenant", String(128), nullable=True),
    Column("model", String(200), nullable=True),
    Column("tier", String(32), nullable=True),
    Column("estimated_usd", Numeric(18, 8), nullable=False),
    Column("actual_usd", Numeric(18, 8), nullable=True),
    Column("estimated_tokens", Integer, nullable=False, default=0),
    Column("actual_tokens", Integer, nullable=True),
    Column("status", String(16), nullable=False),  # reserved | settled | released | expired
    Column("trace_id", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("settled_at", DateTime(timezone=True), nullable=True),
    # Added in 0002_routing (all nullable: rows from before carry none of them).
    Column("alias", String(64), nullable=True),  # the catalog alias the tier resolved to
    Column("run_id", String(64), nullable=True),
    Column("offline_model", Boolean, nullable=True),  # the offline stand-in answered
    Column("cache_hit", Boolean, nullable=True),  # answered from model_cache at no cost
    Column("downgrade", String(128), nullable=True),  # ladder steps applied, comma-separated
)
Index("ix_spend_task", spend_reservations.c.task_id)
Index("ix_spend_workflow_created", spend_reservations.c.workflow, spend_reservations.c.created_at)
Index("ix_spend_created", spend_reservations.c.created_at)

# --- model gateway (0002_routing) -----------------------------------------------------------
# Money in the two tables below is an integer count of 1e-8 USD (``*_usd_e8``), the
# resolution of spend_reservations' Numeric(18, 8): exact arithmetic in SQL on both
# SQLite (whose NUMERIC is a float) and PostgreSQL.

# Running totals per budget scope and period, moved in the same transaction as the
# reservation or settlement that changes them; a reservation is checked against them
# under a lock per scope (pg_advisory_xact_lock; SQLite's BEGIN IMMEDIATE), so the
# check and the insert are atomic. scope_key is "<scope>:<period>:<period_key>:<name>",
# e.g. "workflow:day:2026-03-01:invoice_reconcile" or "task:task:-:<task id>".
spend_counters = Table(
    "spend_counters",
    metadata,
    Column("scope_key", String(400), primary_key=True),
    Column("scope", String(16), nullable=False),  # task | workflow | user | tenant
    Column("name", String(200), nullable=False),
    Column("period", String(8), nullable=False),  # task | day | month
    Column("period_key", String(10), nullable=False),  # - | 2026-03-01 | 2026-03
    Column("reserved_usd_e8", BigInteger, nullable=False),
    Column("settled_usd_e8", BigInteger, nullable=False),
    Column("reserved_tokens", BigInteger, nullable=False),
    Column("settled_tokens", BigInteger, nullable=False),
    Column("calls", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Spend caps set by an admin, in addition to the envelope's; the lower cap wins.
# name "*" applies to every workflow / user / tenant.
spend_caps = Table(
    "spend_caps",
    metadata,
    Column("scope", String(16), primary_key=True),  # workflow | user | tenant
    Column("name", String(200), primary_key=True),
    Column("period", String(8), primary_key=True),  # day | month
    Column("cap_usd_e8", BigInteger, nullable=False),
    Column("set_by", String(128), nullable=False),
    Column("reason", Text, nullable=True),
    Column("set_at", DateTime(timezone=True), nullable=False),
)

# Answers to identical deterministic calls (temperature 0; same model, messages,
# tools and options; same tenant). key is a sha256 over exactly those.
model_cache = Table(
    "model_cache",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("model", String(200), nullable=False),
    Column("alias", String(64), nullable=True),
    Column("tenant", String(128), nullable=True),
    Column("response", Text, nullable=False),  # canonical JSON of the normalised answer
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("offline_model", Boolean, nullable=False),
    Column("hits", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
Index("ix_model_cache_expires", model_cache.c.expires_at)

# One redacted transcript per model call (id = the spend reservation's id), kept for
# the envelope's logging.store_transcripts_days; expires_at drives the purge.
transcripts = Table(
    "transcripts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("task_id", String(64), nullable=False),
    Column("workflow", String(128), nullable=False),
    Column("trace_id", String(64), nullable=True),
    Column("run_id", String(64), nullable=True),
    Column("tier", String(32), nullable=True),
    Column("model", String(200), nullable=True),
    Column("request", Text, nullable=False),  # canonical JSON: messages, tools, options
    Column("response", Text, nullable=False),  # canonical JSON: the answer
    Column("redacted", Boolean, nullable=False),
    Column("offline_model", Boolean, nullable=False),
    Column("cache_hit", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
Index("ix_transcripts_trace", transcripts.c.trace_id)
Index("ix_transcripts_expires", transcripts.c.expires_at)

# How each task ended, for cost per *completed* task (the spend of failed and
# abandoned tasks counts against the completed ones).
task_outcomes = Table(
    "task_outcomes",
    metadata,
    Column("task_id", String(64), primary_key=True),
    Column("workflow", String(128), nullable=False),
    Column("principal", String(128), nullable=True),
    Column("tenant", String(128), nullable=True),
    Column("trace_id", String(64), nullable=True),
    Column("run_id", String(64), nullable=True),
    Column("outcome", String(16), nullable=False),  # completed | failed | refused | stopped
    Column("detail", Text, nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=False),
)
Index("ix_task_outcomes_workflow_finished", task_outcomes.c.workflow, task_outcomes.c.finished_at)

# scope: "global" or "workflow:<name>".
kill_switch = Table(
    "kill_switch",
    metadata,
    Column("scope", String(160), primary_key=True),
    Column("engaged", Boolean, nullable=False),
    Column("reason", Text, nullable=True),
    Column("changed_by", String(128), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

receipts = Table(
    "receipts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),  # write_executed | write_refused | run
    Column("workflow", String(128), nullable=False),
    Column("trace_id", String(64), nullable=True),
    Column("run_id", String(64), nullable=True),
    Column("approval_request_id", String(36), nullable=True),
    Column("body", Text, nullable=False),  # canonical JSON of the receipt
    Column("signature", String(200), nullable=False),
    Column("key_id", String(80), nullable=False),
    Column("audit_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_receipts_trace", receipts.c.trace_id)
Index("ix_receipts_workflow", receipts.c.workflow)

# --- earned execution rights (0003_autonomy) ------------------------------------------------
# The current autonomy level per workflow (suggest | draft | approve | bounded); a
# workflow without a row is at its envelope's autonomy.initial_level. Every change is
# also an audit event; ``evidence`` is the canonical JSON the change was decided on.
autonomy_levels = Table(
    "autonomy_levels",
    metadata,
    Column("workflow", String(128), primary_key=True),
    Column("level", String(16), nullable=False),
    Column("changed_by", String(128), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=True),
    Column("evidence", Text, nullable=True),
    Column("envelope_digest", String(80), nullable=True),
    # seq of the audit event that recorded the change: incidents after it demote.
    Column("since_seq", BigInteger, nullable=False),
)

# --- autonomous write bounds (0004_bounds) ---------------------------------------------------
# One row per executed (or in-flight) write of a tool the envelope lets run without
# approval inside bounds, per bound it counts against. scope_key names the bound
# and its window, e.g. "expense_receipt_chase|outbox.send_reminder|day:2026-11-25|employee_id=E-001".
# Rows are inserted under a lock per scope (pg_advisory_xact_lock; SQLite's BEGIN
# IMMEDIATE) after a recount, so concurrent runs cannot both take the last slot;
# a write refused before it ran deletes its rows (governed_agents/bounds.py).
bounded_writes = Table(
    "bounded_writes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("scope_key", String(400), nullable=False),
    Column("workflow", String(128), nullable=False),
    Column("tool", String(128), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("approved", Boolean, nullable=False),  # counted, but ran on an approval (past the bound)
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_bounded_writes_scope", bounded_writes.c.scope_key)
Index("ix_bounded_writes_key", bounded_writes.c.idempotency_key)
