//! `tf backup verify` (issue 69) through the real binary against a real
//! tfd: an intact snapshot is proven held; bytes flipped and a file removed
//! on the server's disk are named, exit 1; `--sample` asks a part; each
//! verify spends a fresh key (kept 0600 in tf's state directory), and a
//! hostile server at the same address answering with an answer of an
//! earlier verify is caught, while the same server answering the fresh
//! key's HMAC passes (so the catch is the key's doing). Keys spent, and no
//! proofs on this machine, fall back to SHA-256 and say it is weaker; a
//! prune removes the proofs of what it removes. A NAME holding '@' is
//! refused in one sentence.

use crate::output::{ok, stderr, stdout, text};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tfd_testkit::liar::{Liar, Script};
use tfd_testkit::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn put(p: &Path, data: &[u8]) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, data).unwrap();
}

/// The one complete snapshot below the server's `name`.
fn only_snap(srv: &Server, name: &str) -> String {
    let v: Vec<String> = fs::read_dir(srv.path(name))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(v.len(), 1, "{v:?}");
    v[0].clone()
}

/// tf's state directory for `srv`'s runs.
pub(crate) fn state_dir(srv: &Server) -> PathBuf {
    let c = srv.tf_command(&[]);
    let (_, v) = c
        .get_envs()
        .find(|(k, _)| *k == "XDG_STATE_HOME")
        .expect("the kit sets XDG_STATE_HOME");
    PathBuf::from(v.unwrap()).join("tf/backups")
}

/// The one snapshot's proofs file below `dir` (beside it, the snapshot's
/// index kept for the next backup, and once a verify spent a key the
/// name's ledger of spent keys, which proves no file).
fn proofs_file(dir: &Path) -> PathBuf {
    let files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension() != Some(std::ffi::OsStr::new("index")))
        .filter(|p| fs::read_to_string(p).unwrap().contains("\nfile "))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// The keys of the one proofs file below `dir`: (key, spent).
fn keys(dir: &Path) -> Vec<([u8; 32], bool)> {
    fs::read_to_string(proofs_file(dir))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("key "))
        .map(|l| {
            let (spent, k) = l.split_once(' ').unwrap();
            let k = tfp_wire::hex::decode(k).unwrap().try_into().unwrap();
            (k, spent == "1")
        })
        .collect()
}

fn hmac(key: &[u8; 32], data: &[u8]) -> String {
    let mut h = tfp_wire::prove::Hasher::new(&tfp_wire::prove::Key::Hmac(*key)).unwrap();
    h.update(data).unwrap();
    tfp_wire::hex::encode(&h.finish().unwrap())
}

