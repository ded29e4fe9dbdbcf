"""The signing key: creation with safe permissions, refusal of exposed keys, one key under races."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governed_agents.identity import keys
from governed_agents.identity.keys import SigningKeyError


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_key_created_on_first_use_with_mode_600(_isolated_home):
    key = keys.signing_key()
    key_file = _isolated_home / "keys" / "signing.key"
    pub_file = _isolated_home / "keys" / "signing.pub"
    assert _mode(key_file) == 0o600
    assert _mode(key_file.parent) == 0o700
    assert _mode(pub_file) == 0o644
    assert keys.load_public_key_file(pub_file).public_bytes_raw() == key.public_key().public_bytes_raw()
    # Stable across calls, and nothing left behind from the atomic write.
    assert keys.key_id(keys.signing_key()) == keys.key_id(key)
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["signing.key", "signing.pub"]


def test_key_id_format():
    kid = keys.key_id(keys.public_key())
    assert kid.startswith("ed25519:") and len(kid) == len("ed25519:") + 16
    int(kid.split(":")[1], 16)
    assert keys.key_id(keys.signing_key()) == kid


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_with_group_or_other_access_refused(_isolated_home, mode):
    keys.signing_key()
    key_file = _isolated_home / "keys" / "signing.key"
    os.chmod(key_file, mode)
    with pytest.raises(SigningKeyError) as info:
        keys.signing_key()
    assert f"mode {mode:03o}" in str(info.value)
    assert info.value.hint == f"chmod 600 {key_file}"
    os.chmod(key_file, 0o600)
    keys.signing_key()


def test_env_key_takes_precedence_and_writes_nothing(monkeypatch, _isolated_home):
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    monkeypatch.setenv("GOVERNED_AGENTS_SIGNING_KEY", pem)
    assert keys.key_id(keys.signing_key()) == keys.key_id(key)
    assert not (_isolated_home / "keys").exists()


def test_env_key_that_is_not_ed25519_refused(monkeypatch):
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    monkeypatch.setenv("GOVERNED_AGENTS_SIGNING_KEY", pem)
    with pytest.raises(SigningKeyError, match="not an Ed25519 private key"):
        keys.signing_key()
    monkeypatch.setenv("GOVERNED_AGENTS_SIGNING_KEY", "garbage")
    with pytest.raises(SigningKeyError, match="GOVERNED_AGENTS_SIGNING_KEY: not an unencrypted PEM private key"):
        keys.signing_key()


def test_public_file_restored_if_missing_or_wrong(_isolated_home):
    key = keys.signing_key()
    pub_file = _isolated_home / "keys" / "signing.pub"
    pub_file.unlink()
    keys.signing_key()
    assert pub_file.read_text() == keys.public_key_pem(key)
    pub_file.write_text(keys.public_key_pem(Ed25519PrivateKey.generate()))
    keys.signing_key()
    assert pub_file.read_text() == keys.public_key_pem(key)


def test_load_public_key_rejects_non_ed25519(tmp_path):
    with pytest.raises(SigningKeyError, match="not a PEM public key"):
        keys.load_public_key(b"nope")
    with pytest.raises(SigningKeyError, match="public key file not found"):
        keys.load_public_key_file(tmp_path / "missing.pub")


_RACER = """
import os, sys, time
go = sys.argv[1]
while not os.path.exists(go):
    time.sleep(0.001)
from governed_agents.identity import keys
print(keys.key_id(keys.signing_key()))
"""


def test_concurrent_first_use_ends_with_one_key(_isolated_home, tmp_path):
    # Processes import everything first, then wait for one signal so their
    # first use of the key really overlaps.
    go = tmp_path / "go"
    env = dict(os.environ)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", "import governed_agents.identity.keys\n" + _RACER, str(go)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    time.sleep(0.5)
    go.touch()
    results = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1] for r in results]
    kids = {r[0].strip() for r in results}
    assert len(kids) == 1
    assert kids == {keys.key_id(keys.signing_key())}
    assert sorted(p.name for p in (_isolated_home / "keys").iterdir()) == ["signing.key", "signing.pub"]


def test_create_race_loser_reads_winner(monkeypatch, _isolated_home):
    """Deterministic version of the race: another process links its key in first."""
    winner = Ed25519PrivateKey.generate()
    real_link = os.link

    def link_after_winner(src, dst):
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, keys._private_pem(winner))
        os.close(fd)
        return real_link(src, dst)

    monkeypatch.setattr(os, "link", link_after_winner)
    assert keys.key_id(keys.signing_key()) == keys.key_id(winner)
    monkeypatch.setattr(os, "link", real_link)
    assert keys.key_id(keys.signing_key()) == keys.key_id(winner)
    assert sorted(p.name for p in (_isolated_home / "keys").iterdir()) == ["signing.key", "signing.pub"]
