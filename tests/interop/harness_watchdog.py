"""A watchdog that takes down what a test harness started when the harness
dies, by any signal, SIGKILL included (doc/testing.md, "When a harness dies").

The tfd servers of the Python suites run in sessions of their own
(start_new_session), so that a Ctrl-C meant for pytest does not reach them and
their teardown can judge how they stop; but then nothing kills them when pytest
is killed without running its teardown: SIGKILL, an OOM kill, a CI timeout.
Servers of killed runs were found still listening, each with its temp dir.

So the first server a harness starts also starts one watcher process (this
file run as a script) in a session of its own, holding the read end of a pipe
whose only write end is the harness's (the descriptor is close-on-exec, so no
child of the harness keeps it). The harness tells the watcher, one line each,
what to take down: a config path (before the server starts, so a harness killed
between its spawn and its registration still leaves nothing), the server's
process group, a directory. When the server is stopped normally the harness
withdraws them. The watcher only reads; when the pipe ends (the kernel closes
the harness's descriptors on any death, and on a normal exit), it SIGKILLs each
group still registered and every process whose command line names a
registered config path or whose session or group is registered (a session
forked per client, a daemonized or setsid helper), again until none is left,
then removes the directories, and exits.
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

_lock = threading.Lock()
_pipe = None
_watcher = None  # kept, so that no finalizer of it runs while the harness lives


def _send(*words: str) -> None:
    """One line to the watcher, started on first use."""
    global _pipe, _watcher
    for w in words:
        if "\n" in w or "\t" in w:
            raise ValueError(f"watchdog: cannot register {w!r} (a newline or tab in it)")
    with _lock:
        if _pipe is None:
            r, w = os.pipe()  # both close-on-exec: no child of ours inherits the write end
            _watcher = subprocess.Popen([sys.executable, os.path.abspath(__file__)], stdin=r,
                                        stdout=subprocess.DEVNULL, start_new_session=True, close_fds=True)
            os.close(r)
            _pipe = os.fdopen(w, "w")
        _pipe.write("\t".join(words) + "\n")
        _pipe.flush()


def watch_marker(text: str) -> None:
    """Processes whose command line holds `text` (a config path) die with the harness."""
    _send("marker", text)


def watch_group(pgid: int) -> None:
    """Process group (and session) `pgid` dies with the harness."""
    _send("group", str(pgid))


def watch_dir(path) -> None:
    """Directory `path` is removed when the harness dies."""
    _send("dir", os.fspath(path))


def forget(kind: str, value) -> None:
    """Withdraws a registration: what it named was stopped and checked normally
    (a stopped server's pid may be reused, its directory kept for a look)."""
    _send("-" + kind, os.fspath(value) if not isinstance(value, int) else str(value))


def pids_with_marker(text: str) -> list:
    """Live processes whose command line holds `text` (the check the tests of
    this watchdog make, and the watcher's own search)."""
    needle = text.encode()
    found = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/cmdline", "rb") as f:
                if needle in f.read():
                    found.append(int(e))
        except OSError:
            pass
    return found


def _victims(groups: set, markers: list) -> set:
    me = os.getpid()
    out = set()
    for e in os.listdir("/proc"):
        if not e.isdigit() or int(e) == me:
            continue
        try:
            with open(f"/proc/{e}/stat", "rb") as f:
                stat = f.read()
            # fields after the command name: state, ppid, pgrp, session
            fields = stat[stat.rindex(b")") + 2:].split()
            if fields[0] == b"Z":
                continue  # already dead, waiting for its parent
            if int(fields[2]) in groups or int(fields[3]) in groups:
                out.add(int(e))
                continue
            with open(f"/proc/{e}/cmdline", "rb") as f:
                cmd = f.read()
            if any(m in cmd for m in markers):
                out.add(int(e))
        except (OSError, ValueError, IndexError):
            pass  # gone meanwhile
    return out


def _take_down(groups: set, markers: list, dirs: list) -> None:
    # A bound, not a timing: each pass kills everything found; a pass finds
    # more only when a process forked between the scan and its kill. 30 s of
    # passes ends even a watcher that keeps losing that race.
    deadline = time.monotonic() + 30
    while True:
        for g in groups:
            try:
                os.killpg(g, signal.SIGKILL)
            except OSError:
                pass
        victims = _victims(groups, markers)
        if not victims or time.monotonic() > deadline:
            break
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


def _watch() -> None:
    """The watcher: reads registrations until the pipe ends, then takes down
    what is still registered."""
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(s, signal.SIG_IGN)  # only the pipe's end ends the watch
    groups, markers, dirs = set(), [], []
    for line in sys.stdin.buffer:
        kind, _, value = line.rstrip(b"\n").partition(b"\t")
        try:
            if kind == b"group":
                groups.add(int(value))
            elif kind == b"-group":
                groups.discard(int(value))
            elif kind == b"marker" and value:
                markers.append(value)
            elif kind == b"-marker" and value in markers:
                markers.remove(value)
            elif kind == b"dir":
                dirs.append(value)
            elif kind == b"-dir" and value in dirs:
                dirs.remove(value)
        except ValueError:
            pass
    _take_down(groups, markers, dirs)


# --- the test of it ---------------------------------------------------------

def kill_a_running_harness(victim, basetemp, log) -> str:
    """Runs pytest on `victim` (a module whose one test starts servers, makes
    a session on each, writes "conf path\ttemp dir" lines to $HARNESS_VICTIM_OUT
    and then waits), SIGKILLs that pytest once the lines are there, and returns
    what it left: "" when nothing, else which processes (by config path) and
    directories remained (they are then killed and removed here)."""
    out = os.path.join(basetemp, "victim-said")
    env = dict(os.environ, HARNESS_VICTIM_OUT=out)
    with open(log, "ab") as lf:
        # a session of its own, so that killing it here is the only signal it gets
        p = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              f"--basetemp={os.path.join(basetemp, 'victim')}", os.fspath(victim)],
                             stdin=subprocess.DEVNULL, stdout=lf, stderr=lf, env=env, start_new_session=True)
    watch_group(p.pid)  # should this test's own harness die meanwhile
    try:
        # bounds, not timings: starting two servers and a session on each takes
        # a second or two; a 2-core machine under builds has taken far longer
        deadline = time.monotonic() + 240
        while not os.path.exists(out):
            if p.poll() is not None:
                with open(log, errors="replace") as f:
                    return f"the harness ended (exit {p.returncode}) before its servers were up:\n{f.read()[-3000:]}"
            if time.monotonic() > deadline:
                return "the harness did not start its servers within 240 s"
            time.sleep(0.1)
        with open(out) as f:
            started = [line.rstrip("\n").split("\t") for line in f if line.strip()]
        for conf, _ in started:
            if len(pids_with_marker(conf)) < 2:
                return f"the harness's server {conf} had no session process before the kill (victim broken)"
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        forget("group", p.pid)
    deadline = time.monotonic() + 60  # the watcher needs well under a second; a bound for a loaded machine
    while True:
        left = {conf: pids_with_marker(conf) for conf, _ in started}
        left = {c: ps for c, ps in left.items() if ps}
        dirs = [d for _, d in started if os.path.exists(d)]
        if not left and not dirs:
            return ""
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    said = "; ".join(f"processes {ps} of {c}" for c, ps in left.items())
    said += ("; " if said and dirs else "") + (f"directories {dirs}" if dirs else "")
    _take_down(set(), [c.encode() for c in left], dirs)
    return f"60 s after the harness was SIGKILLed these remained: {said}"


if __name__ == "__main__":
    _watch()
