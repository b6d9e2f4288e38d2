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

    /// `tf`, the connection options and `command`, each word quoted for a
    /// POSIX shell where it needs to be.
    pub fn command(&self, command: &[&str]) -> String {
        std::iter::once("tf")
            .chain(self.words.iter().map(String::as_str))
            .chain(command.iter().copied())
            .map(shell_word)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `a` as a shell word: as it is when it holds only plain characters,
/// else in single quotes, or as `$'...'` (bash, zsh, ksh, and dash since
/// 0.5.12) when it holds a character that must not reach a terminal raw
/// (a control, a bidi or zero-width mark), written as an escape there.
pub fn shell_word(a: &str) -> String {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b);
    if !a.is_empty() && a.bytes().all(plain) {
        return a.to_string();
    }
    if !a.chars().any(|c| c.is_control() || tfp_wire::escape::hides_text(c)) {
        return format!("'{}'", a.replace('\'', "'\\''"));
    }
    let mut out = String::from("$'");
    for c in a.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 && c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() || tfp_wire::escape::hides_text(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
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
        assert_eq!(shell_word("a/b.txt"), "a/b.txt");
        assert_eq!(shell_word("it's here"), "'it'\\''s here'");
        assert_eq!(shell_word("a\x1b]0;x\x07"), "$'a\\x1b]0;x\\x07'");
        assert_eq!(shell_word("\u{202e}cod.exe"), "$'\\u202ecod.exe'");
        assert_eq!(shell_word("l\n'x\\"), "$'l\\n\\'x\\\\'");
        let inv = Invoked::of(&["-s".into(), "my box".into(), "-b".into(), "cmds".into(), "-v".into()]);
        assert_eq!(
            inv.command(&["put", "-r", "a b", "c"]),
            "tf -s 'my box' -v put -r 'a b' c"
        );
    }
}
