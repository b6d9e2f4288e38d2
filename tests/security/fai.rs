//! The Fast Access Interface end to end, as root with real system users: FAITOK
//! after LOGIN, `FAI://<token>` at the version step, the session becoming the
//! token's user, key rotation, expiry, refusals, restart, the store's modes,
//! and the logs never holding a token or key.

use tfp_client::replies::Split as _;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use tfd_testkit::users::{ensure_system_user, login_userdb, tfpasswd, userdb_add};
use tfd_testkit::*;
use tfp_client::{Client, Error, FaiToken};
use tfp_wire::fai::Record;
use tfp_wire::Status;

const ALICE_PW: &str = "alice fai pw";
const BOB_PW: &str = "bob-fai-pw";

struct Setup {
    srv: Server,
    db: PathBuf,
    fai: PathBuf,
    alice: (u32, u32),
    bob: (u32, u32),
}

fn conf_extra(db: &std::path::Path, fai: &std::path::Path, extra: &str) -> String {
    let cap = if extra.contains("fai_max_minutes") {
        ""
    } else {
        "fai_max_minutes 30\n"
    };
    format!("userdb {}\nfai_dir {}\n{cap}{extra}", db.display(), fai.display())
}

/// A multi-user server: alice → tfdfai1, bob → tfdfai2, each with a 0700
/// directory of their own; tokens under a private temporary `fai_dir`.
fn setup(extra: &str) -> Option<Setup> {
    if !require(is_root(), "needs root to create system users") {
        return None;
    }
    // one useradd at a time: parallel useradds of this binary's tests raced
    static USERS: std::sync::OnceLock<((u32, u32), (u32, u32))> = std::sync::OnceLock::new();
    let (alice, bob) = *USERS.get_or_init(|| (ensure_system_user("tfdfai1", &[]), ensure_system_user("tfdfai2", &[])));
    let dir = tempdir("fai");
    let db = dir.join("userdb");
    let fai = dir.join("state").join("fai");
    let f = db.to_str().unwrap();
    for (name, sys, pw) in [("alice", "tfdfai1", ALICE_PW), ("bob", "tfdfai2", BOB_PW)] {
        userdb_add(f, name, sys, pw, &[]);
    }
    let srv = Server::start_opts(Opts {
        extra: &conf_extra(&db, &fai, extra),
        default_user: false,
        ..Default::default()
    });
    for (d, (uid, gid)) in [("alice", alice), ("bob", bob)] {
        fs::create_dir(srv.path(d)).unwrap();
        nix::unistd::chown(&srv.path(d), Some(uid.into()), Some(gid.into())).unwrap();
        fs::set_permissions(srv.path(d), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    }
    Some(Setup {
        srv,
        db,
        fai,
        alice,
        bob,
    })
}

fn login(srv: &Server, user: &str, pw: &str) -> Client {
    let mut c = srv.client();
    assert_ok(c.call("LOGIN", format!("{user} {pw}").as_bytes()).unwrap());
    c
}

fn token_of(srv: &Server, user: &str, pw: &str, minutes: u32) -> FaiToken {
    let mut c = login(srv, user, pw);
    let t = c.faitok(minutes).split().unwrap().expect("FAITOK");
    c.end().unwrap();
    t
}

fn token_file(s: &Setup, t: &FaiToken) -> PathBuf {
    s.fai.join(&t.token)
}

fn fai(srv: &Server, t: &FaiToken) -> Result<(Client, FaiToken), Error> {
    Client::connect_fai(&srv.client_config(), t)
}

/// The status of a refused entrance.
#[track_caller]
fn refused(srv: &Server, t: &FaiToken) -> Status {
    match fai(srv, t) {
        Err(Error::Handshake("fai", st)) => st,
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("the entrance succeeded"),
    }
}

/// The raw plaintext answer to a version frame.
fn entrance_answer(srv: &Server, version: &[u8]) -> Status {
    let mut s = TcpStream::connect(srv.addr()).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    s.write_all(&(version.len() as u32).to_be_bytes()).unwrap();
    s.write_all(version).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).unwrap();
    Status::parse(&body)
}

