"""The tool registry and the gate's decision: every outcome, every reason, the order of checks."""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from typing import Annotated

import pytest
from pydantic import BaseModel, ConfigDict, Field

from governed_agents.envelope import Envelope, LoadedEnvelope, load_envelope_text
from governed_agents.errors import GovernanceError
from governed_agents.gate import (
    REASON_CODES,
    ApprovalEvidence,
    Decision,
    GateState,
    Reason,
    RegisteredTool,
    ToolCallRequest,
    ToolOutputInvalid,
    ToolRegistrationError,
    ToolRegistry,
    ToolSpec,
    decide,
    validate_output,
)

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.timezone.utc)
WORKFLOW = "invoice_reconcile"


def envelope(**changes: str) -> LoadedEnvelope:
    """The reference envelope, with lines appended to sections via ``changes``."""
    text = f"""\
version: 2026-03-01
workflow: {WORKFLOW}
pattern: {changes.get("pattern", "human_in_the_loop")}
models: {{router: small-fast, reasoning: frontier, fallback: safe-medium}}
budgets: {{max_tokens_per_task: 18000, max_tool_calls: 8, hard_cost_cap_usd: 1.25}}
permissions:
  allowed_tools: [erp.lookup_vendor, erp.match_po, erp.create_journal_entry]
  write_actions_require_approval: {changes.get("approval", "true")}
  approval_roles: [FinanceAdmin]
  min_approvals: {changes.get("min_approvals", "1")}
"""
    return load_envelope_text(text, "test.yaml")


class VendorQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tax_id: Annotated[str, Field(min_length=1)]


class VendorRecord(BaseModel):
    found: bool
    vendor_id: str | None = None


class PoQuery(BaseModel):  # pydantic's default: unknown keys ignored -> the gate refuses them
    po_number: str


class PoLines(BaseModel):
    lines: list[dict]


class JournalEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoice_id: str
    amount: Annotated[Decimal, Field(gt=0)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class Posted(BaseModel):
    entry_id: str


class Payment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vendor_id: str
    amount: Decimal


def make_registry() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool(name="erp.lookup_vendor", input=VendorQuery, output=VendorRecord, side_effect="read",
                   reversible=True, data_classes=("financial",))
    def lookup_vendor(query: VendorQuery) -> dict:
        """Find a vendor by tax id."""
        return {"found": True, "vendor_id": "V001"}

    @registry.tool(name="erp.match_po", input=PoQuery, output=PoLines, side_effect="read", reversible=True,
                   description="Read a purchase order's lines.")
    def match_po(query: PoQuery) -> dict:
        return {"lines": []}

    @registry.tool(name="erp.create_journal_entry", input=JournalEntry, output=Posted, side_effect="write",
                   reversible=False, idempotency_key=lambda e: f"je:{e.invoice_id}",
                   description="Post a journal entry.")
    def create_journal_entry(entry: JournalEntry) -> dict:
        return {"entry_id": "JE-1"}

    @registry.tool(name="erp.post_payment", input=Payment, output=Posted, side_effect="write", reversible=False,
                   idempotency_key=lambda p: f"pay:{p.vendor_id}", description="Pay a vendor.")
    def post_payment(payment: Payment) -> dict:
        return {"entry_id": "PAY-1"}

    return registry


REGISTRY = make_registry()
ENVELOPE = envelope()
GOOD_ENTRY = {"invoice_id": "INV-1", "amount": "12.50", "currency": "EUR"}
PREVIEW = "sha256:" + "ab" * 32


def request(tool="erp.lookup_vendor", arguments=None, *, approval=None, preview_digest=None, workflow=WORKFLOW):
    if arguments is None:
        arguments = {"tax_id": "DE1"} if tool == "erp.lookup_vendor" else dict(GOOD_ENTRY)
    return ToolCallRequest(tool=tool, arguments=arguments, task_id="task-1", trace_id="trace-1", workflow=workflow,
                           principal="agent.invoice", approval=approval, preview_digest=preview_digest)


def state(**kw) -> GateState:
    return GateState(now=NOW, **kw)


def approval(**kw) -> ApprovalEvidence:
    values = dict(request_id="apr-1", status="approved", approvers=("bob",), preview_digest=PREVIEW,
                  expires_at=NOW + dt.timedelta(hours=1), min_approvals_met=True)
    values.update(kw)
    return ApprovalEvidence(**values)


def codes(decision: Decision) -> list[str]:
    return [r.code for r in decision.reasons]


# -- the registry ---------------------------------------------------------------


def test_decorator_returns_a_handle_not_the_function():
    registry = ToolRegistry()

    @registry.tool(name="crm.read_note", input=VendorQuery, output=VendorRecord, side_effect="read",
                   reversible=True)
    def read_note(query):
        """Read a note."""
        return {"found": False}

    assert isinstance(read_note, RegisteredTool)
    assert not callable(read_note)
    with pytest.raises(TypeError):
        read_note(VendorQuery(tax_id="x"))  # type: ignore[operator]
    assert read_note.spec is registry.spec("crm.read_note")
    assert read_note.name == "crm.read_note"
    assert read_note.spec.description == "Read a note."
    assert not hasattr(read_note, "__wrapped__") and not hasattr(read_note, "__call__")
    # The function is reachable only through the registry's private mapping.
    assert registry._implementation("crm.read_note")(None) == {"found": False}


def test_the_module_attribute_is_the_handle():
    # Tools defined at module level in this test module: the name binds to the handle.
    module = sys.modules[__name__]
    assert isinstance(getattr(module, "_module_level_tool"), RegisteredTool)
    assert not callable(_module_level_tool)


_MODULE_REGISTRY = ToolRegistry()


@_MODULE_REGISTRY.tool(name="demo.ping", input=VendorQuery, output=VendorRecord, side_effect="read",
                       reversible=True, description="Ping.")
def _module_level_tool(query):
    return {"found": True}


def test_spec_is_frozen_and_registry_lists_names():
    spec = REGISTRY.spec("erp.create_journal_entry")
    assert isinstance(spec, ToolSpec)
    assert spec.side_effect == "write" and spec.reversible is False and spec.input_model is JournalEntry
    assert spec.idempotency_key(JournalEntry(**GOOD_ENTRY)) == "je:INV-1"
    with pytest.raises(Exception):
        spec.side_effect = "read"  # type: ignore[misc]
    assert REGISTRY.spec("erp.nope") is None
    assert REGISTRY.names() == ("erp.create_journal_entry", "erp.lookup_vendor", "erp.match_po", "erp.post_payment")
    assert "erp.match_po" in REGISTRY and len(REGISTRY) == 4
    assert REGISTRY.spec("erp.lookup_vendor").data_classes == ("financial",)


def test_registering_the_same_name_twice_is_refused():
    registry = make_registry()
    with pytest.raises(ToolRegistrationError, match="'erp.match_po' is already registered"):

        @registry.tool(name="erp.match_po", input=PoQuery, output=PoLines, side_effect="read", reversible=True,
                       description="again")
        def again(query):
            return {}


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(side_effect="write", idempotency_key=None), "needs idempotency_key"),
        (dict(name="NotAName"), "not namespace.name"),
        (dict(name="erp"), "not namespace.name"),
        (dict(input=dict), "input must be a pydantic BaseModel subclass"),
        (dict(output=VendorRecord(found=True)), "output must be a pydantic BaseModel subclass"),
        (dict(side_effect="delete"), "side_effect must be 'read' or 'write'"),
        (dict(reversible="yes"), "reversible must be true or false"),
        (dict(description=""), "a description is required"),
        (dict(idempotency_key="key"), "idempotency_key must be a callable"),
        (dict(data_classes=("pii", "")), "data_classes"),
    ],
)
def test_incomplete_tool_definitions_are_refused(kwargs, fragment):
    registry = ToolRegistry()
    params = dict(name="erp.tool", input=VendorQuery, output=VendorRecord, side_effect="read", reversible=True,
                  description="A tool.")
    params.update(kwargs)
    with pytest.raises(ToolRegistrationError, match=fragment):
        registry.tool(**params)(lambda q: None)
    assert len(registry) == 0
    assert issubclass(ToolRegistrationError, GovernanceError)


# -- outcomes, one by one ----------------------------------------------------------


