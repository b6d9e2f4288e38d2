//! The 2.5.1 commands that act on every match in a tree (XCOPY, XCPDIR, XDEL,
//! XRMDIR: best effort, a locked or clashing match is skipped and the answer
//! is about the source or the start directory only) and the listings the
//! server stores in a file of its own (LSV2, LSRV2). The server reads the
//! first word of these lines up to a space and the rest at ` | ` or `@||@`,
//! so arguments that hold those would be read as other arguments: they are
//! [`Error::Usage`] here and never sent.
//!
//! ```no_run
//! let mut c = tfp_client::Client::builder("127.0.0.1:10345")
//!     .key_file("public.pem")
//!     .hash("app-hash")
//!     .connect()?;
//! // a README.txt into every directory named "docs" below projects
//! c.xcopy("README.txt", "templates/README.txt", "projects/docs")?;
//! c.xdel("projects", "core")?;
//! c.lsv2_to(true, "projects", "projects.list")?;
//! # Ok::<(), tfp_client::Error>(())
//! ```

use crate::session::run;
use crate::{Client, Error};
use tfp_wire::command::{find, LSV2_SEP};

fn refuse(command: &str, what: &str, v: &[u8], why: &str) -> Error {
    Error::Usage(format!("{command}: {what} {:?}: {why}", crate::escape::shown(v)))
}

/// The one-word first argument (a new name or a start directory).
fn word(command: &str, what: &str, v: &[u8]) -> Result<(), Error> {
    if v.is_empty() || v.contains(&b' ') || v.contains(&b'\n') {
        return Err(refuse(command, what, v, "one word, not empty"));
    }
    Ok(())
}

/// An argument the server reads up to ` | ` or `sep`.
fn no_sep(command: &str, what: &str, v: &[u8], sep: &[u8]) -> Result<(), Error> {
    if find(v, sep).is_some() || v.contains(&b'\n') {
        let why = format!("no {:?} or line break", String::from_utf8_lossy(sep));
        return Err(refuse(command, what, v, &why));
    }
    Ok(())
}

impl Client {
    /// `XCOPY name src | pattern`: copies the file `src` as `name` into every
    /// directory matching `pattern`.
    pub fn xcopy(
        &mut self,
        name: impl AsRef<[u8]>,
        src: impl AsRef<[u8]>,
        pattern: impl AsRef<[u8]>,
    ) -> Result<(), Error> {
        self.x_into("XCOPY", name.as_ref(), src.as_ref(), pattern.as_ref())
    }

    /// `XCPDIR name src | pattern`: copies the directory `src` as `name`
    /// into every directory matching `pattern`.
    pub fn xcpdir(
        &mut self,
        name: impl AsRef<[u8]>,
        src: impl AsRef<[u8]>,
        pattern: impl AsRef<[u8]>,
    ) -> Result<(), Error> {
        self.x_into("XCPDIR", name.as_ref(), src.as_ref(), pattern.as_ref())
    }

    fn x_into(&mut self, command: &str, name: &[u8], src: &[u8], pattern: &[u8]) -> Result<(), Error> {
        word(command, "name", name)?;
        no_sep(command, "source", src, b" | ")?;
        run(self, command, &[name, b" ", src, b" | ", pattern].concat()).map(drop)
    }

    /// `XDEL dir name`: deletes every file called `name` below `dir`.
    pub fn xdel(&mut self, dir: impl AsRef<[u8]>, name: impl AsRef<[u8]>) -> Result<(), Error> {
        self.x_below("XDEL", dir.as_ref(), name.as_ref())
    }

    /// `XRMDIR dir name`: removes every directory called `name` below `dir`.
    pub fn xrmdir(&mut self, dir: impl AsRef<[u8]>, name: impl AsRef<[u8]>) -> Result<(), Error> {
        self.x_below("XRMDIR", dir.as_ref(), name.as_ref())
    }

    fn x_below(&mut self, command: &str, dir: &[u8], name: &[u8]) -> Result<(), Error> {
        word(command, "directory", dir)?;
        run(self, command, &[dir, b" ", name].concat()).map(drop)
    }

    /// `LSV2 dir@||@file` (`LSRV2` when `recursive`): the server writes the
    /// listing of `dir` into its own `file`, one path a line (a directory
    /// ends in `/`). [`Client::lsv2down`] sends it here instead.
    pub fn lsv2_to(&mut self, recursive: bool, dir: impl AsRef<[u8]>, file: impl AsRef<[u8]>) -> Result<(), Error> {
        let command = if recursive { "LSRV2" } else { "LSV2" };
        let dir = dir.as_ref();
        no_sep(command, "directory", dir, LSV2_SEP)?;
        run(self, command, &[dir, LSV2_SEP, file.as_ref()].concat()).map(drop)
    }
}
