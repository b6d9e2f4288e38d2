//! A client of ssh-agent (the agent protocol, draft-miller-ssh-agent §4.4
//! and §4.5): the keys it holds and a signature by one of them. Two
//! messages, written here: the maintained client crate wants a newer Rust
//! than this workspace and brings an async stack for two requests.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tfp_wire::keylogin::blob::Reader;
use tfp_wire::keylogin::blob::{put_string, MAX_KEY_BLOB, MAX_SIG_BLOB};

const FAILURE: u8 = 5;
const REQUEST_IDENTITIES: u8 = 11;
const IDENTITIES_ANSWER: u8 = 12;
const SIGN_REQUEST: u8 = 13;
const SIGN_RESPONSE: u8 = 14;
/// SIGN_REQUEST's flags: an RSA key signs with SHA-512 (RFC 8332).
pub const RSA_SHA2_512: u32 = 4;
/// The largest answer read.
const MAX_ANSWER: usize = 256 << 10;
/// The most keys taken from one answer.
const MAX_KEYS: usize = 64;
/// How long the agent may take (a confirmation asked of its user included).
const TIMEOUT: Duration = Duration::from_secs(60);

/// A key the agent holds: its blob and comment.
#[derive(Debug, Clone)]
pub struct AgentKey {
    /// The public key blob.
    pub blob: Vec<u8>,
    /// The comment the agent has for it (often the file it came from).
    pub comment: String,
}

/// The agent's socket, from `SSH_AUTH_SOCK`.
pub fn socket() -> Option<PathBuf> {
    std::env::var_os("SSH_AUTH_SOCK")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// One request and its answer: (type, payload).
fn exchange(sock: &Path, kind: u8, payload: &[u8]) -> io::Result<(u8, Vec<u8>)> {
    let mut s = UnixStream::connect(sock)?;
    s.set_read_timeout(Some(TIMEOUT))?;
    s.set_write_timeout(Some(TIMEOUT))?;
    let mut msg = Vec::with_capacity(5 + payload.len());
    msg.extend_from_slice(&(payload.len() as u32 + 1).to_be_bytes());
    msg.push(kind);
    msg.extend_from_slice(payload);
    s.write_all(&msg)?;
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len == 0 || len > MAX_ANSWER {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("an answer of {len} bytes"),
        ));
    }
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)?;
    let rest = body.split_off(1);
    Ok((body[0], rest))
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("the agent's answer: {what}"))
}

/// The keys the agent holds (REQUEST_IDENTITIES).
pub fn identities(sock: &Path) -> io::Result<Vec<AgentKey>> {
    let (kind, body) = exchange(sock, REQUEST_IDENTITIES, &[])?;
    if kind != IDENTITIES_ANSWER {
        return Err(bad(&format!("type {kind}")));
    }
    let (n, rest) = body.split_first_chunk::<4>().ok_or_else(|| bad("no count"))?;
    let n = u32::from_be_bytes(*n) as usize;
    let mut r = Reader::new(rest);
    let mut out = Vec::new();
    for _ in 0..n.min(MAX_KEYS) {
        let blob = r.string().map_err(|_| bad("a key runs past the end"))?;
        let comment = r.string().map_err(|_| bad("a comment runs past the end"))?;
        if blob.len() <= MAX_KEY_BLOB {
            out.push(AgentKey {
                blob: blob.to_vec(),
                comment: String::from_utf8_lossy(comment).into_owned(),
            });
        }
    }
    Ok(out)
}

/// The agent's signature of `data` by the key `blob` (SIGN_REQUEST): the
/// signature blob.
pub fn sign(sock: &Path, blob: &[u8], data: &[u8], flags: u32) -> io::Result<Vec<u8>> {
    let mut req = Vec::with_capacity(blob.len() + data.len() + 12);
    put_string(&mut req, blob);
    put_string(&mut req, data);
    req.extend_from_slice(&flags.to_be_bytes());
    let (kind, body) = exchange(sock, SIGN_REQUEST, &req)?;
    match kind {
        SIGN_RESPONSE => {
            let mut r = Reader::new(&body);
            let sig = r.string().map_err(|_| bad("the signature runs past the end"))?;
            if sig.len() > MAX_SIG_BLOB {
                return Err(bad("a signature longer than any key makes"));
            }
            Ok(sig.to_vec())
        }
        FAILURE => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the agent refused to sign",
        )),
        k => Err(bad(&format!("type {k}"))),
    }
}
