//! A lying server's delta download (doc/compatibility.md "Delta
//! transfers"): `tf get --no-whole-file` onto an old local copy, the liar
//! answering TFDDELTAGET with records that copy past the old copy's end,
//! build more than the size it announced, carry a literal bigger than the
//! file or a torn one, or end in a hash of another file. tf reports each and
//! exits non-zero; the local file is its old version, never a splice of
//! both, and no partial is left beside it. A liar without the command
//! (UNKNOWN) gets the file fetched whole, tf saying nothing new.

use crate::output::text;

use std::fs;
use tfd_testkit::liar::{Liar, Script};
use tfd_testkit::{dir_names, pattern, tempdir};
use tfp_wire::delta as wire;

const KIB: usize = 1 << 10;

fn copy(off: u64, len: u64) -> Vec<u8> {
    let mut f = Vec::new();
    wire::push_copy(&mut f, off, len);
    f
}

fn lit(d: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    wire::push_literal(&mut f, d);
    f
}

fn sum(d: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let hex: String = Sha256::digest(d).iter().map(|b| format!("{b:02x}")).collect();
    [&b"E"[..], hex.as_bytes()].concat()
}

/// Runs `tf get f.bin LOCAL --no-whole-file` against a liar holding `new`
/// and answering TFDDELTAGET with `frames`, onto a local `old`.
fn get(
    old: &[u8],
    new: &[u8],
    frames: Option<Vec<Vec<u8>>>,
    tag: &str,
) -> (std::process::Output, Vec<u8>, Vec<String>) {
    let mut script = Script::new().file("f.bin", new);
    let frames_given = frames.is_some();
    if let Some(f) = frames {
        script = script.delta("f.bin", f);
    }
    let liar = Liar::start(script);
    let d = tempdir(tag);
    let local = d.join("f.bin");
    fs::write(&local, old).unwrap();
    let o = liar
        .tf_command(&["get", "f.bin", local.to_str().unwrap(), "--no-whole-file"])
        .output()
        .unwrap();
    let after = fs::read(&local).unwrap();
    let names = dir_names(&d);
    // a server that did not tell TFDDELTAGET is never asked it
    let asked = liar.requests().iter().any(|r| r.starts_with(b"TFDDELTAGET "));
    assert_eq!(
        asked,
        frames_given,
        "{tag}: tf asked for a delta: {asked}\n{}",
        text(&o)
    );
    let _ = fs::remove_dir_all(&d);
    (o, after, names)
}

#[test]
fn a_lying_delta_never_lands_and_the_old_file_stays() {
    let old = pattern(512 * KIB, 1);
    let new = pattern(300 * KIB, 2);
    let n = new.len() as u64;
    let o = old.len() as u64;
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("a copy past the old copy's end", vec![copy(o - 10, 20), sum(&new)]),
        ("a copy offset overflowing", vec![copy(u64::MAX - 1, 5), sum(&new)]),
        ("more than the size announced", vec![copy(0, n + 1), sum(&new)]),
        (
            "a literal bigger than the file",
            vec![lit(&vec![7u8; n as usize + 1]), sum(&new)],
        ),
        (
            "a torn literal claiming 4 GiB",
            vec![b"L\xff\xff\xff\xffabc".to_vec(), sum(&new)],
        ),
        ("an empty record", vec![copy(0, 0), sum(&new)]),
        ("an unknown record", vec![b"Q123".to_vec(), sum(&new)]),
        ("a hash of another file", vec![lit(&new), sum(b"other")]),
        ("fewer bytes than announced", vec![lit(&new[..1000]), sum(&new[..1000])]),
        (
            "copies spliced with the new bytes",
            vec![copy(0, 1000), lit(&new[1000..]), sum(&new)],
        ),
    ];
    for (what, frames) in cases {
        let (out, after, names) = get(&old, &new, Some(frames), "liar_delta");
        assert!(!out.status.success(), "{what}: tf accepted it\n{}", text(&out));
        assert!(
            after == old,
            "{what}: the local file is its old version\n{}",
            text(&out)
        );
        assert_eq!(names, ["f.bin"], "{what}: nothing left beside it");
        assert!(
            text(&out).contains("f.bin") || text(&out).contains("TFDDELTAGET"),
            "{what}: tf says what failed\n{}",
            text(&out)
        );
    }
    // a right delta from the liar lands; a liar without the command (UNKNOWN)
    // gets the file whole, tf saying nothing new
    let right = vec![lit(&new), sum(&new)];
    let (out, after, names) = get(&old, &new, Some(right), "liar_delta_ok");
    assert!(out.status.success(), "{}", text(&out));
    assert!(after == new);
    assert_eq!(names, ["f.bin"]);
    let (out, after, _) = get(&old, &new, None, "liar_delta_unknown");
    assert!(out.status.success(), "{}", text(&out));
    assert!(after == new);
    assert_eq!(text(&out), "", "nothing said");
}

