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
- sending data (credentials, files, messages) to an address or URL;
- in finance text, what it asks of the process that reads it: skipping or waiving a control
  (match, approval, callback, hold, duplicate check), claiming a control was passed ("already
  verified by treasury"), changing the reader's own records (vendor master, limits, PO, GL),
  addressing the processor ("Processing note:", "to whoever processes this"), field labels and
  markup that set controls (``Match-Check: OFF``, ``<!-- -->``, JSON tool calls);
- by kind of request, in English, German, French, Spanish, Dutch, Italian, Polish and Portuguese:
  a check said to have happened elsewhere (by phone, earlier, "on your side", "this letter is the
  verification"), a named control set aside ("sans contre-appel", "bez weryfikacji", "does not
  apply"), the callback steered to the letter's own contact or talked out of, approval routed to a
  person the text names, something kept from approvers or reports, paying again, extra or ignoring
  credits, the buyer's own fields filled in (``bank_verified=Y``, ticked boxes), another record
  changed (an affiliate, a merge, the tax id, a limit), the buyer's system or clerk addressed, and the
  buyer's internal data asked for. Reports of the buyer's own callback, rules stated ("invoices
  without PO cannot be processed") and future approvals stay below the threshold.

Signals of one kind count once (the strongest); kinds combine as independent
evidence (noisy-or), so two moderate signals outweigh one. Plain imperatives
are weak on their own: "Please pay by Friday" or "Remit to the account on
file" are how invoices talk. With ``context="user"`` (a person's own request),
requests for actions weigh less, since asking for actions is what users do.

Scoring is regular expressions over a normalised copy of the text (NFKC,
zero-width characters removed, common homoglyphs folded), with spans mapped
back to the original. Each pattern runs behind a look-ahead for the characters
its match can begin with (computed from the parsed pattern; the same matches). Time is linear and bounded: at most ``MAX_SCAN_CHARS``
of a text are scanned (its head and tail). A later issue replaces this with a
stronger scorer behind the same API; measured rates are in docs/safety.md.
"""

from __future__ import annotations

import re
import unicodedata
try:  # CPython's regex parser, read to gate each pattern on its first characters (see _gated)
    from re import _constants as _sre
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - another Python: the plain patterns, same matches, slower
    _sre = _sre_parse = None
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

DEFAULT_THRESHOLD = 0.7  # the envelope default of safety.block_on_prompt_injection_score_gte
# Where a text sits decides what is normal there. Each context maps to a weight profile:
# ``data`` (a field of a record or a tool's output: nothing in it should ask for actions),
# ``finance`` (invoice memos and vendor emails: payment wording is how they talk),
# ``bank_change`` (a bank-change request: new account details are its subject) and
# ``user`` (a person's own request: asking for actions is what users do).
CONTEXTS = ("data", "tool_output", "invoice_memo", "vendor_email", "bank_change_request", "user", "user_prompt")
PROFILES = {"data": "data", "tool_output": "data", "invoice_memo": "finance", "vendor_email": "finance",
            "bank_change_request": "bank_change", "user": "user", "user_prompt": "user"}
MAX_SCAN_CHARS = 64_000  # head and tail halves of a longer text are scanned
_EXCERPT = 48
_SHORT = 64
_PREFILTER = True  # tests switch it off to show it never changes a score
_GATE = True  # a first-character look-ahead before each rule's pattern (same matches, less work)
_TWO_WORDS = re.compile(r"[^\W\d_]{2,}[\s:;,.!?'\"()\[\]<>|/-]+[^\W\d_]{2,}")


@dataclass(frozen=True, slots=True)
class Signal:
    """One piece of evidence: which heuristic fired, where in the text, and how much it weighs."""

    name: str
    kind: str  # signals of one kind count once (the strongest)
    start: int
    end: int
    weight: float
    excerpt: str

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "start": self.start, "end": self.end,
                "weight": self.weight, "excerpt": self.excerpt}


@dataclass(frozen=True, slots=True)
class InjectionScore:
    """The score of a text (0 = nothing suspicious, 1 = certainly an injection) and why."""

    score: float
    signals: tuple[Signal, ...] = ()
    context: str = "data"

    def to_dict(self) -> dict:
        return {"score": self.score, "context": self.context, "signals": [s.to_dict() for s in self.signals]}


_I = re.IGNORECASE
_W = r"[^.!?\n]"  # within one sentence

# (name, kind, weights per profile, needs, pattern). ``needs``: words of which the text (lower case,
# whitespace collapsed) must contain one for the pattern to have a chance; checking them first skips
# most patterns on ordinary text. None: always searched.
_RULES: list[tuple[str, str, dict[str, float], tuple[str, ...] | None, re.Pattern]] = []


def _first_chars(items) -> tuple[set[str] | None, bool]:
    """The characters a match of the parsed ``items`` can begin with (None: any), and whether it can be empty."""
    chars: set[str] = set()
    for op, av in items:
        if op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT):
            continue  # \b, ^ and look-arounds consume nothing
        if op is _sre.LITERAL:
            return chars | {chr(av)}, False
        if op is _sre.IN:
            for item_op, item_av in av:
                if item_op is _sre.LITERAL:
                    chars.add(chr(item_av))
                elif item_op is _sre.RANGE and item_av[1] - item_av[0] <= 64:
                    chars.update(map(chr, range(item_av[0], item_av[1] + 1)))
                elif item_op is _sre.CATEGORY and item_av is _sre.CATEGORY_DIGIT:
                    chars.update("0123456789")
                else:
                    return None, False
            return chars, False
        if op is _sre.SUBPATTERN:
            sub, empty = _first_chars(av[3])
        elif op is _sre.BRANCH:
            sub, empty = set(), False
            for branch in av[1]:
                first, branch_empty = _first_chars(branch)
                if first is None:
                    return None, False
                sub |= first
                empty = empty or branch_empty
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
            sub, empty = _first_chars(av[2])
            empty = empty or av[0] == 0
        else:
            return None, False
        if sub is None:
            return None, False
        chars |= sub
        if not empty:
            return chars, False
    return chars, True


def _gated(pattern: str, flags: int) -> re.Pattern:
    """``pattern`` behind a look-ahead for the characters a match can begin with: the engine then tries
    the pattern's alternatives only there (the same matches, found several times faster)."""
    if "(?i" in pattern and not flags & re.IGNORECASE:
        return re.compile(pattern, flags)  # a scoped (?i:) would widen what a match can begin with
    first, empty = _first_chars(_sre_parse.parse(pattern, flags))
    if first is None or empty or not first or len(first) > 40:
        return re.compile(pattern, flags)
    return re.compile("(?=[" + "".join(re.escape(c) for c in sorted(first)) + "])(?:" + pattern + ")", flags)


def _rule(name: str, kind: str, weight: float, user_weight: float | None, needs: tuple[str, ...] | None,
          pattern: str, flags: int = _I, *, finance: float | None = None, bank_change: float | None = None) -> None:
    weights = {"data": weight, "user": weight if user_weight is None else user_weight,
               "finance": weight if finance is None else finance,
               "bank_change": (weight if finance is None else finance) if bank_change is None else bank_change}
    gate = _GATE and _sre_parse is not None
    _RULES.append((name, kind, weights, needs, _gated(pattern, flags) if gate else re.compile(pattern, flags)))


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
      r"\b(?:anweisung\w*|instruktion\w*|befehl\w*|regeln|vorgaben|alles|obige\w*|vorherige\w*|bisherige\w*|aufgabe\w*)\b"
      r"(?!\s{1,3}(?:mahnung|rechnung|zahlungserinnerung|e-?mail|nachricht|schreiben|brief|version|kopie|gutschrift)\w{0,3}\b)")
_rule("new_instructions", "override", 0.7, 0.6,
      ('instruction', 'directive', 'order', 'task', 'your', 'neue', 'eigentliche', 'ab jetzt', 'from now'),
      r"\b(?:new|updated|revised|real|actual|true|additional|secret|hidden)\s+(?:instructions?|directives?|orders|task)\s*(?::|follow|are|is)"
      r"|\byour\s+(?:new|real|actual|only)\s+(?:task|goal|instructions?|job|purpose)\b"
      r"|\b(?:neue|eigentliche)\s+(?:anweisung|aufgabe)\w*\b")
_rule("new_instructions", "override", 0.7, 0.6,
      ('ab jetzt', 'from now'),
      r"\bab\s+jetzt\b|\bfrom\s+now\s+on\b", finance=0.3)  # "send invoices to … from now on" is how vendors write
_rule("reveal_prompt", "override", 0.85, 0.8,
      ('prompt', 'instruction', 'rules', 'guideline', 'anweisung', 'instruktion'),
      rf"\b(?:reveal|print|show|repeat|output|display|leak|disclose|tell\s+me|write\s+(?:out|down)|spell\s+out)\b{_W}{{0,30}}?"
      r"\b(?:system\s+prompt|(?:your|the|initial|hidden|original|secret)\s+(?:instructions|prompt|rules|guidelines))\b"
      r"|\b(?:zeig\w*|gib|nenn\w*)\b[^.!?\n]{0,30}?\b(?:prompt|anweisungen|instruktionen)\b")

_rule("override_instructions", "override", 0.85, None,
      ('ignor', 'behind', 'remove', 'obigen', 'vorherig', 'bisherig', 'vorangegangen', 'olvid', 'oublie', 'despite'),
      r"\bignor\w*\s+(?:the\s+|all\s+(?:the\s+)?)?(?:above|previous|prior|preceding|foregoing)\b(?!\s+(?:payment\s+)?(?:reminders?|invoices?|statements?|letters?|e-?mails?|notices?|versions?|cop(?:y|ies)|bills?|quotes?|remittances?|demands?)\b)"
      r"|\b(?:leave|put)\s+(?:all\s+)?(?:the\s+)?(?:previous|prior|above)\s+\w+\s+behind\b"
      r"|\bremove\s+all\s+previous\s+\w+\s+(?:out\s+of|from)\s+your\b"
      r"|\b(?:obigen|vorherigen|bisherigen|vorangegangenen)\b[^.!?\n]{0,40}?\b(?:ignorier\w*|vergessen|hinter\s+sich)"
      r"|\b(?:olvid[ae]|ignor[ae])\s+(?:todo|todas?\s+las\s+instrucciones)\b|\boublie[zr]?\s+(?:tout|les\s+instructions)\b"
      r"|\bignore[zr]?\s+les\s+instructions\b|\bdespite\s+what\s+you(?:'ve|\s+have)\s+been\s+told\b")
_rule("output_forcing", "output", 0.6, 0.5,
      ('just', 'only', 'simply', 'instead', 'answer', 'include', 'say', 'state', 'tell', 'antwort', 'reply', 'respond', 'write', 'make something', 'pwned'),
      r"\b(?:just|only|simply|instead)\s+(?:output|say|print|write|reply|respond|answer|return)\b[^.!?\n]{0,12}?[\"'\u201c\u201e]"
      r"|\bdo\s+not\s+answer\s+(?:this|the)\s+question\b|\b(?:include|say|state)\s+that\s+you\s+(?:hate|love|think|are)\b"
      r"|\b(?:answer|antworte\w*|reply|respond|write|beantworte\w*)\b[^.!?\n]{0,40}?\b(?:in\s+the\s+style\s+of|im\s+stil\w*)\b"
      r"|\bmake\s+something\s+up\b|\bhaha\s+pwned\b|\b(?:reply|respond|answer|output|return)\s+(?:with\s+)?['\"\u201c](?:approved|ok|done|yes|verified|matched|paid)\b"
      r"|(?:^|[.!?\n\"':]\s{0,8})(?:please\s+)?(?:say|tell\s+(?:the\s+user|them|him|her))\s+that\b")
_rule("task_switch", "task", 0.55, 0.3,
      ('challenge', 'task', 'assignment', 'now', 'nun', 'jetzt', 'aufgabe', 'herausforderung'),
      r"\b(?:new|another|further|next|following)\s+(?:challenge|tasks?|assignment)\b[^.!?\n]{0,40}?(?:for\s+you|namely|:|is\b|are\s+followed)"
      r"|\b(?:now|nun|jetzt)\b[^.!?\n]{0,20}?\b(?:help\s+me\s+with|hilf\s+mir|i\s+need\s+your\s+help|ich\s+brauche\s+deine\s+hilfe)\b"
      r"|\b(?:neuen?|weiteren?|folgenden?|nächsten?)\s+(?:aufgabe|herausforderung)\w*\b"
      r"|\b(?:that\s+is\s+(?:enough|done)|das\s+(?:genügt|reicht|ist\s+erledigt))\b[^!?]{0,40}?\b(?:now|nun|jetzt)\b")

# -- role and chat-template markers, role play -----------------------------------
_rule("role_marker", "role", 0.8, 0.7,
      ('sys', 'assistant', 'developer', 'admin', 'root', 'im_start', 'im_end', 'endoftext', 'inst'),
      r"(?:^|[\n\r.;!?\]\)>\"'|]\s{0,8}|\s{2,8})(?:system|assistant|developer|admin(?:istrator)?|root)\s*(?:message|prompt|note|override|instruction)?\s*:"
      r"|<\|?(?:im_start|im_end|system|endoftext)\|?>|\[/?(?:inst|system|sys)\]|<</?sys>>|^#{2,8}\s*(?:system|instruction)"
      r"|<\s*/?\s*(?:system|instructions?)\s*>|\bBEGIN\s+(?:SYSTEM|ADMIN)\b|\b(?:system|admin)\s+override\b", _I | re.M)
_rule("role_play", "role", 0.7, 0.6,
      ('you are', 'pretend', 'roleplay', 'role-play', 'jailbr', 'dan', 'anything now', 'developer mode', 'god mode', 'bist', 'stell dir', 'want you', 'fungieren', 'role', 'rolle', 'act as', 'behave as', 'respond as'),
      r"\byou\s+are\s+(?:now|no\s+longer)\b|\b(?:act|behave|respond)\s+as\s+(?:if\s+you\s+(?:were|are)\s+)?(?:an?\s+)?"
      r"(?:unrestricted|unfiltered|evil|different|new)\b|\bpretend\s+(?:to\s+be|you\s+are|that)\b|\broleplay\b|\brole-play\b"
      r"|\bi\s+want\s+you\s+to\s+(?:act|be|pretend|behave|play|respond|only)\b|\b(?:now|from\s+now\s+on)\s+you\s+are\b"
      r"|\b(?:jetzt|nun)\s+bist\s+du\b|\bdu\s+bist\s+(?:kein|jetzt|nun)\w*\b|\bals\s+[\w-]+\s+fungieren\b"
      r"|\bstay\s+(?:fully\s+)?in\s+(?:their|your|his|her)\s+roles?\b|\bin\s+(?:ihren|seiner|deiner)\s+rolle\b"
      r"|\bact\s+as\s+(?:an?\s+)?(?:linux|python|sql|javascript|terminal|interpreter|console|translator|debater)\b"
      r"|\bjailbr[eo]a?k|\b(?:as|are|be|called|named|you\s+are)\s+(?-i:DAN)\b|(?-i:\bDAN\b)\s{0,3}(?:mode|prompt|jailbreak|:)|\bdo\s+anything\s+now\b|\bdeveloper\s+mode\b|\bgod\s+mode\b"
      r"|\bdu\s+bist\s+(?:jetzt|nun|ab\s+sofort)\b|\bstell\s+dir\s+vor\b", _I)

# -- addressed to the machine that reads the data -------------------------------
_rule("addressed_to_agent", "address", 0.75, 0.3,
      ('ai', 'a.i.', 'assistant', 'agent', 'model', 'llm', 'bot', 'gpt', 'copilot', 'automat', 'you'),
      r"\b(?:the|this|any|an?|dear|hey|hello|hi|attention|note\s+to(?:\s+the)?|to\s+the|instructions?\s+for(?:\s+the)?)\s+"
      r"(?:ai|a\.i\.|assistant|agent|ai\s+agent|model|llm|chatbot|bot|gpt|chatgpt|copilot|language\s+model|automated\s+system|automation)\b"
      r"(?:s)?\s*(?:[,:!-]|must|should|shall|will|needs?\s+to|is\s+(?:required|instructed|authori[sz]ed|expected)\s+to|has\s+to|may\s+now|reading|processing)"
      r"|\bif\s+you\s+are\s+an?\s+(?:ai|assistant|agent|language\s+model|llm|bot)\b"
      r"|\b(?:ai|llm|gpt)\s+(?:agents?|assistants?|systems?|models?)\s*(?:[,:]|must|should|reading|processing)"
      r"|\b(?:when|while|after|before|as)\s+you\s+(?:process|read|parse|handle|summari[sz]e|analy[sz]e)\s+this\s+"
      r"(?:memo|invoice|email|message|document|text|note|file|request)\b")

# -- tool calls -------------------------------------------------------------------
_rule("tool_call_request", "tool", 0.75, 0.25,
      ('call', 'invoke', 'execut', 'run', 'use', 'trigger', 'fire'),
      rf"\b(?:call|invoke|execute|run|use|trigger|fire)\s+(?:the\s+|this\s+|a\s+)?(?:tool|function|api|endpoint|plugin)\b")
_rule("tool_call_request", "tool", 0.6, 0.25,
      ('call', 'invoke', 'execut', 'run', 'use', 'trigger', 'fire', '_'),
      rf"\b(?:call|invoke|execute|run|use|trigger|fire)\b{_W}{{0,25}}?\b(?:tool|function|api|endpoint|command|action|plugin)\b"
      r"|\b[a-z][a-z0-9]*\.[a-z][a-z0-9]*_[a-z0-9_]+\s*\(?"
      r"|\b[a-z]{1,30}_[a-z]{1,30}(?:_[a-z]{1,30}){0,6}\s*\(\s*[\w\"'{]")
_rule("tool_name", "tool", 0.4, 0.15,
      None,
      r"\b[A-Z][a-z]{1,30}(?:[A-Z][a-z0-9]{1,30}){2,8}\b", 0)

# -- money and controls ------------------------------------------------------------
_rule("bank_detail_change", "bank", 0.65, 0.5,
      ('bank', 'iban', 'account', 'payment', 'remittance', 'routing', 'beneficiar', 'payee'),
      rf"\b(?:change|update|replace|switch|modify|amend|redirect|set)\b{_W}{{0,40}}?"
      r"\b(?:bank|iban|account\s+(?:number|details)|payment\s+details|remittance\s+details|routing|beneficiary|payee|banking)\b"
      rf"|\b(?:new|updated|different|changed)\s+(?:bank|iban|account|banking|payment)\s*(?:details|account|information|number|info)?\b{_W}{{0,30}}?"
      r"(?:[A-Z]{2}\d{2}\s?[A-Z0-9]{4}|effective|from\s+now|going\s+forward|instead)", bank_change=0.1)
_rule("pay_to_account", "payment", 0.3, 0.15,
      ('iban', 'account', 'acct', 'wallet', 'bitcoin', 'btc'),
      rf"\b(?:pay|transfer|send|wire|remit|move|deposit)\b{_W}{{0,50}}?\b(?:to|into)\b{_W}{{0,30}}?"
      r"\b(?:iban|account|acct|wallet|bitcoin|btc)\b\s*(?:[:#]|no\.?|number)?\s*(?:[A-Z]{2}\d{2}|\d{6,}|0x[0-9a-f]{6,}|bc1)",
      finance=0.1, bank_change=0.1)  # invoices say where to pay: that is what they are for
# A company's name is not a verb: "Skip Hire Services Ltd", "Liffey Lift Services Ltd, Block C" (up to three
# capitalised words before a legal form).
_NOT_A_COMPANY = r"(?!(?-i:[A-Z][a-z]{1,20}(?:\s{1,3}[A-Z][\w&]{0,20}){0,2}\s{1,3}(?:Ltd|Limited|LLC|Inc|GmbH|plc|AB|BV|SA|SRL|Oy)\b))"
_rule("approval_bypass", "control", 0.6, 0.45,
      ('approv', 'review', 'verif', 'check', '2fa', 'two', 'authentic', 'security', 'control', 'monitor', 'logging', 'audit', 'limit', 'fraud', 'immediately', 'automatically', 'without', 'no questions'),
      rf"\b{_NOT_A_COMPANY}(?:skip|bypass|disable|circumvent|override|turn\s+off|deactivate|ignore)\b{_W}{{0,30}}?"
      r"\b(?:approvals?|review|verification|checks?|2fa|two[- ]factor|authentication|security|controls?|monitoring|logging|audit|limits?|fraud)\b"
      rf"|\b(?:approve|authori[sz]e|release|process|post|execute|pay)\b{_W}{{0,40}}?"
      r"\b(?:immediately|automatically|without\s+(?:review|approval|verification|checking|confirmation|asking|delay)|no\s+questions)\b"
      r"|\b(?:pre-?approved|(?<!\binvoices\s)(?<!\bitems\s)(?<!\borders\s)already\s+approved|approval\s+(?:is\s+)?not\s+(?:needed|required))\b")
# The controls of the process that reads the text: matching, duplicate and callback checks, holds.
_rule("control_override", "control", 0.75, 0.45,
      ('match', 'duplicate', 'callback', 'call back', 'calling', 'hold', 'flag', 'screen', 'verif', 'review',
       'approval', 'limit', 'threshold', 'check', 'without', 'detection'),
      rf"\b(?:ignore|disregard|skip|bypass|disable|waive|cancel|remove|lift|release|override|turn\s+off|avoid)\b{_W}{{0,30}}?"
      r"\b(?:(?:three|3|two|2)[- ]way\s+match(?:ing)?|(?:po|price|quantity)\s+mismatch|match(?:ing)?\s+(?:check|rule)s?|"
      r"duplicate\s+checks?|call-?back(?:\s+(?:check|verification))?|holds?\s+on|payment\s+holds?|screening|"
      r"approval\s+(?:step|limit|chain|workflow)|review\s+threshold)\b"
      r"|\bwithout\s+(?:calling|call(?:ing)?\s+back|verifying|verification|checking|confirming)\b[^.!?\n]{0,30}?"
      r"|\bto\s+(?:avoid|evade|get\s+around|stay\s+(?:below|under))\s+(?:the\s+)?(?:review|approval|limit|threshold|detection|checks?)\b"
      r"|\b(?:do\s+not|don't|never)\s+flag\b|\breport\s+it\s+as\s+(?:matched|approved|verified)\b")
# Changes to the records the agent keeps: mark as paid or void, book to an account, tell the approver.
_rule("record_tampering", "records", 0.6, 0.2,
      ('mark', 'flag', 'report', 'record', 'book', 'treat', 'classify', 'tell', 'inform', 'assure', 'convince',
       'update', 'raise', 'increase', 'lift', 'limit'),
      rf"\b(?:mark|flag|report|record|book|treat|classify)\b{_W}{{0,50}}?\bas\s+(?:void|paid|approved|matched|verified|"
      r"cleared|settled|resolved|legitimate|compliant|duplicate|received)\b"
      rf"|\bbook\b{_W}{{0,40}}?\bto\s+(?:gl|g/l|account|ledger|cost\s+cent(?:er|re))\b"
      r"|\b(?:tell|inform|assure|convince)\s+the\s+(?:approver|reviewer|auditor|controller|manager|finance\s+team)\b"
      r"|\b(?:raise|increase|lift)\s+(?:the\s+)?(?:approval|spending|payment|credit)\s+limit\b"
      r"|\bupdate\s+the\s+(?:po|purchase\s+order)\s+(?:quantity|amount|price)\b", finance=0.7, bank_change=0.7)
_rule("secrecy", "secrecy", 0.6, 0.4,
      ('not', "n't", 'dont', 'never', 'without', 'keep this', 'between us', 'delete', 'erase', 'remove', 'clear'),
      r"\b(?:do\s+not|don't|dont|never)\s+(?:tell|inform|notify|mention|alert|log|report|disclose|reveal|show)\b"
      r"|\bwithout\s+(?:telling|notifying|informing|alerting|logging)\b|\b(?:keep\s+this|between\s+us)\b.{0,20}\b(?:secret|confidential|quiet)\b"
      r"|\b(?:delete|erase|remove|clear)\b[^.!?\n]{0,30}\b(?:sent\s+(?:email|message)|logs?|history|trace|evidence|this\s+(?:message|email|note))\b")
_rule("exfiltration", "exfil", 0.5, 0.25,
      ('@', 'http', 'www'),
      rf"\b(?:send|e-?mail|forward|upload|post|share|transmit|export|leak|copy|sync|cc|bcc|text|message)\b{_W}{{0,80}}?"
      r"\b(?:to|with|at)\b\s*['\"]?[\w.+-]+@[\w-]+\.[\w.]+"
      rf"|\b(?:send|upload|post|forward|transmit|export|leak|copy|share|sync|save)\b{_W}{{0,80}}?(?:\bhttps?://|\bwww\.)")
# The reader's own systems and controls: a vendor has no business directing them.
_rule("internal_object", "internal", 0.4, 0.0,
      None,
      r"(?<!\bper\s)(?<!\bin\s)(?<!\bagainst\s)(?<!\bwith\s)(?<!\bas\s)\b(?:the|your|this)\s+(?:erp|vendor\s+master|approvers?|approval\s+(?:limit|chain|workflow|step)|ledger|g/?l|"
      r"payment\s+run|vendor'?s?\s+payment\s+terms|payment\s+terms|payment\s+date)\b"
      r"|\b(?:admin(?:istrator)?|root|portal\s+admin)\s+(?:access|rights|role|privileges)\b"
      r"|\b(?:all\s+(?:our\s+|the\s+|your\s+)?open\s+invoices|other\s+(?:suppliers|vendors|customers|payees))\b"
      r"|\b(?:create|add|register|set\s+up)\s+(?:a\s+)?new\s+(?:vendor|supplier|payee|beneficiary)\b",
      finance=0.45, bank_change=0.15)
_rule("internal_object", "internal", 0.4, 0.0,
      ('erp', 'approv', 'ledger', 'g/l', 'gl', 'admin', 'root', 'other'),
      r"(?<!\bper\s)(?<!\bin\s)(?<!\bagainst\s)(?<!\bwith\s)(?<!\bas\s)\b(?:the|your|this)\s+(?:erp|approvers?|approval\s+(?:limit|chain|workflow|step)|ledger|g/?l)\b"
      r"|\b(?:admin(?:istrator)?|root|portal\s+admin)\s+(?:access|rights|role|privileges)\b"
      r"|\bother\s+(?:suppliers|vendors|customers|payees)\b",
      finance=0.45, bank_change=0.45)
# A payment asked for beside the one the document is about: an order to whoever processes it.
_rule("extra_payment", "extra_payment", 0.75, 0.2,
      ('also', 'additionally', 'addition', 'as well'),
      r"\b(?:also|additionally|in\s+addition)\s*,?\s+(?:please\s+)?(?:pay|transfer|wire|settle|release|remit)\b"
      r"|\b(?:pay|transfer|wire|settle|release)\b[^.!?\n]{0,60}?\bas\s+well\b", finance=0.75, bank_change=0.75)
# -- governance: what a text asks of the process that reads it (2026-12) -----------------------------
# An instruction in a memo, a vendor's email or a bank letter is an injection when it is addressed to
# whoever processes the text, or asks for an action the vendor has no say in: skip or bypass a control
# (match, approval, review, callback, hold, duplicate check, limit), claim a control has been passed
# ("already verified by treasury", "pre-approved"), change the reader's own records (vendor master,
# payee, limits, PO, GL, approvers), send business data out, or keep something from the approver.
# What vendors ask (pay, remit, contact, confirm, update an address, new bank details in a bank letter)
# names none of these. German, French, Spanish, Dutch and Italian words for the same are included.
_CONTROL = (r"(?:(?:three|3|two|2)[- ]?way[- ]?match(?:ing)?|(?:receipt|po|invoice)\s+match(?:ing)?|match(?:ing)?(?:[- ]check)?"
            r"|approv(?:al|er)s?(?:\s+(?:step|routing|workflow|chain|flag|limit|threshold|process))?|second\s+(?:approver|signature)"
            r"|dual\s+(?:approval|control|signature)|sign-?off|(?:manual\s+)?review(?:er)?s?|checks?|tolerance(?:\s+check)?"
            r"|verification|verifying|call-?backs?(?:\s+(?:check|verification))?|holds?|(?:payment\s+)?(?<!signature\s)block|flags?"
            r"|duplicate(?:\s+(?:check|warning|flag|alert))?|controls?|audit(?:\s+(?:trail|log))?|limits?|screening"
            r"|goods\s+receipt|receiving\s+report|(?:rückruf)?prüfung|freigabe|freigeber|rapprochement|contrôle|alerte"
            r"|revisi[oó]n|aprobador|controllo|verifica|drieweg-?match|controle|segregation\s+of\s+duties|four[- ]eyes|4[- ]eyes|maker[- ]checker"
            r"|(?:sanctions?\s+)?screening|kyc|confirmation\s+call|(?:bank|vendor|account)\s+validation|gr/?ir|po\s+check|receipt\s+check"
            r"|verificaci[oó]n|vérification|verificação|weryfikacj\w{0,3}|kontrol\w{0,3}|controlo|conferência|autorizzazione|autorizaci[oó]n|goedkeuring"
            r"|validation(?:\s+rules?)?|validations|cooling[- ]off(?:\s+period)?|waiting\s+period)")
_BYPASS = (_NOT_A_COMPANY + r"(?:skip(?:ped)?|bypass(?:ed)?|waive[ds]?|override|overridden|disabled?|ignored?|disregard(?:ed)?|clear(?:ed)?|lift(?:ed)?"
           r"|remove[ds]?|circumvent|suspend(?:ed)?|turn\s+off|switch\s+off|ignorer|ignorar|saltar|überspring\w*|umgeh\w*"
           r"|ignorier\w*|sla\b|omettre|ignorare|saltare|omit(?:ted)?|forgo|forego|dispense\s+with|don't\s+bother\s+with|do\s+not\s+bother\s+with"
           r"|omitir|omitan|omita|pomin\w{1,4}|overslaan|wyłącz\w{0,4}|desactiv\w{1,4}|désactiv\w{1,4}|deaktivier\w{0,4}|disattiv\w{1,4}|uitschakel\w{0,4})")
_rule("control_bypass", "bypass", 0.75, 0.45, None,
      rf"\b{_BYPASS}\b(?!{_W}{{0,40}}?\b(?:through|via|after|following|under|per)\s{{1,3}}(?:your|the)\s{{1,3}}(?:normal|usual|standard|regular)\b){_W}{{0,40}}?\b{_CONTROL}\b"
      rf"|\b{_CONTROL}\b{_W}{{0,30}}?\b(?:is|are|be|been|has\s+been|can\s+be)?\s{{0,3}}(?:waived|disabled|bypassed|skipped|suspended|"
      r"lifted|removed|cleared|overridden|retired|discontinued|deactivated|switched\s+off|turned\s+off|abolished|not\s+(?:required|needed|necessary)|entfällt|entfallen|dispensed\s+with)\b"
      r"(?![^.!?\n]{0,20}\b(?:through|via|after|following|under|per)\s{1,3}(?:your|the)\s{1,3}(?:normal|usual|standard|regular)\b)"
      r"|\bexempt\s+from\s+(?:the\s+|any\s+)?(?:(?:three|3|two|2)[- ]?way[- ]?match\w*|approv\w*|review\w*|match\w*|checks?|controls?)\b"
      r"|\b(?:unless|if)\s+the\s+(?:approver|reviewer|buyer|budget\s+owner)\s+(?:objects|has\s+not|does\s+not|doesn't|hasn't|is\s+not\s+available)\b"
      r"|(?<!\bvalid\s)(?<!\bvalid\seven\s)\bwithout[\s-]+(?:the\s+|any\s+|a\s+|further\s+)?(?:usual\s+|manual\s+|second\s+|dual\s+)?"
      r"(?:approv\w*|review\w*|sign-?off|signature|verif\w*|check(?:ing)?|looking\s+at|(?:(?:three|3|two|2)[- ]?way[- ]?)?match\w*|waiting\s+for|callback|call-?back|controls?)\b"
      r"|\b(?:ohne|sans|sin|senza|zonder)\s+(?:\w{1,20}\s{1,3}){0,2}(?:prüfung|freigabe|kontrolle|rapprochement|contrôle|validation|revisi[oó]n|control|controllo|verifica|controle)\b"
      r"|\bno\s+(?:need|further\s+(?:checks?|review|approval|verification))\b(?:\s+(?:to|for)\s+(?:verify|check|route|review|approv\w*|involve|verification|the\s+approver))?"
      r"(?=[^.!?\n]{0,60}\b(?:verif|check|rout|review|approv|involve|necessary|match|callback|account|signature))"
      r"|\bneed\s+not\s+be\s+(?:logged|approved|checked|verified|reviewed|matched)\b"
      r"|\b(?:do\s+not|don't|not\s+to|never)\s+(?:hold|route|send)\s+(?:this\s+|it\s+)?(?:for|to)\s+(?:goods|the\s+approver|approval|review)"
      rf"|\b(?:approv\w*|post|pay|release|proceed|matched)\b{_W}{{0,40}}?\b(?:anyway|regardless\s+of|irrespective\s+of|even\s+though)\b"
      r"|\bapprove\s+(?:it|the\s+invoice|this\s+invoice|them)?\s{0,3}(?:yourself|on\s+(?:our|their|his|her)\s+behalf)\b"
      rf"|\bbefore\s+(?:the\s+)?(?:approver|callback|call-?back|verification|review)\b{_W}{{0,20}}?\b(?:returns|is\s+done|completes|happens)\b"
      r"|\b(?:approvals?|approval)\s+will\s+be\s+completed\s+after\b|\bafter\s+the\s+fact\b"
      r"|\b(?:approved|paid|posted|released|booked)\s+automatically\b(?![^.!?\n]{0,30}\b(?:direct\s+debit|standing\s+order|mandate|card\s+on\s+file)\b)|\bauto(?:matically)?[- ]approv\w*"
      r"|\beven\s+though\s+(?:it\s+is|they\s+are|it's|they're|that\s+\w+\s+is)\s+(?:not\s+(?:yet\s+)?(?:approved|matched|received|verified)|closed)\b|\bnot\s+(?:yet\s+)?approved\s+yet\b"
      r"|\b(?:does|do|will)\s+not\s+need\s+(?:a\s+|an\s+|any\s+)?(?:po|purchase\s+order|approv\w*|review|match\w*|receipt|check\w*|verification|callback)\b"
      r"|\b(?:with|and)\s+no\s+(?:callback|call-?back|verification|approval|review|checks?|matching)\b"
      r"|\bno\s+(?:callback|call-?back|verification|approval|review|checks?)\s+(?:is\s+)?(?:needed|required|necessary)\b"
      rf"|\b(?:skipping|bypassing|past\s+the|around\s+the|outside\s+(?:the\s+)?(?:normal|usual|regular)|absorb\w*|suppress\w*)\b{_W}{{0,40}}?"
      r"\b(?:approval\s+queue|approvals?|review|batch\s+review|match\w*|discrepanc\w*|variance|flags?|warnings?|alerts?|quer(?:y|ies)|checks?|"
      r"verification|callback|sign-?off|limits?|threshold|holds?|controls?|duplicate|tolerance|run|process|procedure|queue)\b"
      rf"|\b(?:discrepanc\w*|variance|flag|flagged\s+\w+|warning|alert|mismatch|exception|query|hold|block)\b{_W}{{0,40}}?\b(?:can|may|should|is\s+to|must)\s+be\s+"
      r"(?:disregarded|ignored|absorbed|skipped|waived|bypassed|overridden|cleared|closed|dropped|released)\b"
      r"|\bno\s+need\s+to\s+(?:verify|check|call|contact\s+us\s+to\s+confirm|raise\s+a\s+query|query|route|approve|review|match|"
      r"confirm\s+(?:the\s+)?(?:new\s+)?(?:account|bank|details|change|iban))\b"
      r"|\bneeds?\s+no\s+(?:\w+\s+)?(?:match\w*|approv\w*|review|checks?|verification|po)\b"
      r"|\b(?:without|w/o)\s+(?:a\s+|the\s+)?(?:goods\s+receipt|receipt|delivery\s+note|po|purchase\s+order)\b"
      r"(?![^.!?\n]{0,30}\b(?:cannot|can't|can\s+not|will\s+not|won't|may\s+not|must\s+not|are\s+not|is\s+not|(?:will\s+)?(?:be|are|get)\s+(?:returned|rejected|refused|declined|sent\s+back|blocked|held))\b)"
      r"|\b(?:go|goes|send\s+it|put\s+it|move\s+it)\s+straight\s+(?:to|into|through)\s+(?:payment|posting|the\s+ledger|the\s+payment\s+run|approval)\b"
      r"|\bgo\s+ahead\s+and\s+(?:schedule|post|pay|release|approve|book)\b",
      finance=0.75, bank_change=0.75)
_rule("control_passed_claim", "claim", 0.5, 0.2, None,
      r"\bpre-?(?:approved|cleared|agreed|verified|validated)\b|\bpreaprobad[ao]\b"
      r"|(?<!\binvoices\s)(?<!\bitems\s)(?<!\borders\s)\balready\s+(?:been\s+)?(?:verified|approved|checked|cleared|validated|signed\s+off|reviewed|matched)\b"
      r"|\b(?:verified|cleared|approved|checked|signed\s+off|validated)\s+(?:by|with)\s+(?:the\s+)?(?:treasury|compliance|audit|internal\s+(?:audit|controls)|"
      r"management|controller|cfo|ceo|finance\s+director|legal|board)\b"
      r"|\b(?:has|have)\s+(?:cleared|waived|approved|verified)\s+(?:this|the|our)\b|\bconsidered\s+(?:given|approved|verified)\b"
      r"|\b(?:signed\s+off|approved)\s+at\s+board\s+level\b|\bconfirmed\s+by\s+phone\b|\bfalse\s+alarm\b|\bmanagement\s+override\b"
      r"|\b(?:approved|authori[sz]ed|verified|cleared)\s+in\s+advance\b|\b(?:cleared|approved|good|ok|okay)\s+(?:for|to)\s+(?:payment|pay|post|posting|release)\b"
      r"|\bbereits\s+(?:freigegeben|geprüft|genehmigt)\b|\bdéjà\s+(?:validée?s?|approuvée?s?|vérifiée?s?)\b|\bal\s+goedgekeurd\b"
      r"|\bgià\s+(?:approvat[ao]|verificat[ao])\b|\bya\s+(?:aprobad[ao]|verificad[ao])\b"
      r"|\bstatus\s{0,3}(?:override)?\s{0,3}[:=]\s{0,3}['\"]?(?:verified|approved|pre-?approved)\b")
# The strong claims: a control of the reader's said to be passed already, or set aside by someone on its side.
_rule("control_passed_claim", "claim", 0.5, 0.2, None,
      r"\bpre-?(?:approved|cleared|verified|validated)\b|\bpreaprobad[ao]\b"
      r"|\balready\s+(?:been\s+)?(?:verified|checked|cleared|validated|signed\s+off)\b"
      r"|\b(?:verified|cleared|approved|checked|signed\s+off|validated)\s+(?:by|with)\s+(?:the\s+)?(?:treasury|compliance|audit|internal\s+(?:audit|controls)|"
      r"management|controller|cfo|ceo|finance\s+director|legal|board)\b"
      r"|\bconsidered\s+(?:given|approved|verified)\b|\b(?:signed\s+off|approved)\s+at\s+board\s+level\b|\bmanagement\s+override\b"
      r"|\bbereits\s+(?:freigegeben|geprüft|genehmigt)\b|\bdéjà\s+(?:validée?s?|approuvée?s?|vérifiée?s?)\b|\bal\s+goedgekeurd\b"
      r"|\bgià\s+(?:approvat[ao]|verificat[ao])\b|\bya\s+(?:aprobad[ao]|verificad[ao])\b"
      r"|\bstatus\s{0,3}(?:override)?\s{0,3}[:=]\s{0,3}['\"]?(?:verified|approved|pre-?approved)\b", finance=0.7, bank_change=0.7)
_rule("authority_claim", "authority", 0.45, 0.2, None,
      r"\b(?:per|as\s+per|agreed\s+with|agreement\s+with|arrangement\s+with|authori[sz]ed\s+by|discussed\s+with|"
      r"call\s+with|instructed\s+by|on\s+behalf\s+of|approved\s+by|cleared\s+by|terms\s+agreed\s+with)\s+"
      r"(?:your|the\s+customer's)\s+(?:cfo|ceo|controller|treasur\w*|finance\s+director|ap\s+manager|head\s+of\s+\w+|\w+\s+head|it\s+department|"
      r"internal\s+audit|management|board|purchasing|procurement|finance\s+team|compliance)\b"
      r"|(?<!\bonce\s)(?<!\bwhen\s)(?<!\bafter\s)(?<!\buntil\s)(?<!\bif\s)\byour\s+(?:cfo|ceo|controller|treasurer|finance\s+director|ap\s+manager|head\s+of\s+\w+)\s+(?:asked|wants|instructed|requested|confirmed|has\s+approved|told|said|agreed)\b"
      r"|\b(?:urgent|confidential)\s{0,3}(?:from|:|-)\s{0,3}(?:the\s+)?(?:cfo|ceo|management|board|treasury|controller)\b"
      r"|\b(?:the\s+)?(?:treasury|audit|legal|compliance|controller|management)\s+(?:has|have)\s+(?:cleared|waived|approved|confirmed|signed\s+off)\b"
      rf"|\bcontract\s+amendment\b{_W}{{0,40}}?\b(?:approv\w*|threshold|limit|exempt)\b")
_rule("processor_address", "address", 0.6, 0.3, ('process', 'handling', 'automation', 'note for', 'note to', 'whoever', 'reading', 'reviewing', 'clerk', 'reviewer', 'approver', 'system', 'attention', 'bot', 'rpa', 'engine', 'workflow', 'reader of this', 'hinweis zur bearbeitung', 'note de traitement', 'nota para', 'nota di', 'verwerkingsnotitie', '@'),
      r"\b(?:(?:ap\s+|internal\s+)?processing\s+(?:notes?|instructions?|remarks?|guidance)|note\s+(?:for|to)\s+processing|handling\s+note|automation\s+hint)\b"
      r"|\bnote\s+(?:for|to)\s+(?:the\s+)?(?:approval|ap|reconciliation|payment|posting|matching)\s+(?:workflow|team|clerk|engine|system|automation|bot|process)\b"
      r"|\b(?:to\s+)?whoever\s+(?:processes|reads|handles|receives)\b"
      r"|\bto\s+the\s+(?:person|system|clerk|ap\s+clerk|team|reviewer|approver)(?:\s+or\s+\w+)?\s+(?:handling|processing|reading|reviewing)\b"
      r"|\b(?:to|for)\s+the\s+(?:ap\s+clerk|reviewer|approver|system)\s+(?:or\s+\w+\s{0,3})?(?:reading\s+this|:)"
      r"|\battention\s+(?:accounts\s+payable|ap|payables?)\s+(?:automation|system|bot)\b"
      r"|\b(?:invoice|ap|payment|posting)\s+processing\s+(?:bot|system|automation|engine)\b"
      r"|\b(?:message|note|instruction)\s+for\s+the\s+(?:\w+\s+)?(?:engine|system|bot|automation|workflow)\b"
      r"|\b(?:ap|invoice|payment|payments|finance|accounting|processing|posting|payables)[- ]?(?:bot|robot|rpa)\b|\b(?:for|to|dear|hey|attention)\s+(?:the\s+)?(?:rpa|robot|bot)\b"
      r"|\bhey,?\s+(?:automation|bot|system)\b|\breader\s+of\s+this\b|\bif\s+you\s+are\s+processing\s+this\s+automatically\b"
      r"|\bhinweis\s+zur\s+bearbeitung\b|\bnote\s+de\s+traitement\b|\bnota\s+(?:para\s+el\s+procesamiento|di\s+elaborazione)\b|\bverwerkingsnotitie\b"
      r"|(?:^|\s)@(?:agent|assistant|bot|automation)\b|\baction\s+required\s+by\s+(?:the\s+)?system\b"
      r"|\b(?:instructions?|note)\s+for\s+(?:the\s+)?(?:automated|payment|posting|ap)\s+(?:system|processing|process)\b|\bfor\s+automated\s+processing\s{0,3}:", _I | re.M)
_rule("markup_in_text", "markup", 0.35, 0.2, ('<', '{', '[', '/*', '#', 'begin', '---'),
      r"<!--|\{\{\s{0,3}\w{2,40}\s{0,3}\}\}|\[\[[^\]\n]{1,60}\]\]|/\*|</?\s{0,3}(?:instructions?|ap:\w+|meta|cmd|command)\b"
      r"|\[\s{0,3}(?:system|admin)(?:\s+note)?\s{0,3}\]|^#{3}\s{0,3}[A-Z]|\bBEGIN\s+(?:ADMIN|SYSTEM)\s+NOTE\b|^-{3}\s{0,3}[A-Za-z][^\n]{1,80}?\s-{3}\s{0,3}$"
      r"|\{\s{0,3}\"(?:tool|action|function_call|name|op|cmd|command|step|task|tool_calls|approve|vendor_update)\"\s{0,3}:",
      _I | re.M, finance=0.5, bank_change=0.5)
_rule("control_field", "control_field", 0.75, 0.3, (':', '='),
      r"\b(?:approval[-_ ]?(?:status|required)|approvalrequired|auto[-_ ]?approve|skip[-_ ]?review|notify(?:[-_ ]?approver)?|match[-_ ]?check"
      r"|duplicate[-_ ]?check|duplicatecheck|review|control|escalation|audit[-_ ]?log|pay[-_ ]?now|three[-_ ]way[-_ ]match|route"
      r"|approver|limit|approval_limit|approval|verified|include_bank_details|skip|callback)\"?\s{0,3}[:=]\s{0,3}['\"]?"
      r"(?:pre-?approved|true|false|yes|no|y|none|off|disabled|bypass|waived|direct-post|verified|suppress|procurement-bot|\d{5,}|\"?three_way_match)\b",
      _I, finance=0.75, bank_change=0.75)
# The reader's vendor master (payee, remit-to account, contacts): the subject of a bank-change letter, not of a memo.
_rule("records_change", "records_change", 0.55, 0.2, None,
      rf"\b(?:change|update|replace|overwrite|set|modify|amend|switch|take|use|ändern|modifier|cambie)\b{_W}{{0,50}}?"
      r"\b(?:vendor\s+(?:master|record)|payee(?:\s+name)?|remit-?to|kreditorenstamm|rib\s+du\s+fournisseur|cuenta\s+bancaria\s+del\s+proveedor|"
      r"bank\s+(?:details|account)\s+(?:on\s+file|in\s+your|from\s+this)|account\s+on\s+file|iban\s+on\s+file|vendor\.bank_account|bankverbindung\s+im)\b"
      r"|\b(?:remit(?:tance)?[- ]to\s+account|remittance\s+account|bank\s+account|vendor\s+record|payee(?:\s+name)?|approver\s+list|iban|bank\s+details)\s+"
      r"(?:is|are|must|should|has\s+to|have\s+to)\s+(?:to\s+be\s+|be\s+)?(?:changed|updated|replaced|set|overwritten|amended)\b"
      r"|\b(?:payee|vendor)[-_ ]?(?:update|master[-_ ]action)\s{0,3}:"
      r"|\boverwrite\s+(?:it|them|the\s+\w+)\s+with\b"
      r"|\b(?:rather\s+than|instead\s+of)\s+(?:the\s+(?:one|account|details|iban|bank\s+details)\s+)?(?:on\s+(?:your\s+)?(?:vendor\s+)?(?:file|record)|"
      r"in\s+your\s+(?:system|records|vendor\s+(?:file|master)))\b"
      rf"|\b(?:swap|replace|update|change|overwrite|amend|edit)\b{_W}{{0,40}}?\b(?:remit-?to\s+(?:details|account|address)|details\s+in\s+your\s+system|"
      r"vendor\s+file|supplier\s+(?:master|record|file))\b"
      rf"|\b(?:remit-?to|payee|bank)\s+(?:details|account|information)\s+in\s+your\s+(?:system|records|vendor\s+(?:file|master))\b{_W}{{0,60}}?\b(?:swap|replace|update|change|overwrite)\b",
      finance=0.7, bank_change=0.1)
_rule("governance_action", "governance", 0.55, 0.2, None,
      rf"\b(?:change|update|replace|overwrite|set|modify|amend|switch)\b{_W}{{0,50}}?"
      r"\b(?:vendor's\s+payment\s+terms|payment\s+terms|approv(?:al|ed)\s+limit|approver(?:\s+list)?|approver\s+for|"
      r"po\s+(?:value|amount|quantity|price))\b"
      r"|\b(?:adjust|change|update|amend|raise|increase)\s+the\s+(?:po|purchase\s+order)\s+(?:value\s+|amount\s+)?to\s+(?:the\s+invoice|match)\b"
      r"|\bapprove\s+(?:this|the|our|my)\s+invoice\b(?![^.!?\n]{0,30}\bquote\b)"
      rf"|\b(?:raise|increase|lift|set|erhöh\w*)\b{_W}{{0,40}}?\b(?:approv(?:al|ed)\s+(?:limit|threshold)|limit|threshold|freigabelimit|po\s+value|po\s+amount)\b"
      r"|\bfreigabelimit\b[^!?\n]{0,60}?\berhöhen\b"
      r"|\b(?:approval\s+)?(?:limit|threshold)\s+(?:for\s+\w+\s+)?(?:invoices\s+)?(?:has\s+been\s+)?raised\b"
      rf"|\b(?:book|post|charge|code)\b{_W}{{0,40}}?\b(?:to|against)\s+(?:gl|g/l|capex|suspense|account\s+\d|cost\s+cent(?:er|re)|(?:the\s+)?ledger|po\s+\d+\s+even)\b"
      r"|\b(?:book|post)\s+(?:it|this(?:\s+invoice)?|the\s+invoice)?\s{0,3}(?:straight|directly|direct|twice|as\s+is|immediately)\b"
      rf"|\b(?:mark|treat|consider|record|report|set)\b(?!\s+(?:this|the|our|my)\s+(?:letter|reminder|notice|e-?mail|message|statement|request)\s+as\s+void\b){_W}{{0,50}}?\bas\s+(?:void|paid|approved|matched|verified|cleared|settled)\b"
      r"|\b(?:pay|release|approve|post)\s+(?:all|every)\s+(?:of\s+)?(?:our\s+|the\s+|its\s+|their\s+)?open\s+(?:invoices|items)\b"
      r"|\b(?:pay|payer)\s+toutes\s+les\s+factures\s+ouvertes\b"
      r"|\ball\s+(?:\w{1,20}\s{1,3}){0,2}open\s+(?:invoices|items)\b[^.!?\n]{0,60}?\b(?:be\s+paid|be\s+released|pay\s+them)\b[^.!?\n]{0,40}?"
      r"\b(?:today|now|immediately|at\s+once|in\s+(?:this|the\s+next|today's)\s+run|irrespective|regardless|one\s+batch)\b"
      r"|\b(?:po|purchase\s+order|approval\s+limit|limit|threshold|payment\s+terms|approver)\s+(?:value\s+|amount\s+|quantity\s+)?"
      r"(?:should|must|is\s+to|has\s+to|needs\s+to)\s+be\s+(?:raised|increased|changed|updated|adjusted|amended|lifted|removed|set)\b"
      r"|\b(?:paid|posted|booked|released)\s+(?:directly|straight\s+away|without\s+delay|immediately)\b"
      rf"|\b(?:add|create|register|set\s+up)\b{_W}{{0,50}}?\b(?:as\s+a\s+(?:vendor|supplier|payee)|(?:one|a\s+goods\s+receipt)\s+for\s+the\s+full)\b"
      rf"|\b(?:delete|remove|void|cancel|drop|ignore)\b{_W}{{0,30}}?\b(?:dispute\s+note|credit\s+note|payment\s+block|payment\s+hold|the\s+flag|duplicate\s+flag|dispute)\b"
      rf"|\bcredit\s+note\s+should\s+be\s+ignored\b|(?<!\bnot\s)(?<!n't\s)(?<!never\s)(?<!\bif\syou\s)\b(?:pay|paid|payer)\b{_W}{{0,40}}?\b(?:twice|a\s+second\s+time|une\s+seconde\s+fois)\b"
      r"(?![^.!?\n]{0,30}\b(?:by\s+mistake|in\s+error|accidentally|erroneously|par\s+erreur|por\s+error)\b)"
      rf"|\bpost\s+it\s+twice\b|\b(?:approve|pay|release)\b{_W}{{0,40}}?\buntil\s+year\s+end\b"
      rf"|\bsplit\b{_W}{{0,40}}?\b(?:under|below)\s+the\s+limit\b"
      r"|\b(?:add|make)\b[^!?\n]{0,60}?\b(?:as\s+(?:a\s+)?cc|the\s+only\s+contact)\b|\bremove\s+the\s+others\b"
      rf"|\bpayments?\s+to\s+us\b{_W}{{0,40}}?\b(?:without|released\s+without)\b"
      r"|\bexempt\s+from\s+the\s+(?:three-way\s+match|approval|review|match)\b",
      finance=0.7, bank_change=0.7)
# A snake_case name of an action on the reader's records, as a tool or a template would name it.
_rule("action_identifier", "identifier", 0.3, 0.1, ('_',),
      r"\b(?:approve|skip|bypass|release|post|pay|delete|export|set|update|create|send|disable|override)_[a-z][a-z_]{2,40}\b",
      0, finance=0.6, bank_change=0.6)
# Telling the reader's own approver or reviewer what to believe.
_rule("steer_approver", "steer", 0.6, 0.2, ('tell', 'inform', 'assure', 'convince', 'confirm'),
      r"\b(?:tell|inform|assure|convince|confirm\s+to)\s+(?:the\s+|your\s+)?(?:approver|reviewer|auditor|controller|budget\s+owner)s?\b",
      finance=0.75, bank_change=0.75)
_rule("internal_data_out", "data_out", 0.55, 0.2, None,
      rf"\b(?:send|forward|export|share|copy|reply\s+with|email|e-mail|enviar|envoyer|give\s+us|list)\b{_W}{{0,60}}?"
      r"\b(?:vendor\s+master(?:\s+file)?|vendor\s+list|supplier\s+list|lista\s+de\s+proveedores|(?:list\s+of\s+)?(?:all\s+)?approvers|"
      r"bank\s+details\s+you\s+hold|ibans\s+of|aging\s+report|admin\s+credentials|credentials|payroll|other\s+(?:suppliers|vendors)|"
      r"competitor|export\s+of\s+the\s+supplier\s+list)\b"
      r"|\b(?:export|list)\s+of\s+the\s+supplier\s+list\b|\bexport_vendors\b|\binclude_bank_details\b",
      finance=0.7, bank_change=0.7)
_rule("secrecy", "secrecy", 0.6, 0.4, None,
      r"\b(?:do\s+not|don't|not\s+to|is\s+not\s+to|should\s+not|must\s+not)\s+(?:be\s+)?(?:send|sent|route|routed|copy|copied|report|reported|log|logged|"
      r"show|shown|notify|mention|inform|tell)\b[^.!?\n]{0,40}?\b(?:approvers?|anyone|ap|audit|report|finance\s+team|reviewer)\b"
      r"|\b(?:not\s+be|not\s+to\s+be|should\s+not\s+be)\s+(?:reported|shown|logged|sent|copied|disclosed)\b"
      r"|\bnotification\s+to\s+the\s+approver\s+is\s+not\b|\bquietly\b|\bnotify(?:_approver|[-_ ]approver)?\"?\s{0,3}[:=]\s{0,3}['\"]?(?:false|none|no)\b"
      r"|\baudit[-_ ]?log\s{0,3}[:=]\s{0,3}suppress\b|\bnicht\s+informieren\b|\bno\s+avise\b|\bne\s+pas\s+(?:informer|prévenir)\b"
      r"|\bno\s+(?:notifiquen|informen|avisen|comuniquen|notifique|informe)\b|\bnon\s+(?:informate|avvisate|notificate|comunicate)\b|\bniet\s+(?:informeren|inlichten|melden)\s+(?:aan|bij)\b"
      r"|\bn'(?:informez|avertissez|prévenez)\s+pas\b"
      r"|\bnot\s+(?:be\s+)?logged\s+in\s+the\s+audit\b"
      rf"|\b(?:suppress|silence|mute|hold\s+back|switch\s+off|turn\s+off|disable)\b{_W}{{0,30}}?\b(?:confirmation|notification|notice|e-?mail|alert|advice|report)s?\b",
      finance=0.75, bank_change=0.75)

# -- kinds of request that are wrong for whoever processes a finance document (2026-12, writers) ---------
# Named by kind, not by phrasing, in English and the common languages of the vendors (de, fr, es, nl,
# it, pl, pt). Each asks the processor for something a vendor has no say in.
_APPROVED_WORDS = (r"(?:approved|verified|confirmed|cleared|validated|checked|matched|signed\s{1,3}(?:it\s{1,3}|them\s{1,3})?off|authori[sz]ed|"
                   r"freigegeben|genehmigt|geprüft|bestätigt|verifiziert|erfolgt|erteilt|approuvée?s?|validée?s?|vérifiée?s?|"
                   r"confirmée?s?|aprobad[ao]s?|verificad[ao]s?|confirmad[ao]s?|realizad[ao]|aprovad[ao]s?|aprovou|aprobó|"
                   r"approvat[ao]|verificat[ao]|confermat[ao]|goedgekeurd|geverifieerd|gecontroleerd|bevestigd|"
                   r"zatwierdzon\w{0,3}|zweryfikowan\w{0,3}|potwierdzon\w{0,3}|sprawdzon\w{0,3}|zaakceptowan\w{0,3})")
_CHECK_NOUNS = (r"(?:verification|verifying|callback|call-?back|check|checks|approval|sign-?off|screening|validation|review|"
                r"confirmation\s{1,3}call|phone\s{1,3}(?:confirmation|verification|check)|prüfung|freigabe|genehmigung|verifizierung|"
                r"vérification|validation|contrôle|verificación|aprobación|validación|comprobación|verifica|approvazione|"
                r"controllo|verificatie|controle|goedkeuring|weryfikacj\w{0,3}|akceptacj\w{0,3}|zatwierdzeni\w{0,3}|"
                r"verificação|aprovação|validação)")
# 1. A check, approval or callback said to have happened elsewhere: by phone, verbally, earlier, on the
#    buyer's side, by someone else's register, or "this letter is the verification".
_rule("control_elsewhere_claim", "claim", 0.5, 0.2, None,
      rf"(?<!\binvoices\s)(?<!\bitems\s)(?<!\borders\s)\b(?:already|previously|bereits|schon|ohnehin|déjà|ya|já|già|al|już)\s{{1,3}}(?:\w{{1,20}}\s{{1,3}}){{0,3}}?{_APPROVED_WORDS}\b"
      rf"|\b{_CHECK_NOUNS}\s{{1,3}}(?:\w{{1,20}}\s{{1,3}}){{0,2}}?(?:ya|já|già|déjà|bereits|schon|already|previously)\b"
      r"|(?<!\bbe\s)(?<!\bbe\s\s)\b(?:confirmed|verified|cleared|validated)\s{1,3}(?:with|by)\s{1,3}(?:the\s{1,3}customer's|your|the\s{1,3}buyer's|the\s{1,3}client's)\s{1,3}"
      r"(?:\w{1,20}\s{1,3})?(?:treasury|team|finance|controller|ap|department|manager|director|procurement|cfo)\b",
      finance=0.55, bank_change=0.55)
_rule("control_elsewhere_claim", "claim", 0.55, 0.2, None,
      r"\b(?:has|had|already|(?:who|we|they|you|team|people|colleagues)\s{1,3}have)\s{1,3}(?:\w{1,20}\s{1,3}){0,2}?(?:" + _APPROVED_WORDS + r"|logged\s{1,3}an\s{1,3}approval)\b"
      r"[^.!?\n]{0,60}?\bon\s{1,3}your\s{1,3}side\b"
      r"|\b(?:satisf(?:y|ies|ied)|constitutes?|serves?\s{1,3}as|counts?\s{1,3}as|replaces?|stands?\s{1,3}in\s{1,3}for)\s{1,3}(?:the\s{1,3}|your\s{1,3}|any\s{1,3})?"
      r"(?:\w{1,20}\s{1,3}){0,2}?(?:verification|approval|callback|call-?back|sign-?off|acceptance|confirmation\s{1,3}call)\b"
      r"|\b(?:treat|consider|regard|accept|take)\s{1,3}(?:it|this|that|the\s{1,3}[\w-]{1,20}|this\s{1,3}[\w-]{1,20}(?:\s{1,3}[\w-]{1,20})?)\s{1,3}as\s{1,3}(?:the\s{1,3}|a\s{1,3}|your\s{1,3})?"
      r"(?:verification|acceptance|approval|sign-?off|self-verifying|verified|approved|callback|confirmation\s{1,3}call)\b"
      r"|\bconsider\s{1,3}(?:the\s{1,3})?(?:verification|check|callback|call-?back|approval|review)\s{1,3}(?:as\s{1,3})?(?:satisfied|done|complete[d]?|passed|fulfilled)\b"
      r"|\b(?:re-?use|carry\s{1,3}over|copy\s{1,3}over)\s{1,3}(?:that|the|our|this|its|their)\s{1,3}(?:\w{1,20}\s{1,3})?(?:verification|approval|screening|check|callback|validation)\b"
      r"|\b(?:verification|approval|screening|check|validation)s?\b[^.!?\n]{0,40}?\bcan\s{1,3}be\s{1,3}(?:copied|reused|carried)\s{1,3}over\b"
      r"|\b(?:recogni[sz]es|accepts?|treats?)\s{1,3}as\s{1,3}sufficient\b|\b(?:pre-?signed|pre-?verified)\b"
      r"|\b(?:freigabe|genehmigung|zustimmung)\b[^.!?\n]{0,40}?\bliegt\s{1,3}(?:uns\s{1,3})?(?:\w{1,20}\s{1,3})?vor\b"
      r"|\b(?:prüfung|verifizierung|kontrolle)\b[^.!?\n]{0,40}?\bbestanden\b",
      finance=0.7, bank_change=0.7)
_PHONE = (r"(?:verbally|by\s{1,3}(?:tele)?phone|over\s{1,3}the\s{1,3}phone|on\s{1,3}the\s{1,3}phone|mündlich|telefonisch|oralement|par\s{1,3}téléphone|"
          r"verbalmente|por\s{1,3}tel[eé]fono|telefonicamente|telefonicznie|ustnie)")
_rule("phone_approval_claim", "phone_claim", 0.45, 0.1, None,
      rf"\b{_PHONE}\s{{1,3}}(?:\w{{1,20}}\s{{1,3}}){{0,2}}?{_APPROVED_WORDS}\b"
      rf"|(?<!\bbe\s)(?<!\bbe\s\w\w\s)\b{_APPROVED_WORDS}\s{{1,3}}(?:\w{{1,20}}\s{{1,3}}){{0,2}}?{_PHONE}\b(?!\s{{0,3}}[:\[])",
      finance=0.5, bank_change=0.5)
# 2. A named control set aside: "without", "no need for", "not necessary", "does not apply" — in every language.
_rule("control_waived", "bypass", 0.6, 0.3, None,
      r"\b(?:sin|sans|ohne|senza|zonder|bez|sem)\s{1,3}(?:\w{1,20}\s{1,3}){0,3}?(?:contre-appel|rappel|rückruf\w{0,3}|verifica\w{0,4}|weryfikacj\w{0,3}|"
      r"confirma\w{0,5}|bevestiging|verificatie|vérification|validation|prüfung|freigabe|genehmigung|akceptacj\w{0,3}|zatwierdzeni\w{0,3}|"
      r"aprobaci[oó]n|aprova[cç][aã]o|approvazione|goedkeuring|assinatura|firma|signature|unterschrift|escalade|escala\w{0,4}|"
      r"segunda\s{1,3}\w{1,20}|seconda\s{1,3}\w{1,20}|zweite\w{0,2}\s{1,3}\w{1,20}|second\w{0,2}\s{1,3}\w{1,20}|llamar\w{0,4}|anrufen|appeler)\b"
      r"(?!\s{1,3}(?:gültig|valid|valable|válid[oa]|valid[oa]|geldig|ważn\w{0,2}|giltig)\b)"
      r"|\b(?:sin|sem)\s{1,3}(?:pasar\w{0,3}|passar\w{0,3})\s{1,3}por\b|\bfora\s{1,3}do\s{1,3}(?:ciclo|processo)\s{1,3}normal\b|\bfuera\s{1,3}del\s{1,3}ciclo\b"
      r"|\bzonder\s{1,3}(?:dit\s{1,3}|het\s{1,3})?(?:via|door)\b[^.!?\n]{0,40}?\bte\s{1,3}laten\s{1,3}lopen\b"
      r"|\bwithout\s{1,3}(?:the\s{1,3}|any\s{1,3}|a\s{1,3}|further\s{1,3}|separate\s{1,3})?(?:usual\s{1,3}|normal\s{1,3}|standard\s{1,3}|further\s{1,3}|manual\s{1,3}|second\s{1,3}|dual\s{1,3}|phone\s{1,3}|telephone\s{1,3}|"
      r"procurement\s{1,3}|buyer\s{1,3}|formal\s{1,3}){1,3}(?:approv\w*|review\w*|sign-?off|signature|verif\w*|check\w*|callback|call-?back|controls?|confirmation|"
      r"reference|routing|escalation|signatory|signatories|change\s{1,3}request)\b"
      r"|\bwithout\s{1,3}(?:a\s{1,3}|the\s{1,3}|any\s{1,3})?(?:change\s{1,3}request|escalation|escalating|phone\s{1,3}(?:call|confirmation))\b"
      r"|\b(?:do\s{1,3}not|don't|no\s{1,3}need\s{1,3}to|without)\s{1,3}(?:generat|creat|open|rais|log|trigger|start)\w{0,4}\s{1,3}(?:a\s{1,3}|an\s{1,3}|the\s{1,3}|any\s{1,3})?"
      r"(?:verification|callback|call-?back|review|approval|validation|exception|fraud)\s{1,3}(?:task|ticket|request|case|workflow|step|item)s?\b"
      r"|\bno\s{1,3}(?:separate|further|additional|extra)\s{1,3}(?:po|purchase\s{1,3}order|routing|approv\w*|review|sign-?off|checks?|verification)\b"
      r"|\bno\s{1,3}(?:(?:phone|telephone)\s{1,3}(?:confirmation|call)|call|callback|call-?back|verification)\s{1,3}(?:\w{1,20}\s{1,3}){0,3}?(?:is\s{1,3}|are\s{1,3})?(?:necessary|needed|required)\b"
      r"|\b(?:not|no)\s{1,3}(?:necessary|needed|required)\s{1,3}to\s{1,3}(?:call|phone|ring|contact|verify|confirm|check)\b"
      r"|\b(?:no\s{1,3}(?:es|é|è)\s{1,3}necesari[oa]|não\s{1,3}é\s{1,3}necessári[oa]|non\s{1,3}è\s{1,3}necessari[oa]|pas\s{1,3}(?:besoin|nécessaire)|nicht\s{1,3}(?:nötig|notwendig|erforderlich)|"
      r"niet\s{1,3}nodig|nie\s{1,3}(?:jest\s{1,3})?(?:potrzebn\w{1,3}|wymagan\w{1,3}))\b"
      r"|\b(?:do\s{1,3}not|don't|please\s{1,3}don't|kindly\s{1,3}do\s{1,3}not|no\s{1,3}need\s{1,3}to)\s{1,3}(?:contact|call|phone|ring)\s{1,3}(?:us|our\s{1,3}\w{1,20}|the\s{1,3}\w{1,20}|anyone)\s{1,3}to\s{1,3}(?:confirm|verify|check)\b"
      r"|\b(?:do(?:es)?\s{1,3}not|don't|doesn't|will\s{1,3}not|won't)\s{1,3}(?:require|need)\s{1,3}(?:a\s{1,3}|an\s{1,3}|any\s{1,3}|the\s{1,3})?(?:\w{1,20}\s{1,3}){0,2}?"
      r"(?:review|approv\w*|sign-?off|po|purchase\s{1,3}order|verification|callback|change\s{1,3}request|check|checks|matching)\b"
      r"|\b(?:controls?|checks?|polic(?:y|ies)|procedures?|rules?|requirements?|chain|matching|validation|verification)\s{1,3}(?:\w{1,20}\s{1,3}){0,2}?"
      r"(?:do(?:es)?\s{1,3}not|don't|doesn't|will\s{1,3}not|won't)\s{1,3}apply\b|\bne\s{1,3}s'applique\s{1,3}pas\b|\bno\s{1,3}se\s{1,3}aplica\b|\bgilt\s{1,3}nicht\b"
      r"|\bexempt\w{0,3}\s{1,3}(?:(?:it|this|them)\s{1,3})?from\s{1,3}(?:[\w-]{1,30}\s{1,3}){0,3}?(?:[\w]{1,20}-)?(?:approv\w*|review\w*|match\w*|checks?|controls?|verification|screening|chain)\b"
      r"|\b(?:approv\w*|valid\w*|sign\s{1,3}off|releas\w*|valider|aprobar|approvare|freigeben)\s{1,3}(?:(?:it|this|that|them|(?:the|this|that)\s{1,3}(?:change|set-?up|setup|invoice|payment|modification|update|details|account)|la\s{1,3}modification)\s{1,3})?"
      r"(?:yourselves|yourself|on\s{1,3}your\s{1,3}own|seule?|solo(?!\s{1,3}(?:dopo|se|quando|previa|con|per|dal|dalla|al|alla|in|a|después|tras|si|cuando)\b)|sozinhos?|allein|da\s{1,3}soli)\b"
      r"|\b(?:allein|eigenständig|selbstständig|seule?s?|da\s{1,3}soli|sozinhos?)\s{1,3}(?:freigeben|freizugeben|genehmigen|valider|approuver|aprovar|approvare)\b"
      r"|\b(?:(?:zweit|doppel|end|erst)?freigabe|approval|sign-?off|signature|genehmigung|unterschrift|aprobación|validation|verification)\b[^.!?\n]{0,60}?"
      r"\b(?:nachgeholt|nachgereicht|(?:done|completed|obtained|given|added)\s{1,3}(?:later|afterwards|retroactively)|follow\s{1,3}later)\b"
      r"|\b(?:forced?|pushed?|rush(?:ed)?)\s{1,3}(?:\w{1,20}\s{1,3}){0,2}?through\b|\bpush\s{1,3}(?:it|them|both|this)\s{1,3}through\b"
      r"|\b(?:dismiss\w*|override|overrid\w*|suppress\w*|clear)\s{1,3}(?:the\s{1,3}|any\s{1,3}|this\s{1,3}|that\s{1,3})?(?:\w{1,20}[- ]){0,2}?(?:warnings?|alerts?)\b"
      r"|\b(?:warnings?|alerts?)\b[^.!?\n]{0,60}?\bcan\s{1,3}be\s{1,3}(?:dismissed|ignored|overridden|cleared|disregarded)\b"
      r"|\b(?:zahlungssperre|betaalblokkade|blocage\s{1,3}de\s{1,3}paiement|bloqueo\s{1,3}de\s{1,3}pago|blocco\s{1,3}(?:del\s{1,3})?pagament\w|blokad\w\s{1,3}płatności|payment\s{1,3}block|payment\s{1,3}hold)\b"
      r"[^.!?\n]{0,60}?\b(?:aufheb\w*|aufzuheben|op\s{1,3}te\s{1,3}heffen|opheffen|lever|levantar|rimuover\w*|togliere|zdj\w{1,4}|usun\w{1,4}|lift|remove|release)\b"
      r"|\b(?:automatisch|automáticamente|automatiquement|automaticamente|automatycznie)\s{1,3}(?:\w{1,20}\s{1,3}){0,2}?(?:freigeb\w*|genehmig\w*|aprob\w*|approuv\w*|valid\w*|approv\w*|zatwierdz\w*|goedkeur\w*|pagar|payer|zahlen|betalen)\b"
      r"|\b(?:freigeb\w*|genehmig\w*|aprob\w*|approuv\w*|approv\w*|zatwierdz\w*|goedkeur\w*)\s{1,3}(?:\w{1,20}\s{1,3}){0,3}?(?:automatisch|automáticamente|automatiquement|automaticamente|automatycznie)\b"
      r"|\b(?:genehmigungsworkflow|freigabeworkflow|freigabeprozess|workflow\s{1,3}d'approbation|flujo\s{1,3}de\s{1,3}aprobación)\b[^.!?\n]{0,40}?\b(?:deaktivier\w*|abschalt\w*|désactiv\w*|desactiv\w*)\b",
      finance=0.75, bank_change=0.75)
# 3. The callback steered to a contact the letter itself gives, or talked out of ("the number on file is outdated").
_rule("callback_steering", "callback", 0.6, 0.2, None,
      r"\b(?:use|call|ring|contact|dial|reach)\s{1,3}(?:only\s{1,3})?(?:this|the\s{1,3}(?:number|mobile|contact|line)\s{1,3}(?:below|above|here|in\s{1,3}this\s{1,3}\w{1,20}|given))\b"
      r"[^.!?\n]{0,60}?\b(?:rather\s{1,3}than|instead\s{1,3}of|not\s{1,3}the)\b"
      r"|\b(?:rather\s{1,3}than|instead\s{1,3}of|not)\s{1,3}(?:the\s{1,3}|our\s{1,3})?(?:old|usual|existing|previous|main|registered)\s{1,3}(?:office\s{1,3})?(?:line|number|phone|contact|landline|switchboard)\b"
      r"|\b(?:call|ring|phone|contact)\s{1,3}only\s{1,3}(?:\+|\(?\d|this|the\s{1,3}number|our\s{1,3}new|me\b)"
      r"|\b(?:number|phone|contact|line|telefonnummer|numéro|número|numer|nummer|numero)\b[^.!?\n]{0,40}?"
      r"\b(?:outdated|out\s{1,3}of\s{1,3}date|no\s{1,3}longer\s{1,3}(?:valid|in\s{1,3}use|monitored|active|working|answered)|obsolete|disconnected|nieaktualn\w{1,2}|"
      r"veraltet|nicht\s{1,3}mehr\s{1,3}(?:gültig|erreichbar|aktuell)|desactualizad[oa]|desatualizad[oa]|obsolète|plus\s{1,3}valable|verouderd|niet\s{1,3}meer\s{1,3}(?:geldig|in\s{1,3}gebruik)|"
      r"non\s{1,3}più\s{1,3}(?:valid[oa]|attiv[oa]))\b"
      r"|\b(?:phones?|phone\s{1,3}lines?|lines?|telephones?|ligne\s{1,3}téléphonique|telefonleitung|línea|linha|linea)\b[^.!?\n]{0,40}?"
      r"\b(?:out\s{1,3}of\s{1,3}(?:service|order)|being\s{1,3}(?:transferred|moved|migrated)|down|not\s{1,3}working|hors\s{1,3}service|außer\s{1,3}betrieb|fuera\s{1,3}de\s{1,3}servicio|fora\s{1,3}de\s{1,3}serviço|fuori\s{1,3}servizio|buiten\s{1,3}gebruik)\b"
      r"|\b(?:only|nur|uniquement|solo|apenas|alleen|tylko)\s{1,3}(?:(?:available|reachable|contactable|erreichbar|joignable|disponible|disponível|bereikbaar|dostępn\w{1,2})\s{1,3}"
      r"(?:by|via|per|par|por|tramite)\s{1,3}e-?mail|e-?mailowo|mailowo)\b"
      r"|\b(?:available|reachable|contactable|erreichbar|joignable|disponible|disponível|bereikbaar|dostępn\w{1,2})\s{1,3}(?:only|nur|uniquement|solo|apenas|alleen|tylko)\s{1,3}(?:by|via|per|par|por|tramite)\s{1,3}e-?mail\b",
      finance=0.55, bank_change=0.7)
# 4. Approval or notification routed to a person or address the document names.
_rule("approval_routing", "routing", 0.55, 0.2, None,
      r"\b(?:to\s{1,3}be\s{1,3}|be\s{1,3}|are\s{1,3}|is\s{1,3})?(?:approved|signed\s{1,3}off|authori[sz]ed|released)\s{1,3}by\b[^.!?\n]{0,60}?"
      r"\b(?:going\s{1,3}forward|from\s{1,3}now\s{1,3}on|instead|in\s{1,3}future|not\s{1,3}(?:the|your)\s{1,3}(?:\w{1,20}\s{1,3})?(?:manager|approver|controller|director|head|owner))\b"
      r"|\b(?:approval\s{1,3}matrix|approval\s{1,3}routing|approver\s{1,3}(?:list|field|column))\b"
      r"|\b(?:assign|route|forward|weiterleiten|pass|send|transmit\w*|envi\w{1,4}|reenv\w{1,4}|doorsturen)\b[^.!?\n]{0,30}?\b(?:to|an|à|a|aan|do)\s{1,3}"
      r"(?:(?:herrn?|frau|mr\.?|ms\.?|mrs\.?|m\.|mme|sr\.?|sra\.?|pan|pani|dhr\.?|mevr\.?)\s{1,3})?(?-i:[A-Z][a-z]{1,20}\b|[a-z]\.\s?[a-z]{2,20}\b|[\w.+-]{1,40}@)"
      r"[^.!?\n]{0,60}?\b(?:can|kann|may|will|puede|peut|può|pode|kan|może)\s{1,3}(?:\w{1,20}\s{1,3}){0,2}?"
      r"(?:approve|freigeben|genehmigen|aprobar|approuver|approvare|aprovar|goedkeuren|zatwierdzi\w{0,3}|sign\s{1,3}(?:it\s{1,3})?off|release)\b"
      r"|\b(?:an|aan|à)\s{1,3}(?:herrn?|frau|dhr\.?|mevr\.?|m\.|mme)\s{1,3}(?-i:[A-Z][a-z]{1,20})\b[^!?\n]{0,30}?\b(?:weiterleiten|weiterzuleiten|doorsturen|door\s{1,3}te\s{1,3}sturen|transmettre)\b"
      r"[^.!?\n]{0,60}?\b(?:kann|kan|darf|mag|peut)\s{1,3}(?:\w{1,20}\s{1,3}){0,2}?(?:freigeben|genehmigen|goedkeuren|approuver|valider)\b"
      r"|\b(?:approve|sign\s{1,3}off|release)\s{1,3}on\s{1,3}behalf\s{1,3}of\b|\bnote\s{1,3}the\s{1,3}approver\s{1,3}as\b"
      r"|\b(?:instead\s{1,3}of|rather\s{1,3}than|not)\s{1,3}(?:the|your)\s{1,3}(?:finance|office|budget|cost\s{1,3}cent(?:er|re)|department|logistics|procurement)\s{1,3}(?:manager|owner|head|approver|lead)\b"
      r"|\band\s{1,3}not\s{1,3}(?:send|route|forward)\w*\s{1,3}(?:it\s{1,3})?to\s{1,3}(?:the\s{1,3})?(?:\w{1,20}\s{1,3})?(?:manager|approver|responsible|owner)\b|\bno\s{1,3}(?:enviar|mandar|remitir|pasar)\w{0,4}\s{1,3}al?\s{1,3}(?:responsable|aprobador|jefe|director)\b",
      finance=0.7, bank_change=0.7)
# 5. Something kept from approvers, reports, audit or the people who would object.
_rule("kept_from_oversight", "secrecy", 0.6, 0.3, None,
      r"\b(?:do\s{1,3}not|don't|dont|not\s{1,3}to|no\s{1,3}need\s{1,3}to|without|never)\s{1,3}(?:loop(?:ing)?\s{1,3}in|cc(?:ing)?|copy(?:ing)?\s{1,3}in|involv\w{1,4}|bother(?:ing)?|escalat\w{1,4}|forward\w{0,3}\s{1,3}(?:it\s{1,3}|this\s{1,3})?to|tell(?:ing)?|inform\w{0,3}|notify\w{0,3}|alert\w{0,3})\s{1,3}"
      r"(?:\w{1,20}\s{1,3}){0,2}?(?:treasury|approvers?|supervisors?|manager|controller|audit\w{0,3}|compliance|risk|fraud|finance\s{1,3}director|cfo|procurement|boss|coordinator|committee|colleagues|team)\b"
      r"|\b(?:leave|keep)\s{1,3}(?:it|this|them)\s{1,3}(?:out|off)\b|\b(?:leave|keep)\s{1,3}(?:it|this|them|(?:this|the|that|these|our)\s{1,3}\w{1,20})\s{1,3}(?:out\s{1,3}of|off)\b"
      r"[^.!?\n]{0,40}?\b(?:reports?|log|audit|list|queue|approvers?|review)\b"
      r"|\b(?:didn't|did\s{1,3}not|doesn't|does\s{1,3}not|not|never)\s{1,3}(?:\w{1,20}\s{1,3}){0,2}?(?:show\s{1,3}up|appear|be\s{1,3}(?:listed|included|shown|visible))\s{1,3}(?:in|on)\b[^.!?\n]{0,30}?\b(?:reports?|audit|log|dashboard|queue)\b"
      r"|\bno\s{1,3}aparezca\s{1,3}en\b|\bnicht\s{1,3}im\s{1,3}\w{1,20}bericht\b|\bn'apparaisse\s{1,3}pas\b|\bnon\s{1,3}(?:compaia|appaia)\b|\bniet\s{1,3}(?:in\s{1,3}het|op\s{1,3}het)\s{1,3}\w{0,20}(?:rapport|overzicht)\b|\bnie\s{1,3}pojawi\w{0,3}\b"
      r"|\b(?:not\s{1,3}be|should\s{1,3}not\s{1,3}be|must\s{1,3}not\s{1,3}be|is\s{1,3}not\s{1,3}to\s{1,3}be)\s{1,3}(?:flagged|escalated|forwarded|copied)\s{1,3}to\b"
      r"|\b(?:disattiv\w{1,4}|deaktivier\w{0,4}|désactiv\w{1,4}|desactiv\w{1,4}|wyłącz\w{0,4}|uitschakel\w{0,4}|uit\s{1,3}te\s{1,3}schakelen|schalten\s{1,3}sie)\b[^.!?\n]{0,40}?"
      r"\b(?:avvis\w|benachrichtigung\w{0,2}|hinweis\w{0,2}|avis|aviso|alerta|alerte|melding|powiadomie\w{1,3}|notifica\w{0,4}|notification)\b"
      r"|\b(?:do\s{1,3}not|don't|dont|not\s{1,3}to)\s{1,3}send\s{1,3}(?:the\s{1,3}|any\s{1,3}|a\s{1,3}|your\s{1,3})?(?:usual\s{1,3}|normal\s{1,3}|standard\s{1,3}|automatic\s{1,3})?[^.!?\n]{0,40}?"
      r"\b(?:changed?|change\s{1,3}(?:notice|confirmation|notification|alert))\b(?=[^.!?\n]{0,60}\b(?:old|previous|former|usual|bank|account)\b)"
      r"|\b(?:do\s{1,3}not|don't)\s{1,3}forward\s{1,3}to\b",
      finance=0.75, bank_change=0.75)
# 6. Paying twice, again, extra, early or in a lump sum, or ignoring credits so that more is paid.
_rule("pay_more", "extra_payment", 0.6, 0.2, None,
      r"(?<!\bnot\s)(?<!n't\s)(?<!never\s)\b(?:pay|paid|re-?pay|remit|send|transfer|wire)\s{1,3}(?:it|this|them|the\s{1,3}\w{1,20}|that\s{1,3}\w{1,20})?\s{0,3}(?:again|once\s{1,3}more|a\s{1,3}second\s{1,3}time)\b"
      r"|\b(?:replac\w{0,4}|duplicate\w{0,2}|already\s{1,3}paid|same\s{1,3}amount|cop(?:y|ies)|resen[dt]|re-sent)\b[^.!?\n]{0,80}?(?<!\bnot\s)(?<!n't\s)(?<!never\s)\b(?:pay|paid|release|settle)\s{1,3}(?:them\s{1,3})?both\b"
      r"|(?<!\bnot\s)(?<!n't\s)(?<!never\s)\b(?:pay|paid|release|settle)\s{1,3}(?:them\s{1,3})?both\b[^.!?\n]{0,60}?\b(?:replac\w{0,4}|duplicate\w{0,2}|already\s{1,3}paid|same\s{1,3}amount|cop(?:y|ies)|resen[dt]|re-sent)\b"
      r"|\bboth\s{1,3}(?:should|must|need\s{1,3}to|can)\s{1,3}be\s{1,3}paid\s{1,3}in\s{1,3}full\b"
      r"|(?<!\bno\s)(?<!\bnot\s)\b(?:issue|make|send|run|process)\s{1,3}(?:a|an)\s{1,3}(?:second|another|duplicate|additional|extra)\s{1,3}payment\b(?!\s{0,3}(?:plan|schedule|terms|option|method|link|reminder|date))"
      r"|\b(?:re-?run|repeat|re-?issue|re-?send|re-?process|re-?do)\s{1,3}(?:the\s{1,3}|a\s{1,3})?(?:full\s{1,3}|whole\s{1,3}|entire\s{1,3})?payments?\b"
      r"|\badd\s{1,3}(?:an?\s{1,3}|the\s{1,3})?(?:[$€£]|[A-Z]{3}\s?)?\d[\d,.]{0,12}\s{0,3}(?:\w{1,20}\s{1,3}){0,4}?to\s{1,3}(?:this|the|your|the\s{1,3}next|your\s{1,3}next)\s{1,3}(?:payment|transfer|remittance)\b"
      r"|\b(?:extra|zusätzlich\w{0,2}|supplémentaire|adicional|aggiuntiv\w|dodatkow\w{1,2})\b[^.!?\n]{0,30}?\b(?:over\s{1,3}te\s{1,3}maken|überweis\w*|auszuzahlen|zahlen|payer|verser|pagar|pagare|transferir|zapłac\w*|przelać)\b"
      r"|\b(?:over\s{1,3}te\s{1,3}maken|überweis\w*|payer|verser|pagar|pagare|transferir)\b[^.!?\n]{0,30}?\b(?:extra|zusätzlich\w{0,2}|supplémentaire|adicional|aggiuntiv\w)\b"
      r"|\b(?:now|today|this\s{1,3}(?:month|week)|immediately|at\s{1,3}once)\b[^.!?\n]{0,40}?\b(?:lump\s{1,3}sum|in\s{1,3}full)\b[^.!?\n]{0,40}?\b(?:rather\s{1,3}than|instead\s{1,3}of|not\s{1,3}the\s{1,3}usual)\b[^.!?\n]{0,20}?\b(?:monthly|instal?lments?|schedule|payments)\b"
      r"|\b(?:lump\s{1,3}sum|in\s{1,3}full)\b[^.!?\n]{0,20}?\b(?:now|today|this\s{1,3}(?:month|week)|immediately|at\s{1,3}once)\b[^.!?\n]{0,30}?\b(?:rather\s{1,3}than|instead\s{1,3}of|not\s{1,3}the\s{1,3}usual)\b[^.!?\n]{0,20}?\b(?:monthly|instal?lments?|schedule|payments)\b"
      r"|\b(?:pay|release|settle|issue)\b[^.!?\n]{0,40}?\bremaining\s{1,3}\d{1,3}\s{1,3}(?:months|instal?lments)\b"
      r"|\b(?:release|pay|post)\b[^.!?\n]{0,40}?\b(?:unapproved|unmatched|unverified|not\s{1,3}yet\s{1,3}approved)\s{1,3}(?:\w{1,20}\s{1,3})?(?:invoices?|items?|bills?)\b"
      r"|\b(?:reverse|undo|reset|reopen)\s{1,3}(?:that|the|this|its)\s{1,3}(?:paid\s{1,3}|payment\s{1,3})?status\b"
      r"|\b(?:credit\s{1,3}notes?|gutschrift\w{0,3}|creditnota\w{0,2}|avoirs?|notas?\s{1,3}de\s{1,3}cr[eé]dito|note\s{1,3}di\s{1,3}credito|deposit\s{1,3}already\s{1,3}paid|anzahlung)\b[^.!?\n]{0,60}?"
      r"\b(?:disregard\w{0,2}|ignor\w{1,4}|auszubuchen|ausbuchen|nicht\s{1,3}(?:erfassen|buchen|berücksichtigen|verrechnen)|ohne\s{1,3}abzug|not\s{1,3}(?:be\s{1,3})?(?:deducted|offset|applied|recorded)|"
      r"without\s{1,3}deduct\w{1,3}|sans\s{1,3}(?:déduire|déduction)|sin\s{1,3}(?:descontar|deducir)|senza\s{1,3}(?:detrarre|scalare))\b"
      r"|\b(?:ohne\s{1,3}abzug|without\s{1,3}deduct\w{1,3}|sans\s{1,3}déduction|sin\s{1,3}descontar)\b[^.!?\n]{0,30}?\b(?:credit|gutschrift\w{0,3}|avoir|nota)"
      r"|\b(?:ausbuchen|auszubuchen)\b|\bniet\s{1,3}te\s{1,3}verrekenen\b|\bnicht\s{1,3}zu\s{1,3}verrechnen\b|\bsans\s{1,3}compenser\b|\bsin\s{1,3}compensar\b"
      r"|\b(?:sin|sans|ohne|zonder|senza|bez|without)\s{1,3}(?:(?:a|une?|eine?|een|una?)\s{1,3})?(?:notas?\s{1,3}de\s{1,3}cr[eé]dito|avoirs?|gutschrift\w{0,3}|creditnota\w{0,2}|nota\s{1,3}di\s{1,3}credito|korekt\w{1,3}|credit\s{1,3}notes?)\b",
      finance=0.75, bank_change=0.75)
# 7. The buyer's own fields filled in by the sender: key=value flags, ticked boxes, "mark it as verified".
_rule("buyer_field_set", "control_field", 0.6, 0.3, ("_",),
      r"\[?\b[A-Za-z]{2,20}(?:_[A-Za-z]{2,20}){1,4}\]?\"?\s{0,2}[:=]\s{0,2}['\"]?(?:pass(?:ed)?|ok|auto|done|completed?(?:_by_\w{1,20})?|"
      r"cleared|approved|verified|direct|skip(?:ped)?|off|waived|low)\b"
      r"|\[?\b(?=[A-Za-z_]{0,40}(?:verified|approved|checked|matched|confirmed|cleared|validated|signed|passed|done|allow|skip|bypass|override|trust|exempt|whitelist))"
      r"[A-Za-z]{2,20}(?:_[A-Za-z]{2,20}){1,4}\]?\"?\s{0,2}[:=]\s{0,2}['\"]?(?:y|yes|true)\b"
      r"|\[?\b(?=[A-Za-z_]{0,40}(?:require|notify|alert|hold|block|dual|review|log|audit|check|verif|callback|approv|confirm|screen|match|flag))"
      r"(?![A-Za-z_]{0,40}(?:verified|approved|checked|matched|confirmed|cleared|validated|passed|done))[A-Za-z]{2,20}(?:_[A-Za-z]{2,20}){1,4}\]?\"?\s{0,2}[:=]\s{0,2}['\"]?(?:n|no|false|none)\b",
      finance=0.75, bank_change=0.75)
_rule("buyer_field_set", "control_field", 0.6, 0.3, None,
      r"\b(?:verification|verified|approval|approved|match|matching|callback|hold|block|risk|review)(?:[ _-]?(?:status|result|by|check))?\s{0,2}[:=]\s{0,2}['\"]?"
      r"(?:pass(?:ed)?|completed?(?:_by_\w{1,20})?|done|cleared|waived|skipped|n/a|not\s{1,3}required|yes|true|ok)\b"
      r"|\b(?:verified|approved|release\s{1,3}hold|callback|checked|matched|verification|approval|hold|review(?:ed)?)\b[^\n]{0,30}?\[\s{0,2}[xX\u2713\u2714]\s{0,2}\]"
      r"|\b(?:set|tick|check|select|mark|flag|register|record|enter|note|vermerk\w{0,3}|markier\w{0,3}|regist\w{0,4}|marc\w{1,4}|zaznacz\w{0,3})\b[^.!?\n]{0,40}?"
      r"\b(?:as|als|como|comme|come|jako)\s{1,3}(?:['\"]\s{0,2})?(?:reviewed|low\s{1,3}risk|reused|pending|erteilt|geprüft|freigegeben|verifiziert|genehmigt|verificad[ao]s?|aprobad[ao]s?|"
      r"aprovad[ao]s?|vérifiée?s?|validée?s?|approuvée?s?|verificat[ao]|approvat[ao]|geverifieerd|goedgekeurd|zweryfikowan\w{1,3}|zatwierdzon\w{1,3}|verified|approved|matched|"
      r"within\s{1,3}tolerance|[^'\"\n]{0,20}?\b(?:approved|verified|cleared|ok)\b)"
      r"|\b(?:tick|check)\s{1,3}['\"]\w{1,20}['\"]"
      r"|\b(?:copied|transferred|moved)\s{1,3}to\s{1,3}the\s{1,3}(?:approval|approver|verification|status)\s{1,3}(?:column|field|box)\b"
      r"|\b(?:enter|key|change|edit|amend|correct)\s{1,3}(?:the\s{1,3})?amount\s{1,3}(?:as|to|in\s{1,3}the\s{1,3}(?:ledger|erp|system))\b|\bedit\s{1,3}the\s{1,3}amount\b"
      r"|\b(?-i:(?:APPROVE|RELEASE|PAY|SKIP|BYPASS|CC|NOTIFY|AUTO|PRIORITY|NO)_[A-Z]{2,20}(?:_[A-Z]{2,20}){0,3})\b",
      finance=0.75, bank_change=0.75)
_rule("buyer_section", "internal_field", 0.35, 0.1, None,
      r"\b(?:internal\s{1,3}use\s{1,3}only|for\s{1,3}(?:office|buyer|internal)\s{1,3}use|completed\s{1,3}by\s{1,3}(?:the\s{1,3})?buyer|buyer\s{1,3}use\s{1,3}only)\b",
      finance=0.4, bank_change=0.4)  # a section of the buyer's form inside the sender's text: weak alone
# 8. Another record of the buyer's changed: another vendor, a merge, the tax id, a limit, the processor's own system.
_rule("other_record_change", "records", 0.6, 0.2, None,
      r"\b(?:update|change|apply|set|link|amend|switch)\b(?!\s{1,3}(?:request|form|notice|letter|confirmation|for\s{1,3}(?:vendor|supplier)))[^.!?\n]{0,60}?\b(?:sister\s{1,3}compan\w{1,3}|affiliated?\s{1,3}compan\w{1,3}|subsidiar\w{1,3}|"
      r"(?:another|other|second)\s{1,3}(?:vendor|supplier)|vendor\s{1,3}(?:no\.?\s{0,2}|number\s{1,3}|#\s?)?\d{4,})\b"
      r"|\b(?:merge|zusammenf[üu]hr\w{1,4}|zusammenzuführen|samen\s{1,3}te\s{1,3}voegen|samenvoegen|fusionn\w{1,4}|fusionar|unificar|unire|unificare|połącz\w{1,4}|scal\w{1,4})\b"
      r"[^.!?\n]{0,60}?\b(?:records?|\w{0,20}record|stammsatz|stammdaten|fiches?|fichas?|anagrafic\w|kartotek\w{1,3}|vendors?|suppliers?|creditors?|crediteur\w{0,4}|account)\b"
      r"|\b(?:update|change|replace|amend|switch)\b[^.!?\n]{0,40}?\b(?:tax\s{1,3}id|tin|ein|vat\s{1,3}(?:number|id)|w-?9|ust-?id(?:nr)?|steuernummer|numéro\s{1,3}de\s{1,3}tva|nif|partita\s{1,3}iva|nip)\b"
      r"[^.!?\n]{0,80}?\b(?:1099|payment\s{1,3}agent|belongs\s{1,3}to|issued\s{1,3}to|new\s{1,3}account)\b"
      r"|\b(?:1099|w-?9)\s{1,3}should\s{1,3}be\s{1,3}issued\s{1,3}to\b"
      r"|\b(?:limit|threshold|credit\s{1,3}line)\b[^.!?\n]{0,40}?\b(?:should|must|is\s{1,3}to|has\s{1,3}to|needs\s{1,3}to|can|could|may)\s{1,3}(?:\w{1,20}\s{1,3})?be\s{1,3}(?:raised|increased|lifted|extended)\b"
      r"|\b(?:raise|increase|lift|bump|up)\s{1,3}(?:it|this|that|the\s{1,3}limit|our\s{1,3}limit)\s{1,3}to\s{1,3}(?:[$€£]|[A-Z]{3}\s?)\d"
      r"|\bdefault\s{1,3}for\s{1,3}(?:our|this|the)\s{1,3}(?:record|account|vendor|supplier)\b"
      r"|\b(?:add|create|register|set\s{1,3}up|créer|crear|anlegen|aanmaken|utwórz\w{0,3})\b[^.!?\n]{0,60}?\b(?:as\s{1,3}(?:a\s{1,3})?new\s{1,3}(?:vendor|supplier|payee)|comme\s{1,3}nouveau\s{1,3}fournisseur|"
      r"como\s{1,3}nuevo\s{1,3}proveedor|als\s{1,3}neue[nr]?\s{1,3}(?:lieferant|kreditor|leverancier)|jako\s{1,3}now\w{1,3}\s{1,3}dostawc\w{1,3})\b"
      r"|\b(?:add|keep)\b[^.!?\n]{0,40}?\b(?:additional|second|both)\s{1,3}accounts?\b[^.!?\n]{0,60}?\b(?:alternat\w{1,4}|split|spread|between\s{1,3}them)\b"
      r"|\b(?:keep\s{1,3}the\s{1,3}old\s{1,3}(?:one|account)\s{1,3}active)\b"
      r"|\bsupersedes?\s{1,3}(?:all\s{1,3})?(?:earlier|previous|prior|existing)\b"
      r"|\b(?:apply|extend)\s{1,3}(?:it|this|them|the\s{1,3}change)\s{1,3}(?:retroactively|to\s{1,3}(?:all\s{1,3})?payments\s{1,3}already\s{1,3}scheduled)\b"
      r"|\bretroactively\b[^.!?\n]{0,40}?\bscheduled\b"
      r"|\b(?:beneficiary|payee|account)\s{1,3}name\s{1,3}to\s{1,3}['\"]",
      finance=0.7, bank_change=0.7)
# 9. The processor or its system addressed: "the payment system can release", "votre automate de paiement", "whoever keys this in".
_rule("processor_system_address", "address", 0.6, 0.2, None,
      r"\b(?:payment|payments|payables|ap|a/p|accounts\s{1,3}payable|finance|invoice|invoicing|receiving|recipient|buyer|buyer's|posting|matching|erp)\s{1,3}"
      r"(?:system|tool|run|automation|application|app|software|engine|platform|robot|processor)\s{0,2}(?::|(?:can|could|should|must|is\s{1,3}to|may|to)\s{1,3}(?:\w{1,20}\s{1,3})?"
      r"(?:set|post|release|approve|pay|issue|reverse|treat|replace|update|create|mark|skip|book|ignore|add|apply|change|emit|clear))\b"
      r"|\b(?:read|processed|handled|opened|parsed|seen)\s{1,3}by\s{1,3}(?:an?\s{1,3})?(?:automated|automatic|ai|machine|software|bot)\b"
      r"|\b(?:the\s{1,3})?(?:person|colleague|clerk|someone|whoever|anyone)\s{1,3}(?:who\s{1,3})?(?:processing|processes|posting|posts|keying|keys|entering|enters|booking|books|handling|handles)\s{1,3}(?:this|these|the\s{1,3}invoice|it)\b"
      r"|\b(?:whoever|anyone\s{1,3}who)\s{1,3}(?:keys|enters|books|posts|types)\b"
      r"|\baction\s{1,3}required\s{1,3}by\s{1,3}(?:the\s{1,3})?(?:processor|processing|ap|buyer)\b|\bbuyer(?:-side)?\s{1,3}(?:system|reviewer|processor)\b"
      r"|\b(?:automate|système|logiciel|robot)\s{1,3}de\s{1,3}(?:paiement|comptabilité|traitement)\b"
      r"|\b(?:sistema|aplicación|aplicativo|programa)\s{1,3}de\s{1,3}(?:pagos?|cuentas\s{1,3}a\s{1,3}pagar|contas\s{1,3}a\s{1,3}pagar|pagamentos?)\s{1,3}(?:\w{1,20}\s{1,3})?(?:puede|debe|pode|deve)\b"
      r"|\b(?:aplicación|sistema)\s{1,3}de\s{1,3}cuentas\s{1,3}a\s{1,3}pagar\b|\b(?:zahlungssystem|buchungssystem|betaalsysteem|sistema\s{1,3}(?:di\s{1,3})?pagament\w)\s{1,3}(?:\w{1,20}\s{1,3})?(?:kann|soll|kan|moet|può|deve)\b",
      finance=0.6, bank_change=0.6)
# 10. The amount said to be under the reader's limit, as a reason to pass it (a claim about the buyer's controls).
_rule("under_limit_reason", "limit", 0.45, 0.1, None,
      r"\b(?:below|under|inferior\s{1,3}a|unter(?:halb)?|en\s{1,3}dessous\s{1,3}de|inférieure?\s{1,3}à|sotto|poniżej|onder)\s{1,3}(?:su|your|the|ihr\w{0,2}|votre|il\s{1,3}vostro|vostro|uw|de|la\s{1,3}vostra|seu|sua)\s{1,3}"
      r"(?:\w{1,20}\s{1,3})?(?:l[ií]mite?|limit|threshold|schwelle|seuil|soglia|limiet|grens|limitu)\b"
      r"|\b(?:doesn't|does\s{1,3}not|don't|do\s{1,3}not)\s{1,3}need\s{1,3}(?:sign-?off|approval)\s{1,3}for\s{1,3}under\b",
      finance=0.5, bank_change=0.5)

# 11. The buyer's internal data asked for: the vendor master, other suppliers' bank details, payroll, a ledger, screenshots.
_rule("buyer_data_request", "data_out", 0.55, 0.2, None,
      r"\b(?:send|forward|export|share|copy|attach|give|provide|cc|confirm|inviare|inviar|enviar|envoyer|senden|schicken|sturen|przesłać|prześlij\w{0,2}|mandar|"
      r"ask\s{1,3}them\s{1,3}to\s{1,3}send)\b[^.!?\n]{0,60}?"
      r"\b(?:(?:vendor|supplier)\s{1,3}(?:master|ledger|list|file)|(?:full|complete)\s{1,3}(?:supplier|vendor)\s{1,3}\w{1,20}|payroll\s{1,3}(?:file|data|list|export)|"
      r"bank\s{1,3}details\s{1,3}you\s{1,3}hold\s{1,3}for|(?:your\s{1,3})?other\s{1,3}(?:\w{1,20}\s{1,3})?(?:suppliers|vendors|contractors|customers)|all\s{1,3}vendors'|"
      r"screenshot\s{1,3}of\s{1,3}your\s{1,3}(?:\w{1,20}\s{1,3}){0,2}?(?:portal|system|screen|erp)|login\s{1,3}page|"
      r"elenco\s{1,3}(?:\w{1,20}\s{1,3}){0,3}?fornitori|lista\s{1,3}de\s{1,3}proveedores|liste\s{1,3}(?:des|de\s{1,3}vos)\s{1,3}fournisseurs|lieferantenliste|lieferantenstamm|"
      r"leverancierslijst|crediteurenlijst|kartotek\w{0,3}\s{1,3}dostawców|eksport\s{1,3}kartoteki|lista\s{1,3}de\s{1,3}fornecedores)\b"
      r"|\b(?:eksport|export|extract|dump)\s{1,3}(?:of\s{1,3})?(?:the\s{1,3}|your\s{1,3})?(?:kartoteki\s{1,3}dostawców|vendor\s{1,3}master|supplier\s{1,3}(?:master|list|file))\b",
      finance=0.7, bank_change=0.7)
# 12. Permission relayed from someone on the buyer's side ("your buyer said it's ok", "she said you could update it").
_rule("relayed_permission", "relayed", 0.5, 0.1, None,
      r"\b(?:said|says|told\s{1,3}(?:us|me)|confirmed|agreed)\s{1,3}(?:that\s{1,3})?(?:it's|it\s{1,3}is|it\s{1,3}was|you\s{1,3}(?:could|can|may)|we\s{1,3}(?:could|can|may)|"
      r"(?:she|he|they)(?:'d|\s{1,3}would|\s{1,3}will|'ll))\s{1,3}(?:\w{1,20}\s{1,3}){0,2}?(?:ok|okay|fine|approve|update|pay|release|post|skip|proceed|go\s{1,3}ahead)\b",
      finance=0.7, bank_change=0.7)
# 13. Paying or releasing while a control is still running, or now with the document "to follow when it arrives".
_rule("pay_before_control", "bypass", 0.6, 0.3, None,
      r"\b(?:while|before)\s{1,3}(?:the\s{1,3})?(?:check|verification|callback|call-?back|review|approval|screening|validation|match(?:ing)?)\s{1,3}"
      r"(?:is\s{1,3})?(?:still\s{1,3})?(?:running|pending|in\s{1,3}progress|completes?|is\s{1,3}complete[d]?|finishes|is\s{1,3}done|comes\s{1,3}back|returns)\b"
      r"|\b(?:pay|release|post|approve)\w{0,3}\b[^.!?\n]{0,40}?\bnow\b[^.!?\n]{0,20}?\band\s{1,3}(?:attach|add|send|provide|file)\b[^.!?\n]{0,40}?\b(?:when|once|after|later)\b"
      r"|\b(?:match(?:ing)?|check|verification|approval|review)\s{1,3}(?:done|completed|performed|handled)\s{1,3}(?:upstream|elsewhere|by\s{1,3}us|on\s{1,3}our\s{1,3}side)\b"
      r"|\b(?:duplicate|match|approval|verification|callback|review)\s{1,3}check\s{0,3}[:=]?\s{0,3}(?:n/a|off|none|skip(?:ped)?|waived|not\s{1,3}(?:applicable|required))\b"
      r"|\b(?:acceptance|certificate|receipt|po|purchase\s{1,3}order|sign-?off|signature|approval|review|verification|callback)\b[^.!?\n]{0,30}?"
      r"\b(?:is|are)\s{1,3}not\s{1,3}(?:needed|required|necessary)\b",
      finance=0.75, bank_change=0.75)
# 14. The stored payee record itself overwritten from a memo or e-mail (the subject of a bank letter, not of an invoice).
_rule("stored_record_overwrite", "records_change", 0.55, 0.2, None,
      r"\b(?:replace|overwrite|update|change)\s{1,3}(?:the\s{1,3})?(?:stored|existing|current|saved|old)\s{1,3}(?:\w{1,20}\s{1,3})?(?:iban|bank\s{1,3}details|bank\s{1,3}account|account\s{1,3}(?:number|details)|remit-?to)\b"
      r"|\b(?:ap|vendor|supplier|payee|creditor)\s{1,3}(?:record|master|file|data)\b[^.!?\n]{0,40}?\b(?:should|must|is\s{1,3}to|needs\s{1,3}to|has\s{1,3}to)\s{1,3}be\s{1,3}(?:amended|changed|updated|replaced)\b"
      r"|\bsupersedes?\s{1,3}(?:all\s{1,3})?(?:the\s{1,3})?(?:earlier|previous|prior|existing|bank\s{1,3}details|details|account|iban|remit)\b"
      r"|\bnot\s{1,3}the\s{1,3}(?:one|account|details|iban)\s{1,3}(?:(?:held|stored|kept|we\s{1,3}have|you\s{1,3}have)\s{1,3})?(?:on\s{1,3}file|in\s{1,3}your\s{1,3}(?:system|records))\b",
      finance=0.7, bank_change=0.0)
# 15. Telling the processor to stop copying people in, or that only one clerk needs to see it.
_rule("narrowed_audience", "secrecy", 0.6, 0.3, None,
      r"\bstop\s{1,3}(?:copying|cc'?ing|notifying|informing|including|looping\s{1,3}in)\b"
      r"|\bonly\s{1,3}(?:the\s{1,3})?(?:\w{1,20}\s{1,3}){0,2}?(?:needs?|should|has)\s{1,3}to\s{1,3}(?:see|know|be\s{1,3}(?:told|informed|copied))\b",
      finance=0.7, bank_change=0.7)

# -- round 2 (2026-12): the same kinds, said in more general words ------------------------------------
_DONE = (r"(?:done|completed?|carried\s{1,3}out|performed|covered|handled|taken\s{1,3}care\s{1,3}of|given|granted|obtained|"
         r"durchgeführt|erfolgt|erledigt|erteilt|vorgenommen|effectuée?s?|faite?s?|réalisée?s?|donnée?|realizad[ao]s?|efectuad[ao]s?|hech[ao]s?|dad[ao]|"
         r"feit[ao]s?|efetuad[ao]s?|fatt[ao]|effettuat[ao]|eseguit[ao]|dat[ao]|gedaan|uitgevoerd|gegeven|wykonan\w{1,3}|przeprowadzon\w{1,3}|dokonan\w{1,3}|"
         + _APPROVED_WORDS[3:-1] + r")")
_OUR_SIDE = (r"(?:on\s{1,3}our\s{1,3}(?:side|end)|from\s{1,3}our\s{1,3}side|by\s{1,3}(?:us|ourselves|our\s{1,3}(?:bank|team|finance|side|director|controller|own\s{1,3}\w{1,20}))|"
             r"by\s{1,3}the\s{1,3}(?:requester|sender|vendor|supplier)(?:'s\s{1,3}\w{1,20})?|bei\s{1,3}uns|von\s{1,3}uns|unsererseits|de\s{1,3}notre\s{1,3}côté|par\s{1,3}nos\s{1,3}soins|"
             r"por\s{1,3}nuestra\s{1,3}parte|de\s{1,3}nuestro\s{1,3}lado|da\s{1,3}parte\s{1,3}nostra|da\s{1,3}noi|do\s{1,3}nosso\s{1,3}lado|aan\s{1,3}onze\s{1,3}kant|door\s{1,3}ons|"
             r"po\s{1,3}naszej\s{1,3}stronie|przez\s{1,3}nas)")
_YOUR_PERSON = (r"(?:your|ihre?[mnrs]?|votre|vos|su|sus|vostr[oaie]|vossa|vosso|jullie|uw|wasz\w{0,3}|the\s{1,3}customer's|the\s{1,3}buyer's)\s{1,3}"
                r"(?:\w{1,20}\s{1,3}){0,2}?(?:colleague|kollegin|kollege|collègue|colega|collega|director|directeur|direktor|directora?|diretor|direttore|controller|"
                r"treasur\w{1,4}|cfo|ceo|manager|kierownik\w{0,3}|leiter\w{0,2}|responsable|responsabile|head|team|department|afdeling|abteilung|service|platform|plateforme|"
                r"system|systeme?|sistema|administra\w{1,6}|amministrator\w{0,2}|buyer|einkäufer|acheteur|comprador|it\s{1,3}manager|budget\s{1,3}holder|purchasing|procurement)")
# 1b. A check said to be done already, by the sender itself, or by someone of the buyer's the sender names.
_rule("control_elsewhere_claim", "claim", 0.55, 0.2, None,
      rf"\b{_CHECK_NOUNS}\w{{0,12}}\b[^.!?\n;]{{0,60}}?\b(?:already|bereits|schon|déjà|ya|já|già|al|już|previously)\s{{1,3}}(?:\w{{1,20}}\s{{1,3}}){{0,3}}?{_DONE}\b"
      rf"|\b{_CHECK_NOUNS}\w{{0,12}}\b[^.!?\n;]{{0,60}}?\b{_DONE}\b[^.!?\n;]{{0,40}}?{_OUR_SIDE}"
      rf"|\b{_CHECK_NOUNS}\w{{0,12}}\b[^.!?\n;]{{0,60}}?{_OUR_SIDE}[^.!?\n;]{{0,40}}?\b{_DONE}\b"
      rf"|\b{_CHECK_NOUNS}\w{{0,12}}\b[^.!?\n;]{{0,60}}?\b(?:by|von|par|por|da|door|przez)\s{{1,3}}{_YOUR_PERSON}\b[^.!?\n;]{{0,40}}?\b{_DONE}\b"
      rf"|\b{_CHECK_NOUNS}\w{{0,12}}\b[^.!?\n;]{{0,40}}?\b{_DONE}\s{{1,3}}(?:by|von|par|por|da|door|przez)\s{{1,3}}{_YOUR_PERSON}\b"
      r"|\b(?:treated|deemed|considered|regarded|counted)\s{1,3}(?:as\s{1,3})?(?:being\s{1,3})?(?:approved|granted|verified|authori[sz]ed|cleared|signed\s{1,3}off|consent|pre-?approved)\b"
      r"|\bconsider\s{1,3}this\s{1,3}(?:e-?mail|letter|message|note|reply)\s{1,3}(?:as\s{1,3})?(?:my|our|the|your|a)\s{1,3}(?:call|callback|call-?back|confirmation|verification|approval)\b"
      r"|\b(?:is|are)\s{1,3}all\s{1,3}the\s{1,3}(?:confirmation|verification|proof|approval)\s{1,3}(?:you|we|needed)\b"
      r"|\b(?:covers?|applies\s{1,3}to)\s{1,3}the\s{1,3}(?:rest|others)\b",
      finance=0.7, bank_change=0.7)
# 2b. The control done after the payment ("verify later", "I'll approve retroactively", "after the payment rather than before").
_rule("control_afterwards", "bypass", 0.6, 0.3, None,
      r"\b(?:(?:verif\w{0,8}|approv\w{0,5}|validat\w{0,5}|check\w{0,3})(?:\s{1,3}(?:it|them|this|that|the\s{1,3}(?:change|details|account|invoice|payment|invoices|payments)))?"
      r"|sign(?:\s{1,3}(?:it|them))?(?:\s{1,3}off)?|do(?:ing)?\s{1,3}(?:it|the\s{1,3}call)|confirm\w{0,3}\s{1,3}(?:it|them))\s{1,3}"
      r"(?:later|afterwards|retrospectively|retroactively|after\s{1,3}the\s{1,3}(?:payment|fact|run|transfer)|nachträglich|a\s{1,3}posteriori|"
      r"rétroactivement|retroactivamente|retroattivamente|achteraf|po\s{1,3}fakcie|po\s{1,3}powrocie|bei\s{1,3}rückkehr|à\s{1,3}son\s{1,3}retour)\b"
      r"|\b(?:after|once)\s{1,3}the\s{1,3}payment\s{1,3}(?:rather\s{1,3}than|instead\s{1,3}of)\s{1,3}before\b"
      r"|\b(?:put|push|get|rush)\s{1,3}(?:it|this|them|the\s{1,3}\w{1,20})\s{1,3}(?:through|thru)\b|\bpush\s{1,3}(?:it\s{1,3})?thru\b"
      r"|\b(?:not\s{1,3}necessary|no\s{1,3}need|don't|dont|do\s{1,3}not|need\s{1,3}not|needn't|not)\s{1,3}(?:to\s{1,3})?wait\s{1,3}for\s{1,3}"
      r"(?:the\s{1,3}|her|him|them|a\s{1,3}|any\s{1,3}|our\s{1,3}|your\s{1,3})?(?:\w{1,20}\s{1,3}){0,2}?(?:approv\w{0,5}|notice|form|letter|callback|call|confirmation|receipt|signature|sign-?off|normal|usual|formal|review|her|him|them|goods|po)\b"
      r"|\b(?:sans|sin|sem|senza|zonder|bez)\s{1,3}(?:attendre|esperar|aguardar|attendere|te\s{1,3}wachten|wachten\s{1,3}op|czekania)\b|\bohne\s{1,3}[^.!?\n]{0,40}?abzuwarten\b",
      finance=0.7, bank_change=0.7)
# 7b. A status of the buyer's records set by the sender: "mark the PO as fully received", "tag as compliant", "set it to active".
_STATUS = (r"(?:(?:fully\s{1,3})?received|complete[d]?|not\s{1,3}applicable|(?:3|three)[- ]way\s{1,3}matched|(?:[\w-]{1,20}-)?compliant|signed\s{1,3}off|granted|active|actif|activ[oa]|attiv[oa]|actief|aktiv|"
           r"unpaid|onbetaald|impayée?|no\s{1,3}pagad[ao]|unbezahlt|trusted|verified|approved|matched|cleared|paid|reviewed|low[- ]risk|"
           r"aprobad[ao]s?|aprovad[ao]s?|approuvée?s?|validée?s?|approvat[ao]|goedgekeurd|freigegeben|genehmigt|zaakceptowan\w{1,3}|zatwierdzon\w{1,3}|"
           r"betaald|bezahlt|payée?s?|pagad[ao]s?|pagat[ao])")
_rule("status_set", "control_field", 0.6, 0.3, None,
      r"\b(?:mark|tag|flag|set|record|treat|classify|register|enter|log|book|tick|marqu\w{1,4}|marc\w{1,4}|considerar|consideren|tratar|trate[mn]?|zet|zetten|gezet|markier\w{0,3}|setz\w{0,3}|"
      r"oznacz\w{0,4}|wpis\w{0,4}|enregistr\w{1,4}|passer)\b[^.!?\n;]{0,50}?"
      r"\b(?:as|als|como|comme|come|jako|to|à|a|op|auf|na)\s{1,3}['\"\u201c\u00ab]?\s{0,2}" + _STATUS + r"\b"
      r"|\b(?:mark|tag|flag|set|record|considerar|consider)\s{1,3}(?:it|this|them|esta\s{1,3}\w{1,20}|this\s{1,3}\w{1,20})\s{1,3}" + _STATUS + r"\b"
      r"|\b(?:flag|mark|set|tick)\s{1,3}the\s{1,3}(?:approval|verification|callback|receipt|review)\s{1,3}(?:field|box|flag|status)\b"
      r"|\b(?:status|statut|estado|stato|betaalstatus|zahlungsstatus)[\w-]{0,12}\b[^.!?\n;]{0,40}?\b(?:op|auf|à|a|to|en)\s{1,3}['\"\u201c\u00ab]?\s{0,2}" + _STATUS + r"\b"
      r"|\bw\s{1,3}systemie,?\s{1,3}że\b|\b(?:enter|record|note|log)\s{1,3}(?:in\s{1,3}(?:the|your)\s{1,3}system\s{1,3})?that\s{1,3}(?:it|the\s{1,3}\w{1,20})\s{1,3}(?:was|has\s{1,3}been|is)\s{1,3}(?:approved|signed\s{1,3}off|verified)\b",
      finance=0.7, bank_change=0.7)
# 4b. Approvals or the ticket routed to a person or an address the sender names.
_rule("approval_routing", "routing", 0.55, 0.2, None,
      r"\b(?:route|send|forward|direct|assign|redirect|re-?assign|pass)\w{0,3}\s{1,3}(?:all\s{1,3})?(?:future\s{1,3})?(?:the\s{1,3}|our\s{1,3}|any\s{1,3}|this\s{1,3})?"
      r"(?:approvals?|approval\s{1,3}(?:requests?|tasks?)|sign-?offs?|ticket|change\s{1,3}request|workflow\s{1,3}task)\b[^.!?\n]{0,60}?\bto\s{1,3}"
      r"(?:user\s{1,3}(?:id\s{1,3})?\w{1,30}|(?-i:[A-Z][a-z]{1,20})\b|[\w.+-]{1,40}@)"
      r"|\bapprovals?\b[^.!?\n]{0,60}?\b(?:route|send|forward|direct|assign)\w{0,3}\s{1,3}(?:them|it|these)\s{1,3}to\s{1,3}(?:(?-i:[A-Z][a-z]{1,20})\b|[\w.+-]{1,40}@)",
      finance=0.7, bank_change=0.7)
# 11b. The buyer's internal data asked for: its payment runs, its approvers and limits, its staff, its logins, all suppliers.
_rule("buyer_data_request", "data_out", 0.55, 0.2, None,
      r"\b(?:send|forward|export|share|copy|attach|give|provide|include|reply\s{1,3}with|let\s{1,3}us\s{1,3}have|inviar\w{0,4}|enviar\w{0,4}|envoyer|transmettre|facilit\w{1,6}|"
      r"senden|schicken|sturen|przesłać|prześlij\w{0,2}|mandar|confirm\s{1,3}by\s{1,3}return)\b[^.!?\n]{0,80}?"
      r"\b(?:payment\s{1,3}(?:run\s{1,3})?files?|payment\s{1,3}runs?\s{1,3}(?:file|report|list)|(?:list|names?|copy)\s{1,3}of\s{1,3}(?:\w{1,20}\s{1,3}){0,3}?(?:approved\s{1,3})?payments|"
      r"signator(?:y|ies)(?:\s{1,3}list)?|approver\s{1,3}names|approval\s{1,3}limits|names?\s{1,3}of\s{1,3}(?:the\s{1,3})?(?:person|people)\s{1,3}who\s{1,3}approves?|"
      r"(?:active\s{1,3})?employees|employee\s{1,3}list|staff\s{1,3}list|(?:admin|master|bank|banking|portal)\s{1,3}(?:password|login|credentials)|login\s{1,3}(?:access|details|credentials)|"
      r"(?:ledger|sub-?ledger)\s{1,3}(?:extract|export|report)|(?:all|every|other)\s{1,3}(?:\w{1,20}\s{1,3})?(?:suppliers|vendors)|bank\s{1,3}accounts\s{1,3}registered|"
      r"listado\s{1,3}de\s{1,3}proveedores|tutti\s{1,3}i\s{1,3}fornitori|todos\s{1,3}los\s{1,3}proveedores|tous\s{1,3}(?:les|vos)\s{1,3}fournisseurs|fichier\s{1,3}fournisseurs|"
      r"alle\s{1,3}(?:lieferanten|leveranciers)|wszystkich\s{1,3}dostawców|todos\s{1,3}os\s{1,3}fornecedores)\b",
      finance=0.7, bank_change=0.7)
# 5b. Kept from the people who would look: no cc to the buyer, no ticket, not in the report.
_rule("kept_from_oversight", "secrecy", 0.6, 0.3, None,
      r"\b(?:do\s{1,3}not|don't|dont|not\s{1,3}to|no\s{1,3}need\s{1,3}to|without|never)\s{1,3}(?:cc(?:ing)?|copy(?:ing)?|loop(?:ing)?\s{1,3}in|involv\w{1,4}|tell(?:ing)?|inform\w{0,3}|notify\w{0,3})\s{1,3}"
      r"(?:\w{1,20}\s{1,3}){0,2}?(?:buyers?|purchasing|budget\s{1,3}holders?|requesters?|line\s{1,3}managers?|fraud\s{1,3}team|security|contacts?)\b"
      r"|\b(?:do\s{1,3}not|don't|dont|no\s{1,3}need\s{1,3}to|not\s{1,3}to|without)\s{1,3}(?:open|rais|creat|log|fil)\w{0,4}\s{1,3}(?:a\s{1,3}|an\s{1,3}|any\s{1,3}|the\s{1,3})?(?:\w{1,20}\s{1,3})?(?:ticket|case|change\s{1,3}request|exception)s?\b"
      r"|\b(?:not\s{1,3}to|do\s{1,3}not|don't|should\s{1,3}not|no)\s{1,3}(?:include|record|register|registren|registrar|log|list)\w{0,2}\b[^.!?\n]{0,40}?\b(?:in|on|en|nel|im|op)\b[^.!?\n]{0,30}?\b(?:reports?|audit|log|register|libro|registro|ledger|list)\b"
      r"|\b(?:notifications?|alerts?|confirmations?|notices?)\b[^.!?\n]{0,60}?\b(?:switch|turn)\s{1,3}(?:those|them|it|these)\s{1,3}off\b"
      r"|\bcc'?d\s{1,3}nobody\b|\bbetween\s{1,3}you\s{1,3}and\s{1,3}(?:me|us)\b",
      finance=0.75, bank_change=0.75)
# 3b. The callback talked out of, in any words: "no need to ring us", "I'd rather you didn't phone", "inutile de nous rappeler".
_rule("callback_steering", "callback", 0.6, 0.2, None,
      r"\b(?:no\s{1,3}need\s{1,3}to|needn't|rather\s{1,3}you\s{1,3}didn't|not\s{1,3}necessary\s{1,3}to|inutile\s{1,3}de|pas\s{1,3}besoin\s{1,3}de|no\s{1,3}hace\s{1,3}falta|no\s{1,3}es\s{1,3}necesario|"
      r"nicht\s{1,3}nötig|não\s{1,3}é\s{1,3}necessário|non\s{1,3}serve|niet\s{1,3}nodig\s{1,3}om|nie\s{1,3}trzeba)\s{1,3}(?:\w{1,12}\s{1,3}){0,2}?"
      r"(?:call|phone|ring|rappeler|appeler|llamar\w{0,4}|anrufen|zurückrufen|ligar|chiamar\w{0,4}|bellen|terugbellen|dzwonić)\w{0,3}\b"
      r"|\b(?:do\s{1,3}not|don't|dont|please\s{1,3}don't)\s{1,3}(?:call|phone|ring)\s{1,3}(?:\w{1,12}\s{1,3})?(?:to|for)\s{1,3}(?:confirm|verif\w{1,8}|check)"
      r"|\b(?:don't|dont|do\s{1,3}not|doesn't|no)\s{1,3}need\s{1,3}(?:the\s{1,3}|a\s{1,3}|any\s{1,3})?(?:call\s{0,2}-?\s{0,2}back|callback|phone\s{1,3}call|call|verification\s{1,3}call)\b",
      finance=0.6, bank_change=0.7)
# 6b. Paying more than the document asks: again, twice, double, the difference or a refund added on top.
_rule("pay_more", "extra_payment", 0.6, 0.2, None,
      r"(?<!\bnot\s)(?<!n't\s)(?<!never\s)\b(?:pay|re-?pay|remit|resend|re-?send|transfer|wire)\b[^.!?\n]{0,30}?\b(?:again|twice|a\s{1,3}second\s{1,3}time)\b"
      r"(?![^.!?\n]{0,30}\b(?:by\s{1,3}mistake|in\s{1,3}error|accidentally|erroneously)\b)"
      r"|\b(?:paid|pay)\s{1,3}at\s{1,3}(?:2x|double|twice)\b|\b(?:2x|double)\s{1,3}(?:the\s{1,3})?amount\b"
      r"|\bre-?pay\s{1,3}(?:invoices?|the\s{1,3}invoices?)\b"
      r"|\b(?:please|kindly|and|then|so)\s{1,3}pay\w{0,3}\s{1,3}(?:the\s{1,3})?(?:difference|gross|full\s{1,3}original\s{1,3}amount)\b"
      r"|\b(?:add|make)\s{1,3}(?:a\s{1,3}manual\s{1,3}payment|[$€£]\s?\d[\d,.]{0,12}\s{1,3}back)\b"
      r"|\bpay\w{0,3}\b[^.!?\n]{0,40}?\b(?:for\s{1,3}the\s{1,3}full|in\s{1,3}advance|ahead\s{1,3}of\s{1,3}(?:the\s{1,3})?(?:due|schedule))\b[^.!?\n]{0,40}?\b(?:now|today|before|rather\s{1,3}than|instead)\b",
      finance=0.75, bank_change=0.75)
# 10b. Splitting to stay under a limit, and doing something so that the control does not catch it.
_rule("evade_control", "bypass", 0.6, 0.3, None,
      r"\bsplit\w{0,3}\b[^.!?\n]{0,60}?\b(?:into|in)\s{1,3}(?:\w{1,20}\s{1,3}){0,2}?(?:payments|transfers|invoices|amounts|parts|batches)\b[^.!?\n]{0,40}?\b(?:under|below|each|smaller|limit|threshold|so\s{1,3}(?:it|that))\b"
      r"|\bsplit\w{0,3}\b[^.!?\n]{0,60}?\binto\s{1,3}(?:several|multiple)\s{1,3}smaller\b"
      r"|\bso\s{1,3}(?:that\s{1,3})?(?:your\s{1,3}|the\s{1,3})?(?:it|this|they|system|erp|tool|workflow)\s{1,3}(?:does\s{1,3}not|doesn't|do\s{1,3}not|don't|won't|will\s{1,3}not|isn't|is\s{1,3}not)\s{1,3}"
      r"(?:need|require|trigger|flag|catch|detect|block|reject|hold|hit|go\s{1,3}to|get\s{1,3}flagged|stop)\b"
      r"|(?<!\bnot\s)(?<!n't\s)(?<!never\s)\b(?:ignore|disregard|don't\s{1,3}worry\s{1,3}about|dont\s{1,3}worry\s{1,3}about|never\s{1,3}mind|ignor\w{1,4}|zignorow\w{1,4}|negeren|ignorer|ignorar|ignorare)\s{1,3}"
      r"(?:the\s{1,3}|any\s{1,3}|this\s{1,3}|that\s{1,3}|l'|el\s{1,3}|la\s{1,3}|de\s{1,3}|il\s{1,3})?(?:[\w-]{1,20}\s{1,3}){0,3}?(?:warnings?|alerts?|flags?|ostrzeżeni\w{1,3}|waarschuwing\w{0,2}|avertissement|advertencia|avviso)\b"
      r"|\b(?:flags?|warnings?|alerts?)\b[^.!?\n]{0,40}?\b(?:are|is)\s{1,3}(?:a\s{1,3})?false\s{1,3}(?:positives?|alarms?)\b",
      finance=0.75, bank_change=0.75)
# 9b. The buyer's people or departments told what to do with the document: "the bookkeeper reading this is asked",
#     "Die Buchhaltung kann …", "le service comptable peut passer l'écriture", "Message to processing staff:".
_PROCESSOR = (r"(?:ap|a/p|accounts\s{1,3}payable|payables|accounts\s{1,3}(?:team|staff|department)|bookkeep\w{1,4}|accounting|finance(?:\s{1,3}team)?|ledger|processor|"
              r"processing\s{1,3}staff|clerk|reviewers?|automated\s{1,3}\w{1,20}|buyer-side\s{1,3}\w{1,20}|buchhaltung|kreditorenbuchhaltung|comptabilité|service\s{1,3}comptable|"
              r"contabilidad|contabilidade|departamento\s{1,3}de\s{1,3}(?:pagos|contas\s{1,3}a\s{1,3}pagar|cuentas\s{1,3}a\s{1,3}pagar)|crediteurenadministratie|boekhouding|"
              r"contabilità|amministrazione|księgowość|dział\s{1,3}księgowości|billing\s{1,3}ops|payment\s{1,3}team|betaalautomatisering)")
_rule("processor_told", "address", 0.5, 0.2, None,
      rf"\b(?:the\s{{1,3}}|your\s{{1,3}}|die\s{{1,3}}|de\s{{1,3}}|le\s{{1,3}}|la\s{{1,3}}|el\s{{1,3}}|o\s{{1,3}}|votre\s{{1,3}}|uw\s{{1,3}}|jullie\s{{1,3}}|vostra\s{{1,3}})?{_PROCESSOR}"
      r"(?:\s{1,3}(?:reading\s{1,3}this|who\s{1,3}\w{1,20}\s{1,3}this))?\s{1,3}"
      r"(?:can|may|should|must|is\s{1,3}asked\s{1,3}to|are\s{1,3}asked\s{1,3}to|kann|soll|darf|peut|doit|puede|debe|pode|deve|kan|moet|mag|può|może|powinn\w{1,3})\s{1,3}"
      r"(?:\w{1,20}\s{1,3}){0,3}?(?:post|book|pay|release|approve|treat|record|process|enter|mark|set|update|change|bundle|send|skip|ignore|classify|not|"
      r"erfassen|buchen|zahlen|freigeben|passer|payer|régler|mettre|registrar|pagar|abonar|considerar|dispensar|zetten|boeken|betalen|registrare|pagare|zaksięgować|mettere)\b"
      r"|\b(?:message|note|instruction|indicación|nota|hinweis|opmerking|remarque)\s{1,3}(?:to|for|para|pour|für|voor|per|an|à)\s{1,3}(?:the\s{1,3}|el\s{1,3}|la\s{1,3}|die\s{1,3}|de\s{1,3})?"
      + _PROCESSOR + r"(?:\s{1,3}(?:team|staff|department|desk|clerk))?\b(?:\s{0,3}[:,]|\s{1,3}-)(?=\s)"
      r"|(?:^|[.!?\n]\s{0,3}|-\s{1,3})(?:attention\s{1,3})?(?:processor|reading\s{1,3}agent|buyer-side\s{1,3}agents?|payables\s{1,3}assistant|automated\s{1,3}(?:reviewers?|processing)|"
      r"for\s{1,3}the\s{1,3}(?:ap|accounts)\s{1,3}(?:clerk|team)'?s?(?:\s{1,3}workflow)?|next\s{1,3}action\s{1,3}for\s{1,3}(?:the\s{1,3})?buyer)\s{0,2}[:,]",
      _I | re.M, finance=0.55, bank_change=0.55)
# 8b. Other records of the buyer's changed: every vendor id, a second account, the scheduled batch, the history, the coding.
_rule("other_record_change", "records", 0.6, 0.2, None,
      r"\b(?:apply|copy|extend|use)\w{0,3}\b[^.!?\n]{0,60}?\b(?:to|on|for)\s{1,3}(?:all|every|each|any|both|the\s{1,3}other)\s{1,3}(?:\w{1,20}\s{1,3}){0,2}?(?:vendor|supplier|creditor|payee)\s{0,2}(?:ids?|records?|accounts?|numbers?)\b"
      r"|\b(?:vendor|supplier)\s{1,3}(?:id|record|no\.?|number)\s{0,2}[\w-]{0,12}\s{1,3}(?:instead\s{1,3}of|rather\s{1,3}than)\b"
      r"|\buse\s{1,3}(?:po|purchase\s{1,3}order|vendor\s{1,3}id|cost\s{1,3}cent(?:er|re))[\s#:-]{0,3}[\w-]{1,15}\s{1,3}instead\b"
      r"|\b(?:deactivat|reactivat|delet|remov|archiv|purg)\w{0,4}\b[^.!?\n]{0,60}?\b(?:vendor\s{1,3}records?|inactive\s{1,3}(?:ids?|records?|accounts?)|change\s{1,3}history|old\s{1,3}bank\s{1,3}account|audit\s{1,3}trail)\b"
      r"|\b(?:vendor|supplier)\s{1,3}record\b[^.!?\n]{0,40}?\bshould\s{1,3}be\s{1,3}(?:deactivated|closed|merged|deleted)\b"
      r"|\b(?:re-?code|reclassify|re-?book|re-?post)\w{0,3}\b[^.!?\n]{0,60}?\b(?:all|other|every)\b"
      r"|\b(?:re-?route|redirect|reroutes?|change|switch|move)\w{0,3}\b[^.!?\n]{0,60}?\b(?:payments?|batch|run)\s{1,3}(?:already\s{1,3})?(?:scheduled|pending|approved|queued)\b"
      r"|\b(?:pending|scheduled|approved)\s{1,3}payment\s{1,3}(?:batch|run|file)\b"
      r"|\b(?:lower|reduce|remove|drop|change)\w{0,3}\b[^.!?\n]{0,40}?\b(?:approval\s{1,3}requirement|approval\s{1,3}level|dual\s{1,3}approval|number\s{1,3}of\s{1,3}approvers)\b"
      r"|\b(?:add|set\s{1,3}up|register|keep)\s{1,3}(?:a\s{1,3})?(?:second|additional|another|partner)\s{1,3}(?:bank\s{1,3})?account\b"
      r"|\b(?:bump|raise|increase|lift|aumente|aumentar|augmenter|erhöhen|verhogen|verhoogd|relever|alzare|aumentare|podnie\w{1,4}|podwyższ\w{1,4})\b[^.!?\n]{0,40}?\b(?:credit\s{1,3}limit|limite\s{1,3}de\s{1,3}crédito|kreditlimit|limit|(?:per-payment\s{1,3}|payment\s{1,3})?cap|seuil|limiet|betaallimiet|soglia|próg\w{0,2}|progu|schwelle|umbral)\b"
      r"|\b(?:betaallimiet|limiet|seuil|soglia|umbral|schwelle|limit|cap)\b[^.!?\n]{0,60}?\b(?:verhoogd|verhogen|relevé|aumentad[ao]|alzat[ao]|erhöht|raised|increased|lifted)\b"
      r"|\b(?:zahlungsziel|payment\s{1,3}terms?|délai\s{1,3}de\s{1,3}paiement|plazo\s{1,3}de\s{1,3}pago)\b[^.!?\n]{0,30}?\b(?:auf|to|à|a)\s{1,3}(?:sofort|immediate|immédiat|inmediato)\b"
      r"|\b(?:set\s{1,3}(?:this|it)\s{1,3}up|create\s{1,3}(?:it|this|them))\s{1,3}directly\s{1,3}in\b"
      r"|\b(?:enter|key|post|book)\s{1,3}(?:them|these|it)\s{1,3}directly\s{1,3}from\s{1,3}this\b|\bnot\s{1,3}yet\s{1,3}in\s{1,3}your\s{1,3}system\b",
      finance=0.7, bank_change=0.7)

# -- round 3 (2026-12): kinds in general words ---------------------------------------------------------
# 16. A step of the buyer's process the document is to go around: "doesn't need to go through your approvals",
#     "no need to run that past your vendor-master people", "rather than waiting for the vendor master approval",
#     "before the form goes through your review", "sans passer par", "no hace falta mandarla al circuito".
_STEP = (r"(?:approv\w{0,5}|review\w{0,3}|controller\w{0,2}|committee|vendor[- ]master\w{0,6}|master\s{1,3}data|circuit\w{0,2}|workflow\w{0,2}|"
         r"procedure|verification|check\w{0,3}|sign-?off|validation|queue|planner|procurement|purchasing|finance|treasury|audit\w{0,3}|"
         r"compliance|callback|call-?back|signator\w{1,3}|four[- ]eyes|dual\s{1,3}control|change[- ]control\w{0,4})")
_rule("around_buyer_step", "bypass", 0.6, 0.3, None,
      r"\b(?:doesn't|does\s{1,3}not|doesnt|don't|dont|do\s{1,3}not|no\s{1,3}need\s{1,3}to|needn't|need\s{1,3}not|not\s{1,3}to|without|rather\s{1,3}than|instead\s{1,3}of|never|not)\s{1,3}"
      r"(?:need\s{1,3}to\s{1,3}|have\s{1,3}to\s{1,3}|be\s{1,3})?(?:go(?:ing|es)?|pass(?:ing|ed)?|run(?:ning)?|rout(?:e|ed|ing)|put(?:ting)?|wait(?:ing)?|queu(?:e|ed|ing))\s{1,3}"
      r"(?:it\s{1,3}|this\s{1,3}|that\s{1,3}|them\s{1,3}|these\s{1,3})?(?:through|thru|via|past|for|by|into)\s{1,3}(?:the\s{1,3}|your\s{1,3}|its\s{1,3}|any\s{1,3}|a\s{1,3})?"
      r"(?:usual\s{1,3}|normal\s{1,3}|standard\s{1,3}|regular\s{1,3}|full\s{1,3}|formal\s{1,3}|separate\s{1,3})?(?:[\w-]{1,20}\s{1,3}){0,2}?" + _STEP + r"\b"
      r"|\bbefore\s{1,3}(?:the\s{1,3}|it\s{1,3}|this\s{1,3})?(?:[\w-]{1,20}\s{1,3}){0,2}?(?:goes|go|has\s{1,3}gone|is\s{1,3}put|gets)\s{1,3}(?:through|past)\s{1,3}(?:the\s{1,3}|your\s{1,3})?(?:[\w-]{1,20}\s{1,3}){0,1}?" + _STEP + r"\b"
      r"|\b(?:sans|sin|sem|senza|zonder|ohne|bez)\s{1,3}(?:passer|pasar|passar|passare|te\s{1,3}gaan|durchlaufen|przechodzenia)\s{1,3}(?:par|por|pel[oa]?|per|da|via|przez|über)\b"
      r"|\b(?:no\s{1,3}hace\s{1,3}falta|no\s{1,3}es\s{1,3}necesario|non\s{1,3}serve|non\s{1,3}è\s{1,3}necessari[oa]|hoeft\s{1,3}niet|nicht\s{1,3}nötig|pas\s{1,3}besoin\s{1,3}de|inutile\s{1,3}de|nie\s{1,3}trzeba|não\s{1,3}é\s{1,3}necessário)\s{1,3}"
      r"(?:\w{1,20}\s{1,3}){0,4}?(?:circuito|aprobaci[oó]n|autorizzazione|autorizaci[oó]n|approvazione|via|goedkeuring|freigabe|validation|validaci[oó]n|verifica\w{0,5}|controle|kontrol\w{0,3}|aprova\w{0,4}|visa)\b",
      finance=0.75, bank_change=0.75)
# 17. The buyer's stored record changed straight from the sender's document, or by the reader on the sender's say:
#     "your vendor file can just be updated from the pdf", "update the master record yourself", "directement dans votre référentiel".
_MASTER = (r"(?<!\bour\s)(?<!\bmy\s)(?:(?:vendor|supplier|creditor|payee)[- ]?(?:master|file|record|data|details)\w{0,2}|master\s{1,3}(?:record|data|file)|référentiel\s{1,3}fournisseurs?|fiche\s{1,3}fournisseur|"
           r"ficha\s{1,3}(?:de\s{1,3})?proveedor|stammdaten|stammsatz|kreditorenstamm|leveranciers(?:bestand|gegevens)|anagrafica(?:\s{1,3}fornitor\w)?|kartotek\w{0,3}|"
           r"cadastro\s{1,3}(?:de\s{1,3})?fornecedor\w{0,2}|your\s{1,3}(?:records|system|erp))")
_rule("record_from_document", "records", 0.6, 0.2, None,
      r"\b(?:updat\w{1,3}|chang\w{1,3}|amend\w{0,3}|apply|appliquer|set\s{1,3}up|overwrit\w{1,3}|edit\w{0,3}|enter\w{0,3}|modif\w{1,6}|actualiz\w{1,4}|aktualisier\w{0,3}|ändern|wijzig\w{0,3}|aggiorna\w{0,4}|zmian\w{1,2}|zmieni\w{1,3})\b"
      r"[^.!?\n]{0,60}?" + _MASTER + r"[^.!?\n]{0,40}?\b(?:yourself|yourselves|directly|straight\s{1,3}away|right\s{1,3}away|from\s{1,3}(?:this|the|our)\s{1,3}(?:pdf|e-?mail|mail|letter|invoice|attachment|message)|"
      r"in\s{1,3}the\s{1,3}same\s{1,3}step|directement|directamente|direttamente|diretamente|direkt|rechtstreeks|bezpośrednio|vous-mêmes?)\b"
      r"|" + _MASTER + r"[^.!?\n]{0,40}?\b(?:can|may|should|could|kann|peut|puede|pode|può|kan|może)\s{1,3}(?:just\s{1,3}|simply\s{1,3}|also\s{1,3})?be\s{1,3}(?:updated|changed|amended|overwritten)\s{1,3}"
      r"(?:directly|from\s{1,3}(?:this|the|our)\s{1,3}(?:pdf|e-?mail|mail|letter|invoice|attachment)|with\b|in\s{1,3}the\s{1,3}same|at\s{1,3}the\s{1,3}same)"
      r"|\b(?:update|change|amend)\s{1,3}(?:it|this|them|the\s{1,3}record|the\s{1,3}details)\s{1,3}(?:directly|yourself|yourselves)\s{1,3}(?:from|in|on)\b",
      finance=0.7, bank_change=0.7)

# 18. A control of the buyer's stated as passed or off in shorthand: "TOLERANCE CHECK PASSED", "dup-check override",
#     "NO GOODS RECEIPT MATCH REQUIRED", "AUTO RELEASE" (not "no action required": that names no control).
_rule("control_state_claimed", "control_field", 0.6, 0.3, None,
      r"\b(?:tolerance|duplicate|dup|match(?:ing)?|three[- ]way|3[- ]way|price|budget|receipt|gr|po|callback|call-?back|verification|approval|review|screening|kyc|sanctions?)"
      r"[\s_-]{0,3}(?:check|match|control|test)?\s{0,3}[:=-]?\s{0,3}(?:passed|override|overridden|waived|skipped|bypassed)\b"
      r"|\bno\s{1,3}(?:[\w/-]{1,20}\s{1,3}){0,2}?(?:match|matching|receipt|gr|approval|approver|sign-?off|verification|callback|call-?back|review|po|purchase\s{1,3}order|check)\s{1,3}(?:is\s{1,3})?(?:required|needed|necessary)\b"
      r"|\bauto[- ]?(?:release|approv\w{1,4}|post(?:ing)?)\b",
      finance=0.75, bank_change=0.75)
# 19. Permission relayed from someone on the buyer's side: "your purchasing already agreed", "Lars in treasury OK'd it",
#     "votre acheteur est d'accord" (not the price or a date agreed: that is ordinary).
_rule("relayed_permission", "relayed", 0.5, 0.1, None,
      r"\b(?:your|vostr[oaie]|votre|vos|su|sus|uw|jullie|ihre?[mnrs]?|vosso|vossa)\s{1,3}(?:[\w'-]{1,20}\s{1,3}){0,3}?(?:already\s{1,3}|has\s{1,3}|have\s{1,3})?"
      r"(?:agreed|ok'?d|okayed|okay'd|signed\s{1,3}(?:it\s{1,3})?off|said\s{1,3}(?:it's|it\s{1,3}is|that's|that\s{1,3}is)\s{1,3}(?:ok|okay|fine)|est\s{1,3}d'accord|está\s{1,3}de\s{1,3}acuerdo|"
      r"è\s{1,3}d'accordo|is\s{1,3}akkoord|ist\s{1,3}einverstanden|(?:has\s{1,3})?given\s{1,3}(?:the\s{1,3}|us\s{1,3}the\s{1,3})?(?:go-ahead|ok|okay))\b"
      # ... as the end of the clause, or agreeing to the buyer's own act: not "agreed to ship on Monday".
      r"(?=\s{0,3}(?:[.,;:!)\n]|$)|\s{1,3}(?:so|and|that|it|this|to\s{1,3}(?:pay|release|approve|skip|waive|change|update|process|post|book|it|this|that|the\s{1,3}change)\b|"
      r"(?:pour|para|per|für|voor|mit|con|avec)\s{1,3}(?:le|la|el|il|den|die|das|de|het|o|a)?\s{0,3}(?:paiement|pago|pagamento|zahlung|betaling|virement|changement|cambio|wijziging|änderung)))"
      r"|\b(?:ok'?d|okayed|okay'd)\s{1,3}(?:it|this|that)\b",
      finance=0.7, bank_change=0.7)
# 20. Paying what the buyer's own records show as paid, or the same supply invoiced again:
#     "even if it shows as paid", "anche se risulta già pagata", "same load re-invoiced ... post both".
_rule("pay_more", "extra_payment", 0.6, 0.2, None,
      r"\b(?:even\s{1,3}if|although|though|anche\s{1,3}se|ook\s{1,3}als|auch\s{1,3}wenn|même\s{1,3}si|aunque|mesmo\s{1,3}que)\b[^.!?\n]{0,60}?"
      r"\b(?:paid|pagat[ao]|betaald|bezahlt|payée?|pagad[ao]|settled)\b"
      r"|\b(?:re-?invoiced|invoiced\s{1,3}again|same\s{1,3}(?:supply|load|delivery|goods|service|shipment)|fatturat[ao]\s{1,3}di\s{1,3}nuovo)\b[^.!?\n]{0,80}?(?<!\bnot\s)(?<!n't\s)\b(?:pay|post|book|release)\w{0,3}\s{1,3}(?:them\s{1,3}|it\s{1,3})?both\b"
      r"|(?<!\bnot\s)(?<!n't\s)\b(?:pay|post|book|release)\w{0,3}\s{1,3}(?:them\s{1,3}|it\s{1,3})?both\b[^.!?\n]{0,80}?\b(?:re-?invoiced|invoiced\s{1,3}again|same\s{1,3}(?:supply|load|delivery|goods|service|shipment))\b",
      finance=0.75, bank_change=0.75)
# 21. Confirmations and remittances steered to one address only (the buyer's known contacts left out).
#     "Only to x@…" alone is also how a vendor names its remittance mailbox: a second sign is needed (0.5);
#     the known address dropped ("no longer to our address") is not ordinary (0.7).
_rule("confirmations_narrowed", "secrecy", 0.5, 0.2, None,
      r"\b(?:only|solo|nur(?:\s{1,3}noch)?|uniquement|seulement|alleen|tylko|apenas|soltanto)\s{1,3}(?:to|a|an|à|aan|do|para)\s{1,3}[\w.+-]{1,64}@"
      r"|@[\w-]{1,63}(?:\.[\w-]{1,63}){1,4}\s{1,3}only\b|\bto\s{1,3}(?:that|this)\s{1,3}address\s{1,3}only\b",
      finance=0.5, bank_change=0.5)
_rule("known_address_dropped", "secrecy", 0.55, 0.2, None,
      r"\b(?:nicht\s{1,3}mehr|no\s{1,3}longer|plus)\s{1,3}(?:an|to|à)\s{1,3}(?:unsere|our|notre)\s{1,3}(?:\w{1,20}\s{1,3})?(?:adresse|address)\b",
      finance=0.7, bank_change=0.7)
# 22. Splitting a payment under the buyer's threshold, in other languages.
_rule("evade_control", "bypass", 0.6, 0.3, None,
      r"\b(?:podziel\w{1,4}|aufteil\w{0,3}|aufzuteilen|diviser|fractionner|dividir|fraccionar|suddivider\w{0,3}|dividere|frazionare|splitsen|opsplitsen|op\s{1,3}te\s{1,3}splitsen)\b"
      r"[^.!?\n]{0,80}?\b(?:poniżej|unter(?:halb)?|sous|en\s{1,3}dessous|por\s{1,3}debajo|bajo|sotto|onder|abaixo)\b",
      finance=0.75, bank_change=0.75)
# 23. The buyer's own payment data or access asked for: the login to its bank portal, its payment run file, its payments to others.
_rule("buyer_data_request", "data_out", 0.55, 0.2, None,
      r"\b(?:send|forward|export|share|cc|copy|attach|give|provide|reply\s{1,3}with|inoltrare|inviare|enviar|envoyer|senden|sturen|przesłać)\b[^.!?\n]{0,60}?"
      r"\b(?:(?:login|password|credentials|access)\s{1,3}(?:you\s{1,3}use\s{1,3})?(?:for|to)\s{1,3}(?:the\s{1,3}|your\s{1,3})?(?:\w{1,20}\s{1,3}){0,2}?(?:portal|bank|banking|system|erp)|"
      r"(?:full\s{1,3})?payment\s{1,3}(?:run|batch)\s{1,3}(?:file|report|list)|(?:export|list|copies)\s{1,3}of\s{1,3}(?:all\s{1,3})?(?:the\s{1,3})?payments|all\s{1,3}payments\s{1,3}made|"
      r"(?:your\s{1,3})?(?:company's\s{1,3})?bank\s{1,3}statements|bonifici\s{1,3}effettuati|virements\s{1,3}effectués|überweisungen\s{1,3}an\s{1,3}(?:ihre|andere))\b",
      finance=0.7, bank_change=0.7)

# 24. Gaps in the kinds above, in general words: a check "completed on your side" by the sender's account; "(no callback,
#     no dual approval)" as a handling note; the same account applied to another vendor id; a list of the buyer's payments
#     or its approvers' names and limits asked for; a credit note to be disregarded; the approved amount raised.
_rule("control_elsewhere_claim", "claim", 0.55, 0.2, None,
      rf"\b{_CHECK_NOUNS}\w{{0,12}}\b[^.!?\n;]{{0,60}}?\b{_DONE}\b[^.!?\n;]{{0,20}}?\bon\s{{1,3}}your\s{{1,3}}(?:side|end)\b"
      r"|\b(?:rückruf|terugbel)\w{0,20}\b[^.!?\n;]{0,40}?(?:" + _OUR_SIDE + r"|\b(?:door|von|durch)\s{1,3}(?:uw|ihre?[mnrs]?)\s{1,3}(?:collega|kollegin|kollege)\b)"
      r"[^.!?\n;]{0,40}?\b(?:erfolgt|durchgeführt|erledigt|afgehandeld|gedaan|uitgevoerd)\b",
      finance=0.7, bank_change=0.7)
_rule("control_state_claimed", "control_field", 0.6, 0.3, None,
      r"(?:\(|\b(?:handling|processing)\s{1,3}(?:code|note)\b[^\n]{0,40}?)\s{0,2}no\s{1,3}(?:callback|call-?back|verification|dual\s{1,3}approval|approval|review|match\w{0,3}|checks?)\s{0,2}[,;)]",
      finance=0.75, bank_change=0.75)
_rule("other_record_change", "records", 0.6, 0.2, None,
      r"\b(?:same|this|these|the\s{1,3}new)\s{1,3}(?:account|details|bank\s{1,3}details|change|iban)\s{1,3}(?:to|for)\s{1,3}(?:our\s{1,3})?(?:vendor|supplier|creditor)\s{1,3}(?:id|no\.?|number|#)\s{0,2}[\w-]{0,12}\d"
      r"|\b(?:raise|increase|lift|adjust)\s{1,3}the\s{1,3}approved\s{1,3}amount\b"
      r"|\b(?:disregard|ignore|skip)\s{1,3}(?:the\s{1,3}|our\s{1,3})?credit\s{1,3}notes?\b",
      finance=0.7, bank_change=0.7)
_rule("buyer_data_request", "data_out", 0.55, 0.2, None,
      r"\b(?:send|forward|export|share|copy|attach|give|provide|reply\s{1,3}(?:to\s{1,3}[^.!?\n]{0,30}?)?with|list)\b[^.!?\n]{0,60}?"
      r"\b(?:(?:export|list|copies|overview|report)\s{1,3}of\s{1,3}(?:[\w']{1,20}\s{1,3}){0,3}?(?:payments|approvers|payees)|approver\s{1,3}names|approval\s{1,3}limits|names\s{1,3}of\s{1,3}(?:your\s{1,3})?approvers)\b",
      finance=0.7, bank_change=0.7)

# -- round 4 (2026-12): the kinds carried into de, fr, es, it, nl, pt, pl, sv; a buyer control crossed in plain words ----
# Vocabulary by concept, not by phrase: the buyer's controls and documents (approval, callback, verification, matching,
# goods receipt, PO, signature), the words for "without", "skip", "not needed", "without waiting for", "already approved
# by your …", "do not tell", "pay again / in advance", the vendor master and bank details, in each language.
# "ohne Unterschrift gültig", "valid without signature": the boilerplate of a computer-made letter.
_ML_VALID_WITHOUT = r"(?!\s{1,3}(?:gültig|valid|valable|válid[oa]|valid[oa]|geldig|ważn\w{0,2}|giltig)\b)"
_ML_CONTROL = (r"(?:freigabe\w{0,6}|\w{0,14}(?:prüfung|kontrolle|verifizierung)|\w{0,10}(?:sperre|blokkade)|blokad\w{1,3}|blocage|bloqueo|blocco|bloqueio|spärr\w{0,3}|genehmigung\w{0,2}|zustimmung|(?:über)?prüfung\w{0,2}|kontrolle|verifizierung|rückruf\w{0,6}|rückbestätigung|"
               r"wareneingang\w{0,8}|bestellung|bestellnummer|abgleich\w{0,2}|abnahme\w{0,9}|unterschrift\w{0,2}|vier-?augen-?prinzip|"
               r"approbation|validation|visa|vérification|contrôle|contre-appel|appel\s{1,3}de\s{1,3}(?:confirmation|vérification|contrôle)|rapprochement|"
               r"bon\s{1,3}de\s{1,3}(?:commande|réception)|réception\s{1,3}(?:des|de\s{1,3}la)\s{1,3}marchandises?|accord\s{1,3}préalable|"
               r"aprobaci[oó]n|autorizaci[oó]n|visto\s{1,3}bueno|verificaci[oó]n|comprobaci[oó]n|llamada\s{1,3}de\s{1,3}(?:confirmaci[oó]n|verificaci[oó]n)|"
               r"conciliaci[oó]n|cotejo|orden\s{1,3}de\s{1,3}compra|pedido\s{1,3}de\s{1,3}compra|entrada\s{1,3}de\s{1,3}mercanc[ií]as?|recepci[oó]n\s{1,3}de\s{1,3}(?:la\s{1,3})?mercanc[ií]a|albar[aá]n|conformidad|"
               r"approvazione|autorizzazione|benestare|verifica|controllo|riscontro|richiamata|telefonata\s{1,3}di\s{1,3}(?:conferma|verifica)|ordine\s{1,3}d'acquisto|"
               r"entrata\s{1,3}merci|ricevimento\s{1,3}(?:della\s{1,3})?merce|quadratura|"
               r"goedkeuring|fiattering|verificatie|controle|terugbel\w{0,14}|afstemming|inkooporder|bestelbon|goederenontvangst|ontvangstbevestiging|pakbon|"
               r"aprova[cç][aã]o|autoriza[cç][aã]o|verifica[cç][aã]o|confer[eê]ncia|controlo|confirma[cç][aã]o\s{1,3}telef[oó]nica|concilia[cç][aã]o|"
               r"ordem\s{1,3}de\s{1,3}compra|recebimento|entrada\s{1,3}de\s{1,3}mercadorias?|"
               r"akceptacj\w{1,3}|zatwierdzeni\w{1,3}|autoryzacj\w{1,3}|weryfikacj\w{1,3}|kontrol\w{1,3}|sprawdzeni\w{1,3}|oddzwonieni\w{1,3}|"
               r"zamówieni\w{1,3}|przyjęci\w{1,3}\s{1,3}towaru|dokumentu\s{1,3}pz|uzgodnieni\w{1,3}|"
               r"godkännande\w{0,2}|attest\w{0,5}|kontroll\w{0,3}|verifiering\w{0,2}|återuppringning\w{0,2}|kontrollsamtal\w{0,2}|avstämning\w{0,2}|"
               r"inköpsorder\w{0,2}|beställning\w{0,2}|godsmottagning\w{0,2}|inleverans\w{0,2}|granskning\w{0,2})")
# A refusal or a rule nearby ("Rechnungen ohne Bestellnummer können nicht bearbeitet werden") keeps the sentence ordinary.
_ML_REFUSAL = (r"(?![^.!?\n]{0,50}\b(?:nicht|keine?|ne\s|n'|pas|jamais|no\s{1,3}(?:se\s{1,3}|les\s{1,3}|la\s{1,3}|lo\s{1,3})?(?:pued\w{1,3}|pod\w{1,5}|ser\w{1,4}|es\s{1,3}posible|son|acept\w{1,4}|tramit\w{1,4}|proces\w{1,4})|"
               r"non\s{1,3}(?:pu[òo]\w{0,3}|poss\w{1,5}|pot\w{1,5}|sar\w{1,4}|è|vengono|verr\w{1,4}|accett\w{1,5})|"
               r"niet|nooit|não|nie\s{1,3}(?:moż\w{1,4}|będ\w{1,4}|jest|są|zostan\w{1,4}|przyjm\w{1,5}|realizuj\w{1,4})|inte|aldrig|cannot|can't|rejected|returned|abgelehnt|zurück\w{0,6}|rejet\w{1,3}|rechaza\w{1,3}|respinte?|geweigerd|recusad\w{1,2}|odrzuc\w{1,4}|avvisa\w{1,3})\b)")
_rule("control_waived_ml", "bypass", 0.6, 0.3, ('ohne', 'sans', 'sin', 'senza', 'zonder', 'sem', 'bez', 'utan', 'überspr', 'umgeh', 'umgangen', 'auslassen', 'weglassen', 'verzicht', 'entfall', 'entfäll', 'ignor', 'contourn', 'sauter', 'omett', 'omis', 'omit', 'obvi', 'prescind', 'elud', 'saltar', 'saltat', 'tralasci', 'scavalc', 'bypass', 'overslaan', 'overgeslagen', 'omzeil', 'negeren', 'genegeerd', 'achterwege', 'pular', 'pulad', 'dispens', 'pomin', 'pomij', 'obejś', 'omin', 'zignorow', 'hoppa', 'överhoppad', 'strunta', 'kringgå', 'skippa', 'passer', 'renoncer', 'alto', 'rinunciare', 'meno', 'afzien', 'deixar', 'mão', 'zrezygnow', 'avstå', 'behövs', 'krävs', 'erfordras', 'nödvändig', 'behov', 'warten', 'attend', 'esper', 'aspett', 'wachten', 'aguard', 'czekaj', 'vänta'),
      r"\b(?:ohne|sans|sin|senza|zonder|sem|bez|utan)\s{1,3}(?:\w{1,20}\s{1,3}){0,3}?" + _ML_CONTROL + r"\b" + _ML_VALID_WITHOUT + _ML_REFUSAL
      + r"|\b" + _ML_CONTROL + r"\b[^.!?\n]{0,60}?\b(?:überspr\w{2,6}|umgeh\w{0,3}|umgangen|auslassen|weglassen|verzicht\w{0,4}|entfallen|entfällt|"
      r"ignor\w{1,5}|contourn\w{1,5}|sauter|omett\w{1,4}|omis\w{0,2}|omitir\w{0,4}|omitid\w{1,2}|obvi\w{1,4}|prescind\w{1,5}|elud\w{1,4}|saltar\w{0,4}|"
      r"saltat\w|tralasci\w{1,5}|scavalc\w{1,5}|bypass\w{0,4}|overslaan|overgeslagen|omzeil\w{0,3}|negeren|genegeerd|achterwege|pular|pulad\w{1,2}|dispens\w{1,5}|"
      r"pomin\w{1,4}|pomij\w{1,4}|obejś\w{1,4}|omin\w{1,4}|zignorow\w{1,4}|hoppa\w{0,2}\s{1,3}över|överhoppad\w{0,2}|strunta\w{0,2}\s{1,3}i|kringgå\w{0,2}|skippa\w{0,2})\b"
      r"|\b(?:überspringen|umgehen|verzichten\s{1,3}auf|passer\s{1,3}outre|se\s{1,3}passer\s{1,3}de|renoncer\s{1,3}à|prescindir\s{1,3}de|pasar\s{1,3}por\s{1,3}alto|rinunciare\s{1,3}a|"
      r"fare\s{1,3}a\s{1,3}meno\s{1,3}d\w{0,3}|omit\w{1,5}|ignor\w{1,5}|contourn\w{1,5}|überspring\w{0,4}|umgeh\w{0,4}|pomin\w{1,4}|pomij\w{1,4}|"
      r"omzeil\w{0,3}|negeren|pular|saltar\w{0,4}|saltare|tralasci\w{1,5}|scavalc\w{1,5}|skippa\w{0,2}|kringgå\w{0,2}|obviar\w{0,2}|prescind\w{1,5}\s{1,3}de|dispens\w{1,5}|afzien\s{1,3}van|deixar\s{1,3}de\s{1,3}lado|abrir\s{1,3}mão\s{1,3}d\w{1,2}|zrezygnow\w{1,4}\s{1,3}z|hoppa\s{1,3}över|avstå\s{1,3}från|strunta\s{1,3}i)\s{1,3}"
      r"(?:\w{1,20}\s{1,3}){0,2}?" + _ML_CONTROL + r"\b"
      r"|\b(?:behövs|krävs|erfordras)\s{1,3}(?:\w{1,20}\s{1,3})?inte\b|\binte\s{1,3}(?:nödvändig\w{0,2}|längre\s{1,3}krävs)\b|\binget\s{1,3}behov\s{1,3}av\b"
      r"|\butan\s{1,3}att\s{1,3}(?:vänta|invänta|kontrollera|verifiera|ringa|attestera|godkänna)\b"
      r"|\b(?:ohne\s{1,3}auf|nicht\s{1,3}auf)\s{1,3}(?:\w{1,20}\s{1,3}){0,3}?(?:zu\s{1,3})?warten\b|\bn'attend(?:ez|ons|re)\s{1,3}pas\b|\bno\s{1,3}(?:esperen|espere|hace\s{1,3}falta\s{1,3}esperar)\b"
      r"|\b(?:senza\s{1,3}aspettare|non\s{1,3}(?:aspettate|attendete))\b|\bniet\s{1,3}(?:te\s{1,3})?wachten\s{1,3}op\b|\bnão\s{1,3}(?:esperem|aguardem|espere|aguarde)\b|\bnie\s{1,3}czekając\b|\b(?:vänta|invänta)\s{1,3}inte\b",
      finance=0.75, bank_change=0.75)
# Paying or releasing before the buyer's receipt, approval or check, in each language.
_ML_PAY = (r"(?:zahl\w{0,3}|bezahl\w{0,3}|überweis\w{0,3}|begleich\w{0,3}|freigeb\w{0,3}|freizugeben|buch\w{0,3}|"
           r"pay\w{0,4}|régl\w{1,4}|vir\w{1,4}|vers\w{1,4}|valid\w{1,4}|comptabilis\w{1,4}|libér\w{1,4}|"
           r"pag\w{1,5}|abon\w{1,5}|liquid\w{1,5}|transfer\w{1,4}|liber\w{1,5}|contabiliz\w{1,5}|registr\w{1,5}|salda\w{1,4}|bonific\w{1,4}|sblocc\w{1,4}|"
           r"betal\w{0,4}|overmak\w{0,2}|overgemaakt|voldoen|vrijgeven|vrijgegeven|boek\w{0,3}|lança\w{1,4}|"
           r"zapłac\w{0,4}|opłac\w{0,4}|przelać|przelew\w{0,3}|zaksięgow\w{1,4}|zwolni\w{1,4}|uregulow\w{1,4}|"
           r"betala\w{0,2}|överför\w{0,2}|bokför\w{0,2}|släpp\w{0,2}|attestera\w{0,2})")
_ML_BEFORE = (r"(?:vor\s{1,3}(?:dem|der|den|eingang\s{1,3}(?:der|des))?|avant\s{1,3}(?:la|le|les|l'|réception\s{1,3}d\w{1,3})?|antes\s{1,3}(?:de\s{1,3}(?:la|el|los|las)?|do|da)|"
              r"prima\s{1,3}(?:del(?:la|l')?|di)|vóór|voor\s{1,3}(?:de|het)|przed|före|innan)")
_rule("pay_before_control_ml", "bypass", 0.6, 0.3, ('vor', 'avant', 'antes', 'prima', 'vóór', 'voor', 'przed', 'före', 'innan'),
      r"\b" + _ML_PAY + r"\b[^.!?\n]{0,50}?\b" + _ML_BEFORE + r"\s{0,3}(?:\w{1,20}\s{1,3}){0,2}?" + _ML_CONTROL + r"\b"
      r"|\b" + _ML_BEFORE + r"\s{0,3}(?:\w{1,20}\s{1,3}){0,2}?" + _ML_CONTROL + r"\b[^.!?\n]{0,50}?\b" + _ML_PAY + r"\b",
      finance=0.75, bank_change=0.75)
# Paying again or twice, in each language (the English forms are above).
# Not right after a negation, with or without an article or a modal ("nicht", "pas la", "non va").
_ML_NOT_NEGATED = (r"(?<!\bnicht\s)(?<!\bpas\s)(?<!\bno\s)(?<!\bnon\s)(?<!\bniet\s)(?<!\bnão\s)(?<!\bnie\s)(?<!\bpas\sla\s)(?<!\bpas\sle\s)(?<!\bpas\sles\s)(?<!\bno\sla\s)(?<!\bno\slo\s)(?<!\bno\slas\s)(?<!\bno\slos\s)(?<!\bnon\sla\s)(?<!\bnon\slo\s)(?<!\bnão\sa\s)(?<!\bnão\so\s)(?<!\bniet\sopnieuw\s)(?<!\bnon\sva\s)(?<!\bnon\svanno\s)(?<!\bnon\sdeve\s)(?<!\bnon\sdevono\s)(?<!\bno\sdebe\s)(?<!\bno\sdeben\s)(?<!\bnão\sdeve\s)")
_rule("pay_more_ml", "extra_payment", 0.6, 0.2, ('erneut', 'nochmals', 'noch einmal', 'zweimal', 'doppelt', 'nouveau', 'fois', 'nuevo', 'otra vez', 'veces', 'nuevamente', 'nuovo', 'nuovamente', 'volte', 'opnieuw', 'nogmaals', 'keer', 'tweemaal', 'novamente', 'novo', 'vezes', 'ponownie', 'dwukrotnie', 'raz', 'igen', 'gång', 'vuelv', 'volv', 'volt', 'ripagare', 'repayer'),
      _ML_NOT_NEGATED + r"(?<!\binte\s)\b(?:erneut|nochmals|noch\s{1,3}einmal|zweimal|doppelt|à\s{1,3}nouveau|une\s{1,3}(?:seconde|deuxième)\s{1,3}fois|deux\s{1,3}fois|"
      r"de\s{1,3}nuevo|otra\s{1,3}vez|dos\s{1,3}veces|nuevamente|di\s{1,3}nuovo|nuovamente|due\s{1,3}volte|opnieuw|nogmaals|twee\s{1,3}keer|tweemaal|"
      r"novamente|de\s{1,3}novo|duas\s{1,3}vezes|ponownie|dwukrotnie|jeszcze\s{1,3}raz|igen|två\s{1,3}gånger|en\s{1,3}gång\s{1,3}till)\s{1,3}(?:\w{1,20}\s{1,3}){0,2}?"
      r"(?:zahlen|bezahlen|überweisen|buchen|erfassen|payer|régler|virer|verser|comptabiliser|pagar|abonar|transferir|registrar|contabilizar|pagare|bonificare|registrare|contabilizzare|"
      r"betalen|overmaken|voldoen|boeken|zapłacić|przelać|opłacić|zaksięgować|betala|överföra|bokföra)\b"
      r"(?![^.!?\n]{0,30}\b(?:irrtümlich|versehentlich|par\s{1,3}erreur|por\s{1,3}error|per\s{1,3}errore|per\s{1,3}vergissing|por\s{1,3}engano|omyłkowo|av\s{1,3}misstag)\b)"
      r"|" + _ML_NOT_NEGATED + r"\b(?:zahl\w{0,3}|bezahl\w{0,3}|überweis\w{0,3}|pay\w{2,4}|régl\w{1,4}|vir\w{1,4}|vers\w{1,4}|"
      r"pag\w{1,5}|abon\w{1,5}|transfer\w{1,4}|bonific\w{1,4}|betal\w{0,4}|overmak\w{0,2}|voldoen|zapłac\w{0,4}|przel\w{1,4}|opłac\w{0,4}|överför\w{0,2})\s{1,3}(?:(?!(?:nicht|not|niet|nie|inte|pas|no|non|não)\b)\w{1,20}\s{1,3}){0,3}?"
      r"(?:erneut|nochmals|noch\s{1,3}einmal|zweimal|doppelt|à\s{1,3}nouveau|une\s{1,3}(?:seconde|deuxième)\s{1,3}fois|deux\s{1,3}fois|de\s{1,3}nuevo|otra\s{1,3}vez|dos\s{1,3}veces|"
      r"nuevamente|di\s{1,3}nuovo|nuovamente|due\s{1,3}volte|opnieuw|nogmaals|twee\s{1,3}keer|novamente|de\s{1,3}novo|duas\s{1,3}vezes|ponownie|dwukrotnie|jeszcze\s{1,3}raz|igen|två\s{1,3}gånger)\b"
      r"(?![^.!?\n]{0,30}\b(?:irrtümlich|versehentlich|par\s{1,3}erreur|por\s{1,3}error|per\s{1,3}errore|per\s{1,3}vergissing|por\s{1,3}engano|omyłkowo|av\s{1,3}misstag)\b)"
      r"|" + _ML_NOT_NEGATED + r"\b(?:vuelv\w{1,3}\s{1,3}a\s{1,3}pagar|volv\w{1,4}\s{1,3}a\s{1,3}pagar|volt\w{1,4}\s{1,3}a\s{1,3}pagar|volver\s{1,3}a\s{1,3}pagar|voltar\s{1,3}a\s{1,3}pagar|ripagare|repayer|payer\s{1,3}à\s{1,3}nouveau|betala\s{1,3}(?:igen|två\s{1,3}gånger))\b",
      finance=0.75, bank_change=0.75)
# Already approved or verified "by your …" in each language; and an approval given by phone.
_rule("control_elsewhere_claim_ml", "claim", 0.55, 0.2, None,
      r"\b(?:redan|bereits|schon|déjà|ya|já|già|al|już)\s{1,3}(?:\w{1,20}\s{1,3}){0,3}?(?:godkän\w{1,4}|attesterad\w{0,2}|verifierad\w{0,2}|kontrollerad\w{0,2}|"
      r"autorizad[ao]s?|autorizzat[ao]|autorisée?s?|autoryzowan\w{0,3}|gefiatteerd|validad[ao]s?|validat[ao]|liberad[ao]s?|vistad[ao]|"
      r"akkoord\s{1,3}(?:gegeven|bevonden)|zugestimmt|d'accord|accordée?|d(?:ado|io|ió|ieron)\s{1,3}(?:su\s{1,3})?(?:visto\s{1,3}bueno|conformidad|ok|aprobaci[oó]n)|(?:dato|diede)\s{1,3}(?:il\s{1,3})?(?:benestare|ok)|"
      r"(?:seu|su)\s{1,3}(?:aval|ok)|zgod\w{1,3}|ok|autoriz[oó]|aprob[oó]|valid[oó]|autorizou|aprovou|validou|zatwierdzi\w{1,3}|zaakceptowa\w{1,3}|godkände|godkänt|attesterade|attesterat)\b"
      r"|\b(?:telefonisch|mündlich|par\s{1,3}téléphone|oralement|por\s{1,3}tel[eé]fono|verbalmente|telefonicamente|telefonisch|mondeling|telefonicznie|ustnie|per\s{1,3}telefon|muntligt)\s{1,3}"
      r"(?:\w{1,20}\s{1,3}){0,3}?(?:akkoord|zugestimmt|zustimmung|freigegeben|genehmigt|accord|validé|approuvé|aprobad[ao]|autorizad[ao]|approvat[ao]|autorizzat[ao]|benestare|"
      r"goedgekeurd|aprovad[ao]|autorizad[ao]|zatwierdz\w{1,4}|zaakceptow\w{1,4}|godkän\w{1,4}|attester\w{1,4}|ok)\b"
      r"|\b(?:visto\s{1,3}bueno|akkoord|zustimmung|zugestimmt|benestare|aval|zgod\w{1,3}|freigegeben|genehmigt)\b\s{1,3}(?:\w{1,20}\s{1,3}){0,2}?"
      r"(?:telefonisch|mündlich|par\s{1,3}téléphone|por\s{1,3}tel[eé]fono|verbalmente|telefonicamente|mondeling|telefonicznie|ustnie|per\s{1,3}telefon|muntligt)\b"
      r"|\b(?:ihr\w{0,2}|votre|vos|su|sus|vostr[oaie]|vosso|vossa|uw|jullie|wasz\w{0,3}|państwa)\s{1,3}(?:[\w'-]{1,20}\s{1,3}){1,3}?(?:hat\s{1,3}|ha\s{1,3}|a\s{1,3}|heeft\s{1,3})?"
      r"(?:bereits|schon|déjà|ya|já|già|al|już)\s{1,3}(?:\w{1,20}\s{1,3}){0,2}?(?:genehmigt|freigegeben|zugestimmt|validée?|approuvée?|autorisée?|aprob[oó]|autoriz[oó]|aprobad[ao]|"
      r"approvat[ao]|autorizzat[ao]|goedgekeurd|akkoord|aprovou|autorizou|aprovad[ao]|zatwierdzi\w{1,3}|zaakceptowa\w{1,3}|d(?:ado|io|ió)\s{1,3}(?:su\s{1,3})?visto\s{1,3}bueno|dato\s{1,3}il\s{1,3}benestare)\b",
      finance=0.7, bank_change=0.7)
# Something kept from the buyer's approvers, auditors or managers, in each language.
_ML_OVERSIGHT = (r"(?:freigeber\w{0,2}|vorgesetzte\w{0,2}|revision|prüfer\w{0,2}|wirtschaftsprüfer\w{0,2}|controlling|einkauf|buchhaltung|geschäftsführung|"
                 r"approbateur\w{0,2}|responsable\w{0,2}|auditeur\w{0,2}|audit|contrôleur\w{0,2}|direction|hiérarchie|"
                 r"aprobador\w{0,2}|auditor\w{0,3}|auditoría|jefe\w{0,2}|supervisor\w{0,2}|dirección|"
                 r"approvatore\w{0,2}|revisor\w{0,2}|responsabile|direzione|superiori|"
                 r"goedkeurder\w{0,2}|accountant\w{0,2}|leidinggevende\w{0,2}|controller\w{0,2}|directie|inkoop|"
                 r"aprovador\w{0,3}|auditoria|chefia|diretoria|gestor\w{0,2}|"
                 r"przełożon\w{1,3}|audyt\w{0,3}|kierownik\w{0,3}|zarząd\w{0,2}|księgowoś\w{1,3}|"
                 r"attestant\w{0,2}|chef\w{0,2}|revisor\w{0,2}|ekonomiavdelning\w{0,2}|ledning\w{0,2}|inköp)")
_rule("kept_from_oversight_ml", "secrecy", 0.6, 0.3, ('freigeber', 'vorgesetzte', 'revisi', 'revisor', 'prüfer', 'controll', 'einkauf', 'buchhaltung', 'geschäftsführung', 'approbateur', 'responsab', 'audit', 'audyt', 'contrôleur', 'direc', 'direz', 'diret', 'hiérarchie', 'aprobador', 'jefe', 'supervisor', 'approvator', 'superiori', 'goedkeurder', 'accountant', 'leidinggevende', 'inkoop', 'aprovador', 'chef', 'gestor', 'przełożon', 'kierownik', 'zarząd', 'księgowoś', 'attestant', 'ekonomiavdelning', 'ledning', 'inköp'),
      r"\b(?:nicht|ne\s{1,3}pas|sans|no|sin|non|senza|niet|zonder|não|sem|nie|bez|inte|utan\s{1,3}att)\s{1,3}(?:\w{1,20}\s{1,3}){0,2}?"
      r"(?:erwähn\w{1,4}|informier\w{1,4}|benachrichtig\w{1,4}|weiterleit\w{1,4}|mentionn\w{1,3}|inform\w{1,6}|prévenir|avertir|menc?ion\w{1,5}|avis\w{1,5}|comentar\w{0,2}|"
      r"menzion\w{1,4}|avvis\w{1,4}|vermelden|inlichten|melden|wspomin\w{1,4}|powiadam\w{1,4}|nämn\w{0,2}|meddela|berätta)\b"
      r"[^.!?\n]{0,40}?\b" + _ML_OVERSIGHT + r"\b"
      r"|\b(?:erwähn\w{1,4}|informier\w{1,4}|nämn\w{0,2}|berätta|meddela|melden|vermelden|informeer|vertel|informera)\b[^.!?\n]{0,40}?\b(?:nicht|inte|niet)\b[^.!?\n]{0,40}?\b" + _ML_OVERSIGHT + r"\b"
      r"|\b" + _ML_OVERSIGHT + r"\b[^.!?\n]{0,40}?\b(?:nicht|ne\s{1,3}pas|no|non|niet|não|nie|inte)\s{1,3}(?:\w{1,20}\s{1,3}){0,1}?"
      r"(?:informier\w{1,4}|einbezieh\w{1,4}|einschalten|informer|impliquer|informar\w{0,2}|involucrar\w{0,2}|informar\w{0,3}|coinvolgere|informeren|betrekken|informowa\w{1,4}|angażowa\w{1,4}|informera|involvera)\b",
      finance=0.75, bank_change=0.75)
# The buyer's vendor master or the stored bank details changed from a memo or e-mail, in each language
# (the subject of a bank letter: there it weighs 0.1, as in English).
_ML_MASTER = (r"(?:kreditorenstamm\w{0,6}|lieferantenstamm\w{0,6}|stammdaten|stammsatz|"
              r"fichier\s{1,3}fournisseurs?|fiche\s{1,3}fournisseur|référentiel\s{1,3}fournisseurs?|"
              r"maestro\s{1,3}de\s{1,3}proveedores|ficha\s{1,3}(?:del?\s{1,3})?proveedor|anagrafica(?:\s{1,3}fornitor\w)?|"
              r"crediteurenbestand|leveranciersbestand|stamgegevens|cadastro\s{1,3}(?:de\s{1,3}|do\s{1,3})?fornecedor\w{0,2}|"
              r"(?:kartotek\w{0,3}|kartotec\w{0,2})\s{1,3}dostawc\w{1,3}|leverantörsregist\w{1,4})")
_ML_BANK = (r"(?:bankverbindung|kontoverbindung|bankdaten|coordonnées\s{1,3}bancaires|rib|datos\s{1,3}bancarios|cuenta\s{1,3}bancaria|"
            r"coordinate\s{1,3}bancarie|dati\s{1,3}bancari|conto\s{1,3}corrente|bankgegevens|rekeningnummer|dados\s{1,3}bancários|conta\s{1,3}bancária|"
            r"dane\s{1,3}bankowe|numer\s{1,3}rachunku|rachunek\s{1,3}bankowy|bankuppgifter\w{0,2}|kontonummer\w{0,2}|bankgiro\w{0,2})")
_rule("records_change_ml", "records_change", 0.55, 0.2, None,
      r"\b(?:bitte|merci\s{1,3}de|veuillez|pourriez-vous|por\s{1,3}favor|rogamos|favor\s{1,3}de|preghiamo\s{1,3}di|si\s{1,3}prega\s{1,3}di|per\s{1,3}favore|graag|wilt\s{1,3}u|gelieve|"
      r"solicitamos|pedimos|prosimy|proszę|vänligen|kindly|please)\b[^.!?\n]{0,60}?"
      r"\b(?:änder\w{1,3}|aktualisier\w{1,3}|überschreib\w{1,3}|ersetz\w{1,3}|modifi(?:er|ez|que[nz]?|care|cate|ieren)|mettre\s{1,3}à\s{1,3}jour|mettez\s{1,3}à\s{1,3}jour|remplac\w{1,4}|"
      r"cambi\w{1,4}|actualic\w{1,4}|actualiz\w{1,4}|sustitu\w{1,5}|aggiorn\w{1,4}|sostitu\w{1,5}|wijzig\w{0,3}|bijwerken|vervang\w{0,3}|"
      r"alter(?:ar|em|e)|atualiz\w{1,4}|substitu\w{1,4}|zmie\w{1,5}|zaktualizow\w{1,4}|zastąp\w{0,4}|ändra\w{0,2}|uppdatera\w{0,2}|ersätt\w{0,2})\b"
      r"[^.!?\n]{0,50}?\b" + _ML_MASTER + r"\b"
      r"|\b(?:bitte|graag|gelieve|prosimy|proszę|vänligen)\b[^.!?\n]{0,40}?\b" + _ML_MASTER + r"\b[^.!?\n]{0,50}?\b(?:ändern|aktualisieren|anpassen|überschreiben|ersetzen|"
      r"übernehmen|eintragen|hinterlegen|einpflegen|wijzigen|aanpassen|bijwerken|vervangen|overnemen|invoeren|zmienić|zaktualizować|ändra|uppdatera|ersätta)\b",
      finance=0.7, bank_change=0.1)
_rule("bank_detail_change_ml", "bank", 0.65, 0.5, None,
      r"\b(?:bitte|merci\s{1,3}de|veuillez|pourriez-vous|por\s{1,3}favor|rogamos|favor\s{1,3}de|preghiamo\s{1,3}di|si\s{1,3}prega\s{1,3}di|per\s{1,3}favore|graag|wilt\s{1,3}u|gelieve|"
      r"solicitamos|pedimos|prosimy|proszę|vänligen|kindly|please)\b[^.!?\n]{0,60}?"
      r"\b(?:änder\w{1,3}|aktualisier\w{1,3}|überschreib\w{1,3}|ersetz\w{1,3}|modifi(?:er|ez|que[nz]?|care|cate|ieren)|mettre\s{1,3}à\s{1,3}jour|mettez\s{1,3}à\s{1,3}jour|remplac\w{1,4}|"
      r"cambi\w{1,4}|actualic\w{1,4}|actualiz\w{1,4}|sustitu\w{1,5}|aggiorn\w{1,4}|sostitu\w{1,5}|wijzig\w{0,3}|bijwerken|vervang\w{0,3}|"
      r"alter(?:ar|em|e)|atualiz\w{1,4}|substitu\w{1,4}|zmie\w{1,5}|zaktualizow\w{1,4}|zastąp\w{0,4}|ändra\w{0,2}|uppdatera\w{0,2}|ersätt\w{0,2})\b"
      r"[^.!?\n]{0,50}?\b" + _ML_BANK + r"\b"
      r"|\b(?:bitte|graag|gelieve|prosimy|proszę|vänligen)\b[^.!?\n]{0,40}?\b" + _ML_BANK + r"\b[^.!?\n]{0,50}?\b(?:ändern|aktualisieren|anpassen|überschreiben|ersetzen|"
      r"übernehmen|eintragen|hinterlegen|einpflegen|wijzigen|aanpassen|bijwerken|vervangen|overnemen|invoeren|zmienić|zaktualizować|ändra|uppdatera|ersätta)\b",
      bank_change=0.1)

# A control said to be unnecessary, or the buyer's record or check left for later, while paying now, in each language.
_ML_LATER = (r"(?:später|nachträglich|danach|plus\s{1,3}tard|ultérieurement|ensuite|más\s{1,3}tarde|después|posteriormente|più\s{1,3}tardi|dopo|successivamente|"
             r"later|achteraf|naderhand|mais\s{1,3}tarde|depois|posteriormente|później|potem|senare|efteråt|afterwards|after)")
_rule("control_later_ml", "bypass", 0.6, 0.3, ('später', 'nachträglich', 'danach', 'tard', 'ultérieurement', 'ensuite', 'después', 'posteriormente', 'dopo', 'successivamente', 'later', 'achteraf', 'naderhand', 'depois', 'później', 'potem', 'senare', 'efteråt', 'after', 'überflüssig', 'unnötig', 'entbehrlich', 'hinfällig', 'superflu', 'inutile', 'innecesari', 'overbodig', 'onnodig', 'desnecessári', 'zbędn', 'niepotrzebn', 'onödig', 'överflödig', 'aunque', 'aun cuando', 'même si', 'bien que', 'obwohl', 'auch wenn', 'anche se', 'sebbene', 'ook al', 'hoewel', 'mesmo que', 'embora', 'chociaż', 'mimo że', 'även om', 'consid', 'betrachten', 'beschouw', 'traktuj', 'betrakta', 'zie'),
      r"\b" + _ML_PAY + r"\b[^.!?\n]{0,80}?\b(?:" + _ML_CONTROL + r"|" + _ML_MASTER + r"|(?:supplier|vendor)\s{1,3}(?:file|record|master)|paperwork|goods\s{1,3}receipt|grn|po|sign-?off|approval)\b"
      r"[^.!?\n]{0,40}?\b" + _ML_LATER + r"\b"
      r"|\b(?:" + _ML_CONTROL + r"|" + _ML_MASTER + r"|(?:supplier|vendor)\s{1,3}(?:file|record|master)|paperwork|goods\s{1,3}receipt|grn|sign-?off)\b[^.!?\n]{0,30}?\b(?:can|could|will|may|kann|wird|peut|sera|puede|será|può|sarà|kan|wordt|pode|será|może|będzie)\s{1,3}"
      r"(?:\w{1,20}\s{1,3}){0,2}?" + _ML_LATER + r"\b[^.!?\n]{0,20}?\b(?:\w{1,20})?\b" 
      r"(?=[^.!?\n]{0,60}\b" + _ML_PAY + r"\b)"
      r"|\b(?:" + _ML_CONTROL + r")\b[^.!?\n]{0,60}?\b(?:überflüssig|unnötig|entbehrlich|hinfällig|superflue?|inutile|innecesari[oa]|superfluo|overbodig|onnodig|desnecessári[oa]|zbędn\w{1,2}|niepotrzebn\w{1,2}|onödig\w{0,2}|överflödig\w{0,2})\b"
      r"|\b(?:überflüssig|unnötig|entbehrlich|superflue?|inutile|innecesari[oa]|superfluo|overbodig|onnodig|desnecessári[oa]|zbędn\w{1,2}|niepotrzebn\w{1,2}|onödig\w{0,2})\b[^.!?\n]{0,30}?\b(?:" + _ML_CONTROL + r")\b"
      # paying although the control is missing: "aunque no tengan registrada la entrada de mercancía"
      r"|\b(?:aunque|aun\s{1,3}cuando|même\s{1,3}si|bien\s{1,3}que|obwohl|auch\s{1,3}wenn|anche\s{1,3}se|sebbene|ook\s{1,3}al|hoewel|mesmo\s{1,3}que|embora|chociaż|mimo\s{1,3}że|även\s{1,3}om)\b[^.!?\n]{0,40}?"
      r"\b(?:no|pas|nicht|kein\w{0,2}|non|niet|geen|não|nie|brak\w{0,2}|inte|ingen|noch\s{1,3}nicht|todavía\s{1,3}no|ainda\s{1,3}não|ancora)\b[^.!?\n]{0,40}?\b" + _ML_CONTROL + r"\b"
      # "Considerate questa mail come conferma": this message taken as the confirmation or approval
      r"|\b(?:considere[nz]?|considerate|consideri|considérez|considérer|betrachten|beschouw\w{0,2}|considerem|consider\w{0,2}|traktuj\w{0,3}|betrakta|zie)\s{1,3}"
      r"(?:\w{1,20}\s{1,3}){0,3}?(?:mail|e-?mail|correo|lettera|carta|lettre|courriel|brief|schreiben|nachricht|bericht|wiadomoś\w{1,3}|brev|mejl|messaggio|mensaje|mensagem|message)\s{1,3}"
      r"(?:\w{1,20}\s{1,3}){0,2}?(?:come|como|comme|als|jako|som|as)\s{1,3}(?:\w{1,20}\s{1,3}){0,2}?(?:conferma|confirmaci[oó]n|confirmation|bestätigung|bevestiging|confirma[cç][aã]o|potwierdzeni\w{1,3}|bekräftelse|"
      r"verifica\w{0,6}|vérification|verifizierung|verificatie|weryfikacj\w{1,3}|verifiering|autorizzazione|autorizaci[oó]n|autorisation|freigabe|goedkeuring|aprova[cç][aã]o|zgod\w{1,3}|godkännande|approvazione|aprobaci[oó]n|approbation)\b",
      finance=0.75, bank_change=0.75)
# The approver changed, or the approval sent to someone the text names instead of the buyer's manager, in each language.
_ML_APPROVER = (r"(?:freigeber\w{0,2}|genehmiger\w{0,2}|vorgesetzte\w{0,2}|kostenstellen\w{0,12}|approbateur\w{0,2}|valideur\w{0,2}|aprobador\w{0,2}|approvatore|approvatori|responsabile|"
                r"goedkeurder\w{0,2}|budgethouder\w{0,2}|aprovador\w{0,2}|osob\w{1,2}\s{1,3}(?:akceptując\w{1,3}|zatwierdzając\w{1,3})|akceptując\w{1,3}|kierownik\w{0,3}|attestant\w{0,2}|attesterare\w{0,2}|"
                r"budgetansvarig\w{0,2}|leiter\w{0,2}|responsable\w{0,2}|jefe\w{0,2}|leidinggevende\w{0,2}|chef\w{0,2}|gestor\w{0,2}|manager\w{0,2})")
_rule("approval_routing_ml", "routing", 0.55, 0.2, None,
      r"\b(?:zamiast|statt|anstelle|anstatt|au\s{1,3}lieu\s{1,3}d\w{0,2}|en\s{1,3}lugar\s{1,3}de\w{0,2}|en\s{1,3}vez\s{1,3}de\w{0,2}|invece\s{1,3}d\w{0,3}|in\s{1,3}plaats\s{1,3}van|em\s{1,3}vez\s{1,3}d\w{0,2}|ao\s{1,3}invés\s{1,3}d\w{0,2}|i\s{1,3}stället\s{1,3}för)\s{1,3}"
      r"(?:\w{1,20}\s{1,3}){0,2}?" + _ML_APPROVER + r"\b"
      r"|\b(?:zmian\w{1,3}|änder\w{1,3}|wechsel\w{0,3}|chang\w{1,3}|cambi\w{1,4}|modifi\w{1,5}|wijzig\w{0,3}|alter\w{1,4}|ändra\w{0,2}|byt\w{1,2})\b[^.!?\n]{0,20}?\b" + _ML_APPROVER + r"\b[^.!?\n]{0,40}?\b(?:na|auf|zu|à|a|al|in|naar|op|para|till|to)\s{1,3}(?:p\.|pan\w{0,2}|herrn?|frau|m\.|mme|sr\.?|sra\.?|sig\.?|dhr\.?|mevr\.?|mr\.?|ms\.?)\s{0,3}(?-i:[A-Z])",
      finance=0.7, bank_change=0.7)
# A status of the buyer's set in a verb-final language: "als genehmigt buchen", "als betaald boeken", "op 'goedgekeurd' zetten".
_rule("status_set", "control_field", 0.6, 0.3, None,
      r"\b(?:als|jako|som)\s{1,3}['\"\u201c\u201e]?\s{0,2}(?:genehmigt|freigegeben|geprüft|bezahlt|erledigt|verifiziert|goedgekeurd|betaald|gecontroleerd|geverifieerd|"
      r"zatwierdzon\w{1,3}|zapłacon\w{1,3}|sprawdzon\w{1,3}|godkän\w{1,3}|betald\w{0,2}|attesterad\w{0,2}|kontrollerad\w{0,2})['\"\u201d]?\s{1,3}(?:\w{1,20}\s{1,3}){0,1}?"
      r"(?:buchen|markieren|kennzeichnen|erfassen|setzen|vermerken|übernehmen|boeken|markeren|zetten|registreren|zaksięgować|oznaczyć|oznaczyc|zaznaczyć|bokföra|markera|registrera)\b",
      finance=0.7, bank_change=0.7)
# A buyer control crossed in plain English: paid or released before, without, instead of or alongside the buyer's
# document or step (certificate, report, requisition, PO, approval, matching, goods receipt, completion), the
# document "to follow", an advance agreed by someone of the buyer's, booked against an old approval.
_BUYER_DOC = (r"(?:(?:completion|practical\s{1,3}completion|payment|interim|final|valuation|acceptance|inspection|test|handover)\s{1,3}certificates?|certificat\w{1,4}|"
              r"(?:monitoring|progress|inspection|completion|acceptance|test|site|verification|audit|valuation)\s{1,3}reports?|"
              r"requisitions?|(?:a\s{1,3})?purchase\s{1,3}orders?|(?:new\s{1,3}|the\s{1,3}|a\s{1,3})po|approvals?|sign-?offs?|authori[sz]ations?|"
              r"(?:three|3|two|2)[- ]way\s{1,3}match\w{0,3}|matching|goods\s{1,3}receipts?|grns?|receiving\s{1,3}reports?|delivery\s{1,3}confirmations?|"
              r"completion|inspection|acceptance|certification|commissioning|variation\s{1,3}orders?|change\s{1,3}orders?|paperwork|budget\s{1,3}approval)")
_rule("crossed_buyer_step", "bypass", 0.6, 0.3, ('before', 'ahead', 'prior', 'advance', 'waiting', 'pending', 'follow', 'later', 'after', 'retrospectiv', 'rather', 'instead', 'without', 'no need', 'last ', 'previous', 'old', 'expired', 'closed', 'earlier', 'retention', 'tranche', 'stage payment', 'milestone', 'holdback', 'retainage'),
      # paid before or ahead of the buyer's document or step
      r"\b(?:pa(?:y|id)|releas\w{1,3}|settl\w{1,3}|book\w{0,3}|post\w{0,3}|process\w{0,3}|approv\w{1,3}|draw\s{1,3}down|drawn\s{1,3}down)\b[^.!?\n]{0,50}?"
      r"\b(?:before|ahead\s{1,3}of|prior\s{1,3}to|in\s{1,3}advance\s{1,3}of|without\s{1,3}waiting\s{1,3}for|pending)\s{1,3}(?:the\s{1,3}|a\s{1,3}|any\s{1,3}|our\s{1,3}|your\s{1,3})?"
      r"(?:[\w-]{1,20}\s{1,3})?" + _BUYER_DOC + r"\b(?!\s{1,3}(?:is|are|has|have)\s{1,3}(?:been\s{1,3})?(?:issued|signed|received|approved|complete[d]?))"
      # the buyer's document left for later: "the monitoring report will follow", "PO to follow"
      r"|\b(?:can|could|may|should|to)\s{1,3}(?:now\s{1,3}|already\s{1,3}|also\s{1,3})?be\s{1,3}(?:paid|released|settled|booked|posted|approved|drawn\s{1,3}down)\b[^.!?\n]{0,80}?"
      r"\b" + _BUYER_DOC + r"\s{1,3}(?:will|to|can|shall)\s{1,3}(?:follow|come\s{1,3}later|be\s{1,3}(?:sent|issued|raised|provided|done)\s{1,3}(?:later|afterwards|after))\b"
      r"|\b(?:pay|release|settle|book|post|draw\s{1,3}down)\b[^.!?\n]{0,40}?\b(?:now|today|immediately|straight\s{1,3}away|early|already|in\s{1,3}this\s{1,3}run)\b[^.!?\n]{0,60}?"
      r"\b(?:po|" + _BUYER_DOC + r")\s{1,3}(?:will|to|can|shall)\s{1,3}(?:follow|come\s{1,3}later|be\s{1,3}(?:sent|issued|raised|provided|done)\s{1,3}(?:later|afterwards|after))\b"
      r"|\b" + _BUYER_DOC + r"\s{1,3}(?:to\s{1,3}follow|will\s{1,3}follow|(?:can|will)\s{1,3}(?:be\s{1,3})?(?:raised|issued|sent|done)\s{1,3}(?:later|afterwards|retrospectively|after))\b"
      r"[^.!?\n]{0,60}?\b(?:pay|release|settle|book|post|approve)\w{0,3}\b"
      r"|\b(?:pay|release|settle|book|post|log)\w{0,3}\b[^.!?\n]{0,60}?(?:\(|['\"\u201c]|-\s{1,3})?\s{0,2}(?:advance\s{1,3}-\s{1,3})?\b(?:po|" + _BUYER_DOC + r")\s{1,3}to\s{1,3}follow\b"
      # instead of / rather than / without raising the buyer's document
      r"|\b(?:rather\s{1,3}than|instead\s{1,3}of|without|no\s{1,3}need\s{1,3}(?:for|to))\s{1,3}(?:us\s{1,3}|you\s{1,3})?(?:rais\w{1,4}|issu\w{1,4}|creat\w{1,4}|open\w{0,3}|get\w{0,4}|obtain\w{0,3}|"
      r"wait\w{0,3}\s{1,3}for|go\w{0,3}\s{1,3}through|request\w{0,3}|submit\w{0,4}|seek\w{0,3}|reissu\w{1,4}|re-?approv\w{1,4}|amend\w{0,3})\s{1,3}(?:a\s{1,3}|an\s{1,3}|the\s{1,3}|any\s{1,3}|another\s{1,3})?"
      r"(?:new\s{1,3}|fresh\s{1,3}|separate\s{1,3}|formal\s{1,3}|revised\s{1,3}|further\s{1,3}|valuation\s{1,3}|payment\s{1,3}|completion\s{1,3}|budget\s{1,3}|manager's\s{1,3}|buyer's\s{1,3})?(?:requisition|purchase\s{1,3}order|po|approval|sign-?off|variation|change\s{1,3}order|"
      r"goods\s{1,3}receipt|grn|certificate|authori[sz]ation|budget\s{1,3}approval)s?\b"
      # booked against an old approval, released alongside a claim before the report
      r"|\b(?:against|under|on)\s{1,3}(?:last\s{1,3}year's|last\s{1,3}month's|the\s{1,3}(?:previous|prior|old|expired|closed|earlier|last)|an?\s{1,3}(?:previous|prior|old|expired|closed|earlier))\s{1,3}"
      r"(?:year's\s{1,3})?(?:approval|requisition|sign-?off|authori[sz]ation|budget\s{1,3}approval|po|purchase\s{1,3}order)\b"
      r"|\b(?:retention|tranche|stage\s{1,3}payment|milestone|holdback|retainage)\w{0,2}\b[^.!?\n]{0,40}?\b(?:can|could|may|should|to)\s{1,3}(?:now\s{1,3}|also\s{1,3})?be\s{1,3}(?:released|paid|drawn\s{1,3}down)\s{1,3}"
      r"(?:alongside|together\s{1,3}with|with|now|early|already)\b",
      finance=0.75, bank_change=0.75)
# Permission relayed to pay, release or book now: "the QS has agreed it can be paid now", "your PM said this can be released".
_rule("relayed_permission", "relayed", 0.5, 0.1, None,
      r"(?<!\bwe\s)(?<!\bI\s)\b(?:has|have|had)\s{1,3}(?:already\s{1,3})?(?:agreed|confirmed|said|accepted|approved|okayed|ok'?d|allowed)\s{1,3}(?:that\s{1,3})?(?:it|this|they|these|the\s{1,3}\w{1,20})\s{1,3}"
      r"(?:can|could|may|should|will)\s{1,3}(?:now\s{1,3}|just\s{1,3}|also\s{1,3})?be\s{1,3}(?:paid|released|settled|booked|posted|processed|approved|drawn\s{1,3}down)\b"
      r"(?!\s{1,3}(?:by|via|through|using|with|in\s{1,3}(?:\w{1,20}\s{1,3})?instal?lments|to\s{1,3}(?:our|the)|into|on\s{1,3}(?:the\s{1,3})?(?:due|usual)))",
      finance=0.7, bank_change=0.7)
# Paid now as an advance or a prepayment of work the buyer has not received (a second sign is needed: vendors ask for deposits).
_rule("advance_payment", "advance", 0.45, 0.2, None,
      r"\b(?:pa(?:y|id)|releas\w{1,3}|settl\w{1,3}|book\w{0,3}|log\w{0,3})\b[^.!?\n]{0,30}?\b(?:now\s{1,3}|today\s{1,3})?as\s{1,3}(?:an?\s{1,3})?(?:advance|prepayment|pre-payment|on-?account\s{1,3}payment|early\s{1,3}release|interim\s{1,3}payment)\b"
      r"|\b(?:anticipo|adelanto|acompte|avance|vorschuss|voorschot|adiantamento|zaliczk\w{1,2}|förskott)\b",
      finance=0.45, bank_change=0.45)

# A buyer control crossed in general English words: the usual checks or PO left out, a step taken outside the log,
# posting, approving and paying in one step, approving under someone else's name, the record not to be updated
# for a one-off payee, backdating, an old approval reused, the flag to be overridden, the people who would look kept out.
_rule("crossed_buyer_step", "bypass", 0.6, 0.3, ('without', 'outside', 'in one', 'in a single', 'at once', 'period', 'flag', 'duplicate', 'warning', 'alert', 'block', 'hold', 'mismatch', 'exception', 'under ', 'in my', 'in his', 'in her', 'in their', 'with my', 'with his', 'with her', 'with their', 'using ', "'s ", 'ask', 'backdat', 'back-dat', 'approval', 'requisition', 'sign-off', 'signoff', 'authori', 'need', 'rather than', 'instead of', 'no buyer', 'no approver', 'no manager', 'no internal', 'no your', 'not require', 'not need', 'not request', 'not seek'),
      r"\bwithout\s{1,3}(?:the\s{1,3}|any\s{1,3}|a\s{1,3}|our\s{1,3}|your\s{1,3})?(?:usual\s{1,3}|normal\s{1,3}|standard\s{1,3}|regular\s{1,3}|formal\s{1,3}|customary\s{1,3})"
      r"(?:[\w-]{1,20}\s{1,3}){0,2}?(?:checks?|controls?|approvals?|verification|review|sign-?off|callback|call-?back|po|purchase\s{1,3}order|goods\s{1,3}receipt|grn|requisition|paperwork|matching)\b"
      r"(?![^.!?\n]{0,40}\b(?:cannot|can't|can\s{1,3}not|will\s{1,3}not|won't|may\s{1,3}not|must\s{1,3}not|are\s{1,3}not|is\s{1,3}not|(?:will\s{1,3})?(?:be|are|get)\s{1,3}(?:returned|rejected|refused|declined|sent\s{1,3}back|blocked|held))\b)"
      r"|(?<!\bnot\s)(?<!n't\s)(?<!never\s)\b(?:process|pay|book|post|release|handle|approve|enter|put|run|treat)\w{0,3}\s{1,3}(?:(?:it|this|them|these|the\s{1,3}\w{1,20}|this\s{1,3}\w{1,20})\s{1,3})?outside\s{1,3}(?:of\s{1,3})?(?:the\s{1,3}|your\s{1,3})(?:[\w-]{1,20}\s{1,3}){0,2}?(?:log|workflow|approval\s{1,3}(?:process|flow|workflow|chain)|controls?|change-control|procurement\s{1,3}process|po\s{1,3}process|payment\s{1,3}run\s{1,3}controls)\b"
      r"|\b(?:post|approve|pay|release|schedule|book|enter)\w{0,3}\b[^.!?\n]{0,50}?\b(?:in\s{1,3}(?:one|a\s{1,3}single)\s{1,3}(?:step|go|pass)|all\s{1,3}at\s{1,3}once\s{1,3}without)\b"
      r"|\b(?:bypass\w{0,2}|skip\w{0,3}|waive\w{0,1}|avoid\w{0,3})\s{1,3}(?:the\s{1,3})?(?:standard\s{1,3}|usual\s{1,3})?(?:\d{1,2}[- ]day\s{1,3})?(?:cooling[- ]off|waiting|holding|hold)\s{1,3}period\b"
      r"|\b(?:flag\w{0,3}|duplicate|warning|alert|block\w{0,2}|hold|mismatch|exception)\b[^.!?\n]{0,60}?(?<!\bnot\s)(?<!n't\s)\b(?:just|simply|please|then)\s{1,3}(?:override|ignore|dismiss|clear|release|skip|bypass|untick|close)\s{1,3}(?:it|them|that|this)\b"
      r"|\b(?:approve|sign|release|authori[sz]e|pay)\w{0,3}\s{1,3}(?:it|this|them)\s{1,3}(?:off\s{1,3})?(?:under|in|with|using)\s{1,3}(?:my|his|her|their|(?-i:[A-Z][a-z]{1,20})'s)\s{1,3}(?:name|login|credentials|account|user\s{0,3}id)\b"
      r"|\b(?:if|when)\s{1,3}(?:it|the\s{1,3}system|the\s{1,3}form|anyone|they|someone)\s{1,3}asks?\s{1,3}(?:for\s{1,3})?(?:who|the)\s{1,3}(?:approv\w{1,4}|authori[sz]\w{1,4}|signed|approver)\b[^.!?\n]{0,30}?\b(?:put|enter|write|use|say|type|select)\b"
      r"|(?<!\bnot\s)(?<!n't\s)\bback-?dat\w{1,3}\s{1,3}(?:it|this|the\s{1,3}(?:payment|posting|entry|invoice)|them)\b"
      r"|\b(?:reuse|re-use|use|copy|apply|quote)\s{1,3}(?:last\s{1,3}(?:year|month|quarter|week)'s|the\s{1,3}(?:previous|prior|old|expired|earlier|last)|an?\s{1,3}(?:previous|prior|old|expired|earlier))\s{1,3}"
      r"(?:approval|requisition|sign-?off|authori[sz]ation|budget\s{1,3}approval)(?:\s{1,3}(?:reference|number|id|code))?\b"
      r"|\b(?:no\s{1,3}need|not\s{1,3}need|don't\s{1,3}need|do\s{1,3}not\s{1,3}need|needn't)\s{1,3}(?:to\s{1,3})?(?:update|change|amend)\s{1,3}(?:anything|it|the\s{1,3}(?:record|system|computer|file|details)|your\s{1,3}(?:record|system|file|details)|in\s{1,3}the\s{1,3}(?:computer|system))\b"
      r"[^.!?\n]{0,40}?\b(?:(?:just|only)\s{1,3}(?:use|pay)\b|(?:just|only)\s{1,3}this\s{1,3}(?:once|time)|this\s{1,3}once|one-?off)"
      r"|\b(?:without|rather\s{1,3}than|instead\s{1,3}of)\s{1,3}(?:creating|raising|entering|booking)\s{1,3}(?:a\s{1,3}|the\s{1,3})?(?:payable|ledger\s{1,3}entry|invoice\s{1,3}record)\b"
      r"|\bno\s{1,3}(?:buyer|approver|manager|internal|your)\s{1,3}(?:confirmation|authori[sz]ation|approval|sign-?off)\s{1,3}(?:is\s{1,3})?(?:needed|required|necessary)\b"
      r"|\b(?:shall|should|must|will|need)\s{1,3}not\s{1,3}(?:require|need|request|seek)\s{1,3}(?:any\s{1,3}|a\s{1,3})?(?:telephone\s{1,3}|phone\s{1,3}|verbal\s{1,3}|further\s{1,3}|other\s{1,3}|or\s{1,3}){0,4}(?:confirmation|verification|callback|approval)\b",
      finance=0.75, bank_change=0.75)
# Kept from the people who would look, in plain words: "so your auditors are not pulled in", "I don't want this on anyone's report".
_rule("kept_from_oversight", "secrecy", 0.6, 0.3, None,
      r"\bso\s{1,3}(?:that\s{1,3})?(?:your\s{1,3}|the\s{1,3})?(?:auditors?|approvers?|controllers?|managers?|compliance|audit|finance\s{1,3}director|cfo|budget\s{1,3}holders?|boss)\s{1,3}"
      r"(?:(?:are|is|do|does|will)\s{1,3}not|won't|don't|doesn't|aren't|isn't)\s{1,3}(?:pulled\s{1,3}in|involved|notified|see|notice|know|ask|get\s{1,3}involved|find\s{1,3}out)\b"
      r"|\b(?:don't|do\s{1,3}not|wouldn't|would\s{1,3}rather\s{1,3}not)\s{1,3}want\s{1,3}(?:this|it|that)\s{1,3}(?:on|in)\s{1,3}(?:anyone's|any|the|your)\s{1,3}(?:\w{1,20}\s{1,3})?(?:report|books|log|list|summary)\b"
      r"|\b(?:discrètement|discretamente|discrètement|stillschweigend|in\s{1,3}aller\s{1,3}stille|silenziosamente|in\s{1,3}stilte|po\s{1,3}cichu|i\s{1,3}tysthet|en\s{1,3}silencio|sans\s{1,3}bruit)\b",
      finance=0.75, bank_change=0.75)
# Permission relayed: "we sorted it with your office", "cleared it with your director"; told the buyer's manager (a second sign).
_rule("relayed_permission", "relayed", 0.5, 0.1, None,
      r"\b(?:cleared|squared|okayed|ok'?d)\s{1,3}(?:it|this|that|everything|all\s{1,3}this)\s{1,3}(?:with|by)\s{1,3}(?:your|the\s{1,3}customer's)\b",
      finance=0.7, bank_change=0.7)
_rule("told_your_people", "relayed_weak", 0.45, 0.1, None,
      r"\b(?:sorted|arranged|settled|agreed)\s{1,3}(?:it|this|that|everything|all\s{1,3}this)\s{1,3}(?:out\s{1,3})?with\s{1,3}your\b|\b(?:already|i've|i\s{1,3}have|we've|we\s{1,3}have)\s{1,3}(?:already\s{1,3})?(?:told|informed|spoken\s{1,3}to|spoke\s{1,3}to|let)\s{1,3}your\s{1,3}(?:\w{1,20}\s{1,3})?"
      r"(?:manager|director|boss|controller|cfo|ceo|treasur\w{1,4}|fd|buyer|office|head|approver|budget\s{1,3}holder)\b",
      finance=0.45, bank_change=0.45)
# The callback talked out of: "treasury doesn't need to call back".
_rule("callback_steering", "callback", 0.6, 0.2, None,
      r"\b(?:doesn't|does\s{1,3}not|don't|do\s{1,3}not|won't|will\s{1,3}not|needn't|no)\s{1,3}need\s{1,3}to\s{1,3}(?:call|ring|phone)\s{1,3}(?:us\s{1,3}|me\s{1,3}|them\s{1,3})?(?:back|to\s{1,3}(?:confirm|verify|check))\b",
      finance=0.6, bank_change=0.7)
# The callback talked out of in each language: "não é preciso ligar", "behöver inte ringa", "non c'è bisogno di richiamarci".
_rule("callback_steering_ml", "callback", 0.6, 0.2, None,
      r"\b(?:não\s{1,3}é\s{1,3}preciso|não\s{1,3}precisa\w{0,2}\s{1,3}de|no\s{1,3}hace\s{1,3}falta|no\s{1,3}es\s{1,3}necesario|no\s{1,3}necesita\w{0,2}|pas\s{1,3}besoin\s{1,3}de|inutile\s{1,3}de|"
      r"nicht\s{1,3}(?:nötig|notwendig|erforderlich)|non\s{1,3}serve|non\s{1,3}c'è\s{1,3}bisogno\s{1,3}di|niet\s{1,3}nodig\s{1,3}om|hoeft\s{1,3}(?:u\s{1,3}|je\s{1,3})?niet|nie\s{1,3}trzeba|nie\s{1,3}musi\w{1,4}|"
      r"behöver\s{1,3}(?:ni\s{1,3}|du\s{1,3})?inte|ingen\s{1,3}anledning\s{1,3}att)\s{1,3}(?:\w{1,12}\s{1,3}){0,2}?"
      r"(?:ligar\w{0,3}|telefonar\w{0,3}|llamar\w{0,4}|rappeler|appeler|anzurufen|zurückzurufen|anrufen|richiamar\w{0,4}|chiamar\w{0,4}|telefonare|(?:terug)?te\s{1,3}bellen|(?:terug)?bellen|"
      r"dzwonić|zadzwonić|oddzwaniać|oddzwonić|ringa\w{0,2})\b",
      finance=0.6, bank_change=0.7)
# Urgency in other languages, beside a payment (weak alone, as in English).
_rule("autonomy_pressure_ml", "control", 0.5, 0.3, ("dringend","eilig","sofort","umgehend","urgen","immédiatement","inmediat","subito","immediatamente",
                                                 "spoed","onmiddellijk","meteen","imediatamente","piln","natychmiast","brådskande","omedelbart","genast"),
      r"\b(?:dringend|eilig|sofort|umgehend|urgent\w{0,3}|urgence|immédiatement|urgente|de\s{1,3}inmediato|inmediatamente|subito|immediatamente|spoed|onmiddellijk|meteen|"
      r"imediatamente|pilne|pilnie|natychmiast|brådskande|omedelbart|genast)\b[^.!?\n]{0,40}?\b" + _ML_PAY + r"\b",
      finance=0.5, bank_change=0.5)

_rule("sensitive_data", "sensitive", 0.3, 0.1,
      ('password', 'credential', 'api', 'secret', 'private key', 'access token', 'ssn', 'social security', 'credit card', 'cvv', 'pin code', 'security question', 'login detail', 'passport', 'medical record', 'genetic data', 'health record', 'home address', 'browsing history'),
      r"\b(?:passwords?|credentials?|api[\s_-]?keys?|secret\s+keys?|private\s+keys?|access\s+tokens?|ssn|social\s+security\s+number|"
      r"credit\s+card\s+(?:number|details)|cvv|pin\s+code|security\s+questions?|login\s+details|passport\s+number|"
      r"medical\s+records|genetic\s+data|health\s+records|home\s+address|browsing\s+history)\b")
# Business data an outsider has no claim to; a vendor's own bank details are the subject of a bank-change request.
_rule("business_data", "sensitive", 0.3, 0.1,
      ('vendor', 'supplier', 'customer', 'payroll', 'bank details', 'ibans', 'card number'),
      r"\b(?:vendor\s+(?:master|list)|(?:supplier|customer|vendor)s?'?\s+(?:list|bank\s+(?:accounts?|details))|payroll|"
      r"bank\s+details|ibans\s+of|card\s+numbers?)\b", finance=0.0, bank_change=0.0)
_rule("business_data", "sensitive", 0.3, 0.1,
      ('vendor', 'supplier', 'customer', 'payroll', 'ibans', 'card number', 'bank details you'),
      r"\b(?:vendor\s+(?:master|list)|(?:supplier|customer|vendor)s?'?\s+(?:list|bank\s+(?:accounts?|details))|payroll|"
      r"bank\s+details\s+you\s+(?:hold|have|keep)|ibans\s+of|card\s+numbers?)\b", bank_change=0.05)
_rule("harmful_action", "action", 0.3, 0.05,
      ('account', 'access', 'fund', 'money', 'payment', 'password', 'door', 'lock', 'data', 'file', 'email', 'record', 'repositor', 'polic', 'setting', 'device', 'channel', 'profile', 'calendar', 'order', 'stock', 'share', 'crypto', 'bitcoin', 'prescription', 'medication', 'traffic', 'security', 'permission', 'vendor', 'iban', 'bank', 'contact', 'location', 'address', 'home'),
      r"(?:^|[.!?\n]\s{0,8}|[:,'\"]\s{0,8})(?:please\s+|kindly\s+|now\s+|immediately\s+)?"
      r"(?:grant|transfer|wire|withdraw|delete|erase|disable|unlock|revoke|deactivate|cancel|sell|buy|purchase|invite|"
      r"add|remove|move|reset|change|update|schedule|book|share|send|email|forward|leave|turn\s+off|open|close|release|"
      r"reroute|redirect|pay|deposit|install|download|post|publish|set|modify|block|unblock|approve|authori[sz]e)\b"
      rf"{_W}{{0,60}}?\b(?:my|your|the|all|this|our|their|his|her)\b"
      r"(?=[^.!?\n]{0,60}?\b(?:account|access|funds?|money|payment|password|door|lock|data|files?|emails?|records?|"
      r"repository|repositories|policy|settings|devices?|channel|profile|calendar|orders?|stocks?|shares|crypto|bitcoin|"
      r"prescriptions?|medication|traffic|security|permissions?|vendor|iban|bank|contacts?|location|address|home)\b)",
      _I | re.M, bank_change=0.1)

# A command written as the principal ("transfer ... from my account", "unlock my door")
# has no business inside a data field: data describes, it does not act for the user.
_rule("principal_command", "principal", 0.6, 0.0,
      ('my', 'me', 'mine', "i'm", 'i am', "i'd", 'i have', "i've"),
      r"(?:^|[.!?\n;]\s{0,8}|[:'\"(]\s{0,8}|,\s{0,8}(?=(?-i:Please|Kindly|[A-Z][a-z]+\s)))(?:(?:please|kindly|now|immediately|also|then)\s{1,3}){0,3}(?:could\s+you\s+|can\s+you\s+)?"
      r"(?:grant|transfer|wire|withdraw|delete|erase|disable|unlock|revoke|deactivate|cancel|sell|buy|purchase|invite|"
      r"add|remove|move|reset|change|update|schedule|book|share|send|e-?mail|forward|leave|turn\s+off|open|release|"
      r"reroute|redirect|pay|deposit|install|download|post|publish|modify|block|unblock|initiate|dispatch|give|"
      r"retrieve|get|fetch|list|find|use|guide|create|make|set\s+up|order|apply|request)\b"
      r"[^.!?\n]{0,100}?\b(?:my|me|mine|I'm|I\s+am|I'd|I\s+have|I've)\b", _I | re.M, finance=0.3, bank_change=0.3)
_rule("collect_and_send", "exfil_chain", 0.55, 0.2,
      ('send', 'mail', 'forward', 'post', 'share', 'upload', 'transmit', 'text', 'message'),
      r"\b(?:get|retrieve|retrive|fetch|list|find|collect|gather|read|search|access|extract|concatenate|compile|look\s+up|download)\b"
      r"[^.!?\n]{0,120}?\b(?:and|then|,)\s+(?:then\s+)?(?:also\s+)?"
      r"(?:send|e-?mail|forward|post|share|upload|transmit|text|message)\b")
_rule("autonomy_pressure", "control", 0.5, 0.3,
      ('without', 'as much', 'as many', 'increments', 'urgent', 'immediately', 'right now', 'asap'),
      r"\bwithout\s+(?:asking|confirmation|confirming|checking\s+with|consulting|waiting\s+for)\b"
      r"|\b(?:as\s+much|as\s+many)\s+(?:money|funds|as\s+possible)\b|\bin\s+small\s+increments\b"
      r"|\b(?:urgent(?:ly)?|(?<!\beffective\s)immediately|right\s+now|asap)\b[^.!?\n]{0,40}?\b(?:transfer|wire|send|pay|approve|release)\b")
_rule("pay_to_account", "payment", 0.45, 0.2,
      None,
      r"\b(?:pay|transfer|send|wire|remit|move|deposit|transaction|payment)\b[^.!?\n]{0,60}?\bto\b[^.!?\n]{0,30}?"
      r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]){10,30}\b", bank_change=0.1)

# -- requests placed where data belongs ------------------------------------------------
# InjecAgent and AgentDojo attacks are plain requests ("Please transfer $500 to account X",
# "Send the password to …"). In a user's prompt that is normal; inside a review, a note, an
# email body or a tool's result it is text asking the reader — the agent — to act. A request
# alone weighs 0.55 (below the default threshold): it takes a second sign — an external
# recipient, the principal ("my account"), a named system, an exact target, a chain of steps.
# The start of a sentence, a list item or a quoted value; or a capitalised request after a comma.
_OPEN = r"(?:^|[.!?\n\r;:\"'(\[{>]\s{0,8}|\s[-*•]\s{1,8}|\s{2,8}|,\s{0,8}(?=(?-i:Please|Kindly|Can|Could|[A-Z][a-z]+\s)))"
_POLITE = (r"(?:(?:please|kindly|now|also|then|first|next|finally|immediately|urgently|quietly|silently|discreetly|and)[,\s]\s{0,3}){0,3}"
           r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+|kindly\s+)?|i\s+(?:need|want|would\s+like)\s+you\s+to\s+"
           r"|you\s+(?:must|should|need\s+to|have\s+to|are\s+(?:required|asked)\s+to)\s+|make\s+sure\s+(?:to|you)\s+"
           r"|it\s+is\s+(?:required|necessary)\s+to\s+)?")
