//! Bandwidth limits (`rate_limit_session`, `rate_limit_user`, `rate_limit_total`)
//! measured through the real wire: the real tfd, the real client over loopback,
//! files checked on disk. Each limit must hold within 5% over 10 s, per
//! direction, and the per-user and node-wide ones must be shared between
//! session processes. Unlimited, the same transfers take a fraction of that
//! (the baseline each test prints beside its figures).

use tfd_testkit::reply::Answer as _;
use tfp_client::replies::{AsStatus as _, Split as _};

use std::thread;
use std::time::{Duration, Instant};
use tfd_testkit::users::userdb_add;
use tfd_testkit::*;
use tfp_client::Client;

const MIB: usize = 1 << 20;
/// The rate of the 10-second measurements: 2M = 2 MiB/s.
const RATE: usize = 2 * MIB;

/// Seconds a transfer of `bytes` should take at `rate`.
fn ideal(bytes: usize, rate: usize) -> f64 {
    bytes as f64 / rate as f64
}

/// Asserts a limit held: `secs` is no more than `tol` (relative) under
/// `want`, the limit's own time (the burst it allows), and not far over it.
/// The upper bound is loose on purpose: a loaded 2-core machine makes any
/// transfer slower, never faster, than the limit, so only the lower bound
/// proves the limit and a tight upper one would fail under load (issue 44:
/// 10.7 s against 10 s ± 5%). Rates are measured in `scripts/bench`.
fn within(what: &str, secs: f64, want: f64, tol: f64) {
    let ratio = secs / want;
    eprintln!("{what}: {secs:.3} s for an ideal {want:.3} s (ratio {ratio:.4})");
    assert!(
        ratio >= 1.0 - tol,
        "{what}: took {secs:.3} s, faster than the limit allows ({want:.3} s - {:.0}%)",
        tol * 100.0
    );
    assert!(
        secs <= want * 2.0 + 2.0,
        "{what}: took {secs:.3} s, far over the limit's {want:.3} s: the limit throttles more than asked"
    );
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed().as_secs_f64())
}

fn get(c: &mut Client, remote: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let n = c
        .get(remote.as_bytes(), 0, MIB as i64, &mut out, &mut |_| {})
        .split()
        .unwrap()
        .unwrap();
    assert_eq!(n as usize, out.len());
    out
}

fn sndfile(c: &mut Client, remote: &str, data: &[u8]) {
    let st = c
        .sndfile(remote.as_bytes(), true, &mut &data[..], &mut |_| {})
        .status()
        .unwrap();
    assert_ok(st);
}

/// A baseline: the same 20 MiB download without any limit, so a limit that
/// holds is told apart from a machine that is merely slow.
fn unlimited_baseline(data: &[u8]) -> f64 {
    let srv = Server::start();
    data_dir_write(&srv.path("big"), data);
    let mut c = srv.client();
    let (got, secs) = timed(|| get(&mut c, "big"));
    assert_eq!(got, data);
    eprintln!("baseline: 20 MiB GET unlimited in {secs:.3} s");
    secs
}

/// One session's limit holds within 5% over 10 s in both directions at once:
/// a 20 MiB SNDFILE upload and a 20 MiB GET download, each in its own session,
/// each at 2 MiB/s, concurrently (so each limit is per session and per direction).
#[test]
fn session_limit_holds_within_5_percent_each_way() {
    let data = pattern(20 * MIB, 16);
    let base = unlimited_baseline(&data);
    assert!(
        base < 5.0,
        "the machine is too slow to measure a 10 s limit: {base:.2} s unlimited"
    );
    let srv = Server::start_with(&format!("rate_limit_session {}\n", "2M"));
    data_dir_write(&srv.path("big"), &data);
    let (mut up, mut down) = (srv.client(), srv.client());
    let upload = {
        let data = data.clone();
        thread::spawn(move || timed(|| sndfile(&mut up, "up", &data)).1)
    };
    let (got, down_secs) = timed(|| get(&mut down, "big"));
    let up_secs = upload.join().unwrap();
    assert_eq!(got, data);
    assert_eq!(std::fs::read(srv.path("up")).unwrap(), data);
    within(
        "session limit, SNDFILE 20 MiB up at 2M",
        up_secs,
        ideal(data.len(), RATE),
        0.05,
    );
    within(
        "session limit, GET 20 MiB down at 2M",
        down_secs,
        ideal(data.len(), RATE),
        0.05,
    );
}

