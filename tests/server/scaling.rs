//! Scaling out (doc/scaling.md), on loopback: two tfd nodes with the same
//! key, hash and TLB file and one shared data root, as on a distributed file
//! system. TLB hands out both nodes in turn; a file uploaded through one node is
//! downloaded byte for byte through the other (SNDFILE/RCVFILE and PUT/GET); a
//! LOCK file created through one node locks the directory for sessions on the
//! other; and PROCHECK is answered only by the node that holds the session.
//! The cluster here is what the bans (`scaling_bans.rs`) and the GlusterFS
//! tests (`scaling_gluster.rs`) run on.

use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};
use tfd_testkit::{
    assert_failed, assert_ok, free_port, is_root, keys, ok, pattern, spawn_tfd, tempdir, write_private_key,
};
use tfp_client::replies::{AsStatus as _, Split as _};
use tfp_client::{Client, ClientConfig};

/// One tfd node.
pub(super) struct Node {
    pub(super) child: Child,
    pub(super) port: u16,
    pub(super) log: PathBuf,
}

impl Node {
    pub(super) fn start(conf: &Path, port: u16, log: PathBuf) -> Node {
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

    pub(super) fn log(&self) -> String {
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
pub(super) struct Cluster {
    pub(super) dir: PathBuf,
    pub(super) data: PathBuf,
    pub(super) hash: String,
    pub(super) nodes: Vec<Node>,
}

impl Cluster {
    pub(super) fn start(n: usize) -> Cluster {
        Cluster::start_with(n, "", true)
    }

    /// `n` nodes on one directory whose configs end with `extra`; `defusr root`
    /// when `single_user`.
    pub(super) fn start_with(n: usize, extra: &str, single_user: bool) -> Cluster {
        let dir = tempdir("scale");
        let data = dir.join("shared-root");
        std::fs::create_dir_all(&data).unwrap();
        let extra = format!("fai_dir {}\n{extra}", dir.join("fai").display());
        Cluster::start_as(dir, vec![(data, extra); n], single_user)
    }

    /// Nodes serving the roots of `nodes` (one each: the same directory, or
    /// mounts of one volume), each with its own extra config lines; `dir`
    /// holds what they share. Nodes with a user file make their sessions LOGIN.
    pub(super) fn start_on(dir: PathBuf, nodes: Vec<(PathBuf, String)>) -> Cluster {
        let single_user = !nodes[0].1.contains("userdb");
        Cluster::start_as(dir, nodes, single_user)
    }

    /// Each node has a control socket of its own, `ctl<i>.sock` in `dir`.
    pub(super) fn start_as(dir: PathBuf, nodes: Vec<(PathBuf, String)>, single_user: bool) -> Cluster {
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

    pub(super) fn config(&self, addr: &str) -> ClientConfig {
        let mut c = ClientConfig::new(addr, keys().1.clone(), &self.hash);
        c.timeout = Some(Duration::from_secs(20));
        c.transport = tfp_client::Transport::Legacy;
        c
    }

    pub(super) fn client(&self, addr: &str) -> Client {
        Client::connect(&self.config(addr)).unwrap_or_else(|e| panic!("connect {addr}: {e}"))
    }

    pub(super) fn addr(&self, i: usize) -> String {
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

impl Cluster {
    /// A session on node `i` from the loopback address `from`.
    pub(super) fn client_from(&self, i: usize, from: &str) -> Result<Client, tfp_client::Error> {
        let mut cfg = self.config(&self.addr(i));
        cfg.bind = Some(from.parse().unwrap());
        cfg.timeout = Some(Duration::from_secs(10));
        Client::connect(&cfg)
    }

    /// LOGIN `name` on node `i` from `from`, in a session of its own.
    pub(super) fn login(&self, i: usize, from: &str, name: &str, pw: &str) -> tfp_wire::Status {
        let mut c = self
            .client_from(i, from)
            .unwrap_or_else(|e| panic!("connect to node {i} from {from}: {e}"));
        c.call("LOGIN", format!("{name} {pw}").as_bytes()).unwrap()
    }

    pub(super) fn ctl(&self, i: usize, req: &[&str]) -> String {
        tfd_testkit::tfd_ctl(&self.dir.join(format!("ctl{i}.sock")), req).1
    }

    pub(super) fn logs(&self) -> String {
        self.nodes.iter().map(|n| n.log()).collect::<Vec<_>>().join("\n")
    }
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
        tfd_testkit::mark_upload_temporary(o);
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
