//! Tree walks: listings (LS/LSR), recursive removal (RMDIR) and copies (COPY/CPDIR).
//!
//! Every walk moves by descriptors (`openat` with O_NOFOLLOW from the parent's
//! descriptor), so a symlink swapped in mid-walk is never followed out of the tree,
//! and every walk is bounded in entries and depth so a huge tree cannot stall a
//! session forever.

use super::names::{is_hidden_meta, is_secure_name};
use super::{cname, FsError, Kind, RelPath};
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use tfd_sys as sys;
use tfd_sys::dir::DirReader;
pub use tfd_sys::dir::Removal;
use tfp_wire::fstat::FileType;
use tfp_wire::listing_end::Unread;

/// Deepest directory nesting a walk descends into.
pub const MAX_DEPTH: usize = 512;

fn open_subdir(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    sys::openat_nofollow(dir, name, libc::O_RDONLY | libc::O_DIRECTORY, 0)
}

/// One directory being read, with the path prefix its entries get in a listing.
struct Level {
    reader: DirReader,
    prefix: Vec<u8>,
    /// Counted among the directories the session may not read (its names
    /// were there, what they are was not).
    noted: bool,
}

impl Level {
    fn open(fd: OwnedFd, prefix: Vec<u8>) -> io::Result<Level> {
        Ok(Level {
            reader: DirReader::open(fd)?,
            prefix,
            noted: false,
        })
    }

    /// Notes this directory among `unread` (once): the session may read
    /// its names but not look at them.
    fn note_unread(&mut self, unread: &mut Unread) {
        if !std::mem::replace(&mut self.noted, true) {
            unread.note(self.prefix.strip_suffix(b"/").unwrap_or(&self.prefix));
        }
    }

    /// The next entry other than `.`/`..`, with its kind (never following symlinks).
    fn next_entry(&mut self) -> Option<(Vec<u8>, Kind)> {
        self.reader.next_entry()
    }
}

/// Errors that leave a directory out of a listing as the reference did (it
/// vanished or was swapped for a symlink since readdir); any other failure
/// to descend means the listing is incomplete.
fn skippable(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP))
}

/// The session's user may not read or look into the directory: it is
/// listed without its contents, as the reference did, and counted among
/// [`Lister::unread`], so the listing does not claim to be whole.
fn denied(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM))
}

/// How a listing writes its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Style {
    /// LS/LSR: `D: rel/`, `F: rel`, `U: rel`, relative to the listed directory.
    Tagged,
    /// LSV2 and its kin: the path from the served root (`prefix` is the listed
    /// directory's, ending in `/`, empty for the root itself), directories with a
    /// trailing `/`, no tag.
    Rooted {
        /// The listed directory's path from the root plus `/` (empty for the root).
        prefix: Vec<u8>,
    },
    /// TFDLIST: `<D|F|U> <size> <mtime> <mode, octal> <length> <rel>` a line,
    /// the name raw (any byte but NUL and `/` a component) and its length in
    /// bytes before it; the numbers are lstat's (0 for an entry gone meanwhile).
    Stat,
    /// TFDNAMES: TFDLIST's lines without the numbers, `<D|F|U> <length> <rel>`
    /// (no stat of each entry): what a tree's download needs, whose files'
    /// sizes, modes and times come with their data.
    Names,
    /// TFDENTRIES: a line of tfp-wire's `entry::Entry` per entry (its kind,
    /// mode, mtime to the nanosecond, owner, device number and link target
    /// by lstat and readlinkat), the listed directory itself first as `.`.
    Entries,
}