fn b64(k: &[u8]) -> String {
    openssl::base64::encode_block(k)
}

#[test]
fn faitok_then_fai_entrance_is_the_same_user_without_rsa() {
    let Some(s) = setup("") else { return };
    let mut c = login(&s.srv, "alice", ALICE_PW);
    assert_eq!(assert_ok(c.call("FAIMQ", b"").unwrap()), "30");
    // more than the cap gets the cap
    let before = tfd::auth::fai::now();
    let t = c.faitok(1000).split().unwrap().expect("FAITOK");
    assert!(
        t.expiry >= before + 30 * 60 && t.expiry <= before + 30 * 60 + 5,
        "{}",
        t.expiry
    );
    assert!((128..=214).contains(&t.key.len()));
    // once per session
    assert_failed(c.call("FAITOK", b"5").unwrap(), 67);
    c.end().unwrap();

    // the store: root-only
    let dir = fs::metadata(&s.fai).unwrap();
    assert_eq!((dir.mode() & 0o7777, dir.uid()), (0o700, 0));
    let file = fs::metadata(token_file(&s, &t)).unwrap();
    assert_eq!((file.mode() & 0o7777, file.uid()), (0o600, 0));

    // entrance: no RSA, the session is alice at once (no LOGIN)
    let (mut c, next) = fai(&s.srv, &t).unwrap();
    assert_ne!(next.key, t.key, "the key rotates");
    assert_eq!(next.token, t.token);
    let st = c.call("MKDIR", b"alice/by-fai").unwrap();
    assert!(
        ok(&st),
        "{st:?} {:?} {:?}",
        proc_ids(s.srv.session_pid()),
        std::process::Command::new("ls")
            .arg("-lan")
            .arg(&s.srv.data)
            .output()
            .unwrap()
    );
    let made = fs::metadata(s.srv.path("alice/by-fai")).unwrap();
    assert_eq!((made.uid(), made.gid()), s.alice);
    let pid = s.srv.session_pid();
    let (uid, _, _) = proc_ids(pid);
    assert_eq!(uid, format!("{0} {0} {0} {0}", s.alice.0));
    // already logged in: LOGIN cannot switch to another user
    assert_failed(c.call("LOGIN", format!("bob {BOB_PW}").as_bytes()).unwrap(), 39);
    c.end().unwrap();

    // the next key works the next time, and rotates again
    let (mut c, third) = fai(&s.srv, &next).unwrap();
    assert_ne!(third.key, next.key);
    assert_eq!(c.raw(b"ECHO hi").unwrap(), b"hi");
    c.end().unwrap();

    // no token and no key in the log
    std::thread::sleep(std::time::Duration::from_millis(200));
    let log = s.srv.log();
    assert!(log.contains("FAI entrance user=alice"), "{log}");
    for secret in [t.token.clone(), b64(&t.key), b64(&next.key), b64(&third.key)] {
        assert!(!log.contains(&secret), "secret in the log");
    }
}

#[test]
fn used_key_and_unknown_or_malformed_tokens_are_refused() {
    let Some(s) = setup("") else { return };
    let t = token_of(&s.srv, "alice", ALICE_PW, 5);
    let (c, _next) = fai(&s.srv, &t).unwrap();
    c.end().unwrap();
    // replaying the used key: the server has moved on, nothing usable comes back
    match fai(&s.srv, &t) {
        Err(_) => {}
        Ok((mut c, _)) => {
            let r = c.call("MKDIR", b"alice/replayed");
            assert!(r.is_err() || !ok(&r.unwrap()), "a used key opened a session");
        }
    }
    assert!(!s.srv.path("alice/replayed").exists());
    // unknown token, malformed token, the reference's traversal
    let unknown = FaiToken {
        token: "0b7d4a1c-1e25-4c2e-9a6b-0d5f8e7c6b5a".into(),
        ..t.clone()
    };
    assert_failed(refused(&s.srv, &unknown), 68);
    assert_failed(entrance_answer(&s.srv, b"FAI://not-a-token"), 68);
    assert_failed(entrance_answer(&s.srv, b"FAI://../tfd.conf"), 68);
    assert!(s.srv.conf.exists());
    assert_failed(entrance_answer(&s.srv, b"FAI://"), 68);
}

