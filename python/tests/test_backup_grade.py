"""put_tree/get_tree/mirror with sparse=True and xattrs=True: tf's -S and -X
through the library, checked on disk on both sides (holes by allocated
blocks, extended attributes by os.getxattr)."""

import os
import secrets

import pytest

MiB = 1 << 20


def _sparse(p, size=16 * MiB):
    """A file of ``size`` bytes with 64 KiB of data at each end and a hole
    between them."""
    with open(p, "wb") as f:
        f.write(b"head" * (16 << 10))
        f.seek(size - (64 << 10))
        f.write(b"tail" * (16 << 10))
    return p.read_bytes()


def _allocated(p):
    return os.stat(p).st_blocks * 512


def test_sparse_files_keep_their_holes_both_ways_and_only_when_asked(tfd, session, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    data = _sparse(src / "disk.img")
    assert _allocated(src / "disk.img") < 4 * MiB, "this file system makes no holes"
    name = "s_" + secrets.token_hex(4)
    assert session.put_tree(src, name, archive=True, sparse=True).ok
    up = tfd.data / name / "disk.img"
    assert up.read_bytes() == data
    assert _allocated(up) < 4 * MiB, _allocated(up)
    back = tmp_path / "back"
    assert session.get_tree(name, back, archive=True, sparse=True).ok
    assert (back / "disk.img").read_bytes() == data
    assert _allocated(back / "disk.img") < 4 * MiB, _allocated(back / "disk.img")
    # mirror keeps them too
    m = tmp_path / "m"
    assert session.mirror(name, m, direction="down", sparse=True).ok
    assert _allocated(m / "disk.img") < 4 * MiB
    # without the flag the copy is dense, as rsync -a's
    dense = "d_" + secrets.token_hex(4)
    assert session.put_tree(src, dense, archive=True).ok
    assert (tfd.data / dense / "disk.img").read_bytes() == data
    assert _allocated(tfd.data / dense / "disk.img") >= 15 * MiB


def _attrs(p):
    return {n: os.getxattr(p, n, follow_symlinks=False)
            for n in os.listxattr(p, follow_symlinks=False) if n.startswith("user.")}


def test_xattrs_go_up_come_down_and_follow_a_mirror(tfd, session, tmp_path):
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    f = src / "d" / "f.txt"
    f.write_bytes(b"labelled\n")
    os.setxattr(f, "user.origin", b"camera 2")
    os.setxattr(f, "user.bin", bytes(range(256)))
    os.setxattr(src / "d", "user.project", b"apollo")
    name = "x_" + secrets.token_hex(4)
    assert session.put_tree(src, name, archive=True, xattrs=True).ok
    there = tfd.data / name
    assert _attrs(there / "d" / "f.txt") == _attrs(f)
    assert _attrs(there / "d") == {"user.project": b"apollo"}
    back = tmp_path / "back"
    assert session.get_tree(name, back, archive=True, xattrs=True).ok
    assert _attrs(back / "d" / "f.txt") == _attrs(f)
    assert _attrs(back / "d") == {"user.project": b"apollo"}
    # a change and a removal on the server follow a mirror down
    os.setxattr(there / "d" / "f.txt", "user.origin", b"camera 3")
    os.removexattr(there / "d" / "f.txt", "user.bin")
    assert session.mirror(name, back, direction="down", xattrs=True).ok
    assert _attrs(back / "d" / "f.txt") == {"user.origin": b"camera 3"}
    # without the flag none are kept
    plain = "p_" + secrets.token_hex(4)
    assert session.put_tree(src, plain, archive=True).ok
    assert _attrs(tfd.data / plain / "d" / "f.txt") == {}
    # tf's rule: -X with -a
    with pytest.raises(ValueError, match="archive=True"):
        session.put_tree(src, "never", xattrs=True)
    assert not (tfd.data / "never").exists()
