"""LOGIN, INJAIL and FAI through tfd_client against a multi-user tfd (root)."""

import pytest

import tfd_client
from conftest import PW


def test_login(make_tfd, userdb):
    srv = make_tfd([f"userdb {userdb}"])
    srv.data.chmod(0o777)
    with srv.connect(user="alice", password=PW) as s:
        s.touch("by-alice")
    assert (srv.data / "by-alice").exists()
    with pytest.raises(tfd_client.AuthenticationError) as ei:
        srv.connect(user="alice", password="wrong")
    assert ei.value.code == 37 and isinstance(ei.value, tfd_client.PermissionDenied)


def test_injail(make_tfd, userdb):
    srv = make_tfd([f"userdb {userdb}", "injail"])
    cell = srv.data / "cell"
    cell.mkdir()
    (cell / "jail.key").write_text("tok\n")
    (cell / "in.txt").write_text("in")
    (srv.data / "out.txt").write_text("out")
    with srv.connect(user="alice", password=PW, jail=("tok", "cell")) as s:
        assert sorted(e.name for e in s.listdir("")) == ["in.txt", "jail.key"]
        assert not s.exists("out.txt")
        with pytest.raises(tfd_client.PermissionDenied):
            s.sha256("../out.txt")
    with pytest.raises(tfd_client.AuthenticationError) as ei:
        srv.connect(user="alice", password=PW, jail=("nope", "cell"))
    assert ei.value.code == 49


def test_fai(make_tfd, userdb, tmp_path):
    fai = tmp_path / "state" / "fai"
    srv = make_tfd([f"userdb {userdb}", f"fai_dir {fai}", "fai_max_minutes 30"])
    srv.data.chmod(0o777)
    with srv.connect(user="alice", password=PW, transport="legacy") as s:
        assert s.next_fai_token() is None
        tok = s.faitok(5)
    assert isinstance(tok, tfd_client.FaiToken) and "key" not in repr(tok)
    with srv.connect(fai=tok, transport="legacy") as s:
        nxt = s.next_fai_token()
        assert nxt is not None and nxt.token == tok.token and nxt.key != tok.key
        s.touch("via-fai")
    assert (srv.data / "via-fai").exists()
    with srv.connect(fai=nxt, transport="legacy") as s:
        assert s.exists("via-fai")
    unknown = tfd_client.FaiToken("0b7d4a1c-1e25-4c2e-9a6b-0d5f8e7c6b5a", tok.expiry, tok.key)
    with pytest.raises(tfd_client.HandshakeError):
        srv.connect(fai=unknown, transport="legacy")
