"""put_tree/get_tree/mirror with backup=, backup_dir=, suffix= and
remove_source_files= (rsync's --backup, --backup-dir, --suffix and
--remove-source-files, as tf's): each replaced file kept with its contents,
each moved source gone once its copy is there."""

import secrets

import pytest


def _write(p, data):
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)


def test_a_replaced_file_is_kept_both_ways(tfd, session, tmp_path):
    name = "b_" + secrets.token_hex(4)
    _write(tfd.data / name / "a.txt", b"old a, longer")
    src = tmp_path / "src"
    _write(src / "a.txt", b"new a")
    r = session.mirror(src, name, direction="up", backup_dir="../" + name + "_old")
    assert r.ok, r
    assert (tfd.data / name / "a.txt").read_bytes() == b"new a"
    assert (tfd.data / (name + "_old") / "a.txt").read_bytes() == b"old a, longer"
    back = tmp_path / "back"
    _write(back / "a.txt", b"old here")
    r = session.get_tree(name, back, backup=True, suffix=".bak")
    assert r.ok, r
    assert (back / "a.txt").read_bytes() == b"new a"
    assert (back / "a.txt.bak").read_bytes() == b"old here"


def test_remove_source_files_moves_the_files(tfd, session, tmp_path):
    name = "m_" + secrets.token_hex(4)
    src = tmp_path / "src"
    _write(src / "d" / "f.txt", b"moved")
    r = session.put_tree(src, name, remove_source_files=True)
    assert r.ok, r
    assert not (src / "d" / "f.txt").exists() and (src / "d").is_dir()
    assert (tfd.data / name / "d" / "f.txt").read_bytes() == b"moved"


def test_a_suffix_that_cannot_be_is_a_value_error(session, tmp_path):
    with pytest.raises(ValueError):
        session.put_tree(tmp_path, "x", backup=True, suffix="a/b")