/// `rate_limit_total` is shared by every session process of the node: two
/// sessions downloading 10 MiB each at once share 2 MiB/s and both take 10 s,
/// while a third uploading meanwhile has the other direction's 2 MiB/s.
#[test]
fn total_limit_is_shared_between_sessions() {
    let half = pattern(10 * MIB, 17);
    let srv = Server::start_with("rate_limit_total 2M\n");
    data_dir_write(&srv.path("half"), &half);
    let up_data = pattern(20 * MIB, 18);
    let t0 = Instant::now();
    let downs: Vec<_> = (0..2)
        .map(|_| {
            let mut c = srv.client();
            thread::spawn(move || timed(|| get(&mut c, "half")))
        })
        .collect();
    let mut up = srv.client();
    let up_secs = timed(|| sndfile(&mut up, "up", &up_data)).1;
    let mut slowest: f64 = 0.0;
    for d in downs {
        let (got, secs) = d.join().unwrap();
        assert_eq!(got, half);
        slowest = slowest.max(secs);
    }
    let all = t0.elapsed().as_secs_f64();
    assert_eq!(std::fs::read(srv.path("up")).unwrap(), up_data);
    within(
        "total limit, 2 sessions x 10 MiB down at 2M shared",
        slowest,
        ideal(2 * half.len(), RATE),
        0.05,
    );
    within(
        "total limit, 20 MiB up meanwhile at 2M",
        up_secs,
        ideal(up_data.len(), RATE),
        0.05,
    );
    assert!(all < ideal(2 * half.len(), RATE) * 2.0 + 2.0, "{all}");
}

/// `rate_limit_user` is shared by the sessions of one LOGIN user and by no
/// one else: alice's two sessions (10 MiB each) share 2 MiB/s, while bob's
/// one session (20 MiB) has 2 MiB/s of his own; all three take 10 s.
#[test]
fn user_limit_is_shared_by_one_users_sessions_only() {
    if !require(is_root(), "multi-user mode needs root") {
        return;
    }
    let dir = tempdir("bw-userdb");
    let db = dir.join("userdb");
    let f = db.to_str().unwrap();
    for name in ["alice", "bob"] {
        // both map to `nobody`: the bucket is the LOGIN name's, not the uid's
        userdb_add(f, name, "nobody", &format!("{name}-pw"), &[]);
    }
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\nrate_limit_user 2M\n"),
        default_user: false,
        ..Default::default()
    });
    let half = pattern(10 * MIB, 19);
    let full = pattern(20 * MIB, 20);
    data_dir_write(&srv.path("half"), &half);
    data_dir_write(&srv.path("full"), &full);
    let session = |user: &'static str, file: &'static str| {
        let mut c = srv.client();
        assert_ok(c.call("LOGIN", format!("{user} {user}-pw").as_bytes()).unwrap());
        thread::spawn(move || timed(|| get(&mut c, file)))
    };
    let a1 = session("alice", "half");
    let a2 = session("alice", "half");
    let b = session("bob", "full");
    let (ga1, s1) = a1.join().unwrap();
    let (ga2, s2) = a2.join().unwrap();
    let (gb, sb) = b.join().unwrap();
    assert!(ga1 == half && ga2 == half && gb == full);
    within(
        "user limit, alice 2 sessions x 10 MiB at 2M shared",
        s1.max(s2),
        ideal(2 * half.len(), RATE),
        0.05,
    );
    within("user limit, bob 20 MiB at 2M alone", sb, ideal(full.len(), RATE), 0.05);
    // bob's own bucket: sharing alice's would take the three 40 MiB at 2M, 20 s
    assert!(
        sb < ideal(full.len(), RATE) * 1.5,
        "bob took {sb:.3} s: he shares alice's bucket"
    );
}

