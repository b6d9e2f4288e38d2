"""tfd as an fsspec filesystem (issue 45): protocol "tf" found through the
fsspec.specs entry point, fsspec's own abstract test suite against a real tfd,
info() from tfd's archive listing (mode, ns mtime, a link's target), and pandas
reading and writing CSV and Parquet through tf:// URLs."""

import hashlib
import os
import secrets

import pytest

from conftest import need

try:
    import fsspec
    import fsspec.tests.abstract as abstract
except ImportError:  # the venv installs it (scripts/pytest-client): missing, the module fails
    need(False, "fsspec (pip install 'tfd-client[fsspec]'; scripts/pytest-client installs it)")


def test_protocol_is_registered_by_entry_point_and_urls_carry_the_host(tfd, tffs):
    from tfd_client.fs import TfFileSystem

    assert fsspec.get_filesystem_class("tf") is TfFileSystem
    (tfd.data / "u").mkdir(exist_ok=True)
    (tfd.data / "u" / "a.txt").write_bytes(b"alpha\n")
    url = f"tf://{tfd.addr}/u/a.txt"
    with fsspec.open(url, "rb", key=str(tfd.key_file), hash=tfd.hash) as f:
        assert f.read() == b"alpha\n"
    fs, path = fsspec.core.url_to_fs(url, key=str(tfd.key_file), hash=tfd.hash)
    assert isinstance(fs, TfFileSystem) and fs.host == tfd.addr and path == "u/a.txt"
    assert fs.unstrip_protocol(path) == url


def test_info_has_mode_ns_mtime_and_a_links_target(tfd, tffs):
    base = "i_" + secrets.token_hex(4)
    top = tfd.data / base
    (top / "d").mkdir(parents=True)
    f = top / "d" / "f.txt"
    f.write_bytes(b"twelve bytes")
    f.chmod(0o640)
    os.utime(f, ns=(1_700_000_000_123_456_789, 1_700_000_000_987_654_321))
    (top / "d").chmod(0o750)
    os.symlink("f.txt", top / "d" / "ln")
    os.symlink("../nowhere", top / "d" / "dangling")

    info = tffs.info(f"{base}/d/f.txt")
    st = os.lstat(f)
    assert info["type"] == "file" and info["size"] == 12
    assert info["mode"] == st.st_mode & 0o7777 == 0o640
    assert info["mtime_ns"] == st.st_mtime_ns == 1_700_000_000_987_654_321
    assert info["mtime"] == pytest.approx(1_700_000_000.987654321)
    assert (info["uid"], info["gid"]) == (st.st_uid, st.st_gid)
    assert not info["islink"] and "destination" not in info

    d = tffs.info(f"tf://{tfd.addr}/{base}/d")
    assert d["type"] == "directory" and d["mode"] == 0o750

    ln = tffs.info(f"{base}/d/ln")
    assert ln["islink"] and ln["destination"] == os.readlink(top / "d" / "ln") == "f.txt"
    assert ln["mtime_ns"] == os.lstat(top / "d" / "ln").st_mtime_ns
    dangling = tffs.info(f"{base}/d/dangling")
    assert dangling["destination"] == "../nowhere" and dangling["type"] == "other"

    # the listing's one path answers: the rest of fsspec's calls keep working
    assert tffs.cat_file(f"{base}/d/f.txt") == b"twelve bytes"
    assert tffs.isdir(f"{base}/d") and tffs.isfile(f"{base}/d/f.txt")
    with pytest.raises(FileNotFoundError):
        tffs.info(f"{base}/d/nope")


