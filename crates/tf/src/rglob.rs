//! Remote patterns for `ls` and `del`/`rm`: the words of the command line,
//! expanded by the library's one expansion (client::remote::glob, which
//! `get` with patterns uses too).

use tfp_client::remote::glob as remote_glob;
use tfp_client::remote::listing::{self, Kind};
use tfp_client::tree::glob;
use tfp_client::{Client, Error};

/// Whether `word` is a pattern (an unescaped wildcard).
pub fn is_pattern(word: &str) -> bool {
    glob::has_magic(word.as_bytes())
}

/// `word` without its escapes (a literal name).
pub fn literal(word: &str) -> Vec<u8> {
    glob::unescape(word.as_bytes())
}

/// Remote paths by their real bytes, with what each is.
pub type Matches = Vec<(Vec<u8>, Kind)>;

/// Why a pattern's directory could not be listed: the library's error, shown
/// as the server's reason ([`listing::reason`]).
#[derive(Debug)]
pub struct Unlisted(Error);

impl std::fmt::Display for Unlisted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&listing::reason(&self.0))
    }
}

/// The remote paths `pattern` names, by their real bytes (a name on the
/// server need not be UTF-8, and the name made valid UTF-8 is another name),
/// with what each is; Ok(Err(why)) when its directory cannot be listed
/// ([`remote_glob::expand`]).
pub fn expand(c: &mut Client, pattern: &str) -> Result<Result<Matches, Unlisted>, Error> {
    match remote_glob::expand(c, pattern.as_bytes()) {
        Ok(x) => Ok(Ok(x.matches)),
        Err(e) if listing::session_failed(&e) => Err(e),
        Err(e) => Ok(Err(Unlisted(e))),
    }
}