/// Every command that moves data is paced: each moves 1 MiB (LS/LSR: a big
/// listing) under a 1M session limit and takes about a second, not the
/// milliseconds it takes unlimited.
#[test]
fn every_transfer_command_is_paced() {
    let rate = MIB;
    let srv = Server::start_with("rate_limit_session 1M\n");
    let data = pattern(MIB, 21);
    data_dir_write(&srv.path("src"), &data);
    let mut c = srv.client();
    let want = ideal(data.len(), rate);
    // the tolerance covers the 50 ms burst a session starts with
    let tol = 0.10;

    let secs = timed(|| sndfile(&mut c, "sndfile", &data)).1;
    within("SNDFILE 1 MiB at 1M", secs, want, tol);
    assert_eq!(std::fs::read(srv.path("sndfile")).unwrap(), data);
    thread::sleep(Duration::from_millis(200)); // let the bucket refill: each command on its own

    let mut out = Vec::new();
    let (st, secs) = timed(|| c.rcvfile(b"src", false, &mut out).status().unwrap());
    assert_ok(st);
    assert_eq!(out, data);
    within("RCVFILE 1 MiB at 1M", secs, want, tol);
    thread::sleep(Duration::from_millis(200));

    let (r, secs) = timed(|| {
        c.put(b"put", 0, 256 * 1024, &mut &data[..], &mut |_| {})
            .split()
            .unwrap()
    });
    r.unwrap();
    assert_eq!(std::fs::read(srv.path("put")).unwrap(), data);
    within("PUT 1 MiB at 1M", secs, want, tol);
    thread::sleep(Duration::from_millis(200));

    let (got, secs) = timed(|| get(&mut c, "src"));
    assert_eq!(got, data);
    within("GET 1 MiB at 1M", secs, want, tol);
    thread::sleep(Duration::from_millis(200));

    let (r, secs) = timed(|| c.sup(b"sup", &mut &data[..]).answer().unwrap());
    assert_eq!(r, 0);
    assert_eq!(std::fs::read(srv.path("sup")).unwrap(), data);
    within("SUP 1 MiB at 1M", secs, want, tol);
    thread::sleep(Duration::from_millis(200));

    let mut out = Vec::new();
    let (ok, secs) = timed(|| c.sdown(b"src", &mut out).done().unwrap());
    assert!(ok);
    assert_eq!(out, data);
    within("SDOWN 1 MiB at 1M", secs, want, tol);

    // a listing of about 1 MiB: 8000 entries with 120-character names
    std::fs::create_dir(srv.path("many")).unwrap();
    for i in 0..8000 {
        std::fs::write(srv.path(&format!("many/{i:0>120}")), b"").unwrap();
    }
    for recursive in [false, true] {
        thread::sleep(Duration::from_millis(200));
        let (l, secs) = timed(|| c.list(recursive, b"many").split().unwrap().unwrap());
        assert!(l.len() > 8000 * 120, "{}", l.len());
        let what = if recursive { "LSR" } else { "LS" };
        within(
            &format!("{what} {} bytes at 1M", l.len()),
            secs,
            ideal(l.len(), rate),
            0.15,
        );
    }
}

/// A reload (SIGHUP) gives sessions that start after it the new limit; a
/// session that was already running keeps the limit it started with (none).
#[test]
fn reload_applies_new_limits_to_new_sessions() {
    let srv = Server::start();
    let data = pattern(2 * MIB, 22);
    data_dir_write(&srv.path("f"), &data);
    // The running session fetches 20 MiB: at the new 2M it could not take
    // less than 10 s (less a 50 ms burst), unlimited it takes a fraction of a
    // second. Half the limited time tells the two apart with room for a
    // loaded 2-core machine, where 2 MiB against 0.5 s (the bound this
    // replaces) was a wall-clock race, not a proof.
    let big = pattern(20 * MIB, 23);
    data_dir_write(&srv.path("big"), &big);
    let mut old = srv.client();
    let conf = std::fs::read_to_string(&srv.conf).unwrap();
    std::fs::write(&srv.conf, format!("{conf}rate_limit_session 2M\n")).unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(srv.pid()), nix::sys::signal::SIGHUP).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !srv.log().contains("configuration reloaded") {
        assert!(Instant::now() < deadline, "no reload:\n{}", srv.log());
        thread::sleep(Duration::from_millis(20));
    }
    let (got, old_secs) = timed(|| get(&mut old, "big"));
    assert_eq!(got, big);
    let mut new = srv.client();
    let (got, new_secs) = timed(|| get(&mut new, "f"));
    assert_eq!(got, data);
    within(
        "after reload, new session GET 2 MiB at 2M",
        new_secs,
        ideal(data.len(), RATE),
        0.10,
    );
    let limited = ideal(big.len(), RATE);
    assert!(
        old_secs < limited / 2.0,
        "the running session took the new limit: 20 MiB in {old_secs:.3} s (limited: {limited:.1} s)"
    );
}