def test_allow_a_registered_allowed_valid_read():
    decision = decide(ENVELOPE, REGISTRY, request(), state())
    assert decision.outcome == "allow" and decision.allowed
    assert decision.reasons == ()
    assert decision.tool == "erp.lookup_vendor" and decision.side_effect == "read"
    assert decision.envelope_version == "2026-03-01" and decision.envelope_digest == ENVELOPE.digest
    assert decision.validated_input == VendorQuery(tax_id="DE1")


def test_deny_unregistered_tool():
    decision = decide(ENVELOPE, REGISTRY, request("erp.delete_everything", {}), state())
    assert decision.outcome == "deny" and codes(decision) == ["unregistered_tool"]
    assert "no tool named 'erp.delete_everything' is registered" in decision.reasons[0].message
    assert decision.side_effect is None and decision.validated_input is None


def test_deny_tool_not_in_allowlist():
    decision = decide(ENVELOPE, REGISTRY, request("erp.post_payment", {"vendor_id": "V1", "amount": "5"}), state())
    assert decision.outcome == "deny" and codes(decision) == ["tool_not_allowed"]
    assert decision.reasons[0].message == "erp.post_payment is not in the envelope's allowed_tools (version 2026-03-01)"
    assert decision.side_effect == "write"


def test_deny_invalid_input_with_readable_field_errors():
    bad = {"invoice_id": "INV-1", "amount": "0", "currency": "euro"}
    decision = decide(ENVELOPE, REGISTRY, request("erp.create_journal_entry", bad), state())
    assert decision.outcome == "deny"
    assert codes(decision) == ["invalid_input", "invalid_input"]
    messages = [r.message for r in decision.reasons]
    assert "amount: Input should be greater than 0" in messages
    assert any(m.startswith("currency: String should match pattern") for m in messages)
    assert decision.validated_input is None


def test_invalid_input_missing_field_and_not_a_dict():
    decision = decide(ENVELOPE, REGISTRY, request("erp.lookup_vendor", {}), state())
    assert [r.message for r in decision.reasons] == ["tax_id: Field required"]
    decision = decide(ENVELOPE, REGISTRY, request("erp.lookup_vendor", ["DE1"]), state())  # type: ignore[arg-type]
    assert codes(decision) == ["invalid_input"] and decision.reasons[0].message.startswith("arguments: ")


def test_unknown_arguments_are_refused_even_when_the_model_would_ignore_them():
    decision = decide(ENVELOPE, REGISTRY, request("erp.match_po", {"po_number": "PO-1", "sql": "drop"}), state())
    assert decision.outcome == "deny" and [r.message for r in decision.reasons] == ["sql: unexpected argument"]
    forbid = decide(ENVELOPE, REGISTRY, request("erp.lookup_vendor", {"tax_id": "x", "sql": "drop"}), state())
    assert forbid.outcome == "deny" and forbid.reasons[0].message == "sql: Extra inputs are not permitted"


def test_deny_when_tool_call_budget_is_exhausted():
    assert decide(ENVELOPE, REGISTRY, request(), state(tool_calls_made=7)).outcome == "allow"
    decision = decide(ENVELOPE, REGISTRY, request(), state(tool_calls_made=8))
    assert decision.outcome == "deny" and codes(decision) == ["tool_call_budget_exhausted"]
    assert "max_tool_calls is 8" in decision.reasons[0].message


def test_deny_when_token_budget_is_exhausted():
    assert decide(ENVELOPE, REGISTRY, request(), state(tokens_used=17999)).outcome == "allow"
    decision = decide(ENVELOPE, REGISTRY, request(), state(tokens_used=18000))
    assert decision.outcome == "deny" and codes(decision) == ["token_budget_exhausted"]


def test_both_budgets_exhausted_gives_both_reasons():
    decision = decide(ENVELOPE, REGISTRY, request(), state(tool_calls_made=9, tokens_used=10**9))
    assert codes(decision) == ["tool_call_budget_exhausted", "token_budget_exhausted"]


