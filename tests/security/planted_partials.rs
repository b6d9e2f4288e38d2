//! tf's own files in a directory others can write (issue 47, finding 4):
//! another local user plants `.NAME.tf-partial` (0666, held open, or with a
//! journal claiming what landed) in a shared non-sticky 0777 directory, with
//! fs.protected_regular off. `tf get` by a third user or by root must refuse
//! it with one sentence naming it, never write the download into it (the
//! planter would read every byte, and root would finish the download as the
//! planter's inode). Once alone, and raced: a planter looping against tf's
//! open.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use tfd_testkit::users::ensure_system_user;
use tfd_testkit::*;

/// The planter, and the user who downloads.
const PLANTER: &str = "tfdplant1";
const VICTIM: &str = "tfdplant2";

/// fs.protected_regular set to 0 while alive, the old value restored after.
struct Unprotected(String);

const SYSCTL: &str = "/proc/sys/fs/protected_regular";

impl Unprotected {
    fn new() -> Unprotected {
        let old = fs::read_to_string(SYSCTL).unwrap_or_else(|_| "0".into());
        let _ = fs::write(SYSCTL, "0");
        Unprotected(old.trim().to_string())
    }
}

impl Drop for Unprotected {
    fn drop(&mut self) {
        let _ = fs::write(SYSCTL, &self.0);
    }
}

/// Held by every test here: the sysctl is the host's.
fn sysctl_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// A shared directory as the attack has it: 0777, not sticky, below a
/// directory everyone can pass through.
fn shared_dir(tag: &str) -> PathBuf {
    let top = tempdir(tag);
    fs::set_permissions(&top, fs::Permissions::from_mode(0o755)).unwrap();
    let d = top.join("shared");
    fs::create_dir(&d).unwrap();
    fs::set_permissions(&d, fs::Permissions::from_mode(0o777)).unwrap();
    d
}

/// `tf get NAME TARGET [more]` as `who` (None: root).
fn get(srv: &Server, name: &str, target: &Path, more: &[&str], who: Option<(u32, u32)>) -> Output {
    let mut args = vec!["get", name, target.to_str().unwrap()];
    args.extend_from_slice(more);
    let mut c = Command::new(tf_bin_for_others());
    c.args(srv.tf_command(&args).get_args());
    if let Some((u, g)) = who {
        c.uid(u).gid(g);
    }
    c.stdin(Stdio::null()).output().unwrap()
}

fn plant(p: &Path, owner: (u32, u32), data: &[u8]) {
    fs::write(p, data).unwrap();
    nix::unistd::chown(p, Some(owner.0.into()), Some(owner.1.into())).unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(0o666)).unwrap();
}

#[test]
fn a_partial_another_user_planted_is_refused_never_written_through() {
    assert!(is_root(), "this test needs root: it creates system users");
    let _l = sysctl_lock();
    let _p = Unprotected::new();
    let planter = ensure_system_user(PLANTER, &[]);
    let victim = ensure_system_user(VICTIM, &[]);
    let srv = Server::start();
    let data = pattern(300_000, 47);
    fs::write(srv.path("f.bin"), &data).unwrap();
    let d = shared_dir("planted-partial");
    let target = d.join("f.bin");
    let partial = d.join(".f.bin.tf-partial");
    for (who, as_) in [("another user", Some(victim)), ("root", None)] {
        for resume in [false, true] {
            let what = format!("{who}, resume {resume}");
            plant(&partial, planter, b"");
            // the planter holds it open, to read what lands
            let held = fs::File::open(&partial).unwrap();
            if resume {
                // and a journal claiming nothing is wrong
                let j = d.join(".f.bin.tf-partial.journal");
                plant(&j, planter, b"tf-journal 1\n");
            }
            let more: &[&str] = if resume { &["--resume"] } else { &[] };
            let o = get(&srv, "f.bin", &target, more, as_);
            let e = String::from_utf8_lossy(&o.stderr);
            // first the harm itself: the planter's file got the download
            assert_eq!(
                held.metadata().unwrap().len(),
                0,
                "{what}: bytes written into the planted file: {e}"
            );
            assert!(!o.status.success(), "{what}: tf used the planted partial: {e}");
            assert!(
                e.contains(&partial.display().to_string())
                    && e.contains("refused")
                    && e.contains("owned by ")
                    && e.contains(" (uid "),
                "{what}: one sentence naming the partial and why: {e}"
            );
            assert_eq!(e.trim_end().lines().count(), 1, "{what}: {e}");
            assert_eq!(fs::metadata(&partial).unwrap().uid(), planter.0, "{what}");
            assert!(!target.exists(), "{what}: the planted inode became the target");
            let _ = fs::remove_file(d.join(".f.bin.tf-partial.journal"));
        }
    }
    // a planted file with our owner but others' bits, or a second link, is
    // refused too (root's case: a file root owns that others can write)
    fs::remove_file(&partial).unwrap();
    plant(&partial, (0, 0), b"");
    let o = get(&srv, "f.bin", &target, &[], None);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("mode 0666"));
    assert_eq!(fs::metadata(&partial).unwrap().len(), 0);
    // once it is gone, the download lands whole, the user's own
    fs::remove_file(&partial).unwrap();
    let o = get(&srv, "f.bin", &target, &[], Some(victim));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(fs::read(&target).unwrap() == data, "the download landed whole");
    assert_eq!(fs::metadata(&target).unwrap().uid(), victim.0);
    assert!(!partial.exists());
}

