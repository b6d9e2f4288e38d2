//! A tmpfs mounted for a test (root only), unmounted when dropped: the file
//! system of tests that need what the machine's disk may lack, such as a
//! 64 KiB extended attribute value (ext4 keeps one block's worth).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted tmpfs; unmounted (lazily) on drop.
pub struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Mounts a tmpfs of `size` (as mount(8) takes it) at `dir`, made if missing.
pub fn mount(dir: &Path, size: &str) -> Mount {
    assert!(crate::is_root(), "this test needs root: it mounts a tmpfs");
    std::fs::create_dir_all(dir).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status()
        .expect("mount(8) is missing");
    assert!(st.success(), "mount -t tmpfs {}", dir.display());
    Mount(dir.to_path_buf())
}
