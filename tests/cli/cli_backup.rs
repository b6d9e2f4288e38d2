//! rsync's `-b`, `--backup-dir`, `--suffix` and `--remove-source-files`
//! in `put`, `get` (with and without `-r`) and `mirror` both ways (issue
//! 68), through the real binary against a real tfd: each result on disk
//! compared with rsync's for the same tree and the same words (every
//! replaced or removed file kept with its contents, names as rsync names
//! them), a hard link of a replaced file keeping the old contents, a server
//! without the extension refused in one sentence, and `--remove-source-files`
//! killed at random points never losing a file.

use crate::output::{ok, text};
use crate::trees::inventory;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};
use tfd_testkit::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn write(p: &Path, text: &str, secs_ago: u64) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
    let f = fs::File::options().write(true).open(p).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs_ago))
        .unwrap();
}

/// The source: two changed files, one new.
fn source(root: &Path) {
    write(&root.join("a.txt"), "new a", 10);
    write(&root.join("sub/b.txt"), "new b, longer", 10);
    write(&root.join("c.txt"), "new c", 10);
}

/// The destination before: old versions, an extra file and an extra
/// directory holding a file.
fn destination(root: &Path) {
    write(&root.join("a.txt"), "old a (older)", 5000);
    write(&root.join("sub/b.txt"), "old b", 5000);
    write(&root.join("extra.txt"), "old extra", 5000);
    write(&root.join("gone/x"), "old x", 5000);
}

fn rsync(args: &[&str]) {
    let o = Command::new("rsync").args(args).output().unwrap();
    assert!(o.status.success(), "rsync {args:?}: {}", text(&o));
}

