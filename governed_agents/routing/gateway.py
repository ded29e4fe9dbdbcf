"""The model gateway: the one call path for every model call.

``ModelGateway.complete(task, tier, messages, tools)``:

1. resolve the tier (``router`` / ``reasoning`` / ``fallback``) through the
   envelope's ``models:`` alias and the model catalog;
2. answer from the cache if this exact deterministic call was made before (cost 0);
3. **reserve** the estimated cost, atomically, against every budget that applies
   (task cost and tokens; workflow, user and tenant per day and month), applying
   the downgrade ladder as budgets fill: smaller model → reduced context →
   confirmation (an approval request) → stop (``BudgetExhausted``). No call is
   made without a reservation;
4. call litellm with the model's timeout and bounded retries (429 and 5xx),
   then fall back to the ``fallback`` tier on 429, 5xx, timeouts and malformed
   answers (with a reservation of its own);
5. **settle** the actual cost (litellm's price when it has one, else the
   catalog's) and, in the same transaction, record a redacted transcript, the
   cache entry and a ``model.call`` audit event carrying the trace id;
   a failed call **releases** its reservation.

``task`` is the executor's ``TaskContext``; its ``tokens_used`` and ``cost_usd``
are updated as calls settle, so the gate's token budget sees model spend.
litellm is imported on the first call that reaches a model, never before.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import sqlalchemy as sa

from governed_agents.canonical import canonical_json, digest
from governed_agents.errors import GovernanceError, PolicyError, UsageError
from governed_agents.faults import crash_point
from governed_agents.observability import otel as _otel
from governed_agents.ledger.schema import approval_requests
from governed_agents.routing import _sql
from governed_agents.routing import budget as _budget
from governed_agents.routing import cache as _cache
from governed_agents.routing.budget import Scope, Usage, from_e8, to_e8
from governed_agents.routing.catalog import LoadedCatalog, ResolvedModel, load_catalog
from governed_agents.routing.errors import (
    BudgetExhausted,
    ConfirmationRefused,
    ConfirmationRequired,
    ModelCallFailed,
    ModelOutputInvalid,
    usd,
)
from governed_agents.routing.ladder import (
    REDUCED_CONTEXT,
    REQUIRE_CONFIRMATION,
    SMALLER_MODEL,
    STOP,
    DowngradeStep,
    estimate_input_tokens,
    over_cap,
    pressures,
    reduce_context,
    steps_for,
)
from governed_agents.routing.redact import redact
from governed_agents.timeutil import utcnow

TIERS: tuple[str, ...] = ("router", "reasoning", "fallback")
#: The approval action a spend confirmation is requested under.
CONFIRM_ACTION = "model.spend_confirmation"

# Failure kinds of one attempt.
RATE_LIMITED = "rate_limited"
SERVER_ERROR = "server_error"
UNAVAILABLE = "unavailable"
TIMEOUT = "timeout"
MALFORMED = "malformed_response"
ERROR = "error"
_RETRY = frozenset({RATE_LIMITED, SERVER_ERROR, UNAVAILABLE})
_FALLBACK = frozenset({RATE_LIMITED, SERVER_ERROR, UNAVAILABLE, TIMEOUT, MALFORMED})
_MAX_BACKOFF_S = 8.0

# Hot statements, run on the driver (see _sql).
_RESERVATION_COLUMNS = ("id", "task_id", "workflow", "principal", "tenant", "model", "tier", "alias", "estimated_usd",
                        "actual_usd", "estimated_tokens", "actual_tokens", "status", "trace_id", "run_id",
                        "created_at", "settled_at", "offline_model", "cache_hit", "downgrade")
_INSERT_RESERVATION = (f"INSERT INTO spend_reservations ({', '.join(_RESERVATION_COLUMNS)}) "
                       f"VALUES ({', '.join(':' + c for c in _RESERVATION_COLUMNS)})")
_CLOSE_RESERVATION = ("UPDATE spend_reservations SET status = :new_status, actual_usd = :a_usd, "
                      "actual_tokens = :a_tokens, settled_at = :at WHERE id = :rid AND status = 'reserved'")
_TRANSCRIPT_COLUMNS = ("id", "task_id", "workflow", "trace_id", "run_id", "tier", "model", "request", "response",
                       "redacted", "offline_model", "cache_hit", "created_at", "expires_at")
_INSERT_TRANSCRIPT = (f"INSERT INTO transcripts ({', '.join(_TRANSCRIPT_COLUMNS)}) "
                      f"VALUES ({', '.join(':' + c for c in _TRANSCRIPT_COLUMNS)})")


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call the model proposed. ``parsed`` is None when ``arguments`` is not a JSON object."""

    id: str
    name: str
    arguments: str
    parsed: dict | None
    error: str | None = None

    def to_message(self) -> dict:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of one model."""

    tier: str
    alias: str
    model: str
    outcome: str  # ok | rate_limited | server_error | unavailable | timeout | malformed_response | error
    status: int | None = None
    error: str | None = None
    latency_ms: float = 0.0

    def to_dict(self) -> dict:
        return {"tier": self.tier, "alias": self.alias, "model": self.model, "outcome": self.outcome,
                "status": self.status, "error": self.error, "latency_ms": round(self.latency_ms, 2)}


@dataclass(frozen=True)
class ModelResult:
    """What one governed model call returned, cost and route included."""

    call_id: str
    content: str | None
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str | None
    requested_tier: str
    tier: str
    alias: str
    model: str
    offline_model: bool
    cached: bool
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal
    estimated_usd: Decimal
    cost_source: str  # litellm | catalog | cache
    downgrades: tuple[DowngradeStep, ...] = ()
    fallback_used: bool = False
    attempts: tuple[Attempt, ...] = ()
    confirmation_id: str | None = None
    transcript_id: str | None = None
    audit_seq: int | None = None
    latency_ms: float = 0.0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def message(self) -> dict:
        """The assistant message to append to the conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [call.to_message() for call in self.tool_calls]
        return message

    def json(self) -> Any:
        """The content parsed as JSON; ``ModelOutputInvalid`` (naming model and call) when it is not."""
        text = (self.content or "").strip()
        if text.startswith("```"):
            text = text.strip("`")
            text = text[text.find("\n") + 1 :] if "\n" in text else text
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ModelOutputInvalid(
                f"the {self.tier} tier ({self.model}) answered with text that is not valid JSON "
                f"({exc.msg} at line {exc.lineno}, column {exc.colno}); call {self.call_id}",
                hint="the answer is data to validate, never to trust: retry, or route the item to a person",
                details={"call_id": self.call_id, "model": self.model, "content_start": (self.content or "")[:200]},
            ) from None

    def to_dict(self) -> dict:
        """A JSON-ready summary (no content) for receipts and reports."""
        return {
            "call_id": self.call_id, "requested_tier": self.requested_tier, "tier": self.tier, "alias": self.alias,
            "model": self.model, "offline_model": self.offline_model, "cached": self.cached,
            "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
            "cost_usd": str(self.cost_usd), "estimated_usd": str(self.estimated_usd),
            "cost_source": self.cost_source, "fallback_used": self.fallback_used,
            "downgrades": [d.to_dict() for d in self.downgrades],
            "attempts": [a.to_dict() for a in self.attempts], "finish_reason": self.finish_reason,
            "tool_calls": [c.name for c in self.tool_calls], "confirmation_id": self.confirmation_id,
            "transcript_id": self.transcript_id,
        }


