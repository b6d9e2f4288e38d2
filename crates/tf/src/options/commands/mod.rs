//! The one table of the options tf's commands take after their name (the
//! transfers, `put -r`/`get -r` and `mirror`): each row holds its names, value,
//! `tf --help` line, tf(1) text and the commands it belongs to. The commands
//! parse their words with [`parse`], and `tf --help`'s and tf(1)'s lists of
//! them come from the same rows (docs.rs), so a new option is one row.

mod backup;
mod backup_grade;
mod compress_given;
mod owners;
pub mod select;
mod snapshots;
mod words;

pub use words::{joined_values, short_cluster};

/// A group of commands sharing one parser: every option of the group is
/// accepted by each of its commands (as before the table), the rows' `commands`
/// only say which ones it means something to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Family {
    /// put, get, sndfile, rcvfile, sup, sdown of one file.
    Transfer,
    /// put and get of trees, several files or patterns.
    Tree,
    /// mirror.
    Mirror,
    /// ls and lsr.
    List,
    /// rmdir.
    Rmdir,
    /// watch.
    Watch,
    /// stages.
    Stages,
    /// backup (its prune).
    Backup,
}

impl Family {
    /// The commands of the group, as its heading in the docs names them.
    pub fn title(self) -> &'static str {
        match self {
            Family::Transfer => "Transfers of one file",
            Family::Tree => "Trees and many files",
            Family::Mirror => "Mirroring",
            Family::List => "Listings",
            Family::Rmdir => "Directories",
            Family::Watch => "Notifications",
            Family::Stages => "Staged uploads",
            Family::Backup => "Backups with history",
        }
    }

    /// Which unknown words are refused as options rather than kept as
    /// arguments: the transfers and watch keep `-x` (a file may be named so;
    /// `-` is stdin/stdout), the tree commands and listings refuse any dash
    /// word, rmdir takes every other word as the directory.
    fn looks_like_option(self, word: &str) -> bool {
        match self {
            Family::Transfer | Family::Watch => word.starts_with("--"),
            Family::Tree | Family::Mirror | Family::List | Family::Stages | Family::Backup => {
                word.starts_with('-') && word.len() > 1
            }
            Family::Rmdir => false,
        }
    }
}

/// What an option takes.
#[derive(Clone, Copy)]
pub enum Kind {
    /// Nothing: present or not.
    Flag,
    /// A number in `min..=max`; out of range it is clamped when `clamp`,
    /// refused ("NAME needs a number MIN..MAX") when not.
    Num {
        /// The least value.
        min: u64,
        /// The greatest value.
        max: u64,
        /// Out of range: clamped (true) or refused.
        clamp: bool,
    },
    /// A word taken as it is (the server judges it); missing, the message.
    Text(&'static str),
    /// Present or not, with an optional `=N` in `min..=max` joined to it
    /// (`--compress=5`); alone it counts 0.
    OptNum {
        /// The least value.
        min: u64,
        /// The greatest value.
        max: u64,
    },
}

/// One option of a command family.
#[derive(Clone, Copy)]
pub struct CmdOpt {
    /// The commands that parse it.
    pub family: Family,
    /// The commands it means something to.
    pub commands: &'static [&'static str],
    /// As typed.
    pub name: &'static str,
    /// The value's placeholder as `tf --help` writes it (tf(1) in lower case).
    pub value: &'static str,
    /// What it takes.
    pub kind: Kind,
    /// The `tf --help` text; a line break continues it under itself.
    pub help: &'static str,
    /// tf(1)'s entry (roff), after its tag.
    pub doc: &'static str,
}

const FLAG: Kind = Kind::Flag;

