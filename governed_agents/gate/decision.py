"""The gate's decision: may this tool call run now, under this envelope?

``decide`` is a pure function of (envelope, registry, request, state): no I/O,
no clock except ``state.now``, no exceptions (anything unexpected becomes a
``deny`` with reason ``gate_error``: the gate fails closed). The checks run in
a fixed order and the first that fails settles the outcome:

0. the envelope came from the loader             -> deny  ``envelope_not_loaded``
   and the request is for the envelope's workflow -> deny  ``workflow_mismatch``
1. the tool is registered                         -> deny  ``unregistered_tool``
2. the envelope allows the tool (or it is the registered
   compensation of a write tool the envelope allows) -> deny  ``tool_not_allowed``
3. the arguments pass the tool's input model      -> deny  ``invalid_input``
4. budgets: tool calls made < max_tool_calls,
   tokens used < max_tokens_per_task              -> deny  ``tool_call_budget_exhausted`` / ``token_budget_exhausted``
5. the kill switch is off (writes only; reads continue) -> deny ``kill_switch``
6. the pattern permits writes                     -> deny  ``pattern_forbids_write``
   the write's arguments agree with the system of record (``state.record``: what the
   tool's ``record_check`` found, run by the executor) -> deny ``record_not_found`` /
                                                     ``record_mismatch`` / ``record_unverified``
7. the workflow's autonomy level (earned execution rights, ``governed_agents.autonomy``):
   ``suggest`` refuses every write                -> deny  ``autonomy_suggest``
   ``draft`` drafts (asks for approval) but never executes, approved or not
                                                  -> needs_approval / deny ``autonomy_draft``
   ``approve`` requires an approval for every write, whatever the envelope says
   ``bounded`` (or unmanaged: ``state.autonomy_level`` is None) leaves the envelope's rules
8. a write the envelope lets run autonomously (``permissions.autonomous_writes``, pattern
   autonomous_bounded / continuous) without an approval attached: inside every bound
   (``state.bounds``: counts of recorded writes; the amount threshold) -> allow ``within_bounds``;
   past any, or bounds unknown                    -> needs_approval (``bound_exceeded`` / ``bound_amount`` /
                                                     ``bound_unknown``); with an approval attached: step 9
9. a write that needs approval has a valid one    -> needs_approval (``approval_required`` …)
10. otherwise                                     -> allow

Writing the audit event and running the tool happen around this function.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ValidationError

from governed_agents.envelope.loader import LoadedEnvelope
from governed_agents.envelope.model import BOUNDED_PATTERNS, NO_WRITE_PATTERNS
from governed_agents.gate.registry import SideEffect, ToolRegistry, _Entry

Outcome = Literal["allow", "needs_approval", "deny"]

ALLOW: Outcome = "allow"
NEEDS_APPROVAL: Outcome = "needs_approval"
DENY: Outcome = "deny"

#: Every reason code the gate can give, for documentation and tests.
REASON_CODES: tuple[str, ...] = (
    "gate_error",
    "envelope_not_loaded",
    "workflow_mismatch",
    "unregistered_tool",
    "tool_not_allowed",
    "invalid_input",
    "tool_call_budget_exhausted",
    "token_budget_exhausted",
    "kill_switch",
    "pattern_forbids_write",
    "record_not_found",
    "record_mismatch",
    "record_unverified",
    "within_bounds",
    "bound_exceeded",
    "bound_amount",
    "bound_unknown",
    "autonomy_suggest",
    "autonomy_draft",
    "approval_required",
    "approval_not_granted",
    "approval_quorum_not_met",
    "approval_expired",
    "approval_preview_mismatch",
    "read_only_degradation",
)


class Reason(NamedTuple):
    """Why the gate decided as it did: a stable ``code`` and a sentence for people.

    A named tuple rather than a dataclass: decisions on the refusal path carry
    several, and a tuple is several times cheaper to build.
    """

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class ApprovalEvidence:
    """What the approvals layer says about the approval attached to a write."""

    request_id: str
    status: str
    approvers: tuple[str, ...]
    preview_digest: str
    expires_at: _dt.datetime
    min_approvals_met: bool


@dataclass(frozen=True, slots=True)
class ToolCallRequest:
    tool: str
    arguments: dict[str, Any]
    task_id: str
    trace_id: str
    workflow: str
    principal: str
    approval: ApprovalEvidence | None = None
    #: The digest of the preview the caller is about to execute; when given,
    #: the approval must have been granted for exactly this preview.
    preview_digest: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GateState:
    """The ledger snapshot a decision needs; ``now`` is the only clock the gate reads."""

    now: _dt.datetime
    tool_calls_made: int = 0
    tokens_used: int = 0
    kill_switch_global: bool = False
    kill_switch_workflow: bool = False
    #: The workflow's autonomy level now (suggest | draft | approve | bounded), or None when unmanaged.
    autonomy_level: str | None = None
    #: Counts of recorded writes against the call's autonomous-write bounds
    #: (``governed_agents.bounds.BoundsSnapshot``), or None when not counted.
    bounds: Any = None
    #: Where a write's arguments disagree with the system of record, as ``(code, message)``
    #: pairs from the tool's ``record_check`` (empty: they agree, or the tool has no check).
    record: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    reasons: tuple[Reason, ...]
    tool: str
    side_effect: SideEffect | None
    envelope_version: str | None
    envelope_digest: str | None
    validated_input: BaseModel | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome == ALLOW

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        """The decision as an audit payload.

        The validated input appears only as its digest: audit events are
        append-only and hash-chained, so personal data must not land in them.
        """
        from governed_agents.canonical import digest

        input_digest = None
        if self.validated_input is not None:
            input_digest = digest(self.validated_input.model_dump(mode="json"))
        return {
            "outcome": self.outcome,
            "reasons": [r.to_dict() for r in self.reasons],
            "tool": self.tool,
            "side_effect": self.side_effect,
            "envelope_version": self.envelope_version,
            "envelope_digest": self.envelope_digest,
            "input_digest": input_digest,
        }


@dataclass(frozen=True, slots=True)
class _Plan:
    """What can be settled once per (envelope, registry)."""

    workflow: str
    version: str
    digest: str
    allowed: frozenset[str]
    #: Registered tools the envelope allows: the fast path's only lookup.
    tools: dict[str, _Entry]
    #: ``tool_not_allowed`` decisions by tool name (registered tools only, so bounded).
    not_allowed: dict[str, "Decision"]
    max_tool_calls: int
    max_tokens: int
    writes_forbidden: bool
    pattern: str
    requires_approval: bool
    min_approvals: int
    #: autonomous_writes by tool (empty unless the pattern allows bounded autonomy).
    autonomous: dict[str, Any]
    # Reasons that never change for this envelope.
    r_calls: Reason
    r_tokens: Reason
    r_pattern: Reason


_MAX_PLANS = 64
_UTC = _dt.timezone.utc


def _plan(envelope: LoadedEnvelope, registry: ToolRegistry) -> _Plan:
    env = envelope.envelope
    listed = frozenset(env.permissions.allowed_tools)
    # Allowing a reversible write allows its registered compensation (its undo, e.g. a
    # reversing entry); that call passes every later check like any write.
    allowed = listed | {entry.spec.compensation_tool for name, entry in registry._entries.items()
                        if name in listed and entry.spec.compensation_tool}
    budgets = env.budgets
    plan = _Plan(
        workflow=env.workflow,
        version=env.version,
        digest=envelope.digest,
        allowed=allowed,
        tools={name: entry for name, entry in registry._entries.items() if name in allowed},
        not_allowed={},
        max_tool_calls=budgets.max_tool_calls,
        max_tokens=budgets.max_tokens_per_task,
        writes_forbidden=env.pattern in NO_WRITE_PATTERNS,
        pattern=env.pattern,
        requires_approval=env.permissions.write_actions_require_approval,
        min_approvals=env.permissions.min_approvals,
        autonomous=({w.tool: w for w in env.permissions.autonomous_writes}
                    if env.pattern in BOUNDED_PATTERNS else {}),
        r_calls=Reason(
            "tool_call_budget_exhausted",
            f"tool call budget exhausted: max_tool_calls is {budgets.max_tool_calls} for one task",
        ),
        r_tokens=Reason(
            "token_budget_exhausted",
            f"token budget exhausted: max_tokens_per_task is {budgets.max_tokens_per_task}",
        ),
        r_pattern=Reason(
            "pattern_forbids_write",
            f"the envelope's pattern is {env.pattern}: no write tools may run",
        ),
    )
    if len(registry._plans) >= _MAX_PLANS:
        registry._plans.clear()
    registry._plans[envelope.digest] = plan
    return plan


_R_KILL_GLOBAL = Reason(
    "kill_switch", "the global kill switch is on: writes are refused; reads continue (read-only degradation)"
)
_R_KILL_WORKFLOW = Reason(
    "kill_switch", "the workflow's kill switch is on: writes are refused; reads continue (read-only degradation)"
)
_R_READ_ONLY = Reason("read_only_degradation", "the kill switch is on: this read runs, writes are refused")
_R_APPROVAL_REQUIRED = Reason(
    "approval_required", "this write needs an approved request (write_actions_require_approval is true)"
)
_R_AUTONOMY_SUGGEST = Reason(
    "autonomy_suggest", "the workflow's autonomy level is suggest: the agent only suggests; no write runs")
_R_AUTONOMY_DRAFT = Reason(
    "autonomy_draft", "the workflow's autonomy level is draft: the agent drafts writes for a person to apply; "
    "it executes none, approved or not")
_NO_REASONS: tuple[Reason, ...] = ()
_RECORD_CODES = frozenset({"record_not_found", "record_mismatch", "record_unverified"})


def _loc(loc: tuple[Any, ...]) -> str:
    if len(loc) == 1 and type(loc[0]) is str:
        return loc[0]
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "arguments"


def _input_reasons(exc: ValidationError) -> tuple[Reason, ...]:
    return tuple(
        [
            Reason("invalid_input", _loc(e["loc"]) + ": " + e["msg"])
            for e in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
    )


def _aware(value: _dt.datetime) -> _dt.datetime:
    return value.replace(tzinfo=_UTC) if value.tzinfo is None else value


def _approval_reasons(plan: _Plan, request: ToolCallRequest, now: _dt.datetime) -> tuple[Reason, ...]:
    approval = request.approval
    if approval is None:
        return (_R_APPROVAL_REQUIRED,)
    reasons = []
    if approval.status != "approved":
        reasons.append(Reason("approval_not_granted", f"approval {approval.request_id} is {approval.status}, not approved"))
    distinct = len(set(approval.approvers))
    if not approval.min_approvals_met or distinct < plan.min_approvals:
        reasons.append(
            Reason(
                "approval_quorum_not_met",
                f"approval {approval.request_id} has {distinct} distinct approver(s); {plan.min_approvals} needed",
            )
        )
    if _aware(approval.expires_at) <= _aware(now):
        reasons.append(Reason("approval_expired", f"approval {approval.request_id} expired at {approval.expires_at.isoformat()}"))
    if request.preview_digest is not None and approval.preview_digest != request.preview_digest:
        reasons.append(
            Reason(
                "approval_preview_mismatch",
                f"approval {approval.request_id} was granted for preview {approval.preview_digest}, "
                f"not for {request.preview_digest}",
            )
        )
    return tuple(reasons)


def _decide(envelope: LoadedEnvelope, registry: ToolRegistry, request: ToolCallRequest, state: GateState) -> Decision:
    if type(envelope) is not LoadedEnvelope:
        return Decision(
            DENY,
            (Reason("envelope_not_loaded", "the gate takes only an envelope from the loader (LoadedEnvelope)"),),
            request.tool,
            None,
            None,
            None,
        )
    plan = registry._plans.get(envelope.digest)
    if plan is None:
        plan = _plan(envelope, registry)
    tool = request.tool
    if request.workflow != plan.workflow:
        return Decision(
            DENY,
            (Reason("workflow_mismatch", f"request is for workflow {request.workflow!r}, envelope governs {plan.workflow!r}"),),
            tool,
            None,
            plan.version,
            plan.digest,
        )
    entry = plan.tools.get(tool)
    if entry is None:
        known = registry._entries.get(tool)
        if known is None:
            return Decision(
                DENY,
                (Reason("unregistered_tool", f"no tool named {tool!r} is registered"),),
                tool,
                None,
                plan.version,
                plan.digest,
            )
        decision = plan.not_allowed.get(tool)
        if decision is None:
            decision = plan.not_allowed[tool] = Decision(
                DENY,
                (Reason("tool_not_allowed", f"{tool} is not in the envelope's allowed_tools (version {plan.version})"),),
                tool,
                known.spec.side_effect,
                plan.version,
                plan.digest,
            )
        return decision
    spec = entry.spec
    arguments = request.arguments
    try:
        validated = spec.input_model.model_validate(arguments)
    except ValidationError as exc:
        return Decision(DENY, _input_reasons(exc), tool, spec.side_effect, plan.version, plan.digest)
    accepted = entry.accepted_keys
    if accepted is not None and isinstance(arguments, dict) and not accepted.issuperset(arguments):
        extra = sorted(str(k) for k in arguments if k not in accepted)
        return Decision(
            DENY,
            tuple(Reason("invalid_input", f"{k}: unexpected argument") for k in extra),
            tool,
            spec.side_effect,
            plan.version,
            plan.digest,
        )
    if state.tool_calls_made >= plan.max_tool_calls or state.tokens_used >= plan.max_tokens:
        reasons = []
        if state.tool_calls_made >= plan.max_tool_calls:
            reasons.append(plan.r_calls)
        if state.tokens_used >= plan.max_tokens:
            reasons.append(plan.r_tokens)
        return Decision(DENY, tuple(reasons), tool, spec.side_effect, plan.version, plan.digest, validated)
    killed = state.kill_switch_global or state.kill_switch_workflow
    if not entry.is_write:
        reasons = (_R_READ_ONLY,) if killed else _NO_REASONS
        return Decision(ALLOW, reasons, tool, "read", plan.version, plan.digest, validated)
    if killed:
        reason = _R_KILL_GLOBAL if state.kill_switch_global else _R_KILL_WORKFLOW
        return Decision(DENY, (reason,), tool, "write", plan.version, plan.digest, validated)
    if plan.writes_forbidden:
        return Decision(DENY, (plan.r_pattern,), tool, "write", plan.version, plan.digest, validated)
    if state.record:
        # A caller's statement of a recorded fact (an amount, a request's IBAN) is not what a
        # bound or an approver may rely on: a write that contradicts the record does not run.
        reasons = tuple(Reason(code if code in _RECORD_CODES else "record_mismatch", str(message))
                        for code, message in state.record)
        return Decision(DENY, reasons, tool, "write", plan.version, plan.digest, validated)
    level = state.autonomy_level
    if level is not None and level != "bounded":
        if level == "suggest":
            return Decision(DENY, (_R_AUTONOMY_SUGGEST,), tool, "write", plan.version, plan.digest, validated)
        reasons = _approval_reasons(plan, request, state.now)
        if reasons:
            return Decision(NEEDS_APPROVAL, reasons, tool, "write", plan.version, plan.digest, validated)
        if level == "draft":
            return Decision(DENY, (_R_AUTONOMY_DRAFT,), tool, "write", plan.version, plan.digest, validated)
        if level != "approve":  # an unknown level is no licence: fail closed
            return Decision(DENY, (Reason("gate_error", f"unknown autonomy level {level!r}; refusing"),),
                            tool, "write", plan.version, plan.digest, validated)
        return Decision(ALLOW, _NO_REASONS, tool, "write", plan.version, plan.digest, validated)
    rule = plan.autonomous.get(tool)
    if rule is not None:
        if request.approval is None:
            reasons = _bound_reasons(rule, validated, state.bounds, tool)
            if reasons:
                return Decision(NEEDS_APPROVAL, reasons, tool, "write", plan.version, plan.digest, validated)
            labels = ", ".join(f"{s.used + 1}/{s.max} ({s.label})" for s in state.bounds.scopes)
            return Decision(ALLOW, (Reason("within_bounds", f"autonomous write within its bounds: {labels or 'no limits'}"),),
                            tool, "write", plan.version, plan.digest, validated)
        # Past a bound, a person approved it: the approval must hold, whatever write_actions_require_approval says.
        reasons = _approval_reasons(plan, request, state.now)
        if reasons:
            return Decision(NEEDS_APPROVAL, reasons, tool, "write", plan.version, plan.digest, validated)
        return Decision(ALLOW, _NO_REASONS, tool, "write", plan.version, plan.digest, validated)
    if plan.requires_approval:
        reasons = _approval_reasons(plan, request, state.now)
        if reasons:
            return Decision(NEEDS_APPROVAL, reasons, tool, "write", plan.version, plan.digest, validated)
    return Decision(ALLOW, _NO_REASONS, tool, "write", plan.version, plan.digest, validated)


def _bound_reasons(rule, validated, bounds, tool: str) -> tuple[Reason, ...]:
    """Why an autonomous write is outside its bounds (empty: inside). Unknown counts fail closed
    towards a person: the write becomes an approval request, never a silent drop."""
    from governed_agents.bounds import amount_over

    reasons = []
    over = amount_over(rule, validated)
    if over is not None:
        reasons.append(Reason("bound_amount", over))
    if bounds is None or getattr(bounds, "tool", None) != tool:
        reasons.append(Reason("bound_unknown", f"no count of recorded writes was given for {tool}'s bounds"))
        return tuple(reasons)
    for problem in bounds.problems:
        reasons.append(Reason("bound_unknown", problem))
    for scope in bounds.scopes:
        if scope.used >= scope.max:
            reasons.append(Reason("bound_exceeded", f"bound reached: {scope.used} of {scope.label} already recorded"))
    return tuple(reasons)


def decide(envelope: LoadedEnvelope, registry: ToolRegistry, request: ToolCallRequest, state: GateState) -> Decision:
    """Decide one tool call. Never raises; see the module docstring for the order of checks."""
    try:
        return _decide(envelope, registry, request, state)
    except Exception as exc:  # noqa: BLE001 - the gate fails closed, whatever went wrong
        return Decision(
            DENY,
            (Reason("gate_error", f"the gate could not decide ({type(exc).__name__}: {exc}); refusing"),),
            request.tool if isinstance(getattr(request, "tool", None), str) else repr(getattr(request, "tool", None)),
            None,
            getattr(envelope, "version", None) if isinstance(envelope, LoadedEnvelope) else None,
            getattr(envelope, "digest", None) if isinstance(envelope, LoadedEnvelope) else None,
        )
