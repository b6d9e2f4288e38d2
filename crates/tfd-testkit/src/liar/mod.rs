//! A TF Protocol server that lies (issue 26): it runs the real handshake as
//! tfd does (version, RSA-OAEP session key, hash; no secure transport, so
//! `tf` stays on the legacy cipher after its TFDSECURE request is answered
//! UNKNOWN) and answers the listing, stat and download commands from a
//! [`Script`]: a virtual tree plus [`Lie`]s. Every answer copies tfd's wire
//! format byte for byte, so `tf`'s parsers take it as a real server's; only
//! the content lies. It exists to prove that names and sizes a server sends
//! back cannot make `tf get -r` or `tf mirror` write outside their target.
//!
//! Built on the library's pure `tfp_wire` pieces (cipher, frames, statuses,
//! FSTATLS records, HPF requests), not on tfd's channel, so it can send what
//! a correct server never would (more bytes than it announced).
//!
//! Each connection runs in its own thread; every accept and socket read is
//! bounded in time, and dropping the [`Liar`] stops it all.

use std::collections::BTreeMap;
use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tfp_wire::fstat::{FileType, StatRecord};
use tfp_wire::{command, frame, handshake as hs, hpf, Cipher, Failed, MAX_CHUNK, MAX_FRAME};

/// The application hash the liar expects (`tf --hash`).
pub const HASH: &str = "liar-hash";
/// Access and modification time of every virtual entry (FSTAT, FSTATLS).
pub const MTIME: u64 = 1_700_000_000;
/// The largest HPF buffer the liar grants (tfd grants up to `hpf_max_buffer`).
const MAX_GRANT: i64 = 1 << 20;
/// A connection that says nothing for this long is dropped.
const IO_TIMEOUT: Duration = Duration::from_secs(120);
/// Recursion bound of a listing that walks into lying directories.
const MAX_DEPTH: usize = 64;
/// The byte the bytes past an announced size are made of ([`Lie::Extra`]).
pub const EXTRA_BYTE: u8 = b'X';

/// Whether a listed entry is a file or a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Listed `F: name` (LS/LSR), `dir/name` (V2 forms).
    File,
    /// Listed `D: name/` (LS/LSR), `dir/name/` (V2 forms).
    Dir,
}

/// One entry of the virtual tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A directory; its contents are the entries below its path.
    Dir,
    /// A regular file and its bytes.
    File(Vec<u8>),
}

/// What the liar says that is not so. Directories are paths from the served
/// root (`""` is the root); a lie attached to a directory shows in every
/// listing that covers it: LS of it, LSR, LSV2DOWN, LSRV2DOWN, LSV2, LSRV2 of it
/// or of any directory above it, with the path prefix each form uses.
#[derive(Debug, Clone)]
pub enum Lie {
    /// An entry named `name` (relative to `dir`, bytes as given: `../x`,
    /// `/etc/x`, `a\nb`) that the tree does not hold. A lying directory is
    /// walked into by the recursive forms: lies attached to `dir/name` follow it.
    Entry {
        /// Where it is listed.
        dir: String,
        /// File or directory.
        kind: Kind,
        /// The name sent.
        name: Vec<u8>,
    },
    /// Bytes put in `dir`'s listings as they are: a whole LS/LSR line (tag
    /// included, no `\n` added), one LSV2DOWN unit, a run of an LSV2 file.
    Raw {
        /// Where it is listed.
        dir: String,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// `count` entries in `dir`: `name` every time, or `name` followed by the
    /// entry's number when `distinct`.
    Many {
        /// Where they are listed.
        dir: String,
        /// File or directory.
        kind: Kind,
        /// The name, or the prefix of the names.
        name: String,
        /// How many.
        count: usize,
        /// Different names (a flood of entries) or one name again and again.
        distinct: bool,
    },
    /// FSTAT, FSTATLS and FSIZE claim `size` for the file at `path`; the data
    /// sent stays the real one.
    Size {
        /// The file.
        path: String,
        /// The size claimed.
        size: u64,
    },
    /// GET, RCVFILE and SDOWN send `extra` bytes ([`EXTRA_BYTE`]) after the
    /// file's contents, past the size FSTAT, FSTATLS and FSIZE announce.
    Extra {
        /// The file.
        path: String,
        /// How many bytes more.
        extra: usize,
    },
}

impl Lie {
    /// A file entry `name` listed in `dir` that is not there.
    pub fn file(dir: &str, name: impl AsRef<[u8]>) -> Lie {
        Lie::Entry {
            dir: dir.into(),
            kind: Kind::File,
            name: name.as_ref().to_vec(),
        }
    }

