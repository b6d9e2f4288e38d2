//! The rows of what a transfer shows (issue 68's visibility): `-n`, `-i`
//! and `--json`, for `put`/`get` (of one file, with the transfer's other
//! options; and of trees) and `mirror`. Rows of [`super::COMMAND_OPTIONS`]'s
//! kind, kept apart so the table's file stays small; [`super::all`] joins
//! them.

use super::{CmdOpt, Family, Kind};

const XFER: &[&str] = &["put", "get"];
const MIRROR: &[&str] = &["mirror"];

const DRY_HELP: &str = "dry run: change nothing on either side, say what would move";
const DRY_DOC: &str = "Dry run, as\n.B rsync \\-n\ndoes: nothing is made, moved or removed on either side (no directory, partial,\ntemporary or journal), and each entry that would change is printed as\n.B \\-i\nprints it. The exit status is the one a real run would have (a missing\nsource still fails).\n";
const ITEMIZE_HELP: &str = "print each entry that changes, and why, in rsync's -i format\n(>f.st...... NAME)";
const ITEMIZE_DOC: &str = "Print on standard output, before it moves, each entry that changes and why, in\n.BR \"rsync \\-\\-itemize\\-changes\" 's\nformat:\n.B <f+++++++++\na new file sent to the server,\n.B >f.st......\na file received whose size and time differ,\n.B cd+++++++++\na directory made,\n.B .f...p.....\nonly the mode set,\n.B cL+++++++++ link \\-> target\na symlink made,\n.B *deleting\na removal; the letters\n.BR c ,\n.BR s ,\n.BR t ,\n.BR p ,\n.BR o ,\n.B g\nsay the contents, size, time, permissions, owner or group differ. With it a\ndirectory source goes through the plan, as with\n.BR \\-a :\nwhat is the same on both sides is left alone.\n";
const ITEMIZE_ONE_DOC: &str = "Print on standard output, before it moves, the file's item in\n.BR \"rsync \\-\\-itemize\\-changes\" 's\nformat (as for trees below), and a summary line after. A file that\n.BR \\-\\-update ,\n.B \\-\\-ignore\\-existing\nor the other selection options leave has no item and counts as not\ntransferred, its line on standard error, as a tree run tells it. With\n.BR \\-\\-streams ,\n.B \\-\\-resume\nand\n.B \\-\\-verify\nthe file moves as it would without it.\n";
const JSON_HELP: &str = "print one JSON object per entry that changes and a summary object\n(doc/json-output.md)";
const JSON_DOC: &str = "Print on standard output one JSON object a line for each entry that changes\n(as\n.B \\-i\nwould print it:\n.BR action ,\n.BR path ,\n.BR kind ,\n.BR size ,\n.BR changes ),\none for each failure\n.RB ( error ),\nand a last summary object, instead of the summary line; the schema is in\ndoc/json\\-output.md.\n";

/// The rows, per family.
pub static ROWS: &[CmdOpt] = &[
    CmdOpt {
        family: Family::Transfer,
        commands: XFER,
        name: "-n",
        value: "",
        kind: Kind::Flag,
        help: DRY_HELP,
        doc: DRY_DOC,
    },
    CmdOpt {
        family: Family::Transfer,
        commands: XFER,
        name: "-i",
        value: "",
        kind: Kind::Flag,
        help: ITEMIZE_HELP,
        doc: ITEMIZE_ONE_DOC,
    },
    CmdOpt {
        family: Family::Transfer,
        commands: XFER,
        name: "--json",
        value: "",
        kind: Kind::Flag,
        help: JSON_HELP,
        doc: JSON_DOC,
    },
    CmdOpt {
        family: Family::Tree,
        commands: XFER,
        name: "-n",
        value: "",
        kind: Kind::Flag,
        help: DRY_HELP,
        doc: DRY_DOC,
    },
    CmdOpt {
        family: Family::Tree,
        commands: XFER,
        name: "-i",
        value: "",
        kind: Kind::Flag,
        help: ITEMIZE_HELP,
        doc: ITEMIZE_DOC,
    },
    CmdOpt {
        family: Family::Tree,
        commands: XFER,
        name: "--json",
        value: "",
        kind: Kind::Flag,
        help: JSON_HELP,
        doc: JSON_DOC,
    },
    CmdOpt {
        family: Family::Mirror,
        commands: MIRROR,
        name: "-n",
        value: "",
        kind: Kind::Flag,
        help: "dry run: print what it would do and change nothing",
        doc: "Print what it would do (the plan, or with\n.B \\-i\nthe items) and change nothing.\n",
    },
    CmdOpt {
        family: Family::Mirror,
        commands: MIRROR,
        name: "-i",
        value: "",
        kind: Kind::Flag,
        help: ITEMIZE_HELP,
        doc: ITEMIZE_DOC,
    },
    CmdOpt {
        family: Family::Mirror,
        commands: MIRROR,
        name: "--json",
        value: "",
        kind: Kind::Flag,
        help: JSON_HELP,
        doc: JSON_DOC,
    },
];

/// Their long names, as rsync spells both.
pub static LONG_NAMES: &[(Family, &str, &str)] = &[
    (Family::Transfer, "-n", "--dry-run"),
    (Family::Transfer, "-i", "--itemize-changes"),
    (Family::Tree, "-n", "--dry-run"),
    (Family::Tree, "-i", "--itemize-changes"),
    (Family::Mirror, "-n", "--dry-run"),
    (Family::Mirror, "-i", "--itemize-changes"),
];
