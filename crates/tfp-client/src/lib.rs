//! A blocking TF Protocol client on the same wire code as the server: used by the
//! `tf` CLI, the tests and the benchmarks.
//!
//! A session is a [`Client`], made by [`Client::builder`] (or
//! [`Client::connect`] with a [`ClientConfig`]). Every command is a method
//! returning `Result<T, Error>`: `T` is what the answer means (a [`Stat`], a
//! [`Digest`], a [`Listing`], the bytes received), and a command the server
//! refused with `FAILED n : text` or `UNKNOWN` is [`Error::Refused`], whose
//! [`Refusal`] carries the [`Code`] to match on. The session goes on after a
//! refusal ([`Error::session_usable`]). Only the raw escape hatches
//! [`Client::command`], [`Client::call`] and [`Client::raw`] return a reply
//! as it came.
//!
//! ```no_run
//! use tfp_client::{Client, Code, Error, Failed, Kind, Refusal};
//!
//! let mut c = Client::builder("127.0.0.1:10345")
//!     .key_file("public.pem")
//!     .hash("app-hash")
//!     .connect()?;
//! c.mkdir("reports")?;
//! c.sndfile(b"reports/q1.txt", true, &mut &b"42\n"[..], &mut |_| {})?;
//! for e in c.listdir("reports")? {
//!     let kind = if e.kind == Kind::Dir { "dir " } else { "file" };
//!     println!("{kind} {}", String::from_utf8_lossy(&e.rel));
//! }
//! println!("{}", c.sha256("reports/q1.txt")?);
//! match c.del("reports/missing.txt") {
//!     Err(Error::Refused(Refusal { code: Code::Known(Failed::NoSuchFile), .. })) => {
//!         println!("nothing to delete")
//!     }
//!     other => other?,
//! }
//! c.end()?;
//! # Ok::<(), Error>(())
//! ```
//!
//! Refusals can be told apart offline too:
//!
//! ```
//! use tfp_client::{Code, Error, Failed, Status};
//!
//! let e = Error::refused("DEL", Status::parse(b"FAILED 9 : File does not exist."));
//! assert!(matches!(e.code(), Some(Code::Known(Failed::NoSuchFile))));
//! assert_eq!(e.to_string(), "the server refused DEL: FAILED 9 : File does not exist.");
//! // the server's text is escaped: it cannot drive the terminal
//! let e = Error::refused("DEL", Status::parse(b"FAILED 250 : \x1b]0;owned\x07"));
//! assert_eq!(e.code(), Some(Code::Other(250)));
//! assert_eq!(e.to_string(), "the server refused DEL: FAILED 250 : \\u{1b}]0;owned\\u{7}");
//! let e = Error::refused("TFDSPACE", Status::Unknown);
//! assert_eq!(e.code(), Some(Code::Unknown));
//! assert_eq!(e.to_string(), "the server does not know TFDSPACE (UNKNOWN)");
//! ```
#![warn(missing_docs)]

pub mod auth;
pub mod backup;
pub mod builder;
pub mod bwlimit;
pub mod cancel_points;
pub mod caps;
pub mod ceiling;
mod ciphers;
pub mod compress;
pub mod confine;
pub mod credentials;
pub mod dial;
pub mod engine;
pub mod error;
pub mod escape;
pub mod fai_cache;
pub mod host_key;
pub mod interrupt;
pub mod intrw;
pub mod known_servers;
pub mod leftovers;
pub mod local_zone;
pub mod meter;
pub mod netlock;
pub mod notify;
pub mod parallel;
pub mod pattern_ops;
pub mod pinned;
pub mod remote;
pub mod replies;
pub mod retry;
pub mod secfs;
pub mod secret_files;
pub mod session;
pub mod session_end;
pub mod shares;
pub mod space;
pub mod spare;
pub mod sparse;
pub mod state_home;
pub mod temporaries;
pub mod transfer;
pub mod tree;
pub mod tz;
pub mod v251;

use caps::{Caps, Ext};
use openssl::pkey::Public;
use openssl::rsa::Rsa;
use std::io::{self, Write};
use std::net::TcpStream;
use std::time::Duration;
use tfp_channel::Channel;
use tfp_wire::{handshake as hs, MAX_CHUNK, MAX_FRAME};