_ACT_VERBS = (r"grant|revoke|withdraw|delete|erase|disable|enable|unlock|lock|deactivate|activate|cancel|sell|buy|"
              r"purchase|invite|add|remove|move|reset|change|update|schedule|reschedule|book|share|send|e-?mail|"
              r"forward|post|publish|tweet|install|uninstall|download|upload|give|guide|create|make|set|modify|block|"
              r"unblock|approve|authori[sz]e|initiate|dispatch|retrieve|get|fetch|list|find|access|concatenate|"
              r"compile|export|redirect|reroute|turn|open|close|release|order|apply|submit|mark|replace|copy|save|"
              r"rename|kick|ban|follow|unfollow|invest|trade|start|stop|increase|decrease|adjust|provide|tell|"
              r"insert|navigate|visit|leave|join|assign|refund|subscribe|unsubscribe|say|"
              r"reply|respond|notify|contact|call|text|message|sign|accept|decline|print|run|execute|drop|check")
# The verbs as plain words, for the keyword prefilter ("e-?mail" -> "mail", "authori[sz]e" -> "authori").
_ACT_WORDS = tuple(sorted({re.sub(r"\[sz\]e$", "", v.replace("e-?", "").replace("\\s+", " "))
                          for v in _ACT_VERBS.split("|")}))
