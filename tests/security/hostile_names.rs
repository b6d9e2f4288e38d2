//! Names that drive a terminal (issue 64): tfd refused a new name holding
//! an ASCII control or DEL, but stored one holding a C1 control (U+0080 to
//! U+009F), which a UTF-8 terminal obeys as it does ESC (U+009B starts a
//! sequence), through every command that makes a name and through batches.
//! Now C1 controls are refused as the others are, from many sessions at
//! once; names made outside the protocol stay reachable.

use std::fs;
use std::path::Path;
use tfd_testkit::*;
use tfp_wire::Status;

/// Whether a name below `dir` holds a C1 control.
fn holds_c1(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for e in fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)) {
            found.push(name.escape_debug().to_string());
        }
        if e.path().is_dir() {
            found.extend(holds_c1(&e.path()));
        }
    }
    found
}

/// MKDIR, TOUCH and a `tf put -r` batch of names with C1 controls, four
/// sessions at once: each refused, each plain name beside them stored. On
/// the old code all of them were stored.
#[test]
fn names_with_c1_controls_are_refused_as_ascii_controls_are() {
    let srv = Server::start();
    let here = tempdir("hostile_names_c1");
    std::thread::scope(|s| {
        for t in 0..4 {
            let (srv, here) = (&srv, &here);
            s.spawn(move || {
                let mut c = srv.client();
                for (cmd, name) in [("MKDIR", format!("d{t}\u{9b}2J")), ("TOUCH", format!("f{t}\u{85}x"))] {
                    let st = c.call(cmd, name.as_bytes()).unwrap();
                    assert!(matches!(st, Status::Failed(..)), "{cmd} {name:?} answered {st:?}");
                }
                assert_ok(c.call("TOUCH", format!("plain{t}").as_bytes()).unwrap());
                let src = here.join(format!("src{t}"));
                fs::create_dir_all(&src).unwrap();
                fs::write(src.join("ok.txt"), "ok\n").unwrap();
                fs::write(src.join("c1\u{9b}31mred.txt"), "red\n").unwrap();
                fs::write(src.join("nel\u{85}.txt"), "nel\n").unwrap();
                let o = srv
                    .tf_command(&["put", "-r", &format!("{}/", src.display()), &format!("up{t}")])
                    .output()
                    .unwrap();
                let err = String::from_utf8_lossy(&o.stderr);
                assert!(
                    !err.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)),
                    "tf printed a C1 control raw: {err:?}"
                );
                let landed = fs::read_to_string(srv.path(&format!("up{t}/ok.txt")));
                assert_eq!(
                    landed.as_deref().ok(),
                    Some("ok\n"),
                    "the plain file of put -r did not land ({}):\n{err}",
                    o.status
                );
            });
        }
    });
    assert_eq!(
        holds_c1(&srv.data),
        Vec::<String>::new(),
        "names with C1 controls were stored"
    );
    let _ = fs::remove_dir_all(&here);
}

/// The log line of FLYCONTEXT named its directory raw: a bidi or
/// zero-width mark in it reordered or hid what the administrator reads.
/// Now it is escaped as everywhere else tfd logs a name. Checked failing
/// on the old code.
#[test]
fn flycontext_logs_a_bidi_or_zero_width_name_escaped() {
    let srv = Server::start();
    let mut c = srv.client();
    let st = c.call("FLYCONTEXT", "ctx\u{202e}\u{200b}x".as_bytes()).unwrap();
    assert!(matches!(st, Status::Ok(_)), "{st:?}");
    let log = srv.log();
    assert!(
        !log.chars().any(tfp_wire::escape::hides_text),
        "the log holds a hiding character raw: {log}"
    );
    assert!(log.contains("ctx\\u{202e}\\u{200b}x"), "{log}");
}
