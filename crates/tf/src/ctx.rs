//! What one tf invocation knows beyond the command line it runs: the session,
//! how it was opened, and what earlier commands of a shell or batch left for
//! later ones. Commands get it from the dispatcher (table.rs) instead of
//! process-wide statics, so a test or a second session cannot see another's.

use super::reply::fail;
use std::process::ExitCode;
use tfp_client::{Client, ClientConfig};

/// The context every command of the table runs in.
pub struct Ctx<'a> {
    /// The session.
    pub c: &'a mut Client,
    /// How it was opened (and how more sessions like it are: `--jobs`).
    pub cfg: &'a ClientConfig,
    /// The session entered with Fast Access (`--fai`): the pool's sessions do
    /// too, one after the other.
    pub fai: bool,
    /// What stdin carries.
    pub stdin: Stdin,
    /// The NETLOCK ids this session holds, oldest first (`netunlock` without
    /// an id releases the last).
    pub held: Vec<String>,
    /// How tf was started, for the commands it prints to continue a run.
    pub invoked: Invoked,
    /// A tree command's other sessions, started beside this one's
    /// handshake (`tf put -r`/`get -r` given on the command line).
    pub opening: tfp_client::engine::opening::Opening,
    /// `--retries`: how many times a put, get or mirror whose connection
    /// broke is run again (retry.rs).
    pub retries: u32,
    /// Which try of the command runs now (1: the first).
    pub tries: u32,
    /// `--retries` runs the command again if this try's connection breaks
    /// (retry.rs), so what continues it is not printed for the user to run.
    pub tried_again: bool,
    /// The try that just ended lost one of its other sessions (a tree's
    /// pool): tried again as a broken connection of its own is (retry.rs).
    pub broken: bool,
    /// `-v`: a tree run says what it left undone where the ends do not
    /// allow it (owners), which it otherwise leaves out silently, as rsync.
    pub verbose: bool,
}

/// The connection options tf was given on its command line (`-s NAME`,
/// `--server`, `--user`...), kept so that a command tf prints to continue
/// an interrupted run works when pasted as printed.
#[derive(Clone, Debug, Default)]
pub struct Invoked {
    words: Vec<String>,
}

impl Invoked {
    /// The options before the command, as given; `-b FILE` is left out (the
    /// printed command is one command).
    pub fn of(options: &[String]) -> Invoked {
        let mut words = Vec::new();
        let mut it = options.iter();
        while let Some(a) = it.next() {
            if a == "-b" || a == "--batch" {
                it.next();
                continue;
            }
            words.push(a.clone());
        }
        Invoked { words }
    }

    /// The options less `--password-file FILE`: a command printed to try a
    /// key login must not log in by password.
    pub fn without_password(&self) -> Invoked {
        let mut words = Vec::new();
        let mut it = self.words.iter();
        while let Some(a) = it.next() {
            if a == "--password-file" {
                it.next();
            } else if !a.starts_with("--password-file=") {
                words.push(a.clone());
            }
        }
        Invoked { words }
    }

    /// `tf`, the connection options and `command`, each word quoted for a
    /// POSIX shell where it needs to be, between backticks; when a word
    /// cannot be pasted ([`shell_word`]), a sentence saying which command
    /// to run again and why it is not printed.
    pub fn command(&self, command: &[&str]) -> String {
        let words: Vec<&str> = std::iter::once("tf")
            .chain(self.words.iter().map(String::as_str))
            .chain(command.iter().copied())
            .collect();
        let quoted: Option<Vec<String>> = words.iter().map(|w| shell_word(w)).collect();
        if let Some(quoted) = quoted {
            return format!("`{}`", quoted.join(" "));
        }
        let lost = words.iter().find(|w| w.ends_with('\n')).copied().unwrap_or_default();
        format!(
            "the same command{} (not printed for pasting: {} ends in a line break, \
             which a shell drops from a pasted word)",
            if command.last() == Some(&"--resume") {
                " with --resume"
            } else {
                ""
            },
            tfp_client::escape::shown_str(lost)
        )
    }
}

