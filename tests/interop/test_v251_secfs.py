"""TFPSFS (protocol 2.5.1 secure filesystem) driven by the public Python client's
own methods: setfsid_command, setfsperm_command, remfsperm_command,
getfsperm_command and issecfs_command, checking the replies the client parses
and the metadata files on disk (the reference server's format).
"""

from tfprotocol_client.models.status_server_code import StatusServerCode as S

from interop_lib import assert_alive, assert_ok, listing, listing_failed, reply

# The reference's texts for the TFPSFS codes (include/err.h).
SECFS_ERR = {
    1: "Access denied to location.",
    16: "Missing parameter from command.",
    20: "Source path is not a directory.",
    57: "Failed setting secure FS permission.",
    58: "Failed removing secure FS permission.",
    59: "Failed getting secure FS permission identity.",
    60: "The directory does not belongs to secure FS.",
}


def failed(st, code):
    assert st.status is S.FAILED, f"expected FAILED {code}, got {st}"
    assert st.code == code and st.message == SECFS_ERR[code], st


def mask(c, ident, d):
    st = reply(c.getfsperm_command, ident, d)
    assert_ok(st)
    return int(st.message)


def test_setfsperm_getfsperm_issecfs(tfd, tf, wd):
    d = wd.rel("box")
    wd.disk("box").mkdir()
    wd.disk("box", "f").write_bytes(b"data")
    failed(reply(tf.issecfs_command, d), 60)
    failed(reply(tf.issecfs_command, wd.rel("box", "f")), 20)
    failed(reply(tf.issecfs_command, "../outside"), 1)

    assert_ok(reply(tf.setfsid_command, "alice"))
    assert_ok(reply(tf.setfsperm_command, "alice", 4095, d))
    assert_ok(reply(tf.issecfs_command, d))
    assert wd.disk("box", ".securefs_metadata.rd").read_bytes() == b"alice:4095\n"
    assert wd.disk("box", ".securefs_metadata").read_bytes() == b"alice:4095\n"
    assert mask(tf, "alice", d) == 4095
    assert mask(tf, "nobody", d) == 0

    # bob: read files only; setting him again replaces the mask
    assert_ok(reply(tf.setfsperm_command, "bob", 16, d))
    assert_ok(reply(tf.setfsperm_command, "bob", 4, d))
    assert mask(tf, "bob", d) == 4
    # everybody else: list only (the client sends ":16" for an empty identity)
    assert_ok(reply(tf.setfsperm_command, "", 16, d))
    assert mask(tf, "", d) == 16
    assert wd.disk("box", ".securefs_metadata.rd").read_bytes() == b"alice:4095\nbob:4\n:16\n"

    other = tfd.connect()
    # no SETFSID: everybody else may list (metadata never shown) but not set
    lines, _ = listing(other, "LS", d)
    assert lines == ["F: f"]
    failed(reply(other.setfsperm_command, "mallory", 4095, d), 57)
    failed(reply(other.remfsperm_command, "alice", d), 58)
    assert_ok(reply(other.setfsid_command, "bob"))
    # bob has an entry without LDIR: no falling through to everybody else
    listing_failed(other, "LS", d, 1)
    failed(reply(other.setfsperm_command, "bob", 4095, d), 57)
    assert mask(other, "bob", d) == 4
    assert_alive(other)

    # the owner removes everybody else and bob
    assert_ok(reply(tf.remfsperm_command, "", d))
    assert_ok(reply(tf.remfsperm_command, "bob", d))
    assert mask(tf, "bob", d) == 0
    assert wd.disk("box", ".securefs_metadata.rd").read_bytes() == b"alice:4095\n"
    assert_ok(reply(other.setfsid_command, "carol"))
    listing_failed(other, "LS", d, 1)
    assert_alive(tf)


def test_bad_input_and_metadata_unreachable(tf, wd):
    d = wd.rel("s")
    wd.disk("s").mkdir()
    wd.disk("plain").write_bytes(b"x")
    assert_ok(reply(tf.setfsid_command, "owner"))
    failed(reply(tf.setfsperm_command, "owner", "notanumber", d), 57)
    failed(reply(tf.setfsperm_command, "owner", 1, wd.rel("plain")), 57)
    failed(reply(tf.setfsperm_command, "owner", 1, "../x"), 1)
    failed(reply(tf.remfsperm_command, "owner", d), 58)
    failed(reply(tf.getfsperm_command, "owner", wd.rel("plain")), 59)
    assert not wd.disk("s", ".securefs_metadata.rd").exists()
    assert_ok(reply(tf.setfsperm_command, "owner", 4095, d))
    before = wd.disk("s", ".securefs_metadata.rd").read_bytes()
    # the metadata is out of reach of every command, whatever the permissions
    for name in (".securefs_metadata", ".securefs_metadata.rd", ".securefs_metadata.lck"):
        failed(reply(tf.del_command, wd.rel("s", name)), 1)
        failed(reply(tf.touch_command, wd.rel("s", name)), 1)
        failed(reply(tf.renam_command, wd.rel("plain"), wd.rel("s", name)), 1)
    assert wd.disk("s", ".securefs_metadata.rd").read_bytes() == before
    assert wd.disk("plain").read_bytes() == b"x"
    assert_alive(tf)
