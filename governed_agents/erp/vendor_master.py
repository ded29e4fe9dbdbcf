"""The vendor master's bank accounts: red flags, the governed change tools, demo data.

A request to change a vendor's bank account is a classic fraud vector. It is
checked against the vendor master and earlier requests (``red_flags``), shown
to approvers as a diff with masked IBANs, and applied by
``vendor_master.change_bank_account`` only through the gate. The change is
reversible: its compensation restores the account it replaced.

IBANs appear in full only in the ERP and in the write's arguments; previews,
receipts and logs show ``mask_iban`` (country, check digits, last four).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from governed_agents.erp.schema import bank_account_changes, bank_change_requests, vendor_profiles, vendors
from governed_agents.timeutil import as_utc, utcnow

#: Red flag codes, for documentation and tests.
RED_FLAGS: dict[str, str] = {
    "unknown_vendor": "the vendor is not in the vendor master",
    "recently_changed": "the vendor's bank account was changed recently",
    "country_mismatch": "the IBAN's country differs from the vendor's country",
    "checksum_invalid": "the IBAN's check digits are wrong (mod 97)",
    "iban_in_use": "another vendor already uses this IBAN",
    "unverified_domain": "the request came from an email domain other than the vendor's verified one",
    "repeated_request": "another request to change this vendor's account arrived recently",
    "no_change": "the IBAN is the vendor's current one",
}

Iban = Annotated[str, StringConstraints(min_length=5, max_length=64, strip_whitespace=True)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]


def normalise_iban(iban: str) -> str:
    return "".join(iban.split()).upper()


def iban_checksum_ok(iban: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN (spaces ignored)."""
    iban = normalise_iban(iban)
    if len(iban) < 5 or not iban[:2].isalpha() or not iban[2:4].isdigit() or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def mask_iban(iban: str | None) -> str | None:
    """``DE89 **** 3000``: country, check digits and the last four characters only."""
    if not iban:
        return iban
    iban = normalise_iban(iban)
    return f"{iban[:4]} **** {iban[-4:]}" if len(iban) > 8 else "****"


def red_flags(*, vendor: dict | None, profile: dict | None, new_iban: str, sender_email: str,
              other_vendors_with_iban: list[str], earlier_requests: int, now: dt.datetime,
              recent_days: float) -> list[dict]:
    """The red flags of one request (a pure function of what was read)."""
    flags: list[dict] = []

    def flag(code: str, detail: str) -> None:
        flags.append({"code": code, "message": RED_FLAGS[code], "detail": detail})

    iban = normalise_iban(new_iban)
    if vendor is None:
        flag("unknown_vendor", "no such vendor_id")
        return flags
    if vendor.get("iban") and normalise_iban(vendor["iban"]) == iban:
        flag("no_change", f"current account is {mask_iban(iban)}")
    if not iban_checksum_ok(iban):
        flag("checksum_invalid", f"{mask_iban(iban)} fails the mod-97 check")
    changed = as_utc(profile.get("iban_changed_at")) if profile else None
    if changed is not None and now - changed < dt.timedelta(days=recent_days):
        flag("recently_changed", f"changed {changed:%Y-%m-%d}, within {recent_days:g} days")
    if profile is not None and iban[:2] != profile["country"]:
        flag("country_mismatch", f"IBAN country {iban[:2]}, vendor country {profile['country']}")
    if other_vendors_with_iban:
        flag("iban_in_use", f"used by {', '.join(sorted(other_vendors_with_iban))}")
    domain = sender_email.rsplit("@", 1)[-1].lower() if "@" in sender_email else ""
    if profile is None or domain != profile["email_domain"].lower():
        verified = profile["email_domain"] if profile else "none on file"
        flag("unverified_domain", f"sent from {domain or sender_email!r}; verified domain: {verified}")
    if earlier_requests:
        flag("repeated_request", f"{earlier_requests} earlier request(s) for this vendor within {recent_days:g} days")
    return flags


# -- tools -----------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckBankChangeInput(_Strict):
    request_id: Identifier


class BankChangeAssessment(_Strict):
    request_id: str
    found: bool
    vendor_id: str | None = None
    vendor_name: str | None = None
    current_iban_masked: str | None = None
    new_iban_masked: str | None = None
    sender_email: str | None = None
    red_flags: list[dict] = Field(default_factory=list)


class ChangeBankAccountInput(_Strict):
    vendor_id: Identifier
    new_iban: Iban
    request_id: Identifier  # the bank_change_requests row, or "undo:<change_id>" for a restore


class BankAccountChanged(_Strict):
    change_id: str
    vendor_id: str
    old_iban_masked: str | None
    new_iban_masked: str
    request_id: str


