//! The `tf` client and what ships with it: commands, errors, sessions, trees and
//! mirrors, safe downloads against a lying server, the README's commands and the
//! docs that must match the code.
//!
//! One test binary per area (doc/testing.md): the files share one process, so a
//! test must not touch process-wide state (environment, working directory, umask).

mod cli;
mod cli_acls;
mod cli_archive;
mod cli_archive_setid;
mod cli_archive_tree;
mod cli_backup;
mod cli_backup_grade;
mod cli_batch;
mod cli_bulk_dirs;
mod cli_compress;
mod cli_compress_delta;
mod cli_compress_framed;
mod cli_compress_get;
mod cli_compress_get_framed;
mod cli_compress_listing;
mod cli_compress_slow;
mod cli_compress_streams;
mod cli_copy_id;
mod cli_delta;
mod cli_delta_down;
mod cli_ended;
mod cli_errors;
mod cli_escape;
mod cli_gentle;
mod cli_gnu;
mod cli_habits;
mod cli_hardlinks;
mod cli_interrupt;
mod cli_keys;
mod cli_known_servers;
mod cli_liar;
mod cli_liar_attacks;
mod cli_liar_bounds;
mod cli_liar_delta;
mod cli_mirror;
mod cli_mirror_delta;
mod cli_mirror_times;
mod cli_numeric_ids;
mod cli_partials;
mod cli_progress;
mod cli_put_atomic;
mod cli_put_peers;
mod cli_put_space;
mod cli_rerun;
mod cli_resume;
mod cli_round_trips;
mod cli_safe;
mod cli_select;
mod cli_session;
mod cli_shown_one;
mod cli_single_user_keys;
mod cli_snap;
mod cli_snap_keys;
mod cli_snap_verify;
mod cli_sparse;
mod cli_streams;
mod cli_summary;
mod cli_tree;
mod cli_truth;
mod cli_v251;
mod cli_visible;
mod cli_xattrs;
mod cli_xattrs_landing;
mod docs;
mod interrupted;
mod output;
mod readme;
mod readme_recipes;
mod scripts;
mod trees;
mod xferlog;
