//! The selection options' rows (issue 68: rsync's filter files,
//! `--files-from`, sizes and update modes), a block of their own in the
//! option table ([`super::all`] chains them after the others), and what
//! the commands make of them ([`filter_of`], [`select_of`]).

use super::{CmdOpt, Family, Given, Kind};
use tfp_client::tree::filter::Filter;
use tfp_client::tree::listed::Listed;
use tfp_client::tree::select::{parse_size, Select};

const FLAG: Kind = Kind::Flag;
const TREES: &[&str] = &["put", "get"];
const MIRROR: &[&str] = &["mirror"];

const EXCLUDE_FROM_HELP: &str =
    "read --exclude patterns from FILE (- is stdin; + and - prefixes,\n# and ; comments, as rsync)";
const EXCLUDE_FROM_DOC: &str = "Read exclude patterns from\n.IR file ,\none a line (\\fB\\-\\fP reads standard input), as rsync reads them: blank lines\nand lines starting with\n.B #\nor\n.B ;\nare skipped, a line starting with\n.B \"+ \"\nor\n.B \"\\- \"\nis that rule, and\n.B !\nclears the rules so far. The rules keep their place among the\n.BR \\-\\-exclude ,\n.B \\-\\-include\nand\n.B \\-\\-filter\ngiven on the line. A file over 4 MiB, or more than 100,000 rules, is refused.\n";
const INCLUDE_FROM_HELP: &str = "read --include patterns from FILE (as --exclude-from)";
const INCLUDE_FROM_DOC: &str =
    "Read include patterns from\n.IR file ,\nas\n.B \\-\\-exclude\\-from\nreads exclude patterns.\n";
const FILTER_HELP: &str = "add a filter RULE: + PAT, - PAT, include PAT, exclude PAT, or ! (clear)";
const FILTER_DOC: &str = "Add a filter rule, in rsync's short forms:\n.BI \"+ \" pattern\nor\n.BI \"include \" pattern\n(take),\n.BI \"\\- \" pattern\nor\n.BI \"exclude \" pattern\n(leave out), and\n.B !\n(clear the rules so far). rsync's other rules (merge files, modifiers) are refused.\n";
const FILES_FROM_HELP: &str = "only the paths FILE lists, relative to the source (- is stdin); a\nlisted directory is not descended into without -r (as rsync)";
const FILES_FROM_DOC: &str = "Move only the paths\n.I file\nlists (one a line, relative to the source directory; \\fB\\-\\fP reads standard\ninput; blank lines and lines starting with\n.B #\nor\n.B ;\nare skipped), as rsync's option, which implies its relative paths:\nthe source directory's contents go into the destination (as a source given\nwith a trailing slash), each listed path keeps its path there and the\ndirectories above it are made. A listed directory is made but not descended\ninto unless\n.B \\-r\nis given (\\fB\\-a\\fP alone does not, as in rsync); one listed with a trailing\n.B /\nbrings its own entries, one level. A path that climbs with\n.B ..\nrefuses the list; one the source lacks is told and fails the run (as\nrsync's), the rest moves.\n";
const LARGEST_HELP: &str = "move no file larger than SIZE (K, M, G: powers of 1024; KB, MB: of 1000)";
const LARGEST_DOC: &str = "Move no file larger than\n.I size\n(bytes, or with\n.BR K ,\n.BR M ,\n.BR G ,\n.B T\n(powers of 1024; KB, MB... of 1000; a fraction such as 1.5M; a trailing +1 or \\-1),\nas rsync reads it). Files only: directories are made as ever. A single file's\n.BR put \" or \" get\nleft out says so in one line.\n";
const SMALLEST_HELP: &str = "move no file smaller than SIZE (as --max-size)";
const SMALLEST_DOC: &str = "Move no file smaller than\n.I size\n(read as\n.BR \\-\\-max\\-size ).\n";
const UPDATE_HELP: &str = "leave files that are newer at the destination (as rsync's --update)";
const UPDATE_DOC: &str = "Leave as it is a file whose copy at the destination has a newer mtime than\nthe source's, as rsync's\n.B \\-\\-update\ndoes.\n";
const IGNORE_EXISTING_HELP: &str = "leave everything the destination already has";
const IGNORE_EXISTING_DOC: &str =
    "Leave as it is every entry the destination already has: only what it\nlacks is made.\n";
