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

#[path = "liar_delta.rs"]
mod delta;

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
        let pkey = openssl::pkey::PKey::private_key_from_pem(&super::keys().0).expect("test key");
        let rsa = pkey.rsa().expect("test key is RSA");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
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
        let dir = super::tempdir("liar");
        std::fs::write(dir.join("pub.pem"), &super::keys().1).expect("write the public key");
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
        let mut c = Command::new(super::tf_bin());
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

/// One client connection: the two cipher directions and a write buffer that
/// is flushed before every read (so many units leave in one write).
struct Conn {
    rd: BufReader<TcpStream>,
    wr: TcpStream,
    rx: Option<Cipher>,
    tx: Option<Cipher>,
    out: Vec<u8>,
    sent: Arc<std::sync::atomic::AtomicU64>,
}

impl Conn {
    fn new(s: TcpStream, sent: Arc<std::sync::atomic::AtomicU64>) -> Io<Conn> {
        Ok(Conn {
            sent,
            wr: s.try_clone()?,
            rd: BufReader::with_capacity(1 << 16, s),
            rx: None,
            tx: None,
            out: Vec::new(),
        })
    }

    fn flush(&mut self) -> Io<()> {
        if !self.out.is_empty() {
            // counted as written: a write cut short by the client's close
            // counts what went out
            let mut done = 0;
            let r = loop {
                match self.wr.write(&self.out[done..]) {
                    Ok(0) => break Err(std::io::ErrorKind::WriteZero.into()),
                    Ok(n) => {
                        done += n;
                        self.sent.fetch_add(n as u64, std::sync::atomic::Ordering::SeqCst);
                        if done == self.out.len() {
                            break Ok(());
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            self.out.clear();
            r?;
        }
        Ok(())
    }

    /// Sends pending bytes once they are many (long streams).
    fn flush_if_big(&mut self) -> Io<()> {
        if self.out.len() >= 1 << 20 {
            self.flush()?;
        }
        Ok(())
    }

    fn recv_unit(&mut self, n: usize) -> Io<Vec<u8>> {
        self.flush()?;
        let mut b = vec![0u8; n];
        self.rd.read_exact(&mut b)?;
        if let Some(c) = self.rx.as_mut() {
            c.unpack(&mut b);
        }
        Ok(b)
    }

    fn recv_i64(&mut self) -> Io<i64> {
        let b = self.recv_unit(8)?;
        Ok(i64::from_be_bytes(b.try_into().map_err(|_| bad("short i64"))?))
    }

    fn recv_i32(&mut self) -> Io<i32> {
        let b = self.recv_unit(4)?;
        Ok(i32::from_be_bytes(b.try_into().map_err(|_| bad("short i32"))?))
    }

    fn recv_frame(&mut self, max: usize) -> Io<Vec<u8>> {
        let h = self.recv_unit(4)?;
        let hdr: [u8; 4] = h.try_into().map_err(|_| bad("short header"))?;
        let len = frame::decode_len(hdr, max).map_err(bad)?;
        self.recv_unit(len)
    }

    fn send_frame(&mut self, payload: &[u8]) -> Io<()> {
        if payload.len() > MAX_FRAME {
            return Err(bad("frame over MAX_FRAME"));
        }
        frame::encode_frame(self.tx.as_mut(), payload, &mut self.out);
        self.flush_if_big()
    }

    fn send_unit(&mut self, data: &[u8]) -> Io<()> {
        frame::encode_raw(self.tx.as_mut(), data, &mut self.out);
        self.flush_if_big()
    }

    fn send_failed(&mut self, f: Failed) -> Io<()> {
        self.send_frame(&f.to_wire())
    }

    /// tfd's handshake, server side (src/session/handshake.rs): version and
    /// RSA-encrypted key in plaintext, each answered OK, then the hash under
    /// the session key's cipher.
    fn handshake(&mut self, shared: &Shared) -> Io<()> {
        let version = self.recv_frame(hs::MAX_VERSION_FRAME)?;
        if hs::check_version(&version, &["2.4.1", "2.5.1"]).is_err() {
            self.send_failed(Failed::IncompatibleProtocol)?;
            return Err(bad("version"));
        }
        self.send_frame(b"OK")?;
        let enc = self.recv_frame(4096)?;
        let Ok(key) = hs::decrypt_session_key(&shared.rsa, &enc) else {
            self.send_failed(Failed::BadRsaKey)?;
            return Err(bad("session key"));
        };
        self.send_frame(b"OK")?;
        self.rx = Some(Cipher::new(&key));
        self.tx = Some(Cipher::new(&key));
        let hash = self.recv_frame(hs::MAX_HASH_FRAME)?;
        if hash != HASH.as_bytes() {
            self.send_failed(Failed::InvalidHash)?;
            return Err(bad("hash"));
        }
        self.send_frame(b"OK")
    }

    fn serve(&mut self, shared: &Shared) -> Io<()> {
        let r = self.handshake(shared).and_then(|()| self.commands(shared));
        let _ = self.flush();
        r
    }

    fn commands(&mut self, shared: &Shared) -> Io<()> {
        loop {
            let line = self.recv_frame(MAX_FRAME)?;
            lock(&shared.requests).push(line.clone());
            let req = command::split(&line);
            let canned = lock(&shared.script).answers.get(&req.name).cloned();
            if let Some(frame) = canned {
                self.send_frame(&frame)?;
                continue;
            }
            let arg = req.arg;
            match req.name.as_str() {
                "END" => return Ok(()),
                "ECHO" => self.send_frame(arg)?,
                "LS" | "LSR" => self.ls(shared, arg, req.name == "LSR")?,
                "LSV2DOWN" | "LSRV2DOWN" => self.lsv2down(shared, arg, req.name == "LSRV2DOWN")?,
                "LSV2" | "LSRV2" => self.lsv2(shared, arg, req.name == "LSRV2")?,
                "FSTAT" => self.fstat(shared, arg)?,
                "FSTATLS" => self.fstatls(shared, arg)?,
                "FSIZE" => {
                    let v = size_of(&lock(&shared.script), &norm(arg));
                    self.send_unit(&v.to_be_bytes())?
                }
                "FSIZELS" => {
                    let sizes: Vec<i64> = {
                        let sc = lock(&shared.script);
                        list_lines(&sc, arg).iter().map(|p| size_of(&sc, &norm(p))).collect()
                    };
                    for v in sizes {
                        self.send_unit(&v.to_be_bytes())?;
                    }
                    self.send_unit(&(-3i64).to_be_bytes())?
                }
                "SHA256" => self.sha256(shared, arg)?,
                "GET" => self.get(shared, arg)?,
                "GETCAN" if lock(&shared.script).getcan => self.getcan(shared, arg)?,
                "RCVFILE" => self.rcvfile(shared, arg)?,
                "SDOWN" => self.sdown(shared, arg)?,
                "SNDFILE" => self.sndfile(shared, arg)?,
                "PUT" => self.put(shared, arg)?,
                "MKDIR" => self.mkdir(shared, arg)?,
                "TFDDELTAGET" => self.deltaget(shared, arg)?,
                // TFDSECURE among them: an older server, so the legacy cipher stays
                _ => self.send_frame(b"UNKNOWN")?,
            }
            // (a command whose end the liar had to read a word for, as
            // GETCAN's stop, has flushed its answer already: the same test)
            if !self.client_spoke()? {
                lock(&shared.waited).push(line);
            }
            self.flush()?;
        }
    }

    /// LS/LSR (src/commands/listing.rs): `CONT <text>` chunks of at most
    /// MAX_CHUNK bytes, each answered by the client (`CONT`, or `BREAK`), then
    /// `OK`; an empty listing is `OK` alone.
    fn ls(&mut self, shared: &Shared, arg: &[u8], recursive: bool) -> Io<()> {
        let dir = norm(arg);
        if lock(&shared.script).endless.contains(&dir) {
            let mut n = 0u64;
            loop {
                let mut text = Vec::with_capacity(MAX_CHUNK);
                while text.len() + 64 < MAX_CHUNK {
                    text.extend_from_slice(format!("F: endless-{n}\n").as_bytes());
                    n += 1;
                }
                if !self.send_chunks(&text)? {
                    return self.send_frame(b"OK");
                }
            }
        }
        let text = {
            let sc = lock(&shared.script);
            if let Err(f) = sc.lists(&dir) {
                drop(sc);
                // tfd: a missing directory and a file are both 10
                let f = if f == Failed::NotADirectory {
                    Failed::NoSuchDir
                } else {
                    f
                };
                return self.send_failed(f);
            }
            sc.tagged(&dir, recursive)
        };
        self.send_chunks(&text)?;
        self.send_frame(b"OK")
    }

    /// The RCVFILE-style stream: a chunk, the client's answer, the next chunk.
    /// Returns false when the client broke it off.
    fn send_chunks(&mut self, data: &[u8]) -> Io<bool> {
        for chunk in data.chunks(MAX_CHUNK) {
            let mut f = Vec::with_capacity(chunk.len() + 5);
            f.extend_from_slice(b"CONT ");
            f.extend_from_slice(chunk);
            self.send_frame(&f)?;
            let answer = self.recv_frame(MAX_FRAME)?;
            if answer == b"BREAK" {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// LSV2DOWN/LSRV2DOWN: `OK`, then per line a raw i32 length and the line,
    /// each its own unit, then −10. Missing: 53; a file: 20.
    fn lsv2down(&mut self, shared: &Shared, arg: &[u8], recursive: bool) -> Io<()> {
        let dir = norm(arg);
        if lock(&shared.script).endless.contains(&dir) {
            self.send_frame(b"OK")?;
            for n in 0u64.. {
                let line = format!("{dir}/endless-{n}\n");
                self.send_unit(&(line.len() as i32).to_be_bytes())?;
                self.send_unit(line.as_bytes())?;
                self.flush_if_big()?;
            }
        }
        let mut lines: Vec<Vec<u8>> = Vec::new();
        {
            let sc = lock(&shared.script);
            match sc.lists(&dir) {
                Ok(()) => sc.rooted(&dir, recursive, &mut |l| lines.push(l.to_vec())),
                Err(Failed::NoSuchDir) => return self.send_failed(Failed::LsrV2),
                Err(f) => return self.send_failed(f),
            }
        }
        self.send_frame(b"OK")?;
        for l in &lines {
            self.send_unit(&(l.len() as i32).to_be_bytes())?;
            self.send_unit(l)?;
        }
        self.send_unit(&(-10i32).to_be_bytes())
    }

    /// LSV2/LSRV2 `<dir>@||@<file>`: the rooted listing stored as `file`.
    fn lsv2(&mut self, shared: &Shared, arg: &[u8], recursive: bool) -> Io<()> {
        let Some((dir, file)) = command::split_lsv2(arg) else {
            return self.send_failed(Failed::MissingParameter);
        };
        let (dir, file) = (norm(dir), norm(file));
        let mut sc = lock(&shared.script);
        let mut text = Vec::new();
        let f = match sc.lists(&dir) {
            Ok(()) => {
                sc.rooted(&dir, recursive, &mut |l| text.extend_from_slice(l));
                None
            }
            Err(Failed::NoSuchDir) => Some(Failed::LsrV2),
            Err(f) => Some(f),
        };
        if let Some(f) = f {
            drop(sc);
            return self.send_failed(f);
        }
        sc.set_file(&file, text);
        drop(sc);
        self.send_frame(b"OK")
    }

    /// FSTAT: `OK <D|F> <size> <atime> <mtime>`, missing → 9.
    fn fstat(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        if arg.is_empty() {
            return self.send_failed(Failed::MissingParameter);
        }
        let st = stat_of(&lock(&shared.script), &norm(arg));
        match st {
            Some((kind, size)) => {
                let t = if kind == FileType::Dir { 'D' } else { 'F' };
                self.send_frame(format!("OK {t} {size} {MTIME} {MTIME}").as_bytes())
            }
            None => self.send_failed(Failed::NoSuchFile),
        }
    }

    /// FSTATLS `<listfile>`: one 26-byte record per line of the (virtual)
    /// list file, each its own unit, then the end record.
    fn fstatls(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        if lock(&shared.script).endless.contains(&norm(arg)) {
            let r = StatRecord::Stat {
                kind: FileType::Regular,
                size: 1,
                atime: MTIME,
                mtime: MTIME,
            }
            .encode();
            loop {
                self.send_unit(&r)?;
                self.flush_if_big()?;
            }
        }
        let records: Vec<[u8; 26]> = {
            let sc = lock(&shared.script);
            list_lines(&sc, arg)
                .iter()
                .map(|p| match stat_of(&sc, &norm(p)) {
                    Some((kind, size)) => StatRecord::Stat {
                        kind,
                        size,
                        atime: MTIME,
                        mtime: MTIME,
                    }
                    .encode(),
                    None => StatRecord::Fail.encode(),
                })
                .collect()
        };
        for r in &records {
            self.send_unit(r)?;
        }
        self.send_unit(&StatRecord::End.encode())
    }

    fn sha256(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        use sha2::{Digest, Sha256};
        let node = lock(&shared.script).file_at(&norm(arg));
        match node {
            Some(Node::File(c)) => {
                let d: [u8; 32] = Sha256::digest(&c).into();
                let text = tfp_wire::sha256_text(&d);
                self.send_frame(&[&b"OK "[..], &text].concat())
            }
            _ => self.send_failed(Failed::Sha256),
        }
    }

    /// The bytes a download of `path` sends, or the failure tfd gives.
    fn download(&self, shared: &Shared, path: &str, missing: Failed, dir: Failed) -> Result<Vec<u8>, Failed> {
        let sc = lock(&shared.script);
        match sc.file_at(path) {
            Some(Node::File(c)) => Ok(sc.sent_bytes(path, &c)),
            Some(Node::Dir) => Err(dir),
            None => Err(missing),
        }
    }

    /// An HPF download's request read and its file found, the grant sent;
    /// None when it was refused (the refusal sent).
    fn hpf_open(&mut self, shared: &Shared, arg: &[u8], can: bool) -> Io<Option<Opened>> {
        let Some(req) = hpf::parse(arg, can) else {
            self.send_failed(Failed::MissingParameter)?;
            return Ok(None);
        };
        if req.bufsz <= 0 {
            self.send_failed(Failed::HpfBuffer)?;
            return Ok(None);
        }
        let data = match self.download(shared, &norm(req.path), Failed::HpfOpen, Failed::HpfOpen) {
            Ok(d) => d,
            Err(f) => {
                self.send_failed(f)?;
                return Ok(None);
            }
        };
        let grant = req.bufsz.min(MAX_GRANT);
        self.send_frame(&[&b"OK "[..], &grant.to_be_bytes()].concat())?;
        let from = usize::try_from(req.offset).unwrap_or(usize::MAX).min(data.len());
        Ok(Some(Opened {
            data,
            from,
            grant,
            canpt: req.canpt.unwrap_or(0),
        }))
    }

    /// GET `<path> <offset,bufsz>` (src/commands/hpf.rs): `OK <i64 grant>`, then
    /// `[i64 len][data]` units, 0, the client's FIN (−127), our FIN.
    fn get(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        let Some(Opened { data, from, grant, .. }) = self.hpf_open(shared, arg, false)? else {
            return Ok(());
        };
        // a client that has its range cancels (−2) then FINs; as tfd, no end
        // code follows a cancel
        let (mut cancelled, mut fin) = (false, false);
        for chunk in data[from..].chunks(grant as usize) {
            if self.client_spoke()? {
                match self.recv_i64()? {
                    hpf::code::CANCEL => cancelled = true,
                    hpf::code::FIN => (cancelled, fin) = (true, true),
                    _ => {
                        shared.spoke_mid_get.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
                if cancelled {
                    break;
                }
            }
            self.send_unit(&(chunk.len() as i64).to_be_bytes())?;
            self.send_unit(chunk)?;
        }
        if !cancelled {
            self.send_unit(&hpf::code::END.to_be_bytes())?;
        }
        while !fin {
            fin = self.recv_i64()? == hpf::code::FIN;
        }
        self.send_unit(&hpf::code::FIN.to_be_bytes())
    }

    /// GETCAN `<path> <offset,bufsz,canpt>` as tfd serves it
    /// (src/commands/hpf.rs): `OK <grant>`, chunks, after every `canpt` of
    /// them the client's word (CONT goes on, anything else stops, silently),
    /// 0 at the end of the file, no FIN.
    fn getcan(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        let Some(Opened {
            data,
            from,
            grant,
            canpt,
        }) = self.hpf_open(shared, arg, true)?
        else {
            return Ok(());
        };
        let (grant, mut pos) = (grant as usize, from);
        let mut chunks = 0u64;
        while pos < data.len() {
            let chunk = &data[pos..data.len().min(pos + grant)];
            self.send_unit(&(chunk.len() as i64).to_be_bytes())?;
            self.send_unit(chunk)?;
            pos += chunk.len();
            chunks += 1;
            if canpt > 0 && chunks % canpt == 0 && self.recv_i64()? != hpf::code::CONT {
                return Ok(());
            }
        }
        self.send_unit(&hpf::code::END.to_be_bytes())
    }

    /// Whether the client has sent something not yet read (GET's cancel),
    /// without waiting for it.
    fn client_spoke(&mut self) -> Io<bool> {
        if !self.rd.buffer().is_empty() {
            return Ok(true);
        }
        let s = self.rd.get_ref();
        s.set_nonblocking(true)?;
        let mut b = [0u8; 1];
        let r = s.peek(&mut b);
        s.set_nonblocking(false)?;
        match r {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// RCVFILE `<0|1> <path>`: the chunk stream, then `OK`; missing → 9, a
    /// directory → 8.
    fn rcvfile(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        let Some((_, path)) = command::split_space(arg) else {
            return self.send_failed(Failed::MissingParameter);
        };
        let p = norm(path);
        let endless = {
            let sc = lock(&shared.script);
            sc.endless.contains(&p) && sc.file_at(&p).is_none()
        };
        if endless {
            // a list file that never ends: `p/endless-N` lines
            let mut n = 0u64;
            loop {
                let mut text = Vec::with_capacity(MAX_CHUNK);
                while text.len() + 64 < MAX_CHUNK {
                    text.extend_from_slice(format!("{p}/endless-{n}\n").as_bytes());
                    n += 1;
                }
                if !self.send_chunks(&text)? {
                    return self.send_frame(b"OK");
                }
            }
        }
        match self.download(shared, &norm(path), Failed::NoSuchFile, Failed::IsDirectory) {
            Ok(d) => {
                self.send_chunks(&d)?;
                self.send_frame(b"OK")
            }
            Err(f) => self.send_failed(f),
        }
    }

    /// SDOWN `<path>`: `[i32 len][data]` units, then 0; −1 alone when it
    /// cannot be read.
    fn sdown(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        match self.download(shared, &norm(arg), Failed::NoSuchFile, Failed::IsDirectory) {
            Ok(d) => {
                for chunk in d.chunks(MAX_FRAME) {
                    self.send_unit(&(chunk.len() as i32).to_be_bytes())?;
                    self.send_unit(chunk)?;
                }
                self.send_unit(&0i32.to_be_bytes())
            }
            Err(_) => self.send_unit(&(-1i32).to_be_bytes()),
        }
    }

    /// SNDFILE `<0|1> <path>`: `CONT`, then each `CONT <data>` frame answered
    /// `CONT`, the client's `OK` (keep) or `BREAK` (drop) answered `OK`.
    fn sndfile(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        let Some((flag, path)) = command::split_space(arg) else {
            return self.send_failed(Failed::MissingParameter);
        };
        let path = norm(path);
        if lock(&shared.script).tree.contains_key(&path) && !flag.starts_with(b"1") {
            return self.send_failed(Failed::FileExists);
        }
        self.send_frame(b"CONT")?;
        let mut data = Vec::new();
        loop {
            let f = self.recv_frame(MAX_FRAME)?;
            let (word, rest) = match f.iter().position(|&b| b == b' ') {
                Some(i) => (&f[..i], &f[i + 1..]),
                None => (&f[..], &f[f.len()..]),
            };
            match word {
                b"OK" => {
                    lock(&shared.script).set_file(&path, data);
                    break;
                }
                b"BREAK" => break,
                _ => {
                    data.extend_from_slice(rest);
                    self.send_frame(b"CONT")?;
                }
            }
        }
        self.send_frame(b"OK")
    }

    /// PUT `<path> <offset,bufsz>`: `OK <grant>`, `[i64 len][data]` units to
    /// 0, our FIN, the client's FIN. Writes in place at the offset.
    fn put(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        let Some(req) = hpf::parse(arg, false) else {
            return self.send_failed(Failed::MissingParameter);
        };
        if req.bufsz <= 0 {
            return self.send_failed(Failed::HpfBuffer);
        }
        let path = norm(req.path);
        let grant = req.bufsz.min(MAX_GRANT);
        self.send_frame(&[&b"OK "[..], &grant.to_be_bytes()].concat())?;
        let mut data = match lock(&shared.script).tree.get(&path) {
            Some(Node::File(c)) => c.clone(),
            _ => Vec::new(),
        };
        let mut at = usize::try_from(req.offset).map_err(bad)?;
        let end = loop {
            let len = self.recv_i64()?;
            if len <= 0 {
                break len;
            }
            if len > grant {
                return Err(bad("PUT chunk over the grant"));
            }
            let chunk = self.recv_unit(len as usize)?;
            if data.len() < at + chunk.len() {
                data.resize(at + chunk.len(), 0);
            }
            data[at..at + chunk.len()].copy_from_slice(&chunk);
            at += chunk.len();
        };
        if end == hpf::code::END || end == hpf::code::STOP {
            lock(&shared.script).set_file(&path, data);
        }
        self.send_unit(&hpf::code::FIN.to_be_bytes())?;
        if end != hpf::code::FIN {
            loop {
                match self.recv_i64()? {
                    hpf::code::FIN => break,
                    n if n > 0 && n <= grant => {
                        self.recv_unit(n as usize)?;
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// MKDIR: OK, or 4 when it exists, 1 when its parent does not.
    fn mkdir(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        let p = norm(arg);
        let mut sc = lock(&shared.script);
        let parent = p.rsplit_once('/').map_or("", |(a, _)| a).to_string();
        let f = if sc.tree.contains_key(&p) {
            Some(Failed::DirExists)
        } else if sc.tree.get(&parent) != Some(&Node::Dir) || p.split('/').any(|c| c == "..") {
            Some(Failed::AccessDenied)
        } else {
            sc.tree.insert(p, Node::Dir);
            None
        };
        drop(sc);
        match f {
            Some(f) => self.send_failed(f),
            None => self.send_frame(b"OK"),
        }
    }
}

/// What FSTAT and FSTATLS report for `p`: its type and (claimed) size.
fn stat_of(sc: &Script, p: &str) -> Option<(FileType, u64)> {
    match sc.file_at(p)? {
        Node::Dir => Some((FileType::Dir, 4096)),
        Node::File(c) => Some((FileType::Regular, sc.claimed_size(p, c.len()))),
    }
}

/// FSIZE's answer: the (claimed) size, −2 for a directory, −1 when missing.
fn size_of(sc: &Script, p: &str) -> i64 {
    match sc.file_at(p) {
        Some(Node::File(c)) => i64::try_from(sc.claimed_size(p, c.len())).unwrap_or(i64::MAX),
        Some(Node::Dir) => -2,
        None => -1,
    }
}

/// The lines of a list file in the tree (FSTATLS, FSIZELS), without their
/// `\n` or `\r\n`; none when it is not a file the tree holds.
fn list_lines(sc: &Script, arg: &[u8]) -> Vec<Vec<u8>> {
    let Some(Node::File(c)) = sc.tree.get(&norm(arg)) else {
        return Vec::new();
    };
    let body = c.strip_suffix(b"\n").unwrap_or(c);
    if body.is_empty() {
        return Vec::new();
    }
    body.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .collect()
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
