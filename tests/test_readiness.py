"""Autonomy readiness: exact scores and evidence from seeded ledgers, the scoring rules
on fixed tool metadata, the CLI and the admin panel page."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from starlette.testclient import TestClient

from governed_agents.cli.main import main
from governed_agents.envelope import find_envelope
from governed_agents.ledger import Ledger
from governed_agents.readiness import (
    assess,
    score_data_sensitivity,
    score_reversibility,
    stance,
)
from governed_agents.workflows import TOOLSETS

WORKFLOWS = [w for w in ("invoice_reconcile", "vendor_bank_change", "expense_receipt_chase") if w in TOOLSETS]
# Seeded history per workflow: (tasks, runs, writes executed, approvals, rejections, checks failing)
SEEDS = {"invoice_reconcile": (12, 3, 4, 2, 1, 1), "vendor_bank_change": (55, 5, 9, 6, 0, 0),
         "expense_receipt_chase": (0, 0, 0, 0, 0, 0)}


def _seed(ledger, workflow, tasks, runs, writes, approvals, rejections, failing):
    env = find_envelope(workflow)
    ctx = dict(workflow=workflow, envelope_version=env.version, envelope_digest=env.digest)
    run_ids = [f"{workflow}-run-{i}" for i in range(runs)]
    for i in range(tasks):
        ledger.append("tool.decision", {"tool": "t", "decision": {"outcome": "allow", "reasons": []}},
                      trace_id=f"{i:032x}", run_id=run_ids[i % runs] if runs else None, **ctx)
    for i in range(writes):
        ledger.append("tool.executed", {"tool": "t", "idempotency_key": f"k{i}"}, trace_id=f"{i:032x}", **ctx)
    ledger.append("tool.executed", {"tool": "read", "output_digest": "x"}, **ctx)  # a read is no write
    for i, run in enumerate(run_ids):
        checks = [{"name": f"{workflow}:quality", "passed": True},
                  {"name": f"{workflow}:conformance", "passed": not (i < failing)}]
        ledger.append("run.receipted", {"summary": {}, "checks": checks, "notes": None}, run_id=run, **ctx)
    for _ in range(approvals):
        ledger.append("approval.approved", {"decision": "approve"}, actor="bob", **ctx)
    for _ in range(rejections):
        ledger.append("approval.rejected", {"decision": "reject"}, actor="bob", **ctx)
    # Another workflow's history does not count.
    ledger.append("tool.decision", {"tool": "t"}, trace_id="f" * 32, workflow="someone_else")


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_scores_and_evidence_from_a_seeded_ledger(workflow):
    ledger = Ledger.open()
    tasks, runs, writes, approvals, rejections, failing = SEEDS[workflow]
    _seed(ledger, workflow, *SEEDS[workflow])
    a = assess(ledger, workflow)

    freq = a.dimension("frequency")
    assert freq.evidence == {"tasks": tasks, "runs": runs, "active_days": 1, "writes_executed": writes}
    assert freq.score == {12: 60, 55: 100, 0: 0}[tasks]

    obs = a.dimension("observability")
    expected_corrections = {k: v for k, v in {"approval.approved": approvals, "approval.rejected": rejections,
                                              "failed_checks": failing}.items() if v}
    assert obs.evidence["corrections"] == expected_corrections
    assert obs.evidence["checks"] == ([f"{workflow}:conformance", f"{workflow}:quality"] if runs else [])
    assert obs.evidence["success_criteria"] is True  # every workflow here ships an eval suite
    assert obs.score == round(100 * (1 + bool(runs) + bool(expected_corrections)) / 3)

    # Tool-derived dimensions agree with what the registry declares for the allowed tools.
    env = find_envelope(workflow)
    registry = TOOLSETS[workflow]()[0]
    specs = [registry.spec(t) for t in env.envelope.permissions.allowed_tools]
    writes_declared = [s for s in specs if s.side_effect == "write"]
    undoable = [s.name for s in writes_declared if s.reversible and s.compensate is not None]
    rev = a.dimension("reversibility")
    assert rev.evidence["write_tools"] == [s.name for s in writes_declared]
    assert rev.evidence["undoable"] == undoable
    assert rev.score == (round(100 * len(undoable) / len(writes_declared)) if writes_declared else 100)
    sens = a.dimension("data_sensitivity")
    assert sens.evidence["data_classes"] == sorted({c for s in specs for c in s.data_classes})
    assert sens.evidence["redaction_on"] is env.envelope.logging.redact_pii is True

    clarity = a.dimension("policy_clarity")
    assert clarity.evidence["per_task_budgets"] and clarity.evidence["writes_gated"]
    assert clarity.evidence["allowlist_registered"]
    cap = env.envelope.budgets.workflow_daily_usd or env.envelope.budgets.workflow_monthly_usd
    assert clarity.score == (100 if cap is not None else 80)

    # The stance follows the documented rules.
    if tasks == 0:
        assert a.stance == "assist" and "no run history" in a.why
    elif all(d.score >= 70 for d in a.dimensions) and not a.red_flags:
        assert a.stance == "bounded autonomy"
    else:
        assert a.stance == "approval-only"

    # Outside the window nothing counts.
    later = assess(ledger, workflow, now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=31))
    assert later.dimension("frequency").evidence["tasks"] == 0 and later.stance == "assist"


def test_invoice_reconcile_exact_assessment():
    """The reference workflow's whole assessment from its seeded ledger."""
    ledger = Ledger.open()
    _seed(ledger, "invoice_reconcile", *SEEDS["invoice_reconcile"])
    a = assess(ledger, "invoice_reconcile")
    assert a.dimension("frequency").score == 60
    assert a.dimension("observability").score == 100
    assert a.dimension("reversibility").evidence["undoable"] == ["erp.create_journal_entry"]
    assert a.dimension("reversibility").score == 100
    assert a.dimension("policy_clarity").score == 80  # no workflow spend cap in the envelope
    assert "policy_clarity: no workflow spend cap (workflow_daily_usd / workflow_monthly_usd)" in a.red_flags
    assert a.stance == "approval-only"


