//! What of tf the daemon's tests read as code: its exit statuses and their
//! texts, from which tests/cli/docs.rs makes tf(1)'s EXIT STATUS and checks
//! `tf --help`. Everything else of tf is the binary (`main.rs`).

pub mod exit;
