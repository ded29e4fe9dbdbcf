"""The spend report, cap status and the ``spend`` command, on spend made through the gateway."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal

import pytest
import yaml

from governed_agents.cli.main import main
from governed_agents.envelope import load_envelope_text
from governed_agents.executor import TaskContext
from governed_agents.ledger import Ledger
from governed_agents.routing import (
    ModelGateway,
    caps_exceeded,
    caps_status,
    record_task_outcome,
    set_spend_cap,
    spend_report,
    task_spend,
)

from tests.fixtures import REPO

CATALOG = REPO / "policies" / "models.yaml"


def envelope(**budgets):
    data = yaml.safe_load((REPO / "policies" / "invoice_reconcile.yaml").read_text())
    data["version"] = str(data["version"])
    data["budgets"].update(budgets)
    return load_envelope_text(yaml.safe_dump(data), "report-test.yaml")


class Clock:
    def __init__(self, at):
        self.at = at

    def __call__(self):
        return self.at


def _ask(gateway, task, text, tier="router"):
    return gateway.complete(task, tier, [{"role": "user", "content": text}])


@pytest.fixture
def spend(tmp_path):
    """Spend on the default (offline) catalog: three tasks, a cache hit, an old call."""
    ledger = Ledger.open()  # the home's SQLite ledger, which the CLI reads too
    clock = Clock(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone.utc))
    gateway = ModelGateway(ledger, CATALOG, clock=clock)
    env = envelope()
    done = TaskContext(envelope=env, requested_by="alice", tenant="acme")
    calls = [_ask(gateway, done, "classify: price higher than agreed"),
             _ask(gateway, done, "classify: price higher than agreed"),  # cache hit
             _ask(gateway, done, "draft a reminder for invoice INV-1", tier="reasoning")]
    record_task_outcome(ledger, done, "completed")
    failed = TaskContext(envelope=env, requested_by="bob", tenant="acme")
    calls.append(_ask(gateway, failed, "extract the PO from: order 4500123"))
    record_task_outcome(ledger, failed, "failed", detail="no match")
    other = TaskContext(envelope=env, requested_by="carol", tenant="globex")
    calls.append(_ask(gateway, other, "classify: duplicate invoice"))  # no outcome yet
    clock.at = dt.datetime(2026, 2, 1, 9, 0, tzinfo=dt.timezone.utc)
    old = TaskContext(envelope=env, requested_by="alice", tenant="acme")
    calls.append(_ask(gateway, old, "classify: quantity short"))
    return ledger, calls, (done, failed, other, old)


def test_report_totals_groups_and_cost_per_completed_task(spend):
    ledger, calls, (done, failed, other, old) = spend
    report = spend_report(ledger, since=dt.date(2026, 3, 1))
    totals = report["totals"]
    recent = calls[:5]
    total = sum((c.cost_usd for c in recent), Decimal(0))
    assert Decimal(totals["cost_usd"]) == total
    assert (totals["calls"], totals["cache_hits"], totals["model_calls"], totals["tasks"],
            totals["completed_tasks"]) == (5, 1, 4, 3, 1)
    # all spend (failed and unfinished tasks included) over the one completed task
    assert Decimal(totals["cost_per_completed_task_usd"]) == total
    by_user = {row["user"]: row for row in report["by_user"]}
    assert set(by_user) == {"alice", "bob", "carol"}
    assert Decimal(by_user["alice"]["cost_usd"]) == calls[0].cost_usd + calls[2].cost_usd
    assert by_user["alice"]["cache_hits"] == 1
    assert {row["tenant"] for row in report["by_tenant"]} == {"acme", "globex"}
    models = {row["alias"]: row for row in report["by_model"]}
    assert set(models) == {"small-fast", "frontier"}
    assert models["frontier"]["label"] == "offline stand-in" and models["frontier"]["offline_model"]
    assert report["offline_model_used"] and "no provider charged them" in report["offline_note"]
    assert task_spend(ledger, done.task_id) == {
        "task_id": done.task_id, "cost_usd": format((calls[0].cost_usd + calls[2].cost_usd).normalize(), "f"),
        "tokens": calls[0].tokens + calls[2].tokens, "model_calls": 2, "cache_hits": 1, "failed_calls": 0,
        "open_reservations": 0, "models": ["offline/frontier", "offline/small-fast"], "offline_model": True,
        "downgrades": [],
    }


def test_report_windows_and_workflow_filter(spend):
    ledger, calls, _ = spend
    everything = spend_report(ledger)["totals"]
    assert everything["calls"] == 6
    february = spend_report(ledger, since="2026-02-01", until="2026-02-28")["totals"]
    assert (february["calls"], Decimal(february["cost_usd"])) == (1, calls[5].cost_usd)
    assert spend_report(ledger, workflow="vendor_onboarding")["totals"]["calls"] == 0


def test_caps_status_and_caps_exceeded(spend):
    ledger, calls, _ = spend
    now = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.timezone.utc)
    env = envelope(workflow_daily_usd=1, user_daily_usd=0.5)
    statuses = {(s.budget, s.name): s for s in caps_status(ledger, env, now=now)}
    assert set(statuses) == {("workflow_daily", "invoice_reconcile"), ("user_daily", "alice"),
                             ("user_daily", "bob"), ("user_daily", "carol")}
    day = statuses[("workflow_daily", "invoice_reconcile")]
    assert day.spent_usd == sum((c.cost_usd for c in calls[:5]), Decimal(0)) and not day.exhausted
    assert caps_exceeded(ledger, env, now=now) == []
    # An admin lowers alice's daily cap below what she has already spent: the check must say so.
    set_spend_cap(ledger, scope="user", name="alice", period="day", usd="0.00001", set_by="erin")
    (exceeded,) = caps_exceeded(ledger, env, now=now)
    assert (exceeded.budget, exceeded.name, exceeded.exceeded) == ("user_daily", "alice", True)
    assert exceeded.to_dict()["source"] == "admin cap set by erin"


def test_spend_report_command(spend, capsys):
    assert main(["spend", "report", "--json", "--since", "2026-03-01"]) == 0
    report = json.loads(capsys.readouterr().out)["report"]
    assert report["totals"]["calls"] == 5 and report["offline_model_used"]
    assert main(["spend", "report"]) == 0
    shown = capsys.readouterr().out
    assert "By workflow:" in shown and "offline stand-in" in shown and "cost per completed task" in shown


def test_spend_caps_command_exit_codes(capsys):
    ledger = Ledger.open()
    _ask(ModelGateway(ledger, CATALOG), TaskContext(envelope=envelope(), requested_by="alice"), "classify: vat")
    assert main(["spend", "caps", "invoice_reconcile"]) == 0
    assert "no workflow, user or tenant spend caps apply" in capsys.readouterr().out
    set_spend_cap(ledger, scope="workflow", name="invoice_reconcile", period="month", usd="1", set_by="erin")
    assert main(["spend", "caps", "invoice_reconcile"]) == 0
    assert "workflow_monthly" in capsys.readouterr().out
    set_spend_cap(ledger, scope="workflow", name="invoice_reconcile", period="month", usd="0.00001", set_by="erin")
    assert main(["spend", "caps", "invoice_reconcile", "--json"]) == 1  # exceeded: a failed check
    caps = json.loads(capsys.readouterr().out)["caps"]
    assert caps[0]["budget"] == "workflow_monthly" and caps[0]["exceeded"]


def test_spend_command_usage(capsys):
    for argv in (["spend", "--help"], ["spend", "report", "--help"], ["spend", "caps", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0
    with pytest.raises(SystemExit) as info:
        main(["spend", "report", "--since", "March"])
    assert info.value.code == 2
    assert main(["spend"]) == 2


def test_reports_and_the_package_never_import_litellm():
    code = (
        "import sys\n"
        "from governed_agents.ledger import Ledger\n"
        "from governed_agents.routing import ModelGateway, spend_report, caps_status, load_catalog\n"
        "import governed_agents.routing.gateway, governed_agents.routing.loop\n"
        "ledger = Ledger.open()\n"
        "spend_report(ledger); load_catalog()\n"
        "ModelGateway(ledger)\n"
        "print('litellm' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"
