"""Fuzzing the gate: whatever a model proposes, ``decide`` returns a Decision and never raises."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governed_agents.gate import ApprovalEvidence, Decision, GateState, ToolCallRequest, decide
from tests.test_gate import ENVELOPE, REGISTRY, WORKFLOW

OUTCOMES = {"allow", "needs_approval", "deny"}

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.decimals(allow_nan=True, allow_infinity=True),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(["tax_id", "po_number", "invoice_id", "amount", "currency", "vendor_id", "memo", "x"])
arguments = st.one_of(
    st.dictionaries(st.one_of(field_names, st.text(max_size=12)), json_values, max_size=6),
    json_values,  # not even a mapping
)
tools = st.one_of(st.sampled_from(list(REGISTRY.names()) + ["erp.nope", "", "ERP.LOOKUP"]), st.text(max_size=30))
datetimes = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.sampled_from([dt.timezone.utc])
)
approvals = st.one_of(
    st.none(),
    st.builds(
        ApprovalEvidence,
        request_id=st.text(max_size=8),
        status=st.sampled_from(["approved", "pending", "rejected", "expired", "executed", ""]),
        approvers=st.lists(st.sampled_from(["bob", "carol", "dana"]), max_size=3).map(tuple),
        preview_digest=st.sampled_from(["sha256:a", "sha256:b"]),
        expires_at=datetimes,
        min_approvals_met=st.booleans(),
    ),
)
states = st.builds(
    GateState,
    now=datetimes,
    tool_calls_made=st.integers(min_value=0, max_value=20),
    tokens_used=st.integers(min_value=0, max_value=40_000),
    kill_switch_global=st.booleans(),
    kill_switch_workflow=st.booleans(),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tool=tools,
    args=arguments,
    approval=approvals,
    preview=st.one_of(st.none(), st.sampled_from(["sha256:a", "sha256:b"])),
    workflow=st.sampled_from([WORKFLOW, WORKFLOW, "other"]),
    state=states,
)
def test_decide_never_raises_and_always_decides(tool, args, approval, preview, workflow, state):
    request = ToolCallRequest(tool=tool, arguments=args, task_id="t", trace_id="tr", workflow=workflow,
                              principal="agent", approval=approval, preview_digest=preview)
    decision = decide(ENVELOPE, REGISTRY, request, state)
    assert isinstance(decision, Decision)
    assert decision.outcome in OUTCOMES
    assert all(r.code != "gate_error" for r in decision.reasons), decision.reasons
    if decision.outcome != "allow":
        assert decision.reasons, "a refusal always says why"
    if decision.outcome == "allow":
        assert decision.validated_input is not None
        spec = REGISTRY.spec(tool)
        assert spec is not None and tool in ENVELOPE.envelope.permissions.allowed_tools
        assert state.tool_calls_made < 8 and state.tokens_used < 18000
        if spec.side_effect == "write":
            assert not (state.kill_switch_global or state.kill_switch_workflow)
            assert approval is not None and approval.status == "approved" and approval.min_approvals_met
            assert approval.expires_at > state.now
            assert preview is None or preview == approval.preview_digest
    decision.to_dict()  # the audit payload always builds


@settings(max_examples=200, deadline=None)
@given(request=st.builds(ToolCallRequest, tool=st.one_of(st.none(), st.integers(), tools), arguments=json_values,
                         task_id=st.text(max_size=4), trace_id=st.text(max_size=4),
                         workflow=st.one_of(st.none(), st.just(WORKFLOW)), principal=st.text(max_size=4)),
       state=states)
def test_decide_survives_malformed_requests(request, state):
    decision = decide(ENVELOPE, REGISTRY, request, state)
    assert isinstance(decision, Decision) and decision.outcome in OUTCOMES