/// tf(1)'s text for `--exclude` (the tree commands' and mirror's).
const FILTER_DOC: &str = "Leave out what\n.I pattern\nmatches (repeatable). As in rsync, the\n\
.B \\-\\-exclude\nand\n.B \\-\\-include\nrules are tried in the order given and the first that matches decides; a\n\
path none matches is taken. Patterns are rsync's:\n.B *\nmatches within a name,\n.B **\nacross directories,\n.B ?\nand\n.B [...]\none character; a pattern without\n.B /\n\
matches a name at any depth, one with a leading\n.B /\nthe path from the tree's root, one with another\n.B /\n\
the path's last as many names, and one with\n.B **\nthe path from any directory; a trailing\n.B /\n\
matches directories only; an excluded directory takes what it holds along. A pattern\n\
starting with\n.B \"+ \"\nor\n.B \"\\- \"\nis that rule and\n.B !\nclears the rules so far, as rsync reads them. In a mirror what is excluded is neither copied nor removed by\n.B \\-\\-delete\n(but by\n.BR \\-\\-delete\\-excluded ),\nnor is a directory the source lacks that holds it: what else it holds goes.\n";
const XFER: &[&str] = &["put", "get"];
/// tf(1)'s text for `-L` (the tree commands' and mirror's).
const LINKS_DOC: &str = "Follow symlinks, as\n.B rsync \\-L\ndoes: what a link in the source names is copied, a file's contents as a file, a\ndirectory's tree as a directory. A link that names nothing, or a directory\nholding it (a loop), is left out and told. On the server tfd answers for a\nlink only inside the session's root: a link out of it stays a link (copied as\none where links are kept, else left out).\n";

/// The compression options' texts, one for each family that takes them.
const COMPRESS_HELP: &str =
    "compress the data with zstd (at LEVEL, 1..19) whatever the link; blocks that do not shrink still go as they are";
const COMPRESS_DOC: &str = "Compress the data with zstd whatever the link (tfd's compressed transfers:\nstaged uploads, as\n.B put \\-\\-streams\nand\n.B \\-\\-resume\nmake, and batches both ways, as\n.BR \"put \\-r\" ,\n.BR \"get \\-r\" ,\n.BR mirror ,\n.B mirror \\-R\nand a single file's\n.B put\nsend, one zstd stream across a batch, so a tree of small\nfiles compresses as a tarball would; and a single file's\n.B get\nover one stream, and its resume; the literal bytes of a delta, both ways),\nat\n.I level\n(1 to 19, within the server's cap) or from level 3 adapting to the link and\nthe CPU; on a download tfd decides block by block. A block whose sample does\nnot shrink still goes as it is. Without this option compression is asked\nfor only where the link is slower than compressing (never on loopback or a\nfast LAN). A server without the extension sends and gets the data as it is,\nand tf says nothing.\n";
const Z_DOC: &str = "As\n.BR \\-\\-compress .\n";
const NO_COMPRESS_HELP: &str = "never compress: the data goes as it is";
const NO_COMPRESS_DOC: &str = "Never compress: the data goes as it is.\n";

