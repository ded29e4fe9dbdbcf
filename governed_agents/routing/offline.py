"""The offline model: a deterministic stand-in that speaks chat completions.

It needs no key, no network and no weights, and it is good enough to drive the
workflows end to end: it extracts a purchase-order reference from free text,
classifies an invoice exception, drafts a payment reminder and the
justification of a proposed journal entry (citing the record ids it is given), and calls tools
whose required arguments it can fill from the conversation. The same input
always gives the same output, byte for byte.

It is labelled wherever it appears: every response carries
``system_fingerprint = OFFLINE_MARKER``, free text starts with ``TEXT_MARKER``,
the gateway's result has ``offline_model=True`` and the spend report marks
its calls. Its answers are a stand-in for a real model's, not a prediction of them.

Two capability levels mimic a small and a large model, so that routing has
something to route: ``basic`` (the ``small-fast`` tier) takes the single
candidate it sees and reports low confidence when there are several;
``advanced`` (``frontier``, ``safe-medium``) also reads cues such as
"cancelled" or "replaces" and picks the live reference.

This module is pure Python (no litellm); ``governed_agents.routing._litellm``
registers it with litellm as the provider ``offline``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any, Literal

OFFLINE_PROVIDER = "offline"
OFFLINE_MARKER = "governed-agents-offline-stand-in"
TEXT_MARKER = "[offline stand-in]"

Capability = Literal["basic", "advanced"]

#: Offline model names and their capability; any other name is ``basic``.
OFFLINE_MODELS: dict[str, Capability] = {
    "small-fast": "basic",
    "safe-medium": "advanced",
    "frontier": "advanced",
}

#: Exception classes used when the prompt does not list its own labels.
DEFAULT_LABELS: tuple[str, ...] = (
    "price_mismatch",
    "quantity_mismatch",
    "missing_po",
    "missing_goods_receipt",
    "duplicate_invoice",
    "vendor_unknown",
    "currency_mismatch",
    "tax_mismatch",
    "other",
)

_LABEL_KEYWORDS: dict[str, tuple[str, ...]] = {
    "price_mismatch": ("price", "unit price", "rate", "more expensive", "overcharg", "higher than agreed", "discount"),
    "quantity_mismatch": ("quantity", "qty", "units", "pieces", "short", "more than ordered", "fewer", "delivered only"),
    "missing_po": ("no po", "without po", "missing po", "no purchase order", "po not found", "unknown po", "no order reference"),
    "missing_goods_receipt": ("goods receipt", "not received", "not delivered", "no delivery", "gr missing", "awaiting delivery"),
    "duplicate_invoice": ("duplicate", "twice", "already paid", "same invoice", "double", "resubmit"),
    "vendor_unknown": ("unknown vendor", "vendor not found", "new supplier", "not in vendor master", "bank details changed"),
    "currency_mismatch": ("currency", "usd instead", "eur instead", "exchange rate", "fx"),
    "tax_mismatch": ("vat", "tax", "sales tax", "withholding"),
}

_NEGATION_CUES = (
    "cancel", "replac", "supersed", "instead of", "not ", "old ", "previous", "wrong", "void", "obsolete", "ignore",
)

_PO_CUE = (
    r"(?:\bP\.?\s?O\.?(?=[\s#:-]|\d)|\bpurchase[\s-]+order|\border|\bbestellung|\bbestell-?nr\.?|\bour\s+ref(?:erence)?"
    r"|\bref(?:erence)?)"
)
_PO_CUED_RE = re.compile(
    _PO_CUE + r"\s*(?:no\.?|number|nr\.?|num\.?|#|:|reference)?\s*[:#]?\s*(?P<ref>[A-Z]{0,3}-?\d{5,12})\b",
    re.IGNORECASE,
)
# SAP-style purchase-order numbers without a cue: weak evidence.
_PO_BARE_RE = re.compile(r"\b(?P<ref>45\d{5,8})\b")
_TAX_ID_RE = re.compile(r"\b(?:tax[\s_-]?id|vat(?:\s+(?:id|no\.?|number))?)\s*[:#]?\s*(?P<v>[A-Z]{0,2}[A-Z0-9-]{6,14})\b", re.IGNORECASE)
_TAX_ID_BARE_RE = re.compile(r"\b(?P<v>[A-Z]{2}\d{8,12})\b")
_INVOICE_RE = re.compile(
    r"\b(?P<v>INV[-\s]?(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{0,20})\b"
    r"|\binvoice\s*(?:no\.?|number|nr\.?|#)\s*[:#]?\s*(?P<n>[A-Z0-9][A-Z0-9-]{2,20})\b",
    re.IGNORECASE,
)
_VENDOR_ID_RE = re.compile(r"\b(?P<v>V-?\d{3,10})\b")
_AMOUNT_RE = re.compile(
    r"(?P<cur>EUR|USD|GBP|CHF|€|\$|£)\s?(?P<amt>\d{1,3}(?:[,.]\d{3})*(?:[.,]\d{2})?|\d+(?:[.,]\d{2})?)"
    r"|(?P<amt2>\d{1,3}(?:[,.]\d{3})*(?:[.,]\d{2})|\d+[.,]\d{2})\s?(?P<cur2>EUR|USD|GBP|CHF)",
)
_DATE_RE = re.compile(r"\b(?P<v>\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4})\b")
_VENDOR_RE = re.compile(r"\b(?:vendor|supplier|to)\s*[:=]\s*(?P<v>[A-Z][\w&.,' -]{1,60}?)(?=[,;\n.]|$)", re.IGNORECASE)


def capability(model: str) -> Capability:
    """The capability of an offline model name (``offline/frontier`` or ``frontier``)."""
    name = model.split("/", 1)[1] if model.startswith(OFFLINE_PROVIDER + "/") else model
    return OFFLINE_MODELS.get(name, "basic")


def estimate_tokens(text: str) -> int:
    """The offline model's token count: one token per four characters, rounded up."""
    return math.ceil(len(text) / 4) if text else 0


