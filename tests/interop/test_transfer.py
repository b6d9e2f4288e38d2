"""Transfer commands driven by the public Python client (tfprotocol-client 1.2.2):
SNDFILE, RCVFILE, PUT, GET, PUTCAN, GETCAN, SUP, SDOWN, FSIZE, FSIZELS
(wire-notes §3.16-3.17, §3.20, §3.32-3.34; man/tfd.8).

Every round trip goes through the client's own helper for that command and is
checked byte for byte: on disk after an upload, in what the client received after
a download. Sizes stay small (0 B, 1 B, 507 B, a few KB) and each parametrized
case gets a fresh session, because the client's pure-Python cipher slows down as a
session's traffic grows (README.md).

Where a helper is broken, the command goes through the client's lower-level API
(interop_lib.raw / raw_bytes, ProtocolClient.send / just_recv_int) and the case
says why. Client facts that shape these tests (tfprotocol.py, status_info.py):
  * The client parses every framed reply with re.split(rb'\\s+', maxsplit=1) and
    decodes its first 1024 bytes as UTF-8 (StatusInfo.build_status). So the data of
    a `CONT <data>` frame loses its leading whitespace and must be valid UTF-8
    (at least up to byte 1024) or the client raises. RCVFILE through the helper
    therefore uses ASCII text; binary RCVFILE content is checked raw.
  * The same parser reads the `OK <i64 grant>` of the HPF commands, so the grants
    used here have no byte >= 0x80 (64, 4096, ...).
  * sndfile_command keeps sending after a FAILED (a `CONT <data>` frame, then `OK`),
    rcvfile_command sends a `CONT` after FAILED or after the `OK` of an empty file;
    tfd answers those stray frames UNKNOWN, which is asserted.
  * put_command seeks the *source stream* to the offset, get_command seeks the
    *sink* to the offset (the stream is the whole file, not the part to send).
  * putcan_command and getcan_command return without calling the handler when the
    server answers FAILED, so failures of those two are checked raw.
  * sup_command and sdown_command return only True/False; the raw -1 is read
    through the lower-level API.
  * get_command can hang when its transfer handler cancels; GET cancel is raw.
"""

import io
import math
import os
import struct

import pytest
from tfprotocol_client.models.message import TfProtocolMessage
from tfprotocol_client.models.putget_commands import PutGetCommandEnum as H
from tfprotocol_client.models.status_server_code import StatusServerCode as S

from interop_lib import PYPI_QUIRKS, assert_alive, assert_failed, assert_ok, calls, raw, raw_bytes, reply, stray

# 9000 B spans two chunks of sndfile_command (8187 B per CONT frame), of
# sup_command (8192 B per raw pair) and three HPF chunks of HPF_BUF.
SIZES = [0, 1, 507, 4096, 9000]
# sndfile_command reads len_channel - 5 bytes per CONT frame (len_channel 8192).
SND_CHUNK = 8192 - 5
HPF_BUF = 4096
FIN = H.HPFFIN.value


def blob(n: int) -> bytes:
    """Binary test data that starts with whitespace and NUL (so a parser that trims
    or stops at NUL is caught) and uses every byte value."""
    head = b" \t\r\n\x00"
    body = bytes((i * 7 + (i >> 8) * 13 + 0x80) & 0xFF for i in range(max(0, n - len(head))))
    return (head + body)[:n]


