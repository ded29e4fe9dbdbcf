"""Continuous monitors: what each finds, that a monitor cannot write, and that a monitor
that cannot look says so (red) instead of reporting a clean bill.

Run in-process here (both ledger backends for the monitor logic); the schedules run
by the real dagster-daemon are in ``test_monitors_daemon.py``. The seeding helpers
below are shared with it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import dagster as dg
import pytest
from sqlalchemy import func, insert, select

from governed_agents.envelope import find_envelope, load_envelope_text
from governed_agents.erp.connector import erp_engine
from governed_agents.erp.schema import invoice_lines, journal_entries, vendors
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import approval_requests, spend_reservations, task_outcomes
from governed_agents.monitors import MONITORS, checks, envelope_name
from governed_agents.monitors.runner import MonitorRefused, run_monitor
from governed_agents.monitors.tools import monitor_toolset
from governed_agents.timeutil import utcnow

from tests.fixtures import REPO

NOW = utcnow()


# -- seeding (shared with the daemon test) ----------------------------------------------------


def seed_erp(engine, *, bad: bool) -> None:
    """Posted entries; with ``bad``, one exact and one near duplicate payment."""
    with engine.begin() as c:
        c.execute(insert(vendors), [
            {"vendor_id": "V001", "name": "Nordlicht", "tax_id": "DE1", "iban": None, "currency": "EUR",
             "status": "active"},
            {"vendor_id": "V002", "name": "Sudwind", "tax_id": "DE2", "iban": None, "currency": "EUR",
             "status": "active"}])

        def je(invoice_id, vendor, amount):
            return {"entry_id": str(uuid.uuid4()), "idempotency_key": f"k:{vendor}:{invoice_id}",
                    "invoice_id": invoice_id, "vendor_id": vendor, "currency": "EUR", "amount": Decimal(amount),
                    "debit_account": "2110", "credit_account": "2000", "memo": "", "posted_at": NOW}

        rows = [je("A1", "V001", "500.00"), je("B1", "V002", "99.90"), je("C1", "V001", "501.00")]
        lines = [("A1", "7781"), ("C1", "7790")]
        if bad:
            rows += [je("A2", "V001", "500.00"),  # another invoice id, the same invoice number 7781: exact
                     je("B2", "V002", "99.90")]  # number INV-0042 vs inv 42: near
            lines += [("A2", "7781"), ("B1", "INV-0042"), ("B2", "inv 42")]
        c.execute(insert(journal_entries), rows)
        c.execute(insert(invoice_lines), [
            {"import_batch": "b", "source_row": i + 2, "invoice_id": invoice_id, "invoice_number": number}
            for i, (invoice_id, number) in enumerate(lines)])


def seed_ledger(ledger, *, bad: bool) -> None:
    """Spend with a baseline, a pending approval, and (with ``bad``) drift, an overdue
    request and a tampered audit event."""
    ledger.append("seed.event", {"n": 1}, actor="test")
    ledger.append("seed.event", {"n": 2}, actor="test")
    spend, outcomes = [], []

    def task(at, usd):
        task_id = uuid.uuid4().hex
        spend.append({"id": str(uuid.uuid4()), "task_id": task_id, "workflow": "invoice_reconcile",
                      "estimated_usd": Decimal(usd), "actual_usd": Decimal(usd), "estimated_tokens": 10,
                      "actual_tokens": 10, "status": "settled", "created_at": at, "settled_at": at})
        outcomes.append({"task_id": task_id, "workflow": "invoice_reconcile", "outcome": "completed",
                         "finished_at": at})

    for i in range(5):
        task(NOW - dt.timedelta(days=3, minutes=i), "0.0100")
        task(NOW - dt.timedelta(hours=1, minutes=i), "0.0500" if bad else "0.0110")
    created = NOW - dt.timedelta(hours=48 if bad else 1)
    with ledger.transaction() as c:
        c.execute(insert(spend_reservations), spend)
        c.execute(insert(task_outcomes), outcomes)
        c.execute(insert(approval_requests), [{
            "id": str(uuid.uuid4()), "workflow": "invoice_reconcile", "action": "erp.create_journal_entry",
            "arguments": "{}", "preview": "{}", "preview_digest": "sha256:x", "requested_by": "alice",
            "required_roles": '["FinanceAdmin"]', "min_approvals": 1, "status": "pending",
            "created_at": created, "expires_at": NOW + dt.timedelta(days=7), "envelope_version": "v",
            "envelope_digest": "sha256:y"}])
    if bad:
        tamper(ledger, seq=1)


def tamper(ledger, *, seq: int) -> None:
    """Edit one stored event as a database superuser would (append-only triggers off)."""
    from governed_agents.ledger.schema import audit_events

    with ledger.engine.begin() as conn:
        if ledger.dialect == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
        else:
            for name in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'"
            ).scalars().all():
                conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        conn.execute(audit_events.update().where(audit_events.c.seq == seq).values(payload='{"n":99}'))
        if ledger.dialect == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_events ENABLE TRIGGER USER")


def erp_counts(engine) -> dict:
    with engine.connect() as c:
        return {t.name: c.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (vendors, journal_entries, invoice_lines)}


@pytest.fixture
def ledger(db_url):
    return Ledger.open(db_url)


@pytest.fixture
def erp(tmp_path):
    return erp_engine(f"sqlite:///{tmp_path / 'erp.sqlite3'}")


# -- the detection logic ----------------------------------------------------------------------


def test_duplicate_payments_exact_near_and_distinct():
    rows = [
        {"entry_id": "e1", "vendor_id": "V1", "invoice_id": "a", "invoice_number": "INV-0007", "currency": "EUR",
         "amount": Decimal("10.00")},
        {"entry_id": "e2", "vendor_id": "V1", "invoice_id": "b", "invoice_number": "inv 7", "currency": "EUR",
         "amount": Decimal("10.00")},
        {"entry_id": "e3", "vendor_id": "V1", "invoice_id": "c", "invoice_number": "INV-70", "currency": "EUR",
         "amount": Decimal("10.00")},  # another number
        {"entry_id": "e4", "vendor_id": "V2", "invoice_id": "d", "invoice_number": "X1", "currency": "EUR",
         "amount": Decimal("5")},
        {"entry_id": "e5", "vendor_id": "V2", "invoice_id": "e", "invoice_number": "X1", "currency": "EUR",
         "amount": Decimal("5.00")},
        {"entry_id": "e6", "vendor_id": "V2", "invoice_id": "f", "invoice_number": "X1", "currency": "EUR",
         "amount": Decimal("5.01")},  # another amount
    ]
    found = checks.duplicate_payments(rows)
    assert [(f["kind"], f["entry_ids"], f["paid_twice"]) for f in found] == [
        ("near", ["e1", "e2"], "10.00"), ("exact", ["e4", "e5"], "5")]
    assert checks.normalise_invoice_number("inv-000-7") == "INV7"


def test_spend_drift_needs_enough_tasks_and_a_rise():
    base = {"cost_usd": "0.10", "completed_tasks": 10}
    assert checks.spend_drift("w", base, {"cost_usd": "0.30", "completed_tasks": 10}, max_drift_pct=50,
                              min_tasks=5)["drift_pct"] == "200.0"
    assert checks.spend_drift("w", base, {"cost_usd": "0.15", "completed_tasks": 10}, max_drift_pct=50,
                              min_tasks=5) is None  # +50% is not above 50
    assert checks.spend_drift("w", base, {"cost_usd": "0.01", "completed_tasks": 10}, max_drift_pct=50,
                              min_tasks=5) is None  # cheaper
    assert checks.spend_drift("w", base, {"cost_usd": "9", "completed_tasks": 2}, max_drift_pct=50,
                              min_tasks=5) is None  # too few tasks to judge


def test_overdue_approvals():
    pending = [{"id": "r1", "workflow": "w", "action": "a", "created_at": NOW - dt.timedelta(hours=25)},
               {"id": "r2", "workflow": "w", "action": "a", "created_at": NOW - dt.timedelta(hours=23)}]
    assert [r["request_id"] for r in checks.overdue_approvals(pending, sla_hours=24, now=NOW)] == ["r1"]


# -- each monitor on seeded data ----------------------------------------------------------------


def test_each_monitor_finds_seeded_problems_and_writes_nothing_to_the_erp(ledger, erp):
    seed_erp(erp, bad=True)
    seed_ledger(ledger, bad=True)
    before = erp_counts(erp)
    results = {name: run_monitor(name, ledger=ledger, erp_engine=erp, now=NOW) for name in MONITORS}

    dup = results["duplicate_payments"]
    assert not dup.ok and [(f["kind"], f["invoice_ids"]) for f in dup.findings] == [
        ("exact", ["A1", "A2"]), ("near", ["B1", "B2"])]
    assert dup.subject_workflows == ["invoice_reconcile"]
    spend = results["spend_anomaly"]
    assert not spend.ok and spend.findings[0]["drift_pct"] == "400.0"
    assert spend.findings[0]["baseline_tasks"] == 5 and spend.subject_workflows == ["invoice_reconcile"]
    backlog = results["approval_backlog"]
    assert not backlog.ok and backlog.findings[0]["age_hours"] == 48.0 and backlog.subject_workflows == []
    chain = results["audit_chain"]
    assert not chain.ok and chain.findings[0]["first_bad_seq"] == 1

    assert erp_counts(erp) == before  # a monitor never writes to a system of record
    events = ledger.events(kind="monitor.finding")
    assert sorted(e.payload["monitor"] for e in events) == sorted(MONITORS)
    assert all(e.workflow == envelope_name(e.payload["monitor"]) for e in events)
    assert not ledger.events(kind="monitor.passed")


def test_each_monitor_is_green_on_clean_data(ledger, erp):
    seed_erp(erp, bad=False)
    seed_ledger(ledger, bad=False)
    for name in MONITORS:
        result = run_monitor(name, ledger=ledger, erp_engine=erp, now=NOW)
        assert result.ok and result.findings == [], (name, result.findings)
    assert sorted(e.payload["monitor"] for e in ledger.events(kind="monitor.passed")) == sorted(MONITORS)
    assert not ledger.events(kind="monitor.finding")
    # every read went through the gate under the monitor's own envelope
    decisions = ledger.events(kind="tool.decision")
    assert {e.workflow for e in decisions} == {envelope_name(n) for n in MONITORS}
    assert all(e.payload["decision"]["side_effect"] == "read" for e in decisions)


# -- a monitor cannot write ----------------------------------------------------------------------


def test_monitor_envelopes_allow_read_tools_only(ledger, erp):
    from governed_agents.workflows import TOOLSETS

    registry = monitor_toolset(ledger, erp)
    assert all(envelope_name(n) in TOOLSETS for n in MONITORS)  # a workflow like any other
    assert all(not registry.spec(n).is_write for n in registry.names())
    for name in MONITORS:
        env = find_envelope(envelope_name(name))
        assert env.envelope.pattern == "continuous"
        assert all(registry.spec(t) is not None and not registry.spec(t).is_write
                   for t in env.envelope.permissions.allowed_tools), name
        assert env.envelope.budgets.max_tool_calls <= 3


def test_a_monitors_executor_refuses_a_write(ledger, erp):
    """Even with the ERP's write tool registered beside the monitor's reads, the gate refuses it."""
    from governed_agents.erp.tools import erp_toolset
    from governed_agents.executor import GovernedExecutor, TaskContext

    seed_erp(erp, bad=False)
    before = erp_counts(erp)
    registry = monitor_toolset(ledger, erp)
    erp_registry, _ = erp_toolset(erp)
    write = "erp.create_journal_entry"
    registry._add(erp_registry.spec(write), erp_registry._implementation(write))
    envelope = find_envelope("monitor_duplicate_payments")
    executor = GovernedExecutor(ledger, registry)
    task = TaskContext(envelope=envelope, requested_by="monitor", agent="monitor.duplicate_payments")
    result = executor.call(task, write, {"invoice_id": "Z9", "vendor_id": "V001", "currency": "EUR",
                                         "amount": "1.00", "memo": ""})
    assert result.outcome == "denied" and result.decision.codes == ("tool_not_allowed",)
    assert result.receipt.receipt.kind == "write_refused"
    assert erp_counts(erp) == before


def test_a_monitor_envelope_that_lists_a_write_does_not_run(ledger, erp):
    text = (REPO / "policies" / "monitor_duplicate_payments.yaml").read_text().replace(
        '    - "erp.list_posted_entries"', '    - "erp.list_posted_entries"\n    - "erp.create_journal_entry"')
    envelope = load_envelope_text(text, "monitor_duplicate_payments.yaml")
    head = ledger.head()[0]
    with pytest.raises(MonitorRefused, match="erp.create_journal_entry is not a monitor tool"):
        run_monitor("duplicate_payments", ledger=ledger, erp_engine=erp, envelope=envelope)
    assert ledger.head()[0] == head  # nothing recorded, nothing read


def test_monitor_budget_is_its_own(ledger, erp):
    """The spend monitor needs two reads per run; with max_tool_calls 1 the gate refuses the second."""
    text = (REPO / "policies" / "monitor_spend_anomaly.yaml").read_text().replace(
        "max_tool_calls: 3", "max_tool_calls: 1")
    envelope = load_envelope_text(text, "monitor_spend_anomaly.yaml")
    with pytest.raises(MonitorRefused, match="tool call budget exhausted"):
        run_monitor("spend_anomaly", ledger=ledger, erp_engine=erp, envelope=envelope)
    assert not ledger.events(kind="monitor.passed") and not ledger.events(kind="monitor.finding")


# -- as Dagster assets: checks, and an unreachable ledger ---------------------------------------


def _materialize(name, resource):
    from assets.monitors import monitor_assets

    return dg.materialize([monitor_assets[name]], resources={"governance": resource}, raise_on_error=False)


def _check(result):
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 1
    return evaluations[0]


def test_asset_check_red_on_findings_green_when_clean(tmp_path, pg_url):
    from governed_agents.dagster.resources import GovernanceResource

    bad_erp, clean_erp = tmp_path / "bad.sqlite3", tmp_path / "clean.sqlite3"
    seed_erp(erp_engine(f"sqlite:///{bad_erp}"), bad=True)
    seed_erp(erp_engine(f"sqlite:///{clean_erp}"), bad=False)
    red = _check(_materialize("duplicate_payments", GovernanceResource(ledger_url=pg_url,
                                                                        erp_url=f"sqlite:///{bad_erp}")))
    green = _check(_materialize("duplicate_payments", GovernanceResource(ledger_url=pg_url,
                                                                          erp_url=f"sqlite:///{clean_erp}")))
    assert (red.passed, red.description) == (False, "2 duplicate payment(s)")
    assert (green.passed, green.description) == (True, "0 duplicate payment(s)")


def test_unreachable_ledger_is_reported_red_not_silently_green(tmp_path):
    from governed_agents.dagster.resources import GovernanceResource

    resource = GovernanceResource(ledger_url="postgresql+psycopg2://postgres@127.0.0.1:1/nowhere",
                                  erp_url=f"sqlite:///{tmp_path / 'erp.sqlite3'}")
    for name in MONITORS:
        result = _materialize(name, resource)
        check = _check(result)
        assert check.passed is False and check.description.startswith("monitor could not run: LedgerError"), \
            (name, check.description)
        assert check.severity == dg.AssetCheckSeverity.ERROR


# -- housekeeping ------------------------------------------------------------------------------------


def test_housekeeping_sweeps_stale_reservations_and_overdue_requests(ledger):
    from governed_agents.monitors import run_housekeeping

    old = NOW - dt.timedelta(hours=3)
    with ledger.transaction() as c:
        c.execute(insert(spend_reservations), [{
            "id": "stale-1", "task_id": "t", "workflow": "invoice_reconcile", "estimated_usd": Decimal("0.02"),
            "estimated_tokens": 5, "status": "reserved", "created_at": old}])
        c.execute(insert(approval_requests), [{
            "id": "late-1", "workflow": "invoice_reconcile", "action": "erp.create_journal_entry",
            "arguments": "{}", "preview": "{}", "preview_digest": "sha256:x", "requested_by": "alice",
            "required_roles": "[]", "min_approvals": 1, "status": "pending", "created_at": old,
            "expires_at": NOW - dt.timedelta(hours=1), "envelope_version": "v", "envelope_digest": "sha256:y"}])
    done = run_housekeeping(ledger, now=NOW)
    assert (done["expired_reservations"], done["expired_approval_requests"]) == (1, 1)
    with ledger.engine.connect() as c:
        assert c.execute(select(spend_reservations.c.status)).scalar_one() == "expired"
        assert c.execute(select(approval_requests.c.status)).scalar_one() == "expired"
    again = run_housekeeping(ledger, now=NOW)
    assert (again["expired_reservations"], again["expired_approval_requests"]) == (0, 0)


def test_a_finding_demotes_the_autonomy_of_the_workflow_it_names(ledger, erp, tmp_path, monkeypatch):
    import yaml

    from governed_agents import autonomy

    policies = tmp_path / "policies"
    policies.mkdir()
    for f in (REPO / "policies").glob("*.yaml"):
        (policies / f.name).write_text(f.read_text())
    data = yaml.safe_load((REPO / "policies" / "invoice_reconcile.yaml").read_text())
    data["version"] = str(data["version"])
    data["autonomy"] = {"initial_level": "bounded", "max_level": "bounded"}
    (policies / "invoice_reconcile.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.setenv("GOVERNED_AGENTS_POLICY_DIR", str(policies))
    seed_erp(erp, bad=True)
    run_monitor("duplicate_payments", ledger=ledger, erp_engine=erp, now=NOW)
    demoted = ledger.events(kind="autonomy.demoted")
    assert len(demoted) == 1 and (demoted[0].payload["from"], demoted[0].payload["to"]) == ("bounded", "approve")
    assert autonomy.effective_level(ledger, find_envelope("invoice_reconcile")) == "approve"


def test_cli_run_and_list(ledger, erp, monkeypatch):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    cli = str(Path(sys.executable).parent / "governed-agents")
    seed_erp(erp, bad=True)
    monkeypatch.setenv("GOVERNED_AGENTS_DB_URL", ledger.url)
    monkeypatch.setenv("GOVERNED_AGENTS_ERP_URL", str(erp.url))
    env = {**os.environ}

    def cli_run(*args):
        return subprocess.run([cli, "monitors", *args], capture_output=True, text=True, env=env, timeout=120)

    red = cli_run("run", "duplicate_payments", "--json")
    assert red.returncode == 1, red.stderr
    body = json.loads(red.stdout)
    assert body["ok"] is False and body["results"][0]["summary"] == "2 duplicate payment(s)"
    green = cli_run("run", "approval_backlog")
    assert green.returncode == 0 and "approval_backlog     green 0 approval request(s)" in green.stdout
    listed = cli_run("list")
    assert "duplicate_payments   7 * * * *" in listed.stdout and "RED: 2 duplicate payment(s)" in listed.stdout
    assert "spend_anomaly" in listed.stdout and "never run" in listed.stdout
    assert cli_run("run", "nonsense").returncode == 2


def test_invoices_loaded_twice_are_found_before_anything_is_paid(ledger, erp):
    seed_erp(erp, bad=False)

    def line(invoice_id, tax_id, number, total, row):
        return {"import_batch": "b2", "source_row": row, "invoice_id": invoice_id, "vendor_tax_id": tax_id,
                "invoice_number": number, "currency": "EUR", "line_total": total}

    with erp.begin() as c:
        c.execute(insert(invoice_lines), [
            line("I1", "DE1", "R-100", "60.00", 2), line("I1", "DE1", "R-100", "40.00", 3),
            line("I2", "DE1", "r 100", "100.00", 4),  # the same invoice again, number typed differently
            line("I3", "DE1", "R-200", "100.00", 5),  # another invoice of the same amount
            line("I4", "DE1", "R-100", "abc", 6),  # an unreadable total: cannot be compared
            line("I5", "DE2", "R-100", "100.00", 7),  # another vendor
        ])
    result = run_monitor("duplicate_payments", ledger=ledger, erp_engine=erp, now=NOW)
    assert [(f["kind"], f["invoice_ids"], f["amount"]) for f in result.findings] == [
        ("invoice_near", ["I1", "I2"], "100.00")]
    assert result.checked == {"entries": 3, "invoices": 7}


def test_duplicate_invoices_exact():
    rows = [{"invoice_id": "a", "vendor_tax_id": "T", "invoice_number": "9", "currency": "EUR", "total": "5"},
            {"invoice_id": "b", "vendor_tax_id": "T", "invoice_number": "9", "currency": "EUR", "total": "5.0"},
            {"invoice_id": "c", "vendor_tax_id": None, "invoice_number": "9", "currency": "EUR", "total": "5"}]
    assert [(f["kind"], f["invoice_ids"]) for f in checks.duplicate_invoices(rows)] == [("invoice_exact", ["a", "b"])]
