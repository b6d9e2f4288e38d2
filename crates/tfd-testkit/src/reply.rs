//! A typed client result as the reply it stood for: the tests assert what the
//! server sent (its status line, SUP's number, FSIZE's -1), which the typed API
//! (tfp-client) folds into `Ok` or an error. Test code only: applications match
//! on `tfp_client::Error` and its `Code`. Used by the benches too
//! (benches/support/mod.rs includes this file).
#![allow(dead_code)]

use tfp_client::Error;

/// A declined command (SUP, SDOWN, INTREAD, INTWRITE, FSIZE) as the
/// number, flag or option it was.
pub trait Answer<T> {
    /// SUP's number: 0, or what the server answered.
    fn answer(self) -> Result<i32, Error>;
    /// SDOWN's, INTWRITE's flag: false when declined.
    fn done(self) -> Result<bool, Error>;
    /// INTREAD's option: None when declined.
    fn found(self) -> Result<Option<T>, Error>;
}

impl<T> Answer<T> for Result<T, Error> {
    fn answer(self) -> Result<i32, Error> {
        match self {
            Ok(_) => Ok(0),
            Err(Error::Declined { answer, .. }) => Ok(answer as i32),
            Err(e) => Err(e),
        }
    }

    fn done(self) -> Result<bool, Error> {
        match self {
            Ok(_) => Ok(true),
            Err(Error::Declined { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn found(self) -> Result<Option<T>, Error> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::Declined { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// FSIZE's size, or the server's −1/−2.
pub trait SizeOrCode {
    /// The size, or the negative answer.
    fn size_or_code(self) -> Result<i64, Error>;
}

impl SizeOrCode for Result<u64, Error> {
    fn size_or_code(self) -> Result<i64, Error> {
        match self {
            Ok(n) => Ok(n as i64),
            Err(Error::Declined { answer, .. }) => Ok(answer),
            Err(e) => Err(e),
        }
    }
}
