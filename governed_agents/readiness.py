"""Autonomy readiness: should this workflow run on its own, and how far?

``assess(ledger, workflow)`` scores five dimensions from evidence — the
envelope, the workflow's registered tools, and its history in the ledger over
the last ``window_days`` — and suggests a stance:

- **frequency** (run history): distinct tasks (traces) and runs in the window.
  0 tasks → 0; 1–9 → 30; 10–49 → 60; 50 or more → 100.
- **reversibility** (the allowed write tools): the share declared
  ``reversible=True`` *and* having an undo path (a ``compensate`` builder).
  A read-only workflow scores 100.
- **observability**: three signals, a third each — checks recorded (run
  receipts of the window carry asset checks), success criteria present (an
  eval suite for the workflow), correction signals recorded (approval
  decisions, rejections, undo requests or failed checks in the window).
- **policy clarity** (envelope completeness): five items, a fifth each — per-task
  budgets (tokens, tool calls, cost cap), a workflow spend cap (daily or
  monthly), writes gated (approval required with approver roles, or bounds for
  ``autonomous_bounded``), every allowed tool registered, an injection
  threshold below 1.
- **data sensitivity**: the data classes the allowed tools declare
  (``data_classes``) and whether redaction is on. Nothing sensitive → 100;
  ``financial`` → 70; ``pii`` → 40 with redaction on, 0 with it off; a tool
  that declares nothing caps the score at 50 (unknown is not safe).

Stance: **assist** when there is no run history, policy clarity is below 60,
or writes are neither approval-gated nor all undoable; **bounded autonomy**
when every dimension scores at least 70 and there is no red flag; otherwise
**approval-only**.

The tool metadata is read with ``getattr`` (``reversible``, ``compensate``,
``data_classes``), so registries from before those fields existed still assess.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STANCES = ("assist", "approval-only", "bounded autonomy")
DIMENSIONS = ("frequency", "reversibility", "observability", "policy_clarity", "data_sensitivity")
SENSITIVITY = {"pii": 40, "financial": 70}  # anything else declared and not listed: 70 (treated like financial)
EVAL_CASES = Path(__file__).resolve().parent / "evals" / "cases"


@dataclass
class Dimension:
    name: str
    score: int
    evidence: dict[str, Any]
    red_flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"name": self.name, "score": self.score, "evidence": self.evidence, "red_flags": self.red_flags}


@dataclass
class Assessment:
    workflow: str
    envelope_version: str
    envelope_digest: str
    window_days: int
    dimensions: list[Dimension]
    stance: str
    why: str

    @property
    def red_flags(self) -> list[str]:
        return [f"{d.name}: {flag}" for d in self.dimensions for flag in d.red_flags]

    def dimension(self, name: str) -> Dimension:
        return next(d for d in self.dimensions if d.name == name)

    def to_dict(self) -> dict:
        return {"workflow": self.workflow, "envelope": {"version": self.envelope_version,
                                                        "digest": self.envelope_digest},
                "window_days": self.window_days, "stance": self.stance, "why": self.why,
                "scores": {d.name: d.score for d in self.dimensions},
                "dimensions": [d.to_dict() for d in self.dimensions], "red_flags": self.red_flags}


# -- evidence ------------------------------------------------------------------------------


def history(ledger, workflow: str, since: _dt.datetime) -> dict:
    """What the ledger says about ``workflow`` since ``since``."""
    import sqlalchemy as sa

    from governed_agents.ledger.schema import audit_events

    e = audit_events
    with ledger.engine.connect() as c:
        rows = c.execute(sa.select(e.c.kind, e.c.trace_id, e.c.run_id, e.c.ts, e.c.payload)
                         .where(e.c.workflow == workflow, e.c.ts >= since)).all()
    import json

    tasks, runs, days = set(), set(), set()
    counts: dict[str, int] = {}
    checks, failed_checks = set(), 0
    writes = 0
    for kind, trace, run, ts, payload in rows:
        counts[kind] = counts.get(kind, 0) + 1
        if kind in ("tool.decision", "model.call") and trace:
            tasks.add(trace)
        if run:
            runs.add(run)
        days.add(ts.date() if hasattr(ts, "date") else str(ts)[:10])
        if kind == "tool.executed" and '"idempotency_key"' in payload:
            writes += 1
        if kind == "run.receipted":
            for check in json.loads(payload).get("checks") or []:
                checks.add(check.get("name"))
                failed_checks += 0 if check.get("passed") else 1
    corrections = {k: v for k, v in counts.items()
                   if k in ("approval.approved", "approval.rejected", "approval.recorded")
                   or k.startswith("undo.")}
    if failed_checks:
        corrections["failed_checks"] = failed_checks
    return {"tasks": len(tasks), "runs": len(runs), "active_days": len(days), "writes_executed": writes,
            "checks_recorded": sorted(c for c in checks if c), "correction_signals": dict(sorted(corrections.items()))}


def _tools(workflow: str, envelope) -> tuple[list[dict], list[str]]:
    """The allowed tools' declared metadata, and allowed names that are not registered."""
    from governed_agents.workflows import TOOLSETS

    factory = TOOLSETS.get(workflow)
    registry = factory()[0] if factory is not None else None
    tools, missing = [], []
    for name in envelope.envelope.permissions.allowed_tools:
        spec = registry.spec(name) if registry is not None else None
        if spec is None:
            missing.append(name)
            continue
        tools.append({"name": name, "side_effect": spec.side_effect,
                      "reversible": bool(getattr(spec, "reversible", False)),
                      "undo_path": getattr(spec, "compensate", None) is not None,
                      "data_classes": sorted(getattr(spec, "data_classes", ()) or ())})
    return tools, missing


