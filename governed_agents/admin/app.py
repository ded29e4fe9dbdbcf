"""The admin panel's Starlette app: pages, forms, and the server-side rules around them.

Rules every route follows:

- no session (missing, forged, expired or signed out) → a page redirects to
  ``/signin``; a POST is refused the same way and changes nothing;
- every POST carries the session's CSRF token; without it, or with a wrong one,
  the answer is 403, one ``admin.refused`` audit event, and nothing else changes;
- every action is checked against the principal's roles as ``principals.yaml``
  has them *now* (``identity.roles``) and against the session's scope; a refusal
  is 403 with the reason and an ``admin.refused`` audit event;
- the panel never decides anything itself: it mints a short-lived token scoped to
  exactly one action and one workflow for the signed-in principal and calls the
  same services as the CLI (approvals, kill switch), which re-check and audit.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from governed_agents.admin.auth import ALL_WORKFLOWS, Session, SessionCodec, check_password, load_password_hashes
from governed_agents.admin.markdown import markdown_to_html
from governed_agents.errors import GovernanceError

COOKIE = "ga_admin_session"
PRE_COOKIE = "ga_admin_signin"
DEFAULT_SESSION_TTL = dt.timedelta(minutes=30)
ACTION_TOKEN_TTL = dt.timedelta(minutes=2)
TEMPLATES = Path(__file__).resolve().parent / "templates"
NOT_BUILT = {
    "autonomy levels": "not built yet (issue 5)",
    "retention settings": "not built yet (issue 7)",
}


@dataclass
class AdminSettings:
    """What the app needs; tests replace ``clock`` to age sessions."""

    session_ttl: dt.timedelta = DEFAULT_SESSION_TTL
    dagster_url: str | None = None
    secure_cookies: bool = False
    clock: Callable[[], float] = field(default=time.time)


def create_app(
    *,
    ledger: Any = None,
    session_ttl: dt.timedelta = DEFAULT_SESSION_TTL,
    dagster_url: str | None = None,
    secure_cookies: bool = False,
    secret: bytes | None = None,
) -> Starlette:
    """The admin panel as an ASGI app on ``ledger`` (default: the configured ledger)."""
    from governed_agents.ledger import Ledger

    ledger = ledger or Ledger.open()
    settings = AdminSettings(session_ttl=session_ttl, dagster_url=dagster_url.rstrip("/") if dagster_url else None,
                             secure_cookies=secure_cookies)
    codec = SessionCodec(secret)
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    env.filters["when"] = _when
    panel = _Panel(ledger, settings, codec, env)
    app = Starlette(routes=[
        Route("/", panel.home),
        Route("/signin", panel.signin_form, methods=["GET"]),
        Route("/signin", panel.signin, methods=["POST"]),
        Route("/signout", panel.signout, methods=["POST"]),
        Route("/approvals", panel.approvals),
        Route("/approvals/batch/{batch_id}", panel.batch),
        Route("/approvals/batch/{batch_id}/decide", panel.decide_batch, methods=["POST"]),
        Route("/approvals/{request_id}", panel.request_page),
        Route("/approvals/{request_id}/decide", panel.decide, methods=["POST"]),
        Route("/receipts", panel.receipts),
        Route("/receipts/{receipt_id}", panel.receipt_page),
        Route("/controls", panel.controls),
        Route("/controls/kill-switch", panel.set_kill_switch, methods=["POST"]),
        Route("/spend", panel.spend),
        Route("/policies", panel.policies),
        Route("/readiness", panel.readiness),
    ])
    app.state.settings = settings
    app.state.ledger = ledger
    return app


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class _Panel:
    def __init__(self, ledger, settings: AdminSettings, codec: SessionCodec, env: Environment):
        self.ledger, self.settings, self.codec, self.env = ledger, settings, codec, env

    # -- plumbing -------------------------------------------------------------------------------

    def _session(self, request: Request) -> Session | None:
        return self.codec.decode(request.cookies.get(COOKIE), now=self.settings.clock())

    def _principal(self, session: Session):
        from governed_agents.identity.principals import load_principals

        return load_principals().get(session.principal)

    def _may(self, session: Session, action: str, workflow: str | None = None) -> bool:
        principal = self._principal(session)
        return principal is not None and principal.may(action) and session.covers(action, workflow)

    def _page(self, request: Request, template: str, session: Session | None, status: int = 200,
              **context) -> HTMLResponse:
        principal = self._principal(session) if session else None
        body = self.env.get_template(template).render(
            request=request, session=session, principal=principal,
            may=(lambda action, workflow=None: session is not None and self._may(session, action, workflow)),
            dagster_url=self.settings.dagster_url, **context)
        response = HTMLResponse(body, status_code=status)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "default-src 'self'; style-src 'unsafe-inline'; form-action 'self'"
        return response

    def _signin_redirect(self, request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?{urlencode({'next': target, 'expired': '1'})}", status_code=303)

    def _audit(self, kind: str, payload: dict, *, actor: str | None, workflow: str | None = None) -> None:
        self.ledger.append(kind, {"via": "admin panel", **payload}, actor=actor, workflow=workflow)

    def _refuse(self, request: Request, session: Session | None, refusal: _Refused, **payload) -> HTMLResponse:
        self._audit("admin.refused", {"code": refusal.code, "message": refusal.message,
                                      "path": request.url.path, **payload},
                    actor=session.principal if session else None)
        return self._page(request, "refused.html", session, status=refusal.status, refusal=refusal)

    async def _post(self, request: Request, action: str | None = None,
                    workflow: str | None = None) -> tuple[Session, Any]:
        """The session and form of a POST, after the session, CSRF and role checks; raises ``_Refused``."""
        form = await _form(request)
        session = self._session(request)
        if not _same_origin(request):
            raise _Refused(403, "cross_origin", "this form was posted from another site; nothing was changed")
        if session is None:
            raise _Refused(403, "no_session", "not signed in, or the session expired; sign in again")
        sent = form.get("csrf_token")
        if not isinstance(sent, str) or not secrets.compare_digest(sent, session.csrf):
            raise _Refused(403, "csrf_failed", "the form's CSRF token is missing or wrong; nothing was changed")
        if action is not None and not self._may(session, action, workflow):
            raise _Refused(403, "not_allowed", f"{session.principal} may not perform {action}"
                           + (f" for {workflow}" if workflow else "") + " (roles as in principals.yaml now)")
        return session, form

    def _action_token(self, session: Session, action: str, workflow: str) -> str:
        from governed_agents.identity.tokens import issue_token

        return issue_token(session.principal, actions=[action], workflows=[workflow], ttl=ACTION_TOKEN_TTL)

    # -- sign-in ----------------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/approvals", status_code=303)

    async def signin_form(self, request: Request, error: str | None = None, status: int = 200) -> Response:
        pre = secrets.token_urlsafe(24)
        response = self._page(request, "signin.html", None, status=status, csrf_token=pre, error=error,
                              next=_safe_next(request.query_params.get("next")),
                              expired=request.query_params.get("expired") == "1")
        response.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="strict", secure=self.settings.secure_cookies,
                            path="/signin")
        return response

    async def signin(self, request: Request) -> Response:
        from governed_agents.identity.principals import load_principals

        form = await _form(request)
        if not _same_origin(request):
            return self._refuse(request, None, _Refused(403, "cross_origin", "the sign-in form was posted from "
                                                        "another site; nothing was changed"))
        pre = request.cookies.get(PRE_COOKIE)
        sent = form.get("csrf_token")
        if not pre or not isinstance(sent, str) or not secrets.compare_digest(sent, pre):
            return self._refuse(request, None, _Refused(403, "csrf_failed", "the sign-in form's CSRF token is "
                                                        "missing or wrong; reload the page and try again"))
        principal_id = str(form.get("principal") or "").strip()
        password = str(form.get("password") or "")
        token = str(form.get("token") or "").strip()
        now = self.settings.clock()
        expires = now + self.settings.session_ttl.total_seconds()
        actions: tuple[str, ...] = ()
        workflows: tuple[str, ...] = (ALL_WORKFLOWS,)
        if token:
            from governed_agents.identity.tokens import inspect_token

            try:
                claims = inspect_token(token)
            except GovernanceError as exc:
                return await self._signin_failed(request, None, getattr(exc, "code", "token_invalid"),
                                                 f"token refused: {exc.message}")
            principal_id, via = claims.principal.id, "token"
            actions, workflows = tuple(claims.actions), tuple(claims.workflows)
            expires = min(expires, claims.expires_at.timestamp())
        else:
            stored = load_password_hashes().get(principal_id)
            if not principal_id or stored is None or not check_password(password, stored) \
                    or principal_id not in load_principals():
                return await self._signin_failed(request, principal_id or None, "bad_credentials",
                                                 "unknown principal or wrong password")
            via = "password"
        session = Session(sid=secrets.token_urlsafe(16), principal=principal_id, expires_at=expires,
                          csrf=secrets.token_urlsafe(32), via=via, actions=actions, workflows=workflows)
        self._audit("admin.signin", {"method": via, "session": _sid_digest(session.sid),
                                     "expires_at": _when(expires)}, actor=principal_id)
        target = _safe_next(str(form.get("next") or "")) or "/approvals"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, self.codec.encode(session), max_age=int(expires - now) + 1, httponly=True,
                            samesite="strict", secure=self.settings.secure_cookies, path="/")
        response.delete_cookie(PRE_COOKIE, path="/signin")
        return response

    async def _signin_failed(self, request: Request, claimed: str | None, code: str, message: str) -> Response:
        self._audit("admin.signin_refused", {"code": code, "claimed_principal": claimed}, actor=None)
        return await self.signin_form(request, error=message, status=401)

    async def signout(self, request: Request) -> Response:
        try:
            session, _ = await self._post(request)
        except _Refused as refusal:
            return self._refuse(request, self._session(request), refusal)
        self.codec.revoke(session.sid)
        self._audit("admin.signout", {"session": _sid_digest(session.sid)}, actor=session.principal)
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # -- approvals --------------------------------------------------------------------------------

    async def approvals(self, request: Request) -> Response:
        from governed_agents.approvals import list_requests

        session = self._session(request)
        if session is None:
            return self._signin_redirect(request)
        if not self._may(session, "approval.read"):
            return self._refuse(request, session, _Refused(403, "not_allowed",
                                                           f"{session.principal} may not read approvals"))
        pending = [r for r in list_requests(self.ledger, status="pending", limit=500)
                   if session.covers("approval.read", r.workflow)]
        decided = [r for r in list_requests(self.ledger, limit=200)
                   if r.effective_status() != "pending" and session.covers("approval.read", r.workflow)]
        batches: dict[str, list] = {}
        singles = []
        for r in pending:
            (batches.setdefault(r.batch_id, []) if r.batch_id else singles).append(r)
        return self._page(request, "approvals.html", session,
                          batches=[_batch_view(bid, rs) for bid, rs in batches.items()],
                          singles=[_request_view(r) for r in singles],
                          decided=[_request_view(r) for r in decided], notice=request.query_params.get("notice"))

    async def request_page(self, request: Request) -> Response:
        from governed_agents.approvals import get_request

        session = self._session(request)
        if session is None:
            return self._signin_redirect(request)
        try:
            r = get_request(self.ledger, request.path_params["request_id"])
        except GovernanceError as exc:
            return self._page(request, "refused.html", session, status=404,
                              refusal=_Refused(404, "unknown_request", exc.message))
        if not self._may(session, "approval.read", r.workflow):
            return self._refuse(request, session, _Refused(403, "not_allowed",
                                                           f"{session.principal} may not read {r.workflow} approvals"))
        return self._page(request, "request.html", session, r=_request_view(r),
                          notice=request.query_params.get("notice"), error=request.query_params.get("error"))

    async def batch(self, request: Request) -> Response:
        from governed_agents.approvals import list_requests

        session = self._session(request)
        if session is None:
            return self._signin_redirect(request)
        batch_id = request.path_params["batch_id"]
        rs = [r for r in list_requests(self.ledger, batch_id=batch_id, status="pending", limit=10_000)
              if self._may(session, "approval.read", r.workflow)]
        return self._page(request, "batch.html", session, b=_batch_view(batch_id, rs),
                          error=request.query_params.get("error"))

    async def decide(self, request: Request) -> Response:
        return await self._decide(request, [request.path_params["request_id"]],
                                  back=f"/approvals/{quote(request.path_params['request_id'])}")

    async def decide_batch(self, request: Request) -> Response:
        batch_id = request.path_params["batch_id"]
        form = await _form(request)
        # Exactly the ids shown on the page: a request added to the batch since is not decided blind.
        ids = [str(v) for v in form.getlist("request_id")]
        return await self._decide(request, ids, back=f"/approvals/batch/{quote(batch_id)}", batch_id=batch_id)

    async def _decide(self, request: Request, ids: list[str], *, back: str, batch_id: str | None = None) -> Response:
        from governed_agents.approvals import decide_batch, get_request
        from governed_agents.workflows import executor_for

        try:
            session, form = await self._post(request)
            decision = form.get("decision")
            if decision not in ("approve", "reject"):
                raise _Refused(400, "bad_decision", "decision must be approve or reject")
            action = f"approval.{decision}"
            if not ids:
                raise _Refused(400, "no_requests", "no approval requests named")
            try:
                requests = [get_request(self.ledger, i) for i in ids]
            except GovernanceError as exc:
                raise _Refused(404, "unknown_request", exc.message) from None
            if batch_id is not None and any(r.batch_id != batch_id for r in requests):
                raise _Refused(400, "not_in_batch", f"not every request named belongs to batch {batch_id}")
            workflows = {r.workflow for r in requests}
            for workflow in workflows:
                if not self._may(session, action, workflow):
                    raise _Refused(403, "not_allowed",
                                   f"{session.principal} may not perform {action} for {workflow} "
                                   "(roles as in principals.yaml now)")
        except _Refused as refusal:
            return self._refuse(request, self._session(request), refusal, request_ids=ids)
        reason = str(form.get("reason") or "").strip() or None
        if decision == "reject" and not reason:
            return RedirectResponse(f"{back}?{urlencode({'error': 'a rejection needs a reason'})}", status_code=303)
        if len(workflows) != 1:
            return RedirectResponse(f"{back}?{urlencode({'error': 'one workflow per decision'})}", status_code=303)
        workflow = next(iter(workflows))
        executor = executor_for(workflow, self.ledger)
        try:
            token = self._action_token(session, action, workflow)
            decided = decide_batch(self.ledger, ids, token=token, decision=decision, reason=reason,
                                   rebuild_preview=executor.rebuild_preview)
        except GovernanceError as exc:
            # The service already wrote its own approval.refused event.
            return RedirectResponse(f"{back}?{urlencode({'error': exc.message})}", status_code=303)
        notice = f"{decision}d {len(decided)} request(s): " + ", ".join(f"{r.id[:8]} → {r.status}" for r in decided)
        target = back if len(ids) == 1 else "/approvals"
        return RedirectResponse(f"{target}?{urlencode({'notice': notice})}", status_code=303)

    # -- receipts ---------------------------------------------------------------------------------

    async def receipts(self, request: Request) -> Response:
        from governed_agents.receipts.store import list_receipts

        session = self._session(request)
        if session is None:
            return self._signin_redirect(request)
        if not self._may(session, "receipt.read"):
            return self._refuse(request, session, _Refused(403, "not_allowed",
                                                           f"{session.principal} may not read receipts"))
        q = {k: request.query_params.get(k, "").strip() for k in ("workflow", "run", "trace", "vendor", "date")}
        found = list_receipts(self.ledger, workflow=q["workflow"] or None, run_id=q["run"] or None,
                              trace_id=q["trace"] or None, limit=1000)
        rows = []
        for signed in found:
            r = signed.receipt
            if not session.covers("receipt.read", r.workflow):
                continue
            if q["vendor"] and q["vendor"].lower() not in json.dumps(r.to_json_dict()).lower():
                continue
            if q["date"] and r.finished_at.strftime("%Y-%m-%d") != q["date"]:
                continue
            rows.append(r)
        return self._page(request, "receipts.html", session, q=q, receipts=rows[:300], total=len(rows))

    async def receipt_page(self, request: Request) -> Response:
        from governed_agents.errors import ReceiptInvalid
        from governed_agents.identity.keys import key_id, public_key
        from governed_agents.receipts.render import render_markdown
        from governed_agents.receipts.signing import verify_signed
        from governed_agents.receipts.store import get_receipt

        session = self._session(request)
        if session is None:
            return self._signin_redirect(request)
        try:
            signed = get_receipt(self.ledger, request.path_params["receipt_id"])
        except GovernanceError as exc:
            return self._page(request, "refused.html", session, status=404,
                              refusal=_Refused(404, "unknown_receipt", exc.message))
        if not self._may(session, "receipt.read", signed.receipt.workflow):
            return self._refuse(request, session, _Refused(403, "not_allowed",
                                                           f"{session.principal} may not read this receipt"))
        key = public_key()
        try:
            verify_signed(signed, key)
            verified, error = True, None
        except ReceiptInvalid as exc:
            verified, error = False, exc.message
        body = markdown_to_html(render_markdown(signed, verified=verified, verify_error=error))
        return self._page(request, "receipt.html", session, signed=signed, r=signed.receipt, body=body,
                          verified=verified, verify_error=error, key_id=key_id(key))

    # -- controls ---------------------------------------------------------------------------------

    async def controls(self, request: Request) -> Response:
        from governed_agents import kill_switch

        session = self._session(request)
        if session is None:
            return self._signin_redirect(request)
        states = {s["scope"]: s for s in kill_switch.list_states(self.ledger)}
        scopes = [(None, "global")] + [(w, f"workflow:{w}") for w in _workflows()]
        rows = [{"workflow": w, "scope": scope, "state": states.get(scope)} for w, scope in scopes]
        return self._page(request, "controls.html", session, rows=rows, not_built=NOT_BUILT,
                          notice=request.query_params.get("notice"), error=request.query_params.get("error"))

    async def set_kill_switch(self, request: Request) -> Response:
        from governed_agents import kill_switch

        form = await _form(request)
        workflow = str(form.get("workflow") or "").strip() or None
        if workflow is not None and workflow not in _workflows():
            return self._refuse(request, self._session(request),
                                _Refused(400, "unknown_workflow", f"no workflow {workflow!r}"))
        try:
            session, form = await self._post(request, "killswitch.set", workflow or ALL_WORKFLOWS)
        except _Refused as refusal:
            return self._refuse(request, self._session(request), refusal, workflow=workflow)
        engaged = form.get("engaged") == "on"
        reason = str(form.get("reason") or "").strip() or None
        try:
            token = self._action_token(session, "killswitch.set", workflow or ALL_WORKFLOWS)
            result = kill_switch.set_state(self.ledger, engaged=engaged, token=token, workflow=workflow,
                                           reason=reason)
        except GovernanceError as exc:
            return RedirectResponse(f"/controls?{urlencode({'error': exc.message})}", status_code=303)
        notice = f"kill switch {'ON' if engaged else 'off'} for {result['scope']}"
        return RedirectResponse(f"/controls?{urlencode({'notice': notice})}", status_code=303)

    # -- spend and policies -----------------------------------------------------------------------

    async def spend(self, request: Request) -> Response:
        from governed_agents.envelope import find_envelope
        from governed_agents.routing.report import caps_status, spend_report

        session = self._session(request)
        if session is None:
            return self._signin_redirect(request)
        report = spend_report(self.ledger)
        caps = []
        for workflow in _workflows():
            try:
                caps += caps_status(self.ledger, find_envelope(workflow))
            except GovernanceError:
                continue
        chart = _bar_chart([(row.get("workflow") or "?", row.get("cost_per_completed_task_usd"))
                            for row in report.get("by_workflow", [])])
        # Over time: one report per UTC day; days without a completed task have no bar.
        from governed_agents.timeutil import utcnow

        today = utcnow().date()
        days = [today - dt.timedelta(days=n) for n in range(13, -1, -1)]
        over_time = _bar_chart([
            (day.isoformat(),
             spend_report(self.ledger, since=day, until=day)["totals"]["cost_per_completed_task_usd"])
            for day in days])
        return self._page(request, "spend.html", session, report=report, caps=caps, chart=chart,
                          over_time=over_time)

    async def policies(self, request: Request) -> Response:
        from governed_agents import config
        from governed_agents.envelope import diff_envelopes, load_envelope

        session = self._session(request)
        if session is None:
            return self._signin_redirect(request)
        files = _envelope_files()
        envelopes, problems = [], []
        for path in files:
            try:
                envelopes.append((path.name, load_envelope(path)))
            except GovernanceError as exc:
                problems.append((path.name, exc.message))
        a, b = request.query_params.get("a"), request.query_params.get("b")
        diff, diff_error = None, None
        if a and b:
            names = {p.name: p for p in files}
            if a not in names or b not in names:
                diff_error = f"choose two envelope files from {config.policy_dir()}"
            else:
                try:
                    diff = diff_envelopes(load_envelope(names[a]), load_envelope(names[b]))
                except GovernanceError as exc:
                    diff_error = exc.message
        return self._page(request, "policies.html", session, envelopes=envelopes, problems=problems,
                          files=[p.name for p in files], a=a, b=b, diff=diff, diff_error=diff_error,
                          describe=_describe_envelope)

    async def readiness(self, request: Request) -> Response:
        """Autonomy readiness of every workflow with a toolset (``governed-agents assess``)."""
        from governed_agents.readiness import assess
        from governed_agents.workflows import TOOLSETS

        session = self._session(request)
        if session is None:
            return self._signin_redirect(request)
        assessments, problems = [], []
        for workflow in sorted(set(_workflows()) & set(TOOLSETS)):
            try:
                assessments.append(assess(self.ledger, workflow).to_dict())
            except GovernanceError as exc:
                problems.append((workflow, exc.message))
        return self._page(request, "readiness.html", session, assessments=assessments, problems=problems)


MAX_FORM_BYTES = 64 * 1024


def _same_origin(request: Request) -> bool:
    """False when the browser says the POST comes from another origin.

    Defence in depth beside the CSRF token and SameSite=Strict cookies: browsers
    send ``Origin`` with every POST (``Referer`` as a fallback); a client that sends
    neither (curl, the test client) still needs the session's CSRF token."""
    from urllib.parse import urlsplit

    own = f"{request.url.scheme}://{request.url.netloc}".lower()
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.strip().lower() == own  # "null" (sandboxed frame, privacy redirect) is another origin
    referer = request.headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}".lower() == own
    return True