/// A server that does not tell TFDDELTAGET is never asked it: mirror
/// fetches every changed file whole, and says nothing about deltas.
#[test]
fn a_server_without_delta_downloads_is_never_asked() {
    let new_a = pattern(300 * KIB, 11);
    let new_b = pattern(300 * KIB, 12);
    let liar = Liar::start(Script::new().file("t/a.bin", &new_a).file("t/b.bin", &new_b));
    let d = tempdir("liar_delta_mirror");
    let dst = d.join("dst");
    fs::create_dir_all(&dst).unwrap();
    fs::write(dst.join("a.bin"), pattern(300 * KIB, 21)).unwrap();
    fs::write(dst.join("b.bin"), pattern(300 * KIB, 22)).unwrap();
    let o = liar
        .tf_command(&["mirror", "--no-whole-file", "--jobs", "1", "t", dst.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(fs::read(dst.join("a.bin")).unwrap() == new_a);
    assert!(fs::read(dst.join("b.bin")).unwrap() == new_b);
    let asked = liar
        .requests()
        .iter()
        .filter(|r| r.starts_with(b"TFDDELTAGET "))
        .count();
    assert_eq!(asked, 0, "a server that did not tell it was asked");
    assert!(!text(&o).to_lowercase().contains("delta"), "{}", text(&o));
    let _ = fs::remove_dir_all(&d);
}

/// A partial a failed whole download kept (with its journal, here after a
/// server sent more than it announced) is the engine's: a later `get` onto
/// the old copy does not try a delta over it, and the engine says it
/// discards it (`--resume` would continue it).
#[test]
fn a_kept_partial_download_is_left_to_the_engine() {
    use tfd_testkit::liar::Lie;
    let new = pattern(600 * KIB, 31);
    let old = pattern(600 * KIB, 32);
    let d = tempdir("liar_delta_kept");
    let local = d.join("f.bin");
    fs::write(&local, &old).unwrap();
    let liar = Liar::start(Script::new().file("f.bin", &new).lie(Lie::Extra {
        path: "f.bin".into(),
        extra: 1000,
    }));
    let o = liar
        .tf_command(&["get", "f.bin", local.to_str().unwrap(), "--whole-file"])
        .output()
        .unwrap();
    assert!(!o.status.success(), "{}", text(&o));
    assert!(d.join(".f.bin.tf-partial.journal").exists(), "{}", text(&o));
    let liar = Liar::start(
        Script::new()
            .file("f.bin", &new)
            .delta("f.bin", vec![lit(&new[..300 * KIB]), lit(&new[300 * KIB..]), sum(&new)]),
    );
    let o = liar
        .tf_command(&["get", "f.bin", local.to_str().unwrap(), "--no-whole-file"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(fs::read(&local).unwrap() == new);
    assert!(text(&o).contains("is discarded"), "{}", text(&o));
    let asked = liar.requests().iter().any(|r| r.starts_with(b"TFDDELTAGET "));
    assert!(!asked, "no delta over a kept partial");
    assert_eq!(dir_names(&d), ["f.bin"]);
    let _ = fs::remove_dir_all(&d);
}

/// A server that ends a delta with FAILED after some records (tfd does when
/// its file changed while it read it) gets the file fetched whole: the
/// records built so far are dropped, tf says nothing new.
#[test]
fn a_delta_the_server_abandons_midway_is_fetched_whole() {
    let old = pattern(512 * KIB, 41);
    let new = pattern(300 * KIB, 42);
    let frames = vec![
        copy(0, 1000),
        lit(&new[..2000]),
        b"FAILED 7 : the file changed while it was read; no delta of it was sent".to_vec(),
    ];
    let (out, after, names) = get(&old, &new, Some(frames), "liar_delta_abandoned");
    assert!(out.status.success(), "{}", text(&out));
    assert!(after == new, "fetched whole");
    assert_eq!(names, ["f.bin"]);
    assert_eq!(text(&out), "", "nothing said");
}

/// A server that answers early that a delta would not pay, after the
/// signatures of the first 32 MiB of a 1 GiB old copy (sparse): tf stops
/// making them within a window or two of the answer, ends with `A`, and
/// fetches the file whole. (Before, past its first 16 MiB tf sent a frame
/// per 256 KiB of signatures and looked for the answer only between
/// frames: 268 KiB of its 384 KiB had crossed when it stopped.)
#[test]
fn tf_stops_its_signatures_soon_after_an_early_answer() {
    let new = pattern(2 << 20, 5);
    let size = 1u64 << 30;
    let all = wire::entries(size, wire::block_size(size)) * wire::ENTRY as u64;
    let after = (32 << 20) / wire::block_size(size) as u64 * wire::ENTRY as u64;
    let frames = vec![
        format!("AFTER {after}").into_bytes(),
        b"FAILED 7 : a delta would not pay: most of the file differs".to_vec(),
    ];
    let liar = Liar::start(Script::new().file("f.bin", &new).delta("f.bin", frames));
    let d = tempdir("liar_delta_early");
    let local = d.join("f.bin");
    fs::File::create(&local).unwrap().set_len(size).unwrap();
    let o = liar
        .tf_command(&["get", "f.bin", local.to_str().unwrap(), "--no-whole-file"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(fs::read(&local).unwrap() == new, "the new file, whole");
    let got: u64 = liar
        .requests()
        .iter()
        .find_map(|r| r.strip_prefix(b"SIGNATURES "))
        .and_then(|n| std::str::from_utf8(n).ok()?.parse().ok())
        .expect("the liar counted the signatures");
    assert!(got >= after, "{got}");
    assert!(
        got < after + all / 8,
        "{got} bytes of signatures of {all} came, the answer after {after}: tf did not stop"
    );
    assert_eq!(dir_names(&d), ["f.bin"], "nothing left beside it");
    let _ = fs::remove_dir_all(&d);
}
