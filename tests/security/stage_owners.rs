//! Staged uploads belong to their owner (issue 47): a stage another account
//! planted is never written through, a commit never trusts a hash another
//! writer invalidated, a quiet stage's follower does not poll, and an owner
//! sees and removes her own stages, and no one else's.

use super::control_and_files::{alice, alice_server, said, PW};
use std::io::Read;
use std::time::{Duration, Instant};
use tfd_testkit::{self, *};

/// `fs.protected_regular` set to `v` until dropped (then the old value back).
pub struct ProtectedRegular(String);

impl ProtectedRegular {
    pub fn set(v: &str) -> ProtectedRegular {
        let p = "/proc/sys/fs/protected_regular";
        let old = std::fs::read_to_string(p).unwrap().trim().to_string();
        std::fs::write(p, v).unwrap();
        ProtectedRegular(old)
    }
}

impl Drop for ProtectedRegular {
    fn drop(&mut self) {
        let _ = std::fs::write("/proc/sys/fs/protected_regular", &self.0);
    }
}

/// The stage name tfd computes for `name` of `uid` (anyone can).
fn stage_name(uid: u32, name: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(uid.to_be_bytes());
    h.update(name.as_bytes());
    let d = h.finalize();
    format!(
        ".tfd-part-s{}",
        d[..8].iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// A file `at`, 0666, owned by `uid` (another local account planted it),
/// made aside and renamed in (replacing what is there); held open.
fn plant_file(at: &std::path::Path, uid: u32, n: u32) -> Option<std::fs::File> {
    use std::os::unix::fs::PermissionsExt;
    let aside = at.with_file_name(format!(".planting-{n}"));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&aside)
        .ok()?;
    f.set_permissions(std::fs::Permissions::from_mode(0o666)).ok()?;
    nix::unistd::fchown(std::os::fd::AsRawFd::as_raw_fd(&f), Some(uid.into()), Some(uid.into())).ok()?;
    std::fs::rename(&aside, at).ok()?;
    Some(f)
}

/// Finding 3: another local account computes alice's stage name for a target
/// in a directory it can write, plants it empty and 0666, and alice's bytes
/// landed in its file (TFDSTAGE answered OK 0). Now a planted stage is
/// refused, naming the reason, and nothing of alice's reaches it: in a 0777
/// directory and in a sticky 1777 one (fs.protected_regular=0), once planted
/// before the upload, then with a planter replacing the stage's name in a loop
/// while alice uploads.
#[test]
fn a_stage_another_account_planted_is_never_written_through() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    assert!(is_root(), "this test needs root (system users, LOGIN)");
    let (tb, _) = tfd_testkit::users::ensure_system_user("tfdr3b", &[]);
    let (srv, uid, _, home) = alice_server("tfdr3a", "");
    let _pr = ProtectedRegular::set("0");
    let src = tfd_testkit::tempdir("r3-src").join("src.bin");
    let data = pattern(3 << 20, 47);
    std::fs::write(&src, &data).unwrap();
    let put = |c: &mut tfp_client::Client, remote: &str| {
        let req = tfp_client::engine::staged::Request {
            local: &src,
            remote: remote.as_bytes(),
            streams: 1,
            bufsz: 1 << 20,
            resume: true,
            overwrite: true,
            attrs: None,
            compress: None,
        };
        tfp_client::engine::staged::put(c, &srv.client_config(), &req, &Default::default())
    };
    for (sub, mode) in [("open", 0o777), ("sticky", 0o1777)] {
        let shared = home.join(sub);
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(mode)).unwrap();
        let planted_at = shared.join(stage_name(uid, "f.bin"));
        let planted = plant_file(&planted_at, tb, 0).unwrap();
        let mut c = alice(&srv);
        let r = put(&mut c, &format!("alice/{sub}/f.bin"));
        assert_eq!(
            planted.metadata().unwrap().len(),
            0,
            "alice's bytes reached the planted stage ({sub})"
        );
        let e = r.expect_err("a staged upload through a planted stage succeeded");
        assert!(e.to_string().contains("not made by tfd"), "{sub}: {e}");
        assert!(!shared.join("f.bin").exists());
        assert_eq!(
            std::fs::metadata(&planted_at).unwrap().uid(),
            tb,
            "the planted file is left alone"
        );
        std::fs::remove_file(&planted_at).unwrap();
        // raced: the planter replaces the stage's name in a loop, holding
        // every file it planted open; alice uploads again and again
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let planter = {
            let (stop, at) = (stop.clone(), planted_at.clone());
            std::thread::spawn(move || {
                let mut held = Vec::new();
                let mut n = 1;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && held.len() < 2000 {
                    if let Some(f) = plant_file(&at, tb, n) {
                        held.push(f);
                    }
                    n += 1;
                    std::thread::sleep(Duration::from_millis(2));
                }
                held
            })
        };
        let (mut ok, mut refused) = (0, 0);
        for i in 0..12 {
            let remote = format!("alice/{sub}/f.bin");
            match put(&mut c, &remote) {
                Ok(_) => {
                    ok += 1;
                    let m = std::fs::metadata(shared.join("f.bin")).unwrap();
                    assert_eq!(m.uid(), uid, "round {i}: the committed file is not alice's");
                    assert_eq!(std::fs::read(shared.join("f.bin")).unwrap(), data);
                }
                Err(e) => {
                    refused += 1;
                    let t = e.to_string();
                    assert!(
                        t.contains("not made by tfd") || t.contains("TFDSTAGE"),
                        "round {i}: {t}"
                    );
                    c = alice(&srv);
                }
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let held = planter.join().unwrap();
        assert!(held.len() > 10, "the planter planted {} files", held.len());
        for f in &held {
            assert_eq!(
                f.metadata().unwrap().len(),
                0,
                "alice's bytes reached a planted file ({sub})"
            );
        }
        assert!(refused > 0, "{ok} ok, {refused} refused");
        let _ = std::fs::remove_file(&planted_at);
    }
}

/// One TFDSTAGEPUT of `data` at `at` into the stage of `remote`: the
/// status of its extra frame.
fn stage_put(c: &mut tfp_client::Client, remote: &str, at: u64, data: &[u8]) -> tfp_wire::Status {
    c.put_as(
        "TFDSTAGEPUT",
        remote.as_bytes(),
        at,
        1 << 20,
        &mut &data[..],
        &mut |_| {},
    )
    .unwrap();
    tfp_wire::Status::parse(&c.chan.rx.recv_frame().unwrap())
}

fn sha_text(data: &[u8]) -> String {
    use sha2::Digest;
    format!("0x{}", hex_of(&sha2::Sha256::digest(data)))
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Finding 6: two sessions of one user on one stage; session 2 rewrote a
/// range session 1 had already hashed in flight, and session 1's
/// TFDSTAGEDONE with the hash of its own data answered OK and installed
/// session 2's. Now a rewrite voids every hash taken before it: the commit
/// reads the stage back, finds the mismatch, and installs nothing. Also
/// raced: session 2 rewrites while session 1 is still sending.
#[test]
fn a_commit_never_trusts_a_hash_another_writer_invalidated() {
    assert!(is_root(), "this test needs root (system users, LOGIN)");
    let (srv, ..) = alice_server("tfdr3a", "");
    let size = 4 << 20;
    let (d1, d2) = (pattern(size, 61), pattern(size, 62));
    for (round, raced) in [(0, false), (1, true)] {
        let remote = format!("alice/six-{round}.bin");
        let mut c1 = alice(&srv);
        let mut c2 = alice(&srv);
        assert_ok(
            c1.call("TFDSTAGE", format!("{size} six{round} 1 {remote}").as_bytes())
                .unwrap(),
        );
        if raced {
            let (r2, d2b) = (remote.clone(), d2.clone());
            let t = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                stage_put(&mut c2, &r2, 0, &d2b)
            });
            assert_ok(stage_put(&mut c1, &remote, 0, &d1));
            assert_ok(t.join().unwrap());
        } else {
            assert_ok(stage_put(&mut c1, &remote, 0, &d1));
            assert_ok(stage_put(&mut c2, &remote, 0, &d2));
        }
        let st = c1
            .call("TFDSTAGEDONE", format!("{} 1 {remote}", sha_text(&d1)).as_bytes())
            .unwrap();
        let target = srv.data.join(&remote);
        match std::fs::read(&target) {
            // what the stage held when committed was session 1's after all
            Ok(got) => {
                assert!(ok(&st), "round {round}: {st:?}");
                assert!(
                    got == d1,
                    "round {round}: TFDSTAGEDONE {st:?} installed bytes that are not D1"
                );
            }
            Err(_) => assert!(
                matches!(&st, tfp_wire::Status::Failed(_, t) if t.contains("SHA-256 mismatch")),
                "round {round}: {st:?}"
            ),
        }
        if !raced {
            assert!(!target.exists(), "round {round}: D2 installed under D1's hash");
        }
    }
}