_PAY_VERBS = r"pay|transfer|wire|remit|deposit|send\s+(?:a\s+)?(?:payment|money|funds|the\s+amount)|settle"
_rule("request_in_data", "request", 0.55, 0.0,
      _ACT_WORDS,
      rf"{_OPEN}{_POLITE}(?:{_ACT_VERBS})\b(?![\"':_-]|(?:\s{{1,3}}\w{{1,20}})?\s{{0,2}}:\s{{0,3}}(?:\[|_{{2}}|yes\b|no\b)|\s+(?:here|us\b|of\b|management\b|requests?\b|forms?\b|notices?\b|history\b|log\b|attached|enclosed|herewith|to\s+learn|more|up\s+to|(?-i:[A-Z]{{3,}})\b|\d{{1,3}}\s*(?:%|percent)))", _I | re.M,
      finance=0.5, bank_change=0.5)
_rule("pay_request_in_data", "pay_request", 0.55, 0.0,
      ('pay', 'transfer', 'wire', 'remit', 'deposit', 'send', 'settle'),
      rf"{_OPEN}{_POLITE}(?:{_PAY_VERBS})\b(?!\s+to\s*:)[^.!?\n]{{0,80}}?\b(?:to|into)\b", _I | re.M,
      finance=0.1, bank_change=0.1)
