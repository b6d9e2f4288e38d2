"""Core commands driven by the public Python client (tfprotocol-client 1.2.2).

Every test asserts what the client reports (StatusInfo from the response-handler
callbacks, see interop_lib.py) and the effect on disk in the server's data dir.
Commands: handshake, END, ECHO, UNKNOWN, MKDIR, DEL, RMDIR, COPY, TOUCH, DATE,
UDATE, NDATE, DATEF, DTOF, FTOD, FSTAT, FUPD, CPDIR, RENAM, LS, LSR, FREESP,
SHA256, LOCK, plus path confinement (`..`, symlinks out of the root).

Where a client helper is broken, the raw command goes through the client's
lower-level API (interop_lib.raw / raw_bytes); each case says why.
"""

import datetime as dt
import hashlib
import os
import re
import socket
import time

import pytest
from tfprotocol_client.models.exceptions import TfException
from tfprotocol_client.models.file_stat import FileStatTypeEnum
from tfprotocol_client.models.message import TfProtocolMessage
from tfprotocol_client.models.status_server_code import StatusServerCode as S

from interop_lib import (
    assert_alive,
    assert_failed,
    assert_ok,
    calls,
    listing,
    listing_failed,
    raw,
    raw_bytes,
    reply,
)

EPOCH = dt.datetime(1970, 1, 1)


def utc(ts: int) -> str:
    return (EPOCH + dt.timedelta(seconds=ts)).strftime("%Y-%m-%d %H:%M:%S")


def tree(path):
    """{relative path: bytes or 'dir'} of everything under path."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), path)] = "dir"
        for f in filenames:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, path)] = fh.read()
    return out


# --- session: handshake, ECHO, UNKNOWN, END ------------------------------------

def test_echo(tf):
    assert reply(tf.echo_command, "hello world") == "hello world"
    assert reply(tf.echo_command, "héllo wörld ✓") == "héllo wörld ✓"
    # Byte-exact: only the text after "ECHO " comes back, blanks included.
    assert raw_bytes(tf, "ECHO  two  spaces ") == b" two  spaces "
    assert raw_bytes(tf, "ECHO ") == b""
    # Command names are case-insensitive.
    assert raw_bytes(tf, "echo lower case") == b"lower case"
    # 3000 bytes: many wraps of the 16-byte session key inside one cipher unit.
    # (The helper's message is cut at 1024 characters, so read the bytes.)
    big = bytes(range(32, 127)) * 32
    assert raw_bytes(tf, b"ECHO " + big[:3000]) == big[:3000]
    st = raw(tf, "ECHO", "not a status")
    assert st.status is S.UNKNOWN and st.message == "not a status" and bytes(st.payload) == b"not a status"


def test_unknown_command(tf):
    assert raw_bytes(tf, "NOSUCHCMD with args") == b"UNKNOWN"
    st = raw(tf, "FROBNICATE")
    assert st.status is S.UNKNOWN and st.code == S.UNKNOWN.value and st.message == ""
    assert raw_bytes(tf, "frobnicate") == b"UNKNOWN"
    assert_alive(tf)


@pytest.mark.parametrize("keylen", [16, 23, 32, 40])
def test_session_key_lengths(tfd, keylen):
    """The client's whole session-key range (16..40 bytes, tfprotocol_super.py)."""
    c = tfd.connect(keylen=keylen)
    assert c.client.session_key is not None and len(c.client.session_key) == keylen
    payload = bytes(range(33, 127)) * 3
    for _ in range(3):
        assert raw_bytes(c, b"ECHO " + payload) == payload
    assert_alive(c)


def test_handshake_wrong_hash(tfd):
    c = tfd.client(hash_="not-the-hash")
    seen = []
    with pytest.raises(TfException):
        c.connect(on_response=seen.append)
    assert len(seen) == 1
    assert_failed(seen[0], 3)


def test_handshake_wrong_version(tfd):
    # decisions.md: a wrong version is FAILED 2 (the reference's 68 is a defect).
    c = tfd.client(proto="2.4.0")
    seen = []
    with pytest.raises(TfException):
        c.connect(on_response=seen.append)
    assert len(seen) == 1
    assert_failed(seen[0], 2)


