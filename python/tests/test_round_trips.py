"""Round trips of a whole-file read, counted on the real wire: a relay between
the client and tfd counts the client's turns (each time the client sends after
the server has), so a read that waits for an answer it could have had with the
previous one shows up as a turn more."""

import os
import secrets
import socket
import threading

import pytest
import tfd_client

from conftest import need

try:
    import fsspec
except ImportError:  # the venv installs it (scripts/pytest-client): missing, the module fails
    need(False, "fsspec (pip install 'tfd-client[fsspec]'; scripts/pytest-client installs it)")


class TurnCounter:
    """A TCP relay on loopback to `upstream` for one connection, counting the
    client's turns."""

    def __init__(self, upstream):
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.lsock = socket.create_server(("127.0.0.1", 0))
        self.addr = f"127.0.0.1:{self.lsock.getsockname()[1]}"
        self.lock = threading.Lock()
        self.last = None
        self.turns = 0
        self.down = 0  # bytes the server sent
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        c, _ = self.lsock.accept()
        u = socket.create_connection(self.upstream)
        self.socks += [c, u]
        threading.Thread(target=self._pump, args=(c, u, "c2s"), daemon=True).start()
        threading.Thread(target=self._pump, args=(u, c, "s2c"), daemon=True).start()

    def _pump(self, src, dst, way):
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                with self.lock:  # counted before it goes on, so the answer cannot come first
                    if way == "c2s" and self.last != "c2s":
                        self.turns += 1
                    self.last = way
                    if way == "s2c":
                        self.down += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def reset(self):
        with self.lock:
            self.turns = 0
            self.down = 0
            self.last = None

    def close(self):
        self.lsock.close()
        for s in self.socks:
            s.close()


@pytest.fixture
def relayed(tfd):
    r = TurnCounter(tfd.addr)
    fs = fsspec.filesystem("tf", host=r.addr, key=str(tfd.key_file), hash=tfd.hash, skip_instance_cache=True)
    yield r, fs
    fs.close()
    r.close()


def test_cat_file_of_a_small_file_is_two_round_trips(tfd, relayed):
    r, fs = relayed
    base = "rt_" + secrets.token_hex(4)
    (tfd.data / base).mkdir()
    data = os.urandom(16 << 10)
    (tfd.data / base / "small.bin").write_bytes(data)
    (tfd.data / base / "empty.bin").write_bytes(b"")
    fs.ls(base)  # the session is up before counting
    r.reset()
    assert fs.cat_file(f"{base}/small.bin") == data
    # the old cat_file: FSTAT, then the GET, then its FIN exchange
    assert r.turns == 2, r.turns
    r.reset()
    assert fs.cat_file(f"{base}/empty.bin") == b""
    assert r.turns == 2, r.turns
    # the same bytes from an offset, and past the end
    assert fs.cat_file(f"{base}/small.bin", start=100) == data[100:]
    assert fs.cat_file(f"{base}/small.bin", start=len(data) + 5) == b""


def test_a_refused_whole_read_leaves_the_session_working(tfd, relayed):
    r, fs = relayed
    base = "rf_" + secrets.token_hex(4)
    (tfd.data / base / "d").mkdir(parents=True)
    (tfd.data / base / "f.bin").write_bytes(b"abc")
    with pytest.raises(FileNotFoundError):
        fs.cat_file(f"{base}/missing.bin")
    with pytest.raises(tfd_client.Refused):  # a directory: refused, as before
        fs.cat_file(f"{base}/d")
    assert fs.cat_file(f"{base}/f.bin") == b"abc"
    # a bigger file through the same path: several chunks
    big = os.urandom((9 << 20) + 7)
    (tfd.data / base / "big.bin").write_bytes(big)
    assert fs.cat_file(f"{base}/big.bin") == big
    assert fs.cat_file(f"{base}/big.bin", start=(4 << 20) + 1) == big[(4 << 20) + 1:]


def test_ls_detail_and_info_list_one_level_not_the_tree_below(tfd, relayed):
    """ls(detail=True) and info() answer from the directory's own entries
    (one TFDDIRENTRIES), not a listing of everything below it: a directory
    holding a deep subtree costs what its own entries cost."""
    r, fs = relayed
    base = "lvl_" + secrets.token_hex(4)
    deep = tfd.data / base / "sub" / "deeper"
    deep.mkdir(parents=True)
    for i in range(3000):
        (deep / f"file-with-a-longish-name-{i:05}.txt").write_bytes(b"x")
    (tfd.data / base / "top.txt").write_bytes(b"hello")
    os.chmod(tfd.data / base / "top.txt", 0o640)
    fs.ls(base, detail=False)  # the session is up before counting
    r.reset()
    listed = {e["name"]: e for e in fs.ls(base, detail=True)}
    assert set(listed) == {f"{base}/sub", f"{base}/top.txt"}, listed
    assert listed[f"{base}/top.txt"]["size"] == 5
    assert listed[f"{base}/top.txt"]["type"] == "file"
    assert listed[f"{base}/sub"]["type"] == "directory"
    assert listed[f"{base}/top.txt"]["mtime"] == int((tfd.data / base / "top.txt").stat().st_mtime)
    # the 3,000 names below are about 120 KB of listing: none of it crossed
    assert r.down < 16 << 10, r.down
    r.reset()
    info = fs.info(f"{base}/top.txt")
    assert info["size"] == 5 and info["mode"] & 0o7777 == 0o640, info
    assert r.down < 16 << 10, r.down
