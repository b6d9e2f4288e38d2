//! The protocol through the real wire: every command and session state, framing,
//! transfers and what they leave on disk, the 2.5.1 commands, the session layer and
//! the secure transport.
//!
//! One test binary per area (doc/testing.md): the files share one process, so a
//! test must not touch process-wide state (environment, working directory, umask).

mod backup;
mod big;
mod cancel_points;
mod client_api;
mod client_trees;
mod commands;
mod compress;
mod compress_framed;
mod compress_get;
mod compress_get_framed;
mod compress_putmany;
mod direct_io;
mod diskfull;
mod features;
mod handshake_flight;
mod hpf_rounds;
mod intrw;
mod link;
mod locksys;
mod matrix;
mod matrix_probes;
mod matrix_states;
mod netlock;
mod notify;
mod prove;
mod putmany_archive;
mod putmany_dirs;
mod quota_ledger;
mod retry_lane;
mod same_file;
mod secure_transport;
mod session_layer;
mod space;
mod sparse;
mod special_files;
mod stage_attrs;
mod stage_commit_wait;
mod tfdentries;
mod tfdlist;
mod transfer;
mod typed_v251;
mod upload_reliability;
mod upload_safety;
mod v251_commands;
mod wire;
mod xattrs;
mod xattrs_landing;
mod xcmds;
