//! Login bans across the nodes of a cluster (doc/scaling.md), on one root
//! and on GlusterFS: failures spread over nodes ban as on one node, a ban or
//! an unban on one node holds on every node at once, even under load and
//! whatever came before, and a damaged shared state never lets an attacker
//! past the local rule.

use super::scaling::{Cluster, Node};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tfd_testkit::gluster;
use tfd_testkit::{assert_failed, assert_ok, free_port, is_root, ok, require, tempdir};

const SCALE_PW: &str = "the right one";

/// Two multi-user nodes sharing `state` as their `shared_state_dir`, with a user
/// file holding `alice` and `bob`: an address is banned after 4 failed LOGINs,
/// a name locked after 3 (and both for a minute).
fn throttled_cluster() -> Option<Cluster> {
    if !require(is_root(), "needs root for LOGIN's system users and source addresses") {
        return None;
    }
    let (f, alice, bob) = throttle_users();
    let cluster = Cluster::start_with(
        2,
        &format!("userdb {f}\nshared_state_dir state\n{THROTTLE_LIMITS}"),
        false,
    );
    for (d, (uid, gid)) in [("alice", alice), ("bob", bob)] {
        std::fs::create_dir_all(cluster.data.join(d)).unwrap();
        nix::unistd::chown(&cluster.data.join(d), Some(uid.into()), Some(gid.into())).unwrap();
    }
    Some(cluster)
}

/// The limits of [`throttled_cluster`].
const THROTTLE_LIMITS: &str =
    "login_max_failures_ip 4\nlogin_max_failures_user 3\nlogin_window 60\nlogin_ban 60\nlogin_lock 60\n";

