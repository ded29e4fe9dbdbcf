"""Reading purchase-order references off invoices.

Invoices cite their PO in many shapes: ``PO-4500123``, ``po 4500123``,
``P.O. #004500123``, ``4500123``, ``Order no. 4500123``. ``normalize_po_reference``
reduces each to one key (upper case, no prefix, no separators, no leading
zeros) and ``po_key`` does the same to the PO numbers of the ERP, so that the
two meet. A reference that is free text ("as per our order 4500123 of March")
is *not* guessed at by the rules: ``normalize_po_reference`` returns ``None`` and
the caller asks an extractor (in the pipeline, the model tier through the gate;
offline, ``extract_po_reference_offline``).
"""

from __future__ import annotations

import re

# "PO", "P.O.", "P. O.", "Purchase order", "Order", then optionally "No.", "Nr", "Number", "#", ":".
_PREFIX = re.compile(
    r"""^(?:p\s*\.?\s*o\s*\.?(?![a-z])|(?:purchase\s+)?order(?![a-z]))
        \s*(?:(?:no|nr|number|num)(?![a-z])\.?)?\s*[#:]?\s*""",
    re.IGNORECASE | re.VERBOSE,
)
_SEPARATORS = re.compile(r"[\s\-#./_:]+")
# Each token of a readable reference carries a digit: "2024-00017" is a number,
# "4500123 of March" is prose.
_TOKEN = re.compile(r"[A-Z0-9]*[0-9][A-Z0-9]*")
_MAX_LEN = 64
_PLAIN = re.compile(r"(?:PO|po|Po)?-?0*([1-9][0-9]*)?")  # the common shapes, read without the general machinery


def normalize_po_reference(reference: str | None) -> str | None:
    """The comparable key of a PO reference, or ``None`` when rules cannot read it.

    ``None`` for a blank reference too; callers tell the two apart by the input.
    """
    if not reference:
        return None
    plain = _PLAIN.fullmatch(reference)
    if plain is not None:
        return plain.group(1) or None
    text = reference.strip()
    if not text or len(text) > _MAX_LEN:
        return None
    text = _PREFIX.sub("", text, count=1).upper()
    tokens = [t for t in _SEPARATORS.split(text) if t]
    if not tokens or not all(_TOKEN.fullmatch(t) for t in tokens):
        return None
    key = "".join(tokens).lstrip("0")
    return key or None


def po_key(po_number: str) -> str:
    """The key an ERP PO number is found under (the same reduction as a reference)."""
    key = normalize_po_reference(po_number)
    if key is not None:
        return key
    # A PO number without digits (unusual): compare it as written, minus separators.
    return _SEPARATORS.sub("", po_number.strip().upper())


_CUED = re.compile(
    r"""(?:\bp\s*\.?\s*o\b\.?|\bpurchase\s+order\b|\border\b|\bbestellung\b|\bcommande\b|\bpedido\b)
        \s*(?:(?:no|nr|number|num|n°|nummer)\b\.?)?\s*[#:]?\s*
        (?P<ref>[A-Z0-9][A-Z0-9\-/]*[0-9][A-Z0-9]*)""",
    re.IGNORECASE | re.VERBOSE,
)
_BARE_NUMBER = re.compile(r"(?<![\w.,/-])(?P<ref>\d{5,12})(?![\w.,/-])")


def extract_po_reference_offline(text: str) -> str | None:
    """Offline stand-in for the model: find a PO number in free text, deterministically.

    Looks for a number cued by "PO", "order", "purchase order" (and a few
    European equivalents), else the first standalone number of 5 to 12 digits.
    It is a stand-in for tests and offline runs, labelled as such in outcomes'
    details by the pipeline; it does not understand language.
    """
    if not text:
        return None
    match = _CUED.search(text) or _BARE_NUMBER.search(text)
    return match.group("ref") if match else None
