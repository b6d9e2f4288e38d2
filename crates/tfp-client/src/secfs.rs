//! The secure filesystem (TFPSFS) of 2.5.1: SETFSID, SETFSPERM, REMFSPERM,
//! GETFSPERM, ISSECFS and RMSECDIR. An identity travels bare on the command
//! line, so one holding a space, `:` or a line break would change what the
//! server reads (another identity, another mask, another directory): such an
//! identity is [`Error::Usage`] here and never sent. The empty identity is
//! the document's "everybody else" entry and is allowed.
//!
//! ```no_run
//! use tfp_client::secfs::mask;
//!
//! let mut c = tfp_client::Client::builder("127.0.0.1:10345")
//!     .key_file("public.pem")
//!     .hash("app-hash")
//!     .connect()?;
//! c.setfsid("alice")?;
//! c.setfsperm("alice", mask::ALL, "vault")?;
//! c.setfsperm("bob", mask::RFILE | mask::LDIR, "vault")?;
//! assert!(c.issecfs("vault")?);
//! assert_eq!(c.getfsperm("bob", "vault")?, mask::RFILE | mask::LDIR);
//! c.remfsperm("bob", "vault")?;
//! # Ok::<(), tfp_client::Error>(())
//! ```

use crate::session::{number, run};
use crate::{Client, Error};
use tfp_wire::{Code, Failed};

/// The permission bits of a TFPSFS mask (the document's `SECFS_*` values).
pub mod mask {
    pub use tfp_wire::secfs::{DFILE, FDUPD, LDIR, LRDIR, MKDIR, REMPERM, RFILE, RMDIR, SETPERM, STAT, UXPERM, WFILE};

    /// Every bit the document defines (4095).
    pub const ALL: u32 =
        SETPERM | REMPERM | RFILE | WFILE | LDIR | RMDIR | MKDIR | DFILE | STAT | FDUPD | UXPERM | LRDIR;

    /// The bits by their document names, lower case and without `SECFS_`, in
    /// bit order: for showing a mask to people and reading one from them.
    pub const NAMES: &[(&str, u32)] = &[
        ("setperm", SETPERM),
        ("remperm", REMPERM),
        ("rfile", RFILE),
        ("wfile", WFILE),
        ("ldir", LDIR),
        ("rmdir", RMDIR),
        ("mkdir", MKDIR),
        ("dfile", DFILE),
        ("stat", STAT),
        ("fdupd", FDUPD),
        ("uxperm", UXPERM),
        ("lrdir", LRDIR),
    ];

    /// The names of the bits set in `m`, in bit order.
    ///
    /// ```
    /// use tfp_client::secfs::mask;
    /// assert_eq!(mask::names(12), ["rfile", "wfile"]);
    /// assert!(mask::names(0).is_empty());
    /// ```
    pub fn names(m: u32) -> Vec<&'static str> {
        NAMES.iter().filter(|(_, b)| m & b != 0).map(|(n, _)| *n).collect()
    }
}

/// `Err(Usage)` for an identity the command line cannot carry as one word.
pub(crate) fn check_id(command: &str, id: &str) -> Result<(), Error> {
    if id.contains([' ', ':', '\n', '\r', '\0']) {
        return Err(Error::Usage(format!(
            "{command}: identity {id:?}: no spaces, ':', line breaks or NUL"
        )));
    }
    Ok(())
}

impl Client {
    /// `SETFSID id`: the identity TFPSFS checks for this session's later
    /// commands (it lasts until the session ends or the next SETFSID).
    pub fn setfsid(&mut self, id: &str) -> Result<(), Error> {
        check_id("SETFSID", id)?;
        run(self, "SETFSID", id.as_bytes()).map(drop)
    }

    /// `SETFSPERM id:mask dir`: `id`'s mask on `dir`. The first one makes
    /// `dir` secure with `id` as its owner; later ones need the
    /// [`mask::SETPERM`] bit for the session's SETFSID identity.
    pub fn setfsperm(&mut self, id: &str, mask: u32, dir: impl AsRef<[u8]>) -> Result<(), Error> {
        check_id("SETFSPERM", id)?;
        let arg = [format!("{id}:{mask} ").as_bytes(), dir.as_ref()].concat();
        run(self, "SETFSPERM", &arg).map(drop)
    }

    /// `REMFSPERM id dir`: takes `id`'s entry off `dir`.
    pub fn remfsperm(&mut self, id: &str, dir: impl AsRef<[u8]>) -> Result<(), Error> {
        check_id("REMFSPERM", id)?;
        run(self, "REMFSPERM", &[id.as_bytes(), b" ", dir.as_ref()].concat()).map(drop)
    }

    /// `GETFSPERM id dir`: `id`'s mask on `dir` (its bits are in [`mask`]);
    /// tfd answers 0 for an identity without an entry and for a directory
    /// outside the secure domain.
    pub fn getfsperm(&mut self, id: &str, dir: impl AsRef<[u8]>) -> Result<u32, Error> {
        check_id("GETFSPERM", id)?;
        let d = run(self, "GETFSPERM", &[id.as_bytes(), b" ", dir.as_ref()].concat())?;
        number("GETFSPERM", &d)
    }

    /// `ISSECFS dir`: whether `dir` is in the secure domain. The server says
    /// "no" as a refusal ([`Failed::NotSecureFs`], 60), which is an answer
    /// here, not an error; any other refusal (not a directory, access denied)
    /// is.
    pub fn issecfs(&mut self, dir: impl AsRef<[u8]>) -> Result<bool, Error> {
        match run(self, "ISSECFS", dir.as_ref()) {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some(Code::Known(Failed::NotSecureFs)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `RMSECDIR token | dir`: removes the secure (`*.sd`) directory `dir`,
    /// which must hold an entry named `token`.
    pub fn rmsecdir(&mut self, token: impl AsRef<[u8]>, dir: impl AsRef<[u8]>) -> Result<(), Error> {
        let token = token.as_ref();
        if token.is_empty() || tfp_wire::command::find(token, b" | ").is_some() || token.contains(&b'\n') {
            return Err(Error::Usage(format!(
                "RMSECDIR: token {:?}: not empty, no \" | \" or line break",
                crate::escape::shown(token)
            )));
        }
        crate::session::pair(self, "RMSECDIR", token, dir.as_ref())
    }
}
