"""No raw personal data in any store after a run (``logging.redact_pii``).

Demo data is generated and then seeded with known personal data — e-mails,
IBANs, phone numbers, a card number, an SSN, person names — in invoice memos,
in free-text PO references (which only the model tier can read, so they reach a
model and its transcript) and, from the generator, in injection memos carrying
IBANs. Then the in-process governed path runs end to end (match → propose →
approval → post → receipts, exported to files) and one real Dagster
materialisation of the propose job runs on a persistent instance. Afterwards
every store is searched byte for byte for every raw value: the ledger database
file (audit chain, receipts, approvals, transcripts, cache), the whole Dagster
home (event log, run storage, compute logs, IO storage), the exported receipts
and the transcripts as the CLI prints them.

Two names are only in the master data (an employee, a vendor's contact person)
and appear bare in free text — a memo signed "Thanks, Maria Gonzalez", a PO
reference and an approver's reason naming Jan Kowalski — where no title or label
marks them as names: the run feeds the ERP's person names to every redaction
(``erp.people.known_names``), and without that feed this test fails.

Excluded, and only these: the ERP database (the system of record: the invoice
lines are the vendor's documents, stored as received) and the input CSV files.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from governed_agents import config
from governed_agents.approvals import decide
from governed_agents.dagster.instance import dagster_home
from governed_agents.envelope import find_envelope
from governed_agents.erp.connector import erp_engine
from governed_agents.erp.csv_contract import load_csv_dir
from governed_agents.erp.generator import generate
from governed_agents.identity.tokens import issue_token
from governed_agents.ledger import Ledger
from governed_agents.receipts.render import render_markdown
from governed_agents.receipts.signing import export_bytes
from governed_agents.receipts.store import list_receipts
from governed_agents.workflows import executor_for
from governed_agents.workflows import invoice_reconcile as wf

from tests.fixtures import REPO

pytestmark = pytest.mark.slow

EMAIL = "margarete.vollmer@vollmer-familie.example"
PHONE = "+49 30 98765432"
IBAN = "DE89 3704 0044 0532 0130 00"
CARD = "4111 1111 1111 1111"
SSN = "078-05-1120"
NAME = "Margarete Vollmer"
MEMOS = [
    f"Attn: {NAME}, questions to {EMAIL} or {PHONE}.",
    f"Please remit to IBAN {IBAN}. Card on file {CARD}.",
    f"Contact person: {NAME}; SSN {SSN} for the 1099.",
]
# Master-data people, quoted bare (no title, no label before them).
EMPLOYEE = "Jan Kowalski"
CONTACT = "Maria Gonzalez"
MEMOS.append(f"Delivered complete. Thanks, {CONTACT}")
REF_SUFFIX = f"; questions: {EMAIL}; {EMPLOYEE} signed off"


def _raw_values(extra: list[str]) -> list[str]:
    compact_iban = IBAN.replace(" ", "")
    return [EMAIL, PHONE, PHONE.replace(" ", ""), "98765432", IBAN, compact_iban, CARD, CARD.replace(" ", ""),
            SSN, NAME, "Vollmer", EMPLOYEE, "Kowalski", CONTACT, "Gonzalez", *extra]


def _seed_people(engine) -> None:
    """The employee and the vendor contact in the master data (the ERP keeps them as they are)."""
    from sqlalchemy import select

    from governed_agents.erp.expenses import add_employee
    from governed_agents.erp.people import add_vendor_contact
    from governed_agents.erp.schema import vendors

    add_employee(engine, "E-PII-1", EMPLOYEE, email="jan.kowalski@buyer.example")
    with engine.connect() as c:
        vendor_id = c.execute(select(vendors.c.vendor_id).order_by(vendors.c.vendor_id)).first()[0]
    add_vendor_contact(engine, vendor_id, CONTACT, role="accounts receivable")


def _seed_pii(data: Path) -> tuple[list[str], int, int]:
    """Put the PII into the generated invoices; return the generator's own IBANs in text too."""
    path = data / "invoices.csv"
    rows = list(csv.reader(path.open(encoding="utf-8")))
    header, body = rows[0], rows[1:]
    memo, ref, desc = header.index("memo"), header.index("po_reference"), header.index("description")
    free_text = {r[0] for r in body if re.match(r"(as per our order|ref\. your|delivery against|see order|Your order)",
                                                 r[ref] or "")}
    plain = sorted({r[0] for r in body if not r[memo]} - free_text)
    seeded = {invoice: MEMOS[i % len(MEMOS)] for i, invoice in enumerate(plain[:12])}
    # A sole trader the vendor master does not know, identified by an SSN: the unknown_vendor
    # exception quotes the tax id, so it flows into the Dagster asset metadata (exception list).
    known_tax_ids = {v["tax_id"] for v in csv.DictReader((data / "vendors.csv").open(encoding="utf-8"))}
    unknown = sorted({r[0] for r in body if r[header.index("vendor_tax_id")] not in known_tax_ids})
    for r in body:
        if unknown and r[0] == unknown[0]:
            r[header.index("vendor_tax_id")] = SSN
        if r[0] in seeded:
            r[memo] = seeded[r[0]]
        if r[0] in free_text:
            r[ref] = r[ref] + REF_SUFFIX
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *body])
    iban_re = re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b")
    generator_ibans = sorted({m for r in body for m in iban_re.findall(f"{r[memo]} {r[desc]}")})
    return generator_ibans, len(seeded), len(free_text)


