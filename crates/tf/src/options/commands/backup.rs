//! The backup and move options (issue 68): rsync's `-b`/`--backup`,
//! `--backup-dir`, `--suffix` and `--remove-source-files`, for the
//! transfers of one file, the trees and mirror alike; a block of its own
//! beside the table ([`super::all`]).

use super::{CmdOpt, Family, Given, Kind, FLAG, XFER};

/// The backup and move options' texts (issue 68), one for every family.
const BACKUP_HELP: &str = "keep each file the transfer replaces (or mirror --delete removes), as rsync -b:\nNAME~ beside it, or NAME in --backup-dir";
const BACKUP_DOC: &str = "Keep each destination file the transfer replaces (or\n.B mirror \\-\\-delete\nremoves), as\n.B rsync \\-b\ndoes: under its name with\n.B ~\nadded (see\n.BR \\-\\-suffix ),\nor in\n.BR \\-\\-backup\\-dir .\nThe backup is made atomically with the replacement: the old file gets its\nbackup name as a hard link, then the new one is renamed over the name, so the\nname holds the old or the new file at every instant and another hard link of\nthe old file keeps the old contents. An older backup at that name is replaced.\nOn the server this is tfd's\n.B TFDBACKUP\n(a server without it refuses the option, nothing moved). Removed directories\nare emptied file by file so each file is kept; with backups beside the files a\ndirectory that held files stays (it holds their backups), and names ending\nin the suffix are never removed, as rsync's protect rule.\n";
const BACKUP_DIR_HELP: &str = "with -b (implied): keep the backups in DIR, at each file's path below the\ndestination (DIR relative to the destination, as rsync's)";
const BACKUP_DIR_DOC: &str = "Keep the backups (implies\n.BR \\-b )\nin\n.IR dir ,\neach at its file's path below the destination, as rsync's option: a relative\n.I dir\nis relative to the destination directory (so\n.B ../old\nis beside it); on the server a\n.I dir\nstarting with\n.B /\nis below the session's root, and one that leaves the root, or a symlink on\nthe way, is refused.\n";
const SUFFIX_HELP: &str = "the backups' suffix (default ~, none with --backup-dir)";
const SUFFIX_DOC: &str = "The suffix added to a backup's name (default\n.B ~\nwithout\n.BR \\-\\-backup\\-dir ,\nnone with it), as rsync's option.\n";
const REMOVE_SOURCE_HELP: &str = "move: remove each source file (never a directory) once its copy is proven the\nsame (SHA-256 on both sides), as rsync's option";
const REMOVE_SOURCE_DOC: &str = "Remove each source file (never a directory) once the run is over and its copy\nat the destination is proven the same: the local file's SHA\\-256 (unchanged in\nsize and mtime while it was read) against the server's\n.BR SHA256 .\nA source is removed only if it is, at that moment, the file proven: a local\nfile is looked at again (size, mtime, ctime, inode) right before it is\nunlinked, and the server's goes by tfd's\n.B TFDDELIF\n(size, mtime and ctime to the nanosecond, inode, compared by the server where\nit removes the file; against another server, an FSTAT of size and mtime, then\n.BR DEL ).\nAs rsync keeps a source that changed, a source written to after its proof is\nkept, named on one line, and the run exits non\\-zero.\nAs rsync, a file already the same at the destination is removed too; a file\nnot proven is kept and told.\nAn interrupted run never loses a file: each source file is still there or its\nverified copy is at the destination.\n";

/// The four rows of `family`, whose `commands` they mean something to.
const fn four(family: Family, commands: &'static [&'static str]) -> [CmdOpt; 4] {
    let flag = CmdOpt {
        family,
        commands,
        name: "-b",
        value: "",
        kind: FLAG,
        help: BACKUP_HELP,
        doc: BACKUP_DOC,
    };
    [
        flag,
        CmdOpt {
            name: "--backup-dir",
            value: "DIR",
            kind: Kind::Text("--backup-dir needs a directory"),
            help: BACKUP_DIR_HELP,
            doc: BACKUP_DIR_DOC,
            ..flag
        },
        CmdOpt {
            name: "--suffix",
            value: "SUFFIX",
            kind: Kind::Text("--suffix needs a suffix"),
            help: SUFFIX_HELP,
            doc: SUFFIX_DOC,
            ..flag
        },
        CmdOpt {
            name: "--remove-source-files",
            help: REMOVE_SOURCE_HELP,
            doc: REMOVE_SOURCE_DOC,
            ..flag
        },
    ]
}

const TRANSFER: [CmdOpt; 4] = four(Family::Transfer, XFER);
const TREE: [CmdOpt; 4] = four(Family::Tree, XFER);
const MIRROR: [CmdOpt; 4] = four(Family::Mirror, &["mirror"]);

/// The rows, each family's four.
pub static ROWS: &[CmdOpt] = &[
    TRANSFER[0],
    TRANSFER[1],
    TRANSFER[2],
    TRANSFER[3],
    TREE[0],
    TREE[1],
    TREE[2],
    TREE[3],
    MIRROR[0],
    MIRROR[1],
    MIRROR[2],
    MIRROR[3],
];

/// Their long names ([`super::LONG_NAMES`]).
pub static LONG_NAMES: &[(Family, &str, &str)] = &[
    (Family::Transfer, "-b", "--backup"),
    (Family::Tree, "-b", "--backup"),
    (Family::Mirror, "-b", "--backup"),
];

impl Given {
    /// What `-b`, `--backup-dir` and `--suffix` ask for (None: no backups;
    /// `--backup-dir` implies `-b`, as in rsync).
    pub fn backup(&self) -> Option<tfp_client::engine::backup::Wanted> {
        let dir = self.text("--backup-dir").map(str::to_string);
        (self.flag("-b") || dir.is_some()).then(|| tfp_client::engine::backup::Wanted {
            suffix: self.text("--suffix").map(str::to_string),
            dir,
        })
    }
}
