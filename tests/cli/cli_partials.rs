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
