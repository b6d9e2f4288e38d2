//! The options of backup-grade copies (issue 67): what rsync keeps beyond
//! `-a` when asked, for `put -r`, `get -r` and mirror both ways; a block of
//! its own beside the table ([`super::all`]).

use super::{CmdOpt, Family, FLAG, XFER};

const SPARSE_HELP: &str =
    "sparse files: holes are neither sent nor fetched, and made again where the\nfile lands (as rsync -S)";
const SPARSE_DOC: &str = "Keep sparse files sparse, as\n.B rsync \\-S\ndoes: the holes of a file (found with\n.BR SEEK_DATA \" and \" SEEK_HOLE )\ncross the link as their place alone, and the copy gets the same holes, so it\nallocates no more than its source. Up, a file with holes goes through a stage\nwhatever its size; down, a file the transfer engine fetches (8 MiB and more)\nleaves its holes unfetched, and a smaller one's runs of zeros are not written\n(as rsync's receiver does), so it lands with holes too. A resumed transfer\nkeeps them. On tfd this is its sparse\\-file extension; a server without it\ngets and sends the zeros, the copy it receives is dense, and tf says so once.\n";

const NUMERIC_IDS_HELP: &str =
    "owners and groups by number, not by name (as rsync --numeric-ids): what tf\nalways does";
const NUMERIC_IDS_DOC: &str = "Keep owners and groups (where they are kept:\n.B \\-a\nas root,\n.BR \"mirror \\-\\-owner\" )\nby their numbers, not by their names, as\n.B rsync \\-\\-numeric\\-ids\ndoes. tf always does so: tfd's listing and archive batches carry the uid and\ngid, never a name, so the option changes nothing; it is taken so that rsync's\ncommand lines run as they are.\n";

const XATTRS_HELP: &str =
    "extended attributes: each file's and directory's made its source's (user.;\ntrusted. and security. where both ends are root), as rsync -X";
const XATTRS_DOC: &str = "Keep extended attributes, as\n.B rsync \\-X\ndoes: after the copy, every file and directory of the tree (its top too) gets\nthe attribute set of its source, names the source lacks removed. The\n.B user.\nnamespace always;\n.BR trusted. \" and \" security.\nonly where both ends are root (tfd serves the session as root, unjailed, and\ntf runs as root);\n.B system.\n(ACLs) never. Sets are compared first: an unchanged one is not sent again, and\nsetting one leaves the mtime as it is. A file whose data moves gets its set\nbefore it is renamed into place, both ways, so an interrupted copy never\nleaves new data with old attributes. Symlinks and special files keep none.\nA value is at most 64 KiB and a list of names 64 KiB, as the kernel bounds\nthem. With\n.BR put \" and \" get\nit needs\n.BR \\-a ;\nwith\n.B mirror\nit is taken as it is. On tfd this is its extended\\-attribute extension; a\nserver without it keeps none, and tf says so once while the copy goes on.\n";

const ACLS_HELP: &str = "POSIX ACLs, access and default: each file's and directory's made its\nsource's (as rsync -A)";
const ACLS_DOC: &str = "Keep POSIX ACLs, as\n.B rsync \\-A\ndoes: after the copy and its modes, every file and directory of the tree (its\ntop too) gets the access ACL of its source and every directory its default\nACL; an ACL the source lacks is removed. An access ACL that says no more than\nthe mode (no named user or group, no mask) is the mode, which the copy gives\nalready. ACLs carry users and groups by number, as\n.B \\-\\-numeric\\-ids\nsays. They are set as the receiving side's user: the kernel lets the file's\nowner (or root) set them, so a session sets those of its own files alone.\nCompared first: an unchanged ACL is not sent again, and setting one leaves the\nmtime as it is. A file whose data moves gets its ACLs before it is renamed\ninto place, both ways, as its extended attributes. Symlinks and special files\nkeep none. With\n.BR put \" and \" get\nit needs\n.BR \\-a ;\nwith\n.B mirror\nit is taken as it is. On tfd this is its ACL extension; a server without it\nkeeps none, and tf says so once while the copy goes on.\n";
const HARDLINKS_HELP: &str =
    "hard links: the names of one file in the tree arrive as names of one file,\nits data sent once (as rsync -H)";
const HARDLINKS_DOC: &str = "Keep hard links, as\n.B rsync \\-H\ndoes: the names that share one file within the copied tree arrive as names of\none file. The file's data crosses once, under its first name; each other name\nis then made a hard link to it where it lands (on tfd with its\n.BR TFDLINK ,\nhere with\n.BR link (2)).\nA name that holds another file gets the link at a fresh name beside it,\nrenamed over it, so no file is ever written into: replacing one name of a\nlinked file leaves its other names as they were. A name already linked as\nits source is left alone, so a second run makes no link. With\n.BR put \" and \" get\nit needs\n.BR \\-a ;\nwith\n.B mirror\nit is taken as it is. A server whose listing does not say which file each\nname is (an older tfd, another server) gets and sends each name as a file of\nits own, and tf says so once while the copy goes on.\n";

/// The rows of `family`.
const fn rows(family: Family, commands: &'static [&'static str]) -> [CmdOpt; 5] {
    let sparse = CmdOpt {
        family,
        commands,
        name: "-S",
        value: "",
        kind: FLAG,
        help: SPARSE_HELP,
        doc: SPARSE_DOC,
    };
    [
        sparse,
        CmdOpt {
            name: "--numeric-ids",
            help: NUMERIC_IDS_HELP,
            doc: NUMERIC_IDS_DOC,
            ..sparse
        },
        CmdOpt {
            name: "-X",
            help: XATTRS_HELP,
            doc: XATTRS_DOC,
            ..sparse
        },
        CmdOpt {
            name: "-A",
            help: ACLS_HELP,
            doc: ACLS_DOC,
            ..sparse
        },
        CmdOpt {
            name: "-H",
            help: HARDLINKS_HELP,
            doc: HARDLINKS_DOC,
            ..sparse
        },
    ]
}

const TREE: [CmdOpt; 5] = rows(Family::Tree, XFER);
const MIRROR: [CmdOpt; 5] = rows(Family::Mirror, &["mirror"]);

/// The rows, each family's.
pub static ROWS: &[CmdOpt] = &[
    TREE[0], TREE[1], TREE[2], TREE[3], TREE[4], MIRROR[0], MIRROR[1], MIRROR[2], MIRROR[3], MIRROR[4],
];

/// Their long names ([`super::LONG_NAMES`]).
pub static LONG_NAMES: &[(Family, &str, &str)] = &[
    (Family::Tree, "-S", "--sparse"),
    (Family::Mirror, "-S", "--sparse"),
    (Family::Tree, "-X", "--xattrs"),
    (Family::Mirror, "-X", "--xattrs"),
    (Family::Tree, "-A", "--acls"),
    (Family::Mirror, "-A", "--acls"),
    (Family::Tree, "-H", "--hard-links"),
    (Family::Mirror, "-H", "--hard-links"),
];
