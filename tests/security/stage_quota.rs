//! Staged and delta uploads under a quota (issue 47): a stage is charged
//! until it replaces its target, parallel jobs never refuse a file that fits
//! for one that cannot, and a delta that cannot fit holds no room a batch
//! needs.

use super::control_and_files::{alice, alice_server_with, said};
use super::stage_owners::{file_of, tf_as, MIB};
use std::time::Duration;
use tfd_testkit::{self, *};

/// The names beginning `.tfd-part-` anywhere below `dir`.
fn parts_below(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                todo.push(e.path());
            } else if e.file_name().to_string_lossy().starts_with(".tfd-part-") {
                out.push(e.path());
            }
        }
    }
    out
}

/// Finding 7, first half: TFDSTAGEPUT gave the stage the credit of the file
/// it will replace before anything was replaced, so alice (quota 10 MiB,
/// a 6 MiB file) staged a new 6 MiB version of it and held 12 MiB for the
/// stage's 2 days (TFDSTAGE OK, every range OK). Now a stage is charged whole
/// until its commit: TFDSTAGE of a version that cannot fit beside the old
/// file answers FAILED 13 and leaves no stage, `tf put --streams 2` says the
/// quota and leaves the old file whole, and a version that fits beside it
/// (3 MiB) is stored and replaces it.
#[test]
fn a_stage_is_charged_until_it_replaces_its_target() {
    assert!(is_root(), "this test needs root (system users, LOGIN)");
    let (srv, uid, gid, home) = alice_server_with("tfdr3a", "", &["--quota", "10485760"]);
    let old = pattern(6 * MIB, 71);
    file_of(&home.join("big.bin"), &old, uid, gid);
    let mut c = alice(&srv);
    let st = c
        .call("TFDSTAGE", format!("{} seven 1 alice/big.bin", 6 * MIB).as_bytes())
        .unwrap();
    assert!(
        matches!(&st, tfp_wire::Status::Failed(13, t) if t.contains("Quota")),
        "a 6 MiB stage beside a 6 MiB file under a 10 MiB quota: {st:?}"
    );
    assert!(parts_below(&home).is_empty(), "a refused stage holds nothing");
    // through tf: refused, naming the quota; the old file whole, no stage
    let here = tfd_testkit::tempdir("r3-seven");
    let v2 = pattern(6 * MIB, 72);
    std::fs::write(here.join("v2.bin"), &v2).unwrap();
    let o = tf_as(
        &srv,
        "alice",
        &[
            "put",
            "--streams",
            "2",
            here.join("v2.bin").to_str().unwrap(),
            "alice/big.bin",
        ],
    );
    assert!(
        !o.status.success(),
        "stored a 6 MiB stage beside 6 MiB under 10 MiB: {}",
        said(&o)
    );
    assert!(said(&o).contains("Quota"), "{}", said(&o));
    assert_eq!(
        std::fs::read(home.join("big.bin")).unwrap(),
        old,
        "the old file is whole"
    );
    assert!(parts_below(&home).is_empty(), "no stage left: {:?}", parts_below(&home));
    // a version that fits beside the old file is stored and replaces it
    let v3 = pattern(3 * MIB, 73);
    std::fs::write(here.join("v3.bin"), &v3).unwrap();
    let o = tf_as(
        &srv,
        "alice",
        &[
            "put",
            "--streams",
            "2",
            here.join("v3.bin").to_str().unwrap(),
            "alice/big.bin",
        ],
    );
    assert!(o.status.success(), "{}", said(&o));
    assert_eq!(std::fs::read(home.join("big.bin")).unwrap(), v3);
    assert!(parts_below(&home).is_empty());
    // the space tf df reports is what the quota leaves
    let o = tf_as(&srv, "alice", &["df", "--raw"]);
    assert!(o.status.success(), "{}", said(&o));
    assert!(
        said(&o).contains(&format!("quota      {} used", 3 * MIB)),
        "tf df: {}",
        said(&o)
    );
}

