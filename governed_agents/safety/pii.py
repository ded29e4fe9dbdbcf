"""PII redaction: personal data out of every store the control plane writes.

``redact_text(text)`` and ``redact(value)`` replace personal data with typed,
numbered placeholders — ``[EMAIL_1]``, ``[IBAN_1]``, ``[CARD_1]``, ``[PHONE_1]``,
``[TAX_ID_1]``, ``[NAME_1]`` — numbered per *document* (one ``redact`` call, or
one ``Redactor``), so the same value maps to the same placeholder within a
document and nothing about the value (not even a hash an attacker could
brute-force for a phone number) is kept.

What is detected, and how:

- e-mail addresses;
- IBANs, only when the mod-97 check passes (a random code that looks like one
  is left alone);
- payment card numbers, 13–19 digits, only when the Luhn check passes;
- phone numbers written as phone numbers (a leading ``+``, a bracketed area
  code, or ``ddd-ddd-dddd``);
- tax ids: EU VAT numbers in each member state's format (``DE123456789``,
  ``ATU12345678``, ``NL123456789B01`` …), Swiss UIDs (``CHE-123.456.789``),
  US EINs (``12-3456789``) and SSNs (``123-45-6789``), and whatever follows a
  label such as ``VAT no.`` / ``Tax ID:``;
- person names where they can be told apart from other capitalised words:
  after a salutation or title (``Mr``, ``Dr``, ``Frau`` …), after a label
  (``Name:``, ``Contact:``, ``Attn``, ``Dear`` …), and any name the caller
  knows (``known_names``: the employee or contact master), anywhere in the
  text, bare ("Thanks, Maria Gonzalez"), in any case and across line breaks.

A run builds its ``KnownNames`` once, from the person fields of the master data
it reads (``governed_agents.erp.people.known_names``), and hands the same
object to every redaction it makes: one compiled pattern per run, no module
state shared between runs or tenants.

Bare digit runs are left alone on purpose: purchase-order and invoice numbers
(``4500123``, ``INV-9``) are the business content of a text, not personal data.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

EMAIL = "EMAIL"
IBAN = "IBAN"
CARD = "CARD"
PHONE = "PHONE"
TAX_ID = "TAX_ID"
NAME = "NAME"
KINDS: tuple[str, ...] = (EMAIL, IBAN, CARD, TAX_ID, PHONE, NAME)

#: A placeholder this module wrote (used to tell redacted text from raw, and to skip it).
PLACEHOLDER_RE = re.compile(r"\[(?:EMAIL|IBAN|CARD|PHONE|TAX_ID|NAME)_\d+\]")

_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Country code, check digits, then 11 to 30 alphanumerics, optionally in groups of four.
_IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
_CARD_RE = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
_PHONE_RE = re.compile(
    r"(?:\+\d{1,3}[\s./-]?(?:\(\d{1,4}\)[\s./-]?)?\d{1,4}(?:[\s./-]?\d{2,4}){1,4}"
    r"|\(\d{2,5}\)[\s./-]?\d{3,4}[\s./-]?\d{3,5}"
    r"|\b\d{3}[\s.-]\d{3}[\s.-]\d{4}\b)"
)
# EU VAT numbers by member state (an optional space after the prefix, as people write them),
# the Swiss UID, US SSN and EIN.
_VAT_FORMATS = (
    r"ATU\d{8}", r"BE[01]\d{9}", r"BG\d{9,10}", r"CY\d{8}[A-Z]", r"CZ\d{8,10}", r"DE\d{9}", r"DK\d{8}",
    r"EE\d{9}", r"EL\d{9}", r"ES[A-Z0-9]\d{7}[A-Z0-9]", r"FI\d{8}", r"FR[A-Z0-9]{2}\d{9}", r"GB\d{9}(?:\d{3})?",
    r"HR\d{11}", r"HU\d{8}", r"IE\d{7}[A-Z]{1,2}", r"IE\d[A-Z]\d{5}[A-Z]", r"IT\d{11}", r"LT\d{9}(?:\d{3})?",
    r"LU\d{8}", r"LV\d{11}", r"MT\d{8}", r"NL\d{9}B\d{2}", r"PL\d{10}", r"PT\d{9}", r"RO\d{2,10}",
    r"SE\d{12}", r"SI\d{8}", r"SK\d{10}",
)
_VAT_RE = re.compile(
    r"\b(?:" + "|".join(f"{f[:2]}[ ]?{f[2:]}" if not f.startswith("ATU") else r"ATU[ ]?\d{8}" for f in _VAT_FORMATS)
    + r")\b"
)
# Spaced variants as invoices print them: "DE 123 456789", "FR 12 345678901".
_VAT_SPACED_RE = re.compile(r"\b(?:AT|BE|DE|DK|ES|FR|GB|IT|NL|PL|SE)[ ]\d{2,3}[ ]\d{3}[ ]?\d{3,6}(?:B\d{2})?\b")
_CH_UID_RE = re.compile(r"\bCHE[- ]?\d{3}\.\d{3}\.\d{3}\b")
_SSN_RE = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")
_EIN_RE = re.compile(r"\b\d{2}-\d{7}\b")
_TAX_LABEL_RE = re.compile(
    r"(?i:\b(?:vat|tax|ust|tva|btw|iva|mwst)[ .-]*(?:id|no|nr|number|reg(?:istration)?)?[ .:#-]*(?:no\.?|nr\.?|number)?"
    r"[ .:#-]*)(?P<value>[A-Z]{0,3}[ -]?\d[\d .-]{5,16}\d[A-Z0-9]{0,3})"
)

# A capitalised name word (Unicode letters, hyphenated and apostrophe forms) and its particles.
_WORD = r"[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿß]+(?:[-'][A-ZÀ-ÖØ-Þ]?[a-zà-öø-ÿß]+)?"
_PARTICLE = r"(?:van|von|de|der|den|da|di|du|la|le|zu|ten|ter)"
_NAME = rf"{_WORD}(?:\s+(?:{_PARTICLE}\s+)*{_WORD}){{0,2}}"
_TITLE_RE = re.compile(
    rf"\b(?P<lead>(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Herr|Frau|Mme|Mlle|Sr|Sra|Sig|Sig\.ra)\.?\s+)(?P<name>{_NAME})"
)
_LABEL_RE = re.compile(
    rf"(?P<lead>\b(?i:name|contact(?: person)?|attn|attention|ansprechpartner(?:in)?|kontakt|dear|hello|hi|"
    rf"regards|best regards|kind regards|sincerely|signed|approved by|requested by|c/o)"
    rf"\s*[:,.]?\s+)(?P<name>{_NAME})"
)
# Words after a label that are not a person ("Dear Sir", "Contact: Accounts Receivable").
_NOT_NAMES = frozenset(
    "sir madam madame sirs team all customer customers colleague colleagues accounts account receivable payable "
    "finance support sales billing the our your us we invoice order purchasing procurement department office "
    "management admin mr mrs ms mx miss dr prof herr frau mme mlle sr sra sig friday monday tuesday wednesday thursday saturday sunday".split()
)


class KnownNames:
    """Person names to redact wherever they appear, compiled once.

    Matching is case-insensitive, on whole words, and any run of whitespace in
    the text matches the single space of a name ("Maria\\nGonzalez"). The names
    are compiled into one pattern shaped like a trie (shared prefixes are
    matched once), so the cost per text grows with the text, not with the
    number of names: build one per run and pass it to every ``Redactor``.
    Names shorter than three characters are ignored.
    """

    __slots__ = ("names", "pattern")

    def __init__(self, names: Iterable[str] = ()):
        cleaned = {" ".join(str(n).split()) for n in names if n}
        self.names: tuple[str, ...] = tuple(sorted((n for n in cleaned if len(n) >= 3), key=str.lower))
        self.pattern: re.Pattern[str] | None = (
            re.compile(r"(?<!\w)" + _trie_pattern(self.names) + r"(?!\w)", re.IGNORECASE) if self.names else None)

    def __len__(self) -> int:
        return len(self.names)

    def __bool__(self) -> bool:
        return bool(self.names)

    def __repr__(self) -> str:
        return f"KnownNames({len(self.names)} names)"  # never the names themselves: they are personal data

    def __or__(self, other: "KnownNames | Iterable[str]") -> "KnownNames":
        more = other.names if isinstance(other, KnownNames) else tuple(other)
        return KnownNames((*self.names, *more))


def _trie_pattern(names: Iterable[str]) -> str:
    """One regular expression matching exactly ``names`` (lower-cased; a space matches any whitespace)."""
    trie: dict = {}
    for name in names:
        node = trie
        for char in name.lower():
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict) -> str:
        branches = [(r"\s+" if char == " " else re.escape(char)) + build(child)
                    for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # A name that ends here and longer ones that go on: the optional group is greedy, so the
        # longest name wins ("Jan Kowalski" over "Jan Kowal" when both are known).
        return f"(?:{body})?" if "" in node else body

    return build(trie)


def _known(names: "KnownNames | Iterable[str]") -> KnownNames:
    return names if isinstance(names, KnownNames) else KnownNames(names)


@dataclass
class Redactor:
    """Redacts one document: the same value gets the same placeholder throughout.

    ``known_names`` are names to redact wherever they appear (case-insensitive,
    whole words), e.g. the employees and contact persons of the master data: a
    ``KnownNames`` built once per run, or any iterable of names.
    """

    known_names: KnownNames | Iterable[str] = ()
    counts: dict[str, int] = field(default_factory=dict)
    _seen: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    _known_re: re.Pattern[str] | None = field(default=None, repr=False)
    # The surnames of the names found so far in this document -> the placeholder a bare one gets
    # (None: two people of the document share it).
    _surnames: dict[str, str | None] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.known_names = _known(self.known_names)
        self._known_re = self.known_names.pattern

    # -- public -------------------------------------------------------------------------

    def text(self, text: str) -> str:
        """``text`` with every personal datum replaced by its placeholder."""
        if not text:
            return text
        text = _EMAIL_RE.sub(lambda m: self._token(EMAIL, m.group(0)), text)
        text = _IBAN_RE.sub(lambda m: self._token(IBAN, m.group(0)) if _iban_ok(m.group(0)) else m.group(0), text)
        text = _CARD_RE.sub(self._card, text)
        text = _CH_UID_RE.sub(lambda m: self._token(TAX_ID, m.group(0)), text)
        text = _VAT_SPACED_RE.sub(lambda m: self._token(TAX_ID, m.group(0)), text)
        text = _VAT_RE.sub(lambda m: self._token(TAX_ID, m.group(0)), text)
        text = _SSN_RE.sub(lambda m: self._token(TAX_ID, m.group(0)), text)
        text = _EIN_RE.sub(lambda m: self._token(TAX_ID, m.group(0)), text)
        text = _TAX_LABEL_RE.sub(self._labelled_tax_id, text)
        text = _PHONE_RE.sub(lambda m: self._token(PHONE, m.group(0)), text)
        if self._known_re is not None:
            text = self._known_re.sub(lambda m: self._name(m.group(0)), text)
        text = _TITLE_RE.sub(self._name_after_lead, text)
        text = _LABEL_RE.sub(self._name_after_lead, text)
        return self._bare_surnames(text)

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string redacted (keys are kept)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(item) for item in value]
        return value

    @property
    def total(self) -> int:
        """How many distinct values were replaced."""
        return len(self._seen)

    # -- helpers ------------------------------------------------------------------------

    def _token(self, kind: str, raw: str) -> str:
        key = (kind, _normal(kind, raw))
        token = self._seen.get(key)
        if token is None:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            token = self._seen[key] = f"[{kind}_{self.counts[kind]}]"
        return token

    def _card(self, match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return self._token(CARD, digits) if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)

    def _labelled_tax_id(self, match: re.Match[str]) -> str:
        value = match.group("value")
        start = match.start("value") - match.start(0)
        return match.group(0)[:start] + self._token(TAX_ID, value)

    def _name_after_lead(self, match: re.Match[str]) -> str:
        name = match.group("name")
        words = name.split()
        # "Dear Sir", "Contact: Accounts Receivable": not a person.
        if words[0].lower() in _NOT_NAMES:
            return match.group(0)
        return match.group("lead") + self._name(name)

    def _name(self, raw: str) -> str:
        """The placeholder of a person's name, its surname remembered for ``_bare_surnames``."""
        token = self._token(NAME, raw)
        surname = raw.split()[-1].lower()
        if len(surname) >= 3 and surname not in _NOT_NAMES:
            if self._surnames.setdefault(surname, token) not in (token, None):
                # Two people of the document share it ("Maria Gonzalez", "Pedro Gonzalez"): a bare
                # one could be either, so it gets a placeholder of its own.
                self._surnames[surname] = None
        return token

    def _bare_surnames(self, text: str) -> str:
        """A surname standing alone ("Gonzalez approved it"), capitalised, in a document that
        named its person in full (or after a title or label) earlier or in the same text."""
        if not self._surnames:
            return text
        pattern = _surname_pattern(tuple(sorted(self._surnames, key=lambda n: (-len(n), n))))

        def replace(match: re.Match[str]) -> str:
            word = match.group(0)
            if not word[0].isupper():
                return word  # "the price list", not "Price"
            return self._surnames[word.lower()] or self._token(NAME, word)

        return pattern.sub(replace, text)