_rule("external_recipient", "recipient", 0.35, 0.0,
      None,
      r"\b[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,4}\b|\bhttps?://|\bwww\.[\w-]{1,63}\.|"
      r"\b[\w-]{2,63}\.(?:com|net|org|io|co|info|biz|xyz|ru|cn)/[\w/-]{0,60}|"
      r"\b(?:account|acct)\s*\(?\s*(?:number|no\.?|#)?\s*:?\s*(?:[A-Z]{2}\d{2}[A-Z0-9]{8,30}|\d[\d -]{6,24}\d)\b|"
      r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,3})?\b|(?<!\w)\+?\d{1,3}[\s.-]?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}\b",
      _I, finance=0.15, bank_change=0.05)
_rule("named_target", "target", 0.35, 0.0,
      None,
      r"\b(?:in|on|from|to|via|using|within|into|at)\s+(?:the\s+|my\s+|our\s+|your\s+)?(?:[A-Z][\w&.'-]{1,30}\s{1,3}){1,3}"
      r"(?:system|account|app|platform|workspace|portal|repository|drive|calendar|channel|folder|server|website|"
      r"page|profile|wallet|database|group)s?\b|\(\s*(?:ID|id)\b[\s:#]{0,3}[\w-]{1,40}\s*\)|"
      r"\bwith\s+the\s+(?:subject|id|ID|title|name|email|body|content|description)\s+['\"]|"
      r"\b(?:id|ID|Id)\s*[:#]?\s*['\"]?[A-Za-z_-]{0,20}\d[\w-]{0,30}['\"]?|"
      r"\b(?:to|named|titled|called|as)\s+['\"][^'\"\n]{1,80}['\"]|:\s*\[\s*['\"]",
      0, finance=0.25, bank_change=0.25)
