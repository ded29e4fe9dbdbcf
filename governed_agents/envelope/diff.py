"""What changed between two envelopes, in words a reviewer understands.

Each change carries a risk direction where one is meaningful: ``loosening``
(the agent may now do, spend or touch more, or with less oversight) or
``tightening``; ``None`` where the change has no direction (a model alias, a
description, transcript retention). Every difference in content is reported:
fields without a specific rule fall back to ``<path> changed a → b``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from governed_agents.envelope.loader import LoadedEnvelope
from governed_agents.envelope.model import PATTERNS, Envelope

Direction = Literal["loosening", "tightening"]

LOOSENING: Direction = "loosening"
TIGHTENING: Direction = "tightening"


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    message: str
    direction: Direction | None
    old: Any = None
    new: Any = None

    def __str__(self) -> str:
        return f"[{self.direction}] {self.message}" if self.direction else self.message

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "message": self.message, "direction": self.direction, "old": self.old, "new": self.new}


_MISSING = object()

# Upper limits: raising one lets the agent do or spend more.
_LIMITS = {
    "budgets.max_tokens_per_task": "max_tokens_per_task",
    "budgets.max_tool_calls": "max_tool_calls",
    "budgets.hard_cost_cap_usd": "hard_cost_cap_usd",
}
_OPTIONAL_CAPS = ("workflow_daily_usd", "workflow_monthly_usd", "user_daily_usd", "tenant_monthly_usd")
_SETS = {
    # path: (noun, direction when an item is added)
    "permissions.allowed_tools": ("tool", LOOSENING),
    "permissions.approval_roles": ("approval role", LOOSENING),
}


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _money(value: Any) -> str:
    number = _number(value)
    if number is None:
        return str(value)
    try:
        if number.as_tuple().exponent >= -2:  # type: ignore[operator]
            return str(number.quantize(Decimal("0.01")))
    except InvalidOperation:
        pass
    return str(number)


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, sub in value.items():
        path = f"{prefix}{key}"
        if path in ("permissions.bounds", "parameters.extra") and sub is None:
            sub = {}
        # Sections, bounds and extra parameters are compared entry by entry;
        # deeper values (inside an extra parameter) are compared whole.
        if isinstance(sub, dict) and (not prefix or path in ("permissions.bounds", "parameters.extra")):
            out[path] = {}  # a marker so that an empty mapping still has a path
            out.update(_flatten(sub, path + "."))
        else:
            out[path] = sub
    return out


def _raised_lowered(path: str, name: str, old: Any, new: Any, up: Direction | None, fmt=_show) -> Change:
    a, b = _number(old), _number(new)
    if a is None or b is None or a == b:
        return Change(path, f"{name} changed {fmt(old)} → {fmt(new)}", None, old, new)
    raised = b > a
    direction = None if up is None else (up if raised else (TIGHTENING if up == LOOSENING else LOOSENING))
    return Change(path, f"{name} {'raised' if raised else 'lowered'} {fmt(old)} → {fmt(new)}", direction, old, new)


def _change(path: str, old: Any, new: Any) -> list[Change]:
    leaf = path.rsplit(".", 1)[-1]
    if path in _SETS:
        noun, added_direction = _SETS[path]
        removed_direction = TIGHTENING if added_direction == LOOSENING else LOOSENING
        before, after = list(old or []), list(new or [])
        changes = [Change(path, f"{noun} added: {item}", added_direction, None, item) for item in after if item not in before]
        changes += [Change(path, f"{noun} removed: {item}", removed_direction, item, None) for item in before if item not in after]
        if not changes:
            changes = [Change(path, f"{noun}s reordered", None, old, new)]
        return changes
    if path == "safety.require_citations_for":
        before, after = list(old or []), list(new or [])
        changes = [Change(path, f"citations now required for: {t}", TIGHTENING, None, t) for t in after if t not in before]
        changes += [Change(path, f"citations no longer required for: {t}", LOOSENING, t, None) for t in before if t not in after]
        return changes or [Change(path, "citation topics reordered", None, old, new)]
    if path == "version":
        return [Change(path, f"version {_show(old)} → {_show(new)}", None, old, new)]
    if path == "workflow":
        return [Change(path, f"workflow renamed {_show(old)} → {_show(new)}", None, old, new)]
    if path == "description":
        return [Change(path, "description changed", None, old, new)]
    if path == "pattern":
        try:
            more = PATTERNS.index(new) > PATTERNS.index(old)
        except ValueError:
            return [Change(path, f"pattern changed {old} → {new}", None, old, new)]
        words = "more autonomy" if more else "less autonomy"
        return [Change(path, f"pattern changed {old} → {new} ({words})", LOOSENING if more else TIGHTENING, old, new)]
    if path.startswith("models."):
        return [Change(path, f"model tier {leaf} changed {_show(old)} → {_show(new)}", None, old, new)]
    if path in _LIMITS:
        fmt = _money if leaf.endswith("_usd") else _show
        return [_raised_lowered(path, leaf, old, new, LOOSENING, fmt)]
    if path.startswith("budgets.") and leaf in _OPTIONAL_CAPS:
        if old is None:
            return [Change(path, f"{leaf} cap set: {_money(new)}", TIGHTENING, old, new)]
        if new is None:
            return [Change(path, f"{leaf} cap removed (was {_money(old)})", LOOSENING, old, new)]
        return [_raised_lowered(path, leaf, old, new, LOOSENING, _money)]
    if path == "budgets.downgrade_at_fraction":
        return [Change(path, f"downgrade thresholds changed {_show(old)} → {_show(new)}", None, old, new)]
    if path == "permissions.write_actions_require_approval":
        if new:
            return [Change(path, "write actions now require approval", TIGHTENING, old, new)]
        return [Change(path, "write actions no longer require approval", LOOSENING, old, new)]
    if path == "permissions.min_approvals":
        return [_raised_lowered(path, "min_approvals", old, new, TIGHTENING)]
    if path == "permissions.approval_expiry_hours":
        return [_raised_lowered(path, "approval_expiry_hours", old, new, LOOSENING)]
    if path.startswith("permissions.bounds."):
        if old is _MISSING:
            return [Change(path, f"bound added: {leaf} = {_show(new)}", TIGHTENING, None, new)]
        if new is _MISSING:
            return [Change(path, f"bound removed: {leaf} (was {_show(old)})", LOOSENING, old, None)]
        return [_raised_lowered(path, f"bound {leaf}", old, new, LOOSENING)]
    if path == "permissions.autonomous_writes":
        return _autonomous_writes_changes(path, old or [], new or [])
    if path == "logging.redact_pii":
        if new:
            return [Change(path, "PII redaction turned on", TIGHTENING, old, new)]
        return [Change(path, "PII redaction turned off", LOOSENING, old, new)]
    if path == "logging.store_transcripts_days":
        return [Change(path, f"transcript retention changed {_show(old)} → {_show(new)} days", None, old, new)]
    if path == "safety.block_on_prompt_injection_score_gte":
        a, b = _number(old), _number(new)
        if a is not None and b is not None and a != b:
            looser = b > a  # a higher threshold blocks fewer inputs
            word = "loosened" if looser else "tightened"
            return [Change(path, f"prompt-injection threshold {word} {old} → {new}", LOOSENING if looser else TIGHTENING, old, new)]
    if path in ("parameters.price_tolerance_pct", "parameters.amount_tolerance"):
        return [_raised_lowered(path, leaf, old, new, LOOSENING)]
    if path.startswith("parameters.extra."):
        name = path[len("parameters.extra.") :]
        if old is _MISSING:
            return [Change(path, f"parameter added: {name} = {_show(new)}", None, None, new)]
        if new is _MISSING:
            return [Change(path, f"parameter removed: {name} (was {_show(old)})", None, old, None)]
        return [Change(path, f"parameter {name} changed {_show(old)} → {_show(new)}", None, old, new)]
    shown_old = "(absent)" if old is _MISSING else _show(old)
    shown_new = "(absent)" if new is _MISSING else _show(new)
    return [
        Change(path, f"{path} changed {shown_old} → {shown_new}", None, None if old is _MISSING else old, None if new is _MISSING else new)
    ]


def _autonomous_writes_changes(path: str, old: list[dict], new: list[dict]) -> list[Change]:
    """Writes without approval: more of them, or wider bounds, is a loosening."""
    before = {w["tool"]: w for w in old}
    after = {w["tool"]: w for w in new}
    changes = [Change(path, f"autonomous write added: {t} (runs without approval inside its bounds)",
                      LOOSENING, None, after[t]) for t in after if t not in before]
    changes += [Change(path, f"autonomous write removed: {t} (every write needs approval again)",
                       TIGHTENING, before[t], None) for t in before if t not in after]
    for tool in (t for t in after if t in before):
        limits_a = {(x["window"], x["per"]): x["max"] for x in before[tool]["limits"]}
        limits_b = {(x["window"], x["per"]): x["max"] for x in after[tool]["limits"]}
        for key in list(limits_a) + [k for k in limits_b if k not in limits_a]:
            name = f"{tool} per {key[0]}" + (f" per {key[1]}" if key[1] else "")
            if key not in limits_b:
                changes.append(Change(path, f"bound removed: {name} (was {limits_a[key]})", LOOSENING,
                                      limits_a[key], None))
            elif key not in limits_a:
                changes.append(Change(path, f"bound added: {name} = {limits_b[key]}", TIGHTENING, None, limits_b[key]))
            elif limits_a[key] != limits_b[key]:
                changes.append(_raised_lowered(path, f"bound {name}", limits_a[key], limits_b[key], LOOSENING))
        above_a, above_b = before[tool]["approval_above"], after[tool]["approval_above"]
        if above_a != above_b:
            if above_b is None:
                changes.append(Change(path, f"{tool}: approval above an amount removed", LOOSENING, above_a, None))
            elif above_a is None:
                changes.append(Change(path, f"{tool}: approval above {above_b['value']} set", TIGHTENING, None, above_b))
            else:
                changes.append(_raised_lowered(path, f"{tool} approval_above", above_a["value"], above_b["value"],
                                               LOOSENING))
    return changes or [Change(path, "autonomous writes reordered", None, old, new)]


def _envelope(value: Envelope | LoadedEnvelope) -> Envelope:
    return value.envelope if isinstance(value, LoadedEnvelope) else value


def diff_envelopes(old: Envelope | LoadedEnvelope, new: Envelope | LoadedEnvelope) -> list[Change]:
    """Every change from ``old`` to ``new``, in the envelope's field order."""
    before = _flatten(_envelope(old).model_dump(mode="json"))
    after = _flatten(_envelope(new).model_dump(mode="json"))
    paths = list(before) + [p for p in after if p not in before]
    changes: list[Change] = []
    for path in paths:
        a, b = before.get(path, _MISSING), after.get(path, _MISSING)
        if a == b and type(a) is type(b):
            continue
        if isinstance(a, dict) and isinstance(b, dict) and not a and not b:
            continue  # a section marker; its entries are compared one by one
        changes.extend(_change(path, a, b))
    return changes
