//! Listings and directory removal: `ls`/`lsr` sorted by name (`-l` adds type,
//! size and modification time), `rmdir` that keeps a non-empty directory
//! unless `-r` says otherwise.

use super::{explain, fail, report, ExitCode};
use std::io::Write;
use tfd::client::escape::shown;
use tfd::client::options::commands::{self, Family};
use tfd::client::tree::listing::{parse_fstat, Kind};
use tfd::client::{Client, ClientError};
use tfd::wire::Status;

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

/// `ls [-l] [DIR]` and `lsr [-l] [DIR]`.
pub fn ls(c: &mut Client, cmd: &str, args: &[String]) -> Result<ExitCode, ClientError> {
    let g = commands::parse(Family::List, args)
        .ok()
        .filter(|g| g.positional.len() <= 1);
    let Some(g) = g else {
        return Ok(fail(format!("usage: tf ... {cmd} [-l] [DIR]")));
    };
    let long = g.flag("-l");
    let dir = g.positional.first().map_or("", |d| d.as_str());
    let text = match c.list(cmd == "lsr", dir.as_bytes())? {
        Ok(t) => t,
        Err(st) => return Ok(report(c, cmd, &[(dir, explain::Access::Read)], &st)),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for e in entries(&text) {
        // a name is the server's text: escaped (src/client/escape.rs)
        let name = shown(e.name);
        if !long {
            let _ = writeln!(out, "{}: {name}", e.kind as char);
            continue;
        }
        let bare = e.name.strip_suffix(b"/").unwrap_or(e.name);
        let mut path = dir.trim_end_matches('/').as_bytes().to_vec();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(bare);
        // FSTAT answers `T size atime mtime`, parsed: only numbers are
        // printed; an entry gone meanwhile (or an answer that does not
        // parse) shows '?'
        let (kind, size, mtime) = match c.call("FSTAT", &path)? {
            Status::Ok(d) => match parse_fstat(&d) {
                Some(st) => (
                    match st.kind {
                        Kind::Dir => b'D',
                        Kind::File => b'F',
                        Kind::Other => b'U',
                    },
                    st.size.to_string(),
                    tfd::wire::date::format_utc(st.mtime).unwrap_or_else(|| "? ?".into()),
                ),
                None => (e.kind, "?".into(), "? ?".into()),
            },
            _ => (e.kind, "?".into(), "? ?".into()),
        };
        let t = match kind {
            b'D' => 'd',
            b'F' => '-',
            _ => '?',
        };
        let _ = writeln!(out, "{t} {size:>12} {mtime}  {name}");
    }
    let _ = out.flush();
    Ok(ExitCode::SUCCESS)
}

/// `rmdir [-r] DIR`: without `-r` the directory must be empty (LS says so
/// first), since the protocol's RMDIR removes a whole tree.
pub fn rmdir(c: &mut Client, args: &[String]) -> Result<ExitCode, ClientError> {
    // rmdir's family takes no word for an unknown option: it cannot fail
    let g = commands::parse(Family::Rmdir, args).unwrap_or_default();
    let recursive = g.flag("-r");
    let [dir] = g.positional.as_slice() else {
        return Ok(fail("usage: tf ... rmdir [-r] DIR"));
    };
    let targets = [(dir.as_str(), explain::Access::Read)];
    if !recursive {
        match c.list(false, dir.as_bytes())? {
            Ok(text) if text.is_empty() => {}
            Ok(text) => {
                let n = text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
                eprintln!(
                    "tf: {dir}: the directory is not empty ({n} entr{}); nothing removed",
                    if n == 1 { "y" } else { "ies" }
                );
                eprintln!("hint: tf ... rmdir -r {dir} removes it and everything in it");
                return Ok(ExitCode::from(2));
            }
            Err(st) => return Ok(report(c, "rmdir", &targets, &st)),
        }
    }
    let st = c.call("RMDIR", dir.as_bytes())?;
    Ok(report(c, "rmdir", &targets, &st))
}
