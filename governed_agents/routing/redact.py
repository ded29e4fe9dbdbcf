"""A simple redaction of personal data in model transcripts.

Deliberately modest: e-mail addresses, IBANs, payment card numbers (Luhn-checked)
and phone numbers written as phone numbers (a leading ``+`` or grouped digits).
Bare digit runs are left alone on purpose: purchase-order and invoice numbers
(``4500123``) are the business content of a transcript, not personal data.
A later issue replaces this with a stronger, configurable redactor; callers use
only ``redact_text`` and ``redact``.
"""

from __future__ import annotations

import re
from typing import Any

EMAIL = "[email]"
IBAN = "[iban]"
CARD = "[card]"
PHONE = "[phone]"

_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Country code, check digits, then 11 to 30 alphanumerics, optionally in groups of four.
_IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
_CARD_RE = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
_PHONE_RE = re.compile(
    r"(?:\+\d{1,3}[\s./-]?(?:\(\d{1,4}\)[\s./-]?)?\d{1,4}(?:[\s./-]?\d{2,4}){1,4}"
    r"|\(\d{2,5}\)[\s./-]?\d{3,4}[\s./-]?\d{3,5}"
    r"|\b\d{3}[\s.-]\d{3}[\s.-]\d{4}\b)"
)


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _iban_ok(text: str) -> bool:
    compact = text.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return CARD if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)


def _iban(match: re.Match[str]) -> str:
    return IBAN if _iban_ok(match.group(0)) else match.group(0)


def redact_text(text: str) -> str:
    """``text`` with e-mails, IBANs, card numbers and phone numbers replaced by placeholders."""
    if not text:
        return text
    text = _EMAIL_RE.sub(EMAIL, text)
    text = _IBAN_RE.sub(_iban, text)
    text = _CARD_RE.sub(_card, text)
    return _PHONE_RE.sub(PHONE, text)


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with every string redacted (keys are kept)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    return value


__all__ = ["CARD", "EMAIL", "IBAN", "PHONE", "redact", "redact_text"]