/// The same two nodes on the GlusterFS bed, as on two machines: each serves
/// its own mount of the volume and names the shared state directory (at the
/// volume's top, outside the served tree) through that mount.
fn throttled_cluster_on_gluster() -> Option<Cluster> {
    if !require(is_root(), "needs root for LOGIN's system users and source addresses") {
        return None;
    }
    let bed = gluster::bed()?;
    let (f, alice, bob) = throttle_users();
    let tag = "throttle";
    bed.subdir(tag);
    // one directory per cluster: tests run in parallel, and a directory
    // removed under a running node is gone for it (it holds it open)
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let state = format!(
        "tfd-state-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let _ = std::fs::remove_dir_all(bed.mounts[0].join(&state));
    std::fs::create_dir(bed.mounts[0].join(&state)).unwrap();
    std::fs::set_permissions(
        bed.mounts[0].join(&state),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let node = |i: usize| {
        let root = bed.on(i, tag);
        let dir = bed.on(i, &state);
        (
            root,
            format!(
                "userdb {f}\nshared_state_dir {}\nfai_dir {}\n{THROTTLE_LIMITS}",
                dir.display(),
                {
                    // tokens' directory: tfd's alone (0700), or tfd does not start
                    let fai = tempdir("gl-throttle-fai");
                    std::fs::set_permissions(&fai, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
                    fai
                }
                .display()
            ),
        )
    };
    let cluster = Cluster::start_as(tempdir("gl-throttle"), vec![node(0), node(1)], false);
    for (d, (uid, gid)) in [("alice", alice), ("bob", bob)] {
        std::fs::create_dir_all(cluster.data.join(d)).unwrap();
        nix::unistd::chown(&cluster.data.join(d), Some(uid.into()), Some(gid.into())).unwrap();
    }
    Some(cluster)
}

/// The user file of the throttle tests (`alice` and `bob`) and their system
/// users' ids.
fn throttle_users() -> (String, (u32, u32), (u32, u32)) {
    let alice = tfd_testkit::users::ensure_system_user("tfdscale1", &[]);
    let bob = tfd_testkit::users::ensure_system_user("tfdscale2", &[]);
    let db = tfd_testkit::tempdir("scale-userdb").join("userdb");
    let f = db.to_str().unwrap().to_string();
    for (name, sys) in [("alice", "tfdscale1"), ("bob", "tfdscale2")] {
        tfd_testkit::users::userdb_add(&f, name, sys, SCALE_PW, &[]);
    }
    (f, alice, bob)
}

/// Waits (bounded) until `cond` holds; false if it never did.
fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn login_failures_spread_over_nodes_ban_as_on_one_node() {
    if let Some(cluster) = throttled_cluster() {
        spread_failures_ban_as_on_one_node(cluster);
    }
}

/// The same with the nodes and their shared state on the GlusterFS volume.
#[test]
fn gluster_login_failures_spread_over_nodes_ban_as_on_one_node() {
    if let Some(cluster) = throttled_cluster_on_gluster() {
        spread_failures_ban_as_on_one_node(cluster);
    }
}

fn spread_failures_ban_as_on_one_node(cluster: Cluster) {
    // four wrong guesses from one address, alternating between the nodes (two
    // each, so neither node alone reaches its limit of four), under four names
    // (so no name reaches its limit of three)
    for (i, name) in ["ghost1", "ghost2", "ghost3", "ghost4"].iter().enumerate() {
        assert_failed(cluster.login(i % 2, "127.0.0.2", name, "guess"), 37);
    }
    // the address is banned on both nodes: even the right password fails
    for node in 0..2 {
        assert_failed(cluster.login(node, "127.0.0.2", "alice", SCALE_PW), 37);
    }
    // other addresses are not
    assert_ok(cluster.login(1, "127.0.0.3", "alice", SCALE_PW));

    // a name: three failures over both nodes from three addresses lock it
    for (i, from) in ["127.0.0.4", "127.0.0.5", "127.0.0.6"].iter().enumerate() {
        assert_failed(cluster.login(i % 2, from, "bob", "guess"), 37);
    }
    for node in 0..2 {
        assert_failed(cluster.login(node, "127.0.0.7", "bob", SCALE_PW), 37);
    }
    // a success on one node clears the name's failures on every node: two
    // failures, a success elsewhere, two more failures, and the name still works
    for from in ["127.0.0.8", "127.0.0.9"] {
        assert_failed(cluster.login(0, from, "alice", "guess"), 37);
    }
    assert_ok(cluster.login(1, "127.0.0.10", "alice", SCALE_PW));
    for from in ["127.0.0.11", "127.0.0.12"] {
        assert_failed(cluster.login(0, from, "alice", "guess"), 37);
    }
    assert_ok(cluster.login(1, "127.0.0.13", "alice", SCALE_PW));
    let logs = cluster.logs();
    assert!(logs.contains("127.0.0.2") && logs.contains("address banned"), "{logs}");
    assert!(logs.contains("name locked"), "{logs}");
    assert!(!logs.contains("shared throttle state unusable"), "{logs}");
}

#[test]
fn a_ban_on_one_node_holds_on_every_node() {
    if let Some(cluster) = throttled_cluster() {
        ban_holds_on_every_node(cluster);
    }
}

/// The same with the nodes and their shared state on the GlusterFS volume.
#[test]
fn gluster_a_ban_on_one_node_holds_on_every_node() {
    if let Some(cluster) = throttled_cluster_on_gluster() {
        ban_holds_on_every_node(cluster);
    }
}

fn ban_holds_on_every_node(cluster: Cluster) {
    let ip = "127.0.0.20";
    // a session on node B from the address, open before the ban
    let mut before = cluster.client_from(1, ip).unwrap();
    assert!(ok(&before.call("KEEPALIVE", b"0 0 | 0 | 0").unwrap()));

    let out = cluster.ctl(0, &["ban", ip, "10m"]);
    assert!(out.contains("ok: banned") && out.contains("on every node"), "{out}");
    // node A refuses at once, node B once it has read the shared bans
    assert!(cluster.client_from(0, ip).is_err(), "node A let a banned address in");
    assert!(
        eventually(Duration::from_secs(6), || cluster.client_from(1, ip).is_err()),
        "node B still admits {ip} after a ban on node A:\n{}",
        cluster.logs()
    );
    // ... and ends the session that was already open
    assert!(
        eventually(Duration::from_secs(6), || before
            .call("KEEPALIVE", b"0 0 | 0 | 0")
            .is_err()),
        "node B kept the banned address's session"
    );
    // other addresses are served
    assert!(cluster.client_from(1, "127.0.0.21").is_ok());

    // an unban on node B lifts it everywhere
    let out = cluster.ctl(1, &["unban", ip]);
    assert!(out.contains("ok: unbanned") && out.contains("every node"), "{out}");
    for node in [1, 0] {
        assert!(
            eventually(Duration::from_secs(6), || cluster.client_from(node, ip).is_ok()),
            "node {node} still refuses {ip} after the unban:\n{}",
            cluster.logs()
        );
    }
    // node B says why: it refused a connection ("banned on every node"), or
    // it ended the connection the loop above had open while it took the ban
    // in ("banned through the shared state"), which ends the loop as well
    let log = cluster.nodes[1].log();
    let said = log.contains("banned on every node") || log.contains("banned through the shared state");
    assert!(log.contains(ip) && said, "{log}");
}

#[test]
fn a_damaged_shared_state_never_lets_an_attacker_past_the_local_rule() {
    let Some(mut cluster) = throttled_cluster() else { return };
    let state = cluster.dir.join("state");
    let throttle_file = state.join("login-throttle");
    let bans_file = state.join("bans");

    // three failures through node A (its limit is four), then the shared
    // counts are lost: the file is cut short
    let ip = "127.0.0.30";
    for name in ["g1", "g2", "g3"] {
        assert_failed(cluster.login(0, ip, name, "guess"), 37);
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(&throttle_file)
        .unwrap()
        .set_len(100)
        .unwrap();
    // node A's own count still bans at the fourth failure
    assert_failed(cluster.login(0, ip, "g4", "guess"), 37);
    assert_failed(cluster.login(0, ip, "alice", SCALE_PW), 37);
    // the file was rewritten (and said so); from then on the counts are shared
    // again: that fourth failure and three through node B ban there too
    for name in ["g5", "g6", "g7"] {
        assert_failed(cluster.login(1, ip, name, "guess"), 37);
    }
    assert_failed(cluster.login(1, ip, "alice", SCALE_PW), 37);
    assert!(cluster.logs().contains("rewriting it"), "{}", cluster.logs());

    // garbage over the whole file: nothing reads as a ban of someone else, an
    // unknown address is counted from scratch, and the nodes keep serving
    let len = std::fs::metadata(&throttle_file).unwrap().len() as usize;
    std::fs::write(&throttle_file, tfd_testkit::pattern(len, 99)).unwrap();
    assert_ok(cluster.login(1, "127.0.0.31", "alice", SCALE_PW));
    assert_failed(cluster.login(0, ip, "alice", SCALE_PW), 37);

    // the bans file: a ban made through node A, seen by node B; then the file is
    // scribbled over. Both keep refusing, and the ban is written back, so a node
    // started afterwards refuses the address too.
    let banned = "127.0.0.32";
    assert!(cluster.ctl(0, &["ban", banned, "10m"]).contains("on every node"));
    assert!(eventually(Duration::from_secs(6), || cluster
        .client_from(1, banned)
        .is_err()));
    let len = std::fs::metadata(&bans_file).unwrap().len() as usize;
    std::fs::write(&bans_file, tfd_testkit::pattern(len, 7)).unwrap();
    // past the forced re-read interval of both listeners
    std::thread::sleep(Duration::from_secs(4));
    for node in 0..2 {
        assert!(
            cluster.client_from(node, banned).is_err(),
            "node {node} let {banned} in"
        );
    }
    let logs = cluster.logs();
    assert!(
        logs.contains("damaged record(s); keeping the bans already known"),
        "{logs}"
    );
    // a third node, reading the file afresh
    let port = free_port();
    let conf = cluster.dir.join("node2.conf");
    let text = std::fs::read_to_string(cluster.dir.join("node1.conf"))
        .unwrap()
        .replace(&format!("port {}", cluster.nodes[1].port), &format!("port {port}"))
        .replace("ctl1.sock", "ctl2.sock");
    std::fs::write(&conf, text).unwrap();
    cluster
        .nodes
        .push(Node::start(&conf, port, cluster.dir.join("node2.log")));
    assert!(cluster.client_from(2, banned).is_err(), "the new node let {banned} in");
    assert!(cluster.client_from(2, "127.0.0.33").is_ok());
}

/// `tfd ctl bans` and `unban` across two nodes (issue 32 item 1): an address
/// banned and a name locked by failures all made on node A (so A's own table
/// holds them as well as the shared file) are listed on node B and lifted by
/// an unban on node B, on both nodes. Before, `unban` answered "was not
/// banned" and only a restart lifted a LOGIN ban.
#[test]
fn an_unban_on_one_node_lifts_login_bans_on_every_node() {
    let Some(cluster) = throttled_cluster() else {
        panic!("needs root")
    };
    let ip = "127.0.0.35";
    for name in ["g1", "g2", "g3", "g4"] {
        assert_failed(cluster.login(0, ip, name, "guess"), 37);
    }
    for from in ["127.0.0.36", "127.0.0.37", "127.0.0.38"] {
        assert_failed(cluster.login(0, from, "bob", "guess"), 37);
    }
    for node in 0..2 {
        assert_failed(cluster.login(node, ip, "alice", SCALE_PW), 37);
        assert_failed(cluster.login(node, "127.0.0.39", "bob", SCALE_PW), 37);
    }
    let list = cluster.ctl(1, &["bans"]);
    assert!(list.contains(&format!("{ip}\taddress\tfailed logins")), "{list}");
    assert!(list.contains("bob\tname\tfailed logins"), "{list}");
    assert!(list.contains("every node"), "{list}");
    let out = cluster.ctl(1, &["unban", ip]);
    assert!(out.contains("ok: unbanned") && out.contains("on every node"), "{out}");
    let out = cluster.ctl(1, &["unban", "bob"]);
    assert!(out.contains("ok: unbanned") && out.contains("on every node"), "{out}");
    for node in [0, 1] {
        assert_ok(cluster.login(node, ip, "alice", SCALE_PW));
        assert_ok(cluster.login(node, "127.0.0.40", "bob", SCALE_PW));
    }
    // node A's own table no longer lists them either
    let list = cluster.ctl(0, &["bans"]);
    assert_eq!(list.lines().count(), 1, "{list}");
}

/// Bans propagate whatever came before (issue 31 item 10): after throttle
/// bans, locks, their expiry and unbans, a `ctl ban` on one node is refused on
/// the other to every session begun 1.5 s after it, and after an unban there
/// every session begun 1.5 s later is served again on the first.
fn bans_propagate_after_any_sequence(cluster: &Cluster) {
    // throttle bans and a lock spread over both nodes, then lifted by an unban
    for (i, name) in ["h1", "h2", "h3", "h4"].iter().enumerate() {
        assert_failed(cluster.login(i % 2, "127.0.0.5", name, "guess"), 37);
    }
    for (i, from) in ["127.0.0.6", "127.0.0.7", "127.0.0.8"].iter().enumerate() {
        assert_failed(cluster.login(i % 2, from, "bob", "guess"), 37);
    }
    assert!(cluster.ctl(1, &["unban", "127.0.0.5"]).contains("ok: unbanned"));
    assert!(cluster.ctl(0, &["unban", "bob"]).contains("ok: unbanned"));
    // an admin ban that expires, and one lifted
    assert!(cluster.ctl(0, &["ban", "127.0.0.9", "1s"]).contains("on every node"));
    assert!(cluster.ctl(1, &["ban", "127.0.0.5", "1h"]).contains("on every node"));
    assert!(cluster.ctl(0, &["unban", "127.0.0.5"]).contains("ok: unbanned"));
    std::thread::sleep(Duration::from_millis(1500));
    // measured by when a session begins, not when it ends: a loaded machine
    // may take long to finish a handshake, but a session begun 1.5 s after the
    // ban (the unban) still treated the old way is the defect (each node
    // re-reads the shared file at least every 750 ms)
    let bound = Duration::from_millis(1500);
    for round in 0..3 {
        let (a, b) = if round % 2 == 0 { (0, 1) } else { (1, 0) };
        let out = cluster.ctl(a, &["ban", "127.0.0.5", "1h"]);
        assert!(out.contains("on every node"), "{out}");
        if let Err(e) = settles(cluster, b, "127.0.0.5", false, Instant::now(), bound) {
            panic!("round {round} (ban on node {a}): {e}:\n{}", cluster.logs());
        }
        let out = cluster.ctl(b, &["unban", "127.0.0.5"]);
        assert!(out.contains("ok: unbanned"), "{out}");
        if let Err(e) = settles(cluster, a, "127.0.0.5", true, Instant::now(), bound) {
            panic!("round {round} (unban on node {b}): {e}:\n{}", cluster.logs());
        }
    }
    assert!(
        cluster.client_from(0, "127.0.0.9").is_ok(),
        "an expired ban still refuses"
    );
}

#[test]
fn bans_propagate_whatever_came_before() {
    let Some(cluster) = throttled_cluster() else {
        panic!("needs root")
    };
    bans_propagate_after_any_sequence(&cluster);
}

/// The same on the GlusterFS bed, the state directory on the volume.
#[test]
fn gluster_bans_propagate_whatever_came_before() {
    let Some(cluster) = throttled_cluster_on_gluster() else {
        panic!("no GlusterFS bed (scripts/deps installs glusterfs-server and glusterfs-client)")
    };
    bans_propagate_after_any_sequence(&cluster);
}

/// Finding 14 of issue 47: on the GlusterFS bed, after throttle bans and
/// their unbans, node B still served an address banned on node A 5 s later
/// (1 run in 3 of the cluster suite). A listener took every waiting
/// connection before it looked at anything else, so while connections kept
/// coming it neither read the shared bans nor answered its control socket.
/// Here, after the suite's throttle bans, a ban and an unban go back and
/// forth [`BAN_ROUNDS`] times while other addresses fail LOGINs on both nodes
/// and silent connections keep arriving, and no session begun 2.5 s after a
/// ban (an unban) may still be admitted (refused as banned) by the other node:
/// the forced re-read every 750 ms, plus slack for a loaded machine, where one
/// read of the file took up to 1 s. Before, both tests failed in each of 3
/// runs: the banned address admitted 3.3–3.9 s after the ban (7 s with more
/// connections), an unban not seen after 2.9 s, or `tfd ctl ban` unanswered
/// for 10 s.
#[test]
fn gluster_every_ban_holds_at_once_on_the_other_node_under_load() {
    let Some(cluster) = throttled_cluster_on_gluster() else {
        panic!("no GlusterFS bed (scripts/deps installs glusterfs-server and glusterfs-client)")
    };
    bans_hold_under_load(&cluster);
}

/// The same on one directory of the local file system.
#[test]
fn every_ban_holds_at_once_on_the_other_node_under_load() {
    let Some(cluster) = throttled_cluster() else {
        panic!("needs root")
    };
    bans_hold_under_load(&cluster);
}

/// Ban and unban rounds of [`bans_hold_under_load`].
const BAN_ROUNDS: usize = 8;

/// Opens sessions on node `i` from `from` until one is admitted (`admit`) or
/// refused as banned (not `admit`); `since` is when the ban or unban was
/// made. The time it took, or what went wrong: a session begun more than
/// `bound` after `since` that was still treated the old way, or nothing
/// settled within 10 s. Other failures (a handshake timing out on a loaded
/// machine) are neither, and are tried again.
fn settles(
    cluster: &Cluster,
    i: usize,
    from: &str,
    admit: bool,
    since: Instant,
    bound: Duration,
) -> Result<Duration, String> {
    let mut other = String::new();
    loop {
        let begun = Instant::now();
        let admitted = match cluster.client_from(i, from) {
            Ok(_) => Some(true),
            Err(e) if e.to_string().contains("banned") => Some(false),
            Err(e) => {
                other = e.to_string();
                None
            }
        };
        if admitted == Some(admit) {
            return Ok(since.elapsed());
        }
        if admitted.is_some() && begun - since > bound {
            return Err(format!(
                "node {i} {} {from} in a session begun {:?} after",
                if admit { "still refused" } else { "still admitted" },
                begun - since
            ));
        }
        if since.elapsed() > Duration::from_secs(10) {
            return Err(format!(
                "node {i}: nothing settled for {from} within 10 s (last: {other})"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn bans_hold_under_load(cluster: &Cluster) {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let ip = "127.0.0.5";
    // what the suite ran on these nodes before: throttle bans and a lock
    // spread over both nodes, lifted by unbans
    for (i, name) in ["h1", "h2", "h3", "h4"].iter().enumerate() {
        assert_failed(cluster.login(i % 2, ip, name, "guess"), 37);
    }
    for (i, from) in ["127.0.0.6", "127.0.0.7", "127.0.0.8"].iter().enumerate() {
        assert_failed(cluster.login(i % 2, from, "bob", "guess"), 37);
    }
    assert!(cluster.ctl(1, &["unban", ip]).contains("ok: unbanned"));
    assert!(cluster.ctl(0, &["unban", "bob"]).contains("ok: unbanned"));
    let stop = AtomicBool::new(false);
    let (logins, connections) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let mut late: Vec<String> = Vec::new();
    std::thread::scope(|s| {
        for node in 0..2 {
            // failed LOGINs from other addresses (the throttle file's locks
            // taken and released all along)...
            let (stop, logins, connections) = (&stop, &logins, &connections);
            s.spawn(move || {
                let mut k = 0;
                while !stop.load(Ordering::Relaxed) {
                    let from = format!("127.0.{}.{}", 100 + node, 1 + k % 200);
                    if let Ok(mut c) = cluster.client_from(node, &from) {
                        if c.call("LOGIN", format!("ghost{k} guess").as_bytes()).is_ok() {
                            logins.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    k += 1;
                }
            });
            // ... and connections that say nothing, as a busy node gets
            for _ in 0..1 {
                let addr = cluster.addr(node);
                s.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if TcpStream::connect(&addr).is_ok() {
                            connections.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        }
        let bound = Duration::from_millis(2500);
        for round in 0..BAN_ROUNDS {
            let (a, b) = if round % 2 == 0 { (0, 1) } else { (1, 0) };
            let out = cluster.ctl(a, &["ban", ip, "1h"]);
            if !out.contains("on every node") {
                late.push(format!("round {round}: ban on node {a}: {out}"));
                break;
            }
            if let Err(e) = settles(cluster, b, ip, false, Instant::now(), bound) {
                late.push(format!("round {round}, after a ban on node {a}: {e}"));
                break;
            }
            let out = cluster.ctl(b, &["unban", ip]);
            if !out.contains("ok: unbanned") {
                late.push(format!("round {round}: unban on node {b}: {out}"));
                break;
            }
            if let Err(e) = settles(cluster, a, ip, true, Instant::now(), bound) {
                late.push(format!("round {round}, after an unban on node {b}: {e}"));
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
    // the logs without the silent connections' lines
    let logs: String = (cluster.nodes.iter())
        .map(|n| String::from_utf8_lossy(&std::fs::read(&n.log).unwrap_or_default()).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
        .lines()
        .filter(|l| l.contains(ip) || l.contains("shared bans") || l.contains("ERROR"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        late.is_empty(),
        "{} ({} failed LOGINs and {} silent connections alongside):\n{logs}",
        late.join("\n"),
        logins.load(Ordering::Relaxed),
        connections.load(Ordering::Relaxed),
    );
    assert!(logins.load(Ordering::Relaxed) > 0 && connections.load(Ordering::Relaxed) > 0);
}