/// Downloaded chunks of at least this size, aligned, are written to local files
/// past the page cache (as tfd's default `direct_io_min`): a 1 GiB download
/// otherwise costs the client more CPU in page-cache copies than the transfer
/// can spare beside the cipher.
pub const DIRECT_WRITE_MIN: usize = 1 << 20;

pub use builder::Builder;
pub use cancel_points::{CanEvent, CanOutcome, Flow};
pub use confine::ScriptRun;
pub use credentials::{Credentials, FaiToken};
pub use error::{Error, Kept, Refusal};
pub use netlock::LockId;
pub use remote::listing::{Entry, Kind, Stat};
pub use session::{Digest, Listing};
pub use space::Space;
pub use tfp_channel::Meter;
pub use tfp_wire::fstat::FileType;
pub use tfp_wire::{Code, Failed, Status};
pub use transfer::LineSize;
pub use tz::ZonedTime;

/// Connection parameters.
#[derive(Clone)]
pub struct ClientConfig {
    /// `host:port`.
    pub server: String,
    /// The server's public key, PEM.
    pub pubkey_pem: Vec<u8>,
    /// The application hash.
    pub hash: String,
    /// The protocol version string.
    pub proto: String,
    /// Session key length, 16..=214.
    pub key_len: usize,
    /// Connect and I/O timeout (None: block forever).
    pub timeout: Option<Duration>,
    /// Switch to AES-256-CBC (GOAES) right after the handshake; a server that
    /// refuses it is an error.
    pub aes: bool,
    /// Whether to move to tfd's secure transport after the handshake.
    pub transport: Transport,
    /// The secure transport rekeys after this many bytes each way (tests make
    /// it small to see rekeying happen).
    pub rekey_after: u64,
    /// Bytes written before the handshake: a PROXY protocol header as a
    /// balancer writes one (for tests that play the balancer; a client never
    /// sends one itself).
    pub preamble: Option<Vec<u8>>,
    /// The local address to connect from (tests: several client addresses on
    /// loopback).
    pub bind: Option<std::net::IpAddr>,
    /// LOGIN right after the handshake (a multi-user server): every
    /// connection of the config, the extra ones of parallel transfers too.
    pub login: Option<Credentials>,
    /// Key login right after the handshake, before any LOGIN: the keys are
    /// offered in order, and `login`'s password is sent only when none was
    /// accepted ([`auth`]).
    pub keys: Option<std::sync::Arc<auth::KeyLogin>>,
    /// INJAIL `(token, dir)` after the LOGIN (or right after the handshake).
    pub jail: Option<(String, String)>,
    /// Stops the operation running with this config: its connections are
    /// watched, and none opens after [`interrupt::Cancel::fire`].
    pub cancel: Option<interrupt::Cancel>,
    /// Shown the running byte count of each half of every connection the
    /// config opens, as bytes move (every 256 KiB): a
    /// program that reports progress is woken by the transfer itself rather
    /// than looking at its counters on a clock.
    pub meter: Option<std::sync::Arc<dyn tfp_channel::Meter>>,
    /// Whether downloads ask for compressed data (doc/compatibility.md
    /// "Compression"): by measurement (`Auto`, only on a slow link, as
    /// [`engine::route::compresses`] says), forced (`-z`), or never.
    pub compress: tfp_wire::compress::Choice,
    /// The bandwidth limit every connection of the config shares
    /// ([`bwlimit`]); None: none.
    pub pace: Option<std::sync::Arc<tfp_channel::bandwidth::Pace>>,
    /// Connect over this address family only (None: the name's first address).
    pub family: Option<dial::Family>,
    /// TFDBACKUP, sent on every connection once entered (`--backup` of an upload).
    pub backup: Option<tfp_wire::backup::Backup>,
    /// `-S`: a file's holes are neither sent nor fetched, and made again
    /// where it lands (staged uploads and the engine's downloads, [`sparse`]).
    pub sparse: bool,
    /// `-X`: a tree's files and directories get their source's extended
    /// attributes after the copy (`tree::mirror`'s last step).
    pub xattrs: bool,
    /// `-A`: a tree's files and directories get their source's POSIX ACLs
    /// after the copy and its modes (`tree::mirror`'s last step).
    pub acls: bool,
    /// Ask the session's features (`TFDFEATURES`) with the last step of its
    /// entry ([`caps`]): on unless a raw driver of the protocol wants every
    /// frame its own (such a session has none of tfd's extensions).
    pub negotiate: bool,
    /// The parsed public key and the PEM it came from, shared by clones: parsing
    /// the PEM costs a client more than the RSA operation itself.
    parsed: std::sync::Arc<std::sync::Mutex<Option<ParsedKey>>>,
}

