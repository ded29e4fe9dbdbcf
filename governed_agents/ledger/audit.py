"""Audit events and their hash chain: hashing and verification over rows, no database.

Each event's ``hash`` is the SHA-256 of the canonical JSON of all its other
columns, ``prev_hash`` included, so every event commits to the whole history
before it. ``verify_chain`` walks rows in ``seq`` order and reports the first
event at which the stored chain stops being the chain that was written.

The hashed form (``event_hash``) is a contract: receipts carry audit hashes and
outside checkers recompute them. It is the canonical JSON of an object with
exactly these keys::

    actor, envelope_digest, envelope_version, event_id, kind, payload,
    prev_hash, run_id, seq, trace_id, ts, workflow

where ``seq`` is an integer, ``ts`` is ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC,
always six fractional digits), ``payload`` is the stored canonical JSON *text*
(a string, not a nested object) and absent optional columns are ``null``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from governed_agents.canonical import canonical_json

GENESIS_HASH = "0" * 64

# Every column of audit_events except ``hash``, in the order they are stored.
HASHED_COLUMNS = (
    "seq",
    "event_id",
    "ts",
    "kind",
    "actor",
    "workflow",
    "trace_id",
    "run_id",
    "envelope_version",
    "envelope_digest",
    "payload",
    "prev_hash",
)

_UTC = _dt.timezone.utc


def ts_iso(ts: _dt.datetime) -> str:
    """The hashed text of a timestamp: UTC, microseconds, ``Z``. Naive datetimes are taken as UTC."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=_UTC)
    else:
        ts = ts.astimezone(_UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def as_utc(ts: _dt.datetime) -> _dt.datetime:
    """A stored timestamp as an aware UTC datetime (SQLite hands back naive UTC)."""
    return ts.replace(tzinfo=_UTC) if ts.tzinfo is None else ts.astimezone(_UTC)


@dataclass(frozen=True)
class AuditEvent:
    """One appended audit event, as stored."""

    seq: int
    event_id: str
    ts: _dt.datetime
    kind: str
    actor: str | None
    workflow: str | None
    trace_id: str | None
    run_id: str | None
    envelope_version: str | None
    envelope_digest: str | None
    payload: dict
    prev_hash: str
    hash: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "AuditEvent":
        payload = row["payload"]
        return cls(
            seq=int(row["seq"]),
            event_id=row["event_id"],
            ts=as_utc(row["ts"]),
            kind=row["kind"],
            actor=row["actor"],
            workflow=row["workflow"],
            trace_id=row["trace_id"],
            run_id=row["run_id"],
            envelope_version=row["envelope_version"],
            envelope_digest=row["envelope_digest"],
            payload=json.loads(payload) if isinstance(payload, str) else dict(payload),
            prev_hash=row["prev_hash"],
            hash=row["hash"],
        )

    def to_json(self) -> dict:
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "ts": ts_iso(self.ts),
            "kind": self.kind,
            "actor": self.actor,
            "workflow": self.workflow,
            "trace_id": self.trace_id,
            "run_id": self.run_id,
            "envelope_version": self.envelope_version,
            "envelope_digest": self.envelope_digest,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def event_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of every column except ``hash``.

    ``fields`` may be a row mapping, a dict built for an insert, or
    ``dataclasses.asdict(event)``: ``ts`` may be a datetime (rendered with
    ``ts_iso``) and ``payload`` a dict (rendered as canonical JSON text).
    Stored rows hash their payload text exactly as stored, so a payload edited
    into equivalent but non-canonical JSON still fails to verify.
    """
    ts = fields["ts"]
    payload = fields["payload"]
    seq = fields["seq"]
    body = {
        "actor": fields["actor"],
        "envelope_digest": fields["envelope_digest"],
        "envelope_version": fields["envelope_version"],
        "event_id": fields["event_id"],
        "kind": fields["kind"],
        "payload": payload if isinstance(payload, str) else canonical_json(payload),
        "prev_hash": fields["prev_hash"],
        "run_id": fields["run_id"],
        # An int column may come back as another integral type on some drivers.
        "seq": seq if type(seq) is int else int(seq),
        "trace_id": fields["trace_id"],
        "ts": ts_iso(ts) if isinstance(ts, _dt.datetime) else ts,
        "workflow": fields["workflow"],
    }
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def hash_template(fields: Mapping[str, Any]) -> tuple[str, str, str]:
    """The hashed text of an event with its two chain fields left open.

    Returns ``(prefix, middle, suffix)`` such that, for any ``prev_hash`` (64 hex
    digits) and ``seq``, ``prefix + prev_hash + middle + str(seq) + suffix`` is
    exactly the text ``event_hash`` hashes. PostgreSQL appends use it to hash
    under the chain lock in one round trip: the database fills in the head it
    has just locked (see migrations/versions/0001_initial.py, ``ga_audit_append``).
    The keys are sorted, so ``prev_hash`` and ``seq`` sit between ``payload``
    and ``run_id``, and between ``run_id`` and ``trace_id``.
    """
    ts = fields["ts"]
    payload = fields["payload"]
    before = canonical_json(
        {
            "actor": fields["actor"],
            "envelope_digest": fields["envelope_digest"],
            "envelope_version": fields["envelope_version"],
            "event_id": fields["event_id"],
            "kind": fields["kind"],
            "payload": payload if isinstance(payload, str) else canonical_json(payload),
        }
    )
    after = canonical_json(
        {
            "trace_id": fields["trace_id"],
            "ts": ts_iso(ts) if isinstance(ts, _dt.datetime) else ts,
            "workflow": fields["workflow"],
        }
    )
    prefix = before[:-1] + ',"prev_hash":"'
    middle = '","run_id":' + canonical_json(fields["run_id"]) + ',"seq":'
    suffix = "," + after[1:]
    return prefix, middle, suffix


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of walking the chain. ``first_bad_seq`` names the first event that does not verify."""

    ok: bool
    events_checked: int
    head_seq: int
    first_bad_seq: int | None
    problem: str | None
    head_hash: str | None = None

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
        }


