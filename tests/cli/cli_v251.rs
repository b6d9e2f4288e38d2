//! The `tf` forms of the protocol 2.5.1 commands (issue 26, part 6), through
//! the real `tf` binary against a real tfd: each command's effect checked on
//! disk or in its output, FAILED answers give exit 2 with the server's FAILED
//! line, and the stateful commands run in one session with `tf -b -`.

use crate::output::{stderr as err, stdout as out};

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::process::{Output, Stdio};
use tfd_testkit::intrw::hash_text;
use tfd_testkit::users::{ensure_system_user, login_userdb};
use tfd_testkit::*;

fn both(o: &Output) -> String {
    format!("status {:?}\nstdout:\n{}stderr:\n{}", o.status.code(), out(o), err(o))
}

#[track_caller]
fn ok_out(o: Output) -> String {
    assert!(o.status.success(), "{}", both(&o));
    out(&o)
}

/// Exit 2 with the server's FAILED line of `code` on stderr.
#[track_caller]
fn failed(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(2), "{}", both(o));
    assert!(err(o).contains(&format!("FAILED {code} :")), "{}", both(o));
}

/// `tf -b -` with `script` on stdin.
fn batch(srv: &Server, args: &[&str], script: &str) -> Output {
    let mut c = srv.tf_command(&[args, &["-b", "-"]].concat());
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn iso(t: i64) -> String {
    format!("{}Z", tfp_wire::date::format_utc(t).unwrap().replacen(' ', "T", 1))
}

#[test]
fn listings_stream_and_store() {
    let srv = Server::start();
    data_dir_write(&srv.path("t/a.txt"), b"abc");
    data_dir_write(&srv.path("t/sub/b c.txt"), b"0123456789");
    assert_eq!(ok_out(srv.tf(&["lsv2", "t"])), "t/a.txt\nt/sub/\n");
    assert_eq!(ok_out(srv.tf(&["lsv2down", "t"])), "t/a.txt\nt/sub/\n");
    let deep = "t/a.txt\nt/sub/\nt/sub/b c.txt\n";
    assert_eq!(ok_out(srv.tf(&["lsrv2", "t"])), deep);
    assert_eq!(ok_out(srv.tf(&["LSRV2DOWN", "t"])), deep);
    // the store-to-file variant: the listing lands on the server
    assert_eq!(ok_out(srv.tf(&["lsrv2", "t", "--to", "list.txt"])), "");
    let stored = fs::read_to_string(srv.path("list.txt")).unwrap();
    let mut lines: Vec<&str> = stored.lines().collect();
    lines.sort();
    assert_eq!(lines, ["t/a.txt", "t/sub/", "t/sub/b c.txt"]);
    assert_eq!(ok_out(srv.tf(&["lsv2", "--to", "flat.txt", "t"])), "");
    assert!(fs::read_to_string(srv.path("flat.txt")).unwrap().contains("t/sub/\n"));
    // refusals: the server's FAILED line, exit 2
    failed(&srv.tf(&["lsv2", "missing"]), 53);
    failed(&srv.tf(&["lsrv2", "t/a.txt"]), 20);
    failed(&srv.tf(&["lsv2", "..", "--to", "x.txt"]), 1);
    assert_eq!(srv.tf(&["lsv2down", "t", "--to", "x"]).status.code(), Some(1));
}

#[test]
fn a_listing_cut_short_is_printed_and_said_so() {
    let srv = Server::start_with("walk_limit 2\n");
    data_dir_write(&srv.path("t/a"), b"");
    data_dir_write(&srv.path("t/s/b"), b"");
    data_dir_write(&srv.path("t/s/c"), b"");
    let o = srv.tf(&["lsrv2", "t"]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert_eq!(out(&o).lines().count(), 2, "{}", both(&o));
    assert!(err(&o).contains("incomplete"), "{}", both(&o));
}

#[test]
fn rmkdir_makes_every_parent() {
    let srv = Server::start();
    assert_eq!(ok_out(srv.tf(&["rmkdir", "a/b/c"])), "");
    assert!(srv.path("a/b/c").is_dir());
    data_dir_write(&srv.path("f"), b"x");
    failed(&srv.tf(&["rmkdir", "f/g"]), 63);
    failed(&srv.tf(&["rmkdir", "../out"]), 1);
    assert!(!srv.dir.join("out").exists());
}

#[test]
fn types_and_statistics_by_name() {
    let srv = Server::start();
    data_dir_write(&srv.path("t/a.txt"), b"abc");
    fs::create_dir(srv.path("t/d")).unwrap();
    nix::unistd::mkfifo(&srv.path("t/p"), nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    assert_eq!(ok_out(srv.tf(&["ftype", "t/a.txt"])), "regular\n");
    assert_eq!(ok_out(srv.tf(&["ftype", "t/d", "t/p"])), "directory t/d\nfifo t/p\n");
    let o = srv.tf(&["ftype", "t/missing"]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(out(&o).is_empty() && err(&o).contains("t/missing"), "{}", both(&o));

    data_dir_write(&srv.path("list"), b"t/a.txt\nt/d\r\nt/missing\nt/p\n");
    let o = srv.tf(&["ftypels", "list"]);
    assert_eq!(o.status.code(), Some(2), "one path fails: {}", both(&o));
    assert_eq!(out(&o), "regular t/a.txt\ndirectory t/d\nerror t/missing\nfifo t/p\n");
    assert!(err(&o).contains("1 of 4"), "{}", both(&o));

    let o = srv.tf(&["fstatls", "list"]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    let m = fs::metadata(srv.path("t/a.txt")).unwrap();
    let d = fs::metadata(srv.path("t/d")).unwrap();
    let want = format!(
        "regular 3 {} {} t/a.txt\ndirectory {} {} {} t/d\nerror - - - t/missing\n",
        iso(m.atime()),
        iso(m.mtime()),
        d.size(),
        iso(d.atime()),
        iso(d.mtime())
    );
    assert!(out(&o).starts_with(&want), "{}\nwant:\n{want}", both(&o));
    assert!(out(&o).lines().nth(3).unwrap().starts_with("fifo 0 "), "{}", both(&o));

    data_dir_write(&srv.path("good"), b"t/a.txt\n");
    assert_eq!(
        ok_out(srv.tf(&["fstatls", "good"])),
        format!("regular 3 {} {} t/a.txt\n", iso(m.atime()), iso(m.mtime()))
    );
    // a list that cannot be read: the FAILED line of reading it
    failed(&srv.tf(&["ftypels", "nolist"]), 9);
    failed(&srv.tf(&["fstatls", "nolist"]), 9);
}

#[test]
fn intread_checks_and_renames_intwrite_swaps_only_on_the_hash() {
    let srv = Server::start();
    let local = tempdir("cli-v251-int");
    data_dir_write(&srv.path("f.txt"), b"version 1\n");
    let dst = local.join("f.txt");
    fs::write(&dst, b"old local").unwrap();
    let o = srv.tf(&["intread", "f.txt", dst.to_str().unwrap()]);
    let h1 = String::from_utf8(hash_text(b"version 1\n")).unwrap();
    assert_eq!(ok_out(o), format!("{h1}\n"));
    assert_eq!(fs::read(&dst).unwrap(), b"version 1\n");
    assert_eq!(dir_names(&local), ["f.txt"], "no temporary left");
    // to stdout, the hash on stderr
    let o = srv.tf(&["intread", "f.txt", "-"]);
    assert_eq!(ok_out(o.clone()), "version 1\n");
    assert!(err(&o).contains(&h1), "{}", both(&o));
    // missing: exit 2, the local file untouched
    let o = srv.tf(&["intread", "nope", dst.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert_eq!(fs::read(&dst).unwrap(), b"version 1\n");

    // intwrite with the hash it read: replaced
    let src = local.join("new.txt");
    fs::write(&src, b"version 2\n").unwrap();
    let o = srv.tf(&["intwrite", src.to_str().unwrap(), "f.txt", "--expect", &h1]);
    ok_out(o);
    assert_eq!(fs::read(srv.path("f.txt")).unwrap(), b"version 2\n");
    // the same hash again: the content moved on, so nothing changes
    fs::write(&src, b"version 3\n").unwrap();
    let o = srv.tf(&["intwrite", src.to_str().unwrap(), "f.txt", "--expect", &h1]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(err(&o).contains("INTWRITE refused"), "{}", both(&o));
    assert_eq!(fs::read(srv.path("f.txt")).unwrap(), b"version 2\n");
    // without --expect: the current hash, from stdin
    let mut c = srv.tf_command(&["intwrite", "-", "f.txt"]);
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"from stdin").unwrap();
    ok_out(child.wait_with_output().unwrap());
    assert_eq!(fs::read(srv.path("f.txt")).unwrap(), b"from stdin");
    // a bad --expect is a usage error, nothing sent
    assert_eq!(
        srv.tf(&["intwrite", src.to_str().unwrap(), "f.txt", "--expect", "abc"])
            .status
            .code(),
        Some(1)
    );
    let _ = fs::remove_dir_all(&local);
}

#[test]
fn netlock_holds_for_the_batch_session_and_another_tf_sees_it() {
    let srv = Server::start();
    data_dir_write(&srv.path("f"), b"");
    data_dir_write(&srv.path("gate"), b"");
    // the test holds `gate`, so the batch waits there while holding `f`
    let mut holder = srv.client();
    let gate = assert_ok(holder.call("NETLOCK", b"30 gate").unwrap());
    let mut c = srv.tf_command(&["-b", "-"]);
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"netlock 30 f\nnetlock 30 gate\nnetunlock\nnetunlock\n-netunlock\n")
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.trim().parse::<u32>().is_ok(), "lock id: {first:?}");
    // the batch holds f: another tf process cannot have it
    let o = srv.tf(&["netlock_try", "5", "f"]);
    failed(&o, 54);
    assert_ok(holder.call("NETUNLOCK", gate.as_bytes()).unwrap());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    let mut e = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut e).unwrap();
    assert!(status.success(), "{rest}\n{e}");
    // the last, optional netunlock had nothing left to release
    assert!(e.contains("holds no lock"), "{e}");
    // both released: the next tf takes f at once
    let o = srv.tf(&["netlock_try", "5", "f"]);
    assert!(o.status.success(), "{}", both(&o));
    holder.end().unwrap();
}

#[test]
fn netmut_is_a_mutex_kept_in_the_file() {
    let srv = Server::start();
    data_dir_write(&srv.path("m"), b"");
    ok_out(srv.tf(&["netmutacq_try", "m", "owner-a"]));
    assert_eq!(fs::read(srv.path("m")).unwrap(), b"owner-a");
    failed(&srv.tf(&["netmutacq_try", "m", "owner-b"]), 55);
    failed(&srv.tf(&["netmutrel", "m", "owner-b"]), 55);
    ok_out(srv.tf(&["netmutrel", "m", "owner-a"]));
    assert_eq!(fs::read(srv.path("m")).unwrap(), b"");
    failed(&srv.tf(&["netmutacq_try", "absent", "x"]), 55);
}

#[test]
fn secure_filesystem_in_one_session() {
    let srv = Server::start();
    fs::create_dir(srv.path("vault")).unwrap();
    failed(&srv.tf(&["issecfs", "vault"]), 60);
    let idfile = srv.dir.join("fsid");
    fs::write(&idfile, "owner-id\n").unwrap();
    let o = batch(
        &srv,
        &[],
        &format!(
            "setfsid --file {}\nsetfsperm owner-id all vault\nsetfsperm reader rfile,ldir vault\n\
             getfsperm reader vault\ngetfsperm nobody vault\nissecfs vault\ntouch vault/x\n\
             remfsperm reader vault\ngetfsperm reader vault\n",
            idfile.display()
        ),
    );
    assert_eq!(
        ok_out(o),
        "20 rfile,ldir\n0 -\nsecure\nOK\n0 -\n",
        "the owner's session may write"
    );
    assert!(srv.path("vault/x").is_file());
    // another session, without the identity: everybody else has no rights
    failed(&srv.tf(&["touch", "vault/y"]), 1);
    assert!(!srv.path("vault/y").exists());
    // a session with an identity that has no entry: no more than everybody else
    let o = batch(&srv, &[], "setfsid reader2\n-touch vault/z\necho on\n");
    assert_eq!(ok_out(o.clone()), "on\n");
    assert!(err(&o).contains("FAILED 1 :"), "{}", both(&o));
    assert!(!srv.path("vault/z").exists());
    assert_eq!(
        srv.tf(&["setfsperm", "a", "rfile,bogus", "vault"]).status.code(),
        Some(1)
    );
}

#[test]
fn time_zones_last_for_the_session() {
    let srv = Server::start();
    let o = batch(
        &srv,
        &[],
        "gettz\nsettz Asia/Tokyo\ngettz\nlocaltime\ndateftz UTC\ngenuuid\n-settz Not/AZone\n",
    );
    let text = ok_out(o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert_eq!(lines[1], "Asia/Tokyo", "{text}");
    assert!(lines[2].ends_with(" JST"), "{text}");
    assert!(lines[3].ends_with(" UTC"), "{text}");
    assert!(tfp_wire::uuid::is_v4_text(lines[4].as_bytes()), "{text}");
    // a second tf process is a new session: the zone is back to the default
    assert_eq!(ok_out(srv.tf(&["gettz"])).trim(), lines[0]);
    assert_eq!(srv.tf(&["settz", "Not/AZone"]).status.code(), Some(2));
}

#[test]
fn session_layer_commands_switch_both_sides() {
    let srv = Server::start();
    // under the protocol's own cipher, and under tfd's secure transport
    for transport in [&["--legacy"][..], &[]] {
        let o = batch(
            &srv,
            transport,
            "goaes\necho after aes\ntfpcrypto\nciaon\necho with token\nciaoff\necho plain\nfaimq\n",
        );
        let text = ok_out(o);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "after aes", "{transport:?}: {text}");
        assert!(tfp_wire::uuid::is_v4_text(lines[1].as_bytes()), "{text}");
        assert_eq!(&lines[2..4], ["with token", "plain"], "{text}");
        assert!(lines[4].parse::<u32>().is_ok(), "{text}");
    }
}

#[test]
fn faitok_caches_a_token_that_tf_fai_then_uses() {
    if !require(is_root(), "needs root for the system user") {
        return;
    }
    ensure_system_user("tfdcli251", &[]);
    let db = login_userdb("cli-v251-fai", "carol", "tfdcli251", "carol pw");
    let faidir = tempdir("cli-v251-faidir");
    let fai = faidir.join("state").join("fai");
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {db}\nfai_dir {}\nfai_max_minutes 30\n", fai.display()),
        default_user: false,
        ..Default::default()
    });
    let cache = tempdir("cli-v251-cache");
    let run = |args: &[&str]| {
        srv.tf_command(&[&["--user", "carol"], args].concat())
            .env("TF_PASSWORD", "carol pw")
            .env("XDG_CACHE_HOME", &cache)
            .output()
            .unwrap()
    };
    let o = run(&["faitok", "5"]);
    assert!(o.status.success(), "{}\n{}", both(&o), srv.log());
    let text = out(&o);
    assert!(text.contains(" expires "), "{text}");
    let files = dir_names(&cache.join("tf"));
    assert_eq!(files.len(), 1, "{files:?}");
    let meta = fs::metadata(cache.join("tf").join(&files[0])).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o600);
    // the next tf enters with it, without RSA and without asking for another
    let o = run(&["--fai", "echo", "fast"]);
    assert_eq!(ok_out(o.clone()), "fast\n");
    assert!(!err(&o).contains("no Fast Access token"), "{}", both(&o));
    let _ = fs::remove_dir_all(&cache);
    let _ = fs::remove_dir_all(&faidir);
}

#[test]
fn flycontext_and_locksys_confine_the_rest_of_the_batch() {
    let srv = Server::start();
    let o = batch(&srv, &[], "flycontext a/b\ntouch inside\nlsv2 .\n");
    assert_eq!(ok_out(o), "OK\ninside\n");
    assert!(srv.path("a/b/inside").is_file());
    fs::create_dir(srv.path("box")).unwrap();
    let o = batch(&srv, &[], "locksys box\ntouch t\n-locksys box\n");
    assert!(o.status.success(), "{}", both(&o));
    assert!(srv.path("box/t").is_file());
    assert!(err(&o).contains("FAILED 61 :"), "a second LOCKSYS: {}", both(&o));
    failed(&srv.tf(&["locksys", "missing"]), 10);
}

#[test]
fn runbash_refused_when_off() {
    let srv = Server::start();
    data_dir_write(&srv.path("s.sh"), b"echo hi\n");
    failed(&srv.tf(&["runbash", "s.sh"]), 64);
}

#[test]
fn usage_errors_and_every_command_documented() {
    let srv = Server::start();
    assert_eq!(srv.tf(&["netlock", "x", "f"]).status.code(), Some(1));
    for args in [
        &["rmkdir"][..],
        &["netlock", "5"],
        &["ftype"],
        &["settz"],
        &["intread", "a"],
    ] {
        let o = srv.tf(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", both(&o));
        assert!(err(&o).contains("usage: "), "{args:?}: {}", both(&o));
    }
    // every 2.5.1 command of --help is in tf(1)'s "2.5.1 commands" part
    let help = ok_out(
        std::process::Command::new(tfd_testkit::tf_bin())
            .arg("--help")
            .output()
            .unwrap(),
    );
    let part = help
        .split("Protocol 2.5.1 commands")
        .nth(1)
        .expect("a 2.5.1 part in --help");
    let man = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/tf.1")).unwrap();
    let man_part = man.split("2.5.1 commands").nth(1).expect("a 2.5.1 part in tf(1)");
    let names: Vec<&str> = part
        .lines()
        .skip(2)
        .filter(|l| l.len() > 2 && !l[2..].starts_with(' '))
        .filter_map(|l| l.get(2..).and_then(|r| r.split_whitespace().next()))
        .filter(|w| {
            w.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
        })
        .collect();
    assert!(names.len() >= 30, "{names:?}");
    for n in names {
        // a tag line (.TP's next line or .TQ's) that names it
        let tagged = man_part.lines().any(|l| {
            l.starts_with(".B")
                && l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .filter(|w| !w.is_empty())
                    .nth(1)
                    .is_some_and(|w| w == n)
        });
        assert!(tagged, "tf(1) does not document {n}");
    }
}

#[test]
fn runbash_prints_the_output_and_says_how_the_script_ended() {
    if !require(is_root(), "needs root for the system user and the jail") {
        return;
    }
    ensure_system_user("tfdcli251rb", &[]);
    let db = login_userdb("cli-v251-rb", "rita", "tfdcli251rb", "rita pw");
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {db}\ninjail\nrunbash\n"),
        default_user: false,
        ..Default::default()
    });
    // a jail holding bash and its libraries
    let cell = srv.path("cell");
    fs::create_dir_all(cell.join("usr/bin")).unwrap();
    std::os::unix::fs::symlink("usr/bin", cell.join("bin")).unwrap();
    let bash = ["/usr/bin/bash", "/bin/bash"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("bash");
    fs::copy(bash, cell.join("usr/bin/bash")).unwrap();
    let ldd = std::process::Command::new("ldd").arg(bash).output().unwrap();
    for lib in String::from_utf8_lossy(&ldd.stdout).split_whitespace() {
        if lib.starts_with('/') && std::path::Path::new(lib).exists() {
            let to = cell.join(lib.trim_start_matches('/'));
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            fs::copy(lib, &to).unwrap();
        }
    }
    fs::write(cell.join("jail.key"), "tok\n").unwrap();
    data_dir_write(&cell.join("ok.sh"), b"echo fine-cli251\n");
    data_dir_write(&cell.join("three.sh"), b"echo before-exit\nexit 3\n");
    // the jail stays root's, as its guard demands (the scripts write nothing)
    let run = |script: &str| {
        srv.tf_command(&["--user", "rita", "--jail", "tok:cell", "runbash", script])
            .env("TF_PASSWORD", "rita pw")
            .output()
            .unwrap()
    };
    assert_eq!(ok_out(run("ok.sh")), "fine-cli251\n");
    let o = run("three.sh");
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert_eq!(out(&o), "before-exit\n");
    assert!(err(&o).contains("three.sh: the script ended: exit 3"), "{}", both(&o));
    failed(&run("missing.sh"), 9);
}

/// In `tf -b` (and `tf shell`) every remote path follows `cd`, the 2.5.1
/// commands' and the other tf commands' alike; a leading '/' still means the
/// served root, and local paths and option values stay as typed.
#[test]
fn batch_commands_follow_cd() {
    let srv = Server::start();
    data_dir_write(&srv.path("w/a.txt"), b"abc");
    data_dir_write(&srv.path("top.txt"), b"t");
    let local = std::env::temp_dir().join(format!("tf-v251-cd-{}", std::process::id()));
    fs::write(&local, b"new").unwrap();
    let script = format!(
        "cd w\nftype a.txt /top.txt\nrmkdir x/y\nlsrv2 x --to list.txt\nfstat a.txt\n\
         copy a.txt b.txt\nintwrite {} a.txt\nintread a.txt {}.back\ncd x\nlsv2 ..\n",
        local.display(),
        local.display()
    );
    let o = batch(&srv, &[], &script);
    let text = ok_out(o);
    assert!(text.contains("w/a.txt") && text.contains("top.txt"), "{text}");
    assert!(srv.path("w/x/y").is_dir(), "rmkdir did not follow cd");
    assert!(!srv.path("x").exists(), "rmkdir went to the served root");
    let stored = fs::read_to_string(srv.path("w/list.txt")).unwrap();
    assert!(stored.contains("w/x/y"), "{stored}");
    assert_eq!(fs::read(srv.path("w/b.txt")).unwrap(), b"abc");
    assert_eq!(fs::read(srv.path("w/a.txt")).unwrap(), b"new");
    assert_eq!(fs::read(format!("{}.back", local.display())).unwrap(), b"new");
    assert!(text.contains("w/x/\n"), "lsv2 .. from w/x lists w: {text}");
    let _ = fs::remove_file(format!("{}.back", local.display()));
    let _ = fs::remove_file(&local);
}

/// `intwrite -` and `put -` inside `tf -b -`: stdin holds the commands, so
/// they say so instead of writing an empty file.
#[test]
fn stdin_data_inside_a_batch_from_stdin_is_refused() {
    let srv = Server::start();
    data_dir_write(&srv.path("f"), b"keep");
    for line in ["intwrite - f", "put - f"] {
        let o = batch(&srv, &[], &format!("{line}\n"));
        assert_eq!(o.status.code(), Some(1), "{line}: {}", both(&o));
        assert!(err(&o).contains("(stdin) holds the commands"), "{line}: {}", both(&o));
        assert_eq!(fs::read(srv.path("f")).unwrap(), b"keep", "{line}");
    }
}
