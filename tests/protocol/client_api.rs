//! The typed client API (tfp_client's builder, typed commands, listings and
//! [`Error::Refused`]) against the real tfd over loopback: each call's effect
//! is checked on the server's disk, each refusal by its [`Code`].

use sha2::{Digest as _, Sha256};
use std::fs;
use std::time::Duration;
use tfd_testkit::intrw::hash_text;
use tfd_testkit::users::{ensure_system_user, login_userdb};
use tfd_testkit::*;
use tfp_client::{Client, Code, Error, Failed, Kind, Refusal, Transport};
use tfp_wire::Status;

/// A session through the builder, as the suite's other sessions are made
/// (legacy transport, 20 s timeouts).
fn session(srv: &Server) -> Client {
    Client::builder(&srv.addr())
        .key_pem(keys().1.clone())
        .hash(&srv.hash)
        .transport(Transport::Legacy)
        .timeout(Some(Duration::from_secs(20)))
        .connect()
        .unwrap_or_else(|e| panic!("connect: {e}\n{}", srv.log()))
}

/// The refusal of `r`, which must be one.
#[track_caller]
fn refusal<T: std::fmt::Debug>(r: Result<T, Error>) -> Refusal {
    match r {
        Err(Error::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn alive(c: &mut Client) {
    assert_eq!(c.echo("alive").unwrap(), b"alive");
    // ECHO's answer is the text alone: a text that looks like a status stays text
    assert_eq!(c.echo(b"FAILED 1 : x\xff").unwrap(), b"FAILED 1 : x\xff");
}

/// The names of a listing, sorted, with a `/` after directories.
fn names(l: tfp_client::Listing) -> Vec<String> {
    let mut v: Vec<String> = l
        .into_iter()
        .map(|e| {
            let mut n = String::from_utf8(e.rel).unwrap();
            if e.kind == Kind::Dir {
                n.push('/');
            }
            n
        })
        .collect();
    v.sort();
    v
}

#[test]
fn typed_commands_act_on_the_disk() {
    let srv = Server::start();
    let mut c = session(&srv);

    c.mkdir("d").unwrap();
    assert!(srv.path("d").is_dir());
    let r = refusal(c.mkdir("d"));
    assert_eq!(r.command, "MKDIR");
    assert_eq!(r.code, Code::Known(Failed::DirExists));
    assert_eq!(r.reply.failed_code(), Some(4));
    alive(&mut c);

    c.touch("d/a").unwrap();
    assert_eq!(fs::metadata(srv.path("d/a")).unwrap().len(), 0);
    assert_eq!(refusal(c.touch("d/a")).code, Code::Known(Failed::FileExists));

    let data = pattern(70_000, 7);
    c.sndfile(b"d/b", false, &mut &data[..], &mut |_| {}).unwrap();
    assert_eq!(fs::read(srv.path("d/b")).unwrap(), data);
    c.copy("d/b", "d/c").unwrap();
    assert_eq!(fs::read(srv.path("d/c")).unwrap(), data);
    c.rename("d/c", "d/e").unwrap();
    assert!(!srv.path("d/c").exists());
    assert_eq!(fs::read(srv.path("d/e")).unwrap(), data);
    assert_eq!(refusal(c.rename("d/c", "d/f")).command, "RENAM");

    let digest = c.sha256("d/b").unwrap();
    assert_eq!(digest.0, <[u8; 32]>::from(Sha256::digest(&data)));
    assert_ne!(digest, c.sha256("d/a").unwrap());
    assert_eq!(digest.to_text().to_vec(), hash_text(&data));

    let st = c.stat("d/b").unwrap();
    assert_eq!((st.kind, st.size), (Kind::File, data.len() as u64));
    assert_eq!(c.fstat("d").unwrap().kind, Kind::Dir);
    assert_eq!(c.fsize(b"d/b").unwrap(), data.len() as u64);
    assert!(c.exists("d/b").unwrap());
    assert!(c.exists("d").unwrap());
    assert!(!c.exists("d/none").unwrap());
    assert!(!c.exists("none/x").unwrap());
    assert_eq!(refusal(c.stat("d/none")).code, Code::Known(Failed::NoSuchFile));

    let mut back = Vec::new();
    c.rcvfile(b"d/e", false, &mut back).unwrap();
    assert_eq!(back, data);
    let r = refusal(c.rcvfile(b"d/none", false, &mut Vec::new()));
    assert_eq!(
        (r.command.as_str(), r.code),
        ("RCVFILE", Code::Known(Failed::NoSuchFile))
    );

    c.fupd("d/a").unwrap();
    assert_eq!(refusal(c.fupd("d/none")).code, Code::Known(Failed::NoSuchFile));

    // a DEL of what is not there: matched by its code, the session goes on
    c.del("d/a").unwrap();
    assert!(!srv.path("d/a").exists());
    let e = c.del("d/a").unwrap_err();
    assert!(e.is_refused() && e.session_usable());
    assert!(
        matches!(
            &e,
            Error::Refused(Refusal {
                code: Code::Known(Failed::NoSuchFile),
                ..
            })
        ),
        "{e:?}"
    );
    assert_eq!(e.failed(), Some(Failed::NoSuchFile));
    assert!(e.to_string().starts_with("the server refused DEL: FAILED 9 : "), "{e}");

    c.rmdir("d").unwrap();
    assert!(!srv.path("d").exists());
    assert_eq!(refusal(c.rmdir("d")).code, Code::Known(Failed::NoSuchDir));
    alive(&mut c);
}

#[test]
fn listings_iterate_checked_entries() {
    let srv = Server::start();
    let mut c = session(&srv);
    c.mkdir("top").unwrap();
    c.mkdir("top/sub").unwrap();
    c.touch("top/one").unwrap();
    c.touch("top/sub/two").unwrap();
    c.cpdir("top/sub", "top/sub2").unwrap();
    assert!(srv.path("top/sub2/two").is_file());

    assert_eq!(names(c.listdir("top").unwrap()), ["one", "sub/", "sub2/"]);
    assert_eq!(
        names(c.listdir_recursive("top").unwrap()),
        ["one", "sub/", "sub/two", "sub2/", "sub2/two"]
    );
    let l = c.listdir("top/sub").unwrap();
    assert_eq!(l.len(), 1);
    assert!(l.refused.is_empty());
    let e = l.iter().next().unwrap();
    assert_eq!((e.kind, e.rel.as_slice()), (Kind::File, &b"two"[..]));

    let r = refusal(c.listdir("nowhere"));
    assert_eq!(r.command, "LS");
    assert_eq!(r.code, Code::Known(Failed::NoSuchDir));
    assert_eq!(refusal(c.listdir_recursive("nowhere")).command, "LSR");
    alive(&mut c);
}

#[test]
fn the_raw_escape_hatches_return_replies_as_they_came() {
    let srv = Server::start();
    let mut c = session(&srv);
    // raw: a refusal is a reply, not an error
    let st = c.command(b"BOGUSCMD x").unwrap();
    assert_eq!(st, Status::Unknown);
    assert_eq!(Code::of(&st), Some(Code::Unknown));
    let st = c.call("DEL", b"missing").unwrap();
    assert_eq!(Code::of(&st), Some(Code::Known(Failed::NoSuchFile)));
    // the typed clock commands agree with this machine's and with each other
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((c.date().unwrap() - now).abs() < 10);
    assert!((c.udate().unwrap().as_secs() as i64 - now).abs() < 10);
    assert!((c.ndate().unwrap().as_secs() as i64 - now).abs() < 10);
    assert_eq!(c.dtof(0).unwrap(), "1970-01-01 00:00:00");
    assert_eq!(c.ftod("2026-11-21 22:02:26").unwrap(), 1_795_298_546);
    assert_eq!(refusal(c.ftod("not a date")).code.number(), Some(26));
    let f = c.datef().unwrap();
    assert!((c.ftod(&f).unwrap() - now).abs() < 10, "{f}");
    assert!(c.freesp().unwrap() > 0);
    assert!(c.prockey().unwrap().starts_with('/'));
    c.keepalive(true, 60, 10, 5).unwrap();
    assert_eq!(
        refusal(c.keepalive(true, 60, 10, 1000)).code,
        Code::Known(Failed::Keepalive)
    );
    let sp = c.space().unwrap();
    assert!(sp.usable > 0 && sp.disk.is_some());
    alive(&mut c);
}

#[test]
fn intwrite_refuses_a_file_changed_meanwhile() {
    let srv = Server::start();
    data_dir_write(&srv.path("f"), b"first");
    let mut a = session(&srv);
    let mut b = session(&srv);
    let (hash, got) = a.intread(b"f").unwrap();
    assert_eq!((got.as_slice(), hash.clone()), (&b"first"[..], hash_text(b"first")));
    // b replaces it first, with the hash it read
    let (hb, _) = b.intread(b"f").unwrap();
    b.intwrite(b"f", &hb, b"second").unwrap();
    assert_eq!(fs::read(srv.path("f")).unwrap(), b"second");
    // a's hash is stale now: declined, nothing changed, the session goes on
    let e = a.intwrite(b"f", &hash, b"third").unwrap_err();
    assert!(e.is_declined() && e.session_usable(), "{e:?}");
    assert!(
        matches!(
            e,
            Error::Declined {
                command: "INTWRITE",
                answer: -1
            }
        ),
        "{e:?}"
    );
    assert_eq!(fs::read(srv.path("f")).unwrap(), b"second");
    assert!(a.intread(b"missing").unwrap_err().is_declined());
    alive(&mut a);
}

#[test]
fn the_builder_refuses_a_wrong_hash_and_reads_a_key_file() {
    let srv = Server::start_with("proto 2.5.1\n");
    let key = srv.dir.join("api-pub.pem");
    fs::write(&key, &keys().1).unwrap();
    match Client::builder(&srv.addr())
        .key_file(&key)
        .hash("not-the-hash")
        .transport(Transport::Legacy)
        .connect()
    {
        Err(Error::Handshake("hash", st)) => {
            assert_eq!(Code::of(&st), Some(Code::Known(Failed::InvalidHash)))
        }
        Err(e) => panic!("expected a refused hash, got {e}"),
        Ok(_) => panic!("a wrong hash was accepted"),
    }
    let missing = Client::builder(&srv.addr())
        .key_file(srv.dir.join("no-such.pem"))
        .hash(&srv.hash)
        .connect();
    assert!(matches!(missing, Err(Error::Local(_))));
    // the key file, the secure transport, AES and 2.5.1 together
    let mut c = Client::builder(&srv.addr())
        .key_file(&key)
        .hash(&srv.hash)
        .proto("2.5.1")
        .aes(true)
        .transport(Transport::Require)
        .connect()
        .unwrap();
    assert!(c.secure());
    c.touch("made").unwrap();
    assert!(srv.path("made").is_file());
    // a config made elsewhere, changed by the builder
    let mut c = Client::builder_from(srv.client_config()).connect().unwrap();
    assert!(!c.secure());
    alive(&mut c);
}

#[test]
fn the_builder_logs_in_and_enters_a_jail() {
    if !is_root() {
        return;
    }
    let (uid, _) = ensure_system_user("tfdapi1", &[]);
    let f = login_userdb("api-userdb", "dora", "tfdapi1", "dora pw");
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\ninjail\n"),
        default_user: false,
        ..Default::default()
    });
    let cell = srv.path("jails/cell");
    fs::create_dir_all(&cell).unwrap();
    fs::write(cell.join("jail.key"), "the-token\n").unwrap();
    fs::write(cell.join("inside.txt"), b"inside").unwrap();
    let base = || {
        Client::builder(&srv.addr())
            .key_pem(keys().1.clone())
            .hash(&srv.hash)
            .transport(Transport::Legacy)
            .timeout(Some(Duration::from_secs(20)))
    };
    match base()
        .login("dora", "wrong pw")
        .jail("the-token", "jails/cell")
        .connect()
    {
        Err(Error::Handshake("login", st)) => assert_eq!(Code::of(&st), Some(Code::Known(Failed::LoginFailed))),
        Err(e) => panic!("expected a refused login, got {e}"),
        Ok(_) => panic!("a wrong password was accepted"),
    }
    match base().login("dora", "dora pw").jail("wrong", "jails/cell").connect() {
        Err(Error::Handshake("injail", st)) => assert_eq!(st.failed_code(), Some(49)),
        Err(e) => panic!("expected a refused INJAIL, got {e}"),
        Ok(_) => panic!("a wrong jail token was accepted"),
    }
    let mut c = base()
        .login("dora", "dora pw")
        .jail("the-token", "jails/cell")
        .connect()
        .unwrap();
    // the session runs as the logged-in user, chrooted to the cell
    let pid = srv.session_pid();
    assert_eq!(proc_ids(pid).0, format!("{uid} {uid} {uid} {uid}"));
    assert_eq!(
        fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        fs::canonicalize(&cell).unwrap()
    );
    assert!(c.exists("inside.txt").unwrap());
    assert!(!c.exists("jails").unwrap());
    assert_eq!(names(c.listdir("").unwrap()), ["inside.txt", "jail.key"]);
    // the cell is root's: the user may not write in it
    assert_eq!(refusal(c.mkdir("made")).code, Code::Known(Failed::AccessDenied));
    assert!(!cell.join("made").exists());
}

#[test]
fn the_builder_enters_through_fai_and_keeps_the_next_key() {
    if !is_root() {
        return;
    }
    ensure_system_user("tfdapi1", &[]);
    let f = login_userdb("api-fai-userdb", "dora", "tfdapi1", "dora pw");
    let fai = tempdir("api-fai").join("state").join("fai");
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\nfai_dir {}\nfai_max_minutes 30\n", fai.display()),
        default_user: false,
        ..Default::default()
    });
    let base = || {
        Client::builder(&srv.addr())
            .key_pem(keys().1.clone())
            .hash(&srv.hash)
            .transport(Transport::Legacy)
            .timeout(Some(Duration::from_secs(20)))
    };
    let mut c = base().login("dora", "dora pw").connect().unwrap();
    assert!(c.next_fai_token().is_none(), "no FAI entrance, no next key");
    let t = c.faitok(5).unwrap();
    c.end().unwrap();

    let mut c = base().fai(&t).connect().unwrap();
    let next = c.next_fai_token().expect("the next key").clone();
    assert_eq!(next.token, t.token);
    assert_ne!(next.key, t.key, "the entrance sent a new key");
    alive(&mut c);
    c.end().unwrap();
    // the next key opens the next entrance
    let mut c = base().fai(&next).connect().unwrap();
    alive(&mut c);
    // a token the server never issued is refused at the entrance
    let unknown = tfp_client::FaiToken {
        token: "0b7d4a1c-1e25-4c2e-9a6b-0d5f8e7c6b5a".into(),
        ..t.clone()
    };
    match base().fai(&unknown).connect() {
        Err(Error::Handshake("fai", st)) => assert_eq!(Code::of(&st), Some(Code::Known(Failed::FaiExpired))),
        Err(e) => panic!("expected a refused entrance, got {e}"),
        Ok(_) => panic!("an unknown token opened a session"),
    }
}