/// Every command option, in the order the docs show them.
pub static COMMAND_OPTIONS: &[CmdOpt] = &[
    CmdOpt {
        family: Family::Transfer,
        commands: XFER,
        name: "--offset",
        value: "N",
        kind: Kind::Num { min: 0, max: u64::MAX, clamp: true },
        help: "write in place (PUT/GET) from byte N: the one transfer not made atomic",
        doc: "Write in place (PUT or GET) from byte\n.I n\nof both files, as dd's seek does: the one transfer that does not go through a\ntemporary, so an interrupted one leaves the target part old, part new; excludes\n.BR \\-\\-resume .\n",
    },
    CmdOpt {
        family: Family::Transfer,
        commands: XFER,
        name: "--resume",
        value: "",
        kind: FLAG,
        help: "continue an interrupted transfer, only as far as its journal proves; put sends nothing onto a remote file that is already the same",
        doc: "Continue an interrupted transfer.\nFor\n.BR get ,\nthe partial an interrupted download kept beside the target\n(\\fB.NAME.tf\\-partial\\fP and its journal) is continued as far as the journal\nproves it; anything else at the target is never spliced in: the file is\ndownloaded whole, and tf says so.\nFor\n.BR put ,\nthe hidden stage an interrupted\n.B put \\-\\-resume\nor\n.B \\-\\-streams\nupload left on the server (tfd's staged uploads) is continued from the ranges\nits journal records for this same local file; a remote file that is already\nthis file (the same size and SHA\\-256) is left as it is, nothing sent; a\nchanged local file, or a remote file that was never such a stage, is sent\nwhole; tf says which.\nEither way the result is checked end to end (SHA\\-256 of both sides) before it\nreplaces the target.\n",
    },
    CmdOpt {
        family: Family::Transfer,
        commands: XFER,
        name: "--streams",
        value: "N",
        kind: Kind::Num { min: 1, max: 64, clamp: true },
        help: "move N byte ranges over N connections at once (1..64)",
        doc: "Move\n.I n\nbyte ranges over\n.I n\nconnections at once (1 to 64; default 1).\n",
    },
    CmdOpt {
        family: Family::Transfer,
        commands: XFER,
        name: "--bufsz",
        value: "N",
        kind: Kind::Num { min: 1, max: i64::MAX as u64, clamp: true },
        help: "the buffer size proposed to PUT/GET (default 4194304)",
        doc: "The buffer size proposed to\n.BR PUT \" and \" GET ,\nin bytes (default 4194304; the server may grant less).\n",
    },
    CmdOpt {
        family: Family::Transfer,
        commands: XFER,
        name: "--compress",
        value: "[=LEVEL]",
        kind: Kind::OptNum { min: 1, max: 19 },
        help: COMPRESS_HELP,
        doc: COMPRESS_DOC,
    },
    CmdOpt {
        family: Family::Transfer,
        commands: XFER,
        name: "-z",
        value: "",
        kind: FLAG,
        help: "as --compress",
        doc: Z_DOC,
    },
    CmdOpt {
        family: Family::Transfer,
        commands: XFER,
        name: "--no-compress",
        value: "",
        kind: FLAG,
        help: NO_COMPRESS_HELP,
        doc: NO_COMPRESS_DOC,
    },
    CmdOpt {
        family: Family::Transfer,
        commands: &["put", "get", "sndfile", "rcvfile"],
        name: "--verify",
        value: "",
        kind: FLAG,
        help: "compare SHA-256 with the server's SHA256 afterwards",
        doc: "Compare the SHA\\-256 of the local file with the server's\n.B SHA256\nafterwards (exit status 3 when they differ).\n",
    },
    CmdOpt {
        family: Family::Transfer,
        commands: &["put", "get"],
        name: "--whole-file",
        value: "",
        kind: FLAG,
        help: "move the whole file, never a delta of a changed one (as rsync's option)",
        doc: "Send the whole file. Without it, a\n.B put\nof a file of 256 KiB or more onto an existing remote file of a tfd server, over\na link whose round trip is 1 ms or more (TCP's own measure of the session), goes\nas a delta (rsync's algorithm: the blocks of the old file it reuses, found at\nany offset, and the bytes it does not), built beside the target, checked end to\nend (SHA\\-256) and renamed into place; a delta that would not pay, or a server\nwithout the extension, sends the whole file anyway. On a faster link (loopback,\na LAN) the file goes whole, as rsync sends local copies whole: reading both\ncopies costs more there than the bytes it saves.\nLikewise a\n.B get\nonto an existing local file of 256 KiB or more: tf sends the local copy's\nblock signatures and tfd the records that build its file from it, built in\nthe partial beside the target, checked end to end and renamed into place.\n",
    },
    CmdOpt {
        family: Family::Transfer,
        commands: &["put", "get"],
        name: "--no-whole-file",
        value: "",
        kind: FLAG,
        help: "try a delta even on a fast link (as rsync's option)",
        doc: "Try a delta whatever the link's round trip (see\n.BR \\-\\-whole\\-file ).\n",
    },
    CmdOpt {
        family: Family::Transfer,
        commands: &["put", "sndfile", "sup"],
        name: "--parents",
        value: "",
        kind: FLAG,
        help: "create REMOTE's missing directories first",
        doc: "Create the remote path's missing directories first.\n",
    },
    CmdOpt {
        family: Family::Transfer,
        commands: &["sndfile"],
        name: "--overwrite",
        value: "",
        kind: FLAG,
        help: "replace an existing REMOTE",
        doc: "Replace an existing remote file.\n",
    },
    CmdOpt {
        family: Family::Transfer,
        commands: &["rcvfile"],
        name: "--delete",
        value: "",
        kind: FLAG,
        help: "have the server delete REMOTE once sent",
        doc: "Have the server delete the remote file once it is sent.\n",
    },
    CmdOpt {
        family: Family::Tree,
        commands: XFER,
        name: "-r",
        value: "",
        kind: FLAG,
        help: "take directories whole",
        doc: "Take directories whole (without it a directory source is an error).\n",
    },
    CmdOpt {
        family: Family::Tree,
        commands: XFER,
        name: "--jobs",
        value: "N",
        kind: Kind::Num { min: 1, max: 64, clamp: false },
        help: "move the files over N sessions (default 4, 1..64)",
        doc: "Move the files over\n.I n\nsessions (default 4, 1 to 64).\n",
    },
    CmdOpt {
        family: Family::Tree,
        commands: &["put"],
        name: "-p",
        value: "",
        kind: FLAG,
        help: "keep modes and mtimes of files and directories (as cp -p; needs tfd's batches)",
        doc: "Keep the modes (set\\-id and sticky bits too) and the modification times, to\nthe nanosecond, of files and directories, as\n.B cp \\-p\ndoes; a directory gets its mode and mtime once the last file in it is written,\nso a read\\-only one still receives its files. A directory source is copied as\n.B \\-a\ncopies one, keeping only these (a second run moves only what changed); files of\n32 MiB and more (which go through a stage) keep them too. A download lands\nwithout the set\\-id bits, as\n.B cp \\-p\ndoes where it cannot give the owner (see\n.BR \\-a ).\nA server without tfd's batch uploads gives the files their arrival time and the\nreplaced file's mode, and a tfd whose staged commit takes no attributes does so\nfor the files of 32 MiB and more.\n",
    },
    CmdOpt {
        family: Family::Tree,
        commands: XFER,
        name: "-a",
        value: "",
        kind: FLAG,
        help: "archive: keep what rsync -a keeps (implies -r; a directory is copied as\nmirror copies one, without removing anything)",
        doc: "Archive: keep what\n.B rsync \\-a\nkeeps (its\n.BR \\-rlptgoD ;\nimplies\n.BR \\-r ).\nEach directory source is copied as\n.B mirror\ncopies a tree, without removing anything: the modes of files and directories\n(set\\-id bits only where the receiving side is root and gives the source's\nowner too, as rsync does), mtimes to the nanosecond,\ndirectories' mtimes once their contents are done, symlinks as symlinks, FIFOs\nand sockets, and devices and owners and groups by number where the receiving\nside may give them (down: tf run as root; up: a session tfd serves as root, unjailed;\nelsewhere left out, as rsync does, said only with\n.BR \\-v ); a\nsecond run moves only what changed (rsync's quick check: size and mtime). A\nfile source keeps its mode and mtime. Against a server without tfd's archive\ncopies tf keeps what that server allows and says once what it could not keep.\n",
    },
    CmdOpt {
        family: Family::Tree,
        commands: XFER,
        name: "-L",
        value: "",
        kind: FLAG,
        help: "follow symlinks: what a link names is copied (as rsync -L)",
        doc: LINKS_DOC,
    },
    CmdOpt {
        family: Family::Tree,
        commands: &["get"],
        name: "--resume",
        value: "",
        kind: FLAG,
        help: "continue the partials an interrupted get -r kept, as far as their journals prove",
        doc: "Continue what an interrupted\n.B get \\-r\nleft: each file whose partial (\\fB.NAME.tf\\-partial\\fP and its journal, beside\nthe file in the target) is there is continued as far as its journal proves,\nthen checked end to end against the server's\n.BR SHA256 ;\nthe other files are moved whole, as without it.\n",
    },
    CmdOpt {
        family: Family::Tree,
        commands: XFER,
        name: "--exclude",
        value: "PATTERN",
        kind: Kind::Text("--exclude needs a pattern"),
        help: "leave out what PATTERN matches (rsync's order: the first\n--exclude/--include that matches decides; repeatable)",
        doc: FILTER_DOC,
    },
    CmdOpt {
        family: Family::Tree,
        commands: XFER,
        name: "--include",
        value: "PATTERN",
        kind: Kind::Text("--include needs a pattern"),
        help: "take what PATTERN matches, even if a later --exclude matches it",
        doc: "Take what\n.I pattern\nmatches even when a later\n.B \\-\\-exclude\nmatches it too (the first rule that matches decides).\n",
    },
    CmdOpt {
        family: Family::Tree,
        commands: &["put", "get"],
        name: "--compress",
        value: "[=LEVEL]",
        kind: Kind::OptNum { min: 1, max: 19 },
        help: COMPRESS_HELP,
        doc: COMPRESS_DOC,
    },
    CmdOpt {
        family: Family::Tree,
        commands: &["put", "get"],
        name: "-z",
        value: "",
        kind: FLAG,
        help: "as --compress",
        doc: Z_DOC,
    },
    CmdOpt {
        family: Family::Tree,
        commands: &["put", "get"],
        name: "--no-compress",
        value: "",
        kind: FLAG,
        help: NO_COMPRESS_HELP,
        doc: NO_COMPRESS_DOC,
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "-R",
        value: "",
        kind: FLAG,
        help: "SRC is local and DST remote",
        doc: "The source is local and the destination remote (else the reverse).\n",
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "--delete",
        value: "",
        kind: FLAG,
        help: "remove what SRC does not hold",
        doc: "Remove from the destination what the source does not hold.\n",
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "--checksum",
        value: "",
        kind: FLAG,
        help: "compare SHA-256 instead of times",
        doc: "Compare SHA\\-256 (the server's\n.BR SHA256 )\ninstead of times.\n",
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "--jobs",
        value: "N",
        kind: Kind::Num { min: 1, max: 64, clamp: false },
        help: "move the files over N sessions (default 4, 1..64)",
        doc: "Move the files over\n.I n\nsessions (default 4, 1 to 64).\n",
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "--no-perms",
        value: "",
        kind: FLAG,
        help: "keep no modes, nanoseconds or directory times (by default\nmirror keeps them, as rsync -a)",
        doc: "Keep neither the source's modes nor its mtimes' nanoseconds nor its\ndirectories' mtimes, and leave out changes of mode alone. By default\n.B mirror\nkeeps what\n.B rsync \\-a\nkeeps where the server says it (a tfd with\n.BR TFDENTRIES ):\nthe modes of files and directories (set\\-id bits only when tf runs as root\nand gives the files their owners: a set\\-uid file from the server never lands\nowned by whoever runs tf, so\n.B \"get \\-r \\-p\"\nas root drops them, as\n.B \"rsync \\-rp\"\nand sftp's\n.B \"get \\-p\"\ndo), mtimes to the nanosecond, directories' mtimes set once their contents are\ndone, and a change of mode alone is carried over.\n",
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "--no-links",
        value: "",
        kind: FLAG,
        help: "leave symlinks out (by default they are copied as symlinks)",
        doc: "Leave symlinks out. By default a symlink is copied as a symlink with\nits target as it is written (never followed, by tf or by tfd), as\n.B rsync \\-l\ndoes.\n",
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "-L",
        value: "",
        kind: FLAG,
        help: "follow symlinks: what a link names is copied (as rsync -L)",
        doc: LINKS_DOC,
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "--safe-links",
        value: "",
        kind: FLAG,
        help: "leave out symlinks that point out of the tree (absolute, or .. past its root)",
        doc: "Leave out a symlink whose target is absolute or climbs with\n.B ..\nout of the tree, as\n.B rsync \\-\\-safe\\-links\ndoes (told as skipped).\n",
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "--owner",
        value: "",
        kind: FLAG,
        help: "keep owners and groups, numeric, where the receiving side may give them\n(down: tf as root, which keeps them anyway; up: a session tfd runs as root, unjailed)",
        doc: "Keep each entry's owner and group by number, as rsync's owner and group\noptions do with numeric ids, where the receiving side may give them: a\ndownload where tf runs as root (which keeps them anyway), an upload to a\nsession tfd runs as root and does not jail. Elsewhere the owners are left\nout and the mirror runs, as rsync run by another user than root leaves them,\nsaying nothing;\n.B \\-v\nsays so in one line. The same holds for\n.BR \\-o ,\n.B \\-g\nand\n.B \\-a\non every route that takes them\n.RB ( \"put \\-r\" ,\n.BR \"get \\-r\" ,\n.B mirror\nboth ways).\n",
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "--no-specials",
        value: "",
        kind: FLAG,
        help: "leave FIFOs and sockets out (by default they are made as what they are)",
        doc: "Leave FIFOs and sockets out. By default each is made as what it is\n(never opened), as rsync's specials option makes them.\n",
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "-a",
        value: "",
        kind: FLAG,
        help: "archive, as rsync -a: what mirror keeps anyway, and devices (-D) and\nowners (--owner) where the ends allow",
        doc: "Archive: keep what\n.B rsync \\-a\nkeeps. A mirror keeps modes, mtimes, symlinks and FIFOs and sockets anyway;\n.B \\-a\nadds\n.B \\-D\nand\n.BR \\-\\-owner ,\neach where the ends allow it (see them), so that rsync's command lines, such as\n.BR \"mirror \\-aHSXA\" ,\nrun as typed.\n",
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "-D",
        value: "",
        kind: FLAG,
        help: "make character and block devices as what they are (where both ends are root)",
        doc: "Make character and block devices as what they are, with their numbers, as\nrsync's devices option does, where both ends are root: a download when tf\nruns as root, an upload to a session tfd serves as root, unjailed (asked\nbefore anything moves). Elsewhere, and without it, a device is left out and\nnamed.\n",
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "--whole-file",
        value: "",
        kind: FLAG,
        help: "move changed files whole, never as deltas (as rsync's option)",
        doc: "Move every file whole. Without it, a file of 256 KiB or more that the\ndestination has and that differs goes as a delta (as\n.B put\nand\n.B get\ndo; see their\n.BR \\-\\-whole\\-file )\nover a link whose round trip is 1 ms or more: with\n.B \\-R\nstamped with the local file's mode and mtime as the files sent whole are,\nwithout it landed with the server's mtime; a delta that would not pay goes\nwhole.\n",
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "--no-whole-file",
        value: "",
        kind: FLAG,
        help: "try deltas even on a fast link (as rsync's option)",
        doc: "Try a delta for a changed file whatever the link's round trip (see\n.BR \\-\\-whole\\-file ).\n",
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "--exclude",
        value: "PATTERN",
        kind: Kind::Text("--exclude needs a pattern"),
        help: "leave out what PATTERN matches (rsync's order: the first\n--exclude/--include that matches decides; repeatable)",
        doc: FILTER_DOC,
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "--include",
        value: "PATTERN",
        kind: Kind::Text("--include needs a pattern"),
        help: "take what PATTERN matches, even if a later --exclude matches it",
        doc: "Take what\n.I pattern\nmatches even when a later\n.B \\-\\-exclude\nmatches it too (the first rule that matches decides).\n",
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "--compress",
        value: "[=LEVEL]",
        kind: Kind::OptNum { min: 1, max: 19 },
        help: COMPRESS_HELP,
        doc: COMPRESS_DOC,
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "-z",
        value: "",
        kind: FLAG,
        help: "as --compress",
        doc: Z_DOC,
    },
    CmdOpt {
        family: Family::Mirror,
        commands: &["mirror"],
        name: "--no-compress",
        value: "",
        kind: FLAG,
        help: NO_COMPRESS_HELP,
        doc: NO_COMPRESS_DOC,
    },
    CmdOpt {
        family: Family::List,
        commands: &["ls", "lsr"],
        name: "-l",
        value: "",
        kind: FLAG,
        help: "add mode, owner, group, size and modification time",
        doc: "Add each entry's mode, owner and group (numeric), size and modification time.\n",
    },
    CmdOpt {
        family: Family::List,
        commands: &["ls", "lsr"],
        name: "-a",
        value: "",
        kind: FLAG,
        help: "every name, and your staged uploads not committed (tfd: S: NAME (stage of ...))",
        doc: "Every name, dot files too (the server's listing holds them all anyway), and, from tfd,\nyour own staged uploads not yet committed, which the listing hides: each as\n.BI \"S: \" NAME\nwith what it is a stage of, the bytes written of the file's size and those the\nquota counts (with\n.BR \\-l ,\ntype\n.BR s ).\nSee\n.BR stages .\n",
    },
    CmdOpt {
        family: Family::List,
        commands: &["ls", "lsr"],
        name: "-h",
        value: "",
        kind: FLAG,
        help: "with -l, sizes as ls -h writes them (1.5K, 12M)",
        doc: "With\n.BR \\-l ,\nsizes as\n.B ls \\-h\nwrites them (1.5K, 12M: powers of 1024). Short flags may be joined:\n.BR \\-la ,\n.BR \\-lh .\n",
    },
    CmdOpt {
        family: Family::Rmdir,
        commands: &["rmdir"],
        name: "-r",
        value: "",
        kind: FLAG,
        help: "remove a directory that is not empty too",
        doc: "Remove a directory that is not empty too (without it,\n.B rmdir\nrefuses one).\n",
    },
    CmdOpt {
        family: Family::Watch,
        commands: &["watch"],
        name: "--interval",
        value: "S",
        kind: Kind::Text("--interval needs seconds (e.g. 0.5 or 1e-2)"),
        help: "STARTNTFY's interval, in seconds",
        doc: "The interval\n.B STARTNTFY\nis given, in seconds.\n",
    },
    CmdOpt {
        family: Family::Watch,
        commands: &["watch"],
        name: "--del",
        value: "",
        kind: FLAG,
        help: "have the server delete each file notified",
        doc: "Have the server delete each file notified (the answer is\n.B DEL\nrather than\n.BR OK ).\n",
    },
    CmdOpt {
        family: Family::Stages,
        commands: &["stages"],
        name: "--discard",
        value: "",
        kind: FLAG,
        help: "remove the stages named (a target's path, or the stage's own as listed)",
        doc: "Remove each stage named: by the path of the file it is a stage of, or by its own\npath as\n.B stages\nlists it. Only your own stages, and none a running upload holds.\n",
    },
    CmdOpt {
        family: Family::Stages,
        commands: &["stages"],
        name: "--all",
        value: "",
        kind: FLAG,
        help: "with --discard, every stage of yours below each DIR (default /)",
        doc: "With\n.BR \\-\\-discard ,\nremove every stage of yours below each\n.I dir\n(the whole tree without one).\n",
    },
];

