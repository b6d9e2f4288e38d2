//! The typed tfp_client methods of the 2.5.1 one-line commands through the
//! real wire: each one's effect on disk or its answer, its refusal as a typed
//! code with the session still in step, and arguments that would break the
//! line refused as `Error::Usage` before anything is sent.

use std::fs;
use std::time::Duration;
use tfd_testkit::*;
use tfp_client::secfs::mask;
use tfp_client::{Client, Error, Failed, LockId};

/// Proves the session is alive and in step after whatever came before.
#[track_caller]
fn in_step(c: &mut Client) {
    assert_eq!(c.echo("step").unwrap(), b"step");
}

#[track_caller]
fn refused<T: std::fmt::Debug>(r: Result<T, Error>, want: Failed) {
    let e = r.expect_err("refused");
    assert_eq!(e.failed(), Some(want), "{e}");
    assert!(e.session_usable());
}

#[track_caller]
fn usage<T: std::fmt::Debug>(r: Result<T, Error>) {
    assert!(matches!(r, Err(Error::Usage(_))), "{r:?}");
}

#[test]
fn secure_fs_identities_masks_and_the_domain() {
    let srv = Server::start();
    fs::create_dir(srv.path("box")).unwrap();
    data_dir_write(&srv.path("plain"), b"x");
    let mut c = srv.client();
    // "not secure" is an answer, not an error; other refusals stay errors
    assert!(!c.issecfs("box").unwrap());
    refused(c.issecfs("plain"), Failed::NotADirectory);
    refused(c.issecfs("../x"), Failed::AccessDenied);

    c.setfsid("alice").unwrap();
    c.setfsperm("alice", mask::ALL, "box").unwrap();
    assert!(c.issecfs("box").unwrap());
    assert_eq!(fs::read(srv.path("box/.securefs_metadata")).unwrap(), b"alice:4095\n");
    c.setfsperm("bob", mask::RFILE | mask::WFILE, "box").unwrap();
    assert_eq!(c.getfsperm("bob", "box").unwrap(), 12);
    assert_eq!(mask::names(c.getfsperm("bob", "box").unwrap()), ["rfile", "wfile"]);
    assert_eq!(c.getfsperm("alice", "box").unwrap(), mask::ALL);
    assert_eq!(c.getfsperm("nobody", "box").unwrap(), 0);
    // the everybody-else identity is the empty one
    c.setfsperm("", mask::STAT, "box").unwrap();
    assert_eq!(c.getfsperm("", "box").unwrap(), mask::STAT);
    c.remfsperm("bob", "box").unwrap();
    assert_eq!(c.getfsperm("bob", "box").unwrap(), 0);
    // bob may not set permissions
    let mut b = srv.client();
    b.setfsid("bob").unwrap();
    refused(b.setfsperm("bob", mask::ALL, "box"), Failed::SetFsPerm);
    refused(b.remfsperm("alice", "box"), Failed::RemFsPerm);
    in_step(&mut b);

    // identities that would change the line are never sent
    for id in ["a b", "a:1", "a\nb", "a\rb"] {
        usage(c.setfsid(id));
        usage(c.setfsperm(id, 1, "box"));
        usage(c.remfsperm(id, "box"));
        usage(c.getfsperm(id, "box"));
    }
    assert_eq!(c.getfsperm("alice", "box").unwrap(), mask::ALL);
    in_step(&mut c);
}

#[test]
fn rmsecdir_removes_a_secure_directory_with_its_token() {
    let srv = Server::start();
    data_dir_write(&srv.path("keep.sd/tok"), b"");
    data_dir_write(&srv.path("keep.sd/data"), b"d");
    data_dir_write(&srv.path("plain/tok"), b"");
    let mut c = srv.client();
    refused(c.rmsecdir("tok", "plain"), Failed::RmSecDir);
    assert!(srv.path("plain/tok").exists());
    usage(c.rmsecdir("", "keep.sd"));
    usage(c.rmsecdir("a | b", "keep.sd"));
    c.rmsecdir("tok", "keep.sd").unwrap();
    assert!(!srv.path("keep.sd").exists());
    in_step(&mut c);
}

#[test]
fn netlocks_and_mutexes() {
    let srv = Server::start();
    data_dir_write(&srv.path("f"), b"x");
    data_dir_write(&srv.path("m"), b"");
    let mut a = srv.client();
    let mut b = srv.client();
    let id = a.netlock_try(Duration::from_secs(5), "f").unwrap();
    assert_eq!(id, LockId(0));
    refused(b.netlock_try(Duration::from_secs(5), "f"), Failed::NetLock);
    refused(b.netlock(Duration::from_millis(300), "f"), Failed::NetLock);
    a.netunlock(id).unwrap();
    refused(a.netunlock(id), Failed::NetLock);
    let id = b.netlock(Duration::from_secs(5), "f").unwrap();
    assert_eq!(id.to_string(), "0");
    assert_eq!("0".parse::<LockId>().unwrap(), id);
    usage("x".parse::<LockId>());
    b.netunlock(id).unwrap();
    // timeouts the line cannot carry
    usage(a.netlock(Duration::ZERO, "f"));
    usage(a.netlock_try(Duration::from_secs(8 * 24 * 3600), "f"));

    a.netmutacq_try("m", "alpha").unwrap();
    assert_eq!(fs::read(srv.path("m")).unwrap(), b"alpha");
    refused(b.netmutacq_try("m", "beta"), Failed::NetMut);
    refused(b.netmutrel("m", "beta"), Failed::NetMut);
    a.netmutrel("m", "alpha").unwrap();
    assert_eq!(fs::read(srv.path("m")).unwrap(), b"");
    b.netmutacq_try("m", "beta two").unwrap();
    assert_eq!(fs::read(srv.path("m")).unwrap(), b"beta two");
    refused(b.netmutacq_try("missing", "t"), Failed::NetMut);
    usage(b.netmutacq_try("m two", "t"));
    usage(b.netmutrel("m two", "t"));
    in_step(&mut a);
    in_step(&mut b);
}

