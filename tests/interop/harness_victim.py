"""Not part of the suite (pytest collects test_*.py only): the run that
test_harness_watchdog.py starts and SIGKILLs. It starts a module server and a
server of its own, opens a connection to each (tfd forks a session process per
client), says where they are, and waits to be killed."""

import os
import socket
import time

from harness_watchdog import pids_with_marker


def test_victim(tfd, make_tfd):
    servers = [tfd, make_tfd()]
    conns = [socket.create_connection((s.host, s.port)) for s in servers]
    deadline = time.monotonic() + 60
    while any(len(pids_with_marker(str(s.conf))) < 2 for s in servers) and time.monotonic() < deadline:
        time.sleep(0.05)  # each listener's session process for our connection
    out = os.environ["HARNESS_VICTIM_OUT"]
    with open(out + ".part", "w") as f:
        f.writelines(f"{s.conf}\t{s.base}\n" for s in servers)
    os.rename(out + ".part", out)
    time.sleep(250)  # killed long before; below the suite's 300 s alarm
    del conns