async def _form(request: Request) -> FormData:
    """The URL-encoded form of a POST (the only kind the panel's pages send).

    Parsed here rather than with python-multipart: one less dependency, and a body
    of any other type is simply an empty form, which every check then refuses.
    """
    cached = getattr(request.state, "form", None)
    if cached is not None:
        return cached
    form = FormData()
    if request.headers.get("content-type", "").split(";")[0].strip() == "application/x-www-form-urlencoded":
        body = await request.body()
        if len(body) <= MAX_FORM_BYTES:
            form = FormData(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    request.state.form = form
    return form


# -- views ----------------------------------------------------------------------------------------


def _request_view(r) -> dict:
    preview = r.preview or {}
    before, after = preview.get("before"), preview.get("after")
    fields = []
    if isinstance(after, dict):
        for key, new in after.items():
            old = before.get(key) if isinstance(before, dict) else None
            fields.append({"field": key, "before": "—" if old is None else old, "after": new,
                           "changed": not isinstance(before, dict) or old != new})
    return {"req": r, "status": r.effective_status(), "fields": fields, "changes": preview.get("changes") or [],
            "amount": _amount(after), "currency": (after or {}).get("currency") if isinstance(after, dict) else None}


def _batch_view(batch_id: str, requests: list) -> dict:
    views = [_request_view(r) for r in requests]
    totals: dict[str, Decimal] = {}
    for v in views:
        if v["amount"] is not None:
            totals[v["currency"] or "?"] = totals.get(v["currency"] or "?", Decimal(0)) + v["amount"]
    return {"id": batch_id, "requests": views, "count": len(views),
            "totals": {c: f"{t:,.2f}" for c, t in sorted(totals.items())},
            "workflows": sorted({r.workflow for r in requests}),
            "envelope_versions": sorted({r.envelope_version for r in requests})}


def _amount(after) -> Decimal | None:
    if not isinstance(after, dict) or after.get("amount") is None:
        return None
    try:
        return Decimal(str(after["amount"]))
    except InvalidOperation:
        return None


def _when(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, (int, float)):
        value = dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _safe_next(target: str | None) -> str | None:
    # Only local paths: an open redirect would let a link send a fresh session elsewhere.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _sid_digest(sid: str) -> str:
    import hashlib

    return hashlib.sha256(sid.encode()).hexdigest()[:16]


def _envelope_files() -> list[Path]:
    from governed_agents import config

    skip = {"principals.yaml", "models.yaml", "admin_passwords.yaml"}
    return sorted(p for p in config.policy_dir().glob("*.yaml") if p.name not in skip)


def _workflows() -> list[str]:
    return [p.stem for p in _envelope_files()]


def _describe_envelope(loaded) -> list[str]:
    """The envelope in words, from its model (no claims beyond what it holds)."""
    e = loaded.envelope
    out: list[str] = []
    data = e.model_dump(mode="json")
    perms = data.get("permissions", {})
    if perms.get("allowed_tools") is not None:
        out.append("may call: " + (", ".join(perms["allowed_tools"]) or "no tools"))
    if perms.get("write_actions_require_approval") is not None:
        out.append("writes need approval" if perms["write_actions_require_approval"]
                   else "writes do not need approval")
    if perms.get("approval_roles") is not None:
        out.append(f"writes need {perms.get('min_approvals', 1)} approval(s) from: "
                   + ", ".join(perms["approval_roles"])
                   + (f"; an approval expires after {perms['approval_expiry_hours']} h"
                      if perms.get("approval_expiry_hours") is not None else ""))
    for key, value in sorted((data.get("budgets") or {}).items()):
        if value is not None:
            out.append(f"budget {key.replace('_', ' ')}: {value}")
    for section in ("models", "safety", "logging"):
        for key, value in sorted((data.get(section) or {}).items()):
            if value is not None and not isinstance(value, (dict, list)):
                out.append(f"{section} {key.replace('_', ' ')}: {value}")
    return out


def _bar_chart(rows: list[tuple[str, Any]]) -> dict:
    """Bars for an inline SVG (template draws it): label, value, width in px."""
    values = []
    for label, value in rows:
        try:
            values.append((label, Decimal(str(value))))
        except (InvalidOperation, TypeError):
            continue
    top = max((v for _, v in values), default=Decimal(0))
    bars = [{"label": label, "value": f"{v}", "width": int(300 * v / top) if top > 0 else 0, "y": 24 * i}
            for i, (label, v) in enumerate(values)]
    return {"bars": bars, "height": 24 * len(bars) + 4}
