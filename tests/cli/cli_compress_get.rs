//! `tf get -r -z`, `tf mirror -z` (doc/compatibility.md "Compression", issue
//! 62): download batches whose data comes compressed land whole and
//! verified; a lying server's blocks (a bomb, a block beyond the file's
//! size, a short one, a small file's lying block) are refused with nothing
//! landing and tf's memory bounded.

use std::fs;
use std::path::Path;
use std::time::Duration;
use tfd_testkit::liar::{run_watched, Liar, Script, MTIME};
use tfd_testkit::*;

/// Text that compresses several times over, `seed` making it its own.
fn text(len: usize, seed: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 100);
    let mut i = seed as u64;
    while v.len() < len {
        v.extend_from_slice(format!("{i} GET /a/{} HTTP/1.1 200 {}\n", i % 97, i * 13 % 5000).as_bytes());
        i += 1;
    }
    v.truncate(len);
    v
}

/// Every file below `dir`, as paths relative to it.
pub(crate) fn files_below(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

pub(crate) fn ok(o: &std::process::Output, what: &str) {
    assert!(
        o.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn get_r_and_mirror_with_z_come_down_compressed_and_whole() {
    let srv = Server::start();
    let mut files = Vec::new();
    for i in 0..60 {
        files.push((format!("d{}/f{i}.log", i % 3), text(3000 + i * 500, i)));
    }
    files.push(("big.log".into(), text(3 << 20, 7)));
    files.push(("noise.bin".into(), pattern(200_000, 5)));
    for (name, data) in &files {
        let p = srv.path(&format!("tree/{name}"));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, data).unwrap();
    }
    let d = tempdir("cli-zget");
    let squeezed = || srv.settled_log().matches("compressed into").count();
    for (args, dest) in [
        (vec!["get", "-r", "-z", "--jobs", "2", "tree"], "a"),
        (vec!["mirror", "--compress=3", "tree"], "b"),
    ] {
        let before = squeezed();
        let to = d.join(dest);
        let mut all = args.clone();
        all.push(to.to_str().unwrap());
        ok(&srv.tf(&all), &format!("{all:?}"));
        let root = if to.join("tree").is_dir() {
            to.join("tree")
        } else {
            to.clone()
        };
        for (name, data) in &files {
            assert!(fs::read(root.join(name)).unwrap() == *data, "{all:?} {name}");
        }
        assert!(squeezed() > before, "{all:?}: {}", srv.log());
    }
    // --no-compress asks nothing of the server
    let before = squeezed();
    let to = d.join("c");
    ok(
        &srv.tf(&["get", "-r", "--no-compress", "tree", to.to_str().unwrap()]),
        "--no-compress",
    );
    assert_eq!(squeezed(), before, "{}", srv.log());
    let o = srv.tf(&["get", "-r", "-z", "--no-compress", "tree", "x"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("exclude each other"));
}

#[test]
fn a_lying_servers_blocks_are_refused_and_nothing_lands() {
    let zeros = vec![0u8; 400 << 10];
    let head = |size: usize| format!("F {size} 644 {MTIME}").into_bytes();
    let cases: Vec<(&str, usize, Vec<Vec<u8>>)> = vec![
        // 400 KiB of zeros announced as 1 KiB
        ("bomb", 1 << 20, vec![head(1 << 20), lying_block(&zeros, 1024)]),
        // honest about its 400 KiB, in a file of 1000 bytes
        ("beyond", 1000, vec![head(1000), lying_block(&zeros, 400 << 10)]),
        // decodes to less than it announced
        ("short", 1 << 20, vec![head(1 << 20), lying_block(b"only this", 5000)]),
        // a small file's one block, a bomb
        (
            "small",
            1024,
            vec![[
                format!("z 1024 644 {MTIME} ").as_bytes(),
                &lying_block(&zeros, 1024),
                &[0u8; 32],
            ]
            .concat()],
        ),
    ];
    for (what, size, frames) in cases {
        let script = Script::new()
            .file("t/a.log", vec![b'x'; size])
            .answer("TFDZSTD", "OK 9 21")
            .getmany(frames);
        let liar = Liar::start(script);
        let dest = tempdir("cli-zget-liar");
        let cmd = liar.tf_command(&["get", "-r", "-z", "--jobs", "1", "t", dest.to_str().unwrap()]);
        let (o, rss) = run_watched(cmd, Duration::from_secs(60), 1 << 30);
        let said = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{what}: {said}");
        assert!(said.contains("block"), "{what}: {said}");
        assert_eq!(files_below(&dest), Vec::<String>::new(), "{what}: {said}");
        assert!(rss < 64 << 20, "{what}: {rss} bytes of RSS");
        let asked = liar.requests();
        assert!(
            asked
                .iter()
                .any(|r| r.starts_with(b"TFDGETMANY 1 ") && r.ends_with(b" z=yes")),
            "{what}: {:?}",
            asked.iter().map(|r| String::from_utf8_lossy(r)).collect::<Vec<_>>()
        );
    }
}

#[test]
fn compress_in_the_config_file_and_compression_decide_when_no_option_does() {
    let srv = Server::start();
    for i in 0..10 {
        let p = srv.path(&format!("tree/f{i}.log"));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text(20_000, i)).unwrap();
    }
    let home = tempdir("cli-zget-conf");
    fs::create_dir_all(home.join("tf")).unwrap();
    let key = home.join("pub.pem");
    fs::write(&key, &keys().1).unwrap();
    fs::write(
        home.join("tf/config"),
        format!(
            "[z]\nserver = {}\nkey = {}\nhash = {}\ncompress = yes\n",
            srv.addr(),
            key.display(),
            srv.hash
        ),
    )
    .unwrap();
    let named = |args: &[&str]| {
        std::process::Command::new(tf_bin())
            .args(["-s", "z"])
            .args(args)
            .env("XDG_CONFIG_HOME", &home)
            .output()
            .unwrap()
    };
    let squeezed = || srv.settled_log().matches("compressed into").count();
    let d = tempdir("cli-zget-conf-to");
    let to = |n: &str| d.join(n).to_str().unwrap().to_string();
    let before = squeezed();
    ok(&named(&["get", "-r", "tree", &to("a")]), "compress = yes");
    assert!(squeezed() > before, "{}", srv.log());
    // an option of the command wins
    let before = squeezed();
    ok(
        &named(&["get", "-r", "--no-compress", "tree", &to("b")]),
        "--no-compress",
    );
    assert_eq!(squeezed(), before);
    ok(
        &srv.tf(&["--compression", "5", "get", "-r", "tree", &to("c")]),
        "--compression 5",
    );
    assert!(squeezed() > before, "{}", srv.log());
    let o = srv.tf(&["--compression", "fast", "get", "-r", "tree", &to("d")]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--compression needs auto, yes, no or a level 1..19"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_lying_servers_single_file_blocks_are_refused_and_nothing_lands() {
    let zeros = vec![0u8; 400 << 10];
    let cases: Vec<(&str, usize, Vec<u8>)> = vec![
        // 400 KiB of zeros announced as 1 KiB
        ("bomb", 1 << 20, lying_block(&zeros, 1024)),
        // honest about its 400 KiB, in a file of 1000 bytes
        ("beyond", 1000, lying_block(&zeros, 400 << 10)),
        // decodes to less than it announced
        ("short", 1 << 20, lying_block(b"only this", 5000)),
        // a kind no version knows
        ("kind", 1 << 20, [&[9u8, 0, 0, 0, 4][..], b"abcd"].concat()),
    ];
    for (what, size, unit) in cases {
        let script = Script::new()
            .file("a.log", vec![b'x'; size])
            .answer("TFDZSTD", "OK 9 21")
            .getz(vec![unit]);
        let liar = Liar::start(script);
        let dest = tempdir("cli-zget-one-liar");
        let to = dest.join("a.log");
        let cmd = liar.tf_command(&["get", "-z", "a.log", to.to_str().unwrap()]);
        let (o, rss) = run_watched(cmd, Duration::from_secs(60), 1 << 30);
        let said = String::from_utf8_lossy(&o.stderr);
        let asked = liar.requests();
        let asked: Vec<_> = asked.iter().map(|r| String::from_utf8_lossy(r).into_owned()).collect();
        assert!(!o.status.success(), "{what}: {said} {asked:?}");
        assert!(said.contains("TFDGETZ") && said.contains("block"), "{what}: {said}");
        assert_eq!(files_below(&dest), Vec::<String>::new(), "{what}: {said}");
        assert!(rss < 64 << 20, "{what}: {rss} bytes of RSS");
        assert!(
            asked.iter().any(|r| r.starts_with("TFDGETZ yes a.log")),
            "{what}: {asked:?}"
        );
    }
}

#[test]
fn get_z_of_one_file_comes_down_compressed_and_no_compress_does_not() {
    let srv = Server::start();
    let data = text(3 << 20, 3);
    fs::write(srv.path("one.log"), &data).unwrap();
    let d = tempdir("cli-zget-one");
    let asked = || srv.settled_log().matches("TFDGETZ sent").count();
    let to = d.join("a.log");
    ok(&srv.tf(&["get", "-z", "one.log", to.to_str().unwrap()]), "get -z");
    assert!(fs::read(&to).unwrap() == data);
    assert_eq!(asked(), 1, "{}", srv.log());
    assert!(srv.settled_log().contains("compressed into"), "{}", srv.log());
    let to = d.join("b.log");
    ok(
        &srv.tf(&["get", "--no-compress", "one.log", to.to_str().unwrap()]),
        "get --no-compress",
    );
    assert!(fs::read(&to).unwrap() == data);
    assert_eq!(asked(), 1, "{}", srv.log());
}
