//! A GlusterFS test bed, started by the tests themselves: glusterd (started
//! directly, in a network namespace of the tests' own, [`NETNS`], where the
//! bricks have an address glusterd accepts; no systemd here), one replica-2
//! volume on two bricks in a per-run directory, mounted twice with the FUSE
//! client, so two tfd nodes can each serve one mount of the same tree, as
//! two machines would (doc/scaling.md).
//!
//! One bed per test binary, made on first use and torn down when the binary
//! exits (mounts, volume, bricks), even after failed tests; the last bed out
//! also stops glusterd and every process in [`NETNS`] and removes the
//! namespace, so nothing the bed started outlives the tests. A glusterd the
//! tests did not start (the system's) is never stopped: the bed is not made
//! then. What a killed run left (its volume, mounts and directory, named
//! after its pid) is removed by the next one. [`bed`] answers `None` only where FUSE, GlusterFS or root is
//! missing, and then the test cannot run ([`crate::require`]: a failure in CI).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The volume options tfd needs on GlusterFS (doc/scaling.md says why): with
/// them, a node opening a name another node has just replaced opens the new file.
pub const VOLUME_OPTIONS: &[(&str, &str)] = &[
    ("performance.open-behind", "off"),
    ("features.cache-invalidation", "on"),
    ("performance.cache-invalidation", "on"),
    ("performance.quick-read", "off"),
];

/// The FUSE client options tfd needs (doc/scaling.md): without them a node
/// keeps file pages cached across opens, and reads what another node has
/// since written in place (PUT) as the old bytes.
pub const FUSE_OPTIONS: &[&str] = &["--fopen-keep-cache=off", "--entry-timeout=0"];

/// Waits until `m` is a glusterfs mount (the client daemonizes before it is).
fn wait_mounted(m: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let want = m.to_str().unwrap_or_default();
    loop {
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        if mounts.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 2 && f[1] == want && f[2].starts_with("fuse.glusterfs")
        }) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{want} not mounted after 30 s"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Names of what one run makes carry this and its pid.
const TAG: &str = "tfdtest";

/// The bed: one volume, two mounts of it.
pub struct Bed {
    pub dir: PathBuf,
    pub volume: String,
    /// The FUSE mounts of the volume: node A serves the first, B the second,
    /// both with [`FUSE_OPTIONS`]; the third and fourth have the kernel's
    /// default entry timeout (a name trusted for a second), where nodes meet
    /// stale handles and must handle them themselves.
    pub mounts: [PathBuf; 4],
    /// Where the bricks live.
    pub bricks: [PathBuf; 2],
}

static BED: OnceLock<Result<Bed, String>> = OnceLock::new();

/// The bed, made on first use; where FUSE, GlusterFS or root is missing, the
/// calling test cannot run: [`crate::require`] fails it in CI (and records it
/// locally), and the caller returns on `None`.
#[track_caller]
pub fn bed() -> Option<&'static Bed> {
    match try_bed() {
        Ok(b) => Some(b),
        Err(why) => {
            crate::require(false, &format!("no GlusterFS test bed: {why}"));
            None
        }
    }
}

/// The bed, made on first use, or why it cannot be made (FUSE, GlusterFS or
/// root missing): for the gluster bench, which says so itself and never
/// fails as a test would.
pub fn try_bed() -> Result<&'static Bed, &'static str> {
    let made = BED.get_or_init(|| match Bed::make() {
        Ok(b) => {
            assert!(tfd_sys::at_exit(teardown_at_exit), "cannot register the bed's clean-up");
            Ok(b)
        }
        Err(Skip(why)) => Err(why),
    });
    made.as_ref().map_err(String::as_str)
}

extern "C" fn teardown_at_exit() {
    if let Some(Ok(b)) = BED.get() {
        b.teardown();
    }
}

/// Why there is no bed (the only reasons a test cannot run).
pub struct Skip(pub String);