#[test]
fn a_planter_racing_tf_never_gets_a_byte() {
    assert!(is_root(), "this test needs root: it creates system users");
    let _l = sysctl_lock();
    let _p = Unprotected::new();
    let planter = ensure_system_user(PLANTER, &[]);
    let victim = ensure_system_user(VICTIM, &[]);
    let srv = Server::start();
    let data = pattern(2_000_000, 48);
    fs::write(srv.path("r.bin"), &data).unwrap();
    let d = shared_dir("planted-race");
    let target = d.join("r.bin");
    let leaks = d.parent().unwrap().join("leaks");
    fs::write(&leaks, b"").unwrap();
    nix::unistd::chown(&leaks, Some(planter.0.into()), None).unwrap();
    // the planter: over and over, reads what reached the file it holds open,
    // removes the name, plants a fresh 0666 one and holds it (`command`: a
    // name tf won meanwhile fails the open, not the shell)
    let script = format!(
        "cd '{}' && umask 0 && exec 3<>.r.bin.tf-partial; \
         while :; do n=$(wc -c <&3); [ \"$n\" -gt 0 ] && echo \"$n\" >>'{}'; \
         rm -f .r.bin.tf-partial; command exec 3<>.r.bin.tf-partial 2>/dev/null; done",
        d.display(),
        leaks.display()
    );
    // killed and reaped however the test ends: a planter left spinning after
    // a failed assertion held the test's stdout open, so the runner's pipe
    // never closed and the whole run waited for ever
    struct Planter(std::process::Child);
    impl Drop for Planter {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let planting = Planter(
        Command::new("sh")
            .args(["-c", &script])
            .uid(planter.0)
            .gid(planter.1)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut landed = 0;
    for i in 0..12 {
        let who = if i % 2 == 0 { Some(victim) } else { None };
        let _ = fs::remove_file(&target);
        let o = get(&srv, "r.bin", &target, &[], who);
        let e = String::from_utf8_lossy(&o.stderr);
        if o.status.success() {
            // a success is the download itself, the user's inode
            let got = fs::read(&target).unwrap();
            assert!(
                got == data,
                "run {i}: tf said it landed but the target holds {} other bytes",
                got.len()
            );
            let m = fs::metadata(&target).unwrap();
            assert_eq!(m.uid(), who.map_or(0, |w| w.0), "run {i}: {e}");
            landed += 1;
        } else {
            // a run whose rename the planter foiled keeps its journal, so the
            // next run may first say it discards that partial: a notice, not
            // the failure, which must be one sentence
            let failure = e
                .trim_end()
                .lines()
                .filter(|l| !l.ends_with("is discarded (--resume continues one)"))
                .count();
            assert_eq!(failure, 1, "run {i}: one sentence: {e}");
        }
    }
    drop(planting);
    let leaked = fs::read_to_string(&leaks).unwrap();
    assert!(
        leaked.is_empty(),
        "bytes of the download reached the planter's files: {leaked}"
    );
    eprintln!("{landed} of 12 downloads landed while the planter raced");
}
