"""UTC time, and undoing SQLite's habit of returning naive datetimes."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Make a datetime read back from the database timezone-aware (UTC).

    SQLite stores ``DateTime(timezone=True)`` without an offset and hands back a
    naive value; everything this package writes is UTC, so naive means UTC.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)
