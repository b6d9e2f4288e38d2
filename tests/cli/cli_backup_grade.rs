//! Issue 67's done-when over loopback and over `shared/wan`'s 100 Mbit/s
//! 50 ms link, all four flags at once: `put -r
//! -aHSXA`, `get -r -aHSXA`, `mirror -aHSXA` and `mirror -R -aHSXA` of a
//! tree with three names for one file, a 1 GiB sparse file with data at
//! both ends, user attributes on files and directories, an access and a
//! default ACL, each compared with `rsync -aHSXA`'s copy of the same tree:
//! every entry's type, mode, owner, size and mtime (to the nanosecond),
//! which names share a file, `getfattr -d` and `getfacl` of the whole
//! tree, the same; the sparse file allocates no more than rsync's copy; a
//! second run of each changes nothing (`-i` itemizes nothing).

use crate::output::{ok, stdout, text};
use std::collections::BTreeMap;
use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use tfd_testkit::*;

const GIB: u64 = 1 << 30;
const END: usize = 1 << 20;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn run(cmd: &str, args: &[&str], dir: &Path) -> String {
    let o = Command::new(cmd).args(args).current_dir(dir).output().unwrap();
    ok(&o, &format!("{cmd} {}", args.join(" ")));
    stdout(&o)
}

fn xattr(p: &Path, name: &str, value: &str) {
    let f = fs::File::open(p).unwrap();
    tfd_sys::fsetxattr(f.as_fd(), &std::ffi::CString::new(name).unwrap(), value.as_bytes()).unwrap();
}

/// The tree: `a`, `b/a2` and `c/a3` one file; `vm.img` 1 GiB with 1 MiB of
/// data at each end; attributes on a file and a directory; an access ACL
/// on a file and a default ACL on a directory; mtimes in the past.
fn tree(src: &Path) {
    fs::create_dir_all(src.join("b")).unwrap();
    fs::create_dir_all(src.join("c")).unwrap();
    fs::write(src.join("a"), b"one file, three names").unwrap();
    fs::hard_link(src.join("a"), src.join("b/a2")).unwrap();
    fs::hard_link(src.join("a"), src.join("c/a3")).unwrap();
    let mut f = fs::File::create(src.join("vm.img")).unwrap();
    f.write_all(&pattern(END, 1)).unwrap();
    f.seek(SeekFrom::Start(GIB - END as u64)).unwrap();
    f.write_all(&pattern(END, 2)).unwrap();
    drop(f);
    fs::write(src.join("plain.txt"), b"plain").unwrap();
    xattr(&src.join("plain.txt"), "user.note", "a file's");
    xattr(&src.join("b"), "user.note", "a directory's");
    run("setfacl", &["-m", "u:12345:rw-,g:54321:r--", "plain.txt"], src);
    run("setfacl", &["-d", "-m", "u:12345:rwx,g::r-x,o::---", "c"], src);
    crate::cli_xattrs::old_times(src);
}

/// Every entry below `dir`: (type, mode, uid, gid, size, mtime ns), and
/// the names that share a file.
fn shape(dir: &Path) -> (BTreeMap<String, String>, Vec<Vec<String>>) {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            if m.is_dir() {
                todo.push(p.clone());
            } else {
                inodes.entry(m.ino()).or_default().push(rel.clone());
            }
            let size = if m.is_dir() { 0 } else { m.len() };
            out.insert(
                rel,
                format!(
                    "{:o} {} {} {size} {}.{:09}",
                    m.mode(),
                    m.uid(),
                    m.gid(),
                    m.mtime(),
                    m.mtime_nsec()
                ),
            );
        }
    }
    let mut groups: Vec<Vec<String>> = inodes
        .into_values()
        .filter(|v| v.len() > 1)
        .map(|mut v| {
            v.sort();
            v
        })
        .collect();
    groups.sort();
    (out, groups)
}

/// `getfattr -d` and `getfacl` of the whole tree below `dir`, paths
/// relative, each file's block by its path (the tools walk in directory
/// order, which differs from copy to copy).
fn attrs(dir: &Path) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let blocks = |text: String| -> BTreeMap<String, String> {
        text.split("# file: ")
            .filter(|b| !b.trim().is_empty())
            .map(|b| {
                let (path, body) = b.split_once('\n').unwrap_or((b, ""));
                (path.trim_start_matches("./").to_string(), body.trim().to_string())
            })
            .collect()
    };
    (
        blocks(run("getfattr", &["-R", "-d", "-m", "^user\\.", "."], dir)),
        blocks(run("getfacl", &["-R", "-p", "."], dir)),
    )
}

#[track_caller]
fn same(got: &Path, reference: &Path, what: &str) {
    assert_eq!(shape(got), shape(reference), "{what}: stat or hard links differ");
    assert_eq!(attrs(got), attrs(reference), "{what}: attributes or ACLs differ");
    let (g, r) = (
        fs::metadata(got.join("vm.img")).unwrap(),
        fs::metadata(reference.join("vm.img")).unwrap(),
    );
    assert!(
        g.blocks() <= r.blocks(),
        "{what}: vm.img allocates {} blocks, rsync -aHSXA's copy {}",
        g.blocks(),
        r.blocks()
    );
}

