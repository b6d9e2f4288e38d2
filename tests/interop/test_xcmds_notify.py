"""XCOPY, XCPDIR, XDEL, XRMDIR and the notification mode (ADDNTFY, STARTNTFY)
driven by the public Python client's helpers (tfprotocol-client 1.2.2).

The X-commands walk the whole served root (XCOPY/XCPDIR) or a named directory
(XDEL/XRMDIR), and the module's server is shared with other tests, so every
pattern here is a name unique to the test (`uniq()`); matching is on whole trailing
path components, which the tests check too.

Client facts (tfprotocol.py):
  * xcopy_command/xcpdir_command send `X... newname src | pattern`, xdel_command and
    xrmdir_command `X... dir name`; each calls its handler once with the reply.
  * addntfy_command sends `ADDNTFY <token> <dir>` (an empty token gives two spaces).
  * startnfy_command sends `STARTNTFY <interval>` and then loops forever: for every
    frame it calls the handler with a StatusInfo whose message is the whole frame
    (`<index> <name>`) and keyword arguments send_ok / send_del. It never returns,
    so the handlers here raise `Stop` once they have seen enough. A FAILED reply to
    STARTNTFY reaches the handler the same way, as a plain frame.
"""

import secrets
import time

import pytest
from tfprotocol_client.models.message import TfProtocolMessage

import interop_lib
from interop_lib import assert_alive, assert_failed, assert_ok, reply

# failure texts this module needs beyond interop_lib's table
interop_lib.ERR.update(
    {
        5: "Error adding new notification to listen.",
        6: "Notify path list empty.",
        23: "Source path is not a file.",
        29: "Source path does not exist.",
    }
)


class Stop(Exception):
    """Raised by a notification handler to leave startnfy_command's loop."""


def uniq(tag: str) -> str:
    return f"{tag}_{secrets.token_hex(4)}"


def wait_absent(path, timeout=5.0):
    """The server acts on DEL after the client has sent it: wait for that."""
    deadline = time.monotonic() + timeout
    while path.exists():
        assert time.monotonic() < deadline, f"{path} was not deleted"
        time.sleep(0.01)


# --- X-commands -------------------------------------------------------------

def test_xcopy(tf, wd):
    t = uniq("tgt")
    for d in (t, f"x/{t}", f"x/a{t}", f"k.sd/{t}"):
        wd.disk(d).mkdir(parents=True)
    wd.disk("src.txt").write_bytes(b"xcopy payload")
    wd.disk(f"x/{t}/c.txt").write_bytes(b"old")
    assert_ok(reply(tf.xcopy_command, "c.txt", wd.rel("src.txt"), t))
    assert wd.disk(f"{t}/c.txt").read_bytes() == b"xcopy payload"
    assert wd.disk(f"x/{t}/c.txt").read_bytes() == b"old", "existing: skipped"
    assert not wd.disk(f"x/a{t}/c.txt").exists(), "whole components only"
    assert not wd.disk(f"k.sd/{t}/c.txt").exists(), "never into a secure directory"
    # a copy, not a link
    wd.disk("src.txt").write_bytes(b"changed")
    assert wd.disk(f"{t}/c.txt").read_bytes() == b"xcopy payload"

    assert_failed(reply(tf.xcopy_command, "c.txt", wd.rel("none"), t), 17)
    assert_failed(reply(tf.xcopy_command, "c.txt", wd.rel("x"), t), 23)
    assert_failed(reply(tf.xcopy_command, "c.txt", "../etc/passwd", t), 1)
    assert_failed(reply(tf.xcopy_command, "c.txt", wd.rel("src.txt"), ""), 16)
    assert_alive(tf)


def test_xcopy_lock(tf, wd):
    t = uniq("tgt")
    wd.disk(t).mkdir()
    wd.disk("lk").write_bytes(b"")
    wd.disk("src.txt").write_bytes(b"s")
    assert_ok(reply(tf.lock_command, "lk"))
    assert_failed(reply(tf.xcopy_command, "c.txt", wd.rel("src.txt"), t), 30)
    wd.disk(f"{t}/lk").write_bytes(b"")
    wd.disk("lk").unlink()
    assert_ok(reply(tf.xcopy_command, "c.txt", wd.rel("src.txt"), t))
    assert not wd.disk(f"{t}/c.txt").exists(), "a locked destination is skipped"
    assert_ok(reply(tf.lock_command, ""))


def test_xcpdir(tf, wd):
    t = uniq("tgt")
    for d in (f"a/{t}", f"b/{t}", "tpl/sub", "tpl/secret.sd"):
        wd.disk(d).mkdir(parents=True)
    wd.disk("tpl/f").write_bytes(b"f")
    wd.disk("tpl/sub/g").write_bytes(b"g")
    wd.disk("tpl/secret.sd/h").write_bytes(b"h")
    assert_ok(reply(tf.xcpdir_command, "copy", wd.rel("tpl"), t))
    for d in ("a", "b"):
        assert wd.disk(f"{d}/{t}/copy/f").read_bytes() == b"f"
        assert wd.disk(f"{d}/{t}/copy/sub/g").read_bytes() == b"g"
        assert not wd.disk(f"{d}/{t}/copy/secret.sd").exists()
    assert_failed(reply(tf.xcpdir_command, "copy", wd.rel("none"), t), 29)
    assert_failed(reply(tf.xcpdir_command, "copy", wd.rel("tpl/f"), t), 20)
    assert_failed(reply(tf.xcpdir_command, "copy", "..", t), 1)
    assert_alive(tf)


