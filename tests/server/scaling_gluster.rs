//! Two nodes on a GlusterFS volume (doc/scaling.md, the bed of
//! `tfd_testkit::gluster`): every upload reads back through the other node
//! at once, stale handles are looked up again, a killed upload leaves no
//! temporary after the sweep, no-overwrite races have one winner and nothing
//! partial, and locks, TFPSFS, quotas and FAI tokens hold across nodes.

use super::scaling::Cluster;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tfd_testkit::gluster;
use tfd_testkit::reply::Answer as _;
use tfd_testkit::{assert_failed, assert_ok, is_root, ok, pattern, require, tempdir};
use tfp_client::replies::{AsStatus as _, Split as _};
use tfp_client::Client;

/// Two nodes on the GlusterFS bed, node A on mount A and node B on mount B,
/// each serving the directory `tag` of the volume; None (skip) without a bed.
fn gluster_cluster(tag: &str, extra: &str) -> Option<(Cluster, [PathBuf; 2])> {
    gluster_cluster_on(tag, extra, [0, 1])
}

/// [`gluster_cluster`] with the nodes on the bed's mounts `on`.
fn gluster_cluster_on(tag: &str, extra: &str, on: [usize; 2]) -> Option<(Cluster, [PathBuf; 2])> {
    let bed = gluster::bed()?;
    bed.subdir(tag);
    let (a, b) = (bed.on(on[0], tag), bed.on(on[1], tag));
    let dir = tempdir(&format!("gl-{tag}"));
    let node = |root: &PathBuf, fai: &str| {
        // FAI tokens live on the volume too: every node must redeem them
        let fai = bed.mounts[if fai == "a" { 0 } else { 1 }].join(format!(".fai-{tag}"));
        (root.clone(), format!("fai_dir {}\n{extra}", fai.display()))
    };
    let cluster = Cluster::start_on(dir, vec![node(&a, "a"), node(&b, "b")]);
    Some((cluster, [a, b]))
}

/// Puts a file on the volume through a node's mount as tfd's own uploads
/// do: written under another name, fsynced, renamed into place. Created in
/// place instead, the other mount could read it empty: its GlusterFS client
/// had cached the size of the new, empty file (from the creation's upcall)
/// and heard of the writes later — long enough later, on a loaded machine,
/// that `INTWRITE-RCVFILE-0 round 0 before: Ok(0)` failed the test (issue 31).
fn write_synced(path: &Path, data: &[u8]) {
    use std::io::Write;
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let tmp = path.with_file_name(format!(".{name}.new"));
    let mut f = std::fs::File::create(&tmp).unwrap();
    f.write_all(data).unwrap();
    f.sync_all().unwrap();
    drop(f);
    std::fs::rename(&tmp, path).unwrap();
}

/// INTREAD, its hash checked against the bytes.
fn intread(c: &mut Client, path: &str) -> Result<Vec<u8>, i32> {
    let (hash, data) = tfd_testkit::intrw::intread(c, path)?;
    assert_eq!(hash, tfd_testkit::intrw::hash_text(&data), "INTREAD hash");
    Ok(data)
}

/// INTWRITE of `data` over `old`.
fn intwrite(c: &mut Client, path: &str, old: &[u8], data: &[u8]) -> i32 {
    tfd_testkit::intrw::intwrite(c, path, &tfd_testkit::intrw::hash_text(old), data)
}

const UPLOADS: [&str; 4] = ["SNDFILE", "PUT", "SUP", "INTWRITE"];

const DOWNLOADS: [&str; 4] = ["RCVFILE", "GET", "SDOWN", "INTREAD"];

/// Replaces `path` (holding `old`) with `new` through `how`.
fn upload(c: &mut Client, how: &str, path: &str, old: &[u8], new: &[u8]) -> Result<(), String> {
    match how {
        "SNDFILE" => match c
            .sndfile(path.as_bytes(), true, &mut &new[..], &mut |_| {})
            .status()
            .unwrap()
        {
            st if ok(&st) => Ok(()),
            st => Err(format!("{st:?}")),
        },
        // in place, as PUT writes: the same length replaces every byte
        "PUT" => match c
            .put(path.as_bytes(), 0, 1 << 20, &mut &new[..], &mut |_| {})
            .split()
            .unwrap()
        {
            Ok(()) => Ok(()),
            other => Err(format!("{other:?}")),
        },
        "SUP" => match c.sup(path.as_bytes(), &mut &new[..]).answer().unwrap() {
            0 => Ok(()),
            n => Err(format!("SUP answered {n}")),
        },
        "INTWRITE" => match intwrite(c, path, old, new) {
            0 => Ok(()),
            n => Err(format!("INTWRITE answered {n}")),
        },
        _ => unreachable!(),
    }
}

