//! A refused command as the reply the server sent: tf prints that line as sent
//! ("FAILED n : text") and explains it, so where a command is shown to people
//! the typed result (`tfp_client::Error::Refused`) is turned back into it.

use tfp_client::Error;
use tfp_wire::Status;

/// `Ok(Err(reply))` for a refusal; other errors stay errors.
pub trait Split<T> {
    fn split(self) -> Result<Result<T, Status>, Error>;
}

impl<T> Split<T> for Result<T, Error> {
    fn split(self) -> Result<Result<T, Status>, Error> {
        match self {
            Ok(v) => Ok(Ok(v)),
            Err(Error::Refused(r)) => Ok(Err(r.reply)),
            Err(e) => Err(e),
        }
    }
}

/// A command that answers only OK as the status it stood for.
pub trait AsStatus {
    /// `OK` for success, the reply for a refusal.
    fn status(self) -> Result<Status, Error>;
}

impl AsStatus for Result<(), Error> {
    fn status(self) -> Result<Status, Error> {
        match self {
            Ok(()) => Ok(Status::Ok(Vec::new())),
            Err(Error::Refused(r)) => Ok(r.reply),
            Err(e) => Err(e),
        }
    }
}
