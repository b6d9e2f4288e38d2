//! The functions of the table's rows for protocol 2.4.1's commands and tf's
//! own (the 2.5.1 families have files of their own): most send one line and
//! print the reply; the rest hand over to the file that does the work.

use super::ctx::Ctx;
use super::exit::Exit;
use super::reply::report;
use super::row::{want, Cmd, Done};
use super::{into_dir, mirror, probe, remote, retry, tree, watch, xfer};
use std::process::ExitCode;
use tfp_client::escape::shown;

/// `echo TEXT...`: the reply frame as it is, whatever it says.
pub fn echo(x: &mut Ctx<'_>, _: &Cmd, args: &[String]) -> Done {
    let f = x.c.raw(format!("ECHO {}", args.join(" ")).as_bytes())?;
    println!("{}", shown(&f));
    Ok(ExitCode::SUCCESS)
}

/// `NAME ARGS...`: the upper-cased name and the words joined by spaces.
pub fn line(x: &mut Ctx<'_>, r: &Cmd, args: &[String]) -> Done {
    let st =
        x.c.command(format!("{} {}", r.name.to_uppercase(), args.join(" ")).as_bytes())?;
    Ok(report(x.c, r.name, &r.targets(args), &st))
}

/// `NAME` alone (its words ignored).
pub fn bare(x: &mut Ctx<'_>, r: &Cmd, _: &[String]) -> Done {
    let st = x.c.command(r.name.to_uppercase().as_bytes())?;
    Ok(report(x.c, r.name, &[], &st))
}

/// `copy`, `cpdir`, `renam` (and `mv`, its other name): `NAME A | B`.
pub fn two(x: &mut Ctx<'_>, r: &Cmd, args: &[String]) -> Done {
    want(args, 2..=2)?;
    // mv is renam's other name
    let name = if r.name == "mv" { "renam" } else { r.name };
    let st =
        x.c.command(format!("{} {} | {}", name.to_uppercase(), args[0], args[1]).as_bytes())?;
    Ok(report(x.c, name, &r.targets(args), &st))
}

/// `rmdir [-r] PATH`.
pub fn rmdir(x: &mut Ctx<'_>, _: &Cmd, args: &[String]) -> Done {
    remote::rmdir(x.c, args)
}

/// `raw 'NAME ARGS'`: the line as it is.
pub fn raw(x: &mut Ctx<'_>, r: &Cmd, args: &[String]) -> Done {
    want(args, 1..=1)?;
    let st = x.c.command(args[0].as_bytes())?;
    Ok(report(x.c, r.name, &[], &st))
}

/// `put`: one file, or trees and many files.
pub fn put(x: &mut Ctx<'_>, r: &Cmd, args: &[String]) -> Done {
    // a single file's later tries continue its stage; a tree's land where
    // the first try's did (rsync's rule for the destination)
    Ok(retry::run(x, r.name, args, !tree::wanted(args), put_once))
}

/// One try of `put`.
fn put_once(x: &mut Ctx<'_>, cmd: &str, args: &[String]) -> ExitCode {
    if tree::wanted(args) {
        return tree::run(x, cmd, args);
    }
    let (args, dest) = into_dir::put(args);
    xfer::run_put(x, cmd, &args, dest)
}

/// `get`: one file, or trees and many files.
pub fn get(x: &mut Ctx<'_>, r: &Cmd, args: &[String]) -> Done {
    Ok(retry::run(x, r.name, args, true, get_once))
}

/// One try of `get`.
fn get_once(x: &mut Ctx<'_>, cmd: &str, args: &[String]) -> ExitCode {
    if tree::wanted(args) {
        return tree::run(x, cmd, args);
    }
    xfer::run(x, cmd, &into_dir::get(args))
}

/// `sndfile`, `rcvfile`, `sup`, `sdown`.
pub fn transfer(x: &mut Ctx<'_>, r: &Cmd, args: &[String]) -> Done {
    Ok(xfer::run(x, r.name, args))
}

/// `mirror [-R] ... SRC DST`.
pub fn mirror(x: &mut Ctx<'_>, r: &Cmd, args: &[String]) -> Done {
    Ok(retry::run(x, r.name, args, false, |x, _, a| mirror::run(x, a)))
}

/// `fsize PATH`: the size, or -1 and why.
pub fn fsize(x: &mut Ctx<'_>, _: &Cmd, args: &[String]) -> Done {
    let one = args.first().cloned().unwrap_or_default();
    // FSIZE's -1 (no such file, or not readable) is printed as the server sent it
    let v = match x.c.fsize(one.as_bytes()) {
        Ok(v) => v as i64,
        Err(tfp_client::Error::Declined { answer, .. }) => answer,
        Err(e) => return Err(e.into()),
    };
    println!("{v}");
    Ok(if v < 0 {
        eprintln!("tf: {}: no such file on the server, or not readable", one);
        ExitCode::from(Exit::Refused)
    } else {
        ExitCode::SUCCESS
    })
}

/// `fsizels LISTFILE`: a size per path the server's list names.
pub fn fsizels(x: &mut Ctx<'_>, _: &Cmd, args: &[String]) -> Done {
    let one = args.first().cloned().unwrap_or_default();
    for v in x.c.fsizels(one.as_bytes())? {
        println!("{}", v.code());
    }
    Ok(ExitCode::SUCCESS)
}

/// `xcopy`, `xcpdir`, `xdel`, `xrmdir`.
pub fn xcmd(x: &mut Ctx<'_>, r: &Cmd, args: &[String]) -> Done {
    Ok(watch::xcmd(x.c, r.name, args))
}

/// `watch DIR TOKEN [--interval S] [--del]`.
pub fn watch(x: &mut Ctx<'_>, _: &Cmd, args: &[String]) -> Done {
    Ok(watch::watch(x.c, args))
}

/// `oob [N]`.
pub fn oob(x: &mut Ctx<'_>, _: &Cmd, args: &[String]) -> Done {
    Ok(probe::oob(x.c, args))
}

/// `nigma [N]`.
pub fn nigma(x: &mut Ctx<'_>, _: &Cmd, args: &[String]) -> Done {
    Ok(probe::nigma(x.c, args))
}

/// `keepalive ON IDLE INTERVAL COUNT`.
pub fn keepalive(x: &mut Ctx<'_>, r: &Cmd, args: &[String]) -> Done {
    want(args, 4..=4)?;
    let line = format!("KEEPALIVE {} {} | {} | {}", args[0], args[1], args[2], args[3]);
    let st = x.c.command(line.as_bytes())?;
    Ok(report(x.c, r.name, &[], &st))
}

/// `df [--raw]`.
pub fn df(x: &mut Ctx<'_>, _: &Cmd, args: &[String]) -> Done {
    Ok(super::df::run(x.c, x.cfg, args))
}
