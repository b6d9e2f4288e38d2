//! `tf mirror [-R] [--delete] [--checksum] [-n] [-i|--json] [--jobs N] SRC DST`:
//! makes DST a copy of SRC, moving only what differs (a remote SRC and a local
//! DST; with -R the other way). The run is the library's
//! (tfp_client::tree::mirror); this is the command line around it: the
//! options, the plan of a dry run and the summary on stdout, the rest told
//! on stderr as `put -r`/`get -r` tell it.

use super::exit::Exit;
use super::explain;
use super::items::{json_summary, Show};
use super::reply::fail;
use super::tree::{self, Told};
use std::process::ExitCode;
use tf::options::commands::select::{filter_of, select_of};
use tf::options::commands::{self, Family, ParseError};
use tfp_client::engine::upload::DeltaRule;
use tfp_client::tree::mirror::{self, MirrorReport, Options, Planned, Summary};
use tfp_client::tree::names;
use tfp_client::tree::sync::Keeps;
use tfp_wire::compress::Choice;

const USAGE: &str =
    "usage: tf ... mirror [-R] [-a] [-r] [-l] [-H] [-X] [-A] [--delete] [--checksum] [-n|--dry-run] [-i|--json] [--jobs N] [--whole-file|--no-whole-file] [--no-perms] [--no-links] [-L] [--safe-links] [--no-specials] [-D] [--owner] [--exclude P] [--include P] [--exclude-from F] [--include-from F] [--filter R] [--files-from F] [--max-size S] [--min-size S] [-u|--update] [--ignore-existing] [--existing] [--delete-excluded] [-b] [--backup-dir DIR] [--suffix S] [--remove-source-files] [-S] [--numeric-ids] SRC DST";

/// Why `mirror`'s words are no good (its message, with the usage where it helps).
#[derive(Debug)]
enum Usage {
    /// The option table refused a word.
    Parse(ParseError),
    /// Not one SRC and one DST.
    Operands,
}

impl From<ParseError> for Usage {
    fn from(e: ParseError) -> Usage {
        Usage::Parse(e)
    }
}

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Usage::Parse(ParseError::Unknown(s)) => write!(f, "mirror: unknown option {s}\n{USAGE}"),
            Usage::Parse(ParseError::Bad(m)) => f.write_str(m),
            Usage::Operands => f.write_str(USAGE),
        }
    }
}

/// The mirror's words: its options, compression choice, what it shows,
/// source and destination.
struct Words {
    o: Options,
    compress: Option<Choice>,
    /// `-S`: holes neither sent nor fetched (the run's config).
    sparse: bool,
    /// `-X`: extended attributes kept (the run's config).
    xattrs: bool,
    /// `-A`: POSIX ACLs kept (the run's config).
    acls: bool,
    show: Show,
    src: String,
    dst: String,
}

/// The mirror's options, its compression choice (`-z`, `--compress`,
/// `--no-compress`), what it shows (`-i`, `--json`), its source and its
/// destination.
fn parse(args: &[String]) -> Result<Words, Usage> {
    let g = commands::parse(Family::Mirror, args)?;
    let compress = g.compress().map_err(Usage::Parse)?;
    let o = Options {
        upload: g.flag("-R"),
        delete: g.flag("--delete"),
        checksum: g.flag("--checksum"),
        times: true,
        dry_run: g.flag("-n"),
        jobs: g.num("--jobs").map_or(4, |n| n as usize),
        fai: false,
        // as rsync: a listed directory is descended into with -r alone
        filter: filter_of(&g, g.flag("-r")).map_err(|e| Usage::Parse(ParseError::Bad(e.0)))?,
        delta: if g.flag("--whole-file") {
            DeltaRule::Never
        } else if g.flag("--no-whole-file") {
            DeltaRule::Always
        } else {
            DeltaRule::Auto
        },
        copy_links: g.flag("-L"),
        select: select_of(&g).map_err(|e| Usage::Parse(ParseError::Bad(e.0)))?,
        keeps: Keeps {
            attrs: !g.flag("--no-perms"),
            links: !g.flag("--no-links"),
            specials: !g.flag("--no-specials"),
            safe_links: g.flag("--safe-links"),
            // devices only where both ends are root: here (down), or a
            // session tfd serves as root (up: asked before anything moves)
            devices: (g.flag("-D") || g.flag("-a")) && (g.flag("-R") || tfd_sys::geteuid() == 0),
            // as rsync -a: owners where the receiving side may give them
            // (tf as root, down); up, asked for, to a session run as root
            // (as root, down, by default); where the ends do not allow it,
            // the run leaves them out, said with -v, as rsync leaves them
            owners: ["--owner", "-a", "-o", "-g"].iter().any(|f| g.flag(f))
                || (!g.flag("-R") && tfd_sys::geteuid() == 0),
            hardlinks: g.flag("-H"),
        },
        backup: g.backup(),
        remove_source: g.flag("--remove-source-files"),
    };
    if let Some(Err(m)) = o.backup.as_ref().map(|w| w.check()) {
        return Err(Usage::Parse(ParseError::Bad(m)));
    }
    let [src, dst] = g.positional.as_slice() else {
        return Err(Usage::Operands);
    };
    Ok(Words {
        o,
        compress,
        sparse: g.flag("-S"),
        xattrs: g.flag("-X"),
        acls: g.flag("-A"),
        show: Show::of(&g, false),
        src: src.clone(),
        dst: dst.clone(),
    })
}

