//! Partial downloads tf no longer needs are removed (issue 65): a `kill -9`
//! of a run that was fetching a complete file again leaves its partial and
//! journal beside the file, and `mirror` (with `--delete` too) left them for
//! ever. A partial a later `--resume` could continue stays.

use crate::output::{stderr, text};
use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use tfd_testkit::*;

/// A partial and its journal for `name` in `dir`, as an interrupted run
/// leaves them (the engine's on-disk names; 0600, as it makes them).
fn plant(dir: &Path, name: &str, bytes: usize) {
    for (end, data) in [
        ("tf-partial", vec![7u8; bytes]),
        ("tf-partial.journal", b"tf-journal 1\n".to_vec()),
    ] {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dir.join(format!(".{name}.{end}")))
            .and_then(|mut f| std::io::Write::write_all(&mut f, &data))
            .unwrap();
    }
}

fn hidden(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = dir_names(dir).into_iter().filter(|n| n.starts_with('.')).collect();
    v.sort();
    v
}

#[test]
fn mirror_removes_the_partials_no_run_can_want() {
    let srv = Server::start();
    fs::create_dir_all(srv.path("t")).unwrap();
    fs::write(srv.path("t/big.bin"), pattern(1 << 20, 90)).unwrap();
    fs::write(srv.path("t/gone.bin"), b"soon gone").unwrap();
    fs::write(srv.path("t/want.bin"), pattern(1 << 20, 91)).unwrap();
    let here = tempdir("stale_partials");
    let dest = here.join("t");
    let o = srv.tf(&["mirror", "t", dest.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    fs::remove_file(srv.path("t/gone.bin")).unwrap();
    fs::remove_file(dest.join("want.bin")).unwrap();
    // big.bin is complete here; gone.bin is no longer on the server;
    // want.bin is excluded from this run, and a resume could continue it
    for name in ["big.bin", "gone.bin", "want.bin"] {
        plant(&dest, name, 4096);
    }
    for delete in [false, true] {
        let mut args = vec!["mirror", "--exclude", "want.bin", "t", dest.to_str().unwrap()];
        if delete {
            args.insert(1, "--delete");
        }
        let o = srv.tf(&args);
        assert!(o.status.success(), "{}", text(&o));
        assert_eq!(
            hidden(&dest),
            [".want.bin.tf-partial", ".want.bin.tf-partial.journal"],
            "--delete {delete}: {}",
            text(&o)
        );
        if !delete {
            assert!(
                stderr(&o)
                    .contains("big.bin: its partial download is no longer needed (the file here is complete), removed"),
                "{}",
                text(&o)
            );
            assert!(
                stderr(&o).contains("gone.bin: its partial download is no longer needed"),
                "{}",
                text(&o)
            );
            plant(&dest, "big.bin", 10);
        }
    }
}

/// `tf partials DIR` lists what an interrupted download left below DIR:
/// a `kill -9`ed `get` (its journal there: resumable) and a partial with no
/// journal, with size, age and target; `--discard` removes both but leaves
/// the one another tf holds, and says so with exit status 1.
#[test]
fn partials_lists_and_discards_what_interrupted_downloads_left() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    use std::time::{Duration, Instant};
    let srv = Server::start_with("rate_limit_session 4M\n");
    // the download writes its partial 4 MiB at a time: 32 MiB at 4 MiB/s
    // leaves seconds between the first write and the end for the kill
    // (8 MiB at 1 MiB/s often ended first)
    fs::create_dir_all(srv.path("d")).unwrap();
    fs::write(srv.path("d/big.bin"), pattern(32 << 20, 92)).unwrap();
    let here = tempdir("partials_cmd");
    let sub = here.join("d");
    fs::create_dir_all(&sub).unwrap();
    let err = here.join("get.err");
    let mut child = srv
        .tf_command(&["get", "-r", "d", here.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let data = sub.join(".big.bin.tf-partial");
    let deadline = Instant::now() + Duration::from_secs(60);
    while fs::metadata(&data).map(|m| m.len()).unwrap_or(0) < (1 << 20)
        || !sub.join(".big.bin.tf-partial.journal").exists()
    {
        let ended = child.try_wait().unwrap();
        assert!(
            ended.is_none() && Instant::now() < deadline,
            "no partial ({ended:?}): {}\n{}",
            fs::read_to_string(&err).unwrap_or_default(),
            srv.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    let _ = child.wait();
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(here.join(".old.txt.tf-partial"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"12345"))
        .unwrap();
    let dir = here.to_str().unwrap();
    let o = srv.tf(&["partials", dir]);
    assert!(o.status.success(), "{}", text(&o));
    let out = crate::output::stdout(&o);
    let line = |target: &str| {
        out.lines()
            .find(|l| l.ends_with(&format!("/{target}")))
            .unwrap_or_else(|| panic!("{target} not listed:\n{out}"))
            .to_string()
    };
    let big = line("d/big.bin");
    assert!(
        big.contains("resumable") && big.contains('M') && big.contains('s'),
        "{big}"
    );
    let old = line("old.txt");
    assert!(old.contains("no journal") && old.trim_start().starts_with('5'), "{old}");
    assert!(out.contains("2 partial downloads below"), "{out}");
    assert!(out.contains(&format!("tf partials --discard {dir}")), "{out}");
    // another tf holds one: it stays
    let held = fs::File::open(here.join(".old.txt.tf-partial")).unwrap();
    assert!(tfd_sys::try_lock_exclusive(std::os::fd::AsFd::as_fd(&held)).unwrap());
    let o = srv.tf(&["partials", "--discard", dir]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        stderr(&o).contains("old.txt: left: ") && stderr(&o).contains("another tf is downloading to it"),
        "{}",
        text(&o)
    );
    assert!(
        crate::output::stdout(&o).contains("removed the partial download of"),
        "{}",
        text(&o)
    );
    assert!(hidden(&sub).is_empty(), "{:?}", hidden(&sub));
    assert_eq!(hidden(&here), [".old.txt.tf-partial"]);
    drop(held);
    let o = srv.tf(&["partials", "--discard", dir]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(hidden(&here).is_empty(), "{:?}", hidden(&here));
    let o = srv.tf(&["partials", dir]);
    assert!(
        crate::output::stdout(&o).contains("no partial downloads below"),
        "{}",
        text(&o)
    );
}
