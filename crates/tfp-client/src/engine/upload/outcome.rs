//! How one upload ended: where it landed, or the route that failed and
//! why, told as the caller tells it.

use super::super::route::Route;
use crate::Error;
use tfp_wire::Status;

/// An upload that landed.
#[derive(Debug)]
pub struct Sent {
    /// The target it landed at (inside a directory that [`Dest::Deferred`]
    /// turned out to be).
    pub remote: Vec<u8>,
    /// A staged upload's report.
    pub staged: Option<crate::engine::staged::Report>,
}

/// An upload that did not land: the target is as it was, but for the
/// in-place routes, which write it.
#[derive(Debug)]
pub struct Failure {
    /// The route that failed.
    pub(crate) route: Route,
    /// The target.
    pub remote: Vec<u8>,
    /// Why (boxed: an error is large, and most uploads land).
    pub error: Box<Error>,
}

impl Failure {
    /// Whether it failed through a stage, which keeps what moved on the
    /// server for a later run to continue.
    pub fn staged(&self) -> bool {
        matches!(self.route, Route::Staged { .. })
    }

    /// What to tell of it: the server's refusal as its status (a PUT the
    /// server cancelled as FAILED 7, as RCVFILE's failed transfer), or the
    /// error as it is (a local one, and any of a delta's, whose status
    /// would name the delta rather than the file).
    pub fn told(self) -> Result<Status, Error> {
        match (self.route, *self.error) {
            (_, e @ Error::Local(_)) | (Route::Delta, e) => Err(e),
            (_, Error::Refused(r)) => Ok(r.reply),
            (Route::InPlace { .. }, Error::Cancelled { command }) => {
                Ok(Status::Failed(7, format!("server cancelled the {command}")))
            }
            (_, e) => Err(e),
        }
    }
}
