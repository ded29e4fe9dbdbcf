"""Housekeeping the ledger needs on a schedule (each sweep exists as a function of its own layer).

- routing: reservations left open by a crashed process are closed at their estimate
  (``expire_stale_reservations``), expired model-cache entries are purged;
- approvals: pending requests past expiry are marked expired (``expire_overdue``).

The reservation and approval sweeps are audited by the functions that do them (the cache
holds derived answers only); ``run_housekeeping`` returns
what each did, for the Dagster asset's metadata.
"""

from __future__ import annotations

import datetime as dt


def run_housekeeping(ledger=None, *, now: dt.datetime | None = None,
                     stale_after: dt.timedelta = dt.timedelta(hours=1)) -> dict:
    from governed_agents.approvals.service import expire_overdue
    from governed_agents.routing.budget import expire_stale_reservations
    from governed_agents.routing.cache import purge_expired
    from governed_agents.timeutil import utcnow

    if ledger is None:
        from governed_agents.ledger import Ledger

        ledger = Ledger.open()
    now = now or utcnow()
    expired_reservations = expire_stale_reservations(ledger, older_than=stale_after, now=now)
    purged = purge_expired(ledger, now=now)
    expired_requests = expire_overdue(ledger, now=now)
    return {"expired_reservations": len(expired_reservations), "cache_entries_purged": int(purged),
            "expired_approval_requests": len(expired_requests),
            "expired_reservation_ids": list(expired_reservations)[:50],
            "expired_request_ids": list(expired_requests)[:50]}
