//! `tf shell` and `tf -b FILE`: many commands over the one session, in an
//! sftp-like language. The remote working directory lives here, in the client
//! (the protocol has none): relative paths are joined to it before they are
//! sent; `lcd` changes the process's own directory, which local paths follow.

use super::ctx::Ctx;
use super::exit::Exit;
use super::reply::fail;
use super::row::{map_paths, Paths};
use super::table;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use tf::options::commands::{self, Family};
use tfp_client::Client;
use tfp_wire::Status;

const HELP: &str = "\
Commands (remote paths are relative to the remote directory, or to the served
root when they start with '/'; local paths to the local directory):
  cd [DIR]                  change the remote directory ('/' or nothing: the root)
  pwd                       print the remote directory
  lcd DIR                   change the local directory
  lpwd                      print the local directory
  ls [-lah] [PATH...]       list remote directories sorted by name, files as themselves;
                            patterns (*, ?, [...]) expand; -h: sizes as ls -h
  put LOCAL [REMOTE] [--verify] [--parents] [--resume] [--streams N] ...
                            upload (REMOTE defaults to LOCAL's name)
  get REMOTE [LOCAL] [--verify] [--resume] [--streams N] ...
                            download (LOCAL defaults to REMOTE's name)
  put -r [--jobs N] LOCAL... [REMOTE]
  get -r [--jobs N] REMOTE... [LOCAL]
                            whole trees and many files over N sessions (default 4;
                            REMOTE defaults to the remote directory, LOCAL to the
                            local one); sources may be patterns (*, ?, [...]; a
                            backslash escapes), which tf expands itself
  mirror [-R] [-a] [-H] [-X] [-A] [--delete] [--checksum] [--dry-run] [--jobs N] SRC DST
                            make DST a copy of SRC, moving only files whose size or
                            mtime differ: SRC remote and DST local, or with -R the
                            other way; --delete removes what SRC does not hold
  mkdir DIR                 make a remote directory
  rm FILE...                delete remote files (patterns expand)
  rmdir [-r] DIR            remove a remote directory (-r: and all it holds)
  mv OLD NEW                rename a remote file or directory
  help, ?                   this text
  quit, exit, bye           end the session (so does end of input)
Any other tf command (fstat, sha256, copy, the 2.5.1 commands, ...) runs as
`tf COMMAND ARGS` would, its remote paths relative to the remote directory too.
Commands that would read stdin (put -, intwrite -) cannot when the commands
themselves come from stdin.
In a batch file (tf -b), each command is echoed first on stderr (`tf> COMMAND`, as
sftp -b does); a line starting with '-' may fail without stopping the batch; empty lines
and lines starting with '#' are skipped.";

/// One session's client-side state.
struct Shell<'a, 'b> {
    /// The session and what commands leave for later ones.
    x: &'a mut Ctx<'b>,
    /// The remote directory, relative to the served root ("" is the root).
    cwd: String,
}

/// A line whose quote is not closed.
#[derive(Debug)]
pub struct UnterminatedQuote;

impl std::fmt::Display for UnterminatedQuote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unterminated quote")
    }
}

/// Splits a line into words: blanks separate, '...' and "..." quote, a
/// backslash escapes the next character.
pub fn words(line: &str) -> Result<Vec<String>, UnterminatedQuote> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        match ch {
            ' ' | '\t' => {
                if let Some(w) = cur.take() {
                    out.push(w);
                }
            }
            '\'' | '"' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some(c) if c == ch => break,
                        Some('\\') if ch == '"' => w.extend(chars.next()),
                        Some(c) => w.push(c),
                        None => return Err(UnterminatedQuote),
                    }
                }
            }
            '\\' => cur.get_or_insert_with(String::new).extend(chars.next()),
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(cur);
    Ok(out)
}

