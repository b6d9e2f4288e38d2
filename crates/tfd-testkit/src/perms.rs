//! A test tree's modes and owners, set as root sets them: the tests that run
//! a session or `tf` as an ordinary user build their trees as root, then
//! hand them over or close a directory (a 000 directory is unreadable only
//! to a user who is not root).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Sets `p`'s permission bits to `mode` (`chmod`), failing the test if it cannot.
pub fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// Everything below `p` (and `p`) owned by `(uid, gid)` (`chown -R`), so a
/// session running as that user may use the tree root built.
pub fn chown_tree(p: &Path, (uid, gid): (u32, u32)) {
    nix::unistd::chown(p, Some(uid.into()), Some(gid.into())).unwrap();
    if p.is_dir() {
        for e in fs::read_dir(p).unwrap() {
            chown_tree(&e.unwrap().path(), (uid, gid));
        }
    }
}
