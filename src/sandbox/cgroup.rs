//! Cgroups for a session's script host: the group that bounds a whole script's
//! memory and processes (v2, or v1's memory and pids hierarchies), and the
//! sweep of groups that ended sessions left.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The directory, in each cgroup hierarchy tfd uses, that holds one group per
/// session's script host: `<hierarchy>/tfd-runbash/s<session pid>`.
pub(super) const GROUP_DIR: &str = "tfd-runbash";

/// Where a cgroup v2 hierarchy with controllers is looked for (the unified
/// layout; on a hybrid host the cgroup2 at `unified` has none).
const CGROUP_V2_ROOT: &str = "/sys/fs/cgroup";

/// What bounds a whole script, besides the per-process rlimits.
#[derive(Debug, Clone, Copy)]
pub struct GroupLimits {
    /// The group's memory limit (`runbash_memory`).
    pub memory: u64,
    /// The group's pids.max (`runbash_nproc`, plus the host itself).
    pub nproc: u64,
}

impl GroupLimits {
    /// The limits of a whole script's cgroup: `runbash_memory`, and
    /// `runbash_nproc` processes plus the script host itself.
    pub fn of(rb: &crate::config::RunBash) -> GroupLimits {
        GroupLimits {
            memory: rb.memory,
            nproc: rb.nproc.saturating_add(1),
        }
    }
}

/// A mounted cgroup hierarchy, from /proc/self/mountinfo.
#[derive(Debug, PartialEq, Eq)]
struct CgroupMount {
    dir: std::path::PathBuf,
    v2: bool,
    /// The super options: for v1, the controllers it holds (`rw,memory`).
    options: String,
}

impl CgroupMount {
    fn has(&self, controller: &str) -> bool {
        !self.v2 && self.options.split(',').any(|o| o == controller)
    }
}

/// The cgroup hierarchies in a mountinfo text, in mount order.
fn cgroup_mounts(mountinfo: &str) -> Vec<CgroupMount> {
    use std::os::unix::ffi::OsStringExt;
    mountinfo
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let dir = left.split(' ').nth(4)?;
            let mut r = right.split(' ');
            let v2 = match r.next()? {
                "cgroup2" => true,
                "cgroup" => false,
                _ => return None,
            };
            let options = r.nth(1).unwrap_or("").to_string();
            let dir = std::ffi::OsString::from_vec(unescape_mount_path(dir)).into();
            Some(CgroupMount { dir, v2, options })
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash in a path as `\ooo`.
fn unescape_mount_path(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push(d.iter().fold(0u8, |n, c| n.wrapping_mul(8).wrapping_add(c - b'0')));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    out
}

/// Why a script host got no group of its own (said in the log, after
/// "per-process rlimits only"): a type, so each step says `?` and the text is
/// written in one place.
#[derive(Debug)]
pub(super) enum CgroupError {
    /// A file or directory of a hierarchy could not be read, made or written.
    Io(PathBuf, io::Error),
    /// The cgroup v2 root could not be looked at.
    Statfs(PathBuf, nix::errno::Errno),
    /// The cgroup v2 root is some other file system.
    NotV2(PathBuf),
    /// A controller the group needs is not enabled at the v2 root.
    NoController(&'static str, PathBuf),
    /// No v1 hierarchy of this controller is mounted.
    NoHierarchy(&'static str),
    /// Neither v2 nor v1 worked: both reasons.
    Neither(Box<CgroupError>, Box<CgroupError>),
}

impl fmt::Display for CgroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CgroupError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            CgroupError::Statfs(p, e) => write!(f, "{}: {e}", p.display()),
            CgroupError::NotV2(root) => write!(f, "{} is not a cgroup v2 hierarchy", root.display()),
            CgroupError::NoController(c, root) => {
                write!(f, "the {c} controller is not enabled at {}", root.display())
            }
            CgroupError::NoHierarchy(c) => write!(f, "no {c} hierarchy is mounted"),
            CgroupError::Neither(v2, v1) => write!(f, "cgroup v2: {v2}; cgroup v1: {v1}"),
        }
    }
}

impl std::error::Error for CgroupError {}