def test_end(tfd):
    c = tfd.connect()
    assert_alive(c)
    # END has no reply: the server closes the connection. Sent through the
    # lower-level API because end_command() closes the client's socket at once,
    # so nothing could be observed through it.
    c.client.send(TfProtocolMessage("END"))
    sock = c.client.socket
    sock.settimeout(5)
    # recv_into, as the client itself reads (its PySocks socket's recv() is broken).
    assert sock.recv_into(bytearray(16)) == 0, "expected EOF after END"
    # The helper form works too, and the server keeps serving new sessions.
    c2 = tfd.connect()
    assert_alive(c2)
    c2.end_command()
    assert not c2.client.is_connect()
    assert_alive(tfd.connect())


def test_two_sessions_interleaved(tfd, wd):
    a, b = tfd.connect(), tfd.connect()
    assert_ok(reply(a.mkdir_command, wd.rel("from_a")))
    assert_ok(reply(b.mkdir_command, wd.rel("from_b")))
    for i in range(5):
        assert reply(a.echo_command, f"a{i}") == f"a{i}"
        assert reply(b.echo_command, f"b{i}") == f"b{i}"
    assert wd.disk("from_a").is_dir() and wd.disk("from_b").is_dir()


# --- MKDIR, DEL, RMDIR, TOUCH -----------------------------------------------------

def test_mkdir(tf, wd):
    assert_ok(reply(tf.mkdir_command, wd.rel("a")))
    assert wd.disk("a").is_dir()
    assert_ok(reply(tf.mkdir_command, wd.rel("a", "b")))
    assert wd.disk("a", "b").is_dir()
    assert_ok(reply(tf.mkdir_command, wd.rel("with space")))
    assert wd.disk("with space").is_dir()
    # A leading "/" is relative to the served root.
    assert_ok(reply(tf.mkdir_command, "/" + wd.rel("slash")))
    assert wd.disk("slash").is_dir()

    assert_failed(reply(tf.mkdir_command, wd.rel("a")), 4)
    assert_alive(tf)
    # The document: an empty argument names the root, which exists.
    assert_failed(reply(tf.mkdir_command, ""), 4)
    assert_alive(tf)
    # Missing parent: the reference's "any other error" is FAILED 1.
    assert_failed(reply(tf.mkdir_command, wd.rel("nope", "x")), 1)
    assert not wd.disk("nope").exists()
    assert_alive(tf)
    # A file in the way.
    wd.disk("file").write_bytes(b"x")
    assert_failed(reply(tf.mkdir_command, wd.rel("file")), 4)
    assert wd.disk("file").read_bytes() == b"x"
    assert_alive(tf)


def test_del(tf, wd):
    wd.disk("f").write_bytes(b"data")
    assert_ok(reply(tf.del_command, wd.rel("f")))
    assert not wd.disk("f").exists()

    assert_failed(reply(tf.del_command, wd.rel("f")), 9)
    assert_alive(tf)
    assert_failed(reply(tf.del_command, wd.rel("nodir", "f")), 9)
    assert_alive(tf)
    wd.disk("d").mkdir()
    assert_failed(reply(tf.del_command, wd.rel("d")), 8)
    assert wd.disk("d").is_dir()
    assert_alive(tf)
    # The document: no argument names the root, a directory.
    assert_failed(reply(tf.del_command, ""), 8)
    assert_alive(tf)
    # A symlink is removed itself, never its target.
    os.symlink("/etc/hostname", wd.disk("link"))
    assert_ok(reply(tf.del_command, wd.rel("link")))
    assert not os.path.lexists(wd.disk("link"))
    assert os.path.exists("/etc/hostname")


def test_rmdir(tf, wd):
    wd.disk("d", "x", "y").mkdir(parents=True)
    wd.disk("d", "x", "y", "deep.txt").write_bytes(b"1")
    wd.disk("d", "top.txt").write_bytes(b"2")
    assert_ok(reply(tf.rmdir_command, wd.rel("d")))
    assert not wd.disk("d").exists()
    assert wd.path.is_dir()

    # The document: secure directories (*.sd) inside are not removed, so the
    # directory still exists afterwards -> FAILED 15.
    wd.disk("s", "keep.sd").mkdir(parents=True)
    wd.disk("s", "keep.sd", "secret").write_bytes(b"s")
    wd.disk("s", "gone").mkdir()
    wd.disk("s", "gone.txt").write_bytes(b"g")
    assert_failed(reply(tf.rmdir_command, wd.rel("s")), 15)
    assert wd.disk("s", "keep.sd", "secret").read_bytes() == b"s"
    assert not wd.disk("s", "gone").exists() and not wd.disk("s", "gone.txt").exists()
    assert_alive(tf)

    # tfd's choices where the document lists no code: a missing directory is
    # FAILED 10, a file is FAILED 20 (and left alone).
    assert_failed(reply(tf.rmdir_command, wd.rel("missing")), 10)
    assert_alive(tf)
    wd.disk("f").write_bytes(b"f")
    assert_failed(reply(tf.rmdir_command, wd.rel("f")), 20)
    assert wd.disk("f").read_bytes() == b"f"
    assert_alive(tf)