/// Runs `prog args` with a time bound; Ok(stdout) on success.
pub fn run(prog: &str, args: &[&str], secs: u64) -> Result<String, String> {
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{prog}: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{prog} {args:?}: no answer in {secs} s"));
            }
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "{prog} {args:?}: {}: {text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn gluster(args: &[&str]) -> Result<String, String> {
    let mut a = vec!["--mode=script"];
    a.extend_from_slice(args);
    run_in_ns("gluster", &a, 120)
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn find_prog(name: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin"]
        .iter()
        .any(|d| Path::new(d).join(name).exists())
}

/// The network namespace the volume's servers live in, made here: glusterd
/// refuses loopback addresses for bricks, and the tests reach no address but
/// loopback and those of namespaces of their own. glusterd, its brick
/// processes and the FUSE clients run in it (entered with `nsenter --net`
/// only), while the mounts they serve are in this mount namespace, where tfd
/// nodes on loopback use them like any directory.
pub const NETNS: &str = "tfdgl";
/// The bricks' address: a dummy interface inside [`NETNS`] and nowhere else.
const BRICK_HOST: &str = "198.18.0.1";

fn netns_path() -> String {
    format!("/run/netns/{NETNS}")
}

/// Runs `prog args` inside [`NETNS`].
fn run_in_ns(prog: &str, args: &[&str], secs: u64) -> Result<String, String> {
    let net = format!("--net={}", netns_path());
    let mut a = vec![net.as_str(), prog];
    a.extend_from_slice(args);
    run("nsenter", &a, secs)
}

/// Makes [`NETNS`] (idempotent): loopback up, [`BRICK_HOST`] on a link of its
/// own inside it (a dummy link, or where the kernel has no dummy driver both
/// ends of a veth pair, neither leaving the namespace).
fn ensure_netns() -> Result<(), Skip> {
    if !Path::new(&netns_path()).exists() {
        run("ip", &["netns", "add", NETNS], 10).map_err(|e| Skip(format!("cannot make a network namespace: {e}")))?;
    }
    let ip = |args: &[&str]| {
        let mut a = vec!["-n", NETNS];
        a.extend_from_slice(args);
        run("ip", &a, 10)
    };
    let _ = ip(&["link", "set", "lo", "up"]);
    if ip(&["link", "show", "tfdgl0"]).is_err()
        && ip(&["link", "add", "tfdgl0", "type", "dummy"]).is_err()
        && ip(&["link", "add", "tfdgl0", "type", "veth", "peer", "name", "tfdgl1"]).is_ok()
    {
        let _ = ip(&["link", "set", "tfdgl1", "up"]);
    }
    let _ = ip(&["addr", "add", &format!("{BRICK_HOST}/32"), "dev", "tfdgl0"]);
    ip(&["link", "set", "tfdgl0", "up"]).map_err(Skip)?;
    Ok(())
}

/// True when `pid` lives in [`NETNS`].
fn in_netns(pid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(a), Ok(b)) = (
        std::fs::metadata(format!("/proc/{pid}/ns/net")),
        std::fs::metadata(netns_path()),
    ) else {
        return false;
    };
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