#[test]
fn mirror_up_keeps_what_it_replaces_and_removes_as_rsync_does() {
    let srv = Server::start();
    let here = tempdir("cli_backup_up");
    let src = here.join("src");
    source(&src);
    // rsync's result for the same words
    let reference = here.join("ref");
    destination(&reference.join("d"));
    let d = format!("{}/", s(&reference.join("d")));
    rsync(&[
        "-a",
        "--delete",
        "--backup",
        "--backup-dir=../bak",
        &format!("{}/", s(&src)),
        &d,
    ]);
    destination(&srv.path("d"));
    // a second name of the replaced file, outside the tree
    fs::hard_link(srv.path("d/a.txt"), srv.path("other name")).unwrap();
    let o = srv.tf(&["mirror", "-R", "--delete", "--backup-dir", "../bak", s(&src), "d"]);
    ok(&o, "mirror -R --backup-dir");
    assert_eq!(
        inventory(&srv.path("d")),
        inventory(&reference.join("d")),
        "{}",
        text(&o)
    );
    assert_eq!(
        inventory(&srv.path("bak")),
        inventory(&reference.join("bak")),
        "the backups"
    );
    assert_eq!(fs::read(srv.path("bak/gone/x")).unwrap(), b"old x");
    assert_eq!(fs::read(srv.path("other name")).unwrap(), b"old a (older)");
    assert_eq!(
        fs::metadata(srv.path("other name")).unwrap().ino(),
        fs::metadata(srv.path("bak/a.txt")).unwrap().ino(),
        "the backup is the old file itself"
    );
    // beside the files, rsync's ~
    let reference2 = here.join("ref2");
    destination(&reference2);
    rsync(&[
        "-a",
        "--delete",
        "-b",
        &format!("{}/", s(&src)),
        &format!("{}/", s(&reference2)),
    ]);
    destination(&srv.path("e"));
    let o = srv.tf(&["mirror", "-R", "--delete", "-b", s(&src), "e"]);
    ok(&o, "mirror -R -b");
    assert_eq!(inventory(&srv.path("e")), inventory(&reference2), "{}", text(&o));
    // a second run replaces nothing: the backups stay as they are
    let o = srv.tf(&["mirror", "-R", "--delete", "-b", s(&src), "e"]);
    ok(&o, "mirror -R -b again");
    assert_eq!(inventory(&srv.path("e")), inventory(&reference2), "{}", text(&o));
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn mirror_down_and_get_keep_what_they_replace_as_rsync_does() {
    let srv = Server::start();
    let here = tempdir("cli_backup_down");
    source(&srv.path("src"));
    let reference = here.join("ref");
    destination(&reference.join("d"));
    rsync(&[
        "-a",
        "--delete",
        "--backup-dir=../bak",
        "--suffix=.old",
        &format!("{}/", s(&srv.path("src"))),
        &format!("{}/", s(&reference.join("d"))),
    ]);
    let mine = here.join("mine");
    destination(&mine.join("d"));
    fs::hard_link(mine.join("d/a.txt"), mine.join("other name")).unwrap();
    let o = srv.tf(&[
        "mirror",
        "--delete",
        "--backup-dir",
        "../bak",
        "--suffix",
        ".old",
        "src",
        s(&mine.join("d")),
    ]);
    ok(&o, "mirror --backup-dir --suffix");
    assert_eq!(
        inventory(&mine.join("d")),
        inventory(&reference.join("d")),
        "{}",
        text(&o)
    );
    assert_eq!(
        inventory(&mine.join("bak")),
        inventory(&reference.join("bak")),
        "the backups"
    );
    assert_eq!(fs::read(mine.join("other name")).unwrap(), b"old a (older)");
    // get -r -b into an existing directory, and a single get -b
    let (r3, m3) = (here.join("ref3"), here.join("mine3"));
    for root in [&r3, &m3] {
        destination(&root.join("src"));
    }
    rsync(&["-a", "-b", s(&srv.path("src")), &format!("{}/", s(&r3))]);
    let o = srv.tf(&["get", "-r", "-b", "src", s(&m3)]);
    ok(&o, "get -r -b");
    assert_eq!(inventory(&m3), inventory(&r3), "{}", text(&o));
    write(&here.join("one"), "old one", 5000);
    let o = srv.tf(&["get", "-b", "src/a.txt", s(&here.join("one"))]);
    ok(&o, "get -b");
    assert_eq!(fs::read(here.join("one")).unwrap(), b"new a");
    assert_eq!(fs::read(here.join("one~")).unwrap(), b"old one");
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn put_keeps_what_it_replaces_and_a_bad_backup_dir_moves_nothing() {
    let srv = Server::start();
    let here = tempdir("cli_backup_put");
    let src = here.join("src");
    source(&src);
    let (reference, r) = (here.join("ref"), srv.path("r"));
    destination(&reference.join("src"));
    destination(&r.join("src"));
    rsync(&["-a", "--backup-dir=old", s(&src), &format!("{}/", s(&reference))]);
    let o = srv.tf(&["put", "-r", "--backup-dir", "old", s(&src), "r"]);
    ok(&o, "put -r --backup-dir");
    assert_eq!(inventory(&r), inventory(&reference), "{}", text(&o));
    // one file, --suffix
    fs::write(srv.path("f"), "old f").unwrap();
    write(&here.join("f"), "new f", 0);
    let o = srv.tf(&["put", "-b", "--suffix", ".bak", s(&here.join("f")), "f"]);
    ok(&o, "put -b --suffix");
    assert_eq!(fs::read(srv.path("f.bak")).unwrap(), b"old f");
    assert_eq!(fs::read(srv.path("f")).unwrap(), b"new f");
    // out of the root: refused before anything moves
    fs::write(srv.path("g"), "old g").unwrap();
    let o = srv.tf(&["put", "--backup-dir", "../../out", s(&here.join("f")), "g"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert_eq!(fs::read(srv.path("g")).unwrap(), b"old g", "{}", text(&o));
    // a symlink on the way to the backup directory: the upload fails, the file stays
    std::os::unix::fs::symlink(here.join("elsewhere"), srv.path("link")).unwrap();
    fs::create_dir_all(here.join("elsewhere")).unwrap();
    let o = srv.tf(&["put", "--backup-dir", "/link/b", s(&here.join("f")), "g"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert_eq!(fs::read(srv.path("g")).unwrap(), b"old g", "{}", text(&o));
    assert_eq!(fs::read_dir(here.join("elsewhere")).unwrap().count(), 0);
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn remove_source_files_moves_trees_both_ways_as_rsync_does() {
    let srv = Server::start();
    let here = tempdir("cli_backup_move");
    let (src, reference) = (here.join("src"), here.join("ref"));
    source(&src);
    source(&reference.join("src"));
    rsync(&[
        "-a",
        "--remove-source-files",
        &format!("{}/", s(&reference.join("src"))),
        s(&reference.join("dst")),
    ]);
    let o = srv.tf(&["put", "-r", "--remove-source-files", &format!("{}/", s(&src)), "up"]);
    ok(&o, "put -r --remove-source-files");
    assert_eq!(
        inventory(&src),
        inventory(&reference.join("src")),
        "what is left: {}",
        text(&o)
    );
    assert_eq!(inventory(&srv.path("up")), inventory(&reference.join("dst")));
    // and back down with mirror: the server's files go
    let o = srv.tf(&["mirror", "--remove-source-files", "up", s(&here.join("back"))]);
    ok(&o, "mirror --remove-source-files");
    assert_eq!(
        inventory(&here.join("back")),
        inventory(&reference.join("dst")),
        "{}",
        text(&o)
    );
    assert_eq!(
        inventory(&srv.path("up")),
        inventory(&reference.join("src")),
        "the server's side"
    );
    // get -r: the server's files go, its directories stay
    write(&srv.path("g/sub/x"), "x", 0);
    let o = srv.tf(&["get", "-r", "--remove-source-files", "g/", s(&here.join("got"))]);
    ok(&o, "get -r --remove-source-files");
    assert_eq!(fs::read(here.join("got/sub/x")).unwrap(), b"x", "{}", text(&o));
    assert!(!srv.path("g/sub/x").exists() && srv.path("g/sub").is_dir());
    // one file each way
    write(&here.join("one"), "one", 0);
    ok(
        &srv.tf(&["put", "--remove-source-files", s(&here.join("one")), "one"]),
        "put",
    );
    assert!(!here.join("one").exists());
    ok(
        &srv.tf(&["get", "--remove-source-files", "one", s(&here.join("one"))]),
        "get",
    );
    assert!(!srv.path("one").exists());
    assert_eq!(fs::read(here.join("one")).unwrap(), b"one");
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn remove_source_files_killed_at_random_points_loses_nothing() {
    let srv = Server::start();
    let here = tempdir("cli_backup_kill");
    let mut seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed}");
    // up and down, each stopped by SIGKILL of tf or of every session process
    for round in 0..8 {
        let (up, kill_tf) = (round % 2 == 0, round / 2 % 2 == 0);
        let (local, remote) = (here.join(format!("l{round}")), format!("r{round}"));
        let from = if up { local.clone() } else { srv.path(&remote) };
        let files: Vec<(String, Vec<u8>)> = (0..400)
            .map(|i| {
                (
                    format!("d{}/f{i}", i % 7),
                    format!("{round} {i} ").repeat(300 + i).into_bytes(),
                )
            })
            .collect();
        for (n, b) in &files {
            fs::create_dir_all(from.join(n).parent().unwrap()).unwrap();
            fs::write(from.join(n), b).unwrap();
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(seed % 160);
        // the contents (`src/`), so that `to` is the copy of `from`
        let (l, r) = (format!("{}/", s(&local)), format!("{remote}/"));
        let args = match up {
            true => ["put", "-r", "--remove-source-files", &l, &remote],
            false => ["get", "-r", "--remove-source-files", &r, s(&local)],
        };
        let mut child = srv
            .tf_command(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        if kill_tf {
            let _ = child.kill();
        } else {
            for pid in srv.children().0 {
                let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
            }
        }
        let _ = child.wait();
        let to = if up { srv.path(&remote) } else { local.clone() };
        let left = files.iter().filter(|(n, _)| from.join(n).exists()).count();
        println!("round {round}: {left} sources left after {delay:?}");
        for (n, b) in &files {
            let (source, copy) = (fs::read(from.join(n)).ok(), fs::read(to.join(n)).ok());
            assert!(
                source.as_ref() == Some(b) || copy.as_ref() == Some(b),
                "round {round} (up {up}, tf killed {kill_tf}) after {delay:?}: {n} lost"
            );
        }
    }
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn a_server_without_backups_refuses_the_option_in_one_sentence_and_nothing_moves() {
    use tfd_testkit::liar::{run_watched, Liar, Node, Script};
    let liar = Liar::start(Script::new().file("tree/a.txt", b"old\n"));
    let here = tempdir("cli_backup_old_server");
    let src = here.join("src");
    write(&src.join("a.txt"), "new", 0);
    for args in [
        vec!["put", "-b", s(&src.join("a.txt")), "tree/a.txt"],
        vec!["put", "-r", "--backup-dir", "old", &format!("{}/", s(&src)), "tree"],
        vec!["mirror", "-R", "-b", s(&src), "tree"],
    ] {
        let (o, _) = run_watched(liar.tf_command(&args), Duration::from_secs(60), u64::MAX);
        assert!(!o.status.success(), "{args:?}: {}", text(&o));
        let err = crate::output::stderr(&o);
        assert!(err.contains("keeps no backup"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one sentence: {err}");
        assert_eq!(liar.node("tree/a.txt"), Some(Node::File(b"old\n".to_vec())), "{args:?}");
    }
    let _ = fs::remove_dir_all(&here);
}