/// Downloads `path` through `how`.
fn download(c: &mut Client, how: &str, path: &str) -> Result<Vec<u8>, String> {
    let mut got = Vec::new();
    match how {
        "RCVFILE" => match c.rcvfile(path.as_bytes(), false, &mut got).status().unwrap() {
            st if ok(&st) => Ok(got),
            st => Err(format!("{st:?}")),
        },
        "GET" => match c
            .get(path.as_bytes(), 0, 1 << 20, &mut got, &mut |_| {})
            .split()
            .unwrap()
        {
            Ok(_) => Ok(got),
            Err(st) => Err(format!("{st:?}")),
        },
        "SDOWN" => match c.sdown(path.as_bytes(), &mut got).done().unwrap() {
            true => Ok(got),
            false => Err("SDOWN answered -1".into()),
        },
        "INTREAD" => intread(c, path).map_err(|n| format!("INTREAD answered {n}")),
        _ => unreachable!(),
    }
}

/// Every upload × download pair across the two nodes on GlusterFS, both ways,
/// each read coming right after the other node replaced a file this node had
/// just read (its caches hold the old content) or had just written (its
/// handles name a file that is gone): byte for byte the new content, never the
/// old one, never a failure.
#[test]
fn gluster_every_upload_reads_back_through_the_other_node_at_once() {
    let Some((cluster, [root_a, _])) = gluster_cluster("matrix", "") else {
        return;
    };
    replace_then_read(&cluster, &root_a, &UPLOADS, 3);
}

/// Without `--entry-timeout=0` on the nodes' mounts (the bed's third and
/// fourth), a node opening a name the other node has just
/// replaced meets the old file's handle, gone: ESTALE. tfd pins the path
/// again, judges it again and reads the new file; before, GET answered
/// FAILED 34, RCVFILE FAILED 7, SDOWN and INTREAD -1.
#[test]
fn gluster_stale_handles_are_looked_up_again() {
    let Some((cluster, [root_a, _])) = gluster_cluster_on("stale", "", [2, 3]) else {
        return;
    };
    replace_then_read(&cluster, &root_a, &["INTWRITE"], 24);
}

/// Each upload of `ups` × each download, both ways, `rounds` times: the
/// reader reads (caching the file), the writer replaces it, the reader reads
/// again at once and must get the new bytes.
fn replace_then_read(cluster: &Cluster, root_a: &Path, ups: &[&str], rounds: usize) {
    let total = 2 * ups.len() * DOWNLOADS.len() * rounds;
    let mut clients = [cluster.client(&cluster.addr(0)), cluster.client(&cluster.addr(1))];
    let mut failures = Vec::new();
    let mut seed = 1u64;
    for (w, r) in [(0usize, 1usize), (1, 0)] {
        for &up in ups {
            for down in DOWNLOADS {
                let path = format!("{up}-{down}-{w}");
                let mut old = pattern(48 << 10, seed);
                write_synced(&root_a.join(&path), &old);
                for round in 0..rounds {
                    seed += 1;
                    // the reader holds the current content in its caches
                    let before = download(&mut clients[r], down, &path);
                    if before.as_deref() != Ok(&old[..]) {
                        failures.push(format!("{path} round {round} before: {:?}", before.map(|b| b.len())));
                    }
                    let new = pattern(48 << 10, seed);
                    upload(&mut clients[w], up, &path, &old, &new).unwrap_or_else(|e| panic!("{path}: {e}"));
                    match download(&mut clients[r], down, &path) {
                        Ok(got) if got == new => {}
                        Ok(got) if got == old => failures.push(format!("{path} round {round}: the OLD content")),
                        Ok(got) => failures.push(format!("{path} round {round}: {} other bytes", got.len())),
                        Err(e) => failures.push(format!("{path} round {round}: {e}")),
                    }
                    old = new;
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} reads right after the other node's write were wrong:\n{}\nnode A:\n{}\nnode B:\n{}",
        failures.len(),
        failures.join("\n"),
        cluster.nodes[0]
            .log()
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("-1 ("))
            .take(20)
            .collect::<Vec<_>>()
            .join("\n"),
        cluster.nodes[1]
            .log()
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("-1 ("))
            .take(20)
            .collect::<Vec<_>>()
            .join("\n"),
    );
}

