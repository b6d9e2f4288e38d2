//! A fresh ext4, with a journal as mkfs makes it, on a loop device backed by
//! a sparse file on the same disk: where a bench keeps its files, so that no
//! earlier removal on the machine's own file system skews what it measures.
//!
//! This machine's root is an ext4 without a journal. There the inode
//! allocator skips every free inode freed in the last 60 s (its inode table
//! block clean) or 360 s (dirty), scanning past each one at every creation
//! (fs/ext4/ialloc.c, `recently_deleted`): after a tree of 10,000 files was
//! removed, `put -r` of 10,000 files spent 70% of the server's CPU in that
//! scan, and the same command took 0.45 s to 2.6 s run to run. A journaled
//! ext4, what a server's disk has, has no such scan. The loop device does
//! direct I/O into its file, so data is cached once and every sync reaches
//! the disk.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A mounted fresh file system; dropping it unmounts it and removes its
/// image.
pub struct FreshFs {
    mount: PathBuf,
    image: PathBuf,
    dev: String,
}

/// The tools it needs, for the bench's "cannot run" line.
pub const TOOLS: [&str; 4] = ["mkfs.ext4", "losetup", "mount", "umount"];

impl FreshFs {
    /// Makes, mounts and opens to all (mode 1777, as /tmp) a file system of
    /// `gib` GiB (sparse: only what is written takes room) under the system
    /// temporary directory.
    pub fn make(gib: u64) -> Result<FreshFs, String> {
        let base = std::env::temp_dir();
        let tag = format!("tfd-bench-fs-{}", std::process::id());
        let image = base.join(format!("{tag}.img"));
        let mount = base.join(&tag);
        let file = std::fs::File::create(&image).map_err(|e| format!("{}: {e}", image.display()))?;
        file.set_len(gib << 30)
            .map_err(|e| format!("{}: {e}", image.display()))?;
        drop(file);
        let fail = |why: String| {
            let _ = std::fs::remove_file(&image);
            why
        };
        // every inode table and the journal written now, not by a kernel
        // thread in the background while the bench measures
        run(Command::new("mkfs.ext4")
            .args(["-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0"])
            .arg(&image))
        .map_err(fail)?;
        let dev = run(Command::new("losetup")
            .args(["--direct-io=on", "-f", "--show"])
            .arg(&image))
        .map_err(fail)?
        .trim()
        .to_string();
        let fs = FreshFs { mount, image, dev };
        std::fs::create_dir_all(&fs.mount).map_err(|e| format!("{}: {e}", fs.mount.display()))?;
        run(Command::new("mount").arg(&fs.dev).arg(&fs.mount))?;
        std::fs::set_permissions(&fs.mount, std::fs::Permissions::from_mode(0o1777))
            .map_err(|e| format!("{}: {e}", fs.mount.display()))?;
        Ok(fs)
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        &self.mount
    }

    /// Unmounts it (lazily when something still holds it), frees the loop
    /// device and removes the image; what fails is said, not fatal.
    pub fn remove(&self) {
        if run(Command::new("umount").arg(&self.mount)).is_err() {
            if let Err(e) = run(Command::new("umount").arg("-l").arg(&self.mount)) {
                eprintln!("fresh file system: {e}");
            }
        }
        let _ = run(Command::new("losetup").arg("-d").arg(&self.dev));
        let _ = std::fs::remove_dir(&self.mount);
        let _ = std::fs::remove_file(&self.image);
    }
}

impl Drop for FreshFs {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The file system the bench's files are on, for as long as it runs.
static HELD: std::sync::Mutex<Option<FreshFs>> = std::sync::Mutex::new(None);

/// Keeps `fs` until [`release`] (the bench's end, or its signal handler).
pub fn hold(fs: FreshFs) {
    if let Ok(mut h) = HELD.lock() {
        *h = Some(fs);
    }
}

/// Unmounts and removes the file system [`hold`] kept, if any.
pub fn release() {
    let fs = HELD.lock().ok().and_then(|mut h| h.take());
    drop(fs);
}

/// Runs `cmd`: its standard output, or one sentence with its error output.
fn run(cmd: &mut Command) -> Result<String, String> {
    let what = format!("{:?}", cmd.get_program());
    let o = cmd.stdin(Stdio::null()).output().map_err(|e| format!("{what}: {e}"))?;
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    } else {
        Err(format!("{what} failed: {}", String::from_utf8_lossy(&o.stderr).trim()))
    }
}