def _files(root: Path, exclude: tuple[Path, ...] = ()) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not any(p == e or e in p.parents for e in exclude)]


def _leaks(paths: list[Path], raw: list[str]) -> list[str]:
    found = []
    needles = [(value, value.encode("utf-8")) for value in raw]
    for path in paths:
        data = path.read_bytes()
        for value, needle in needles:
            if needle in data:
                found.append(f"{value!r} in {path}")
    return found


def _governed_path(ledger):
    """Match (model tier for free-text references) → propose → request approvals → approve two
    (with a reason naming a person) → post them → a run receipt."""
    envelope = find_envelope("invoice_reconcile")
    assert envelope.envelope.logging.redact_pii
    from governed_agents.erp.people import known_names

    executor = executor_for("invoice_reconcile", ledger)
    names = known_names(erp_engine())  # once per run, handed to every step that writes a store
    assert EMPLOYEE in names.names and CONTACT in names.names
    lines = wf.read_batch(erp_engine())
    assert any(EMAIL in (line.memo or "") for line in lines)  # the system of record holds the raw text
    assert any(CONTACT in (line.memo or "") for line in lines)
    result = wf.match(lines, erp_engine(), envelope, record_to=ledger, run_id="in-process", known_names=names,
                      po_extractor=wf.model_po_extractor(ledger, envelope, known_names=names))
    counts = result.counts()
    assert counts["matched"] >= 10 and counts["suspected_injection"] >= 1
    proposals = wf.propose(result, executor, envelope, requested_by="alice")
    requests = wf.request_approvals(proposals, executor, envelope, requested_by="alice", batch_id="b1",
                                    known_names=names)
    token = issue_token("bob", actions=["approval.approve", "approval.reject"], workflows=["invoice_reconcile"])
    for request in requests[:2]:
        decide(ledger, request.id, token=token, decision="approve", rebuild_preview=executor.rebuild_preview,
               reason=f"confirmed by phone with Ms. {NAME}, {PHONE}; {EMPLOYEE} agrees")
        assert wf.post(request.id, executor, envelope, known_names=names).outcome == "executed"
    wf.run_receipt(ledger, envelope, run_id="in-process", trace_id="a" * 32, requested_by="alice",
                   summary=wf.summarise(result, requests, batch_id="b1", known_names=names), checks=[],
                   known_names=names)
    return result, requests


