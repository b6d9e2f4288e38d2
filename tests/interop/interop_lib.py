"""Helpers shared by the interop tests: calling the Python client's helper methods
(which report through response-handler callbacks), reaching its lower-level API
where a helper is broken, and asserting statuses the way the client reports them.

How the client (tfprotocol-client 1.2.2) turns a reply frame into a StatusInfo
(models/status_info.py, StatusInfo.build_status):
  * `OK <data>`   -> status OK,      code 0, message/payload = data
  * `CONT <data>` -> status CONT,    code 3, message/payload = data
  * `FAILED <n> : <text>` -> status FAILED, code n, message = text
  * `UNKNOWN`     -> status UNKNOWN, code 2, message ''
  * anything else (e.g. an ECHO reply) -> status UNKNOWN, code = frame length,
    message/payload = the whole frame
`message` is cut at 1024 characters; `payload` is not.
"""

import os
import secrets

from tfprotocol_client.models.message import TfProtocolMessage
from tfprotocol_client.models.status_info import StatusInfo
from tfprotocol_client.models.status_server_code import StatusServerCode as S

# The reference server's failure texts (wire-notes §3.0, include/err.h), as the
# client reports them: the text after "FAILED <n> : ".
ERR = {
    52: "Failed to retrieve TLB tuple.",
    46: "Failed to swap the session key.",
    32: "Failed to set TCP keepalive parameters.",
    1: "Access denied to location.",
    2: "Incompatible protocol.",
    3: "Invalid hash string.",
    4: "Directory already exist.",
    7: "File transfer API error.",
    8: "Requested file is a directory.",
    9: "File does not exist.",
    10: "Directory does not exist.",
    12: "File already exist.",
    13: "Quota exceeded.",
    15: "Directory to remove still exist.",
    16: "Missing parameter from command.",
    17: "Source file does not exist.",
    18: "Copy general error.",
    19: "Directory can't be linked.",
    20: "Source path is not a directory.",
    21: "Error replicating directory tree.",
    24: "Error creating new file.",
    25: "Bad public rsa encryption key.",
    26: "Date is not representable.",
    27: "Timestamp updating failed.",
    28: "Invalid characters in lock token.",
    30: "Directory is locked.",
    31: "Invalid renaming operation.",
    34: "H-P interface failed to open file descriptor.",
    35: "H-P interface failed to set file position.",
    36: "H-P interface failed to allocate the buffer.",
    45: "Failed to make SHA256 hash.",
    37: "Login failed.",
    38: "Invalid command before login.",
    39: "The process is already logged.",
    40: "Failed to open users database.",
    41: "Failed to change file mode.",
    42: "System user does not exist.",
    43: "System group does not exist.",
    44: "Failed to change file ownership.",
    47: "Failed removing secure directory.",
    48: "Failed to open ACL file in jail directory.",
    49: "Invalid security token in jail directory.",
    50: "Invalid command before in-jail.",
    51: "The process is already in-jailed.",
}

MAX_FRAME = 524288


def calls(method, *args):
    """Calls a client helper whose last parameter is a response handler and
    returns the argument tuples of every handler invocation, in order."""
    got = []
    method(*args, lambda *a, **_kw: got.append(a))
    return got


def reply(method, *args):
    """Like calls(), for helpers that invoke the handler exactly once. Returns the
    single argument (usually a StatusInfo), or the tuple when there are several
    (DATE, DATEF, DTOF, FTOD, FSTAT pass (value, StatusInfo))."""
    got = calls(method, *args)
    assert len(got) == 1, f"handler called {len(got)} times: {got}"
    return got[0][0] if len(got[0]) == 1 else got[0]


def raw(c, *parts) -> StatusInfo:
    """Sends `parts` joined by single spaces as one command frame through the
    client's lower-level API (ProtocolClient.translate) and returns the reply as
    the client parses it. Used where a helper is broken or does not exist."""
    return c.client.translate(TfProtocolMessage(*parts))


def raw_bytes(c, line) -> bytes:
    """Sends one command frame and returns the exact reply payload bytes
    (ProtocolClient.send + just_recv_int + just_recv), for byte-exact checks."""
    c.client.send(TfProtocolMessage(line))
    n = c.client.just_recv_int(size=4, signed=True)
    assert 0 <= n <= MAX_FRAME, f"reply header {n}"
    return bytes(c.client.just_recv(n)) if n else b""


