"""The execution envelope: each workflow's versioned policy, loaded fail-closed.

``find_envelope(workflow)`` / ``load_envelope(path)`` are the only ways to get a
``LoadedEnvelope``; the gate takes nothing else. See docs/envelope.md.
"""

from governed_agents.envelope.diff import Change, diff_envelopes
from governed_agents.envelope.loader import (
    MAX_BYTES,
    EnvelopeProblem,
    LoadedEnvelope,
    envelope_path,
    find_envelope,
    load_envelope,
    load_envelope_text,
)
from governed_agents.envelope.model import (
    NO_WRITE_PATTERNS,
    PATTERNS,
    Budgets,
    Envelope,
    Logging,
    Models,
    Parameters,
    Permissions,
    Safety,
)
from governed_agents.envelope.schema import envelope_json_schema, envelope_json_schema_text

__all__ = [
    "MAX_BYTES",
    "NO_WRITE_PATTERNS",
    "PATTERNS",
    "Budgets",
    "Change",
    "Envelope",
    "EnvelopeProblem",
    "LoadedEnvelope",
    "Logging",
    "Models",
    "Parameters",
    "Permissions",
    "Safety",
    "diff_envelopes",
    "envelope_json_schema",
    "envelope_json_schema_text",
    "envelope_path",
    "find_envelope",
    "load_envelope",
    "load_envelope_text",
]
