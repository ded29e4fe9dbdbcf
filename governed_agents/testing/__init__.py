"""Testing aids that ship with the product.

``scripted_model_server``: an OpenAI-compatible chat-completions server on
loopback whose replies are scripted per model (tool calls, errors, malformed
bodies, slow answers, endless tool calling), for driving litellm and the model
gateway over real HTTP in tests and benchmarks.

Names are re-exported lazily, so that ``python -m
governed_agents.testing.scripted_model_server`` runs the module only once.
"""

from __future__ import annotations

from typing import Any

_NAMES = ("ReceivedRequest", "Reply", "ScriptedModelServer", "dropped", "error", "forever", "malformed", "slow",
          "text", "tool_call", "tool_calls")

__all__ = list(_NAMES)


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from governed_agents.testing import scripted_model_server

    return getattr(scripted_model_server, name)
