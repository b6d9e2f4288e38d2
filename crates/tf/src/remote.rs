//! Listings and removals: `ls`/`lsr` sorted by name (`-l` adds mode, owner,
//! group, size and modification time, long.rs), `del`/`rm` of files and patterns, `rmdir` that
//! keeps a non-empty directory unless `-r` says otherwise.

use super::exit::Exit;
use super::reply::{fail, report};
use super::row::Done;
use super::{explain, formats, long, rglob};
use std::process::ExitCode;
use tf::options::commands::{self, Family};
use tfp_client::escape::shown;
use tfp_client::remote::listing::{self, Kind, Stat};
use tfp_client::replies::Split as _;
use tfp_client::{Client, Error};
use tfp_wire::Status;

/// One listing line, `D: name/`, `F: name` or `U: name`, split.
struct Entry<'a> {
    kind: u8,
    name: &'a [u8],
}

/// The entries of a LS/LSR answer, sorted by name (byte order, as `LC_ALL=C ls`).
fn entries(text: &[u8]) -> Vec<Entry<'_>> {
    let mut v: Vec<Entry<'_>> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| match l {
            [k, b':', b' ', name @ ..] => Entry { kind: *k, name },
            other => Entry {
                kind: b'?',
                name: other,
            },
        })
        .collect();
    v.sort_by(|a, b| {
        a.name
            .strip_suffix(b"/")
            .unwrap_or(a.name)
            .cmp(b.name.strip_suffix(b"/").unwrap_or(b.name))
    });
    v
}

/// `-la` is `-l -a`: a listing's short flags may be joined, as ls's.
fn split_flags(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for a in args {
        match a.strip_prefix('-') {
            Some(f) if f.len() > 1 && !f.starts_with('-') && f.bytes().all(|b| b"lah".contains(&b)) => {
                out.extend(f.chars().map(|c| format!("-{c}")))
            }
            _ => out.push(a.clone()),
        }
    }
    out
}

/// An operand of ls: a path (the server's bytes), and what it is once known.
struct Operand {
    path: Vec<u8>,
    kind: Option<Kind>,
}

