"""tfd_client.aio (issue 45): eight transfers on one event loop side by side,
one cancelled midway with Task.cancel(): it ends at once as Ctrl-C would, the
remote file is the old one, the session says it is closed and why; the other
seven land whole."""

import asyncio
import hashlib
import os
import time

import pytest

import tfd_client
from tfd_client import aio

RATE = "rate_limit_session 4M"


def blob(n: int, seed: int) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * 2048
    return (block * (n // len(block) + 1))[:n]


def test_eight_transfers_on_one_loop_and_one_cancelled_midway(make_tfd, tmp_path):
    srv = make_tfd([RATE])
    files = {f"in{i}.bin": blob(3 << 20, i) for i in range(7)}
    for name, data in files.items():
        (srv.data / name).write_bytes(data)
    (srv.data / "up.bin").write_bytes(b"the old remote copy\n")
    big = tmp_path / "big.bin"
    big.write_bytes(blob(24 << 20, 99))  # six seconds at the session's pace
    kw = {"key": srv.key_file, "hash": srv.hash}

    async def get(name):
        async with aio.connect(srv.addr, **kw) as s:
            return await s.get(name, tmp_path / name)

    async def main():
        up = await aio.connect(srv.addr, **kw)
        t0 = time.monotonic()
        gets = [asyncio.create_task(get(n)) for n in files]
        put = asyncio.create_task(up.put(big, "up.bin"))
        await asyncio.sleep(1.5)
        assert not put.done()
        put.cancel()
        with pytest.raises(asyncio.CancelledError):
            await put
        cancelled_after = time.monotonic() - t0
        sizes = await asyncio.gather(*gets)
        with pytest.raises(tfd_client.SessionClosed) as ei:
            await up.echo("x")
        return cancelled_after, sizes, str(ei.value), time.monotonic() - t0

    cancelled_after, sizes, closed_msg, total = asyncio.run(main())
    # the put was stopped, not waited for (it had 4 s to go); wide bounds
    assert cancelled_after < 5.0, cancelled_after
    assert sizes == [3 << 20] * 7
    for name, data in files.items():
        assert (tmp_path / name).read_bytes() == data, name
    # side by side: seven 3 MiB gets at 4 MiB/s each take about a second, not seven
    assert total < 6.0, total
    assert (srv.data / "up.bin").read_bytes() == b"the old remote copy\n"
    assert sorted(n for n in os.listdir(srv.data) if n.startswith("up")) == ["up.bin"]
    assert "asyncio cancellation" in closed_msg and "connect again" in closed_msg, closed_msg


def test_aio_session_methods_are_awaited(tfd, wd):
    name, disk = wd

    async def main():
        async with aio.connect(tfd.addr, key=tfd.key_file, hash=tfd.hash) as s:
            await s.write_bytes(f"{name}/a.txt", b"abc")
            st = await s.stat(f"{name}/a.txt")
            names = [e.name for e in await s.listdir(name)]
            with pytest.raises(FileNotFoundError):
                await s.stat(f"{name}/nope")
            return st.size, names

    assert asyncio.run(main()) == (3, ["a.txt"])
    assert (disk / "a.txt").read_bytes() == b"abc"


def test_a_cancelled_putfo_gives_the_upload_up_and_the_session_goes_on(tfd, wd):
    name, disk = wd
    (disk / "slow.bin").write_bytes(b"old")
    produced = []

    def slow():
        for i in range(100):  # ten seconds of data
            produced.append(i)
            time.sleep(0.1)
            yield bytes([i]) * (1 << 20)

    async def main():
        async with aio.connect(tfd.addr, key=tfd.key_file, hash=tfd.hash) as s:
            task = asyncio.create_task(s.putfo(slow(), f"{name}/slow.bin"))
            await asyncio.sleep(1.0)
            t0 = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            waited = time.monotonic() - t0
            return waited, await s.echo("still here")

    waited, echoed = asyncio.run(main())
    assert waited < 3.0, waited
    assert echoed == "still here"
    assert len(produced) < 50, len(produced)
    assert (disk / "slow.bin").read_bytes() == b"old"
    assert sorted(os.listdir(disk)) == ["slow.bin"], os.listdir(disk)
