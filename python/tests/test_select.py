"""Issue 68's selection in the Python package: put_tree, get_tree and mirror
take rsync's filter rules, files_from, max_size/min_size and the update
modes as keyword arguments, and the result is rsync's for the same words."""

import os
import secrets
import shutil
import subprocess

import pytest


def _tree(top):
    for rel, size in [("a/z.txt", 10), ("a/b/c/z.txt", 12), ("src/gen/a.rs", 14),
                      ("big.bin", 4096), ("small", 3), ("notes/n.md", 20)]:
        p = top / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(size))


def _files(top):
    out = {}
    for dirpath, dirs, files in os.walk(top):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            out[os.path.relpath(p, top)] = None if os.path.isdir(p) else open(p, "rb").read()
    return out


def _rsync(tmp_path, src, *words):
    if shutil.which("rsync") is None:
        pytest.skip("rsync is not installed")
    ref = tmp_path / ("ref_" + secrets.token_hex(3))
    ref.mkdir()
    subprocess.run(["rsync", "-r", *words, f"{src}/", f"{ref}/"], check=True)
    return _files(ref)


@pytest.mark.parametrize("kw,words", [
    (dict(exclude=["a/**/z.txt"]), ["--exclude", "a/**/z.txt"]),
    (dict(rules=["+ */", "+ *.rs", "- *"]), ["--filter", "+ */", "--filter", "+ *.rs", "--filter", "- *"]),
    (dict(max_size="1K"), ["--max-size", "1K"]),
    (dict(min_size=10), ["--min-size", "10"]),
])
def test_tree_calls_select_as_rsync_does(tfd, session, tmp_path, kw, words):
    src = tmp_path / "src"
    _tree(src)
    want = _rsync(tmp_path, src, *words)
    name = "s_" + secrets.token_hex(4)
    assert session.put_tree(src, name, **kw).ok
    assert _files(tfd.data / name) == want
    back = tmp_path / "back"
    assert session.get_tree(name, back, **kw).ok
    assert _files(back) == want
    m = tmp_path / "m"
    session.put_tree(src, name + "_all")
    assert session.mirror_down(name + "_all", m, **kw).ok
    assert _files(m) == want


def test_files_from_and_update_modes(tfd, session, tmp_path):
    src = tmp_path / "src"
    _tree(src)
    name = "f_" + secrets.token_hex(4)
    assert session.put_tree(src, name, files_from=["a/z.txt", "notes"]).ok
    assert sorted(_files(tfd.data / name)) == ["a", "a/z.txt", "notes", "notes/n.md"]
    # what the destination has is left as it is
    (tfd.data / name / "small").write_bytes(b"theirs")
    assert session.put_tree(src, name, ignore_existing=True).ok
    assert (tfd.data / name / "small").read_bytes() == b"theirs"
    assert (tfd.data / name / "big.bin").read_bytes() == (src / "big.bin").read_bytes()
    with pytest.raises(ValueError, match="not a size"):
        session.put_tree(src, name, max_size="lots")
    with pytest.raises(ValueError, match="tf takes rsync's"):
        session.put_tree(src, name, rules=["merge x"])


def test_delete_excluded_removes_the_excluded_too(tfd, session, tmp_path):
    src = tmp_path / "src"
    _tree(src)
    m = tmp_path / "m"
    m.mkdir()
    (m / "old.log").write_bytes(b"old")
    (m / "big.bin").write_bytes(b"x")
    name = "d_" + secrets.token_hex(4)
    session.put_tree(src, name)
    r = session.mirror_down(name, m, exclude=["*.log", "big.bin"], delete_excluded=True)
    assert r.ok, r
    assert not (m / "old.log").exists() and not (m / "big.bin").exists()
    assert (m / "small").exists()