def test_scoring_rules_on_fixed_tool_metadata():
    write = dict(side_effect="write", reversible=True, undo_path=True, data_classes=["financial"])
    tools = [{"name": "a", **write}, {"name": "b", **write, "undo_path": False},
             dict(name="c", side_effect="read", reversible=True, undo_path=False, data_classes=["pii"])]
    rev = score_reversibility(tools)
    assert (rev.score, rev.evidence["irreversible"]) == (50, ["b"])
    assert rev.red_flags == ["b cannot be undone (declared reversible but no undo path)"]
    assert score_reversibility([tools[2]]).score == 100  # read-only
    assert score_data_sensitivity(tools, True).score == 40
    assert score_data_sensitivity(tools, False).score == 0
    assert score_data_sensitivity([tools[0]], True).score == 70
    undeclared = score_data_sensitivity([{**tools[0], "data_classes": []}], True)
    assert undeclared.score == 50 and undeclared.red_flags == ["tools declare no data classes: a"]
    assert score_data_sensitivity([], True).score == 100


def test_stance_needs_gated_or_undoable_writes(tmp_path, monkeypatch):
    import yaml

    from governed_agents.envelope import load_envelope
    from governed_agents.readiness import Dimension

    data = yaml.safe_load(open(find_envelope("invoice_reconcile").source).read())
    data["version"] = str(data["version"])
    data["permissions"]["write_actions_require_approval"] = False
    data["permissions"]["approval_roles"] = []
    path = tmp_path / "open.yaml"
    path.write_text(yaml.safe_dump(data))
    env = load_envelope(path)
    dims = [Dimension("frequency", 100, {}), Dimension("reversibility", 0, {"irreversible": ["x"]}, ["x"]),
            Dimension("observability", 100, {}), Dimension("policy_clarity", 100, {}),
            Dimension("data_sensitivity", 100, {})]
    assert stance(dims, env, [])[0] == "assist"
    dims[1] = Dimension("reversibility", 100, {"irreversible": []})
    assert stance(dims, env, []) == ("bounded autonomy", "every dimension scores 70 or more with no red flag")


def test_assess_cli(capsys):
    ledger = Ledger.open()
    _seed(ledger, "invoice_reconcile", *SEEDS["invoice_reconcile"])
    assert main(["assess", "invoice_reconcile"]) == 0
    text = capsys.readouterr().out
    assert "suggested stance: approval-only" in text and "frequency          60/100" in text
    assert "RED FLAG: no workflow spend cap" in text
    assert main(["assess", "invoice_reconcile", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["assessment"]
    assert data["scores"]["frequency"] == 60 and data["stance"] == "approval-only"
    assert main(["assess", "no_such_workflow"]) == 1
    assert "no envelope for workflow 'no_such_workflow'" in capsys.readouterr().err
    assert main(["assess", "invoice_reconcile", "--days", "0"]) == 2


def test_admin_readiness_page_shows_the_same():
    from governed_agents.admin.app import create_app

    ledger = Ledger.open()
    _seed(ledger, "invoice_reconcile", *SEEDS["invoice_reconcile"])
    client = TestClient(create_app(), base_url="http://127.0.0.1")
    assert client.get("/readiness", follow_redirects=False).status_code == 303  # signed in only
    page = client.get("/signin")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/signin", data={"csrf_token": csrf, "principal": "bob", "password": "bob-demo"},
                    follow_redirects=False)
    assert r.status_code == 303
    html = client.get("/readiness").text
    section = html[html.index('id="readiness-invoice_reconcile"'):]
    section = section[:section.index("</section>")]
    expected = assess(ledger, "invoice_reconcile")
    assert f'<strong class="stance">{expected.stance}</strong>' in section
    for d in expected.dimensions:
        assert f'<td>{d.name}</td><td class="score">{d.score}</td>' in section
    for w in WORKFLOWS:
        assert f'id="readiness-{w}"' in html
