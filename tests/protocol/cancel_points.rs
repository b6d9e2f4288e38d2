//! The client library's PUTCAN and GETCAN (`Client::putcan`, `Client::getcan`,
//! tfp_client::cancel_points) against a real tfd: the windows for canpt 0 to
//! 3, data ending on a window boundary, every way the caller can end a
//! transfer, offsets, refusals and a server that cannot write, each checked
//! in the bytes on disk or received and in a next command the session still
//! answers.

use std::fs;
use tfd_testkit::*;
use tfp_client::{CanEvent, CanOutcome, Client, Error, Failed, Flow};

/// The grant asked for: small, so a few bytes make several chunks.
const GRANT: usize = 16;

/// Everything the callback saw.
#[derive(Debug, Default)]
struct Seen {
    granted: Vec<usize>,
    chunks: Vec<(usize, u64)>,
    windows: Vec<u64>,
    data_end: Vec<u64>,
}

impl Seen {
    fn note(&mut self, e: CanEvent) {
        match e {
            CanEvent::Granted { grant } => self.granted.push(grant),
            CanEvent::Chunk { len, total } => self.chunks.push((len, total)),
            CanEvent::Window { total } => self.windows.push(total),
            CanEvent::DataEnd { total } => self.data_end.push(total),
            other => panic!("an event this test does not know: {other:?}"),
        }
    }
}

/// The chunk lengths `n` bytes make in grants of [`GRANT`], with running totals.
fn chunks_of(n: usize) -> Vec<(usize, u64)> {
    let mut total = 0u64;
    (0..n)
        .step_by(GRANT)
        .map(|at| {
            let len = GRANT.min(n - at);
            total += len as u64;
            (len, total)
        })
        .collect()
}

/// The window totals of `n` bytes with `canpt`: one after every canpt chunks.
fn windows_of(n: usize, canpt: u64) -> Vec<u64> {
    if canpt == 0 {
        return Vec::new();
    }
    chunks_of(n)
        .iter()
        .enumerate()
        .filter(|(i, _)| (*i as u64 + 1) % canpt == 0)
        .map(|(_, c)| c.1)
        .collect()
}

fn putcan(
    c: &mut Client,
    name: &str,
    offset: u64,
    canpt: u64,
    data: &[u8],
    mut decide: impl FnMut(CanEvent) -> Flow,
) -> (Result<CanOutcome, Error>, Seen) {
    let mut seen = Seen::default();
    let r = c.putcan(name.as_bytes(), offset, GRANT as i64, canpt, &mut &data[..], &mut |e| {
        seen.note(e);
        decide(e)
    });
    (r, seen)
}

fn getcan(
    c: &mut Client,
    name: &str,
    offset: u64,
    canpt: u64,
    mut decide: impl FnMut(CanEvent) -> Flow,
) -> (Result<CanOutcome, Error>, Vec<u8>, Seen) {
    let mut seen = Seen::default();
    let mut out = Vec::new();
    let r = c.getcan(name.as_bytes(), offset, GRANT as i64, canpt, &mut out, &mut |e| {
        seen.note(e);
        decide(e)
    });
    (r, out, seen)
}

fn go_on(_: CanEvent) -> Flow {
    Flow::Continue
}

/// The session answers a next command: nothing of the transfer is left on the wire.
fn in_step(c: &mut Client, what: &str) {
    assert_eq!(c.echo(what).unwrap(), what.as_bytes(), "after {what}");
}

/// Sizes around the window boundaries of canpt 1..3 with 16-byte chunks
/// (48 bytes: 3 chunks, a boundary for canpt 1 and 3; 32: for 1 and 2).
const SIZES: [usize; 7] = [0, 1, 16, 32, 47, 48, 100];

#[test]
fn putcan_windows_round_trip() {
    let srv = Server::start();
    let mut c = srv.client();
    for canpt in 0..=3u64 {
        for (i, n) in SIZES.iter().copied().enumerate() {
            let data = pattern(n, canpt * 10 + i as u64);
            let name = format!("pc{canpt}_{n}");
            let (r, seen) = putcan(&mut c, &name, 0, canpt, &data, go_on);
            let case = format!("canpt {canpt}, {n} bytes");
            assert_eq!(r.unwrap(), CanOutcome::Completed { bytes: n as u64 }, "{case}");
            assert_eq!(seen.granted, [GRANT], "{case}");
            assert_eq!(seen.chunks, chunks_of(n), "{case}");
            // the server's −3 after every canpt chunks, also on the last one
            assert_eq!(seen.windows, windows_of(n, canpt), "{case}");
            assert_eq!(seen.data_end, [n as u64], "{case}");
            in_step(&mut c, &case);
            assert_eq!(fs::read(srv.path(&name)).unwrap(), data, "{case}");
        }
    }
}

