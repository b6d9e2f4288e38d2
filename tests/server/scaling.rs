//! Scaling out (doc/scaling.md), on loopback: two tfd nodes with the same
//! key, hash and TLB file and one shared data root, as on a distributed file
//! system. TLB hands out both nodes in turn; a file uploaded through one node is
//! downloaded byte for byte through the other (SNDFILE/RCVFILE and PUT/GET); a
//! LOCK file created through one node locks the directory for sessions on the
//! other; and PROCHECK is answered only by the node that holds the session.

use crate::common;
use crate::common::reply::Answer as _;
use tfp_client::replies::{AsStatus as _, Split as _};

use common::{
    assert_failed, assert_ok, free_port, is_root, keys, ok, pattern, require, spawn_tfd, tempdir, write_private_key,
};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};
use tfp_client::{Client, ClientConfig};

/// One tfd node.
struct Node {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Node {
    fn start(conf: &Path, port: u16, log: PathBuf) -> Node {
        let child = spawn_tfd(conf, &log);
        let node = Node { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "node on {port} did not start:\n{}",
                node.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        node
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && !matches!(self.child.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = self.log();
        if log.contains("panicked") && !std::thread::panicking() {
            panic!("node on {} panicked:\n{log}", self.port);
        }
    }
}

/// The cluster: what every node shares (one key, hash, TLB file and data root)
/// and a config per node that differs only in its port.
struct Cluster {
    dir: PathBuf,
    data: PathBuf,
    hash: String,
    nodes: Vec<Node>,
}

impl Cluster {
    fn start(n: usize) -> Cluster {
        Cluster::start_with(n, "", true)
    }

    /// `n` nodes on one directory whose configs end with `extra`; `defusr root`
    /// when `single_user`.
    fn start_with(n: usize, extra: &str, single_user: bool) -> Cluster {
        let dir = tempdir("scale");
        let data = dir.join("shared-root");
        std::fs::create_dir_all(&data).unwrap();
        let extra = format!("fai_dir {}\n{extra}", dir.join("fai").display());
        Cluster::start_as(dir, vec![(data, extra); n], single_user)
    }

    /// Nodes serving the roots of `nodes` (one each: the same directory, or
    /// mounts of one volume), each with its own extra config lines; `dir`
    /// holds what they share. Nodes with a user file make their sessions LOGIN.
    fn start_on(dir: PathBuf, nodes: Vec<(PathBuf, String)>) -> Cluster {
        let single_user = !nodes[0].1.contains("userdb");
        Cluster::start_as(dir, nodes, single_user)
    }

    /// Each node has a control socket of its own, `ctl<i>.sock` in `dir`.
    fn start_as(dir: PathBuf, nodes: Vec<(PathBuf, String)>, single_user: bool) -> Cluster {
        let n = nodes.len();
        let data = nodes[0].0.clone();
        write_private_key(&dir.join("key.pem"));
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let tlb: String = ports.iter().map(|p| format!("4 127.0.0.1;{p}\n")).collect();
        std::fs::write(dir.join("tlb"), format!("# every node, on every node\n{tlb}")).unwrap();
        let hash = "cluster-wide-secret".to_string();
        let user = if is_root() && single_user { "defusr root\n" } else { "" };
        let nodes = ports
            .iter()
            .enumerate()
            .map(|(i, port)| {
                let conf = dir.join(format!("node{i}.conf"));
                std::fs::write(
                    &conf,
                    format!(
                        "proto 2.4.1\nhash {hash}\ndbdir {}\nport {port}\nlisten 127.0.0.1\n\
                         privkey_file key.pem\ntlb tlb\ncontrol_socket ctl{i}.sock\nshutdown_grace 1\n{user}{}",
                        nodes[i].0.display(),
                        nodes[i].1
                    ),
                )
                .unwrap();
                Node::start(&conf, *port, dir.join(format!("node{i}.log")))
            })
            .collect();
        Cluster { dir, data, hash, nodes }
    }

    fn config(&self, addr: &str) -> ClientConfig {
        let mut c = ClientConfig::new(addr, keys().1.clone(), &self.hash);
        c.timeout = Some(Duration::from_secs(20));
        c.transport = tfp_client::Transport::Legacy;
        c
    }

    fn client(&self, addr: &str) -> Client {
        Client::connect(&self.config(addr)).unwrap_or_else(|e| panic!("connect {addr}: {e}"))
    }

    fn addr(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.nodes[i].port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.nodes.clear();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A TLB answer (`4 127.0.0.1;port`) as a socket address.
fn tlb_addr(entry: &str) -> String {
    let (ip, port) = entry
        .strip_prefix("4 ")
        .and_then(|r| r.split_once(';'))
        .unwrap_or_else(|| panic!("not a TLB entry: {entry:?}"));
    SocketAddr::new(ip.parse().unwrap(), port.parse().unwrap()).to_string()
}

#[test]
fn two_nodes_share_one_root_behind_tlb() {
    let cluster = Cluster::start(2);
    let (a, b) = (cluster.addr(0), cluster.addr(1));

    // TLB on either node hands out both nodes in turn (each node keeps its own
    // round-robin position, so a fresh cluster starts with the first entry).
    for entry_node in [&a, &b] {
        let mut c = cluster.client(entry_node);
        let got: Vec<String> = (0..4)
            .map(|_| tlb_addr(&assert_ok(c.call("TLB", b"").unwrap())))
            .collect();
        assert_eq!(
            got,
            [a.clone(), b.clone(), a.clone(), b.clone()],
            "TLB from {entry_node}"
        );
    }

    // Follow the balancer: upload where TLB points, download where it points next.
    let mut balancer = cluster.client(&a);
    let up_node = tlb_addr(&assert_ok(balancer.call("TLB", b"").unwrap()));
    let down_node = tlb_addr(&assert_ok(balancer.call("TLB", b"").unwrap()));
    assert_ne!(up_node, down_node);

    let body = pattern(3 << 20, 7);
    let mut up = cluster.client(&up_node);
    assert!(ok(&up.call("MKDIR", b"shared").unwrap()));
    let st = up
        .sndfile(b"shared/one.bin", false, &mut &body[..], &mut |_| {})
        .status()
        .unwrap();
    assert!(ok(&st), "{st:?}");
    // PUT in two ranges through the uploading node
    let half = body.len() / 2;
    for (off, part) in [(0, &body[..half]), (half, &body[half..])] {
        let r = up
            .put(b"shared/two.bin", off as u64, 1 << 20, &mut &part[..], &mut |_| {})
            .split();
        assert_eq!(r.unwrap(), Ok(()));
    }

    let mut down = cluster.client(&down_node);
    let mut got = Vec::new();
    assert!(ok(&down.rcvfile(b"shared/one.bin", false, &mut got).status().unwrap()));
    assert!(got == body, "RCVFILE through the other node differs");
    let mut got = Vec::new();
    let n = down
        .get(b"shared/two.bin", 0, 1 << 20, &mut got, &mut |_| {})
        .split()
        .unwrap();
    assert_eq!(n, Ok(body.len() as u64));
    assert!(got == body, "GET through the other node differs");
    assert_eq!(std::fs::read(cluster.data.join("shared/one.bin")).unwrap(), body);

    // LOCK is a file in the tree, so it holds across nodes: the lock file made
    // through one node stops a session on the other.
    assert!(ok(&down.call("LOCK", b"busy").unwrap()));
    assert!(ok(&down.call("MKDIR", b"shared/before").unwrap()));
    assert!(ok(&up.call("TOUCH", b"shared/busy").unwrap()));
    assert_failed(down.call("MKDIR", b"shared/after").unwrap(), 30);
    assert!(ok(&up.call("DEL", b"shared/busy").unwrap()));
    assert!(ok(&down.call("MKDIR", b"shared/after").unwrap()));

    // The session registry is per node: only the node holding a session knows
    // its PROCKEY, so PROCHECK must be sent to that node.
    let key = assert_ok(up.call("PROCKEY", b"").unwrap());
    let probe = |addr: &str| {
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        u.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        u.connect(addr).unwrap();
        let mut q = vec![1u8];
        q.extend_from_slice(key.as_bytes());
        u.send(&q).unwrap();
        let mut r = [0u8; 16];
        let n = u.recv(&mut r).expect("no PROCHECK reply");
        r[..n].to_vec()
    };
    assert_eq!(probe(&up_node), [1], "the node holding the session");
    assert_eq!(probe(&down_node), [0], "the other node does not know it");
}

// ---- throttling and bans across nodes (shared_state_dir) ----

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
    let alice = common::ensure_system_user("tfdscale1", &[]);
    let bob = common::ensure_system_user("tfdscale2", &[]);
    let db = common::tempdir("scale-userdb").join("userdb");
    let f = db.to_str().unwrap().to_string();
    for (name, sys) in [("alice", "tfdscale1"), ("bob", "tfdscale2")] {
        common::userdb_add(&f, name, sys, SCALE_PW, &[]);
    }
    (f, alice, bob)
}

impl Cluster {
    /// A session on node `i` from the loopback address `from`.
    fn client_from(&self, i: usize, from: &str) -> Result<Client, tfp_client::Error> {
        let mut cfg = self.config(&self.addr(i));
        cfg.bind = Some(from.parse().unwrap());
        cfg.timeout = Some(Duration::from_secs(10));
        Client::connect(&cfg)
    }

    /// LOGIN `name` on node `i` from `from`, in a session of its own.
    fn login(&self, i: usize, from: &str, name: &str, pw: &str) -> tfp_wire::Status {
        let mut c = self
            .client_from(i, from)
            .unwrap_or_else(|e| panic!("connect to node {i} from {from}: {e}"));
        c.call("LOGIN", format!("{name} {pw}").as_bytes()).unwrap()
    }

    fn ctl(&self, i: usize, req: &[&str]) -> String {
        common::tfd_ctl(&self.dir.join(format!("ctl{i}.sock")), req).1
    }

    fn logs(&self) -> String {
        self.nodes.iter().map(|n| n.log()).collect::<Vec<_>>().join("\n")
    }
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
    let log = cluster.nodes[1].log();
    assert!(log.contains(ip) && log.contains("banned on every node"), "{log}");
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
    std::fs::write(&throttle_file, common::pattern(len, 99)).unwrap();
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
    std::fs::write(&bans_file, common::pattern(len, 7)).unwrap();
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

// ---- On GlusterFS: a replica-2 volume mounted twice, one node per mount ----

use common::gluster;

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
    let (hash, data) = common::intread(c, path)?;
    assert_eq!(hash, common::hash_text(&data), "INTREAD hash");
    Ok(data)
}

/// INTWRITE of `data` over `old`.
fn intwrite(c: &mut Client, path: &str, old: &[u8], data: &[u8]) -> i32 {
    common::intwrite(c, path, &common::hash_text(old), data)
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
    common::dir_names(dir)
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
        common::dir_names(&dir)
    );
    let session = {
        let (live, _) = common::children_of(cluster.nodes[0].child.id() as i32);
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
    let (live, _) = common::children_of(cluster.nodes[1].child.id() as i32);
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
    let (uid, gid) = common::ensure_system_user("tfdglq1", &[]);
    let db = common::login_userdb("glq", "carl", "tfdglq1", "carl-pw-1");
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

/// The sweeper's first pass runs at start: an old orphan temporary (a killed
/// upload's, on a file system without O_TMPFILE, or an older tfd's) anywhere
/// in the tree is gone at once, with no quota and an hour's `sweep_interval`;
/// a fresh one and ordinary files stay.
#[test]
fn sweeper_removes_old_temporaries_at_start() {
    let dir = tempdir("sweep-start");
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    let orphans = [
        root.join(".tfd-part-00000000000000a1"),
        root.join("a/b/.tfd-part-00000000000000a2"),
    ];
    for o in &orphans {
        std::fs::write(o, b"left by a killed upload").unwrap();
        common::mark_upload_temporary(o);
        std::fs::File::options()
            .write(true)
            .open(o)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let fresh = root.join("a/.tfd-part-00000000000000f1");
    std::fs::write(&fresh, b"an upload starting now").unwrap();
    std::fs::write(root.join("a/b/keep"), b"x").unwrap();
    let fai = format!("fai_dir {}\nsweep_interval 3600\n", dir.join("fai").display());
    let cluster = Cluster::start_on(dir, vec![(root.clone(), fai)]);
    let t = Instant::now();
    while orphans.iter().any(|o| o.exists()) {
        assert!(t.elapsed() < Duration::from_secs(10), "not swept at start");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(fresh.exists() && root.join("a/b/keep").exists());
    assert!(cluster.nodes[0].log().contains("sweeper: removed 2 upload temporaries"));
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
