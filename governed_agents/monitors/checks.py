"""What the monitors look for: pure functions over rows already read.

No I/O here: the runner reads through the gate, these functions decide. Money is
``Decimal`` throughout; a finding is a plain dict (it lands in an audit event).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal
from typing import Iterable

_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_LEADING_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")


def normalise_invoice_number(value: str) -> str:
    """``INV-0007``, ``inv 7`` and ``INV7`` are the same number to a person paying twice."""
    return _LEADING_ZEROS.sub("", _NOT_ALNUM.sub("", value.upper()))


def duplicate_payments(entries: Iterable[dict]) -> list[dict]:
    """Posted entries that pay the same vendor the same amount for the same invoice number.

    ``exact``: the invoice numbers are identical; ``near``: they differ only in case,
    punctuation, spacing or leading zeros. Each entry needs ``entry_id``, ``vendor_id``,
    ``currency``, ``amount`` and ``invoice_number`` (the invoice id when the number
    is unknown).
    """
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for e in entries:
        number = e.get("invoice_number") or e["invoice_id"]
        key = (e["vendor_id"], e["currency"], Decimal(str(e["amount"])), normalise_invoice_number(number))
        groups[key].append({**e, "invoice_number": number})
    findings = []
    for (vendor, currency, amount, _), rows in sorted(groups.items(), key=lambda kv: [str(k) for k in kv[0]]):
        if len(rows) < 2:
            continue
        numbers = sorted({r["invoice_number"] for r in rows})
        findings.append({
            "kind": "exact" if len(numbers) == 1 else "near",
            "vendor_id": vendor,
            "currency": currency,
            "amount": str(amount),
            "invoice_numbers": numbers,
            "entry_ids": sorted(r["entry_id"] for r in rows),
            "invoice_ids": sorted(r["invoice_id"] for r in rows),
            "paid_twice": str(amount * (len(rows) - 1)),
        })
    return findings


def duplicate_invoices(invoices: Iterable[dict]) -> list[dict]:
    """Invoices loaded more than once under different invoice ids: the same vendor (tax id),
    the same total and the same (``exact``) or nearly the same (``near``) invoice number —
    the duplicate payment before it happens. Each invoice needs ``invoice_id``,
    ``vendor_tax_id``, ``invoice_number``, ``currency`` and ``total``; invoices without a
    tax id, number or total cannot be compared and are skipped.
    """
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for inv in invoices:
        if not inv.get("vendor_tax_id") or not inv.get("invoice_number") or inv.get("total") is None:
            continue
        key = (inv["vendor_tax_id"], inv.get("currency") or "", Decimal(str(inv["total"])),
               normalise_invoice_number(inv["invoice_number"]))
        groups[key].append(inv)
    findings = []
    for (tax_id, currency, total, _), rows in sorted(groups.items(), key=lambda kv: [str(k) for k in kv[0]]):
        if len({r["invoice_id"] for r in rows}) < 2:
            continue
        numbers = sorted({r["invoice_number"] for r in rows})
        findings.append({
            "kind": "invoice_exact" if len(numbers) == 1 else "invoice_near",
            "vendor_tax_id": tax_id,
            "currency": currency,
            "amount": str(total),
            "invoice_numbers": numbers,
            "invoice_ids": sorted({r["invoice_id"] for r in rows}),
        })
    return findings


def spend_drift(workflow: str, baseline: dict, recent: dict, *, max_drift_pct: float,
                min_tasks: int) -> dict | None:
    """A finding if cost per completed task in ``recent`` rose more than ``max_drift_pct``
    above ``baseline``. Each side is ``{"cost_usd", "completed_tasks"}``; a side with
    fewer than ``min_tasks`` completed tasks is too thin to judge (no finding).
    Only a rise is a finding: cheaper tasks are not an incident.
    """
    if baseline["completed_tasks"] < min_tasks or recent["completed_tasks"] < min_tasks:
        return None
    before = Decimal(baseline["cost_usd"]) / baseline["completed_tasks"]
    after = Decimal(recent["cost_usd"]) / recent["completed_tasks"]
    if before == 0:
        drift = None if after == 0 else Decimal("Infinity")
    else:
        drift = (after - before) / before * 100
    if drift is None or drift <= Decimal(str(max_drift_pct)):
        return None
    return {
        "workflow": workflow,
        "baseline_cost_per_task_usd": f"{before:.8f}",
        "recent_cost_per_task_usd": f"{after:.8f}",
        "drift_pct": "inf" if drift == Decimal("Infinity") else f"{drift:.1f}",
        "max_drift_pct": max_drift_pct,
        "baseline_tasks": baseline["completed_tasks"],
        "recent_tasks": recent["completed_tasks"],
    }


def overdue_approvals(pending: Iterable[dict], *, sla_hours: float, now: dt.datetime) -> list[dict]:
    """Pending approval requests older than the SLA, oldest first."""
    limit = dt.timedelta(hours=sla_hours)
    late = []
    for r in pending:
        age = now - r["created_at"]
        if age > limit:
            late.append({"request_id": r["id"], "workflow": r["workflow"], "action": r["action"],
                         "created_at": r["created_at"], "age_hours": round(age.total_seconds() / 3600, 2)})
    return sorted(late, key=lambda r: r["created_at"])
