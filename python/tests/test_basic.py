"""The Pythonic API single-user against a real tfd."""

import os

import tfd_client


def test_connect_mkdir_put_get_roundtrip(tfd, session, wd, tmp_path):
    name, disk = wd
    data = os.urandom(3 * 1024 * 1024 + 17)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    seen = []
    session.put(src, f"{name}/a.bin", progress=seen.append, verify=True)
    assert (disk / "a.bin").read_bytes() == data
    assert seen and seen[-1] == len(data)
    dst = tmp_path / "dst.bin"
    assert session.get(f"{name}/a.bin", dst, verify=True) == len(data)
    assert dst.read_bytes() == data
    st = session.stat(f"{name}/a.bin")
    assert isinstance(st, tfd_client.Stat)
    assert (st.kind, st.size) == ("file", len(data))
    assert abs(st.mtime - int((disk / "a.bin").stat().st_mtime)) <= 1


def test_echo_round_trips_text_and_bytes(session):
    assert session.echo("hello world") == "hello world"
    assert session.echo(b"\x01bytes\xff") == b"\x01bytes\xff"
    # the server echoes the text as it came, with no status word added
    assert session.echo("OK") == "OK"