impl ClientConfig {
    /// Defaults: protocol 2.4.1, a 32-byte session key, 30 s timeouts.
    pub fn new(server: &str, pubkey_pem: Vec<u8>, hash: &str) -> ClientConfig {
        ClientConfig {
            server: server.to_string(),
            pubkey_pem,
            hash: hash.to_string(),
            proto: "2.4.1".into(),
            key_len: 32,
            timeout: Some(Duration::from_secs(30)),
            aes: false,
            transport: Transport::Prefer,
            rekey_after: tfp_wire::record::REKEY_AFTER,
            preamble: None,
            bind: None,
            login: None,
            keys: None,
            jail: None,
            backup: None,
            sparse: false,
            xattrs: false,
            acls: false,
            cancel: None,
            meter: None,
            compress: Default::default(),
            pace: None,
            family: None,
            negotiate: true,
            parsed: Default::default(),
        }
    }

    /// The server's public key, parsed once per PEM.
    fn public_key(&self) -> Result<Rsa<Public>, Error> {
        let mut cache = self.parsed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((pem, rsa)) = cache.as_ref() {
            if *pem == self.pubkey_pem {
                return Ok(rsa.clone());
            }
        }
        let rsa = Rsa::public_key_from_pem(&self.pubkey_pem)
            .or_else(|_| Rsa::public_key_from_pem_pkcs1(&self.pubkey_pem))
            .map_err(|e| Error::Key(e.to_string()))?;
        *cache = Some((self.pubkey_pem.clone(), rsa.clone()));
        Ok(rsa)
    }
}

/// Which transport a client asks for after the handshake (doc/secure-transport.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The protocol's own ciphers only (`tf --legacy`).
    Legacy,
    /// The secure transport when the server offers it, else the legacy one
    /// (the default).
    Prefer,
    /// The secure transport or no session (`tf --secure`).
    Require,
}

/// An upgrade request sent, its answer not yet read.
struct Upgrade {
    suite: tfp_wire::noise::Suite,
    init: tfp_wire::noise::Initiator,
}

/// The handshake sent in one flight, its answers not yet read.
struct Flight {
    chan: Channel,
    /// The receiving side's cipher, started once the key's `OK` is read.
    rx: tfp_wire::Cipher,
    /// The upgrade request behind the hash, if one was sent.
    upgrade: Option<Upgrade>,
    /// `TFDFEATURES` went behind the hash ([`caps::in_flight`]).
    features: bool,
}

/// A public key as parsed from its PEM (kept with the PEM, to notice a change).
type ParsedKey = (Vec<u8>, Rsa<Public>);

/// A connected, encrypted session.
pub struct Client {
    /// The channel (public so tests can drive raw units).
    pub chan: Channel,
    /// The secure transport's Noise suite, when it is on.
    suite: Option<tfp_wire::noise::Suite>,
    /// The FAI token with its next key, after a [`Builder::fai`] entrance.
    next_fai: Option<FaiToken>,
    /// What this session knows of tfd's extensions: told once, read-only
    /// after ([`caps`]).
    pub(crate) caps: Caps,
    /// The secure transport's handshake hash, once it is on: what a key
    /// login's signature is bound to.
    binding: Option<[u8; tfp_wire::noise::LEN]>,
    /// The key that logged the session in ([`Client::key_name`]).
    key_name: Option<String>,
    /// Whether tfd's listings are asked compressed: the run's `--compress`
    /// ([`remote::zlisting`]).
    pub(crate) listings: tfp_wire::compress::Choice,
}

impl Client {
    /// Connects and runs the handshake: the version, the RSA-encrypted
    /// session key, the hash and the upgrade request leave in one write, then
    /// their answers are read in order (see [`Client::rsa_steps`]).
    pub fn connect(cfg: &ClientConfig) -> Result<Client, Error> {
        let rsa = cfg.public_key()?;
        // the key and its envelope before the connection, so nothing stands
        // between the TCP handshake and the flight
        let mut key = vec![0u8; cfg.key_len.clamp(hs::KEY_MIN, hs::KEY_MAX)];
        getrandom::getrandom(&mut key).map_err(|e| Error::Key(e.to_string()))?;
        let sent = hs::encrypt_session_key(&rsa, &key)
            .map_err(|e| Error::Key(e.to_string()))
            .and_then(|enc| Self::send_flight(cfg, Self::open(cfg)?, &enc, &key));
        key.fill(0);
        Self::rsa_steps(cfg, sent?)
    }

