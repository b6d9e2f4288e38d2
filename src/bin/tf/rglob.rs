//! Remote patterns for `ls` and `del`/`rm` (no shell can expand a remote
//! name): the directory before the first wildcard is listed (LS, or LSR when
//! the pattern goes deeper) and the entries whose every component matches
//! are taken, sorted. Names go through the tree code's checks (a server's
//! name with `..` or a control character is refused, not used).

use tfd::client::tree::glob;
use tfd::client::tree::listing::{self, Kind, ListError};
use tfd::client::{Client, ClientError};

/// Whether `word` is a pattern (an unescaped wildcard).
pub fn is_pattern(word: &str) -> bool {
    glob::has_magic(word.as_bytes())
}

/// `word` without its escapes (a literal name).
pub fn literal(word: &str) -> String {
    String::from_utf8_lossy(&glob::unescape(word.as_bytes())).into_owned()
}

/// The remote paths `pattern` names, with what each is; Ok(Err(why)) when
/// its directory cannot be listed.
pub fn expand(c: &mut Client, pattern: &str) -> Result<Result<Vec<(String, Kind)>, String>, ClientError> {
    let comps = glob::components(pattern.as_bytes());
    let first = comps.iter().position(|p| glob::has_magic(p)).unwrap_or(0);
    let prefix: Vec<u8> = comps[..first]
        .iter()
        .map(|p| glob::unescape(p))
        .collect::<Vec<_>>()
        .join(&b'/');
    let rest = &comps[first..];
    let l = match listing::list(c, &prefix, rest.len() > 1) {
        Ok(l) => l,
        Err(ListError::Session(e)) => return Err(e),
        Err(e) => return Ok(Err(e.to_string())),
    };
    let mut out: Vec<(String, Kind)> = l
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
            (String::from_utf8_lossy(&p).into_owned(), e.kind)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Ok(out))
}