/// `p` joined to the remote directory `cwd`, with `.` and `..` resolved
/// (`..` stops at the root: the server would refuse it anyway).
pub fn join(cwd: &str, p: &str) -> String {
    let (base, p) = match p.strip_prefix('/') {
        Some(abs) => ("", abs),
        None => (cwd, p),
    };
    let mut parts: Vec<&str> = Vec::new();
    for comp in base.split('/').chain(p.split('/')) {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

/// The last component of a path.
fn base_name(p: &str) -> &str {
    p.trim_end_matches('/').rsplit('/').next().unwrap_or(p)
}

/// Whether `a` is an option of put/get (one file or a tree) that takes a value.
fn valued(a: &str) -> bool {
    commands::takes_value(Family::Transfer, a) || commands::takes_value(Family::Tree, a)
}

/// put/get's arguments: (positional words, options with their values).
fn split_opts(args: &[String]) -> (Vec<String>, Vec<String>) {
    let (mut pos, mut opts) = (Vec::new(), Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if valued(a) {
            opts.push(a.clone());
            opts.extend(it.next().cloned());
        } else if a.starts_with("--") || a == "-r" {
            opts.push(a.clone());
        } else {
            pos.push(a.clone());
        }
    }
    (pos, opts)
}

impl Shell<'_, '_> {
    fn at(&self, p: &str) -> String {
        join(&self.cwd, p)
    }

    /// A remote path argument for a tf command: joined to the remote
    /// directory ("/" for the served root itself).
    fn remote(&self, p: &str) -> String {
        let j = self.at(p);
        if j.is_empty() {
            "/".into()
        } else {
            j
        }
    }

    /// Runs one command line; None for quit.
    fn line(&mut self, w: &[String]) -> Option<ExitCode> {
        let Some(cmd) = w.first().map(|c| c.to_ascii_lowercase()) else {
            return Some(ExitCode::SUCCESS);
        };
        let args = &w[1..];
        let one = |usage: &str| -> Result<&String, ExitCode> {
            match args {
                [a] => Ok(a),
                _ => Err(fail(format!("usage: {usage}"))),
            }
        };
        let code = match cmd.as_str() {
            "quit" | "exit" | "bye" => return None,
            "help" | "?" => {
                println!("{HELP}\n\n{}", table::part_help(table::Part::V251));
                ExitCode::SUCCESS
            }
            "pwd" => {
                println!("/{}", tfp_client::escape::shown_str(&self.cwd));
                ExitCode::SUCCESS
            }
            "lpwd" => match std::env::current_dir() {
                Ok(d) => {
                    println!("{}", tfp_client::escape::path(&d));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(format!("lpwd: {e}")),
            },
            "lcd" => match one("lcd DIR") {
                Ok(d) => match std::env::set_current_dir(d) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => fail(format!("lcd {d}: {e}")),
                },
                Err(c) => c,
            },
            "cd" => match args {
                [] => {
                    self.cwd.clear();
                    ExitCode::SUCCESS
                }
                [d] => self.cd(d),
                _ => fail("usage: cd [DIR]"),
            },
            "ls" | "lsr" => {
                let mut a: Vec<String> = args.iter().filter(|a| a.starts_with('-')).cloned().collect();
                let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
                if paths.is_empty() && !self.cwd.is_empty() {
                    a.push(self.cwd.clone());
                }
                a.extend(paths.iter().map(|p| self.remote(p)));
                table::run(self.x, &cmd, &a)
            }
            "put" | "get" if super::tree::wanted(args) => {
                let (mut pos, opts) = split_opts(args);
                // one word: the sources go to the remote directory, or come here
                if pos.len() == 1 {
                    pos.push(if cmd == "put" { String::new() } else { ".".into() });
                }
                let n = pos.len() - 1;
                let mut a: Vec<String> = if cmd == "put" {
                    let mut a = pos[..n].to_vec();
                    a.push(self.at(&pos[n]));
                    a
                } else {
                    let mut a: Vec<String> = pos[..n].iter().map(|r| self.at(r)).collect();
                    a.push(pos[n].clone());
                    a
                };
                a.extend(opts);
                table::run(self.x, &cmd, &a)
            }
            "put" => {
                let (pos, opts) = split_opts(args);
                let (local, remote) = match pos.as_slice() {
                    [l] => (l.clone(), base_name(l).to_string()),
                    [l, r] => (l.clone(), r.clone()),
                    _ => return Some(fail("usage: put LOCAL [REMOTE] [OPTIONS]")),
                };
                let mut a = vec![local, self.at(&remote)];
                a.extend(opts);
                table::run(self.x, "put", &a)
            }
            "get" => {
                let (pos, opts) = split_opts(args);
                let (remote, local) = match pos.as_slice() {
                    [r] => (r.clone(), base_name(r).to_string()),
                    [r, l] => (r.clone(), l.clone()),
                    _ => return Some(fail("usage: get REMOTE [LOCAL] [OPTIONS]")),
                };
                let mut a = vec![self.at(&remote), local];
                a.extend(opts);
                table::run(self.x, "get", &a)
            }
            "mirror" => {
                // the remote side follows cd: SRC without -R, DST with it
                let upload = args.iter().any(|a| a == "-R");
                let mut a: Vec<String> = Vec::new();
                let mut pos = 0;
                let mut it = args.iter();
                while let Some(w) = it.next() {
                    if commands::takes_value(Family::Mirror, w) {
                        a.push(w.clone());
                        a.extend(it.next().cloned());
                    } else if w.starts_with('-') && w.len() > 1 {
                        a.push(w.clone());
                    } else {
                        let remote = (pos == 0) != upload;
                        a.push(if remote { self.at(w) } else { w.clone() });
                        pos += 1;
                    }
                }
                table::run(self.x, "mirror", &a)
            }
            "mkdir" => match one("mkdir PATH") {
                Ok(p) => table::run(self.x, "mkdir", &[self.at(p)]),
                Err(c) => c,
            },
            "rm" | "del" => {
                let a: Vec<String> = args.iter().map(|p| self.at(p)).collect();
                table::run(self.x, &cmd, &a)
            }
            "rmdir" => {
                let r: Vec<String> = args.iter().filter(|a| *a == "-r").cloned().collect();
                match args.iter().filter(|a| *a != "-r").collect::<Vec<_>>().as_slice() {
                    [d] => {
                        let mut a = r;
                        a.push(self.at(d));
                        table::run(self.x, "rmdir", &a)
                    }
                    _ => fail("usage: rmdir [-r] DIR"),
                }
            }
            "mv" | "rename" => match args {
                [a, b] => table::run(self.x, "renam", &[self.at(a), self.at(b)]),
                _ => fail("usage: mv OLD NEW"),
            },
            "shell" => fail("already in a shell"),
            other => {
                let a = if self.cwd.is_empty() {
                    args.to_vec()
                } else {
                    let paths = table::find(other).map_or(Paths::No, |r| r.paths);
                    map_paths(args, paths, &|p| self.remote(p))
                };
                table::run(self.x, other, &a)
            }
        };
        Some(code)
    }

    /// What Tab may make of the last word of `before` (the line before the
    /// cursor): a command name, or a local or remote name (complete.rs).
    fn complete(&mut self, before: &str) -> Vec<String> {
        let mut w: Vec<&str> = before.split(' ').filter(|w| !w.is_empty()).collect();
        if before.ends_with(' ') || before.is_empty() {
            w.push("");
        }
        let Some(word) = w.last().copied() else {
            return Vec::new();
        };
        let cmd = w[0].to_ascii_lowercase();
        // options and their values are not counted as positions
        let index = w[..w.len() - 1].iter().filter(|a| !a.starts_with('-')).count();
        let cwd = self.cwd.clone();
        super::complete::candidates(self.x.c, &|d| join(&cwd, d), index, &cmd, word)
    }

    /// `cd DIR`: only to a directory that exists (FSTAT says 'D').
    fn cd(&mut self, d: &str) -> ExitCode {
        let p = self.at(d);
        if p.is_empty() {
            self.cwd.clear();
            return ExitCode::SUCCESS;
        }
        match self.x.c.call("FSTAT", p.as_bytes()) {
            Ok(Status::Ok(t)) if t.starts_with(b"D") => {
                self.cwd = p;
                ExitCode::SUCCESS
            }
            Ok(Status::Ok(_)) => fail(format!("cd {d}: /{p} is not a directory")),
            Ok(_) => {
                eprintln!("tf: cd {d}: no directory /{p} on the server (or not readable)");
                ExitCode::from(Exit::Refused)
            }
            Err(e) => {
                super::explain::session_error(&e, self.x.cfg).print();
                ExitCode::from(Exit::Error)
            }
        }
    }
}

/// `tf -b FILE` (`-` for stdin): one command a line, stopping at the first
/// failure unless its line starts with '-'; the exit status is the failed
/// command's.
pub fn batch(x: &mut Ctx<'_>, file: &str) -> ExitCode {
    let text = if file == "-" {
        x.stdin.commands = true;
        let mut s = String::new();
        match std::io::Read::read_to_string(&mut std::io::stdin(), &mut s) {
            Ok(_) => s,
            Err(e) => return fail(format!("-b -: {e}")),
        }
    } else {
        match std::fs::read_to_string(file) {
            Ok(s) => s,
            Err(e) => return fail(format!("-b {file}: {e}")),
        }
    };
    let mut sh = Shell { x, cwd: String::new() };
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (may_fail, line) = match line.strip_prefix('-') {
            Some(l) => (true, l.trim_start()),
            None => (false, line),
        };
        // echoed as sftp -b does, so a transcript says which command said what;
        // on stderr (with the errors) as stdout may carry a file (`get F -`)
        let _ = std::io::stdout().flush();
        eprintln!("tf> {}", raw.trim());
        let w = match words(line) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("tf: {file}:{}: {e}", n + 1);
                return ExitCode::from(Exit::Error);
            }
        };
        let Some(code) = sh.line(&w) else {
            return ExitCode::SUCCESS;
        };
        if code != ExitCode::SUCCESS && !may_fail {
            eprintln!("tf: {file}:{}: `{line}` failed; batch stopped", n + 1);
            return code;
        }
    }
    ExitCode::SUCCESS
}

