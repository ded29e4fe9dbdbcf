"""Expenses in the demo ERP: card transactions, their receipts, and the reminder outbox.

``expenses_toolset(engine)`` registers the read tool
``expenses.find_missing_receipts`` (card transactions with no receipt) and the
write tool ``outbox.send_reminder`` (a reminder is a row in the ``outbox``
table). A sent reminder cannot be unsent: the tool is registered
``reversible=False`` and ``governed-agents undo`` refuses it. Its amount decides
the envelope's ``approval_above`` bound, so its ``record_check`` makes the gate
refuse a reminder whose amount, currency or employee is not the transaction's.

``seed_expenses`` makes deterministic demo data (employees with managers, card
transactions, receipts for most of them).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from governed_agents.erp.schema import card_transactions, employees, expense_receipts, outbox
from governed_agents.timeutil import utcnow

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
Day = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FindMissingReceiptsInput(_Strict):
    older_than_days: Annotated[int, Field(ge=0, le=365)] = 0
    limit: Annotated[int, Field(ge=1, le=5000)] = 500


class MissingReceipt(_Strict):
    txn_id: str
    employee_id: str
    employee_name: str
    manager_id: str | None
    merchant: str
    amount: Decimal
    currency: str
    txn_date: str


class MissingReceipts(_Strict):
    transactions: list[MissingReceipt] = Field(default_factory=list)


class SendReminderInput(_Strict):
    employee_id: Identifier
    txn_id: Identifier
    amount: Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=2)]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    reminder_date: Day  # one reminder per transaction per day


class ReminderSent(_Strict):
    message_id: str
    employee_id: str
    txn_id: str
    reminder_date: str


def reminder_key(args: SendReminderInput) -> str:
    return f"outbox.send_reminder:{args.txn_id}:{args.reminder_date}"


def check_reminder_record(engine: Engine, args: SendReminderInput) -> list[tuple[str, str]]:
    """Where a reminder's arguments disagree with the card transaction (the write's ``record_check``).

    The amount decides the envelope's ``approval_above`` bound, so it must be the
    transaction's, not the caller's: stating 40.00 for an 812.40 transaction is refused
    by the gate, as is another employee or currency, or a transaction that does not exist.
    """
    with engine.connect() as c:
        txn = c.execute(select(card_transactions).where(card_transactions.c.txn_id == args.txn_id)).first()
    if txn is None:
        return [("record_not_found", f"card transaction {args.txn_id} does not exist")]
    t = txn._mapping
    problems = []
    if t["employee_id"] != args.employee_id:
        problems.append(("record_mismatch", f"card transaction {args.txn_id} is {t['employee_id']}'s, "
                                            f"not {args.employee_id}'s"))
    if Decimal(str(t["amount"])) != args.amount:
        problems.append(("record_mismatch", f"amount: stated {args.amount}, card transaction {args.txn_id} "
                                            f"is {Decimal(str(t['amount'])):.2f}"))
    if t["currency"] != args.currency:
        problems.append(("record_mismatch", f"currency: stated {args.currency}, card transaction {args.txn_id} "
                                            f"is in {t['currency']}"))
    return problems


def expenses_toolset(engine: Engine):
    """A registry with the expense tools bound to ``engine``, and the reminder's preview builder."""
    from governed_agents.gate import ToolRegistry

    registry = ToolRegistry()

    @registry.tool(
        name="expenses.find_missing_receipts",
        description="Card transactions that have no receipt, oldest first.",
        input=FindMissingReceiptsInput,
        output=MissingReceipts,
        side_effect="read",
        reversible=True,
        data_classes=("financial", "pii"),
    )
    def find_missing_receipts(args: FindMissingReceiptsInput) -> dict:
        return {"transactions": missing_receipts(engine, older_than_days=args.older_than_days, limit=args.limit)}

    @registry.tool(
        name="outbox.send_reminder",
        description="Send an employee a reminder to upload the receipt of a card transaction.",
        input=SendReminderInput,
        output=ReminderSent,
        side_effect="write",
        reversible=False,  # a sent message cannot be unsent
        idempotency_key=reminder_key,
        data_classes=("pii",),
        record_check=lambda args: check_reminder_record(engine, args),
    )
    def send_reminder(args: SendReminderInput) -> dict:
        key = reminder_key(args)
        with engine.connect() as c:
            person = c.execute(select(employees).where(employees.c.employee_id == args.employee_id)).first()
            txn = c.execute(select(card_transactions).where(card_transactions.c.txn_id == args.txn_id)).first()
        if person is None or txn is None:
            raise ValueError(f"no employee {args.employee_id} or no card transaction {args.txn_id}")
        subject, body = _message(dict(person._mapping), dict(txn._mapping))
        row = {"message_id": str(uuid.uuid4()), "idempotency_key": key, "employee_id": args.employee_id,
               "txn_id": args.txn_id, "recipient": person._mapping["email"], "subject": subject, "body": body,
               "sent_at": utcnow()}
        try:
            with engine.begin() as c:
                c.execute(outbox.insert().values(**row))
        except IntegrityError:
            with engine.connect() as c:
                existing = c.execute(select(outbox).where(outbox.c.idempotency_key == key)).first()
            if existing is None:
                raise
            row = dict(existing._mapping)
        return {"message_id": row["message_id"], "employee_id": row["employee_id"], "txn_id": row["txn_id"],
                "reminder_date": args.reminder_date}

    def preview_reminders(reminders: list[SendReminderInput]) -> list[dict]:
        keys = [reminder_key(a) for a in reminders]
        with engine.connect() as c:
            sent = {r[0] for r in c.execute(select(outbox.c.idempotency_key).where(outbox.c.idempotency_key.in_(keys)))}
        out = []
        for a, key in zip(reminders, keys):
            after = {"employee_id": a.employee_id, "txn_id": a.txn_id, "amount": str(a.amount),
                     "currency": a.currency, "reminder_date": a.reminder_date}
            changes = (["no change: this reminder was already sent today"] if key in sent else
                       [f"send {a.employee_id} a reminder for the receipt of {a.txn_id} "
                        f"({a.amount:,.2f} {a.currency})"])
            out.append({"before": None, "after": after, "changes": changes})
        return out

    return registry, {"outbox.send_reminder": preview_reminders}


