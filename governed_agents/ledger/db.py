"""The governance ledger's database: opening, migrating, transactions and the audit chain.

One ``Ledger`` per (process, database URL). SQLite (the embedded default, in WAL
mode) and PostgreSQL are both first-class; everything that differs between them
lives in this module.

Appending takes the chain lock: the one ``audit_head`` row, read ``FOR UPDATE``
on PostgreSQL; on SQLite every write transaction starts with ``BEGIN
IMMEDIATE``, which already serialises writers. Under the lock the event gets
``seq = head.seq + 1`` and ``prev_hash = head.hash``, and the head moves to it,
in the same transaction as whatever state change the event records.

Round trips decide PostgreSQL's append rate, so there the lock, the hash, the
insert and the head move run server-side in one call (``ga_audit_append``, from
the migration) on a text the client rendered beforehand (``audit.hash_template``);
the client re-derives the hash with ``event_hash`` and refuses a mismatch. The
PostgreSQL driver is psycopg2 (``postgresql+psycopg2://``).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import os
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from governed_agents import config
from governed_agents.canonical import canonical_json
from governed_agents.errors import LedgerError
from governed_agents.ledger.audit import (
    AuditEvent,
    VerifyResult,
    event_hash,
    hash_template,
    verify_chain,
)
from governed_agents.ledger.schema import audit_events, audit_head

# The Alembic head this code expects. Checked with one query on open so that the
# common case (already migrated) never imports Alembic; a test keeps it equal to
# the head of migrations/versions.
HEAD_REVISION = "0004_bounds"

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# pg_advisory_lock key for migrations: "galedger" as a signed 64-bit integer.
_PG_MIGRATION_LOCK = int.from_bytes(b"galedger", "big") & 0x7FFF_FFFF_FFFF_FFFF

_SQLITE_BUSY_TIMEOUT_S = 30.0
_VERIFY_BATCH = 5_000

_UTC = _dt.timezone.utc

# (column, max length) for the text columns an appender fills; SQLite does not
# enforce VARCHAR lengths, so check here and fail the same way on both databases.
_LIMITS = (
    ("kind", 64),
    ("actor", 128),
    ("workflow", 128),
    ("trace_id", 64),
    ("run_id", 64),
    ("envelope_version", 64),
    ("envelope_digest", 80),
)

_COLUMNS = tuple(c.name for c in audit_events.columns)

# Hot-path statements, rendered once from the table's columns (no per-call compile).
_SQLITE_READ_HEAD = "SELECT seq, hash FROM audit_head WHERE id = 1"
_SQLITE_INSERT = "INSERT INTO audit_events ({}) VALUES ({})".format(
    ", ".join(_COLUMNS), ", ".join("?" for _ in _COLUMNS)
)
_SQLITE_ADVANCE_HEAD = "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1"
_PG_APPEND = (
    "SELECT o_seq, o_prev_hash, o_hash FROM ga_audit_append("
    "%(event_id)s, %(ts)s, %(kind)s, %(actor)s, %(workflow)s, %(trace_id)s, %(run_id)s, "
    "%(envelope_version)s, %(envelope_digest)s, %(payload)s, %(hash_prefix)s, %(hash_middle)s, %(hash_suffix)s)"
)

_cache: dict[tuple[int, str], "Ledger"] = {}
_cache_lock = threading.RLock()


def _after_fork_in_child() -> None:
    # A forked child must not use (or close) the parent's pooled connections, and
    # must not inherit the cache lock in whatever state another thread left it.
    global _cache_lock
    _cache_lock = threading.RLock()
    for ledger in list(_cache.values()):
        ledger.engine.dispose(close=False)
        if ledger._autocommit is not None:
            ledger._autocommit.dispose(close=False)
    _cache.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparseable URL is shown as the scheme only
        return url.split("://", 1)[0] + "://…"


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__


class Ledger:
    """The governance ledger at one database URL. Get one with ``Ledger.open``."""

    url: str
    engine: sa.Engine
    dialect: str

    def __init__(self, url: str, engine: sa.Engine):
        self.url = url
        self.engine = engine
        self.dialect = engine.dialect.name
        self._safe_url = safe_url(url)
        self._select_head = sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
        # PostgreSQL: standalone appends run as one autocommitted statement. A separate
        # small pool, because switching a pooled connection in and out of autocommit
        # costs psycopg2 a round trip each way.
        self._autocommit = (
            sa.create_engine(
                engine.url,
                isolation_level="AUTOCOMMIT",
                connect_args=_pg_connect_args(engine.url),
                pool_size=2,
                max_overflow=10,
            )
            if self.dialect == "postgresql"
            else None
        )

    # --- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | None = None) -> "Ledger":
        """The ledger at ``url`` (default ``config.ledger_url()``), migrated to the current schema.

        Cached per process and URL. Raises ``LedgerError`` when the database cannot
        be reached or migrated: no governed write proceeds without its ledger.
        """
        url = url or config.ledger_url()
        key = (os.getpid(), url)
        with _cache_lock:
            ledger = _cache.get(key)
            if ledger is None:
                ledger = cls._create(url)
                _cache[key] = ledger
            return ledger

    @classmethod
    def _create(cls, url: str) -> "Ledger":
        shown = safe_url(url)
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise LedgerError(
                f"the ledger URL {shown!r} is not a database URL: {exc}",
                hint="set GOVERNED_AGENTS_DB_URL to e.g. postgresql+psycopg2://user@host/db or sqlite:////path/ledger.sqlite3",
            ) from exc
        backend = parsed.get_backend_name()
        try:
            if backend == "sqlite":
                engine = _sqlite_engine(parsed)
            elif backend == "postgresql":
                engine = _postgres_engine(parsed)
            else:
                raise LedgerError(
                    f"the governance ledger runs on SQLite or PostgreSQL, not {backend!r} ({shown})",
                    hint="set GOVERNED_AGENTS_DB_URL to a sqlite:/// or postgresql+psycopg2:// URL",
                )
        except (ArgumentError, NoSuchModuleError) as exc:
            raise LedgerError(f"cannot use the ledger URL {shown}: {exc}") from exc
        ledger = cls(url, engine)
        try:
            ledger._ensure_schema(parsed)
        except LedgerError:
            ledger.dispose()
            raise
        except DBAPIError as exc:
            ledger.dispose()
            raise LedgerError(
                f"cannot reach the governance ledger at {shown}: {_reason(exc)}",
                hint="check that the database is running and GOVERNED_AGENTS_DB_URL is right; "
                "governed writes are refused until the ledger is reachable",
                details={"url": shown},
            ) from exc
        return ledger

    def dispose(self) -> None:
        """Close this ledger's connections and forget it (the next ``open`` starts afresh)."""
        with _cache_lock:
            if _cache.get((os.getpid(), self.url)) is self:
                del _cache[(os.getpid(), self.url)]
        self.engine.dispose()
        if self._autocommit is not None:
            self._autocommit.dispose()

    # --- schema --------------------------------------------------------------------------

    def _ensure_schema(self, parsed: sa.URL) -> None:
        if self.dialect == "sqlite":
            with _sqlite_migration_lock(parsed.database):
                with self.engine.connect() as conn:
                    if self._revision(conn) != HEAD_REVISION:
                        self._migrate(conn)
            return
        # PostgreSQL: check without the lock first (the common case), then serialise migrators.
        with self.engine.connect() as conn:
            if self._revision(conn) == HEAD_REVISION:
                return
            conn.rollback()
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            try:
                if self._revision(conn) != HEAD_REVISION:
                    self._migrate(conn)
            finally:
                conn.rollback()
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                conn.commit()

    def _revision(self, conn: sa.Connection) -> str | None:
        if self.dialect == "sqlite":
            exists = conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).scalar()
        else:
            exists = conn.exec_driver_sql("SELECT to_regclass('alembic_version')").scalar()
        if not exists:
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()

    def _migrate(self, conn: sa.Connection) -> None:
        from alembic import command
        from alembic.config import Config
        from alembic.util.exc import CommandError

        current = self._revision(conn)
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["connection"] = conn
        try:
            command.upgrade(cfg, "head")
            conn.commit()
        except CommandError as exc:
            conn.rollback()
            raise LedgerError(
                f"cannot migrate the governance ledger at {self._safe_url} (at revision {current}): {exc}",
                hint="a newer governed-agents may have migrated this database; upgrade governed-agents",
            ) from exc
        except SQLAlchemyError as exc:
            conn.rollback()
            raise LedgerError(
                f"cannot migrate the governance ledger at {self._safe_url}: {_reason(exc)}",
                details={"url": self._safe_url},
            ) from exc

    # --- transactions --------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One write transaction: commits on exit, rolls back on an exception.

        On SQLite it starts with ``BEGIN IMMEDIATE``: the write lock is taken up
        front, so concurrent writers queue (up to the busy timeout) instead of
        failing when a read would have to upgrade to a write. Errors raised by the
        body propagate unchanged; failing to connect, begin or commit is a
        ``LedgerError``.
        """
        try:
            conn = self.engine.connect()
        except DBAPIError as exc:
            raise self._error("connect to", exc) from exc
        try:
            if self.dialect == "sqlite":
                conn.execution_options(ga_immediate=True)
            try:
                trans = conn.begin()
            except DBAPIError as exc:
                raise self._error("begin a transaction on", exc) from exc
            try:
                yield conn
            except BaseException:
                if trans.is_active:
                    trans.rollback()
                raise
            if trans.is_active:
                try:
                    trans.commit()
                except DBAPIError as exc:
                    raise self._error("commit to", exc) from exc
        finally:
            conn.close()

    def _error(self, action: str, exc: BaseException) -> LedgerError:
        return LedgerError(
            f"cannot {action} the governance ledger at {self._safe_url}: {_reason(exc)}",
            hint="governed writes are refused until the ledger is writable",
            details={"url": self._safe_url},
        )

    # --- the audit chain -----------------------------------------------------------------

    def append(
        self,
        kind: str,
        payload: dict,
        *,
        actor: str | None = None,
        workflow: str | None = None,
        trace_id: str | None = None,
        run_id: str | None = None,
        envelope_version: str | None = None,
        envelope_digest: str | None = None,
        conn: sa.Connection | None = None,
    ) -> AuditEvent:
        """Append one hash-chained audit event.

        With ``conn`` (from ``Ledger.transaction()``) the event is part of that
        transaction, so a state change and its audit event commit or roll back
        together; the chain lock is then held until that transaction ends, so
        append late in it. Without ``conn`` the event commits on its own.
        """
        fields: dict[str, Any] = {
            "kind": kind,
            "actor": actor,
            "workflow": workflow,
            "trace_id": trace_id,
            "run_id": run_id,
            "envelope_version": envelope_version,
            "envelope_digest": envelope_digest,
        }
        for name, limit in _LIMITS:
            value = fields[name]
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                raise LedgerError(
                    f"audit event {name} must be a string of at most {limit} characters, got {value!r:.80}"
                )
        if not kind:
            raise LedgerError("audit event kind must not be empty")
        if not isinstance(payload, dict):
            raise LedgerError(f"audit event payload must be a dict, got {type(payload).__name__}")
        try:
            fields["payload"] = canonical_json(payload)
        except (TypeError, ValueError) as exc:
            raise LedgerError(f"audit event {kind!r}: payload has no canonical JSON form: {exc}") from exc
        fields["event_id"] = str(uuid.uuid4())
        fields["ts"] = _dt.datetime.now(_UTC)
        # Everything but the chain fields is rendered before the chain lock is taken,
        # so the lock is held only for the head read, one SHA-256, and the writes.
        template = hash_template(fields)

        if conn is None:
            if self.dialect == "postgresql":
                # One statement is its own transaction: one round trip, committed on return.
                try:
                    own = self._autocommit.connect()
                except DBAPIError as exc:
                    raise self._error("connect to", exc) from exc
                with own:
                    return self._append(own, fields, template)
            with self.transaction() as own:
                return self._append(own, fields, template)
        if self.dialect == "sqlite" and not conn.get_execution_options().get("ga_immediate"):
            raise LedgerError(
                "Ledger.append(conn=...) on SQLite needs a connection from Ledger.transaction()",
                hint="open the transaction with `with ledger.transaction() as conn:` so it takes the write lock up front",
            )
        return self._append(conn, fields, template)

    def _append(self, conn: sa.Connection, fields: dict[str, Any], template: tuple[str, str, str]) -> AuditEvent:
        if self.dialect == "postgresql":
            self._append_postgres(conn, fields, template)
        else:
            self._append_sqlite(conn, fields, template)
        return AuditEvent.from_row(fields)

    def _append_sqlite(self, conn: sa.Connection, fields: dict[str, Any], template: tuple[str, str, str]) -> None:
        # The hot path runs three fixed statements on the driver connection, inside
        # SQLAlchemy's transaction: SQLAlchemy's per-statement machinery cost more
        # than SQLite's work here.
        driver = conn.connection.driver_connection
        prefix, middle, suffix = template
        try:
            head_seq, head_hash = driver.execute(_SQLITE_READ_HEAD).fetchone()
            seq = head_seq + 1
            digest = hashlib.sha256(f"{prefix}{head_hash}{middle}{seq}{suffix}".encode()).hexdigest()
            driver.execute(
                _SQLITE_INSERT,
                (
                    seq,
                    fields["event_id"],
                    fields["ts"].strftime("%Y-%m-%d %H:%M:%S.%f"),  # SQLAlchemy's SQLite DATETIME form
                    fields["kind"],
                    fields["actor"],
                    fields["workflow"],
                    fields["trace_id"],
                    fields["run_id"],
                    fields["envelope_version"],
                    fields["envelope_digest"],
                    fields["payload"],
                    head_hash,
                    digest,
                ),
            )
            driver.execute(_SQLITE_ADVANCE_HEAD, (seq, digest))
        except self.engine.dialect.loaded_dbapi.Error as exc:
            raise self._error("append to", exc) from exc
        fields["seq"] = seq
        fields["prev_hash"] = head_hash
        fields["hash"] = digest

    def _append_postgres(self, conn: sa.Connection, fields: dict[str, Any], template: tuple[str, str, str]) -> None:
        prefix, middle, suffix = template
        params = dict(fields, hash_prefix=prefix, hash_middle=middle, hash_suffix=suffix)
        try:
            seq, prev_hash, digest = conn.exec_driver_sql(_PG_APPEND, params).one()
        except DBAPIError as exc:
            raise self._error("append to", exc) from exc
        fields["seq"] = seq
        fields["prev_hash"] = prev_hash
        fields["hash"] = digest
        # The database filled in the template; check it against the reference hash.
        if event_hash(fields) != digest:  # pragma: no cover - a bug, never expected
            raise LedgerError(
                f"audit event {seq}: the database computed hash {digest[:12]}… but the event hashes to "
                f"{event_hash(fields)[:12]}…; refusing to continue",
                hint="this is a bug in governed-agents; run `governed-agents audit verify`",
            )

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the chain head; ``(0, GENESIS_HASH)`` when no event was appended."""
        try:
            with self.engine.connect() as conn:
                row = conn.execute(self._select_head).one_or_none()
        except DBAPIError as exc:
            raise self._error("read", exc) from exc
        if row is None:
            raise LedgerError(
                f"the governance ledger at {self._safe_url} has no chain head row (audit_head id=1 deleted?)",
                hint="run `governed-agents audit verify` and restore the ledger from a backup",
            )
        return int(row[0]), row[1]

    def events(
        self,
        *,
        trace_id: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
        after_seq: int | None = None,
    ) -> list[AuditEvent]:
        """Events in ascending ``seq``, filtered; ``limit`` takes the first N after ``after_seq``."""
        stmt = sa.select(audit_events).order_by(audit_events.c.seq)
        if trace_id is not None:
            stmt = stmt.where(audit_events.c.trace_id == trace_id)
        if kind is not None:
            stmt = stmt.where(audit_events.c.kind == kind)
        if after_seq is not None:
            stmt = stmt.where(audit_events.c.seq > after_seq)
        if limit is not None:
            stmt = stmt.limit(limit)
        try:
            with self.engine.connect() as conn:
                return [AuditEvent.from_row(row) for row in conn.execute(stmt).mappings()]
        except DBAPIError as exc:
            raise self._error("read", exc) from exc

    def verify(self, *, progress: Callable[[int, int], None] | None = None) -> VerifyResult:
        """Walk the whole chain in ``seq`` order (streamed, constant memory) and check it.

        Reads the head and the events from one snapshot, so appends running
        meanwhile do not make it fail. ``progress(checked, head_seq)`` is called
        every 100,000 events.
        """
        try:
            with self.engine.connect() as conn:
                return self._verify_on(conn, progress=progress)
        except DBAPIError as exc:
            raise self._error("read", exc) from exc

    def _verify_on(
        self, conn: sa.Connection, *, progress: Callable[[int, int], None] | None = None
    ) -> VerifyResult:
        if self.dialect == "postgresql" and not conn.in_transaction():
            # One snapshot for the head and every event (the first statement of the transaction).
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = conn.execute(self._select_head).one_or_none()
        head = (int(row[0]), row[1]) if row is not None else None
        rows = conn.execute(
            sa.select(*(audit_events.c[name] for name in _COLUMNS)).order_by(audit_events.c.seq),
            execution_options={"yield_per": _VERIFY_BATCH},
        ).mappings()
        head_seq = head[0] if head is not None else 0
        try:
            result = verify_chain(
                rows,
                head,
                progress=(lambda n: progress(n, head_seq)) if progress is not None else None,
            )
        finally:
            rows.close()
        if head is None and result.ok:
            return VerifyResult(
                ok=False,
                events_checked=result.events_checked,
                head_seq=0,
                first_bad_seq=None,
                problem="the chain head row is missing (audit_head id=1 deleted?)",
            )
        return result


