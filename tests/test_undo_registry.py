"""Tools declare at registration whether, and how, a write can be undone."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from governed_agents.gate import Compensation, ToolRegistrationError, ToolRegistry


class In(BaseModel):
    key: str


class Out(BaseModel):
    ok: bool


def _compensate(receipt) -> Compensation:
    return Compensation(tool="demo.unwrite", arguments={"key": "k"}, summary="undo")


def test_reversible_write_with_compensation_is_undoable():
    registry = ToolRegistry()
    handle = registry.tool(name="demo.write", input=In, output=Out, side_effect="write", reversible=True,
                           idempotency_key=lambda a: a.key, description="w", compensate=_compensate,
                           compensation_tool="demo.unwrite")(lambda a: {})
    spec = registry.spec("demo.write")
    assert handle.spec is spec
    assert spec.undoable and spec.compensate is _compensate
    assert spec.compensate(None) == Compensation("demo.unwrite", {"key": "k"}, "undo")


def test_reversible_write_without_compensation_is_not_undoable():
    registry = ToolRegistry()
    registry.tool(name="demo.write", input=In, output=Out, side_effect="write", reversible=True,
                  idempotency_key=lambda a: a.key, description="w")(lambda a: {})
    assert registry.spec("demo.write").reversible and not registry.spec("demo.write").undoable


W = dict(side_effect="write", reversible=True, idempotency_key=lambda a: a.key)


@pytest.mark.parametrize("params, message", [
    ({**W, "reversible": False, "compensate": _compensate, "compensation_tool": "demo.unwrite"},
     "reversible write tools only"),
    (dict(side_effect="read", reversible=True, compensate=_compensate, compensation_tool="demo.unwrite"),
     "reversible write tools only"),
    ({**W, "compensate": "nope", "compensation_tool": "demo.unwrite"}, "compensate must be a callable"),
    ({**W, "compensate": _compensate}, "needs compensation_tool"),
    ({**W, "compensation_tool": "demo.unwrite"}, "without compensate"),
])
def test_compensation_only_on_reversible_writes(params, message):
    registry = ToolRegistry()
    with pytest.raises(ToolRegistrationError, match=message):
        registry.tool(name="demo.write", input=In, output=Out, description="w", **params)(lambda a: {})
    assert "demo.write" not in registry