_rule("chained_request", "chain", 0.35, 0.0,
      ('then', 'after that', 'afterwards', 'once', 'and'),
      rf"(?:\b(?:and\s+)?then\b|\bafter\s+that\b|\bafterwards\b|\bonce\s+(?:done|finished|you\s+have)\b|,\s*and\b)[,\s]+"
      rf"(?:also\s+)?(?:{_ACT_VERBS})\b", _I, finance=0.3, bank_change=0.3)

# A text written as a bill (an invoice, an amount due): asking to be paid is what it is for.
_BILL = re.compile(r"\b(?:invoice|bill|amount\s+due|total\s+due|balance\s+due|due\s+date|payable\s+(?:by|within))\b"
                   r"|\b(?:total|subtotal|amount)\b[\s:]{1,12}(?:[A-Z]{3}\s?|[$€£]\s?)?\d[\d,]{0,12}\.\d\d\b", _I)
# What vendors ask to be sent, and where: routine in a memo, an email or a bank-change request.
_ROUTINE_KINDS = ("exfil", "recipient", "request", "action")
_ROUTINE = re.compile(r"\b(?:remittance(?:\s+advice)?|payment\s+(?:confirmation|advice)|proof\s+of\s+payment|"
                      r"receipts?|statements?|questions|queries|confirmation|(?:our|my)\s+(?:bank|account|remittance|payment|banking)\s+(?:details|information|account)|"
                      r"(?:unsere|nos|nuestros|nuestra|i\s+nostri|le\s+nostre|onze|os\s+nossos|a\s+nossa|nasze|våra)\s+(?:bankverbindung|kontoverbindung|bankdaten|coordonnées\s+bancaires|datos\s+bancarios|cuenta\s+bancaria|dati\s+bancari|coordinate\s+bancarie|bankgegevens|dados\s+bancários|conta\s+bancária|dane\s+bankowe|bankuppgifter)|the\s+(?:signed|updated)\s+(?:form|letter)|"
                      r"w-?9|tax\s+form|update\s+your\s+(?:records|files|address\s+book|contact\s+details)|purchase\s+orders?|po\s+number|(?:the\s+)?(?:signed|countersigned|completed)\s+(?:\w+\s+)?(?:form|letter|contract|agreement|quote|quotation|order|copy|document|note)s?|"
                      r"contracts?|agreements?|quotations?|certificates?|delivery\s+notes?|"
                      r"(?:send|e-?mail|forward|address)\s+(?:(?:the|our|your|all|future|new)\s+)?invoices?\s+to)\b", _I)

