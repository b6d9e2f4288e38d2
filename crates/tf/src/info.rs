//! `sha256`, `fstat` and `freesp` for people: `sha256` prints `sha256sum`'s
//! line (so `tf sha256 f > f.sum` checks with `sha256sum -c`), `fstat` and
//! `freesp` say it in words (formats.rs); `--raw` prints the protocol's reply
//! as before (`OK 0x…`, `OK F size atime mtime`, `OK bytes`), for scripts
//! written against it.

use super::formats;
use super::reply::{fail, report};
use super::rglob;
use super::row::{Cmd, Done};
use std::process::ExitCode;
use tf::exit::Exit;
use tfp_client::escape::shown;
use tfp_client::remote::listing::Kind;
use tfp_client::Client;
use tfp_wire::Status;

/// `sha256 [--raw] PATH...`, `fstat [--raw] PATH...`, `freesp [--raw]`.
pub fn run(c: &mut Client, r: &Cmd, args: &[String]) -> Done {
    let cmd = r.name;
    // after `--`, every word is a path
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let (opts, names) = args.split_at(end);
    let raw = opts.iter().any(|a| a == "--raw");
    if let Some(o) = opts.iter().find(|a| a.starts_with("--") && *a != "--raw") {
        return Ok(fail(format!("{cmd}: unknown option {o} (only --raw)")));
    }
    let paths: Vec<&String> = opts
        .iter()
        .filter(|a| *a != "--raw")
        .chain(names.iter().skip(1))
        .collect();
    match (cmd, paths.len()) {
        ("freesp", 0) => {}
        ("freesp", _) => return Ok(fail("usage: tf ... freesp [--raw]")),
        (_, 0) => return Ok(fail(format!("usage: tf ... {cmd} [--raw] PATH..."))),
        _ => {}
    }
    let mut code = ExitCode::SUCCESS;
    let ask: Vec<Option<Named>> = if paths.is_empty() {
        vec![None]
    } else {
        let mut ask = Vec::new();
        for p in paths {
            let (v, whole) = named(c, cmd, p)?;
            ask.extend(v.into_iter().map(Some));
            if !whole {
                code = ExitCode::from(Exit::Refused);
            }
        }
        ask
    };
    for p in ask {
        let (bytes, name) = p.unwrap_or_default();
        let name = name.as_str();
        let mut line = cmd.to_uppercase().into_bytes();
        if !bytes.is_empty() {
            line.push(b' ');
            line.extend_from_slice(&bytes);
        }
        let st = c.command(&line)?;
        let shown = match &st {
            Status::Ok(d) if !raw => match cmd {
                "sha256" => formats::sha256_line(d, name),
                "fstat" => formats::fstat_text(d, name),
                _ => formats::freesp_text(d),
            },
            _ => None,
        };
        let one = match shown {
            Some(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            None => {
                let args = [name.to_string()];
                report(c, cmd, &r.targets(&args), &st)
            }
        };
        if one != ExitCode::SUCCESS {
            code = one;
        }
    }
    Ok(code)
}

/// A remote path by its bytes, and as it is shown.
type Named = (Vec<u8>, String);

/// The remote paths `word` names, by their bytes and as shown: itself (its
/// escapes undone), or a pattern's matches, as `ls` and `del` expand them
/// (`sha256` leaves the directories among them out, said so), and false
/// when something was left out or the pattern named nothing or could not be
/// listed (said so).
fn named(c: &mut Client, cmd: &str, word: &str) -> Result<(Vec<Named>, bool), tfp_client::Error> {
    if !rglob::is_pattern(word) {
        let bytes = rglob::literal(word);
        let shown = String::from_utf8_lossy(&bytes).into_owned();
        return Ok((vec![(bytes, shown)], true));
    }
    let matches = match rglob::expand(c, word)? {
        Ok(v) if v.is_empty() => {
            eprintln!(
                "tf: {cmd}: {}: no remote name matches",
                tfp_client::escape::shown_str(word)
            );
            return Ok((Vec::new(), false));
        }
        Ok(v) => v,
        Err(why) => {
            eprintln!("tf: {cmd}: {}: {why}", tfp_client::escape::shown_str(word));
            return Ok((Vec::new(), false));
        }
    };
    let mut out = Vec::new();
    let mut dirs = false;
    for (p, kind) in matches {
        if cmd == "sha256" && kind == Kind::Dir {
            // as sha256sum says of one
            eprintln!("tf: sha256: {}: is a directory", shown(&p));
            dirs = true;
            continue;
        }
        let name = shown(&p);
        out.push((p, name));
    }
    Ok((out, !dirs))
}