# --- engines -----------------------------------------------------------------------------------


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    connect_args: dict[str, Any] = {"timeout": _SQLITE_BUSY_TIMEOUT_S}
    engine = sa.create_engine(url, connect_args=connect_args)

    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's implicit
        # BEGIN would be deferred and only before DML).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(_SQLITE_BUSY_TIMEOUT_S * 1000)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @sa_event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        # Straight to the driver: this runs once per transaction, on the append hot path.
        statement = "BEGIN IMMEDIATE" if conn.get_execution_options().get("ga_immediate") else "BEGIN"
        driver = conn.connection.driver_connection
        try:
            driver.execute(statement)
        except sqlite3.Error as exc:  # e.g. "database is locked" after the busy timeout
            raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc

    return engine


def _pg_connect_args(url: sa.URL) -> dict[str, Any]:
    if url.get_driver_name() in ("psycopg2", "psycopg") and "connect_timeout" not in url.query:
        return {"connect_timeout": 10}
    return {}


def _postgres_engine(url: sa.URL) -> sa.Engine:
    # No pool_pre_ping: it costs a round trip per append; a dead pooled connection
    # fails one call (a LedgerError) and is replaced.
    return sa.create_engine(url, connect_args=_pg_connect_args(url), pool_size=5, max_overflow=10)


@contextlib.contextmanager
def _sqlite_migration_lock(database: str | None) -> Iterator[None]:
    """An exclusive file lock next to the database, held while checking and migrating it."""
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX; SQLite's own locking must do
        yield
        return
    lock_path = Path(database).expanduser().with_name(Path(database).name + ".migrate-lock")
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
