"""A transfer's end wakes its caller at once (issue 66): the progress
thread waits on the end, where it slept a tenth of a second before looking,
so every call with a progress callback (fsspec always passes one) took at
least 100 ms."""

import time


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
