"""tfd_client's Pythonic API against a real tfd: files, listings, transfers
(byte for byte on disk), file objects, trees, exceptions per FAILED code,
threads, the secure transport, 2.5.1 commands."""

import errno
import hashlib
import io
import os
import threading
import time

import pytest

import tfd_client
from tfd_client import Entry, Stat


def blob(n):
    return os.urandom(n)


# --- files and directories ----------------------------------------------------

def test_mkdir_touch_copy_rename_delete(session, wd):
    name, disk = wd
    session.mkdir(f"{name}/d")
    assert (disk / "d").is_dir()
    session.makedirs(f"{name}/a/b/c")
    assert (disk / "a" / "b" / "c").is_dir()
    session.touch(f"{name}/d/f")
    assert (disk / "d" / "f").read_bytes() == b""
    (disk / "src").write_bytes(b"hello")
    session.copy(f"{name}/src", f"{name}/dst")
    assert (disk / "dst").read_bytes() == b"hello"
    session.rename(f"{name}/dst", f"{name}/moved")
    assert not (disk / "dst").exists() and (disk / "moved").read_bytes() == b"hello"
    session.copytree(f"{name}/a", f"{name}/a2")
    assert (disk / "a2" / "b" / "c").is_dir()
    session.remove(f"{name}/moved")
    assert not (disk / "moved").exists()
    session.rmtree(f"{name}/a2")
    assert not (disk / "a2").exists()
    assert session.exists(f"{name}/src") and not session.exists(f"{name}/nope")
    assert session.sha256(f"{name}/src") == hashlib.sha256(b"hello").hexdigest()
    assert session.size(f"{name}/src") == 5
    assert session.freesp() > 0


def test_stat_and_listdir_are_typed(session, wd):
    name, disk = wd
    (disk / "sub").mkdir()
    (disk / "sub" / "x.txt").write_bytes(b"12345")
    (disk / "top.bin").write_bytes(b"abc")
    st = session.stat(f"{name}/top.bin")
    assert isinstance(st, Stat) and st.is_file and st.size == 3
    assert session.stat(f"{name}/sub").is_dir
    entries = sorted(session.listdir(name, stat=True), key=lambda e: e.name)
    assert [(e.name, e.kind, e.size) for e in entries] == [("sub", "dir", entries[0].size), ("top.bin", "file", 3)]
    assert all(isinstance(e, Entry) for e in entries)
    assert entries[1].path == f"{name}/top.bin"
    assert entries[1].mtime == int((disk / "top.bin").stat().st_mtime)
    deep = sorted(e.name for e in session.listdir(name, recursive=True))
    assert deep == ["sub", "sub/x.txt", "top.bin"]
    walked = list(session.walk(name))
    assert walked[0] == (name, ["sub"], ["top.bin"])
    assert (f"{name}/sub", [], ["x.txt"]) in walked


# --- exceptions per code ------------------------------------------------------

@pytest.mark.parametrize("op, cls, code", [
    (lambda s, n: s.remove(f"{n}/missing"), tfd_client.NotFound, 9),
    (lambda s, n: s.listdir(f"{n}/nodir"), tfd_client.NotFound, 10),
    (lambda s, n: s.copy(f"{n}/missing", f"{n}/x"), tfd_client.NotFound, 17),
    (lambda s, n: s.mkdir(f"{n}/exists"), tfd_client.Exists, 4),
    (lambda s, n: s.sha256("../outside"), tfd_client.PermissionDenied, 1),
    (lambda s, n: s.stat(f"{n}/missing"), tfd_client.NotFound, 9),
])
def test_refusals_map_to_exceptions(session, wd, op, cls, code):
    name, disk = wd
    (disk / "exists").mkdir()
    with pytest.raises(cls) as ei:
        op(session, name)
    e = ei.value
    assert isinstance(e, tfd_client.Error) and isinstance(e, tfd_client.Refused)
    assert e.code == code and e.text, (e.code, e.text)
    # the session goes on
    assert session.exists(name)


