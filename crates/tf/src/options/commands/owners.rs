//! rsync's `-o` (`--owner`) and `-g` (`--group`) where tf takes `-a`
//! (issue 88): what they mean in rsync, owners and groups kept where the
//! receiving side may give them, which `-a` already asks (rsync's `-a` is
//! `-rlptgoD`), so that rsync's command lines (`-aog`, `-rlptgoD`'s letters)
//! run as typed. A block of its own beside the table ([`super::all`]).

use super::{CmdOpt, Family, FLAG};

const XFER: &[&str] = &["put", "get"];
const MIRROR: &[&str] = &["mirror"];

const TREE_DOC: &str = "As\n.BR rsync 's:\nkeep owners and groups, by number, where the receiving side may give them,\nwhich\n.B \\-a\ndoes anyway (rsync's\n.B \\-a\nis\n.BR \\-rlptgoD );\nso with\n.B \\-a\nit changes nothing, and without it tf refuses it, as it refuses\n.B \\-X\nwithout\n.BR \\-a .\nThe protocol carries a file's owner and group together: either option keeps\nboth.\n";
const MIRROR_DOC: &str = "As\n.BR rsync 's:\nkeep owners and groups, by number, where the receiving side may give them, as\n.B \\-a\ndoes (down: when tf runs as root, which a mirror does anyway; up: asked of\nthe session, as\n.B \\-a\nasks). The protocol carries a file's owner and group together: either\noption keeps both. Where the ends cannot give owners they are left out, as\nwith\n.B \\-\\-owner\n(see it).\n";

/// The rows.
pub static ROWS: &[CmdOpt] = &[
    CmdOpt {
        family: Family::Tree,
        commands: XFER,
        name: "-o",
        value: "",
        kind: FLAG,
        help: "as rsync: keep owners where the receiving side may (what -a does; needs -a)",
        doc: TREE_DOC,
    },
    CmdOpt {
        family: Family::Tree,
        commands: XFER,
        name: "-g",
        value: "",
        kind: FLAG,
        help: "as rsync: keep groups where the receiving side may (what -a does; needs -a)",
        doc: TREE_DOC,
    },
    CmdOpt {
        family: Family::Mirror,
        commands: MIRROR,
        name: "-o",
        value: "",
        kind: FLAG,
        help: "as rsync: keep owners where the ends allow it, as -a does",
        doc: MIRROR_DOC,
    },
    CmdOpt {
        family: Family::Mirror,
        commands: MIRROR,
        name: "-g",
        value: "",
        kind: FLAG,
        help: "as rsync: keep groups where the ends allow it, as -a does",
        doc: MIRROR_DOC,
    },
];

/// rsync's `-r` and `-l` for mirror, which recurses and keeps symlinks
/// anyway: taken so that rsync's command lines run as typed, `-r` also
/// descending the directories `--files-from` lists, as in rsync.
pub static MIRROR_RSYNC_ROWS: &[CmdOpt] = &[
    CmdOpt {
        family: Family::Mirror,
        commands: MIRROR,
        name: "-r",
        value: "",
        kind: FLAG,
        help: "as rsync -r: what mirror does anyway; with --files-from, listed directories\nare descended into",
        doc: "As\n.BR \"rsync \\-r\" :\na mirror takes its tree whole anyway; with\n.B \\-\\-files\\-from\na listed directory is descended into (without it, made but not descended\ninto, as in rsync).\n",
    },
    CmdOpt {
        family: Family::Mirror,
        commands: MIRROR,
        name: "-l",
        value: "",
        kind: FLAG,
        help: "as rsync -l: symlinks as symlinks, what mirror does anyway",
        doc: "As\n.BR \"rsync \\-l\" :\nsymlinks are copied as symlinks, which a mirror does anyway (see\n.BR \\-\\-no\\-links ).\n",
    },
];

/// Their long names ([`super::LONG_NAMES`]); mirror's `--owner` is a row of
/// its own (its text says where owners can be given).
pub static LONG_NAMES: &[(Family, &str, &str)] = &[
    (Family::Tree, "-o", "--owner"),
    (Family::Tree, "-g", "--group"),
    (Family::Mirror, "-g", "--group"),
    (Family::Mirror, "-r", "--recursive"),
    (Family::Mirror, "-l", "--links"),
];
