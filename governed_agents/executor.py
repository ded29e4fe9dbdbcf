"""The effectful edge around the gate: the only way a registered tool runs.

``GovernedExecutor.call`` asks the pure ``gate.decide`` for a decision, writes it
to the audit log, and then, depending on the outcome:

- ``deny``: nothing runs; a write leaves a ``write_refused`` receipt;
- ``needs_approval``: builds the write's preview (before → after, read from the
  system of record) and records an approval request bound to its digest;
- ``allow``: a read runs and its output is validated; a write takes its
  idempotency key, re-reads the kill switch and rebuilds the preview
  immediately before writing (the approval binds to exactly what was shown),
  runs once, validates the output, and records the audit event, the signed
  receipt and the key's result in one transaction. A retry with the same key
  returns the recorded result and writes nothing.

Fail closed: if the ledger cannot be written, the write does not happen.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel
from sqlalchemy import select, update

from governed_agents.canonical import canonical_json, digest
from governed_agents.errors import GovernanceError, KillSwitchEngaged
from governed_agents.observability import otel as _otel
from governed_agents.faults import crash_point
from governed_agents.ledger.schema import approval_requests, idempotency_keys
from governed_agents.timeutil import utcnow

# Namespace of the per-idempotency-key advisory locks (two-int form; 'ga').
_KEY_LOCK_SPACE = 0x6761

# Takes validated inputs, returns their previews in the same order (batch-shaped,
# so that many proposals read the system of record once, not once each).
PreviewBuilder = Callable[[list[BaseModel]], list[dict]]


class WriteFailed(GovernanceError):
    """A write's tool kept failing with transient errors until its attempts ran out."""


def _is_transient(exc: BaseException) -> bool:
    """Errors a retry may cure: timeouts, dropped connections, a database that went away.

    A tool's own refusal (validation, integrity) is not retried."""
    from sqlalchemy.exc import DisconnectionError, OperationalError

    return isinstance(exc, (ConnectionError, TimeoutError, OperationalError, DisconnectionError))


@dataclass
class TaskContext:
    """One governed task: what the gate counts against, and what the receipt tells."""

    envelope: Any  # LoadedEnvelope
    requested_by: str  # the person on whose behalf the agent acts
    agent: str = "agent"
    tenant: str | None = None
    task_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    trace_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    run_id: str | None = None
    tool_calls_made: int = 0
    tokens_used: int = 0
    cost_usd: str = "0"
    started_at: dt.datetime = field(default_factory=utcnow)
    calls: list[dict] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    # Ids of the records the task's read tools returned: what an output may cite
    # (safety.require_citations_for; see governed_agents.safety.citations).
    read_ids: set[str] = field(default_factory=set)
    # The person names of the master data the run read (``erp.people.known_names``): redacted
    # wherever a receipt, an approval reason or a transcript of this task quotes them. Built
    # once per run and shared by its tasks; ``()`` means the title/label patterns only.
    known_names: Any = ()

    @property
    def workflow(self) -> str:
        return self.envelope.envelope.workflow


@dataclass(frozen=True)
class CallResult:
    """What happened to one tool call."""

    outcome: str  # executed | duplicate | needs_approval | awaiting_approval | denied | rejected | expired
    decision: Any  # gate Decision
    output: BaseModel | None = None
    approval_request: Any = None
    receipt: Any = None  # SignedReceipt for writes

    @property
    def ok(self) -> bool:
        return self.outcome in ("executed", "duplicate")