def assert_ok(st: StatusInfo, message=None):
    assert isinstance(st, StatusInfo), st
    assert st.status is S.OK, f"expected OK, got {st}"
    assert st.code == 0, st
    if message is not None:
        assert st.message == message, st


def assert_failed(st: StatusInfo, code: int):
    assert isinstance(st, StatusInfo), st
    assert st.status is S.FAILED, f"expected FAILED {code}, got {st}"
    assert st.code == code, f"expected FAILED {code}, got {st}"
    assert st.message == ERR[code], f"FAILED {code} text: {st.message!r}"


def assert_alive(c):
    """The session still answers: an ECHO of a fresh token comes back unchanged."""
    token = "alive-" + secrets.token_hex(6)
    assert reply(c.echo_command, token) == token


# The PyPI client's helpers send frames after a final status (a CONT after an
# empty listing's OK or after a FAILED, the data after a refused SNDFILE: client
# quirks, wire-notes §11) and tfd answers each UNKNOWN; they also cut SNDFILE's
# data into frames of 8187 bytes. tfd_client.compat (TFD_INTEROP_CLIENT=compat)
# sends none of the stray frames and frames of up to 524283 bytes, so the
# statuses a handler hears differ there, and only there.
PYPI_QUIRKS = os.environ.get("TFD_INTEROP_CLIENT", "pypi") != "compat"


def stray(n: int) -> int:
    """The UNKNOWN answers to the client's stray frames a handler hears."""
    return n if PYPI_QUIRKS else 0


def listing(c, cmd: str, path: str):
    """Runs LS or LSR through the client's helper (ls_command / lsr_command) and
    returns (lines, statuses). A successful listing is CONT chunks then OK.

    Client quirk (tfprotocol.py ls_command/lsr_command): the helper always sends
    one `CONT` after the first reply, even when that reply was the final OK of an
    empty listing or a FAILED. tfd then answers that stray `CONT` as an unknown
    command, so those cases end with an extra UNKNOWN, which is asserted here.
    """
    method = {"LS": c.ls_command, "LSR": c.lsr_command}[cmd]
    statuses = [a[0] for a in calls(method, path)]
    assert statuses, "handler never called"
    first = statuses[0]
    if first.status is not S.CONT:
        assert len(statuses) == 1 + stray(1), statuses
        assert all(s.status is S.UNKNOWN and s.message == "" for s in statuses[1:]), statuses
        if first.status is S.OK:
            return [], statuses
        return None, statuses
    assert all(s.status is S.CONT for s in statuses[:-1]), statuses
    assert_ok(statuses[-1], "")
    data = b"".join(bytes(s.payload) for s in statuses[:-1])
    assert data.endswith(b"\n"), data[-80:]
    return data.decode("utf-8").split("\n")[:-1], statuses


def listing_failed(c, cmd: str, path: str, code: int):
    """A listing that must fail with FAILED `code` (via the helper, see listing())."""
    lines, statuses = listing(c, cmd, path)
    assert lines is None, f"{cmd} {path!r} listed {lines}"
    assert_failed(statuses[0], code)


# --- tests that cannot run -------------------------------------------------
# The Python side of crates/tfd-testkit/src/need.rs: in CI (TFD_REQUIRE_ALL=1, set by
# .ci/run, or CI=true) a test that cannot run fails naming what is missing;
# locally it is recorded in $TFD_NOT_RUN (scripts/test's closing summary) and
# skipped.

def strict():
    """True when every test must run."""
    v = os.environ.get("TFD_REQUIRE_ALL", "")
    return (v not in ("", "0", "false")) or os.environ.get("CI", "") in ("true", "1")


def require(have, missing):
    """Returns when `have`; otherwise fails (CI) or records and skips (local)."""
    if have:
        return
    import pytest

    name = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
    label = "interop-proxy-ipv" + os.environ["TFD_INTEROP_PROXY"] if os.environ.get("TFD_INTEROP_PROXY") else "interop-direct"
    path = os.environ.get("TFD_NOT_RUN", "")
    if path:
        line = f"{label}::{name}\t{missing}\n".encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    if strict():
        pytest.fail(f"{name} cannot run: {missing} (TFD_REQUIRE_ALL or CI is set: a test that cannot run fails)")
    pytest.skip(f"NOT RUN (local run; fails in CI): {missing}")
