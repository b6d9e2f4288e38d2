"""Mode "ab", touch(truncate=False) and created() (issue 66): "ab" appends
with what the protocol offers, PUT at the file's end (PUT writes in place),
sent as it is written rather than held until close; touch(truncate=False)
is TOUCH, or FUPD (the mtime to now) of a file that exists; created() says
the protocol tells no creation time."""

import os
import secrets
import time

import pytest

from conftest import need

try:
    import fsspec
except ImportError:  # the venv installs it (scripts/pytest-client)
    fsspec = None


def test_ab_appends_as_it_is_written(session, wd):
    name, local = wd
    session.write_bytes(f"{name}/log", b"first\n")
    with session.open(f"{name}/log", "ab") as f:
        assert f.tell() == 6
        for i in range(3):
            f.write(b"line %d\n" % i)
    assert (local / "log").read_bytes() == b"first\nline 0\nline 1\nline 2\n"
    with session.open(f"{name}/new", "ab") as f:
        f.write(b"made")
    assert (local / "new").read_bytes() == b"made"
    # a big append goes out as it is written (a window of a few MiB), not
    # kept in memory until close
    piece = os.urandom(1 << 20)
    with session.open(f"{name}/log", "ab") as f:
        for _ in range(24):
            f.write(piece)
        deadline = time.monotonic() + 10
        while (local / "log").stat().st_size < 6 + 21 + (16 << 20) and time.monotonic() < deadline:
            time.sleep(0.02)
        before_close = (local / "log").stat().st_size
    assert before_close >= 6 + 21 + (16 << 20), f"{before_close} bytes on the server before close"
    data = (local / "log").read_bytes()
    assert data[:27] == b"first\nline 0\nline 1\nline 2\n" and data[27:] == piece * 24
    assert session.exists(f"{name}/log")  # the session goes on


def test_fsspec_ab_touch_without_truncating_and_created(tfd):
    need(fsspec is not None, "fsspec (scripts/pytest-client installs it)")
    base = "a_" + secrets.token_hex(4)
    (tfd.data / base).mkdir()
    fs = fsspec.filesystem("tf", host=tfd.addr, key=str(tfd.key_file), hash=tfd.hash, skip_instance_cache=True)
    try:
        fs.pipe_file(f"{base}/a", b"one\n")
        with fs.open(f"{base}/a", "ab") as f:
            f.write(b"two\n")
        assert fs.cat_file(f"{base}/a") == b"one\ntwo\n"
        with fs.open(f"{base}/fresh", "ab") as f:
            f.write(b"new")
        assert (tfd.data / base / "fresh").read_bytes() == b"new"

        # touch(truncate=False): an existing file keeps its data, its mtime is now
        os.utime(tfd.data / base / "a", (1_000_000_000, 1_000_000_000))
        fs.touch(f"{base}/a", truncate=False)
        assert (tfd.data / base / "a").read_bytes() == b"one\ntwo\n"
        assert abs((tfd.data / base / "a").stat().st_mtime - time.time()) < 60
        fs.touch(f"{base}/b", truncate=False)
        assert (tfd.data / base / "b").read_bytes() == b""
        fs.touch(f"{base}/a")  # truncate=True, fsspec's default
        assert (tfd.data / base / "a").read_bytes() == b""

        with pytest.raises(NotImplementedError, match="creation time"):
            fs.created(f"{base}/a")
    finally:
        fs.close()