    /// A directory entry `name` listed in `dir` that is not there.
    pub fn dir(dir: &str, name: impl AsRef<[u8]>) -> Lie {
        Lie::Entry {
            dir: dir.into(),
            kind: Kind::Dir,
            name: name.as_ref().to_vec(),
        }
    }
}

/// What the liar serves: the tree, the lies, and canned answers.
#[derive(Debug, Clone)]
pub struct Script {
    tree: BTreeMap<String, Node>,
    lies: Vec<Lie>,
    answers: BTreeMap<String, Vec<u8>>,
    anything: Option<Vec<u8>>,
    endless: Vec<String>,
    /// TFDDELTAGET's answers by path: the frames sent after the client's
    /// signatures ([`Script::delta`]).
    deltas: BTreeMap<String, Vec<Vec<u8>>>,
    /// GETCAN served ([`Script::getcan`]); else UNKNOWN, as an older server.
    getcan: bool,
    /// TFDGETMANY's frames after a batch's paths ([`Script::getmany`]).
    getmany: Option<Vec<Vec<u8>>>,
    /// Framed download batches taken (`… z f`, [`Script::getmany_framed`]);
    /// else their probe is answered FAILED, as a server from before them.
    getmany_framed: bool,
    /// TFDGETZ's units after the grant ([`Script::getz`]).
    getz: Option<Vec<Vec<u8>>>,
    /// TFDGETCANZ's units after the grant ([`Script::getcanz`]).
    getcanz: Option<Vec<Vec<u8>>>,
    /// TFDLISTZ's chunks ([`Script::listz`]).
    listz: Option<Vec<Vec<u8>>>,
}

impl Default for Script {
    fn default() -> Self {
        Script::new()
    }
}

impl Script {
    /// An empty root.
    pub fn new() -> Script {
        let mut tree = BTreeMap::new();
        tree.insert(String::new(), Node::Dir);
        Script {
            tree,
            lies: Vec::new(),
            answers: BTreeMap::new(),
            anything: None,
            endless: Vec::new(),
            deltas: BTreeMap::new(),
            getcan: false,
            getmany: None,
            getmany_framed: false,
            getz: None,
            getcanz: None,
            listz: None,
        }
    }

    /// Serves GETCAN as tfd does (`get --streams` then moves lanes through
    /// it); without this the liar answers it UNKNOWN, as an older server,
    /// and the streams fall back to GET.
    pub fn getcan(mut self) -> Script {
        self.getcan = true;
        self
    }

    /// Adds the directory `path` (and every directory above it).
    pub fn dir(mut self, path: &str) -> Script {
        self.add_dirs(&norm(path.as_bytes()));
        self
    }

    /// Adds the file `path` with `contents` (and the directories above it).
    pub fn file(mut self, path: &str, contents: impl AsRef<[u8]>) -> Script {
        self.set_file(&norm(path.as_bytes()), contents.as_ref().to_vec());
        self
    }

    /// Adds a lie.
    pub fn lie(mut self, lie: Lie) -> Script {
        self.lies.push(lie);
        self
    }

    /// Answers the command `name` (upper case) with this frame, whatever its
    /// arguments, before any built-in handling: `OK`, `FAILED 1 : ...`.
    pub fn answer(mut self, name: &str, frame: impl AsRef<[u8]>) -> Script {
        self.answers.insert(name.to_ascii_uppercase(), frame.as_ref().to_vec());
        self
    }

    /// LS, LSR, LSV2DOWN and LSRV2DOWN of `dir` never end: `F: endless-N`
    /// entries (`dir/endless-N` in the rooted forms) for as long as the client
    /// reads, generated as they are sent (the liar holds none of them). As a
    /// list file: FSTATLS of it never sends its end record, and RCVFILE of it
    /// (when the tree holds no such file) sends `dir/endless-N` lines for ever.
    pub fn endless(mut self, dir: &str) -> Script {
        self.endless.push(norm(dir.as_bytes()));
        self
    }