/// The `map_err` for an I/O step on `path`.
fn at(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> CgroupError {
    let path = path.into();
    move |e| CgroupError::Io(path, e)
}

fn read_cgroup_mounts() -> Result<Vec<CgroupMount>, CgroupError> {
    const MOUNTINFO: &str = "/proc/self/mountinfo";
    read(Path::new(MOUNTINFO), MOUNTINFO).map(|m| cgroup_mounts(&m))
}

/// Reads a file of the cgroup file system; the error names it as `shown`.
fn read(path: &Path, shown: &str) -> Result<String, CgroupError> {
    std::fs::read_to_string(path).map_err(at(shown))
}

/// Writes one control file of a group.
fn set(group: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    let path = group.join(file);
    std::fs::write(&path, value).map_err(at(path))
}

/// `<hierarchy>/tfd-runbash`, made if missing.
fn group_parent(hierarchy: &Path) -> Result<PathBuf, CgroupError> {
    let parent = hierarchy.join(GROUP_DIR);
    match std::fs::create_dir(&parent) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(CgroupError::Io(parent, e)),
        _ => Ok(parent),
    }
}

/// A fresh `<parent>/s<session>` (one left by an earlier session of this pid
/// is empty and made anew, or in use and an error).
fn new_group(parent: &Path, session: u32) -> Result<PathBuf, CgroupError> {
    use std::fs;
    let group = parent.join(format!("s{session}"));
    if let Err(e) = fs::create_dir(&group) {
        let again = || fs::remove_dir(&group).and_then(|_| fs::create_dir(&group));
        if e.kind() != io::ErrorKind::AlreadyExists || again().is_err() {
            return Err(CgroupError::Io(group, e));
        }
    }
    Ok(group)
}

/// Puts this process (the host, still root and not yet chrooted) into a
/// cgroup v2 group of its own with `limits`, so its scripts together stay
/// within them; the description for the log, or why not.
fn join_cgroup_v2(session: u32, limits: GroupLimits) -> Result<String, CgroupError> {
    use std::fs;
    let root = Path::new(CGROUP_V2_ROOT);
    let fs_type = nix::sys::statfs::statfs(root).map_err(|e| CgroupError::Statfs(root.into(), e))?;
    if fs_type.filesystem_type() != nix::sys::statfs::CGROUP2_SUPER_MAGIC {
        return Err(CgroupError::NotV2(root.into()));
    }
    // the log names the file alone
    let enabled = read(&root.join("cgroup.subtree_control"), "cgroup.subtree_control")?;
    for c in ["memory", "pids"] {
        if !enabled.split_whitespace().any(|w| w == c) {
            return Err(CgroupError::NoController(c, root.into()));
        }
    }
    let parent = group_parent(root)?;
    set(&parent, "cgroup.subtree_control", "+memory +pids")?;
    let group = new_group(&parent, session)?;
    let joined = set(&group, "memory.max", &limits.memory.to_string())
        .and_then(|_| set(&group, "pids.max", &limits.nproc.to_string()))
        .and_then(|_| {
            // no way around memory.max through swap (absent without swap support)
            if group.join("memory.swap.max").exists() {
                set(&group, "memory.swap.max", "0")?;
            }
            set(&group, "cgroup.procs", "0")
        });
    if let Err(e) = joined {
        let _ = fs::remove_dir(&group);
        return Err(e);
    }
    Ok(format!(
        "cgroup v2 {} (memory.max {}, pids.max {})",
        group.display(),
        limits.memory,
        limits.nproc
    ))
}

/// As [`join_cgroup_v2`] for cgroup v1 (hybrid or legacy hosts): a group in
/// the memory hierarchy (memory.limit_in_bytes, and memory.memsw.limit_in_bytes
/// where swap is accounted, so swap is no way around it), and one in the pids
/// hierarchy where that is mounted. Memory is required; without a pids
/// hierarchy RLIMIT_NPROC stays the only process bound, and the description
/// says so.
fn join_cgroup_v1(session: u32, limits: GroupLimits, mounts: &[CgroupMount]) -> Result<String, CgroupError> {
    let hierarchy = |c: &'static str| {
        mounts
            .iter()
            .find(|m| m.has(c))
            .map(|m| m.dir.as_path())
            .ok_or(CgroupError::NoHierarchy(c))
    };
    let memory = hierarchy("memory")?;
    let mem_group = new_group(&group_parent(memory)?, session)?;
    let bytes = limits.memory.to_string();
    let memsw = mem_group.join("memory.memsw.limit_in_bytes").exists();
    // the pids group is made before anything is joined, so a failure of the
    // memory group leaves nothing joined
    let pids = hierarchy("pids").and_then(|h| pids_group_v1(h, session, limits.nproc));
    let joined = (|| {
        set(&mem_group, "memory.limit_in_bytes", &bytes)?;
        // memory plus swap, which may not be below memory.limit_in_bytes: after it
        if memsw {
            set(&mem_group, "memory.memsw.limit_in_bytes", &bytes)?;
        }
        set(&mem_group, "cgroup.procs", "0")
    })();
    if let Err(e) = joined {
        let _ = std::fs::remove_dir(&mem_group);
        if let Ok(g) = &pids {
            let _ = std::fs::remove_dir(g);
        }
        return Err(e);
    }
    let mut how = format!(
        "cgroup v1 {} (memory.limit_in_bytes {bytes}{})",
        mem_group.display(),
        if memsw {
            ", memory.memsw.limit_in_bytes the same"
        } else {
            ""
        }
    );
    let pids = pids.and_then(|g| match set(&g, "cgroup.procs", "0") {
        Ok(()) => Ok(g),
        Err(e) => {
            let _ = std::fs::remove_dir(&g);
            Err(e)
        }
    });
    match pids {
        Ok(g) => how += &format!(", {} (pids.max {})", g.display(), limits.nproc),
        Err(why) => how += &format!(", processes bounded by RLIMIT_NPROC only ({why})"),
    }
    Ok(how)
}