/// The download engine answers in the library's one shape: a refusal by its
/// command and code, a directory as [`Error::Usage`], a file shorter than
/// announced as [`Error::Mismatch`] wrapped in [`Error::Partial`] naming the
/// partial it kept; the target untouched each time.
#[test]
fn downloads_fail_in_the_one_error_shape() {
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;
    use tfp_client::engine::download::{self, Request};

    let srv = Server::start();
    fs::create_dir(srv.path("dir")).unwrap();
    let body = pattern(300_000, 3);
    fs::write(srv.path("f.bin"), &body).unwrap();
    let here = tempdir("client_api_download");
    let target = here.join("t.bin");
    fs::write(&target, b"old").unwrap();
    let progress = Arc::new(AtomicU64::new(0));
    let req = |remote: &'static [u8]| Request {
        remote,
        target: download::Target::Path(&target),
        streams: 1,
        bufsz: 65_536,
        resume: false,
        verify: false,
        unverified: false,
        progress: &progress,
    };
    let mut c = session(&srv);
    let cfg = srv.client_config();
    let e = download::download(&mut c, &cfg, &req(b"missing.bin"), &mut |_| {}).unwrap_err();
    let r = e.refusal().unwrap_or_else(|| panic!("not a refusal: {e:?}"));
    assert_eq!(
        (r.command.as_str(), e.failed()),
        ("FSTAT", Some(Failed::NoSuchFile)),
        "{e}"
    );
    assert!(e.kept().is_none() && e.session_usable());
    let e = download::download(&mut c, &cfg, &req(b"dir"), &mut |_| {}).unwrap_err();
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
    assert!(e.session_usable());
    alive(&mut c);
    assert_eq!(fs::read(&target).unwrap(), b"old");
    download::download(&mut c, &cfg, &req(b"f.bin"), &mut |_| {}).unwrap();
    assert_eq!(fs::read(&target).unwrap(), body);

    // a server that announces more than it sends
    let liar = tfd_testkit::liar::Liar::start(tfd_testkit::liar::Script::new().file("f.bin", &body).lie(
        tfd_testkit::liar::Lie::Size {
            path: "f.bin".into(),
            size: 400_000,
        },
    ));
    fs::write(&target, b"old").unwrap();
    let cfg = Client::builder(&liar.addr())
        .key_pem(keys().1.clone())
        .hash(tfd_testkit::liar::HASH)
        .transport(Transport::Legacy)
        .timeout(Some(Duration::from_secs(20)))
        .config()
        .clone();
    let mut c = Client::connect(&cfg).unwrap();
    let e = download::download(&mut c, &cfg, &req(b"f.bin"), &mut |_| {}).unwrap_err();
    assert!(
        matches!(e.cause(), Error::Mismatch(m) if m.contains("announced 400000")),
        "{e:?}"
    );
    let kept = e.kept().unwrap_or_else(|| panic!("nothing kept: {e:?}"));
    assert_eq!(kept.bytes, body.len() as u64, "{e}");
    assert_eq!(fs::read(&kept.partial).unwrap(), body);
    assert!(e.to_string().contains("kept in"), "{e}");
    assert!(e.session_usable());
    assert_eq!(fs::read(&target).unwrap(), b"old");
}