const EXISTING_HELP: &str = "make nothing the destination lacks: only update what it has";
const EXISTING_DOC: &str =
    "Make nothing the destination lacks (no file, no directory): only what it\nalready has is updated.\n";

/// `--existing`'s text for the tree commands, with how their runs plan.
const EXISTING_TREE_DOC: &str = "Make nothing the destination lacks (no file, no directory): only what it\nalready has is updated.\n.IP\nWith\n.BR \\-\\-max\\-size ,\n.BR \\-\\-min\\-size ,\n.BR \\-\\-update ,\n.B \\-\\-ignore\\-existing\nor\n.BR \\-\\-existing ,\neach directory source of\n.B put \\-r\nor\n.B get \\-r\nis copied as\n.B mirror\ncopies a tree (without removing anything), which knows what the destination\nholds: files unchanged by size and mtime are left as they are, and uploads\nkeep each file's mode and mtime.\n";

macro_rules! rows {
    ($family:expr, $commands:expr) => {
        [
            CmdOpt {
                family: $family,
                commands: $commands,
                name: "--exclude-from",
                value: "FILE",
                kind: Kind::Text("--exclude-from needs a file"),
                help: EXCLUDE_FROM_HELP,
                doc: EXCLUDE_FROM_DOC,
            },
            CmdOpt {
                family: $family,
                commands: $commands,
                name: "--include-from",
                value: "FILE",
                kind: Kind::Text("--include-from needs a file"),
                help: INCLUDE_FROM_HELP,
                doc: INCLUDE_FROM_DOC,
            },
            CmdOpt {
                family: $family,
                commands: $commands,
                name: "--filter",
                value: "RULE",
                kind: Kind::Text("--filter needs a rule"),
                help: FILTER_HELP,
                doc: FILTER_DOC,
            },
            CmdOpt {
                family: $family,
                commands: $commands,
                name: "--files-from",
                value: "FILE",
                kind: Kind::Text("--files-from needs a file"),
                help: FILES_FROM_HELP,
                doc: FILES_FROM_DOC,
            },
            CmdOpt {
                family: $family,
                commands: $commands,
                name: "--max-size",
                value: "SIZE",
                kind: Kind::Text("--max-size needs a size"),
                help: LARGEST_HELP,
                doc: LARGEST_DOC,
            },
            CmdOpt {
                family: $family,
                commands: $commands,
                name: "--min-size",
                value: "SIZE",
                kind: Kind::Text("--min-size needs a size"),
                help: SMALLEST_HELP,
                doc: SMALLEST_DOC,
            },
            CmdOpt {
                family: $family,
                commands: $commands,
                name: "-u",
                value: "",
                kind: FLAG,
                help: UPDATE_HELP,
                doc: UPDATE_DOC,
            },
            CmdOpt {
                family: $family,
                commands: $commands,
                name: "--ignore-existing",
                value: "",
                kind: FLAG,
                help: IGNORE_EXISTING_HELP,
                doc: IGNORE_EXISTING_DOC,
            },
            CmdOpt {
                family: $family,
                commands: $commands,
                name: "--existing",
                value: "",
                kind: FLAG,
                help: EXISTING_HELP,
                doc: EXISTING_DOC,
            },
        ]
    };
}

const TREE_ROWS: [CmdOpt; 9] = rows!(Family::Tree, TREES);
const MIRROR_ROWS: [CmdOpt; 9] = rows!(Family::Mirror, MIRROR);

