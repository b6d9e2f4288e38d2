//! A daily `tf backup` reads only what changed (issue 69): the next
//! snapshot carries the previous one's unspent keys, and each unchanged
//! file's SHA-256 and HMACs under them, from this machine's proofs, so it
//! reads no file the quick check (size, mtime, mode, owner: rsync's) says
//! is unchanged. Snapshots sharing keys spend them together: a key one
//! verify sent is never sent again for another snapshot (the name's ledger
//! of spent keys, kept 0600 beside the proofs). Fewer than four unspent
//! keys left: the next snapshot draws new ones.

use crate::cli_snap_verify::state_dir;
use crate::output::{ok, stdout, text};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};
use tfd_testkit::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The complete snapshots of `name`, oldest first.
fn snaps(srv: &Server, name: &str) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(srv.path(name))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.'))
        .collect();
    v.sort();
    v
}

/// The keys (key, spent) of `snap`'s proofs file: the one whose `for`
/// line names it.
fn keys_of(srv: &Server, snap: &str) -> Vec<(String, bool)> {
    for e in fs::read_dir(state_dir(srv)).unwrap() {
        let text = fs::read_to_string(e.unwrap().path()).unwrap_or_default();
        let Some(id) = text.lines().find_map(|l| l.strip_prefix("for ")) else {
            continue;
        };
        let id = tfp_wire::hex::decode(id).unwrap();
        if id.ends_with(format!("\n{snap}").as_bytes()) {
            return text
                .lines()
                .filter_map(|l| l.strip_prefix("key "))
                .map(|l| {
                    let (spent, k) = l.split_once(' ').unwrap();
                    (k.to_string(), spent == "1")
                })
                .collect();
        }
    }
    panic!("no proofs for {snap}");
}

fn spent(k: &[(String, bool)]) -> BTreeSet<String> {
    k.iter().filter(|(_, s)| *s).map(|(k, _)| k.clone()).collect()
}

/// The index line of `rel` in the server's snapshot.
fn index_line(srv: &Server, snap: &str, rel: &str) -> String {
    let hex = tfp_wire::hex::encode(rel.as_bytes());
    let kept = fs::read(srv.path(&format!("bk/{snap}/index"))).unwrap();
    String::from_utf8(tfp_client::backup::index::text(&kept).unwrap().into_owned())
        .unwrap()
        .lines()
        .find(|l| l.ends_with(&format!(" {hex}")))
        .unwrap()
        .to_string()
}

#[test]
fn the_next_backup_carries_keys_and_proofs_and_spends_shared_keys_together() {
    let srv = Server::start();
    let here = tempdir("cli_snap_keys");
    let src = here.join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    // files last changed an hour ago: the quick check trusts them (one
    // changed within a second of the previous run's start is read again)
    let old = SystemTime::now() - Duration::from_secs(3600);
    for i in 0..20 {
        let f = src.join(format!("d/f{i:02}"));
        fs::write(&f, pattern(2000 + i, i as u64)).unwrap();
        fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    ok(&srv.tf(&["backup", s(&src), "bk"]), "first backup");
    // a file changed; another's bytes changed behind the quick check's
    // back (same size, its mtime put back), which rsync does not read
    // either: the proofs it carries must be the old bytes', which the
    // server keeps (the old file is linked into the new snapshot)
    fs::write(src.join("d/f00"), b"changed").unwrap();
    let sly = src.join("d/f01");
    let was = fs::metadata(&sly).unwrap().modified().unwrap();
    fs::write(&sly, pattern(2001, 99)).unwrap();
    fs::File::options()
        .write(true)
        .open(&sly)
        .unwrap()
        .set_modified(was)
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    ok(&srv.tf(&["backup", s(&src), "bk"]), "second backup");
    let v = snaps(&srv, "bk");
    assert_eq!(v.len(), 2, "{v:?}");
    let (k1, k2) = (keys_of(&srv, &v[0]), keys_of(&srv, &v[1]));
    assert_eq!(k1.len(), 8);
    assert_eq!(k1, k2, "the second snapshot carries the first one's keys");
    // f01 was not read: its line is the first snapshot's
    assert_eq!(index_line(&srv, &v[0], "d/f01"), index_line(&srv, &v[1], "d/f01"));
    assert_ne!(index_line(&srv, &v[0], "d/f00"), index_line(&srv, &v[1], "d/f00"));
    // both prove held
    for snap in &v {
        let o = srv.tf(&["backup", "verify", &format!("bk@{snap}")]);
        ok(&o, "verify");
        assert!(
            stdout(&o).contains("20 files held as backed up (a fresh key"),
            "{}",
            text(&o)
        );
    }
    // the key the first verify sent was not sent again by the second
    let (s1, s2) = (spent(&keys_of(&srv, &v[0])), spent(&keys_of(&srv, &v[1])));
    assert_eq!(s1.len(), 1);
    assert_eq!(s2.len(), 2, "the second verify spent the first one's key too");
    assert!(s1.is_subset(&s2));
    // and the next verify of the first snapshot skips the second one's
    ok(&srv.tf(&["backup", "verify", &format!("bk@{}", v[0])]), "verify");
    let s1 = spent(&keys_of(&srv, &v[0]));
    assert_eq!(s1.len(), 3, "{s1:?}");
    // a byte flipped in a file both snapshots share (one inode) is named in both
    let shared = srv.path(&format!("bk/{}/tree/d/f05", v[1]));
    let mut b = fs::read(&shared).unwrap();
    b[7] ^= 1;
    fs::write(&shared, &b).unwrap();
    for snap in &v {
        let o = srv.tf(&["backup", "verify", &format!("bk@{snap}")]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).contains("d/f05 is not the file backed up"), "{}", text(&o));
    }
    b[7] ^= 1;
    fs::write(&shared, &b).unwrap();
    // fewer than four unspent: the next snapshot draws new keys
    for _ in 0..2 {
        ok(&srv.tf(&["backup", "verify", &format!("bk@{}", v[1])]), "verify");
    }
    assert!(keys_of(&srv, &v[1]).iter().filter(|(_, s)| !s).count() < 4);
    fs::write(src.join("d/f02"), b"changed too").unwrap();
    ok(&srv.tf(&["backup", s(&src), "bk"]), "third backup");
    let v = snaps(&srv, "bk");
    let k3: BTreeSet<String> = keys_of(&srv, &v[2]).into_iter().map(|(k, _)| k).collect();
    let k2: BTreeSet<String> = keys_of(&srv, &v[1]).into_iter().map(|(k, _)| k).collect();
    assert_eq!(k3.len(), 8);
    assert!(k3.is_disjoint(&k2), "new keys");
    let o = srv.tf(&["backup", "verify", "bk"]);
    ok(&o, "verify of the third");
    let _ = fs::remove_dir_all(&here);
}
