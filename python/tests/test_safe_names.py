"""Names that do what their Python namesakes do (issue 45): rmdir refuses a
directory that holds anything, as os.rmdir, paramiko and `tf rmdir` do
(the protocol's RMDIR removes a whole tree: rmtree is that, by name), and a
mirror's direction is always named."""

import errno
import os

import pytest

import tfd_client


def test_rmdir_refuses_a_non_empty_directory_and_rmtree_removes_it(session, wd):
    name, disk = wd
    for i in range(30):
        (disk / "tree" / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (disk / "tree" / f"d{i % 3}" / f"f{i}").write_bytes(b"x" * i)
    with pytest.raises(OSError) as ei:
        session.rmdir(f"{name}/tree")
    e = ei.value
    assert isinstance(e, tfd_client.DirectoryNotEmpty) and isinstance(e, tfd_client.Error)
    assert e.errno == errno.ENOTEMPTY and e.entries == 3
    assert str(e) == (f"{name}/tree: the directory is not empty (3 entries); nothing removed "
                      "(rmtree removes it and everything in it)"), str(e)
    assert sum(len(fs) for _, _, fs in os.walk(disk / "tree")) == 30, "nothing was removed"
    # an empty one goes, as os.rmdir
    (disk / "empty").mkdir()
    session.rmdir(f"{name}/empty")
    assert not (disk / "empty").exists()
    with pytest.raises(FileNotFoundError):
        session.rmdir(f"{name}/empty")
    # the recursive form, by name
    session.rmtree(f"{name}/tree")
    assert not (disk / "tree").exists()


def test_mirror_needs_its_direction_named(session, wd, tmp_path):
    name, disk = wd
    local = tmp_path / "local"
    local.mkdir()
    (local / "mine.txt").write_bytes(b"local only")
    (disk / "remote").mkdir()
    (disk / "remote" / "theirs.txt").write_bytes(b"remote only")
    # the old call (local, remote, delete=True) with no direction: refused, nothing deleted
    with pytest.raises(TypeError):
        session.mirror(local, f"{name}/remote", delete=True)
    with pytest.raises(ValueError) as ei:
        session.mirror(local, f"{name}/remote", direction="sideways", delete=True)
    assert "'up'" in str(ei.value) and "'down'" in str(ei.value)
    assert (local / "mine.txt").exists() and (disk / "remote" / "theirs.txt").exists()
    # down: SRC remote, DST local, as `tf mirror SRC DST`
    r = session.mirror(f"{name}/remote", local, direction="down", delete=True)
    assert (r.transferred, r.deleted) == (1, 1)
    assert sorted(os.listdir(local)) == ["theirs.txt"]
    # up: SRC local, DST remote
    (local / "new.txt").write_bytes(b"new")
    r = session.mirror(local, f"{name}/remote", direction="up", delete=True)
    assert r.transferred == 1 and (disk / "remote" / "new.txt").read_bytes() == b"new"
