//! `TFDFEATURES`, tfd's own (doc/compatibility.md "Features"): everything a
//! client needs to know of a session's extensions, told in one answer that
//! the client asks with the last step of its entry, instead of probing each
//! extension at its first use.
//!
//! The answer is `OK` and words `key=value`, separated by one space, each key
//! at most once:
//!
//! - `cmds=<NAME>,<NAME>,…`: tfd's own commands (`TFD…`) this session may
//!   use, from the daemon's command table; none: `cmds=`.
//! - `scope=user|all`: the attribute names this session may set (an `x`
//!   batch's and `TFDSETXATTRS`'), [`crate::xattr::Scope`].
//! - `owners=yes|no`: whether the session may keep owners, set-id bits and
//!   devices (tfd's root, unjailed).
//! - `zstd=<level_max>,<window_log>`: what `TFDZSTD` answers
//!   ([`crate::compress::Offer`]); absent where the server takes no
//!   compressed data.
//! - `putmany=<flag>,…` and `getmany=<flag>,…`: what the batch commands
//!   take beyond a plain batch ([`Batch`]): `dirs`, `modes` (the plain
//!   probe's `OK dirs modes`), `a` (archive), `x` (attributes), `zf`
//!   (framed).
//!
//! A word whose key the parser does not know is ignored, and so is a flag
//! it does not know, so a later server can say more to an older client; a
//! known key with a malformed value refuses the answer. The answer is at
//! most [`MAX_LEN`] bytes and names at most [`MAX_COMMANDS`] commands.
//! A server without the command answers `UNKNOWN`: the client then uses
//! none of tfd's extensions, and takes the protocol's own routes.

use crate::compress::Offer;
use crate::xattr::Scope;

/// The command.
pub const COMMAND: &str = "TFDFEATURES";
/// The longest answer (after `OK `) a client reads.
pub const MAX_LEN: usize = 16 * 1024;
/// The most commands an answer names.
pub const MAX_COMMANDS: usize = 256;
/// The longest command name an answer names.
pub const MAX_NAME: usize = 32;

/// What the batch commands take beyond a plain batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Batch {
    /// Directories in plain batches (`D <path>`).
    pub dirs: bool,
    /// New entries of plain batches with the source's mode (`M`, a file's
    /// new mode).
    pub modes: bool,
    /// Archive batches (`a`).
    pub archive: bool,
    /// Files that land with their attributes (`x`).
    pub attrs: bool,
    /// Framed batches (`z f`): the whole exchange one zstd stream.
    pub framed: bool,
}

impl Batch {
    const FLAGS: [&'static str; 5] = ["dirs", "modes", "a", "x", "zf"];

    fn flag(&mut self, i: usize) -> &mut bool {
        match i {
            0 => &mut self.dirs,
            1 => &mut self.modes,
            2 => &mut self.archive,
            3 => &mut self.attrs,
            _ => &mut self.framed,
        }
    }

    fn encode(mut self) -> String {
        let on: Vec<&str> = (0..Self::FLAGS.len())
            .filter(|&i| *self.flag(i))
            .map(|i| Self::FLAGS[i])
            .collect();
        on.join(",")
    }

    fn parse(v: &str) -> Batch {
        let mut b = Batch::default();
        for w in v.split(',') {
            if let Some(i) = Self::FLAGS.iter().position(|f| *f == w) {
                *b.flag(i) = true;
            }
        }
        b
    }
}

/// One session's features: the answer to [`COMMAND`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Features {
    /// tfd's own commands the session may use, each once, in the server's
    /// order.
    pub commands: Vec<String>,
    /// The session's attribute scope: [`Scope::User`] or [`Scope::All`].
    pub scope: Option<Scope>,
    /// Whether the session may keep owners (root, unjailed).
    pub owners: bool,
    /// What `TFDZSTD` offers, if the server takes compressed data.
    pub offer: Option<Offer>,
    /// What `TFDPUTMANY` takes.
    pub putmany: Batch,
    /// What `TFDGETMANY` takes (`dirs`, `modes` and `x` mean nothing there).
    pub getmany: Batch,
}

/// Whether `n` may be named: `A`–`Z`, `0`–`9`, `_`, at most [`MAX_NAME`].
fn is_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= MAX_NAME
        && n.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

impl Features {
    /// Whether the session may use `command`.
    pub fn has(&self, command: &str) -> bool {
        self.commands.iter().any(|c| c == command)
    }

    /// The answer's text after `OK ` (names that may not be named, and those
    /// past [`MAX_COMMANDS`], left out; a repeated one once).
    pub fn encode(&self) -> Vec<u8> {
        let mut names: Vec<&str> = Vec::new();
        for c in &self.commands {
            if is_name(c) && !names.contains(&c.as_str()) && names.len() < MAX_COMMANDS {
                names.push(c);
            }
        }
        let mut out = format!("cmds={}", names.join(","));
        if let Some(s) = self.scope.filter(|s| matches!(s, Scope::User | Scope::All)) {
            out.push_str(" scope=");
            out.push_str(&String::from_utf8_lossy(s.word()));
        }
        out.push_str(if self.owners { " owners=yes" } else { " owners=no" });
        if let Some(o) = self.offer {
            out.push_str(&format!(" zstd={},{}", o.level_max, o.window_log));
        }
        out.push_str(&format!(" putmany={}", self.putmany.encode()));
        out.push_str(&format!(" getmany={}", self.getmany.encode()));
        out.into_bytes()
    }

