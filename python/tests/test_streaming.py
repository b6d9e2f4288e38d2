"""Streaming (issue 45): a file opened "wb" uploads as it is written, memory
bounded by a window and not by the file; putfo/getfo take any binary file
object (putfo also an iterable of chunks); the compatibility layer's SUP
reads its stream a frame at a time, as the PyPI client does."""

import hashlib
import io
import os
import subprocess
import sys
import textwrap
import threading

import pytest

import tfd_client

RSS_CHILD = textwrap.dedent("""
    import hashlib, resource, sys, tfd_client
    addr, key, hash_, remote, mib = sys.argv[1:6]
    def peak_kib():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    block = bytes(range(256)) * 4096  # 1 MiB
    h = hashlib.sha256()
    with tfd_client.connect(addr, key=key, hash=hash_) as s:
        s.echo("warm")
        base = peak_kib()
        with s.open(remote, "wb") as f:
            for i in range(int(mib)):
                b = block[i % 256:] + block[:i % 256]
                h.update(b)
                f.write(b)
        grown = peak_kib() - base
    print(grown, h.hexdigest())
""")


def test_open_wb_uploads_as_it_goes_with_bounded_memory(tfd, wd, tmp_path):
    """300 writes of 1 MiB: the old open("wb") held them all until close
    (RSS grew 53 -> 929 MB); now the peak grows by the window, not the file."""
    name, disk = wd
    script = tmp_path / "rss.py"
    script.write_text(RSS_CHILD)
    r = subprocess.run([sys.executable, str(script), tfd.addr, str(tfd.key_file), tfd.hash, f"{name}/big.bin", "300"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    grown_kib, digest = r.stdout.split()
    assert int(grown_kib) < 64 << 10, f"peak RSS grew {int(grown_kib) >> 10} MiB for a 300 MiB file"
    data = (disk / "big.bin").read_bytes()
    assert len(data) == 300 << 20 and hashlib.sha256(data).hexdigest() == digest


def test_a_broken_off_write_keeps_the_old_file_and_the_session(session, wd):
    name, disk = wd
    (disk / "f.bin").write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with session.open(f"{name}/f.bin", "wb") as f:
            f.write(b"n" * (3 << 20))
            # while the file is open it holds the session's connection
            with pytest.raises(tfd_client.SessionBusy) as ei:
                session.stat(name)
            assert "open for writing" in str(ei.value)
            raise RuntimeError("the producer failed")
    assert (disk / "f.bin").read_bytes() == b"old", "given up: the server kept its old file"
    assert [n for n in os.listdir(disk) if n != "f.bin"] == [], os.listdir(disk)
    # the session goes on
    with session.open(f"{name}/f.bin", "wb") as f:
        f.write(b"new")
    assert (disk / "f.bin").read_bytes() == b"new"
    assert session.stat(f"{name}/f.bin").size == 3


def test_open_wb_into_a_missing_directory_names_it(session, wd):
    name, _ = wd
    with pytest.raises(FileNotFoundError) as ei:
        with session.open(f"{name}/no/dir/x", "wb") as f:
            f.write(b"x")
    assert f"no directory {name}/no/dir on the server" in str(ei.value), str(ei.value)
    assert session.exists(name)


def test_putfo_takes_a_pipe_and_a_generator_and_getfo_any_writer(session, wd):
    name, disk = wd
    payload = os.urandom(5 << 20)
    r, w = os.pipe()

    def produce():
        with os.fdopen(w, "wb") as out:
            for i in range(0, len(payload), 65536):
                out.write(payload[i:i + 65536])

    t = threading.Thread(target=produce)
    t.start()
    with os.fdopen(r, "rb") as src:
        assert session.putfo(src, f"{name}/piped.bin") == len(payload)
    t.join()
    assert (disk / "piped.bin").read_bytes() == payload
    chunks = (bytes([i]) * 100000 for i in range(40))
    assert session.putfo(chunks, f"{name}/gen.bin") == 4000000
    assert (disk / "gen.bin").read_bytes() == b"".join(bytes([i]) * 100000 for i in range(40))
    sink = io.BytesIO()
    assert session.getfo(f"{name}/piped.bin", sink) == len(payload)
    assert sink.getvalue() == payload
    part = io.BytesIO()
    assert session.getfo(f"{name}/piped.bin", part, offset=len(payload) - 10) == 10
    assert part.getvalue() == payload[-10:]
    with pytest.raises(FileNotFoundError):
        session.getfo(f"{name}/nope", io.BytesIO())


class Reader:
    """A stream that counts its reads and can fail after `fail_after` bytes."""

    def __init__(self, data, fail_after=None):
        self.src = io.BytesIO(data)
        self.sizes = []
        self.fail_after = fail_after

    def read(self, n=-1):
        self.sizes.append(n)
        if self.fail_after is not None and self.src.tell() >= self.fail_after:
            raise OSError("the source failed midway")
        return self.src.read(n)


def test_compat_sup_streams_and_a_failing_source_cancels(tfd, wd):
    from tfd_client.compat.tfprotocol import TfProtocol

    name, disk = wd
    c = TfProtocol("2.4.1", tfd.public_pem, tfd.hash, "127.0.0.1", tfd.port)
    failures = []
    assert c.connect(on_response=failures.append) is True, failures
    try:
        data = os.urandom(3 << 20)
        src = Reader(data)
        assert c.sup_command(f"{name}/sup.bin", src, 30) is True
        assert (disk / "sup.bin").read_bytes() == data
        assert len(src.sizes) > 3 and all(n is not None and 0 < n <= 1 << 20 for n in src.sizes), src.sizes
        bad = Reader(data, fail_after=1 << 20)
        assert c.sup_command(f"{name}/half.bin", bad, 30) is False
        assert not (disk / "half.bin").exists()
        # the session goes on
        got = []
        c.echo_command("still here", got.append)
        assert got == ["still here"], got
    finally:
        c.disconnect()
