//! The options of `tf backup prune` (issue 69): restic's keep rules and a
//! dry run; and of `tf backup verify`: the part of the files asked. A block
//! of its own beside the table ([`super::all`]).

use super::{CmdOpt, Family, Kind, FLAG};

const COUNT: Kind = Kind::Num {
    min: 0,
    max: 1_000_000,
    clamp: false,
};

const fn keep(name: &'static str, help: &'static str, doc: &'static str) -> CmdOpt {
    CmdOpt {
        family: Family::Backup,
        commands: &["backup"],
        name,
        value: "N",
        kind: COUNT,
        help,
        doc,
    }
}

/// The rows.
pub static ROWS: &[CmdOpt] = &[
    keep(
        "--keep-last",
        "prune: keep the newest N snapshots",
        "With\n.BR \"backup prune\" :\nkeep the newest\n.I n\nsnapshots.\n",
    ),
    keep(
        "--keep-daily",
        "prune: keep the newest snapshot of each of the last N days that have one",
        "With\n.BR \"backup prune\" :\nkeep the newest snapshot of each of the last\n.I n\ndays (UTC) that have one, as restic counts them.\n",
    ),
    keep(
        "--keep-weekly",
        "prune: keep the newest snapshot of each of the last N ISO weeks that have one",
        "With\n.BR \"backup prune\" :\nkeep the newest snapshot of each of the last\n.I n\nISO weeks that have one.\n",
    ),
    keep(
        "--keep-monthly",
        "prune: keep the newest snapshot of each of the last N months that have one",
        "With\n.BR \"backup prune\" :\nkeep the newest snapshot of each of the last\n.I n\nmonths that have one.\n",
    ),
    CmdOpt {
        family: Family::Backup,
        commands: &["backup"],
        name: "--dry-run",
        value: "",
        kind: FLAG,
        help: "prune: say what would be removed, remove nothing",
        doc: "With\n.BR \"backup prune\" :\nprint what would be kept and removed, and remove nothing.\n",
    },
    CmdOpt {
        family: Family::Backup,
        commands: &["backup"],
        name: "--sample",
        value: "PERCENT",
        kind: Kind::Num {
            min: 1,
            max: 100,
            clamp: false,
        },
        help: "verify: ask the server for a random PERCENT of the files (1..100)",
        doc: "With\n.BR \"backup verify\" :\nask the server to prove it holds a random\n.I percent\nof the snapshot's files (1 to 100; at least one file), not all of them.\n",
    },
];