/// Pids of the processes named `comm`.
fn pids_of(comm: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let pid = e.file_name().to_str()?.parse::<u32>().ok()?;
                    let c = std::fs::read_to_string(e.path().join("comm")).ok()?;
                    (c.trim() == comm).then_some(pid)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Starts glusterd in [`NETNS`] unless one runs there, and waits until it
/// answers. A glusterd outside it (the system's own) is never stopped: both
/// would share /var/lib/glusterd and its socket, so the bed is not made then,
/// and the tests that need it cannot run, saying why.
fn ensure_glusterd() -> Result<(), Skip> {
    let all = pids_of("glusterd");
    if let Some(p) = all.iter().find(|p| !in_netns(**p)) {
        return Err(Skip(format!(
            "a glusterd the tests did not start runs (pid {p}); the test bed shares its /var/lib/glusterd \
             and socket, and never stops it: stop it (systemctl stop glusterd) to run these tests"
        )));
    }
    if all.is_empty() {
        // glusterd forks itself into the background and exits
        run_in_ns("glusterd", &[], 60).map_err(|e| Skip(format!("cannot start glusterd: {e}")))?;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match gluster(&["volume", "list"]) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => return Err(Skip(format!("glusterd does not answer: {e}"))),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// One bed is made or torn down at a time, across test binaries: the last
/// one out stops glusterd, which the next one in must not find half gone.
fn bed_lock() -> Option<nix::fcntl::Flock<std::fs::File>> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open("/run/tfdgl.lock")
        .ok()?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive).ok()
}

/// Whether a live test process other than this one has its volume on the
/// shared glusterd.
fn others_use_glusterd() -> bool {
    let me = format!("{TAG}-{}", std::process::id());
    gluster(&["volume", "list"]).is_ok_and(|list| {
        list.lines().map(str::trim).any(|v| {
            v != me
                && v.strip_prefix(&format!("{TAG}-"))
                    .and_then(|p| p.parse::<u32>().ok())
                    .is_some_and(pid_alive)
        })
    })
}

/// Ends every process in [`NETNS`] (glusterd, its brick servers, the
/// self-heal daemon, any FUSE client left: the tests started them all) and
/// removes the namespace: nothing the bed started outlives the tests.
fn stop_glusterd_and_netns() {
    let in_ns = || -> Vec<u32> {
        std::fs::read_dir("/proc")
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                    .filter(|p| *p != std::process::id() && in_netns(*p))
                    .collect()
            })
            .unwrap_or_default()
    };
    for signal in [nix::sys::signal::Signal::SIGTERM, nix::sys::signal::Signal::SIGKILL] {
        for p in in_ns() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p as i32), signal);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !in_ns().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if in_ns().is_empty() {
            break;
        }
    }
    if Path::new(&netns_path()).exists() {
        let _ = run("ip", &["netns", "del", NETNS], 10);
    }
}

