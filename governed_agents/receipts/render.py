"""Receipts for people: Markdown (CLI, admin panel, Dagster metadata) and a one-line summary.

Receipt text can come from tools and models (change descriptions, reasons,
notes), so everything interpolated is escaped: it renders as the text it is,
never as a link, an image, HTML or a broken table.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from governed_agents.canonical import canonical_json

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from governed_agents.receipts.model import Receipt
    from governed_agents.receipts.signing import SignedReceipt

KIND_TITLES = {
    "write_executed": "write executed",
    "write_refused": "write refused",
    "write_rejected": "write rejected",
    "write_expired": "write expired (approval timed out)",
    "write_failed": "write failed (transient errors, attempts ran out)",
    "run": "run",
}

_SPECIAL = re.compile(r"([\\`*_\[\]<>|!#~])")
_WS = re.compile(r"\s+")


def _text(value: Any) -> str:
    """Free text, escaped for Markdown and flattened to one line (safe in a table cell)."""
    if value is None:
        return "—"
    return _SPECIAL.sub(r"\\\1", _WS.sub(" ", str(value)).strip()) or "—"


def _code(value: Any) -> str:
    """An identifier in a code span; pipes escaped because GFM splits table cells on them."""
    if value is None or value == "":
        return "—"
    text = _WS.sub(" ", str(value)).replace("`", "'").replace("|", "\\|")
    return f"`{text}`"


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return _text(value) if value else '""'
    return _code(canonical_json(value))


def _when(value: Any) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _money(receipt: Receipt) -> str:
    return f"${receipt.cost_usd}"


def render_markdown(
    signed: SignedReceipt | Receipt,
    *,
    public_key: Ed25519PublicKey | None = None,
    verified: bool | None = None,
    verify_error: str | None = None,
) -> str:
    """The receipt as Markdown.

    The signature line says whether it verified: pass ``public_key`` to check it
    here, or ``verified``/``verify_error`` if the caller already checked;
    with neither it says "not checked".
    """
    from governed_agents.receipts.signing import SignedReceipt

    receipt = signed.receipt if isinstance(signed, SignedReceipt) else signed
    if isinstance(signed, SignedReceipt) and public_key is not None and verified is None:
        from governed_agents.errors import ReceiptInvalid
        from governed_agents.receipts.signing import verify_signed

        try:
            verify_signed(signed, public_key)
            verified = True
        except ReceiptInvalid as exc:
            verified, verify_error = False, exc.message

    r = receipt
    lines: list[str] = [f"# Receipt: {KIND_TITLES.get(r.kind, r.kind)} — {_code(r.workflow)}", ""]
    lines.append(summary_line(r, markdown=True))
    lines.append("")
    lines += ["| | |", "|---|---|"]
    rows = [
        ("receipt", _code(r.receipt_id)),
        ("kind", _code(r.kind)),
        ("workflow", _code(r.workflow)),
        ("requested by", _text(r.requester) if r.requester else "— (unattended)"),
        ("started", _when(r.started_at)),
        ("finished", _when(r.finished_at)),
        ("approval request", _code(r.approval_request_id)),
        ("idempotency key", _code(r.idempotency_key)),
        ("cost", f"{_money(r)} ({r.tokens:,} model tokens)"),
        ("model", "offline stand-in" if r.offline_model else "as configured (no offline stand-in output)"),
        ("envelope", f"version {_code(r.envelope_version)}, digest {_code(r.envelope_digest)}"),
        ("trace id", _code(r.trace_id)),
        ("run id", _code(r.run_id)),
    ]
    lines += [f"| {name} | {value} |" for name, value in rows]

    lines += ["", "## Approvals", ""]
    if r.approvals:
        lines += ["| approver | decision | when | reason |", "|---|---|---|---|"]
        for a in r.approvals:
            lines.append(f"| {_text(a.approver)} | {_text(a.decision)} | {_when(a.decided_at)} | {_text(a.reason)} |")
    else:
        lines.append("No approval decisions." if r.approval_request_id else "No approval was involved.")

    lines += ["", "## What changed", ""]
    if r.changes:
        lines += [f"- {_text(change)}" for change in r.changes]
    else:
        lines.append("Nothing changed." if r.kind != "write_executed" else "No change descriptions recorded.")
    if r.state_before is not None or r.state_after is not None:
        before, after = r.state_before or {}, r.state_after or {}
        fields = list(before) + [k for k in after if k not in before]
        lines += ["", "| field | before | after |", "|---|---|---|"]
        for field in fields:
            old, new = before.get(field), after.get(field)
            mark = " **(changed)**" if field in before and field in after and old != new else ""
            shown_old = _value(old) if field in before else "—"
            shown_new = _value(new) if field in after else "—"
            lines.append(f"| {_code(field)} | {shown_old} | {shown_new}{mark} |")
        if r.state_before is None:
            lines.append("")
            lines.append("Before: nothing (a new record).")

    lines += ["", "## Tool calls", ""]
    if r.tool_calls:
        lines += ["| when | tool | decision | reasons | arguments digest |", "|---|---|---|---|---|"]
        for call in r.tool_calls:
            reasons = "; ".join(call.reasons)
            lines.append(
                f"| {_when(call.at)} | {_code(call.tool)} | {_text(call.outcome)} | "
                f"{_text(reasons) if reasons else '—'} | {_code(call.arguments_digest)} |"
            )
    else:
        lines.append("No tool calls recorded.")

    lines += ["", "## Checks", ""]
    if r.checks:
        lines += ["| check | result | details |", "|---|---|---|"]
        for check in r.checks:
            result = "passed" if check.passed else "**FAILED**"
            lines.append(f"| {_text(check.name)} | {result} | {_value(check.details)} |")
    else:
        lines.append("No checks recorded.")

    if r.notes:
        lines += ["", "## Notes", "", _text(r.notes)]
    if r.extra:
        lines += ["", "## Extra", "", "| key | value |", "|---|---|"]
        lines += [f"| {_code(k)} | {_value(v)} |" for k, v in sorted(r.extra.items())]

    lines += ["", "## Evidence", ""]
    lines.append(f"- audit anchor: event #{r.audit_anchor.seq}, hash {_code(r.audit_anchor.hash)}")
    if isinstance(signed, SignedReceipt):
        if verified is True:
            status = "verified"
        elif verified is False:
            status = f"**NOT VERIFIED**: {_text(verify_error or 'signature check failed')}"
        else:
            status = "not checked here (verify with `governed-agents receipts verify FILE`)"
        lines.append(f"- signature: {_text(signed.alg)} by key {_code(signed.key_id)}: {status}")
    else:
        lines.append("- signature: unsigned")
    return "\n".join(lines) + "\n"


def summary_line(receipt: Receipt, *, markdown: bool = False) -> str:
    """One line: what happened, where, for whom, approved by whom, when."""
    r = receipt
    esc = _text if markdown else (lambda v: "—" if v is None else _WS.sub(" ", str(v)).strip())
    what = KIND_TITLES.get(r.kind, r.kind)
    parts = [f"{what} in {esc(r.workflow)}"]
    if r.changes:
        first = esc(r.changes[0])
        parts.append(first if len(r.changes) == 1 else f"{first} (+{len(r.changes) - 1} more)")
    if r.requester:
        parts.append(f"for {esc(r.requester)}")
    approvers = [a.approver for a in r.approvals if a.decision == "approve"]
    rejecters = [a.approver for a in r.approvals if a.decision == "reject"]
    if approvers:
        parts.append("approved by " + ", ".join(esc(a) for a in approvers))
    if rejecters:
        parts.append("rejected by " + ", ".join(esc(a) for a in rejecters))
    parts.append(_when(r.finished_at))
    return "; ".join(parts)