/// `ls [-l] [-a] [-h] [PATH...]` and `lsr` likewise: each directory's entries
/// sorted by name; a file named is shown as itself; a pattern is expanded
/// from a listing. `-a` adds the user's own stages, which the server's
/// listing hides (tfd's TFDSTAGES; the listing holds every other name
/// already), `-h` writes sizes as `ls -h`.
pub fn ls(c: &mut Client, cmd: &str, args: &[String]) -> Done {
    let g = match commands::parse(Family::List, &split_flags(args)) {
        Ok(g) => g,
        Err(commands::ParseError::Unknown(o)) => {
            return Ok(fail(format!(
                "{cmd}: unknown option {o} (-l, -a, -h; usage: {cmd} [-lah] [PATH...])"
            )))
        }
        Err(commands::ParseError::Bad(m)) => return Ok(fail(m)),
    };
    let (long, human, all) = (g.flag("-l"), g.flag("-h"), g.flag("-a"));
    let mut code = ExitCode::SUCCESS;
    let mut ops: Vec<Operand> = Vec::new();
    for w in g
        .positional
        .iter()
        .map(String::as_str)
        .chain(g.positional.is_empty().then_some(""))
    {
        if !rglob::is_pattern(w) {
            ops.push(Operand {
                path: rglob::literal(w),
                kind: None,
            });
            continue;
        }
        match rglob::expand(c, w)? {
            Ok(v) if v.is_empty() => {
                eprintln!("tf: {cmd}: {w}: no remote name matches");
                code = ExitCode::from(Exit::Refused);
            }
            Ok(v) => ops.extend(v.into_iter().map(|(path, k)| Operand { path, kind: Some(k) })),
            Err(why) => {
                eprintln!("tf: {cmd}: {w}: {why}");
                code = ExitCode::from(Exit::Refused);
            }
        }
    }
    let several = ops.len() > 1;
    let mut files: Vec<(Vec<u8>, Option<Stat>)> = Vec::new();
    let mut dirs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for op in ops {
        if matches!(op.kind, Some(Kind::File | Kind::Other)) {
            let st = if long { stat(c, &op.path)? } else { None };
            files.push((op.path, st));
            continue;
        }
        match c.list(cmd == "lsr", &op.path).split()? {
            Ok(t) => dirs.push((op.path, t)),
            Err(st) => match stat(c, &op.path)? {
                Some(s) if s.kind != Kind::Dir => files.push((op.path, Some(s))),
                _ => {
                    code = report(
                        c,
                        cmd,
                        &[(&String::from_utf8_lossy(&op.path), explain::Access::Read)],
                        &st,
                    )
                }
            },
        }
    }
    let mut out = Vec::new();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, st) in &files {
        if long {
            let (parent, name) = match path.iter().rposition(|&b| b == b'/') {
                Some(i) => (&path[..i], &path[i + 1..]),
                None => (&path[..0], &path[..]),
            };
            let facts = long::Facts::of(c, parent, false)?;
            out.extend_from_slice(long::prefix(facts.get(name), *st, b'F', human).as_bytes());
        } else {
            out.extend_from_slice(if st.is_some_and(|s| s.kind == Kind::Other) {
                b"U: "
            } else {
                b"F: "
            });
        }
        // names are the server's text: escaped (tfp-client escape.rs)
        out.extend_from_slice(shown(path).as_bytes());
        out.push(b'\n');
    }
    for (i, (dir, text)) in dirs.iter().enumerate() {
        if several {
            if i > 0 || !files.is_empty() {
                out.push(b'\n');
            }
            let shown_dir = if dir.is_empty() { "/".to_string() } else { shown(dir) };
            out.extend_from_slice(format!("{shown_dir}:\n").as_bytes());
        }
        let facts = if long {
            long::Facts::of(c, dir, cmd == "lsr")?
        } else {
            long::Facts::default()
        };
        for e in entries(text) {
            if long {
                let bare = e.name.strip_suffix(b"/").unwrap_or(e.name);
                let mut path = dir.clone();
                while path.last() == Some(&b'/') {
                    path.pop();
                }
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(bare);
                let full = facts.get(e.name);
                let st = if full.is_none() { stat(c, &path)? } else { None };
                out.extend_from_slice(long::prefix(full, st, e.kind, human).as_bytes());
            } else {
                out.extend_from_slice(&[e.kind, b':', b' ']);
            }
            out.extend_from_slice(shown(e.name).as_bytes());
            out.push(b'\n');
        }
        if all {
            stage_lines(c, cmd == "lsr", dir, long, human, &mut out)?;
        }
    }
    super::out::bytes(&out);
    Ok(code)
}