@functools.lru_cache(maxsize=64)
def _surname_pattern(surnames: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w\[])(?:" + "|".join(map(re.escape, surnames)) + r")(?!\w)", re.IGNORECASE)


def _normal(kind: str, raw: str) -> str:
    if kind in (EMAIL, NAME):
        return " ".join(raw.split()).lower()
    return re.sub(r"[\s./()-]", "", raw).upper()


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
    """The ISO 13616 mod-97 check."""
    compact = text.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def redact_text(text: str, *, known_names: KnownNames | Iterable[str] = ()) -> str:
    """``text`` (one document) with personal data replaced by typed, numbered placeholders."""
    return Redactor(known_names).text(text)


def redact(value: Any, *, known_names: KnownNames | Iterable[str] = ()) -> Any:
    """A copy of a JSON-like value (one document) with every string redacted (keys are kept)."""
    return Redactor(known_names).value(value)


def maybe_redact(value: Any, envelope: Any, *, known_names: KnownNames | Iterable[str] = ()) -> Any:
    """``redact(value)`` when the envelope's ``logging.redact_pii`` is on, else ``value``.

    ``envelope`` is a ``LoadedEnvelope`` or an ``Envelope``; ``None`` redacts
    (fail closed: no policy known means no raw personal data kept).
    """
    inner = getattr(envelope, "envelope", envelope)
    on = True if inner is None else bool(inner.logging.redact_pii)
    return redact(value, known_names=known_names) if on else value


__all__ = [
    "CARD", "EMAIL", "IBAN", "KINDS", "NAME", "PHONE", "PLACEHOLDER_RE", "TAX_ID", "KnownNames", "Redactor",
    "maybe_redact",
    "redact", "redact_text",
]
