"""Redaction of personal data in model transcripts: moved to ``governed_agents.safety.pii``.

This module re-exports ``redact`` and ``redact_text`` so that existing imports keep working.
"""

from __future__ import annotations

from governed_agents.safety.pii import CARD, EMAIL, IBAN, PHONE, redact, redact_text

__all__ = ["CARD", "EMAIL", "IBAN", "PHONE", "redact", "redact_text"]