def test_no_raw_personal_data_in_any_store_after_a_run(tmp_path, monkeypatch):
    home = config.home()
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    dhome = dagster_home()
    data = tmp_path / "data"
    generate(data, invoices=60, seed=31)
    generator_ibans, seeded, free_text = _seed_pii(data)
    assert seeded >= 8 and free_text >= 1 and generator_ibans  # the PII really is in the input
    load_csv_dir(data, erp_engine())
    _seed_people(erp_engine())

    # -- the in-process governed path ------------------------------------------------------
    ledger = Ledger.open()
    result, requests = _governed_path(ledger)
    exported = tmp_path / "exported"
    exported.mkdir()
    for signed in list_receipts(ledger, limit=1000):
        (exported / f"{signed.receipt.receipt_id}.json").write_bytes(export_bytes(signed))
        (exported / f"{signed.receipt.receipt_id}.md").write_text(render_markdown(signed), encoding="utf-8")
    assert len(list(exported.iterdir())) >= 6

    # -- one real Dagster materialisation on the persistent instance -------------------------
    import dagster as dg

    from governed_agents.dagster.location import definitions

    defs = definitions()
    with dg.DagsterInstance.get() as instance:
        run = defs.get_job_def("invoice_reconcile_propose").execute_in_process(instance=instance)
        assert run.success
        records = instance.get_records_for_run(run.run_id).records
        materialized = [r.event_log_entry.dagster_event.event_specific_data.materialization for r in records
                        if r.event_log_entry.dagster_event and r.event_log_entry.dagster_event.is_step_materialization]
        matches_meta = [m.metadata for m in materialized if m.asset_key.to_user_string() == "invoice_matches"][0]
        # The exception list went through the event log, with the SSN replaced by its placeholder.
        assert "unknown_vendor" in matches_meta["exception_list"].value
        assert "[TAX_ID_" in matches_meta["exception_list"].value

    # -- transcripts as the CLI shows them -----------------------------------------------
    shown = subprocess.run([sys.executable, "-m", "governed_agents.cli.main", "transcripts", "list", "--show",
                            "--json", "--limit", "1000"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert shown.returncode == 0, shown.stderr
    listed = json.loads(shown.stdout)["transcripts"]
    assert listed and all(t["redacted"] for t in listed)
    assert any("[EMAIL_1]" in t["request"] for t in listed)  # the free-text references did reach the model
    # ... and the bare master-data name in them, as its placeholder
    assert any(re.search(r"\[NAME_\d+\] signed off", t["request"]) for t in listed)
    (tmp_path / "transcripts.json").write_text(shown.stdout, encoding="utf-8")

    # -- search every store --------------------------------------------------------------
    raw = _raw_values(generator_ibans)
    erp_db = Path(erp_engine().url.database)
    stores = [p for p in home.glob("ledger.sqlite3*")] + _files(dhome) + _files(exported) + [
        tmp_path / "transcripts.json"]
    assert any(p.name == "ledger.sqlite3" for p in stores)
    assert any(p.suffix == ".db" for p in _files(dhome)), "the Dagster instance keeps its event log on disk"
    everything_else = _files(home, exclude=(erp_db, erp_db.with_name(erp_db.name + "-wal"),
                                            erp_db.with_name(erp_db.name + "-shm")))
    leaks = _leaks(sorted(set(stores) | set(everything_else)), raw)
    assert leaks == [], "\n".join(leaks)
    # The exclusion is real: the system of record still holds the raw memos.
    assert _leaks([erp_db], [EMAIL]) or _leaks([erp_db.with_name(erp_db.name + "-wal")], [EMAIL])
    # ... and the people: the ERP is not redacted.
    erp_files = [p for p in (erp_db, erp_db.with_name(erp_db.name + "-wal")) if p.exists()]
    assert len(_leaks(erp_files, [EMPLOYEE, CONTACT])) >= 2


def test_no_raw_personal_data_in_the_postgresql_ledger(tmp_path, monkeypatch, pg_url):
    """The same governed path with the ledger on PostgreSQL: every text of every ledger table is searched."""
    import sqlalchemy as sa

    monkeypatch.setenv("GOVERNED_AGENTS_DB_URL", pg_url)
    data = tmp_path / "data"
    generate(data, invoices=60, seed=31)
    generator_ibans, _, _ = _seed_pii(data)
    load_csv_dir(data, erp_engine())
    _seed_people(erp_engine())
    ledger = Ledger.open()
    assert ledger.dialect == "postgresql"
    _governed_path(ledger)
    raw = _raw_values(generator_ibans)
    leaks, cells = [], 0
    meta = sa.MetaData()
    meta.reflect(ledger.engine)
    assert {"transcripts", "receipts", "audit_events", "approval_requests"} <= set(meta.tables)
    with ledger.engine.connect() as c:
        for table in meta.sorted_tables:
            for row in c.execute(sa.select(table)):
                for value in row:
                    cells += 1
                    text = value if isinstance(value, str) else json.dumps(value, default=str)
                    leaks += [f"{v!r} in {table.name}" for v in raw if v in text]
    assert cells > 1000 and leaks == [], "\n".join(sorted(set(leaks)))


def test_the_failure_sensor_withholds_error_text_when_the_master_data_cannot_be_read(monkeypatch):
    # The failure may be the ERP itself: then the names to redact by are unknown (None), and the
    # sensor keeps only the failed steps and error classes rather than text it cannot redact.
    import governed_agents.erp.connector as connector
    from governed_agents.dagster.sensors import _master_data_names

    assert _master_data_names() is not None

    def unreachable():
        raise ConnectionError("ERP down")

    monkeypatch.setattr(connector, "erp_engine", unreachable)
    assert _master_data_names() is None
