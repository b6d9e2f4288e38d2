"""The server's key when connect() is given none: tf's known servers file
($XDG_CONFIG_HOME/tf/known_servers), a first contact refused unless
accept_new=True pins the key, the pin used afterwards, and a server whose key
changed refused naming both fingerprints and the line to remove."""

import subprocess

import pytest

import tfd_client
from conftest import _keypair, tfd_bin


def _fingerprint(srv):
    out = subprocess.run([tfd_bin(), "-c", str(srv.base / "tfd.conf"), "--print-fingerprint"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out
    return out.stdout.strip()


@pytest.fixture
def config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "tf" / "known_servers"


def _connect(srv, **kw):
    return tfd_client.connect(srv.addr, hash=srv.hash, **kw)


def test_accept_new_pins_and_a_changed_key_is_refused(make_tfd, config_home):
    srv = make_tfd()
    fp = _fingerprint(srv)
    # a first contact without accept_new: refused, naming the fingerprint; nothing pinned
    with pytest.raises(tfd_client.HostKeyError, match="accept_new") as ei:
        _connect(srv)
    assert fp in str(ei.value) and not config_home.exists()
    with _connect(srv, accept_new=True) as s:
        s.touch("pinned")
    assert config_home.read_text().startswith(f"{srv.addr} ssh-rsa ")
    # the pin serves the next session, without accept_new
    with _connect(srv) as s:
        assert s.exists("pinned")
    # the same address with another key: refused loudly, even with accept_new
    srv.restart_with_key(_keypair())
    new_fp = _fingerprint(srv)
    assert new_fp != fp
    for kw in ({}, {"accept_new": True}):
        with pytest.raises(tfd_client.HostKeyError) as ei:
            _connect(srv, **kw)
        said = str(ei.value)
        assert fp in said and new_fp in said and f"{config_home}, line 1" in said, said
    assert isinstance(ei.value, tfd_client.HandshakeError)
    # an explicit key= is taken as it is: the pin is not consulted
    with _connect(srv, key=srv.key_file) as s:
        assert s.exists("pinned")