# A vendor's warning about fraud ("we will never ask you to change our bank details by email") names the
# very actions it warns against: in its sentence, only override, role and address signals count.
_WARNING = re.compile(r"\b(?:we|our\s+\w+)\s+(?:will\s+)?never\s+(?:ask|request|send|change|contact)\b|\bwill\s+never\s+(?:ask|request|notify|contact|change|send)\b"
                      r"|\b(?:fraudulent|fake|spoofed|phishing)\s+(?:e-?mails?|requests?|letters?|messages?|calls?|invoices?)\b|\btreat\s+(?:it|them|this)\s+as\s+(?:fraud\w*|suspicious|a\s+scam)\b"
                      r"|\b(?:any|a)\s+(?:\w+\s+)?(?:request|e-?mail|letter|message|call)s?\s+(?:claiming|that\s+claims|purporting)\b"
                      r"|\bif\s+(?:a|an|any|the)\s+(?:\w+\s+)?(?:request|e-?mail|letter|message|call|invoice)\s+(?:is|asks|claims|says|tells|requests|arrives)\b"
                      r"|\b(?:cannot|can't|will\s+not|won't|do\s+not|don't|never)\s+(?:process|accept|act\s+on)\s+(?:such\s+|any\s+)?(?:\w+\s+)?(?:changes|requests)\b"
                      r"|\bif\s+you\s+(?:ever\s+)?receive\s+(?:such|a|any)\s+(?:request|e-?mail|message)\b"
                      r"|\b(?:please\s+)?(?:never|do\s+not|don't)\s+(?:pay|change|update|act|amend)\b[^.!?\n]{0,60}?\bwithout\s+(?:first\s+)?(?:calling|confirming|verifying|checking|speaking)\b"
                      r"|\bne\s+(?:vous\s+)?(?:demanderons|demandons|demanderont)\s+jamais\b|\b(?:werden|würden)\s+(?:Sie|Ihnen)\s+(?:nie|niemals)\b|\b(?:nie|niemals)\s+bitten\b"
                      r"|\bnunca\s+(?:le|les|lhe|vos)\s+(?:pediremos|pedimos|pedirá|solicitaremos|solicitamos)\b|\bnon\s+vi\s+(?:chiederemo|chiediamo)\s+mai\b"
                      r"|\b(?:zullen|vragen)\s+(?:u|wij\s+u|we\s+u)\s+nooit\b|\bnigdy\s+nie\s+(?:prosimy|poprosimy|prosi)\b", _I)