def test_rmdir_root(fresh):
    """The document: RMDIR with no argument removes everything but secure
    directories and answers FAILED 15, since the root itself stays."""
    c = fresh.connect()
    data = fresh.data
    (data / "a" / "b").mkdir(parents=True)
    (data / "a" / "b" / "f").write_bytes(b"f")
    (data / "top").write_bytes(b"t")
    (data / "vault.sd").mkdir()
    (data / "vault.sd" / "k").write_bytes(b"k")
    ino = os.stat(data).st_ino
    assert_failed(reply(c.rmdir_command, ""), 15)
    assert os.stat(data).st_ino == ino
    assert sorted(os.listdir(data)) == ["vault.sd"]
    assert (data / "vault.sd" / "k").read_bytes() == b"k"
    assert_alive(c)


def test_touch(tf, wd):
    assert_ok(reply(tf.touch_command, wd.rel("new")))
    assert wd.disk("new").is_file() and wd.disk("new").stat().st_size == 0
    wd.disk("new").write_bytes(b"keep")
    assert_failed(reply(tf.touch_command, wd.rel("new")), 12)
    assert wd.disk("new").read_bytes() == b"keep"
    assert_alive(tf)
    # The document: an empty argument names the root, which exists.
    assert_failed(reply(tf.touch_command, ""), 12)
    assert_alive(tf)
    # decisions.md: never a false OK; a missing parent cannot be created in.
    assert_failed(reply(tf.touch_command, wd.rel("nodir", "f")), 24)
    assert not wd.disk("nodir").exists()
    assert_alive(tf)
    assert_ok(reply(tf.touch_command, wd.rel("a b")))
    assert wd.disk("a b").is_file()


# --- COPY, CPDIR, RENAM -------------------------------------------------------

def test_copy(tf, wd):
    content = bytes(range(256)) * 8
    wd.disk("src").write_bytes(content)
    assert_ok(reply(tf.copy_command, wd.rel("src"), wd.rel("dst")))
    assert wd.disk("dst").read_bytes() == content
    # The document says copy: an independent file, not a second name (the
    # reference's hard link was a defect tfd does not copy).
    assert wd.disk("dst").stat().st_ino != wd.disk("src").stat().st_ino
    wd.disk("src").write_bytes(b"changed")
    assert wd.disk("dst").read_bytes() == content

    assert_ok(reply(tf.copy_command, wd.rel("src"), wd.rel("with space")))
    assert wd.disk("with space").read_bytes() == b"changed"

    assert_failed(reply(tf.copy_command, wd.rel("src"), wd.rel("dst")), 12)
    assert wd.disk("dst").read_bytes() == content
    assert_alive(tf)
    assert_failed(reply(tf.copy_command, wd.rel("missing"), wd.rel("x")), 17)
    assert not wd.disk("x").exists()
    assert_alive(tf)
    wd.disk("dir").mkdir()
    assert_failed(reply(tf.copy_command, wd.rel("dir"), wd.rel("y")), 19)
    assert not wd.disk("y").exists()
    assert_alive(tf)
    # Without the " | " separator (no helper sends that: raw command).
    assert_failed(raw(tf, "COPY", wd.rel("src"), wd.rel("z")), 16)
    assert not wd.disk("z").exists()
    assert_alive(tf)


def test_cpdir(tf, wd):
    src = wd.disk("src")
    (src / "sub" / "deep").mkdir(parents=True)
    (src / "empty").mkdir()
    (src / "a.txt").write_bytes(b"alpha\n")
    (src / "sub" / "b.bin").write_bytes(bytes(range(256)))
    (src / "sub" / "deep" / "c").write_bytes(b"")
    before = tree(src)

    assert_ok(reply(tf.cpdir_command, wd.rel("src"), wd.rel("dst")))
    assert tree(wd.disk("dst")) == before
    assert tree(src) == before
    assert (wd.disk("dst", "a.txt").stat().st_ino != (src / "a.txt").stat().st_ino)

    assert_failed(reply(tf.cpdir_command, wd.rel("src"), wd.rel("dst")), 4)
    assert_alive(tf)
    assert_failed(reply(tf.cpdir_command, wd.rel("missing"), wd.rel("x")), 20)
    assert not wd.disk("x").exists()
    assert_alive(tf)
    assert_failed(reply(tf.cpdir_command, wd.rel("src", "a.txt"), wd.rel("x")), 20)
    assert not wd.disk("x").exists()
    assert_alive(tf)
    # Into itself: cannot be replicated.
    assert_failed(reply(tf.cpdir_command, wd.rel("src"), wd.rel("src", "inner")), 21)
    assert not (src / "inner").exists()
    assert_alive(tf)
    # Without the separator (raw: no helper sends that).
    assert_failed(raw(tf, "CPDIR", wd.rel("src"), wd.rel("y")), 16)
    assert not wd.disk("y").exists()
    assert_alive(tf)


