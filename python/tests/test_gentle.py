"""connect(bwlimit=...) and the tree runs' retries=: tf's --bwlimit and
--retries handed to tfp-client (one token bucket for the session and every
connection it opens; the library's retry loop), no logic of the binding's."""

import os
import signal
import threading
import time
from pathlib import Path

import pytest

SIZE = 256 * 1024


@pytest.mark.parametrize("rate", ["2M", 2 * 1024 * 1024, "00:00,2M 12:00,2048K"])
def test_bwlimit_holds_a_tree_and_its_jobs_together(tfd, tmp_path, rate):
    src = tmp_path / "t"
    src.mkdir()
    for i in range(8):
        (src / f"f{i}.bin").write_bytes(bytes([i]) * SIZE)
    name = f"gentle_{abs(hash(str(rate)))}"
    with tfd.connect(bwlimit=rate) as s:
        t = time.monotonic()
        r = s.put_tree(src, name, jobs=4, retries=2)
        took = time.monotonic() - t
    # 2 MiB at 2 MiB/s over four sessions: a lower bound only
    assert took >= 0.7, took
    assert r.tries == 1
    for i in range(8):
        assert (tfd.data / name / f"f{i}.bin").read_bytes() == bytes([i]) * SIZE


@pytest.mark.parametrize("bad", ["fast", "2X", "10B", "8:00,1M"])
def test_a_rate_tf_would_refuse_is_a_value_error(tfd, bad):
    with pytest.raises(ValueError, match="bwlimit"):
        tfd.connect(bwlimit=bad)


def _sessions(tfd):
    """The live session processes of `tfd`, oldest first (by start time)."""
    kids = Path(f"/proc/{tfd.proc.pid}/task/{tfd.proc.pid}/children").read_text().split()
    def started(pid):
        try:
            return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        except (OSError, IndexError, ValueError):
            return 0
    return sorted((int(p) for p in kids), key=lambda p: (started(p), p))


def test_a_killed_pool_session_is_tried_again_and_the_tree_lands_whole(make_tfd, tmp_path):
    # one of put_tree's pool sessions SIGKILLed on the server while files
    # move: retries= tries again as after the session's own broken
    # connection (it was a failure, not retried), and the tree lands whole
    srv = make_tfd(extra=["rate_limit_session 4M"])
    src = tmp_path / "t"
    src.mkdir()
    for i in range(24):
        (src / f"f{i:02}.bin").write_bytes(bytes([i]) * (512 * 1024))
    out = {}
    with srv.connect() as s:
        run = threading.Thread(target=lambda: out.setdefault("r", s.put_tree(src, "up", jobs=4, retries=2)))
        run.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            live = _sessions(srv)
            if len(live) > 1 and (srv.data / "up").is_dir() and any((srv.data / "up").iterdir()):
                os.kill(live[-1], signal.SIGKILL)
                break
            time.sleep(0.02)
        else:
            pytest.fail("the run never had a pool")
        run.join(120)
        assert not run.is_alive()
    r = out["r"]
    assert r.tries >= 2, r.tries
    for i in range(24):
        assert (srv.data / "up" / f"f{i:02}.bin").read_bytes() == bytes([i]) * (512 * 1024)