def change_key(args: ChangeBankAccountInput) -> str:
    return f"vendor_master.change_bank_account:{args.vendor_id}:{args.request_id}"


def check_change_record(engine: Engine, args: ChangeBankAccountInput) -> list[tuple[str, str]]:
    """Where a change's arguments disagree with the vendor master (the write's ``record_check``).

    A change applies a recorded request (``bank_change_requests``) or restores the
    account a recorded change replaced (``undo:<change_id>``): the request must exist
    and name the same vendor and IBAN. An id a model made up, or a request's id with
    another IBAN, is refused by the gate before any preview or approval request.
    """
    new_iban = normalise_iban(args.new_iban)
    with engine.connect() as c:
        if args.request_id.startswith("undo:"):
            change_id = args.request_id[len("undo:"):]
            row = c.execute(select(bank_account_changes).where(bank_account_changes.c.change_id == change_id)).first()
            what, vendor_id, iban = f"bank account change {change_id}", None, None
            if row is not None:
                vendor_id, iban = row._mapping["vendor_id"], row._mapping["old_iban"]
        else:
            row = c.execute(select(bank_change_requests).where(
                bank_change_requests.c.request_id == args.request_id)).first()
            what, vendor_id, iban = f"bank change request {args.request_id}", None, None
            if row is not None:
                vendor_id, iban = row._mapping["vendor_id"], row._mapping["new_iban"]
    if row is None:
        return [("record_not_found", f"{what} is not recorded: a vendor's bank account changes only on a "
                                     "recorded request (or to restore a recorded change)")]
    problems = []
    if vendor_id != args.vendor_id:
        problems.append(("record_mismatch", f"{what} is for vendor {vendor_id}, not {args.vendor_id}"))
    if not iban or normalise_iban(iban) != new_iban:
        problems.append(("record_mismatch", f"{what} names IBAN {mask_iban(iban) or 'none'}, "
                                            f"not {mask_iban(new_iban)}"))
    return problems


def vendor_master_toolset(engine: Engine, *, recent_days: float = 90):
    """A registry with the vendor-master tools bound to ``engine``, and their preview builders."""
    from governed_agents.gate import Compensation, ToolRegistry

    registry = ToolRegistry()

    def compensate(receipt) -> Compensation:
        change_id = (receipt.state_after or {}).get("change_id")
        with engine.connect() as c:
            row = c.execute(select(bank_account_changes).where(
                bank_account_changes.c.change_id == change_id)).first()
        if row is None or not row._mapping["old_iban"]:
            raise ValueError(f"receipt {receipt.receipt_id}: no earlier account recorded to restore")
        m = row._mapping
        return Compensation(
            tool="vendor_master.change_bank_account",
            arguments={"vendor_id": m["vendor_id"], "new_iban": m["old_iban"], "request_id": f"undo:{change_id}"},
            summary=f"restore vendor {m['vendor_id']}'s bank account {mask_iban(m['new_iban'])} → "
                    f"{mask_iban(m['old_iban'])}",
        )

    @registry.tool(
        name="vendor_master.check_bank_change",
        description="Check a bank-account change request against the vendor master and earlier requests.",
        input=CheckBankChangeInput,
        output=BankChangeAssessment,
        side_effect="read",
        reversible=True,
        data_classes=("financial",),
    )
    def check_bank_change(args: CheckBankChangeInput) -> dict:
        return assess(engine, args.request_id, recent_days=recent_days)

    @registry.tool(
        name="vendor_master.change_bank_account",
        description="Replace a vendor's bank account (IBAN) in the vendor master.",
        input=ChangeBankAccountInput,
        output=BankAccountChanged,
        side_effect="write",
        reversible=True,
        idempotency_key=change_key,
        data_classes=("financial",),
        compensate=compensate,
        compensation_tool="vendor_master.change_bank_account",
        record_check=lambda args: check_change_record(engine, args),
    )
    def change_bank_account(args: ChangeBankAccountInput) -> dict:
        key = change_key(args)
        new_iban = normalise_iban(args.new_iban)
        now = utcnow()
        try:
            with engine.begin() as c:
                vendor = c.execute(select(vendors).where(vendors.c.vendor_id == args.vendor_id)).first()
                if vendor is None:
                    raise ValueError(f"vendor {args.vendor_id} is not in the vendor master")
                row = {"change_id": str(uuid.uuid4()), "idempotency_key": key, "vendor_id": args.vendor_id,
                       "old_iban": vendor._mapping["iban"], "new_iban": new_iban,
                       "request_id": args.request_id, "applied_at": now}
                c.execute(bank_account_changes.insert().values(**row))
                c.execute(update(vendors).where(vendors.c.vendor_id == args.vendor_id).values(iban=new_iban))
                c.execute(update(vendor_profiles).where(vendor_profiles.c.vendor_id == args.vendor_id)
                          .values(iban_changed_at=now))
        except IntegrityError:
            with engine.connect() as c:
                existing = c.execute(select(bank_account_changes).where(
                    bank_account_changes.c.idempotency_key == key)).first()
            if existing is None:
                raise
            row = dict(existing._mapping)
        return {"change_id": row["change_id"], "vendor_id": row["vendor_id"],
                "old_iban_masked": mask_iban(row["old_iban"]), "new_iban_masked": mask_iban(row["new_iban"]),
                "request_id": row["request_id"]}

    def preview_changes(changes: list[ChangeBankAccountInput]) -> list[dict]:
        # A builder's "arguments" replace the raw ones in the preview: approvers see the IBAN masked.
        return [{**_change_preview(engine, a, recent_days),
                 "arguments": {**a.model_dump(mode="json"), "new_iban": mask_iban(a.new_iban)}}
                for a in changes]

    return registry, {"vendor_master.change_bank_account": preview_changes}