# -- internal plan ---------------------------------------------------------------------------


@dataclass
class _Plan:
    reservation_id: str
    tier: str
    model: ResolvedModel
    messages: list[dict]
    max_tokens: int
    est_e8: int
    est_tokens: int
    scopes: list[Scope]
    created_at: _dt.datetime
    downgrades: tuple[DowngradeStep, ...] = ()
    confirmation_id: str | None = None
    open: bool = True

    @property
    def keys(self) -> list[str]:
        return [s.key for s in self.scopes]


class _Refused(Exception):
    def __init__(self, over: list, est_e8: int, est_tokens: int, usage: dict[str, Usage], model: ResolvedModel,
                 tier: str, downgrades: list[DowngradeStep]):
        super().__init__("refused")
        self.over, self.est_e8, self.est_tokens, self.usage = over, est_e8, est_tokens, usage
        self.model, self.tier, self.downgrades = model, tier, downgrades


class _NeedsConfirmation(Exception):
    def __init__(self, pressure, threshold: float, downgrades: list[DowngradeStep], state: dict | None):
        super().__init__("confirmation")
        self.pressure, self.threshold, self.downgrades, self.state = pressure, threshold, downgrades, state


@dataclass
class _Options:
    temperature: float | None
    max_tokens: int | None
    tool_choice: Any
    response_format: Any
    purpose: str | None
    extra: dict = field(default_factory=dict)


def _normal_message(message: Any) -> dict:
    if isinstance(message, dict):
        return dict(message)
    dump = getattr(message, "model_dump", None)
    if callable(dump):
        return {k: v for k, v in dump().items() if v is not None}
    return dict(message)


def _effective_max_tokens(model: ResolvedModel, requested: int | None) -> int:
    return min(requested, model.max_output_tokens) if requested else model.max_output_tokens


# -- the gateway ------------------------------------------------------------------------------