def test_ls_info_cat_ranges_pipe_mv_rm(tfd, tffs):
    base = "f_" + secrets.token_hex(4)
    tffs.mkdir(f"{base}/sub")
    data = os.urandom(300000)
    tffs.pipe_file(f"{base}/sub/x.bin", data)
    assert (tfd.data / base / "sub" / "x.bin").read_bytes() == data
    assert tffs.info(f"{base}/sub/x.bin")["size"] == len(data)
    assert tffs.info(f"{base}/sub")["type"] == "directory"
    assert tffs.ls(base, detail=False) == [f"{base}/sub"]
    assert tffs.cat_file(f"{base}/sub/x.bin", 1000, 2000) == data[1000:2000]
    assert tffs.cat_file(f"{base}/sub/x.bin", -10) == data[-10:]
    with tffs.open(f"{base}/sub/x.bin", "rb") as f:
        f.seek(123456)
        assert f.read(10) == data[123456:123466]
    tffs.mv(f"{base}/sub/x.bin", f"{base}/y.bin")
    assert not (tfd.data / base / "sub" / "x.bin").exists() and (tfd.data / base / "y.bin").read_bytes() == data
    with pytest.raises(FileNotFoundError):
        tffs.info(f"{base}/nope")
    with pytest.raises(OSError):
        tffs.rm(base)  # a directory that holds files, without recursive=True
    assert (tfd.data / base / "y.bin").exists()
    tffs.rm(base, recursive=True)
    assert not (tfd.data / base).exists()


def test_cat_file_lands_every_chunk_and_a_range_past_the_end_is_short(tfd, tffs):
    # 9 MiB + 5: three GET chunks of the 4 MiB grant, each deciphered into
    # the bytes returned; ranges across chunk borders and past the end (the
    # old binding raised Mismatch there; fsspec's cat_file gives what exists)
    base = "c_" + secrets.token_hex(4)
    data = os.urandom((9 << 20) + 5)
    (tfd.data / base).mkdir()
    (tfd.data / base / "big.bin").write_bytes(data)
    p = f"{base}/big.bin"
    assert tffs.cat_file(p) == data
    assert tffs.cat_file(p, (4 << 20) - 3, (8 << 20) + 3) == data[(4 << 20) - 3:(8 << 20) + 3]
    assert tffs.cat_file(p, len(data) - 10, len(data) + 1000) == data[-10:]
    assert tffs.cat_file(p, 100, 10 ** 9) == data[100:]
    with tffs.open(p, "rb") as f:
        assert f.read() == data
    tffs.rm(base, recursive=True)


def test_open_wb_streams_and_a_broken_off_write_keeps_the_old_file(tfd, tffs):
    base = "w_" + secrets.token_hex(4)
    tffs.pipe_file(f"{base}/f.bin", b"old")
    with pytest.raises(RuntimeError):
        with tffs.open(f"{base}/f.bin", "wb") as f:
            f.write(b"n" * (9 << 20))  # past a block: already going out
            raise RuntimeError("the producer failed")
    assert (tfd.data / base / "f.bin").read_bytes() == b"old"
    h = hashlib.sha256()
    with tffs.open(f"{base}/f.bin", "wb") as f:
        for i in range(20):
            block = bytes([i]) * (1 << 20)
            h.update(block)
            f.write(block)
    assert hashlib.sha256((tfd.data / base / "f.bin").read_bytes()).hexdigest() == h.hexdigest()
    tffs.rm(base, recursive=True)


def test_put_and_get_recursive_with_progress(tfd, tffs, tmp_path):
    from fsspec.callbacks import Callback

    src = tmp_path / "src"
    (src / "a" / "b").mkdir(parents=True)
    files = {"top.txt": b"top", "a/one.bin": os.urandom(70000), "a/b/two.bin": os.urandom(5000)}
    for rel, data in files.items():
        (src / rel).write_bytes(data)
    base = "p_" + secrets.token_hex(4)
    seen = Callback()
    tffs.put(str(src) + "/", base, recursive=True, callback=seen)
    for rel, data in files.items():
        assert (tfd.data / base / rel).read_bytes() == data, rel
    assert seen.size == 3 or seen.value > 0
    dst = tmp_path / "dst"
    tffs.get(base + "/", str(dst), recursive=True)
    for rel, data in files.items():
        assert (dst / rel).read_bytes() == data, rel
    tffs.rm(base, recursive=True)


class Counted:
    """An fsspec Callback that keeps what it was told."""

    def __new__(cls):
        from fsspec.callbacks import Callback

        class _C(Callback):
            def __init__(self):
                super().__init__()
                self.sizes, self.values = [], []

            def call(self, *args, **kwargs):
                self.sizes.append(self.size)
                self.values.append(self.value)

        return _C()


