//! rsync's `-o` (`--owner`) and `-g` (`--group`) where tf takes `-a`, and
//! the other spellings of rsync's tree options (`-r`, `-l`, `--checksum`,
//! `--safe-links`) on the routes that take trees: what they mean in rsync,
//! so that rsync's command lines (`-aog`, `-rlptgoD`'s letters, `-rl`) run
//! as typed, with the same meaning on `put -r`, `get -r` and `mirror`. A
//! block of its own beside the table ([`super::all`]).

use super::{CmdOpt, Family, FLAG};

const XFER: &[&str] = &["put", "get"];
const MIRROR: &[&str] = &["mirror"];

const TREE_DOC: &str = "As\n.BR rsync 's:\nkeep owners and groups, by number, where the receiving side may give them\n(down: tf run as root; up: a session tfd serves as root, unjailed;\nelsewhere left out, as rsync does, said only with\n.BR \\-v ),\nwhich\n.B \\-a\ndoes anyway (rsync's\n.B \\-a\nis\n.BR \\-rlptgoD ).\nWithout\n.B \\-a\nthe rest is kept as\n.B \"rsync \\-r \\-o\"\nkeeps it: each directory source is copied as\n.B mirror\ncopies a tree, without removing anything, and files land as with\n.B put \\-r\n(no mode or mtime of the source's kept unless\n.B \\-p\nasks it). The protocol carries a file's owner and group together: either\noption keeps both.\n";
const MIRROR_DOC: &str = "As\n.BR rsync 's:\nkeep owners and groups, by number, where the receiving side may give them, as\n.B \\-a\ndoes (down: when tf runs as root, which a mirror does anyway; up: asked of\nthe session, as\n.B \\-a\nasks). The protocol carries a file's owner and group together: either\noption keeps both. Where the ends cannot give owners they are left out, as\nwith\n.B \\-\\-owner\n(see it).\n";

/// The rows.
pub static ROWS: &[CmdOpt] = &[
    CmdOpt {
        family: Family::Tree,
        commands: XFER,
        name: "-o",
        value: "",
        kind: FLAG,
        help: "as rsync: keep owners where the receiving side may (what -a does anyway)",
        doc: TREE_DOC,
    },
    CmdOpt {
        family: Family::Tree,
        commands: XFER,
        name: "-g",
        value: "",
        kind: FLAG,
        help: "as rsync: keep groups where the receiving side may (what -a does anyway)",
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

/// rsync's `-l`, `--checksum` and `--safe-links` for `put -r` and `get -r`:
/// each directory source copied as `mirror` copies a tree (without removing
/// anything), keeping no more than `rsync -r` with them keeps.
pub static TREE_RSYNC_ROWS: &[CmdOpt] = &[
    CmdOpt {
        family: Family::Tree,
        commands: XFER,
        name: "-l",
        value: "",
        kind: FLAG,
        help: "as rsync -l: symlinks as symlinks (what -a does anyway)",
        doc: "As\n.BR \"rsync \\-r \\-l\" :\na symlink is copied as a symlink with its target as it is written (never\nfollowed), which\n.B \\-a\ndoes anyway; each directory source is copied as\n.B mirror\ncopies a tree, without removing anything, and files land as with\n.B put \\-r\n(no mode or mtime of the source's kept unless\n.B \\-p\nasks it). Without it a symlink is skipped and named.\n",
    },
    CmdOpt {
        family: Family::Tree,
        commands: XFER,
        name: "--checksum",
        value: "",
        kind: FLAG,
        help: "as rsync --checksum: a directory source's files the destination holds, same by SHA-256,\nare left as they are",
        doc: "As\n.BR \"rsync \\-r \\-\\-checksum\" :\neach directory source is copied as\n.B mirror \\-\\-checksum\ncopies a tree, without removing anything: a file the destination holds with\nthe same size is compared by SHA\\-256 (the server's\n.BR SHA256 )\nand left as it is when the same, whatever its mtime; the others land as with\n.B put \\-r\nand\n.B get \\-r\n(no mode or mtime of the source's kept unless\n.B \\-p\nor\n.B \\-a\nasks it). A file source is sent as without it.\n",
    },
    CmdOpt {
        family: Family::Tree,
        commands: XFER,
        name: "--safe-links",
        value: "",
        kind: FLAG,
        help: "with -l or -a, leave out symlinks that point out of the tree (absolute, or\n.. past its root)",
        doc: "With\n.B \\-l\nor\n.BR \\-a ,\nleave out a symlink whose target is absolute or climbs with\n.B ..\nout of the tree, as\n.B rsync \\-\\-safe\\-links\ndoes (told as skipped). Without them no symlink is copied anyway, and it\nchanges nothing, as in rsync.\n",
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
    (Family::Tree, "-l", "--links"),
];
