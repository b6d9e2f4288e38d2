//! `put FILE DIR/` and `put FILE DIR` (DIR a remote directory) upload into
//! the directory under FILE's name, as cp does; `get FILE DIR` likewise
//! lands in a local directory; `put FILE` and `get FILE` with no destination
//! land under FILE's name (the remote, or the local, current directory), as
//! sftp does. The one-file transfers themselves (xfer.rs) take a full
//! destination path; this only rewrites it.

use std::path::Path;
use tfp_client::options::commands::{self, Family};
use tfp_client::tree::listing::{self, Kind};
use tfp_client::{Client, Error};

/// The indices of the positional words of a one-file transfer.
fn positional(args: &[String]) -> Vec<usize> {
    let mut pos = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if commands::takes_value(Family::Transfer, a) {
            i += 2;
            continue;
        }
        if !a.starts_with("--") {
            pos.push(i);
        }
        i += 1;
    }
    pos
}

/// The indices of the two paths in a one-file transfer's words, when there
/// are exactly two.
fn paths(args: &[String]) -> Option<(usize, usize)> {
    match positional(args)[..] {
        [s, d] => Some((s, d)),
        _ => None,
    }
}

/// `FILE` alone: the words with FILE's own name added as the destination.
/// Left alone when FILE has no name of its own (`-`, `.`, `..`, `/`), so the
/// transfer asks for a destination.
fn implied(args: &[String]) -> Vec<String> {
    let mut a = args.to_vec();
    if let [s] = positional(args)[..] {
        if let Some(name) = file_name(&args[s]) {
            a.insert(s + 1, name.to_string());
        }
    }
    a
}

/// The last component of `p` (None for `-`, or nothing left).
fn file_name(p: &str) -> Option<&str> {
    let n = p.trim_end_matches('/').rsplit('/').next()?;
    (!n.is_empty() && n != "-" && n != "." && n != "..").then_some(n)
}

/// What `put` learned of its destination before the transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dest {
    /// A file, or nothing asked, or nothing known.
    #[default]
    Known,
    /// The server has nothing there (FSTAT: no such file or directory): an
    /// upload has no old copy to send a delta against, so it asks for none.
    Absent,
    /// Not asked: a staged upload's TFDSTAGE refuses a directory target
    /// (FAILED 8) at no round trip of its own; any other path asks with
    /// [`resolve`] before it sends.
    Deferred,
}

/// `put` words with a remote directory destination turned into a path in
/// it, and what the server said of the destination. With `defer` (a staged
/// upload) the server is not asked: [`Dest::Deferred`].
pub fn put(c: &mut Client, args: &[String], defer: bool) -> Result<(Vec<String>, Dest), Error> {
    let args = &implied(args)[..];
    let mut a = args.to_vec();
    let Some((s, d)) = paths(args) else {
        return Ok((a, Dest::Known));
    };
    let Some(name) = file_name(&args[s]) else {
        return Ok((a, Dest::Known));
    };
    let dest = &args[d];
    if defer && !dest.ends_with('/') {
        return Ok((a, Dest::Deferred));
    }
    let (into, seen) = if dest.ends_with('/') {
        (true, Dest::Known)
    } else {
        match listing::fstat(c, dest.as_bytes()) {
            Ok(st) => (st.kind == Kind::Dir, Dest::Known),
            Err(e) if absent(&e) => (false, Dest::Absent),
            Err(_) => (false, Dest::Known),
        }
    };
    if into {
        a[d] = in_dir(dest, name);
    }
    Ok((a, seen))
}

/// A [`Dest::Deferred`] destination as [`put`] would have made it: in it
/// when the server says it is a directory.
pub fn resolve(c: &mut Client, local: &str, dest: &str) -> String {
    match (file_name(local), listing::fstat(c, dest.as_bytes())) {
        (Some(name), Ok(st)) if st.kind == Kind::Dir => in_dir(dest, name),
        _ => dest.to_string(),
    }
}

/// `dest` named by TFDSTAGE's FAILED 8 (a directory): the path in it.
pub fn into_refused_dir(local: &str, dest: &str) -> Option<String> {
    file_name(local).map(|name| in_dir(dest, name))
}

/// `name` inside the directory `dest`.
fn in_dir(dest: &str, name: &str) -> String {
    let dir = dest.trim_end_matches('/');
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Whether FSTAT's refusal says nothing is there.
fn absent(e: &Error) -> bool {
    use tfp_wire::{Code, Failed};
    e.refusal()
        .is_some_and(|r| matches!(r.code, Code::Known(Failed::NoSuchFile) | Code::Known(Failed::NoSuchDir)))
}

/// `get` words with a local directory destination turned into a path in it.
pub fn get(args: &[String]) -> Vec<String> {
    let args = &implied(args)[..];
    let mut a = args.to_vec();
    if let Some((s, d)) = paths(args) {
        if let Some(name) = file_name(&args[s]) {
            if args[d] != "-" && Path::new(&args[d]).is_dir() {
                a[d] = Path::new(&args[d]).join(name).to_string_lossy().into_owned();
            }
        }
    }
    a
}
