//! A file's extended attributes as the kernel has them, for the tests that
//! check what tfd's attribute commands and frames left on disk.

use std::os::fd::AsFd;
use std::path::Path;

/// The attributes of `p` (followed if a link) whose names `names` takes,
/// with their values, sorted by name, as this process (root) reads them.
pub fn of(p: &Path, names: impl Fn(&[u8]) -> bool) -> Vec<(Vec<u8>, Vec<u8>)> {
    let f = std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let bounds = (tfp_wire::xattr::MAX_VALUE, tfp_wire::xattr::MAX_VALUES);
    let mut v = tfd_sys::fxattrs(f.as_fd(), names, bounds).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    v.sort();
    v
}
