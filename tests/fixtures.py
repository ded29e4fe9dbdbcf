"""Test data builders shared by several test modules (plain functions, not fixtures)."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent


def envelope_text(*, approval_roles=("FinanceAdmin",), min_approvals=1, max_tool_calls=8,
                  expiry_hours=None, workflow="invoice_reconcile", pattern=None,
                  allowed_tools=None) -> str:
    """The reference envelope with a few knobs turned."""
    data = yaml.safe_load((REPO / "policies" / "invoice_reconcile.yaml").read_text())
    data["version"] = str(data["version"])
    data["workflow"] = workflow
    data["permissions"]["approval_roles"] = list(approval_roles)
    data["permissions"]["min_approvals"] = min_approvals
    data["budgets"]["max_tool_calls"] = max_tool_calls
    if expiry_hours is not None:
        data["permissions"]["approval_expiry_hours"] = expiry_hours
    if allowed_tools is not None:
        data["permissions"]["allowed_tools"] = list(allowed_tools)
    if pattern is not None:
        data["pattern"] = pattern
    return yaml.safe_dump(data, sort_keys=False)


def ledger_snapshot(ledger) -> dict:
    """Every governance table's rows (audit chain excluded) and the chain head's seq."""
    from governed_agents.ledger.schema import metadata

    tables = {}
    with ledger.engine.connect() as c:
        for name, table in metadata.tables.items():
            if name in ("audit_events", "audit_head"):
                continue
            rows = [tuple(str(v) for v in r) for r in c.execute(select(table))]
            tables[name] = sorted(rows)
    return {"tables": tables, "head": ledger.head()[0]}


def _write_principals(tmp_path: Path, principals: list[dict]) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir(exist_ok=True)
    for f in (REPO / "policies").glob("*.yaml"):
        if f.name != "principals.yaml":
            (folder / f.name).write_text(f.read_text())
    (folder / "principals.yaml").write_text(yaml.safe_dump({"principals": principals}, sort_keys=False))
    return folder


def _repo_principals() -> list[dict]:
    return yaml.safe_load((REPO / "policies" / "principals.yaml").read_text())["principals"]


def principals_without_role(tmp_path: Path, principal: str, role: str) -> Path:
    """A policies folder where ``principal`` no longer holds ``role``."""
    people = _repo_principals()
    for p in people:
        if p["id"] == principal:
            p["roles"] = [r for r in p["roles"] if r != role]
    return _write_principals(tmp_path, people)


def principals_with(tmp_path: Path, *extra: dict) -> Path:
    """A policies folder with the repo's principals plus ``extra``."""
    return _write_principals(tmp_path, _repo_principals() + list(extra))