def test_locked_and_unknown(session, wd):
    name, disk = wd
    (disk / "d").mkdir()
    # LOCK names a lock file: a directory holding it is locked
    session.lock("lk")
    try:
        session.touch(f"{name}/d/lk")
        with pytest.raises(tfd_client.Locked) as ei:
            session.touch(f"{name}/d/f")
        assert ei.value.code == 30 and ei.value.text == "Directory is locked."
    finally:
        session.lock("")
    with pytest.raises(tfd_client.Refused) as ei:
        session.lock("x/y")
    assert ei.value.code == 28
    assert session.command("NOSUCHCOMMAND") == b"UNKNOWN"


def test_connection_errors(tfd, tmp_path):
    with pytest.raises(tfd_client.ConnectionError):
        tfd_client.connect("127.0.0.1:1", key=tfd.key_file, hash=tfd.hash, timeout=5)
    with pytest.raises(tfd_client.HandshakeError) as ei:
        tfd.connect(hash="wrong-hash")
    assert ei.value.code == 3
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(tfd_client.Error):
        tfd.connect(key=bad)


# --- transfers ----------------------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, 4096, (4 << 20) + 3, 9 << 20])
def test_put_get_byte_for_byte(session, wd, tmp_path, size):
    name, disk = wd
    data = blob(size)
    src = tmp_path / "src"
    src.write_bytes(data)
    session.put(src, f"{name}/f", verify=True)
    assert (disk / "f").read_bytes() == data
    out = tmp_path / "out"
    assert session.get(f"{name}/f", out, verify=True) == size
    assert out.read_bytes() == data


def test_put_replaces_a_longer_file(session, wd, tmp_path):
    name, disk = wd
    (disk / "f").write_bytes(b"x" * 1000)
    src = tmp_path / "s"
    src.write_bytes(b"short")
    session.put(src, f"{name}/f")
    assert (disk / "f").read_bytes() == b"short"


def test_put_get_streams_and_progress(session, wd, tmp_path):
    name, disk = wd
    data = blob(12 << 20)
    src = tmp_path / "src"
    src.write_bytes(data)
    seen = []
    session.put(src, f"{name}/f", streams=4, progress=seen.append)
    assert (disk / "f").read_bytes() == data
    assert seen and seen[-1] == len(data)
    got = []
    out = tmp_path / "out"
    assert session.get(f"{name}/f", out, streams=4, verify=True, progress=got.append) == len(data)
    assert out.read_bytes() == data
    assert got and got[-1] == len(data)
    # an existing local file is replaced whole
    out.write_bytes(b"x" * (20 << 20))
    session.get(f"{name}/f", out)
    assert out.read_bytes() == data


def test_resume(session, wd, tmp_path):
    name, disk = wd
    data = blob(5 << 20)
    src = tmp_path / "src"
    src.write_bytes(data)
    seen = []
    session.put(src, f"{name}/f", resume=True, progress=seen.append)
    assert (disk / "f").read_bytes() == data
    assert seen[-1] == len(data)
    # nothing left to send: the staged upload keeps what the server holds
    session.put(src, f"{name}/f", resume=True, verify=True)
    assert (disk / "f").read_bytes() == data
    out = tmp_path / "out"
    assert session.get(f"{name}/f", out, resume=True) == len(data)
    assert out.read_bytes() == data


def test_verify_detects_a_mismatch(session, wd, tmp_path):
    name, disk = wd
    (disk / "f").write_bytes(b"server")
    local = tmp_path / "l"
    local.write_bytes(b"local!")
    with pytest.raises(tfd_client.Mismatch) as ei:
        session._verify(local, f"{name}/f")
    assert isinstance(ei.value, tfd_client.ProtocolError)


def test_get_of_a_directory_is_an_is_a_directory_error_and_the_session_goes_on(session, wd, tmp_path):
    name, disk = wd
    (disk / "d").mkdir()
    target = tmp_path / "t"
    target.write_bytes(b"old")
    with pytest.raises(IsADirectoryError) as ei:
        session.get(f"{name}/d", target)
    assert isinstance(ei.value, tfd_client.IsADirectory) and ei.value.errno == errno.EISDIR
    assert str(ei.value) == f"{name}/d: is a directory on the server; get_tree downloads a directory"
    assert ei.value.kept is None
    assert target.read_bytes() == b"old"
    assert session.echo("still here") == "still here"


