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
    conns = [socket.create_connection(("127.0.0.1", s.port)) for s in servers]
    confs = [str(s.base / "tfd.conf") for s in servers]
    deadline = time.monotonic() + 60
    while any(len(pids_with_marker(c)) < 2 for c in confs) and time.monotonic() < deadline:
        time.sleep(0.05)  # each listener's session process for our connection
    out = os.environ["HARNESS_VICTIM_OUT"]
    with open(out + ".part", "w") as f:
        f.writelines(f"{c}\t{s.base}\n" for c, s in zip(confs, servers))
    os.rename(out + ".part", out)
    time.sleep(250)  # killed long before
    del conns
