"""Liveness through the Python client: PROCKEY + the UDP probes, KEEPALIVE,
NIGMA followed by 100 commands (the client implements NIGMA), TLB."""

import socket

import pytest

from interop_lib import assert_alive, assert_failed, assert_ok, raw, reply


def udp_probe(server, data: bytes) -> bytes:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.sendto(data, (server.host, server.port))
        return s.recvfrom(600)[0]
    finally:
        s.close()


def test_prockey_and_probes(tfd, tf):
    st = reply(tf.prockey_command)
    assert_ok(st)
    key = st.message
    assert key.startswith("/") and len(key) == 33 and all(c in "0123456789abcdef" for c in key[1:]), key
    assert udp_probe(tfd, b"\x00") == b"\x01"
    assert udp_probe(tfd, b"\x01" + key.encode()) == b"\x01"
    assert udp_probe(tfd, b"\x02" + key.encode()) == b"\x010\x00"
    assert udp_probe(tfd, b"\x01/" + b"0" * 32) == b"\x00"
    assert_alive(tf)


def test_keepalive(tf):
    # the client's keepalive_command packs integers as binary (wire-notes §11), so
    # the command is sent as text through the lower-level API
    assert_ok(raw(tf, "KEEPALIVE", "1", "60", "|", "10", "|", "5"))
    assert_ok(raw(tf, "KEEPALIVE", "0", "0", "|", "0", "|", "0"))
    assert_failed(raw(tf, "KEEPALIVE", "0"), 16)
    assert_failed(raw(tf, "KEEPALIVE", "1", "0", "|", "10", "|", "5"), 32)
    assert_alive(tf)


@pytest.mark.parametrize("keylen", [8, 16, 64])
def test_nigma_then_100_commands(tfd, keylen):
    c = tfd.connect()
    try:
        st = reply(c.nigma_command, keylen)
        assert_ok(st)
        assert len(st.payload) == keylen
        for i in range(100):
            token = f"n{keylen}-{i}"
            assert reply(c.echo_command, token) == token
        assert_ok(raw(c, "MKDIR", f"nigma{keylen}"))
        assert (tfd.data / f"nigma{keylen}").is_dir()
    finally:
        c.disconnect()


def test_nigma_refusals(tf):
    assert_failed(raw(tf, "NIGMA", "6"), 46)
    assert_failed(raw(tf, "NIGMA", "10"), 46)
    assert_failed(raw(tf, "NIGMA", "x"), 46)
    assert_alive(tf)


def test_tlb_without_list(tf):
    assert_failed(reply(tf.tlb_command), 52)
    assert_alive(tf)


def test_tlb_round_robin(make_tfd, tmp_path):
    lst = tmp_path / "tlb.list"
    lst.write_text("4 10.0.0.1;1234\n6 ::1;4321\n")
    server = make_tfd([f"tlb {lst}"])
    c = server.connect()
    try:
        got = [reply(c.tlb_command).message for _ in range(3)]
        assert got == ["4 10.0.0.1;1234", "6 ::1;4321", "4 10.0.0.1;1234"]
        assert udp_probe(server, b"\x03") == b"\x016 ::1;4321\x00"
    finally:
        c.disconnect()