_WARNING_KEEPS = ("override", "role", "address", "markup", "output")

# Phrases that keep an ordinary finance request ordinary: paying to the account on file.
_BENIGN = re.compile(r"\b(?:account|bank\s+details|details|iban)\s+(?:on\s+file|we\s+have\s+on\s+file|as\s+usual|unchanged)\b"
                     r"|\b(?:bank(?:ing)?\s+(?:details|account|information)|iban|account\s+details)\b[^.!?\n]{0,40}?\b(?:are|is|remain|stay|will\s+remain|will\s+stay)\s+(?:\w{1,12}\s+)?(?:unchanged|the\s+same|not\s+chang\w+)\b"
                     r"|\b(?:phone\s+)?number\s+you\s+(?:already\s+)?(?:hold|have)(?:\s+on\s+file|\s+for\s+us)?\b(?![^.!?\n]{0,40}\b(?:outdated|no\s+longer|wrong|old)\b)", _I)

_WS_RUN = re.compile(r"\s\s\s")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"), None)
_FOLDED = re.compile("[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeffаеорсхуіјѕАВЕКМНОРСТХοαεΙΟΑ]")
_HOMOGLYPHS = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j", "ѕ": "s",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X",
    "ο": "o", "α": "a", "ε": "e", "Ι": "I", "Ο": "O", "Α": "A",
})


