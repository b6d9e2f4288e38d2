//! `put FILE DIR/` and `put FILE DIR` (DIR a remote directory) upload into
//! the directory under FILE's name, as cp does; `get FILE DIR` likewise
//! lands in a local directory; `put FILE` and `get FILE` with no destination
//! land under FILE's name (the remote, or the local, current directory), as
//! sftp does. The one-file transfers themselves (xfer.rs) take a full
//! destination path; this only rewrites it.

use std::path::Path;
use tf::options::commands::{self, Family};
use tfp_client::engine::upload::{file_name, in_dir, Dest};

/// The indices of the positional words of a one-file transfer.
fn positional(args: &[String]) -> Vec<usize> {
    let mut pos = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            pos.extend(i + 1..args.len());
            break;
        }
        if commands::takes_value(Family::Transfer, a) {
            i += 2;
            continue;
        }
        if !a.starts_with("--") && !commands::is_short_option(Family::Transfer, a) {
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

/// `put` words with a destination ending in `/` turned into a path in it,
/// and what is known of the destination: a name without the `/` may be a
/// directory, which the engine finds out on its way
/// ([`Dest::Deferred`]: TFDSTAGE's refusal of a directory, else FSTAT).
pub fn put(args: &[String]) -> (Vec<String>, Dest) {
    let args = &implied(args)[..];
    let mut a = args.to_vec();
    let Some((s, d)) = paths(args) else {
        return (a, Dest::Known);
    };
    let Some(name) = file_name(&args[s]) else {
        return (a, Dest::Known);
    };
    let dest = &args[d];
    if !dest.ends_with('/') {
        return (a, Dest::Deferred);
    }
    a[d] = in_dir(dest, name);
    (a, Dest::Known)
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