#[test]
fn getcan_windows_round_trip() {
    let srv = Server::start();
    let mut c = srv.client();
    for canpt in 0..=3u64 {
        for (i, n) in SIZES.iter().copied().enumerate() {
            let data = pattern(n, 50 + canpt * 10 + i as u64);
            let name = format!("gc{canpt}_{n}");
            fs::write(srv.path(&name), &data).unwrap();
            let (r, out, seen) = getcan(&mut c, &name, 0, canpt, go_on);
            let case = format!("canpt {canpt}, {n} bytes");
            assert_eq!(r.unwrap(), CanOutcome::Completed { bytes: n as u64 }, "{case}");
            assert_eq!(out, data, "{case}");
            assert_eq!(seen.granted, [GRANT], "{case}");
            assert_eq!(seen.chunks, chunks_of(n), "{case}");
            // a window on the last chunk is answered before the server's 0
            assert_eq!(seen.windows, windows_of(n, canpt), "{case}");
            assert!(seen.data_end.is_empty(), "{case}");
            in_step(&mut c, &case);
        }
    }
    // a GET of the same file agrees
    let mut back = Vec::new();
    c.get(b"gc3_100", 0, 64, &mut back, &mut |_| {}).unwrap();
    assert_eq!(back, fs::read(srv.path("gc3_100")).unwrap());
}

#[test]
fn putcan_ended_by_the_caller() {
    let srv = Server::start();
    let mut c = srv.client();
    let data = pattern(100, 7);
    let after = |k: u64, flow: Flow| {
        move |e: CanEvent| match e {
            CanEvent::Chunk { total, .. } if total >= k => flow,
            _ => Flow::Continue,
        }
    };

    // Stop inside a window (canpt 3, after chunk 2): the server keeps 32 bytes
    let (r, seen) = putcan(&mut c, "stop", 0, 3, &data, after(32, Flow::Stop));
    assert_eq!(
        r.unwrap(),
        CanOutcome::Ended {
            by: Flow::Stop,
            bytes: 32
        }
    );
    assert!(seen.windows.is_empty() && seen.data_end.is_empty(), "{seen:?}");
    in_step(&mut c, "stop");
    assert_eq!(fs::read(srv.path("stop")).unwrap(), &data[..32]);

    // Stop on the chunk that closes a window (canpt 2): the server's −3 for it
    // is read first, then the stop goes out
    let (r, seen) = putcan(&mut c, "stop_on_window", 0, 2, &data, after(32, Flow::Stop));
    assert_eq!(
        r.unwrap(),
        CanOutcome::Ended {
            by: Flow::Stop,
            bytes: 32
        }
    );
    assert!(seen.windows.is_empty(), "the caller had already decided: {seen:?}");
    in_step(&mut c, "stop on a window");
    assert_eq!(fs::read(srv.path("stop_on_window")).unwrap(), &data[..32]);

    // End after the first chunk: the file is what was sent
    let (r, _) = putcan(&mut c, "end", 0, 1, &data, after(16, Flow::End));
    assert_eq!(
        r.unwrap(),
        CanOutcome::Ended {
            by: Flow::End,
            bytes: 16
        }
    );
    in_step(&mut c, "end");
    assert_eq!(fs::read(srv.path("end")).unwrap(), &data[..16]);

    // Stop at a window
    let (r, seen) = putcan(&mut c, "stop_at_window", 0, 2, &data, |e| match e {
        CanEvent::Window { .. } => Flow::Stop,
        _ => Flow::Continue,
    });
    assert_eq!(
        r.unwrap(),
        CanOutcome::Ended {
            by: Flow::Stop,
            bytes: 32
        }
    );
    assert_eq!(seen.windows, [32]);
    in_step(&mut c, "stop at a window");
    assert_eq!(fs::read(srv.path("stop_at_window")).unwrap(), &data[..32]);

    // Cancel mid-transfer: the server deletes the file, even one that existed
    let (r, _) = putcan(&mut c, "cancel", 0, 3, &data, after(48, Flow::Cancel));
    assert_eq!(
        r.unwrap(),
        CanOutcome::Ended {
            by: Flow::Cancel,
            bytes: 48
        }
    );
    in_step(&mut c, "cancel");
    assert!(!srv.path("cancel").exists());
    fs::write(srv.path("existed"), b"old contents").unwrap();
    let (r, _) = putcan(&mut c, "existed", 0, 0, &data, after(16, Flow::Cancel));
    assert_eq!(
        r.unwrap(),
        CanOutcome::Ended {
            by: Flow::Cancel,
            bytes: 16
        }
    );
    in_step(&mut c, "cancel of an existing file");
    assert!(!srv.path("existed").exists());

    // Cancel once all is sent (the data turned out bad): nothing kept
    let (r, seen) = putcan(&mut c, "cancel_at_end", 0, 2, &data, |e| match e {
        CanEvent::DataEnd { .. } => Flow::Cancel,
        _ => Flow::Continue,
    });
    assert_eq!(
        r.unwrap(),
        CanOutcome::Ended {
            by: Flow::Cancel,
            bytes: 100
        }
    );
    assert_eq!(seen.data_end, [100]);
    in_step(&mut c, "cancel at the end");
    assert!(!srv.path("cancel_at_end").exists());

    // Stop before any data: the file is made, empty
    let (r, seen) = putcan(&mut c, "stop_at_once", 0, 1, &data, |e| match e {
        CanEvent::Granted { .. } => Flow::Stop,
        _ => Flow::Continue,
    });
    assert_eq!(
        r.unwrap(),
        CanOutcome::Ended {
            by: Flow::Stop,
            bytes: 0
        }
    );
    assert!(seen.chunks.is_empty());
    in_step(&mut c, "stop at once");
    assert_eq!(fs::read(srv.path("stop_at_once")).unwrap(), b"");
}

