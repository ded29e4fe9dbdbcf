"""Eval results: what one suite run found, its audit event, its reports.

``record_result`` appends one ``eval.run`` audit event (envelope digest in the
event's own column; model catalog digest, suite digest and per-category
results in the payload). ``latest_result(ledger, workflow, envelope_digest)``
reads the newest one back: the autonomy work calls it to ask "is this
workflow's suite passing for this envelope?".
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

EVENT_KIND = "eval.run"


@dataclass(frozen=True)
class CaseResult:
    id: str
    category: str
    description: str
    expected: dict
    observed: dict  # {"outcome", "reasons": [codes], "messages", "writes", "model_used", ...}
    passed: bool
    why: str = ""  # for a failed case: what differed

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CategoryResult:
    category: str
    cases: int
    passed: int
    threshold: float | None  # None: the suite sets no bar for this category (reported, not gating)

    @property
    def rate(self) -> float:
        return self.passed / self.cases if self.cases else 0.0

    @property
    def verdict(self) -> str:
        if self.threshold is None:
            return "info"
        return "pass" if self.cases and self.rate >= self.threshold else "fail"

    def to_dict(self) -> dict:
        return {"category": self.category, "cases": self.cases, "passed": self.passed,
                "rate": round(self.rate, 4), "threshold": self.threshold, "verdict": self.verdict}


@dataclass(frozen=True)
class EvalResult:
    """One run of a workflow's suite against one envelope and one model catalog."""

    workflow: str
    envelope_digest: str
    envelope_version: str
    envelope_source: str
    catalog_digest: str
    suite_digest: str
    categories: tuple[CategoryResult, ...]
    cases: tuple[CaseResult, ...] = ()
    started_at: _dt.datetime | None = None
    finished_at: _dt.datetime | None = None
    audit_seq: int | None = None  # set once recorded / when read back from the ledger
    extra: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Every category with a threshold meets it."""
        return all(c.verdict != "fail" for c in self.categories)

    def failed_categories(self) -> list[str]:
        return [c.category for c in self.categories if c.verdict == "fail"]

    def category(self, name: str) -> CategoryResult | None:
        return next((c for c in self.categories if c.category == name), None)

    def summary(self) -> dict:
        """What the audit event holds (no case inputs: those are in the report)."""
        return {
            "workflow": self.workflow,
            "passed": self.passed,
            "envelope_version": self.envelope_version,
            "envelope_source": self.envelope_source,
            "catalog_digest": self.catalog_digest,
            "suite_digest": self.suite_digest,
            "categories": [c.to_dict() for c in self.categories],
            "failed_cases": [{"id": c.id, "category": c.category, "why": c.why} for c in self.cases if not c.passed],
            "cases": len(self.cases) or sum(c.cases for c in self.categories),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            **({"extra": self.extra} if self.extra else {}),
        }

    def to_dict(self) -> dict:
        return {**self.summary(), "envelope_digest": self.envelope_digest, "audit_seq": self.audit_seq,
                "case_results": [c.to_dict() for c in self.cases]}


def record_result(ledger, result: EvalResult, *, actor: str = "eval", run_id: str | None = None) -> EvalResult:
    """Append the ``eval.run`` audit event; returns the result with its ``audit_seq``."""
    import dataclasses

    event = ledger.append(EVENT_KIND, result.summary(), actor=actor, workflow=result.workflow, run_id=run_id,
                          envelope_version=result.envelope_version, envelope_digest=result.envelope_digest)
    return dataclasses.replace(result, audit_seq=event.seq)


def _parse_ts(value: Any) -> _dt.datetime | None:
    if not value:
        return None
    return _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def result_from_event(event) -> EvalResult:
    p = event.payload
    categories = tuple(CategoryResult(c["category"], int(c["cases"]), int(c["passed"]), c["threshold"])
                       for c in p.get("categories", []))
    return EvalResult(
        workflow=event.workflow, envelope_digest=event.envelope_digest, envelope_version=event.envelope_version,
        envelope_source=p.get("envelope_source", ""), catalog_digest=p.get("catalog_digest", ""),
        suite_digest=p.get("suite_digest", ""), categories=categories,
        started_at=_parse_ts(p.get("started_at")), finished_at=_parse_ts(p.get("finished_at")),
        audit_seq=event.seq, extra={"failed_cases": p.get("failed_cases", [])},
    )


def latest_result(ledger, workflow: str, envelope_digest: str | None = None, *,
                  catalog_digest: str | None = None) -> EvalResult | None:
    """The newest recorded eval run of ``workflow`` (for ``envelope_digest`` / ``catalog_digest`` when given).

    Returns ``None`` when there is none. Case-level detail is not in the ledger
    (see the run's report); ``failed_cases`` is in ``extra``.
    """
    import sqlalchemy as sa

    from governed_agents.ledger.audit import AuditEvent
    from governed_agents.ledger.schema import audit_events as t

    stmt = sa.select(t).where(t.c.kind == EVENT_KIND, t.c.workflow == workflow).order_by(t.c.seq.desc())
    if envelope_digest is not None:
        stmt = stmt.where(t.c.envelope_digest == envelope_digest)
    with ledger.engine.connect() as conn:
        rows = conn.execute(stmt if catalog_digest is not None else stmt.limit(1)).mappings()
        for row in rows:
            event = AuditEvent.from_row(row)
            if catalog_digest is None or event.payload.get("catalog_digest") == catalog_digest:
                return result_from_event(event)
    return None


# -- reports -------------------------------------------------------------------


def reports_dir() -> Path:
    from governed_agents import config

    return config.home() / "evals"


def render_table(result: EvalResult) -> str:
    header = ("category", "cases", "passed", "rate", "threshold", "verdict")
    rows = [(c.category, str(c.cases), str(c.passed), f"{c.rate:.0%}",
             "-" if c.threshold is None else f"{c.threshold:.0%}", c.verdict.upper()) for c in result.categories]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *(line(r) for r in rows)])


def render_markdown(result: EvalResult) -> str:
    out = [f"# Eval report: {result.workflow}", "",
           f"- verdict: **{'PASS' if result.passed else 'FAIL'}**",
           f"- envelope: `{result.envelope_source}` version {result.envelope_version}, digest `{result.envelope_digest}`",
           f"- model catalog digest: `{result.catalog_digest}`",
           f"- suite digest: `{result.suite_digest}`",
           f"- audit event seq: {result.audit_seq if result.audit_seq is not None else '(not recorded)'}",
           f"- run: {result.started_at} → {result.finished_at}", "",
           "| category | cases | passed | rate | threshold | verdict |", "|---|---:|---:|---:|---:|---|"]
    for c in result.categories:
        out.append(f"| {c.category} | {c.cases} | {c.passed} | {c.rate:.0%} | "
                   f"{'-' if c.threshold is None else f'{c.threshold:.0%}'} | {c.verdict} |")
    out += ["", "## Cases", "", "| case | category | expected | observed | result |", "|---|---|---|---|---|"]
    for c in result.cases:
        exp = c.expected["outcome"] + (f" ({c.expected['reason']})" if c.expected.get("reason") else "")
        obs = c.observed.get("outcome", "?") + (f" ({', '.join(c.observed.get('reasons', []))})"
                                                 if c.observed.get("reasons") else "")
        out.append(f"| `{c.id}` | {c.category} | {exp} | {obs} | {'pass' if c.passed else 'FAIL: ' + c.why} |")
    return "\n".join(out) + "\n"


def write_report(result: EvalResult, path: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``<stem>.json`` and ``<stem>.md``; default under ``$GOVERNED_AGENTS_HOME/evals/``."""
    from governed_agents.canonical import _default

    if path is None:
        stamp = (result.finished_at or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y%m%dT%H%M%S%fZ")
        base = reports_dir() / f"{result.workflow}-{stamp}"
    else:
        base = Path(path)
        if base.suffix in (".json", ".md"):
            base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    json_path, md_path = base.with_suffix(".json"), base.with_suffix(".md")
    json_path.write_text(json.dumps(result.to_dict(), indent=2, sort_keys=True, default=_default) + "\n")
    md_path.write_text(render_markdown(result))
    return json_path, md_path
