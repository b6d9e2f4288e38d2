"""Key login through tfd_client against a multi-user tfd (root): keys made by
the real ssh-keygen (Ed25519), registered with tfpasswd key add, offered with
connect(identity=...) or by a real ssh-agent (ssh-add), in tf's order."""

import os
import subprocess
import time

import pytest

import tfd_client
from conftest import need, tfpasswd_bin


def _tool(name):
    need(subprocess.run(["sh", "-c", f"command -v {name}"], capture_output=True).returncode == 0,
         f"{name} (Debian package openssh-client)")
    return name


def _keygen(dir, name, passphrase=""):
    path = dir / name
    subprocess.run([_tool("ssh-keygen"), "-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f", str(path)],
                   check=True, capture_output=True)
    return path


@pytest.fixture
def keyed(make_tfd, userdb, tmp_path, monkeypatch):
    """A server taking alice's keys from its authorized_keys_dir, with no
    agent and a HOME without keys; (server, keys dir, work dir)."""
    keys = tmp_path / "authorized"
    srv = make_tfd([f"userdb {userdb}", f"authorized_keys_dir {keys}"])
    srv.data.chmod(0o777)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return srv, keys, tmp_path


def _add_key(keys, user, key):
    out = subprocess.run([tfpasswd_bin(), "--keys-dir", str(keys), "key", "add", user, f"{key}.pub"],
                         capture_output=True)
    assert out.returncode == 0, out


def test_an_identity_file_logs_in_without_a_password(keyed):
    srv, keys, work = keyed
    key = _keygen(work, "alice_ed25519")
    _add_key(keys, "alice", key)
    with srv.connect(user="alice", identity=key, transport="secure") as s:
        s.touch("by-key")
    assert (srv.data / "by-key").exists()
    # a key not registered is refused: no password to fall back on
    stranger = _keygen(work, "stranger")
    with pytest.raises(tfd_client.AuthenticationError):
        srv.connect(user="alice", identity=stranger, transport="secure")
    # identity= alone is offered (as tf -i): a key the agent or ~/.ssh holds is not
    with pytest.raises(tfd_client.UsageError, match="nope"):
        srv.connect(user="alice", identity=work / "nope")
    # without user= the identity is kept for a single-user server that asks
    # for a key login (this one does not): the session opens as before
    with srv.connect(identity=key):
        pass


def test_a_single_user_server_takes_only_its_authorized_keys(make_tfd, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    key, other = _keygen(tmp_path, "good"), _keygen(tmp_path, "other")
    authorized = tmp_path / "authorized_keys"
    authorized.write_text((tmp_path / "good.pub").read_text())
    srv = make_tfd([f"authorized_keys {authorized}"])
    with srv.connect(identity=key, transport="secure") as s:
        s.touch("by-key")
    assert (srv.data / "by-key").exists()
    with pytest.raises(tfd_client.AuthenticationError, match="no key was accepted"):
        srv.connect(identity=other, transport="secure")
    with pytest.raises(tfd_client.AuthenticationError, match="no key was found to offer"):
        srv.connect(transport="secure")
    # ~/.ssh/id_ed25519 is offered by default
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_ed25519").write_bytes(key.read_bytes())
    (home / ".ssh" / "id_ed25519").chmod(0o600)
    with srv.connect(transport="secure") as s:
        s.touch("by-default-key")


def test_a_passphrase_unlocks_the_identity(keyed):
    srv, keys, work = keyed
    key = _keygen(work, "locked", passphrase="pass phrase")
    _add_key(keys, "alice", key)
    with srv.connect(user="alice", identity=key, passphrase="pass phrase", transport="secure") as s:
        s.touch("by-locked-key")
    with pytest.raises(tfd_client.AuthenticationError):
        srv.connect(user="alice", identity=key, transport="secure")


def test_home_keys_are_offered_after_the_agent(keyed):
    srv, keys, work = keyed
    ssh = work / "home" / ".ssh"
    ssh.mkdir(mode=0o700)
    key = _keygen(ssh, "id_ed25519")
    _add_key(keys, "alice", key)
    with srv.connect(user="alice", transport="secure") as s:
        s.touch("by-home-key")
    assert (srv.data / "by-home-key").exists()


def test_an_agents_key_logs_in(keyed, monkeypatch):
    srv, keys, work = keyed
    other = _keygen(work, "other")
    good = _keygen(work, "good")
    _add_key(keys, "alice", good)
    sock = work / "agent.sock"
    agent = subprocess.Popen([_tool("ssh-agent"), "-D", "-a", str(sock)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        env = dict(os.environ, SSH_AUTH_SOCK=str(sock))
        for key in (other, good):
            added = subprocess.run([_tool("ssh-add"), str(key)], env=env, capture_output=True)
            assert added.returncode == 0, added
        # no key file, no password: the agent's first key is refused, its second logs in
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        with srv.connect(user="alice", transport="secure") as s:
            s.touch("by-agent")
        assert (srv.data / "by-agent").exists()
    finally:
        agent.kill()
        agent.wait()
