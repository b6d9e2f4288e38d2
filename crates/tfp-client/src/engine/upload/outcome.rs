//! How one upload ended: the route that carried it, or the route that
//! failed and why.

use super::route::Route;
use crate::Error;

/// An upload that landed.
#[derive(Debug)]
pub struct Sent {
    /// The route that carried it.
    pub route: Route,
    /// The target it landed at (inside a directory that [`Dest::Deferred`]
    /// turned out to be).
    pub remote: Vec<u8>,
    /// A staged upload's report.
    pub staged: Option<crate::staged::Report>,
}

/// An upload that did not land: the target is as it was, but for the
/// in-place routes, which write it.
#[derive(Debug)]
pub struct Failure {
    /// The route that failed.
    pub route: Route,
    /// The target.
    pub remote: Vec<u8>,
    /// Why (boxed: an error is large, and most uploads land).
    pub error: Box<Error>,
}
