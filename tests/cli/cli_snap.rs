//! `tf backup`, `tf backup list`, `tf df BACKUP` and `tf restore` (issue 69) through the real
//! binary against a real tfd: a tree backed up twice with one file changed
//! (the second snapshot's unchanged files are the first's inodes on the
//! server's disk, the changed file's bytes new, the index right), restores
//! of a whole snapshot and of a path compared with the source (bytes, modes,
//! mtimes), and a tf SIGKILLed mid-backup leaving no snapshot that looks
//! complete, the next run completing one.

use crate::output::{ok, text};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tfd_testkit::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Writes `p` (its directories made) with `mode`, `secs_ago` old.
pub(crate) fn write(p: &Path, data: &[u8], mode: u32, secs_ago: u64) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, data).unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    let f = fs::File::options().write(true).open(p).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs_ago))
        .unwrap();
}

fn source(root: &Path) {
    write(&root.join("a.txt"), b"alpha", 0o644, 100);
    write(&root.join("run.sh"), b"#!/bin/sh\necho hi\n", 0o755, 200);
    write(&root.join("sub/b.bin"), &pattern(300_000, 1), 0o600, 300);
    write(&root.join("sub/deep/c"), b"c", 0o640, 400);
    std::os::unix::fs::symlink("a.txt", root.join("lnk")).unwrap();
}

/// Every entry below `root`: type, mode, mtime (files' to the ns), bytes.
pub(crate) fn state(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in fs::read_dir(root.join(&rel)).unwrap() {
            let e = e.unwrap();
            let r = rel.join(e.file_name());
            let m = fs::symlink_metadata(e.path()).unwrap();
            let v = if m.is_symlink() {
                format!("link {:?}", fs::read_link(e.path()).unwrap())
            } else if m.is_dir() {
                stack.push(r.clone());
                format!("dir {:o}", m.mode())
            } else {
                let d = sha256_hex(&fs::read(e.path()).unwrap());
                format!("file {:o} {}.{} {d}", m.mode(), m.mtime(), m.mtime_nsec())
            };
            out.insert(r, v);
        }
    }
    out
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(b))
}

/// The complete snapshots below the server's `name`, oldest first (none
/// when a run killed early had not made `name` yet).
fn snaps(srv: &Server, name: &str) -> Vec<String> {
    let Ok(dir) = fs::read_dir(srv.path(name)) else {
        return Vec::new();
    };
    let mut v: Vec<String> = dir
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.'))
        .collect();
    v.sort();
    v
}