def test_renam(tf, wd):
    wd.disk("a").write_bytes(b"A")
    assert_ok(reply(tf.renam_command, wd.rel("a"), wd.rel("b")))
    assert not wd.disk("a").exists() and wd.disk("b").read_bytes() == b"A"

    wd.disk("d", "in").mkdir(parents=True)
    wd.disk("d", "in", "f").write_bytes(b"F")
    assert_ok(reply(tf.renam_command, wd.rel("d"), wd.rel("e")))
    assert not wd.disk("d").exists() and wd.disk("e", "in", "f").read_bytes() == b"F"

    # Over an existing file: atomic replace.
    wd.disk("c").write_bytes(b"C")
    assert_ok(reply(tf.renam_command, wd.rel("c"), wd.rel("b")))
    assert wd.disk("b").read_bytes() == b"C" and not wd.disk("c").exists()

    assert_failed(reply(tf.renam_command, wd.rel("missing"), wd.rel("x")), 31)
    assert_alive(tf)
    # A directory into its own subdirectory.
    assert_failed(reply(tf.renam_command, wd.rel("e"), wd.rel("e", "in", "e2")), 31)
    assert wd.disk("e", "in", "f").exists()
    assert_alive(tf)
    # Empty new name, and no separator at all (raw: no helper sends that).
    assert_failed(reply(tf.renam_command, wd.rel("b"), ""), 16)
    assert_failed(raw(tf, "RENAM", wd.rel("b"), wd.rel("x")), 16)
    assert wd.disk("b").exists() and not wd.disk("x").exists()
    assert_alive(tf)


# --- DATE, UDATE, NDATE, DATEF, DTOF, FTOD --------------------------------------

def test_date(tf):
    value, st = reply(tf.date_command)
    assert_ok(st, str(value))
    assert abs(value - time.time()) <= 5


@pytest.mark.parametrize("cmd,digits", [("udate_command", 6), ("ndate_command", 9)])
def test_udate_ndate(tf, cmd, digits):
    st = reply(getattr(tf, cmd))
    assert_ok(st)
    m = re.fullmatch(r"(\d+)\.(\d+)", st.message)
    assert m, st
    sec, frac = int(m.group(1)), m.group(2)
    assert abs(sec - time.time()) <= 5
    # The fraction is a plain integer count (not zero-padded), like the reference.
    assert int(frac) < 10**digits and frac == str(int(frac))


def test_datef(tf):
    d, st = reply(tf.datef_command)
    assert_ok(st)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", st.message)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert abs((d - now).total_seconds()) <= 5


def test_dtof(tf):
    d, st = reply(tf.dtof_command, 0)
    assert_ok(st, "1970-01-01 00:00:00")
    assert d == EPOCH
    for ts in (1, 86399, 951782400, 1795298546, -1):
        d, st = reply(tf.dtof_command, ts)
        assert_ok(st, utc(ts))
    # dtof_command raises on any FAILED (it strptime's the message), so the
    # failures go through the lower-level API.
    assert_failed(raw(tf, "DTOF", ""), 16)
    assert_failed(raw(tf, "DTOF", "99999999999999999999"), 26)
    assert_alive(tf)


def test_ftod(tf):
    # Client bug: ftod_command passes its own local clock in milliseconds as the
    # first handler argument, not the server's answer; the StatusInfo is right.
    client_value, st = reply(tf.ftod_command, "1970-01-01 00:00:00")
    assert_ok(st, "0")
    assert client_value != 0
    _, st = reply(tf.ftod_command, "2026-11-21 22:02:26")
    assert_ok(st, "1795298546")
    _, st = reply(tf.ftod_command, "2000-02-29 00:00:00")
    assert_ok(st, "951782400")
    _, st = reply(tf.ftod_command, "")
    assert_failed(st, 16)
    assert_alive(tf)


