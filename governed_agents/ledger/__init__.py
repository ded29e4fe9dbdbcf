"""The governance ledger: the system of record for governance decisions.

``Ledger`` (in ``db``) opens and migrates the database and appends hash-chained
audit events; ``audit`` holds the pure hashing and chain verification; ``schema``
the tables. Importing this package imports SQLAlchemy but never Alembic (which
is loaded only when a database needs migrating).
"""

from governed_agents.ledger.audit import GENESIS_HASH, AuditEvent, VerifyResult
from governed_agents.ledger.db import Ledger

__all__ = ["GENESIS_HASH", "AuditEvent", "Ledger", "VerifyResult"]
