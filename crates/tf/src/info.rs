//! `sha256`, `fstat` and `freesp` for people: `sha256` prints `sha256sum`'s
//! line (so `tf sha256 f > f.sum` checks with `sha256sum -c`), `fstat` and
//! `freesp` say it in words (formats.rs); `--raw` prints the protocol's reply
//! as before (`OK 0x…`, `OK F size atime mtime`, `OK bytes`), for scripts
//! written against it.

use super::formats;
use super::reply::{fail, report};
use super::row::{Cmd, Done};
use std::process::ExitCode;
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
    let ask: Vec<Option<&String>> = if paths.is_empty() {
        vec![None]
    } else {
        paths.into_iter().map(Some).collect()
    };
    for p in ask {
        let name = p.map_or("", |p| p.as_str());
        let line = if name.is_empty() {
            cmd.to_uppercase()
        } else {
            format!("{} {name}", cmd.to_uppercase())
        };
        let st = c.command(line.as_bytes())?;
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