    /// Every path the tree does not hold reads as a file with `contents` (and
    /// lists as an empty directory): a lying name is then downloadable, so a
    /// client that trusts it would really write its bytes somewhere.
    pub fn serve_anything(mut self, contents: impl AsRef<[u8]>) -> Script {
        self.anything = Some(contents.as_ref().to_vec());
        self
    }

    fn set_file(&mut self, p: &str, contents: Vec<u8>) {
        if let Some((parent, _)) = p.rsplit_once('/') {
            self.add_dirs(parent);
        }
        self.tree.insert(p.to_string(), Node::File(contents));
    }

    fn add_dirs(&mut self, path: &str) {
        let mut at = String::new();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            if !at.is_empty() {
                at.push('/');
            }
            at.push_str(part);
            self.tree.entry(at.clone()).or_insert(Node::Dir);
        }
    }

    /// The node at `p`, with `serve_anything` filling in for missing files.
    fn file_at(&self, p: &str) -> Option<Node> {
        match self.tree.get(p) {
            Some(n) => Some(n.clone()),
            None => self.anything.clone().map(Node::File),
        }
    }

    /// Whether `p` lists (a directory, or anything under `serve_anything`).
    fn lists(&self, p: &str) -> Result<(), Failed> {
        match self.tree.get(p) {
            Some(Node::Dir) => Ok(()),
            Some(Node::File(_)) => Err(Failed::NotADirectory),
            None if self.anything.is_some() => Ok(()),
            None => Err(Failed::NoSuchDir),
        }
    }

    fn claimed_size(&self, p: &str, real: usize) -> u64 {
        self.lies
            .iter()
            .rev()
            .find_map(|l| match l {
                Lie::Size { path, size } if norm(path.as_bytes()) == p => Some(*size),
                _ => None,
            })
            .unwrap_or(real as u64)
    }

    /// What a download of `p` sends: the contents and any extra bytes.
    fn sent_bytes(&self, p: &str, contents: &[u8]) -> Vec<u8> {
        let extra: usize = self
            .lies
            .iter()
            .filter_map(|l| match l {
                Lie::Extra { path, extra } if norm(path.as_bytes()) == p => Some(*extra),
                _ => None,
            })
            .sum();
        let mut v = contents.to_vec();
        v.resize(contents.len() + extra, EXTRA_BYTE);
        v
    }