def test_get_missing_raises_not_found(session, wd, tmp_path):
    name, _ = wd
    with pytest.raises(tfd_client.NotFound) as ei:
        session.get(f"{name}/missing", tmp_path / "x")
    assert ei.value.code == 9 and not (tmp_path / "x").exists()
    with pytest.raises(tfd_client.NotFound):
        session.rcvfile(f"{name}/missing")


def test_open_read_ranges_and_write(session, wd):
    name, disk = wd
    data = blob(100_000)
    (disk / "f").write_bytes(data)
    with session.open(f"{name}/f", "rb") as f:
        assert f.read(10) == data[:10]
        f.seek(50_000)
        assert f.read(5) == data[50_000:50_005]
        f.seek(-3, 2)
        assert f.read() == data[-3:]
        assert f.read() == b""
    with session.open(f"{name}/g", "wb") as f:
        f.write(b"hello ")
        f.write(b"world")
    assert (disk / "g").read_bytes() == b"hello world"
    with session.open(f"{name}/g", "ab") as f:
        f.write(b"!")
    assert (disk / "g").read_bytes() == b"hello world!"
    assert session.read_bytes(f"{name}/g", 6, 5) == b"world"


def test_big_read_bytes_from_odd_offsets(session, wd):
    """A read of many MiB lands in a bytes object whose pages are faulted
    in a piece at a time ahead of the data (tfd_sys::pybytes): every byte
    must be the file's, from page-aligned and odd offsets alike, in small
    and big chunks."""
    name, disk = wd
    data = blob((9 << 20) + 4097)
    (disk / "big").write_bytes(data)
    for start in (0, 1, 4095, 4096, (1 << 20) + 17):
        assert session.read_bytes(f"{name}/big", start) == data[start:], start
    for bufsz in (65536, 3 << 20):
        assert session.native.get_bytes(f"{name}/big".encode(), 4097, None, bufsz) == data[4097:], bufsz
    assert session.read_bytes(f"{name}/big", 5, (6 << 20) + 1) == data[5:(6 << 20) + 6]


def test_sndfile_rcvfile_sup_sdown(session, wd):
    name, disk = wd
    data = blob(70_000)
    session.sndfile(f"{name}/s", data)
    assert (disk / "s").read_bytes() == data
    assert session.rcvfile(f"{name}/s") == data
    session.sup(f"{name}/u", data)
    assert (disk / "u").read_bytes() == data
    assert session.sdown(f"{name}/u") == data


def test_putcan_getcan_steps_and_endings(session, wd):
    """PUTCAN/GETCAN through tfp-client's putcan/getcan: the callback hears
    every step and ends the transfer where it says; the session goes on."""
    name, disk = wd
    data = blob(100)
    steps = []

    def note(kind, n, total):
        steps.append((kind, n, total))

    # PUTCAN has no final reply: a round trip (echo) before looking at the disk
    assert session.putcan(f"{name}/p", data, canpt=2, bufsz=16, on=note) == ("completed", 100)
    assert session.echo("p") == "p" and (disk / "p").read_bytes() == data
    chunks = [("chunk", min(16, 100 - at), min(at + 16, 100)) for at in range(0, 100, 16)]
    windows = [("window", 0, t) for (_, _, t) in chunks[1::2]]
    assert steps[0] == ("granted", 16, 0) and steps[-1] == ("data_end", 0, 100)
    assert [s for s in steps if s[0] == "chunk"] == chunks
    assert [s for s in steps if s[0] == "window"] == windows
    # in place at an offset, from a reader
    assert session.putcan(f"{name}/p", io.BytesIO(b"XY"), 3, bufsz=16) == ("completed", 2)
    assert session.echo("p") == "p" and (disk / "p").read_bytes() == data[:3] + b"XY" + data[5:]
    # stop after 32 bytes keeps them, cancel deletes
    stop = lambda kind, n, total: "stop" if kind == "chunk" and total >= 32 else None  # noqa: E731
    assert session.putcan(f"{name}/s", data, canpt=3, bufsz=16, on=stop) == ("stop", 32)
    assert session.echo("s") == "s" and (disk / "s").read_bytes() == data[:32]
    cancel = lambda kind, n, total: "cancel" if kind == "window" else None  # noqa: E731
    assert session.putcan(f"{name}/c", data, canpt=1, bufsz=16, on=cancel) == ("cancel", 16)
    assert session.echo("c") == "c" and not (disk / "c").exists()

    sink, steps = io.BytesIO(), []
    assert session.getcan(f"{name}/p", sink, canpt=3, bufsz=16, on=note) == ("completed", 100)
    assert sink.getvalue() == (disk / "p").read_bytes()
    assert [s for s in steps if s[0] == "window"] == [("window", 0, 48), ("window", 0, 96)]
    sink = io.BytesIO()
    assert session.getcan(f"{name}/p", sink, 50, canpt=1, bufsz=16, on=cancel) == ("cancel", 16)
    assert sink.getvalue() == (disk / "p").read_bytes()[50:66]
    assert session.echo("in step") == "in step"

    # the callback's exception stops the transfer and is raised; the session goes on
    def boom(kind, n, total):
        if kind == "chunk":
            raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        session.putcan(f"{name}/b", data, canpt=2, bufsz=16, on=boom)
    assert session.echo("b") == "b" and (disk / "b").read_bytes() == data[:16]
    with pytest.raises(KeyError, match="from the callback"):
        session.getcan(f"{name}/p", io.BytesIO(), canpt=2, bufsz=16, on=boom)
    with pytest.raises(ValueError, match="not 'later'"):
        session.putcan(f"{name}/b", data, bufsz=16, on=lambda *a: "later")
    assert session.echo("still in step") == "still in step"
    # refusals are the mapped exceptions, the callback never called
    steps = []
    with pytest.raises(tfd_client.Refused) as e:
        session.getcan(f"{name}/missing", io.BytesIO(), on=note)
    assert e.value.code == 34 and steps == []


