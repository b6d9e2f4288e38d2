"""LOGIN, INJAIL, CHMOD, CHOWN and RMSECDIR driven by the public Python client
(tfprotocol-client 1.2.2): the client's login_command against a user file made
by tfpasswd, on a multi-user server (root, no defusr; as root the session then
really runs as the mapped system user, checked on disk).

Each test starts its own server with make_tfd(["userdb ..."]); conftest leaves
out `defusr root` for servers given a userdb.
"""

import os
import subprocess
from pathlib import Path

import pytest

from interop_lib import assert_alive, assert_failed, assert_ok, raw, reply, require
from tfd_host import make_userdb, remove_created_users, system_user

PW = "s3cret pass"  # spaces: the password is the rest of the line
ROOT = os.geteuid() == 0


def tfpasswd_bin() -> str:
    return str(Path(os.environ["TFD_BIN"]).with_name("tfpasswd"))


def tfpasswd(*args, stdin=""):
    return subprocess.run([tfpasswd_bin(), *args], input=stdin.encode(), capture_output=True)


@pytest.fixture(scope="module", autouse=True)
def _remove_created_users():
    yield
    remove_created_users()


@pytest.fixture
def userdb(tmp_path):
    require(ROOT, "needs root (multi-user mode)")
    require(os.access(tfpasswd_bin(), os.X_OK), f"{tfpasswd_bin()} not built")
    return make_userdb(tfpasswd_bin(), tmp_path / "userdb", "alice", "tfdpy1", PW)


def test_login_through_the_client(make_tfd, userdb):
    srv = make_tfd([f"userdb {userdb}"])
    tf = srv.connect()
    # nothing but END/LOGIN/KEEPALIVE/PROCKEY before LOGIN
    assert_failed(reply(tf.mkdir_command, "x"), 38)
    assert_failed(raw(tf, "ECHO", "x"), 38)
    # wrong password and unknown user: the same reply
    assert_failed(reply(tf.login_command, "alice", "wrong"), 37)
    assert_failed(reply(tf.login_command, "mallory", "wrong"), 37)
    assert_ok(reply(tf.login_command, "alice", PW))
    assert_failed(reply(tf.login_command, "alice", PW), 39)
    assert_alive(tf)
    # the session is the mapped system user: what it creates is that user's
    u = system_user("tfdpy1")
    home = srv.data / "alice"
    home.mkdir()
    os.chown(home, u.pw_uid, u.pw_gid)
    assert_ok(reply(tf.mkdir_command, "alice/d"))
    st = (home / "d").stat()
    assert (st.st_uid, st.st_gid) == (u.pw_uid, u.pw_gid)
    # root's directory is not writable for it
    assert_failed(reply(tf.mkdir_command, "not-mine"), 1)
    assert not (srv.data / "not-mine").exists()


def test_chmod_chown_rmsecdir_through_the_client(make_tfd, userdb):
    srv = make_tfd([f"userdb {userdb}"])
    tf = srv.connect()
    assert_ok(reply(tf.login_command, "alice", PW))
    u = system_user("tfdpy1")
    home = srv.data / "alice"
    (home / "s.sd").mkdir(parents=True)
    (home / "s.sd" / "tok").write_bytes(b"")
    (home / "f").write_bytes(b"x")
    for p in (home, home / "s.sd", home / "s.sd" / "tok", home / "f"):
        os.chown(p, u.pw_uid, u.pw_gid)
    assert_ok(reply(tf.chmod_command, "alice/f", "600"))
    assert (home / "f").stat().st_mode & 0o777 == 0o600
    assert_failed(reply(tf.chmod_command, "alice/missing", "600"), 9)
    assert_failed(reply(tf.chmod_command, "alice/f", "9"), 41)
    # an unprivileged user cannot give a file away
    assert_failed(reply(tf.chown_command, "alice/f", "root", "root"), 44)
    assert_failed(reply(tf.chown_command, "alice/f", "no-such-user-x", "root"), 42)
    assert_ok(reply(tf.chown_command, "alice/f", "tfdpy1", str(u.pw_gid)))
    assert_failed(raw(tf, "RMSECDIR", "wrong", "|", "alice/s.sd"), 47)
    assert_ok(raw(tf, "RMSECDIR", "tok", "|", "alice/s.sd"))
    assert not (home / "s.sd").exists()
    assert_alive(tf)


def test_injail_through_the_client(make_tfd, userdb):
    srv = make_tfd([f"userdb {userdb}", "injail"])
    cell = srv.data / "cell"
    cell.mkdir()
    (cell / "jail.key").write_text("tok\n")
    (cell / "in.txt").write_text("in")
    (srv.data / "out.txt").write_text("out")
    tf = srv.connect()
    assert_failed(reply(tf.injail_command, "tok", "cell"), 38)
    assert_ok(reply(tf.login_command, "alice", PW))
    assert_failed(raw(tf, "ECHO", "x"), 50)
    assert_failed(reply(tf.injail_command, "nope", "cell"), 49)
    assert_ok(reply(tf.injail_command, "tok", "cell"))
    assert_failed(reply(tf.injail_command, "tok", "cell"), 51)
    assert_alive(tf)
    assert_failed(reply(tf.sha256_command, "../out.txt"), 1)
    assert reply(tf.sha256_command, "/in.txt").message.startswith("0x")
