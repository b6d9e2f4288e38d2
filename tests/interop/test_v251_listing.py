"""Protocol 2.5.1 through the public Python client (tfprotocol-client 1.2.2):
its ftype_command, ftypels_command, fstatls_command, lsv2_command and
lsrv2_command against tfd, with the client handshaking as a 2.5.1 client on a
server that accepts both the 2.4.1 and the 2.5.1 version strings. Reply values
and files on disk are checked; bad input gets its failure and the session goes on.

Client facts (tfprotocol.py):
  * ftype_command sends `FTYPE <path>` and reads one signed byte; the handler gets
    a StatusInfo whose code is that byte (OK for >= 0, FAILED for -1).
  * ftypels_command reads signed bytes until -2 and calls the handler for every
    one, the -2 included.
  * fstatls_command reads 26-byte records (`>bbQQQ`) until code -2 and calls the
    handler with a FileStat for every one, the end record included; the code
    itself is not passed on, so the tests read the types and sizes.
  * lsv2_command / lsrv2_command send `LSV2 <dir>@||@<file>` and call the
    handler once with the reply.
"""

import os

import pytest

import interop_lib
from interop_lib import assert_alive, assert_failed, assert_ok, calls, reply

interop_lib.ERR.update({53: "Failed running LSRV2."})

FTYPE = {"dir": 0, "chr": 1, "blk": 2, "reg": 3, "fifo": 4, "sock": 6, "fail": -1}


@pytest.fixture(scope="module")
def srv(tmp_path_factory, keypair):
    from conftest import TfdServer, _finish

    server = TfdServer(tmp_path_factory.mktemp("tfd251"), keypair, ["proto 2.5.1"]).start()
    yield server
    _finish(server)


@pytest.fixture
def c(srv):
    client = srv.client(proto="2.5.1")
    failures = []
    assert client.connect(on_response=failures.append) is True, failures
    client.client.socket.settimeout(20.0)
    yield client
    try:
        client.disconnect()
    except Exception:  # noqa: BLE001
        pass
    srv.clients = [x for x in srv.clients if x is not client]


@pytest.fixture
def tree(srv, request):
    name = "t_" + request.node.name[:40]
    root = srv.data / name
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"abc")
    (root / "sub" / "b.txt").write_bytes(b"0123456789")
    (root / "k.sd").mkdir()
    (root / "k.sd" / "secret").write_bytes(b"s")
    os.mkfifo(root / "fifo")
    os.symlink(srv.base, root / "out-link")
    return name, root


def test_both_version_strings_on_one_server(srv):
    for proto in ("2.4.1", "2.5.1"):
        client = srv.client(proto=proto)
        failures = []
        assert client.connect(on_response=failures.append) is True, (proto, failures)
        client.client.socket.settimeout(20.0)
        assert_alive(client)
        client.disconnect()


def test_ftype(c, tree):
    name, _ = tree
    cases = [
        (name, "dir"),
        (f"{name}/a.txt", "reg"),
        (f"{name}/fifo", "fifo"),
        (f"{name}/missing", "fail"),
        (f"{name}/out-link", "fail"),  # leads out of the root
        ("..", "fail"),
        (f"{name}/../..", "fail"),
    ]
    for path, kind in cases:
        st = reply(c.ftype_command, path)
        assert st.code == FTYPE[kind], (path, st)
    assert_alive(c)


