"""A model drafts the justification an approver reads for a proposed journal entry.

``draft_justification(gateway, task, facts)`` sends the facts reconciliation established — the
invoice, its purchase order, the vendor, the envelope and its price tolerance, and the record ids
the run read — to the ``router`` tier through the gateway (budget reservation, redacted
transcript, audit event) and returns the model's text. The text is the model's, so it is checked,
not trusted: the caller runs ``safety.citations.check_citations`` on it, and a claim that cites
nothing, or cites a record the run never read, fails the blocking ``policy_conformance`` check
(nothing is requested for approval).

Only ids and numbers go into the prompt — no memo, no name, no free text from the invoice — so the
model has nothing personal to repeat and nothing planted to obey.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from governed_agents.routing.errors import ModelOutputInvalid

SYSTEM_PROMPT = (
    "You write the justification an approver reads before a journal entry is posted. Use only the "
    "facts in the user message. In at most three sentences, say why the invoice may be posted: which "
    "purchase order and vendor it matches and that its prices are within the tolerance of the "
    "policy. Cite every record a claim rests on by its id in square brackets, for example "
    "[PO-4500123], and cite only ids listed under \"records\". Plain text, no markup."
)
MAX_CHARS = 1200


@dataclass(frozen=True)
class Justification:
    text: str
    tier: str
    calls: tuple[Any, ...] = ()


def draft_justification(gateway: Any, task: Any, facts: dict) -> Justification:
    """The model's justification for ``facts`` (keys: ``invoice_id``, ``po_number``, ``vendor_id``,
    ``policy``, ``price_tolerance_pct``, ``records``). Raises ``ModelOutputInvalid`` for an empty or
    overlong answer, and the gateway's errors (budget, model failures) as they are."""
    messages = [{"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": json.dumps(facts, sort_keys=True)}]
    result = gateway.complete(task, "router", messages, purpose="draft_justification")
    text = (result.content or "").strip()
    if not text:
        raise ModelOutputInvalid("the model drafted an empty justification")
    if len(text) > MAX_CHARS:
        raise ModelOutputInvalid(f"the model's justification is {len(text)} characters long (at most {MAX_CHARS})")
    return Justification(text, "router", (result,))


__all__ = ["MAX_CHARS", "SYSTEM_PROMPT", "Justification", "draft_justification"]