def test_trees_and_mirror(session, wd, tmp_path):
    name, disk = wd
    src = tmp_path / "tree"
    (src / "a" / "b").mkdir(parents=True)
    (src / "top.txt").write_bytes(b"top")
    (src / "a" / "one.bin").write_bytes(blob(3000))
    (src / "a" / "b" / "two.bin").write_bytes(blob(70000))
    os.symlink("/etc/passwd", src / "link")
    seen = []
    r = session.put_tree(src, f"{name}/up", jobs=2, progress=seen.append)
    assert (r.transferred, r.ok) == (3, True)
    # the symlink is skipped and said, in tf's words
    assert [n for n in r.notes if "link" in n], r.notes
    assert not (disk / "up" / "link").exists()
    assert seen and seen[-1] == 3 + 3000 + 70000
    for p in ["top.txt", "a/one.bin", "a/b/two.bin"]:
        assert (disk / "up" / p).read_bytes() == (src / p).read_bytes()
    dst = tmp_path / "down"
    r = session.get_tree(f"{name}/up", dst)
    assert (r.transferred, r.kept) == (3, [])
    for p in ["top.txt", "a/one.bin", "a/b/two.bin"]:
        assert (dst / p).read_bytes() == (src / p).read_bytes()
    # filters: rsync's rules, the include tried first
    only = tmp_path / "only"
    r = session.get_tree(f"{name}/up", only, exclude=["*.bin"], include=["two.bin"])
    assert r.transferred == 2
    assert sorted(str(p.relative_to(only)) for p in only.rglob("*") if p.is_file()) == ["a/b/two.bin", "top.txt"]
    # mirror: only what changed goes, and delete removes what is gone (the
    # files and directories alone: put_tree kept no mtimes, which an archive
    # mirror would give the server's copies, and no link)
    assert session.mirror(src, f"{name}/up", direction="up", archive=False).transferred == 0
    (src / "top.txt").write_bytes(b"changed")
    os.utime(src / "top.txt", (time.time() + 5, time.time() + 5))
    (disk / "up" / "stale.txt").write_bytes(b"old")
    # a dry run says what a run would do and does nothing
    plan = session.mirror(src, f"{name}/up", direction="up", delete=True, dry_run=True, archive=False)
    assert sorted(plan.planned) == [("copy", "top.txt"), ("delete", "stale.txt")]
    assert (disk / "up" / "stale.txt").exists() and (disk / "up" / "top.txt").read_bytes() == b"top"
    r = session.mirror(src, f"{name}/up", direction="up", delete=True, archive=False)
    assert (r.transferred, r.deleted) == (1, 1)
    assert (disk / "up" / "top.txt").read_bytes() == b"changed"
    assert not (disk / "up" / "stale.txt").exists()
    # checksum: a same-size edit is found by content
    (src / "a" / "one.bin").write_bytes(b"Z" * 3000)
    os.utime(src / "a" / "one.bin", (1, 1))
    assert session.mirror_up(src, f"{name}/up", checksum=True, archive=False).transferred == 1
    assert (disk / "up" / "a" / "one.bin").read_bytes() == b"Z" * 3000
    # an archive mirror (the default) copies the link as a link, its target as text
    session.mirror_up(src, f"{name}/up")
    assert os.readlink(disk / "up" / "link") == "/etc/passwd"
    # download mirror: the local copy follows the server
    back = tmp_path / "back"
    # (three files and the link, made as a link)
    assert session.mirror(f"{name}/up", back, direction="down").transferred == 4
    assert os.readlink(back / "link") == "/etc/passwd"
    r = session.mirror_down(f"{name}/up", back)
    assert (r.transferred, r.unchanged) == (0, 4)
    assert (back / "a" / "one.bin").read_bytes() == b"Z" * 3000


