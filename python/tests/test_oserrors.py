"""Refusals as the OSError family Python programs catch (issue 45): each
tfd_client class keeps its name and is also the builtin (NotFound a
FileNotFoundError, ...), with .errno set and a message in words."""

import errno

import pytest

import tfd_client
from conftest import PW


def test_refusals_are_the_builtin_oserrors_with_errno(session, wd, tmp_path):
    name, local = wd
    with pytest.raises(FileNotFoundError) as ei:
        session.stat(f"{name}/nope")
    assert isinstance(ei.value, tfd_client.NotFound) and isinstance(ei.value, tfd_client.Error)
    assert ei.value.errno == errno.ENOENT
    assert str(ei.value).startswith("the server refused FSTAT"), str(ei.value)
    session.mkdir(f"{name}/d")
    with pytest.raises(FileExistsError) as ei:
        session.mkdir(f"{name}/d")
    assert isinstance(ei.value, tfd_client.Exists) and ei.value.errno == errno.EEXIST
    # the class names of before still catch them
    with pytest.raises(tfd_client.Refused):
        session.mkdir(f"{name}/d")


def test_put_into_a_missing_directory_names_it(session, wd, tmp_path):
    name, local = wd
    src = tmp_path / "src.bin"
    src.write_bytes(b"abc" * 1000)
    with pytest.raises(FileNotFoundError) as ei:
        session.put(src, f"{name}/no/such/dir/x")
    msg = str(ei.value)
    assert isinstance(ei.value, tfd_client.NotFound) and ei.value.errno == errno.ENOENT
    assert f"no directory {name}/no/such/dir on the server" in msg, msg
    assert f"({name}/no is missing)" in msg, msg
    assert "File transfer API error" not in msg, msg
    assert not (local / "no").exists()
    # a file where a directory must be
    session.write_bytes(f"{name}/f", b"1")
    with pytest.raises(NotADirectoryError) as ei:
        session.put(src, f"{name}/f/x")
    assert ei.value.errno == errno.ENOTDIR and f"{name}/f on the server is not a directory" in str(ei.value)


def test_quota_is_an_oserror_edquot(make_tfd):
    srv = make_tfd(["quota_default 16K"])
    with srv.connect() as s:
        with pytest.raises(OSError) as ei:
            s.write_bytes("big", b"x" * (256 << 10))
    assert isinstance(ei.value, tfd_client.QuotaExceeded), repr(ei.value)
    assert ei.value.errno == errno.EDQUOT, ei.value.errno


def test_failed_login_is_a_permission_error_in_words(make_tfd, userdb):
    srv = make_tfd([f"userdb {userdb}"])
    with pytest.raises(PermissionError) as ei:
        srv.connect(user="alice", password="wrong " + PW)
    e = ei.value
    assert isinstance(e, tfd_client.AuthenticationError) and e.errno == errno.EACCES and e.code == 37
    assert "Failed(" not in str(e) and "FAILED 37" in str(e) and "login" in str(e), str(e)


def test_closed_session_raises_session_closed(tfd):
    s = tfd.connect()
    s.close()
    with pytest.raises(tfd_client.SessionClosed) as ei:
        s.echo("x")
    assert isinstance(ei.value, ConnectionError) and isinstance(ei.value, tfd_client.ConnectionError)
    assert "the session is closed (it was closed): connect again" == str(ei.value)


def test_public_key_error_has_a_proper_name(tfd, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key\n")
    with pytest.raises(tfd_client.PublicKeyError) as ei:
        tfd.connect(key=bad, transport="legacy")
    assert "PublicKeyError" in tfd_client.__all__ and "KeyError_" not in tfd_client.__all__
    assert type(ei.value).__name__ == "PublicKeyError"
