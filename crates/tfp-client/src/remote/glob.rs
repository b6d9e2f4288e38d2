//! Remote patterns (no shell can expand a remote name), for every command
//! that takes one (`get -r`/`get` with several sources, `ls`, `del`/`rm`):
//! the directory before the first wildcard is listed (LS, or LSR when the
//! pattern goes deeper) and the entries whose every component matches are
//! taken, sorted. Names go through the listing's checks: a server's name
//! with `..` is refused, not used; one with a control character is matched
//! by its real bytes where the server lists them (TFDLIST), and the caller
//! that would make it here refuses it by name.

use super::listing::{self, Kind};
use crate::tree::glob;
use crate::tree::names::{self, Refused};
use crate::{Client, Error};

/// What a pattern names.
pub struct Expansion {
    /// The directory that was listed (the pattern's literal beginning).
    pub prefix: Vec<u8>,
    /// The matching remote paths with what each is, sorted.
    pub matches: Vec<(Vec<u8>, Kind)>,
    /// Names of the listing refused by its checks, and why.
    pub refused: Vec<(Vec<u8>, String)>,
}

/// The directory `pattern` lists (its components before the first wildcard,
/// unescaped) and the pattern's components from there.
pub fn split(pattern: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let comps = glob::components(pattern);
    let first = comps.iter().position(|p| glob::has_magic(p)).unwrap_or(0);
    let prefix: Vec<u8> = comps[..first]
        .iter()
        .map(|p| glob::unescape(p))
        .collect::<Vec<_>>()
        .join(&b'/');
    (prefix, comps[first..].iter().map(|c| c.to_vec()).collect())
}

/// The remote paths `pattern` names. When its directory cannot be listed,
/// the error [`listing::list`] gave ([`Error::session_usable`] tells a
/// refusal, after which the session goes on, from the rest).
///
/// LS shows each control character of a name as `?` (tfd, as `ls -q`), so a
/// match taken from it named a file that does not exist ("File does not
/// exist" from `rm 'd/*'` or `get 'd/*'`). When a listed name holds a `?`
/// and the server has TFDLIST, whose names are raw, the matches are taken
/// from that instead: a name with a control character then matches by its
/// real bytes, and the caller acts on those (removes it, or refuses to make
/// it here, by name).
pub fn expand(c: &mut Client, pattern: &[u8]) -> Result<Expansion, Error> {
    let (prefix, rest) = split(pattern);
    let rest = &rest[..];
    let l = listing::list(c, &prefix, rest.len() > 1)?;
    let raw = if l.entries.iter().any(|e| e.rel.contains(&b'?')) {
        listing::list_stat(c, &prefix)?
    } else {
        None
    };
    let (entries, refused) = match raw {
        Some(raw) => {
            let mut entries: Vec<listing::Entry> = raw.entries.into_iter().map(|e| e.entry).collect();
            entries.extend(raw.controlled);
            let refused = raw
                .refused
                .into_iter()
                .filter(|(n, why)| !(*why == Refused::Control && names::check_remote(n).is_ok()))
                .collect();
            (entries, refused)
        }
        None => (l.entries, l.refused),
    };
    let matching = |rel: &[u8]| {
        let parts: Vec<&[u8]> = rel.split(|&b| b == b'/').collect();
        parts.len() == rest.len() && parts.iter().zip(rest).all(|(n, p)| glob::matches(p, n))
    };
    let mut matches: Vec<(Vec<u8>, Kind)> = entries
        .iter()
        .filter(|e| matching(&e.rel))
        .map(|e| {
            let mut p = prefix.clone();
            if !p.is_empty() {
                p.push(b'/');
            }
            p.extend_from_slice(&e.rel);
            (p, e.kind)
        })
        .collect();
    matches.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Expansion {
        prefix,
        matches,
        refused: refused
            .iter()
            // TFDLIST lists the whole tree: what a pattern could not name is not its business
            .filter(|(n, _)| rest.len() > 1 || !n.contains(&b'/'))
            .map(|(n, why)| (n.clone(), why.to_string()))
            .collect(),
    })
}