# -- reading the conversation --------------------------------------------------------------


def _content(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _instruction(messages: list[dict]) -> str:
    system = [_content(m) for m in messages if m.get("role") in ("system", "developer")]
    users = [_content(m) for m in messages if m.get("role") == "user"]
    return "\n".join(system + users[-1:])


def _subject(messages: list[dict]) -> str:
    """The text to work on: the last user message."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return _content(message)
    return ""


def _intent(instruction: str) -> str:
    text = instruction.lower()
    if "justification" in text:
        return "justify"
    if "classif" in text or "categor" in text:
        return "classify"
    if "remind" in text or "draft" in text or "dunning" in text:
        return "reminder"
    if (
        "extract" in text
        or "po reference" in text
        or "po number" in text
        or "purchase order" in text
        or "order reference" in text
    ):
        return "extract_po"
    return "generic"


def _wants_json(instruction: str, response_format: Any) -> bool:
    if isinstance(response_format, dict) and response_format.get("type") in ("json_object", "json_schema"):
        return True
    return "json" in instruction.lower()


# -- the skills ----------------------------------------------------------------------------


def _negated(text: str, start: int, end: int) -> bool:
    # Cues in the same clause, before the number ("replaces 4500119") or right
    # after it ("4500119 (cancelled)").
    before = re.split(r"[,;.!?\n]| and | but ", text[max(0, start - 40) : start].lower())[-1]
    after = re.split(r"[,;.!?\n]| and | but ", text[end : end + 30].lower())[0]
    return any(cue in before for cue in _NEGATION_CUES) or any(
        cue in after for cue in ("cancel", "replaced", "superseded", "void", "obsolete", "wrong")
    )


def _evidence(text: str, start: int, end: int) -> str:
    """The sentence around a match (at most 160 characters), for people to check the answer against."""
    left = max(text.rfind(stop, 0, start) for stop in (". ", "\n", "; ", "! ", "? "))
    left = 0 if left < 0 else left + 2
    rights = [i for i in (text.find(stop, end) for stop in (". ", "\n", "; ", "! ", "? ")) if i >= 0]
    right = min(rights) + 1 if rights else len(text)
    sentence = text[left:right].strip()
    return sentence if len(sentence) <= 160 else text[max(0, start - 60) : end + 60].strip()


def extract_po_reference(text: str, cap: Capability = "basic") -> dict:
    """``{"po_reference": str | None, "confidence": float, "candidates": [...], "evidence": str}``."""
    found: list[tuple[str, int, int, bool]] = []  # (ref, start, end, cued)
    seen: set[str] = set()
    for match in _PO_CUED_RE.finditer(text):
        ref = match.group("ref").upper()
        if ref not in seen:
            seen.add(ref)
            found.append((ref, match.start("ref"), match.end("ref"), True))
    for match in _PO_BARE_RE.finditer(text):
        ref = match.group("ref")
        if ref not in seen:
            seen.add(ref)
            found.append((ref, match.start("ref"), match.end("ref"), False))
    candidates = [ref for ref, *_ in found]
    if not found:
        # Sure only when nothing in the text even looks like a reference number.
        unsure = cap == "basic" and re.search(r"\d{5,}", text) is not None
        return {"po_reference": None, "confidence": 0.5 if unsure else 0.9, "candidates": [],
                "evidence": "no purchase-order number found"}
    if cap == "advanced":
        live = [f for f in found if not _negated(text, f[1], f[2])]
        pool = live or found
        if len(pool) == 1:
            ref, start, end, cued = pool[0]
            return {"po_reference": ref, "confidence": 0.95 if cued else 0.8, "candidates": candidates,
                    "evidence": _evidence(text, start, end)}
        pool = sorted(pool, key=lambda f: (not f[3], f[1]))
        ref, start, end, _ = pool[0]
        return {"po_reference": ref, "confidence": 0.6, "candidates": candidates,
                "evidence": _evidence(text, start, end)}
    ref, start, end, cued = sorted(found, key=lambda f: (not f[3], f[1]))[0]
    if len(found) > 1:
        confidence = 0.4
    else:
        confidence = 0.9 if cued else 0.6
    return {"po_reference": ref, "confidence": confidence, "candidates": candidates,
            "evidence": _evidence(text, start, end)}


def _labels_from(instruction: str) -> tuple[str, ...]:
    match = re.search(r"(?:labels?|categories|classes|one of)\s*[:=]\s*(?P<list>[^\n]+)", instruction, re.IGNORECASE)
    if not match:
        return DEFAULT_LABELS
    raw = match.group("list").strip().strip("[]().")
    labels = [item.strip().strip("'\"`") for item in re.split(r",|\|| or ", raw)]
    labels = [label for label in labels if re.fullmatch(r"[A-Za-z][\w-]{0,60}", label)]
    return tuple(labels) or DEFAULT_LABELS


def classify_exception(text: str, labels: tuple[str, ...] = DEFAULT_LABELS) -> dict:
    """``{"label": str, "confidence": float, "rationale": str}`` by keyword evidence."""
    lowered = text.lower()
    scores: list[tuple[int, int, str, list[str]]] = []
    for order, label in enumerate(labels):
        keywords = _LABEL_KEYWORDS.get(label) or tuple(
            word for word in re.split(r"[_\-\s]+", label.lower()) if len(word) > 2
        )
        hits = [kw for kw in keywords if kw in lowered]
        scores.append((len(hits), -order, label, hits))
    best = max(scores)
    if best[0] == 0:
        fallback = "other" if "other" in labels else labels[-1]
        return {"label": fallback, "confidence": 0.3, "rationale": "no keyword of any label found"}
    runner_up = sorted(scores, reverse=True)[1][0] if len(scores) > 1 else 0
    confidence = round(min(0.95, 0.55 + 0.15 * (best[0] - runner_up)), 2)
    return {"label": best[2], "confidence": confidence, "rationale": "mentions " + ", ".join(repr(h) for h in best[3])}


def _first(regex: re.Pattern[str], text: str) -> str | None:
    match = regex.search(text)
    if match is None:
        return None
    groups = match.groupdict()
    value = groups.get("v") or groups.get("n")
    return value.strip() if value else None


def draft_reminder(text: str) -> str:
    """A polite payment reminder built from what the text states (and nothing else)."""
    invoice = _first(_INVOICE_RE, text)
    vendor = _first(_VENDOR_RE, text)
    due = _first(_DATE_RE, text)
    amount = None
    match = _AMOUNT_RE.search(text)
    if match:
        if match.group("amt"):
            amount = f"{match.group('cur')} {match.group('amt')}"
        else:
            amount = f"{match.group('cur2')} {match.group('amt2')}"
    po = extract_po_reference(text, "advanced")["po_reference"]
    subject = f"Payment reminder: invoice {invoice}" if invoice else "Payment reminder"
    lines = [
        TEXT_MARKER + " draft, review before sending",
        f"Subject: {subject}",
        "",
        f"Dear {vendor}," if vendor else "Dear Sir or Madam,",
        "",
        "our records show the following item as open:",
    ]
    if invoice:
        lines.append(f"- invoice: {invoice}")
    if po:
        lines.append(f"- purchase order: {po}")
    if amount:
        lines.append(f"- amount: {amount}")
    if due:
        lines.append(f"- due date: {due}")
    lines += [
        "",
        "Could you please check the item and let us know the expected date of settlement,",
        "or send us the missing documents? Thank you.",
        "",
        "Kind regards,",
        "Accounts Payable",
    ]
    return "\n".join(lines)


def draft_justification(text: str) -> str:
    """The approver's justification from the JSON facts in ``text``, citing the ids it was given.

    Claims only what the facts state; an id absent from the facts is not invented (a fact that is
    missing is left out)."""
    try:
        facts = json.loads(text)
    except ValueError:
        facts = None
    if not isinstance(facts, dict):
        return f"{TEXT_MARKER} No facts were given, so there is nothing to justify."
    records = {str(r) for r in facts.get("records") or ()}

    def cite(key: str) -> str | None:
        value = facts.get(key)
        return f"[{value}]" if isinstance(value, str) and value in records else None

    invoice, po, vendor, policy = cite("invoice_id"), cite("po_number"), cite("vendor_id"), cite("policy")
    parts = [TEXT_MARKER]
    if invoice and po:
        parts.append(f"Invoice {invoice} bills goods received against purchase order {po}"
                     + (f" of vendor {vendor}." if vendor else "."))
    tolerance = facts.get("price_tolerance_pct")
    if policy and po and isinstance(tolerance, (int, float)):
        parts.append(f"Every unit price is within the ±{tolerance}% tolerance of {policy} against the "
                     f"PO price {po}.")
    if len(parts) == 1:
        parts.append("The facts given do not name the records needed to justify this entry.")
    return " ".join(parts)


# -- tools ---------------------------------------------------------------------------------


def _fill(field: str, text: str, cap: Capability) -> str | None:
    name = field.lower()
    if name in ("po", "po_number", "po_reference", "purchase_order", "order_number") or name.startswith("po_"):
        return extract_po_reference(text, cap)["po_reference"]
    if "tax" in name or "vat" in name:
        return _first(_TAX_ID_RE, text) or _first(_TAX_ID_BARE_RE, text)
    if "invoice" in name:
        return _first(_INVOICE_RE, text)
    if name == "vendor_id":
        return _first(_VENDOR_ID_RE, text)
    return None


def _called_before(messages: list[dict]) -> set[tuple[str, str]]:
    calls = set()
    for message in messages:
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            calls.add((function.get("name", ""), _normal_args(function.get("arguments"))))
    return calls


def _normal_args(arguments: Any) -> str:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return arguments
    return json.dumps(arguments, sort_keys=True, separators=(",", ":"))


def _plan_tool_call(messages: list[dict], tools: list[dict], tool_choice: Any, cap: Capability) -> tuple[str, dict] | None:
    text = "\n".join(_content(m) for m in messages if m.get("role") in ("user", "tool"))
    done = _called_before(messages)
    forced = None
    if isinstance(tool_choice, dict):
        forced = (tool_choice.get("function") or {}).get("name")
    for tool in tools:
        function = tool.get("function") or {}
        name = function.get("name")
        if not name or (forced and name != forced):
            continue
        schema = function.get("parameters") or {}
        required = list(schema.get("required") or [])
        if not required:
            continue
        arguments: dict[str, Any] = {}
        for field in required:
            value = _fill(field, text, cap)
            if value is None:
                break
            arguments[field] = value
        else:
            if (name, _normal_args(arguments)) not in done:
                return name, arguments
    return None


# -- the response --------------------------------------------------------------------------


def _answer(intent: str, subject: str, instruction: str, json_out: bool, cap: Capability, tool_results: list[str]) -> str:
    if intent == "extract_po":
        result = extract_po_reference(subject, cap)
        if tool_results:
            result["verified_with_tool"] = True
        if json_out:
            return json.dumps(result, sort_keys=True)
        return f"{TEXT_MARKER} PO reference: {result['po_reference'] or 'none'} (confidence {result['confidence']:.2f})"
    if intent == "classify":
        result = classify_exception(subject, _labels_from(instruction))
        if json_out:
            return json.dumps(result, sort_keys=True)
        return f"{TEXT_MARKER} {result['label']} (confidence {result['confidence']:.2f}): {result['rationale']}"
    if intent == "justify":
        drafted = draft_justification(subject)
        return json.dumps({"justification": drafted}, sort_keys=True) if json_out else drafted
    if intent == "reminder":
        draft = draft_reminder(subject)
        return json.dumps({"draft": draft}, sort_keys=True) if json_out else draft
    summary = f"{TEXT_MARKER} I can extract purchase-order references, classify invoice exceptions and draft reminders."
    if tool_results:
        summary = f"{TEXT_MARKER} tool results received: " + "; ".join(r[:200] for r in tool_results)
    return json.dumps({"answer": summary}, sort_keys=True) if json_out else summary


def respond(
    model: str,
    messages: list[dict],
    tools: list[dict] | None = None,
    *,
    tool_choice: Any = None,
    response_format: Any = None,
) -> dict:
    """One chat completion: ``{"message": {...}, "finish_reason": ..., "usage": {...}}``.

    ``message`` is an OpenAI assistant message (``content`` and, when the model
    calls tools, ``tool_calls`` with JSON-string arguments).
    """
    cap = capability(model)
    instruction = _instruction(messages)
    subject = _subject(messages)
    intent = _intent(instruction)
    prompt_text = json.dumps(messages, sort_keys=True, default=str) + (json.dumps(tools, sort_keys=True) if tools else "")
    seed = hashlib.sha256((model + prompt_text).encode("utf-8")).hexdigest()

    tool_results = [_content(m) for m in messages if m.get("role") == "tool"]
    message: dict[str, Any] = {"role": "assistant", "content": None}
    finish_reason = "stop"
    if tools and tool_choice != "none":
        planned = _plan_tool_call(messages, tools, tool_choice, cap)
        if planned is not None:
            name, arguments = planned
            message["tool_calls"] = [{
                "id": f"call_{seed[:16]}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments, sort_keys=True)},
            }]
            finish_reason = "tool_calls"
    if finish_reason == "stop":
        message["content"] = _answer(intent, subject, instruction, _wants_json(instruction, response_format), cap, tool_results)
    completion_text = (message["content"] or "") + json.dumps(message.get("tool_calls") or "")
    prompt_tokens = estimate_tokens(prompt_text)
    completion_tokens = estimate_tokens(completion_text)
    return {
        "id": f"offline-{seed[:24]}",
        "message": message,
        "finish_reason": finish_reason,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "system_fingerprint": OFFLINE_MARKER,
    }


__all__ = [
    "DEFAULT_LABELS",
    "OFFLINE_MARKER",
    "OFFLINE_MODELS",
    "OFFLINE_PROVIDER",
    "TEXT_MARKER",
    "capability",
    "classify_exception",
    "draft_reminder",
    "estimate_tokens",
    "extract_po_reference",
    "respond",
]