/// Finding 7, second half: near the quota (20 MiB, 10 MiB used), `put -r
/// --jobs 4` of a tree holding an 8 MiB file (fits), a 12 MiB one and a
/// 40 MiB one (staged; neither can ever fit) refused the 8 MiB file as well:
/// the files that could never fit held the room with reservations taken
/// frame by frame (a batch even kept a failed file's until its end), where
/// `--jobs 1` stored it. Now a file's whole announced size is reserved
/// before its data (TFDPUTMANY) and a stage that cannot fit is refused at
/// TFDSTAGE: what cannot fit is refused at once and holds nothing, and the
/// 8 MiB file is stored with 4 parallel jobs as with 1.
#[test]
fn parallel_jobs_never_refuse_a_file_that_fits_for_one_that_cannot() {
    assert!(is_root(), "this test needs root (system users, LOGIN)");
    let (srv, uid, gid, home) = alice_server_with("tfdr3a", "", &["--quota", "20971520"]);
    file_of(&home.join("filler.bin"), &pattern(10 * MIB, 80), uid, gid);
    let here = tfd_testkit::tempdir("r3-seven-jobs");
    let src = here.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let fits = pattern(8 * MIB, 81);
    std::fs::write(src.join("fits.bin"), &fits).unwrap();
    std::fs::write(src.join("toobig.bin"), pattern(12 * MIB, 82)).unwrap();
    std::fs::write(src.join("never.bin"), pattern(40 * MIB, 83)).unwrap();
    for round in 0..3 {
        for jobs in ["4", "1"] {
            let dest = format!("alice/up-{jobs}-{round}");
            let o = tf_as(
                &srv,
                "alice",
                &["put", "-r", "--jobs", jobs, &format!("{}/", src.display()), &dest],
            );
            let at = srv.data.join(&dest);
            assert!(!o.status.success(), "--jobs {jobs}: {}", said(&o));
            assert!(
                std::fs::read(at.join("fits.bin")).is_ok_and(|got| got == fits),
                "round {round}, --jobs {jobs}: the 8 MiB file that fits was not stored: {}",
                said(&o)
            );
            assert!(!at.join("toobig.bin").exists() && !at.join("never.bin").exists());
            assert!(parts_below(&home).is_empty(), "{:?}", parts_below(&home));
            std::fs::remove_dir_all(&at).unwrap();
        }
    }
}

/// Finding 7, deltas (what `mirror -R` sends over its pool beside the
/// batches): TFDDELTAPUT reserved record by record, so a new version that
/// could never fit (14 MiB where the quota leaves 10 beside the old 2 MiB)
/// was answered OK and held the room its records took while a batch of
/// another session refused an 8 MiB file that fits. Now the whole announced
/// size is reserved before any record: the delta is refused at once
/// (FAILED 13, before OK) holding nothing, and the batch stores the file.
#[test]
fn a_delta_that_cannot_fit_holds_no_room_a_batch_needs() {
    assert!(is_root(), "this test needs root (system users, LOGIN)");
    let (srv, uid, gid, home) = alice_server_with("tfdr3a", "", &["--quota", "20971520"]);
    let old = pattern(2 * MIB, 100);
    file_of(&home.join("old.bin"), &old, uid, gid);
    file_of(&home.join("filler.bin"), &pattern(8 * MIB, 101), uid, gid);
    let mut a = alice(&srv);
    a.chan.tx.send_frame(b"TFDDELTASIG alice/old.bin").unwrap();
    let head = String::from_utf8(a.chan.rx.recv_frame().unwrap()).unwrap();
    let identity = head.split(' ').nth(4).unwrap_or_else(|| panic!("{head}")).to_string();
    loop {
        let f = a.chan.rx.recv_frame().unwrap();
        if f == b"OK" {
            break;
        }
        assert_eq!(f.first(), Some(&b'S'), "{}", String::from_utf8_lossy(&f));
    }
    let size = 14 * MIB;
    a.chan
        .tx
        .send_frame(format!("TFDDELTAPUT {size} {identity} alice/old.bin").as_bytes())
        .unwrap();
    let first = tfp_wire::Status::parse(&a.chan.rx.recv_frame().unwrap());
    if ok(&first) {
        // the old code: 9 MiB of literal records, held while the batch runs
        let lit = pattern(256 << 10, 102);
        for _ in 0..36 {
            let mut frame = vec![b'L'];
            frame.extend_from_slice(&(lit.len() as u32).to_be_bytes());
            frame.extend_from_slice(&lit);
            a.chan.tx.send_frame(&frame).unwrap();
        }
        // a round trip: the server has taken every record so far
        let _ = tf_as(&srv, "alice", &["echo", "sync"]);
        std::thread::sleep(Duration::from_millis(300));
    }
    let here = tfd_testkit::tempdir("r3-seven-delta");
    let fits = pattern(8 * MIB, 103);
    std::fs::create_dir_all(here.join("src")).unwrap();
    std::fs::write(here.join("src/fits.bin"), &fits).unwrap();
    let o = tf_as(
        &srv,
        "alice",
        &["put", "-r", &format!("{}/", here.join("src").display()), "alice/up"],
    );
    let stored = std::fs::read(home.join("up/fits.bin")).is_ok_and(|got| got == fits);
    if ok(&first) {
        a.chan.tx.send_frame(format!("E{}", "0".repeat(64)).as_bytes()).unwrap();
        let _ = a.chan.rx.recv_frame();
    }
    assert!(
        stored,
        "the 8 MiB file that fits was refused beside the delta: {}",
        said(&o)
    );
    assert!(o.status.success(), "{}", said(&o));
    assert!(
        matches!(&first, tfp_wire::Status::Failed(13, _)),
        "a delta of 14 MiB with 10 MiB left beside a 2 MiB file: {first:?}"
    );
    assert_eq!(
        std::fs::read(home.join("old.bin")).unwrap(),
        old,
        "the old file is whole"
    );
    assert!(parts_below(&home).is_empty());
}