/// The `.tfd-part-*` names in `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    tfd_testkit::dir_names(dir)
        .into_iter()
        .filter(|n| n.starts_with(".tfd-part-"))
        .collect()
}

/// GlusterFS has no O_TMPFILE, so uploads write named temporaries; one whose
/// session is killed (`kill -9`) mid-upload is removed by the node's sweeper
/// within the stale age (10 s) and `sweep_interval`, with no quota walk to
/// pass it; the other node's upload in progress, meanwhile, keeps its own.
#[test]
fn gluster_killed_upload_leaves_no_temporary_after_the_sweep() {
    let Some((cluster, [root_a, root_b])) = gluster_cluster("sweep", "sweep_interval 1\n") else {
        return;
    };
    let mut c = cluster.client(&cluster.addr(0));
    assert!(ok(&c.call("MKDIR", b"in").unwrap()));
    let frame = [&b"CONT "[..], &pattern(64 << 10, 9)].concat();
    let start_upload = |c: &mut Client| {
        assert_eq!(c.raw(b"SNDFILE 1 in/big.bin").unwrap(), b"CONT");
        for _ in 0..4 {
            c.chan.tx.send_frame(&frame).unwrap();
            assert_eq!(c.chan.rx.recv_frame().unwrap(), b"CONT");
        }
    };
    start_upload(&mut c);
    let dir = root_a.join("in");
    let left = temporaries(&dir);
    assert_eq!(
        left.len(),
        1,
        "a named temporary on GlusterFS: {:?}",
        tfd_testkit::dir_names(&dir)
    );
    let session = {
        let (live, _) = tfd_testkit::children_of(cluster.nodes[0].child.id() as i32);
        assert_eq!(live.len(), 1, "one session on node A: {live:?}");
        live[0]
    };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(session), nix::sys::signal::SIGKILL).unwrap();
    drop(c);
    // node B's live upload in the same directory, held over the whole wait
    let mut live = cluster.client(&cluster.addr(1));
    assert_eq!(live.raw(b"SNDFILE 1 in/live.bin").unwrap(), b"CONT");
    let t = Instant::now();
    while temporaries(&dir).contains(&left[0]) {
        // keep B's upload moving: its temporary is touched and stays locked
        live.chan.tx.send_frame(&frame).unwrap();
        assert_eq!(live.chan.rx.recv_frame().unwrap(), b"CONT");
        assert!(
            t.elapsed() < Duration::from_secs(25),
            "the killed upload's temporary {} is still there after {:?}",
            left[0],
            t.elapsed()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    eprintln!("swept {:?} after the kill", t.elapsed());
    assert!(!root_b.join("in/big.bin").exists(), "nothing partial under the name");
    let still = temporaries(&root_b.join("in"));
    assert_eq!(still.len(), 1, "node B's live upload keeps its temporary: {still:?}");
    assert_eq!(live.raw(b"OK").unwrap(), b"OK");
    assert!(temporaries(&dir).is_empty());
    // either node's sweeper may have taken it: both walk the volume
    assert!(cluster
        .nodes
        .iter()
        .any(|n| n.log().contains("sweeper: removed 1 upload temporary")));
}

fn reply(c: &mut Client, line: &str) -> String {
    String::from_utf8(c.raw(line.as_bytes()).unwrap()).unwrap()
}

/// No-overwrite uploads of one name through both nodes at once: exactly one
/// wins (RENAME_NOREPLACE, or the link + unlink fallback), the file is the
/// winner's bytes, and a reader on the other mount never sees part of a file.
#[test]
fn gluster_no_overwrite_races_have_one_winner_and_nothing_partial() {
    let Some((cluster, [_, root_b])) = gluster_cluster("race", "") else {
        return;
    };
    let (addr_a, addr_b) = (cluster.addr(0), cluster.addr(1));
    let mut cs = [cluster.client(&addr_a), cluster.client(&addr_b)];
    let bodies = [pattern(300 << 10, 1), pattern(300 << 10, 2)];
    let stop = std::sync::atomic::AtomicBool::new(false);
    let seen_partial = std::sync::atomic::AtomicU32::new(0);
    std::thread::scope(|sc| {
        // reads every name through mount B while the races run
        sc.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                for i in 0..12 {
                    if let Ok(got) = std::fs::read(root_b.join(format!("r{i}"))) {
                        if got != bodies[0] && got != bodies[1] {
                            seen_partial.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                }
            }
        });
        for i in 0..12 {
            let name = format!("r{i}");
            let results: Vec<bool> = std::thread::scope(|s2| {
                let hs: Vec<_> = cs
                    .iter_mut()
                    .zip(bodies.iter())
                    .map(|(c, body)| {
                        let name = name.clone();
                        s2.spawn(move || {
                            let st = c
                                .sndfile(name.as_bytes(), false, &mut &body[..], &mut |_| {})
                                .status()
                                .unwrap();
                            assert!(ok(&st) || st.failed_code().is_some(), "{st:?}");
                            ok(&st)
                        })
                    })
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert_eq!(results.iter().filter(|w| **w).count(), 1, "round {i}: {results:?}");
            let winner = results.iter().position(|w| *w).unwrap();
            assert!(
                std::fs::read(root_b.join(&name)).unwrap() == bodies[winner],
                "round {i}"
            );
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    assert_eq!(seen_partial.into_inner(), 0, "a reader saw part of a file");
    assert!(temporaries(&root_b).is_empty(), "{:?}", temporaries(&root_b));
}

/// What holds across nodes on GlusterFS, each acting at once: LOCK (a file),
/// NETLOCK (a lock on the file: released by END and by SIGKILL of its
/// session), and TFPSFS grants and revocations (metadata files replaced by
/// rename, read by the other node right after).
#[test]
fn gluster_locks_and_tfpsfs_hold_across_nodes_at_once() {
    let Some((cluster, [root_a, _])) = gluster_cluster("locks", "") else {
        return;
    };
    let (addr_a, addr_b) = (cluster.addr(0), cluster.addr(1));
    let mut a = cluster.client(&addr_a);
    let mut b = cluster.client(&addr_b);

    // LOCK: B's session is locked out the moment A makes the lock file
    assert!(ok(&b.call("LOCK", b"busy").unwrap()));
    assert!(ok(&a.call("MKDIR", b"d").unwrap()));
    assert!(ok(&b.call("MKDIR", b"d/before").unwrap()));
    assert!(ok(&a.call("TOUCH", b"d/busy").unwrap()));
    assert_failed(b.call("MKDIR", b"d/after").unwrap(), 30);
    assert!(ok(&a.call("DEL", b"d/busy").unwrap()));
    assert!(ok(&b.call("MKDIR", b"d/after").unwrap()));

    // NETLOCK: one holder across nodes; END releases it, and so does SIGKILL
    write_synced(&root_a.join("d/f"), b"x");
    assert_eq!(reply(&mut a, "NETLOCK_TRY 30 d/f"), "OK 0");
    assert!(reply(&mut b, "NETLOCK_TRY 30 d/f").starts_with("FAILED 54"));
    a.end().unwrap();
    // Bounds of 20 s, not timings: release takes milliseconds, but a session
    // ending on a loaded 2-core machine with two tfds and GlusterFS beside it
    // may take seconds; 20 s stays under the lock's own 30 s, so what frees
    // the lock is still the END (or the kill), never the lock running out.
    let t = Instant::now();
    loop {
        let r = reply(&mut b, "NETLOCK_TRY 30 d/f");
        if r == "OK 0" {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "END did not release the NETLOCK: {r}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut a = cluster.client(&addr_a);
    assert!(reply(&mut a, "NETLOCK_TRY 30 d/f").starts_with("FAILED 54"));
    let (live, _) = tfd_testkit::children_of(cluster.nodes[1].child.id() as i32);
    assert_eq!(live.len(), 1, "{live:?}");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(live[0]), nix::sys::signal::SIGKILL).unwrap();
    let t = Instant::now();
    loop {
        let r = reply(&mut a, "NETLOCK_TRY 30 d/f");
        if r == "OK 0" {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "SIGKILL did not release the NETLOCK: {r}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    a.end().unwrap();

    // TFPSFS: a grant or a revocation through A holds at once through B
    let mut owner = cluster.client(&addr_a);
    let mut bob = cluster.client(&addr_b);
    assert!(ok(&owner.call("MKDIR", b"box").unwrap()));
    write_synced(&root_a.join("box/f"), b"secret");
    assert!(ok(&owner.call("SETFSID", b"alice").unwrap()));
    assert!(ok(&bob.call("SETFSID", b"bob").unwrap()));
    assert!(ok(&owner.call("SETFSPERM", b"alice:4095 box").unwrap()));
    for round in 0..12 {
        let mut sink = Vec::new();
        assert_failed(bob.rcvfile(b"box/f", false, &mut sink).status().unwrap(), 1);
        assert!(ok(&owner.call("SETFSPERM", b"bob:4 box").unwrap()));
        let mut got = Vec::new();
        let st = bob.rcvfile(b"box/f", false, &mut got).status().unwrap();
        assert!(
            ok(&st) && got == b"secret",
            "round {round}: the grant through A, at once through B: {st:?}"
        );
        assert!(ok(&owner.call("REMFSPERM", b"bob box").unwrap()));
        let mut sink = Vec::new();
        let st = bob.rcvfile(b"box/f", false, &mut sink).status().unwrap();
        assert_eq!(
            st.failed_code(),
            Some(1),
            "round {round}: the revocation through A, at once through B"
        );
    }
}

/// A quota counts what the user owns on the volume, whichever node wrote
/// it; a FAI token issued by one node opens a session on the other (the
/// token store is on the volume), as the same user.
#[test]
fn gluster_quotas_and_fai_tokens_across_nodes() {
    if !require(is_root(), "needs root to create a system user") {
        return;
    }
    let (uid, gid) = tfd_testkit::users::ensure_system_user("tfdglq1", &[]);
    let db = tfd_testkit::users::login_userdb("glq", "carl", "tfdglq1", "carl-pw-1");
    let extra = format!("userdb {db}\nquota_default 1M\nfai_max_minutes 30\n");
    let Some((cluster, [root_a, root_b])) = gluster_cluster("quota", &extra) else {
        return;
    };
    let home = root_a.join("carl");
    std::fs::create_dir(&home).unwrap();
    nix::unistd::chown(&home, Some(uid.into()), Some(gid.into())).unwrap();
    let login = |i: usize| {
        let mut c = cluster.client(&cluster.addr(i));
        assert_ok(c.call("LOGIN", b"carl carl-pw-1").unwrap());
        c
    };
    let mut a = login(0);
    let body = pattern(700 << 10, 5);
    assert!(ok(&a
        .sndfile(b"carl/a.bin", false, &mut &body[..], &mut |_| {})
        .status()
        .unwrap()));
    // B counts what A wrote: 700 KiB more would pass 1 MiB
    let mut b = login(1);
    let st = b
        .sndfile(b"carl/b.bin", false, &mut &body[..], &mut |_| {})
        .status()
        .unwrap();
    assert!(!ok(&st), "the quota held across nodes: {st:?}");
    assert!(!root_b.join("carl/b.bin").exists());
    assert!(temporaries(&root_b.join("carl")).is_empty());
    let small = pattern(100 << 10, 6);
    assert!(ok(&b
        .sndfile(b"carl/c.bin", false, &mut &small[..], &mut |_| {})
        .status()
        .unwrap()));

    // FAI: issued through A, entered through B, as carl
    let token = a.faitok(5).split().unwrap().expect("FAITOK on node A");
    let (mut fb, _next) =
        Client::connect_fai(&cluster.config(&cluster.addr(1)), &token).expect("FAI entrance on node B");
    let mut got = Vec::new();
    assert!(ok(&fb.rcvfile(b"carl/a.bin", false, &mut got).status().unwrap()));
    assert!(got == body);
    let st = fb
        .sndfile(b"carl/d.bin", false, &mut &body[..], &mut |_| {})
        .status()
        .unwrap();
    assert!(!ok(&st), "the FAI session is carl's, under carl's quota: {st:?}");
    assert!(ok(&fb.call("TOUCH", b"carl/fai").unwrap()));
    let meta = std::fs::metadata(root_a.join("carl/fai")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), uid, "made as carl");
}

/// LOCK on mounts that trust a cached name for a second (the bed's third and
/// fourth): a lock file removed through one node unlocks sessions on the
/// other at once, and one made through it locks them at once.
#[test]
fn gluster_lock_file_removed_by_the_other_node_unlocks_at_once() {
    let Some((cluster, _)) = gluster_cluster_on("lockc", "", [2, 3]) else {
        return;
    };
    let mut a = cluster.client(&cluster.addr(0));
    let mut b = cluster.client(&cluster.addr(1));
    assert!(ok(&b.call("LOCK", b"busy").unwrap()));
    assert!(ok(&a.call("MKDIR", b"d").unwrap()));
    for round in 0..10 {
        assert!(ok(&a.call("TOUCH", b"d/busy").unwrap()));
        assert_eq!(
            b.call("MKDIR", format!("d/x{round}").as_bytes()).unwrap().failed_code(),
            Some(30),
            "round {round}: locked at once"
        );
        assert!(ok(&a.call("DEL", b"d/busy").unwrap()));
        let st = b.call("MKDIR", format!("d/y{round}").as_bytes()).unwrap();
        assert!(ok(&st), "round {round}: unlocked at once: {st:?}");
    }
}
