//! 2.5.1 listings, types and statistics: `lsv2`/`lsrv2` (streamed through
//! LSV2DOWN/LSRV2DOWN, or stored on the server with `--to`), `rmkdir`, `ftype`,
//! `ftypels`, `fstatls`. The list commands name each answer by its path: tf
//! reads the list file too (RCVFILE), since the server answers in line order
//! only.

use super::exit::Exit;
use super::explain::Access;
use super::reply::report;
use super::row::{want, Done, Failure};
use super::v251::{iso, simple};
use std::process::ExitCode;
use tfp_client::replies::{AsStatus as _, Split as _};
use tfp_client::{Client, ClientConfig, Error};
use tfp_wire::fstat::{FileType, StatRecord};
use tfp_wire::Status;

/// The name tf prints for a type (`error` where the server could not tell).
fn type_name(t: Option<FileType>) -> &'static str {
    match t {
        Some(FileType::Dir) => "directory",
        Some(FileType::CharDevice) => "chardev",
        Some(FileType::BlockDevice) => "blockdev",
        Some(FileType::Regular) => "regular",
        Some(FileType::Fifo) => "fifo",
        Some(FileType::Symlink) => "symlink",
        Some(FileType::Socket) => "socket",
        Some(FileType::Other) => "other",
        None => "error",
    }
}

/// `lsv2 DIR`, `lsrv2 DIR` (and `lsv2down`, `lsrv2down`): the listing on
/// stdout, sorted; `--to FILE` has the server store it in FILE instead (LSV2,
/// LSRV2). A listing the server cut short is printed, then said so (exit 2).
pub fn lsv2(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    let recursive = cmd.starts_with("lsr");
    let (dir, to) = match args {
        [d] => (d, None),
        [d, o, f] | [o, f, d] if o == "--to" && !cmd.ends_with("down") => (d, Some(f)),
        _ => {
            return Err(Failure::Usage);
        }
    };
    if let Some(file) = to {
        let name = if recursive { "LSRV2" } else { "LSV2" };
        let line = format!("{name} {dir}@||@{file}");
        return simple(c, cmd, line.as_bytes(), &[(dir, Access::Read), (file, Access::Create)]);
    }
    let mut listing = match c.lsv2down(recursive, dir.as_bytes()).split()? {
        Ok(l) => l,
        Err(st) => return Ok(report(c, cmd, &[(dir, Access::Read)], &st)),
    };
    listing.lines.sort();
    let mut out = Vec::new();
    for l in &listing.lines {
        out.extend_from_slice(tfp_client::escape::shown(l).as_bytes());
        out.push(b'\n');
    }
    super::out::bytes(&out);
    if !listing.complete {
        eprintln!("tf: {dir}: the server stopped listing early (a limit or an error): the listing is incomplete");
        return Ok(ExitCode::from(Exit::Refused));
    }
    Ok(ExitCode::SUCCESS)
}

/// `rmkdir PATH`: RMKDIR, which makes every missing parent (like mkdir -p).
pub fn rmkdir(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    want(args, 1..=1)?;
    let p = &args[0];
    simple(c, cmd, format!("RMKDIR {p}").as_bytes(), &[])
}

/// `ftype PATH...`: the type name; with several paths, `TYPE PATH` lines.
/// The server answers −1 (no FAILED line) for a path it cannot type: tf says
/// so and exits 2.
pub fn ftype(c: &mut Client, _: &ClientConfig, _: &str, args: &[String]) -> Done {
    if args.is_empty() {
        return Err(Failure::Usage);
    }
    let mut code = ExitCode::SUCCESS;
    for p in args {
        let Some(t) = c.ftype(p.as_bytes())? else {
            eprintln!("tf: {p}: the server cannot tell its type (no such path, outside the root, or refused)");
            code = ExitCode::from(Exit::Refused);
            continue;
        };
        if args.len() == 1 {
            println!("{}", type_name(Some(t)));
        } else {
            println!("{} {p}", type_name(Some(t)));
        }
    }
    Ok(code)
}

/// The lines of the server's list file as its FTYPELS/FSTATLS read them
/// (split at `\n`, a trailing `\r` dropped), fetched with RCVFILE; Err is the
/// exit code once the failure is reported.
fn list_lines(c: &mut Client, cmd: &str, list: &str) -> Result<Result<Vec<String>, ExitCode>, Error> {
    // bounded: a server sending a list file for ever is broken off
    let mut text = tfp_client::remote::listing::Bounded(Vec::new());
    let st = match c.rcvfile(list.as_bytes(), false, &mut text).status() {
        Err(Error::Local(_)) => {
            return Err(Error::Protocol(format!(
                "the server's {} is longer than {} MiB: broken off",
                tfp_client::escape::shown_str(list),
                tfp_client::tree::MAX_LISTING_BYTES >> 20
            )))
        }
        other => other?,
    };
    let text = text.0;
    if !matches!(st, Status::Ok(_)) {
        return Ok(Err(report(c, cmd, &[(list, Access::Read)], &st)));
    }
    let mut lines: Vec<String> = text
        .split(|&b| b == b'\n')
        .map(|l| tfp_client::escape::shown(l.strip_suffix(b"\r").unwrap_or(l)))
        .collect();
    if text.is_empty() || text.ends_with(b"\n") {
        lines.pop();
    }
    Ok(Ok(lines))
}

/// Exit status and message of a list whose `failed` of `n` paths failed.
fn list_outcome(list: &str, failed: usize, n: usize) -> ExitCode {
    if failed == 0 {
        return ExitCode::SUCCESS;
    }
    eprintln!("tf: {list}: {failed} of {n} paths could not be read (no such path, outside the root, or refused)");
    ExitCode::from(Exit::Refused)
}

/// A list command: one answer per line of the server's LISTFILE (`ask`),
/// printed as `render`'s text then the path on that line; `render` also says
/// whether the answer is a failure, which sets the exit status.
fn per_line<T>(
    c: &mut Client,
    cmd: &str,
    args: &[String],
    ask: fn(&mut Client, &[u8]) -> Result<Vec<T>, Error>,
    render: fn(&T) -> (String, bool),
) -> Done {
    want(args, 1..=1)?;
    let list = &args[0];
    let names = match list_lines(c, cmd, list)? {
        Ok(n) => n,
        Err(code) => return Ok(code),
    };
    let answers = ask(c, list.as_bytes())?;
    let mut out = String::new();
    let mut failed = 0;
    for (i, a) in answers.iter().enumerate() {
        let (text, bad) = render(a);
        failed += usize::from(bad);
        let name = names.get(i).map_or("?", String::as_str);
        out.push_str(&format!("{text} {name}\n"));
    }
    print!("{out}");
    Ok(list_outcome(list, failed, answers.len()))
}

/// `ftypels LISTFILE`: `TYPE PATH` per line of the server's LISTFILE
/// (`error PATH` for a path the server could not type).
pub fn ftypels(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    per_line(c, cmd, args, Client::ftypels, |t| {
        (type_name(*t).to_string(), t.is_none())
    })
}

/// `fstatls LISTFILE`: `TYPE SIZE ATIME MTIME PATH` per line of the server's
/// LISTFILE, times in ISO 8601 UTC (`error - - - PATH` for a failed path).
pub fn fstatls(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    per_line(c, cmd, args, Client::fstatls, |r| match r {
        StatRecord::Stat {
            kind,
            size,
            atime,
            mtime,
        } => (
            format!("{} {size} {} {}", type_name(Some(*kind)), iso(*atime), iso(*mtime)),
            false,
        ),
        _ => ("error - - -".to_string(), true),
    })
}