#[test]
fn expired_token_is_refused_and_deleted() {
    let Some(s) = setup("") else { return };
    let t = token_of(&s.srv, "alice", ALICE_PW, 1);
    // an hour has passed: rewrite the record's expiry as root would see it then
    let path = token_file(&s, &t);
    let mut rec = Record::parse(&fs::read(&path).unwrap()).unwrap();
    rec.expiry = tfd::auth::fai::now() - 1;
    fs::write(&path, rec.encode()).unwrap();
    assert_failed(refused(&s.srv, &t), 68);
    assert!(!path.exists(), "an expired token is deleted");
}

#[test]
fn token_is_bound_to_its_user_never_another_never_root() {
    let Some(mut s) = setup("") else { return };
    let t = token_of(&s.srv, "alice", ALICE_PW, 5);
    // alice's token cannot act as bob: bob's directory stays closed
    let (mut c, next) = fai(&s.srv, &t).unwrap();
    assert_failed(c.call("MKDIR", b"bob/from-alice").unwrap(), 1);
    c.end().unwrap();
    assert!(!s.srv.path("bob/from-alice").exists());

    // a record naming bob's LOGIN with alice's uid (stale or tampered): 69
    let path = token_file(&s, &next);
    let mut rec = Record::parse(&fs::read(&path).unwrap()).unwrap();
    rec.login = Some("bob".into());
    fs::write(&path, rec.encode()).unwrap();
    assert_failed(refused(&s.srv, &next), 69);
    // a record naming uid 0 never opens a session
    rec.login = Some("alice".into());
    rec.uid = 0;
    fs::write(&path, rec.encode()).unwrap();
    assert_failed(refused(&s.srv, &next), 69);
    assert!(!s.srv.path("bob/from-alice").exists());

    // a locked account's token is refused
    let t2 = token_of(&s.srv, "bob", BOB_PW, 5);
    assert!(tfpasswd(&["-f", s.db.to_str().unwrap(), "lock", "bob"], "")
        .status
        .success());
    assert_failed(refused(&s.srv, &t2), 69);
    let _ = s.bob;
    s.srv.stop();

    // a root session (defusr root) gets no token
    let root = Server::start_with(&format!("fai_dir {}\n", s.fai.display()));
    let mut c = root.client();
    assert_failed(c.call("FAITOK", b"5").unwrap(), 67);
}

#[test]
fn tokens_survive_a_restart_and_fai_can_be_off() {
    let Some(mut s) = setup("") else { return };
    let t = token_of(&s.srv, "alice", ALICE_PW, 5);
    s.srv.stop();
    // another tfd (another node) on the same state directory and user file
    let srv = Server::start_opts(Opts {
        extra: &conf_extra(&s.db, &s.fai, ""),
        default_user: false,
        ..Default::default()
    });
    fs::create_dir(srv.path("alice")).unwrap();
    nix::unistd::chown(&srv.path("alice"), Some(s.alice.0.into()), Some(s.alice.1.into())).unwrap();
    let (mut c, next) = fai(&srv, &t).unwrap();
    assert_ok(c.call("TOUCH", b"alice/after-restart").unwrap());
    assert_eq!(fs::metadata(srv.path("alice/after-restart")).unwrap().uid(), s.alice.0);
    c.end().unwrap();
    drop(srv);
    // fai_max_minutes 0: FAI off, the stored token is not honoured
    let off = Server::start_opts(Opts {
        extra: &conf_extra(&s.db, &s.fai, "fai_max_minutes 0\n"),
        default_user: false,
        ..Default::default()
    });
    assert_failed(refused(&off, &next), 68);
    let mut c = login(&off, "alice", ALICE_PW);
    assert_failed(c.call("FAITOK", b"5").unwrap(), 67);
    assert_eq!(assert_ok(c.call("FAIMQ", b"").unwrap()), "0");
}