    /// Reads the answer's text after `OK ` (module doc): None for one over
    /// [`MAX_LEN`], not UTF-8, or with a known key malformed or repeated.
    pub fn parse(b: &[u8]) -> Option<Features> {
        if b.len() > MAX_LEN {
            return None;
        }
        let text = std::str::from_utf8(b).ok()?;
        let mut f = Features::default();
        let mut seen: Vec<&str> = Vec::new();
        for word in text.split(' ').filter(|w| !w.is_empty()) {
            let Some((key, value)) = word.split_once('=') else {
                continue;
            };
            let known = ["cmds", "scope", "owners", "zstd", "putmany", "getmany"];
            if !known.contains(&key) {
                continue;
            }
            if seen.contains(&key) {
                return None;
            }
            seen.push(key);
            match key {
                "cmds" => f.commands = Self::parse_names(value)?,
                "scope" => {
                    f.scope = Some(match value {
                        "user" => Scope::User,
                        "all" => Scope::All,
                        _ => return None,
                    })
                }
                "owners" => {
                    f.owners = match value {
                        "yes" => true,
                        "no" => false,
                        _ => return None,
                    }
                }
                "zstd" => {
                    let (level, window) = value.split_once(',')?;
                    f.offer = Some(Offer::parse(format!("{level} {window}").as_bytes())?);
                }
                "putmany" => f.putmany = Batch::parse(value),
                _ => f.getmany = Batch::parse(value),
            }
        }
        Some(f)
    }

    /// `cmds=`'s names: each a name, at most [`MAX_COMMANDS`] of them; a
    /// repeated one kept once.
    fn parse_names(value: &str) -> Option<Vec<String>> {
        let mut names: Vec<String> = Vec::new();
        for n in value.split(',').filter(|n| !n.is_empty()) {
            if !is_name(n) {
                return None;
            }
            if !names.iter().any(|m| m == n) {
                names.push(n.to_string());
            }
            if names.len() > MAX_COMMANDS {
                return None;
            }
        }
        Some(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Features {
        Features {
            commands: vec!["TFDPUTMANY".into(), "TFDLIST".into(), "TFDZSTD".into()],
            scope: Some(Scope::All),
            owners: true,
            offer: Some(Offer {
                level_max: 19,
                window_log: 23,
            }),
            putmany: Batch {
                dirs: true,
                modes: true,
                archive: true,
                attrs: true,
                framed: true,
            },
            getmany: Batch {
                archive: true,
                framed: true,
                ..Batch::default()
            },
        }
    }

    #[test]
    fn an_answer_reads_back_as_it_was_told() {
        let f = full();
        let text = f.encode();
        assert_eq!(
            String::from_utf8_lossy(&text),
            "cmds=TFDPUTMANY,TFDLIST,TFDZSTD scope=all owners=yes zstd=19,23 putmany=dirs,modes,a,x,zf getmany=a,zf"
        );
        assert_eq!(Features::parse(&text), Some(f));
        let none = Features::default();
        assert_eq!(
            String::from_utf8_lossy(&none.encode()),
            "cmds= owners=no putmany= getmany="
        );
        assert_eq!(Features::parse(&none.encode()), Some(none));
    }

    #[test]
    fn what_a_later_server_adds_is_ignored() {
        let f = Features::parse(b"cmds=TFDLIST,TFDRANGE later=1 scope=user putmany=dirs,newflag novalue").unwrap();
        assert!(f.has("TFDLIST") && f.has("TFDRANGE") && !f.has("TFDNAMES"));
        assert_eq!(f.scope, Some(Scope::User));
        assert_eq!(
            f.putmany,
            Batch {
                dirs: true,
                ..Batch::default()
            }
        );
        assert_eq!(f.offer, None);
        assert!(!f.owners);
    }

    #[test]
    fn a_malformed_or_unbounded_answer_is_refused() {
        for bad in [
            &b"cmds=tfdlist"[..],
            b"cmds=TFD-LIST,",
            b"scope=acl",
            b"owners=maybe",
            b"zstd=19",
            b"zstd=99,23",
            b"cmds=A cmds=B",
            b"\xff",
        ] {
            assert_eq!(Features::parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        let many: Vec<String> = (0..=MAX_COMMANDS).map(|i| format!("TFD{i}")).collect();
        assert_eq!(Features::parse(format!("cmds={}", many.join(",")).as_bytes()), None);
        let long = format!("cmds={}", "A".repeat(MAX_NAME + 1));
        assert_eq!(Features::parse(long.as_bytes()), None);
        assert_eq!(Features::parse(&vec![b' '; MAX_LEN + 1]), None);
        // what encode cannot say is left out, within the bounds
        let f = Features {
            commands: (0..MAX_COMMANDS + 9)
                .map(|i| format!("TFD{i}"))
                .chain(["bad name".into()])
                .collect(),
            ..full()
        };
        let text = f.encode();
        assert!(text.len() <= MAX_LEN);
        assert_eq!(Features::parse(&text).unwrap().commands.len(), MAX_COMMANDS);
    }
}