/// Long names of options whose row is named by their short one, as rsync
/// spells both: the family, the short name, the long one.
pub static LONG_NAMES: &[(Family, &str, &str)] = &[
    (Family::Tree, "-a", "--archive"),
    (Family::Mirror, "-a", "--archive"),
    (Family::Tree, "-L", "--copy-links"),
    (Family::Mirror, "-L", "--copy-links"),
];

/// Every long name: the table's, [`select`]'s, [`visible`]'s and [`backup`]'s.
fn long_names() -> impl Iterator<Item = &'static (Family, &'static str, &'static str)> {
    LONG_NAMES
        .iter()
        .chain(select::LONG_NAMES)
        .chain(visible::LONG_NAMES)
        .chain(backup::LONG_NAMES)
        .chain(backup_grade::LONG_NAMES)
        .chain(owners::LONG_NAMES)
}

/// The long name of `o`, if it has one.
pub fn long_name(o: &CmdOpt) -> Option<&'static str> {
    long_names()
        .find(|(f, s, _)| *f == o.family && *s == o.name)
        .map(|(_, _, l)| *l)
}

/// The row name `word` stands for among `family`'s: a long name's short
/// one, else itself.
fn row_name(family: Family, word: &str) -> &str {
    long_names()
        .find(|(f, _, l)| *f == family && *l == word)
        .map_or(word, |(_, s, _)| *s)
}

