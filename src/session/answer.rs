//! A command's outcome sent to the client, and a refusal's log line naming
//! who asked: the session's user, or before a login the account a LOGIN or
//! a key login tried.

use super::Session;
use crate::dispatch::{CmdError, Reply};
use log::info;
use tfp_channel::ChannelError;

/// The account a key was offered for (TFDKEY), kept in the session's
/// families so that TFDKEYSIG's log line names it.
#[derive(Default)]
pub(crate) struct OfferedFor(pub(crate) Option<Vec<u8>>);

impl Session {
    /// The account a login command `name` with `arg` tries, as its log line
    /// names it (never the password after it), not the user the session
    /// still runs as: LOGIN's and TFDKEY's first word, TFDKEYSIG's offer.
    pub(super) fn tried(&self, name: &str, arg: &[u8]) -> Option<String> {
        match name {
            "LOGIN" | tfp_wire::keylogin::OFFER => Some(crate::logging::login_name(arg)),
            tfp_wire::keylogin::SIGN => {
                let user = self.family::<OfferedFor>()?.0.as_deref()?;
                Some(crate::logging::login_name(user))
            }
            _ => None,
        }
    }

    /// Sends `outcome`'s answer to `name`; a refusal is logged with who
    /// asked: the account a LOGIN tried (`login`), else the session's user.
    pub(super) fn answer(
        &mut self,
        name: &str,
        login: Option<&str>,
        outcome: Result<Reply, CmdError>,
    ) -> Result<(), ChannelError> {
        let who = match login {
            Some(n) => format!("login={n}"),
            None => format!("user={}", self.user),
        };
        let tx = &mut self.chan.tx;
        match outcome {
            Ok(Reply::Ok) => tx.send_frame(b"OK"),
            Ok(Reply::Data(d)) => tx.send_frame_parts(&[b"OK ", &d]),
            Ok(Reply::Frame(d)) => tx.send_frame(&d),
            Ok(Reply::Unknown) => {
                info!("{} unknown command {:?}", self.peer, name);
                tx.send_frame(b"UNKNOWN")
            }
            Ok(Reply::Sent) => Ok(()),
            Ok(Reply::Close) => {
                self.closing = true;
                Ok(())
            }
            // the user and the OS error behind it (the codes say "access
            // denied" whatever the OS said), so an operator can tell a
            // permission set-up from a disk fault
            Err(CmdError::Failed(f)) => {
                info!(
                    "{} {} -> FAILED {} ({}) {who}{}",
                    self.peer,
                    name,
                    f.code(),
                    f.text(),
                    os_cause()
                );
                tx.send_frame(&f.to_wire())
            }
            Err(CmdError::Told(f, text)) => {
                info!("{} {} -> FAILED {} ({text}) {who}", self.peer, name, f.code());
                tx.send_frame(format!("FAILED {} : {text}", f.code()).as_bytes())
            }
            Err(CmdError::Bare(why)) => {
                info!("{} {} -> FAILED ({why}) {who}{}", self.peer, name, os_cause());
                tx.send_frame(b"FAILED ")
            }
            Err(CmdError::Channel(e)) => Err(e),
        }
    }
}

/// ` os_error="…"` for a FAILED log line, when the command noted one.
fn os_cause() -> String {
    crate::logging::take_os_error()
        .map(|e| format!(" os_error=\"{e}\""))
        .unwrap_or_default()
}
