"""Bounded autonomy in general: the envelope's autonomous_writes and the gate's step 8 (pure)."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from governed_agents.bounds import BoundsSnapshot, Scope, scopes
from governed_agents.envelope import find_envelope
from governed_agents.envelope.loader import load_envelope_text
from governed_agents.erp.expenses import expenses_toolset
from governed_agents.erp.tools import erp_toolset
from governed_agents.errors import PolicyError
from governed_agents.gate import ApprovalEvidence, GateState, ToolCallRequest, decide
from governed_agents.workflows.expense_receipt_chase import SEND_TOOL, WORKFLOW
from tests.fixtures import envelope_text

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.timezone.utc)
ARGS = {"employee_id": "E-1", "txn_id": "T-1", "amount": "40.00", "currency": "EUR", "reminder_date": "2026-11-25"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    from sqlalchemy import create_engine

    from governed_agents.erp.schema import metadata

    engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('erp')}/erp.sqlite3")
    metadata.create_all(engine)
    return expenses_toolset(engine)[0]


def _data() -> dict:
    from governed_agents.config import policy_dir

    return yaml.safe_load((policy_dir() / f"{WORKFLOW}.yaml").read_text())


def _decide(registry, arguments=ARGS, bounds=None, approval=None, envelope=None):
    envelope = envelope or find_envelope(WORKFLOW)
    request = ToolCallRequest(tool=SEND_TOOL, arguments=arguments, task_id="t", trace_id="t",
                              workflow=WORKFLOW, principal="agent", approval=approval)
    return decide(envelope, registry, request, GateState(now=NOW, bounds=bounds))


def _snapshot(registry, used_day=0, used_run=0):
    rule = find_envelope(WORKFLOW).envelope.permissions.autonomous_writes[0]
    found, problems = scopes(rule, registry.spec(SEND_TOOL).input_model.model_validate(ARGS), workflow=WORKFLOW,
                             run_id="r", task_id="t", now=NOW)
    used = [used_day, used_run]
    return BoundsSnapshot(SEND_TOOL, tuple(Scope(s.key, s.label, s.max, u) for s, u in zip(found, used)),
                          tuple(problems))


def test_scope_keys_name_the_window_and_the_counted_value(registry):
    snap = _snapshot(registry)
    assert [s.key for s in snap.scopes] == [
        "expense_receipt_chase|outbox.send_reminder|day:2026-11-25|employee_id=E-1",
        "expense_receipt_chase|outbox.send_reminder|run:r|*",
    ]
    assert [s.max for s in snap.scopes] == [2, 25]


def test_inside_every_bound_the_write_runs_without_approval(registry):
    decision = _decide(registry, bounds=_snapshot(registry, used_day=1, used_run=24))
    assert decision.outcome == "allow" and decision.codes == ("within_bounds",)
    assert "2/2" in decision.reasons[0].message and "25/25" in decision.reasons[0].message


@pytest.mark.parametrize("used_day, used_run, arguments, codes", [
    (2, 0, ARGS, ("bound_exceeded",)),
    (0, 25, ARGS, ("bound_exceeded",)),
    (2, 25, ARGS, ("bound_exceeded", "bound_exceeded")),
    (0, 0, {**ARGS, "amount": "500.01"}, ("bound_amount",)),
    (5, 0, {**ARGS, "amount": "900"}, ("bound_amount", "bound_exceeded")),
])
def test_past_a_bound_the_write_needs_approval(registry, used_day, used_run, arguments, codes):
    decision = _decide(registry, arguments=arguments, bounds=_snapshot(registry, used_day, used_run))
    assert decision.outcome == "needs_approval" and decision.codes == codes


def test_no_counts_fail_closed_towards_a_person(registry):
    assert _decide(registry, bounds=None).codes == ("bound_unknown",)
    other = BoundsSnapshot("erp.create_journal_entry", ())
    assert _decide(registry, bounds=other).codes == ("bound_unknown",)


def test_an_approved_write_past_its_bound_needs_a_valid_approval(registry):
    def evidence(status):
        return ApprovalEvidence(request_id="a", status=status, approvers=("bob",), preview_digest="d",
                                expires_at=NOW + dt.timedelta(hours=1), min_approvals_met=status == "approved")

    assert _decide(registry, approval=evidence("approved")).outcome == "allow"
    pending = _decide(registry, approval=evidence("pending"))
    assert pending.outcome == "needs_approval" and "approval_not_granted" in pending.codes


def test_the_same_envelope_under_human_in_the_loop_is_refused():
    data = _data()
    data["pattern"] = "human_in_the_loop"
    with pytest.raises(PolicyError, match="autonomous_writes apply only under pattern"):
        load_envelope_text(yaml.safe_dump(data))


def test_autonomous_tool_must_be_allowed_and_someone_must_approve_past_the_bounds():
    data = _data()
    data["permissions"]["autonomous_writes"][0]["tool"] = "outbox.send_sms"
    with pytest.raises(PolicyError, match="outbox.send_sms is not in allowed_tools"):
        load_envelope_text(yaml.safe_dump(data))
    data = _data()
    data["permissions"]["write_actions_require_approval"] = False
    data["permissions"]["approval_roles"] = []
    with pytest.raises(PolicyError, match="autonomous_writes need approval_roles"):
        load_envelope_text(yaml.safe_dump(data))
    data = _data()
    data["permissions"]["autonomous_writes"][0]["limits"][0]["window"] = "week"
    with pytest.raises(PolicyError, match="window"):
        load_envelope_text(yaml.safe_dump(data))


def test_allowing_a_write_allows_its_registered_undo_and_nothing_else(tmp_path):
    from sqlalchemy import create_engine

    from governed_agents.erp.schema import metadata

    engine = create_engine(f"sqlite:///{tmp_path}/erp.sqlite3")
    metadata.create_all(engine)
    registry = erp_toolset(engine)[0]

    def outcome(envelope):
        request = ToolCallRequest(tool="erp.reverse_journal_entry", arguments={"entry_id": "e"}, task_id="t",
                                  trace_id="t", workflow="invoice_reconcile", principal="agent")
        return decide(envelope, registry, request, GateState(now=NOW))

    allows_posting = load_envelope_text(envelope_text())
    assert outcome(allows_posting).outcome == "needs_approval"  # allowed, and gated like any write
    reads_only = load_envelope_text(envelope_text(allowed_tools=["erp.lookup_vendor", "erp.match_po"]))
    assert outcome(reads_only).codes == ("tool_not_allowed",)


def test_policy_diff_calls_wider_bounds_a_loosening():
    from governed_agents.envelope.diff import diff_envelopes

    base = _data()
    wider = _data()
    wider["permissions"]["autonomous_writes"][0]["limits"][0]["max"] = 5
    wider["permissions"]["autonomous_writes"][0]["approval_above"] = None
    changes = diff_envelopes(load_envelope_text(yaml.safe_dump(base)), load_envelope_text(yaml.safe_dump(wider)))
    assert [(c.direction, c.message) for c in changes] == [
        ("loosening", "bound outbox.send_reminder per day per employee_id raised 2 → 5"),
        ("loosening", "outbox.send_reminder: approval above an amount removed"),
    ]
    none = _data()
    none["permissions"]["autonomous_writes"] = []
    [removed] = diff_envelopes(load_envelope_text(yaml.safe_dump(base)), load_envelope_text(yaml.safe_dump(none)))
    assert removed.direction == "tightening" and "autonomous write removed" in removed.message
