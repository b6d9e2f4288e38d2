"""put_tree/get_tree/mirror with sparse=True and xattrs=True: tf's -S and -X
through the library, checked on disk on both sides (holes by allocated
blocks, extended attributes by os.getxattr)."""

import os
import secrets
import shutil
import subprocess

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


def test_hard_links_arrive_as_one_file_both_ways(tfd, session, tmp_path):
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    (src / "b").mkdir()
    one = src / "a" / "one"
    one.write_bytes(b"written once, linked thrice\n" * 1000)
    os.link(one, src / "b" / "two")
    os.link(one, src / "three")
    (src / "alone").write_bytes(b"alone\n")
    name = "h_" + secrets.token_hex(4)
    assert session.put_tree(src, name, archive=True, hard_links=True).ok
    there = tfd.data / name
    inodes = {os.stat(there / p).st_ino for p in ("a/one", "b/two", "three")}
    assert len(inodes) == 1 and os.stat(there / "three").st_nlink == 3
    assert os.stat(there / "alone").st_nlink == 1
    back = tmp_path / "back"
    assert session.get_tree(name, back, archive=True, hard_links=True).ok
    inodes = {os.stat(back / p).st_ino for p in ("a/one", "b/two", "three")}
    assert len(inodes) == 1 and (back / "b" / "two").read_bytes() == one.read_bytes()
    m = tmp_path / "m"
    assert session.mirror(name, m, direction="down", hard_links=True).ok
    assert os.stat(m / "three").st_nlink == 3
    # without the flag: three files, as rsync -a copies them
    plain = tmp_path / "plain"
    assert session.get_tree(name, plain, archive=True).ok
    assert os.stat(plain / "three").st_nlink == 1
    with pytest.raises(ValueError, match="archive=True"):
        session.get_tree(name, tmp_path / "never", hard_links=True)


def _acl(p):
    return subprocess.run(["getfacl", "--omit-header", "--absolute-names", "--numeric", str(p)],
                          check=True, capture_output=True, text=True).stdout


def test_acls_go_up_and_come_down(tfd, session, tmp_path):
    if not (shutil.which("setfacl") and shutil.which("getfacl")):
        pytest.fail("cannot run: setfacl and getfacl (apt install acl)")
    src = tmp_path / "src"
    (src / "shared").mkdir(parents=True)
    f = src / "shared" / "plan.txt"
    f.write_bytes(b"project plan\n")
    subprocess.run(["setfacl", "-m", "u:65534:rw-,g:65534:r--", str(f)], check=True)
    subprocess.run(["setfacl", "-d", "-m", "u:65534:rwx", str(src / "shared")], check=True)
    name = "acl_" + secrets.token_hex(4)
    assert session.put_tree(src, name, archive=True, acls=True).ok
    there = tfd.data / name
    assert _acl(there / "shared" / "plan.txt") == _acl(f)
    assert _acl(there / "shared") == _acl(src / "shared")
    assert "user:65534:rw-" in _acl(there / "shared" / "plan.txt")
    back = tmp_path / "back"
    assert session.get_tree(name, back, archive=True, acls=True).ok
    assert _acl(back / "shared" / "plan.txt") == _acl(f)
    assert _acl(back / "shared") == _acl(src / "shared")
    plain = "p_" + secrets.token_hex(4)
    assert session.put_tree(src, plain, archive=True).ok
    assert "user:65534" not in _acl(tfd.data / plain / "shared" / "plan.txt")
