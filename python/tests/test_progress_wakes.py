"""Progress without polling (issue 66): the progress thread sleeps until
the transfer wakes it, as its bytes move (each 256 KiB a connection moves)
or at its end, where it once slept a tenth of a second before looking, so
every call with a progress callback (fsspec always passes one) took at least
100 ms, and the callback heard a count ten times a second."""

import os
import secrets
import time

from conftest import need


def test_small_transfers_with_progress_do_not_wait_a_tenth_of_a_second(session, wd, tmp_path):
    name, _ = wd
    src = tmp_path / "small"
    src.write_bytes(b"x" * 1000)
    heard = []
    session.put(src, f"{name}/small", progress=heard.append)  # warm
    t0 = time.monotonic()
    for i in range(10):
        session.put(src, f"{name}/small", progress=heard.append)
        session.get(f"{name}/small", tmp_path / f"back{i}", progress=heard.append)
    took = time.monotonic() - t0
    # 20 transfers: at least 2 s with the old sleep, a few ms each without
    assert took < 1.0, f"20 small transfers with a progress callback took {took:.2f} s"
    assert heard and heard[-1] == 1000, heard[-5:]
    assert (tmp_path / "back9").read_bytes() == src.read_bytes()


def test_the_callback_is_fed_as_the_bytes_move_not_on_a_clock(session, wd, tmp_path):
    # the callback hears the transfer's own counter each time a connection
    # moves 256 KiB: many more counts than a look every tenth of a second
    # could give in the time the transfer took (at most 10 a second, and
    # the first and last)
    name, _ = wd
    src = tmp_path / "big"
    src.write_bytes(os.urandom(1 << 20) * 64)
    for direction in ("put", "get"):
        heard = []
        t0 = time.monotonic()
        if direction == "put":
            session.put(src, f"{name}/big", progress=heard.append)
        else:
            session.get(f"{name}/big", tmp_path / "back", progress=heard.append)
        took = time.monotonic() - t0
        counts = sorted(set(heard))
        assert counts[-1] == 64 << 20, (direction, counts[-5:])
        assert len(counts) > 10 * took + 2, \
            f"{direction}: {len(counts)} counts heard in {took:.2f} s: looked at on a clock, not fed by the transfer"
    assert (tmp_path / "back").read_bytes() == src.read_bytes()


def test_a_glob_get_of_100_small_files_with_a_callback_takes_no_tenth_of_a_second_each(tfd, tmp_path):
    try:
        import fsspec
        from fsspec.callbacks import Callback
    except ImportError:  # the venv installs it (scripts/pytest-client)
        need(False, "fsspec (scripts/pytest-client installs it)")

    base = "g_" + secrets.token_hex(4)
    (tfd.data / base).mkdir()
    for i in range(100):
        (tfd.data / base / f"f{i:03}.txt").write_bytes(b"%d\n" % i)
    fs = fsspec.filesystem("tf", host=tfd.addr, key=str(tfd.key_file), hash=tfd.hash, skip_instance_cache=True)
    try:
        down = tmp_path / "down"
        down.mkdir()
        fs.ls(base)  # the session up before the clock starts
        t0 = time.monotonic()
        fs.get(f"{base}/*.txt", str(down) + "/", callback=Callback())
        took = time.monotonic() - t0
    finally:
        fs.close()
    assert sorted(os.listdir(down)) == [f"f{i:03}.txt" for i in range(100)]
    assert (down / "f042.txt").read_bytes() == b"42\n"
    # 100 files: at least 10 s when each waited a tenth of a second; a few
    # ms each (three round trips) now. Generous for a loaded machine.
    assert took < 3.0, f"100 small files through a glob took {took:.2f} s"
