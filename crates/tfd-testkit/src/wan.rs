//! A slow link for tests of what tf decides by the link (compression,
//! deltas): `shared/wan`'s emulated link (`wan-up`: a rate and a round trip
//! between two network namespaces, real TCP over it) with a relay in the far
//! namespace to the test's tfd on loopback. `tf` runs in the near namespace
//! ([`SlowLink::tf`]), so its socket's peer is not loopback and the kernel
//! measures the link's round trip; the server, its log and its files are the
//! test's own [`crate::Server`].
//!
//! The machine must have `shared/wan` beside the checkout (or `TFD_WAN_DIR`),
//! `ip`, `cc` and root: [`SlowLink::to`] asks [`crate::need::require`], so a
//! machine without them fails the test in CI, naming what is missing.

use crate::{repo_root, tf_bin, Server};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// `wan-up` and `wan-down`: `TFD_WAN_DIR`, else `shared/wan` beside the
/// checkout or beside its parent (a worktree in a directory of worktrees).
fn wan_dir() -> Option<PathBuf> {
    let root = repo_root();
    let candidates = match std::env::var_os("TFD_WAN_DIR") {
        Some(d) => vec![PathBuf::from(d)],
        None => vec![root.join("../shared/wan"), root.join("../../shared/wan")],
    };
    candidates.into_iter().find(|d| d.join("wan-up").is_file())
}

/// An emulated link up, with a relay from its far end to a tfd.
pub struct SlowLink {
    name: String,
    pid: String,
    near: String,
    /// Where `tf` in the near namespace reaches the relay.
    pub addr: String,
    dir: PathBuf,
    stop: Arc<AtomicBool>,
    /// Bytes the relay carried toward the server and back (TCP payload).
    carried: Arc<[AtomicU64; 2]>,
}

impl SlowLink {
    /// A link of `rate_mbit` Mbit/s and `rtt_ms` ms to `srv`, or None
    /// where the machine cannot make one (told by [`crate::need::require`]).
    pub fn to(srv: &Server, rate_mbit: u32, rtt_ms: u32) -> Option<SlowLink> {
        let dir = wan_dir();
        if !crate::need::require(
            dir.is_some() && crate::is_root(),
            "needs root and shared/wan beside the checkout (or TFD_WAN_DIR): the emulated slow link",
        ) {
            return None;
        }
        let dir = dir?;
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "tz{:05}{}",
            std::process::id() % 100_000,
            N.fetch_add(1, Ordering::Relaxed) % 100
        );
        let _ = Command::new(dir.join("wan-down")).arg(&name).output();
        let up = Command::new(dir.join("wan-up"))
            .args([&name, &rate_mbit.to_string(), &rtt_ms.to_string(), "0"])
            .output()
            .expect("wan-up");
        let said = String::from_utf8_lossy(&up.stdout).into_owned();
        assert!(
            up.status.success(),
            "wan-up {name}: {said}{}",
            String::from_utf8_lossy(&up.stderr)
        );
        let field = |k: &str| {
            said.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                .unwrap_or_else(|| panic!("wan-up said no {k}: {said}"))
                .to_string()
        };
        let (near, far, far_addr, pid) = (field("WAN_A"), field("WAN_B"), field("WAN_ADDR_B"), field("WAN_PID"));
        let stop = Arc::new(AtomicBool::new(false));
        let carried = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        let mut link = SlowLink {
            name,
            pid,
            near,
            addr: String::new(),
            dir,
            stop: stop.clone(),
            carried: carried.clone(),
        };
        let ns = std::fs::File::open(format!("/run/netns/{far}")).expect("the far namespace");
        let at: SocketAddr = format!("{far_addr}:0").parse().unwrap();
        let l = tfd_sys::listen_in_netns(ns.as_fd(), at).expect("a listener in the far namespace");
        link.addr = l.local_addr().unwrap().to_string();
        let server = srv.addr();
        std::thread::spawn(move || relay(l, &server, &stop, &carried));
        Some(link)
    }

    /// The bytes the link carried so far (TCP payload, what tf and tfd
    /// wrote): toward the server, and back.
    pub fn carried(&self) -> (u64, u64) {
        (
            self.carried[0].load(Ordering::Relaxed),
            self.carried[1].load(Ordering::Relaxed),
        )
    }

    /// `tf ARGS` from the near namespace through the link to `srv`, stdin
    /// closed, its output captured.
    pub fn tf(&self, srv: &Server, args: &[&str]) -> Output {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.near, tf_bin()])
            .env("XDG_STATE_HOME", srv.dir.join("state"))
            .arg("--server")
            .arg(&self.addr)
            .arg("--key")
            .arg(srv.key_file())
            .arg("--hash")
            .arg(&srv.hash)
            .args(args)
            .stdin(Stdio::null());
        c.output().expect("ip netns exec tf")
    }
}

/// Accepts connections at the far end and joins each to `server`, until
/// `stop`, counting what crosses each way in `carried`.
fn relay(l: std::net::TcpListener, server: &str, stop: &AtomicBool, carried: &Arc<[AtomicU64; 2]>) {
    let _ = l.set_nonblocking(true);
    while !stop.load(Ordering::Relaxed) {
        let Ok((near, _)) = l.accept() else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        let _ = near.set_nonblocking(false);
        let Ok(far) = TcpStream::connect(server) else {
            continue;
        };
        let _ = far.set_nodelay(true);
        let _ = near.set_nodelay(true);
        for (way, (mut from, mut to)) in [(near.try_clone(), far.try_clone()), (far.try_clone(), near.try_clone())]
            .into_iter()
            .filter_map(|(a, b)| Some((a.ok()?, b.ok()?)))
            .enumerate()
        {
            let carried = carried.clone();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 << 10];
                loop {
                    use std::io::{Read, Write};
                    let n = match from.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    carried[way].fetch_add(n as u64, Ordering::Relaxed);
                }
                let _ = to.shutdown(std::net::Shutdown::Write);
            });
        }
    }
}

impl Drop for SlowLink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = Command::new(self.dir.join("wan-down"))
            .args([&self.name, &self.pid])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
