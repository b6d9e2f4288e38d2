//! What a client reads of a backup's snapshots on the server, for
//! `tf backup`, `restore`, `prune` and `verify` alike: the snapshot
//! directories below NAME (complete ones and an interrupted run's
//! leftovers) and a snapshot's index.

use super::index::{self, Entry};
use crate::escape::shown;
use crate::{Client, Error};

/// `NAME[@SNAPSHOT]`: the name and the snapshot asked, if any.
pub fn split_at(what: &str) -> (&str, Option<String>) {
    match what.rsplit_once('@') {
        Some((n, s)) => (n, Some(s.to_string())),
        None => (what, None),
    }
}

/// The snapshot directories below `name`: complete ones (sorted, oldest
/// first) and the dot names an interrupted run left (a backup's `.part-`,
/// a prune's `.prune-`).
pub fn snapshots(c: &mut Client, name: &str) -> Result<(Vec<String>, Vec<String>), Error> {
    let mut done = Vec::new();
    let mut parts = Vec::new();
    let Ok(l) = c.listdir(name.as_bytes()) else {
        return Ok((done, parts));
    };
    for e in l.iter() {
        let n = String::from_utf8_lossy(e.rel.strip_suffix(b"/").unwrap_or(&e.rel)).into_owned();
        if n == "." || n == ".." {
            continue;
        } else if n.starts_with('.') {
            parts.push(n);
        } else {
            done.push(n);
        }
    }
    done.sort();
    Ok((done, parts))
}

/// Why something of a snapshot could not be had (its index, its proofs):
/// the sentence to print.
#[derive(Debug)]
pub struct Sentence(pub String);

impl std::fmt::Display for Sentence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads a snapshot's index from the server.
pub fn read_index(c: &mut Client, path: &str) -> Result<Vec<Entry>, Sentence> {
    let mut buf = Vec::new();
    if let Err(e) = c.rcvfile(path.as_bytes(), false, &mut buf) {
        return Err(Sentence(format!(
            "the index {} could not be read: {e}",
            shown(path.as_bytes())
        )));
    }
    index::parse(&buf).ok_or_else(|| Sentence(format!("the index {} is not an index", shown(path.as_bytes()))))
}

impl From<&str> for Sentence {
    fn from(s: &str) -> Sentence {
        Sentence(s.to_string())
    }
}

impl From<String> for Sentence {
    fn from(s: String) -> Sentence {
        Sentence(s)
    }
}