# -- scoring (pure) -------------------------------------------------------------------------


def score_frequency(h: dict) -> Dimension:
    n = h["tasks"]
    score = 0 if n == 0 else 30 if n < 10 else 60 if n < 50 else 100
    flags = ["no run history in the window: nothing to judge it by"] if n == 0 else []
    return Dimension("frequency", score, {k: h[k] for k in ("tasks", "runs", "active_days", "writes_executed")},
                     flags)


def score_reversibility(tools: list[dict]) -> Dimension:
    writes = [t for t in tools if t["side_effect"] == "write"]
    undoable = [t["name"] for t in writes if t["reversible"] and t["undo_path"]]
    flags = [f"{t['name']} cannot be undone" + (" (declared reversible but no undo path)" if t["reversible"] else "")
             for t in writes if t["name"] not in undoable]
    score = 100 if not writes else round(100 * len(undoable) / len(writes))
    return Dimension("reversibility", score, {
        "write_tools": [t["name"] for t in writes], "undoable": undoable,
        "irreversible": [t["name"] for t in writes if t["name"] not in undoable]}, flags)


def score_observability(h: dict, has_suite: bool) -> Dimension:
    signals = {"checks_recorded": bool(h["checks_recorded"]), "success_criteria": has_suite,
               "correction_signals": bool(h["correction_signals"])}
    flags = []
    if not signals["checks_recorded"]:
        flags.append("no run in the window recorded a check")
    if not has_suite:
        flags.append("no eval suite (success criteria) for the workflow")
    if not signals["correction_signals"]:
        flags.append("no correction signal (approval decision, rejection, undo, failed check) recorded")
    score = round(100 * sum(signals.values()) / 3)
    return Dimension("observability", score, {**signals, "checks": h["checks_recorded"],
                                              "corrections": h["correction_signals"]}, flags)


