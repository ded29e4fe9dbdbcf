"""Where state lives and which environment this is.

Everything is derived from environment variables at call time (never cached at
import), so tests and the CLI can point a process at another home:

- ``GOVERNED_AGENTS_HOME``: state home (default ``./.governed``) holding the
  SQLite ledger, the demo ERP, the signing key and ``DAGSTER_HOME``.
- ``GOVERNED_AGENTS_DB_URL``: the ledger's SQLAlchemy URL (default: SQLite in the home).
- ``GOVERNED_AGENTS_ENV``: the environment name tokens are scoped to (default ``dev``).
- ``GOVERNED_AGENTS_POLICY_DIR``: the policies folder (default ``./policies``).
- ``GOVERNED_AGENTS_SIGNING_KEY``: an Ed25519 private key (PEM); otherwise a key
  file is created with mode 600 in the home.
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    path = Path(os.environ.get("GOVERNED_AGENTS_HOME", ".governed")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def ledger_url() -> str:
    url = os.environ.get("GOVERNED_AGENTS_DB_URL")
    if url:
        return url
    return f"sqlite:///{home() / 'ledger.sqlite3'}"


def environment() -> str:
    return os.environ.get("GOVERNED_AGENTS_ENV", "dev")


def policy_dir() -> Path:
    configured = os.environ.get("GOVERNED_AGENTS_POLICY_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    local = Path("policies").resolve()
    if local.is_dir():
        return local
    # Installed elsewhere: the reference policies sit next to the package's repo root.
    return (Path(__file__).resolve().parent.parent / "policies").resolve()
