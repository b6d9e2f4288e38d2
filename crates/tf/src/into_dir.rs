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

/// `put` words with a remote directory destination turned into a path in it.
pub fn put(c: &mut Client, args: &[String]) -> Result<Vec<String>, Error> {
    let args = &implied(args)[..];
    let mut a = args.to_vec();
    let Some((s, d)) = paths(args) else {
        return Ok(a);
    };
    let Some(name) = file_name(&args[s]) else {
        return Ok(a);
    };
    let dest = &args[d];
    let dir = dest.trim_end_matches('/');
    let into = dest.ends_with('/') || matches!(listing::fstat(c, dest.as_bytes()), Ok(st) if st.kind == Kind::Dir);
    if into {
        a[d] = if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        };
    }
    Ok(a)
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
