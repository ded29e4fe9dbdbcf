"""Screens applied to text that reaches a model or a decision: prompt-injection scoring.

``score_text(text, context="data") -> InjectionScore`` is the stable API; see
``governed_agents.safety.injection``.
"""

from governed_agents.safety.injection import CONTEXTS, DEFAULT_THRESHOLD, InjectionScore, Signal, score_text

__all__ = ["CONTEXTS", "DEFAULT_THRESHOLD", "InjectionScore", "Signal", "score_text"]