/// The voluntary context switches of `pid`'s thread named `name`.
fn thread_switches(pid: i32, name: &str) -> Option<u64> {
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim() == name {
            let status = std::fs::read_to_string(t.path().join("status")).ok()?;
            return status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse().ok());
        }
    }
    None
}

/// Finding 9: a session that sent one piece of a big stage and went quiet
/// left its follower thread polling the journal every 5 ms for a minute
/// (40 such sessions: 31,000 wake-ups in 4 s). It now naps longer and longer
/// while nothing comes (to 200 ms): over 2 quiet seconds its thread wakes a
/// few dozen times at most, not ~400. A count, not a timing.
#[test]
fn a_quiet_stage_follower_does_not_poll() {
    assert!(is_root(), "this test needs root (system users, LOGIN)");
    let (srv, ..) = alice_server("tfdr3a", "");
    let mut c = alice(&srv);
    let size = 64u64 << 20;
    assert_ok(
        c.call("TFDSTAGE", format!("{size} quiet 1 alice/quiet.bin").as_bytes())
            .unwrap(),
    );
    assert_ok(stage_put(&mut c, "alice/quiet.bin", 0, &pattern(1 << 20, 9)));
    let pid = srv.session_pid();
    let deadline = Instant::now() + Duration::from_secs(10);
    let first = loop {
        if let Some(n) = thread_switches(pid, "stage-hash") {
            break n;
        }
        assert!(Instant::now() < deadline, "no stage-hash thread in session {pid}");
        std::thread::sleep(Duration::from_millis(20));
    };
    // let it catch up and settle into its naps
    std::thread::sleep(Duration::from_secs(2));
    let a = thread_switches(pid, "stage-hash").unwrap_or(first);
    std::thread::sleep(Duration::from_secs(2));
    let b = thread_switches(pid, "stage-hash").expect("the follower ended early");
    assert!(b - a < 60, "the quiet follower woke {} times in 2 s", b - a);
    // and the session still commits what it has when the rest comes
    assert_eq!(c.raw(b"ECHO still").unwrap(), b"still");
}

