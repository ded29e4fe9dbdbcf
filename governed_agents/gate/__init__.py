"""The one gate every tool call passes: the tool registry and the decision function.

See docs/gate.md for the order of checks, the reason codes and how to register a tool.
"""

from governed_agents.gate.decision import (
    ALLOW,
    DENY,
    NEEDS_APPROVAL,
    REASON_CODES,
    ApprovalEvidence,
    Decision,
    GateState,
    Reason,
    ToolCallRequest,
    decide,
)
from governed_agents.gate.output import ToolOutputInvalid, validate_output
from governed_agents.gate.registry import Compensation, RegisteredTool, ToolRegistrationError, ToolRegistry, ToolSpec

__all__ = [
    "ALLOW",
    "DENY",
    "NEEDS_APPROVAL",
    "REASON_CODES",
    "ApprovalEvidence",
    "Compensation",
    "Decision",
    "GateState",
    "Reason",
    "RegisteredTool",
    "ToolCallRequest",
    "ToolOutputInvalid",
    "ToolRegistrationError",
    "ToolRegistry",
    "ToolSpec",
    "decide",
    "validate_output",
]