    /// The TCP connection with the configured timeouts.
    fn open(cfg: &ClientConfig) -> Result<Channel, Error> {
        let addr = dial::address(&cfg.server, cfg.family)?;
        if cfg.cancel.as_ref().is_some_and(interrupt::Cancel::fired) {
            return Err(Error::Local(io::Error::new(io::ErrorKind::Interrupted, "interrupted")));
        }
        let stream = match (cfg.bind, cfg.timeout) {
            (Some(ip), _) => dial::connect_from(ip, addr)?,
            (None, Some(t)) => TcpStream::connect_timeout(&addr, t)?,
            (None, None) => TcpStream::connect(addr)?,
        };
        interrupt::watch(&stream);
        if let Some(c) = &cfg.cancel {
            c.watch(&stream);
        }
        stream.set_read_timeout(cfg.timeout)?;
        stream.set_write_timeout(cfg.timeout)?;
        if let Some(pre) = &cfg.preamble {
            use std::io::Write;
            (&stream).write_all(pre)?;
        }
        let mut chan = Channel::new(stream)?;
        chan.set_pace(cfg.pace.clone());
        if let Some(m) = &cfg.meter {
            chan.rx.set_meter(m.clone());
            chan.tx.set_meter(m.clone());
        }
        Ok(chan)
    }

    /// Sends the whole ordinary handshake as one flight: the version, the
    /// session key under the server's public key (known in advance), the hash
    /// under the session key, and the upgrade request bound to it. No frame
    /// depends on an answer, and a server reads each frame by its length (the
    /// reference as tfd), so the later ones wait in its socket until it gets
    /// to them: two round trips before the first command (TCP's and this one)
    /// instead of four. A server that refuses a step answers FAILED and
    /// closes with our later frames unread; its kernel then resets the
    /// connection, but the refusal came first and is read before the reset
    /// is seen ([`Client::rsa_steps`]).
    fn send_flight(cfg: &ClientConfig, mut chan: Channel, enc: &[u8], key: &[u8]) -> Result<Flight, Error> {
        chan.tx.hold();
        chan.tx.send_frame(cfg.proto.as_bytes())?;
        chan.tx.send_frame(enc)?;
        // the sending side enciphers from the hash on; the answers to the
        // version and the key come in plaintext, so the receiving side
        // starts only after them
        chan.tx.set_cipher(tfp_wire::Cipher::new(key));
        chan.tx.send_frame(cfg.hash.as_bytes())?;
        let features = caps::in_flight(&mut chan, cfg)?;
        // an older server answers the request UNKNOWN
        let upgrade = Self::upgrade_request(&mut chan, key, cfg)?;
        chan.tx.release()?;
        Ok(Flight {
            chan,
            rx: tfp_wire::Cipher::new(key),
            upgrade,
            features,
        })
    }

    /// Reads the answers to [`Client::send_flight`]'s frames in order, each
    /// refusal reported as the step it refused, then finishes the upgrade,
    /// GOAES, LOGIN and INJAIL as `cfg` asks.
    fn rsa_steps(cfg: &ClientConfig, flight: Flight) -> Result<Client, Error> {
        let Flight {
            mut chan,
            rx,
            upgrade,
            features,
        } = flight;
        expect_ok(&mut chan, "version")?;
        expect_ok(&mut chan, "session key")?;
        chan.rx.set_cipher(rx);
        let keys_only = expect_ok(&mut chan, "hash")? == tfp_wire::keylogin::HASH_KEYS_ONLY;
        let mut c = Client {
            chan,
            suite: None,
            next_fai: None,
            caps: Caps::entering(cfg.negotiate, cfg.jail.is_some()),
            binding: None,
            key_name: None,
            listings: cfg.compress,
        };
        if features {
            caps::flight_answer(&mut c)?;
        }
        if let Some(up) = upgrade {
            c.upgrade_finish(up, cfg)?;
        }
        if cfg.aes {
            match c.goaes() {
                Err(Error::Refused(r)) => return Err(Error::Protocol(format!("GOAES refused: {:?}", r.reply))),
                r => r?,
            }
        }
        c.enter(cfg, keys_only)?;
        Ok(c)
    }

