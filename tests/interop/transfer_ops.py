"""What the transfer tests (test_transfer*.py) share: their sizes and data, and
each transfer command through the public Python client (tfprotocol-client
1.2.2) or, where its helper is broken, through the lower-level API; the client
facts behind each are in test_transfer.py's docstring."""

import io
import os
import struct

from tfprotocol_client.models.message import TfProtocolMessage
from tfprotocol_client.models.putget_commands import PutGetCommandEnum as H
from tfprotocol_client.models.status_server_code import StatusServerCode as S

from interop_lib import calls, raw

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


def transfer_calls(on=None):
    """A transfer handler that records (client_command, server_command,
    handling_canpt, last_payload_size) at each call, then runs `on(ts)`."""
    seen = []

    def handler(_client, ts):
        seen.append((ts.client_command, ts.server_command, ts.handling_canpt, ts.last_payload_size))
        if on is not None:
            on(ts)

    return seen, handler
