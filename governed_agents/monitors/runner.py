"""Running one monitor: its envelope, its reads through the gate, its findings, its audit event.

A monitor is an agent like any other: a ``TaskContext`` under its own envelope,
each read a gated tool call (audited, counted against the envelope's
``max_tool_calls``). Before it runs, the runner checks that the envelope allows
read tools only (fail closed otherwise), so no configuration mistake lets a
monitor write. The run ends with one audit event: ``monitor.finding`` (with the
findings) or ``monitor.passed``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from governed_agents.errors import GovernanceError
from governed_agents.monitors import MONITORS, envelope_name
from governed_agents.monitors import checks
from governed_agents.timeutil import utcnow

#: Findings kept in full in the audit event; the count is always exact.
MAX_FINDINGS_IN_EVENT = 50
READ_ONLY_PATTERNS = ("continuous", "read_only", "suggest_only")

Reader = Callable[[str, dict], Any]


class MonitorRefused(GovernanceError):
    """A monitor's envelope or read was refused: the monitor did not run to the end."""


@dataclass(frozen=True)
class MonitorResult:
    monitor: str
    ok: bool
    summary: str
    findings: list[dict]
    checked: dict
    subject_workflows: list[str] = field(default_factory=list)
    audit_seq: int | None = None
    trace_id: str | None = None

    def to_dict(self) -> dict:
        return {"monitor": self.monitor, "ok": self.ok, "summary": self.summary, "findings": self.findings,
                "checked": self.checked, "subject_workflows": self.subject_workflows,
                "audit_seq": self.audit_seq, "trace_id": self.trace_id}


def check_read_only(envelope, registry) -> None:
    """Refuse a monitor envelope that could write: a write-capable pattern is allowed only
    with read tools, and every allowed tool must be a registered read."""
    env = envelope.envelope
    problems = []
    if env.pattern not in READ_ONLY_PATTERNS:
        problems.append(f"pattern {env.pattern} is not one of {', '.join(READ_ONLY_PATTERNS)}")
    for tool in env.permissions.allowed_tools:
        spec = registry.spec(tool)
        if spec is None:
            problems.append(f"{tool} is not a monitor tool")
        elif spec.is_write:
            problems.append(f"{tool} writes")
    if problems:
        raise MonitorRefused(f"monitor envelope {env.workflow} ({envelope.source}) is not read-only: "
                             + "; ".join(problems),
                             hint="a monitor's allowed_tools may list only the read tools in docs/monitors.md")


# -- the monitors ------------------------------------------------------------------------------


def _duplicate_payments(read: Reader, params: dict, now: dt.datetime) -> tuple[list[dict], dict, list[str]]:
    days = params.get("lookback_days")
    since = (now - dt.timedelta(days=days)).isoformat() if days else None
    entries = read("erp.list_posted_entries", {"posted_since": since} if since else {}).entries
    found = checks.duplicate_payments([e.model_dump() for e in entries])
    checked = {"entries": len(entries)}
    if params.get("check_invoices", True):
        invoices = read("erp.list_invoices", {}).invoices
        found += checks.duplicate_invoices([i.model_dump() for i in invoices])
        checked["invoices"] = len(invoices)
    subjects = list(params.get("subject_workflows", [])) if found else []
    return found, checked, subjects


def _spend_anomaly(read: Reader, params: dict, now: dt.datetime) -> tuple[list[dict], dict, list[str]]:
    window = dt.timedelta(hours=params.get("window_hours", 24))
    baseline = dt.timedelta(days=params.get("baseline_days", 14))
    recent_start = now - window
    base = read("ledger.cost_per_completed_task",
                {"since": (recent_start - baseline).isoformat(), "until": recent_start.isoformat()}).workflows
    recent = read("ledger.cost_per_completed_task",
                  {"since": recent_start.isoformat(), "until": now.isoformat()}).workflows
    before = {w.workflow: {"cost_usd": w.cost_usd, "completed_tasks": w.completed_tasks} for w in base}
    found = []
    for w in recent:
        if w.workflow in before:
            drift = checks.spend_drift(w.workflow, before[w.workflow],
                                       {"cost_usd": w.cost_usd, "completed_tasks": w.completed_tasks},
                                       max_drift_pct=params.get("max_drift_pct", 50),
                                       min_tasks=params.get("min_tasks", 5))
            if drift:
                found.append(drift)
    return found, {"workflows": len(recent)}, sorted({f["workflow"] for f in found})