    /// LOGIN and INJAIL as `cfg` asks (and the key login a single-user
    /// server asked for in its answer to the hash: `keys_only`); a refusal is
    /// `Error::Handshake("login" | "key login" | "injail", ..)`. The LOGIN
    /// line is built in a buffer wiped afterwards.
    fn enter(&mut self, cfg: &ClientConfig, keys_only: bool) -> Result<(), Error> {
        let by_key = match cfg.keys.as_deref() {
            Some(kl) if keys_only => self.keys_only_login(kl).map(|()| true)?,
            Some(kl) if !kl.when_asked => match self.key_login(kl)? {
                auth::Outcome::In(..) => true,
                auth::Outcome::Refused(_) | auth::Outcome::Unsupported if cfg.login.is_none() => {
                    return Err(Error::Handshake("login", Status::parse(&Failed::LoginFailed.to_wire())))
                }
                _ => false,
            },
            _ => false,
        };
        if let Some(cr) = cfg.login.as_ref().filter(|_| !by_key) {
            let mut line = Vec::with_capacity(7 + cr.user.len() + cr.password.len());
            line.extend_from_slice(b"LOGIN ");
            line.extend_from_slice(cr.user.as_bytes());
            line.push(b' ');
            line.extend_from_slice(&cr.password);
            let st = caps::entry_step(self, &line, self.caps.login_ends_entry());
            line.fill(0);
            match Status::parse(&st?) {
                Status::Ok(_) => {}
                st => return Err(Error::Handshake("login", st)),
            }
        }
        if let Some((token, dir)) = &cfg.jail {
            match Status::parse(&caps::entry_step(
                self,
                format!("INJAIL {token} | {dir}").as_bytes(),
                true,
            )?) {
                Status::Ok(_) => {}
                st => return Err(Error::Handshake("injail", st)),
            }
        }
        // an entry none of whose steps carried the question
        caps::ask_ahead(self)?;
        engine::backup::on_entry(self, cfg)
    }

    /// Connects through the Fast Access Interface: `FAI://<token>` instead of
    /// the version, no RSA, no hash; the session runs under `fai.key` and the
    /// server sends the next key at once. Returns the session and the token
    /// with that next key (store it: the used key no longer opens anything).
    /// A refused entrance (FAILED 68/69) is `Error::Handshake("fai", ..)`.
    /// As with [`Client::send_flight`], the token and the upgrade request
    /// (under `fai.key`, known in advance) leave in one write.
    pub fn connect_fai(cfg: &ClientConfig, fai: &FaiToken) -> Result<(Client, FaiToken), Error> {
        let mut chan = Self::open(cfg)?;
        chan.tx.hold();
        chan.tx
            .send_frame(&[tfp_wire::fai::PREFIX, fai.token.as_bytes()].concat())?;
        // bound to the key this session runs under, as after RSA; the answer
        // to the token comes in plaintext, so only the sending side starts
        chan.tx.set_cipher(tfp_wire::Cipher::new(&fai.key));
        let upgrade = Self::upgrade_request(&mut chan, &fai.key, cfg)?;
        chan.tx.release()?;
        expect_ok(&mut chan, "fai")?;
        chan.rx.set_cipher(tfp_wire::Cipher::new(&fai.key));
        let next = chan.rx.recv_frame_max(1024)?;
        let key = tfp_wire::fai::decode_key(&next)
            .ok_or_else(|| Error::Protocol("the FAI entrance sent no usable next key".into()))?;
        let mut c = Client {
            chan,
            suite: None,
            next_fai: None,
            caps: Caps::entering(cfg.negotiate, cfg.jail.is_some()),
            binding: None,
            key_name: None,
            listings: cfg.compress,
        };
        if let Some(up) = upgrade {
            c.upgrade_finish(up, cfg)?;
        }
        if cfg.aes {
            match c.goaes() {
                Err(Error::Refused(r)) => return Err(Error::Protocol(format!("GOAES refused: {:?}", r.reply))),
                r => r?,
            }
        }
        caps::ask_ahead(&mut c)?;
        engine::backup::on_entry(&mut c, cfg)?;
        Ok((
            c,
            FaiToken {
                token: fai.token.clone(),
                expiry: fai.expiry,
                key,
            },
        ))
    }