@pytest.mark.parametrize("switch", ["kill_switch_global", "kill_switch_workflow"])
def test_kill_switch_denies_writes_and_says_reads_continue(switch):
    ok = approval()
    decision = decide(ENVELOPE, REGISTRY, request("erp.create_journal_entry", approval=ok), state(**{switch: True}))
    assert decision.outcome == "deny" and codes(decision) == ["kill_switch"]
    assert "writes are refused; reads continue (read-only degradation)" in decision.reasons[0].message
    assert ("global" in decision.reasons[0].message) == (switch == "kill_switch_global")


@pytest.mark.parametrize("switch", ["kill_switch_global", "kill_switch_workflow"])
def test_kill_switch_does_not_block_reads(switch):
    decision = decide(ENVELOPE, REGISTRY, request(), state(**{switch: True}))
    assert decision.outcome == "allow"
    assert codes(decision) == ["read_only_degradation"]


@pytest.mark.parametrize("pattern", ["suggest_only", "read_only"])
def test_patterns_without_writes_deny_writes_but_allow_reads(pattern):
    env = envelope(pattern=pattern)
    decision = decide(env, REGISTRY, request("erp.create_journal_entry", approval=approval()), state())
    assert decision.outcome == "deny" and codes(decision) == ["pattern_forbids_write"]
    assert pattern in decision.reasons[0].message
    assert decide(env, REGISTRY, request(), state()).outcome == "allow"


@pytest.mark.parametrize("pattern", ["human_in_the_loop", "autonomous_bounded", "continuous"])
def test_other_patterns_permit_writes(pattern):
    env = envelope(pattern=pattern)
    assert decide(env, REGISTRY, request("erp.create_journal_entry", approval=approval()), state()).outcome == "allow"


def test_write_without_approval_needs_approval():
    decision = decide(ENVELOPE, REGISTRY, request("erp.create_journal_entry"), state())
    assert decision.outcome == "needs_approval" and codes(decision) == ["approval_required"]
    assert decision.validated_input == JournalEntry(**GOOD_ENTRY)  # the executor previews from it
    assert decision.side_effect == "write"


def test_write_with_a_valid_approval_is_allowed():
    decision = decide(ENVELOPE, REGISTRY, request("erp.create_journal_entry", approval=approval(),
                                                  preview_digest=PREVIEW), state())
    assert decision.outcome == "allow" and decision.reasons == ()


def test_write_without_approval_requirement_is_allowed():
    env = envelope(approval="false")
    assert decide(env, REGISTRY, request("erp.create_journal_entry"), state()).outcome == "allow"


@pytest.mark.parametrize(
    "evidence, preview, code",
    [
        (dict(status="pending"), None, "approval_not_granted"),
        (dict(status="rejected"), None, "approval_not_granted"),
        (dict(status="executed"), None, "approval_not_granted"),
        (dict(min_approvals_met=False), None, "approval_quorum_not_met"),
        (dict(expires_at=NOW), None, "approval_expired"),
        (dict(expires_at=NOW - dt.timedelta(seconds=1)), None, "approval_expired"),
        (dict(), "sha256:" + "cd" * 32, "approval_preview_mismatch"),
    ],
)
def test_an_invalid_approval_still_needs_approval(evidence, preview, code):
    decision = decide(ENVELOPE, REGISTRY, request("erp.create_journal_entry", approval=approval(**evidence),
                                                  preview_digest=preview), state())
    assert decision.outcome == "needs_approval" and codes(decision) == [code]
    assert "apr-1" in decision.reasons[0].message


def test_preview_is_only_compared_when_the_caller_passes_one():
    decision = decide(ENVELOPE, REGISTRY, request("erp.create_journal_entry", approval=approval(
        preview_digest="sha256:other")), state())
    assert decision.outcome == "allow"


def test_envelope_min_approvals_is_checked_against_distinct_approvers():
    env = envelope(min_approvals="2")
    one = approval(approvers=("bob", "bob"))
    decision = decide(env, REGISTRY, request("erp.create_journal_entry", approval=one), state())
    assert decision.outcome == "needs_approval" and codes(decision) == ["approval_quorum_not_met"]
    assert "1 distinct approver(s); 2 needed" in decision.reasons[0].message
    two = approval(approvers=("bob", "carol"))
    assert decide(env, REGISTRY, request("erp.create_journal_entry", approval=two), state()).outcome == "allow"


