"""A model proposing tool calls, the gate disposing of them: the bounded agent loop.

``run_tool_loop(gateway, executor, task, messages, tools=[...])`` asks the model
(through the gateway, so every turn is budgeted), passes each proposed tool
call to ``GovernedExecutor.call`` (so the gate decides it), feeds the results
back, and stops when the model answers, when the gate refuses a call because
the envelope's ``max_tool_calls`` is used up, when a budget or confirmation
stops the model, or after ``max_turns``. However it stops, it leaves a signed
``run`` receipt (tool calls, cost, tokens, model calls, downgrades, why it
stopped) and the task's outcome.

Tool names with a dot (``erp.match_po``) are offered to the model as
``erp__match_po``: function names in the chat-completions protocol cannot
contain dots.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from governed_agents.canonical import digest
from governed_agents.errors import GovernanceError
from governed_agents.routing.errors import BudgetExhausted, ConfirmationRefused, ConfirmationRequired, ModelCallFailed

SEPARATOR = "__"

ANSWERED = "answered"
STOPPED = "stopped"


def function_name(tool: str) -> str:
    return tool.replace(".", SEPARATOR)


def tool_name(function: str) -> str:
    return function.replace(SEPARATOR, ".", 1)


def tool_schemas(registry: Any, names: list[str] | tuple[str, ...]) -> list[dict]:
    """Chat-completions tool definitions for registered tools (input JSON Schema from their pydantic model)."""
    out = []
    for name in names:
        spec = registry.spec(name)
        if spec is None:
            raise GovernanceError(f"tool {name!r} is not registered; it cannot be offered to the model")
        out.append({
            "type": "function",
            "function": {
                "name": function_name(name),
                "description": spec.description,
                "parameters": spec.input_model.model_json_schema(),
            },
        })
    return out


@dataclass
class LoopResult:
    """How the loop ended and what it leaves behind."""

    outcome: str  # answered | stopped
    stop_reason: str | None  # None when answered; max_tool_calls | max_turns | budget_exhausted | …
    answer: str | None
    messages: list[dict]
    model_calls: list[Any] = field(default_factory=list)  # ModelResult
    tool_results: list[Any] = field(default_factory=list)  # CallResult
    turns: int = 0
    error: GovernanceError | None = None
    receipt: Any = None  # SignedReceipt

    @property
    def downgrades(self) -> list[dict]:
        return [d.to_dict() for call in self.model_calls for d in call.downgrades]


def run_tool_loop(gateway: Any, executor: Any, task: Any, messages: list[dict], *, tools: list[str],
                  tier: str = "router", max_turns: int | None = None, purpose: str | None = None,
                  receipt: bool = True) -> LoopResult:
    """Run the model ↔ gate loop for ``task`` (a ``TaskContext``) until it answers or is stopped."""
    schemas = tool_schemas(executor.registry, tools)
    budget = task.envelope.envelope.budgets.max_tool_calls
    max_turns = max_turns if max_turns is not None else budget + 2
    conversation = [dict(m) for m in messages]
    result = LoopResult(outcome=STOPPED, stop_reason=None, answer=None, messages=conversation)
    malformed = 0
    while True:
        if result.turns >= max_turns:
            result.stop_reason = "max_turns"
            break
        try:
            call = gateway.complete(task, tier, conversation, schemas, purpose=purpose)
        except BudgetExhausted as exc:
            result.stop_reason, result.error = "budget_exhausted", exc
            break
        except (ConfirmationRequired, ConfirmationRefused) as exc:
            result.stop_reason, result.error = "confirmation_required" if isinstance(exc, ConfirmationRequired) \
                else "confirmation_refused", exc
            break
        except ModelCallFailed as exc:
            result.stop_reason, result.error = "model_failed", exc
            break
        result.turns += 1
        result.model_calls.append(call)
        conversation.append(call.message)
        if not call.tool_calls:
            result.outcome, result.answer = ANSWERED, call.content
            break
        for proposed in call.tool_calls:
            if proposed.parsed is None:
                # Not even data: nothing for the gate to validate. Tell the model, run nothing.
                malformed += 1
                content = {"error": proposed.error, "executed": False}
            else:
                outcome = executor.call(task, tool_name(proposed.name), proposed.parsed,
                                        reason=f"proposed by the {call.tier} tier ({call.model})")
                result.tool_results.append(outcome)
                if outcome.decision is not None and "tool_call_budget_exhausted" in outcome.decision.codes:
                    result.stop_reason = "max_tool_calls"
                content = _tool_content(outcome)
            conversation.append({"role": "tool", "tool_call_id": proposed.id,
                                 "content": json.dumps(content, sort_keys=True, default=str)})
        if result.stop_reason:
            break
    if receipt:
        result.receipt = _receipt(executor.ledger, task, result, malformed)
    from governed_agents.routing.report import record_task_outcome

    record_task_outcome(executor.ledger, task, "completed" if result.outcome == ANSWERED else "stopped",
                        detail=result.stop_reason)
    return result


def _tool_content(outcome: Any) -> dict:
    if outcome.ok and outcome.output is not None:
        return {"executed": True, "output": outcome.output.model_dump(mode="json")}
    reasons = [r.message for r in getattr(outcome.decision, "reasons", ())] if outcome.decision is not None else []
    content: dict[str, Any] = {"executed": False, "outcome": outcome.outcome, "reasons": reasons}
    if outcome.approval_request is not None:
        content["approval_request_id"] = outcome.approval_request.id
    return content


def _receipt(ledger: Any, task: Any, result: LoopResult, malformed: int) -> Any:
    """A signed ``run`` receipt anchored to an ``agent.loop_finished`` audit event."""
    import uuid

    from governed_agents.identity.keys import signing_key
    from governed_agents.receipts.model import Receipt
    from governed_agents.receipts.signing import sign_receipt
    from governed_agents.receipts.store import store_receipt
    from governed_agents.routing.report import task_spend
    from governed_agents.timeutil import utcnow

    spend = task_spend(ledger, task.task_id)
    notes = ("the model answered" if result.outcome == ANSWERED
             else f"stopped: {result.stop_reason}" + (f" ({result.error.message})" if result.error else ""))
    extra = {
        "stop_reason": result.stop_reason,
        "turns": result.turns,
        "model_calls": [c.to_dict() for c in result.model_calls],
        "downgrades": result.downgrades,
        "spend": spend,
        "malformed_tool_calls": malformed,
        "answer_digest": digest(result.answer) if result.answer is not None else None,
    }
    context = {"actor": getattr(task, "agent", None), "workflow": task.workflow, "trace_id": task.trace_id,
               "run_id": task.run_id, "envelope_version": task.envelope.version,
               "envelope_digest": task.envelope.digest}
    with ledger.transaction() as conn:
        anchor = ledger.append("agent.loop_finished", {
            "task_id": task.task_id, "outcome": result.outcome, "stop_reason": result.stop_reason,
            "turns": result.turns, "tool_calls_made": task.tool_calls_made, "cost_usd": spend["cost_usd"],
        }, conn=conn, **context)
        body = Receipt(
            receipt_id=str(uuid.uuid4()),
            kind="run",
            workflow=task.workflow,
            envelope_version=task.envelope.version,
            envelope_digest=task.envelope.digest,
            trace_id=task.trace_id,
            run_id=task.run_id,
            requester=task.requested_by,
            tool_calls=list(task.calls),
            checks=list(task.checks),
            cost_usd=task.cost_usd,
            tokens=task.tokens_used,
            started_at=task.started_at,
            finished_at=utcnow(),
            audit_anchor={"seq": anchor.seq, "hash": anchor.hash},
            notes=notes,
            offline_model=spend["offline_model"],
            extra=extra,
        )
        signed = sign_receipt(body, signing_key())
        store_receipt(ledger, signed, conn=conn)
    return signed


__all__ = ["ANSWERED", "STOPPED", "LoopResult", "function_name", "run_tool_loop", "tool_name", "tool_schemas"]