/// `tf mirror ...`.
pub fn run(x: &mut super::ctx::Ctx<'_>, args: &[String]) -> ExitCode {
    let Words {
        mut o,
        compress,
        sparse,
        xattrs,
        acls,
        show,
        src,
        dst,
    } = match parse(args) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let tries = x.tries;
    let mut own = x.cfg.clone();
    own.compress = compress.unwrap_or(own.compress);
    own.sparse = sparse;
    own.xattrs = xattrs;
    own.acls = acls;
    let (c, cfg) = (&mut *x.c, &own);
    o.fai = x.fai;
    let mut again = vec!["mirror"];
    again.extend(args.iter().map(String::as_str));
    let how = format!("{} continues them", x.invoked.command(&again));
    super::safe::interrupt_leaves(if o.upload {
        "each remote file is the old or the new one, whole"
    } else {
        "each local file is the old or the new one, whole"
    });
    let told = Told::new(cfg, Some(how.clone())).showing(show).verbose(x.verbose);
    match mirror::mirror(c, cfg, &src, &dst, &o, &told) {
        Ok(r) => {
            x.broken = r.report.broken;
            print(&r, &o, &told, tries);
            tree::tell_kept(&r.report, &how);
            tree::code(&r.report)
        }
        Err(e) => {
            explain::session_error(&e, cfg).print();
            ExitCode::from(Exit::Error)
        }
    }
}

/// A dry run's plan, one line each (unless the items said it), then the
/// summary line, which says how many `tries` it took when more than one, or
/// `--json`'s object (none when the run stopped before its plan).
fn print(r: &MirrorReport, o: &Options, told: &Told<'_>, tries: u32) {
    let Some(n) = &r.summary else { return };
    if told.json() {
        let counts = [
            ("transferred", n.transferred as u64),
            ("deleted", n.deleted as u64),
            ("unchanged", n.unchanged as u64),
            ("failed", n.failed as u64),
        ];
        println!("{}", json_summary("mirror", o.dry_run, &counts, told.seconds()));
        return;
    }
    let verb = if o.upload { "put" } else { "get" };
    for p in r.planned.iter().filter(|_| !told.itemized()) {
        match p {
            Planned::Delete(rel) => println!("delete {}", names::shown(rel)),
            Planned::Replace(rel) => println!("replace {}", names::shown(rel)),
            Planned::Mkdir(rel) => println!("mkdir {}", names::shown(rel)),
            Planned::Copy(rel) | Planned::Node(rel) => println!("{verb} {}", names::shown(rel)),
        }
    }
    println!("{}{}", summary(o.dry_run, n), super::retry::told(tries));
}

fn summary(dry: bool, n: &Summary) -> String {
    let (moved, gone) = if dry {
        ("to transfer", "to delete")
    } else {
        ("transferred", "deleted")
    };
    format!(
        "mirror: {} {moved}, {} {gone}, {} unchanged, {} failed{}",
        n.transferred,
        n.deleted,
        n.unchanged,
        n.failed,
        if dry { " (dry run: nothing changed)" } else { "" }
    )
}