#[test]
fn zones_uuids_and_the_fai_quantum() {
    let srv = Server::start();
    let mut c = srv.client();
    assert_eq!(c.gettz().unwrap(), "UTC");
    assert_eq!(c.localtime().unwrap().zone, "UTC");
    c.settz("JST-9").unwrap();
    assert_eq!(c.gettz().unwrap(), "JST-9");
    let t = c.localtime().unwrap();
    assert_eq!(t.zone, "JST");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((t.wall_seconds() - now - 9 * 3600).abs() <= 5, "{t}");
    let t = c.dateftz("EST+5").unwrap();
    assert_eq!(t.zone, "EST");
    assert!((t.wall_seconds() - now + 5 * 3600).abs() <= 5, "{t}");
    assert_eq!(c.gettz().unwrap(), "JST-9", "DATEFTZ leaves the session's zone");
    refused(c.settz("Nowhere/City"), Failed::DateNotRepresentable);
    refused(c.dateftz("Nowhere/City"), Failed::DateNotRepresentable);
    refused(c.settz(""), Failed::MissingParameter);
    usage(c.settz("UTC\nDEL x"));
    assert_eq!(c.gettz().unwrap(), "JST-9");
    let (u, v) = (c.genuuid().unwrap(), c.genuuid().unwrap());
    assert!(tfp_wire::uuid::is_v4_text(u.as_bytes()), "{u}");
    assert_ne!(u, v);
    assert!(c.faimq().unwrap() > 0);
    in_step(&mut c);
}

#[test]
fn locksys_flycontext_and_runbash_off() {
    let srv = Server::start();
    data_dir_write(&srv.path("box/in.txt"), b"inside");
    data_dir_write(&srv.path("s.sh"), b"echo hi\n");
    let mut c = srv.client();
    refused(c.runbash("s.sh"), Failed::RunBash);
    refused(c.locksys("missing"), Failed::NoSuchDir);
    c.locksys("box").unwrap();
    assert!(c.exists("in.txt").unwrap());
    refused(c.locksys("box"), Failed::LockSys);
    in_step(&mut c);

    let mut f = srv.client();
    refused(f.flycontext("/"), Failed::FlyContext);
    f.flycontext("a/b").unwrap();
    assert!(srv.path("a/b").is_dir());
    f.touch("g").unwrap();
    assert!(srv.path("a/b/g").is_file());
    in_step(&mut f);
}

#[test]
fn pattern_commands_and_stored_listings() {
    let srv = Server::start();
    data_dir_write(&srv.path("src.txt"), b"s");
    fs::create_dir_all(srv.path("t/b")).unwrap();
    fs::create_dir_all(srv.path("t/x/b")).unwrap();
    let mut c = srv.client();
    c.xcopy("c.txt", "src.txt", "b").unwrap();
    assert_eq!(fs::read(srv.path("t/b/c.txt")).unwrap(), b"s");
    assert_eq!(fs::read(srv.path("t/x/b/c.txt")).unwrap(), b"s");
    refused(c.xcopy("c.txt", "none", "b"), Failed::NoSource);
    usage(c.xcopy("c d", "src.txt", "b"));
    usage(c.xcopy("c", "a | b", "b"));
    c.xcpdir("copy", "t/x", "b").unwrap();
    assert!(srv.path("t/b/copy/b/c.txt").is_file());
    refused(c.xcpdir("copy", "src.txt", "b"), Failed::NotADirectory);
    c.xdel("t", "c.txt").unwrap();
    assert!(!srv.path("t/b/c.txt").exists() && !srv.path("t/x/b/c.txt").exists());
    refused(c.xdel("src.txt", "c.txt"), Failed::NotADirectory);
    c.xrmdir("t", "copy").unwrap();
    assert!(!srv.path("t/b/copy").exists());
    refused(c.xrmdir("nothere", "copy"), Failed::NoSuchDir);
    usage(c.xdel("a b", "c"));

    c.lsv2_to(false, "t", "list.txt").unwrap();
    let l = fs::read_to_string(srv.path("list.txt")).unwrap();
    assert!(l.lines().any(|x| x.ends_with("t/b/")), "{l}");
    c.lsv2_to(true, "t", "listr.txt").unwrap();
    let l = fs::read_to_string(srv.path("listr.txt")).unwrap();
    assert!(l.lines().any(|x| x.ends_with("t/x/b/")), "{l}");
    refused(c.lsv2_to(false, "src.txt", "l2"), Failed::NotADirectory);
    usage(c.lsv2_to(false, "a@||@b", "l3"));
    in_step(&mut c);
}
