"""The kill switch: global or per workflow. While on, no write executes.

Reads continue (read-only degradation). Flipping it needs a token with the
``killswitch.set`` action and writes an audit event in the same transaction.
The executor re-reads it immediately before every write, so a write already in
flight stops at its last gate.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from governed_agents.ledger.schema import kill_switch
from governed_agents.timeutil import as_utc, utcnow

GLOBAL = "global"


def scope_for(workflow: str | None) -> str:
    return GLOBAL if not workflow else f"workflow:{workflow}"


@dataclass(frozen=True)
class KillSwitchState:
    global_engaged: bool
    workflow_engaged: bool

    @property
    def engaged(self) -> bool:
        return self.global_engaged or self.workflow_engaged


def state(ledger, workflow: str | None, *, conn=None) -> KillSwitchState:
    """Whether writes are stopped for ``workflow`` (globally or for it alone).

    A ledger that cannot be read raises: callers about to write must treat that
    as engaged (fail closed).
    """
    scopes = [GLOBAL] + ([scope_for(workflow)] if workflow else [])
    query = select(kill_switch.c.scope, kill_switch.c.engaged).where(kill_switch.c.scope.in_(scopes))

    def _read(c):
        return {row.scope: bool(row.engaged) for row in c.execute(query)}

    if conn is not None:
        found = _read(conn)
    else:
        with ledger.engine.connect() as c:
            found = _read(c)
    return KillSwitchState(
        global_engaged=found.get(GLOBAL, False),
        workflow_engaged=bool(workflow) and found.get(scope_for(workflow), False),
    )


def set_state(ledger, *, engaged: bool, token: str | None, workflow: str | None = None,
              reason: str | None = None, directory=None) -> dict:
    """Turn the switch on or off for one scope, as the principal the token names."""
    from governed_agents.identity.tokens import verify_token

    claims = verify_token(token, action="killswitch.set", workflow=workflow or "*", directory=directory)
    scope = scope_for(workflow)
    now = utcnow()
    with ledger.transaction() as c:
        existing = c.execute(select(kill_switch).where(kill_switch.c.scope == scope)).first()
        values = {"engaged": engaged, "reason": reason, "changed_by": claims.principal.id, "changed_at": now}
        if existing is None:
            c.execute(kill_switch.insert().values(scope=scope, **values))
        else:
            c.execute(kill_switch.update().where(kill_switch.c.scope == scope).values(**values))
        ledger.append(
            "kill_switch.engaged" if engaged else "kill_switch.released",
            {"scope": scope, "reason": reason, "token_id": claims.token_id},
            actor=claims.principal.id,
            workflow=workflow,
            conn=c,
        )
    return {"scope": scope, "engaged": engaged, "changed_by": claims.principal.id, "changed_at": now,
            "reason": reason}


def list_states(ledger) -> list[dict]:
    with ledger.engine.connect() as c:
        rows = c.execute(select(kill_switch).order_by(kill_switch.c.scope)).fetchall()
    return [
        {**dict(r._mapping), "changed_at": as_utc(r._mapping["changed_at"])} for r in rows
    ]
