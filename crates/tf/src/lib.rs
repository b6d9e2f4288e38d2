//! What of tf the daemon's tests read as code: the one table of tf's global
//! options and of its commands' options ([`options`]), which the binary
//! parses with, and its exit statuses and their texts ([`exit`]), from which
//! tests/cli/docs.rs checks tf(1) and `tf --help`. Everything else of tf is
//! the binary (`main.rs`).

pub mod exit;
pub mod options;
