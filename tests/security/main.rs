//! Security: confinement, jails and attacks, keys, logins and users, Fast Access,
//! secure directories, RUNBASH's sandbox and the `unsafe` policy.
//!
//! One test binary per area (doc/testing.md): the files share one process, so a
//! test must not touch process-wide state (environment, working directory, umask).

mod acls;
mod archive_links;
mod attacks;
mod attacks_flood;
mod attacks_lengths;
mod attacks_login;
mod backup_privacy;
mod backups;
mod checks_agree;
mod confinement;
mod control_and_files;
mod extension_words;
mod fai;
mod hostile_names;
mod house;
mod house_engine;
mod house_frames;
mod house_modules;
mod house_negotiate;
mod house_paths;
mod house_sizes;
mod jail;
mod key_login;
mod keys;
mod links;
mod memory_budget;
mod moves_race;
mod output;
mod pasted_commands;
mod planted_partials;
mod private_uploads;
mod runbash;
mod secfs;
mod secret_files;
mod session_end;
mod shared_overwrite;
mod signature_flood;
mod single_user_keys;
mod sparse_holes;
mod stage_owners;
mod stage_quota;
mod unreadable_dirs;
mod unsafe_policy;
mod user_jail;
mod user_keys;
mod users;
mod users_login;
mod users_rights;
mod xattrs;
mod xattrs_landing;