#[test]
fn verify_proves_an_intact_snapshot_and_names_what_the_server_lost() {
    let srv = Server::start();
    let here = tempdir("cli_snap_verify");
    let src = here.join("src");
    put(&src.join("a.txt"), b"alpha");
    put(&src.join("sub/b.bin"), &pattern(300_000, 2));
    put(&src.join("sub/c"), b"c");
    put(&src.join("odd name"), b"odd");
    ok(&srv.tf(&["backup", s(&src), "bk"]), "backup");
    let snap = only_snap(&srv, "bk");
    // a snapshot the backup does not have is named in words (issue 88: a
    // raw `RCVFILE: FAILED 9`), and no key is spent on it
    let o = srv.tf(&["backup", "verify", "bk@20000101T000000Z"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(stderr(&o), "tf: bk has no snapshot 20000101T000000Z\n", "{}", text(&o));
    let o = srv.tf(&["backup", "verify", "bk"]);
    ok(&o, "verify of an intact snapshot");
    assert!(
        stdout(&o).contains(&format!("bk@{snap}: 4 files held as backed up (a fresh key; 7 left)")),
        "{}",
        text(&o)
    );
    // the proofs: a private file in a private directory
    let dir = state_dir(&srv);
    assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    let f = proofs_file(&dir);
    assert_eq!(fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
    // a byte flipped on the server's disk, a file removed
    let tree = srv.path(&format!("bk/{snap}/tree"));
    let mut b = fs::read(tree.join("sub/b.bin")).unwrap();
    b[150_000] ^= 0x01;
    fs::write(tree.join("sub/b.bin"), &b).unwrap();
    fs::remove_file(tree.join("a.txt")).unwrap();
    let o = srv.tf(&["backup", "verify", &format!("bk@{snap}")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let e = stderr(&o);
    assert!(e.contains("sub/b.bin is not the file backed up"), "{e}");
    assert!(e.contains("a.txt is missing on the server"), "{e}");
    assert!(e.contains("2 of 4 files are not held"), "{e}");
    assert!(!e.contains("sub/c") && !e.contains("odd"), "{e}");
    // each verify spent its own key
    let k = keys(&dir);
    assert_eq!(k.iter().filter(|(_, sp)| *sp).count(), 2, "{k:?}");
    // a proofs file others can read is refused, not used
    fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
    let o = srv.tf(&["backup", "verify", "bk"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stderr(&o).contains("chmod go-rwx"), "{}", text(&o));
    assert_eq!(keys(&dir).iter().filter(|(_, sp)| *sp).count(), 2);
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn sample_asks_a_part_and_spent_keys_or_no_proofs_fall_back_to_a_weaker_check() {
    let srv = Server::start();
    let here = tempdir("cli_snap_verify_sample");
    let src = here.join("src");
    for i in 0..20 {
        put(&src.join(format!("f{i:02}")), &pattern(1000 + i, i as u64));
    }
    ok(&srv.tf(&["backup", s(&src), "bk"]), "backup");
    let snap = only_snap(&srv, "bk");
    for (n, left) in [(25, 7), (1, 6), (100, 5)] {
        let o = srv.tf(&["backup", "verify", "bk", "--sample", &n.to_string()]);
        ok(&o, "verify --sample");
        let want = [5, 1, 20][7 - left];
        assert!(
            stdout(&o).contains(&format!(": {want} files held as backed up (a fresh key; {left} left)")),
            "--sample {n}: {}",
            text(&o)
        );
    }
    let o = srv.tf(&["backup", "verify", "bk", "--sample", "0"]);
    assert!(!o.status.success(), "{}", text(&o));
    for _ in 0..5 {
        ok(&srv.tf(&["backup", "verify", "bk"]), "verify");
    }
    // every key spent: said, and the weaker check made
    let o = srv.tf(&["backup", "verify", "bk"]);
    ok(&o, "verify with every key spent");
    assert!(stderr(&o).contains("every key of"), "{}", text(&o));
    assert!(
        stdout(&o).contains("20 files held as backed up (SHA-256 only, a weaker check)"),
        "{}",
        text(&o)
    );
    let tree = srv.path(&format!("bk/{snap}/tree"));
    fs::write(tree.join("f03"), b"other bytes").unwrap();
    let o = srv.tf(&["backup", "verify", "bk"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stderr(&o).contains("f03 is not the file backed up"), "{}", text(&o));
    // no proofs here (backed up from another machine): said, weaker check
    let elsewhere = here.join("other-state");
    let o = srv
        .tf_command(&["backup", "verify", "bk"])
        .env("XDG_STATE_HOME", &elsewhere)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stderr(&o).contains("holds no proofs for bk@"), "{}", text(&o));
    assert!(stderr(&o).contains("f03 is not the file backed up"), "{}", text(&o));
    fs::remove_file(tree.join("f03")).unwrap();
    fs::write(tree.join("f03"), pattern(1003, 3)).unwrap();
    let o = srv
        .tf_command(&["backup", "verify", "bk"])
        .env("XDG_STATE_HOME", &elsewhere)
        .output()
        .unwrap();
    ok(&o, "verify without proofs");
    assert!(stdout(&o).contains("SHA-256 only, a weaker check"), "{}", text(&o));
    // a snapshot pruned takes its proofs with it
    let proofs = state_dir(&srv);
    // its proofs, its index kept for the next backup, the name's ledger
    assert_eq!(fs::read_dir(&proofs).unwrap().count(), 3);
    ok(&srv.tf(&["backup", "prune", "bk", "--keep-last", "0"]), "prune");
    // the ledger of spent keys stays: a key it lists never proves again
    let left: Vec<_> = fs::read_dir(&proofs).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(left.len(), 1, "the pruned snapshot's proofs stayed: {left:?}");
    assert!(!fs::read_to_string(&left[0]).unwrap().contains("\nfile "));
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn a_server_answering_from_an_earlier_verify_is_caught() {
    let mut srv = Server::start();
    let here = tempdir("cli_snap_verify_replay");
    let src = here.join("src");
    let data = pattern(5000, 9);
    put(&src.join("only"), &data);
    ok(&srv.tf(&["backup", s(&src), "bk"]), "backup");
    let snap = only_snap(&srv, "bk");
    ok(&srv.tf(&["backup", "verify", "bk"]), "first verify");
    let dir = state_dir(&srv);
    let k = keys(&dir);
    let (first, _) = k.iter().find(|(_, sp)| *sp).copied().unwrap();
    let (second, _) = k.iter().find(|(_, sp)| !*sp).copied().unwrap();
    // the server is replaced by one at its address that keeps answers, not data
    let addr = srv.addr();
    srv.stop();
    let state = dir.parent().unwrap().parent().unwrap().to_path_buf();
    let verify = |answer: String| {
        let liar = Liar::start_at(Script::new().answer("TFDHMAC", format!("OK {answer}")), &addr);
        let o = liar
            .tf_command(&["backup", "verify", &format!("bk@{snap}")])
            .env("XDG_STATE_HOME", &state)
            .output()
            .unwrap();
        let asked: Vec<String> = liar
            .requests()
            .iter()
            .filter(|r| r.starts_with(b"TFDHMAC "))
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect();
        (o, asked)
    };
    // the first verify's answer, replayed
    let (o, asked) = verify(hmac(&first, &data));
    assert_eq!(o.status.code(), Some(1), "a replayed answer passed: {}", text(&o));
    assert!(stderr(&o).contains("only is not the file backed up"), "{}", text(&o));
    assert_eq!(asked.len(), 1, "{asked:?}");
    let sent_key = asked[0].split(' ').nth(1).unwrap().to_string();
    assert_eq!(
        sent_key,
        tfp_wire::hex::encode(&second),
        "the next unspent key was asked"
    );
    assert_ne!(sent_key, tfp_wire::hex::encode(&first));
    // the control: the same server answering the fresh key's HMAC passes
    let third = keys(&dir).iter().find(|(_, sp)| !*sp).copied().unwrap().0;
    let (o, asked) = verify(hmac(&third, &data));
    ok(&o, "the fresh key's answer");
    assert!(asked[0].contains(&tfp_wire::hex::encode(&third)), "{asked:?}");
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn a_name_holding_an_at_sign_is_refused() {
    let srv = Server::start();
    let here = tempdir("cli_snap_at");
    put(&here.join("src/f"), b"f");
    let o = srv.tf(&["backup", s(&here.join("src")), "my@bk"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        stderr(&o).contains("a backup's name cannot hold '@' (my@bk): NAME@SNAPSHOT names a snapshot"),
        "{}",
        text(&o)
    );
    assert!(!srv.path("my@bk").exists(), "something was made on the server");
    let _ = fs::remove_dir_all(&here);
}