def _approval_backlog(read: Reader, params: dict, now: dt.datetime) -> tuple[list[dict], dict, list[str]]:
    pending = read("ledger.list_pending_approvals", {}).requests
    found = checks.overdue_approvals([p.model_dump() for p in pending], sla_hours=params.get("sla_hours", 24),
                                     now=now)
    # A backlog is the approvers' queue, not the agent's conduct: it names no workflow to demote.
    return found, {"pending": len(pending), "sla_hours": params.get("sla_hours", 24)}, []


def _audit_chain(read: Reader, params: dict, now: dt.datetime) -> tuple[list[dict], dict, list[str]]:
    status = read("ledger.verify_audit_chain", {})
    found = [] if status.ok else [{"first_bad_seq": status.first_bad_seq, "problem": status.problem}]
    return found, {"events_checked": status.events_checked, "head_seq": status.head_seq}, \
        list(params.get("subject_workflows", [])) if found else []


def _record_demotions(ledger, workflows: list[str]) -> None:
    """Write down at once the autonomy demotion a finding causes (the gate already applies it)."""
    from governed_agents import autonomy
    from governed_agents.envelope import find_envelope

    for workflow in workflows:
        try:
            envelope = find_envelope(workflow)
        except GovernanceError:
            continue  # no envelope here: nothing it could do runs anyway
        autonomy.record_incident_demotions(ledger, envelope)


_DETECTORS = {
    "duplicate_payments": (_duplicate_payments, "duplicate payment(s)"),
    "spend_anomaly": (_spend_anomaly, "workflow(s) whose cost per completed task drifted above baseline"),
    "approval_backlog": (_approval_backlog, "approval request(s) pending past the SLA"),
    "audit_chain": (_audit_chain, "audit chain problem(s)"),
}
assert set(_DETECTORS) == set(MONITORS)


def run_monitor(name: str, *, ledger=None, erp_engine=None, envelope=None,
                now: dt.datetime | None = None) -> MonitorResult:
    """Run monitor ``name`` once and record its outcome in the audit log.

    Raises (never returns a green result) when the envelope is not read-only, a read
    is refused, or the ledger cannot be reached: the caller reports that as red.
    """
    from governed_agents.envelope import find_envelope
    from governed_agents.executor import GovernedExecutor, TaskContext
    from governed_agents.monitors.tools import monitor_toolset

    if name not in _DETECTORS:
        raise MonitorRefused(f"no monitor named {name!r}", hint=f"monitors: {', '.join(MONITORS)}")
    if ledger is None:
        from governed_agents.ledger import Ledger

        ledger = Ledger.open()
    if erp_engine is None:
        from governed_agents.erp.connector import erp_engine as default_erp

        erp_engine = default_erp()
    envelope = envelope or find_envelope(envelope_name(name))
    registry = monitor_toolset(ledger, erp_engine)
    check_read_only(envelope, registry)
    executor = GovernedExecutor(ledger, registry)
    task = TaskContext(envelope=envelope, requested_by="monitor", agent=f"monitor.{name}")
    now = now or utcnow()

    def read(tool: str, arguments: dict):
        result = executor.call(task, tool, arguments)
        if not result.ok:
            reasons = "; ".join(r.message for r in result.decision.reasons)
            raise MonitorRefused(f"monitor {name}: {tool} was {result.outcome}: {reasons}")
        return result.output

    detector, noun = _DETECTORS[name]
    findings, checked, subjects = detector(read, dict(envelope.envelope.parameters.extra), now)
    summary = f"{len(findings)} {noun}"
    payload = {"monitor": name, "summary": summary, "finding_count": len(findings),
               "findings": findings[:MAX_FINDINGS_IN_EVENT], "checked": checked, "subject_workflows": subjects}
    event = ledger.append("monitor.finding" if findings else "monitor.passed", payload,
                          actor=task.agent, workflow=envelope.workflow, trace_id=task.trace_id,
                          envelope_version=envelope.version, envelope_digest=envelope.digest)
    _record_demotions(ledger, subjects)
    return MonitorResult(monitor=name, ok=not findings, summary=summary, findings=findings, checked=checked,
                         subject_workflows=subjects, audit_seq=event.seq, trace_id=task.trace_id)


__all__ = ["Finding", "MonitorRefused", "MonitorResult", "check_read_only", "run_monitor"]

Finding = dict