#[test]
fn backups_link_what_is_unchanged_and_restore_what_was() {
    let srv = Server::start();
    let here = tempdir("cli_snap");
    let src = here.join("src");
    source(&src);
    let first = state(&src);
    let o = srv.tf(&["backup", s(&src), "bk"]);
    ok(&o, "backup 1");
    // what the run stored, as restic counts it (issue 88)
    let said = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        said.contains(" 4 files: 4 new, 0 changed, 0 unmodified; 300024 bytes added\n"),
        "{said}"
    );
    write(&src.join("sub/deep/c"), b"changed c", 0o640, 50);
    let o = srv.tf(&["backup", s(&src), "bk"]);
    ok(&o, "backup 2");
    let said = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        said.contains(" 4 files: 0 new, 1 changed, 3 unmodified; 9 bytes added\n"),
        "{said}"
    );
    let sn = snaps(&srv, "bk");
    assert_eq!(sn.len(), 2, "{sn:?}");
    let (t1, t2) = (
        srv.path(&format!("bk/{}/tree", sn[0])),
        srv.path(&format!("bk/{}/tree", sn[1])),
    );
    for f in ["a.txt", "run.sh", "sub/b.bin"] {
        let (a, b) = (fs::metadata(t1.join(f)).unwrap(), fs::metadata(t2.join(f)).unwrap());
        assert_eq!(a.ino(), b.ino(), "{f} is not shared between the snapshots");
    }
    assert_ne!(
        fs::metadata(t1.join("sub/deep/c")).unwrap().ino(),
        fs::metadata(t2.join("sub/deep/c")).unwrap().ino()
    );
    assert_eq!(fs::read(t1.join("sub/deep/c")).unwrap(), b"c");
    assert_eq!(fs::read(t2.join("sub/deep/c")).unwrap(), b"changed c");
    assert_eq!(state(&t1), first, "the first snapshot is the tree as it was");
    assert_eq!(state(&t2), state(&src), "the second snapshot is the tree as it is");
    // the index: one line an entry, each file's SHA-256
    // kept compressed, as one zstd frame
    let kept = fs::read(srv.path(&format!("bk/{}/index", sn[1]))).unwrap();
    assert!(
        tfp_wire::compress::whole::is_frame(&kept),
        "the index is not kept compressed"
    );
    let index = String::from_utf8(tfp_client::backup::index::text(&kept).unwrap().into_owned()).unwrap();
    let mut lines = index.lines();
    assert_eq!(lines.next(), Some("tf-backup-index 1"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(' ').collect()).collect();
    assert_eq!(rows.len(), 7, "{index}");
    let c_row = rows
        .iter()
        .find(|r| r[7] == tfp_wire::hex::encode(b"sub/deep/c"))
        .expect("sub/deep/c in the index");
    let m = fs::metadata(src.join("sub/deep/c")).unwrap();
    assert_eq!(c_row[0], "f");
    assert_eq!(c_row[1], "9");
    assert_eq!(c_row[2], "640");
    assert_eq!((c_row[3], c_row[4]), (&*m.uid().to_string(), &*m.gid().to_string()));
    let ns = m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128;
    assert_eq!(c_row[5], ns.to_string());
    assert_eq!(c_row[6], sha256_hex(b"changed c"));
    // list
    let o = srv.tf(&["backup", "list", "bk"]);
    ok(&o, "backup list");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains(&sn[0]) && out.contains(&sn[1]), "{out}");
    assert!(out.contains("4 files"), "{out}");
    // what each snapshot added to the server's disk: all of the first, only
    // the changed file of the second (the others are links)
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{}\t4 files\t300024 bytes\t300024 bytes added", sn[0]),
            format!("{}\t4 files\t300032 bytes\t9 bytes added", sn[1])
        ],
        "{out}"
    );
    let o = srv.tf(&["df", "--raw", "bk"]);
    ok(&o, "df bk");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.starts_with("available  "), "{out}");
    assert!(
        out.contains(&format!("bk@{}  adds 300024 of 300024 (4 files)\n", sn[0])),
        "{out}"
    );
    assert!(
        out.contains(&format!("bk@{}  adds 9 of 300032 (4 files)\n", sn[1])),
        "{out}"
    );
    let o = srv.tf(&["df", "nothing"]);
    assert!(
        !o.status.success() && text(&o).contains("nothing has no complete snapshot"),
        "{}",
        text(&o)
    );
    // restore the first snapshot whole, and one path of it
    let dest = here.join("restored");
    let o = srv.tf(&["restore", &format!("bk@{}", sn[0]), s(&dest)]);
    ok(&o, "restore whole");
    assert_eq!(state(&dest), first, "{}", text(&o));
    // a restore says what it did (issue 88: it said nothing)
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("restored 4 files (300024 bytes) of bk@{} into {}\n", sn[0], s(&dest)),
    );
    let dest2 = here.join("restored_path");
    let o = srv.tf(&["restore", &format!("bk@{}", sn[0]), "sub/deep", s(&dest2)]);
    ok(&o, "restore a path");
    assert!(
        String::from_utf8_lossy(&o.stdout).starts_with("restored 1 file (1 byte) of bk@"),
        "{}",
        text(&o)
    );
    let want: BTreeMap<_, _> = first
        .iter()
        .filter(|(p, _)| p.starts_with("sub/deep/"))
        .map(|(p, v)| (p.clone(), v.clone()))
        .collect();
    let got: BTreeMap<_, _> = state(&dest2)
        .into_iter()
        .filter(|(p, _)| p.starts_with("sub/deep/"))
        .collect();
    assert_eq!(got, want, "{}", text(&o));
    // and one file of it, with its mode and mtime
    let dest3 = here.join("restored_file");
    let o = srv.tf(&["restore", &format!("bk@{}", sn[0]), "sub/b.bin", s(&dest3)]);
    ok(&o, "restore a file");
    let got: BTreeMap<_, _> = state(&dest3)
        .into_iter()
        .filter(|(p, _)| p.ends_with("b.bin"))
        .collect();
    assert_eq!(got.keys().collect::<Vec<_>>(), [Path::new("sub/b.bin")], "{}", text(&o));
    assert_eq!(got.values().next(), first.get(Path::new("sub/b.bin")), "{}", text(&o));
    // a flipped byte on the server's disk is caught by restore's check
    fs::write(t2.join("sub/deep/c"), b"changeD c").unwrap();
    let o = srv.tf(&["restore", "bk", s(&here.join("bad"))]);
    assert!(!o.status.success(), "a corrupt snapshot restored silently");
    assert!(text(&o).contains("sub/deep/c"), "{}", text(&o));
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn a_killed_backup_leaves_no_complete_snapshot_and_the_next_run_completes() {
    let srv = Server::start();
    let here = tempdir("cli_snap_kill");
    let src = here.join("src");
    for i in 0..400 {
        write(
            &src.join(format!("d{}/f{i}", i % 10)),
            &pattern(20_000, i as u64),
            0o644,
            100,
        );
    }
    let mut killed = 0;
    for delay_ms in [30u64, 80, 150, 300] {
        let mut child = srv
            .tf_command(&["backup", s(&src), "bk"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
        for sn in snaps(&srv, "bk") {
            let tree = srv.path(&format!("bk/{sn}/tree"));
            assert!(srv.path(&format!("bk/{sn}/index")).exists(), "{sn} has no index");
            assert_eq!(state(&tree), state(&src), "{sn} looks complete and is not");
        }
    }
    assert!(killed > 0, "no run was killed mid-backup");
    let o = srv.tf(&["backup", s(&src), "bk"]);
    ok(&o, "backup after the kills");
    let sn = snaps(&srv, "bk");
    let last = srv.path(&format!("bk/{}/tree", sn.last().unwrap()));
    assert_eq!(state(&last), state(&src));
    let left: Vec<_> = fs::read_dir(srv.path("bk"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with(".part-"))
        .collect();
    assert!(left.is_empty(), "parts left: {left:?}");
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn prune_keeps_what_restics_rules_keep_and_a_dry_run_removes_nothing() {
    let srv = Server::start();
    let names = [
        "2026-01-01T010000.000Z",
        "2026-01-01T230000.000Z",
        "2026-01-05T010000.000Z",
        "2026-01-06T010000.000Z",
        "2026-02-03T010000.000Z",
        "2026-02-03T020000.000Z",
    ];
    for n in names {
        write(&srv.path(&format!("bk/{n}/tree/f")), n.as_bytes(), 0o644, 10);
        fs::write(srv.path(&format!("bk/{n}/index")), "tf-backup-index 1\n").unwrap();
    }
    // what an interrupted prune leaves: a snapshot already out of the list
    write(&srv.path("bk/.prune-2025-12-01T000000.000Z/tree/f"), b"x", 0o644, 10);
    let o = srv.tf(&["backup", "prune", "bk", "--keep-daily", "3", "--dry-run"]);
    ok(&o, "prune --dry-run");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("would remove 2026-01-01T010000.000Z"), "{out}");
    assert_eq!(snaps(&srv, "bk").len(), 6, "a dry run removed something");
    assert!(srv.path("bk/.prune-2025-12-01T000000.000Z").exists());
    let o = srv.tf(&["backup", "prune", "bk", "--keep-weekly", "2", "--keep-monthly", "2"]);
    ok(&o, "prune");
    assert_eq!(
        snaps(&srv, "bk"),
        ["2026-01-06T010000.000Z", "2026-02-03T020000.000Z"],
        "{}",
        text(&o)
    );
    let left: Vec<_> = fs::read_dir(srv.path("bk"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "the interrupted prune's leftover is removed: {left:?}");
    // no rule: refused in one sentence, nothing removed
    let o = srv.tf(&["backup", "prune", "bk"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("--keep-last"), "{}", text(&o));
    assert_eq!(snaps(&srv, "bk").len(), 2);
}

/// The next backup takes the previous snapshot's index from the copy this
/// machine kept, once the server's SHA-256 says it is the same, instead of
/// downloading it (5,000 files' index is most of a megabyte over the link):
/// the server's transfer log shows no download of it; without the copy
/// (another machine) it is downloaded, and the links are made either way.
#[test]
fn the_next_backup_reads_the_index_it_kept_not_the_servers() {
    let log = tempdir("cli_snap_xferlog").join("xfer.log");
    let srv = Server::start_with(&format!("xferlog {}\n", log.display()));
    let here = tempdir("cli_snap_index");
    let src = here.join("src");
    source(&src);
    ok(&srv.tf(&["backup", s(&src), "bk"]), "backup 1");
    ok(&srv.tf(&["backup", s(&src), "bk"]), "backup 2");
    let sn = snaps(&srv, "bk");
    let first_index = format!("/bk/{}/index", sn[0]);
    let fetched = crate::xferlog::moved(&log, &first_index, 0);
    assert!(fetched.is_empty(), "the kept index was downloaded: {fetched:?}");
    let same = |a: &str, b: &str| {
        let (x, y) = (
            srv.path(&format!("bk/{a}/tree/sub/b.bin")),
            srv.path(&format!("bk/{b}/tree/sub/b.bin")),
        );
        fs::metadata(x).unwrap().ino() == fs::metadata(y).unwrap().ino()
    };
    assert!(same(&sn[0], &sn[1]), "the unchanged file is linked");
    // without the kept copies the index comes from the server
    let state = tempdir("cli_snap_index_state");
    let o = srv
        .tf_command(&["backup", s(&src), "bk"])
        .env("XDG_STATE_HOME", &state)
        .output()
        .unwrap();
    ok(&o, "backup 3");
    let sn = snaps(&srv, "bk");
    let second_index = format!("/bk/{}/index", sn[1]);
    assert!(
        !crate::xferlog::moved(&log, &second_index, 0).is_empty(),
        "no index was downloaded"
    );
    assert!(same(&sn[1], &sn[2]), "the unchanged file is linked");
    let _ = fs::remove_dir_all(&here);
    let _ = fs::remove_dir_all(&state);
}

/// A file whose data changed travels as a delta against its copy in the
/// previous snapshot (issue 69), over a slow link where tf chooses deltas:
/// the server's transfer log shows TFDDELTAPUT moving a fraction of the
/// file; the previous snapshot keeps its own copy (bytes, mtime, inode) and
/// the new one holds the new bytes.
#[test]
fn a_changed_file_goes_as_a_delta_against_the_previous_snapshot() {
    let log = tempdir("cli_snap_delta_log").join("xfer.log");
    let srv = Server::start_with(&format!("xferlog {}\n", log.display()));
    let Some(link) = tfd_testkit::wan::SlowLink::to(&srv, 100, 10) else {
        return;
    };
    let here = tempdir("cli_snap_delta");
    let src = here.join("src");
    let old = pattern(4 << 20, 21);
    write(&src.join("big.bin"), &old, 0o644, 100);
    write(&src.join("small.txt"), b"small", 0o644, 100);
    // enough files for an index of more than 256 KiB
    for i in 0..3000 {
        write(
            &src.join(format!("many/{:02}/f{i}", i % 50)),
            format!("{i}").as_bytes(),
            0o644,
            100,
        );
    }
    ok(&link.tf(&srv, &["backup", s(&src), "bk"]), "backup 1");
    let first = state(&src);
    let first_index = fs::read(srv.path(&format!("bk/{}/index", snaps(&srv, "bk")[0]))).unwrap();
    let mut new = old.clone();
    new[1 << 20..(1 << 20) + 4096].copy_from_slice(&pattern(4096, 22));
    write(&src.join("big.bin"), &new, 0o644, 10);
    let seen = crate::xferlog::lines(&log);
    ok(&link.tf(&srv, &["backup", s(&src), "bk"]), "backup 2");
    let sn = snaps(&srv, "bk");
    let (b1, b2) = (
        srv.path(&format!("bk/{}/tree/big.bin", sn[0])),
        srv.path(&format!("bk/{}/tree/big.bin", sn[1])),
    );
    assert!(fs::read(&b1).unwrap() == old, "the first snapshot's copy changed");
    assert!(
        fs::read(&b2).unwrap() == new,
        "the second snapshot's copy is not the new file"
    );
    let (m1, m2) = (fs::metadata(&b1).unwrap(), fs::metadata(&b2).unwrap());
    assert_ne!(m1.ino(), m2.ino());
    assert_eq!(
        state(&srv.path(&format!("bk/{}/tree", sn[0]))),
        first,
        "the first snapshot is the tree as it was"
    );
    assert_eq!(m1.nlink(), 1, "the first snapshot's copy is still linked elsewhere");
    let text = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().skip(seen).filter(|l| l.contains("big.bin")).collect();
    assert!(
        lines.iter().any(|l| l.contains("TFDDELTAPUT")),
        "big.bin did not go as a delta: {lines:?}"
    );
    let moved = crate::xferlog::moved(&log, &format!("/bk/.part-{}/tree/big.bin", sn[1]), seen);
    assert!(
        moved.iter().all(|(_, bytes, _)| *bytes < 256 << 10),
        "most of big.bin crossed the link: {moved:?}"
    );
    assert_eq!(state(&srv.path(&format!("bk/{}/tree", sn[1]))), state(&src));
    // the index is kept compressed, a fraction of its text, and the
    // previous one stays
    let kept = fs::read(srv.path(&format!("bk/{}/index", sn[1]))).unwrap();
    let text = tfp_client::backup::index::text(&kept).unwrap().into_owned();
    assert!(text.len() > 256 << 10, "{}", text.len());
    assert!(
        tfp_wire::compress::whole::is_frame(&kept) && kept.len() < text.len() / 2,
        "the index is not kept compressed: {} bytes of {} of text",
        kept.len(),
        text.len()
    );
    let i1 = srv.path(&format!("bk/{}/index", sn[0]));
    assert!(
        fs::read(&i1).unwrap() == first_index,
        "the first snapshot's index changed"
    );
    assert_eq!(fs::metadata(&i1).unwrap().nlink(), 1);
    let o = link.tf(&srv, &["restore", &format!("bk@{}", sn[1]), s(&here.join("back"))]);
    ok(&o, "restore");
    assert_eq!(state(&here.join("back")), state(&src));
    let _ = fs::remove_dir_all(&here);
}