#[test]
fn two_entrances_with_one_key_open_one_session() {
    let Some(s) = setup("") else { return };
    let t = token_of(&s.srv, "alice", ALICE_PW, 5);
    let wins: Vec<bool> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..4)
            .map(|i| {
                let (srv, t) = (&s.srv, &t);
                sc.spawn(move || match fai(srv, t) {
                    Ok((mut c, _)) => {
                        let st = c.call("MKDIR", format!("alice/race{i}").as_bytes());
                        matches!(st, Ok(ref st) if ok(st))
                    }
                    Err(_) => false,
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
}

#[test]
fn tf_reconnects_through_its_token_cache() {
    let Some(s) = setup("") else { return };
    let (uid, gid) = s.alice;
    drop(s.srv);
    // a single-user server whose sessions run as tfdfai1 (tf does not LOGIN)
    let srv = Server::start_opts(Opts {
        extra: &format!("defusr tfdfai1\nfai_dir {}\n", s.fai.display()),
        default_user: false,
        ..Default::default()
    });
    fs::create_dir(srv.path("mine")).unwrap();
    nix::unistd::chown(&srv.path("mine"), Some(uid.into()), Some(gid.into())).unwrap();
    let cache = srv.dir.join("cache");
    let tf = |args: &[&str]| {
        let out = srv.tf_command(args).env("XDG_CACHE_HOME", &cache).output().unwrap();
        assert!(out.status.success(), "{out:?}\n{}", srv.log());
        out
    };
    let entrances = || srv.log().matches("FAI entrance user=tfdfai1").count();
    tf(&["--fai", "mkdir", "mine/one"]);
    assert_eq!(entrances(), 0, "the first run has no token yet");
    let dir = cache.join("tf");
    let files: Vec<_> = fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    assert_eq!(fs::metadata(&files[0]).unwrap().mode() & 0o777, 0o600);
    let first = fs::read(&files[0]).unwrap();

    tf(&["--fai", "mkdir", "mine/two"]);
    assert_eq!(entrances(), 1);
    assert_eq!(fs::metadata(srv.path("mine/two")).unwrap().uid(), uid);
    let second = fs::read(&files[0]).unwrap();
    assert_ne!(first, second, "the cache holds the next key");
    let out = tf(&["--fai", "-v", "touch", "mine/three"]);
    assert_eq!(entrances(), 2);
    // a FAI session moves to the secure transport too, bound to its FAI key
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tf: transport: Noise_NNpsk0_25519_"), "{err}");
    assert_eq!(srv.log().matches("secure transport on").count(), 3, "{}", srv.log());

    // the server forgot the token: tf falls back to RSA and caches a new one
    for e in fs::read_dir(&s.fai).unwrap().flatten() {
        fs::remove_file(e.path()).unwrap();
    }
    tf(&["--fai", "touch", "mine/four"]);
    assert!(srv.path("mine/four").exists());
    tf(&["--fai", "touch", "mine/five"]);
    assert_eq!(entrances(), 3);
}

#[test]
fn a_token_from_a_jailed_session_opens_that_jail() {
    let Some(s) = setup("injail\n") else { return };
    let (uid, gid) = s.alice;
    let cell = s.srv.path("jails/cell");
    fs::create_dir_all(&cell).unwrap();
    fs::write(cell.join("jail.key"), "the-token\n").unwrap();
    // root's, as a jail's guard demands; the user writes in home/
    fs::create_dir_all(cell.join("home")).unwrap();
    nix::unistd::chown(&cell.join("home"), Some(uid.into()), Some(gid.into())).unwrap();
    fs::write(s.srv.path("outside"), b"x").unwrap();
    let mut c = s.srv.client();
    assert_ok(c.call("LOGIN", format!("alice {ALICE_PW}").as_bytes()).unwrap());
    // no token before INJAIL
    assert_failed(c.call("FAITOK", b"5").unwrap(), 50);
    assert_ok(c.call("INJAIL", b"the-token | jails/cell").unwrap());
    let t = c.faitok(5).split().unwrap().expect("FAITOK");
    c.end().unwrap();

    let (mut c, _) = fai(&s.srv, &t).unwrap();
    assert_ok(c.call("TOUCH", b"home/inside").unwrap());
    let made = fs::metadata(cell.join("home/inside")).unwrap();
    assert_eq!(made.uid(), uid);
    // the jail is the whole world: the served root's files are out of reach
    assert_failed(c.call("FSTAT", b"../../outside").unwrap(), 1);
    assert_failed(c.call("INJAIL", b"the-token | jails/cell").unwrap(), 51);
    let pid = s.srv.session_pid();
    let root = fs::read_link(format!("/proc/{pid}/root")).unwrap();
    assert_eq!(root, cell.canonicalize().unwrap());
    c.end().unwrap();

    // a token without a jail is refused while injail is set
    let path = token_file(&s, &t);
    // (the entrance above rotated the key: read the record as it is now)
    let mut rec = Record::parse(&fs::read(&path).unwrap()).unwrap();
    rec.jail = None;
    fs::write(&path, rec.encode()).unwrap();
    let now = FaiToken {
        key: rec.key.clone(),
        ..t.clone()
    };
    assert_failed(refused(&s.srv, &now), 69);
}

#[test]
fn the_issuer_is_restarted_after_it_dies() {
    let Some(s) = setup("") else { return };
    let old = fai_issuer_of(s.srv.pid()).expect("FAI issuer");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(old), nix::sys::signal::SIGKILL).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match fai_issuer_of(s.srv.pid()) {
            Some(p) if p != old => break,
            _ => {}
        }
        assert!(std::time::Instant::now() < deadline, "not restarted:\n{}", s.srv.log());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // sessions forked from now on reach the new issuer
    let t = token_of(&s.srv, "alice", ALICE_PW, 5);
    let (c, _) = fai(&s.srv, &t).unwrap();
    c.end().unwrap();
}

/// A read-only file system mounted at `dir`/ro for one test; when dropped it
/// is unmounted (lazily, so a process still inside cannot keep it) and `dir`
/// removed.
struct ReadOnlyMount(PathBuf);

impl ReadOnlyMount {
    fn new(dir: &std::path::Path) -> ReadOnlyMount {
        let at = dir.join("ro");
        fs::create_dir_all(&at).unwrap();
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=64k,mode=0700", "tfd-test-ro"])
            .arg(&at)
            .status()
            .unwrap();
        assert!(st.success(), "mount a read-only tmpfs at {}", at.display());
        ReadOnlyMount(at)
    }
}

impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let st = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
        if st.map(|s| s.success()).unwrap_or(false) {
            if let Some(dir) = self.0.parent() {
                let _ = fs::remove_dir_all(dir);
            }
        }
    }
}

