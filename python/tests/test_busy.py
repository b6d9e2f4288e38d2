"""A session used again while one of its calls runs (issue 47, finding 12):
from a callback of that call (a progress callback calling echo, a PUTCAN
callback calling close, PUTCAN reading from a file of the same session) or
from another thread. The binding never waits on its own lock: the second
call raises tfd_client.SessionBusy at once, the first one ends as it would,
and the session is usable afterwards. Each case runs in a child process with
a deadline, so a deadlock fails the test instead of hanging the run."""

import hashlib
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import sys, threading, time, tfd_client
    addr, key, hash_, case, d, local = sys.argv[1:7]
    s = tfd_client.connect(addr, key=key, hash=hash_)
    heard = []

    def note(e):
        heard.append("%s: %s" % (type(e).__name__, e))

    if case == "putcan_from_open":
        # PUTCAN reading its data from a file of the same session
        try:
            s.putcan(d + "/copy.bin", s.open(d + "/src.bin"))
            print("putcan: completed", flush=True)
        except tfd_client.Error as e:
            note(e)
    elif case == "progress_echo":
        def progress(n):
            try:
                s.echo("hi")
            except tfd_client.Error as e:
                note(e)
        s.put(local, d + "/up.bin", progress=progress)
        print("put: done", flush=True)
    elif case == "putcan_close":
        def on(kind, n, total):
            try:
                s.close()
            except tfd_client.Error as e:
                note(e)
            return None
        try:
            s.putcan(d + "/c.bin", b"x" * 100000, on=on)
        except tfd_client.Error as e:
            note(e)
        print("putcan: returned", flush=True)
    elif case == "other_thread":
        out = []
        # a get whose first progress call takes a second: the session is
        # held by it when the main thread calls
        t = threading.Thread(target=lambda: out.append(
            s.get(d + "/src.bin", local + ".got", progress=lambda n: time.sleep(1) if not out else None)))
        t.start()
        time.sleep(0.5)
        try:
            s.echo("from another thread")
        except tfd_client.Error as e:
            note(e)
        t.join()
        print("get: %d" % out[0], flush=True)
    for h in heard:
        print("heard " + h, flush=True)
    busy = [h for h in heard if h.startswith("SessionBusy: session busy")]
    print("busy %d" % len(busy), flush=True)
    try:
        print("after: " + s.echo("still here"), flush=True)
    except tfd_client.Error as e:
        print("after failed: %s: %s" % (type(e).__name__, e), flush=True)
""")


def run(tfd, wd, tmp_path, case):
    name, path = wd
    data = hashlib.sha256(b"busy").digest() * 8192  # 256 KiB
    (path / "src.bin").write_bytes(data)
    local = tmp_path / "local.bin"
    local.write_bytes(data)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    try:
        p = subprocess.run([sys.executable, str(script), tfd.addr, str(tfd.key_file), tfd.hash, case, name,
                            str(local)], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"{case}: the session deadlocked on itself (killed after 60 s): {e.stdout!r}")
    assert p.returncode == 0, f"{case}: {p.stdout}\n{p.stderr}"
    return p.stdout, data, path


def test_putcan_reading_a_file_of_the_same_session_raises_busy(tfd, wd, tmp_path):
    out, _, _ = run(tfd, wd, tmp_path, "putcan_from_open")
    assert "busy 1" in out, out


def test_a_progress_callback_calling_the_session_raises_busy_and_the_put_completes(tfd, wd, tmp_path):
    out, data, path = run(tfd, wd, tmp_path, "progress_echo")
    assert "put: done" in out and "busy 0" not in out, out
    assert (path / "up.bin").read_bytes() == data
    assert "after: still here" in out, out


def test_close_from_a_putcan_callback_raises_busy(tfd, wd, tmp_path):
    out, _, _ = run(tfd, wd, tmp_path, "putcan_close")
    assert "putcan: returned" in out and "busy 0" not in out, out
    assert "after: still here" in out, out


def test_a_second_thread_gets_busy_not_a_wait(tfd, wd, tmp_path):
    out, data, _ = run(tfd, wd, tmp_path, "other_thread")
    assert f"get: {len(data)}" in out and "busy 1" in out, out
    assert "after: still here" in out, out


def test_session_busy_is_a_tfd_client_error():
    import tfd_client

    assert issubclass(tfd_client.SessionBusy, tfd_client.Error)
    assert issubclass(tfd_client.SessionBusy, RuntimeError)