def test_xdel(tf, wd):
    n = uniq("victim")
    for d in ("x", "k.sd", f"dir/{n}"):
        wd.disk(d).mkdir(parents=True)
    for f in (n, f"x/{n}", f"x/pre{n}", f"k.sd/{n}"):
        wd.disk(f).write_bytes(b"x")
    assert_ok(reply(tf.xdel_command, wd.name, n))
    assert not wd.disk(n).exists() and not wd.disk(f"x/{n}").exists()
    assert wd.disk(f"x/pre{n}").exists(), "whole components only"
    assert wd.disk(f"k.sd/{n}").exists(), "never inside a secure directory"
    assert wd.disk(f"dir/{n}").is_dir(), "directories are not XDEL's"
    assert_failed(reply(tf.xdel_command, wd.rel("none"), n), 20)
    assert_failed(reply(tf.xdel_command, "..", n), 1)
    assert_alive(tf)


def test_xrmdir(tf, wd):
    n = uniq("gone")
    for d in (f"{n}/inner", f"x/{n}/keep.sd", f"x/pre{n}", f"k.sd/{n}"):
        wd.disk(d).mkdir(parents=True)
    wd.disk(f"{n}/inner/f").write_bytes(b"x")
    wd.disk(f"x/{n}/keep.sd/s").write_bytes(b"secret")
    wd.disk(f"x/{n}/f").write_bytes(b"x")
    wd.disk(f"file_{n}").write_bytes(b"x")
    assert_ok(reply(tf.xrmdir_command, wd.name, n))
    assert not wd.disk(n).exists()
    assert sorted(p.name for p in wd.disk(f"x/{n}").iterdir()) == ["keep.sd"], "secure dirs kept"
    assert wd.disk(f"x/{n}/keep.sd/s").exists()
    assert wd.disk(f"x/pre{n}").is_dir()
    assert wd.disk(f"k.sd/{n}").is_dir()
    assert_failed(reply(tf.xrmdir_command, wd.rel("none"), n), 10)
    assert_failed(reply(tf.xrmdir_command, wd.rel(f"file_{n}"), n), 20)
    assert_failed(reply(tf.xrmdir_command, "..", n), 1)
    assert_alive(tf)


# --- notifications ----------------------------------------------------------

def collect(c, interval, count, answer):
    """Runs startnfy_command until `count` frames came; each is answered with
    answer(send_ok, send_del). Returns the frames' texts."""
    got = []

    def handler(st, send_ok=None, send_del=None, **_):
        got.append(st.message)
        if st.message.startswith("FAILED"):
            raise Stop()
        answer(send_ok, send_del)
        if len(got) >= count:
            raise Stop()

    with pytest.raises(Stop):
        c.startnfy_command(interval, handler)
    return got


def test_addntfy_replies(tf, wd):
    wd.disk("inbox").mkdir()
    wd.disk("file").write_bytes(b"")
    assert_failed(reply(tf.addntfy_command, ".", wd.rel("inbox")), 5)
    assert_failed(reply(tf.addntfy_command, "a/b", wd.rel("inbox")), 5)
    assert_failed(reply(tf.addntfy_command, "msg_", wd.rel("none")), 5)
    assert_failed(reply(tf.addntfy_command, "msg_", wd.rel("file")), 5)
    assert_failed(reply(tf.addntfy_command, "msg_", "../"), 1)
    # a token longer than the reference's 7 bytes
    assert_ok(reply(tf.addntfy_command, "a_long_token_name", wd.rel("inbox")))
    assert_alive(tf)


def test_startntfy_without_registration(tf):
    got = collect(tf, "1", 1, lambda ok, dele: ok())
    assert got == ["FAILED 6 : Notify path list empty."]
    assert_alive(tf)


def test_notify_del(tf, wd):
    inbox = wd.disk("inbox")
    inbox.mkdir()
    for f in ("msg_1", "msg_2", "other"):
        (inbox / f).write_bytes(b"")
    (inbox / "msg_dir").mkdir()
    assert_ok(reply(tf.addntfy_command, "msg_", wd.rel("inbox")))
    got = collect(tf, "1e-2", 2, lambda ok, dele: dele())
    assert sorted(got) == ["0 msg_1", "0 msg_2"]
    wait_absent(inbox / "msg_1")
    wait_absent(inbox / "msg_2")
    assert (inbox / "other").exists() and (inbox / "msg_dir").is_dir()


def test_notify_ok_repeats_and_indexes(tf, wd):
    for d in ("in0", "in1"):
        wd.disk(d).mkdir()
    wd.disk("in1/note").write_bytes(b"")
    assert_ok(reply(tf.addntfy_command, "msg_", wd.rel("in0")))
    assert_ok(reply(tf.addntfy_command, "", wd.rel("in1")))  # empty token: every file
    got = collect(tf, "0.05", 3, lambda ok, dele: ok())
    assert got == ["1 note"] * 3, "kept files come again, with their registration's index"
    assert wd.disk("in1/note").exists()


def test_notify_end_closes(tf, wd):
    wd.disk("inbox").mkdir()
    wd.disk("inbox/msg_1").write_bytes(b"")

    def end(ok, dele):
        tf.client.send(TfProtocolMessage("END"))

    assert_ok(reply(tf.addntfy_command, "msg_", wd.rel("inbox")))
    assert collect(tf, "", 1, end) == ["0 msg_1"]
    # the server closes the connection without a reply (PySocks: use recv_into)
    buf = bytearray(16)
    assert tf.client.socket.recv_into(buf) == 0
    assert wd.disk("inbox/msg_1").exists()
