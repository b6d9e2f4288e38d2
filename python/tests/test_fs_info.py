"""The fsspec filesystem's info() from tfd's TFDENTRIES listing: a file's
mode and mtime to the nanosecond, a link's target as stored, a directory's
own mode, as os.lstat says them on the server's side."""

import os
import secrets

import pytest

from conftest import need

try:
    import fsspec
except ImportError:  # the venv installs it (scripts/pytest-client): missing, the module fails
    need(False, "fsspec (pip install 'tfd-client[fsspec]'; scripts/pytest-client installs it)")


@pytest.fixture(scope="module")
def tffs(tfd):
    fs = fsspec.filesystem("tf", host=tfd.addr, key=str(tfd.key_file), hash=tfd.hash, skip_instance_cache=True)
    yield fs
    fs.close()


def test_info_has_mode_ns_mtime_and_a_links_target(tfd, tffs):
    base = "i_" + secrets.token_hex(4)
    top = tfd.data / base
    (top / "d").mkdir(parents=True)
    f = top / "d" / "f.txt"
    f.write_bytes(b"twelve bytes")
    f.chmod(0o640)
    os.utime(f, ns=(1_700_000_000_123_456_789, 1_700_000_000_987_654_321))
    (top / "d").chmod(0o750)
    os.symlink("f.txt", top / "d" / "ln")
    os.symlink("../nowhere", top / "d" / "dangling")

    info = tffs.info(f"{base}/d/f.txt")
    st = os.lstat(f)
    assert info["type"] == "file" and info["size"] == 12
    assert info["mode"] == st.st_mode & 0o7777 == 0o640
    assert info["mtime_ns"] == st.st_mtime_ns == 1_700_000_000_987_654_321
    assert info["mtime"] == pytest.approx(1_700_000_000.987654321)
    assert (info["uid"], info["gid"]) == (st.st_uid, st.st_gid)
    assert not info["islink"] and "destination" not in info

    d = tffs.info(f"tf://{tfd.addr}/{base}/d")
    assert d["type"] == "directory" and d["mode"] == 0o750

    ln = tffs.info(f"{base}/d/ln")
    assert ln["islink"] and ln["destination"] == os.readlink(top / "d" / "ln") == "f.txt"
    assert ln["mtime_ns"] == os.lstat(top / "d" / "ln").st_mtime_ns
    dangling = tffs.info(f"{base}/d/dangling")
    assert dangling["destination"] == "../nowhere" and dangling["type"] == "other"

    # the listing's one path answers: the rest of fsspec's calls keep working
    assert tffs.cat_file(f"{base}/d/f.txt") == b"twelve bytes"
    assert tffs.isdir(f"{base}/d") and tffs.isfile(f"{base}/d/f.txt")
    with pytest.raises(FileNotFoundError):
        tffs.info(f"{base}/d/nope")
