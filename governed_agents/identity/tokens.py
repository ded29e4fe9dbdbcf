"""Short-lived scoped tokens (JWT, EdDSA over Ed25519).

A token delegates *actions* (``approval.approve``, ``tool.call``, …) for some
*workflows* in one *environment* for a short *time window* (at most 12 hours).
It never carries roles: on every use the principal is looked up in the
directory again and its current roles must still allow the action, so removing
a role or a principal takes effect at once.

Every refusal is a ``TokenError`` whose ``code`` attribute is one of
``REFUSAL_CODES`` (stable: tests, the admin panel and documentation use them).
Only ``EdDSA`` is accepted; the algorithm is never taken from the token.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt

from governed_agents.errors import TokenError
from governed_agents.identity import keys
from governed_agents.identity.roles import ACTIONS, roles_allowing

if TYPE_CHECKING:
    from governed_agents.identity.principals import Directory, Principal

ISSUER = "governed-agents"
ALGORITHM = "EdDSA"
DEFAULT_TTL = _dt.timedelta(minutes=15)
MAX_TTL = _dt.timedelta(hours=12)
ANY_WORKFLOW = "*"
ENV_VAR = "GOVERNED_AGENTS_TOKEN"

# Refusals when a token is used.
REFUSAL_CODES = (
    "token_missing",
    "token_malformed",
    "token_forged",
    "token_expired",
    "token_not_yet_valid",
    "token_wrong_environment",
    "token_wrong_workflow",
    "token_wrong_action",
    "principal_unknown",
    "principal_lacks_role",
)
# Refusals when a token is issued (``principal_unknown`` and ``principal_lacks_role`` also apply).
ISSUE_CODES = ("principal_unknown", "action_unknown", "principal_lacks_role", "scope_invalid", "ttl_invalid")

_REQUIRED_CLAIMS = ["iss", "aud", "sub", "act", "wf", "env", "iat", "nbf", "exp", "jti"]


def audience(environment: str) -> str:
    return f"{ISSUER}:{environment}"


def token_error(code: str, message: str, *, hint: str | None = None, **details: Any) -> TokenError:
    """A ``TokenError`` carrying a stable ``code`` (also in ``details['code']`` for JSON output)."""
    exc = TokenError(f"{code}: {message}", hint=hint, details={"code": code, **details})
    exc.code = code  # type: ignore[attr-defined]
    return exc


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token grants, with the principal as the directory has it *now*."""

    principal: Principal
    actions: tuple[str, ...]
    workflows: tuple[str, ...]
    environment: str
    expires_at: _dt.datetime
    token_id: str
    issued_at: _dt.datetime
    not_before: _dt.datetime

    def covers_workflow(self, workflow: str) -> bool:
        return ANY_WORKFLOW in self.workflows or workflow in self.workflows

    def to_json(self) -> dict[str, Any]:
        return {
            "principal": self.principal.id,
            "name": self.principal.name,
            "tenant": self.principal.tenant,
            "roles": sorted(self.principal.roles),
            "actions": list(self.actions),
            "workflows": list(self.workflows),
            "env": self.environment,
            "issued_at": self.issued_at,
            "not_before": self.not_before,
            "expires_at": self.expires_at,
            "token_id": self.token_id,
        }


def _utc(now: _dt.datetime | None) -> _dt.datetime:
    if now is None:
        return _dt.datetime.now(_dt.timezone.utc)
    if now.tzinfo is None:
        return now.replace(tzinfo=_dt.timezone.utc)
    return now.astimezone(_dt.timezone.utc)


def _from_ts(value: int) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(value, tz=_dt.timezone.utc)


def _iso(value: _dt.datetime) -> str:
    return value.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _directory(directory: Directory | None) -> Directory:
    if directory is not None:
        return directory
    from governed_agents.identity.principals import load_principals

    return load_principals()


def _environment(environment: str | None) -> str:
    if environment is not None:
        return environment
    from governed_agents import config

    return config.environment()


