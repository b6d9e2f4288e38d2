//! Whole trees and many files over one invocation's sessions: [`copy::put`]
//! and [`copy::get`] (`tf put -r`, `tf get -r`) and [`mirror::mirror`]
//! (`tf mirror`), which tell what happens through [`events::Events`] and
//! return a [`events::Report`]; and the pieces they are built of: the local
//! walk, the remote listing and the checks on the names a server sends, glob
//! patterns, the pool of sessions that moves the files, and the landing that
//! writes downloads only below the target directory, each capped at the size
//! the server announced.
//!
//! A server is not trusted with local names (the scp CVE-2019-6111 class): every
//! name of a listing goes through [`names::check`] before it is used, and the
//! landing creates everything relative to a descriptor of the target with no
//! symlink followed, so even a name that passed cannot be steered elsewhere by
//! a link planted in the target.

pub mod batch;
pub mod batch_down;
pub(crate) mod batch_flags;
pub mod capped;
pub mod copy;
pub mod copy_down;
pub mod events;
pub mod filter;
pub mod glob;
mod jobs;
pub mod landing;
pub mod listing;
pub mod mirror;
pub mod names;
mod pipeline;
pub mod pool;
pub mod remote_glob;
pub mod sync;
pub mod walk;

/// Most entries one listing may make a download create: a listing above this
/// is refused whole, before anything is written.
pub const MAX_ENTRIES: usize = 1_000_000;
/// Deepest path (in components) a listing may name.
pub const MAX_DEPTH: usize = 256;
/// Most bytes of one listing read from a server: a server streaming a listing
/// for ever is cut off here (1,000,000 entries of 256 bytes).
pub const MAX_LISTING_BYTES: usize = 256 << 20;