/// A fresh group with pids.max `max` in the v1 pids hierarchy at `hierarchy`.
fn pids_group_v1(hierarchy: &Path, session: u32, max: u64) -> Result<PathBuf, CgroupError> {
    let group = new_group(&group_parent(hierarchy)?, session)?;
    if let Err(e) = set(&group, "pids.max", &max.to_string()) {
        let _ = std::fs::remove_dir(&group);
        return Err(e);
    }
    Ok(group)
}

/// Puts this process (the host, still root and not yet chrooted) into groups
/// of its own bounding all its scripts together: cgroup v2 where
/// `/sys/fs/cgroup` is usable, else cgroup v1. The description for the log,
/// or why neither (the rlimits alone are then in force).
pub(super) fn join_cgroup(session: u32, limits: GroupLimits) -> Result<String, CgroupError> {
    let v2 = match join_cgroup_v2(session, limits) {
        Ok(how) => return Ok(how),
        Err(why) => why,
    };
    let v1 = read_cgroup_mounts().and_then(|m| join_cgroup_v1(session, limits, &m));
    v1.map_err(|v1| CgroupError::Neither(Box::new(v2), Box::new(v1)))
}

/// Removes the script hosts' groups, in every cgroup hierarchy, whose session
/// process no longer exists (the listener, as root, after reaping sessions).
/// A group whose host is still exiting is busy and stays; so does the group
/// of a session of another tfd on this host. Returns how many groups of gone
/// sessions are still busy, for the caller to try again a little later.
pub(crate) fn remove_stale_cgroups() -> usize {
    let Ok(mounts) = read_cgroup_mounts() else {
        return 0;
    };
    let mut busy = 0;
    let mut seen = std::collections::HashSet::new();
    for m in mounts {
        let parent = m.dir.join(GROUP_DIR);
        if !seen.insert(parent.clone()) {
            continue;
        }
        let Ok(dir) = std::fs::read_dir(&parent) else {
            continue;
        };
        for e in dir.flatten() {
            let name = e.file_name();
            let pid = name
                .to_str()
                .and_then(|n| n.strip_prefix('s'))
                .and_then(|n| n.parse::<u32>().ok());
            let gone = pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists());
            if gone {
                match std::fs::remove_dir(e.path()) {
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => busy += 1,
                    _ => {}
                }
            }
        }
    }
    busy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_hierarchies_come_from_mountinfo() {
        let info = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/my\\040pids rw,relatime master:3 - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
        let m = cgroup_mounts(info);
        let dirs: Vec<_> = m.iter().map(|m| m.dir.to_str().unwrap()).collect();
        assert_eq!(
            dirs,
            [
                "/sys/fs/cgroup/cpu,cpuacct",
                "/sys/fs/cgroup/memory",
                "/sys/fs/cgroup/my pids",
                "/sys/fs/cgroup/systemd",
                "/sys/fs/cgroup/unified"
            ]
        );
        assert!(m[1].has("memory") && !m[1].has("pids"));
        assert!(m[2].has("pids"));
        assert!(m[0].has("cpuacct") && !m[0].has("memory"));
        // the unified hierarchy is not a v1 controller's, whatever its options
        assert!(m[4].v2 && !m[4].has("memory"));
        assert_eq!(unescape_mount_path(r"a\134b\011c\9"), b"a\\b\tc\\9");
    }
}
