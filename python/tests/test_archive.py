"""put_tree/get_tree(archive=True): the archive copy tf mirror makes (tfd's
TFDENTRIES and archive batches), compared entry by entry with os.lstat on
both sides: the mode, the mtime to the nanosecond, a link's target."""

import os
import secrets
import stat



def _tree(top):
    (top / "d" / "e").mkdir(parents=True)
    f = top / "d" / "f.txt"
    f.write_bytes(b"archived\n")
    f.chmod(0o640)
    x = top / "run.sh"
    x.write_bytes(b"#!/bin/sh\n")
    x.chmod(0o751)
    os.symlink("d/f.txt", top / "ln")
    os.symlink("../nowhere", top / "d" / "dangling")
    for i, p in enumerate([f, x, top / "d" / "e", top / "d"]):
        os.utime(p, ns=(1_600_000_000_000_000_001 + i, 1_600_000_000_123_456_789 + i * 1000))
    (top / "d").chmod(0o750)
    os.utime(top / "ln", ns=(1_600_000_000_000_000_000, 1_600_000_000_555_000_001), follow_symlinks=False)


def _facts(top):
    out = {}
    for dirpath, dirs, files in os.walk(top):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            link = os.readlink(p) if stat.S_ISLNK(st.st_mode) else None
            mode = None if link else stat.S_IMODE(st.st_mode)
            mtime = st.st_mtime_ns
            out[os.path.relpath(p, top)] = (stat.S_IFMT(st.st_mode), mode, mtime, link)
    return out


def test_an_archive_put_and_get_keep_modes_ns_mtimes_and_links(tfd, session, tmp_path):
    src = tmp_path / "src"
    _tree(src)
    name = "a_" + secrets.token_hex(4)
    r = session.put_tree(src, name, archive=True)
    assert r.ok, r
    assert _facts(tfd.data / name) == _facts(src)
    back = tmp_path / "back"
    r = session.get_tree(name, back, archive=True)
    assert r.ok, r
    assert _facts(back) == _facts(src)
    # without archive, as before: the link is left out
    plain = tmp_path / "plain"
    session.get_tree(name, plain)
    assert not os.path.lexists(plain / "ln")
