"""Sign-in and sessions for the admin panel.

Passwords: ``hashlib.scrypt`` hashes in ``<policy dir>/admin_passwords.yaml``
(``principals.yaml`` validates strictly and has no place for them), in the form
``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``. A principal without a hash can
still sign in by pasting a scoped token; the session then never exceeds the
token's actions, workflows or expiry.

Sessions live in a cookie signed with HMAC-SHA256 under a secret held by the
app (a restart signs everyone out). The cookie carries the principal id, the
session's scope, its expiry and its CSRF token; roles are never taken from it:
every request re-reads the principal's roles from the directory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
PASSWORDS_FILE = "admin_passwords.yaml"
ALL_WORKFLOWS = "*"


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), expected)


def passwords_path() -> Path:
    configured = os.environ.get("GOVERNED_AGENTS_ADMIN_PASSWORDS")
    if configured:
        return Path(configured).expanduser()
    from governed_agents import config

    return config.policy_dir() / PASSWORDS_FILE


def load_password_hashes(path: Path | None = None) -> dict[str, str]:
    """principal id → scrypt hash; an absent file means token sign-in only."""
    import yaml

    path = path or passwords_path()
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    hashes = data.get("passwords") or {}
    return {str(k): str(v) for k, v in hashes.items()}


@dataclass(frozen=True)
class Session:
    """What a signed-in browser may do: the principal, and the scope it signed in with."""

    sid: str
    principal: str
    expires_at: float
    csrf: str
    via: str  # "password" | "token"
    actions: tuple[str, ...] = ()  # empty: whatever the principal's roles allow
    workflows: tuple[str, ...] = field(default=(ALL_WORKFLOWS,))

    def covers(self, action: str, workflow: str | None) -> bool:
        if self.actions and action not in self.actions:
            return False
        return workflow is None or ALL_WORKFLOWS in self.workflows or workflow in self.workflows


class SessionCodec:
    """Encode and verify session cookies (HMAC-SHA256); also remembers signed-out sessions."""

    def __init__(self, secret: bytes | None = None):
        self._secret = secret or secrets.token_bytes(32)
        self._revoked: set[str] = set()

    def encode(self, session: Session) -> str:
        body = base64.urlsafe_b64encode(json.dumps(session.__dict__, sort_keys=True).encode()).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def decode(self, cookie: str | None, *, now: float) -> Session | None:
        """The session, or None if missing, forged, expired or signed out."""
        if not cookie or "." not in cookie:
            return None
        body, signature = cookie.rsplit(".", 1)
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            session = Session(**{**data, "actions": tuple(data["actions"]), "workflows": tuple(data["workflows"])})
        except (ValueError, TypeError, KeyError):
            return None
        if session.expires_at <= now or session.sid in self._revoked:
            return None
        return session

    def revoke(self, sid: str) -> None:
        self._revoked.add(sid)

    def _sign(self, body: str) -> str:
        return hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()