def test_time_commands_agree(tf):
    now, _ = reply(tf.date_command)
    d, st = reply(tf.dtof_command, now)
    assert_ok(st, utc(now))
    _, st = reply(tf.ftod_command, st.message)
    assert_ok(st, str(now))
    d, st = reply(tf.datef_command)
    _, st2 = reply(tf.ftod_command, st.message)
    assert now - 1 <= int(st2.message) <= now + 5
    _, st = reply(tf.ftod_command, utc(0))
    assert_ok(st, "0")


# --- FSTAT, FUPD ------------------------------------------------------------------

def test_fstat(tf, wd):
    wd.disk("f").write_bytes(b"12345")
    os.utime(wd.disk("f"), (1000000000, 1100000000))
    fs, st = reply(tf.fstat_command, wd.rel("f"))
    assert_ok(st, "F 5 1000000000 1100000000")
    assert fs.type is FileStatTypeEnum.FILE
    assert (fs.size, fs.last_access, fs.last_modification) == (5, 1000000000, 1100000000)

    wd.disk("d").mkdir()
    os.utime(wd.disk("d"), (1200000000, 1300000000))
    fs, st = reply(tf.fstat_command, wd.rel("d"))
    assert_ok(st, f"D {wd.disk('d').stat().st_size} 1200000000 1300000000")
    assert fs.type is FileStatTypeEnum.DIR

    # A relative symlink that stays inside the root is followed (stat, as the
    # reference does).
    os.symlink("f", wd.disk("ln"))
    fs, st = reply(tf.fstat_command, wd.rel("ln"))
    assert_ok(st, "F 5 1000000000 1100000000")

    os.mkfifo(wd.disk("fifo"))
    fs, st = reply(tf.fstat_command, wd.rel("fifo"))
    assert st.status is S.OK and st.message.startswith("U 0 "), st
    assert fs.type is FileStatTypeEnum.UNKNOWN

    for root in ("/", "."):
        fs, st = reply(tf.fstat_command, root)
        assert st.status is S.OK and st.message.startswith("D "), st
        assert fs.type is FileStatTypeEnum.DIR

    fs, st = reply(tf.fstat_command, wd.rel("missing"))
    assert_failed(st, 9)
    assert fs.type is FileStatTypeEnum.UNKNOWN
    assert_alive(tf)
    _, st = reply(tf.fstat_command, "")
    assert_failed(st, 16)
    assert_alive(tf)


def test_fupd(tf, wd):
    wd.disk("f").write_bytes(b"x")
    wd.disk("d").mkdir()
    for name in ("f", "d"):
        os.utime(wd.disk(name), (1000000000, 1000000000))
        assert_ok(reply(tf.fupd_command, wd.rel(name)))
        s = wd.disk(name).stat()
        assert abs(s.st_mtime - time.time()) <= 5, (name, s)
        assert abs(s.st_atime - time.time()) <= 5, (name, s)
        fs, st = reply(tf.fstat_command, wd.rel(name))
        assert_ok(st)
        assert fs.last_modification == int(s.st_mtime)
    assert wd.disk("f").read_bytes() == b"x"

    assert_failed(reply(tf.fupd_command, wd.rel("missing")), 9)
    assert not wd.disk("missing").exists()
    assert_alive(tf)
    assert_failed(reply(tf.fupd_command, ""), 16)
    assert_alive(tf)


# --- LS, LSR --------------------------------------------------------------------

def test_ls(tf, wd):
    wd.disk("sub").mkdir()
    wd.disk("sub", "inner").write_bytes(b"i")
    wd.disk("f.txt").write_bytes(b"f")
    wd.disk("with space").write_bytes(b"s")
    wd.disk("hidden.sd").mkdir()  # secure directory: never listed
    wd.disk("hidden.sd", "secret").write_bytes(b"s")
    wd.disk("y.sd").write_bytes(b"y")  # a *file* named .sd is listed
    os.symlink("f.txt", wd.disk("link"))  # lstat: a symlink is U
    os.mkfifo(wd.disk("fifo"))

    lines, _ = listing(tf, "LS", wd.name)
    assert sorted(lines) == sorted(
        ["D: sub/", "F: f.txt", "F: with space", "F: y.sd", "U: link", "U: fifo"]
    )
    lines2, _ = listing(tf, "LS", wd.name + "/")
    assert sorted(lines2) == sorted(lines)
    assert listing(tf, "LS", wd.rel("sub"))[0] == ["F: inner"]
    # Inside a known secure directory, listing works.
    assert listing(tf, "LS", wd.rel("hidden.sd"))[0] == ["F: secret"]
    wd.disk("empty").mkdir()
    assert listing(tf, "LS", wd.rel("empty"))[0] == []
    assert_alive(tf)

    listing_failed(tf, "LS", wd.rel("missing"), 10)
    assert_alive(tf)
    listing_failed(tf, "LS", wd.rel("f.txt"), 10)
    assert_alive(tf)
    # The plain failure reply, without the helper's stray CONT.
    assert_failed(raw(tf, "LS", wd.rel("missing")), 10)
    assert_alive(tf)


