//! Remote patterns (no shell can expand a remote name), for every command
//! that takes one (`get -r`/`get` with several sources, `ls`, `del`/`rm`):
//! the directory before the first wildcard is listed (LS, or LSR when the
//! pattern goes deeper) and the entries whose every component matches are
//! taken, sorted. Names go through the listing's checks: a server's name
//! with `..` or a control character is refused, not used.

use super::glob;
use super::listing::{self, Kind};
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
pub fn expand(c: &mut Client, pattern: &[u8]) -> Result<Expansion, Error> {
    let (prefix, rest) = split(pattern);
    let rest = &rest[..];
    let l = listing::list(c, &prefix, rest.len() > 1)?;
    let mut matches: Vec<(Vec<u8>, Kind)> = l
        .entries
        .iter()
        .filter(|e| {
            let parts: Vec<&[u8]> = e.rel.split(|&b| b == b'/').collect();
            parts.len() == rest.len() && parts.iter().zip(rest).all(|(n, p)| glob::matches(p, n))
        })
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
        refused: l.refused.iter().map(|(n, why)| (n.clone(), why.to_string())).collect(),
    })
}
