"""Earned execution rights: the level the gate honours, promotion on evidence only,
demotion on incidents, and the CLI that shows the evidence.

Runs on both ledger backends; the ERP is SQLite (it is not under test here).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, insert, select

from governed_agents import autonomy
from governed_agents.approvals import decide as approve_request
from governed_agents.envelope import load_envelope_text
from governed_agents.erp.connector import erp_engine
from governed_agents.erp.schema import journal_entries, vendors
from governed_agents.erp.tools import erp_toolset
from governed_agents.errors import GovernanceError, TokenError
from governed_agents.executor import GovernedExecutor, TaskContext
from governed_agents.gate import GateState, ToolCallRequest, decide
from governed_agents.gate.decision import ApprovalEvidence
from governed_agents.identity.tokens import issue_token
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import autonomy_levels, idempotency_keys
from governed_agents.timeutil import utcnow

from tests.fixtures import REPO, envelope_text

CLI = str(Path(sys.executable).parent / "governed-agents")
WF = "invoice_reconcile"


def entry(n: int) -> dict:
    return {"invoice_id": f"INV-{n}", "vendor_id": "V001", "currency": "EUR", "amount": "100.00", "memo": ""}


def managed_text(*, initial="approve", max_level="bounded", min_runs=2, rate=0.5, eval_pass=False,
                 requires_approval=False) -> str:
    """The reference envelope with an autonomy section; writes need no approval by the envelope's own rules."""
    data = yaml.safe_load(envelope_text())
    data["permissions"]["write_actions_require_approval"] = requires_approval
    data["autonomy"] = {"initial_level": initial, "max_level": max_level,
                        "promotion": {"min_approved_runs": min_runs, "max_correction_rate": rate,
                                      "require_eval_pass": eval_pass}}
    return yaml.safe_dump(data, sort_keys=False)


def managed(**kw):
    return load_envelope_text(managed_text(**kw), "managed.yaml")


@pytest.fixture
def erp(tmp_path):
    engine = erp_engine(f"sqlite:///{tmp_path / 'erp.sqlite3'}")
    with engine.begin() as c:
        c.execute(insert(vendors), [{"vendor_id": "V001", "name": "Nordlicht", "tax_id": "DE1",
                                     "iban": None, "currency": "EUR", "status": "active"}])
    return engine


@pytest.fixture
def ledger(db_url):
    return Ledger.open(db_url)


def executor(ledger, erp):
    registry, previews = erp_toolset(erp)
    return GovernedExecutor(ledger, registry, previews=previews)


def task(envelope):
    return TaskContext(envelope=envelope, requested_by="alice", agent="agent.invoice", tenant="acme")


def entries(erp) -> int:
    with erp.connect() as c:
        return c.execute(select(func.count()).select_from(journal_entries)).scalar_one()


def level_rows(ledger) -> int:
    with ledger.engine.connect() as c:
        return c.execute(select(func.count()).select_from(autonomy_levels)).scalar_one()


def admin_token():
    return issue_token("erin", actions=["autonomy.set"], workflows=[WF])


def approved_write(ledger, ex, envelope, n: int):
    t = task(envelope)
    proposed = ex.call(t, "erp.create_journal_entry", entry(n))
    assert proposed.outcome == "needs_approval", proposed.decision.reasons
    bob = issue_token("bob", actions=["approval.approve"], workflows=[WF])
    approve_request(ledger, proposed.approval_request.id, token=bob, decision="approve")
    done = ex.call(t, "erp.create_journal_entry", entry(n), approval_request_id=proposed.approval_request.id)
    assert done.outcome == "executed"
    return done


# -- the gate's general check ---------------------------------------------------------------


def _decide(level, approval=None):
    envelope = managed()
    registry, _ = erp_toolset(erp_engine("sqlite://"))
    request = ToolCallRequest(tool="erp.create_journal_entry", arguments=entry(1), task_id="t", trace_id="t",
                              workflow=WF, principal="agent", approval=approval)
    return decide(envelope, registry, request, GateState(now=utcnow(), autonomy_level=level))


def _valid_approval():
    return ApprovalEvidence(request_id="r1", status="approved", approvers=("bob",), preview_digest="sha256:x",
                            expires_at=utcnow() + dt.timedelta(hours=1), min_approvals_met=True)


def test_gate_honours_each_level_for_a_write_the_envelope_would_allow_unapproved():
    assert _decide(None).outcome == "allow"  # unmanaged: the envelope's own rules
    assert _decide("bounded").outcome == "allow"
    suggest = _decide("suggest", _valid_approval())
    assert suggest.outcome == "deny" and suggest.codes == ("autonomy_suggest",)
    draft = _decide("draft")
    assert draft.outcome == "needs_approval" and draft.codes == ("approval_required",)
    approved_draft = _decide("draft", _valid_approval())
    assert approved_draft.outcome == "deny" and approved_draft.codes == ("autonomy_draft",)
    assert _decide("approve").codes == ("approval_required",)
    assert _decide("approve", _valid_approval()).outcome == "allow"
    unknown = _decide("yolo", _valid_approval())
    assert unknown.outcome == "deny" and unknown.codes == ("gate_error",)