#[test]
fn putcan_writes_in_place_at_the_offset() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::write(srv.path("f"), b"0123456789").unwrap();
    let (r, _) = putcan(&mut c, "f", 3, 1, b"XY", go_on);
    assert_eq!(r.unwrap(), CanOutcome::Completed { bytes: 2 });
    in_step(&mut c, "offset 3");
    assert_eq!(fs::read(srv.path("f")).unwrap(), b"012XY56789", "no truncation");
    let data = pattern(40, 9);
    let (r, seen) = putcan(&mut c, "f", 12, 2, &data, go_on);
    assert_eq!(r.unwrap(), CanOutcome::Completed { bytes: 40 });
    assert_eq!(seen.windows, [32]);
    in_step(&mut c, "offset past the end");
    assert_eq!(
        fs::read(srv.path("f")).unwrap(),
        [&b"012XY56789\0\0"[..], &data].concat()
    );
}

#[test]
fn getcan_stopped_by_the_caller() {
    let srv = Server::start();
    let mut c = srv.client();
    let data = pattern(200, 11);
    fs::write(srv.path("g"), &data).unwrap();

    // cancelled at the first window: the server sends nothing more
    let (r, out, seen) = getcan(&mut c, "g", 0, 1, |e| match e {
        CanEvent::Window { .. } => Flow::Cancel,
        _ => Flow::Continue,
    });
    assert_eq!(
        r.unwrap(),
        CanOutcome::Ended {
            by: Flow::Cancel,
            bytes: 16
        }
    );
    assert_eq!(out, &data[..16]);
    assert_eq!(seen.windows, [16]);
    in_step(&mut c, "cancelled at the first window");

    // stopped after the first chunk of a 3-chunk window: chunks 2 and 3 are
    // read and dropped, the window stops the server
    let (r, out, seen) = getcan(&mut c, "g", 0, 3, |e| match e {
        CanEvent::Chunk { .. } => Flow::Stop,
        _ => Flow::Continue,
    });
    assert_eq!(
        r.unwrap(),
        CanOutcome::Ended {
            by: Flow::Stop,
            bytes: 16
        }
    );
    assert_eq!(out, &data[..16]);
    assert_eq!(seen.chunks, [(16, 16)]);
    assert!(seen.windows.is_empty());
    in_step(&mut c, "stopped inside a window");

    // with no windows (canpt 0) the rest of the file is read and dropped
    let (r, out, _) = getcan(&mut c, "g", 0, 0, |e| match e {
        CanEvent::Chunk { total, .. } if total >= 32 => Flow::End,
        _ => Flow::Continue,
    });
    assert_eq!(
        r.unwrap(),
        CanOutcome::Ended {
            by: Flow::End,
            bytes: 32
        }
    );
    assert_eq!(out, &data[..32]);
    in_step(&mut c, "stopped without windows");

    // the file ends before the window that would stop it
    let (r, out, _) = getcan(&mut c, "g", 160, 5, |e| match e {
        CanEvent::Chunk { .. } => Flow::Stop,
        _ => Flow::Continue,
    });
    assert_eq!(
        r.unwrap(),
        CanOutcome::Ended {
            by: Flow::Stop,
            bytes: 16
        }
    );
    assert_eq!(out, &data[160..176]);
    in_step(&mut c, "stopped, then the end of the file");

    // from an offset, to the end
    let (r, out, seen) = getcan(&mut c, "g", 150, 2, go_on);
    assert_eq!(r.unwrap(), CanOutcome::Completed { bytes: 50 });
    assert_eq!(out, &data[150..]);
    // 16 + 16 | 16 + 2: the last window falls on the last chunk
    assert_eq!(seen.windows, [32, 50]);
    let (r, out, _) = getcan(&mut c, "g", 500, 1, go_on);
    assert_eq!(r.unwrap(), CanOutcome::Completed { bytes: 0 });
    assert!(out.is_empty());
    in_step(&mut c, "offsets");
    assert_eq!(fs::read(srv.path("g")).unwrap(), data);
}