def verify_chain(
    rows: Iterable[Mapping[str, Any]],
    head: tuple[int, str] | None,
    *,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 100_000,
) -> VerifyResult:
    """Check rows (in ascending ``seq`` order) against the chain rules; constant memory.

    The rules, checked per event in this order: ``seq`` continues 1, 2, 3, …;
    ``prev_hash`` is the previous event's ``hash`` (``GENESIS_HASH`` for the
    first); ``hash`` is ``event_hash`` of the event's content. At the end, the
    last event must be the ``head`` (seq and hash), which catches a deleted
    tail. With ``head=None`` the head check is skipped (e.g. an exported
    excerpt). Stops at the first problem; ``events_checked`` counts the events
    that verified before it.
    """
    expected = 1
    prev_hash = GENESIS_HASH
    checked = 0
    head_seq = head[0] if head is not None else None
    head_hash = head[1] if head is not None else None

    def broken(seq: int, problem: str) -> VerifyResult:
        return VerifyResult(
            ok=False,
            events_checked=checked,
            head_seq=head_seq if head_seq is not None else checked,
            first_bad_seq=seq,
            problem=problem,
            head_hash=head_hash,
        )

    for row in rows:
        seq = row["seq"]
        if seq != expected:
            if seq > expected:
                if expected == 1:
                    gap = f"event 1 missing: chain starts at {seq} (deleted?)"
                else:
                    gap = f"event {expected} missing: chain jumps from {expected - 1} to {seq} (deleted?)"
                return broken(expected, gap)
            return broken(seq, f"event {seq}: out of sequence, expected event {expected} (inserted?)")
        if row["prev_hash"] != prev_hash:
            if seq == 1:
                return broken(seq, "event 1: prev_hash is not the genesis hash (inserted or edited?)")
            return broken(
                seq,
                f"event {seq}: prev_hash does not match the hash of event {seq - 1} (inserted, reordered or edited?)",
            )
        stored = row["hash"]
        if event_hash(row) != stored:
            return broken(seq, f"event {seq}: hash does not match its content (edited?)")
        prev_hash = stored
        checked += 1
        expected += 1
        if progress is not None and checked % progress_every == 0:
            progress(checked)

    last = expected - 1
    if head is not None:
        if head_seq > last:
            if last == 0:
                problem = f"chain head says {head_seq} events but there are none (deleted?)"
            else:
                problem = f"chain head says {head_seq} events but the last is {last} (tail deleted?)"
            return broken(last + 1, problem)
        if head_seq < last:
            # Every event up to here links, but the head was not moved: written around the append path.
            return broken(head_seq + 1, f"event {head_seq + 1} is beyond the chain head {head_seq} (appended without the chain lock?)")
        if head_hash != prev_hash:
            target = f"event {last}" if last else "the genesis hash"
            return broken(max(last, 1), f"chain head hash does not match {target} (head or tail rewritten?)")
    return VerifyResult(
        ok=True,
        events_checked=checked,
        head_seq=last if head_seq is None else head_seq,
        first_bad_seq=None,
        problem=None,
        head_hash=prev_hash,
    )
