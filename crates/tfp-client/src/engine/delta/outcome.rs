//! What a delta transfer ends in, in either direction: both `put` (the
//! parent) and `get` (its sibling) answer with it, so it sits below both.

use crate::Error;

/// How a delta transfer went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The file is in place, built from a delta.
    Delta {
        /// Bytes of delta records sent (literal data and instructions).
        sent: u64,
        /// Bytes of the new file taken from the old one.
        reused: u64,
    },
    /// No delta was made or it did not land (`why` says why, for logs);
    /// send the file whole. The target is as it was.
    Whole {
        /// Why, in words.
        why: String,
    },
}

/// The answer that sends the file whole, saying why.
pub(super) fn whole(why: impl Into<String>) -> Result<Outcome, Error> {
    Ok(Outcome::Whole { why: why.into() })
}