#[test]
fn refusals_are_typed_and_call_nothing() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::create_dir(srv.path("d")).unwrap();
    fs::write(srv.path("f"), b"abc").unwrap();
    let mut called = 0;
    let mut never = |_: CanEvent| {
        called += 1;
        Flow::Continue
    };
    let mut put = |c: &mut Client, name: &[u8], offset: u64, bufsz: i64| {
        c.putcan(name, offset, bufsz, 1, &mut &b"x"[..], &mut never)
            .unwrap_err()
    };
    let e = put(&mut c, b"d", 0, 16);
    assert_eq!(e.failed(), Some(Failed::HpfOpen), "{e}");
    assert_eq!(e.refusal().unwrap().command, "PUTCAN");
    assert!(e.session_usable());
    assert_eq!(put(&mut c, b"../escape", 0, 16).failed(), Some(Failed::AccessDenied));
    assert_eq!(put(&mut c, b"n", 0, 0).failed(), Some(Failed::HpfBuffer));
    assert_eq!(put(&mut c, b"n", 1 << 63, 16).failed(), Some(Failed::HpfSeek));
    let mut out = Vec::new();
    let mut get =
        |c: &mut Client, name: &[u8], bufsz: i64| c.getcan(name, 0, bufsz, 1, &mut out, &mut never).unwrap_err();
    let e = get(&mut c, b"missing", 16);
    assert_eq!(e.failed(), Some(Failed::HpfOpen), "{e}");
    assert_eq!(e.refusal().unwrap().command, "GETCAN");
    assert_eq!(get(&mut c, b"f", -1).failed(), Some(Failed::HpfBuffer));
    assert!(out.is_empty());
    assert_eq!(called, 0, "no event for a refused command");
    in_step(&mut c, "refusals");
    // a refused PUTCAN creates nothing
    assert_eq!(dir_names(&srv.data).len(), 2, "{:?}", dir_names(&srv.data));
}