    /// `FAITOK <minutes>`: a token for this session's user (and jail).
    pub fn faitok(&mut self, minutes: u32) -> Result<FaiToken, Error> {
        let data = error::ok("FAITOK", self.call("FAITOK", minutes.to_string().as_bytes())?)?;
        let (expiry, token, key) = tfp_wire::fai::parse_faitok_reply(&data)
            .ok_or_else(|| Error::Protocol("malformed FAITOK answer".into()))?;
        Ok(FaiToken {
            token: String::from_utf8_lossy(&token).into_owned(),
            expiry,
            key,
        })
    }

    /// Raw: sends one command frame and reads one reply frame, returned as it
    /// came (a FAILED or UNKNOWN reply is `Ok`, not [`Error::Refused`]).
    pub fn command(&mut self, line: &[u8]) -> Result<Status, Error> {
        self.chan.tx.send_frame(line)?;
        Ok(Status::parse(&self.chan.rx.recv_frame()?))
    }

    /// Makes this session's tree transfers go file by file, as with a server
    /// without tfd's batches (TFDPUTMANY and TFDGETMANY are then never sent
    /// on it): for a
    /// server known to mishandle them, and for tests of that path.
    pub fn without_batches(&mut self) {
        self.caps.without(Ext::PutMany);
        self.caps.without(Ext::GetMany);
    }

    /// Makes this session's mirrors list the remote tree with LSR and
    /// FSTATs, as with a server without tfd's TFDLIST (never sent on it):
    /// for tests of that path.
    pub fn without_tfdlist(&mut self) {
        self.caps.without(Ext::TfdList);
        self.caps.without(Ext::TfdNames);
    }

    /// Takes `from`, another session's caps of the same server and user,
    /// where that one was told them (a pool session takes its caller's).
    pub(crate) fn adopt_caps(&mut self, from: &Caps) {
        self.caps.adopt(from);
    }

    /// What this session knows of tfd's own extensions, settled by its
    /// entry (read here where the answer came after it): all the server
    /// told, or none (a server that told nothing).
    pub fn caps(&mut self) -> Caps {
        caps::settle(self);
        self.caps
    }

    /// Raw: sends `NAME arg` and returns the reply as it came.
    pub fn call(&mut self, name: &str, arg: &[u8]) -> Result<Status, Error> {
        let mut line = name.as_bytes().to_vec();
        line.push(b' ');
        line.extend_from_slice(arg);
        self.command(&line)
    }

    /// Raw: sends a frame and returns the reply frame unparsed.
    pub fn raw(&mut self, line: &[u8]) -> Result<Vec<u8>, Error> {
        self.chan.tx.send_frame(line)?;
        Ok(self.chan.rx.recv_frame()?)
    }

    /// Receives a RCVFILE-style stream into `out` after the command was sent:
    /// answers each `CONT` chunk with `CONT` (as soon as its first word is read)
    /// until the final status, which it returns.
    pub fn recv_chunks(&mut self, out: &mut dyn Write) -> Result<Status, Error> {
        let mut data = Vec::new();
        loop {
            let mut head = [0u8; 5];
            let mut part = self.chan.rx.begin_frame(MAX_FRAME, &mut head)?;
            if part.filled() < head.len() || &head != b"CONT " {
                // the final status: read it whole
                let filled = part.filled();
                let mut f = head[..filled].to_vec();
                f.resize(part.len(), 0);
                self.chan.rx.read_frame_part(&mut part, &mut f[filled..])?;
                return Ok(Status::parse(&f));
            }
            if part.left() > MAX_CHUNK {
                return Err(Error::Protocol("chunk over the maximum".into()));
            }
            // answer at once: the server sends the next chunk while this one is
            // deciphered and stored
            self.chan.tx.send_frame(b"CONT")?;
            data.resize(part.left(), 0);
            self.chan.rx.read_frame_part(&mut part, &mut data)?;
            out.write_all(&data).map_err(Error::Local)?;
        }
    }