def text(n: int) -> bytes:
    """ASCII test data not starting with whitespace (what rcvfile_command's status
    parser can carry intact, see the module docstring)."""
    lines = b"".join(b"%05d the quick brown fox jumps over the lazy dog\n" % i for i in range(n // 40 + 2))
    return lines[:n]


def names(wd):
    """What is in the work dir: also proves no temporary upload file was left."""
    return sorted(os.listdir(wd.path))


def is_unknown(st):
    return st.status is S.UNKNOWN and st.code == S.UNKNOWN.value and st.message == ""


# --- helpers around the client's transfer helpers --------------------------------

def sndfile(c, overwrite, path, data):
    """sndfile_command; returns the StatusInfo of every handler call."""
    got = calls(c.sndfile_command, overwrite, path, io.BytesIO(data))
    return [a[2] for a in got]


def rcvfile(c, delete, path):
    """rcvfile_command; returns the StatusInfo of every handler call."""
    got = calls(c.rcvfile_command, delete, path, None)
    return [a[2] for a in got]


def put(c, data, path, offset=0, bufsz=HPF_BUF):
    """put_command; returns the StatusInfos its response handler saw (the grant,
    then one per chunk sent) and how often the transfer handler ran."""
    seen, transfer = [], []
    c.put_command(io.BytesIO(data), path, offset, bufsz, seen.append, transfer.append)
    return seen, transfer


def get(c, path, offset=0, bufsz=HPF_BUF):
    """get_command into a BytesIO; returns (sink bytes, response-handler codes)."""
    sink, seen = io.BytesIO(), []
    c.get_command(sink, path, offset, bufsz, seen.append, lambda *_: None)
    return sink.getvalue(), seen


def putcan(c, data, path, canpt, offset=0, bufsz=HPF_BUF):
    """putcan_command; returns (response-handler statuses, the server codes read
    at each cancellation point)."""
    seen, windows = [], []

    def on_transfer(_client, ts):
        if ts.handling_canpt:
            windows.append(ts.server_command)

    c.putcan_command(io.BytesIO(data), path, offset, bufsz, canpt, seen.append, on_transfer)
    return seen, windows


def getcan(c, path, canpt, offset=0, bufsz=HPF_BUF, answer=None):
    """getcan_command into a BytesIO; returns (data, response-handler statuses,
    number of cancellation points answered). `answer` replaces the client's -3 at
    the first cancellation point (e.g. HPFCANCEL to stop)."""
    sink, seen, windows = io.BytesIO(), [], []

    def on_transfer(_client, ts):
        if ts.handling_canpt:
            windows.append(ts.client_command)
            if answer is not None and len(windows) == 1:
                ts.client_command = answer

    c.getcan_command(sink, path, offset, bufsz, canpt, seen.append, on_transfer)
    return sink.getvalue(), seen, windows


def hpf_request(name, path, offset, bufsz, canpt=None):
    """The binary HPF request frame (name, path, one space, big-endian struct)."""
    st = struct.pack(">Qq", offset, bufsz)
    if canpt is not None:
        st += struct.pack(">Q", canpt)
    return name.encode() + b" " + path.encode() + b" " + st


def sdown_raw(c, path):
    """SDOWN through the lower-level API: returns (data, final header)."""
    c.client.send(TfProtocolMessage("SDOWN", path))
    data = b""
    while True:
        n = c.client.just_recv_int(size=4, signed=True)
        if n <= 0:
            return data, n
        data += c.client.just_recv(n)


def fsize(c, path):
    st = calls(c.fsize_command, path)
    assert len(st) == 1, st
    st = st[0][0]
    assert st.message == str(st.code), st
    assert st.status is (S.OK if st.code >= 0 else S.FAILED), st
    return st.code


def fsizels(c, listfile):
    got = [a[0] for a in calls(c.fsizels_command, listfile)]
    for st in got:
        assert st.message == str(st.code), st
        assert st.status is (S.FAILED if st.code == -1 else S.CONT), st
    return [st.code for st in got]


# --- SNDFILE ------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
def test_sndfile_roundtrip(tf, wd, size):
    data = blob(size)
    statuses = sndfile(tf, False, wd.rel("up load"), data)
    chunks = math.ceil(size / (SND_CHUNK if PYPI_QUIRKS else 524283))
    # S: CONT; per chunk C: CONT <data>, S: CONT; C: OK, S: OK.
    assert len(statuses) == 2 + chunks, statuses
    for st in statuses[:-1]:
        assert st.status is S.CONT and st.message == "", statuses
    assert_ok(statuses[-1], "")
    assert wd.disk("up load").read_bytes() == data
    assert names(wd) == ["up load"]
    assert_alive(tf)


def test_sndfile_overwrite(tf, wd):
    wd.disk("f").write_bytes(b"old content that is longer than the new one")
    statuses = sndfile(tf, True, wd.rel("f"), b"new")
    assert [s.status for s in statuses] == [S.CONT, S.CONT, S.OK], statuses
    assert wd.disk("f").read_bytes() == b"new"
    # Overwrite with nothing: an empty file.
    statuses = sndfile(tf, True, wd.rel("f"), b"")
    assert [s.status for s in statuses] == [S.CONT, S.OK], statuses
    assert wd.disk("f").read_bytes() == b""
    assert names(wd) == ["f"]
    assert_alive(tf)


def test_sndfile_exists_without_overwrite(tf, wd):
    wd.disk("f").write_bytes(b"original")
    # The plain reply (raw: one frame, nothing after it).
    assert_failed(raw(tf, "SNDFILE", "0", wd.rel("f")), 12)
    assert wd.disk("f").read_bytes() == b"original"
    assert_alive(tf)
    # Through the helper: it keeps going after the FAILED and sends the data as a
    # `CONT <data>` frame and then `OK`; tfd answers both stray frames UNKNOWN
    # and does not touch the file.
    statuses = sndfile(tf, False, wd.rel("f"), b"replacement")
    assert len(statuses) == 1 + stray(2), statuses
    assert_failed(statuses[0], 12)
    assert all(is_unknown(st) for st in statuses[1:]), statuses
    assert wd.disk("f").read_bytes() == b"original"
    assert names(wd) == ["f"]
    assert_alive(tf)


def test_sndfile_target_appears_meanwhile(tf, tfd, wd):
    """Without overwrite, a file that appears during the upload is never replaced:
    the final OK is answered FAILED 12 and the upload is dropped. Raw frames, so
    the moment the file appears is under the test's control."""
    st = raw(tf, "SNDFILE", "0", wd.rel("f"))
    assert st.status is S.CONT, st
    assert raw(tf, "CONT", "mine").status is S.CONT
    wd.disk("f").write_bytes(b"someone else's")
    assert_failed(raw(tf, "OK"), 12)
    assert wd.disk("f").read_bytes() == b"someone else's"
    assert names(wd) == ["f"]
    assert_alive(tf)
    # Two sessions racing for a new name: the first OK wins, the second gets 12.
    other = tfd.connect()
    assert raw(tf, "SNDFILE", "0", wd.rel("g")).status is S.CONT
    assert raw(other, "SNDFILE", "0", wd.rel("g")).status is S.CONT
    assert raw(tf, "CONT", "from A").status is S.CONT
    assert raw(other, "CONT", "from B").status is S.CONT
    assert_ok(raw(tf, "OK"), "")
    assert_failed(raw(other, "OK"), 12)
    assert wd.disk("g").read_bytes() == b"from A"
    assert names(wd) == ["f", "g"]
    assert_alive(tf)
    assert_alive(other)


def test_sndfile_failures(tf, wd):
    wd.disk("d").mkdir()
    # A directory, even with overwrite.
    assert_failed(raw(tf, "SNDFILE", "1", wd.rel("d")), 8)
    assert wd.disk("d").is_dir() and os.listdir(wd.disk("d")) == []
    # No path after the flag.
    assert_failed(raw(tf, "SNDFILE", "1"), 16)
    assert names(wd) == ["d"]
    assert_alive(tf)


def test_sndfile_break(tf, wd):
    """BREAK discards the upload (raw: the helper never sends BREAK)."""
    st = raw(tf, "SNDFILE", "0", wd.rel("f"))
    assert st.status is S.CONT and st.message == "", st
    assert raw(tf, "CONT", "partial data").status is S.CONT
    assert_ok(raw(tf, "BREAK"), "")
    assert names(wd) == []
    assert_alive(tf)


# --- RCVFILE ------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
def test_rcvfile_roundtrip(tf, wd, size):
    data = text(size)
    wd.disk("down load").write_bytes(data)
    statuses = rcvfile(tf, False, wd.rel("down load"))
    if size == 0:
        # An empty file is answered OK at once; the helper still sends its CONT,
        # which tfd answers UNKNOWN (client quirk, wire-notes §11).
        assert len(statuses) == 1 + stray(1), statuses
        assert_ok(statuses[0], "")
        assert all(is_unknown(st) for st in statuses[1:]), statuses
    else:
        # One `CONT <data>` frame (up to 524283 bytes), then OK.
        assert len(statuses) == 2, statuses
        assert statuses[0].status is S.CONT, statuses
        assert bytes(statuses[0].payload) == data
        assert_ok(statuses[1], "")
    assert wd.disk("down load").read_bytes() == data
    assert_alive(tf)


def test_rcvfile_binary_raw(tf, wd):
    """Byte-exact binary content, read raw: the helper's status parser would drop
    the leading whitespace and fail on bytes that are not UTF-8."""
    data = blob(1500)
    wd.disk("bin").write_bytes(data)
    assert raw_bytes(tf, "RCVFILE 0 " + wd.rel("bin")) == b"CONT " + data
    assert raw_bytes(tf, "CONT") == b"OK"
    assert wd.disk("bin").read_bytes() == data
    assert_alive(tf)


def test_rcvfile_missing(tf, wd):
    assert_failed(raw(tf, "RCVFILE", "0", wd.rel("missing")), 9)
    assert_alive(tf)
    # The helper sends a CONT after the FAILED (client bug, wire-notes §11).
    statuses = rcvfile(tf, False, wd.rel("missing"))
    assert len(statuses) == 1 + stray(1), statuses
    assert_failed(statuses[0], 9)
    assert all(is_unknown(st) for st in statuses[1:]), statuses
    assert names(wd) == []
    assert_alive(tf)
    assert_failed(raw(tf, "RCVFILE", "0", wd.rel("nodir", "f")), 9)
    wd.disk("d").mkdir()
    assert_failed(raw(tf, "RCVFILE", "1", wd.rel("d")), 8)
    assert wd.disk("d").is_dir()
    assert_failed(raw(tf, "RCVFILE", "1"), 16)
    os.mkfifo(wd.disk("fifo"))  # not a regular file (and opening it must not block)
    assert_failed(raw(tf, "RCVFILE", "0", wd.rel("fifo")), 7)
    assert_alive(tf)


def test_rcvfile_delete_flag(tf, wd):
    data = text(700)
    wd.disk("f").write_bytes(data)
    wd.disk("keep").write_bytes(b"k")
    statuses = rcvfile(tf, True, wd.rel("f"))
    assert len(statuses) == 2, statuses
    assert statuses[0].status is S.CONT and bytes(statuses[0].payload) == data
    assert_ok(statuses[1], "")
    assert names(wd) == ["keep"]
    # An empty file is deleted too.
    wd.disk("e").write_bytes(b"")
    statuses = rcvfile(tf, True, wd.rel("e"))
    assert_ok(statuses[0], "")
    assert len(statuses) == 1 + stray(1) and all(is_unknown(st) for st in statuses[1:]), statuses
    assert names(wd) == ["keep"]
    # A download broken off with BREAK is not complete: the file stays (raw: the
    # helper never sends BREAK).
    wd.disk("b").write_bytes(b"xyz")
    assert raw_bytes(tf, "RCVFILE 1 " + wd.rel("b")) == b"CONT xyz"
    assert raw_bytes(tf, "BREAK") == b"OK"
    assert wd.disk("b").read_bytes() == b"xyz"
    assert_alive(tf)


# --- PUT, GET ---------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
def test_put_roundtrip(tf, wd, size):
    data = blob(size)
    seen, _ = put(tf, data, wd.rel("p f"))
    # The grant: `OK <i64 BE>`; the helper puts the number in .code.
    assert seen[0].status is S.OK and seen[0].code == HPF_BUF, seen
    assert bytes(seen[0].payload) == struct.pack(">q", HPF_BUF)
    chunk_sizes = [st.code for st in seen[1:]]
    assert all(st.status is S.OK for st in seen[1:]), seen
    assert chunk_sizes == [min(HPF_BUF, size - i) for i in range(0, size, HPF_BUF)], seen
    assert wd.disk("p f").read_bytes() == data
    assert names(wd) == ["p f"]
    assert_alive(tf)


def test_put_offset_in_place(tf, wd):
    wd.disk("f").write_bytes(b"abcdefghij")
    # put_command seeks the source stream to the offset: the bytes sent are
    # stream[4:], written at file offset 4.
    seen, _ = put(tf, b"....XY", wd.rel("f"), offset=4, bufsz=64)
    assert seen[0].code == 64 and [s.code for s in seen[1:]] == [2], seen
    assert wd.disk("f").read_bytes() == b"abcdXYghij"  # not truncated
    # Past the end of the file: a hole of zeros, then the data.
    wd.disk("g").write_bytes(b"abc")
    put(tf, b"......ZZ", wd.rel("g"), offset=6, bufsz=64)
    assert wd.disk("g").read_bytes() == b"abc\0\0\0ZZ"
    # Offset 0 over a longer file: in place too.
    put(tf, b"AB", wd.rel("f"), offset=0, bufsz=64)
    assert wd.disk("f").read_bytes() == b"ABcdXYghij"
    assert names(wd) == ["f", "g"]
    assert_alive(tf)


def test_put_failures(tf, wd):
    wd.disk("d").mkdir()
    cases = [
        (wd.rel("d"), 0, 64, 34),                # a directory
        (wd.rel("nodir", "f"), 0, 64, 34),       # missing parent
        (wd.rel("new0"), 0, 0, 36),              # buffer size 0
        (wd.rel("newneg"), 0, -5, 36),           # negative buffer size
        (wd.rel("newbig"), 2**63, 64, 35),       # offset beyond i64
    ]
    for path, offset, bufsz, code in cases:
        seen, transfer = put(tf, b"data", path, offset=offset, bufsz=bufsz)
        assert len(seen) == 1 and not transfer, (path, seen)
        assert_failed(seen[0], code)
        assert_alive(tf)
    # A refused PUT creates nothing.
    assert names(wd) == ["d"] and os.listdir(wd.disk("d")) == []


@pytest.mark.parametrize("code", [H.HPFSTOP.value, H.HPFCANCEL.value])
def test_put_stop_and_cancel(tf, wd, code):
    """The helper's transfer handler sends -1 (stop: keep what was written) or -2
    (cancel: the file is removed) after the first chunk; then the FIN exchange."""
    data = blob(9000)
    sent = []

    def on_transfer(code_sr):
        if not code_sr.block and not sent:
            sent.append(code)
            code_sr.send_put(code)

    seen = []
    tf.put_command(io.BytesIO(data), wd.rel("f"), 0, HPF_BUF, seen.append, on_transfer)
    assert sent == [code]
    assert seen[0].code == HPF_BUF and [s.code for s in seen[1:]] == [HPF_BUF], seen
    if code == H.HPFSTOP.value:
        assert wd.disk("f").read_bytes() == data[:HPF_BUF]
        assert names(wd) == ["f"]
    else:
        assert names(wd) == []
    assert_alive(tf)


def test_put_chunk_over_grant_closes(tfd, wd):
    """A chunk longer than the granted buffer is a protocol violation: tfd closes
    the connection (the reference overflowed its heap) and keeps serving others.
    Raw, since put_command never sends more than the grant."""
    c = tfd.connect()
    st = raw(c, hpf_request("PUT", wd.rel("f"), 0, 64))
    assert st.status is S.OK and bytes(st.payload) == struct.pack(">q", 64), st
    c.client.just_send(65, size=8, signed=True)
    c.client.just_send(bytes(65))
    sock = c.client.socket
    sock.settimeout(5)
    # recv_into, as the client reads (its PySocks socket's recv() is broken).
    # Closed either way: EOF, or a reset when tfd closed with the oversized
    # chunk still unread in its socket (the kernel then sends RST, not FIN).
    try:
        assert sock.recv_into(bytearray(16)) == 0, "expected EOF after the violation"
    except ConnectionResetError:
        pass
    assert wd.disk("f").read_bytes() == b""  # nothing of the oversized chunk
    assert_alive(tfd.connect())


@pytest.mark.parametrize("size", SIZES)
def test_get_roundtrip(tf, wd, size):
    data = blob(size)
    wd.disk("g f").write_bytes(data)
    got, seen = get(tf, wd.rel("g f"))
    assert got == data
    assert all(st.status is S.OK for st in seen), seen
    codes = [st.code for st in seen]
    # grant, each chunk's length, the end (0), and the closing FIN exchange.
    chunk_sizes = [min(HPF_BUF, size - i) for i in range(0, size, HPF_BUF)]
    assert codes == [HPF_BUF] + chunk_sizes + [0, FIN], codes
    assert wd.disk("g f").read_bytes() == data
    assert_alive(tf)


def test_get_offset(tf, wd):
    data = blob(3000)
    wd.disk("f").write_bytes(data)
    # get_command seeks the *sink* to the offset, so the sink holds zeros first.
    got, seen = get(tf, wd.rel("f"), offset=1000, bufsz=4096)
    assert len(got) == 3000 and got[:1000] == bytes(1000) and got[1000:] == data[1000:]
    assert [s.code for s in seen] == [4096, 2000, 0, FIN], seen
    # At the end of the file: no data, just the end.
    got, seen = get(tf, wd.rel("f"), offset=3000, bufsz=64)
    assert [s.code for s in seen] == [64, 0, FIN], seen
    assert_alive(tf)


def test_get_cancel_raw(tf, wd):
    """GET stopped by the client's -2. Raw, because get_command's cancel path can
    hang: after a -2 its reader thread keeps reading until an end code or FIN
    while it holds the condition lock that the main thread needs before it sends
    its FIN, and after a cancel the server sends no end code (wire-notes §3.20).
    So the codes go by hand: -2, then FIN, then read until the server's FIN.
    Whether the cancel lands before EOF is a race (the server is much faster
    than this client's cipher), so both outcomes are accepted, exactly."""
    data = blob(9000)
    wd.disk("f").write_bytes(data)
    st = raw(tf, hpf_request("GET", wd.rel("f"), 0, 64))
    assert st.status is S.OK and bytes(st.payload) == struct.pack(">q", 64), st
    tf.client.just_send(H.HPFCANCEL.value, size=8, signed=True)
    tf.client.just_send(FIN, size=8, signed=True)
    got, codes = b"", []
    while True:
        n = tf.client.just_recv_int(size=8, signed=True)
        if n > 0:
            assert n <= 64, n
            got += tf.client.just_recv(n)
            continue
        codes.append(n)
        if n == FIN:
            break
    assert data.startswith(got)
    # Cancelled: no end code. Only a stream that reached EOF first ends with 0.
    assert codes == [FIN] or (codes == [0, FIN] and got == data), (codes, len(got))
    assert wd.disk("f").read_bytes() == data
    assert_alive(tf)


def test_get_failures(tf, wd):
    wd.disk("d").mkdir()
    wd.disk("f").write_bytes(b"x")
    os.mkfifo(wd.disk("fifo"))
    cases = [
        (wd.rel("missing"), 0, 64, 34),
        (wd.rel("d"), 0, 64, 34),
        (wd.rel("fifo"), 0, 64, 34),
        (wd.rel("f"), 0, 0, 36),
        (wd.rel("f"), 2**63, 64, 35),
    ]
    for path, offset, bufsz, code in cases:
        got, seen = get(tf, path, offset=offset, bufsz=bufsz)
        assert got == b"" and len(seen) == 1, (path, seen)
        assert_failed(seen[0], code)
        assert_alive(tf)
    assert names(wd) == ["d", "f", "fifo"] and wd.disk("f").read_bytes() == b"x"


# --- PUTCAN, GETCAN ---------------------------------------------------------------------

PUTCAN_CASES = [(size, canpt) for size in SIZES for canpt in (1, 2)] + [(9000, 0), (8192, 2)]


@pytest.mark.parametrize("size,canpt", PUTCAN_CASES)
def test_putcan_roundtrip(tf, wd, size, canpt):
    data = blob(size)
    seen, windows = putcan(tf, data, wd.rel("pc"), canpt)
    assert len(seen) == 1 and seen[0].status is S.OK and seen[0].code == HPF_BUF, seen
    chunks = math.ceil(size / HPF_BUF)
    # After every canpt chunks the server says -3 (continue); never with canpt 0.
    expected = chunks // canpt if canpt else 0
    assert windows == [H.HPFCONT.value] * expected, windows
    # No FIN and no final reply: the next frame is a command again. The helper
    # returns as soon as it has sent the end code, so wait for a round trip
    # before looking at the disk.
    assert_alive(tf)
    assert wd.disk("pc").read_bytes() == data
    assert names(wd) == ["pc"]


def test_putcan_offset_and_failures(tf, wd):
    wd.disk("f").write_bytes(b"0123456789")
    # putcan_command does not seek its stream: the stream is exactly what is sent.
    seen, windows = putcan(tf, b"XY", wd.rel("f"), 1, offset=3, bufsz=64)
    assert seen[0].code == 64 and windows == [H.HPFCONT.value]
    assert_alive(tf)  # no final reply: a round trip before looking at the disk
    assert wd.disk("f").read_bytes() == b"012XY56789"
    # putcan_command returns without calling the handler on FAILED (it only
    # looks at .code != 0), so the failures are read raw.
    wd.disk("d").mkdir()
    seen, windows = putcan(tf, b"x", wd.rel("d"), 1)
    assert seen == [] and windows == []
    assert_alive(tf)
    assert_failed(raw(tf, hpf_request("PUTCAN", wd.rel("d"), 0, 64, 1)), 34)
    assert_failed(raw(tf, hpf_request("PUTCAN", wd.rel("n"), 0, 0, 1)), 36)
    assert_failed(raw(tf, hpf_request("PUTCAN", wd.rel("n"), 2**63, 64, 1)), 35)
    # An argument shorter than separator + 24-byte struct: missing parameter.
    assert_failed(raw(tf, b"PUTCAN " + bytes(20)), 16)
    assert names(wd) == ["d", "f"]
    assert_alive(tf)


def transfer_calls(on=None):
    """A transfer handler that records (client_command, server_command,
    handling_canpt, last_payload_size) at each call, then runs `on(ts)`."""
    seen = []

    def handler(_client, ts):
        seen.append((ts.client_command, ts.server_command, ts.handling_canpt, ts.last_payload_size))
        if on is not None:
            on(ts)

    return seen, handler


@pytest.mark.parametrize("size", [2 * HPF_BUF + 100, 2 * HPF_BUF])
def test_putcan_handler_calls(tf, wd, size):
    """When putcan_command calls its transfer handler and what it shows: after
    each chunk, at each cancellation point (the server's -3), once the stream
    is exhausted (last_payload_size 0) and after the end code (HPFEND), also
    when the data ends on a window boundary."""
    data = blob(size)
    seen, handler = transfer_calls()
    tf.putcan_command(io.BytesIO(data), wd.rel("pc"), 0, HPF_BUF, 2, lambda *_: None, handler)
    cont = H.HPFCONT.value
    tail = [(None, cont, False, 100)] if size % HPF_BUF else []
    assert seen == [(None, cont, False, HPF_BUF), (None, cont, False, HPF_BUF), (None, cont, True, HPF_BUF)] + tail + [
        (None, cont, False, 0), (H.HPFEND.value, cont, False, 0)], seen
    assert_alive(tf)
    assert wd.disk("pc").read_bytes() == data


def test_putcan_ended_by_the_handler(tf, wd):
    """The transfer handler sets HPFEND after the first chunk: the end code
    goes out at once, the handler is called once more, the server keeps what
    came. canpt 2, so that chunk closes no window: with canpt 1 the PyPI client
    sends its end code without reading the server's -3 for that chunk, which
    then stands where the next reply should."""
    data = blob(3 * HPF_BUF)

    def end_now(ts):
        if ts.client_command is None:
            ts.client_command = H.HPFEND.value

    seen, handler = transfer_calls(end_now)
    tf.putcan_command(io.BytesIO(data), wd.rel("e"), 0, HPF_BUF, 2, lambda *_: None, handler)
    cont = H.HPFCONT.value
    assert seen == [(None, cont, False, HPF_BUF), (H.HPFEND.value, cont, False, HPF_BUF)], seen
    assert_alive(tf)
    assert wd.disk("e").read_bytes() == data[:HPF_BUF]


def test_putcan_server_cancel(make_tfd):
    """A server that cannot write (its quota is full) answers -2 at the next
    cancellation point: the handler sees it there (handling_canpt,
    server_command HPFCANCEL), the call returns without an end code, and the
    session goes on (tfd removes the file it made)."""
    srv = make_tfd(["quota_default 16K"])
    c = srv.connect()
    seen, handler = transfer_calls()
    c.putcan_command(io.BytesIO(blob(64 * 1024)), "over", 0, HPF_BUF, 2, lambda *_: None, handler)
    windows = [s for s in seen if s[2]]
    assert seen[-1] == windows[-1] == (None, H.HPFCANCEL.value, True, HPF_BUF), seen
    assert windows[:-1] == [(None, H.HPFCONT.value, True, HPF_BUF)] * (len(windows) - 1), seen
    # the -2 comes at the first window after the write past 16 KiB
    assert 2 <= len(windows) <= 3, seen
    assert_alive(c)
    assert not (srv.data / "over").exists()


@pytest.mark.parametrize("size", [2 * HPF_BUF + 100, 2 * HPF_BUF])
def test_getcan_handler_calls(tf, wd, size):
    """When getcan_command calls its transfer handler: after each chunk, at
    each cancellation point (client_command preset to -3), and at the server's
    end code (server_command 0), the window on the last chunk answered first."""
    data = blob(size)
    wd.disk("gc").write_bytes(data)
    seen, handler = transfer_calls()
    sink = io.BytesIO()
    tf.getcan_command(sink, wd.rel("gc"), 0, HPF_BUF, 2, lambda *_: None, handler)
    assert sink.getvalue() == data
    cont = H.HPFCONT.value
    last = 100 if size % HPF_BUF else HPF_BUF
    tail = [(cont, None, False, 100)] if size % HPF_BUF else []
    assert seen == [(None, None, False, HPF_BUF), (None, None, False, HPF_BUF), (cont, None, True, HPF_BUF)] + tail + [
        (cont, H.HPFEND.value, False, last)], seen
    assert_alive(tf)


GETCAN_CASES = [(size, canpt) for size in SIZES for canpt in (1, 2)] + [(9000, 0), (8192, 2), (8192, 1)]


@pytest.mark.parametrize("size,canpt", GETCAN_CASES)
def test_getcan_roundtrip(tf, wd, size, canpt):
    data = blob(size)
    wd.disk("gc").write_bytes(data)
    got, seen, windows = getcan(tf, wd.rel("gc"), canpt)
    assert got == data
    assert len(seen) == 1 and seen[0].status is S.OK and seen[0].code == HPF_BUF, seen
    # The client answers -3 after every canpt chunks, also when the data ends on
    # a window boundary (then before the server's 0).
    chunks = math.ceil(size / HPF_BUF)
    assert len(windows) == (chunks // canpt if canpt else 0), windows
    assert wd.disk("gc").read_bytes() == data
    assert_alive(tf)


def test_getcan_cancel_and_failures(tf, wd):
    data = blob(10000)
    wd.disk("f").write_bytes(data)
    # Anything but -3 at a cancellation point stops the stream silently: here the
    # client answers -2 after the first 1024-byte chunk.
    got, seen, windows = getcan(tf, wd.rel("f"), 1, bufsz=1024, answer=H.HPFCANCEL.value)
    assert got == data[:1024] and len(windows) == 1 and seen[0].code == 1024
    assert_alive(tf)  # nothing more arrives before the ECHO reply
    # From an offset.
    got, seen, windows = getcan(tf, wd.rel("f"), 0, offset=9000, bufsz=4096)
    assert got == data[9000:] and windows == []
    assert_alive(tf)
    # getcan_command returns silently on FAILED: read the failures raw.
    got, seen, windows = getcan(tf, wd.rel("missing"), 1)
    assert got == b"" and seen == [] and windows == []
    assert_alive(tf)
    assert_failed(raw(tf, hpf_request("GETCAN", wd.rel("missing"), 0, 64, 1)), 34)
    assert_failed(raw(tf, hpf_request("GETCAN", wd.rel("f"), 0, -1, 1)), 36)
    assert_failed(raw(tf, hpf_request("GETCAN", wd.rel("f"), 2**63, 64, 1)), 35)
    assert names(wd) == ["f"] and wd.disk("f").read_bytes() == data
    assert_alive(tf)


# --- SUP, SDOWN ---------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
def test_sup_roundtrip(tf, wd, size):
    data = blob(size)
    assert tf.sup_command(wd.rel("s f"), io.BytesIO(data), 10) is True
    assert wd.disk("s f").read_bytes() == data
    assert names(wd) == ["s f"]
    assert_alive(tf)


def test_sup_replace_and_failures(tf, wd):
    wd.disk("f").write_bytes(b"a longer old content")
    assert tf.sup_command(wd.rel("f"), io.BytesIO(b"new"), 10) is True
    assert wd.disk("f").read_bytes() == b"new"
    assert_alive(tf)
    # Problems with the path only show in the final -1 (sup_command -> False).
    wd.disk("d").mkdir()
    assert tf.sup_command(wd.rel("d"), io.BytesIO(b"data"), 10) is False
    assert wd.disk("d").is_dir() and os.listdir(wd.disk("d")) == []
    assert_alive(tf)
    assert tf.sup_command(wd.rel("nodir", "f"), io.BytesIO(b"data"), 10) is False
    assert_alive(tf)
    # The raw -1, and a cancel (negative length): nothing stored, nothing answered.
    tf.client.send(TfProtocolMessage("SUP", wd.rel("d")))
    tf.client.just_send(0, size=4, signed=True)
    assert tf.client.just_recv_int(size=4, signed=True) == -1
    tf.client.send(TfProtocolMessage("SUP", wd.rel("c")))
    tf.client.send(b"cancelled", header_size=4)
    tf.client.just_send(-1, size=4, signed=True)
    assert_alive(tf)
    assert names(wd) == ["d", "f"]


@pytest.mark.parametrize("size", SIZES)
def test_sdown_roundtrip(tf, wd, size):
    data = blob(size)
    wd.disk("sd f").write_bytes(data)
    sink = io.BytesIO()
    assert tf.sdown_command(wd.rel("sd f"), sink, 10) is True
    assert sink.getvalue() == data
    assert wd.disk("sd f").read_bytes() == data
    assert_alive(tf)


def test_sdown_failures(tf, wd):
    sink = io.BytesIO()
    assert tf.sdown_command(wd.rel("missing"), sink, 10) is False
    assert sink.getvalue() == b""
    assert_alive(tf)
    # The helper only says False; the -1 itself, read through the lower-level API.
    assert sdown_raw(tf, wd.rel("missing")) == (b"", -1)
    wd.disk("d").mkdir()
    assert sdown_raw(tf, wd.rel("d")) == (b"", -1)
    assert_alive(tf)
    os.mkfifo(wd.disk("fifo"))
    assert sdown_raw(tf, wd.rel("fifo")) == (b"", -1)
    wd.disk("f").write_bytes(b"raw bytes")
    assert sdown_raw(tf, wd.rel("f")) == (b"raw bytes", 0)
    assert_alive(tf)


# --- FSIZE, FSIZELS -----------------------------------------------------------------------

def test_fsize(tf, wd):
    for size in SIZES:
        wd.disk(f"f{size}").write_bytes(blob(size))
        assert fsize(tf, wd.rel(f"f{size}")) == size
    wd.disk("d").mkdir()
    assert fsize(tf, wd.rel("d")) == -2
    assert fsize(tf, wd.name) == -2
    assert fsize(tf, "") == -2  # the root
    assert fsize(tf, wd.rel("missing")) == -1
    assert fsize(tf, wd.rel("nodir", "f")) == -1
    os.symlink("f507", wd.disk("ln"))  # a link inside the root is followed
    assert fsize(tf, wd.rel("ln")) == 507
    os.mkfifo(wd.disk("fifo"))
    assert fsize(tf, wd.rel("fifo")) == -2
    assert_alive(tf)


def test_fsizels(tf, wd):
    wd.disk("a").write_bytes(b"12345")
    wd.disk("e").write_bytes(b"")
    wd.disk("sp ace").write_bytes(b"x" * 507)
    wd.disk("d").mkdir()
    lines = [wd.rel("a"), wd.rel("e"), wd.rel("d"), wd.rel("missing"), wd.rel("sp ace")]
    wd.disk("list").write_bytes("\n".join(lines).encode() + b"\n")
    assert fsizels(tf, wd.rel("list")) == [5, 0, -2, -1, 507, -3]
    # CR LF line ends and no final newline.
    wd.disk("list2").write_bytes(("\r\n".join([wd.rel("sp ace"), wd.rel("a")])).encode())
    assert fsizels(tf, wd.rel("list2")) == [507, 5, -3]
    # An empty list, and a list that cannot be read: just the end.
    wd.disk("empty").write_bytes(b"")
    assert fsizels(tf, wd.rel("empty")) == [-3]
    assert fsizels(tf, wd.rel("missing")) == [-3]
    assert fsizels(tf, wd.rel("d")) == [-3]
    assert_alive(tf)


# --- locks -------------------------------------------------------------------------------

def test_transfer_locks(tf, wd):
    """SNDFILE and RCVFILE are refused in a locked directory (FAILED 30), SUP only
    says -1; PUT, GET, SDOWN and FSIZE ignore locks, like the reference (wire-notes
    §3.0; man/tfd.8 does not mark them locked)."""
    wd.disk("d").mkdir()
    wd.disk("d", "f").write_bytes(b"old")
    assert_ok(reply(tf.lock_command, "lk"))
    wd.disk("d", "lk").write_bytes(b"")
    assert_failed(raw(tf, "SNDFILE", "1", wd.rel("d", "new")), 30)
    assert_failed(raw(tf, "SNDFILE", "1", wd.rel("d", "f")), 30)
    assert_failed(raw(tf, "RCVFILE", "0", wd.rel("d", "f")), 30)
    assert tf.sup_command(wd.rel("d", "new"), io.BytesIO(b"x"), 10) is False
    assert tf.sup_command(wd.rel("d", "f"), io.BytesIO(b"x"), 10) is False
    assert sorted(os.listdir(wd.disk("d"))) == ["f", "lk"]
    assert wd.disk("d", "f").read_bytes() == b"old"
    assert_alive(tf)
    put(tf, b"NEW", wd.rel("d", "f"), bufsz=64)
    assert wd.disk("d", "f").read_bytes() == b"NEW"
    assert get(tf, wd.rel("d", "f"), bufsz=64)[0] == b"NEW"
    assert sdown_raw(tf, wd.rel("d", "f")) == (b"NEW", 0)
    assert fsize(tf, wd.rel("d", "f")) == 3
    # Unlocked again: SNDFILE works.
    assert_ok(reply(tf.lock_command, ""))
    assert [s.status for s in sndfile(tf, True, wd.rel("d", "f"), b"snd")] == [S.CONT, S.CONT, S.OK]
    assert wd.disk("d", "f").read_bytes() == b"snd"
    assert_alive(tf)


# --- confinement --------------------------------------------------------------------------

def test_transfer_confinement(tf, tfd, wd):
    """`..` and symlinks out of the root reach nothing outside it."""
    key = tfd.key_file.read_bytes()
    base_before = sorted(os.listdir(tfd.base))
    os.symlink(str(tfd.base), wd.disk("out"))
    for p in ("../key.pem", wd.rel("out", "key.pem")):
        assert_failed(raw(tf, "RCVFILE", "0", p), 1)
        seen, transfer = put(tf, b"evil", p.replace("key.pem", "evil"))
        assert_failed(seen[0], 1)
        got, seen = get(tf, p)
        assert got == b"" and len(seen) == 1
        assert_failed(seen[0], 1)
        assert_failed(raw(tf, hpf_request("GETCAN", p, 0, 64, 1)), 1)
        assert_failed(raw(tf, hpf_request("PUTCAN", p.replace("key.pem", "evil"), 0, 64, 1)), 1)
        assert_failed(raw(tf, "SNDFILE", "1", p.replace("key.pem", "evil")), 1)
        assert tf.sup_command(p.replace("key.pem", "evil"), io.BytesIO(b"evil"), 10) is False
        assert sdown_raw(tf, p) == (b"", -1)
        assert fsize(tf, p) == -1
        assert_alive(tf)
    wd.disk("list").write_bytes(b"../key.pem\n" + wd.rel("out", "key.pem").encode() + b"\n")
    assert fsizels(tf, wd.rel("list")) == [-1, -1, -3]
    assert fsizels(tf, "../key.pem") == [-3]
    assert_alive(tf)
    assert sorted(os.listdir(tfd.base)) == base_before
    assert tfd.key_file.read_bytes() == key