/// Removes what earlier runs (now dead) left: their mounts, volumes and directories.
fn sweep_leftovers() {
    let dead = |name: &str| -> bool {
        name.split_once(TAG)
            .and_then(|(_, rest)| rest.trim_start_matches('-').split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(|pid| pid != std::process::id() && !pid_alive(pid))
    };
    if let Ok(mounts) = std::fs::read_to_string("/proc/mounts") {
        for l in mounts.lines() {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() > 2 && f[2].starts_with("fuse.glusterfs") && f[1].contains(TAG) && dead(f[1]) {
                let _ = run("umount", &["-l", f[1]], 30);
            }
        }
    }
    if let Ok(list) = gluster(&["volume", "list"]) {
        for v in list.lines().map(str::trim).filter(|v| v.starts_with(TAG) && dead(v)) {
            let _ = gluster(&["volume", "stop", v, "force"]);
            let _ = gluster(&["volume", "delete", v]);
        }
    }
    if let Ok(d) = std::fs::read_dir(std::env::temp_dir()) {
        for e in d.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(TAG) && dead(&name) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

impl Bed {
    fn make() -> Result<Bed, Skip> {
        if std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/fuse")
            .is_err()
        {
            return Err(Skip("/dev/fuse cannot be opened (no FUSE)".into()));
        }
        for prog in ["glusterd", "gluster", "glusterfs"] {
            if !find_prog(prog) {
                return Err(Skip(format!(
                    "{prog} is not installed (scripts/deps installs glusterfs-server)"
                )));
            }
        }
        if !crate::is_root() {
            return Err(Skip("not root (glusterd and mount need it)".into()));
        }
        let lock = bed_lock();
        ensure_netns()?;
        if let Err(e) = ensure_glusterd() {
            // what this bed started goes, unless another test binary's bed uses it
            if !others_use_glusterd() {
                stop_glusterd_and_netns();
            }
            return Err(e);
        }
        sweep_leftovers();
        let host = BRICK_HOST;
        let pid = std::process::id();
        let volume = format!("{TAG}-{pid}");
        let dir = std::env::temp_dir().join(format!("{TAG}-{pid}"));
        let _ = std::fs::remove_dir_all(&dir);
        let bricks = [dir.join("brick1"), dir.join("brick2")];
        let mounts = [
            dir.join("mnt-a"),
            dir.join("mnt-b"),
            dir.join("mnt-c"),
            dir.join("mnt-d"),
        ];
        for d in bricks.iter().chain(mounts.iter()) {
            std::fs::create_dir_all(d).map_err(|e| Skip(format!("{}: {e}", d.display())))?;
        }
        let bed = Bed {
            dir,
            volume,
            mounts,
            bricks,
        };
        // from here on a failure is the bed's fault, not a missing facility
        let b1 = format!("{host}:{}", bed.bricks[0].display());
        let b2 = format!("{host}:{}", bed.bricks[1].display());
        let made = (|| {
            gluster(&["volume", "create", &bed.volume, "replica", "2", &b1, &b2, "force"])?;
            for (k, v) in VOLUME_OPTIONS {
                gluster(&["volume", "set", &bed.volume, k, v])?;
            }
            gluster(&["volume", "start", &bed.volume])?;
            for (i, m) in bed.mounts.iter().enumerate() {
                // the FUSE client itself: Debian's mount.glusterfs 10.3 garbles
                // `-o fopen-keep-cache=off` (into `==off`)
                let server = format!("--volfile-server={host}");
                let id = format!("--volfile-id={}", bed.volume);
                let mut args = vec![server.as_str(), id.as_str()];
                args.extend_from_slice(if i < 2 { FUSE_OPTIONS } else { &FUSE_OPTIONS[..1] });
                args.push(m.to_str().unwrap());
                run_in_ns("glusterfs", &args, 60)?;
                wait_mounted(m)?;
            }
            Ok::<(), String>(())
        })();
        if let Err(e) = made {
            drop(lock);
            bed.teardown();
            panic!("GlusterFS test bed: {e}");
        }
        // both mounts see the volume
        std::fs::write(bed.mounts[0].join(".bed"), b"up").unwrap();
        assert_eq!(std::fs::read(bed.mounts[1].join(".bed")).unwrap(), b"up");
        Ok(bed)
    }

    /// A fresh directory for one test on the volume; its paths on mounts A and B.
    pub fn subdir(&self, tag: &str) -> (PathBuf, PathBuf) {
        let a = self.mounts[0].join(tag);
        let _ = std::fs::remove_dir_all(&a);
        std::fs::create_dir_all(&a).unwrap();
        (a, self.on(1, tag))
    }

    /// `tag` (made by [`Bed::subdir`]) through mount `i`, once visible there.
    pub fn on(&self, i: usize, tag: &str) -> PathBuf {
        let b = self.mounts[i].join(tag);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !b.is_dir() {
            assert!(
                Instant::now() < deadline,
                "{} not visible through mount {i}",
                b.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        b
    }

    /// Unmounts, stops and deletes the volume, removes the bricks; the last
    /// bed out also stops glusterd and removes [`NETNS`].
    fn teardown(&self) {
        let _lock = bed_lock();
        for m in &self.mounts {
            if let Some(p) = m.to_str() {
                if run("umount", &[p], 30).is_err() {
                    let _ = run("umount", &["-l", p], 30);
                }
            }
        }
        let _ = gluster(&["volume", "stop", &self.volume, "force"]);
        let _ = gluster(&["volume", "delete", &self.volume]);
        let _ = std::fs::remove_dir_all(&self.dir);
        if !others_use_glusterd() {
            stop_glusterd_and_netns();
        }
    }
}
