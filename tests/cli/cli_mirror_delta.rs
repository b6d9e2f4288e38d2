//! `tf mirror -R` sends a changed file the server has as a delta (tfd's
//! TFDDELTAPUT, doc/compatibility.md "Delta transfers"), stamped with the
//! local mode and mtime as the files a batch sends whole, so the next run
//! moves nothing; `tf mirror` fetches one onto its old local copy
//! (TFDDELTAGET), landed with the server's mtime. Tests run on loopback, where tf sends whole unless
//! `--no-whole-file` asks; the server's transfer log tells what crossed.

use crate::xferlog::{lines, moved};

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, SystemTime};
use tfd_testkit::*;

const MIB: usize = 1 << 20;

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ok(o: &Output, what: &str) {
    assert!(o.status.success(), "{what}: {}", text(o));
}

/// The summary's counts: (transferred, deleted, unchanged, failed).
fn counts(o: &Output) -> (usize, usize, usize, usize) {
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .rev()
        .find(|l| l.starts_with("mirror: "))
        .unwrap_or_else(|| panic!("no summary line: {}", text(o)));
    let n: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse().unwrap())
        .collect();
    (n[0], n[1], n[2], n[3])
}

fn set_mtime(p: &Path, secs: u64) {
    let f = fs::File::options().write(true).open(p).unwrap();
    f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

/// An edited big file goes as TFDDELTAPUT moving a fraction of its bytes,
/// lands byte for byte with the local mode and mtime, and a second mirror
/// moves nothing; `--whole-file` (and no flag, on loopback) sends it whole.
#[test]
fn mirror_up_sends_an_edited_big_file_as_a_delta_keeping_its_mtime() {
    let log = tempdir("mirror_delta_log").join("xfer.log");
    let srv = Server::start_with(&format!("xferlog {}\n", log.display()));
    let here = tempdir("mirror_delta");
    let local = here.join("src");
    fs::create_dir_all(local.join("d")).unwrap();
    let big = local.join("d/big file.bin");
    let old = pattern(8 * MIB, 21);
    fs::write(&big, &old).unwrap();
    fs::write(local.join("small.txt"), b"small").unwrap();
    set_mtime(&big, 1_000_000);
    ok(&srv.tf(&["mirror", "-R", s(&local), "r"]), "first upload");
    assert_eq!(fs::read(srv.path("r/d/big file.bin")).unwrap(), old);

    let remote = srv.path("r/d/big file.bin");
    let cases: [(&[&str], &str, u64); 3] = [
        (&["--no-whole-file"], "TFDDELTAPUT", 256 << 10),
        (&["--whole-file"], "", 8 * MIB as u64),
        (&[], "", 8 * MIB as u64),
    ];
    for (i, (flags, cmd, most)) in cases.into_iter().enumerate() {
        let mut new = old.clone();
        let at = (i + 2) * MIB;
        new[at..at + 100_000].copy_from_slice(&pattern(100_000, 30 + i as u64));
        fs::write(&big, &new).unwrap();
        fs::set_permissions(&big, fs::Permissions::from_mode(0o640 + i as u32)).unwrap();
        let mtime = 2_000_000 + i as u64;
        set_mtime(&big, mtime);
        let from = lines(&log);
        let mut args = vec!["mirror", "-R"];
        args.extend(flags);
        args.extend([s(&local), "r"]);
        let o = srv.tf(&args);
        ok(&o, &format!("mirror -R {flags:?}"));
        assert_eq!(counts(&o), (1, 0, 1, 0), "{flags:?}: {}", text(&o));
        assert!(
            fs::read(&remote).unwrap() == new,
            "{flags:?}: the remote file is the new one"
        );
        let m = fs::metadata(&remote).unwrap();
        assert_eq!(m.mtime(), mtime as i64, "{flags:?}: the local mtime kept");
        assert_eq!(m.mode() & 0o777, 0o640 + i as u32, "{flags:?}: the local mode kept");
        let big_path = "/r/d/big\\x20file.bin";
        if cmd.is_empty() {
            // whole, in a batch: logged once for the batch, under "/" (the
            // batch of directories' attributes after it carries no data)
            let batch: Vec<_> = moved(&log, "/", from).into_iter().filter(|b| b.1 > 0).collect();
            assert_eq!(batch.len(), 1, "{flags:?}: {batch:?}");
            assert_eq!(
                (batch[0].0.as_str(), batch[0].1, batch[0].2),
                ("TFDPUTMANY", most, true),
                "{flags:?}"
            );
            let t = fs::read_to_string(&log).unwrap();
            assert!(
                !t.lines().skip(from).any(|l| l.contains(big_path)),
                "{flags:?}: no delta tried:\n{t}"
            );
        } else {
            let log_says = moved(&log, big_path, from);
            assert_eq!(log_says.len(), 1, "{flags:?}: {log_says:?}");
            let (c, bytes, done) = &log_says[0];
            assert!(*done, "{flags:?}: {log_says:?}");
            assert_eq!(c, cmd, "{flags:?}: {log_says:?}");
            assert!(*bytes <= most, "{flags:?}: {bytes} bytes moved, at most {most}");
        }
        // the next run sees nothing to do
        let o = srv.tf(&["mirror", "-R", "--no-whole-file", s(&local), "r"]);
        ok(&o, "second mirror");
        assert_eq!(counts(&o), (0, 0, 2, 0), "{flags:?}: {}", text(&o));
    }
    let _ = fs::remove_dir_all(&here);
}

/// The download direction: an edited big file on the server comes as
/// TFDDELTAGET moving a fraction of its bytes onto the old local copy, lands
/// byte for byte with the server's mtime, and a second mirror moves nothing;
/// `--whole-file` (and no flag, on loopback) fetch it whole (GET).
#[test]
fn mirror_down_fetches_an_edited_big_file_as_a_delta_keeping_its_mtime() {
    let log = tempdir("mirror_delta_down_log").join("xfer.log");
    let srv = Server::start_with(&format!("xferlog {}\n", log.display()));
    let remote = srv.path("r/d/big file.bin");
    fs::create_dir_all(remote.parent().unwrap()).unwrap();
    let old = pattern(8 * MIB, 41);
    fs::write(&remote, &old).unwrap();
    fs::write(srv.path("r/small.txt"), b"small").unwrap();
    set_mtime(&remote, 1_000_000);
    let here = tempdir("mirror_delta_down");
    let dst = here.join("dst");
    ok(&srv.tf(&["mirror", "r", s(&dst)]), "first download");
    let local = dst.join("d/big file.bin");
    assert!(fs::read(&local).unwrap() == old);

    let big_path = "/r/d/big\\x20file.bin";
    let cases: [(&[&str], &str, u64); 3] = [
        (&["--no-whole-file"], "TFDDELTAGET", 256 << 10),
        (&["--whole-file"], "GET", 8 * MIB as u64),
        (&[], "GET", 8 * MIB as u64),
    ];
    for (i, (flags, cmd, most)) in cases.into_iter().enumerate() {
        let mut new = fs::read(&remote).unwrap();
        let at = (i + 2) * MIB;
        new[at..at + 100_000].copy_from_slice(&pattern(100_000, 50 + i as u64));
        fs::write(&remote, &new).unwrap();
        let mtime = 2_000_000 + i as u64;
        set_mtime(&remote, mtime);
        let from = lines(&log);
        let mut args = vec!["mirror"];
        args.extend(flags);
        args.extend(["r", s(&dst)]);
        let o = srv.tf(&args);
        ok(&o, &format!("mirror {flags:?}"));
        assert_eq!(counts(&o), (1, 0, 1, 0), "{flags:?}: {}", text(&o));
        assert!(
            fs::read(&local).unwrap() == new,
            "{flags:?}: the local file is the new one"
        );
        assert_eq!(
            fs::metadata(&local).unwrap().mtime(),
            mtime as i64,
            "{flags:?}: the server's mtime"
        );
        let m = moved(&log, big_path, from);
        assert_eq!(m.len(), 1, "{flags:?}: {m:?}");
        let (c, bytes, done) = &m[0];
        assert_eq!((c.as_str(), *done), (cmd, true), "{flags:?}: {m:?}");
        assert!(*bytes <= most, "{flags:?}: {bytes} bytes moved, at most {most}");
        // the next run sees nothing to do
        let from = lines(&log);
        let o = srv.tf(&["mirror", "--no-whole-file", "r", s(&dst)]);
        ok(&o, "second mirror");
        assert_eq!(counts(&o), (0, 0, 2, 0), "{flags:?}: {}", text(&o));
        let t = fs::read_to_string(&log).unwrap();
        assert!(
            !t.lines().skip(from).any(|l| l.contains(big_path)),
            "{flags:?}: nothing moved:\n{t}"
        );
    }
    let partials: Vec<String> = dir_names(&dst.join("d"));
    assert_eq!(partials, ["big file.bin"], "no partial left");
    let _ = fs::remove_dir_all(&here);
}
