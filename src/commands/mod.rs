//! The handlers, one file per family, and the command table that names them
//! ([`table`]). Handlers never touch the socket directly except through the
//! session's channel for commands that stream; plain commands return a
//! [`Reply`] and the session sends it.

pub mod access;
pub mod backup;
pub mod basic;
mod batch_budget;
pub mod compress;
pub mod confine;
pub mod connection;
pub mod delta;
pub mod delta_get;
pub mod fai;
pub mod features;
pub mod fs;
pub mod getmany;
mod getmany_frames;
pub mod hpf;
pub mod intrw;
pub mod keylogin;
pub mod land;
pub mod layer;
pub mod link;
pub mod listing;
mod make_dir;
pub mod netlock;
pub mod notify;
pub mod prove;
pub mod putmany;
mod putmany_archive;
mod putmany_dirs;
mod putmany_frames;
mod putmany_heads;
pub mod quota;
pub mod runbash;
pub mod same;
pub mod secfs;
pub mod sparse;
pub mod stage;
pub mod stat;
pub mod table;
pub mod time;
pub mod transfer;
pub mod transport;
pub mod tz;
pub mod user_keys;
pub mod xattr;
pub mod xcmds;

pub(crate) use crate::dispatch::no_room;
pub use crate::dispatch::{denied_or, ArgOr, CmdError, CmdResult, DeniedOr, Gate, OrFailed, Reply, Tfpsfs};
