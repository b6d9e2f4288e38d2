"""dry_run= and on_item= of the tree runs (issue 68): a dry run changes
nothing on either side and its items say what would move; the callback
hears each item, as tf -i prints it, while the run goes."""

import os
import secrets


def _tree(top):
    (top / "d").mkdir(parents=True)
    (top / "d" / "f.txt").write_bytes(b"one\n")
    (top / "g.txt").write_bytes(b"two\n")
    for p in [top / "d" / "f.txt", top / "g.txt", top / "d", top]:
        os.utime(p, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))


def _state(top):
    out = {}
    for dirpath, dirs, files in os.walk(top):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            out[os.path.relpath(p, top)] = (st.st_mode, st.st_mtime_ns, st.st_size)
    return out


def test_a_dry_run_changes_nothing_and_its_items_say_what_would_move(tfd, session, tmp_path):
    src = tmp_path / "src"
    _tree(src)
    name = "dry_" + secrets.token_hex(4)
    r = session.put_tree(src, name, dry_run=True)
    assert r.ok, r
    assert not (tfd.data / name).exists()
    lines = sorted(i.line for i in r.items)
    assert "<f+++++++++ d/f.txt" in lines, lines
    assert "cd+++++++++ ./" in lines, lines
    session.put_tree(src, name, archive=True)
    before = _state(tfd.data / name)
    (src / "g.txt").write_bytes(b"three\n")
    heard = []
    r = session.put_tree(src, name, archive=True, dry_run=True, on_item=heard.append)
    assert _state(tfd.data / name) == before
    assert [i.line for i in heard] == [i.line for i in r.items]
    g = [i for i in heard if i.path == b"g.txt"]
    assert g and g[0].action == "send" and "size" in g[0].changes, heard
    back = tmp_path / "back"
    r = session.get_tree(name, back, dry_run=True)
    assert not back.exists() and r.items, r


def test_mirror_hands_each_item_to_the_callback(tfd, session, tmp_path):
    src = tmp_path / "m"
    _tree(src)
    name = "mi_" + secrets.token_hex(4)
    heard = []
    r = session.mirror(src, name, direction="up", on_item=heard.append)
    assert r.ok, r
    assert {i.line for i in heard} >= {"<f+++++++++ g.txt", "cd+++++++++ d/"}, heard