/// Decides whether a recursive listing may enter a TFPSFS directory.
pub(crate) type EnterGuard = Box<dyn Fn(BorrowedFd<'_>) -> bool>;

/// A lazy listing, in readdir order, depth first (a directory's line before its
/// contents), hiding secure directories and metadata.
pub struct Lister {
    stack: Vec<Level>,
    recursive: bool,
    budget: u64,
    style: Style,
    /// Whether a recursive listing may enter a TFPSFS directory below the top
    /// (see [`Lister::enter_secure_if`]); without one it never does.
    enter_secure: Option<EnterGuard>,
    /// The listed directory's own line is still to come ([`Style::Entries`]).
    head: bool,
    /// Set when the listing is not whole: the walk stopped at its entry budget,
    /// or a directory's contents were left out because it lies deeper than
    /// [`MAX_DEPTH`] or could not be opened for want of resources.
    pub truncated: bool,
    /// The directories listed without their contents because the session
    /// may not read them (the file system's permissions, or a TFPSFS
    /// directory's), by their path from the listed directory: the
    /// listing is not whole either (tfd's own listings say so at their
    /// end, tfp-wire's `listing_end`).
    pub unread: Unread,
}

impl Lister {
    /// Starts an LS/LSR listing of an already opened directory.
    pub fn new(dir: OwnedFd, recursive: bool, budget: u64) -> io::Result<Lister> {
        Lister::styled(dir, recursive, budget, Style::Tagged)
    }

    /// Starts a listing with the given line style.
    pub(crate) fn styled(dir: OwnedFd, recursive: bool, budget: u64, style: Style) -> io::Result<Lister> {
        Ok(Lister {
            stack: vec![Level::open(dir, Vec::new())?],
            recursive,
            budget,
            head: style == Style::Entries,
            style,
            enter_secure: None,
            truncated: false,
            unread: Unread::default(),
        })
    }

    /// Lets the recursion enter a TFPSFS directory (its entry is listed either
    /// way) only when `may` says the session holds LRDIR there: a recursive
    /// listing from above must not bypass that directory's own permissions.
    pub(crate) fn enter_secure_if(mut self, may: impl Fn(BorrowedFd<'_>) -> bool + 'static) -> Lister {
        self.enter_secure = Some(Box::new(may));
        self
    }

    /// Appends listing lines to `out` until it holds at least `want` bytes or the
    /// walk ends. Returns false once the walk is over.
    pub fn fill(&mut self, out: &mut Vec<u8>, want: usize) -> bool {
        while out.len() < want {
            if !self.next_line(out) {
                return false;
            }
        }
        true
    }

    /// Appends exactly one line (ending in `\n`) to `out`; false, with nothing
    /// appended, once the walk is over.
    pub(crate) fn next_line(&mut self, out: &mut Vec<u8>) -> bool {
        if std::mem::take(&mut self.head) {
            if let Some(top) = self.stack.first() {
                if super::entries::line_of_dir(top.reader.fd(), out) {
                    return true;
                }
            }
        }
        loop {
            let depth = self.stack.len();
            let Some(top) = self.stack.last_mut() else { return false };
            let Some((name, mut kind)) = top.next_entry() else {
                self.stack.pop();
                continue;
            };
            if is_hidden_meta(&name) || (kind == Kind::Dir && is_secure_name(&name)) {
                continue;
            }
            if self.budget == 0 {
                self.truncated = true;
                self.stack.clear();
                return false;
            }
            self.budget -= 1;
            let mut rel = top.prefix.clone();
            rel.extend_from_slice(&name);
            let line_start = out.len();
            if self.style == Style::Entries {
                // the kind lstat tells, not readdir's: what the line says is
                // what the walk enters
                let Ok(c) = cname(&name) else { continue };
                let Some(k) = super::entries::line_at(top.reader.fd(), &c, &rel, out) else {
                    // gone since readdir is no loss; a name the session may
                    // not look at is
                    if sys::fstatat(top.reader.fd(), &c, false).is_err_and(|e| denied(&e)) {
                        top.note_unread(&mut self.unread);
                    }
                    continue;
                };
                // a secure directory swapped in since readdir stays hidden
                if k == FileType::Dir && is_secure_name(&name) {
                    out.truncate(line_start);
                    continue;
                }
                kind = match k {
                    FileType::Dir => Kind::Dir,
                    FileType::Regular => Kind::File,
                    _ => Kind::Other,
                };
            } else if matches!(self.style, Style::Stat | Style::Names) {
                let tag = match kind {
                    Kind::Dir => 'D',
                    Kind::File => 'F',
                    Kind::Other => 'U',
                };
                if self.style == Style::Stat {
                    let st = cname(&name).ok().map(|c| sys::fstatat(top.reader.fd(), &c, false));
                    if st.as_ref().is_some_and(|st| st.as_ref().is_err_and(denied)) {
                        top.note_unread(&mut self.unread);
                    }
                    let st = st.and_then(Result::ok);
                    let (size, mtime, mode) = st.map_or((0, 0, 0), |st| {
                        (st.st_size.max(0) as u64, st.st_mtime, st.st_mode & 0o7777)
                    });
                    out.extend_from_slice(format!("{tag} {size} {mtime} {mode:o} {} ", rel.len()).as_bytes());
                } else {
                    out.extend_from_slice(format!("{tag} {} ", rel.len()).as_bytes());
                }
                out.extend_from_slice(&rel);
                out.push(b'\n');
            } else {
                match &self.style {
                    Style::Tagged => out.extend_from_slice(match kind {
                        Kind::Dir => b"D: ",
                        Kind::File => b"F: ",
                        Kind::Other => b"U: ",
                    }),
                    Style::Rooted { prefix } => out.extend_from_slice(prefix),
                    Style::Stat | Style::Names | Style::Entries => {}
                }
                out.extend_from_slice(&rel);
                // the line so far: tag or prefix (the listed directory's own name may
                // hold one too) and the name
                super::names::shown_name(&mut out[line_start..]);
                if kind == Kind::Dir {
                    out.push(b'/');
                }
                out.push(b'\n');
            }
            if kind == Kind::Dir && self.recursive {
                if depth >= MAX_DEPTH {
                    // its contents are left out: the listing must not claim to be whole
                    self.truncated = true;
                    return true;
                }
                let sub = os_name(&name).and_then(|c| open_subdir(top.reader.fd(), &c));
                // a TFPSFS directory below the top is entered only where its own
                // permissions allow it (its entry is listed either way)
                if let Ok(fd) = &sub {
                    if super::secfs::is_secure(fd.as_fd())
                        && !self.enter_secure.as_ref().is_some_and(|may| may(fd.as_fd()))
                    {
                        self.unread.note(&rel);
                        return true;
                    }
                }
                match sub {
                    Ok(fd) => {
                        let mut prefix = rel;
                        prefix.push(b'/');
                        match Level::open(fd, prefix) {
                            Ok(level) => self.stack.push(level),
                            Err(_) => self.truncated = true,
                        }
                    }
                    // not ours to read: as the reference, listed without its
                    // contents, and said
                    Err(e) if denied(&e) => self.unread.note(&rel),
                    // gone, or replaced by a symlink
                    Err(e) if skippable(&e) => {}
                    // out of descriptors or memory: the listing is not whole
                    Err(_) => self.truncated = true,
                }
            }
            return true;
        }
    }
}

/// True if `dir/name` is a directory in the TFPSFS domain (not followed).
fn is_tfpsfs_subdir(dir: BorrowedFd<'_>, name: &CStr) -> bool {
    open_subdir(dir, name).is_ok_and(|d| super::secfs::is_secure(d.as_fd()))
}

/// Removes everything inside `dir`; secure directories — `*.sd` and, below the
/// top, TFPSFS directories, whose own permissions a recursive removal from above
/// must not bypass — (and so their parents) are kept when `keep_secure`.
/// Returns what happened; `kept == 0` means now empty.
pub(crate) fn empty_dir(dir: BorrowedFd<'_>, keep_secure: bool, budget: &mut u64) -> Removal {
    match open_subdir(dir, c".") {
        Ok(fd) => sys::dir::empty_tree(fd, &|dir, name, c| keep_secure && keeps(dir, name, c), budget),
        Err(_) => Removal { removed: 0, kept: 1 },
    }
}

/// Removes `parent/name` and everything under it (never following symlinks), at
/// any depth; secure directories stay when `keep_secure` (see [`empty_dir`]).
pub fn remove_tree(parent: BorrowedFd<'_>, name: &CStr, keep_secure: bool, budget: &mut u64) -> Removal {
    sys::dir::remove_tree(parent, name, &|dir, name, c| keep_secure && keeps(dir, name, c), budget)
}

/// Whether a removal keeps the directory `dir/c` (raw name `name`): a secure
/// `*.sd` directory or a TFPSFS one.
fn keeps(dir: BorrowedFd<'_>, name: &[u8], c: &CStr) -> bool {
    is_secure_name(name) || is_tfpsfs_subdir(dir, c)
}

/// Copies the open file `src` to a new file `dir/name` (which must not exist),
/// with `mode`. On failure the partial copy is removed.
pub(crate) fn copy_file(src: &File, dir: BorrowedFd<'_>, name: &CStr, mode: u32) -> Result<u64, FsError> {
    let fd = sys::openat_nofollow(dir, name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, mode & 0o7777)?;
    let mut dst = File::from(fd);
    let mut s = src;
    match io::copy(&mut s, &mut dst) {
        Ok(n) => Ok(n),
        Err(e) => {
            drop(dst);
            let _ = sys::unlinkat(dir, name, false);
            Err(FsError::from_io(e))
        }
    }
}

/// Copies the directory `src` to the new directory `dir/name`, recursively: files
/// are copied (not linked), symlinks recreated as symlinks, modes kept. Nothing
/// is left behind on failure.
pub(crate) fn copy_tree(src: OwnedFd, dir: BorrowedFd<'_>, name: &CStr, budget: &mut u64) -> Result<(), FsError> {
    copy_tree_filtered(src, dir, name, budget, false)
}

/// [`copy_tree`], optionally copying only what a listing would show
/// (`visible_only`: secure `*.sd` directories, TFPSFS directories, secure-FS
/// metadata and uploads in progress are left out), so the X-commands never reach into secure directories.
pub(crate) fn copy_tree_filtered(
    src: OwnedFd,
    dir: BorrowedFd<'_>,
    name: &CStr,
    budget: &mut u64,
    visible_only: bool,
) -> Result<(), FsError> {
    let st = sys::fstat(src.as_fd())?;
    sys::mkdirat(dir, name, st.st_mode & 0o7777)?;
    let result = (|| {
        let dst = open_subdir(dir, name)?;
        copy_contents(src, dst.as_fd(), budget, 0, visible_only)
    })();
    if result.is_err() {
        let mut unlimited = u64::MAX;
        remove_tree(dir, name, false, &mut unlimited);
    }
    result
}

fn copy_contents(
    src: OwnedFd,
    dst: BorrowedFd<'_>,
    budget: &mut u64,
    depth: usize,
    visible_only: bool,
) -> Result<(), FsError> {
    let too_big = || FsError::Other(io::Error::other("tree larger than walk_limit or MAX_DEPTH"));
    if depth > MAX_DEPTH {
        return Err(too_big());
    }
    let mut level = Level::open(src, Vec::new())?;
    while let Some((name, kind)) = level.next_entry() {
        if visible_only && (is_hidden_meta(&name) || (kind == Kind::Dir && is_secure_name(&name))) {
            continue;
        }
        if *budget == 0 {
            return Err(too_big());
        }
        *budget -= 1;
        let c = cname(&name)?;
        match kind {
            Kind::Dir => {
                let sub = open_subdir(level.reader.fd(), &c)?;
                if visible_only && super::secfs::is_secure(sub.as_fd()) {
                    continue;
                }
                let st = sys::fstat(sub.as_fd())?;
                sys::mkdirat(dst, &c, st.st_mode & 0o7777)?;
                let d = open_subdir(dst, &c)?;
                copy_contents(sub, d.as_fd(), budget, depth + 1, visible_only)?;
            }
            Kind::File => {
                // a FIFO swapped in since readdir is refused, not waited on
                let (f, st) = super::open_regular_at(level.reader.fd(), &c, libc::O_RDONLY, 0)?;
                copy_file(&f, dst, &c, st.st_mode)?;
            }
            Kind::Other => {
                if let Ok(target) = sys::readlinkat(level.reader.fd(), &c) {
                    let t = cname(&target)?;
                    sys::symlinkat(&t, dst, &c)?;
                }
                // devices, fifos and sockets are not copied
            }
        }
    }
    Ok(())
}

/// What a matching walk ([`find_matches`]) collects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// Real directories (never a symlink to one, never a secure directory).
    Dirs,
    /// Everything but directories: files, symlinks (as links), special files.
    NonDirs,
}

/// What [`find_matches`] found.
#[derive(Debug, Default)]
pub(crate) struct Matches {
    /// Paths relative to the walked directory, parents before their children.
    pub paths: Vec<RelPath>,
    /// Set when the entry budget or [`MAX_DEPTH`] cut the walk short.
    pub truncated: bool,
}

/// The X-commands' match rule: `rel` equals `suffix` or ends with `/` + `suffix`,
/// whole components only, so `b` matches `x/b` but not `x/ab` (the reference's
/// plain string suffix matched both, which made XDEL delete unrelated files).
/// An empty suffix matches nothing.
pub(crate) fn suffix_matches(rel: &RelPath, suffix: &RelPath) -> bool {
    let (r, s) = (&rel.comps, &suffix.comps);
    !s.is_empty() && r.len() >= s.len() && r[r.len() - s.len()..] == s[..]
}

/// Walks the tree below `dir` (which is not itself a candidate) and collects the
/// entries of kind `want` whose relative path [`suffix_matches`] `suffix`.
///
/// Collecting first and acting afterwards is what keeps XCOPY/XCPDIR from walking
/// into their own fresh copies. The walk moves by descriptors and never follows a
/// symlink, so it cannot leave `dir` or loop; it never enters a secure `*.sd`
/// or TFPSFS directory (nor matches one) and skips uploads in progress and secure-FS
/// metadata; a directory whose (device, inode) is `exclude` is neither matched nor
/// entered (XCPDIR's source, so a tree is never copied into itself). Every entry
/// seen costs one unit of `budget`; when it runs out the walk stops and says so.
pub(crate) fn find_matches(
    dir: BorrowedFd<'_>,
    want: Want,
    suffix: &RelPath,
    exclude: Option<(u64, u64)>,
    budget: &mut u64,
) -> Matches {
    let mut m = Matches::default();
    // a fresh open file description: the caller's descriptor keeps its own offset
    let Ok(first) = open_subdir(dir, c".").and_then(|fd| Level::open(fd, Vec::new())) else {
        return m;
    };
    let mut stack: Vec<(Level, RelPath)> = vec![(first, RelPath::default())];
    while !stack.is_empty() {
        let depth = stack.len();
        let Some((top, rel)) = stack.last_mut() else { break };
        let Some((name, kind)) = top.next_entry() else {
            stack.pop();
            continue;
        };
        if is_hidden_meta(&name) {
            continue;
        }
        if *budget == 0 {
            m.truncated = true;
            break;
        }
        *budget -= 1;
        let path = rel.join(&name);
        if kind != Kind::Dir {
            if want == Want::NonDirs && suffix_matches(&path, suffix) {
                m.paths.push(path);
            }
            continue;
        }
        if is_secure_name(&name) {
            continue;
        }
        // Opened without following: a symlink swapped in since readdir fails here.
        let Some(fd) = cname(&name).ok().and_then(|c| open_subdir(top.reader.fd(), &c).ok()) else {
            continue;
        };
        // a TFPSFS directory is off limits to the X-commands, which the document
        // does not tag: they neither match nor enter it
        if super::secfs::is_secure(fd.as_fd()) {
            continue;
        }
        if let Some(ex) = exclude {
            match sys::fstat(fd.as_fd()) {
                Ok(st) if (st.st_dev, st.st_ino) != ex => {}
                _ => continue,
            }
        }
        if want == Want::Dirs && suffix_matches(&path, suffix) {
            m.paths.push(path.clone());
        }
        if depth >= MAX_DEPTH {
            m.truncated = true;
            continue;
        }
        if let Ok(level) = Level::open(fd, Vec::new()) {
            stack.push((level, path));
        }
    }
    m
}

/// Opens the directory `rel` below `start` one component at a time, never
/// following a symlink (`O_PATH`: usable for the `*at` calls and fstat). Used to
/// come back to what [`find_matches`] found: a symlink planted there since is
/// refused instead of followed, so an action never lands outside the walked tree.
pub(crate) fn open_dir_nofollow(start: BorrowedFd<'_>, rel: &RelPath) -> io::Result<OwnedFd> {
    let flags = libc::O_PATH | libc::O_DIRECTORY;
    let mut cur = sys::openat_nofollow(start, c".", flags, 0)?;
    for c in rel.components() {
        let name = os_name(c)?;
        cur = sys::openat_nofollow(cur.as_fd(), &name, flags, 0)?;
    }
    Ok(cur)
}

/// [`cname`] for the walks, which speak `io::Error`: a name with a NUL byte
/// is EINVAL, as the kernel would answer it.
fn os_name(name: &[u8]) -> io::Result<CString> {
    cname(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// The parent of `rel` (opened as [`open_dir_nofollow`] does) and the final name;
/// `rel` must not be empty.
pub(crate) fn parent_nofollow(start: BorrowedFd<'_>, rel: &RelPath) -> io::Result<(OwnedFd, CString)> {
    let name = rel.name().ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
    let name = os_name(name)?;
    Ok((open_dir_nofollow(start, &rel.parent())?, name))
}

/// The first regular file in `dir`, in readdir order, whose name `accept`s —
/// never a directory or a symlink, never an upload in progress or secure-FS
/// metadata. The notification watcher's scan: it reads through a fresh open file
/// description, so every descriptor it opens is closed again when it returns.
pub(crate) fn first_file(dir: BorrowedFd<'_>, accept: impl Fn(&[u8]) -> bool) -> io::Result<Option<Vec<u8>>> {
    let mut level = Level::open(open_subdir(dir, c".")?, Vec::new())?;
    while let Some((name, kind)) = level.next_entry() {
        if kind == Kind::File && !is_hidden_meta(&name) && accept(&name) {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(s: &str) -> RelPath {
        RelPath::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn component_aligned_suffixes() {
        assert!(suffix_matches(&rp("b"), &rp("b")));
        assert!(suffix_matches(&rp("x/b"), &rp("b")));
        assert!(suffix_matches(&rp("a/x/b"), &rp("x/b")));
        assert!(!suffix_matches(&rp("x/ab"), &rp("b")));
        assert!(!suffix_matches(&rp("ax/b"), &rp("x/b")));
        assert!(!suffix_matches(&rp("b/x"), &rp("b")));
        assert!(!suffix_matches(&rp("b"), &rp("x/b")));
        assert!(!suffix_matches(&rp("b"), &rp("")));
    }

    #[test]
    fn matching_walk_skips_secure_symlinks_and_excluded() {
        let tmp = std::env::temp_dir().join(format!("tfd-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        for d in ["t/b", "t/x/b", "t/x/ab", "t/k.sd/b", "t/src/b", "t/x/b/y/b"] {
            std::fs::create_dir_all(tmp.join(d)).unwrap();
        }
        std::fs::write(tmp.join("t/x/f"), b"").unwrap();
        std::os::unix::fs::symlink("/", tmp.join("t/b_link")).unwrap();
        std::os::unix::fs::symlink("x", tmp.join("t/lnk")).unwrap();
        std::os::unix::fs::symlink(".", tmp.join("t/x/loop")).unwrap();
        let root = std::fs::File::open(tmp.join("t")).unwrap();
        let src = std::fs::metadata(tmp.join("t/src")).unwrap();
        use std::os::unix::fs::MetadataExt;
        let ex = Some((src.dev(), src.ino()));
        let mut budget = 1000;
        let m = find_matches(root.as_fd(), Want::Dirs, &rp("b"), ex, &mut budget);
        let mut got: Vec<String> = m
            .paths
            .iter()
            .map(|p| String::from_utf8(p.to_bytes()).unwrap())
            .collect();
        got.sort();
        assert_eq!(got, ["b", "x/b", "x/b/y/b"]);
        assert!(!m.truncated);
        let m = find_matches(root.as_fd(), Want::NonDirs, &rp("loop"), None, &mut budget);
        assert_eq!(m.paths, [rp("x/loop")]);
        let mut small = 3;
        let m = find_matches(root.as_fd(), Want::Dirs, &rp("b"), None, &mut small);
        assert!(m.truncated);
        assert_eq!(small, 0);
        // coming back by descriptors refuses symlinks on the way
        assert!(open_dir_nofollow(root.as_fd(), &rp("x/b/y")).is_ok());
        assert!(open_dir_nofollow(root.as_fd(), &rp("lnk/b")).is_err());
        assert!(open_dir_nofollow(root.as_fd(), &rp("b_link")).is_err());
        let (_, name) = parent_nofollow(root.as_fd(), &rp("x/f")).unwrap();
        assert_eq!(name.as_bytes(), b"f");
        // first_file: regular files only, by prefix
        std::fs::write(tmp.join("t/x/msg_1"), b"").unwrap();
        std::fs::create_dir(tmp.join("t/x/msg_dir")).unwrap();
        std::os::unix::fs::symlink("msg_1", tmp.join("t/x/msg_link")).unwrap();
        let x = std::fs::File::open(tmp.join("t/x")).unwrap();
        assert_eq!(
            first_file(x.as_fd(), |n| n.starts_with(b"msg_")).unwrap(),
            Some(b"msg_1".to_vec())
        );
        assert_eq!(first_file(x.as_fd(), |n| n.starts_with(b"none")).unwrap(), None);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
