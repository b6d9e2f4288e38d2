"""Session.backup, snapshots and restore: tf backup's snapshots through the
library (tfp_client::backup), checked on the server's disk (unchanged files
linked, not sent again) and in what comes back (bytes, modes, mtimes)."""

import os
import secrets
import stat
import time

import pytest

import tfd_client


def _facts(top):
    out = {}
    for dirpath, dirs, files in os.walk(top):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            data = open(p, "rb").read() if stat.S_ISREG(st.st_mode) else None
            mtime = st.st_mtime_ns if not stat.S_ISDIR(st.st_mode) else None
            out[os.path.relpath(p, top)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), mtime, data)
    return out


def test_backups_link_what_is_unchanged_list_and_restore_each_snapshot(tfd, session, tmp_path):
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"first a\n")
    (src / "d" / "b.bin").write_bytes(os.urandom(50_000))
    (src / "d" / "b.bin").chmod(0o600)
    os.utime(src / "a.txt", ns=(1_600_000_000_000_000_000, 1_600_000_000_123_456_789))
    name = "bk_" + secrets.token_hex(4)
    first_state = _facts(src)
    one = session.backup(src, name)
    assert one.files == 2 and one.snapshot.startswith(name + "/"), one
    time.sleep(0.01)
    (src / "a.txt").write_bytes(b"second a, longer\n")
    two = session.backup(src, name)
    snaps = session.snapshots(name)
    assert [s.name for s in snaps] == [one.snapshot.split("/")[1], two.snapshot.split("/")[1]]
    assert [(s.files, s.bytes) for s in snaps] == [(2, 8 + 50_000), (2, 17 + 50_000)]
    # what each added on the server's disk: the second only its changed file
    assert [s.added for s in snaps] == [8 + 50_000, 17]
    # the unchanged file is one inode in both snapshots on the server
    t1, t2 = (tfd.data / one.snapshot / "tree", tfd.data / two.snapshot / "tree")
    assert os.stat(t1 / "d" / "b.bin").st_ino == os.stat(t2 / "d" / "b.bin").st_ino
    assert os.stat(t1 / "a.txt").st_ino != os.stat(t2 / "a.txt").st_ino
    # each snapshot comes back as the tree was
    back1 = tmp_path / "back1"
    assert session.restore(name, back1, snapshot=snaps[0].name) == snaps[0].name
    assert _facts(back1) == first_state
    back2 = tmp_path / "back2"
    assert session.restore(name, back2) == snaps[1].name
    assert _facts(back2) == _facts(src)
    # one path of it
    part = tmp_path / "part"
    session.restore(name, part, paths=["d/b.bin"])
    assert sorted(os.listdir(part)) == ["d"] and (part / "d" / "b.bin").read_bytes() == (src / "d" / "b.bin").read_bytes()
    assert session.snapshots("never_" + secrets.token_hex(4)) == []


def test_what_a_backup_cannot_do_is_a_backup_error_in_tfs_words(tfd, session, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_bytes(b"x")
    name = "bk_" + secrets.token_hex(4)
    with pytest.raises(tfd_client.BackupError, match="cannot hold '@'"):
        session.backup(src, name + "@x")
    with pytest.raises(tfd_client.BackupError, match="is not a directory"):
        session.backup(src / "f", name)
    with pytest.raises(tfd_client.BackupError, match="has no complete snapshot"):
        session.restore(name, tmp_path / "nothing")
    session.backup(src, name)
    with pytest.raises(tfd_client.BackupError, match="has no snapshot 1999"):
        session.restore(name, tmp_path / "old", snapshot="1999")
    with pytest.raises(tfd_client.BackupError, match="is not in snapshot") as e:
        session.restore(name, tmp_path / "gone", paths=["missing.txt"])
    assert e.value.missing and e.value.errno == 5
    assert session.snapshots(name)[0].files == 1


def test_prune_keeps_by_restics_rules_and_a_dry_run_removes_nothing(tfd, session, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    name = "bk_" + secrets.token_hex(4)
    made = []
    for i in range(3):
        (src / "f.txt").write_bytes(b"version %d\n" % i)
        made.append(session.backup(src, name).snapshot.split("/")[1])
        time.sleep(0.01)
    with pytest.raises(ValueError, match="at least one"):
        session.prune(name)
    with pytest.raises(ValueError, match="count of snapshots"):
        session.prune(name, keep_last=-1)
    dry = session.prune(name, keep_last=1, dry_run=True)
    assert dry == tfd_client.Pruned(kept=[made[2]], removed=made[:2], dry_run=True)
    assert [s.name for s in session.snapshots(name)] == made
    assert all((tfd.data / name / m).is_dir() for m in made)
    done = session.prune(name, keep_last=2)
    assert done.kept == made[1:] and done.removed == made[:1] and not done.dry_run
    assert [s.name for s in session.snapshots(name)] == made[1:]
    # gone whole from the server's disk, nothing half-removed left beside
    assert sorted(os.listdir(tfd.data / name)) == made[1:]
    back = tmp_path / "back"
    session.restore(name, back, snapshot=made[1])
    assert (back / "f.txt").read_bytes() == b"version 1\n"


def test_verify_proves_an_intact_snapshot_and_names_a_flipped_file(tfd, session, tmp_path):
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"a" * 1000)
    (src / "d" / "b.bin").write_bytes(os.urandom(20_000))
    name = "bk_" + secrets.token_hex(4)
    snap = session.backup(src, name).snapshot
    ok = session.verify(name)
    assert ok.snapshot == snap.split("/")[1] and ok.files == 2, ok
    assert ok.strength == "keyed" and ok.warning is None, ok
    again = session.verify(name, snapshot=ok.snapshot, sample=50)
    assert again.files == 1 and again.keys_left == ok.keys_left - 1, again
    # a byte flipped on the server's disk is named, by path and why
    stored = tfd.data / snap / "tree" / "d" / "b.bin"
    data = bytearray(stored.read_bytes())
    data[777] ^= 0xFF
    with open(stored, "r+b") as f:
        f.write(data)
    with pytest.raises(tfd_client.BackupError, match="1 of 2 files are not held") as e:
        session.verify(name)
    assert e.value.bad == [(b"d/b.bin", "is not the file backed up (its bytes differ)")]
    with pytest.raises(tfd_client.BackupError, match="has no complete snapshot"):
        session.verify("never_" + secrets.token_hex(4))
    with pytest.raises(ValueError, match="percentage"):
        session.verify(name, sample=0)
