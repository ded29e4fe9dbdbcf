"""Routing a purchase-order reference extraction: rules, then the router tier, then reasoning only when needed.

``find_po_reference(gateway, task, text)``:

1. **rules** settle what has an exact form (a PO field, or a text that is only
   ``PO 4500123``; a text without any number of five or more digits has no PO
   reference): no model call, no cost. Rules also see when the router cannot
   settle an item (two or more PO-like numbers) and send it straight on;
2. the **router** tier reads free text and says how sure it is;
3. the **reasoning** tier is asked only when the router is not sure enough
   (a cancelled or replaced order, nothing found among other numbers).

The model's answer is data: it is validated (a reference of the expected form
or null, a confidence in [0, 1]) before it is used; an invalid answer from the
router escalates, from the reasoning tier it raises ``ModelOutputInvalid``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from governed_agents.routing.errors import ModelOutputInvalid

#: A text that is nothing but a PO reference.
PO_ONLY = re.compile(r"^\s*(?:P\.?\s?O\.?|purchase\s+order)?\s*(?:no\.?|number|#|:)?\s*[:#]?\s*(?P<ref>45\d{5,8})\s*$",
                     re.IGNORECASE)
_REFERENCE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,19}$")
_LONG_NUMBER = re.compile(r"\d{5,}")
_PO_LIKE = re.compile(r"\b45\d{5,8}\b")

SYSTEM_PROMPT = (
    "Extract the purchase order (PO) reference the text refers to. Ignore cancelled or replaced orders. "
    'Answer in JSON: {"po_reference": "<digits>" or null, "confidence": <0..1>}.'
)


@dataclass(frozen=True)
class PoExtraction:
    """The reference found (or None), how sure, who settled it, and what it cost."""

    po_reference: str | None
    confidence: float
    settled_by: str  # rules | router | reasoning
    calls: tuple[Any, ...] = ()  # ModelResult

    @property
    def cost_usd(self) -> Decimal:
        return sum((c.cost_usd for c in self.calls), Decimal(0))


def _answer(result: Any) -> tuple[str | None, float]:
    data = result.json()
    if not isinstance(data, dict):
        raise ModelOutputInvalid(f"call {result.call_id}: expected a JSON object, got {type(data).__name__}")
    reference = data.get("po_reference")
    confidence = data.get("confidence")
    if reference is not None and (not isinstance(reference, str) or not _REFERENCE.fullmatch(reference)):
        raise ModelOutputInvalid(f"call {result.call_id}: po_reference {reference!r} is not a reference")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1:
        raise ModelOutputInvalid(f"call {result.call_id}: confidence {confidence!r} is not a number in [0, 1]")
    return reference, float(confidence)


def find_po_reference(gateway: Any, task: Any, text: str, *, po_field: str | None = None,
                      min_confidence: float = 0.8) -> PoExtraction:
    """The PO reference ``text`` refers to: rules → router tier → reasoning tier (only when needed)."""
    for candidate in (po_field, text):
        match = PO_ONLY.match(candidate or "")
        if match:
            return PoExtraction(match.group("ref"), 1.0, "rules")
    if not _LONG_NUMBER.search(text) and not (po_field or "").strip():
        return PoExtraction(None, 1.0, "rules")
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": text}]
    options = {"response_format": {"type": "json_object"}, "purpose": "extract_po_reference"}
    calls: tuple[Any, ...] = ()
    if len(set(_PO_LIKE.findall(text))) < 2:
        router = gateway.complete(task, "router", messages, **options)
        calls = (router,)
        try:
            reference, confidence = _answer(router)
            if confidence >= min_confidence:
                return PoExtraction(reference, confidence, "router", calls)
        except ModelOutputInvalid:
            pass  # the router's answer is unusable: ask the reasoning tier
    reasoning = gateway.complete(task, "reasoning", messages, **options)
    reference, confidence = _answer(reasoning)
    return PoExtraction(reference, confidence, "reasoning", (*calls, reasoning))


__all__ = ["PO_ONLY", "SYSTEM_PROMPT", "PoExtraction", "find_po_reference"]