/// A file of `data` at `at`, owned by `uid`:`gid` (alice's own, made aside).
pub(super) fn file_of(at: &std::path::Path, data: &[u8], uid: u32, gid: u32) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::fs::write(at, data).unwrap();
    nix::unistd::chown(at, Some(uid.into()), Some(gid.into())).unwrap();
}

pub(super) const MIB: usize = 1 << 20;

/// `tf --user LOGIN ARGS` against `srv`.
pub(super) fn tf_as(srv: &Server, login: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--user", login];
    all.extend_from_slice(args);
    srv.tf_command(&all)
        .env("TF_PASSWORD", PW)
        .env_remove("TF_USER")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// Leaves an abandoned stage of `remote` (`size` bytes, `have` of them
/// written) in a session of `login` that then ends; returns the stage's path
/// on disk.
fn abandon_stage(srv: &Server, login: &str, uid: u32, remote: &str, size: usize, have: usize) -> std::path::PathBuf {
    let mut c = srv.client();
    assert_ok(c.call("LOGIN", format!("{login} {PW}").as_bytes()).unwrap());
    assert_ok(
        c.call("TFDSTAGE", format!("{size} abandoned 1 {remote}").as_bytes())
            .unwrap(),
    );
    assert_ok(stage_put(&mut c, remote, 0, &pattern(have, 90)));
    let _ = c.end();
    let (dir, name) = remote.rsplit_once('/').unwrap();
    let at = srv.data.join(dir).join(stage_name(uid, name));
    assert!(at.exists(), "the stage of {remote} is at {}", at.display());
    at
}

/// Finding 8: an abandoned stage counted in alice's `tf df`, but `tf ls -la`
/// did not show it, `tf rm` of it said access denied, and only the sweeper
/// removed it 2 days later. Now `ls -a` shows her own stages as what they are
/// (a stage of NAME, bytes written of size), `tf stages` lists them with the
/// bytes the quota counts (the same as `tf df`), and `tf rm` of one, `tf
/// stages --discard TARGET` and `--discard --all` remove them. Another user
/// (bob, in a shared sticky directory) sees none of hers, and neither his
/// `rm` nor his `--discard` removes one; a file named as a stage that does
/// not bear tfd's mark is neither listed nor removed.
#[test]
fn stages_are_visible_and_removable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    assert!(is_root(), "this test needs root (system users, LOGIN)");
    let (ua, ga) = tfd_testkit::users::ensure_system_user("tfdr3a", &[]);
    let (ub, _) = tfd_testkit::users::ensure_system_user("tfdr3b", &[]);
    let f = tfd_testkit::tempdir("r3-eight-userdb").join("userdb");
    let f = f.to_str().unwrap().to_string();
    tfd_testkit::users::userdb_add(&f, "alice", "tfdr3a", PW, &["--quota", "104857600"]);
    tfd_testkit::users::userdb_add(&f, "bob", "tfdr3b", PW, &[]);
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\n"),
        default_user: false,
        ..Opts::default()
    });
    let home = srv.data.join("alice");
    std::fs::create_dir_all(&home).unwrap();
    nix::unistd::chown(&home, Some(ua.into()), Some(ga.into())).unwrap();
    let shared = srv.data.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let a_big = abandon_stage(&srv, "alice", ua, "alice/big.bin", 3 * MIB, MIB);
    let a_shared = abandon_stage(&srv, "alice", ua, "shared/x.bin", 2 * MIB, MIB / 2);
    let b_shared = abandon_stage(&srv, "bob", ub, "shared/y.bin", MIB, 4096);
    // a file of alice's named as a stage, but not tfd's
    let fake = home.join(".tfd-part-s0000000000000000");
    file_of(&fake, b"not a stage", ua, ga);
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o600)).unwrap();
    let name = |p: &std::path::Path| p.file_name().unwrap().to_str().unwrap().to_string();

    // ls -a shows her stage as what it is; bob's ls -a of shared shows only his
    let o = tf_as(&srv, "alice", &["ls", "-la", "alice"]);
    assert!(o.status.success(), "{}", said(&o));
    let want = format!(
        "{} (stage of alice/big.bin: {} of {} bytes written",
        name(&a_big),
        MIB,
        3 * MIB
    );
    assert!(said(&o).contains(&want), "tf ls -la alice:\n{}", said(&o));
    assert!(!said(&o).contains(&name(&fake)), "{}", said(&o));
    let o = tf_as(&srv, "bob", &["ls", "-a", "shared"]);
    assert!(said(&o).contains(&name(&b_shared)), "{}", said(&o));
    assert!(
        !said(&o).contains(&name(&a_shared)),
        "bob sees alice's stage: {}",
        said(&o)
    );

    // tf stages lists both of hers, with what tf df counts
    let o = tf_as(&srv, "alice", &["stages"]);
    assert!(o.status.success(), "{}", said(&o));
    let out = said(&o);
    assert!(
        out.contains("stage of alice/big.bin") && out.contains("stage of shared/x.bin"),
        "{out}"
    );
    assert!(!out.contains("y.bin") && !out.contains(&name(&fake)), "{out}");
    let counted = std::fs::metadata(&a_big).unwrap().len() + std::fs::metadata(&a_shared).unwrap().len();
    assert!(out.contains(&format!("2 stages, {counted} bytes counted")), "{out}");
    // tf df counts them, and alice's other file (the fake)
    let fake_len = std::fs::metadata(&fake).unwrap().len();
    let o = tf_as(&srv, "alice", &["df", "--raw"]);
    assert!(
        said(&o).contains(&format!("quota      {} used", counted + fake_len)),
        "tf df: {}",
        said(&o)
    );

    // bob can remove none of hers, nor the fake
    let theirs = format!("shared/{}", name(&a_shared));
    for args in [
        vec!["rm", theirs.as_str()],
        vec!["stages", "--discard", theirs.as_str()],
    ] {
        let o = tf_as(&srv, "bob", &args);
        assert!(!o.status.success(), "bob {args:?}: {}", said(&o));
        assert!(a_shared.exists(), "bob {args:?} removed alice's stage");
    }
    let o = tf_as(
        &srv,
        "alice",
        &["stages", "--discard", &format!("alice/{}", name(&fake))],
    );
    assert!(!o.status.success() && fake.exists(), "{}", said(&o));

    // alice removes hers: rm of the stage's own name, --discard of the target
    let o = tf_as(&srv, "alice", &["rm", &format!("alice/{}", name(&a_big))]);
    assert!(o.status.success(), "tf rm of her stage: {}", said(&o));
    assert!(!a_big.exists());
    let o = tf_as(&srv, "alice", &["stages", "--discard", "shared/x.bin"]);
    assert!(o.status.success(), "{}", said(&o));
    assert!(!a_shared.exists());
    assert!(b_shared.exists(), "bob's stage stays");
    // raced: a stage a running upload holds is not removed under it
    let busy = a_busy_stage_stays_and_commits(&srv, &home);
    // --discard --all: every one of hers, none of bob's
    let s1 = abandon_stage(&srv, "alice", ua, "alice/one.bin", MIB, 4096);
    let s2 = abandon_stage(&srv, "alice", ua, "shared/two.bin", MIB, 4096);
    let o = tf_as(&srv, "alice", &["stages", "--discard", "--all"]);
    assert!(o.status.success(), "{}", said(&o));
    assert!(!s1.exists() && !s2.exists() && b_shared.exists() && fake.exists());
    let o = tf_as(&srv, "alice", &["stages"]);
    assert!(said(&o).contains("0 stages, 0 bytes counted"), "{}", said(&o));
    // what tf df counts now: her two files, no stage
    let o = tf_as(&srv, "alice", &["df", "--raw"]);
    assert!(
        said(&o).contains(&format!("quota      {} used", fake_len + busy.len() as u64)),
        "tf df: {}",
        said(&o)
    );
}

