"""tf and the Python package reach tfd through one client engine
(tfp_client::engine): the same request sends the same commands. Each case
runs once from tf and once from Python against one tfd whose debug log names
every command a session runs (never its arguments), and compares the
sessions' command sequences."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import tfd_bin

SEED = b"0123456789abcdef" * 4096


def tf_bin() -> str:
    b = Path(tfd_bin()).with_name("tf")
    if not b.exists():
        pytest.fail(f"tf binary {b} missing: build it (cargo build --release --bin tf) or set TFD_BIN beside it")
    return str(b)


@pytest.fixture(scope="module")
def logged(tmp_path_factory, keypair):
    from conftest import Tfd

    s = Tfd(tmp_path_factory.mktemp("tfd"), keypair, extra=["log_level debug"]).start()
    yield s
    s.stop()


def sessions(tfd, since: int):
    """The command names each session ran after byte `since` of the log, one
    list per session in the order they began."""
    text = tfd.log.read_text(errors="replace")[since:]
    seen = {}
    for m in re.finditer(r"(\S+) command (\S+)", text):
        # END closes the session whenever the client lets go of it, which a
        # with-block's exit may do after the log was read
        if m.group(2) != "END":
            seen.setdefault(m.group(1), []).append(m.group(2))
    return list(seen.values())


def recorded(tfd, run):
    """The sessions `run` made, each its commands in order (END left out)."""
    since = tfd.log.stat().st_size
    run()
    return sorted(sessions(tfd, since))


def tf(tfd, *words):
    cmd = [tf_bin(), "--server", tfd.addr, "--key", str(tfd.key_file), "--hash", tfd.hash, *words]
    r = subprocess.run(cmd, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r


def both(tfd, tf_words, py_call, reset):
    """The sessions of the same request from tf and from Python, each run on
    the same starting state (`reset` makes it)."""
    reset()
    by_tf = recorded(tfd, lambda: tf(tfd, *tf_words))
    reset()

    def py():
        with tfd.connect() as s:
            py_call(s)

    by_py = recorded(tfd, py)
    return by_tf, by_py


def write(p: Path, data: bytes):
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)


def test_a_single_put_and_get_send_the_same_commands(logged, tmp_path):
    src = tmp_path / "one.bin"
    write(src, SEED)

    def reset():
        (logged.data / "one.bin").unlink(missing_ok=True)

    by_tf, by_py = both(logged, ["put", str(src), "one.bin"], lambda s: s.put(src, "one.bin"), reset)
    assert by_tf == by_py
    assert any("SNDFILE" in s for s in by_tf), by_tf
    assert (logged.data / "one.bin").read_bytes() == SEED

    out = tmp_path / "back.bin"

    def fresh():
        out.unlink(missing_ok=True)

    by_tf, by_py = both(logged, ["get", "one.bin", str(out)], lambda s: s.get("one.bin", out), fresh)
    assert by_tf == by_py
    assert out.read_bytes() == SEED


def test_a_put_into_a_directory_lands_under_the_files_name_from_both(logged, tmp_path):
    src = tmp_path / "inside.bin"
    write(src, SEED[:1000])
    (logged.data / "box").mkdir(exist_ok=True)

    def reset():
        (logged.data / "box" / "inside.bin").unlink(missing_ok=True)

    by_tf, by_py = both(logged, ["put", str(src), "box"], lambda s: s.put(src, "box"), reset)
    assert by_tf == by_py
    assert (logged.data / "box" / "inside.bin").read_bytes() == SEED[:1000]


def test_a_changed_file_goes_as_the_same_delta_both_ways_from_both(logged, tmp_path):
    old = os.urandom(1 << 20)
    new = bytearray(old)
    new[1000:1010] = b"x" * 10
    src = tmp_path / "big.bin"
    write(src, bytes(new))

    def reset():
        write(logged.data / "big.bin", old)

    by_tf, by_py = both(
        logged,
        ["put", "--no-whole-file", str(src), "big.bin"],
        lambda s: s.put(src, "big.bin", whole_file=False),
        reset,
    )
    assert by_tf == by_py
    assert any("TFDDELTAPUT" in s for s in by_py), by_py
    assert (logged.data / "big.bin").read_bytes() == bytes(new)

    # and down: the local copy is the old one, the server's the new
    here = tmp_path / "here.bin"

    def old_copy():
        write(here, old)

    by_tf, by_py = both(
        logged,
        ["get", "--no-whole-file", "big.bin", str(here)],
        lambda s: s.get("big.bin", here, whole_file=False),
        old_copy,
    )
    assert by_tf == by_py
    assert any("TFDDELTAGET" in s for s in by_py), by_py
    assert here.read_bytes() == bytes(new)


def test_a_tree_and_a_mirror_send_the_same_commands(logged, tmp_path):
    tree = tmp_path / "tree"
    for i in range(5):
        write(tree / f"d{i % 2}" / f"f{i}.txt", SEED[: 100 * (i + 1)])

    def reset():
        subprocess.run(["rm", "-rf", str(logged.data / "t")], check=True)

    by_tf, by_py = both(
        logged,
        ["put", "-r", "--jobs", "1", f"{tree}/", "t"],
        lambda s: s.put_tree(tree, "t", jobs=1),
        reset,
    )
    assert by_tf == by_py
    assert any("TFDPUTMANY" in s for s in by_tf), by_tf

    by_tf, by_py = both(
        logged,
        ["mirror", "-R", "--jobs", "1", str(tree), "t"],
        lambda s: s.mirror_up(tree, "t", jobs=1),
        reset,
    )
    assert by_tf == by_py
    for i in range(5):
        assert (logged.data / "t" / f"d{i % 2}" / f"f{i}.txt").read_bytes() == SEED[: 100 * (i + 1)]