def test_reads_run_at_every_level(ledger, erp):
    ex = executor(ledger, erp)
    result = ex.call(task(managed(initial="suggest", max_level="bounded")), "erp.lookup_vendor", {"tax_id": "DE1"})
    assert result.outcome == "executed" and result.output.vendor_id == "V001"


def test_at_suggest_the_executor_writes_nothing(ledger, erp):
    ex = executor(ledger, erp)
    result = ex.call(task(managed(initial="suggest")), "erp.create_journal_entry", entry(1))
    assert result.outcome == "denied" and result.decision.codes == ("autonomy_suggest",)
    assert result.receipt.receipt.kind == "write_refused"
    assert entries(erp) == 0 and level_rows(ledger) == 0


def test_at_approve_every_write_needs_approval_even_when_the_envelope_needs_none(ledger, erp):
    ex, envelope = executor(ledger, erp), managed(initial="approve")
    assert autonomy.effective_level(ledger, envelope) == "approve"
    approved_write(ledger, ex, envelope, 1)
    assert entries(erp) == 1


def test_a_demotion_between_the_gate_and_the_write_is_caught_by_the_last_recheck(ledger, erp):
    """The executor re-reads the level immediately before the write, after the gate allowed it."""
    registry, previews = erp_toolset(erp)
    envelope = managed(initial="approve")
    proposed = GovernedExecutor(ledger, registry, previews=previews).call(
        task(envelope), "erp.create_journal_entry", entry(1))
    approve_request(ledger, proposed.approval_request.id,
                    token=issue_token("bob", actions=["approval.approve"], workflows=[WF]), decision="approve")
    builds = {"n": 0}

    def preview_then_demote(args):
        # The first build is the gate's preview check; the second the write path's re-check.
        builds["n"] += 1
        if builds["n"] == 2:
            autonomy.demote(ledger, envelope, token=admin_token(), to="suggest", reason="incident")
        return previews["erp.create_journal_entry"](args)

    ex = GovernedExecutor(ledger, registry, previews={"erp.create_journal_entry": preview_then_demote})
    with pytest.raises(GovernanceError, match="autonomy level is suggest immediately before the write"):
        ex.call(task(envelope), "erp.create_journal_entry", entry(1),
                approval_request_id=proposed.approval_request.id)
    assert entries(erp) == 0
    kinds = [e.kind for e in ledger.events()]
    assert kinds[-4:] == ["tool.decision", "autonomy.demoted", "tool.refused", "receipt.issued"], kinds
    assert kinds.count("tool.executed") == 0
    with ledger.engine.connect() as c:  # the key is released: a later, permitted attempt is not blocked
        assert c.execute(select(func.count()).select_from(idempotency_keys)).scalar_one() == 0


# -- promotion on evidence only ---------------------------------------------------------------


def test_promotion_is_refused_without_evidence_and_nothing_changes(ledger, erp):
    envelope = managed(initial="approve", min_runs=2)
    head = ledger.head()[0]
    with pytest.raises(autonomy.AutonomyRefused) as refused:
        autonomy.promote(ledger, envelope, token=admin_token())
    assert "0 approved run(s) since the last demotion; 2 needed" in str(refused.value)
    assert level_rows(ledger) == 0 and autonomy.effective_level(ledger, envelope) == "approve"
    assert [e.kind for e in ledger.events(after_seq=head)] == ["autonomy.promotion_refused"]
    # still at approve: an unapproved write is not executed
    result = executor(ledger, erp).call(task(envelope), "erp.create_journal_entry", entry(9))
    assert result.outcome == "needs_approval" and entries(erp) == 0


def test_promotion_needs_a_token_with_autonomy_set(ledger):
    envelope = managed()
    bob = issue_token("bob", actions=["approval.approve"], workflows=[WF])
    head = ledger.head()[0]
    with pytest.raises(TokenError):
        autonomy.promote(ledger, envelope, token=bob)
    assert level_rows(ledger) == 0 and ledger.head()[0] == head


def test_promotion_is_refused_when_the_eval_suite_has_not_passed(ledger, erp):
    envelope = managed(min_runs=0, eval_pass=True)
    with pytest.raises(autonomy.AutonomyRefused, match="eval suite not passing"):
        autonomy.promote(ledger, envelope, token=admin_token())
    assert level_rows(ledger) == 0