def test_tree_failures_raise_with_the_report(session, wd, tmp_path):
    name, disk = wd
    src = tmp_path / "t"
    src.mkdir()
    (src / "ok.txt").write_bytes(b"fine")
    (src / "secret.txt").write_bytes(b"x")
    os.chmod(src / "secret.txt", 0)
    if os.geteuid() == 0:
        # root reads a mode-0 file: make the failure the server's instead
        (disk / "blocked").mkdir()
        (disk / "blocked" / "secret.txt").mkdir()
        (disk / "blocked" / "secret.txt" / "in").write_bytes(b"keep")
    dest = f"{name}/blocked" if os.geteuid() == 0 else f"{name}/dst"
    with pytest.raises(tfd_client.TreeError) as ei:
        session.put_tree(src, dest)
    r = ei.value.report
    assert r.transferred == 1 and len(r.failures) == 1
    assert "secret.txt" in str(ei.value)
    assert isinstance(ei.value, tfd_client.Error)
    # a server's missing tree is a failure too, never an empty success
    with pytest.raises(tfd_client.TreeError):
        session.get_tree(f"{name}/no-such-dir", tmp_path / "nothing")


def test_clock_commands(session):
    now = time.time()
    assert abs(session.date() - now) < 5
    assert abs(session.udate() - now) < 5
    assert isinstance(session.datef(), str)
    assert session.ftod(session.dtof(1_000_000_000)) == 1_000_000_000


# --- threads --------------------------------------------------------------------

def test_threads_run_sessions_side_by_side(tfd, wd, tmp_path):
    name, disk = wd
    errors = []
    blobs = {i: blob((2 << 20) + i) for i in range(6)}

    def worker(i):
        try:
            src = tmp_path / f"src{i}"
            src.write_bytes(blobs[i])
            with tfd.connect() as s:
                s.put(src, f"{name}/t{i}")
                out = tmp_path / f"out{i}"
                s.get(f"{name}/t{i}", out)
                assert out.read_bytes() == blobs[i]
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for i in range(6):
        assert (disk / f"t{i}").read_bytes() == blobs[i]


def test_the_gil_is_released_during_io(session, wd, tmp_path):
    """Another Python thread keeps running while a transfer is under way: a
    ticker records its ticks, and some fall well inside the put (a GIL held
    for the whole call would allow none there)."""
    name, _ = wd
    src = tmp_path / "big"
    src.write_bytes(blob(256 << 20))
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    time.sleep(0.01)
    start = time.monotonic()
    try:
        session.put(src, f"{name}/big")
    finally:
        end = time.monotonic()
        done.set()
        t.join()
    margin = (end - start) / 4
    inside = [x for x in ticks if start + margin < x < end - margin]
    assert len(inside) >= 3, (end - start, len(inside))
    assert session.size(f"{name}/big") == 256 << 20


# --- transports and protocol versions --------------------------------------------

def test_secure_transport(tfd, tmp_path):
    with tfd.connect(transport="secure") as s:
        assert s.secure and s.transport.startswith("Noise_")
        src = tmp_path / "s"
        data = blob(1 << 20)
        src.write_bytes(data)
        s.put(src, "secure.bin")
        assert (tfd.data / "secure.bin").read_bytes() == data
    with tfd.connect(transport="legacy") as s:
        assert not s.secure
        assert s.exists("secure.bin")


