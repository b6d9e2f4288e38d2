//! What a session asks the server about its files, apart from moving them:
//! listings (LSR, tfd's TFDLIST, FSTAT) and the checks on what they hold, a
//! remote glob pattern's matches, many small commands sent ahead of their
//! answers.
//! Below the engine and the trees, which both ask.

pub mod dir_entries;
pub mod entries;
pub mod glob;
pub mod listing;
pub mod pipeline;
pub mod same;
pub(crate) mod zlisting;
