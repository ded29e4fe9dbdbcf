"""The people the ERP's master data names: what a run redacts wherever a text quotes them.

Regular expressions find a person's name after a title or a label ("Ms.",
"Contact:"); a bare name in free text ("Thanks, Maria Gonzalez", "approved by
Jan Kowalski") is found only because the master data knows it. A run reads
``known_names(engine)`` once and hands the result (a compiled
``safety.pii.KnownNames``) to every redaction it makes — receipts, audit
payloads, transcripts, the Dagster event log, the replay recording. Nothing is
kept between runs: a name added to the master is redacted from the next run on.

Person fields read, and only these (company names are not personal data and
stay readable in receipts):

- ``employees.name`` — the staff (expense claimants, approvers, requesters);
- ``vendor_contacts.name`` — the vendors' contact persons.

Single-word entries are skipped: a mononym in the master ("Manager", "Kim")
would redact that word in every text, and a title or label still catches it
where it reads as a name.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from governed_agents.erp.schema import employees, vendor_contacts
from governed_agents.safety.pii import KnownNames


def person_names(engine: Engine) -> list[str]:
    """The full names (two words or more) of the ERP's employees and vendor contacts."""
    with engine.connect() as c:
        names = [row[0] for row in c.execute(select(employees.c.name))]
        names += [row[0] for row in c.execute(select(vendor_contacts.c.name))]
    return sorted({" ".join(n.split()) for n in names if n and len(n.split()) >= 2})


def known_names(engine: Engine) -> KnownNames:
    """The ERP's person names compiled once, for every redaction of one run."""
    return KnownNames(person_names(engine))


def add_vendor_contact(engine: Engine, vendor_id: str, name: str, *, email: str | None = None,
                       role: str | None = None) -> None:
    """Record a contact person of a vendor (the vendor master; stored as given)."""
    with engine.begin() as c:
        c.execute(vendor_contacts.insert().values(vendor_id=vendor_id, name=name, email=email, role=role))


__all__ = ["add_vendor_contact", "known_names", "person_names"]
