//! `tfd ctl` tells the truth (issue 65): `reload` answers with its outcome and
//! a matching exit status (done 0, refused 2, done but waiting for a restart
//! 3), and `-c FILE` asks the tfd FILE names or no tfd at all.

use std::path::Path;
use std::process::Command;
use tfd_testkit::*;

/// `tfd ctl ARGS`: exit code and output (stdout, then stderr).
fn ctl(args: &[&str]) -> (Option<i32>, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .arg("ctl")
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

fn add_line(conf: &Path, line: &str) {
    let mut text = std::fs::read_to_string(conf).unwrap();
    text.push_str(line);
    std::fs::write(conf, text).unwrap();
}

#[test]
fn ctl_reload_answers_done_refused_or_needs_a_restart() {
    let dir = tempdir("ctl-outcome");
    let sock = dir.join("ctl.sock");
    let srv = Server::start_with(&format!("control_socket {}\n", sock.display()));
    let s = sock.to_str().unwrap();

    let (code, out) = ctl(&["--socket", s, "reload"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("ok: reload done"), "{out}");

    // a listen address added takes a restart: said, exit 3, and again at the
    // next reload (the running addresses are still the old ones)
    add_line(&srv.conf, &format!("listen 127.0.0.1:{}\n", free_port()));
    for round in 0..2 {
        let (code, out) = ctl(&["--socket", s, "reload"]);
        assert_eq!(code, Some(3), "round {round}: {out}");
        assert!(
            out.starts_with("restart: reload done") && out.contains("listen") && out.contains("restart tfd"),
            "round {round}: {out}"
        );
        // one key: said in the singular, in words (issue 88: "take(s)")
        assert!(
            out.contains("listen changed and takes effect on restart only (the old value stays")
                && out.contains("restart tfd to apply it")
                && !out.contains("(s)"),
            "round {round}: {out}"
        );
    }

    // a key that is gone: refused, exit 2, why, and the old configuration serves
    let key = srv.dir.join("key.pem");
    let moved = srv.dir.join("key.pem.away");
    std::fs::rename(&key, &moved).unwrap();
    let (code, out) = ctl(&["--socket", s, "reload"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.starts_with("error: reload refused, keeping the old configuration:") && out.contains("key.pem"),
        "{out}"
    );
    let mut c = srv.client();
    assert_eq!(c.raw(b"ECHO still").unwrap(), b"still");

    // -c FILE reaches FILE's tfd even while its key is missing: that tfd says why
    let conf = srv.conf.to_str().unwrap();
    let (code, out) = ctl(&["-c", conf, "reload"]);
    assert_eq!(code, Some(2), "-c FILE asked FILE's tfd: {out}");
    assert!(out.contains("reload refused") && out.contains("key.pem"), "{out}");
    std::fs::rename(&moved, &key).unwrap();
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctl_with_a_config_it_cannot_read_asks_no_tfd() {
    let dir = tempdir("ctl-no-fallback");
    let broken = dir.join("broken.conf");
    std::fs::write(&broken, "proto 2.4.1\nthis is not a line\n").unwrap();
    let missing = dir.join("missing.conf");
    for conf in [&broken, &missing] {
        let (code, out) = ctl(&["-c", conf.to_str().unwrap(), "reload"]);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains(&conf.display().to_string()), "names the file: {out}");
        assert!(
            !out.contains(tfd::config::DEFAULT_CONTROL_SOCKET),
            "fell back to the default socket: {out}"
        );
        assert!(out.contains("not asking any tfd") && out.contains("--socket"), "{out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