/// `ls -a`: the user's own stages in `dir` (with `lsr`, below it too), which
/// the listing hides, as what they are: `S: NAME (stage of TARGET: ...)`, or
/// with `-l` type `s`, the size the quota counts and the last write. A server
/// without stages (or that refuses the listing) adds nothing.
fn stage_lines(
    c: &mut Client,
    deep: bool,
    dir: &[u8],
    long: bool,
    human: bool,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let found = match tfp_client::engine::staged::list(c, dir, deep) {
        Ok(v) => v,
        Err(Error::Refused(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    for s in found {
        if long {
            let size = if human {
                formats::human_size(s.counted)
            } else {
                s.counted.to_string()
            };
            out.extend_from_slice(
                format!(
                    "s????????? {:<6} {:<6} {size:>12} {}  ",
                    "?",
                    "?",
                    formats::local_time(s.mtime)
                )
                .as_bytes(),
            );
        } else {
            out.extend_from_slice(b"S: ");
        }
        out.extend_from_slice(shown(&s.path).as_bytes());
        out.extend_from_slice(format!(" ({})\n", super::stages::what(&s, &String::from_utf8_lossy(dir))).as_bytes());
    }
    Ok(())
}

/// Whether `path`'s last component is a stage's own name, as `ls -a` shows
/// it: `rm` of one discards the stage (TFDSTAGEDROP), since DEL may not name it.
fn names_a_stage(path: &[u8]) -> bool {
    let last = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    last.strip_prefix(b".tfd-part-s")
        .is_some_and(|h| h.len() == 16 && h.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)))
}

/// FSTAT of `path` (the server's bytes): None when refused or of another
/// shape (an entry gone meanwhile shows '?').
fn stat(c: &mut Client, path: &[u8]) -> Result<Option<Stat>, Error> {
    Ok(match c.call("FSTAT", path)? {
        Status::Ok(d) => listing::parse_fstat(&d),
        _ => None,
    })
}

/// `del PATH...` (and `rm`): each file named, patterns expanded from a
/// listing (a directory they match is left, said so: rmdir removes those).
/// The exit status is 2 when any was refused or nothing matched.
pub fn del(c: &mut Client, cmd: &str, args: &[String]) -> Done {
    if args.is_empty() {
        return Ok(fail(format!("usage: tf ... {cmd} PATH...")));
    }
    let mut code = ExitCode::SUCCESS;
    for w in args {
        let paths: Vec<Vec<u8>> = if rglob::is_pattern(w) {
            match rglob::expand(c, w)? {
                Ok(v) if v.is_empty() => {
                    eprintln!("tf: {cmd}: {w}: no remote name matches");
                    code = ExitCode::from(Exit::Refused);
                    continue;
                }
                Ok(v) => v
                    .into_iter()
                    .filter_map(|(p, k)| {
                        if k == Kind::Dir {
                            eprintln!(
                                "tf: {cmd}: {}: is a directory, left (rmdir removes directories)",
                                shown(&p)
                            );
                            code = ExitCode::from(Exit::Refused);
                            None
                        } else {
                            Some(p)
                        }
                    })
                    .collect(),
                Err(why) => {
                    eprintln!("tf: {cmd}: {w}: {why}");
                    code = ExitCode::from(Exit::Refused);
                    continue;
                }
            }
        } else {
            vec![rglob::literal(w)]
        };
        for p in paths {
            let st = if names_a_stage(&p) {
                // one's own stage, as ls -a shows it: discarded (tf stages --discard)
                c.call(tfp_wire::stage::DROP, &p)?
            } else {
                c.call("DEL", &p)?
            };
            let one = report(c, "del", &[(&String::from_utf8_lossy(&p), explain::Access::Read)], &st);
            if one != ExitCode::SUCCESS {
                code = one;
            }
        }
    }
    Ok(code)
}

/// `rmdir [-r] DIR`: without `-r` the directory must be empty, as
/// os.rmdir's (the library's [`Client::rmdir_empty`], which the Python
/// package's rmdir calls too), since the protocol's RMDIR removes a whole tree.
pub fn rmdir(c: &mut Client, args: &[String]) -> Done {
    // rmdir's family takes no word for an unknown option: it cannot fail
    let g = commands::parse(Family::Rmdir, args).unwrap_or_default();
    let recursive = g.flag("-r");
    let [dir] = g.positional.as_slice() else {
        return Ok(fail("usage: tf ... rmdir [-r] DIR"));
    };
    let targets = [(dir.as_str(), explain::Access::Read)];
    if recursive {
        let st = c.call("RMDIR", dir.as_bytes())?;
        return Ok(report(c, "rmdir", &targets, &st));
    }
    match c.rmdir_empty(dir.as_bytes()).split()? {
        Ok(None) => Ok(report(c, "rmdir", &targets, &Status::Ok(Vec::new()))),
        Ok(Some(n)) => {
            eprintln!(
                "tf: {dir}: the directory is not empty ({n} entr{}); nothing removed",
                if n == 1 { "y" } else { "ies" }
            );
            eprintln!("hint: tf ... rmdir -r {dir} removes it and everything in it");
            Ok(ExitCode::from(Exit::Refused))
        }
        Err(st) => Ok(report(c, "rmdir", &targets, &st)),
    }
}