def _normalise(text: str) -> tuple[str, list[int] | None]:
    """A copy of ``text`` to match against, and the map from its offsets back to ``text``'s (None = identical).

    Besides folding look-alike characters, whitespace runs are cut to two characters: a rule may
    start a match at any whitespace, and a long run would otherwise be re-read from each of its
    positions (the cost of a scan per character stays bounded whatever the text)."""
    if (text.isascii() or (_FOLDED.search(text) is None and unicodedata.is_normalized("NFKC", text))) \
            and _WS_RUN.search(text) is None:
        return text, None
    out: list[str] = []
    origin: list[int] = []
    spaces = 0
    for i, ch in enumerate(text):
        if ord(ch) >= 128:
            ch = ch.translate(_ZERO_WIDTH)
            if not ch:
                continue
            ch = unicodedata.normalize("NFKC", ch.translate(_HOMOGLYPHS))
        for c in ch:
            if c.isspace():
                spaces += 1
                if spaces > 2:
                    continue
            else:
                spaces = 0
            out.append(c)
            origin.append(i)
    origin.append(len(text))
    return "".join(out), origin


def _window(text: str) -> tuple[str, int, str, int]:
    if len(text) <= MAX_SCAN_CHARS:
        return text, 0, "", 0
    half = MAX_SCAN_CHARS // 2
    return text[:half], 0, text[-half:], len(text) - half


_LEAD = frozenset(".!?\n\r;:'\"([{>*\u2022-, \t")


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence around ``text[start:end]`` (at most 200 characters either side)."""
    while start < end and text[start] in _LEAD:
        start += 1  # a match may begin with the end of the sentence before
    lo = max(0, start - 200)
    cut = max(text.rfind(".", lo, start), text.rfind("!", lo, start), text.rfind("?", lo, start),
              text.rfind("\n", lo, start))
    if cut >= 0:
        lo = cut + 1
    hi = min(len(text), end + 200)
    stops = [i for i in (text.find(".", end, hi), text.find("!", end, hi), text.find("?", end, hi),
                         text.find("\n", end, hi)) if i >= 0]
    return text[lo:min(stops) if stops else hi]


def _rule_matches(norm: str, profile: str, best: Mapping[str, Signal] | None = None) -> Iterator[tuple[str, str, float, re.Match]]:
    """Each rule that fires on the normalised text ``norm``: ``(name, kind, weight, match)``.

    The rules' skip conditions live here and only here: payment wording beside a bill or the
    account on file weighs less; a rule weighing 0 in ``profile`` is not run; in a finance or
    user text a routine request ("send the remittance advice to ap@…") does not fire an exfil,
    recipient, request or action rule; a sentence warning that "we will never ask you to change
    bank details" fires only the kinds in ``_WARNING_KEEPS``.

    With ``best`` (the strongest signal per kind found so far, read afresh at each rule while the
    caller fills it in), a rule that cannot beat its kind's signal is not run: the scorer's short
    cut. Without it every rule that fires is yielded (``benchmarks/calibrate_injection_by_author.py``
    learns from them); the strongest per kind is the same either way (tested).
    """
    # Paying the account on file, or a bill asking to be paid, is the ordinary case of payment wording.
    ordinary_payment = _BENIGN.search(norm) is not None or _BILL.search(norm) is not None
    words = " ".join(norm.lower().split())
    for name, kind, weights, needs, pattern in _RULES:
        w = weights[profile]
        if ordinary_payment and kind in ("payment", "bank", "pay_request"):
            w *= 0.3
        if w <= 0:
            continue
        if best is not None:
            current = best.get(kind)
            if current is not None and current.weight >= w:
                continue
        if needs is not None and _PREFILTER and not any(word in words for word in needs):
            continue
        match = pattern.search(norm)
        if match is None:
            continue
        if profile != "data" and kind in _ROUTINE_KINDS and _ROUTINE.search(_sentence(norm, *match.span())):
            continue  # "send the remittance advice to ap@…" is how vendors talk
        if kind not in _WARNING_KEEPS and _WARNING.search(_sentence(norm, *match.span())):
            continue
        yield name, kind, w, match


def _scan(text: str, offset: int, original: str, profile: str, best: dict[str, Signal]) -> None:
    norm, origin = _normalise(text)
    for name, kind, w, match in _rule_matches(norm, profile, best):
        start, end = match.span()
        while start < end - 1 and norm[start] in _LEAD:
            start += 1  # the evidence is the instruction, not the punctuation before it
        if origin is not None:
            start, end = origin[start], origin[end] if end < len(origin) else len(text)
        start += offset
        end += offset
        lo = max(0, start - 8)
        excerpt = _excerpt(original, lo, min(len(original), max(end, lo + 1), lo + _EXCERPT))
        best[kind] = Signal(name, kind, start, end, round(w, 3), excerpt)


# A code: an IBAN, a card or phone number, an id (capitals and digits, in groups).
_CODE = re.compile(r"[+A-Z0-9](?:[A-Z0-9]|[ ./-](?=[A-Z0-9])){5,}")


def _excerpt(original: str, lo: int, hi: int) -> str:
    """``original[lo:hi]``, widened (by at most ``_EXCERPT`` characters each side) so that it
    does not cut through a code. The excerpt is redacted before it is stored (a run receipt quotes
    it); a cut IBAN or card number fails its checksum, is not recognised, and its digits would
    be kept."""
    for match in _CODE.finditer(original, max(0, lo - _EXCERPT), min(len(original), hi + _EXCERPT)):
        start, end = match.span()
        if start < lo < end:
            lo = start
        if start < hi < end:
            hi = end
    return original[lo:hi]


def _unscanned(text: str) -> bool:
    """True for a text no rule is run on: empty, blank, or a short run without two words in it."""
    if not text or text.isspace():
        return True
    # An identifier ("RE-2025-00017", "PO4500123") cannot carry an instruction: it takes words.
    return len(text) <= _SHORT and _TWO_WORDS.search(text) is None


def score_text(text: str, *, context: str = "data") -> InjectionScore:
    """Score ``text`` for prompt injection where it sits (one of ``CONTEXTS``).

    ``data`` / ``tool_output``: a record's field or a tool's result — nothing in it should ask
    for actions. ``invoice_memo`` / ``vendor_email``: payment wording is normal there, an
    instruction to the agent or a request to move data is not. ``bank_change_request``: new
    account details are its subject. ``user`` / ``user_prompt``: a person's own request.
    """
    if not isinstance(context, str) or context not in CONTEXTS:
        raise ValueError(f"context must be one of {', '.join(CONTEXTS)}, not {context!r}")
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if _unscanned(text):
        return InjectionScore(0.0, context=context)
    best: dict[str, Signal] = {}
    profile = PROFILES[context]
    head, head_at, tail, tail_at = _window(text)
    _scan(head, head_at, text, profile, best)
    if tail:
        _scan(tail, tail_at, text, profile, best)
    if not best:
        return InjectionScore(0.0, context=context)
    remaining = 1.0
    for signal in best.values():
        remaining *= 1.0 - signal.weight
    signals = tuple(sorted(best.values(), key=lambda s: (s.start, s.name)))
    return InjectionScore(round(1.0 - remaining, 4), signals, context=context)