/// Every selection row, in the order the docs show them.
pub static ROWS: &[CmdOpt] = &[
    TREE_ROWS[0], TREE_ROWS[1], TREE_ROWS[2], TREE_ROWS[3], TREE_ROWS[4], TREE_ROWS[5], TREE_ROWS[6], TREE_ROWS[7],
    CmdOpt { doc: EXISTING_TREE_DOC, ..TREE_ROWS[8] },
    MIRROR_ROWS[0], MIRROR_ROWS[1], MIRROR_ROWS[2], MIRROR_ROWS[3], MIRROR_ROWS[4], MIRROR_ROWS[5], MIRROR_ROWS[6], MIRROR_ROWS[7], MIRROR_ROWS[8],
    CmdOpt {
        family: Family::Mirror,
        commands: MIRROR,
        name: "--delete-excluded",
        value: "",
        kind: FLAG,
        help: "with --delete, remove what the filter leaves out from the destination too (implies --delete)",
        doc: "Remove from the destination what the filter rules leave out too, as\nrsync's option does (it implies\n.BR \\-\\-delete ).\n",
    },
    CmdOpt { family: Family::Transfer, commands: TREES, name: "--max-size", value: "SIZE", kind: Kind::Text("--max-size needs a size"), help: LARGEST_HELP, doc: LARGEST_DOC },
    CmdOpt { family: Family::Transfer, commands: TREES, name: "--min-size", value: "SIZE", kind: Kind::Text("--min-size needs a size"), help: SMALLEST_HELP, doc: SMALLEST_DOC },
    CmdOpt { family: Family::Transfer, commands: TREES, name: "-u", value: "", kind: FLAG, help: UPDATE_HELP, doc: UPDATE_DOC },
    CmdOpt { family: Family::Transfer, commands: TREES, name: "--ignore-existing", value: "", kind: FLAG, help: IGNORE_EXISTING_HELP, doc: IGNORE_EXISTING_DOC },
    CmdOpt { family: Family::Transfer, commands: TREES, name: "--existing", value: "", kind: FLAG, help: EXISTING_HELP, doc: EXISTING_DOC },
];

/// Their long names ([`super::LONG_NAMES`]): `-u` is rsync's `--update`.
pub static LONG_NAMES: &[(Family, &str, &str)] = &[
    (Family::Transfer, "-u", "--update"),
    (Family::Tree, "-u", "--update"),
    (Family::Mirror, "-u", "--update"),
];

/// Why a command's selection words are no good, in one sentence.
#[derive(Debug)]
pub struct Unusable(pub String);

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The rule words a filter is built from, in the order given.
const RULE_WORDS: &[&str] = &["--exclude", "--include", "--exclude-from", "--include-from", "--filter"];

/// Reads a list named on the command line (`-`: standard input), at
/// most `max` bytes and one more (the reader refuses it as over).
fn read_list(name: &str, max: usize) -> Result<Vec<u8>, Unusable> {
    use std::io::Read;
    let mut out = Vec::new();
    let r = if name == "-" {
        std::io::stdin().lock().take(max as u64 + 1).read_to_end(&mut out)
    } else {
        std::fs::File::open(name).and_then(|f| f.take(max as u64 + 1).read_to_end(&mut out))
    };
    r.map_err(|e| Unusable(format!("{name}: {e}")))?;
    Ok(out)
}

/// The filter a command's rule words make, in rsync's order (the first
/// rule that matches decides), narrowed by `--files-from` (`recurse`:
/// `-r` was given); why not, in one sentence.
pub fn filter_of(g: &Given, recurse: bool) -> Result<Filter, Unusable> {
    let mut f = Filter::default();
    for (name, v) in g.texts_in_order(RULE_WORDS) {
        match name {
            "--exclude" => f.push_word(false, v),
            "--include" => f.push_word(true, v),
            "--filter" => f.push_rule(v).map_err(Unusable)?,
            _ => {
                let text = read_list(v, tfp_client::tree::filter::MAX_RULE_FILE)?;
                f.push_file(&text, name == "--include-from", false, &format!("{name} {v}"))
                    .map_err(Unusable)?;
            }
        }
    }
    if let Some(list) = g.text("--files-from") {
        let text = read_list(list, tfp_client::tree::listed::MAX_LIST_BYTES)?;
        f.set_listed(Listed::parse(&text, recurse, &format!("--files-from {list}")).map_err(Unusable)?);
    }
    Ok(f)
}

/// The sizes and update modes a command was given; a size that is none
/// is one sentence.
pub fn select_of(g: &Given) -> Result<Select, Unusable> {
    let size = |name: &str| -> Result<Option<u64>, Unusable> {
        g.text(name)
            .map(|v| {
                parse_size(v).ok_or_else(|| Unusable(format!("{name} {v}: not a size (e.g. 500, 100K, 1.5M, 2G)")))
            })
            .transpose()
    };
    Ok(Select {
        max_size: size("--max-size")?,
        min_size: size("--min-size")?,
        update: g.flag("-u"),
        ignore_existing: g.flag("--ignore-existing"),
        existing: g.flag("--existing"),
        delete_excluded: g.flag("--delete-excluded"),
    })
}