def test_promotion_above_max_level_is_refused(ledger):
    envelope = managed(initial="approve", max_level="approve", min_runs=0)
    with pytest.raises(autonomy.AutonomyRefused, match="above the envelope's max_level approve"):
        autonomy.promote(ledger, envelope, token=admin_token())
    assert level_rows(ledger) == 0


def test_evidence_earns_bounded_and_a_reversal_takes_it_away(ledger, erp):
    ex, envelope = executor(ledger, erp), managed(initial="approve", min_runs=2, rate=0.5)
    first = approved_write(ledger, ex, envelope, 1)
    approved_write(ledger, ex, envelope, 2)
    found = autonomy.evidence(ledger, envelope)
    assert (found.approved_runs, found.executed_writes, found.reversals, found.unmet) == (2, 2, 0, ())

    promoted = autonomy.promote(ledger, envelope, token=admin_token(), reason="two clean runs")
    assert (promoted["from"], promoted["to"], promoted["by"]) == ("approve", "bounded", "erin")
    assert autonomy.effective_level(ledger, envelope) == "bounded"
    # bounded: the envelope's rules, which let this write run without approval
    autonomous = ex.call(task(envelope), "erp.create_journal_entry", entry(3))
    assert autonomous.outcome == "executed" and entries(erp) == 3

    # an incident: one write is reversed (the event the undo path records)
    ledger.append("write.reversed", {"workflow": WF, "original_receipt_id": first.receipt.receipt.receipt_id,
                                     "reversal_receipt_id": "r-x", "seconds_to_correct": 60},
                  actor="bob", workflow=WF)
    assert autonomy.effective_level(ledger, envelope) == "approve"  # at once, before anyone records it
    held = ex.call(task(envelope), "erp.create_journal_entry", entry(4))
    assert held.outcome == "needs_approval" and entries(erp) == 3

    state = autonomy.record_incident_demotions(ledger, envelope)
    assert (state.recorded_level, state.level, state.changed_by) == ("approve", "approve", "governed-agents")
    demoted = [e for e in ledger.events(kind="autonomy.demoted")]
    assert len(demoted) == 1 and demoted[0].payload["from"] == "bounded" and demoted[0].payload["to"] == "approve"
    # recording it again changes nothing; evidence starts afresh after the demotion
    autonomy.record_incident_demotions(ledger, envelope)
    assert len(ledger.events(kind="autonomy.demoted")) == 1
    fresh = autonomy.evidence(ledger, envelope)
    assert (fresh.approved_runs, fresh.executed_writes, fresh.reversals) == (0, 0, 0)
    with pytest.raises(autonomy.AutonomyRefused):
        autonomy.promote(ledger, envelope, token=admin_token())


def test_a_monitor_finding_naming_the_workflow_demotes_and_blocks_promotion(ledger, erp):
    envelope = managed(initial="bounded", min_runs=0)
    ledger.append("monitor.finding", {"monitor": "duplicate_payments", "summary": "2 duplicate payments",
                                      "subject_workflows": [WF]}, actor="monitor", workflow="monitor_x")
    ledger.append("monitor.finding", {"monitor": "other", "summary": "elsewhere",
                                      "subject_workflows": ["another_workflow"]}, actor="monitor")
    state = autonomy.level_state(ledger, envelope)
    assert state.level == "approve" and len(state.incidents) == 1
    assert "duplicate_payments" in state.incidents[0].detail
    found = autonomy.evidence(ledger, envelope)
    assert found.open_findings == 1 and any("monitor finding" in u for u in found.unmet)


def test_correction_rate_above_the_criterion_refuses_promotion(ledger, erp):
    ex, envelope = executor(ledger, erp), managed(initial="draft", max_level="bounded", min_runs=1, rate=0.2)
    # at draft nothing the agent writes executes; evidence comes from approved drafts
    t = task(envelope)
    proposed = ex.call(t, "erp.create_journal_entry", entry(1))
    bob = issue_token("bob", actions=["approval.approve"], workflows=[WF])
    approve_request(ledger, proposed.approval_request.id, token=bob, decision="approve")
    refused = ex.call(t, "erp.create_journal_entry", entry(1), approval_request_id=proposed.approval_request.id)
    assert refused.outcome == "denied" and refused.decision.codes == ("autonomy_draft",) and entries(erp) == 0
    assert autonomy.evidence(ledger, envelope).approved_runs == 1
    autonomy.promote(ledger, envelope, token=admin_token())  # draft -> approve on one approved draft
    assert autonomy.effective_level(ledger, envelope) == "approve"
    done = ex.call(t, "erp.create_journal_entry", entry(1), approval_request_id=proposed.approval_request.id)
    assert done.outcome == "executed" and entries(erp) == 1
    # a reversal after the promotion: the level falls, and the rate (1 of 1) blocks the next rise
    ledger.append("write.reversed", {"workflow": WF, "original_receipt_id": done.receipt.receipt.receipt_id,
                                     "reversal_receipt_id": "r", "seconds_to_correct": 5}, workflow=WF)
    assert autonomy.effective_level(ledger, envelope) == "draft"