def test_recursive_put_and_get_of_a_directory_are_one_tree_run_on_the_pool(tfd, tffs, tmp_path, monkeypatch):
    # a directory goes to the library's tree run (what tf put -r / get -r
    # run), not fsspec's file-by-file loop: put_file/get_file never called,
    # fsspec's rule for the destination kept (into dst/NAME when dst exists
    # and the source has no trailing "/"), the Callback told files of files
    src = tmp_path / "tree"
    files = {f"d{i % 5}/f{i}.bin": os.urandom(1000 + i) for i in range(60)}
    files["top.txt"] = b"top"
    for rel, data in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)
    (src / "empty").mkdir()

    def one_by_one(*a, **k):
        raise AssertionError("a file moved one by one")

    monkeypatch.setattr(type(tffs), "put_file", one_by_one)
    monkeypatch.setattr(type(tffs), "get_file", one_by_one)
    base = "t_" + secrets.token_hex(4)
    up = Counted()
    tffs.put(str(src), base, recursive=True, callback=up)  # base missing: the contents land in it
    for rel, data in files.items():
        assert (tfd.data / base / rel).read_bytes() == data, rel
    assert (tfd.data / base / "empty").is_dir()
    assert up.size == len(files) and up.value == len(files)
    tffs.put(str(src), base, recursive=True)  # base exists: into base/tree
    assert (tfd.data / base / "tree" / "d3" / "f3.bin").read_bytes() == files["d3/f3.bin"]
    down = Counted()
    dst = tmp_path / "dst"
    tffs.get(base + "/", str(dst), recursive=True, callback=down)  # a trailing "/": the contents
    for rel, data in files.items():
        assert (dst / rel).read_bytes() == data, rel
    assert (dst / "tree" / "top.txt").read_bytes() == b"top" and (dst / "empty").is_dir()
    assert down.size == 2 * len(files) and down.value == 2 * len(files)
    tffs.get(f"tf://{tfd.addr}/{base}/tree", str(dst), recursive=True)  # dst exists: into dst/tree
    assert (dst / "tree" / "d0" / "f0.bin").read_bytes() == files["d0/f0.bin"]
    tffs.rm(base, recursive=True)


def test_find_and_du_are_one_listing_and_agree_with_fsspecs_walk(tfd, tffs, monkeypatch):
    from fsspec.spec import AbstractFileSystem

    base = "fd_" + secrets.token_hex(4)
    sizes = {}
    for i in range(40):
        rel = f"{base}/d{i % 4}/e{i % 3}/f{i}.bin"
        (tfd.data / rel).parent.mkdir(parents=True, exist_ok=True)
        (tfd.data / rel).write_bytes(b"x" * i)
        sizes[rel] = i
    (tfd.data / base / "void").mkdir()
    # fsspec's own walk (an ls per directory), computed first as the reference
    walked = AbstractFileSystem.find(tffs, base, withdirs=True, detail=True)
    walked_du = AbstractFileSystem.du(tffs, base, total=False)
    calls = {"ls": 0, "info": 0, "_stat_info": 0}
    for name in calls:
        real = getattr(type(tffs), name)

        def counted(self, *a, _real=real, _name=name, **k):
            calls[_name] += 1
            return _real(self, *a, **k)

        monkeypatch.setattr(type(tffs), name, counted)
    assert tffs.find(base) == sorted(sizes)
    found = tffs.find(base, withdirs=True, detail=True)
    assert sorted(found) == sorted(walked)
    assert all(found[n]["type"] == walked[n]["type"] and found[n]["size"] == walked[n]["size"] for n in found)
    assert tffs.du(base, total=False) == walked_du == sizes
    assert tffs.du(base) == sum(sizes.values())
    # the top's stat, once per call (info's TFDENTRIES of the parent is not asked)
    assert calls["ls"] == 0 and calls["info"] == 0 and calls["_stat_info"] == 4
    assert tffs.find(base + "/d0/e1/f4.bin") == [base + "/d0/e1/f4.bin"]
    assert tffs.find(base + "/nope") == []
    tffs.rm(base, recursive=True)