/// A stage a running upload holds is not removed under it (`tf stages
/// --discard` is refused as in use while the data comes), and that upload
/// then commits: its data, which alice's `tf df` then counts.
fn a_busy_stage_stays_and_commits(srv: &Server, home: &std::path::Path) -> Vec<u8> {
    let busy = pattern(4 * MIB, 91);
    let mut c = alice(srv);
    assert_ok(
        c.call("TFDSTAGE", format!("{} busy 1 alice/busy.bin", busy.len()).as_bytes())
            .unwrap(),
    );
    let (started, sending) = std::sync::mpsc::channel();
    let (go_on, release) = std::sync::mpsc::channel();
    let uploader = {
        let busy = busy.clone();
        std::thread::spawn(move || {
            let mut src = Trickle {
                data: &busy,
                started: Some((started, release)),
            };
            c.put_as("TFDSTAGEPUT", b"alice/busy.bin", 0, 1 << 20, &mut src, &mut |_| {})
                .unwrap();
            let st = tfp_wire::Status::parse(&c.chan.rx.recv_frame().unwrap());
            assert_ok(st);
            c.call(
                "TFDSTAGEDONE",
                format!("{} 1 alice/busy.bin", sha_text(&busy)).as_bytes(),
            )
            .unwrap()
        })
    };
    sending.recv().unwrap();
    let o = tf_as(srv, "alice", &["stages", "--discard", "alice/busy.bin"]);
    go_on.send(()).unwrap();
    assert!(
        !o.status.success() && said(&o).contains("in use"),
        "a stage a running upload holds was discarded: {}",
        said(&o)
    );
    assert_ok(uploader.join().unwrap());
    assert_eq!(
        std::fs::read(home.join("busy.bin")).unwrap(),
        busy,
        "the upload committed"
    );
    busy
}

/// A source that says when it is first read (the server holds the stage by
/// then: the grant came) and waits to be let go on, then gives 64 KiB every
/// 30 ms.
struct Trickle<'a> {
    data: &'a [u8],
    started: Option<(std::sync::mpsc::Sender<()>, std::sync::mpsc::Receiver<()>)>,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some((tx, rx)) = self.started.take() {
            let _ = tx.send(());
            let _ = rx.recv();
        }
        std::thread::sleep(Duration::from_millis(30));
        let n = buf.len().min(self.data.len()).min(64 << 10);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}
