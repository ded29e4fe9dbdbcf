"""A first prompt-injection scorer: heuristics that know where a text sits.

``score_text(text, context="data")`` returns an ``InjectionScore``: a score in
[0, 1] and the signals that produced it (name, span, weight, excerpt). The
signals look for what does not belong in a *data* field — an invoice memo, a
line description, a tool's output:

- orders to drop or override instructions, and requests to reveal them;
- chat-template and role markers (``SYSTEM:``, ``[INST]``, ``<|im_start|>``), role play;
- imperatives addressed to an agent, assistant, AI or model;
- requests to call tools or functions (``erp.update_vendor_bank``, ``GmailSendEmail``);
- changes to bank details, payments to a given IBAN, approval or control bypass, secrecy;
- sending data (credentials, files, messages) to an address or URL.

Signals of one kind count once (the strongest); kinds combine as independent
evidence (noisy-or), so two moderate signals outweigh one. Plain imperatives
are weak on their own: "Please pay by Friday" or "Remit to the account on
file" are how invoices talk. With ``context="user"`` (a person's own request),
requests for actions weigh less, since asking for actions is what users do.

Scoring is regular expressions over a normalised copy of the text (NFKC,
zero-width characters removed, common homoglyphs folded), with spans mapped
back to the original. Time is linear and bounded: at most ``MAX_SCAN_CHARS``
of a text are scanned (its head and tail). A later issue replaces this with a
stronger scorer behind the same API; measured rates are in docs/reconciliation.md.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

DEFAULT_THRESHOLD = 0.7  # the envelope default of safety.block_on_prompt_injection_score_gte
CONTEXTS = ("data", "tool_output", "user")
MAX_SCAN_CHARS = 64_000  # head and tail halves of a longer text are scanned
_EXCERPT = 48
_SHORT = 64
_PREFILTER = True  # tests switch it off to show it never changes a score
_TWO_WORDS = re.compile(r"[^\W\d_]{2,}[\s:;,.!?'\"()\[\]<>|/-]+[^\W\d_]{2,}")


@dataclass(frozen=True, slots=True)
class Signal:
    """One piece of evidence: which heuristic fired, where in the text, and how much it weighs."""

    name: str
    start: int
    end: int
    weight: float
    excerpt: str

    def to_dict(self) -> dict:
        return {"name": self.name, "start": self.start, "end": self.end, "weight": self.weight,
                "excerpt": self.excerpt}


@dataclass(frozen=True, slots=True)
class InjectionScore:
    """The score of a text (0 = nothing suspicious, 1 = certainly an injection) and why."""

    score: float
    signals: tuple[Signal, ...] = ()

    def to_dict(self) -> dict:
        return {"score": self.score, "signals": [s.to_dict() for s in self.signals]}


_I = re.IGNORECASE
_W = r"[^.!?\n]"  # within one sentence

# (name, kind, weight in data context, weight in user context, needs, pattern). ``needs``: words of
# which the text (lower case, whitespace collapsed) must contain one for the pattern to have a
# chance; checking them first skips most patterns on ordinary text. None: always searched.
_RULES: list[tuple[str, str, float, float, tuple[str, ...] | None, re.Pattern]] = []


def _rule(name: str, kind: str, weight: float, user_weight: float | None, needs: tuple[str, ...] | None,
          pattern: str, flags: int = _I) -> None:
    _RULES.append((name, kind, weight, weight if user_weight is None else user_weight, needs,
                   re.compile(pattern, flags)))


# -- overriding or revealing the instructions -----------------------------------
_rule("override_instructions", "override", 0.9, None,
      ('ignore', 'disregard', 'forget', 'override', 'overrule', 'bypass', 'skip', 'drop', 'abandon', 'neglect'),
      rf"\b(?:ignore|disregard|forget|override|overrule|bypass|skip|drop|abandon|neglect)\b{_W}{{0,40}}?"
      r"\b(?:previous|prior|above|earlier|preceding|all|any|your|the|existing|original|system|initial|given|provided|former)\b"
      rf"{_W}{{0,30}}?\b(?:instructions?|prompts?|rules|directions|directives|guidelines|context|commands?|orders|"
      r"messages|constraints|polic(?:y|ies)|guardrails|programming|tasks?|assignments?)\b")
_rule("override_instructions", "override", 0.85, None,
      ('ignore', 'disregard', 'forget'),
      r"\b(?:ignore|disregard|forget)\s+(?:everything|all\s+(?:that|of\s+(?:the|this|that))|what\s+(?:you|i)\s+(?:were|was|have\s+been)\s+told)\b")
_rule("override_instructions_de", "override", 0.85, None,
      ('ignorier', 'vergiss', 'vergessen', 'missachte', 'übergeh'),
      rf"\b(?:ignorier\w*|vergiss|vergessen\s+sie|missachte\w*|übergeh\w*)\b{_W}{{0,60}}?"
      r"\b(?:anweisung\w*|instruktion\w*|befehl\w*|regeln|vorgaben|alles|obige\w*|vorherige\w*|bisherige\w*|aufgabe\w*)\b")
_rule("new_instructions", "override", 0.7, 0.6,
      ('instruction', 'directive', 'order', 'task', 'your', 'neue', 'eigentliche', 'ab jetzt', 'from now'),
      r"\b(?:new|updated|revised|real|actual|true|additional|secret|hidden)\s+(?:instructions?|directives?|orders|task)\s*(?::|follow|are|is)"
      r"|\byour\s+(?:new|real|actual|only)\s+(?:task|goal|instructions?|job|purpose)\b"
      r"|\b(?:neue|eigentliche)\s+(?:anweisung|aufgabe)\w*\b|\bab\s+jetzt\b|\bfrom\s+now\s+on\b")
_rule("reveal_prompt", "override", 0.85, 0.8,
      ('prompt', 'instruction', 'rules', 'guideline', 'anweisung', 'instruktion'),
      rf"\b(?:reveal|print|show|repeat|output|display|leak|disclose|tell\s+me|write\s+(?:out|down)|spell\s+out)\b{_W}{{0,30}}?"
      r"\b(?:system\s+prompt|(?:your|the|initial|hidden|original|secret)\s+(?:instructions|prompt|rules|guidelines))\b"
      r"|\b(?:zeig\w*|gib|nenn\w*)\b[^.!?\n]{0,30}?\b(?:prompt|anweisungen|instruktionen)\b")

_rule("override_instructions", "override", 0.85, None,
      ('ignor', 'behind', 'remove', 'obigen', 'vorherig', 'bisherig', 'vorangegangen', 'olvid', 'oublie', 'despite'),
      r"\bignor\w*\s+(?:the\s+|all\s+(?:the\s+)?)?(?:above|previous|prior|preceding|foregoing)\b"
      r"|\b(?:leave|put)\s+(?:all\s+)?(?:the\s+)?(?:previous|prior|above)\s+\w+\s+behind\b"
      r"|\bremove\s+all\s+previous\s+\w+\s+(?:out\s+of|from)\s+your\b"
      r"|\b(?:obigen|vorherigen|bisherigen|vorangegangenen)\b[^.!?\n]{0,40}?\b(?:ignorier\w*|vergessen|hinter\s+sich)"
      r"|\b(?:olvid[ae]|ignor[ae])\s+(?:todo|todas?\s+las\s+instrucciones)\b|\boublie[zr]?\s+(?:tout|les\s+instructions)\b"
      r"|\bignore[zr]?\s+les\s+instructions\b|\bdespite\s+what\s+you(?:'ve|\s+have)\s+been\s+told\b")
_rule("output_forcing", "output", 0.6, 0.5,
      ('just', 'only', 'simply', 'instead', 'answer', 'include', 'say', 'state', 'antwort', 'reply', 'respond', 'write', 'make something', 'pwned'),
      r"\b(?:just|only|simply|instead)\s+(?:output|say|print|write|reply|respond|answer|return)\b[^.!?\n]{0,12}?[\"'\u201c\u201e]"
      r"|\bdo\s+not\s+answer\s+(?:this|the)\s+question\b|\b(?:include|say|state)\s+that\s+you\s+(?:hate|love|think|are)\b"
      r"|\b(?:answer|antworte\w*|reply|respond|write|beantworte\w*)\b[^.!?\n]{0,40}?\b(?:in\s+the\s+style\s+of|im\s+stil\w*)\b"
      r"|\bmake\s+something\s+up\b|\bhaha\s+pwned\b")
_rule("task_switch", "task", 0.55, 0.3,
      ('challenge', 'task', 'assignment', 'now', 'nun', 'jetzt', 'aufgabe', 'herausforderung'),
      r"\b(?:new|another|further|next|following)\s+(?:challenge|tasks?|assignment)\b[^.!?\n]{0,40}?(?:for\s+you|namely|:|is\b|are\s+followed)"
      r"|\b(?:now|nun|jetzt)\b[^.!?\n]{0,20}?\b(?:help\s+me\s+with|hilf\s+mir|i\s+need\s+your\s+help|ich\s+brauche\s+deine\s+hilfe)\b"
      r"|\b(?:neuen?|weiteren?|folgenden?|nächsten?)\s+(?:aufgabe|herausforderung)\w*\b"
      r"|\b(?:that\s+is\s+(?:enough|done)|das\s+(?:genügt|reicht|ist\s+erledigt))\b[^!?]{0,40}?\b(?:now|nun|jetzt)\b")

# -- role and chat-template markers, role play -----------------------------------
_rule("role_marker", "role", 0.8, 0.7,
      ('sys', 'assistant', 'developer', 'admin', 'root', 'im_start', 'im_end', 'endoftext', 'inst'),
      r"(?:^|[\n\r.;!?\]\)>\"'|]\s*|\s{2,})(?:system|assistant|developer|admin(?:istrator)?|root)\s*(?:message|prompt|note|override|instruction)?\s*:"
      r"|<\|?(?:im_start|im_end|system|endoftext)\|?>|\[/?(?:inst|system|sys)\]|<</?sys>>|^#{2,}\s*(?:system|instruction)"
      r"|<\s*/?\s*(?:system|instructions?)\s*>|\bBEGIN\s+(?:SYSTEM|ADMIN)\b|\b(?:system|admin)\s+override\b", _I | re.M)
_rule("role_play", "role", 0.7, 0.6,
      ('you are', 'pretend', 'roleplay', 'role-play', 'jailbr', 'dan', 'anything now', 'developer mode', 'god mode', 'bist', 'stell dir', 'want you', 'fungieren', 'role', 'rolle', 'act as', 'behave as', 'respond as'),
      r"\byou\s+are\s+(?:now|no\s+longer)\b|\b(?:act|behave|respond)\s+as\s+(?:if\s+you\s+(?:were|are)\s+)?(?:an?\s+)?"
      r"(?:unrestricted|unfiltered|evil|different|new)\b|\bpretend\s+(?:to\s+be|you\s+are|that)\b|\broleplay\b|\brole-play\b"
      r"|\bi\s+want\s+you\s+to\s+(?:act|be|pretend|behave|play|respond|only)\b|\b(?:now|from\s+now\s+on)\s+you\s+are\b"
      r"|\b(?:jetzt|nun)\s+bist\s+du\b|\bdu\s+bist\s+(?:kein|jetzt|nun)\w*\b|\bals\s+[\w-]+\s+fungieren\b"
      r"|\bstay\s+(?:fully\s+)?in\s+(?:their|your|his|her)\s+roles?\b|\bin\s+(?:ihren|seiner|deiner)\s+rolle\b"
      r"|\bact\s+as\s+(?:an?\s+)?(?:linux|python|sql|javascript|terminal|interpreter|console|translator|debater)\b"
      r"|\bjailbr[eo]a?k|\bDAN\b|\bdo\s+anything\s+now\b|\bdeveloper\s+mode\b|\bgod\s+mode\b"
      r"|\bdu\s+bist\s+(?:jetzt|nun|ab\s+sofort)\b|\bstell\s+dir\s+vor\b", _I)

# -- addressed to the machine that reads the data -------------------------------
_rule("addressed_to_agent", "address", 0.6, 0.3,
      ('ai', 'a.i.', 'assistant', 'agent', 'model', 'llm', 'bot', 'gpt', 'copilot', 'automat'),
      r"\b(?:the|this|any|an?|dear|hey|hello|hi|attention|note\s+to(?:\s+the)?|to\s+the|instructions?\s+for(?:\s+the)?)\s+"
      r"(?:ai|a\.i\.|assistant|agent|ai\s+agent|model|llm|chatbot|bot|gpt|chatgpt|copilot|language\s+model|automated\s+system|automation)\b"
      r"(?:s)?\s*(?:[,:!-]|must|should|shall|will|needs?\s+to|is\s+(?:required|instructed|authori[sz]ed|expected)\s+to|has\s+to|may\s+now|reading|processing)"
      r"|\bif\s+you\s+are\s+an?\s+(?:ai|assistant|agent|language\s+model|llm|bot)\b"
      r"|\b(?:ai|llm|gpt)\s+(?:agents?|assistants?|systems?|models?)\s*(?:[,:]|must|should|reading|processing)")

# -- tool calls -------------------------------------------------------------------
_rule("tool_call_request", "tool", 0.6, 0.25,
      ('call', 'invoke', 'execut', 'run', 'use', 'trigger', 'fire', '_'),
      rf"\b(?:call|invoke|execute|run|use|trigger|fire)\b{_W}{{0,25}}?\b(?:tool|function|api|endpoint|command|action|plugin)\b"
      r"|\b[a-z][a-z0-9]*\.[a-z][a-z0-9]*_[a-z0-9_]+\s*\(?"
      r"|\b[a-z]+_[a-z]+(?:_[a-z]+)*\s*\(\s*[\w\"'{]")
_rule("tool_name", "tool", 0.4, 0.15,
      None,
      r"\b[A-Z][a-z]+(?:[A-Z][a-z0-9]+){2,}\b", 0)

# -- money and controls ------------------------------------------------------------
_rule("bank_detail_change", "bank", 0.65, 0.5,
      ('bank', 'iban', 'account', 'payment', 'remittance', 'routing', 'beneficiar', 'payee'),
      rf"\b(?:change|update|replace|switch|modify|amend|redirect|set)\b{_W}{{0,40}}?"
      r"\b(?:bank|iban|account\s+(?:number|details)|payment\s+details|remittance\s+details|routing|beneficiary|payee|banking)\b"
      rf"|\b(?:new|updated|different|changed)\s+(?:bank|iban|account|banking|payment)\s*(?:details|account|information|number|info)?\b{_W}{{0,30}}?"
      r"(?:[A-Z]{2}\d{2}\s?[A-Z0-9]{4}|effective|from\s+now|going\s+forward|instead)")
_rule("pay_to_account", "payment", 0.3, 0.15,
      ('iban', 'account', 'acct', 'wallet', 'bitcoin', 'btc'),
      rf"\b(?:pay|transfer|send|wire|remit|move|deposit)\b{_W}{{0,50}}?\b(?:to|into)\b{_W}{{0,30}}?"
      r"\b(?:iban|account|acct|wallet|bitcoin|btc)\b\s*(?:[:#]|no\.?|number)?\s*(?:[A-Z]{2}\d{2}|\d{6,}|0x[0-9a-f]{6,}|bc1)")
_rule("approval_bypass", "control", 0.6, 0.45,
      ('approv', 'review', 'verif', 'check', '2fa', 'two', 'authentic', 'security', 'control', 'monitor', 'logging', 'audit', 'limit', 'fraud', 'immediately', 'automatically', 'without', 'no questions'),
      rf"\b(?:skip|bypass|disable|circumvent|override|turn\s+off|deactivate|ignore)\b{_W}{{0,30}}?"
      r"\b(?:approvals?|review|verification|checks?|2fa|two[- ]factor|authentication|security|controls?|monitoring|logging|audit|limits?|fraud)\b"
      rf"|\b(?:approve|authori[sz]e|release|process|post|execute|pay)\b{_W}{{0,40}}?"
      r"\b(?:immediately|automatically|without\s+(?:review|approval|verification|checking|confirmation|asking|delay)|no\s+questions)\b"
      r"|\b(?:pre-?approved|already\s+approved|approval\s+(?:is\s+)?not\s+(?:needed|required))\b")
_rule("secrecy", "secrecy", 0.55, 0.4,
      ('not', "n't", 'dont', 'never', 'without', 'keep this', 'between us', 'delete', 'erase', 'remove', 'clear'),
      r"\b(?:do\s+not|don't|dont|never)\s+(?:tell|inform|notify|mention|alert|log|report|disclose|reveal|show)\b"
      r"|\bwithout\s+(?:telling|notifying|informing|alerting|logging)\b|\b(?:keep\s+this|between\s+us)\b.{0,20}\b(?:secret|confidential|quiet)\b"
      r"|\b(?:delete|erase|remove|clear)\b[^.!?\n]{0,30}\b(?:sent\s+(?:email|message)|logs?|history|trace|evidence|this\s+(?:message|email|note))\b")
_rule("exfiltration", "exfil", 0.5, 0.25,
      ('@', 'http'),
      rf"\b(?:send|e-?mail|forward|upload|post|share|transmit|export|leak|copy|sync|cc|bcc|text|message)\b{_W}{{0,80}}?"
      r"\b(?:to|with|at)\b\s*['\"]?[\w.+-]+@[\w-]+\.[\w.]+"
      rf"|\b(?:send|upload|post|forward|transmit|export|leak)\b{_W}{{0,60}}?\bhttps?://")
_rule("sensitive_data", "sensitive", 0.3, 0.1,
      ('password', 'credential', 'api', 'secret', 'private key', 'access token', 'ssn', 'social security', 'credit card', 'cvv', 'pin code', 'security question', 'login detail', 'passport', 'medical record', 'genetic data', 'health record', 'home address', 'browsing history'),
      r"\b(?:passwords?|credentials?|api[\s_-]?keys?|secret\s+keys?|private\s+keys?|access\s+tokens?|ssn|social\s+security\s+number|"
      r"credit\s+card\s+(?:number|details)|cvv|pin\s+code|security\s+questions?|login\s+details|passport\s+number|"
      r"medical\s+records|genetic\s+data|health\s+records|home\s+address|browsing\s+history)\b")
_rule("harmful_action", "action", 0.3, 0.05,
      ('account', 'access', 'fund', 'money', 'payment', 'password', 'door', 'lock', 'data', 'file', 'email', 'record', 'repositor', 'polic', 'setting', 'device', 'channel', 'profile', 'calendar', 'order', 'stock', 'share', 'crypto', 'bitcoin', 'prescription', 'medication', 'traffic', 'security', 'permission', 'vendor', 'iban', 'bank', 'contact', 'location', 'address', 'home'),
      r"(?:^|[.!?\n]\s*|[:,'\"]\s*)(?:please\s+|kindly\s+|now\s+|immediately\s+)?"
      r"(?:grant|transfer|wire|withdraw|delete|erase|disable|unlock|revoke|deactivate|cancel|sell|buy|purchase|invite|"
      r"add|remove|move|reset|change|update|schedule|book|share|send|email|forward|leave|turn\s+off|open|close|release|"
      r"reroute|redirect|pay|deposit|install|download|post|publish|set|modify|block|unblock|approve|authori[sz]e)\b"
      rf"{_W}{{0,60}}?\b(?:my|your|the|all|this|our|their|his|her)\b"
      r"(?=[^.!?\n]{0,60}?\b(?:account|access|funds?|money|payment|password|door|lock|data|files?|emails?|records?|"
      r"repository|repositories|policy|settings|devices?|channel|profile|calendar|orders?|stocks?|shares|crypto|bitcoin|"
      r"prescriptions?|medication|traffic|security|permissions?|vendor|iban|bank|contacts?|location|address|home)\b)",
      _I | re.M)

# A command written as the principal ("transfer ... from my account", "unlock my door")
# has no business inside a data field: data describes, it does not act for the user.
_rule("principal_command", "principal", 0.6, 0.0,
      ('my', 'me', 'mine'),
      r"(?:^|[.!?\n;]\s*|[:'\"(]\s*)(?:(?:please|kindly|now|immediately|also|then)\s+)*(?:could\s+you\s+|can\s+you\s+)?"
      r"(?:grant|transfer|wire|withdraw|delete|erase|disable|unlock|revoke|deactivate|cancel|sell|buy|purchase|invite|"
      r"add|remove|move|reset|change|update|schedule|book|share|send|e-?mail|forward|leave|turn\s+off|open|release|"
      r"reroute|redirect|pay|deposit|install|download|post|publish|modify|block|unblock|initiate|dispatch|give|"
      r"retrieve|get|fetch|list|find|use|guide|create|make|set\s+up|order|apply|request)\b"
      r"[^.!?\n]{0,100}?\b(?:my|me|mine)\b", _I | re.M)
_rule("collect_and_send", "exfil_chain", 0.55, 0.2,
      ('send', 'mail', 'forward', 'post', 'share', 'upload', 'transmit', 'text', 'message'),
      r"\b(?:get|retrieve|retrive|fetch|list|find|collect|gather|read|search|access|extract|concatenate|compile|look\s+up|download)\b"
      r"[^.!?\n]{0,120}?\b(?:and|then|,)\s+(?:then\s+)?(?:also\s+)?"
      r"(?:send|e-?mail|forward|post|share|upload|transmit|text|message)\b")
_rule("autonomy_pressure", "control", 0.5, 0.3,
      ('without', 'as much', 'as many', 'increments', 'urgent', 'immediately', 'right now', 'asap'),
      r"\bwithout\s+(?:asking|confirmation|confirming|checking\s+with|consulting|waiting\s+for)\b"
      r"|\b(?:as\s+much|as\s+many)\s+(?:money|funds|as\s+possible)\b|\bin\s+small\s+increments\b"
      r"|\b(?:urgent(?:ly)?|immediately|right\s+now|asap)\b[^.!?\n]{0,40}?\b(?:transfer|wire|send|pay|approve|release)\b")
_rule("pay_to_account", "payment", 0.45, 0.2,
      None,
      r"\b(?:pay|transfer|send|wire|remit|move|deposit|transaction|payment)\b[^.!?\n]{0,60}?\bto\b[^.!?\n]{0,30}?"
      r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]){10,30}\b")

# Phrases that keep an ordinary finance request ordinary: paying to the account on file.
_BENIGN = re.compile(r"\b(?:account|bank\s+details|details|iban)\s+(?:on\s+file|we\s+have\s+on\s+file|as\s+usual|unchanged)\b", _I)

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"), None)
_FOLDED = re.compile("[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeffаеорсхуіјѕАВЕКМНОРСТХοαεΙΟΑ]")
_HOMOGLYPHS = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j", "ѕ": "s",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X",
    "ο": "o", "α": "a", "ε": "e", "Ι": "I", "Ο": "O", "Α": "A",
})


def _normalise(text: str) -> tuple[str, list[int] | None]:
    """A copy of ``text`` to match against, and the map from its offsets back to ``text``'s (None = identical)."""
    if text.isascii() or (_FOLDED.search(text) is None and unicodedata.is_normalized("NFKC", text)):
        return text, None
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ord(ch) < 128:
            out.append(ch)
            origin.append(i)
            continue
        ch = ch.translate(_ZERO_WIDTH)
        if not ch:
            continue
        ch = ch.translate(_HOMOGLYPHS)
        folded = unicodedata.normalize("NFKC", ch)
        for c in folded:
            out.append(c)
            origin.append(i)
    origin.append(len(text))
    return "".join(out), origin


