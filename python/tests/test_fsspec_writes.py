"""The tf:// filesystem's whole-object writes (issue 66): pipe_file goes by
the client engine's route for bytes in memory (what `tf put` of a file of
the same bytes sends), as fast as put_file of a file."""

import os
import secrets
import time

import pytest

from conftest import need

try:
    import fsspec
except ImportError:  # the venv installs it (scripts/pytest-client)
    need(False, "fsspec (pip install 'tfd-client[fsspec]'; scripts/pytest-client installs it)")


@pytest.fixture(scope="module")
def tffs(tfd):
    fs = fsspec.filesystem("tf", host=tfd.addr, key=str(tfd.key_file), hash=tfd.hash, skip_instance_cache=True)
    yield fs
    fs.close()


def best_of(n, run):
    """The shortest of `n` runs of `run`, in seconds."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return min(times)


def test_pipe_file_is_as_fast_as_put_file_of_the_same_bytes(tfd, tffs, tmp_path):
    # the old pipe_file took 8 times put_file's time for 256 MiB (the bytes
    # copied out of the Python object one by one, then SNDFILE); now the
    # engine's route for them, from the object's own memory
    base = "pw_" + secrets.token_hex(4)
    data = os.urandom(64 << 20)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    tffs.makedirs(base, exist_ok=True)
    put = best_of(2, lambda: tffs.put_file(str(src), f"{base}/put.bin"))
    piped = best_of(2, lambda: tffs.pipe_file(f"{base}/piped.bin", data))
    assert (tfd.data / base / "piped.bin").read_bytes() == data
    assert piped < 2 * put + 0.3, (piped, put)
    with pytest.raises(FileExistsError):
        tffs.pipe_file(f"{base}/piped.bin", b"x", mode="create")
    tffs.pipe_file(f"{base}/empty.bin", b"")
    assert (tfd.data / base / "empty.bin").read_bytes() == b""
    tffs.pipe_file(f"{base}/mv.bin", memoryview(b"from a memoryview"))
    assert (tfd.data / base / "mv.bin").read_bytes() == b"from a memoryview"
    tffs.rm(base, recursive=True)