/// `a` as a word that dash, bash, zsh and busybox sh all read back as `a`,
/// in POSIX quoting alone: as it is when it holds only plain characters,
/// else in single quotes; a word holding a character that must not reach a
/// terminal raw (a control, a bidi or zero-width mark) as
/// `"$(printf '...')"`, that character's bytes written in octal (`$'...'` is
/// not POSIX: dash reads it as `$` and a quoted string, and runs what
/// follows a quote inside). None when `a` ends in a line break, which a
/// command substitution drops.
pub fn shell_word(a: &str) -> Option<String> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b);
    // zsh expands a word starting with `=` to a command's path
    if !a.is_empty() && !a.starts_with('=') && a.bytes().all(plain) {
        return Some(a.to_string());
    }
    if !a.chars().any(raw_unsafe) {
        return Some(format!("'{}'", a.replace('\'', "'\\''")));
    }
    if a.ends_with('\n') {
        return None;
    }
    let mut out = String::from("\"$(printf '");
    for c in a.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '%' => out.push_str("%%"),
            // a quote ends the format; `!` inside double quotes is history
            // expansion in an interactive bash or zsh
            '\'' | '!' => out.push_str(&format!("\\{:03o}", c as u32)),
            c if raw_unsafe(c) => {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:03o}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push_str("')\"");
    Some(out)
}

/// A character that must not reach a terminal raw: a control (C0, DEL, C1)
/// or a mark that reorders or hides text.
fn raw_unsafe(c: char) -> bool {
    c.is_control() || tfp_wire::escape::hides_text(c)
}

impl<'a> Ctx<'a> {
    /// A fresh context for the session `c` opened from `cfg`.
    pub fn new(c: &'a mut Client, cfg: &'a ClientConfig, fai: bool) -> Ctx<'a> {
        Ctx {
            c,
            cfg,
            fai,
            stdin: Stdin { commands: false },
            held: Vec::new(),
            invoked: Invoked::default(),
            opening: Default::default(),
            retries: 0,
            tries: 1,
            tried_again: false,
            broken: false,
            verbose: false,
        }
    }
}

/// Whether stdin carries the commands (`tf -b -`, or `tf shell` fed by a
/// pipe): then no command may read it as data.
#[derive(Clone, Copy)]
pub struct Stdin {
    pub commands: bool,
}

impl Stdin {
    /// The error for a command that would read `-` (stdin) while stdin
    /// carries the commands; None when it may.
    pub fn taken(self, cmd: &str) -> Option<ExitCode> {
        self.commands
            .then(|| fail(format!("{cmd}: - (stdin) holds the commands here; give a file instead")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_paste_back_and_show_nothing_raw() {
        let w = |a: &str| shell_word(a).unwrap();
        assert_eq!(w("a/b.txt"), "a/b.txt");
        assert_eq!(w("=ls"), "'=ls'");
        assert_eq!(w("it's here"), "'it'\\''s here'");
        assert_eq!(w("\x1b';touch X;'"), "\"$(printf '\\033\\047;touch X;\\047')\"");
        assert_eq!(w("\u{202e}cod.exe"), "\"$(printf '\\342\\200\\256cod.exe')\"");
        assert_eq!(w("l\n%!x\\"), "\"$(printf 'l\\012%%\\041x\\\\')\"");
        assert_eq!(shell_word("x\n"), None);
        let inv = Invoked::of(&["-s".into(), "my box".into(), "-b".into(), "cmds".into(), "-v".into()]);
        assert_eq!(
            inv.command(&["put", "-r", "a b", "c"]),
            "`tf -s 'my box' -v put -r 'a b' c`"
        );
        assert_eq!(
            inv.command(&["get", "-r", "a\n", "c", "--resume"]),
            "the same command with --resume (not printed for pasting: a\\n ends in a line break, \
             which a shell drops from a pasted word)"
        );
    }
}