/// Every row: the table's and the blocks kept in files of their own
/// ([`select`], [`visible`], [`backup`]).
pub fn all() -> impl Iterator<Item = &'static CmdOpt> {
    COMMAND_OPTIONS
        .iter()
        .chain(select::ROWS)
        .chain(visible::ROWS)
        .chain(backup::ROWS)
        .chain(backup_grade::ROWS)
        .chain(snapshots::ROWS)
        .chain(owners::ROWS)
        .chain(owners::MIRROR_RSYNC_ROWS)
        .chain(owners::TREE_RSYNC_ROWS)
}

/// The options of `family`.
pub fn of(family: Family) -> impl Iterator<Item = &'static CmdOpt> {
    all().filter(move |o| o.family == family)
}

/// Why a command's words are no good.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    /// A word that looks like an option of no row; the command words the
    /// message (each says it its own way).
    Unknown(String),
    /// An option's value is missing or no good: the message.
    Bad(String),
}

/// The options a command was given, and its other words.
#[derive(Default, Debug)]
pub struct Given {
    flags: Vec<&'static str>,
    nums: Vec<(&'static str, u64)>,
    texts: Vec<(&'static str, String)>,
    /// The words that are no options, in order.
    pub positional: Vec<String>,
}

impl Given {
    /// Whether flag `name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.contains(&name)
    }

    /// The word given with `name`, the last one given.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.texts
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every `(name, value)` of the Text options among `names`, in the
    /// order given (`--exclude`/`--include`: their order is their meaning).
    pub fn texts_in_order<'a>(&'a self, names: &'a [&str]) -> impl Iterator<Item = (&'static str, &'a str)> + 'a {
        self.texts
            .iter()
            .filter(move |(n, _)| names.contains(n))
            .map(|(n, v)| (*n, v.as_str()))
    }

    /// The value of `name`, the last one given.
    pub fn num(&self, name: &str) -> Option<u64> {
        self.nums.iter().rev().find(|(n, _)| *n == name).map(|&(_, v)| v)
    }
}

/// Parses a command's words against `family`'s rows, with GNU habits: `--`
/// ends the options (a name after it may start with a dash), and
/// `--name=value` is `--name value`.
pub fn parse(family: Family, args: &[String]) -> Result<Given, ParseError> {
    let mut g = Given::default();
    let words = joined_values(args, &valued);
    let mut it = words.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            g.positional.extend(it.cloned());
            break;
        }
        let (a, joined) = match a.split_once('=') {
            Some((name, v)) if optional_value(name) => (name.to_string(), Some(v)),
            _ => (a.clone(), None),
        };
        let Some(opt) = of(family).find(|o| o.name == row_name(family, &a)) else {
            if family.looks_like_option(&a) {
                return Err(ParseError::Unknown(a.clone()));
            }
            g.positional.push(a);
            continue;
        };
        match opt.kind {
            Kind::Flag => g.flags.push(opt.name),
            Kind::Num { min, max, clamp } => {
                let v: Option<u64> = it.next().and_then(|v| v.parse().ok());
                let v = match v {
                    Some(n) if clamp => n.clamp(min, max),
                    Some(n) if (min..=max).contains(&n) => n,
                    _ if clamp => return Err(ParseError::Bad(format!("{} needs a number", opt.name))),
                    _ => return Err(ParseError::Bad(format!("{} needs a number {min}..{max}", opt.name))),
                };
                g.nums.push((opt.name, v));
            }
            Kind::Text(missing) => match it.next() {
                Some(v) => g.texts.push((opt.name, v.clone())),
                None => return Err(ParseError::Bad(missing.into())),
            },
            Kind::OptNum { min, max } => {
                let v = match joined.map(str::parse::<u64>) {
                    None => 0,
                    Some(Ok(n)) if (min..=max).contains(&n) => n,
                    Some(_) => return Err(ParseError::Bad(format!("{}= needs a number {min}..{max}", opt.name))),
                };
                g.nums.push((opt.name, v));
            }
        }
    }
    Ok(g)
}

/// Whether some command's option `name` takes a value.
fn valued(name: &str) -> bool {
    all().any(|o| o.name == name && !matches!(o.kind, Kind::Flag | Kind::OptNum { .. }))
}

/// Whether some command's option `name` takes a value only joined to it.
fn optional_value(name: &str) -> bool {
    all().any(|o| o.name == name && matches!(o.kind, Kind::OptNum { .. }))
}

/// Whether `name` is an option of `family` that takes a value (so the word
/// after it is no argument).
pub fn takes_value(family: Family, name: &str) -> bool {
    of(family).any(|o| o.name == name && !matches!(o.kind, Kind::Flag | Kind::OptNum { .. }))
}

/// Whether `word` is one of `family`'s options spelt with a single dash
/// (`-z` of put and get), which that family's words otherwise never are.
pub fn is_short_option(family: Family, word: &str) -> bool {
    !word.starts_with("--") && of(family).any(|o| o.name == word)
}

#[cfg(test)]
mod tests;
mod visible;
