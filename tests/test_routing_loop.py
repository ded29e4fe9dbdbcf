"""The agent loop: the model proposes tool calls, the gate disposes, and it always ends with a receipt."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
import yaml
from pydantic import BaseModel, ConfigDict

from governed_agents.envelope import load_envelope_text
from governed_agents.executor import GovernedExecutor, TaskContext
from governed_agents.gate import ToolRegistry
from governed_agents.identity.keys import public_key
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import task_outcomes
from governed_agents.receipts.signing import verify_signed
from governed_agents.receipts.store import get_receipt
from governed_agents.routing import ModelGateway, run_tool_loop, spend_report, tool_schemas
from governed_agents.testing import ScriptedModelServer, forever, text, tool_call

from tests.fixtures import REPO

MODEL = "loop-router"


class LookupInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    po_number: str


class LookupOutput(BaseModel):
    found: bool
    po_number: str


def _registry():
    registry = ToolRegistry()
    looked_up: list[str] = []

    @registry.tool(name="test.lookup", input=LookupInput, output=LookupOutput, side_effect="read",
                   reversible=True, description="Look a purchase order up.")
    def lookup(args: LookupInput) -> dict:
        looked_up.append(args.po_number)
        return {"found": True, "po_number": args.po_number}

    return registry, looked_up


def _envelope(max_tool_calls=3):
    data = yaml.safe_load((REPO / "policies" / "invoice_reconcile.yaml").read_text())
    data["version"] = str(data["version"])
    data["budgets"]["max_tool_calls"] = max_tool_calls
    data["permissions"]["allowed_tools"] = ["test.lookup"]
    return load_envelope_text(yaml.safe_dump(data), "loop-test.yaml")


@pytest.fixture(scope="module")
def server():
    with ScriptedModelServer() as s:
        yield s


@pytest.fixture
def ledger(sqlite_url):
    return Ledger.open(sqlite_url)


def test_a_model_that_never_stops_calling_tools_hits_max_tool_calls(server, ledger):
    server.reset()
    server.script(MODEL, forever(tool_call("test__lookup", {"po_number": "4500123"})))
    catalog = server.catalog({alias: MODEL for alias in ("small-fast", "safe-medium", "frontier")})
    registry, looked_up = _registry()
    executor = GovernedExecutor(ledger, registry)
    task = TaskContext(envelope=_envelope(max_tool_calls=3), requested_by="alice", tenant="acme")

    result = run_tool_loop(ModelGateway(ledger, catalog), executor, task,
                           [{"role": "user", "content": "Check order 4500123"}], tools=["test.lookup"])

    assert (result.outcome, result.stop_reason) == ("stopped", "max_tool_calls")
    assert looked_up == ["4500123"] * 3 and task.tool_calls_made == 3
    assert [r.outcome for r in result.tool_results] == ["executed"] * 3 + ["denied"]
    assert result.tool_results[-1].decision.codes == ("tool_call_budget_exhausted",)
    assert len(server.requests_for(MODEL)) == 4 and result.turns == 4
    # the model was told each result, and the refusal
    last = json.loads(result.messages[-1]["content"])
    assert last["executed"] is False and "max_tool_calls is 3" in last["reasons"][0]

    receipt = result.receipt.receipt
    assert verify_signed(get_receipt(ledger, receipt.receipt_id), public_key()).receipt_id == receipt.receipt_id
    assert (receipt.kind, receipt.trace_id, receipt.requester) == ("run", task.trace_id, "alice")
    assert receipt.notes.startswith("stopped: max_tool_calls")
    assert [c.outcome for c in receipt.tool_calls] == ["allow"] * 3 + ["deny"]
    assert receipt.extra["stop_reason"] == "max_tool_calls" and len(receipt.extra["model_calls"]) == 4
    assert str(receipt.cost_usd) == task.cost_usd and receipt.tokens == task.tokens_used > 0
    assert receipt.extra["spend"]["model_calls"] == 4 and not receipt.offline_model
    with ledger.engine.connect() as c:
        assert c.execute(sa.select(task_outcomes.c.outcome)).scalar() == "stopped"
    kinds = [e.kind for e in ledger.events(trace_id=task.trace_id)]
    assert kinds.count("model.call") == 4 and kinds.count("tool.executed") == 3 and "agent.loop_finished" in kinds
    assert ledger.verify().ok


def test_the_offline_model_drives_the_loop_to_an_answer(ledger):
    registry, looked_up = _registry()
    executor = GovernedExecutor(ledger, registry)
    task = TaskContext(envelope=_envelope(), requested_by="alice", tenant="acme")
    gateway = ModelGateway(ledger, REPO / "policies" / "models.yaml")
    result = run_tool_loop(gateway, executor, task, [
        {"role": "system", "content": "Extract the purchase order reference and verify it. Answer in JSON."},
        {"role": "user", "content": "Invoice 77 refers to our order 4500123 of March."}], tools=["test.lookup"])
    assert result.outcome == "answered" and looked_up == ["4500123"]
    assert json.loads(result.answer) == {"candidates": ["4500123"], "confidence": 0.9,
                                         "evidence": "Invoice 77 refers to our order 4500123 of March.", "po_reference": "4500123",
                                         "verified_with_tool": True}
    assert result.receipt.receipt.offline_model and result.receipt.receipt.notes == "the model answered"
    totals = spend_report(ledger)["totals"]
    assert (totals["completed_tasks"], totals["tasks"]) == (1, 1)
    assert totals["cost_per_completed_task_usd"] == totals["cost_usd"]


def test_malformed_tool_arguments_run_nothing(server, ledger):
    server.reset()
    server.script(MODEL, tool_call("test__lookup", '{"po_number": '), text("I give up"))
    catalog = server.catalog({alias: MODEL for alias in ("small-fast", "safe-medium", "frontier")})
    registry, looked_up = _registry()
    task = TaskContext(envelope=_envelope(), requested_by="alice")
    result = run_tool_loop(ModelGateway(ledger, catalog), GovernedExecutor(ledger, registry), task,
                           [{"role": "user", "content": "go"}], tools=["test.lookup"])
    assert result.outcome == "answered" and looked_up == [] and task.tool_calls_made == 0
    assert "not valid JSON" in json.loads(result.messages[2]["content"])["error"]
    assert result.receipt.receipt.extra["malformed_tool_calls"] == 1


def test_tool_schemas_use_protocol_safe_names():
    registry, _ = _registry()
    (schema,) = tool_schemas(registry, ["test.lookup"])
    assert schema["function"]["name"] == "test__lookup"
    assert schema["function"]["parameters"]["required"] == ["po_number"]
