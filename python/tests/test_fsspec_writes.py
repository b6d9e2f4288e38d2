"""The tf:// filesystem's whole-object writes and transactions (issue 66):
pipe_file goes by the client engine's route for bytes in memory (what `tf
put` of a file of the same bytes sends), as fast as put_file of a file, and
fs.transaction stages each file written inside it (tfd's staged uploads),
every one appearing at the block's end, none when it raises; ls(detail=True)
is one listing (TFDLIST), not a stat per entry."""

import os
import secrets
import time

import pytest

from conftest import need

try:
    import fsspec
except ImportError:  # the venv installs it (scripts/pytest-client)
    need(False, "fsspec (pip install 'tfd-client[fsspec]'; scripts/pytest-client installs it)")


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


def stages(root):
    """tfd's hidden stages anywhere below `root`."""
    return [os.path.join(d, n) for d, _, names in os.walk(root) for n in names if n.startswith(".tfd-part")]


def test_a_transaction_that_raises_leaves_nothing_and_a_committed_one_lands_all(tfd, tffs, tmp_path):
    base = "tx_" + secrets.token_hex(4)
    local = tmp_path / "local.bin"
    local.write_bytes(b"from a local file")
    tffs.makedirs(base, exist_ok=True)
    (tfd.data / base / "kept.txt").write_bytes(b"old")
    files = {f"{base}/d{i % 2}/f{i}.bin": os.urandom(1000 * i + 1) for i in range(5)}
    big = os.urandom((9 << 20) + 3)  # past fsspec's blocks: written in several parts

    def write_all():
        """Every kind of write, then a look: nothing is visible yet."""
        for p, d in files.items():
            tffs.pipe_file(p, d)
        with tffs.open(f"{base}/big.bin", "wb") as f:
            f.write(big)
        tffs.pipe_file(f"{base}/kept.txt", b"new")
        tffs.pipe_file(f"{base}/empty.txt", b"")
        tffs.put_file(str(local), f"{base}/put.bin")
        assert not any((tfd.data / p).exists() for p in files)
        assert not (tfd.data / base / "big.bin").exists()
        assert (tfd.data / base / "kept.txt").read_bytes() == b"old"

    with pytest.raises(RuntimeError):
        with tffs.transaction:
            write_all()
            raise RuntimeError("the job failed")
    assert not any((tfd.data / p).exists() for p in files)
    assert not (tfd.data / base / "big.bin").exists() and not (tfd.data / base / "put.bin").exists()
    assert (tfd.data / base / "kept.txt").read_bytes() == b"old"
    assert stages(tfd.data / base) == []
    assert sorted(os.listdir(tfd.data / base)) == ["kept.txt"]  # nor the directories made for it
    assert not tffs._intrans

    with tffs.transaction:
        write_all()
    assert (tfd.data / base / "empty.txt").read_bytes() == b""
    assert (tfd.data / base / "put.bin").read_bytes() == b"from a local file"
    for p, d in files.items():
        assert (tfd.data / p).read_bytes() == d, p
    assert (tfd.data / base / "big.bin").read_bytes() == big
    assert (tfd.data / base / "kept.txt").read_bytes() == b"new"
    assert stages(tfd.data / base) == []

    # the non-context form, fsspec's start_transaction/end_transaction
    tffs.start_transaction()
    tffs.pipe_file(f"{base}/late.txt", b"late")
    assert not (tfd.data / base / "late.txt").exists()
    tffs.end_transaction()
    assert (tfd.data / base / "late.txt").read_bytes() == b"late"
    tffs.rm(base, recursive=True)
@pytest.fixture(scope="module")
def logged(tmp_path_factory, keypair):
    from conftest import Tfd

    s = Tfd(tmp_path_factory.mktemp("tfd"), keypair, extra=["log_level debug"]).start()
    yield s
    s.stop()


def test_ls_detail_is_one_listing_not_a_stat_per_entry(logged):
    import re

    fs = fsspec.filesystem("tf", host=logged.addr, key=str(logged.key_file), hash=logged.hash,
                           skip_instance_cache=True)
    base = "ls_" + secrets.token_hex(4)
    top = logged.data / base
    (top / "sub" / "deeper").mkdir(parents=True)
    for i in range(200):
        (top / f"f{i}.bin").write_bytes(b"x" * i)
    (top / "sub" / "inner.bin").write_bytes(b"inner")
    (top / "sub" / "deeper" / "x").write_bytes(b"x")
    os.utime(top / "f7.bin", (1_700_000_000, 1_700_000_000))
    since = logged.log.stat().st_size
    listed = fs.ls(base, detail=True)
    commands = re.findall(r"\S+ command (\S+)", logged.log.read_text(errors="replace")[since:])
    assert commands.count("FSTAT") <= 1, commands  # the top's own, not one per entry
    by_name = {e["name"]: e for e in listed}
    assert sorted(by_name) == sorted([f"{base}/f{i}.bin" for i in range(200)] + [f"{base}/sub"])
    for i in range(200):
        e = by_name[f"{base}/f{i}.bin"]
        assert e["type"] == "file" and e["size"] == i, e
    assert by_name[f"{base}/f7.bin"]["mtime"] == 1_700_000_000
    assert by_name[f"{base}/sub"]["type"] == "directory"
    assert fs.ls(base, detail=False) == sorted(by_name) or sorted(fs.ls(base, detail=False)) == sorted(by_name)
    assert fs.ls(f"{base}/sub", detail=True)[0]["name"] in (f"{base}/sub/inner.bin", f"{base}/sub/deeper")
    fs.close()
