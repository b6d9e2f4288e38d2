//! What a row of tf's command table is (table.rs holds the rows): the type, its
//! builders, and what a command's function needs of its own row (its usage, which
//! arguments are remote paths, what a failure is checked against), so the
//! commands' files use this file and never the table that names them.

use super::ctx::Ctx;
use super::explain::Access;
use std::process::ExitCode;
use tf::options::commands;
use tfp_client::Error;

/// Why a command did not run to its end, beyond the exit status it chose: the
/// dispatcher (table.rs) words each once.
#[derive(Debug)]
pub enum Failure {
    /// The session failed (explained with the connection's settings).
    Session(Error),
    /// The arguments do not fit the row's (`usage: tf ... NAME ARGS`).
    Usage,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Session(e)
    }
}

/// What a command's function returns: its exit status, or a [`Failure`].
pub type Done = Result<ExitCode, Failure>;

/// What a session command runs: the context, its own row and its arguments.
pub type Run = fn(&mut Ctx<'_>, &Cmd, &[String]) -> Done;

/// How a command runs: most over the session; a few before there is one.
#[derive(Clone, Copy)]
pub enum Does {
    /// Over the session, through this function.
    Session(Run),
    /// `probe`: a UDP datagram to the server, no session (main.rs).
    Probe,
    /// `completion`: prints a script, no server at all (main.rs).
    Completion,
    /// `partials`: the partial downloads here, no server at all (main.rs).
    Partials,
    /// `shell`: the interactive loop over the session (shell.rs).
    Shell,
    /// `copy-id`, `keys`: a session proving the password, not logged in
    /// (user_keys.rs).
    UserKeys,
}

/// The part of the help a command is listed in, in the order of the help.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Part {
    Basic,
    Transfers,
    TreeCommands,
    Notifications,
    Liveness,
    V251,
}

/// One row: a tf command.
pub struct Cmd {
    /// The name typed (lower case).
    pub name: &'static str,
    /// The arguments, for usage lines and the help.
    pub args: &'static str,
    /// What it does, in a few words (more lines each start with a newline).
    pub summary: &'static str,
    /// Where the help lists it.
    pub part: Part,
    /// Which arguments name remote paths (`tf shell` and `tf -b` join them to
    /// the remote directory of `cd`; Tab completes remote names there).
    pub paths: Paths,
    /// Which arguments name local files (Tab completes local names there),
    /// counted from 0 as [`Paths::At`].
    pub local: &'static [usize],
    /// What a FAILED reply is checked against, per positional argument: the
    /// path must exist (`Read`) or its directory must (`Create`).
    pub access: &'static [Access],
    /// Whether its effect lasts for the session (then it belongs in `tf
    /// shell` or `tf -b`), marked `*` in the help.
    pub stateful: bool,
    /// How it runs.
    pub does: Does,
}

/// Which of a command's positional arguments (options and their values not
/// counted) are remote paths; an option's value is one if [`VALUED`] says so.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Paths {
    /// None of them.
    No,
    /// Every one.
    All,
    /// Those at these places, counted from 0.
    At(&'static [usize]),
}

pub const fn row(
    name: &'static str,
    args: &'static str,
    summary: &'static str,
    part: Part,
    paths: Paths,
    run: Run,
) -> Cmd {
    Cmd {
        name,
        args,
        summary,
        part,
        paths,
        local: &[],
        access: &[],
        stateful: false,
        does: Does::Session(run),
    }
}

/// A command that does not run over the session.
pub const fn special(name: &'static str, args: &'static str, summary: &'static str, part: Part, does: Does) -> Cmd {
    Cmd {
        name,
        args,
        summary,
        part,
        paths: Paths::No,
        local: &[],
        access: &[],
        stateful: false,
        does,
    }
}

impl Cmd {
    pub const fn local(mut self, at: &'static [usize]) -> Cmd {
        self.local = at;
        self
    }

    pub const fn access(mut self, a: &'static [Access]) -> Cmd {
        self.access = a;
        self
    }

    pub const fn stateful(mut self) -> Cmd {
        self.stateful = true;
        self
    }
}

/// The options of the 2.5.1 commands that take a value, and whether the value
/// is a remote path; those of the other commands are in the command option
/// table (none a remote path). Any other word starting with `-` (and longer
/// than `-`, which is stdin or stdout) stands alone.
const VALUED: &[(&str, bool)] = &[("--to", true), ("--expect", false), ("--file", false)];

/// Whether option `a` takes a value, and whether that value is a remote path.
fn valued(a: &str) -> Option<bool> {
    let tabled =
        commands::all().any(|o| o.name == a && !matches!(o.kind, commands::Kind::Flag | commands::Kind::OptNum { .. }));
    VALUED
        .iter()
        .find(|(o, _)| *o == a)
        .map(|&(_, remote)| remote)
        .or(tabled.then_some(false))
}

/// A command's words with GNU habits: `--name=value` is `--name value` for
/// every option that takes a value, a cluster of single-letter flags is
/// each of them (`-aX` is `-a -X`), and a command that has no options takes
/// a first `--` as their end (those that have options parse it themselves:
/// commands::parse).
pub fn gnu_words(r: &Cmd, args: &[String]) -> Vec<String> {
    let joined = commands::joined_values(args, &|n| valued(n).is_some());
    let mut words = Vec::with_capacity(joined.len());
    let mut it = joined.into_iter();
    while let Some(w) = it.next() {
        if w == "--" {
            words.push(w);
            words.extend(it.by_ref());
        } else if valued(&w).is_some() {
            // the value after it is taken as it is, dashes and all
            words.push(w);
            words.extend(it.next());
        } else {
            words.extend(commands::short_cluster(r.name, &w).unwrap_or_else(|| vec![w]));
        }
    }
    if !r.args.contains('-') {
        if let Some(i) = words.iter().position(|a| a == "--") {
            words.remove(i);
        }
    }
    words
}

/// `args` with the remote paths among them (per `paths`) passed through `at`;
/// after a `--`, every word is a path.
pub fn map_paths(args: &[String], paths: Paths, at: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut pos = 0;
    let mut it = args.iter();
    let mut ended = false;
    while let Some(a) = it.next() {
        if !ended && a == "--" {
            ended = true;
            out.push(a.clone());
        } else if let Some(remote) = valued(a).filter(|_| !ended) {
            out.push(a.clone());
            out.extend(it.next().map(|v| if remote { at(v) } else { v.clone() }));
        } else if !ended && a.starts_with('-') && a.len() > 1 {
            out.push(a.clone());
        } else {
            let remote = match paths {
                Paths::No => false,
                Paths::All => true,
                Paths::At(places) => places.contains(&pos),
            };
            out.push(if remote { at(a) } else { a.clone() });
            pos += 1;
        }
    }
    out
}

/// As many arguments as `n` allows, or [`Failure::Usage`].
pub fn want(args: &[String], n: std::ops::RangeInclusive<usize>) -> Result<(), Failure> {
    if n.contains(&args.len()) {
        Ok(())
    } else {
        Err(Failure::Usage)
    }
}

impl Cmd {
    /// The remote paths this command reads (must exist) or creates (its
    /// directory must exist), from its row and the positional words of `args`,
    /// for explaining its failures.
    pub fn targets<'a>(&self, args: &'a [String]) -> Vec<(&'a str, Access)> {
        let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
        let (opts, names) = args.split_at(end);
        let positional = opts
            .iter()
            .filter(|a| !(a.starts_with('-') && a.len() > 1))
            .chain(names.iter().skip(1));
        positional
            .zip(self.access.iter())
            .map(|(p, a)| (p.as_str(), *a))
            .collect()
    }
}