class GovernedExecutor:
    def __init__(self, ledger, registry, *, previews: dict[str, PreviewBuilder] | None = None,
                 clock: Callable[[], dt.datetime] = utcnow, write_attempts: int = 3,
                 retry_backoff_s: float = 0.2, sleep: Callable[[float], None] = time.sleep):
        """``write_attempts``: how often a write's tool is tried when it fails with a
        transient error (timeout, dropped connection), waiting ``retry_backoff_s``
        doubled after each failure. Safe because every write tool is idempotent by
        its key at the system of record."""
        if int(write_attempts) < 1:
            raise GovernanceError(f"write_attempts must be at least 1, not {write_attempts!r}")
        self.ledger = ledger
        self.registry = registry
        self.previews = dict(previews or {})
        self.clock = clock
        self.write_attempts = int(write_attempts)
        self.retry_backoff_s = float(retry_backoff_s)
        self.sleep = sleep

    # -- public -----------------------------------------------------------

    @_otel.traced_tool_call  # a span per call when OTLP export is configured; a plain call otherwise
    def call(self, task: TaskContext, tool: str, arguments: dict, *,
             approval_request_id: str | None = None, reason: str | None = None,
             batch_id: str | None = None) -> CallResult:
        from governed_agents import autonomy, kill_switch
        from governed_agents.gate import GateState, ToolCallRequest, decide

        now = self.clock()
        spec = self.registry.spec(tool)
        try:
            canonical_json(arguments)
        except (TypeError, ValueError) as exc:
            # NaN, infinities or objects: nothing the gate could decide on, the ledger
            # record, or a receipt sign. Refused before any other work, and audited.
            return self._refuse_unrecordable(task, tool, spec, arguments, exc, approval_request_id)
        if spec is not None and spec.side_effect == "write":
            replay = self._replay_if_done(task, spec, arguments)
            if replay is not None:
                return replay
        approval, preview, preview_digest, resuming = None, None, None, None
        if approval_request_id is not None:
            approval = self._approval_evidence(approval_request_id, tool, arguments, now)
        if spec is not None and spec.side_effect == "write" and approval is not None:
            resuming = self._interrupted_intent(spec, arguments, approval_request_id, approval)
            if resuming is not None:
                # An earlier attempt under this approval took the key and died: the
                # write may have reached the system of record, so today's preview
                # may show it done. What was approved is the stored preview.
                preview, preview_digest = resuming, approval.preview_digest
            else:
                preview, preview_digest = self._preview_if_valid(spec, arguments)

        bounds_snapshot = None
        if spec is not None and spec.side_effect == "write" and approval is None:
            from governed_agents import bounds

            # Counts of recorded writes against the envelope's autonomous_writes bounds, if any.
            bounds_snapshot = bounds.snapshot(self.ledger, task.envelope, spec, arguments,
                                              run_id=task.run_id, task_id=task.task_id, now=now)
        # Where the write's arguments contradict the system of record (the tool's record_check).
        record = self._record_check(spec, arguments) if spec is not None and spec.record_check else ()
        switch = kill_switch.state(self.ledger, task.workflow)
        request = ToolCallRequest(
            tool=tool,
            arguments=arguments,
            task_id=task.task_id,
            trace_id=task.trace_id,
            workflow=task.workflow,
            principal=task.agent,
            approval=approval,
            preview_digest=preview_digest,
        )
        state = GateState(
            tool_calls_made=task.tool_calls_made,
            tokens_used=task.tokens_used,
            kill_switch_global=switch.global_engaged,
            kill_switch_workflow=switch.workflow_engaged,
            bounds=bounds_snapshot,
            record=record,
            autonomy_level=autonomy.effective_level(self.ledger, task.envelope),
            now=now,
        )
        decision = decide(task.envelope, self.registry, request, state)
        self._audit(task, "tool.decision", {
            "tool": tool,
            "arguments_digest": digest(arguments),
            "decision": decision.to_dict(),
            "approval_request_id": approval_request_id,
        })
        crash_point("after_gate_decision_audit")
        task.calls.append({
            "tool": tool,
            "arguments_digest": digest(arguments),
            "outcome": decision.outcome,
            "reasons": [r.message for r in decision.reasons],
            "at": now,
        })

        if decision.outcome == "deny":
            receipt = None
            if spec is not None and spec.side_effect == "write":
                receipt = self._receipt(task, "write_refused", tool, arguments,
                                        notes="; ".join(r.message for r in decision.reasons),
                                        approval_request_id=approval_request_id)
            return CallResult("denied", decision, receipt=receipt)

        if decision.outcome == "needs_approval" and approval is not None:
            # The named approval does not (or no longer) authorise this write. A
            # rejected or expired request ends here with a receipt saying so; a
            # pending one is still waiting. No new request is made behind its back.
            if approval.status == "pending":
                return CallResult("awaiting_approval", decision)
            # rejected, expired, or approved for something other than what the write
            # would do now (the preview changed): refused, with a receipt saying why.
            kind = {"rejected": "write_rejected", "expired": "write_expired"}.get(
                approval.status, "write_refused")
            receipt = self._receipt(task, kind, tool, arguments,
                                    notes="; ".join(r.message for r in decision.reasons),
                                    approval_request_id=approval_request_id)
            return CallResult({"write_rejected": "rejected", "write_expired": "expired"}.get(kind, "denied"),
                              decision, receipt=receipt)

        if decision.outcome == "needs_approval":
            from governed_agents.approvals import request_approval

            preview = preview or self._build_preview(spec, decision.validated_input)
            key = spec.idempotency_key(decision.validated_input)
            approval_request = request_approval(
                self.ledger,
                envelope=task.envelope,
                action=tool,
                arguments=decision.validated_input.model_dump(mode="json"),
                preview=preview,
                requested_by=task.requested_by,
                tenant=task.tenant,
                reason=reason,
                known_names=task.known_names,
                idempotency_key=key,
                trace_id=task.trace_id,
                run_id=task.run_id,
                batch_id=batch_id,
                now=now,
            )
            crash_point("after_approval_request")
            return CallResult("needs_approval", decision, approval_request=approval_request)

        task.tool_calls_made += 1
        if decision.side_effect == "read":
            from governed_agents.safety.citations import record_ids

            output = self._run(tool, decision.validated_input)
            dumped = output.model_dump(mode="json")
            task.read_ids |= record_ids(dumped)
            self._audit(task, "tool.executed", {"tool": tool, "output_digest": digest(dumped)})
            return CallResult("executed", decision, output=output)
        return self._write(task, spec, decision, approval_request_id,
                           approval.preview_digest if approval is not None else None,
                           resumed_preview=resuming)

    def preview(self, tool: str, arguments: dict) -> dict:
        """What a write of ``tool`` with ``arguments`` would change now (before → after)."""
        return self.preview_many(tool, [arguments])[0]

    def preview_many(self, tool: str, arguments: list[dict]) -> list[dict]:
        """Previews of several writes of ``tool``, read from the system of record together."""
        spec = self.registry.spec(tool)
        if spec is None:
            raise GovernanceError(f"tool {tool!r} is not registered for this workflow")
        return self._build_previews(spec, [spec.input_model.model_validate(a) for a in arguments])

    def rebuild_preview(self, request) -> dict:
        """The preview an approval request's write would have now (for re-verification).

        A spend confirmation (the model gateway's downgrade ladder) is no tool write:
        there is no system of record to re-read, and its stored preview is checked
        against its digest by the approvals service. Any other unknown action is an
        error (fail closed).
        """
        from governed_agents.routing.gateway import CONFIRM_ACTION

        if request.action == CONFIRM_ACTION:
            return request.preview
        return self.preview(request.action, request.arguments)

    # -- writes -----------------------------------------------------------

    def _write(self, task: TaskContext, spec, decision, approval_request_id: str | None,
               approved_digest: str | None, *, resumed_preview: dict | None = None) -> CallResult:
        # One writer per idempotency key at a time: a second process carrying out the same
        # write waits, then finds the key done (a duplicate), instead of taking the first
        # one's in-progress key for an interrupted write. A writer that dies ends its
        # database session, which releases the lock, so resuming still works.
        with self._key_lock(spec.idempotency_key(decision.validated_input)):
            return self._write_once(task, spec, decision, approval_request_id, approved_digest,
                                    resumed_preview=resumed_preview)

    @contextlib.contextmanager
    def _key_lock(self, key: str):
        """A PostgreSQL session advisory lock on the key (SQLite serialises writers already)."""
        if self.ledger.dialect != "postgresql":
            yield
            return
        with self.ledger.engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_lock(%s, hashtext(%s))", (_KEY_LOCK_SPACE, key))
            conn.commit()
            try:
                yield
            finally:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(%s, hashtext(%s))", (_KEY_LOCK_SPACE, key))
                conn.commit()

    def _write_once(self, task: TaskContext, spec, decision, approval_request_id: str | None,
                    approved_digest: str | None, *, resumed_preview: dict | None = None) -> CallResult:
        from governed_agents import autonomy, kill_switch

        validated = decision.validated_input
        key = spec.idempotency_key(validated)
        started = self.clock()
        with self.ledger.transaction() as c:
            existing = c.execute(select(idempotency_keys).where(idempotency_keys.c.key == key)).first()
            if existing is not None and existing._mapping["status"] == "done":
                return self._duplicate(task, spec, dict(existing._mapping), decision, conn=c)
            if existing is None:
                # The key is the write-ahead intent: until it is done, a retry knows
                # the write may have happened and under which approval (``result``
                # holds the intent while in progress, the tool's output once done).
                c.execute(idempotency_keys.insert().values(
                    key=key, tool=spec.name, workflow=task.workflow, status="in_progress",
                    trace_id=task.trace_id, created_at=started,
                    result=canonical_json({"intent": {"approval_request_id": approval_request_id,
                                                      "preview_digest": approved_digest}}),
                ))
        crash_point("after_idempotency_key")

        if existing is None:
            full = self._reserve_bounds(task, spec, validated, key, started,
                                        enforce="within_bounds" in decision.codes)
            if full:
                self._release_key(key)
                return self._bound_reached(task, spec, decision, full)

        # The last gate before the system of record: the preview and then the kill
        # switch are read again now, not trusted from the decision a moment ago.
        # Resuming an interrupted write, the approved preview stands (today's may
        # show the write already done); the tool's own idempotency makes the
        # second run return the entry the first one wrote, if it did.
        preview = resumed_preview if resumed_preview is not None else self._build_preview(spec, validated)
        if resumed_preview is None and approved_digest is not None and digest(preview) != approved_digest:
            self._release_key(key)
            receipt = self._receipt(task, "write_refused", spec.name, validated.model_dump(mode="json"),
                                    notes="the preview changed after approval, immediately before the write",
                                    approval_request_id=approval_request_id, idempotency_key=key)
            raise GovernanceError(
                f"{spec.name} was not executed: what it would change is no longer what was approved",
                hint="the workflow has to propose the write again",
                details={"receipt_id": receipt.receipt.receipt_id},
            )
        if kill_switch.state(self.ledger, task.workflow).engaged:
            if resumed_preview is None:  # an interrupted write keeps its intent for the next attempt
                self._release_key(key)
            receipt = self._receipt(task, "write_refused", spec.name, validated.model_dump(mode="json"),
                                    notes="kill switch engaged immediately before the write",
                                    approval_request_id=approval_request_id, idempotency_key=key)
            raise KillSwitchEngaged(
                f"kill switch is on for {task.workflow}: {spec.name} was not executed",
                details={"receipt_id": receipt.receipt.receipt_id},
            )

        # The autonomy level too: a demotion (an incident, a person) since the gate's
        # decision takes effect before the write, not at the next call.
        level = autonomy.effective_level(self.ledger, task.envelope)
        if level in ("suggest", "draft") or (level == "approve" and approval_request_id is None):
            if resumed_preview is None:
                self._release_key(key)
            note = f"autonomy level is {level} immediately before the write"
            receipt = self._receipt(task, "write_refused", spec.name, validated.model_dump(mode="json"),
                                    notes=note, approval_request_id=approval_request_id, idempotency_key=key)
            raise GovernanceError(
                f"{spec.name} was not executed: {task.workflow}'s {note}",
                hint="see `governed-agents autonomy status`; the workflow has to propose the write again",
                details={"receipt_id": receipt.receipt.receipt_id},
            )

        output = self._run_write(task, spec, validated, key, approval_request_id, preview)
        crash_point("after_erp_write")
        finished = self.clock()
        output_json = output.model_dump(mode="json")
        with self.ledger.transaction() as c:
            done = c.execute(select(idempotency_keys).where(
                idempotency_keys.c.key == key, idempotency_keys.c.status == "done")).first()
            if done is not None:  # a concurrent attempt recorded it first: one receipt, not two
                return self._duplicate(task, spec, dict(done._mapping), decision, conn=c)
            from governed_agents import undo

            # A compensating write (governed_agents/undo.py) is linked to the write it reverses.
            reverses = undo.reversal_of(c, task.trace_id)
            link = None
            if reverses is not None:
                link = {"reverses_receipt_id": reverses,
                        "seconds_to_correct": undo.seconds_between(c, self.ledger, reverses, finished)}
            event = self.ledger.append(
                "tool.executed",
                {"tool": spec.name, "idempotency_key": key, "approval_request_id": approval_request_id,
                 "preview_digest": digest(preview), "output_digest": digest(output_json)},
                conn=c, **self._context(task),
            )
            receipt = self._receipt(
                task, "write_executed", spec.name, validated.model_dump(mode="json"),
                approval_request_id=approval_request_id, idempotency_key=key, preview=preview,
                output=output_json, anchor=event, conn=c, started_at=started, finished_at=finished,
                extra=link,
            )
            if link is not None:
                undo.record_reversal(self.ledger, c, original_receipt_id=reverses,
                                     reversal_receipt_id=receipt.receipt.receipt_id,
                                     seconds_to_correct=link["seconds_to_correct"], **self._context(task))
            c.execute(update(idempotency_keys).where(idempotency_keys.c.key == key).values(
                status="done", result=canonical_json(output_json),
                receipt_id=receipt.receipt.receipt_id, completed_at=finished,
            ))
            if approval_request_id:
                c.execute(update(approval_requests)
                          .where(approval_requests.c.id == approval_request_id)
                          .values(status="executed"))
            crash_point("after_receipt")
        crash_point("after_write_commit")
        return CallResult("executed", decision, output=output, receipt=receipt)

    def _run_write(self, task: TaskContext, spec, validated: BaseModel, key: str,
                   approval_request_id: str | None, preview: dict) -> BaseModel:
        """Run a write's tool, retrying transient failures a bounded number of times.

        When the attempts run out the key is marked ``failed`` (its intent kept,
        so a later attempt under the same approval resumes it), a ``write_failed``
        receipt says what failed, and ``WriteFailed`` is raised."""
        errors: list[str] = []
        for attempt in range(1, self.write_attempts + 1):
            try:
                return self._run(spec.name, validated)
            except Exception as exc:
                if not _is_transient(exc):
                    raise
                errors.append(f"attempt {attempt}: {type(exc).__name__}: {str(exc)[:200]}")
                self._audit(task, "tool.write_attempt_failed", {
                    "tool": spec.name, "idempotency_key": key, "attempt": attempt,
                    "of": self.write_attempts, "error": errors[-1]})
                if attempt < self.write_attempts:
                    self.sleep(self.retry_backoff_s * (2 ** (attempt - 1)))
        with self.ledger.transaction() as c:
            c.execute(update(idempotency_keys).where(
                idempotency_keys.c.key == key, idempotency_keys.c.status == "in_progress").values(status="failed"))
            receipt = self._receipt(
                task, "write_failed", spec.name, validated.model_dump(mode="json"),
                approval_request_id=approval_request_id, idempotency_key=key, preview=preview, conn=c,
                notes=f"{spec.name} failed {self.write_attempts} times with transient errors; nothing "
                      "is known to be written (the tool is idempotent by its key: retrying the posting "
                      "under the same approval resumes it). " + "; ".join(errors))
        raise WriteFailed(
            f"{spec.name} was not executed: {self.write_attempts} attempts failed ({errors[-1]})",
            hint="retry the posting once the system of record is reachable; the approval still holds",
            details={"receipt_id": receipt.receipt.receipt_id, "attempts": errors},
        )

    def _interrupted_intent(self, spec, arguments: dict, approval_request_id: str, approval) -> dict | None:
        """The approved preview, if an earlier attempt under this approval took the
        write's key and never finished (crashed between the intent and the result)."""
        from governed_agents.approvals import get_request

        if approval.status != "approved":
            return None
        try:
            key = spec.idempotency_key(spec.input_model.model_validate(arguments))
        except Exception:
            return None
        with self.ledger.engine.connect() as c:
            row = c.execute(select(idempotency_keys.c.result).where(
                idempotency_keys.c.key == key, idempotency_keys.c.status.in_(["in_progress", "failed"]))).first()
        if row is None or not row[0]:
            return None
        try:
            intent = json.loads(row[0]).get("intent") or {}
        except (ValueError, AttributeError):
            return None
        if (intent.get("approval_request_id") != approval_request_id
                or intent.get("preview_digest") != approval.preview_digest):
            return None
        request = get_request(self.ledger, approval_request_id)
        return request.preview if digest(request.preview) == approval.preview_digest else None

    def _replay_if_done(self, task: TaskContext, spec, arguments: dict) -> CallResult | None:
        """A write whose idempotency key is already done returns its recorded result.

        This comes before the gate: a retry must be a no-op whatever has happened
        since (the approval is spent, the preview now shows the entry as posted).
        """
        try:
            validated = spec.input_model.model_validate(arguments)
        except Exception:
            return None  # the gate reports the schema errors
        key = spec.idempotency_key(validated)
        with self.ledger.engine.connect() as c:
            row = c.execute(select(idempotency_keys).where(
                idempotency_keys.c.key == key, idempotency_keys.c.status == "done")).first()
        if row is None:
            return None
        return self._duplicate(task, spec, dict(row._mapping), None)

    def _duplicate(self, task: TaskContext, spec, row: dict, decision, conn=None) -> CallResult:
        from governed_agents.receipts.store import get_receipt

        self._audit(task, "tool.duplicate_suppressed",
                    {"tool": spec.name, "idempotency_key": row["key"], "receipt_id": row["receipt_id"]},
                    conn=conn)
        output = spec.output_model.model_validate(json.loads(row["result"]))
        receipt = get_receipt(self.ledger, row["receipt_id"], conn=conn) if row["receipt_id"] else None
        return CallResult("duplicate", decision, output=output, receipt=receipt)

    def _reserve_bounds(self, task: TaskContext, spec, validated: BaseModel, key: str, now, *, enforce: bool):
        """Count this write against its autonomous bounds (governed_agents/bounds.py); the full
        scopes when ``enforce`` finds one already at its limit (then nothing is recorded)."""
        from governed_agents import bounds

        if bounds.rule_for(task.envelope, spec.name) is None:
            return []
        with self.ledger.transaction() as c:
            return bounds.reserve(self.ledger, c, task.envelope, spec, validated, run_id=task.run_id,
                                  task_id=task.task_id, now=now, idempotency_key=key, enforce=enforce)

    def _bound_reached(self, task: TaskContext, spec, decision, full) -> CallResult:
        """A concurrent write took the last slot after the gate allowed this one: ask a person instead."""
        from governed_agents.approvals import request_approval

        validated = decision.validated_input
        reason = "bound reached by a concurrent write: " + "; ".join(f"{s.used} of {s.label}" for s in full)
        self._audit(task, "tool.bound_reached", {"tool": spec.name, "scopes": [s.key for s in full]})
        approval_request = request_approval(
            self.ledger, envelope=task.envelope, action=spec.name,
            arguments=validated.model_dump(mode="json"), preview=self._build_preview(spec, validated),
            requested_by=task.requested_by, tenant=task.tenant, reason=reason, known_names=task.known_names,
            idempotency_key=spec.idempotency_key(validated), trace_id=task.trace_id, run_id=task.run_id,
            now=self.clock(),
        )
        return CallResult("needs_approval", decision, approval_request=approval_request)

    def _release_key(self, key: str) -> None:
        from governed_agents import bounds

        with self.ledger.transaction() as c:
            bounds.release(c, key)
            c.execute(idempotency_keys.delete().where(
                idempotency_keys.c.key == key, idempotency_keys.c.status == "in_progress"))

    # -- helpers ----------------------------------------------------------

    def _run(self, tool: str, validated: BaseModel) -> BaseModel:
        from governed_agents.gate import validate_output

        raw = self.registry._implementation(tool)(validated)
        return validate_output(self.registry, tool, raw)

    def _build_preview(self, spec, validated: BaseModel) -> dict:
        return self._build_previews(spec, [validated])[0]

    def _build_previews(self, spec, validated: list[BaseModel]) -> list[dict]:
        builder = self.previews.get(spec.name)
        arguments = [v.model_dump(mode="json") for v in validated]
        if builder is None:
            return [{"tool": spec.name, "arguments": a, "before": None, "after": a,
                     "changes": [f"call {spec.name}"]} for a in arguments]
        built = builder(list(validated))
        if len(built) != len(validated):
            raise GovernanceError(f"the preview builder of {spec.name} returned {len(built)} previews "
                                  f"for {len(validated)} inputs")
        return [{"tool": spec.name, "arguments": a, **b} for a, b in zip(arguments, built)]

    def _record_check(self, spec, arguments: dict) -> tuple[tuple[str, str], ...]:
        """The write's disagreements with the system of record, for the gate (fail closed)."""
        try:
            validated = spec.input_model.model_validate(arguments)
        except Exception:
            return ()  # the gate reports the schema errors
        try:
            return tuple((str(code), str(message)) for code, message in spec.record_check(validated) or ())
        except Exception as exc:  # noqa: BLE001 - an unreadable record is no licence to write
            return (("record_unverified", f"{spec.name}: the system of record could not be read to check "
                                          f"the arguments ({type(exc).__name__}: {exc})"),)

    def _preview_if_valid(self, spec, arguments: dict) -> tuple[dict | None, str | None]:
        try:
            validated = spec.input_model.model_validate(arguments)
        except Exception:
            return None, None  # the gate reports the schema errors
        preview = self._build_preview(spec, validated)
        return preview, digest(preview)

    def _approval_evidence(self, request_id: str, tool: str, arguments: dict, now):
        from governed_agents.approvals import get_request
        from governed_agents.approvals.service import attested_approvers
        from governed_agents.gate import ApprovalEvidence

        request = get_request(self.ledger, request_id)
        if request.action != tool:
            raise GovernanceError(
                f"approval request {request_id} is for {request.action}, not {tool}")
        # The approval covers exactly the arguments it was requested for.
        try:
            spec = self.registry.spec(tool)
            normalised = spec.input_model.model_validate(arguments).model_dump(mode="json")
        except Exception:
            normalised = arguments
        if digest(normalised) != digest(request.arguments):
            raise GovernanceError(
                f"approval request {request_id} was made for other arguments; "
                "an approval covers exactly what was previewed")
        # Only approvals with a signed decision event count: an approval row written
        # straight into the database authorises nothing (status "unverified").
        attested = attested_approvers(self.ledger, request)
        status = request.effective_status(now)
        if status == "approved" and (set(request.approvers) - set(attested)
                                     or len(attested) < request.min_approvals):
            status = "unverified"
        return ApprovalEvidence(
            request_id=request.id,
            status=status,
            approvers=attested,
            preview_digest=request.preview_digest,
            expires_at=request.expires_at,
            min_approvals_met=len(attested) >= request.min_approvals,
        )

    def _context(self, task: TaskContext) -> dict:
        return {
            "actor": task.agent,
            "workflow": task.workflow,
            "trace_id": task.trace_id,
            "run_id": task.run_id,
            "envelope_version": task.envelope.version,
            "envelope_digest": task.envelope.digest,
        }

    def _refuse_unrecordable(self, task: TaskContext, tool: str, spec, arguments, exc: Exception,
                             approval_request_id: str | None) -> CallResult:
        """Deny a call whose arguments are not JSON values (one audit event; a refused
        write also gets its receipt). What is recorded is the arguments as text, with
        non-finite numbers spelled out, never a value the tool would see."""
        from governed_agents.gate import Decision, Reason

        recordable = json.loads(json.dumps(arguments, default=repr, allow_nan=True), parse_constant=str)
        decision = Decision("deny", (Reason("invalid_input", f"arguments are not JSON values: {exc}"),), tool,
                            getattr(spec, "side_effect", None), task.envelope.version, task.envelope.digest)
        self._audit(task, "tool.decision", {"tool": tool, "arguments_digest": digest(recordable),
                                            "decision": decision.to_dict(),
                                            "approval_request_id": approval_request_id})
        receipt = None
        if spec is not None and spec.side_effect == "write":
            receipt = self._receipt(task, "write_refused", tool, recordable, notes=decision.reasons[0].message,
                                    approval_request_id=approval_request_id)
        return CallResult("denied", decision, receipt=receipt)

    def _audit(self, task: TaskContext, kind: str, payload: dict, conn=None):
        return self.ledger.append(kind, payload, conn=conn, **self._context(task))

    def _receipt(self, task: TaskContext, kind: str, tool: str, arguments: dict, *,
                 approval_request_id: str | None = None, idempotency_key: str | None = None,
                 preview: dict | None = None, output: dict | None = None, anchor=None, conn=None,
                 notes: str | None = None, started_at=None, finished_at=None, extra: dict | None = None):
        """Build, sign and store a receipt anchored to an audit event."""
        from governed_agents.identity.keys import signing_key
        from governed_agents.receipts.model import Receipt
        from governed_agents.receipts.signing import sign_receipt
        from governed_agents.receipts.store import store_receipt

        approvals = []
        if approval_request_id:
            from governed_agents.approvals import get_request

            request = get_request(self.ledger, approval_request_id, conn=conn)
            approvals = [
                {"approver": d.approver, "decision": d.decision, "reason": d.reason,
                 "decided_at": d.decided_at}
                for d in request.decisions
            ]

        def _make(c):
            nonlocal anchor
            from governed_agents.routing.report import task_spend

            spend = task_spend(self.ledger, task.task_id, conn=c)
            pii = _pii_redactor(task)  # one document: the same value gets the same placeholder throughout
            if anchor is None:
                anchor = self.ledger.append(
                    "tool.refused" if kind == "write_refused" else f"tool.{kind}",
                    {"tool": tool, "arguments_digest": digest(arguments), "notes": pii(notes),
                     "approval_request_id": approval_request_id},
                    conn=c, **self._context(task),
                )
            receipt = Receipt(
                receipt_id=str(uuid.uuid4()),
                kind=kind,
                workflow=task.workflow,
                envelope_version=task.envelope.version,
                envelope_digest=task.envelope.digest,
                trace_id=task.trace_id,
                run_id=task.run_id,
                requester=task.requested_by,
                approvals=pii(approvals),
                tool_calls=list(task.calls),
                checks=list(task.checks),
                state_before=pii((preview or {}).get("before")),
                state_after=pii(output if output is not None else (preview or {}).get("after")),
                changes=pii(list((preview or {}).get("changes", []))),
                idempotency_key=idempotency_key,
                cost_usd=task.cost_usd,
                tokens=task.tokens_used,
                started_at=started_at or task.started_at,
                finished_at=finished_at or self.clock(),
                audit_anchor={"seq": anchor.seq, "hash": anchor.hash},
                approval_request_id=approval_request_id,
                notes=pii(notes),
                offline_model=spend["offline_model"],
                extra={**({"model_spend": spend} if spend["model_calls"] or spend["cache_hits"] else {}),
                       **(extra or {})},
            )
            signed = sign_receipt(receipt, signing_key())
            store_receipt(self.ledger, signed, conn=c)
            return signed

        if conn is not None:
            return _make(conn)
        with self.ledger.transaction() as c:
            return _make(c)


def _pii_redactor(task: TaskContext) -> Callable[[Any], Any]:
    """Redacts a receipt's free text (states, changes, notes, approvers' reasons) when the
    envelope's logging.redact_pii is on; the system of record keeps the real values."""
    if not task.envelope.envelope.logging.redact_pii:
        return lambda value: value
    from governed_agents.safety.pii import Redactor

    return Redactor(task.known_names).value


__all__ = ["CallResult", "GovernedExecutor", "TaskContext"]
