"""Protocol 2.5.1 locks, integrity transfers and confinement driven by the public
Python client (tfprotocol-client 1.2.2): intread, intwrite, netlock, netlocktry,
netunlock, netmutacqtry, netmutrel and locksys, checking what the client reports
and the files on disk.

The client's intread cannot take an empty file (its just_recv refuses size 0), so
no case reads one.
"""

import hashlib
import io

from tfprotocol_client.models.status_server_code import StatusServerCode as S

from interop_lib import assert_alive, assert_ok, calls, reply

TEXTS = {
    1: "Access denied to location.",
    10: "Directory does not exist.",
    16: "Missing parameter from command.",
    54: "Failed to acquire or release NETLOCK.",
    55: "Failed to acquire or release NETMUT.",
    61: "Unable to use Folder Locking System.",
}


def failed(st, code):
    assert st.status is S.FAILED, f"expected FAILED {code}, got {st}"
    assert st.code == code, f"expected FAILED {code}, got {st}"
    assert st.message == TEXTS[code], st


def sha(data: bytes) -> str:
    return "0x" + hashlib.sha256(data).hexdigest()


def test_intread_and_intwrite(tf, wd):
    # small: the client's pure-Python cipher slows down byte by byte
    old = bytes(range(256)) * 4
    wd.disk("f").write_bytes(old)
    sink = io.BytesIO()
    st = reply(tf.intread_command, wd.rel("f"), sink)
    assert st.status is S.OK and st.code == len(old), st
    assert st.message == sha(old)
    assert sink.getvalue() == old

    new = b"new content " * 50
    # a wrong hash: refused, the file untouched
    st = reply(tf.intwrite_command, wd.rel("f"), io.BytesIO(new), sha(b"other"))
    assert st.status is S.FAILED and st.code == -1, st
    assert wd.disk("f").read_bytes() == old
    # the current content's hash: replaced whole, no temporary file left
    st = reply(tf.intwrite_command, wd.rel("f"), io.BytesIO(new), sha(old))
    assert st.status is S.OK and st.code == 0, st
    assert wd.disk("f").read_bytes() == new
    assert sorted(p.name for p in wd.path.iterdir()) == ["f"]

    # missing file and escapes: -1, the session goes on
    for bad in [wd.rel("missing"), "../x", wd.rel("..", "..", "x")]:
        st = reply(tf.intread_command, bad, io.BytesIO())
        assert st.status is S.FAILED and st.code == -1, (bad, st)
        st = reply(tf.intwrite_command, bad, io.BytesIO(b"x"), sha(b""))
        assert st.status is S.FAILED and st.code == -1, (bad, st)
    assert_alive(tf)


def test_netlock_between_two_sessions(tfd, tf, wd):
    wd.disk("f").write_bytes(b"x")
    other = tfd.connect()
    try:
        assert_ok(reply(tf.netlocktry_command, 5, wd.rel("f")), "0")
        failed(reply(other.netlocktry_command, 5, wd.rel("f")), 54)
        failed(reply(other.netlock_command, 0.3, wd.rel("f")), 54)
        assert_ok(reply(tf.netunlock_command, "0"))
        failed(reply(tf.netunlock_command, "0"), 54)
        assert_ok(reply(other.netlock_command, 3.5, wd.rel("f")), "0")
        assert_ok(reply(other.netunlock_command, "0"))
    finally:
        other.disconnect()
    failed(reply(tf.netlock_command, 5, wd.rel("missing")), 54)
    failed(reply(tf.netlock_command, 5, "../f"), 1)
    failed(reply(tf.netlock_command, "x", wd.rel("f")), 54)
    assert_alive(tf)


def test_netmut_persists(tfd, tf, wd):
    wd.disk("m").write_bytes(b"")
    assert_ok(reply(tf.netmutacqtry_command, wd.rel("m"), "alpha"))
    assert wd.disk("m").read_bytes() == b"alpha"
    other = tfd.connect()
    try:
        failed(reply(other.netmutacqtry_command, wd.rel("m"), "beta"), 55)
        failed(reply(other.netmutrel_command, wd.rel("m"), "beta"), 55)
    finally:
        other.disconnect()
    assert_ok(reply(tf.netmutrel_command, wd.rel("m"), "alpha"))
    assert wd.disk("m").read_bytes() == b""
    failed(reply(tf.netmutacqtry_command, wd.rel("missing"), "t"), 55)
    failed(reply(tf.netmutacqtry_command, "../m", "t"), 1)
    assert_alive(tf)


def test_locksys_confines(tfd, wd):
    wd.disk("box").mkdir()
    wd.disk("box", "in").write_bytes(b"inside")
    wd.disk("out").write_bytes(b"outside")
    c = tfd.connect()
    try:
        failed(reply(c.locksys_command, wd.rel("missing")), 10)
        failed(reply(c.locksys_command, ".."), 1)
        assert_ok(reply(c.locksys_command, wd.rel("box")))
        # paths now start at box: `in` is there, `../out` is outside
        got = calls(c.sha256_command, "in")
        assert got[0][0].message == sha(b"inside")
        got = calls(c.sha256_command, "../out")
        failed(got[0][0], 1)
        assert_ok(reply(c.mkdir_command, "inner"))
        assert wd.disk("box", "inner").is_dir()
        failed(reply(c.locksys_command, "inner"), 61)
        assert_alive(c)
    finally:
        c.disconnect()
