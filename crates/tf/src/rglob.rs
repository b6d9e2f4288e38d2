//! Remote patterns for `ls` and `del`/`rm`: the words of the command line,
//! expanded by the library's one expansion (client::tree::remote_glob, which
//! `get` with patterns uses too).

use tfp_client::tree::listing::{self, Kind};
use tfp_client::tree::{glob, remote_glob};
use tfp_client::{Client, Error};

/// Whether `word` is a pattern (an unescaped wildcard).
pub fn is_pattern(word: &str) -> bool {
    glob::has_magic(word.as_bytes())
}

/// `word` without its escapes (a literal name).
pub fn literal(word: &str) -> String {
    String::from_utf8_lossy(&glob::unescape(word.as_bytes())).into_owned()
}

/// The remote paths `pattern` names, with what each is; Ok(Err(why)) when
/// its directory cannot be listed ([`remote_glob::expand`], shown as text).
pub fn expand(c: &mut Client, pattern: &str) -> Result<Result<Vec<(String, Kind)>, String>, Error> {
    match remote_glob::expand(c, pattern.as_bytes()) {
        Ok(x) => Ok(Ok(x
            .matches
            .into_iter()
            .map(|(p, k)| (String::from_utf8_lossy(&p).into_owned(), k))
            .collect())),
        Err(e) if listing::session_failed(&e) => Err(e),
        Err(e) => Ok(Err(listing::reason(&e))),
    }
}
