"""Every failure of a call on the server is an OSError naming its path
(issue 66): errno, strerror and filename (filename2 for a rename's or a
copy's second path) set from the protocol's status in one place; Refused
itself an OSError; a directory read as a file an IsADirectoryError."""

import errno

import pytest

import tfd_client

try:
    import fsspec
except ImportError:  # the venv installs it (scripts/pytest-client)
    fsspec = None


def _raised(call):
    with pytest.raises(OSError) as ei:
        call()
    return ei.value


def test_refusals_name_their_paths_with_errno(session, wd):
    name, _ = wd
    s = session
    s.write_bytes(f"{name}/f", b"abc")
    s.mkdir(f"{name}/d")
    s.mkdir(f"{name}/full")
    s.write_bytes(f"{name}/full/x", b"1")
    nope = f"{name}/nope"
    cases = [
        # (call, its OSError class, errno, filename, filename2)
        (lambda: s.stat(nope), FileNotFoundError, errno.ENOENT, nope, None),
        (lambda: s.remove(nope), FileNotFoundError, errno.ENOENT, nope, None),
        (lambda: s.rmtree(nope), FileNotFoundError, errno.ENOENT, nope, None),
        (lambda: s.copy(nope, f"{name}/z"), FileNotFoundError, errno.ENOENT, nope, f"{name}/z"),
        (lambda: s.rename(nope, f"{name}/n2"), FileNotFoundError, errno.ENOENT, nope, f"{name}/n2"),
        (lambda: s.rename(f"{name}/f", f"{name}/no/n2"), FileNotFoundError, errno.ENOENT, f"{name}/f",
         f"{name}/no/n2"),
        (lambda: s.mkdir(f"{name}/d"), FileExistsError, errno.EEXIST, f"{name}/d", None),
        (lambda: s.sha256(nope), OSError, errno.EIO, nope, None),
        (lambda: s.read_bytes(nope, 1, 2), FileNotFoundError, errno.ENOENT, nope, None),
        (lambda: s.write_bytes(f"{name}/f/x", b"1"), OSError, errno.EIO, f"{name}/f/x", None),
        (lambda: s.makedirs(f"{name}/f/x/y"), OSError, errno.EIO, f"{name}/f/x/y", None),
        (lambda: s.size(nope), OSError, errno.EIO, nope, None),
        (lambda: s.rmdir(f"{name}/full"), OSError, errno.ENOTEMPTY, f"{name}/full", None),
    ]
    for call, cls, code, filename, filename2 in cases:
        e = _raised(call)
        assert isinstance(e, cls) and isinstance(e, tfd_client.Error), repr(e)
        assert (e.errno, e.filename, e.filename2) == (code, filename, filename2), repr(e)
        assert e.strerror, repr(e)
        assert filename in str(e), str(e)


def test_refused_is_an_oserror(session, wd):
    name, _ = wd
    e = _raised(lambda: session.sha256(f"{name}/nope"))
    assert type(e) is tfd_client.Refused and isinstance(e, OSError)
    assert issubclass(tfd_client.Refused, OSError)


def test_a_missing_key_file_names_it(tfd, tmp_path):
    missing = tmp_path / "no-such-key.pem"
    e = _raised(lambda: tfd_client.connect(tfd.addr, key=missing, hash=tfd.hash))
    assert isinstance(e, tfd_client.LocalError) and e.errno == errno.ENOENT
    assert e.filename == str(missing), repr(e)


def test_a_directory_read_as_a_file_is_an_isadirectoryerror(session, wd):
    name, _ = wd
    d = f"{name}/d"
    session.mkdir(d)
    for call in (lambda: session.read_bytes(d), lambda: session.read_bytes(d, 0, 5),
                 lambda: session.open(d).read()):
        e = _raised(call)
        assert isinstance(e, IsADirectoryError) and e.errno == errno.EISDIR and e.filename == d, repr(e)


@pytest.mark.skipif(fsspec is None, reason="fsspec")
def test_fsspec_cat_and_open_of_a_directory_raise_isadirectoryerror(tfd, session, wd):
    name, _ = wd
    session.mkdir(f"{name}/d")
    fs = fsspec.filesystem("tf", host=tfd.addr, key=str(tfd.key_file), hash=tfd.hash, skip_instance_cache=True)
    try:
        with pytest.raises(IsADirectoryError):
            fs.cat_file(f"{name}/d")
        with pytest.raises(IsADirectoryError):
            with fs.open(f"{name}/d", "rb") as f:
                f.read()
        with pytest.raises(FileNotFoundError) as ei:
            fs.cat_file(f"{name}/missing.csv")
        assert ei.value.filename == f"{name}/missing.csv"
    finally:
        fs.close()


def test_a_refused_connection_carries_its_errno(tfd):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connecting is refused
        e = _raised(lambda: tfd_client.connect(f"127.0.0.1:{port}", key=tfd.key_file, hash=tfd.hash))
    assert isinstance(e, ConnectionError) and isinstance(e, tfd_client.Error), repr(e)
    assert e.errno == errno.ECONNREFUSED and e.strerror, repr(e)


def test_a_tree_runs_failure_is_an_oserror_naming_both_trees(session, wd, tmp_path):
    name, _ = wd
    session.write_bytes(f"{name}/f", b"a file where the tree would go")
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"a")
    cases = [
        # (call, filename, filename2): the source and the destination
        (lambda: session.put_tree(src, f"{name}/f/below"), str(src), f"{name}/f/below"),
        (lambda: session.get_tree(f"{name}/no-such-dir", tmp_path / "down"), f"{name}/no-such-dir",
         str(tmp_path / "down")),
        (lambda: session.mirror_up(src, f"{name}/f/m"), str(src), f"{name}/f/m"),
    ]
    for call, filename, filename2 in cases:
        e = _raised(call)
        assert isinstance(e, tfd_client.TreeError) and isinstance(e, tfd_client.Error), repr(e)
        assert (e.errno, e.filename, e.filename2) == (errno.EIO, filename, filename2), repr(e)
        assert e.strerror and e.report.failures, repr(e)
        assert str(e).startswith(e.report.failures[0][1]), str(e)