def _change_preview(engine: Engine, args: ChangeBankAccountInput, recent_days: float) -> dict:
    new_iban = normalise_iban(args.new_iban)
    with engine.connect() as c:
        vendor = c.execute(select(vendors).where(vendors.c.vendor_id == args.vendor_id)).first()
        done = c.execute(select(bank_account_changes).where(
            bank_account_changes.c.idempotency_key == change_key(args))).first()
    if vendor is None:
        return {"before": None, "after": None, "changes": [f"vendor {args.vendor_id} does not exist"]}
    v = vendor._mapping
    before = {"vendor_id": v["vendor_id"], "name": v["name"], "iban": mask_iban(v["iban"])}
    after = {**before, "iban": mask_iban(new_iban)}
    if done is not None:
        return {"before": before, "after": after, "changes": ["no change: this request is already applied"]}
    preview = {"before": before, "after": after,
               "changes": [f"bank account of {v['vendor_id']} ({v['name']}): {mask_iban(v['iban']) or 'none'} → "
                           f"{mask_iban(new_iban)}"]}
    if not args.request_id.startswith("undo:"):
        # Approvers see the red flags as the vendor master shows them now. The gate refuses a
        # change citing an unrecorded request (check_change_record); should one still reach a
        # preview, it says so instead of failing.
        assessed = assess(engine, args.request_id, recent_days=recent_days)
        if not assessed["found"]:
            preview["changes"].append(f"request {args.request_id} is not recorded")
        preview["red_flags"] = assessed.get("red_flags", [])
    return preview


def assess(engine: Engine, request_id: str, *, recent_days: float = 90, now: dt.datetime | None = None) -> dict:
    """A request's masked summary and red flags, read from the vendor master."""
    now = now or utcnow()
    with engine.connect() as c:
        req = c.execute(select(bank_change_requests).where(bank_change_requests.c.request_id == request_id)).first()
        if req is None:
            return {"request_id": request_id, "found": False}
        r = dict(req._mapping)
        iban = normalise_iban(r["new_iban"])
        vendor = c.execute(select(vendors).where(vendors.c.vendor_id == r["vendor_id"])).first()
        profile = c.execute(select(vendor_profiles).where(vendor_profiles.c.vendor_id == r["vendor_id"])).first()
        others = [row[0] for row in c.execute(select(vendors.c.vendor_id).where(
            vendors.c.iban == iban, vendors.c.vendor_id != r["vendor_id"]))]
        received = as_utc(r["received_at"])
        earlier = c.execute(select(func.count()).select_from(bank_change_requests).where(
            bank_change_requests.c.vendor_id == r["vendor_id"],
            bank_change_requests.c.request_id != request_id,
            bank_change_requests.c.received_at <= received,
            bank_change_requests.c.received_at >= received - dt.timedelta(days=recent_days))).scalar_one()
    vendor_m = dict(vendor._mapping) if vendor is not None else None
    flags = red_flags(vendor=vendor_m, profile=dict(profile._mapping) if profile is not None else None,
                      new_iban=iban, sender_email=r["sender_email"], other_vendors_with_iban=others,
                      earlier_requests=int(earlier), now=now, recent_days=recent_days)
    return {"request_id": request_id, "found": True, "vendor_id": r["vendor_id"],
            "vendor_name": vendor_m["name"] if vendor_m else None,
            "current_iban_masked": mask_iban(vendor_m["iban"]) if vendor_m else None,
            "new_iban_masked": mask_iban(iban), "sender_email": r["sender_email"], "red_flags": flags}