def score_policy_clarity(envelope, missing_tools: list[str]) -> Dimension:
    env = envelope.envelope
    b, p = env.budgets, env.permissions
    items = {
        "per_task_budgets": bool(b.max_tokens_per_task and b.max_tool_calls and b.hard_cost_cap_usd),
        "workflow_spend_cap": b.workflow_daily_usd is not None or b.workflow_monthly_usd is not None,
        "writes_gated": bool(p.write_actions_require_approval and p.approval_roles)
        or (env.pattern == "autonomous_bounded" and bool(p.bounds)),
        "allowlist_registered": not missing_tools and bool(p.allowed_tools),
        "injection_threshold": float(env.safety.block_on_prompt_injection_score_gte) < 1,
    }
    flags = [{"per_task_budgets": "per-task budgets incomplete",
              "workflow_spend_cap": "no workflow spend cap (workflow_daily_usd / workflow_monthly_usd)",
              "writes_gated": "writes are neither approval-gated nor bounded",
              "allowlist_registered": f"allowed tools not registered: {', '.join(missing_tools) or '(none allowed)'}",
              "injection_threshold": "injection threshold is 1: nothing is ever blocked"}[k]
             for k, ok in items.items() if not ok]
    evidence = {**items, "pattern": env.pattern, "max_tokens_per_task": b.max_tokens_per_task,
                "max_tool_calls": b.max_tool_calls, "hard_cost_cap_usd": str(b.hard_cost_cap_usd),
                "approval_roles": list(p.approval_roles), "min_approvals": p.min_approvals}
    return Dimension("policy_clarity", round(100 * sum(items.values()) / len(items)), evidence, flags)


def score_data_sensitivity(tools: list[dict], redact_pii: bool) -> Dimension:
    classes = sorted({c for t in tools for c in t["data_classes"]})
    undeclared = [t["name"] for t in tools if not t["data_classes"]]
    score = 100
    for c in classes:
        score = min(score, SENSITIVITY.get(c, 70))
    flags = []
    if "pii" in classes and not redact_pii:
        score = 0
        flags.append("tools touch personal data and redaction is off")
    if undeclared:
        score = min(score, 50)
        flags.append(f"tools declare no data classes: {', '.join(undeclared)}")
    return Dimension("data_sensitivity", score, {"data_classes": classes, "undeclared_tools": undeclared,
                                                 "redaction_on": redact_pii}, flags)


def stance(dimensions: list[Dimension], envelope, tools: list[dict]) -> tuple[str, str]:
    d = {x.name: x for x in dimensions}
    p = envelope.envelope.permissions
    gated = bool(p.write_actions_require_approval)
    undoable = not d["reversibility"].evidence["irreversible"]
    if d["frequency"].score == 0:
        return "assist", "no run history: start by assisting (propose only) and build a record"
    if d["policy_clarity"].score < 60:
        return "assist", "the envelope leaves too much open (policy clarity below 60)"
    if not gated and not undoable:
        return "assist", "writes are neither approval-gated nor all undoable"
    flags = [f for x in dimensions for f in x.red_flags]
    if all(x.score >= 70 for x in dimensions) and not flags:
        return "bounded autonomy", "every dimension scores 70 or more with no red flag"
    low = ", ".join(f"{x.name} {x.score}" for x in dimensions if x.score < 70) or "none below 70"
    return "approval-only", f"keep a person approving each write ({low}; {len(flags)} red flag(s))"


def assess(ledger, workflow: str, *, window_days: int = 30, now: _dt.datetime | None = None,
           envelope=None) -> Assessment:
    from governed_agents.envelope import find_envelope
    from governed_agents.timeutil import utcnow

    envelope = envelope or find_envelope(workflow)
    now = now or utcnow()
    h = history(ledger, workflow, now - _dt.timedelta(days=window_days))
    tools, missing = _tools(workflow, envelope)
    dims = [
        score_frequency(h),
        score_reversibility(tools),
        score_observability(h, (EVAL_CASES / workflow).is_dir()),
        score_policy_clarity(envelope, missing),
        score_data_sensitivity(tools, bool(envelope.envelope.logging.redact_pii)),
    ]
    chosen, why = stance(dims, envelope, tools)
    return Assessment(workflow, envelope.version, envelope.digest, window_days, dims, chosen, why)


__all__ = ["DIMENSIONS", "STANCES", "Assessment", "Dimension", "assess", "history"]
