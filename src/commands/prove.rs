//! `TFDHMAC <key | -> <path hex>...`, tfd's own ([`tfp_wire::prove`]): the
//! server proves it still holds files, for `tf backup verify`, by hashing
//! each with a key the client chose just now (HMAC-SHA256, OpenSSL's).
//!
//! Each file is opened read-only (`O_NOFOLLOW`) in its directory's
//! descriptor beneath the root, as TFDLINK opens its file: never through a
//! symlink, the kernel's read check the session's, a regular file only; a file that cannot be is answered
//! with its FAILED code in its place, the others still hashed. The work is
//! bounded: at most [`prove::MAX_PATHS`] files a command, and once
//! [`prove::BUDGET`] bytes are hashed the files not yet started are answered
//! `.` (the client asks again), so one command holds the session for a
//! bounded time whatever it names.

use super::{CmdResult, Reply};
use crate::fsys::{open_regular_at, FsError, Kind};
use crate::session::Session;
use log::{info, warn};
use std::io::Read;
use std::os::fd::AsFd;
use tfp_wire::prove::{self, Answer, Hasher, Request};
use tfp_wire::Failed;

/// `TFDHMAC <key | -> <path hex>...` → `OK <answer>...`; `FAILED 16` for a
/// command the grammar does not hold.
pub fn tfdhmac(s: &mut Session, arg: &[u8]) -> CmdResult {
    let r = Request::parse(arg).ok_or(Failed::MissingParameter)?;
    let mut spent = 0u64;
    let mut buf = vec![0u8; 256 << 10];
    let mut answers = Vec::with_capacity(r.paths.len());
    for p in &r.paths {
        if spent >= prove::BUDGET {
            answers.push(Answer::Later);
            continue;
        }
        answers.push(match one(s, &r.key, p, &mut buf, &mut spent) {
            Ok(sum) => Answer::Sum(sum),
            Err(f) => Answer::Failed(i32::from(f.code())),
        });
    }
    Ok(Reply::Data(prove::encode_answers(&answers)))
}

/// The sum of the file at `p`, counting its bytes into `spent`.
fn one(s: &Session, key: &prove::Key, p: &[u8], buf: &mut [u8], spent: &mut u64) -> Result<[u8; 32], Failed> {
    let rel = s.path(p)?;
    if rel.is_root() {
        return Err(Failed::NotAFile);
    }
    let opened = s
        .root()
        .parent(&rel)
        .and_then(|(dir, name)| open_regular_at(dir.as_fd(), &name, libc::O_RDONLY, 0));
    let (mut file, st) = match opened {
        Ok(x) => x,
        Err(e) => {
            info!("{} TFDHMAC: {e}", s.peer());
            return Err(match e {
                FsError::NotFound | FsError::NotDir => Failed::NoSource,
                FsError::IsDir | FsError::NotRegular => Failed::NotAFile,
                _ => Failed::AccessDenied,
            });
        }
    };
    if Kind::of(&st) != Kind::File {
        return Err(Failed::NotAFile);
    }
    match hash(&mut file, key, buf, spent) {
        Ok(sum) => Ok(sum),
        Err(e) => {
            warn!("{} TFDHMAC: {e}", s.peer());
            Err(Failed::Sha256)
        }
    }
}

/// Why an open file could not be hashed.
#[derive(Debug)]
enum HashError {
    Crypto(openssl::error::ErrorStack),
    Read(std::io::Error),
}

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HashError::Crypto(e) => write!(f, "the hash failed: {e}"),
            HashError::Read(e) => write!(f, "a read failed: {e}"),
        }
    }
}

impl From<openssl::error::ErrorStack> for HashError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        HashError::Crypto(e)
    }
}

impl From<std::io::Error> for HashError {
    fn from(e: std::io::Error) -> Self {
        HashError::Read(e)
    }
}

/// The sum of `file`'s bytes under `key`, counting them into `spent`.
fn hash(file: &mut std::fs::File, key: &prove::Key, buf: &mut [u8], spent: &mut u64) -> Result<[u8; 32], HashError> {
    let mut h = Hasher::new(key)?;
    loop {
        match file.read(buf) {
            Ok(0) => return Ok(h.finish()?),
            Ok(n) => {
                *spent += n as u64;
                h.update(&buf[..n])?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
