"""fsspec's own mv tests (fsspec/tests/abstract/mv.py, written for the local
filesystem) adapted to tf://: a move into a directory that does not exist
raises FileNotFoundError, and one into a directory the user may not write
raises PermissionError and creates nothing (recursive or not). The
permission case logs in as a user of a multi-user tfd (as root, the served
tree's permissions would not stop it)."""

import os
import pwd
import secrets

import pytest

from conftest import PW, need

try:
    import fsspec
except ImportError:  # the venv installs it (scripts/pytest-client)
    need(False, "fsspec (pip install 'tfd-client[fsspec]'; scripts/pytest-client installs it)")


def test_move_raises_error_with_tmpdir(tfd):
    fs = fsspec.filesystem("tf", host=tfd.addr, key=str(tfd.key_file), hash=tfd.hash, skip_instance_cache=True)
    base = "mv_" + secrets.token_hex(4)
    fs.pipe_file(f"{base}/source_file.txt", b"content")
    with pytest.raises(FileNotFoundError):
        fs.mv(f"{base}/source_file.txt", f"{base}/non_existent_directory/destination_file.txt")
    assert not (tfd.data / base / "non_existent_directory").exists()
    assert (tfd.data / base / "source_file.txt").read_bytes() == b"content"
    fs.rm(base, recursive=True)
    fs.close()


@pytest.mark.parametrize("recursive", (True, False))
def test_move_raises_error_with_tmpdir_permission(recursive, make_tfd, userdb):
    srv = make_tfd([f"userdb {userdb}"])
    owner = pwd.getpwnam("tfdpyc1")
    base = srv.data / ("mvp_" + secrets.token_hex(4))
    (base / "protected_directory").mkdir(parents=True)
    (base / "source_file.txt").write_bytes(b"content")
    for p in (base, base / "protected_directory", base / "source_file.txt"):
        os.chown(p, owner.pw_uid, owner.pw_gid)
    (base / "protected_directory").chmod(0o555)  # read-only
    fs = fsspec.filesystem("tf", host=srv.addr, key=str(srv.key_file), hash=srv.hash, user="alice", password=PW,
                           skip_instance_cache=True)
    with pytest.raises(PermissionError):
        fs.mv(f"{base.name}/source_file.txt", f"{base.name}/protected_directory/destination_file.txt",
              recursive=recursive)
    assert not (base / "protected_directory" / "destination_file.txt").exists()
    assert (base / "source_file.txt").read_bytes() == b"content"
    fs.close()