def _window(text: str) -> tuple[str, int, str, int]:
    if len(text) <= MAX_SCAN_CHARS:
        return text, 0, "", 0
    half = MAX_SCAN_CHARS // 2
    return text[:half], 0, text[-half:], len(text) - half


def _scan(text: str, offset: int, original: str, context: str, best: dict[str, Signal]) -> None:
    norm, origin = _normalise(text)
    benign = _BENIGN.search(norm) is not None
    user = context == "user"
    words = " ".join(norm.lower().split())
    for name, kind, weight, user_weight, needs, pattern in _RULES:
        w = user_weight if user else weight
        if benign and kind in ("payment", "bank"):
            w *= 0.3
        current = best.get(kind)
        if current is not None and current.weight >= w:
            continue
        if needs is not None and _PREFILTER and not any(word in words for word in needs):
            continue
        match = pattern.search(norm)
        if match is None:
            continue
        start, end = match.span()
        if origin is not None:
            start, end = origin[start], origin[end] if end < len(origin) else len(text)
        start += offset
        end += offset
        lo = max(0, start - 8)
        excerpt = original[lo:min(len(original), max(end, lo + 1), lo + _EXCERPT)]
        best[kind] = Signal(name, start, end, round(w, 3), excerpt)


def score_text(text: str, *, context: str = "data") -> InjectionScore:
    """Score ``text`` for prompt injection where it sits: ``data`` (a memo, description,
    document — the default), ``tool_output`` (same weights), or ``user`` (a person's own request).
    """
    if context not in CONTEXTS:
        raise ValueError(f"context must be one of {', '.join(CONTEXTS)}, not {context!r}")
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if not text or text.isspace():
        return InjectionScore(0.0)
    if len(text) <= _SHORT and _TWO_WORDS.search(text) is None:
        # An identifier ("RE-2025-00017", "PO4500123") cannot carry an instruction: it takes words.
        return InjectionScore(0.0)
    best: dict[str, Signal] = {}
    head, head_at, tail, tail_at = _window(text)
    _scan(head, head_at, text, context, best)
    if tail:
        _scan(tail, tail_at, text, context, best)
    if not best:
        return InjectionScore(0.0)
    remaining = 1.0
    for signal in best.values():
        remaining *= 1.0 - signal.weight
    signals = tuple(sorted(best.values(), key=lambda s: (s.start, s.name)))
    return InjectionScore(round(1.0 - remaining, 4), signals)
