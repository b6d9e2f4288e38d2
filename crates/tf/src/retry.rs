//! `--retries N`: a `put`, `get` or `mirror` whose connection broke (the
//! server's session ended, the network cut it) is run again on a new
//! session, up to N times, each continuing what the tries before it left
//! through what a re-run already continues from: a download's partials and
//! their journals (`--resume`), an upload's stage and its journal (`put
//! --resume`), a tree's destination (rsync's rule lands a re-run where it did),
//! and a mirror's comparison. A broken connection of any session of the
//! run counts (one of a tree's pool too, which its run reports). Only a
//! broken connection is tried again: a
//! try that failed with its session still answering (a refusal, a local
//! error) failed for good, and so did one the user interrupted.

use super::ctx::Ctx;
use std::process::ExitCode;
use tfp_client::retry::{Told, Tries};
use tfp_client::Client;

/// One try of a command: the context, the command's name, its words.
pub type Once = fn(&mut Ctx<'_>, &str, &[String]) -> ExitCode;

/// Runs `once` with `args`, and again after each try that broke its
/// connection, as many times as `x.retries` allows (the library's loop,
/// [`Tries`]); with `resumes` the later tries continue with `--resume`
/// ([`continued`]).
pub fn run(x: &mut Ctx<'_>, cmd: &str, args: &[String], resumes: bool, once: Once) -> ExitCode {
    x.tries = 1;
    let retries = if continuable(args) { x.retries } else { 0 };
    let cfg = x.cfg;
    let tries = Tries {
        cfg: x.cfg,
        retries,
        client: session,
    };
    let again = continued(args, resumes);
    let mut last = ExitCode::FAILURE;
    let each = |x: &mut Ctx<'_>, n: u32| {
        x.tries = n;
        x.tried_again = n <= retries;
        last = once(x, cmd, if n == 1 { args } else { &again });
        // the try's pool's break, read once
        Ok::<_, tfp_client::Error>((last, std::mem::take(&mut x.broken)))
    };
    let told = |t: Told<'_>| match t {
        Told::Waiting { tries, pause } => eprintln!(
            "tf: {cmd}: the connection broke; trying again in {} s ({tries} of {retries} retries)",
            pause.as_secs(),
        ),
        Told::NotConnected(e) => super::explain::connect_error(e, cfg).print(),
    };
    let (r, _) = tries.run(
        x,
        each,
        |(code, _)| *code != ExitCode::SUCCESS,
        |(_, broken)| *broken,
        told,
    );
    r.map_or(last, |(code, _)| code)
}

/// The session a try runs on.
fn session<'s>(x: &'s mut Ctx<'_>) -> &'s mut Client {
    x.c
}

/// What the summary line adds after a run that took more than one try.
pub fn told(tries: u32) -> String {
    match tries {
        0 | 1 => String::new(),
        2 => " after 1 retry".into(),
        n => format!(" after {} retries", n - 1),
    }
}

/// Whether a broken run can be continued: not one reading its data from
/// stdin or writing it to stdout (`-`), which a second try cannot read or
/// take back.
fn continuable(args: &[String]) -> bool {
    !args.iter().take_while(|a| *a != "--").any(|a| a == "-")
}

/// The words of the tries after the first: with `resumes` (a `get` of a
/// file or a tree, a single file's `put`) `--resume` joins them, unless
/// given already or the transfer writes in place (`--offset`); a tree's
/// `put` and a mirror continue as running them again does.
fn continued(args: &[String], resumes: bool) -> Vec<String> {
    let mut options = args.iter().take_while(|a| *a != "--");
    let mut out = Vec::with_capacity(args.len() + 1);
    if resumes && !options.any(|a| a == "--resume" || a == "--offset" || a.starts_with("--offset=")) {
        out.push("--resume".to_string());
    }
    out.extend(args.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn later_tries_continue_what_the_first_left() {
        let resumed = |a: &[&str]| continued(&s(a), true);
        assert_eq!(resumed(&["a", "b"]), s(&["--resume", "a", "b"]));
        assert_eq!(resumed(&["-r", "a", "b"]), s(&["--resume", "-r", "a", "b"]));
        assert_eq!(resumed(&["--resume", "a"]), s(&["--resume", "a"]));
        assert_eq!(resumed(&["--offset", "5", "a"]), s(&["--offset", "5", "a"]));
        assert_eq!(resumed(&["--offset=5", "a"]), s(&["--offset=5", "a"]));
        assert_eq!(continued(&s(&["-r", "a", "b"]), false), s(&["-r", "a", "b"]));
        // a name after -- stays a name
        assert_eq!(resumed(&["--", "--resume"]), s(&["--resume", "--", "--resume"]));
    }

    #[test]
    fn stdin_and_stdout_are_not_tried_again() {
        assert!(!continuable(&s(&["-", "b"])));
        assert!(!continuable(&s(&["a", "-"])));
        assert!(continuable(&s(&["--", "-"])));
        assert!(continuable(&s(&["a", "b"])));
    }

    #[test]
    fn the_summary_counts_retries() {
        assert_eq!(told(1), "");
        assert_eq!(told(2), " after 1 retry");
        assert_eq!(told(3), " after 2 retries");
    }
}
