//! One entry a tree run changes, and why, as rsync's `--itemize-changes`
//! says it. The plan makes them ([`crate::tree::itemize`]) and the run hands
//! each to [`super::events::Events::item`]; `tf` prints [`Item::line`] (`-i`)
//! or the fields (`--json`), the Python package collects them. rsync's own
//! letters are kept so that scripts reading `rsync -i` read these too.

/// What happens to the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A file's data goes to the server (rsync's `<`).
    Send,
    /// A file's data comes here (rsync's `>`).
    Receive,
    /// Made on the receiving side without data: a directory, a link, a
    /// FIFO, a socket, a device (rsync's `c`).
    Make,
    /// Only its attributes change (rsync's `.`).
    Attrs,
    /// Removed (`--delete`; rsync's `*deleting`).
    Delete,
}

impl Action {
    /// The name `--json` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Action::Send => "send",
            Action::Receive => "receive",
            Action::Make => "make",
            Action::Attrs => "attrs",
            Action::Delete => "delete",
        }
    }
}

/// What the entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// A regular file (rsync's `f`).
    File,
    /// A directory (`d`).
    Dir,
    /// A symlink (`L`).
    Symlink,
    /// A character or block device (`D`).
    Device,
    /// A FIFO or a socket (`S`).
    Special,
}

impl ItemKind {
    /// rsync's letter.
    fn letter(self) -> char {
        match self {
            ItemKind::File => 'f',
            ItemKind::Dir => 'd',
            ItemKind::Symlink => 'L',
            ItemKind::Device => 'D',
            ItemKind::Special => 'S',
        }
    }

    /// The name `--json` gives it.
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::File => "file",
            ItemKind::Dir => "dir",
            ItemKind::Symlink => "symlink",
            ItemKind::Device => "device",
            ItemKind::Special => "special",
        }
    }
}

/// Why the entry changes: rsync's attribute letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Changes {
    /// The destination has no such entry (rsync's `+++++++++`).
    pub new: bool,
    /// A file's contents differ at the same size and time (`c`), or a
    /// link's target, a device's number.
    pub checksum: bool,
    /// The size differs (`s`).
    pub size: bool,
    /// The modification time differs (`t`).
    pub time: bool,
    /// The permission bits differ (`p`).
    pub perms: bool,
    /// The owner differs (`o`).
    pub owner: bool,
    /// The group differs (`g`).
    pub group: bool,
}

impl Changes {
    /// The names `--json` lists, in rsync's order.
    pub fn names(&self) -> Vec<&'static str> {
        if self.new {
            return vec!["new"];
        }
        [
            (self.checksum, "checksum"),
            (self.size, "size"),
            (self.time, "time"),
            (self.perms, "perms"),
            (self.owner, "owner"),
            (self.group, "group"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect()
    }
}

/// One entry a run changes (or, dry, would change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// What happens to it.
    pub action: Action,
    /// What it is.
    pub kind: ItemKind,
    /// Its path below the destination as given (rsync's names: `""` is the
    /// destination itself, a tree copied into it starts with its name).
    pub path: Vec<u8>,
    /// A file's size at the source (0 for anything else).
    pub size: u64,
    /// Why.
    pub changes: Changes,
    /// A link's target, as written.
    pub target: Option<Vec<u8>>,
}

impl Item {
    /// rsync's eleven letters: `>f.st......`, `cd+++++++++`, `*deleting  `.
    pub fn code(&self) -> String {
        if self.action == Action::Delete {
            return "*deleting  ".into();
        }
        let y = match self.action {
            Action::Send => '<',
            Action::Receive => '>',
            Action::Make => 'c',
            Action::Attrs | Action::Delete => '.',
        };
        let ch = self.changes;
        if ch.new {
            return format!("{y}{}+++++++++", self.kind.letter());
        }
        let at = |on: bool, l: char| if on { l } else { '.' };
        format!(
            "{y}{}{}{}{}{}{}{}...",
            self.kind.letter(),
            at(ch.checksum, 'c'),
            at(ch.size, 's'),
            at(ch.time, 't'),
            at(ch.perms, 'p'),
            at(ch.owner, 'o'),
            at(ch.group, 'g'),
        )
    }

    /// The path as rsync writes it: `./` for the destination itself, a
    /// directory with a trailing `/`, names escaped as every message of tf
    /// escapes them.
    pub fn name(&self) -> String {
        let p = crate::escape::shown(&self.path);
        match (self.kind, p.is_empty()) {
            (ItemKind::Dir, true) => "./".into(),
            (ItemKind::Dir, false) => format!("{p}/"),
            _ => p,
        }
    }

    /// rsync's `-i` line: the code, the name, a link's `-> target`.
    pub fn line(&self) -> String {
        match (&self.target, self.action) {
            (Some(t), a) if a != Action::Delete => {
                format!("{} {} -> {}", self.code(), self.name(), crate::escape::shown(t))
            }
            _ => format!("{} {}", self.code(), self.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(action: Action, kind: ItemKind, path: &str, changes: Changes) -> Item {
        Item {
            action,
            kind,
            path: path.as_bytes().to_vec(),
            size: 0,
            changes,
            target: None,
        }
    }

    #[test]
    fn lines_are_rsyncs() {
        let new = Changes {
            new: true,
            ..Changes::default()
        };
        assert_eq!(item(Action::Receive, ItemKind::File, "a", new).line(), ">f+++++++++ a");
        assert_eq!(item(Action::Make, ItemKind::Dir, "", new).line(), "cd+++++++++ ./");
        assert_eq!(item(Action::Make, ItemKind::Dir, "d", new).line(), "cd+++++++++ d/");
        let st = Changes {
            size: true,
            time: true,
            ..Changes::default()
        };
        assert_eq!(item(Action::Send, ItemKind::File, "a", st).line(), "<f.st...... a");
        let p = Changes {
            perms: true,
            ..Changes::default()
        };
        assert_eq!(item(Action::Attrs, ItemKind::File, "b", p).line(), ".f...p..... b");
        assert_eq!(item(Action::Delete, ItemKind::Dir, "g", p).line(), "*deleting   g/");
        let mut l = item(Action::Make, ItemKind::Symlink, "l", new);
        l.target = Some(b"a".to_vec());
        assert_eq!(l.line(), "cL+++++++++ l -> a");
        assert_eq!(st.names(), ["size", "time"]);
        assert_eq!(new.names(), ["new"]);
    }
}
