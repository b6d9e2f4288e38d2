//! TFDLINK for a jailed user on a multi-user server: she links only files
//! of her root she may read. Another user's unreadable file in her home,
//! /etc/passwd through a symlinked directory, a file outside her root
//! through a link, `..` above her root, and a name swapped by renames
//! between her own file and a symlink to /etc/passwd while she links it:
//! each refused with FAILED or linking her own file, never anything else;
//! TFDLINKS of the same, and to destinations out of her root, alike; four
//! sessions at once, each going on.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use tfd_testkit::users::{alice_jailed, AliceJailed};
use tfd_testkit::*;
use tfp_wire::link::{Link, Links};
use tfp_wire::Status;

fn line(a: &str, b: &str) -> Vec<u8> {
    Link {
        existing: a.into(),
        new: b.into(),
    }
    .line()
    .unwrap()
}

/// TFDLINKS `from` → `to` of `paths`: each path's code (a refused command:
/// every path's code).
fn many(c: &mut tfp_client::Client, from: &str, to: &str, paths: &[&str]) -> Vec<u16> {
    let l = Links {
        from: from.into(),
        to: to.into(),
        paths: paths.iter().map(|p| p.as_bytes().to_vec()).collect(),
    };
    match c.command(&[&b"TFDLINKS "[..], &l.encode().unwrap()].concat()).unwrap() {
        Status::Ok(text) => tfp_wire::link::parse_answers(&text, paths.len()).unwrap(),
        Status::Failed(n, _) => vec![n as u16; paths.len()],
        st => panic!("TFDLINKS: {st:?}"),
    }
}

fn owned(p: &Path, uid: u32, mode: u32, text: &[u8]) {
    fs::write(p, text).unwrap();
    nix::unistd::chown(p, Some(uid.into()), Some(uid.into())).unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_jailed_user_links_only_her_own_readable_files() {
    assert!(is_root(), "this test needs root (jails, users)");
    let AliceJailed { srv, alice, bob, home } = alice_jailed("tfdlink", Some(0o777));
    owned(&home.join("bobs"), bob.0, 0o600, b"bob's secret");
    owned(&home.join("bobs_public"), bob.0, 0o644, b"bob's, readable");
    owned(&home.join("mine"), alice.0, 0o644, b"alice's");
    let outside = tempdir("link-outside");
    owned(&outside.join("secret"), bob.0, 0o644, b"outside");
    symlink(&outside, home.join("out")).unwrap();
    symlink("/etc", home.join("etc")).unwrap();
    symlink("/etc/passwd", home.join("evil")).unwrap();
    let passwd_links = fs::metadata("/etc/passwd").unwrap().nlink();
    let mine = fs::metadata(home.join("mine")).unwrap().ino();

    let login = || {
        let mut c = srv.client();
        assert_ok(c.call("LOGIN", b"alice alice pw").unwrap());
        c
    };
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        // the swapper: "x" is her file, then the symlink to /etc/passwd, again and again
        s.spawn(|| {
            let (x, m, e) = (home.join("x"), home.join("mine2"), home.join("evil2"));
            fs::hard_link(home.join("mine"), &m).unwrap();
            symlink("/etc/passwd", &e).unwrap();
            while !stop.load(Ordering::Relaxed) {
                fs::rename(&m, &x).unwrap();
                fs::rename(&x, &m).unwrap();
                fs::rename(&e, &x).unwrap();
                fs::rename(&x, &e).unwrap();
            }
        });
        let workers: Vec<_> = (0..4)
            .map(|t| {
                let login = &login;
                s.spawn(move || {
                    let mut c = login();
                    for i in 0..40 {
                        for a in [
                            "/home/bobs",
                            "/home/bobs_public",
                            "/home/etc/passwd",
                            "/home/evil",
                            "/home/out/secret",
                            "/../../../etc/passwd",
                            "/home/../../etc/passwd",
                        ] {
                            let st = c.command(&line(a, &format!("/home/n{t}_{i}"))).unwrap();
                            assert!(matches!(st, Status::Failed(..)), "TFDLINK {a}: {st:?}");
                        }
                        for b in ["/home/out/n", "/home/etc/n", "/../n"] {
                            let st = c.command(&line("/home/mine", b)).unwrap();
                            assert!(matches!(st, Status::Failed(..)), "TFDLINK to {b}: {st:?}");
                        }
                        // raced: either refused or a link to her own file
                        let _ = c.command(&line("/home/x", &format!("/home/r{t}_{i}"))).unwrap();
                        // the same as TFDLINKS: each refused, but her own
                        // file and the raced name; no directory made for a
                        // refusal, none out of her root
                        let paths = ["bobs", "bobs_public", "etc/passwd", "evil", "out/secret", "x"];
                        let codes = many(&mut c, "/home", &format!("/home/L{t}_{i}"), &paths);
                        assert!(codes[..5].iter().all(|&c| c != 0), "TFDLINKS: {codes:?}");
                        for to in ["/home/out", "/home/etc", "/../x", "/home/../../x"] {
                            let codes = many(&mut c, "/home", &format!("{to}/L{t}_{i}"), &["mine"]);
                            assert_ne!(codes, [0], "TFDLINKS to {to}");
                        }
                    }
                    assert_ok(c.command(&line("/home/mine", &format!("/home/ok{t}"))).unwrap());
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert_eq!(fs::metadata("/etc/passwd").unwrap().nlink(), passwd_links);
    for t in 0..4 {
        for i in 0..40 {
            assert!(
                !Path::new(&format!("/etc/L{t}_{i}")).exists(),
                "TFDLINKS made a directory in /etc"
            );
        }
    }
    assert_eq!(fs::metadata(home.join("bobs")).unwrap().nlink(), 1);
    assert_eq!(fs::metadata(home.join("bobs_public")).unwrap().nlink(), 1);
    assert_eq!(fs::metadata(outside.join("secret")).unwrap().nlink(), 1);
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 1);
    let mut raced = 0;
    for e in fs::read_dir(&home).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        assert!(!name.starts_with('n'), "a refused link made {name}");
        if name.starts_with('L') {
            // a TFDLINKS' destination: her raced file at most
            for f in fs::read_dir(e.path()).unwrap() {
                let f = f.unwrap();
                let m = fs::symlink_metadata(f.path()).unwrap();
                assert!(
                    f.file_name() == "x" && m.is_file() && m.ino() == mine,
                    "{name}: {:?}",
                    f.file_name()
                );
            }
        }
        if name.starts_with('r') || name.starts_with("ok") {
            let m = fs::symlink_metadata(e.path()).unwrap();
            assert!(m.is_file() && m.ino() == mine, "{name} is not her file");
            raced += 1;
        }
    }
    assert!(raced >= 4, "her own links were made");
    let _ = fs::remove_dir_all(&outside);
}
