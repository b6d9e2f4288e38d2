//! The service's logs, its control socket, FAI and the UDP responder.
use super::{at, Key, Section, KEY};
use crate::config::kind::Kind;

pub(super) const KEYS: &[Key] = &[
    Key {
        name: "log_level",
        arg: "level",
        section: Section::Optional,
        kind: Kind::Words { words: &["error", "warn", "info", "debug", "trace"], fold_case: true },
        shown: Some("none (level\n.BR info )"),
        summary: "Log level, used when RUST_LOG is not set.",
        doc: r##"One of
.BR error ,
.BR warn ,
.BR info ,
.B debug
or
.B trace
(case\-insensitive).
Used only when the
.B RUST_LOG
environment variable is not set.
A changed value takes effect on reload too.
"##,
        example: "info",
        at: at!(log_level),
        ..KEY
    },
    Key {
        name: "log_target",
        arg: "target",
        section: Section::Optional,
        kind: Kind::Words { words: &["stderr", "syslog"], fold_case: false },
        default: Some("stderr"),
        summary: "Where the log goes: stderr (when stderr is the systemd journal, lines carry its <N> priority prefix) or syslog (ident tfd, facility daemon).",
        doc: r##"Where the log goes:
.B stderr
(standard error; when standard error is the systemd journal, lines carry the
journal's
.BI < n >
priority prefix instead of a timestamp) or
.B syslog
(the system logger through
.BR syslog (3),
ident
.BR tfd ,
facility
.BR daemon ,
with the pid of the process that logged).
Messages logged before the configuration is read go to standard error.
A changed value takes effect on reload.
"##,
        at: at!(log_target),
        ..KEY
    },
    Key {
        name: "log_file",
        arg: "path",
        section: Section::Optional,
        kind: Kind::Path,
        shown: Some("none"),
        summary: "The log as a file, in place of log_target: appended to, one write a line, by the listener and every session. Opened as root before sessions start; reopened on reload (SIGHUP) for log rotation.",
        doc: r##"The log as a file, in place of
.BR log_target :
every line of the listener and of every session (which inherit the file
before they drop root or enter a jail) is appended to it in one write, in
the layout of the standard error target (a UTC timestamp, the level, the
module).
The file is opened by the listener as root before sessions are forked
(created with mode 0640 if missing; a symbolic link or anything but a regular
file is refused, and tfd does not start, or a reload is refused) and
reopened on reload, so log rotation works with a reload after the rename.
For a host without systemd or a syslog daemon (a container, a minimal
system): with
.B \-\-daemon
and no
.BR log_file ,
the log goes to syslog, and tfd warns on standard error at start when
.I /dev/log
answers nothing.
A relative path is relative to this file's directory.
"##,
        example: "/var/log/tfd/tfd.log",
        at: at!(log_file),
        ..KEY
    },
    Key {
        name: "xferlog",
        arg: "path",
        section: Section::Optional,
        kind: Kind::Path,
        shown: Some("none"),
        summary: "Transfer log: one xferlog(5)-style line per completed or aborted upload or download. Opened as root before sessions start; reopened on reload (SIGHUP) for log rotation.",
        doc: r##"The transfer log: one line per completed or aborted upload or download
.RB ( SNDFILE ,
.BR SUP ,
.BR PUT ,
.BR PUTCAN ,
.BR RCVFILE ,
.BR SDOWN ,
.BR GET ,
.BR GETCAN ),
in the layout of wu\-ftpd's xferlog(5) (see
.BR tfd (8),
.BR LOGGING ).
The file is opened by the listener as root before sessions are forked
(created with mode 0640 if missing; a symbolic link or anything but a regular
file is refused) and reopened on reload, so log rotation works with a reload
after the rename.
A relative path is relative to this file's directory.
"##,
        example: "/var/log/tfd/xferlog",
        at: at!(xferlog),
        ..KEY
    },
    Key {
        name: "control_socket",
        arg: "path",
        section: Section::Optional,
        kind: Kind::Path,
        shown: Some("\n.I /run/tfd/ctl.sock\nwhen\n.B tfd\nstarts as root, none otherwise"),
        summary: "Admin control socket for `tfd ctl` (sessions, kick, ban, unban, reload, stats); only root (or the user tfd runs as) may use it.",
        doc: r##"The admin control socket
.RB ( "tfd ctl" ,
see
.BR tfd (8)).
Mode 0600; only root, or the user
.B tfd
runs as, may use it.
A relative path is relative to this file's directory.
Changes take effect on restart only: a reload keeps the socket and says so
.RB ( "tfd ctl reload"
answers
.BR restart: ).
"##,
        example: "/run/tfd/ctl.sock",
        at: at!(control_socket),
        ..KEY
    },
    Key {
        name: "fai_max_minutes",
        arg: "minutes",
        section: Section::Optional,
        kind: Kind::Int { min: 0, max: 525600, unit: "minutes", zero: "FAI off" },
        default: Some("360"),
        summary: "Fast Access Interface: the longest validity (minutes) FAITOK grants, which FAIMQ reports.",
        doc: r##"The longest validity FAITOK grants to a Fast Access Interface token (a
request for more, for 0, or for something that is not a number gets this
much); FAIMQ reports it.
0 turns the Fast Access Interface off: FAITOK answers FAILED 67 and every
.B FAI://
entrance FAILED 68.
0..525600.
"##,
        at: at!(fai_max_minutes),
        ..KEY
    },
    Key {
        name: "faitok_mq",
        arg: "minutes",
        section: Section::Optional,
        kind: Kind::Int { min: 0, max: 525600, unit: "minutes", zero: "FAI off" },
        same_as: Some("fai_max_minutes"),
        summary: "The reference's name for fai_max_minutes, read as that setting (give one of the two).",
        doc: r##"The reference server's name for
.B fai_max_minutes
(the same setting, in minutes), so a migrated file keeps its cap.
Give one of the two: both at once is a duplicate key.
"##,
        example: "360",
        at: at!(fai_max_minutes),
        ..KEY
    },
    Key {
        name: "sweep_interval",
        arg: "seconds",
        section: Section::Optional,
        kind: Kind::Int { min: 0, max: 86400, unit: "seconds", zero: "off" },
        default: Some("60"),
        summary: "Seconds between passes of the sweeper, which removes upload temporaries (.tfd-part-*) that killed sessions left where the file system has no O_TMPFILE (NFS, GlusterFS).",
        doc: r##"How often the sweeper, a helper process of the listener, looks for upload
temporaries
.RB ( .tfd\-part\- *)
that sessions killed mid-upload left where the file system has no
.B O_TMPFILE
(NFS, GlusterFS, CephFS): one pass at start, then one every this many
seconds, each looking at 20000 entries at most and the next going on where
it stopped.
A temporary is removed when it bears tfd's mark (the extended attribute
.BR user.tfd.part ;
a file that merely has such a name is never removed), nobody holds it locked
(a live upload does, on every node of a shared file system) and it has not
changed for 10 seconds (a staged upload, kept for a later resume: 2 days).
0 turns the sweeper off (then only quota checks remove such files).
0..86400.
Read at start only.
"##,
        at: at!(sweep_interval),
        ..KEY
    },
    Key {
        name: "fai_dir",
        arg: "path",
        section: Section::Optional,
        kind: Kind::Path,
        shown: Some("a directory of its own for each configuration file,\n.IR /var/lib/tfd/fai/ HASH,\nwhere\n.I HASH\nis the first 16 hexadecimal digits of the SHA\\-256 of this file's canonical\npath; the issuer logs the directory at start\n.RB ( \"FAI issuer ready\" )"),
        summary: "Root-only (0700) directory of the Fast Access tokens. Nodes behind one name (one key, one user file) that share it accept each other's tokens.",
        doc: r##"Where Fast Access tokens are kept, one file per token (its expiry, the user
and jail it was issued to, and its next key), mode 0600 in a directory of
mode 0700, both owned by the user
.B tfd
starts as (root).
Tokens outlive sessions and restarts.
Each token names the server that issued it by its key (the SHA-256 of the
public key): nodes behind one name that share the key, the user file and this
directory accept each other's tokens; a tfd with another key refuses them
(FAILED 68), even on a shared directory.
Expired tokens are deleted at start, every minute, and when presented.
The default directory goes when the instance stops, unless a live token (or
anything else) is still in it; a directory this key names stays.
Created at start, when the FAI issuer checks that it can write there; when it
cannot (a read\-only file system, such as a service sandbox without this
directory), it logs an error naming the directory and every FAITOK answers
.BR "FAILED 67" .
The shipped systemd unit makes
.I /var/lib/tfd
writable
.RB ( StateDirectory=tfd ).
Read at start only: a reload does not move it, and says so
.RB ( "tfd ctl reload"
answers
.BR restart: ).
A reload with another private key binds new tokens to that key; the old
key's tokens are refused from then on.
A relative path is relative to this file's directory.
"##,
        example: "/var/lib/tfd/fai/shared",
        at: at!(fai_dir),
        ..KEY
    },
    Key {
        name: "shutdown_grace",
        arg: "seconds",
        section: Section::Optional,
        kind: Kind::Int { min: 0, max: 3600, unit: "seconds", zero: "" },
        default: Some("10"),
        summary: "Seconds open sessions get to finish after SIGTERM/SIGINT before they are ended.",
        doc: r##"After SIGTERM or SIGINT the listener stops accepting and gives open sessions
this long to finish on their own; then it ends them (SIGTERM, and SIGKILL a
second later).
0..3600.
"##,
        at: at!(shutdown_grace),
        ..KEY
    },
    Key {
        name: "udp_user",
        arg: "name",
        section: Section::Optional,
        kind: Kind::User,
        default: Some("nobody"),
        summary: "The unprivileged system user of the UDP probe responder and the key process when tfd is started as root.",
        doc: r##"The system user the UDP probe responder (HOSTCHECK, PROCHECK, SOCKCHECK,
UDP_TLB on the same port as TCP) and the key process (which alone holds the
private key; see
.BR tfd (8))
switch to when
.B tfd
starts as root; the responder binds its sockets first.
Changes take effect on restart only
.RB ( "tfd ctl reload"
answers
.BR restart: ).
"##,
        at: at!(udp_user),
        ..KEY
    },
];