/// A relay to `to` on loopback that holds each of the first `held`
/// connections `delay` before passing it on, as a lost SYN (sent again after 1 s) makes a session
/// late. It accepts for 30 s; each pipe ends with its sockets.
fn late_relay(to: String, delay: Duration, held: usize) -> String {
    use std::net::{Shutdown, TcpListener, TcpStream};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    l.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let mut held = held;
        let until = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < until {
            let Ok((s, _)) = l.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            let to = to.clone();
            let wait = if held > 0 { delay } else { Duration::ZERO };
            held = held.saturating_sub(1);
            std::thread::spawn(move || {
                std::thread::sleep(wait);
                let (Ok(t), Ok(())) = (TcpStream::connect(&to), s.set_nonblocking(false)) else {
                    return;
                };
                let pipe = |mut a: TcpStream, mut b: TcpStream| {
                    let _ = a.set_read_timeout(Some(Duration::from_secs(30)));
                    let _ = std::io::copy(&mut a, &mut b);
                    let _ = b.shutdown(Shutdown::Write);
                };
                if let (Ok(s2), Ok(t2)) = (s.try_clone(), t.try_clone()) {
                    std::thread::spawn(move || pipe(s2, t2));
                    pipe(t, s);
                }
            });
        }
    });
    addr
}

