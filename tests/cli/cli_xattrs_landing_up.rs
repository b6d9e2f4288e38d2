//! An upload's attributes arrive with its data (issue 67: "never a mix"):
//! `tf mirror -R -X`, `tf put -r -a -X` and `-A` send each file's
//! extended attributes and ACLs with it (an attributes frame in a batch,
//! `TFDLANDXATTRS` before a staged or delta commit), and tfd gives them to
//! its temporary before the rename. So SIGKILL of tf once some files landed
//! (and Ctrl-C, SIGKILL of the sessions, of tfd) leaves every file on the
//! server either old (its old bytes and attributes) or new (the source's
//! bytes and attributes), never new bytes with old attributes, whatever
//! route carried it; the rerun completes.

use crate::cli_xattrs::s;
use crate::cli_xattrs_landing::{interrupt, set, Cut};
use crate::output::text;
use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tfd_testkit::*;

/// What the file at `p` is, read through one descriptor (tfd may still be
/// renaming a temporary over the name after tf's end: the bytes, the
/// attribute and the ACL must be of one file): its bytes, its `user.v`,
/// and whether its access ACL names a user (the source's new files have
/// one, the server's old ones none).
fn state(p: &Path) -> (Vec<u8>, Option<String>, bool) {
    use std::io::Read;
    let mut f = fs::File::open(p).unwrap();
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).unwrap();
    let v = tfd_sys::fgetxattr(f.as_fd(), c"user.v", 4096)
        .ok()
        .map(|v| String::from_utf8(v).unwrap());
    let acl = tfd_sys::fgetxattr(f.as_fd(), c"system.posix_acl_access", 4096).unwrap_or_default();
    // the kernel's form: a 4-byte version, then (tag u16, perm u16, id u32)
    let named = acl
        .get(4..)
        .unwrap_or_default()
        .chunks_exact(8)
        .any(|e| e[..2] == 2u16.to_le_bytes());
    (bytes, v, named)
}

/// How the files are made, for the route they take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Files {
    /// Plain files: batches.
    Plain,
    /// Files with a hole, with `-S`: each through a stage.
    Sparse,
}

#[test]
fn a_killed_upload_leaves_each_file_old_or_new_with_its_own_attributes() {
    for (i, (args, files)) in [
        (vec!["mirror", "-R", "-X", "--jobs", "2"], Files::Plain),
        (vec!["put", "-r", "-a", "-X", "--jobs", "2"], Files::Plain),
        // changed files the server has, as deltas
        (
            vec!["mirror", "-R", "-X", "--no-whole-file", "--jobs", "2"],
            Files::Plain,
        ),
        (vec!["mirror", "-R", "-X", "-S", "--jobs", "2"], Files::Sparse),
        (vec!["mirror", "-R", "-X", "-A", "--jobs", "2"], Files::Plain),
    ]
    .into_iter()
    .enumerate()
    {
        killed(i, &args, files, Cut::KillTf);
    }
}

#[test]
fn ctrl_c_and_a_killed_session_or_server_leave_each_upload_old_or_new_with_its_own_attributes() {
    for (i, cut) in [Cut::CtrlC, Cut::KillSessions, Cut::KillTfd].into_iter().enumerate() {
        killed(i, &["mirror", "-R", "-X", "-A", "--jobs", "2"], Files::Plain, cut);
    }
}

/// Writes a new file's bytes: whole, or 300 KB, a 1 MiB hole and 100 KB.
fn write_new(p: &Path, i: u64, files: Files) -> Vec<u8> {
    let head = pattern(700_000, 1000 + i);
    if files == Files::Plain {
        fs::write(p, &head).unwrap();
        return head;
    }
    let mut f = fs::File::create(p).unwrap();
    f.write_all(&head[..300_000]).unwrap();
    f.seek(SeekFrom::Current(1 << 20)).unwrap();
    f.write_all(&head[300_000..400_000]).unwrap();
    drop(f);
    fs::read(p).unwrap()
}

fn killed(run: usize, args: &[&str], files: Files, cut: Cut) {
    let srv = Server::start_with("rate_limit_session 4M\n");
    let there: PathBuf = if args[0] == "mirror" {
        srv.path("up")
    } else {
        srv.path("t/src")
    };
    fs::create_dir_all(&there).unwrap();
    let _there = tmpfs::mount(&there, "96m");
    let here = tempdir("cli_xattrs_landing_up");
    let _here = tmpfs::mount(&here, "96m");
    let local = here.join("src");
    fs::create_dir_all(&local).unwrap();
    let acls = args.contains(&"-A");
    let n = 24;
    let mut olds = Vec::new();
    for i in 0..n {
        let name = format!("f{i:02}.bin");
        let old = pattern(300_000, 100 + i);
        fs::write(there.join(&name), &old).unwrap();
        set(&there.join(&name), "old");
        let new = write_new(&local.join(&name), i, files);
        set(&local.join(&name), &format!("new-{i}"));
        if acls {
            ok_cmd("setfacl", &["-m", "u:12345:r", s(&local.join(&name))]);
        }
        olds.push((name, old, new));
    }
    let mut all: Vec<&str> = args.to_vec();
    let to = if args[0] == "mirror" { "up" } else { "t" };
    all.extend([s(&local), to]);
    let mut child = srv
        .tf_command(&all)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !olds
        .iter()
        .any(|(n, old, _)| fs::read(there.join(n)).is_ok_and(|b| b != *old))
    {
        assert!(Instant::now() < deadline, "{run}: nothing landed:\n{}", srv.log());
        std::thread::sleep(Duration::from_millis(5));
    }
    interrupt(&srv, &mut child, cut);
    let (mut new_n, mut old_n) = (0, 0);
    for (i, (name, old, new)) in olds.iter().enumerate() {
        let (got, v, named) = state(&there.join(name));
        if got == *old {
            assert_eq!(v.as_deref(), Some("old"), "{run}: {name}: old bytes, other attributes");
            assert!(!acls || !named, "{run}: {name}: old bytes with the new ACL");
            old_n += 1;
        } else {
            assert!(got == *new, "{run}: {name} is neither old nor new");
            assert_eq!(
                v,
                Some(format!("new-{i}")),
                "{run} {args:?}: {name}: new bytes with the old attributes"
            );
            assert!(!acls || named, "{run} {args:?}: {name}: new bytes without their ACL");
            new_n += 1;
        }
    }
    assert!(
        new_n > 0 && old_n > 0,
        "{run} {args:?}: killed too late or too early: {new_n} new, {old_n} old"
    );
    if cut == Cut::KillTfd {
        // no server to run again against: old or new was the point
        return;
    }
    let o = srv.tf(&all);
    assert!(o.status.success(), "{run}: {}", text(&o));
    for (i, (name, _, new)) in olds.iter().enumerate() {
        let (got, v, named) = state(&there.join(name));
        assert!(got == *new, "{run}: {name} after the rerun");
        assert_eq!(v, Some(format!("new-{i}")), "{run}: after the rerun");
        assert!(!acls || named, "{run}: {name}: no ACL after the rerun");
    }
}

fn ok_cmd(cmd: &str, args: &[&str]) {
    let o = std::process::Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} (apt install acl): {e}"));
    assert!(o.status.success(), "{cmd} {args:?}: {}", text(&o));
}
