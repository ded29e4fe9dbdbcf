"""Testing aids that ship with the product.

``scripted_model_server``: an OpenAI-compatible chat-completions server on
loopback whose replies are scripted per model (tool calls, errors, malformed
bodies, slow answers, endless tool calling), for driving litellm and the model
gateway over real HTTP in tests and benchmarks.
"""

from governed_agents.testing.scripted_model_server import (
    ReceivedRequest,
    Reply,
    ScriptedModelServer,
    error,
    forever,
    malformed,
    slow,
    text,
    tool_call,
    tool_calls,
)

__all__ = [
    "ReceivedRequest",
    "Reply",
    "ScriptedModelServer",
    "error",
    "forever",
    "malformed",
    "slow",
    "text",
    "tool_call",
    "tool_calls",
]