def test_lsr(tf, wd):
    wd.disk("a", "b").mkdir(parents=True)
    wd.disk("a", "b", "c.txt").write_bytes(b"c")
    wd.disk("a", "x y").write_bytes(b"xy")
    wd.disk("a", "t.sd").mkdir()
    wd.disk("a", "t.sd", "hidden").write_bytes(b"h")
    wd.disk("s.sd", "deeper").mkdir(parents=True)
    wd.disk("s.sd", "deeper", "h2").write_bytes(b"h")
    wd.disk("top.txt").write_bytes(b"t")
    os.symlink("a", wd.disk("alink"))

    lines, _ = listing(tf, "LSR", wd.name)
    assert sorted(lines) == sorted(
        ["D: a/", "D: a/b/", "F: a/b/c.txt", "F: a/x y", "F: top.txt", "U: alink"]
    )
    # Relative to the listed directory.
    assert sorted(listing(tf, "LSR", wd.rel("a"))[0]) == ["D: b/", "F: b/c.txt", "F: x y"]
    wd.disk("e").mkdir()
    assert listing(tf, "LSR", wd.rel("e"))[0] == []
    listing_failed(tf, "LSR", wd.rel("missing"), 10)
    assert_alive(tf)


def test_ls_root(fresh):
    c = fresh.connect()
    (fresh.data / "d").mkdir()
    (fresh.data / "d" / "in").write_bytes(b"1")
    (fresh.data / "f").write_bytes(b"2")
    (fresh.data / "v.sd").mkdir()
    # Nothing of tfd's own (temporary files, metadata) shows up in the root.
    for path in ("", "/", "."):
        assert sorted(listing(c, "LS", path)[0]) == ["D: d/", "F: f"], path
    assert sorted(listing(c, "LSR", "")[0]) == ["D: d/", "F: d/in", "F: f"]
    assert sorted(os.listdir(fresh.data)) == ["d", "f", "v.sd"]


# --- FREESP, SHA256 -----------------------------------------------------------------

