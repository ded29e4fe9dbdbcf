"""Canary for expense_receipt_chase and vendor_bank_change: a candidate envelope beside the
deployed one on the ERP's recent inputs, in a sandbox. Each test shows a real difference
(a tighter bound, a removed tool) and that nothing reached the real ERP or ledger but the
``eval.canary`` audit event."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from tests.fixtures import REPO, ledger_snapshot


def _candidate(tmp_path: Path, workflow: str, change) -> Path:
    data = yaml.safe_load((REPO / "policies" / f"{workflow}.yaml").read_text())
    change(data)
    path = tmp_path / f"{workflow}-candidate.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _erp_state(engine) -> dict:
    from sqlalchemy import select

    from governed_agents.erp.schema import metadata

    with engine.connect() as c:
        return {t.name: sorted(tuple(str(v) for v in r) for r in c.execute(select(t))) for t in metadata.sorted_tables}


def _unchanged(engine, ledger, erp_before, tables_before, head, canaries: int) -> None:
    assert _erp_state(engine) == erp_before  # no reminder in the outbox, no IBAN changed, no request touched
    assert ledger_snapshot(ledger)["tables"] == tables_before  # no approval request, receipt, key, bound
    assert [e.kind for e in ledger.events(after_seq=head)] == ["eval.canary"] * canaries


def _seed_expenses(engine) -> dict[str, str]:
    from governed_agents.erp.expenses import add_employee, add_transaction

    add_employee(engine, "E-1", "Ada Lang")
    add_employee(engine, "E-2", "Ben Okafor")
    day = (dt.date.today() - dt.timedelta(days=5)).isoformat()
    older = (dt.date.today() - dt.timedelta(days=9)).isoformat()
    return {
        "small": add_transaction(engine, "E-1", "40.00", txn_date=older, txn_id="TX-A"),
        "mid": add_transaction(engine, "E-1", "300.00", txn_date=day, txn_id="TX-B"),
        "large": add_transaction(engine, "E-2", "812.40", txn_date=day, txn_id="TX-C"),
        "with_receipt": add_transaction(engine, "E-2", "12.00", txn_date=day, txn_id="TX-D", with_receipt=True),
    }


def test_expense_canary_shows_a_tighter_bound_and_a_removed_tool_and_writes_nothing(tmp_path):
    from governed_agents.erp.connector import erp_engine
    from governed_agents.evals import run_canary
    from governed_agents.ledger import Ledger

    engine = erp_engine()
    _seed_expenses(engine)
    ledger = Ledger.open()
    head = ledger.head()[0]
    erp_before, tables_before = _erp_state(engine), ledger_snapshot(ledger)["tables"]

    def tighter(d):
        bound = d["permissions"]["autonomous_writes"][0]
        bound["approval_above"]["value"] = 100  # 300.00 now needs a person
        bound["limits"][0]["max"] = 1  # one reminder per employee per day

    report = run_canary("expense_receipt_chase", _candidate(tmp_path, "expense_receipt_chase", tighter), sample=10)
    assert report.items == ["TX-A", "TX-B", "TX-C"]  # the receipted transaction is no input
    assert report.current == {"TX-A": "allow", "TX-B": "allow", "TX-C": "needs_approval"}
    assert report.candidate == {"TX-A": "allow", "TX-B": "needs_approval", "TX-C": "needs_approval"}
    assert report.flips == [{"txn_id": "TX-B", "current": "allow", "candidate": "needs_approval"}]
    assert report.approvals_newly_needed == ["TX-B"]

    def no_send(d):
        d["permissions"]["allowed_tools"].remove("outbox.send_reminder")
        d["permissions"].pop("autonomous_writes")

    removed = run_canary("expense_receipt_chase", _candidate(tmp_path, "expense_receipt_chase", no_send), sample=2)
    assert removed.items == ["TX-B", "TX-C"]  # the two most recent
    assert set(removed.candidate.values()) == {"deny:tool_not_allowed"}
    assert removed.approvals_no_longer_needed == ["TX-C"]

    _unchanged(engine, ledger, erp_before, tables_before, head, canaries=2)
    event = ledger.events(after_seq=head)[0]
    assert event.payload["item_key"] == "txn_id" and event.payload["flips"] == report.flips


def test_bank_change_canary_shows_a_tighter_block_and_a_removed_tool_and_writes_nothing(tmp_path):
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.vendor_master import seed_vendor_master
    from governed_agents.evals import run_canary
    from governed_agents.ledger import Ledger

    engine = erp_engine()
    expected = seed_vendor_master(engine)
    ledger = Ledger.open()
    head = ledger.head()[0]
    erp_before, tables_before = _erp_state(engine), ledger_snapshot(ledger)["tables"]

    def block_country(d):
        d["parameters"]["extra"]["block_on_red_flags"].append("country_mismatch")

    report = run_canary("vendor_bank_change", _candidate(tmp_path, "vendor_bank_change", block_country), sample=20)
    assert sorted(report.items) == sorted(expected)
    assert report.current["BCR-COUNTRY"] == "needs_approval"
    assert report.current["BCR-CHECKSUM"] == "blocked:checksum_invalid"
    assert report.current["BCR-INUSE"] == "blocked:iban_in_use"
    flips = {f["request_id"]: (f["current"], f["candidate"]) for f in report.flips}
    assert flips == {"BCR-COUNTRY": ("needs_approval", "blocked:country_mismatch"),
                     "BCR-INUSE": ("blocked:iban_in_use", "blocked:country_mismatch,iban_in_use")}
    assert report.approvals_no_longer_needed == ["BCR-COUNTRY"]

    def no_write(d):
        d["permissions"]["allowed_tools"].remove("vendor_master.change_bank_account")

    removed = run_canary("vendor_bank_change", _candidate(tmp_path, "vendor_bank_change", no_write), sample=20)
    assert {i for i, d in removed.candidate.items() if d == "denied"} == {
        i for i, d in removed.current.items() if d == "needs_approval"} and "denied" in removed.candidate.values()

    _unchanged(engine, ledger, erp_before, tables_before, head, canaries=2)


def test_cli_canary_for_the_other_workflows(tmp_path, capsys):
    from governed_agents.cli.main import main
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.vendor_master import seed_vendor_master

    _seed_expenses(erp_engine())
    seed_vendor_master(erp_engine())
    looser = _candidate(tmp_path, "expense_receipt_chase",
                        lambda d: d["permissions"]["autonomous_writes"][0]["approval_above"].update(value=1000))
    assert main(["eval", "canary", "expense_receipt_chase", "--envelope", str(looser), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["item_key"] == "txn_id" and data["approvals_no_longer_needed"] == ["TX-C"]
    assert main(["eval", "canary", "expense_receipt_chase", "--envelope", str(looser)]) == 0
    text = capsys.readouterr()
    assert "TX-C: needs_approval -> allow" in text.out and "now need approval: TX-C" in text.err

    same = _candidate(tmp_path, "vendor_bank_change", lambda d: None)
    assert main(["eval", "canary", "vendor_bank_change", "--envelope", str(same), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["flips"] == []
    # Stricter (a request now blocked instead of asked about): no approval is skipped, no warning.
    stricter = _candidate(tmp_path, "vendor_bank_change",
                          lambda d: d["parameters"]["extra"]["block_on_red_flags"].append("country_mismatch"))
    assert main(["eval", "canary", "vendor_bank_change", "--envelope", str(stricter)]) == 0
    text = capsys.readouterr()
    assert "BCR-COUNTRY: needs_approval -> blocked:country_mismatch" in text.out and "warning" not in text.err
    # A workflow with no canary input is bad usage (exit 2; argparse lists the choices).
    with pytest.raises(SystemExit) as exited:
        main(["eval", "canary", "monitor_audit_chain", "--envelope", str(same)])
    assert exited.value.code == 2 and "expense_receipt_chase" in capsys.readouterr().err


def test_expense_canary_counts_per_day_bounds_from_todays_reminders_not_from_zero(tmp_path):
    # The deployment already sent E-1 its two reminders of the day (the bound is 2 per employee
    # per UTC day): in the canary, E-1's next transactions need a person, under both envelopes,
    # and the reminders sent today are not sent again in the sandbox.
    from governed_agents.envelope import find_envelope
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.expenses import add_employee, add_transaction, expenses_toolset
    from governed_agents.evals import run_canary
    from governed_agents.executor import GovernedExecutor
    from governed_agents.ledger import Ledger
    from governed_agents.workflows import expense_receipt_chase as wf

    engine = erp_engine()
    ledger = Ledger.open()
    add_employee(engine, "E-1", "Ada Lang")
    add_employee(engine, "E-2", "Ben Okafor")
    old = (dt.date.today() - dt.timedelta(days=20)).isoformat()
    add_transaction(engine, "E-1", "20.00", txn_date=old, txn_id="TX-E")
    add_transaction(engine, "E-1", "25.00", txn_date=old, txn_id="TX-F")
    registry, previews = expenses_toolset(engine)
    sent = wf.chase(GovernedExecutor(ledger, registry, previews=previews), find_envelope("expense_receipt_chase"),
                    requested_by="ops", run_id="morning-run")
    assert sent.outcomes == {"TX-E": "sent", "TX-F": "sent"}  # E-1's two reminders of the day

    day = (dt.date.today() - dt.timedelta(days=5)).isoformat()
    add_transaction(engine, "E-1", "40.00", txn_date=day, txn_id="TX-A")
    add_transaction(engine, "E-1", "300.00", txn_date=day, txn_id="TX-B")
    add_transaction(engine, "E-2", "60.00", txn_date=day, txn_id="TX-C")
    head = ledger.head()[0]
    erp_before, tables_before = _erp_state(engine), ledger_snapshot(ledger)["tables"]

    def looser_amount(d):
        d["permissions"]["autonomous_writes"][0]["approval_above"]["value"] = 1000

    report = run_canary("expense_receipt_chase", _candidate(tmp_path, "expense_receipt_chase", looser_amount),
                        sample=3)
    assert report.items == ["TX-A", "TX-B", "TX-C"]
    # counted from zero, E-1 would get two more reminders without a person today
    assert report.current == {"TX-A": "needs_approval", "TX-B": "needs_approval", "TX-C": "allow"}
    assert report.candidate == report.current and report.flips == []
    _unchanged(engine, ledger, erp_before, tables_before, head, canaries=1)