/// A server that cannot write (the quota is full): with windows its −2 comes
/// at the next one and is an error, Cancelled as a cancelled GET; without
/// windows (canpt 0) the protocol has no way to say it.
#[test]
fn putcan_server_write_failure() {
    if !require_root("defusr root, under quota_default") {
        return;
    }
    let srv = Server::start_with("quota_default 1M\n");
    let mut c = srv.client();
    let big = pattern(3 << 20, 13);
    let mut seen = Seen::default();
    let e = c
        .putcan(b"over", 0, 65536, 4, &mut &big[..], &mut |e| {
            seen.note(e);
            Flow::Continue
        })
        .unwrap_err();
    assert!(matches!(e, Error::Cancelled { command: "PUTCAN" }), "{e:?}");
    assert!(e.session_usable());
    // the −2 came at a window past the quota, not after the data
    let sent = seen.chunks.last().unwrap().1;
    assert!(sent < big.len() as u64 && sent <= (1 << 20) + 4 * 65536, "sent {sent}");
    assert_eq!(sent % (4 * 65536), 0, "sent {sent}: a window's worth");
    assert!(seen.data_end.is_empty());
    in_step(&mut c, "server cancel");
    assert!(!srv.path("over").exists(), "tfd removes the file it made");

    let r = c.putcan(b"over0", 0, 65536, 0, &mut &big[..], &mut |_| Flow::Continue);
    assert_eq!(
        r.unwrap(),
        CanOutcome::Completed {
            bytes: big.len() as u64
        }
    );
    in_step(&mut c, "unreported failure");
    assert!(!srv.path("over0").exists(), "the failure happened all the same");

    // what fits is written
    let (r, _) = putcan(&mut c, "fits", 0, 2, b"small", go_on);
    assert_eq!(r.unwrap(), CanOutcome::Completed { bytes: 5 });
    in_step(&mut c, "fits");
    assert_eq!(fs::read(srv.path("fits")).unwrap(), b"small");
}

/// A local source that fails: the upload stops (the server keeps what it got)
/// and the session goes on.
#[test]
fn putcan_local_read_failure_stops() {
    struct Failing(usize);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("the source broke"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(b'a');
            self.0 -= n;
            Ok(n)
        }
    }
    let srv = Server::start();
    let mut c = srv.client();
    let e = c
        .putcan(b"partial", 0, GRANT as i64, 2, &mut Failing(40), &mut go_on)
        .unwrap_err();
    assert!(
        matches!(&e, Error::Local(io) if io.to_string() == "the source broke"),
        "{e}"
    );
    in_step(&mut c, "local failure");
    // 40 bytes read: two whole chunks went, the third was cut by the failure
    assert_eq!(fs::read(srv.path("partial")).unwrap(), vec![b'a'; 32]);
}

/// A local sink that fails: the download stops at the next window and the
/// session goes on.
#[test]
fn getcan_local_write_failure_stops() {
    struct Full(usize);
    impl std::io::Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("the sink is full"));
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let srv = Server::start();
    fs::write(srv.path("g"), pattern(1000, 3)).unwrap();
    let mut c = srv.client();
    let mut seen = Seen::default();
    let e = c
        .getcan(b"g", 0, GRANT as i64, 3, &mut Full(20), &mut |e| {
            seen.note(e);
            Flow::Continue
        })
        .unwrap_err();
    assert!(
        matches!(&e, Error::Local(io) if io.to_string() == "the sink is full"),
        "{e}"
    );
    assert_eq!(seen.chunks, [(16, 16)], "no event after the failed write");
    in_step(&mut c, "local failure");
}

/// A server whose read fails mid-GETCAN sends −2 instead of a chunk: an
/// error, Cancelled as a cancelled GET, and the session goes on. The failing
/// file is this test process's `/proc/<pid>/mem` bind-mounted into the root:
/// a regular file whose read at offset 0 (unmapped) fails with EIO.
#[test]
fn getcan_server_read_failure() {
    if !require_root("a bind mount into the served root") {
        return;
    }
    let srv = Server::start();
    let target = srv.path("mem");
    fs::write(&target, b"").unwrap();
    let mem = format!("/proc/{}/mem", std::process::id());
    let st = std::process::Command::new("mount")
        .args(["--bind", &mem])
        .arg(&target)
        .status()
        .unwrap();
    assert!(st.success(), "mount --bind {mem}");
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _m = Unmount(target);
    let mut c = srv.client();
    let (r, out, seen) = getcan(&mut c, "mem", 0, 1, go_on);
    let e = r.unwrap_err();
    assert!(matches!(e, Error::Cancelled { command: "GETCAN" }), "{e:?}");
    assert_eq!(seen.granted, [GRANT]);
    assert!(out.is_empty() && seen.chunks.is_empty());
    in_step(&mut c, "server read failure");
}
