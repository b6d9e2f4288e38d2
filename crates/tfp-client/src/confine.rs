//! The 2.5.1 commands that bind the session to a directory (LOCKSYS,
//! FLYCONTEXT) and RUNBASH. After LOCKSYS or FLYCONTEXT every later path of
//! the session is inside that directory; there is no way back.
//!
//! ```no_run
//! let mut c = tfp_client::Client::builder("127.0.0.1:10345")
//!     .key_file("public.pem")
//!     .hash("app-hash")
//!     .connect()?;
//! c.flycontext("tenants/acme")?;
//! let run = c.runbash("jobs/report.sh")?;
//! if !run.succeeded() {
//!     eprintln!("the script ended: {}", run.ending);
//! }
//! # Ok::<(), tfp_client::Error>(())
//! ```

use crate::session::{run, text};
use crate::{Client, Error};

/// What RUNBASH answered: how the script ended and what it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRun {
    /// tfd's first answer line: `exit N`, `signal N` or `timeout`, then
    /// ` truncated` when output was dropped. Empty from a server that answers
    /// a bare `OK` (the reference: it does not wait for the script).
    pub ending: String,
    /// stdout and stderr as the script wrote them.
    pub output: Vec<u8>,
}

impl ScriptRun {
    /// Splits tfd's `<ending>\n<output>`.
    ///
    /// ```
    /// let r = tfp_client::confine::ScriptRun::parse(b"exit 0\nhi\n".to_vec());
    /// assert_eq!((r.ending.as_str(), &r.output[..]), ("exit 0", &b"hi\n"[..]));
    /// assert!(r.succeeded());
    /// assert!(!tfp_client::confine::ScriptRun::parse(b"exit 3\n".to_vec()).succeeded());
    /// ```
    pub fn parse(mut reply: Vec<u8>) -> ScriptRun {
        match reply.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let output = reply.split_off(i + 1);
                reply.pop();
                ScriptRun {
                    ending: text(reply),
                    output,
                }
            }
            None => ScriptRun {
                ending: text(reply),
                output: Vec::new(),
            },
        }
    }

    /// Whether the script exited 0 (as far as the server says).
    pub fn succeeded(&self) -> bool {
        self.ending == "exit 0"
    }
}

impl Client {
    /// `LOCKSYS dir`: binds the session to `dir` for good (call it first:
    /// a server configured for it refuses most commands before).
    pub fn locksys(&mut self, dir: impl AsRef<[u8]>) -> Result<(), Error> {
        run(self, "LOCKSYS", dir.as_ref()).map(drop)
    }

    /// `FLYCONTEXT dir`: creates `dir` (with its parents) and binds the
    /// session to it; again binds deeper.
    pub fn flycontext(&mut self, dir: impl AsRef<[u8]>) -> Result<(), Error> {
        run(self, "FLYCONTEXT", dir.as_ref()).map(drop)
    }

    /// `RUNBASH script`: runs a script of the session's tree where the server
    /// allows it ([`tfp_wire::Failed::RunBash`] where it does not) and says
    /// how it ended.
    pub fn runbash(&mut self, script: impl AsRef<[u8]>) -> Result<ScriptRun, Error> {
        run(self, "RUNBASH", script.as_ref()).map(ScriptRun::parse)
    }
}
