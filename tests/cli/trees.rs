//! What the tree tests (`put -r`/`get -r` and `mirror`) share: a tree written
//! and a tree compared file by file.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use tfd_testkit::pattern;

/// Every entry below `root`: files by SHA-256, directories as "dir", symlinks
/// as "link".
pub fn inventory(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in fs::read_dir(root.join(&rel)).unwrap() {
            let e = e.unwrap();
            let r = rel.join(e.file_name());
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                out.insert(r, "link".into());
            } else if ft.is_dir() {
                out.insert(r.clone(), "dir".into());
                stack.push(r);
            } else {
                let d = Sha256::digest(fs::read(e.path()).unwrap());
                out.insert(r, format!("{d:x}"));
            }
        }
    }
    out
}

/// `files` (relative path, size) below `root`, each with its own bytes, and an
/// empty directory inside an empty directory: the callers pick names that trip
/// tools up (empty files, spaces, UTF-8, a leading dot, depth) and sizes
/// around the chunk size; their tests count the files, so the lists are theirs.
pub fn sample_tree(root: &Path, files: &[(&str, usize)]) {
    for (i, (p, n)) in files.iter().enumerate() {
        let path = root.join(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, pattern(*n, i as u64 + 1)).unwrap();
    }
    fs::create_dir_all(root.join("empty dir/inner empty")).unwrap();
}