def test_every_approval_problem_is_listed():
    bad = approval(status="pending", min_approvals_met=False, expires_at=NOW - dt.timedelta(days=1))
    decision = decide(ENVELOPE, REGISTRY, request("erp.create_journal_entry", approval=bad,
                                                  preview_digest="sha256:x"), state())
    assert codes(decision) == ["approval_not_granted", "approval_quorum_not_met", "approval_expired",
                               "approval_preview_mismatch"]


def test_naive_datetimes_are_read_as_utc():
    naive_future = approval(expires_at=(NOW + dt.timedelta(minutes=5)).replace(tzinfo=None))
    assert decide(ENVELOPE, REGISTRY, request("erp.create_journal_entry", approval=naive_future),
                  state()).outcome == "allow"
    naive_now = GateState(now=NOW.replace(tzinfo=None) + dt.timedelta(hours=2))
    assert codes(decide(ENVELOPE, REGISTRY, request("erp.create_journal_entry", approval=approval()),
                        naive_now)) == ["approval_expired"]


def test_workflow_mismatch_is_denied_first():
    decision = decide(ENVELOPE, REGISTRY, request("erp.nope", {}, workflow="payroll"), state())
    assert decision.outcome == "deny" and codes(decision) == ["workflow_mismatch"]


# -- order of precedence -----------------------------------------------------------


def test_unregistered_beats_invalid_input():
    decision = decide(ENVELOPE, REGISTRY, request("erp.nope", {"amount": -1}), state())
    assert codes(decision) == ["unregistered_tool"]


def test_not_allowed_beats_invalid_input_and_kill_switch():
    decision = decide(ENVELOPE, REGISTRY, request("erp.post_payment", {"amount": "x"}),
                      state(kill_switch_global=True, tool_calls_made=100))
    assert codes(decision) == ["tool_not_allowed"]


def test_invalid_input_beats_budgets():
    decision = decide(ENVELOPE, REGISTRY, request("erp.lookup_vendor", {}), state(tool_calls_made=100))
    assert codes(decision) == ["invalid_input"]


def test_budgets_beat_kill_switch():
    decision = decide(ENVELOPE, REGISTRY, request("erp.create_journal_entry"),
                      state(tool_calls_made=100, kill_switch_global=True))
    assert codes(decision) == ["tool_call_budget_exhausted"]


def test_budgets_apply_to_reads_under_the_kill_switch():
    decision = decide(ENVELOPE, REGISTRY, request(), state(tokens_used=10**6, kill_switch_global=True))
    assert codes(decision) == ["token_budget_exhausted"]


def test_kill_switch_beats_pattern_and_approval():
    env = envelope(pattern="read_only")
    decision = decide(env, REGISTRY, request("erp.create_journal_entry"), state(kill_switch_workflow=True))
    assert codes(decision) == ["kill_switch"]


def test_pattern_beats_approval():
    env = envelope(pattern="suggest_only")
    decision = decide(env, REGISTRY, request("erp.create_journal_entry"), state())
    assert codes(decision) == ["pattern_forbids_write"]


# -- fail closed, caching, audit payload --------------------------------------------


def test_only_a_loaded_envelope_is_accepted():
    raw: Envelope = ENVELOPE.envelope
    decision = decide(raw, REGISTRY, request(), state())  # type: ignore[arg-type]
    assert decision.outcome == "deny" and codes(decision) == ["envelope_not_loaded"]


def test_unexpected_errors_deny_instead_of_raising():
    class Exploding(BaseModel):
        x: int

        def model_post_init(self, _context) -> None:
            raise RuntimeError("boom")

    registry = ToolRegistry()
    registry.tool(name="erp.lookup_vendor", input=Exploding, output=VendorRecord, side_effect="read",
                  reversible=True, description="x")(lambda q: None)
    decision = decide(ENVELOPE, registry, request("erp.lookup_vendor", {"x": 1}), state())
    assert decision.outcome == "deny" and codes(decision) == ["gate_error"]
    assert "RuntimeError: boom" in decision.reasons[0].message
    weird = decide(ENVELOPE, REGISTRY, request(["unhashable"], {}), state())  # type: ignore[arg-type]
    assert weird.outcome == "deny" and codes(weird) == ["gate_error"]