/// `staged::put` over four streams sends on the command's own session
/// without waiting for the other streams' sessions (issue 42): each stream
/// waits for its own, and one with nothing left to take stops waiting. Here
/// every other session is 4 s late (a relay holds it): the upload ends
/// before that, whole on the server, where it used to wait for all of them
/// first.
#[test]
fn a_staged_put_does_not_wait_for_late_stream_sessions() {
    let srv = Server::start();
    let delay = Duration::from_secs(4);
    let mut cfg = srv.client_config();
    cfg.server = late_relay(srv.addr(), delay, usize::MAX);
    let mut c = srv.client();
    let src = tempdir("late-streams").join("src.bin");
    let data = pattern(8 << 20, 5);
    fs::write(&src, &data).unwrap();
    let req = tfp_client::engine::staged::Request {
        local: &src,
        remote: b"late.bin",
        streams: 4,
        bufsz: 1 << 20,
        resume: false,
        overwrite: true,
        attrs: None,
        compress: None,
    };
    let t = std::time::Instant::now();
    let r = tfp_client::engine::staged::put(&mut c, &cfg, &req, &Default::default());
    let took = t.elapsed();
    assert!(r.is_ok(), "{r:?}");
    assert!(fs::read(srv.path("late.bin")).unwrap() == data, "the bytes differ");
    assert!(took < delay, "the upload waited for the late sessions: {took:?}");
}

