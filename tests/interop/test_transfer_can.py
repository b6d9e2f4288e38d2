"""PUTCAN and GETCAN driven by the public Python client (tfprotocol-client
1.2.2): round trips with every cancel point, the transfer handler's calls, a
transfer ended by the handler or cancelled by the server, and their failures
(wire-notes §3.32-3.34). The client facts behind these tests are in
test_transfer.py's docstring."""

import io
import math
import struct

import pytest
from tfprotocol_client.models.putget_commands import PutGetCommandEnum as H
from tfprotocol_client.models.status_server_code import StatusServerCode as S

from interop_lib import assert_alive, assert_failed, calls, raw, reply
from transfer_ops import FIN, HPF_BUF, SIZES, blob, getcan, hpf_request, names, putcan, transfer_calls


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
