"""The installation's Ed25519 signing key.

One key pair signs both tokens and receipts; the two never collide because
each signs a domain-separated input (a JWT's ``header.payload`` for tokens, a
``b"governed-agents receipt v1\\n"``-prefixed canonical body for receipts).

Where the key comes from, in order:

1. ``GOVERNED_AGENTS_SIGNING_KEY``: the private key as PEM text (production:
   injected from a secret store; nothing is written to disk).
2. ``<home>/keys/signing.key``: created on first use with mode 600 in a 700
   folder, together with ``<home>/keys/signing.pub`` (mode 644) for auditors.

Creation is race-free: the key is written to a private temporary file and
hard-linked into place, which fails if another process got there first; the
loser then reads the winner's key. A key file readable by group or others is
refused rather than silently used or "fixed".
"""

from __future__ import annotations

import hashlib
import os
import stat
import uuid
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from governed_agents.errors import GovernanceError

ENV_VAR = "GOVERNED_AGENTS_SIGNING_KEY"
KEY_FILE = "signing.key"
PUBLIC_FILE = "signing.pub"


class SigningKeyError(GovernanceError):
    """The signing key cannot be loaded or created; nothing is signed or verified."""


def keys_dir() -> Path:
    from governed_agents import config

    return config.home() / "keys"


def private_key_path() -> Path:
    return keys_dir() / KEY_FILE


def public_key_path() -> Path:
    return keys_dir() / PUBLIC_FILE


def signing_key() -> Ed25519PrivateKey:
    """The private key: from ``GOVERNED_AGENTS_SIGNING_KEY``, else the key file (created on first use)."""
    pem = os.environ.get(ENV_VAR)
    if pem and pem.strip():
        return _load_private_pem(pem.encode("utf-8"), source=f"${ENV_VAR}")
    return _file_key()


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """``ed25519:`` + the first 16 hex digits of sha256 of the raw public key."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The public key as PEM (SubjectPublicKeyInfo) text."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key(data: bytes | str, *, source: str = "public key") -> Ed25519PublicKey:
    """Parse a PEM public key; ``SigningKeyError`` if it is not an Ed25519 public key."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{source}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{source}: not an Ed25519 public key ({type(key).__name__})")
    return key


def load_public_key_file(path: str | Path) -> Ed25519PublicKey:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SigningKeyError(
            f"public key file not found: {path}",
            hint="pass --public-key FILE; the operator prints it with `governed-agents receipts public-key`",
        ) from None
    except OSError as exc:
        raise SigningKeyError(f"cannot read public key file {path}: {exc.strerror or exc}") from None
    return load_public_key(data, source=str(path))


def _load_private_pem(data: bytes, *, source: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(
            f"{source}: not an unencrypted PEM private key ({exc})",
            hint="generate one with: openssl genpkey -algorithm ed25519",
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(
            f"{source}: not an Ed25519 private key ({type(key).__name__})",
            hint="generate one with: openssl genpkey -algorithm ed25519",
        )
    return key


def _private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _file_key() -> Ed25519PrivateKey:
    directory = keys_dir()
    path = directory / KEY_FILE
    key = _read_key_file(path)
    if key is None:
        _ensure_private_dir(directory)
        key = _create_key_file(path)
    _ensure_public_file(directory / PUBLIC_FILE, key)
    return key


def _read_key_file(path: Path) -> Ed25519PrivateKey | None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SigningKeyError(f"cannot open signing key {path}: {exc.strerror or exc}") from None
    try:
        # Checked on the open descriptor, so the file cannot be swapped between check and read.
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077:
            raise SigningKeyError(
                f"signing key {path} is accessible by group or others (mode {mode:03o}); refusing to use it",
                hint=f"chmod 600 {path}",
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read()
    finally:
        os.close(fd)
    return _load_private_pem(data, source=str(path))


def _ensure_private_dir(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
    except PermissionError:
        pass


def _create_key_file(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, _private_pem(key))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            # link() fails if the name exists: exactly one process wins, and the
            # key file is never seen half-written.
            os.link(tmp, path)
        except FileExistsError:
            existing = _read_key_file(path)
            if existing is None:  # pragma: no cover - deleted between link and read
                raise SigningKeyError(f"signing key {path} vanished while being created; retry") from None
            return existing
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    return key


def _ensure_public_file(path: Path, key: Ed25519PrivateKey) -> None:
    """Keep ``signing.pub`` equal to the private key's public half (it is derived data)."""
    wanted = public_key_pem(key).encode("ascii")
    try:
        if path.read_bytes() == wanted:
            return
    except FileNotFoundError:
        pass
    except OSError:
        return  # unreadable: leave it; signing does not depend on it
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.fchmod(fd, 0o644)
            os.write(fd, wanted)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
