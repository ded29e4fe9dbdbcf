"""Policy what-if: a tighter envelope replayed over a recorded run reports exactly the
calls it would deny, the outcomes its thresholds change and the model calls its caps refuse."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import dagster as dg
import sqlalchemy as sa
import yaml

from governed_agents.cli.main import main
from governed_agents.erp.connector import erp_engine
from governed_agents.ledger import Ledger

from tests.fixtures import REPO, ledger_snapshot
from tests.forensics_helpers import load_demo_batch, propose


def _envelope(tmp_path, name: str, change) -> str:
    data = yaml.safe_load((REPO / "policies" / "invoice_reconcile.yaml").read_text())
    data["version"] = f"{data['version']}-{name}"
    change(data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def _requested(ledger) -> dict[str, dict]:
    """invoice id -> its approval request (trace, arguments) from the ledger."""
    from governed_agents.approvals import list_requests

    return {r.arguments["invoice_id"]: r for r in list_requests(ledger, limit=1000)}


def _price_differs(invoice_ids, po_of) -> set[str]:
    """Matched invoices with any line priced differently from its PO line (read from the ERP)."""
    from governed_agents.erp.schema import invoice_lines, purchase_order_lines

    out = set()
    with erp_engine().connect() as c:
        for invoice in invoice_ids:
            for line in c.execute(sa.select(invoice_lines).where(invoice_lines.c.invoice_id == invoice)).mappings():
                po_price = c.execute(sa.select(purchase_order_lines.c.unit_price).where(
                    purchase_order_lines.c.po_number == po_of[invoice],
                    purchase_order_lines.c.sku == line["sku"])).scalar_one()
                if Decimal(str(line["unit_price"])) != Decimal(str(po_price)):
                    out.add(invoice)
    return out


def test_tighter_envelope_reports_exactly_what_it_would_deny(tmp_path, capsys):
    from governed_agents.forensics.whatif import what_if
    from governed_agents.envelope import load_envelope

    load_demo_batch(tmp_path, invoices=40, seed=11)
    run = propose(dg.DagsterInstance.ephemeral())
    ledger = Ledger.open()
    requested = _requested(ledger)
    assert requested
    before = ledger_snapshot(ledger)

    # 1. The write tool removed from the allowlist: every proposed write, and nothing else, is denied.
    path = _envelope(tmp_path, "no-write", lambda d: d["permissions"]["allowed_tools"].remove(
        "erp.create_journal_entry"))
    assert main(["replay", run.run_id, "--envelope", path, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["what_if"]
    assert {(x["invoice_id"], x["trace_id"]) for x in report["denied"]} == {
        (inv, r.trace_id) for inv, r in requested.items()}
    assert all(x["reasons"] == ["tool_not_allowed"] and x["recorded"] == "needs_approval" for x in report["denied"])
    assert report["reconcile_changed"] == [] and report["model_calls_refused"] == []

    # 2. A lower per-task cost cap: exactly the model calls whose task's spend passes it.
    calls = ledger.events(kind="model.call")
    assert calls
    def cumulative():
        spent: dict[str, Decimal] = {}
        for e in calls:
            task = e.payload["task_id"]
            spent[task] = spent.get(task, Decimal(0)) + Decimal(str(e.payload["cost_usd"]))
            yield e.seq, spent[task]

    running = sorted({total for _, total in cumulative()})
    # Just under the median task spend, to the envelope's resolution (6 decimal places).
    cap = (running[len(running) // 2] - Decimal("0.000001")).quantize(Decimal("0.000001"), rounding="ROUND_DOWN")
    assert cap > 0
    expected = {seq for seq, total in cumulative() if total > cap}
    assert 0 < len(expected) <= len(calls)
    path = _envelope(tmp_path, "low-cap", lambda d: d["budgets"].update(hard_cost_cap_usd=float(cap)))
    report = what_if(ledger, load_envelope(path), ref=run.run_id).to_dict()
    assert {x["audit_seq"] for x in report["model_calls_refused"]} == expected
    assert report["denied"] == [] and report["reconcile_changed"] == []
    assert report["model_calls"] == len(calls)
    recorded = sum((Decimal(str(e.payload["cost_usd"])) for e in calls), Decimal(0))
    assert Decimal(report["cost"]["recorded_usd"]) == recorded

    # 3. A threshold change (no price tolerance): exactly the matched invoices priced off their PO
    #    would become price variances (later invoices may then change too; listed separately).
    po_of = {inv: r.arguments["memo"].rsplit("PO ", 1)[1] for inv, r in requested.items()}
    path = _envelope(tmp_path, "strict-price", lambda d: d.setdefault("parameters", {}).update(
        price_tolerance_pct=0))
    report = what_if(ledger, load_envelope(path), ref=run.run_id).to_dict()
    newly_price = {x["invoice_id"] for x in report["reconcile_changed"]
                   if x["recorded"] == "matched" and x["would_be"] == "price_variance"}
    assert newly_price == _price_differs(requested, po_of) and newly_price
    assert not {x["invoice_id"] for x in report["denied"]} & newly_price  # no longer proposed at all

    # Over a date range: the same answer for the one recorded run.
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert main(["replay", "--envelope", path, "--since", today, "--until", today]) == 0
    text = capsys.readouterr().out
    assert "reconciliation outcomes that change" in text and "on 1 run(s)" in text
    assert ledger_snapshot(ledger) == before  # a what-if writes nothing


def test_what_if_refusals(tmp_path, capsys):
    path = _envelope(tmp_path, "same", lambda d: None)
    assert main(["replay", "--envelope", path, "--since", "2020-01-01", "--until", "2020-01-02"]) == 1
    assert "no recorded invoice_reconcile runs" in capsys.readouterr().err
    assert main(["replay", "--since", "2020-01-01"]) == 2
    assert main(["replay", "--envelope", path, "--since", "2020-02-01", "--until", "2020-01-01"]) == 2
