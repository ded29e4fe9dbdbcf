"""Citations (``safety.require_citations_for``): claims must cite records the run actually read.

An output (a drafted explanation, a reminder, a proposal's justification) that
makes a claim on a required topic — ``policy``, ``contract``, ``pricing``, or
any other word the envelope lists — must cite, in the same sentence, the
records it rests on by id in square brackets: ``[PO-4500123]``, ``[INV-9]``,
``[V00012]``, ``[policy:invoice_reconcile@2026-03-01]``. Every id cited
anywhere must be one the run read: the executor records the ids its read tools
returned (``TaskContext.read_ids``, see ``record_ids``), and a run always
"reads" its own envelope (``policy_id``).

``check_citations(text, topics=..., read_ids=...)`` returns a report; it fails
on an uncited claim (``uncited``) or a citation of an id the run never read
(``unknown_citation``). Topics not in the envelope's list are not required.
Redaction placeholders (``[EMAIL_1]``) are not citations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

# Words that make a sentence a claim on a topic. A topic without an entry here
# is recognised by its own name (and its plural).
TOPIC_TERMS: dict[str, tuple[str, ...]] = {
    "policy": ("policy", "policies", "envelope", "tolerance", "threshold", "approval limit", "allowed", "not allowed",
               "permitted", "prohibited", "requires approval", "must be approved"),
    "contract": ("contract", "contracts", "agreement", "agreed", "terms", "term sheet", "clause", "framework order",
                 "purchase order", "po", "obligation", "obligated", "entitled", "warranty", "sla"),
    "pricing": ("price", "prices", "priced", "pricing", "unit price", "discount", "rebate", "surcharge", "rate",
                "rates", "fee", "fees", "cost", "costs", "tariff", "list price", "overcharge", "undercharge"),
}
_CITATION_RE = re.compile(r"\[([A-Za-z][A-Za-z0-9_.:@/#-]{0,120}?)\]")
_PLACEHOLDER_RE = re.compile(r"^(?:EMAIL|IBAN|CARD|PHONE|TAX_ID|NAME)_\d+$")
# Sentence ends: . ! ? or a line break, followed by space — not inside a bracketed citation.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^\s])|\n+")
_ID_KEY_RE = re.compile(r"(?:^id$|_id$|_number$)")


@dataclass(frozen=True)
class Claim:
    """One sentence that speaks about a required topic."""

    sentence: str
    topics: tuple[str, ...]
    citations: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"sentence": self.sentence, "topics": list(self.topics), "citations": list(self.citations)}


@dataclass(frozen=True)
class CitationProblem:
    kind: str  # uncited | unknown_citation
    message: str
    sentence: str
    citation: str | None = None

    def to_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "sentence": self.sentence, "citation": self.citation}


@dataclass(frozen=True)
class CitationReport:
    claims: tuple[Claim, ...] = ()
    problems: tuple[CitationProblem, ...] = ()
    citations: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"ok": self.ok, "claims": [c.to_dict() for c in self.claims],
                "problems": [p.to_dict() for p in self.problems], "citations": list(self.citations)}


def policy_id(envelope: Any) -> str:
    """The citable id of a loaded envelope: ``policy:<workflow>@<version>``."""
    inner = getattr(envelope, "envelope", envelope)
    return f"policy:{inner.workflow}@{inner.version}"


def record_ids(value: Any) -> set[str]:
    """The record ids in a read tool's output: string values of ``id``, ``*_id`` and ``*_number`` keys.

    A record that says ``found: false`` is not a record the run read (its
    ``po_number`` is only what was asked for), so its ids are not counted.
    """
    found: set[str] = set()
    if isinstance(value, dict):
        if value.get("found") is False:
            return found
        for key, item in value.items():
            if isinstance(item, str) and item.strip() and _ID_KEY_RE.search(str(key)):
                found.add(item.strip())
            elif isinstance(item, (dict, list, tuple)):
                found |= record_ids(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            found |= record_ids(item)
    return found


def citations_in(text: str) -> list[str]:
    """The ids cited in ``text`` (bracketed), redaction placeholders left out, in order."""
    return [m.group(1) for m in _CITATION_RE.finditer(text or "") if not _PLACEHOLDER_RE.match(m.group(1))]


def _topic_pattern(topic: str) -> re.Pattern[str]:
    terms = TOPIC_TERMS.get(topic.lower(), (topic.lower(), topic.lower() + "s"))
    alternatives = "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<![\w\[:-])(?:{alternatives})(?![\w\]])", re.IGNORECASE)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text or "") if s and s.strip()]


def check_citations(text: str, *, topics: Iterable[str], read_ids: Iterable[str]) -> CitationReport:
    """Check ``text``: each sentence claiming on one of ``topics`` cites, and every citation was read."""
    topics = tuple(dict.fromkeys(t for t in topics if t))
    known = {i.strip() for i in read_ids if i}
    known_folded = {i.casefold() for i in known}
    patterns = {t: _topic_pattern(t) for t in topics}
    claims, problems, cited_all = [], [], []
    for sentence in _sentences(text):
        cited = citations_in(sentence)
        cited_all.extend(cited)
        # The citation text itself ("[policy:…]") does not make the sentence a claim.
        bare = _CITATION_RE.sub(" ", sentence)
        hit = tuple(t for t, p in patterns.items() if p.search(bare))
        if hit:
            claims.append(Claim(sentence, hit, tuple(cited)))
            if not cited:
                problems.append(CitationProblem(
                    "uncited", f"a claim on {', '.join(hit)} cites no record; cite the ids it rests on, "
                               f"e.g. [PO-4500123] or [policy:<workflow>@<version>]", sentence))
        for citation in cited:
            if citation not in known and citation.casefold() not in known_folded:
                problems.append(CitationProblem(
                    "unknown_citation", f"cites [{citation}], which this run never read", sentence, citation))
    return CitationReport(tuple(claims), tuple(problems), tuple(dict.fromkeys(cited_all)))


def required_topics(envelope: Any) -> tuple[str, ...]:
    """The envelope's ``safety.require_citations_for``."""
    inner = getattr(envelope, "envelope", envelope)
    return tuple(inner.safety.require_citations_for)


__all__ = [
    "TOPIC_TERMS", "CitationProblem", "CitationReport", "Claim", "check_citations", "citations_in", "policy_id",
    "record_ids", "required_topics",
]
