"""Validating what a tool returns before the next step sees it.

A tool's output is data from outside the process (an ERP, a model-backed
service); it is checked against the tool's output model exactly as its input
was, and a failure stops the step with ``ToolOutputInvalid``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from governed_agents.errors import GovernanceError
from governed_agents.gate.registry import ToolRegistry


class ToolOutputInvalid(GovernanceError):
    """A tool returned something that does not satisfy its output model."""


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "output"


def validate_output(registry: ToolRegistry, tool: str, raw: Any) -> BaseModel:
    """``raw`` validated against ``tool``'s output model; raises ``ToolOutputInvalid`` otherwise."""
    spec = registry.spec(tool)
    if spec is None:
        raise ToolOutputInvalid(f"cannot validate the output of {tool!r}: no such tool is registered")
    model = spec.output_model
    try:
        if isinstance(raw, model):
            # An instance may have been built with model_construct or mutated: check its data.
            data = raw.model_dump(by_alias=True, exclude=set(type(raw).model_computed_fields) or None)
            return model.model_validate(data)
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{_loc(tuple(e['loc']))}: {e['msg']}"
            for e in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
        raise ToolOutputInvalid(
            f"tool {tool} returned output that fails {model.__name__}: " + "; ".join(problems),
            hint="the output was not passed on; fix the tool or its output model",
            details={"tool": tool, "errors": problems},
        ) from None