def test_ftypels_and_fstatls(c, tree):
    name, root = tree
    paths = [name, f"{name}/a.txt", f"{name}/sub/b.txt", f"{name}/fifo", f"{name}/missing", "..", f"{name}/out-link"]
    kinds = ["dir", "reg", "reg", "fifo", "fail", "fail", "fail"]
    (root / "list.txt").write_text("".join(p + "\n" for p in paths))
    codes = [st.code for (st,) in calls(c.ftypels_command, f"{name}/list.txt")]
    assert codes == [FTYPE[k] for k in kinds] + [-2]

    stats = [fs for (fs,) in calls(c.fstatls_command, f"{name}/list.txt")]
    assert len(stats) == len(paths) + 1
    for p, k, fs in zip(paths, kinds, stats):
        if k == "fail":
            assert (fs.type, fs.size, fs.last_access, fs.last_modification) == (0, 0, 0, 0), (p, vars(fs))
            continue
        on_disk = os.stat(root.parent / p)
        assert fs.type == FTYPE[k], (p, vars(fs))
        assert fs.size == on_disk.st_size, p
        assert fs.last_access == int(on_disk.st_atime), p
        assert fs.last_modification == int(on_disk.st_mtime), p
    end = stats[-1]
    assert (end.type, end.size, end.last_access, end.last_modification) == (0, 0, 0, 0)

    # a list that cannot be read: only the end marker
    assert [st.code for (st,) in calls(c.ftypels_command, f"{name}/none.txt")] == [-2]
    assert len(calls(c.fstatls_command, "..")) == 1
    assert_alive(c)


def test_lsv2_and_lsrv2(c, tree):
    name, root = tree
    assert_ok(reply(c.lsv2_command, name, f"{name}/flat.txt"))
    flat = sorted((root / "flat.txt").read_text().splitlines())
    assert flat == sorted([f"{name}/a.txt", f"{name}/sub/", f"{name}/fifo", f"{name}/out-link"])
    assert_ok(reply(c.lsrv2_command, name, f"{name}/deep.txt"))
    deep = sorted((root / "deep.txt").read_text().splitlines())
    assert deep == sorted(
        [f"{name}/a.txt", f"{name}/flat.txt", f"{name}/sub/", f"{name}/sub/b.txt", f"{name}/sub/deep/",
         f"{name}/fifo", f"{name}/out-link"]
    )
    assert not any("k.sd" in line for line in deep), "secure directories are hidden"

    assert_failed(reply(c.lsv2_command, "..", f"{name}/x.txt"), 1)
    assert_failed(reply(c.lsv2_command, name, "../x.txt"), 1)
    assert_failed(reply(c.lsrv2_command, f"{name}/missing", f"{name}/x.txt"), 53)
    assert_failed(reply(c.lsrv2_command, f"{name}/a.txt", f"{name}/x.txt"), 20)
    assert not (root / "x.txt").exists()
    assert_alive(c)


def test_time_zone_and_genuuid_through_raw_frames(c, srv):
    """The client has no helpers for GETTZ, SETTZ, LOCALTIME, DATEFTZ or GENUUID:
    raw frames through its own framing and cipher (interop_lib.raw)."""
    from interop_lib import raw

    assert_ok(raw(c, "GETTZ"), "UTC")
    assert_ok(raw(c, "SETTZ", "JST-9"))
    assert_ok(raw(c, "GETTZ"), "JST-9")
    st = raw(c, "LOCALTIME")
    assert_ok(st)
    assert st.message.endswith(" JST") and len(st.message) == len("2026-11-22 09:47:07 JST"), st
    # another session keeps its own zone
    other = srv.client(proto="2.5.1")
    assert other.connect(on_response=lambda *_: None) is True
    other.client.socket.settimeout(20.0)
    assert_ok(raw(other, "GETTZ"), "UTC")
    other.disconnect()
    st = raw(c, "DATEFTZ", "UTC")
    assert_ok(st)
    assert st.message.endswith(" UTC"), st
    interop_lib.ERR.update({26: "Date is not representable."})
    assert_failed(raw(c, "SETTZ", "Nowhere/City"), 26)
    assert_failed(raw(c, "DATEFTZ", "../../etc/passwd"), 26)
    assert_ok(raw(c, "GETTZ"), "JST-9")
    uuids = set()
    for _ in range(8):
        st = raw(c, "GENUUID")
        assert_ok(st)
        u = st.message
        assert len(u) == 36 and u[14] == "4" and u[19] in "89ab" and u == u.lower(), u
        uuids.add(u)
    assert len(uuids) == 8
    assert_alive(c)