def issue_token(
    principal_id: str,
    *,
    actions: list[str],
    workflows: list[str],
    ttl: _dt.timedelta = DEFAULT_TTL,
    environment: str | None = None,
    directory: Directory | None = None,
    now: _dt.datetime | None = None,
) -> str:
    """Sign a token for ``principal_id``; ``TokenError`` if the directory does not allow it."""
    env = _environment(environment)
    if not env:
        raise token_error("scope_invalid", "environment must not be empty")
    if not isinstance(ttl, _dt.timedelta) or ttl <= _dt.timedelta(0):
        raise token_error("ttl_invalid", f"ttl must be a positive duration, got {ttl!r}")
    if ttl > MAX_TTL:
        raise token_error(
            "ttl_invalid",
            f"ttl {ttl} exceeds the maximum of {MAX_TTL}",
            hint="tokens are short-lived by design; issue a new one when it expires",
        )
    actions = list(dict.fromkeys(actions))
    workflows = list(dict.fromkeys(workflows))
    if not actions:
        raise token_error("scope_invalid", "a token must name at least one action")
    if any(not isinstance(w, str) or not w.strip() for w in workflows):
        raise token_error("scope_invalid", f"workflow names must be non-empty strings, got {workflows!r}")

    principal = _directory(directory).get(principal_id)
    if principal is None:
        raise token_error(
            "principal_unknown",
            f"no principal {principal_id!r} in the principals directory",
            hint="principals are listed in policies/principals.yaml",
            principal=principal_id,
        )
    unknown = [a for a in actions if a not in ACTIONS]
    if unknown:
        raise token_error(
            "action_unknown",
            f"unknown action(s) {', '.join(map(repr, unknown))}",
            hint=f"known actions: {', '.join(sorted(ACTIONS))}",
        )
    denied = [a for a in actions if not principal.may(a)]
    if denied:
        needed = "; ".join(f"{a} needs one of {', '.join(roles_allowing(a))}" for a in denied)
        raise token_error(
            "principal_lacks_role",
            f"{principal.id} (roles: {', '.join(sorted(principal.roles)) or 'none'}) may not perform "
            f"{', '.join(denied)} ({needed})",
            principal=principal.id,
        )

    issued = _utc(now).replace(microsecond=0)
    iat = int(issued.timestamp())
    private = keys.signing_key()
    claims = {
        "iss": ISSUER,
        "aud": audience(env),
        "sub": principal.id,
        "tenant": principal.tenant,
        "act": actions,
        "wf": workflows,
        "env": env,
        "iat": iat,
        "nbf": iat,
        "exp": iat + int(ttl.total_seconds()),
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, private, algorithm=ALGORITHM, headers={"kid": keys.key_id(private)})


def inspect_token(
    token: str | None,
    *,
    environment: str | None = None,
    directory: Directory | None = None,
    now: _dt.datetime | None = None,
    leeway: float = 0,
) -> TokenClaims:
    """Verify signature, form, environment, time window and principal; not the action or workflow.

    ``verify_token`` is this plus the scope checks; use it to authorise anything.
    """
    if token is None or not token.strip():
        raise token_error("token_missing", "no token given", hint=_issue_hint())
    token = token.strip()
    env = _environment(environment)

    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise token_error("token_malformed", f"not a JWT ({exc})") from None
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise token_error("token_forged", f"token uses alg {alg!r}; only {ALGORITHM} is accepted")

    public = keys.public_key()
    expected_kid = keys.key_id(public)
    kid = header.get("kid")
    if kid is not None and kid != expected_kid:
        raise token_error(
            "token_forged",
            f"token was signed by key {kid!r}, not by this installation's key {expected_kid}",
        )

    try:
        claims = jwt.decode(
            token,
            public,
            algorithms=[ALGORITHM],
            # Time, audience and issuer are checked below against ``now`` with precise codes.
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
                "require": _REQUIRED_CLAIMS,
            },
        )
    except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError, jwt.InvalidKeyError) as exc:
        raise token_error("token_forged", f"signature does not verify with this installation's key ({exc})") from None
    except jwt.MissingRequiredClaimError as exc:
        raise token_error("token_malformed", f"claim {exc.claim!r} is missing") from None
    except jwt.InvalidTokenError as exc:
        raise token_error("token_malformed", f"token does not decode ({exc})") from None

    parsed = _parse_claims(claims)

    if parsed["iss"] != ISSUER:
        raise token_error("token_malformed", f"issuer is {parsed['iss']!r}, expected {ISSUER!r}")
    if parsed["env"] != env or parsed["aud"] != audience(env):
        raise token_error(
            "token_wrong_environment",
            f"token is for environment {parsed['env']!r} (audience {parsed['aud']!r}); this is {env!r}",
            hint=f"issue a token for this environment: governed-agents token issue --env {env} …",
        )

    current = _utc(now)
    stamp = current.timestamp()
    expires_at = _from_ts(parsed["exp"])
    not_before = _from_ts(parsed["nbf"])
    if stamp >= parsed["exp"] + leeway:
        ago = _dt.timedelta(seconds=int(stamp - parsed["exp"]))
        raise token_error(
            "token_expired",
            f"token {parsed['jti']} expired at {_iso(expires_at)} ({ago} ago)",
            hint=_issue_hint(),
        )
    if stamp < parsed["nbf"] - leeway:
        raise token_error(
            "token_not_yet_valid",
            f"token {parsed['jti']} is not valid before {_iso(not_before)} (now {_iso(current)})",
            hint="check the clocks of the issuing and verifying machines",
        )

    principal = _directory(directory).get(parsed["sub"])
    if principal is None:
        raise token_error(
            "principal_unknown",
            f"principal {parsed['sub']!r} is no longer in the principals directory",
            principal=parsed["sub"],
        )

    return TokenClaims(
        principal=principal,
        actions=tuple(parsed["act"]),
        workflows=tuple(parsed["wf"]),
        environment=parsed["env"],
        expires_at=expires_at,
        token_id=parsed["jti"],
        issued_at=_from_ts(parsed["iat"]),
        not_before=not_before,
    )