    /// `LS`/`LSR`: the listing text as the server sent it (`D: dir/`, `F:
    /// file`, `U: other` a line; [`Client::listdir`] parses it). A listing past
    /// [`tree::MAX_LISTING_BYTES`] (a server streaming one for ever) is broken
    /// off as a protocol error, and the session with it (the rest is unread).
    pub fn list(&mut self, recursive: bool, dir: &[u8]) -> Result<Vec<u8>, Error> {
        let name = if recursive { "LSR" } else { "LS" };
        self.chan.tx.send_frame(&[name.as_bytes(), b" ", dir].concat())?;
        let mut out = remote::listing::Bounded(Vec::new());
        match self.recv_chunks(&mut out) {
            Ok(Status::Ok(_)) => Ok(out.0),
            Ok(other) => Err(Error::refused(name, other)),
            Err(Error::Local(_)) => {
                remote::listing::hang_up(self);
                Err(Error::Protocol(format!(
                    "the server's {name} listing is longer than {} MiB: broken off",
                    tree::MAX_LISTING_BYTES >> 20
                )))
            }
            Err(e) => Err(e),
        }
    }

    /// `END`: closes the session (no reply).
    pub fn end(mut self) -> Result<(), Error> {
        self.chan.tx.send_frame(b"END")?;
        self.chan.tx.send_close()?;
        Ok(())
    }

    /// After an entrance through [`Builder::fai`]: the token with the key of
    /// the next entrance (store it: the used key no longer opens anything).
    pub fn next_fai_token(&self) -> Option<&FaiToken> {
        self.next_fai.as_ref()
    }

    /// Whether the session runs over the secure transport.
    pub fn secure(&self) -> bool {
        self.chan.tx.secure()
    }

    /// The transport in use, for people: the Noise protocol name, or `legacy`.
    pub fn transport_name(&self) -> &'static str {
        match self.suite {
            Some(s) => s.protocol_name(),
            None => "legacy (the protocol's own cipher, no integrity)",
        }
    }

    /// Sends `TFDSECURE <protocol> <message 1>` unless the transport is
    /// `Legacy`: the Noise handshake bound to `session_key`, the key the
    /// session's cipher started from ([`Client::upgrade_finish`] reads the answer).
    fn upgrade_request(chan: &mut Channel, session_key: &[u8], cfg: &ClientConfig) -> Result<Option<Upgrade>, Error> {
        use tfp_wire::noise::{Initiator, Suite};
        if cfg.transport == Transport::Legacy {
            return Ok(None);
        }
        let key_err = |e: tfp_wire::noise::NoiseError| Error::Key(e.to_string());
        let mut psk = tfp_wire::noise::psk_from_session_key(session_key).map_err(key_err)?;
        let suite = Suite::preferred();
        let mut msg = format!("TFDSECURE {} ", suite.protocol_name()).into_bytes();
        let init = Initiator::start(suite, tfp_wire::noise::PROLOGUE, &psk, b"", &mut msg, None);
        psk.fill(0);
        let init = init.map_err(key_err)?;
        chan.tx.send_frame(&msg)?;
        Ok(Some(Upgrade { suite, init }))
    }

    /// Reads TFDSECURE's answer: on `OK`, records both ways and the
    /// confirmation. An older server's UNKNOWN leaves the legacy cipher on
    /// unless the transport is required; a reply that fails authentication is
    /// always an error (the server did not know the key).
    fn upgrade_finish(&mut self, up: Upgrade, cfg: &ClientConfig) -> Result<(), Error> {
        use tfp_wire::record::{Opener, Sealer};
        let Upgrade { suite, init } = up;
        let reply = self.chan.rx.recv_frame()?;
        let Some(msg2) = reply.strip_prefix(b"OK ") else {
            return match Status::parse(&reply) {
                Status::Unknown if cfg.transport == Transport::Prefer => Ok(()),
                Status::Unknown => Err(Error::Protocol("the server does not offer the secure transport".into())),
                other => Err(Error::Handshake("secure transport", other)),
            };
        };
        let (_, t) = init.finish(msg2).map_err(|e| {
            Error::Protocol(format!(
                "the server failed to authenticate the secure transport ({e}): a man in the middle?"
            ))
        })?;
        self.chan.tx.start_sealing(Sealer::new(t.send, cfg.rekey_after));
        self.chan.rx.start_opening(Opener::new(t.recv), None);
        self.chan.tx.send_confirm(&t.h)?;
        self.suite = Some(suite);
        self.binding = Some(t.h);
        Ok(())
    }
}

/// The step's answer when it is `OK` (the whole frame), else the refusal.
fn expect_ok(chan: &mut Channel, step: &'static str) -> Result<Vec<u8>, Error> {
    let f = chan.rx.recv_frame()?;
    match Status::parse(&f) {
        Status::Ok(_) => Ok(f),
        other => Err(Error::Handshake(step, other)),
    }
}
