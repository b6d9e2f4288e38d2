"""`tfd ctl metrics` read by a Prometheus text-format parser we did not write
(prometheus_client's, pinned in scripts/interop), while the public Python client
(tfprotocol-client) drives real sessions: the counters must move exactly as the
sessions did — bytes of a known transfer under its command, a failed LOGIN, a
refused handshake, a ban, the sessions gauge by state, the transfer histogram.
"""

import io
import os
import secrets
import subprocess
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tfprotocol_client.models.exceptions import TfException

from interop_lib import assert_failed, assert_ok, calls, reply, require

PW = "metrics-pw"
ROOT = os.geteuid() == 0


def tfd_bin() -> str:
    return os.environ["TFD_BIN"]


def scrape(sock) -> dict:
    """{(sample name, sorted labels): value} from `tfd ctl metrics`, parsed by
    prometheus_client (which raises on anything that is not the text format)."""
    out = subprocess.run([tfd_bin(), "ctl", "--socket", str(sock), "metrics"], capture_output=True, text=True)
    assert out.returncode == 0, out
    samples = {}
    families = list(text_string_to_metric_families(out.stdout))
    types = {f.name: f.type for f in families}
    for name, kind in [
        ("tfd_sessions", "gauge"),
        ("tfd_handshakes", "counter"),
        ("tfd_refusals", "counter"),
        ("tfd_bytes", "counter"),
        ("tfd_transfer_duration_seconds", "histogram"),
        ("tfd_login_failures", "counter"),
        ("tfd_bans", "counter"),
        ("tfd_restarts", "counter"),
    ]:
        assert types.get(name) == kind, (name, types)
    for f in families:
        for s in f.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def val(m, name, **labels):
    return m[(name, tuple(sorted(labels.items())))]


@pytest.fixture
def server(make_tfd, tmp_path):
    require(ROOT, "needs root (LOGIN: multi-user mode)")
    db = tmp_path / "userdb"
    tfpasswd = str(os.path.join(os.path.dirname(tfd_bin()), "tfpasswd"))
    out = subprocess.run([tfpasswd, "-f", str(db), "add", "alice", "--system-user", "nobody", "--rounds", "1000",
                          "--stdin"], input=(PW + "\n").encode(), capture_output=True)
    assert out.returncode == 0, out
    sock = tmp_path / "ctl.sock"
    srv = make_tfd([f"userdb {db}", f"control_socket {sock}"])
    home = srv.data / "alice"
    home.mkdir()
    os.chown(home, 65534, 65534)
    srv.sock = sock
    return srv


def test_metrics_follow_real_sessions(server):
    sock = server.sock
    m0 = scrape(sock)

    # a session waiting for LOGIN, then a failed LOGIN
    c = server.connect()
    m = scrape(sock)
    assert val(m, "tfd_sessions", state="login") == 1
    assert val(m, "tfd_handshakes_total", outcome="completed") == val(m0, "tfd_handshakes_total",
                                                                       outcome="completed") + 1
    assert_failed(reply(c.login_command, "alice", "wrong"), 37)
    m = scrape(sock)
    assert val(m, "tfd_login_failures_total") == val(m0, "tfd_login_failures_total") + 1
    assert_ok(reply(c.login_command, "alice", PW))
    m = scrape(sock)
    assert val(m, "tfd_sessions", state="active") == 1
    assert val(m, "tfd_sessions", state="login") == 0

    # a known upload and download: their bytes under their commands
    data = secrets.token_hex(15_000).encode()  # ASCII: the client decodes chunks as text
    before = m
    got = calls(c.sndfile_command, True, "alice/f", io.BytesIO(data))
    assert_ok(got[-1][2])
    assert (server.data / "alice" / "f").read_bytes() == data
    got = calls(c.rcvfile_command, False, "alice/f", None)
    m = scrape(sock)
    # payload plus framing: one 9-byte header per ~8 KB chunk, the command, the OKs
    for cmd, direction in [("SNDFILE", "in"), ("RCVFILE", "out")]:
        moved = val(m, "tfd_bytes_total", command=cmd, direction=direction) - val(
            before, "tfd_bytes_total", command=cmd, direction=direction)
        assert len(data) <= moved <= len(data) * 1.01 + 1024, (cmd, moved)
        count = val(m, "tfd_transfer_duration_seconds_count", command=cmd)
        assert count == val(before, "tfd_transfer_duration_seconds_count", command=cmd) + 1
        assert val(m, "tfd_transfer_duration_seconds_bucket", command=cmd, le="+Inf") == count
        assert val(m, "tfd_transfer_duration_seconds_sum", command=cmd) > 0
    # nothing counted under a command that did not run
    assert val(m, "tfd_bytes_total", command="PUT", direction="in") == 0

    # a refused handshake (wrong hash), counted by reason
    bad = server.client(hash_="not-the-hash")
    seen = []
    with pytest.raises(TfException):
        bad.connect(on_response=seen.append)
    assert_failed(seen[0], 3)
    time.sleep(0.2)
    m = scrape(sock)
    assert val(m, "tfd_refusals_total", reason="hash") == val(m0, "tfd_refusals_total", reason="hash") + 1
    assert val(m, "tfd_handshakes_total", outcome="refused") == val(m0, "tfd_handshakes_total",
                                                                     outcome="refused") + 1

    # a ban through the control socket (an address no test uses)
    out = subprocess.run([tfd_bin(), "ctl", "--socket", str(sock), "ban", "192.0.2.7", "1m"], capture_output=True)
    assert out.returncode == 0, out
    m = scrape(sock)
    assert val(m, "tfd_bans_total", kind="control") == val(m0, "tfd_bans_total", kind="control") + 1
    assert val(m, "tfd_restarts_total", process="key") == 0

    # the session gone, the gauge is back to zero
    c.disconnect()
    server.clients.remove(c)
    deadline = time.monotonic() + 5
    while scrape(sock)[("tfd_sessions", (("state", "active"),))] != 0:
        assert time.monotonic() < deadline, "the ended session is still counted"
        time.sleep(0.05)