def pending_requests(engine: Engine) -> list[dict]:
    """Requests not yet applied, oldest first."""
    with engine.connect() as c:
        applied = select(bank_account_changes.c.request_id)
        rows = c.execute(select(bank_change_requests).where(
            bank_change_requests.c.request_id.not_in(applied)).order_by(bank_change_requests.c.received_at))
        return [dict(r._mapping) for r in rows]


def submit_request(engine: Engine, *, vendor_id: str, new_iban: str, sender_email: str,
                   request_id: str | None = None, received_at: dt.datetime | None = None) -> str:
    """Record an incoming request (intake: data to be checked, not a write to the vendor master)."""
    request_id = request_id or f"BCR-{uuid.uuid4().hex[:12]}"
    with engine.begin() as c:
        c.execute(bank_change_requests.insert().values(
            request_id=request_id, vendor_id=vendor_id, new_iban=normalise_iban(new_iban),
            sender_email=sender_email, received_at=received_at or utcnow()))
    return request_id


# -- demo data -------------------------------------------------------------------------------

_DEMO = [  # vendor_id, name, country, currency, domain
    ("VBC-001", "Müller Maschinenbau GmbH", "DE", "EUR", "mueller-maschinenbau.de"),
    ("VBC-002", "Atelier Dupont SARL", "FR", "EUR", "atelier-dupont.fr"),
    ("VBC-003", "Van Dijk Logistiek BV", "NL", "EUR", "vandijk-logistiek.nl"),
    ("VBC-004", "Harper & Sons Ltd", "GB", "GBP", "harperandsons.co.uk"),
    ("VBC-005", "Schmidt Elektro AG", "DE", "EUR", "schmidt-elektro.de"),
]


def seed_vendor_master(engine: Engine, *, seed: int = 7, now: dt.datetime | None = None) -> dict:
    """Demo vendors with profiles, and one request per kind: clean, and each red flag.

    Returns ``{request_id: expected red flag codes}``. Idempotent: a second call adds nothing.
    """
    from governed_agents.erp.generator import _iban

    now = now or utcnow()
    rng = random.Random(seed)
    ibans = {vid: _iban(rng, country) for vid, _, country, _, _ in _DEMO}
    with engine.begin() as c:
        if c.execute(select(func.count()).select_from(vendor_profiles).where(
                vendor_profiles.c.vendor_id.in_([d[0] for d in _DEMO]))).scalar_one():
            return {}
        for i, (vid, name, country, currency, domain) in enumerate(_DEMO):
            c.execute(vendors.insert().values(vendor_id=vid, name=name, tax_id=f"TAX-{vid}", iban=ibans[vid],
                                              currency=currency, status="active"))
            changed = now - dt.timedelta(days=10) if vid == "VBC-005" else now - dt.timedelta(days=400 + i)
            c.execute(vendor_profiles.insert().values(vendor_id=vid, country=country, email_domain=domain,
                                                      iban_changed_at=changed))
    requests = [
        ("BCR-CLEAN", "VBC-001", _iban(rng, "DE"), "ap@mueller-maschinenbau.de", set()),
        ("BCR-COUNTRY", "VBC-002", _iban(rng, "GB"), "compta@atelier-dupont.fr", {"country_mismatch"}),
        ("BCR-CHECKSUM", "VBC-003", _corrupt(_iban(rng, "NL")), "finance@vandijk-logistiek.nl",
         {"checksum_invalid"}),
        ("BCR-REPEAT", "VBC-003", _iban(rng, "NL"), "finance@vandijk-logistiek.nl", {"repeated_request"}),
        ("BCR-INUSE", "VBC-004", ibans["VBC-002"], "accounts@harperandsons.co.uk",
         {"iban_in_use", "country_mismatch"}),
        ("BCR-RECENT", "VBC-005", _iban(rng, "DE"), "buchhaltung@schmidt-elektro.de", {"recently_changed"}),
        ("BCR-DOMAIN", "VBC-001", _iban(rng, "DE"), "ap@mueller-maschinenbau.de.co", {"unverified_domain"}),
    ]
    # Arrival times: BCR-CLEAN long ago (no other request near it), BCR-CHECKSUM an hour
    # before BCR-REPEAT (which therefore repeats a recent request for the same vendor).
    received = {"BCR-CLEAN": now - dt.timedelta(days=400), "BCR-CHECKSUM": now - dt.timedelta(hours=1)}
    expected = {}
    for request_id, vid, iban, sender, flags in requests:
        submit_request(engine, vendor_id=vid, new_iban=iban, sender_email=sender, request_id=request_id,
                       received_at=received.get(request_id, now))
        expected[request_id] = flags
    return expected


def _corrupt(iban: str) -> str:
    """The same IBAN with its last digit changed: the check digits no longer hold."""
    last = iban[-1]
    return iban[:-1] + (str((int(last) + 1) % 10) if last.isdigit() else ("A" if last != "A" else "B"))
