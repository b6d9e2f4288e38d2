//! Whole trees and many files over one invocation's sessions: [`copy::put`]
//! and [`copy_down::get`] (`tf put -r`, `tf get -r`) and [`mirror::mirror`]
//! (`tf mirror`), which walk, list and compare, build the plan of what moves
//! and hand it to the client engine ([`crate::engine`]), which chooses each
//! file's route, moves it, tells what happens through
//! [`crate::engine::events::Events`] and fills the
//! [`crate::engine::events::Report`]; and the pieces the plans are built of:
//! the local walk, the checks on the names a server sends, glob patterns and
//! filters. They write no frame of their own.
//!
//! A server is not trusted with local names (the scp CVE-2019-6111 class): every
//! name of a listing goes through [`names::check`] before it is used, and the
//! landing creates everything relative to a descriptor of the target with no
//! symlink followed, so even a name that passed cannot be steered elsewhere by
//! a link planted in the target.

mod archive;
pub mod backups;
pub mod copy;
pub mod copy_down;
pub mod filter;
pub mod glob;
pub mod itemize;
pub mod listed;
pub mod mirror;
pub mod moves;
pub mod names;
pub mod options;
pub mod select;
pub mod sync;
mod unread;
pub mod walk;
pub mod wildmatch;

/// Most entries one listing may make a download create: a listing above this
/// is refused whole, before anything is written.
pub const MAX_ENTRIES: usize = 1_000_000;
/// Deepest path (in components) a listing may name.
pub const MAX_DEPTH: usize = 256;
/// Most bytes of one listing read from a server: a server streaming a listing
/// for ever is cut off here (1,000,000 entries of 256 bytes).
pub const MAX_LISTING_BYTES: usize = 256 << 20;