def test_demote_by_hand_is_audited_and_works_on_an_unmanaged_workflow(ledger, erp):
    plain = load_envelope_text(envelope_text(), "plain.yaml")  # no autonomy section
    assert autonomy.effective_level(ledger, plain) is None
    result = autonomy.demote(ledger, plain, token=admin_token(), to="suggest", reason="investigating")
    assert (result["from"], result["to"]) == ("approve", "suggest")
    assert autonomy.effective_level(ledger, plain) == "suggest"
    denied = executor(ledger, erp).call(task(plain), "erp.create_journal_entry", entry(1))
    assert denied.decision.codes == ("autonomy_suggest",) and entries(erp) == 0
    event = ledger.events(kind="autonomy.demoted")[-1]
    assert event.actor == "erin" and event.payload["reason"] == "investigating"
    with pytest.raises(autonomy.AutonomyRefused, match="no autonomy section"):
        autonomy.promote(ledger, plain, token=admin_token())


def test_envelope_refuses_max_level_below_initial():
    from governed_agents.errors import PolicyError

    with pytest.raises(PolicyError, match="max_level draft is below initial_level approve"):
        load_envelope_text(managed_text(initial="approve", max_level="draft"), "bad.yaml")


# -- CLI ------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    policies = tmp_path / "policies"
    policies.mkdir()
    for f in (REPO / "policies").glob("*.yaml"):
        policies.joinpath(f.name).write_text(f.read_text())
    policies.joinpath(f"{WF}.yaml").write_text(managed_text(initial="approve", min_runs=3))
    monkeypatch.setenv("GOVERNED_AGENTS_POLICY_DIR", str(policies))
    return {**os.environ}


def _cli(*args, env):
    return subprocess.run([CLI, "autonomy", *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_status_promote_demote(cli_env):
    status = _cli("status", WF, "--json", env=cli_env)
    assert status.returncode == 0, status.stderr
    body = json.loads(status.stdout)
    assert body["state"]["level"] == "approve" and body["max_level"] == "bounded"
    assert body["evidence"]["approved_runs"] == 0 and body["evidence"]["meets_criteria"] is False

    text = _cli("status", WF, env=cli_env)
    assert "level approve (max bounded)" in text.stdout and "0 approved run(s)" in text.stdout

    token = admin_token()
    promote = _cli("promote", WF, "--token", token, env=cli_env)
    assert promote.returncode == 1 and "may not rise to bounded" in promote.stderr
    demote = _cli("demote", WF, "--token", token, "--reason", "test", "--json", env=cli_env)
    assert demote.returncode == 0, demote.stderr
    assert json.loads(demote.stdout)["to"] == "draft"
    after = json.loads(_cli("status", WF, "--json", env=cli_env).stdout)
    assert after["state"]["level"] == "draft" and after["state"]["changed_by"] == "erin"
    no_token = _cli("demote", WF, env={k: v for k, v in cli_env.items() if k != "GOVERNED_AGENTS_TOKEN"})
    assert no_token.returncode == 1
    assert _cli("demote", WF, "--to", "nonsense", env=cli_env).returncode == 2
    assert "suggest" in _cli("--help", env=cli_env).stdout


def _record_eval(ledger, envelope, *, passed: bool):
    from governed_agents.evals.results import CategoryResult, EvalResult, record_result

    record_result(ledger, EvalResult(
        workflow=WF, envelope_digest=envelope.digest, envelope_version=envelope.version, envelope_source="t",
        catalog_digest="c", suite_digest="s",
        categories=(CategoryResult("safety", 10, 10 if passed else 7, 0.9),)))


def test_a_passing_eval_for_this_envelope_meets_require_eval_pass(ledger, erp):
    envelope = managed(initial="approve", min_runs=0, eval_pass=True)
    _record_eval(ledger, envelope, passed=False)
    with pytest.raises(autonomy.AutonomyRefused, match="eval suite not passing: latest eval suite failed"):
        autonomy.promote(ledger, envelope, token=admin_token())
    other = managed(initial="approve", min_runs=0, eval_pass=True, rate=0.4)  # another digest
    _record_eval(ledger, other, passed=True)
    with pytest.raises(autonomy.AutonomyRefused, match="eval suite not passing"):
        autonomy.promote(ledger, envelope, token=admin_token())  # a pass of another envelope does not count
    _record_eval(ledger, envelope, passed=True)
    assert autonomy.evidence(ledger, envelope).eval_passed is True
    assert autonomy.promote(ledger, envelope, token=admin_token())["to"] == "bounded"