    /// Walks the listing of `dir`: the tree's entries, then the lies attached
    /// to each directory walked, `rel` before every name.
    fn walk(&self, dir: &str, recursive: bool, rel: &[u8], depth: usize, emit: &mut dyn FnMut(Line<'_>)) {
        if depth > MAX_DEPTH {
            return;
        }
        let below = |k: &str| -> Option<String> {
            let rest = if dir.is_empty() {
                k
            } else {
                k.strip_prefix(dir)?.strip_prefix('/')?
            };
            (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_string())
        };
        for (k, node) in &self.tree {
            let Some(name) = below(k) else { continue };
            let path = [rel, name.as_bytes()].concat();
            let kind = match node {
                Node::Dir => Kind::Dir,
                Node::File(_) => Kind::File,
            };
            emit(Line::Entry(kind, &path));
            if recursive && kind == Kind::Dir {
                self.walk(k, true, &[&path[..], b"/"].concat(), depth + 1, emit);
            }
        }
        for lie in &self.lies {
            match lie {
                Lie::Entry { dir: d, kind, name } if norm(d.as_bytes()) == dir => {
                    let path = [rel, name].concat();
                    emit(Line::Entry(*kind, &path));
                    if recursive && *kind == Kind::Dir {
                        let sub = norm(&[dir.as_bytes(), b"/", name].concat());
                        // only lies live there: the tree's own entries are walked above
                        if !self.tree.contains_key(&sub) {
                            self.walk_lies(&sub, &[&path[..], b"/"].concat(), depth + 1, emit);
                        }
                    }
                }
                Lie::Raw { dir: d, bytes } if norm(d.as_bytes()) == dir => emit(Line::Raw(bytes)),
                Lie::Many {
                    dir: d,
                    kind,
                    name,
                    count,
                    distinct,
                } if norm(d.as_bytes()) == dir => {
                    let mut path = rel.to_vec();
                    for i in 0..*count {
                        path.truncate(rel.len());
                        path.extend_from_slice(name.as_bytes());
                        if *distinct {
                            path.extend_from_slice(i.to_string().as_bytes());
                        }
                        emit(Line::Entry(*kind, &path));
                    }
                }
                _ => {}
            }
        }
    }

    /// The lies under a lying directory (the tree has nothing there).
    fn walk_lies(&self, dir: &str, rel: &[u8], depth: usize, emit: &mut dyn FnMut(Line<'_>)) {
        let lies_only = Script {
            tree: BTreeMap::new(),
            lies: self.lies.clone(),
            answers: BTreeMap::new(),
            anything: None,
            endless: Vec::new(),
            deltas: BTreeMap::new(),
            getcan: false,
            getmany: None,
            getmany_framed: false,
            getz: None,
            getcanz: None,
            listz: None,
        };
        lies_only.walk(dir, true, rel, depth, emit);
    }

    /// The listing text of `dir` in LS/LSR's tagged form.
    fn tagged(&self, dir: &str, recursive: bool) -> Vec<u8> {
        let mut out = Vec::new();
        self.walk(dir, recursive, b"", 0, &mut |l| match l {
            Line::Entry(kind, path) => {
                out.extend_from_slice(if kind == Kind::Dir { b"D: " } else { b"F: " });
                out.extend_from_slice(path);
                if kind == Kind::Dir {
                    out.push(b'/');
                }
                out.push(b'\n');
            }
            Line::Raw(b) => out.extend_from_slice(b),
        });
        out
    }

    /// The lines of `dir`'s V2 listing: paths from the root, `dir/` before each.
    fn rooted(&self, dir: &str, recursive: bool, each: &mut dyn FnMut(&[u8])) {
        let prefix = if dir.is_empty() {
            Vec::new()
        } else {
            format!("{dir}/").into_bytes()
        };
        self.walk(dir, recursive, &prefix, 0, &mut |l| match l {
            Line::Entry(kind, path) => {
                let mut line = path.to_vec();
                if kind == Kind::Dir {
                    line.push(b'/');
                }
                line.push(b'\n');
                each(&line);
            }
            Line::Raw(b) => each(b),
        });
    }
}

/// One thing a listing emits.
enum Line<'a> {
    Entry(Kind, &'a [u8]),
    Raw(&'a [u8]),
}

/// A path argument as a key of the tree: no leading, trailing or doubled `/`,
/// no `.` components; `..` stays (so it never names a tree entry).
fn norm(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg)
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

mod conn;
mod delta;
mod features;
mod getmany;
mod getz;
mod listz;

use conn::Conn;

/// A granted HPF download: the file's bytes, where the data starts, the
/// grant and (GETCAN) the chunks between the client's words.
struct Opened {
    data: Vec<u8>,
    from: usize,
    grant: i64,
    canpt: u64,
}

/// The running liar; dropping it stops it.
pub struct Liar {
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
    dir: PathBuf,
}

/// What the connections share.
struct Shared {
    script: Mutex<Script>,
    requests: Mutex<Vec<Vec<u8>>>,
    /// The commands whose answer the client waited for before it sent
    /// anything more: a round trip each.
    waited: Mutex<Vec<Vec<u8>>>,
    conns: Mutex<Vec<(TcpStream, JoinHandle<()>)>>,
    /// Bytes written to clients' sockets, all connections.
    sent: Arc<std::sync::atomic::AtomicU64>,
    /// Times a client sent something other than a cancel or FIN in the
    /// middle of a GET stream: a command on a session it had cut off.
    spoke_mid_get: std::sync::atomic::AtomicU64,
    rsa: openssl::rsa::Rsa<openssl::pkey::Private>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Liar {
    /// Listens on 127.0.0.1 (a free port) and serves `script`.
    pub fn start(script: Script) -> Liar {
        Liar::start_at(script, "127.0.0.1:0")
    }

    /// Listens on `addr` and serves `script`: at the address of a server
    /// stopped, the liar takes its place (same key), as a server turned
    /// hostile would.
    pub fn start_at(script: Script, addr: &str) -> Liar {
        let pkey = openssl::pkey::PKey::private_key_from_pem(&crate::keys().0).expect("test key");
        let rsa = pkey.rsa().expect("test key is RSA");
        let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        listener.set_nonblocking(true).expect("nonblocking listener");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            script: Mutex::new(script),
            requests: Mutex::new(Vec::new()),
            waited: Mutex::new(Vec::new()),
            conns: Mutex::new(Vec::new()),
            sent: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            spoke_mid_get: std::sync::atomic::AtomicU64::new(0),
            rsa,
        });
        let dir = crate::tempdir("liar");
        std::fs::write(dir.join("pub.pem"), &crate::keys().1).expect("write the public key");
        let (st, sh) = (stop.clone(), shared.clone());
        let accept = std::thread::spawn(move || accept_loop(listener, st, sh));
        Liar {
            addr,
            stop,
            accept: Some(accept),
            shared,
            dir,
        }
    }

    /// `host:port` for `tf --server`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// The server's public key file for `tf --key`.
    pub fn key_file(&self) -> PathBuf {
        self.dir.join("pub.pem")
    }

    /// A `tf` command line aimed at the liar (legacy cipher: the liar offers
    /// no secure transport, and `tf` falls back to it by itself anyway).
    pub fn tf_command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(crate::tf_bin());
        c.arg("--server")
            .arg(self.addr())
            .arg("--key")
            .arg(self.key_file())
            .arg("--hash")
            .arg(HASH)
            .arg("--timeout")
            .arg("20")
            .args(args);
        c
    }

    /// Every command frame received after a handshake, in order (all
    /// connections).
    pub fn requests(&self) -> Vec<Vec<u8>> {
        lock(&self.shared.requests).clone()
    }

    /// The commands (all connections, in order) whose answer the client
    /// waited for: nothing more of it was there when the liar was done with
    /// the command (what a client sent without waiting, behind the command,
    /// is there by then, since the answers leave only when the liar reads
    /// on, or, for GETCAN's stop, just before it reads the stop word). Each
    /// is a round trip the client paid.
    pub fn waited_for(&self) -> Vec<Vec<u8>> {
        lock(&self.shared.waited).clone()
    }

    /// Bytes the liar managed to write to its clients' sockets so far, all
    /// connections (what a client let it send before cutting it off).
    pub fn bytes_sent(&self) -> u64 {
        self.shared.sent.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How many times a client went on talking on a connection in the
    /// middle of a GET stream with something other than a cancel or FIN (a
    /// new command on a session whose download it had broken off unread).
    pub fn spoke_mid_get(&self) -> u64 {
        self.shared.spoke_mid_get.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// What the tree holds at `path` now (uploads and MKDIR change it).
    pub fn node(&self, path: &str) -> Option<Node> {
        lock(&self.shared.script).tree.get(&norm(path.as_bytes())).cloned()
    }
}

impl Drop for Liar {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
        let conns = std::mem::take(&mut *lock(&self.shared.conns));
        for (s, _) in &conns {
            let _ = s.shutdown(Shutdown::Both);
        }
        for (_, h) in conns {
            let _ = h.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn accept_loop(listener: TcpListener, stop: Arc<AtomicBool>, shared: Arc<Shared>) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((s, _)) => {
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(IO_TIMEOUT));
                let _ = s.set_write_timeout(Some(IO_TIMEOUT));
                let _ = s.set_nodelay(true);
                let Ok(handle_copy) = s.try_clone() else { continue };
                let sh = shared.clone();
                let h = std::thread::spawn(move || {
                    let _ = Conn::new(s, sh.sent.clone()).and_then(|mut c| c.serve(&sh));
                });
                lock(&shared.conns).push((handle_copy, h));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

type Io<T> = std::io::Result<T>;

fn bad(what: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

/// Runs `cmd` (a `tf` aimed at a liar) for at most `limit`, watching its
/// peak memory; past `limit` or `max_rss` bytes it is killed and the test
/// fails: a lying server must make `tf` neither hang nor grow without bound.
/// Returns the output and the peak resident size seen.
pub fn run_watched(mut cmd: Command, limit: Duration, max_rss: u64) -> (Output, u64) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tf");
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut v);
            }
            v
        })
    };
    let out = drain(child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let err = drain(child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let (start, pid) = (Instant::now(), child.id());
    let mut peak = 0u64;
    let status = loop {
        let hwm = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map_or(0, |kb| kb << 10);
        peak = peak.max(hwm);
        if let Some(st) = child.try_wait().expect("wait for tf") {
            break st;
        }
        if peak > max_rss || start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "tf killed after {:?} at {} MiB resident: a lying server made it hang or take memory without bound",
                start.elapsed(),
                peak >> 20
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let o = Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    };
    (o, peak)
}