def test_async_callers_use_the_filesystem_through_fsspecs_wrapper(tfd):
    # the documented async route (python/README "fsspec and asyncio"):
    # asynchronous=True is accepted (zarr passes it to every filesystem, then
    # wraps a synchronous one), and AsyncFileSystemWrapper awaits the
    # filesystem's operations on threads; eight at once on one loop, taking
    # turns on the one session, every byte where it belongs
    import asyncio

    from fsspec.implementations.asyn_wrapper import AsyncFileSystemWrapper

    fs = fsspec.filesystem("tf", host=tfd.addr, key=str(tfd.key_file), hash=tfd.hash, asynchronous=True,
                           skip_instance_cache=True)
    assert not fs.async_impl
    afs = AsyncFileSystemWrapper(fs, asynchronous=True)
    base = "as_" + secrets.token_hex(4)
    datas = {f"{base}/d{i % 2}/{i}.bin": os.urandom(100000 * i + 1) for i in range(8)}

    async def main():
        await afs._makedirs(base, exist_ok=True)
        await asyncio.gather(*(afs._pipe_file(p, d) for p, d in datas.items()))
        got = await asyncio.gather(*(afs._cat_file(p) for p in datas))
        assert got == list(datas.values())
        assert await afs._find(base) == sorted(datas)
        assert await afs._cat_file(next(iter(datas)), 0, 1) == datas[next(iter(datas))][:1]
        await afs._rm(base, recursive=True)

    asyncio.run(main())
    for p, d in datas.items():
        assert not (tfd.data / p).exists()
    fs.close()


def test_pandas_round_trips_csv_and_parquet_through_tf_urls(tfd):
    try:
        import pandas as pd
    except ImportError:
        pytest.fail("cannot run: pandas (scripts/pytest-client installs it)")
    opts = {"key": str(tfd.key_file), "hash": tfd.hash}
    base = "pd_" + secrets.token_hex(4)
    df = pd.DataFrame({"region": ["north", "south", "east"], "total": [12, 7, 30]})
    df.to_csv(f"tf://{tfd.addr}/{base}/q1.csv", index=False, storage_options=opts)
    assert (tfd.data / base / "q1.csv").read_text() == "region,total\nnorth,12\nsouth,7\neast,30\n"
    back = pd.read_csv(f"tf://{tfd.addr}/{base}/q1.csv", storage_options=opts)
    assert back.equals(df)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        pytest.fail("cannot run: pyarrow (scripts/pytest-client installs it)")
    big = pd.DataFrame({"n": range(200000), "s": [f"row{i}" for i in range(200000)]})
    big.to_parquet(f"tf://{tfd.addr}/{base}/t.parquet", storage_options=opts)
    assert (tfd.data / base / "t.parquet").read_bytes()[:4] == b"PAR1"
    assert pd.read_parquet(f"tf://{tfd.addr}/{base}/t.parquet", storage_options=opts).equals(big)
    # a column of it: Parquet's footer then ranged reads
    assert pd.read_parquet(f"tf://{tfd.addr}/{base}/t.parquet", columns=["n"],
                           storage_options=opts)["n"].sum() == sum(range(200000))


# fsspec's own abstract suite (copy, get, put, open, pipe) against tfd
class TfFixtures(abstract.AbstractFixtures):
    @pytest.fixture(scope="class")
    @classmethod
    def fs(cls, tfd):
        fs = fsspec.filesystem("tf", host=tfd.addr, key=str(tfd.key_file), hash=tfd.hash,
                               skip_instance_cache=True)
        yield fs
        fs.close()

    @pytest.fixture
    def fs_path(self, fs):
        base = "abstract_" + secrets.token_hex(4)
        fs.makedirs(base)
        yield base
        if fs.exists(base):
            fs.rm(base, recursive=True)


class TestTfCopy(abstract.AbstractCopyTests, TfFixtures):
    pass


class TestTfGet(abstract.AbstractGetTests, TfFixtures):
    pass


class TestTfPut(abstract.AbstractPutTests, TfFixtures):
    pass


class TestTfOpen(abstract.AbstractOpenTests, TfFixtures):
    pass


class TestTfPipe(abstract.AbstractPipeTests, TfFixtures):
    pass