/// `get --streams 4`'s streams do not wait for a session of theirs that
/// comes late (issue 42): a stream takes its session before a lane, and
/// one still waiting when the others have taken everything, or the
/// server's hash on a session of its own, gives up on it. Here the streams'
/// sessions open beside the command's as tf opens them, the first through a
/// relay that holds it 4 s: the download ends before that, whole.
#[test]
fn a_parallel_download_does_not_wait_for_a_late_stream_session() {
    use std::sync::{atomic::AtomicU64, Arc};
    use tfp_client::engine::download;
    let srv = Server::start();
    let data = pattern(8 << 20, 9);
    fs::write(srv.path("late-get.bin"), &data).unwrap();
    let delay = Duration::from_secs(4);
    let mut cfg = srv.client_config();
    cfg.server = late_relay(srv.addr(), delay, 1);
    tfp_client::spare::start(&cfg, 5);
    let mut c = srv.client();
    let target = tempdir("late-get").join("got.bin");
    let progress = Arc::new(AtomicU64::new(0));
    let req = download::Request {
        remote: b"late-get.bin",
        target: download::Target::Path(&target),
        streams: 4,
        bufsz: 1 << 20,
        resume: false,
        verify: false,
        unverified: false,
        progress: &progress,
    };
    let t = std::time::Instant::now();
    let r = download::download(&mut c, &cfg, &req, &mut |_| {});
    let took = t.elapsed();
    tfp_client::spare::end();
    assert!(r.is_ok(), "{r:?}");
    assert!(fs::read(&target).unwrap() == data, "the bytes differ");
    assert!(took < delay, "the download waited for the late session: {took:?}");
}