def test_plans_are_cached_per_digest_and_refreshed_on_registration():
    registry = make_registry()
    decide(ENVELOPE, registry, request(), state())
    assert ENVELOPE.digest in registry._plans
    plan = registry._plans[ENVELOPE.digest]
    assert plan.allowed == frozenset(ENVELOPE.envelope.permissions.allowed_tools)
    decide(load_envelope_text(ENVELOPE.envelope.model_dump_json(), "other.yaml"), registry, request(), state())
    assert registry._plans[ENVELOPE.digest] is plan  # same content, same digest, same plan
    registry.tool(name="erp.extra_tool", input=VendorQuery, output=VendorRecord, side_effect="read",
                  reversible=True, description="x")(lambda q: None)
    assert registry._plans == {}


def test_a_tool_registered_after_the_first_decision_is_seen():
    registry = ToolRegistry()
    assert codes(decide(ENVELOPE, registry, request(), state())) == ["unregistered_tool"]
    registry.tool(name="erp.lookup_vendor", input=VendorQuery, output=VendorRecord, side_effect="read",
                  reversible=True, description="x")(lambda q: None)
    assert decide(ENVELOPE, registry, request(), state()).outcome == "allow"


def test_decision_is_a_frozen_value_with_an_audit_payload():
    decision = decide(ENVELOPE, REGISTRY, request("erp.create_journal_entry"), state())
    with pytest.raises(Exception):
        decision.outcome = "allow"  # type: ignore[misc]
    assert not hasattr(decision, "__dict__")  # slots
    payload = decision.to_dict()
    assert payload == {
        "outcome": "needs_approval",
        "reasons": [{"code": "approval_required", "message": decision.reasons[0].message}],
        "tool": "erp.create_journal_entry",
        "side_effect": "write",
        "envelope_version": "2026-03-01",
        "envelope_digest": ENVELOPE.digest,
        "input_digest": payload["input_digest"],
    }
    assert payload["input_digest"].startswith("sha256:")
    assert "INV-1" not in str(payload)  # inputs (possibly personal data) are not in the audit payload
    from governed_agents.canonical import canonical_json

    canonical_json(payload)  # serialisable as is


def test_every_reason_code_is_documented():
    import pathlib

    doc = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "gate.md").read_text()
    for code in REASON_CODES:
        assert f"`{code}`" in doc, code
    assert Reason("x", "y").to_dict() == {"code": "x", "message": "y"}


# -- output validation ----------------------------------------------------------------


def test_valid_output_is_returned_as_the_model():
    out = validate_output(REGISTRY, "erp.create_journal_entry", {"entry_id": "JE-1"})
    assert out == Posted(entry_id="JE-1")
    assert validate_output(REGISTRY, "erp.create_journal_entry", Posted(entry_id="JE-2")) == Posted(entry_id="JE-2")


def test_invalid_output_raises_tool_output_invalid():
    with pytest.raises(ToolOutputInvalid) as info:
        validate_output(REGISTRY, "erp.lookup_vendor", {"found": "maybe", "vendor_id": 7})
    message = str(info.value)
    assert message.startswith("tool erp.lookup_vendor returned output that fails VendorRecord: ")
    assert "found: Input should be a valid boolean" in message
    assert "vendor_id: Input should be a valid string" in message
    assert isinstance(info.value, GovernanceError) and info.value.exit_code == 1
    assert len(info.value.details["errors"]) == 2


def test_output_built_around_validation_is_rechecked():
    sneaky = Posted.model_construct(entry_id=None)
    with pytest.raises(ToolOutputInvalid, match="entry_id"):
        validate_output(REGISTRY, "erp.create_journal_entry", sneaky)


def test_output_of_unknown_tool_and_non_mapping_output():
    with pytest.raises(ToolOutputInvalid, match="no such tool"):
        validate_output(REGISTRY, "erp.nope", {})
    with pytest.raises(ToolOutputInvalid, match="output: Input should be a valid dictionary"):
        validate_output(REGISTRY, "erp.create_journal_entry", "JE-1")
