"""SUP, SDOWN, FSIZE and FSIZELS driven by the public Python client
(tfprotocol-client 1.2.2): round trips, replacing and failures, sizes of a
file and of a list (wire-notes §3.16-3.17, §3.20). The client facts behind
these tests are in test_transfer.py's docstring."""

import io
import os

import pytest
from tfprotocol_client.models.message import TfProtocolMessage

from interop_lib import assert_alive, raw
from transfer_ops import SIZES, blob, fsize, fsizels, names, sdown_raw


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