/// How a test runs tf: over loopback, or over an emulated slow link.
type Tf<'a> = &'a dyn Fn(&[&str]) -> std::process::Output;

/// A second run of `args` itemizes nothing: nothing moved or changed.
fn again(tf: Tf<'_>, args: &[&str]) {
    let mut a = args.to_vec();
    a.insert(1, "-i");
    let o = tf(&a);
    ok(&o, &a.join(" "));
    let out = stdout(&o);
    // the summary line alone: no item, and nothing transferred
    let items: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with(&format!("{}: ", args[0])))
        .collect();
    assert!(items.is_empty(), "{a:?}: a second run changed something: {}", text(&o));
    assert!(
        out.contains(": 0 transferred") || out.contains("nothing to do") || out.contains(" 0 copied"),
        "{a:?}: {}",
        text(&o)
    );
}

#[test]
fn all_four_flags_at_once_copy_as_rsync_ahsxa_does_every_way() {
    let srv = Server::start();
    four_ways(&srv, &|args| srv.tf(args), "cli_backup_grade");
}

#[test]
fn over_a_slow_link_all_four_flags_copy_as_rsync_ahsxa_does() {
    // shared/wan's 100 Mbit/s and 50 ms, as the issue asks
    let srv = Server::start();
    let Some(link) = tfd_testkit::wan::SlowLink::to(&srv, 100, 50) else {
        return;
    };
    // what each run moved over the link, toward the server and back
    let moved = std::cell::RefCell::new(Vec::new());
    let tf = |args: &[&str]| {
        let before = link.carried();
        let o = link.tf(&srv, args);
        let after = link.carried();
        moved
            .borrow_mut()
            .push((args.join(" "), after.0 - before.0, after.1 - before.1));
        o
    };
    four_ways(&srv, &tf, "cli_backup_grade_wan");
    // the sparse file's data is 2 MiB (1 MiB at each end of 1 GiB): it
    // crosses in at most 1.1 times that, and a second run moves nothing
    let data = 2 * END as u64;
    let moved = moved.into_inner();
    assert_eq!(moved.len(), 8, "{moved:?}");
    for (k, (run, up, down)) in moved.iter().enumerate() {
        let toward_copy = if run.starts_with("put") || run.contains("-R") {
            *up
        } else {
            *down
        };
        let most = if k % 2 == 0 { data * 11 / 10 } else { 64 << 10 };
        assert!(
            toward_copy <= most,
            "{run}: {toward_copy} bytes toward the copy over the link, at most {most} ({moved:?})"
        );
    }
    eprintln!("bytes over the link (run, toward the server, back): {moved:?}");
}

/// The four ways of copying the tree, each compared with rsync -aHSXA's
/// copy, and each run a second time.
fn four_ways(srv: &Server, tf: Tf<'_>, name: &str) {
    for (tool, why) in [
        ("rsync", "apt package rsync"),
        ("getfattr", "apt package attr"),
        ("setfacl", "apt package acl"),
    ] {
        if !need::require_tool(tool, &["--version"], why) {
            return;
        }
    }
    let _there = tmpfs::mount(&srv.path("t"), "256m");
    let here = tempdir(name);
    let _here = tmpfs::mount(&here, "256m");
    let (src, reference) = (here.join("src"), here.join("ref"));
    tree(&src);
    run("rsync", &["-aHSXA", &format!("{}/", s(&src)), s(&reference)], &here);
    same(&src, &reference, "rsync -aHSXA itself");

    let up = ["put", "-r", "-aHSXA", s(&src), "t"];
    ok(&tf(&up), "put -r -aHSXA");
    same(&srv.path("t/src"), &reference, "put -r -aHSXA");
    again(tf, &up);

    let out = here.join("out");
    fs::create_dir_all(&out).unwrap();
    let down = ["get", "-r", "-aHSXA", "t/src", s(&out)];
    ok(&tf(&down), "get -r -aHSXA");
    same(&out.join("src"), &reference, "get -r -aHSXA");
    again(tf, &down);

    let back = here.join("back");
    let mirror = ["mirror", "-aHSXA", "t/src", s(&back)];
    ok(&tf(&mirror), "mirror -aHSXA");
    same(&back, &reference, "mirror -aHSXA");
    again(tf, &mirror);

    let mirror_up = ["mirror", "-R", "-aHSXA", s(&src), "t/again"];
    ok(&tf(&mirror_up), "mirror -R -aHSXA");
    same(&srv.path("t/again"), &reference, "mirror -R -aHSXA");
    again(tf, &mirror_up);
    let _ = fs::remove_dir_all(&here);
}
