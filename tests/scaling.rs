//! Scaling out (doc/scaling.md), on loopback: two tfd nodes with the same
//! key, hash and TLB file and one shared data root, as on a distributed file
//! system. TLB hands out both nodes in turn; a file uploaded through one node is
//! downloaded byte for byte through the other (SNDFILE/RCVFILE and PUT/GET); a
//! LOCK file created through one node locks the directory for sessions on the
//! other; and PROCHECK is answered only by the node that holds the session.

mod common;

use common::{assert_failed, assert_ok, free_port, is_root, keys, ok, pattern, spawn_tfd, tempdir};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};
use tfd::client::{Client, ClientConfig};

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

    /// `n` nodes whose configs end with `extra`; `defusr root` when `single_user`.
    /// Each node has a control socket of its own, `ctl<i>.sock` in the cluster's
    /// directory.
    fn start_with(n: usize, extra: &str, single_user: bool) -> Cluster {
        let dir = tempdir("scale");
        let data = dir.join("shared-root");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(dir.join("key.pem"), &keys().0).unwrap();
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
                        "proto 2.4.1\nhash {hash}\ndbdir shared-root\nport {port}\nlisten 127.0.0.1\n\
                         privkey_file key.pem\ntlb tlb\ncontrol_socket ctl{i}.sock\n{user}{extra}"
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
        c.transport = tfd::client::Transport::Legacy;
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
        .unwrap();
    assert!(ok(&st), "{st:?}");
    // PUT in two ranges through the uploading node
    let half = body.len() / 2;
    for (off, part) in [(0, &body[..half]), (half, &body[half..])] {
        let r = up.put(b"shared/two.bin", off as u64, 1 << 20, &mut &part[..], &mut |_| {});
        assert_eq!(r.unwrap(), Ok(tfd::client::transfer::PutOutcome::Done));
    }

    let mut down = cluster.client(&down_node);
    let mut got = Vec::new();
    assert!(ok(&down.rcvfile(b"shared/one.bin", false, &mut got).unwrap()));
    assert!(got == body, "RCVFILE through the other node differs");
    let mut got = Vec::new();
    let n = down.get(b"shared/two.bin", 0, 1 << 20, &mut got, &mut |_| {}).unwrap();
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
    if !is_root() {
        eprintln!("skipped: needs root for LOGIN's system users and source addresses");
        return None;
    }
    let alice = common::ensure_system_user("tfdscale1", &[]);
    let bob = common::ensure_system_user("tfdscale2", &[]);
    let db = common::tempdir("scale-userdb").join("userdb");
    let f = db.to_str().unwrap().to_string();
    for (name, sys) in [("alice", "tfdscale1"), ("bob", "tfdscale2")] {
        let out = common::tfpasswd(
            &[
                "-f",
                &f,
                "add",
                name,
                "--system-user",
                sys,
                "--stdin",
                "--rounds",
                "1000",
            ],
            &format!("{SCALE_PW}\n"),
        );
        assert!(out.status.success(), "{out:?}");
    }
    let cluster = Cluster::start_with(
        2,
        &format!(
            "userdb {f}\nshared_state_dir state\nlogin_max_failures_ip 4\nlogin_max_failures_user 3\n\
             login_window 60\nlogin_ban 60\nlogin_lock 60\n"
        ),
        false,
    );
    for (d, (uid, gid)) in [("alice", alice), ("bob", bob)] {
        std::fs::create_dir_all(cluster.data.join(d)).unwrap();
        nix::unistd::chown(&cluster.data.join(d), Some(uid.into()), Some(gid.into())).unwrap();
    }
    Some(cluster)
}

impl Cluster {
    /// A session on node `i` from the loopback address `from`.
    fn client_from(&self, i: usize, from: &str) -> Result<Client, tfd::client::ClientError> {
        let mut cfg = self.config(&self.addr(i));
        cfg.bind = Some(from.parse().unwrap());
        cfg.timeout = Some(Duration::from_secs(10));
        Client::connect(&cfg)
    }

    /// LOGIN `name` on node `i` from `from`, in a session of its own.
    fn login(&self, i: usize, from: &str, name: &str, pw: &str) -> tfd::wire::Status {
        let mut c = self
            .client_from(i, from)
            .unwrap_or_else(|e| panic!("connect to node {i} from {from}: {e}"));
        c.call("LOGIN", format!("{name} {pw}").as_bytes()).unwrap()
    }

    fn ctl(&self, i: usize, req: &[&str]) -> String {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_tfd"))
            .arg("ctl")
            .arg("--socket")
            .arg(self.dir.join(format!("ctl{i}.sock")))
            .args(req)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
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
    let Some(cluster) = throttled_cluster() else { return };
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
    let Some(cluster) = throttled_cluster() else { return };
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