/// What the shipped unit once did to every FAITOK (`fai_dir` on a read-only
/// file system): the issuer says at start that it cannot write its directory
/// (it used to log "ready"), and `tf --fai` reports the server's answer (it used
/// to guess "a root session, or FAI off").
#[test]
fn an_unwritable_fai_dir_is_reported_at_start_and_tf_says_what_the_server_answered() {
    if !require(is_root(), "needs root (mount, a non-root session)") {
        return;
    }
    let dir = tempdir("fai-ro");
    let ro = ReadOnlyMount::new(&dir);
    let fai = ro.0.join("fai");
    let srv = Server::start_opts(Opts {
        extra: &format!("defusr nobody\nfai_dir {}\nfai_max_minutes 30\n", fai.display()),
        default_user: false,
        ..Default::default()
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !srv.log().contains("FAI issuer") {
        assert!(std::time::Instant::now() < deadline, "{}", srv.log());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let cache = srv.dir.join("cache");
    let out = srv
        .tf_command(&["--fai", "echo", "hi"])
        .env("XDG_CACHE_HOME", &cache)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let log = srv.log();
    let line = log
        .lines()
        .find(|l| l.contains("FAI issuer"))
        .unwrap_or_default()
        .to_string();
    let mut wrong = Vec::new();
    if !(line.contains("ERROR") && line.contains("not writable") && line.contains(&fai.display().to_string())) {
        wrong.push(format!("the issuer's first line: {line}"));
    }
    if log.contains("FAI issuer ready") {
        wrong.push("the issuer said it was ready".to_string());
    }
    if !out.status.success() || !err.contains("FAILED 67") || err.contains("a root session, or FAI off") {
        wrong.push(format!("tf: {:?}, stderr: {err}", out.status));
    }
    assert!(wrong.is_empty(), "{wrong:#?}\n{log}");
    drop(srv);
    drop(ro);
}

/// A second, independent multi-user tfd: its own root, key and user file, in
/// which `alice` maps to alice's system user too, with another password.
fn other_instance(fai_line: &str, alice: (u32, u32)) -> Server {
    let db = login_userdb("fai-other", "alice", "tfdfai1", "another password");
    let mut srv = Server::start_opts(Opts {
        extra: &format!("userdb {db}\nfai_max_minutes 30\n{fai_line}"),
        default_user: false,
        ..Default::default()
    });
    srv.restart_with_new_key();
    fs::create_dir(srv.path("alice")).unwrap();
    nix::unistd::chown(&srv.path("alice"), Some(alice.0.into()), Some(alice.1.into())).unwrap();
    srv
}

/// A token is bound to the server that issued it (its key): presented to
/// another tfd that shares the token directory and has a LOGIN of the same
/// name on the same system user, it is an unknown token (FAILED 68), the
/// record is left alone, and the issuing server still honours it.
#[test]
fn a_token_opens_only_the_server_that_issued_it_on_a_shared_fai_dir() {
    let Some(s) = setup("") else { return };
    let other = other_instance(&format!("fai_dir {}\n", s.fai.display()), s.alice);
    let t = token_of(&s.srv, "alice", ALICE_PW, 5);
    let path = token_file(&s, &t);
    let before = fs::read(&path).unwrap();
    match fai(&other, &t) {
        Err(Error::Handshake("fai", st)) => assert_failed(st, 68),
        Err(e) => panic!("{e}"),
        Ok((mut c, _)) => {
            let st = c.call("TOUCH", b"alice/crossed").unwrap();
            panic!(
                "the other server honoured the token (TOUCH: {st:?}, made: {})",
                other.path("alice/crossed").exists()
            );
        }
    }
    assert!(other.log().contains("another server"), "{}", other.log());
    assert_eq!(fs::read(&path).unwrap(), before, "the refusal changed the record");
    let (mut c, _) = fai(&s.srv, &t).unwrap();
    assert_ok(c.call("TOUCH", b"alice/still-works").unwrap());
    c.end().unwrap();
    assert_eq!(fs::metadata(s.srv.path("alice/still-works")).unwrap().uid(), s.alice.0);
    assert!(!other.path("alice/crossed").exists());
}

/// The directory in an issuer's "ready" log line.
fn issuer_dir(srv: &Server) -> PathBuf {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let log = srv.log();
        if let Some(rest) = log.split("FAI issuer ready (").nth(1) {
            return PathBuf::from(rest.split(")\n").next().unwrap());
        }
        assert!(std::time::Instant::now() < deadline, "no issuer:\n{log}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Two instances that leave `fai_dir` at its default keep their tokens in
/// directories of their own, and neither honours the other's tokens.
#[test]
fn instances_on_default_fai_dirs_keep_apart() {
    let Some(s) = setup("") else { return };
    // a comment naming the key keeps the test helper from setting it
    let default = "# fai_dir: the default\n";
    let existed: Vec<PathBuf> = ["/var/lib/tfd", tfd::config::DEFAULT_FAI_DIR]
        .into_iter()
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .collect();
    let a = Server::start_opts(Opts {
        extra: &format!("userdb {}\nfai_max_minutes 30\n{default}", s.db.display()),
        default_user: false,
        ..Default::default()
    });
    fs::create_dir(a.path("alice")).unwrap();
    nix::unistd::chown(&a.path("alice"), Some(s.alice.0.into()), Some(s.alice.1.into())).unwrap();
    let b = other_instance(default, s.alice);
    let (dir_a, dir_b) = (issuer_dir(&a), issuer_dir(&b));
    let t = token_of(&a, "alice", ALICE_PW, 5);
    let on_b = fai(&b, &t).map(|(c, _)| c.end());
    let on_a = fai(&a, &t).map(|(c, _)| c.end());
    // what this test made under /var/lib/tfd goes, whatever the outcome
    let _ = fs::remove_file(dir_a.join(&t.token));
    let base = std::path::Path::new(tfd::config::DEFAULT_FAI_DIR);
    for d in [&dir_a, &dir_b] {
        if d != base {
            let _ = fs::remove_dir(d);
        }
    }
    for d in [base, base.parent().unwrap()] {
        if !existed.contains(&d.to_path_buf()) {
            let _ = fs::remove_dir(d);
        }
    }
    assert_ne!(dir_a, dir_b, "both instances keep tokens in one directory");
    assert!(dir_a.starts_with(base), "{}", dir_a.display());
    match on_b {
        Err(Error::Handshake("fai", st)) => assert_failed(st, 68),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("the other instance honoured the token"),
    }
    on_a.unwrap().unwrap();
}

/// A reload with another private key makes another server of this one: the
/// old key's tokens are refused (68), tokens issued after it work.
#[test]
fn a_reload_with_a_new_key_leaves_the_old_tokens_behind() {
    let Some(s) = setup("") else { return };
    let old = token_of(&s.srv, "alice", ALICE_PW, 5);
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let pem = openssl::pkey::PKey::from_rsa(rsa).unwrap();
    fs::write(s.srv.dir.join("key.pem"), pem.private_key_to_pem_pkcs8().unwrap()).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(s.srv.pid()),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !s.srv.log().contains("configuration reloaded") {
        assert!(std::time::Instant::now() < deadline, "no reload:\n{}", s.srv.log());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_failed(refused(&s.srv, &old), 68);
    let mut cfg = s.srv.client_config();
    cfg.pubkey_pem = pem.public_key_to_pem().unwrap();
    let mut c = Client::connect(&cfg).unwrap();
    assert_ok(c.call("LOGIN", format!("alice {ALICE_PW}").as_bytes()).unwrap());
    let new = c.faitok(5).split().unwrap().expect("FAITOK after the reload");
    c.end().unwrap();
    let (c, _) = fai(&s.srv, &new).unwrap();
    c.end().unwrap();
}

/// A configuration migrated from the reference keeps its FAITOK cap:
/// `faitok_mq` is `fai_max_minutes` under the reference's name (issue 23, item
/// 11). It used to be accepted and ignored, so FAIMQ said 360.
#[test]
fn faitok_mq_sets_the_cap() {
    let srv = Server::start_with("faitok_mq 500\n");
    let mut c = srv.client();
    assert_eq!(assert_ok(c.call("FAIMQ", b"").unwrap()), "500");
    assert!(!srv
        .log()
        .contains("faitok_mq is accepted for compatibility and ignored"));
}

/// A user the user file jails (issue 32): a token issued in its jail opens
/// that jail again; a token issued before the jail was given is refused
/// (FAILED 69), since the user may now enter nowhere else.
#[test]
fn a_user_file_jail_binds_its_tokens() {
    let Some(s) = setup("") else { return };
    let (uid, gid) = s.alice;
    let cell = s.srv.path("jails/alice");
    fs::create_dir_all(cell.join("home")).unwrap();
    nix::unistd::chown(&cell.join("home"), Some(uid.into()), Some(gid.into())).unwrap();
    fs::write(s.srv.path("outside"), b"x").unwrap();
    let db = s.db.to_str().unwrap();
    // a token of the unjailed alice
    let mut c = login(&s.srv, "alice", ALICE_PW);
    let free = c.faitok(5).split().unwrap().expect("FAITOK");
    c.end().unwrap();
    let out = tfpasswd(&["-f", db, "mod", "alice", "--jail", "/jails/alice"], "");
    assert!(out.status.success(), "{out:?}");
    assert_failed(refused(&s.srv, &free), 69);
    assert!(s.srv.log().contains("is jailed to /jails/alice"), "{}", s.srv.log());
    // a token issued in the jail opens it again
    let mut c = login(&s.srv, "alice", ALICE_PW);
    let t = c.faitok(5).split().unwrap().expect("FAITOK");
    c.end().unwrap();
    let (mut c, _) = fai(&s.srv, &t).unwrap();
    // a command answered: the entrance (chroot, then the user) is over; the
    // first frame alone may come before it (flaky under CI's load)
    assert_ok(c.call("TOUCH", b"home/via-fai").unwrap());
    let pid = s.srv.session_pid();
    assert_eq!(
        fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        cell.canonicalize().unwrap()
    );
    assert_eq!(fs::metadata(cell.join("home/via-fai")).unwrap().uid(), uid);
    assert_failed(c.call("FSTAT", b"/outside").unwrap(), 9);
    c.end().unwrap();
}

/// The default `fai_dir` (/var/lib/tfd/fai/<digest of the config's path>)
/// goes with the instance that made it when no live token is left in it:
/// every tfd ever started, each test's among them, left one behind (issue 44:
/// 172 of them). A directory holding something else stays, as does a
/// `fai_dir` the config names.
#[test]
fn the_default_fai_dir_goes_with_the_instance_that_made_it() {
    if !require(is_root(), "needs root (the default fai_dir is under /var/lib/tfd)") {
        return;
    }
    let dir = tempdir("fai-default");
    let data = dir.join("data");
    fs::create_dir(&data).unwrap();
    write_private_key(&dir.join("key.pem"));
    let conf = dir.join("tfd.conf");
    let run = |keep: bool| {
        fs::write(
            &conf,
            format!(
                "proto 2.4.1\nhash h-faidir\ndbdir {}\nport {}\nlisten 127.0.0.1\nprivkey_file {}\nshutdown_grace 1\ncontrol_socket ctl.sock\n",
                data.display(),
                free_port(),
                dir.join("key.pem").display()
            ),
        )
        .unwrap();
        let fai = tfd::config::Config::load(&conf).unwrap().fai_dir;
        assert!(fai.starts_with(tfd::config::DEFAULT_FAI_DIR), "{}", fai.display());
        let log = dir.join("tfd.log");
        let mut child = spawn_tfd(&conf, &log);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("FAI issuer ready")
        {
            assert!(
                std::time::Instant::now() < deadline,
                "{}",
                fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(fai.is_dir(), "the issuer made {}", fai.display());
        let other = fai.join("kept-by-the-operator");
        if keep {
            fs::write(&other, b"x").unwrap();
        }
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::SIGTERM).unwrap();
        assert!(child.wait().unwrap().success());
        (fai, other, fs::read_to_string(&log).unwrap())
    };
    let (fai, _, log) = run(false);
    assert!(!fai.exists(), "{} left behind:\n{log}", fai.display());
    assert!(log.contains(&format!("removed {}", fai.display())), "{log}");
    let (fai, other, log) = run(true);
    assert!(other.exists(), "{log}");
    fs::remove_file(&other).unwrap();
    fs::remove_dir(&fai).unwrap();
    let _ = fs::remove_dir_all(&dir);
}
