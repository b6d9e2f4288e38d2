//! The official Java client against tfd: the Rust tests here drive the programs
//! beside them (`tests/java/*.java`).
//!
//! One test binary per area (doc/testing.md): the files share one process, so a
//! test must not touch process-wide state (environment, working directory, umask).

mod java_client;
mod java_netlock;
mod secfs_java;
mod v251_java;