class ModelGateway:
    """Every model call goes through ``complete``. One per process is the usual shape.

    ``catalog``: a ``LoadedCatalog``, a path, or ``None`` for the configured
    catalog (``$GOVERNED_AGENTS_MODEL_CATALOG`` or ``policies/models.yaml``,
    re-read when the file changes). ``cache=False`` turns the model cache off
    for this gateway whatever the catalog says. ``clock`` and ``sleep`` are for
    tests.
    """

    def __init__(self, ledger: Any, catalog: LoadedCatalog | str | Path | None = None, *,
                 cache: bool = True, clock: Callable[[], _dt.datetime] = utcnow,
                 sleep: Callable[[float], None] = time.sleep):
        self.ledger = ledger
        self._catalog = catalog if isinstance(catalog, LoadedCatalog) else None
        self._catalog_path = Path(catalog) if isinstance(catalog, (str, Path)) else None
        self.cache_enabled = cache
        self.clock = clock
        self.sleep = sleep

    @property
    def catalog(self) -> LoadedCatalog:
        if self._catalog is not None:
            return self._catalog
        return load_catalog(self._catalog_path)

    def resolve(self, envelope: Any, tier: str, catalog: LoadedCatalog | None = None) -> ResolvedModel:
        """The catalog model behind ``tier`` of ``envelope`` (a ``LoadedEnvelope``)."""
        if tier not in TIERS:
            raise UsageError(f"unknown model tier {tier!r}: use one of {', '.join(TIERS)}")
        alias = getattr(envelope.envelope.models, tier)
        return (catalog or self.catalog).resolve(alias)

    # -- the call path --------------------------------------------------------------------

    @_otel.traced_model_call  # a GenAI span per call when OTLP export is configured
    def complete(
        self,
        task: Any,
        tier: str = "router",
        messages: list[dict] | None = None,
        tools: list[dict] | None = None,
        *,
        temperature: float | None = 0.0,
        max_tokens: int | None = None,
        tool_choice: Any = None,
        response_format: Any = None,
        confirmation: str | None = None,
        purpose: str | None = None,
    ) -> ModelResult:
        """One governed model call for ``task`` (a ``TaskContext``) on ``tier``.

        Raises ``BudgetExhausted`` (no reservation; nothing called or spent),
        ``ConfirmationRequired`` (an approval request was made; call again once
        it is approved), ``ConfirmationRefused``, ``ModelCallFailed`` (every
        model tried failed; reservations released) or ``CatalogError``.
        """
        started = time.perf_counter()
        from governed_agents.envelope.loader import LoadedEnvelope

        if not isinstance(task.envelope, LoadedEnvelope):
            raise PolicyError("a model call needs the task's envelope from the loader (LoadedEnvelope); refusing")
        if not messages:
            raise UsageError("a model call needs at least one message")
        messages = [_normal_message(m) for m in messages]
        tools = list(tools) if tools else None
        options = _Options(temperature, max_tokens, tool_choice, response_format, purpose)
        catalog = self.catalog  # one catalog for the whole call, even if the file changes meanwhile
        requested = self.resolve(task.envelope, tier, catalog)
        now = self.clock()

        cache_key = None
        if self.cache_enabled and catalog.cache.enabled and temperature is not None and float(temperature) == 0.0:
            cache_key = self._key(requested, messages, tools, options, task.tenant,
                                  _effective_max_tokens(requested, max_tokens))

        plan: _Plan | None = None
        attempts: list[Attempt] = []
        try:
            # The cache is read in the reservation's transaction: a hit is recorded there, a miss reserves.
            reserved = self._reserve(task, tier, requested, messages, tools, options, confirmation, now,
                                     fallback=False, catalog=catalog, cache_key=cache_key, started=started)
            if isinstance(reserved, ModelResult):
                return reserved
            plan = reserved
            crash_point("after_budget_reservation")
            fallback_used = False
            while True:
                response, tried, kind, error = self._attempt(plan, tools, options)
                attempts.extend(tried)
                if response is not None:
                    break
                self._release(task, plan, kind, error)
                if kind in _FALLBACK and plan.tier != "fallback" and not fallback_used:
                    fallback_used = True
                    fallback_model = self.resolve(task.envelope, "fallback", catalog)
                    try:
                        plan = self._reserve(task, "fallback", fallback_model, plan.messages, tools, options,
                                             confirmation, self.clock(), fallback=True, catalog=catalog,
                                             carried=plan.downgrades, max_tokens=plan.max_tokens)
                    except (BudgetExhausted, ConfirmationRequired) as refusal:
                        raise self._failed(task, tier, attempts, refusal) from refusal
                    continue
                raise self._failed(task, tier, attempts, None)
            return self._settle(task, tier, plan, response, attempts, fallback_used, options, tools,
                                cache_key, requested, messages, started, catalog)
        finally:
            if plan is not None and plan.open:
                # Anything unexpected (a bug, KeyboardInterrupt): never leave the reservation open.
                self._release(task, plan, ERROR, None)

    # -- reservation ----------------------------------------------------------------------

    def _key(self, model: ResolvedModel, messages: list[dict], tools: list[dict] | None, options: _Options,
             tenant: str | None, max_tokens: int) -> str:
        return _cache.cache_key(
            model=model.model, messages=messages, tools=tools, tenant=tenant,
            options={"temperature": options.temperature, "max_tokens": max_tokens,
                     "tool_choice": options.tool_choice, "response_format": options.response_format},
        )

    def _cheaper(self, envelope: Any, current: ResolvedModel, catalog: LoadedCatalog) -> tuple[str, ResolvedModel] | None:
        price = current.input_usd_per_1k + current.output_usd_per_1k
        best: tuple[str, ResolvedModel] | None = None
        for tier in ("fallback", "router", "reasoning"):
            model = self.resolve(envelope, tier, catalog)
            cost = model.input_usd_per_1k + model.output_usd_per_1k
            if cost < price and (best is None or cost > best[1].input_usd_per_1k + best[1].output_usd_per_1k):
                best = (tier, model)
        return best

    def _confirmation(self, conn: sa.Connection, task: Any, confirmation: str | None) -> dict | None:
        """The spend confirmation of this task: ``{"id", "status"}`` or None."""
        c = approval_requests.c
        if confirmation:
            row = conn.execute(sa.select(approval_requests).where(c.id == confirmation)).mappings().first()
            if row is None or row["action"] != CONFIRM_ACTION or row["idempotency_key"] != _confirm_key(task):
                raise ConfirmationRefused(
                    f"{confirmation!r} is not a spend confirmation for task {task.task_id}",
                    hint="pass the approval request id the ConfirmationRequired error named, or none",
                )
        else:
            row = conn.execute(
                sa.select(approval_requests)
                .where(c.idempotency_key == _confirm_key(task), c.action == CONFIRM_ACTION)
                .order_by(c.created_at.desc())
                .limit(1)
            ).mappings().first()
        if row is None:
            return None
        from governed_agents.timeutil import as_utc

        status = row["status"]
        if status == "pending" and as_utc(row["expires_at"]) <= self.clock():
            status = "expired"
        return {"id": row["id"], "status": status}

    def _reserve(self, task: Any, tier: str, requested: ResolvedModel, messages: list[dict],
                 tools: list[dict] | None, options: _Options, confirmation: str | None, now: _dt.datetime,
                 *, fallback: bool, catalog: LoadedCatalog | None = None, carried: tuple[DowngradeStep, ...] = (),
                 max_tokens: int | None = None, cache_key: str | None = None,
                 started: float | None = None) -> _Plan | ModelResult:
        catalog = catalog or self.catalog
        envelope = task.envelope
        thresholds = tuple(envelope.envelope.budgets.downgrade_at_fraction)
        scopes = _budget.scopes_for(task_id=task.task_id, workflow=task.workflow, principal=task.requested_by,
                                    tenant=task.tenant, at=now)
        keys = [s.key for s in scopes]
        task_key = next(s.key for s in scopes if s.scope == "task")
        reservation_id = str(uuid.uuid4())
        full_estimate = estimate_input_tokens(messages, tools)  # outside the lock; redone only if context is cut
        try:
            with self.ledger.transaction() as conn:
                _budget.lock_scopes(conn, keys)
                usage, admin_caps, hit = _budget.read_state(conn, scopes, cache_key=cache_key, now=now)
                if hit is not None:
                    return self._serve_cached(conn, task, tier, requested, messages, tools, options, cache_key,
                                              hit, now, started if started is not None else time.perf_counter())
                # The task context may know of spend the ledger does not (work done elsewhere).
                known = usage.get(task_key, Usage())
                usage[task_key] = replace(
                    known,
                    settled_tokens=max(known.settled_tokens, int(task.tokens_used) - known.reserved_tokens),
                    settled_e8=max(known.settled_e8, to_e8(task.cost_usd or "0") - known.reserved_e8),
                )
                budgets = _budget.budgets_for(envelope, scopes, admin_caps)
                ranked = pressures(budgets, usage, thresholds)
                top = ranked[0] if ranked else None
                tier_used, model = tier, requested
                sent = messages
                out_tokens = max_tokens or _effective_max_tokens(requested, options.max_tokens)
                downgrades = [d for d in carried if d.step != SMALLER_MODEL]
                applied = {d.step for d in downgrades}
                confirmation_id = None
                unconfirmed: tuple[float, dict | None] | None = None
                for step, threshold in steps_for(top, thresholds):
                    who = dict(budget=top.budget.budget, scope=top.budget.scope.scope, name=top.budget.scope.name,
                               fraction=top.fraction, threshold=threshold)
                    if step == SMALLER_MODEL and not fallback:
                        cheaper = self._cheaper(envelope, model, catalog)
                        if cheaper is not None:
                            tier_used, model = cheaper
                            detail = f"{tier} tier {requested.alias} → {tier_used} tier {model.alias}"
                        else:
                            detail = f"{tier} tier {requested.alias} is already the cheapest tier"
                        downgrades.append(DowngradeStep(SMALLER_MODEL, detail=detail, **who))
                        out_tokens = min(out_tokens, model.max_output_tokens)
                    elif step == REDUCED_CONTEXT and step not in applied:
                        before = len(sent)
                        sent = reduce_context(sent)
                        out_tokens = max(1, out_tokens // 2)
                        downgrades.append(DowngradeStep(
                            REDUCED_CONTEXT, detail=f"{before} → {len(sent)} messages, output limit {out_tokens} tokens",
                            **who))
                    elif step == REQUIRE_CONFIRMATION:
                        state = self._confirmation(conn, task, confirmation)
                        if state is None or state["status"] != "approved":
                            unconfirmed = (threshold, state)
                            continue
                        confirmation_id = state["id"]
                        if step not in applied:
                            downgrades.append(DowngradeStep(
                                REQUIRE_CONFIRMATION, detail=f"confirmed by approval request {state['id']}", **who))
                out_tokens = min(out_tokens, model.max_output_tokens)
                est_in = full_estimate if sent is messages else estimate_input_tokens(sent, tools)
                est_tokens = est_in + out_tokens
                est_e8 = to_e8(model.cost(est_in, out_tokens), up=True)
                over = over_cap(budgets, usage, est_e8, est_tokens)
                if over:
                    # Stop comes first: no point asking to confirm a call that cannot fit.
                    raise _Refused(over, est_e8, est_tokens, usage, model, tier_used, downgrades)
                if unconfirmed is not None:
                    raise _NeedsConfirmation(top, unconfirmed[0], downgrades, unconfirmed[1])
                _sql.run_together(conn, [
                    _budget.reserved_piece(scopes, est_e8, est_tokens, now),
                    (_INSERT_RESERVATION, dict(
                        id=reservation_id, task_id=task.task_id, workflow=task.workflow, principal=task.requested_by,
                        tenant=task.tenant, model=model.model, tier=tier_used, alias=model.alias,
                        estimated_usd=from_e8(est_e8), actual_usd=None, estimated_tokens=est_tokens,
                        actual_tokens=None, status="reserved", trace_id=task.trace_id, run_id=task.run_id,
                        created_at=now, settled_at=None, offline_model=model.offline, cache_hit=False,
                        downgrade=",".join(d.step for d in downgrades) or None,
                    )),
                ])
        except _Refused as refused:
            raise self._budget_exhausted(task, tier, refused, now) from None
        except _NeedsConfirmation as needed:
            raise self._needs_confirmation(task, tier, requested, needed) from None
        return _Plan(reservation_id=reservation_id, tier=tier_used, model=model, messages=sent, max_tokens=out_tokens,
                     est_e8=est_e8, est_tokens=est_tokens, scopes=scopes, created_at=now,
                     downgrades=tuple(downgrades), confirmation_id=confirmation_id)

    def _budget_exhausted(self, task: Any, tier: str, refused: _Refused, now: _dt.datetime) -> BudgetExhausted:
        first = refused.over[0].budget
        usage = refused.usage.get(first.scope.key, Usage())
        if first.unit == "tokens":
            cap, spent, need = int(first.cap), usage.committed_tokens, refused.est_tokens
            amounts = (f"cap {cap:,} tokens, used {spent:,} (settled {usage.settled_tokens:,}, "
                       f"reserved {usage.reserved_tokens:,}); this call needs up to {need:,} tokens")
        else:
            cap, spent, need = from_e8(first.cap_e8), from_e8(usage.committed_e8), from_e8(refused.est_e8)
            amounts = (f"cap {usd(cap)}, spent {usd(spent)} (settled {usd(from_e8(usage.settled_e8))}, "
                       f"reserved {usd(from_e8(usage.reserved_e8))}); this call needs up to {usd(need)}")
        message = (f"model call refused: the {first.describe()} is exhausted: {amounts} "
                   f"({tier} tier, {refused.model.alias} = {refused.model.model})")
        end = _budget.period_end(first.scope.period, now)
        if first.scope.scope == "task":
            hint = f"the cap comes from {first.source}; finish the task without the model, or raise the cap there"
        else:
            hint = (f"the cap comes from {first.source}; it resets at {end:%Y-%m-%d %H:%M} UTC, "
                    "or an admin can raise it")
        every = [{"budget": p.budget.budget, "scope": p.budget.scope.scope, "name": p.budget.scope.name,
                  "period": p.budget.scope.period_key, "cap": str(p.budget.cap), "unit": p.budget.unit,
                  "source": p.budget.source} for p in refused.over]
        details = {"budget": first.budget, "scope": first.scope.scope, "name": first.scope.name,
                   "period": first.scope.period_key, "cap": str(cap), "spent": str(spent), "requested": str(need),
                   "unit": first.unit, "source": first.source, "budgets_hit": every, "task_id": task.task_id,
                   "tier": tier, "model": refused.model.model}
        step = DowngradeStep(STOP, first.budget, first.scope.scope, first.scope.name, refused.over[0].fraction, None,
                             f"would exceed: {amounts}")
        self._audit(task, "model.refused", {**details, "downgrades": [d.to_dict() for d in [*refused.downgrades, step]]})
        return BudgetExhausted(message, budget=first.budget, scope=first.scope.scope, name=first.scope.name,
                               cap=cap, spent=spent, requested=need, unit=first.unit, hint=hint, details=details)

    def _needs_confirmation(self, task: Any, tier: str, requested: ResolvedModel,
                            needed: _NeedsConfirmation) -> GovernanceError:
        budget = needed.pressure.budget
        usage_text = (f"{needed.pressure.fraction:.0%} of its cap "
                      + (f"({needed.pressure.committed:,} of {int(budget.cap):,} tokens)" if budget.unit == "tokens"
                         else f"(spent {usd(from_e8(needed.pressure.committed))} of {usd(from_e8(budget.cap_e8))})"))
        state = needed.state
        if state is not None and state["status"] in ("rejected", "expired", "executed"):
            self._audit(task, "model.refused", {"budget": budget.budget, "reason": f"spend confirmation {state['status']}",
                                                "approval_request_id": state["id"], "task_id": task.task_id})
            return ConfirmationRefused(
                f"model call refused: further spend on task {task.task_id} was not confirmed "
                f"(approval request {state['id']} is {state['status']}); the {budget.describe()} is at {usage_text}",
                hint="the task stops here; a new task starts with a new confirmation",
                details={"approval_request_id": state["id"], "budget": budget.budget, "status": state["status"]},
            )
        step = DowngradeStep(REQUIRE_CONFIRMATION, budget.budget, budget.scope.scope, budget.scope.name,
                             needed.pressure.fraction, needed.threshold, "waiting for approval")
        if state is None:
            from governed_agents.approvals import request_approval

            change = (f"allow further model spend on task {task.task_id}: the {budget.describe()} "
                      f"is at {usage_text}")
            request = request_approval(
                self.ledger,
                envelope=task.envelope,
                action=CONFIRM_ACTION,
                arguments={"task_id": task.task_id, "workflow": task.workflow, "budget": budget.budget,
                           "tier": tier, "model": requested.model},
                preview={"before": {"budget": budget.budget, "cap": str(budget.cap), "unit": budget.unit,
                                    "fraction": round(needed.pressure.fraction, 4)},
                         "after": None, "changes": [change]},
                requested_by=task.requested_by,
                tenant=task.tenant,
                reason=f"{budget.describe()} reached {needed.threshold:.0%} (downgrade ladder: require confirmation)",
                idempotency_key=_confirm_key(task),
                trace_id=task.trace_id,
                run_id=task.run_id,
            )
            request_id = request.id
            self._audit(task, "model.downgrade", {"task_id": task.task_id, "tier": tier,
                                                  "approval_request_id": request_id,
                                                  "downgrades": [d.to_dict() for d in [*needed.downgrades, step]]})
        else:
            request_id = state["id"]
        roles = ", ".join(task.envelope.envelope.permissions.approval_roles) or "an approver"
        return ConfirmationRequired(
            f"model call needs confirmation: the {budget.describe()} is at {usage_text}; "
            f"approval request {request_id} asks {roles} to allow further spend on task {task.task_id}",
            hint=f"approve it (governed-agents approvals approve {request_id}), then make the call again",
            approval_request_id=request_id,
            budget=budget.budget,
            details={"approval_request_id": request_id, "budget": budget.budget, "fraction": needed.pressure.fraction,
                     "task_id": task.task_id},
        )

    def _release(self, task: Any, plan: _Plan, kind: str | None, error: BaseException | None) -> None:
        if not plan.open:
            return
        now = self.clock()
        with self.ledger.transaction() as conn:
            _budget.lock_scopes(conn, plan.keys)
            # The totals move first (only while the reservation is still open), then it is closed.
            _sql.run_together(conn, [
                _budget.moved_piece(plan.keys, reserved_e8=plan.est_e8, reserved_tokens=plan.est_tokens,
                                    settled_e8=0, settled_tokens=0, calls=0, now=now,
                                    only_if_reserved=plan.reservation_id),
                (_CLOSE_RESERVATION, {"rid": plan.reservation_id, "new_status": "released", "a_usd": Decimal(0),
                                      "a_tokens": 0, "at": now}),
            ])
        plan.open = False

    # -- calling --------------------------------------------------------------------------

    def _attempt(self, plan: _Plan, tools: list[dict] | None, options: _Options) -> tuple[Any, list[Attempt], str | None, BaseException | None]:
        from governed_agents.routing import _litellm

        litellm = _litellm.load()
        model = plan.model
        kwargs: dict[str, Any] = {
            "model": model.model,
            "messages": plan.messages,
            "max_tokens": plan.max_tokens,
            "timeout": model.timeout_s,
            "max_retries": 0,
            **model.litellm_kwargs(),
        }
        if options.temperature is not None:
            kwargs["temperature"] = options.temperature
        if tools:
            kwargs["tools"] = tools
            if options.tool_choice is not None:
                kwargs["tool_choice"] = options.tool_choice
        if options.response_format is not None:
            kwargs["response_format"] = options.response_format
        attempts: list[Attempt] = []
        for index in range(model.max_retries + 1):
            began = time.perf_counter()
            try:
                response = litellm.completion(**kwargs)
                _check_response(response)
            except Exception as exc:  # noqa: BLE001 - classified; every failure is reported
                kind, status, retry_after = _classify(exc, litellm)
                attempts.append(Attempt(plan.tier, model.alias, model.model, kind, status, _short(exc),
                                        (time.perf_counter() - began) * 1000))
                if kind in _RETRY and index < model.max_retries:
                    backoff = model.retry_backoff_s * (2**index)
                    wait = retry_after if retry_after is not None else backoff
                    self.sleep(max(0.0, min(wait, _MAX_BACKOFF_S)))
                    continue
                return None, attempts, kind, exc
            attempts.append(Attempt(plan.tier, model.alias, model.model, "ok", 200, None,
                                    (time.perf_counter() - began) * 1000))
            return response, attempts, None, None
        return None, attempts, ERROR, None  # pragma: no cover - the loop always returns

    def _failed(self, task: Any, tier: str, attempts: list[Attempt], refusal: GovernanceError | None) -> ModelCallFailed:
        tried = "; ".join(
            f"{a.tier} tier {a.model}: {a.outcome}" + (f" (HTTP {a.status})" if a.status else "")
            + (f": {a.error}" if a.error else "")
            for a in attempts
        )
        last = attempts[-1] if attempts else None
        if last is not None and last.outcome == MALFORMED:
            headline = f"the {last.tier} tier ({last.model}) returned a malformed response (not valid JSON)"
        elif last is not None and last.outcome == TIMEOUT:
            headline = f"the {last.tier} tier ({last.model}) timed out"
        else:
            headline = "the model call failed"
        message = f"{headline}; {len(attempts)} attempt(s): {tried}"
        if refusal is not None:
            message += f"; the fallback tier was not tried: {refusal.message}"
        payload = {"task_id": task.task_id, "tier_requested": tier, "attempts": [a.to_dict() for a in attempts],
                   "refusal": refusal.message if refusal is not None else None}
        self._audit(task, "model.failed", payload)
        return ModelCallFailed(
            message,
            attempts=tuple(attempts),
            hint="nothing was charged for the failed attempts (their reservations were released); "
                 "check the provider, or route the item to a person",
            details=payload,
        )

    # -- settlement -----------------------------------------------------------------------

    def _settle(self, task: Any, tier: str, plan: _Plan, response: Any, attempts: list[Attempt],
                fallback_used: bool, options: _Options, tools: list[dict] | None, cache_key: str | None,
                requested: ResolvedModel, messages: list[dict], started: float,
                catalog: LoadedCatalog) -> ModelResult:
        choice = response.choices[0]
        message = choice.message
        content = getattr(message, "content", None)
        calls = tuple(_tool_call(c) for c in (getattr(message, "tool_calls", None) or ()))
        usage = getattr(response, "usage", None)
        input_tokens = int(getattr(usage, "prompt_tokens", 0) or 0) if usage is not None else 0
        output_tokens = int(getattr(usage, "completion_tokens", 0) or 0) if usage is not None else 0
        if usage is None or (input_tokens == 0 and output_tokens == 0):
            # No usage reported: count the reservation's estimate (fail closed).
            input_tokens, output_tokens = plan.est_tokens - plan.max_tokens, plan.max_tokens
        cost, source = _provider_cost(response, plan.model)
        if cost is None:
            cost, source = plan.model.cost(input_tokens, output_tokens), "catalog"
        actual_e8 = to_e8(cost)
        actual_tokens = input_tokens + output_tokens
        now = self.clock()
        answer = {"content": content, "tool_calls": [c.to_message() for c in calls],
                  "finish_reason": getattr(choice, "finish_reason", None)}
        envelope = task.envelope.envelope
        transcript_id = plan.reservation_id if envelope.logging.store_transcripts_days > 0 else None
        request_record = {"messages": plan.messages, "tools": tools, "options": {
            "temperature": options.temperature, "max_tokens": plan.max_tokens, "tool_choice": options.tool_choice,
            "response_format": options.response_format}, "purpose": options.purpose}
        result = ModelResult(
            call_id=plan.reservation_id, content=content, tool_calls=calls, finish_reason=answer["finish_reason"],
            requested_tier=tier, tier=plan.tier, alias=plan.model.alias, model=plan.model.model,
            offline_model=plan.model.offline, cached=False, input_tokens=input_tokens, output_tokens=output_tokens,
            cost_usd=from_e8(actual_e8), estimated_usd=from_e8(plan.est_e8), cost_source=source,
            downgrades=plan.downgrades, fallback_used=fallback_used, attempts=tuple(attempts),
            confirmation_id=plan.confirmation_id, transcript_id=transcript_id,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        # Everything that is CPU work (redaction, JSON, digests) happens before the write lock is taken.
        transcript = (self._transcript_row(task, transcript_id, plan.tier, plan.model, request_record, answer, now,
                                           cache_hit=False) if transcript_id is not None else None)
        cached = None
        names = getattr(task, "known_names", ())  # the run's master-data person names
        if cache_key is not None and envelope.logging.redact_pii and redact(answer, known_names=names) != answer:
            cache_key = None  # an answer holding personal data stays out of the cache: it would reach disk raw
        if cache_key is not None:
            if (plan.model is not requested or plan.messages is not messages
                    or plan.max_tokens != _effective_max_tokens(requested, options.max_tokens)):
                # Not what was asked (a downgrade or a fallback): keep it under what was sent.
                cache_key = self._key(plan.model, plan.messages, tools, options, task.tenant, plan.max_tokens)
            cached = _cache.row(key=cache_key, model=plan.model.model, alias=plan.model.alias, tenant=task.tenant,
                                response=answer, input_tokens=input_tokens, output_tokens=output_tokens,
                                offline_model=plan.model.offline, now=now, ttl_hours=catalog.cache.ttl_hours)
        payload = self._call_payload(task, result, request_record, answer, transcript)
        writes = [
            # The totals move first (only while the reservation is still open: a sweeper may have
            # expired it meanwhile, counting its estimate), then it is closed.
            _budget.moved_piece(plan.keys, reserved_e8=plan.est_e8, reserved_tokens=plan.est_tokens,
                                settled_e8=actual_e8, settled_tokens=actual_tokens, calls=1, now=now,
                                only_if_reserved=plan.reservation_id),
            (_CLOSE_RESERVATION, {"rid": plan.reservation_id, "new_status": "settled", "a_usd": from_e8(actual_e8),
                                  "a_tokens": actual_tokens, "at": now}),
        ]
        if transcript is not None:
            writes.append((_INSERT_TRANSCRIPT, transcript))
        if cached is not None:
            writes.append(_cache.put_piece(cached))
        with self.ledger.transaction() as conn:
            _budget.lock_scopes(conn, plan.keys)
            _sql.run_together(conn, writes)  # one round trip on PostgreSQL
            event = self._audit(task, "model.call", payload, conn=conn)
            if plan.downgrades:
                self._audit(task, "model.downgrade", {"call_id": plan.reservation_id, "task_id": task.task_id,
                                                      "downgrades": [d.to_dict() for d in plan.downgrades]}, conn=conn)
        plan.open = False
        task.tokens_used = int(task.tokens_used) + actual_tokens
        task.cost_usd = format((Decimal(str(task.cost_usd or "0")) + from_e8(actual_e8)).normalize(), "f")
        return replace(result, audit_seq=event.seq, latency_ms=(time.perf_counter() - started) * 1000)

    def _serve_cached(self, conn: sa.Connection, task: Any, tier: str, model: ResolvedModel, messages: list[dict],
                      tools: list[dict] | None, options: _Options, key: str, hit: dict, now: _dt.datetime,
                      started: float) -> ModelResult:
        """Record a cache hit in the open transaction ``conn``: a $0 call, a transcript, an audit event."""
        answer = hit["response"]
        calls = tuple(_tool_call(c) for c in answer.get("tool_calls") or ())
        call_id = str(uuid.uuid4())
        envelope = task.envelope.envelope
        transcript_id = call_id if envelope.logging.store_transcripts_days > 0 else None
        request_record = {"messages": messages, "tools": tools, "options": {
            "temperature": options.temperature, "max_tokens": _effective_max_tokens(model, options.max_tokens),
            "tool_choice": options.tool_choice, "response_format": options.response_format},
            "purpose": options.purpose}
        result = ModelResult(
            call_id=call_id, content=answer.get("content"), tool_calls=calls, finish_reason=answer.get("finish_reason"),
            requested_tier=tier, tier=tier, alias=model.alias, model=model.model, offline_model=bool(hit["offline_model"]),
            cached=True, input_tokens=0, output_tokens=0, cost_usd=Decimal(0), estimated_usd=Decimal(0),
            cost_source="cache", transcript_id=transcript_id, latency_ms=(time.perf_counter() - started) * 1000,
        )
        transcript = (self._transcript_row(task, transcript_id, tier, model, request_record, answer, now,
                                           cache_hit=True) if transcript_id is not None else None)
        payload = self._call_payload(task, result, request_record, answer, transcript)
        payload["cache_key"] = key
        _sql.run(conn, _INSERT_RESERVATION, dict(
            id=call_id, task_id=task.task_id, workflow=task.workflow, principal=task.requested_by,
            tenant=task.tenant, model=model.model, tier=tier, alias=model.alias, estimated_usd=Decimal(0),
            actual_usd=Decimal(0), estimated_tokens=0, actual_tokens=0, status="settled", trace_id=task.trace_id,
            run_id=task.run_id, created_at=now, settled_at=now, offline_model=bool(hit["offline_model"]),
            cache_hit=True, downgrade=None,
        ))
        _cache.count_hit(conn, key)
        if transcript is not None:
            _sql.run(conn, _INSERT_TRANSCRIPT, transcript)
        event = self._audit(task, "model.call", payload, conn=conn)
        return replace(result, audit_seq=event.seq, latency_ms=(time.perf_counter() - started) * 1000)

    # -- records --------------------------------------------------------------------------

    def _transcript_row(self, task: Any, transcript_id: str, tier: str, model: ResolvedModel,
                        request: dict, answer: dict, now: _dt.datetime, *, cache_hit: bool) -> dict:
        logging = task.envelope.envelope.logging
        redacting = bool(logging.redact_pii)
        names = getattr(task, "known_names", ())  # the run's master-data person names, redacted anywhere
        return dict(
            id=transcript_id, task_id=task.task_id, workflow=task.workflow, trace_id=task.trace_id,
            run_id=task.run_id, tier=tier, model=model.model,
            request=canonical_json(redact(request, known_names=names) if redacting else request),
            response=canonical_json(redact(answer, known_names=names) if redacting else answer),
            redacted=redacting, offline_model=model.offline, cache_hit=cache_hit, created_at=now,
            expires_at=now + _dt.timedelta(days=int(logging.store_transcripts_days)),
        )

    def _call_payload(self, task: Any, result: ModelResult, request: dict, answer: dict,
                      transcript: dict | None = None) -> dict:
        # Digests only: the audit chain is append-only, so no message text (personal data) goes in it.
        # The stored transcript is anchored by the digest of its content, so the retention purge can
        # delete it while the chain (and every receipt anchored in it) still verifies.
        from governed_agents.transcripts import transcript_digest

        return {
            **result.to_dict(),
            "task_id": task.task_id,
            "purpose": request.get("purpose"),
            "request_digest": digest(request),
            "response_digest": digest(answer),
            "transcript_digest": transcript_digest(transcript) if transcript is not None else None,
            "latency_ms": round(result.latency_ms, 2),
        }

    def _audit(self, task: Any, kind: str, payload: dict, conn: sa.Connection | None = None):
        return self.ledger.append(
            kind, payload, conn=conn, actor=getattr(task, "agent", None), workflow=task.workflow,
            trace_id=task.trace_id, run_id=task.run_id, envelope_version=task.envelope.version,
            envelope_digest=task.envelope.digest,
        )


# -- helpers ---------------------------------------------------------------------------------


def _confirm_key(task: Any) -> str:
    return f"{CONFIRM_ACTION}:{task.workflow}:{task.task_id}"


def _tool_call(call: Any) -> ToolCall:
    if isinstance(call, dict):
        function = call.get("function") or {}
        call_id, name, arguments = call.get("id") or "", function.get("name") or "", function.get("arguments")
    else:
        function = getattr(call, "function", None)
        call_id = getattr(call, "id", None) or ""
        name = getattr(function, "name", None) or ""
        arguments = getattr(function, "arguments", None)
    if arguments is None:
        arguments = "{}"
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, sort_keys=True)
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except ValueError as exc:
        return ToolCall(call_id, name, arguments, None,
                        f"the arguments of tool call {name!r} are not valid JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(parsed, dict):
        return ToolCall(call_id, name, arguments, None,
                        f"the arguments of tool call {name!r} are JSON but not an object ({type(parsed).__name__})")
    return ToolCall(call_id, name, arguments, parsed, None)


def _check_response(response: Any) -> None:
    choices = getattr(response, "choices", None)
    if not choices or getattr(choices[0], "message", None) is None:
        raise _MalformedAnswer("the response has no choices[0].message")


class _MalformedAnswer(Exception):
    pass


def _short(exc: BaseException) -> str:
    lines = str(getattr(exc, "message", None) or exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    for prefix in ("litellm.", "OpenAIException - "):
        text = text.replace(prefix, "")
    return text[:300]


def _classify(exc: BaseException, litellm: Any) -> tuple[str, int | None, float | None]:
    """(kind, HTTP status, Retry-After seconds) of a failed attempt."""
    status = getattr(exc, "status_code", None)
    retry_after = None
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        try:
            value = headers.get("retry-after")
            retry_after = float(value) if value is not None else None
        except (TypeError, ValueError):
            retry_after = None
    if isinstance(exc, _MalformedAnswer):
        return MALFORMED, status, None
    chain, seen = exc, 0
    while chain is not None and seen < 10:
        if isinstance(chain, json.JSONDecodeError):
            return MALFORMED, status, None
        chain, seen = chain.__cause__ or chain.__context__, seen + 1
    if isinstance(exc, litellm.Timeout):
        return TIMEOUT, status, None
    if isinstance(exc, litellm.RateLimitError) or status == 429:
        return RATE_LIMITED, 429, retry_after
    if isinstance(exc, litellm.APIConnectionError):
        return UNAVAILABLE, status, None
    if isinstance(status, int) and status >= 500:
        return SERVER_ERROR, status, retry_after
    return ERROR, status if isinstance(status, int) else None, None


def _provider_cost(response: Any, model: ResolvedModel) -> tuple[Decimal | None, str]:
    """litellm's price for the call when it knows the model (real providers); else None."""
    if model.offline:
        return None, "catalog"
    hidden = getattr(response, "_hidden_params", None) or {}
    value = hidden.get("response_cost")
    if value is None:
        from governed_agents.routing import _litellm

        litellm = _litellm.load()
        bare = model.model.split("/", 1)[1] if "/" in model.model else model.model
        if model.model in litellm.model_cost or bare in litellm.model_cost:
            try:
                value = litellm.completion_cost(completion_response=response, model=model.model)
            except Exception:  # noqa: BLE001 - no price known: the catalog's applies
                value = None
    if value is None:
        return None, "catalog"
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return None, "catalog"
    return (amount, "litellm") if amount > 0 else (None, "catalog")


__all__ = [
    "CONFIRM_ACTION",
    "TIERS",
    "Attempt",
    "ModelGateway",
    "ModelResult",
    "ToolCall",
]
