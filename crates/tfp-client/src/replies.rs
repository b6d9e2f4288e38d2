//! A typed result back as the reply the server sent, for programs that show or
//! check that reply as it came (a CLI printing `FAILED n : text` as sent, tests
//! asserting wire statuses), and for steps where one refusal is an answer (a
//! file that is not there yet). Applications match on [`Error`] and its
//! [`Code`](tfp_wire::Code) instead.
//!
//! ```
//! use tfp_client::replies::{AsStatus, Split};
//! use tfp_client::{Error, Status};
//!
//! let refused: Result<u64, Error> = Err(Error::refused("FSTAT", Status::parse(b"FAILED 9 : File does not exist.")));
//! assert!(matches!(refused.split(), Ok(Err(Status::Failed(9, _)))));
//! let done: Result<(), Error> = Ok(());
//! assert_eq!(done.status().unwrap(), Status::Ok(Vec::new()));
//! ```

use crate::Error;
use tfp_wire::Status;

/// A refusal split out as the reply it was.
pub trait Split<T> {
    /// `Ok(Ok(value))`, `Ok(Err(reply))` for a refusal; other errors stay errors.
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

/// A command that answers only OK, as the status it stood for.
pub trait AsStatus {
    /// `OK` for success, the reply for a refusal; other errors stay errors.
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
