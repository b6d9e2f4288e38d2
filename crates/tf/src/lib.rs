//! tf's tables, as a library beside the `tf` binary: the one table of its
//! global options and of its commands' options ([`options`]), which the
//! binary parses with and tests/cli/docs.rs checks tf(1) and `tf --help`
//! against. Everything else of tf lives in the binary.

pub mod options;