/// `tf shell`: a prompt, line editing and history (editline.rs) when stdin is
/// a terminal, one command a line, until quit or end of input; the exit status
/// is the last command's.
pub fn interactive(x: &mut Ctx<'_>) -> ExitCode {
    let tty = std::io::stdin().is_terminal();
    x.stdin.commands = !tty;
    tfp_client::interrupt::arm();
    super::safe::clean_on_signals();
    let mut sh = Shell { x, cwd: String::new() };
    let mut last = ExitCode::SUCCESS;
    let mut editor = super::editline::Editor::new();
    loop {
        let read = if tty {
            let prompt = format!("tf:/{}> ", tfp_client::escape::shown_str(&sh.cwd));
            editor.read_line(&prompt, &mut |before: &str| sh.complete(before))
        } else {
            let mut l = String::new();
            std::io::stdin().lock().read_line(&mut l).map(|n| (n > 0).then_some(l))
        };
        let line = match read {
            Ok(Some(l)) => l,
            Ok(None) => return last,
            Err(e) => return fail(format!("reading commands: {e}")),
        };
        let w = match words(line.trim()) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("tf: {e}");
                continue;
            }
        };
        // Ctrl-C stops this command only (client::interrupt): its connections
        // are shut down, and the shell goes on in a new session, same directory
        tfp_client::interrupt::take();
        tfp_client::interrupt::watch(sh.x.c.chan.stream());
        let r = sh.line(&w);
        if tfp_client::interrupt::take() {
            let _ = std::io::stdout().flush();
            eprintln!("tf: interrupted; back at the prompt (a new session, same directory)");
            match Client::connect(sh.x.cfg) {
                Ok(n) => {
                    // a new session: the old one's locks went with it
                    *sh.x.c = n;
                    sh.x.held.clear();
                }
                Err(e) => {
                    super::explain::session_error(&e, sh.x.cfg).print();
                    return ExitCode::from(Exit::Error);
                }
            }
            last = ExitCode::from(Exit::Interrupted);
            continue;
        }
        match r {
            Some(code) => last = code,
            None => return last,
        }
        let _ = std::io::stdout().flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_to_the_remote_directory() {
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("a/b", "c"), "a/b/c");
        assert_eq!(join("a/b", "../c"), "a/c");
        assert_eq!(join("a/b", "/c"), "c");
        assert_eq!(join("a", "../../.."), "");
        assert_eq!(join("a", "./x/"), "a/x");
    }

    #[test]
    fn words_split_and_quote() {
        assert_eq!(
            words(r#"put 'a b' "c\"d" e\ f"#).unwrap(),
            ["put", "a b", "c\"d", "e f"]
        );
        assert!(words("put 'a").is_err());
    }
}
