"""Transfer commands driven by the public Python client (tfprotocol-client 1.2.2):
SNDFILE, RCVFILE, PUT and GET, and the locks and confinement of every transfer
command (wire-notes §3.16-3.17, §3.20, §3.32-3.34; man/tfd.8). PUTCAN and
GETCAN are in test_transfer_can.py, SUP, SDOWN, FSIZE and FSIZELS in
test_transfer_streams.py; the helpers all three use in transfer_ops.py.

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
from tfprotocol_client.models.putget_commands import PutGetCommandEnum as H
from tfprotocol_client.models.status_server_code import StatusServerCode as S

from interop_lib import PYPI_QUIRKS, assert_alive, assert_failed, assert_ok, raw, raw_bytes, reply, stray
from transfer_ops import FIN, HPF_BUF, SIZES, SND_CHUNK, blob, fsize, fsizels, get, hpf_request, is_unknown, names, put, rcvfile, sdown_raw, sndfile, text


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
