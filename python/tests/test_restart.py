"""A server restarted between two calls of the same tf:// filesystem (issue
66): a call that only reads (cat_file, a range, ls, find, info, exists,
checksum, a file's read) is sent once more over a fresh session when the
connection was lost before any byte of its answer came; a call that changes
something is never sent twice: it raises, and the next call has a fresh
session."""

import pytest

from conftest import need

try:
    import fsspec
except ImportError:  # the venv installs it (scripts/pytest-client)
    fsspec = None


@pytest.fixture
def served(make_tfd):
    need(fsspec is not None, "fsspec (scripts/pytest-client installs it)")
    srv = make_tfd()
    (srv.data / "a.txt").write_bytes(b"alpha\n")
    (srv.data / "d").mkdir()
    (srv.data / "d" / "x").write_bytes(b"x")
    fs = fsspec.filesystem("tf", host=srv.addr, key=str(srv.key_file), hash=srv.hash, skip_instance_cache=True)
    yield srv, fs
    fs.close()


def test_reads_are_sent_again_over_a_fresh_session_after_a_restart(served):
    srv, fs = served
    calls = [
        ("cat_file", lambda: fs.cat_file("a.txt"), b"alpha\n"),
        ("a range", lambda: fs.cat_file("a.txt", 1, 3), b"lp"),
        ("ls", lambda: fs.ls("d", detail=False), ["d/x"]),
        ("find", lambda: fs.find("d"), ["d/x"]),
        ("info", lambda: fs.info("a.txt")["size"], 6),
        ("exists", lambda: fs.exists("a.txt"), True),
        ("checksum", lambda: fs.checksum("a.txt") == fs.checksum("a.txt"), True),
        ("open and read", lambda: fs.open("a.txt", "rb").read(), b"alpha\n"),
    ]
    for what, call, want in calls:
        assert call() == want, what
        srv.restart()
        assert call() == want, f"{what} after a restart"


def test_a_call_that_changes_something_is_never_sent_twice(served):
    srv, fs = served
    assert fs.exists("a.txt")
    srv.restart()
    with pytest.raises(ConnectionError):
        fs.mkdir("made", create_parents=False)
    assert not (srv.data / "made").exists()
    # the next call has a fresh session
    fs.mkdir("made", create_parents=False)
    assert (srv.data / "made").is_dir()
    srv.restart()
    with pytest.raises(ConnectionError):
        fs.pipe_file("p.txt", b"data")
    assert not (srv.data / "p.txt").exists()
    fs.pipe_file("p.txt", b"data")
    assert (srv.data / "p.txt").read_bytes() == b"data"