def _message(person: dict, txn: dict) -> tuple[str, str]:
    subject = f"Receipt missing: {txn['merchant']} {txn['amount']:,.2f} {txn['currency']} on {txn['txn_date']}"
    body = (f"Hello {person['name']},\n\nyour company card was charged {txn['amount']:,.2f} {txn['currency']} at "
            f"{txn['merchant']} on {txn['txn_date']}, and no receipt has been uploaded yet. Please upload it "
            f"in the expense tool (transaction {txn['txn_id']}).\n")
    return subject, body


def missing_receipts(engine: Engine, *, older_than_days: int = 0, limit: int = 500,
                     today: dt.date | None = None) -> list[dict]:
    today = today or utcnow().date()
    cutoff = (today - dt.timedelta(days=older_than_days)).isoformat()
    t, e = card_transactions, employees
    query = (select(t.c.txn_id, t.c.employee_id, e.c.name.label("employee_name"), e.c.manager_id, t.c.merchant,
                    t.c.amount, t.c.currency, t.c.txn_date)
             .join(e, e.c.employee_id == t.c.employee_id)
             .where(t.c.txn_id.not_in(select(expense_receipts.c.txn_id)), t.c.txn_date <= cutoff)
             .order_by(t.c.txn_date, t.c.txn_id).limit(limit))
    with engine.connect() as c:
        return [dict(r._mapping) for r in c.execute(query)]


def add_employee(engine: Engine, employee_id: str, name: str, *, manager_id: str | None = None,
                 email: str | None = None) -> None:
    with engine.begin() as c:
        c.execute(employees.insert().values(employee_id=employee_id, name=name, manager_id=manager_id,
                                            email=email or f"{employee_id.lower()}@example.com"))


def add_transaction(engine: Engine, employee_id: str, amount: str | Decimal, *, merchant: str = "Rail Co",
                    currency: str = "EUR", txn_date: str | None = None, txn_id: str | None = None,
                    with_receipt: bool = False) -> str:
    txn_id = txn_id or f"TX-{uuid.uuid4().hex[:10]}"
    with engine.begin() as c:
        c.execute(card_transactions.insert().values(
            txn_id=txn_id, employee_id=employee_id, merchant=merchant, amount=Decimal(str(amount)),
            currency=currency, txn_date=txn_date or (utcnow().date() - dt.timedelta(days=3)).isoformat()))
        if with_receipt:
            c.execute(expense_receipts.insert().values(txn_id=txn_id, file_name=f"{txn_id}.pdf", uploaded_at=utcnow()))
    return txn_id


_MERCHANTS = ["Rail Co", "Hotel Adler", "Taxi Berlin", "Café Central", "Office Supplies Ltd", "Airline One",
              "Conference Hall", "Bookshop Müller", "Parking Garage", "Restaurant Vero"]
_NAMES = ["Ada Lang", "Ben Okafor", "Chloé Martin", "Dev Patel", "Eva Nowak", "Finn Berg", "Gina Rossi",
          "Hugo Silva", "Ines Costa", "Jon Eriksen", "Kim Weber", "Lea Fischer"]


def seed_expenses(engine: Engine, *, employees_n: int = 8, transactions: int = 60, missing_rate: float = 0.3,
                  seed: int = 11, today: dt.date | None = None) -> dict:
    """Deterministic demo expenses: employees (two managers), card transactions over the last
    30 days, receipts for all but about ``missing_rate`` of them. Idempotent per seed.

    Returns counts: employees, transactions, missing (transactions without a receipt).
    """
    today = today or utcnow().date()
    rng = random.Random(seed)
    with engine.connect() as c:
        if c.execute(select(func.count()).select_from(employees).where(
                employees.c.employee_id.like(f"E{seed}-%"))).scalar_one():
            return {"employees": 0, "transactions": 0, "missing": 0}
    managers = [f"E{seed}-M1", f"E{seed}-M2"]
    for i, mid in enumerate(managers):
        add_employee(engine, mid, f"Manager {i + 1}")
    people = []
    for i in range(employees_n):
        eid = f"E{seed}-{i + 1:03d}"
        add_employee(engine, eid, _NAMES[i % len(_NAMES)], manager_id=managers[i % 2])
        people.append(eid)
    missing = 0
    for i in range(transactions):
        amount = Decimal(rng.choice([rng.randint(5, 120), rng.randint(120, 400), rng.randint(400, 1500)])) + \
            Decimal(rng.randint(0, 99)) / 100
        has_receipt = rng.random() >= missing_rate
        missing += not has_receipt
        add_transaction(engine, rng.choice(people), amount, merchant=rng.choice(_MERCHANTS),
                        txn_date=(today - dt.timedelta(days=rng.randint(1, 30))).isoformat(),
                        txn_id=f"TX{seed}-{i + 1:05d}", with_receipt=has_receipt)
    return {"employees": employees_n + len(managers), "transactions": transactions, "missing": missing}
