"""The envelope's JSON Schema, as committed in ``policies/envelope.schema.json``.

Editors that speak JSON Schema (e.g. the YAML language server) can use it to
complete and check envelopes; a test keeps the committed file up to date.
"""

from __future__ import annotations

import json
from typing import Any

from governed_agents.envelope.model import Envelope


def envelope_json_schema() -> dict[str, Any]:
    return Envelope.model_json_schema()


def envelope_json_schema_text() -> str:
    """The schema as the committed file holds it: 2-space indented JSON and a final newline."""
    return json.dumps(envelope_json_schema(), indent=2, ensure_ascii=False) + "\n"