def test_freesp(tf, tfd):
    st = reply(tf.freesp_command)
    assert_ok(st)
    assert re.fullmatch(r"\d+", st.message), st
    n = int(st.message)
    v = os.statvfs(tfd.data)
    local = v.f_bavail * v.f_frsize
    assert n > 0
    # Other processes write to this disk meanwhile: allow some drift.
    assert abs(n - local) <= max(1 << 30, local // 20), (n, local)


def test_sha256(tf, wd):
    cases = {
        "text": b"hello\n",
        "bin": bytes(range(256)) * 40,
        "empty": b"",
        "a b": b"space in name",
    }
    for name, content in cases.items():
        wd.disk(name).write_bytes(content)
        st = reply(tf.sha256_command, wd.rel(name))
        assert_ok(st, "0x" + hashlib.sha256(content).hexdigest())
        assert re.fullmatch(r"0x[0-9a-f]{64}", st.message)

    assert_failed(reply(tf.sha256_command, wd.rel("missing")), 45)
    assert_alive(tf)
    wd.disk("d").mkdir()
    assert_failed(reply(tf.sha256_command, wd.rel("d")), 45)
    assert_alive(tf)
    assert_failed(reply(tf.sha256_command, ""), 16)
    assert_alive(tf)


# --- LOCK -------------------------------------------------------------------------

def test_lock(tf, tfd, wd):
    d = wd.rel("d")
    assert_ok(reply(tf.mkdir_command, d))
    wd.disk("d", "a").write_bytes(b"A")
    wd.disk("d", "inner").mkdir()
    wd.disk("outside").write_bytes(b"O")

    assert_ok(reply(tf.lock_command, "lk"))
    # Creating the lock file is allowed while the directory is not locked yet.
    assert_ok(reply(tf.touch_command, wd.rel("d", "lk")))
    assert wd.disk("d", "lk").is_file()
    before = tree(wd.path)

    locked = [
        (tf.mkdir_command, (wd.rel("d", "sub"),)),
        (tf.touch_command, (wd.rel("d", "b"),)),
        (tf.del_command, (wd.rel("d", "a"),)),
        (tf.rmdir_command, (wd.rel("d", "inner"),)),
        (tf.copy_command, (wd.rel("d", "a"), wd.rel("copy"))),
        (tf.copy_command, (wd.rel("outside"), wd.rel("d", "copy"))),
        (tf.renam_command, (wd.rel("d", "a"), wd.rel("d", "z"))),
        (tf.renam_command, (wd.rel("outside"), wd.rel("d", "z"))),
        (tf.fupd_command, (wd.rel("d", "a"),)),
        (tf.fupd_command, (d,)),
        (tf.cpdir_command, (d, wd.rel("d2"))),
    ]
    for method, args in locked:
        assert_failed(reply(method, *args), 30)
        assert_alive(tf)
    for path in (d, wd.rel("d", "a")):  # a directory itself, a file via its parent
        _, st = reply(tf.fstat_command, path)
        assert_failed(st, 30)
    listing_failed(tf, "LS", d, 30)
    listing_failed(tf, "LSR", d, 30)
    assert_alive(tf)
    assert tree(wd.path) == before, "a refused command changed the tree"

    # Only the lock file itself may be deleted: a name merely ending in the lock
    # name may not (the reference's suffix match was a defect).
    wd.disk("d", "blk").write_bytes(b"")
    assert_failed(reply(tf.del_command, wd.rel("d", "blk")), 30)
    assert wd.disk("d", "blk").exists()
    wd.disk("d", "blk").unlink()

    # Only the immediate directory is locked, not its parent.
    _, st = reply(tf.fstat_command, wd.name)
    assert_ok(st)
    # The lock name is per session: another client is not affected.
    other = tfd.connect()
    assert_ok(reply(other.touch_command, wd.rel("d", "by_other")))
    assert wd.disk("d", "by_other").is_file()
    other.end_command()

    # DEL of the lock file itself is allowed, and unlocks the directory.
    assert_ok(reply(tf.del_command, wd.rel("d", "lk")))
    assert not wd.disk("d", "lk").exists()
    assert_ok(reply(tf.touch_command, wd.rel("d", "b")))
    assert wd.disk("d", "b").is_file()
    assert sorted(listing(tf, "LS", d)[0]) == ["D: inner/", "F: a", "F: b", "F: by_other"]

    # Invalid names are refused and not stored (decisions.md).
    assert_failed(reply(tf.lock_command, "a.b"), 28)
    assert_failed(reply(tf.lock_command, "x/y"), 28)
    assert_alive(tf)
    wd.disk("d", "a.b").write_bytes(b"")
    assert_ok(reply(tf.touch_command, wd.rel("d", "c")))
    # The earlier valid name is still in force.
    wd.disk("d", "lk").write_bytes(b"")
    assert_failed(reply(tf.touch_command, wd.rel("d", "e")), 30)
    # LOCK with an empty argument turns locking off.
    assert_ok(reply(tf.lock_command, ""))
    assert_ok(reply(tf.touch_command, wd.rel("d", "e")))
    assert wd.disk("d", "e").is_file()


# --- confinement: "..", symlinks ---------------------------------------------------

ESCAPES = [
    ("LS", ".."),
    ("LS", "../.."),
    ("LSR", ".."),
    ("LS", "/.."),
    ("FSTAT", ".."),
    ("FSTAT", "../.."),
    ("FSTAT", "../key.pem"),
    ("FSTAT", "a/../../key.pem"),
    ("SHA256", "../key.pem"),
    ("FUPD", "../key.pem"),
    ("DEL", "../key.pem"),
    ("MKDIR", "../evil"),
    ("TOUCH", "../evil"),
    ("RMDIR", ".."),
    ("RMDIR", "../data"),
    ("COPY", "../key.pem | stolen"),
    ("COPY", "x | ../evil"),
    ("CPDIR", ".. | stolen"),
    ("CPDIR", "a | ../evil"),
    ("RENAM", "../key.pem | stolen"),
    ("RENAM", "x | ../evil"),
]


@pytest.mark.parametrize("cmd,arg", ESCAPES, ids=[f"{c} {a}" for c, a in ESCAPES])
def test_dotdot_escape(fresh, cmd, arg):
    """`..` may not climb above the root: FAILED 1, nothing touched. Sent raw so
    the single reply is seen (LS/LSR helpers add a stray CONT on failure)."""
    c = fresh.connect()
    (fresh.data / "a").mkdir()
    (fresh.data / "x").write_bytes(b"x")
    base_before = sorted(os.listdir(fresh.base))
    key_before = fresh.key_file.read_bytes()
    key_stat = fresh.key_file.stat()
    assert_failed(raw(c, cmd, arg), 1)
    assert_alive(c)
    assert sorted(os.listdir(fresh.base)) == base_before
    assert fresh.key_file.read_bytes() == key_before
    assert fresh.key_file.stat().st_mtime == key_stat.st_mtime
    assert sorted(os.listdir(fresh.data)) == ["a", "x"]


def test_symlink_escape(tf, tfd, wd):
    """Symlinks planted in the data dir that lead out of the root are refused
    (FAILED 1) whether absolute (/etc) or relative (../..)."""
    outside = tfd.base / ("outside_" + wd.name)
    outside.mkdir()
    (outside / "victim").write_bytes(b"v")
    (outside / "victimdir").mkdir()
    os.symlink("/etc", wd.disk("etc"))
    os.symlink("/etc/passwd", wd.disk("passwd"))
    os.symlink(str(outside), wd.disk("out"))
    os.symlink("../../outside_" + wd.name, wd.disk("up"))
    wd.disk("f").write_bytes(b"f")
    wd.disk("sub").mkdir()

    for path in ("etc", "etc/passwd", "etc/", "passwd", "out", "out/victim", "up", "up/victim"):
        _, st = reply(tf.fstat_command, wd.rel(path))
        assert_failed(st, 1)
        assert_alive(tf)
    for cmd in ("LS", "LSR"):
        for path in ("etc", "out", "up", "etc/ssl"):
            listing_failed(tf, cmd, wd.rel(path), 1)
            assert_alive(tf)
    for path in ("etc/passwd", "passwd", "out/victim", "up/victim"):
        assert_failed(reply(tf.sha256_command, wd.rel(path)), 1)
        assert_alive(tf)
    assert_failed(reply(tf.copy_command, wd.rel("passwd"), wd.rel("stolen")), 1)
    assert not wd.disk("stolen").exists()
    assert_failed(reply(tf.cpdir_command, wd.rel("etc"), wd.rel("stolen")), 1)
    assert not wd.disk("stolen").exists()
    assert_alive(tf)

    # Writes through the links reach nothing outside.
    refused = [
        (tf.mkdir_command, (wd.rel("out", "evil"),)),
        (tf.touch_command, (wd.rel("out", "evil"),)),
        (tf.touch_command, (wd.rel("up", "evil"),)),
        (tf.del_command, (wd.rel("out", "victim"),)),
        (tf.rmdir_command, (wd.rel("out", "victimdir"),)),
        (tf.fupd_command, (wd.rel("out", "victim"),)),
        (tf.copy_command, (wd.rel("f"), wd.rel("out", "evil"))),
        (tf.cpdir_command, (wd.rel("sub"), wd.rel("out", "evil"))),
        (tf.renam_command, (wd.rel("f"), wd.rel("out", "evil"))),
        (tf.renam_command, (wd.rel("out", "victim"), wd.rel("got"))),
    ]
    os.utime(outside / "victim", (1000000000, 1000000000))
    for method, args in refused:
        assert_failed(reply(method, *args), 1)
        assert_alive(tf)
    assert sorted(os.listdir(outside)) == ["victim", "victimdir"]
    assert (outside / "victim").read_bytes() == b"v"
    assert (outside / "victim").stat().st_mtime == 1000000000
    assert wd.disk("f").read_bytes() == b"f" and not wd.disk("got").exists()

    # Creating through a dangling link that points outside: the link's own name
    # exists, so FAILED 12, and nothing appears at its target.
    os.symlink(str(outside / "created"), wd.disk("dangling"))
    assert_failed(reply(tf.touch_command, wd.rel("dangling")), 12)
    assert_failed(reply(tf.copy_command, wd.rel("f"), wd.rel("dangling")), 12)
    assert not (outside / "created").exists()
    assert_alive(tf)

    # Listing the directory shows the links as U and does not follow them.
    lines, _ = listing(tf, "LSR", wd.name)
    assert sorted(lines) == [
        "D: sub/", "F: f", "U: dangling", "U: etc", "U: out", "U: passwd", "U: up"
    ]