def verify_token(
    token: str | None,
    *,
    action: str,
    workflow: str | None,
    environment: str | None = None,
    directory: Directory | None = None,
    now: _dt.datetime | None = None,
    leeway: float = 0,
) -> TokenClaims:
    """Verify ``token`` for one use: ``action`` on ``workflow`` (``None``: not workflow-scoped).

    Returns the claims with the principal re-resolved from the directory now;
    raises ``TokenError`` (with ``.code``) on any refusal.
    """
    claims = inspect_token(token, environment=environment, directory=directory, now=now, leeway=leeway)
    principal = claims.principal
    if action not in claims.actions:
        raise token_error(
            "token_wrong_action",
            f"token {claims.token_id} grants {', '.join(claims.actions)}, not {action}",
            hint=_issue_hint(action, principal.id),
            principal=principal.id,
        )
    if workflow is not None and not claims.covers_workflow(workflow):
        raise token_error(
            "token_wrong_workflow",
            f"token {claims.token_id} is scoped to workflow(s) {', '.join(claims.workflows) or '(none)'}, "
            f"not {workflow!r}",
            hint=_issue_hint(action, principal.id, workflow),
            principal=principal.id,
        )
    if not principal.may(action):
        raise token_error(
            "principal_lacks_role",
            f"{principal.id} no longer holds a role that allows {action} "
            f"(current roles: {', '.join(sorted(principal.roles)) or 'none'}; "
            f"needs one of {', '.join(roles_allowing(action))})",
            principal=principal.id,
        )
    return claims


def token_from_env_or_arg(arg: str | None, *, action: str | None = None) -> str:
    """The token from ``--token`` if given, else ``$GOVERNED_AGENTS_TOKEN``; ``token_missing`` if neither."""
    import os

    token = (arg or "").strip() or os.environ.get(ENV_VAR, "").strip()
    if not token:
        raise token_error(
            "token_missing",
            f"this command needs a token: pass --token or set {ENV_VAR}",
            hint=_issue_hint(action),
        )
    return token


def _issue_hint(action: str | None = None, principal: str | None = None, workflow: str | None = None) -> str:
    command = f"governed-agents token issue --principal {principal or '<id>'} --action {action or '<action>'}"
    if workflow:
        command += f" --workflow {workflow}"
    return f"issue one with `{command}` and pass it with --token or ${ENV_VAR}"


def _parse_claims(claims: dict[str, Any]) -> dict[str, Any]:
    def need(name: str, kind: type | tuple[type, ...]) -> Any:
        value = claims.get(name)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise token_error("token_malformed", f"claim {name!r} has the wrong type ({type(value).__name__})")
        return value

    def str_list(name: str) -> list[str]:
        value = need(name, list)
        if not all(isinstance(item, str) for item in value):
            raise token_error("token_malformed", f"claim {name!r} must be a list of strings")
        return value

    tenant = claims.get("tenant")
    if tenant is not None and not isinstance(tenant, str):
        raise token_error("token_malformed", "claim 'tenant' has the wrong type")
    return {
        "iss": need("iss", str),
        "aud": need("aud", str),
        "sub": need("sub", str),
        "env": need("env", str),
        "jti": need("jti", str),
        "iat": need("iat", int),
        "nbf": need("nbf", int),
        "exp": need("exp", int),
        "act": str_list("act"),
        "wf": str_list("wf"),
        "tenant": tenant,
    }
