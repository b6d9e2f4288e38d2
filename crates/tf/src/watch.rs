//! tf's tree and notification subcommands: XCOPY, XCPDIR, XDEL, XRMDIR, and
//! `watch`, which puts a session into notification mode and prints what comes.

use super::reply::{fail, print_status};
use std::process::ExitCode;
use tf::options::commands::{self, Family, ParseError};
use tfp_client::notify::{Answer, Notifications};
use tfp_client::{Client, Error};

/// `tf xcopy|xcpdir NEWNAME SRC PATTERN`, `tf xdel|xrmdir DIR NAME`.
pub fn xcmd(c: &mut Client, cmd: &str, args: &[String]) -> ExitCode {
    let line = match (cmd, args) {
        ("xcopy" | "xcpdir", [name, src, pattern]) => format!("{} {name} {src} | {pattern}", cmd.to_uppercase()),
        ("xdel" | "xrmdir", [dir, name]) => format!("{} {dir} {name}", cmd.to_uppercase()),
        ("xcopy" | "xcpdir", _) => return fail(format!("usage: tf ... {cmd} NEWNAME SRC PATTERN")),
        _ => return fail(format!("usage: tf ... {cmd} DIR NAME")),
    };
    match c.command(line.as_bytes()) {
        Ok(st) => print_status(&st),
        Err(e) => fail(e),
    }
}

/// `tf watch DIR TOKEN [--interval S] [--del]`: ADDNTFY, then STARTNTFY; prints
/// each notification as `DIR/NAME` on its own line and answers DEL with `--del`,
/// else OK. Runs until the server ends the session or tf is interrupted.
pub fn watch(c: &mut Client, args: &[String]) -> ExitCode {
    let g = match commands::parse(Family::Watch, args) {
        Ok(g) => g,
        Err(ParseError::Unknown(s)) => return fail(format!("unknown option {s}")),
        Err(ParseError::Bad(m)) => return fail(m),
    };
    let (interval, del) = (g.text("--interval").unwrap_or_default().to_string(), g.flag("--del"));
    let pos = g.positional;
    let [dir, token] = &pos[..] else {
        return fail("usage: tf ... watch DIR TOKEN [--interval S] [--del]");
    };
    if token.contains(' ') {
        return fail("the token cannot contain a space");
    }
    match c.addntfy(token, dir) {
        Ok(()) => {}
        Err(Error::Refused(r)) => return print_status(&r.reply),
        Err(e) => return fail(e),
    }
    match run(c, dir, &interval, del) {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

fn run(c: &mut Client, dir: &str, interval: &str, del: bool) -> Result<ExitCode, Error> {
    let mut n = Notifications::start(c, interval)?;
    let prefix = dir.trim_end_matches('/');
    loop {
        let note = match n.wait() {
            Ok(note) => note,
            // STARTNTFY's refusal (no ADDNTFY) comes as its first frame
            Err(Error::Refused(r)) => return Ok(print_status(&r.reply)),
            Err(e) => return Err(e),
        };
        let name = tfp_client::escape::shown(&note.name);
        let line = if prefix.is_empty() {
            format!("{name}\n")
        } else {
            format!("{prefix}/{name}\n")
        };
        super::out::bytes(line.as_bytes());
        n.answer(if del { Answer::Delete } else { Answer::Keep })?;
    }
}
