"""Routing a PO-reference extraction: rules, then the router tier, then reasoning only when needed."""

from __future__ import annotations

import pytest
import yaml

from governed_agents.envelope import load_envelope_text
from governed_agents.executor import TaskContext
from governed_agents.ledger import Ledger
from governed_agents.routing import ModelGateway, ModelOutputInvalid, find_po_reference
from governed_agents.testing import ScriptedModelServer, text

from tests.fixtures import REPO


@pytest.fixture
def task():
    data = yaml.safe_load((REPO / "policies" / "invoice_reconcile.yaml").read_text())
    data["version"] = str(data["version"])
    return TaskContext(envelope=load_envelope_text(yaml.safe_dump(data), "x.yaml"), requested_by="alice")


@pytest.fixture
def gateway(sqlite_url):
    return ModelGateway(Ledger.open(sqlite_url), REPO / "policies" / "models.yaml", cache=False)


@pytest.mark.parametrize(
    ("item", "po_field", "expected", "settled_by", "tiers"),
    [
        ("PO 4500123", None, "4500123", "rules", []),
        ("see attachment", "4500777", "4500777", "rules", []),
        ("Thank you for your business", None, None, "rules", []),
        ("as per our order 4500123 of March", None, "4500123", "router", ["router"]),
        ("PO 4500119 was cancelled, please use order 4500123 instead", None, "4500123", "reasoning", ["reasoning"]),
        ("Invoice 88012 for consulting services", None, None, "reasoning", ["router", "reasoning"]),
    ],
)
def test_each_item_goes_only_as_far_as_it_needs(gateway, task, item, po_field, expected, settled_by, tiers):
    found = find_po_reference(gateway, task, item, po_field=po_field)
    assert (found.po_reference, found.settled_by) == (expected, settled_by)
    assert [c.tier for c in found.calls] == tiers
    assert found.cost_usd == sum(c.cost_usd for c in found.calls)


def test_an_unusable_router_answer_escalates_and_an_unusable_reasoning_answer_raises(sqlite_url, task):
    with ScriptedModelServer() as server:
        catalog = server.catalog({"small-fast": "x-router", "safe-medium": "x-fallback", "frontier": "x-reasoning"})
        gateway = ModelGateway(Ledger.open(sqlite_url), catalog, cache=False)
        server.script("x-router", text("the PO is probably 4500123"))
        server.script("x-reasoning", text('{"po_reference": "4500123", "confidence": 0.97}'))
        found = find_po_reference(gateway, task, "as per our order 4500123 of March")
        assert (found.po_reference, found.settled_by) == ("4500123", "reasoning")
        server.script("x-router", text('{"po_reference": "x; DROP TABLE", "confidence": 0.99}'))
        server.script("x-reasoning", text('{"po_reference": "4500123", "confidence": 7}'))
        with pytest.raises(ModelOutputInvalid, match="confidence 7 is not a number in"):
            find_po_reference(gateway, task, "as per our order 4500123 of March")