def test_v251_commands(make_tfd, tmp_path):
    srv = make_tfd(proto="2.5.1")
    with srv.connect(proto="2.5.1") as s:
        (srv.data / "d").mkdir()
        (srv.data / "d" / "f").write_bytes(b"content")
        assert s.ftype("d") == "dir"
        assert s.ftype("no-such") is None
        (srv.data / "list").write_bytes(b"d\nd/f\nmissing\n")
        assert s.ftypels("list") == ["dir", "file", None]
        assert s.fsizels("list") == [None, 7, None]
        assert s.ftypels("no-such-list") == []
        data, h = s.intread("d/f")
        assert data == b"content" and h == "0x" + hashlib.sha256(b"content").hexdigest()
        s.intwrite("d/f", h, b"new")
        assert (srv.data / "d" / "f").read_bytes() == b"new"
        with pytest.raises(tfd_client.Declined):
            s.intwrite("d/f", h, b"again")
        lines, complete = s.lsv2down("d")
        assert complete and any(b"f" in l for l in lines)
        recs = s.fstatls("list")
        assert recs[0][0] == "dir" and recs[1][:2] == ("regular", 3)
        # the one-line 2.5.1 commands, typed in tfp-client
        lock = s.netlock(2, "d/f")
        assert lock == "0"
        with srv.connect(proto="2.5.1") as other:
            with pytest.raises(tfd_client.Refused) as ei:
                other.netlock(0.2, "d/f")
            assert ei.value.code == 54
        s.netunlock(lock)
        assert s.gettz() == "UTC"
        s.settz("JST-9")
        assert s.gettz() == "JST-9"
        with pytest.raises(tfd_client.Refused) as ei:
            s.settz("Nowhere/City")
        assert ei.value.code == 26
        assert s.issecfs("d") is False
        with pytest.raises(tfd_client.Refused) as ei:
            s.issecfs("d/f")
        assert ei.value.code == 20
        s.setfsid("alice")
        s.setfsperm("alice", 4095, "d")
        s.setfsperm("bob", 12, "d")
        assert s.issecfs("d") is True
        assert s.getfsperm("bob", "d") == "12"
        s.remfsperm("bob", "d")
        assert s.getfsperm("bob", "d") == "0"
        with pytest.raises(tfd_client.UsageError):
            s.setfsperm("a b", 1, "d")
        (srv.data / "m").write_bytes(b"")
        assert s.netmutacq_try("m", "tok") == ""
        assert (srv.data / "m").read_bytes() == b"tok"
        s.netmutrel("m", "tok")
        assert (srv.data / "m").read_bytes() == b""
        (srv.data / "box").mkdir()
        (srv.data / "box" / "in").write_bytes(b"i")
        assert s.locksys("box") == ""
        assert s.ftype("in") == "file"


def test_notifications(tfd, wd):
    name, disk = wd
    (disk / "inbox").mkdir()
    (disk / "inbox" / "job_1").write_bytes(b"1")
    (disk / "inbox" / "other").write_bytes(b"o")
    with tfd.connect() as s:
        s.addntfy("job_", f"{name}/inbox")
        with pytest.raises(tfd_client.Refused) as ei:
            s.addntfy("job_", f"{name}/missing")
        assert ei.value.code == 5
        it = s.notifications(interval=0.05)
        n = next(it)
        assert (n.index, n.name) == (0, "job_1")
        n.keep()
        n = next(it)
        assert n.name == "job_1", "a kept file comes again"
        (disk / "inbox" / "job_2").write_bytes(b"2")
        n.delete()
        n = next(it)
        assert n.name == "job_2"
        assert not (disk / "inbox" / "job_1").exists()
        # notification mode is for good: no command is taken
        with pytest.raises(tfd_client.Error):
            s.mkdir(f"{name}/nope")
        n.end()
    assert (disk / "inbox" / "job_2").exists() and (disk / "inbox" / "other").exists()
    # no registration: STARTNTFY's FAILED 6 comes from the first wait
    with tfd.connect() as s:
        with pytest.raises(tfd_client.Refused) as ei:
            next(s.notifications())
        assert ei.value.code == 6
