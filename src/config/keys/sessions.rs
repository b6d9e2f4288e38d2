//! What a session must do, and may run: LOGIN users, jails, RUNBASH and its limits.
use super::{at, at_runbash, Key, Section, KEY};
use crate::config::kind::Kind;

pub(super) const KEYS: &[Key] = &[
    Key {
        name: "userdb",
        arg: "file",
        section: Section::Optional,
        kind: Kind::Path,
        shown: Some("none (every LOGIN answers\n.BR \"FAILED 40\" )"),
        summary: "LOGIN user file (multi-user mode: started as root without defusr), one user a line, name:hash:system_user:quota; manage it with tfpasswd(8). Read at every LOGIN.",
        doc: r##"The user file for the
.B LOGIN
command of multi\-user mode (tfd started as root without
.BR defusr ):
one user a line,
.IB name : hash : system_user : quota\fR,
with SHA\-512\-crypt
.RB ( $6$ )
or SHA\-256\-crypt
.RB ( $5$ )
hashes; manage it with
.BR tfpasswd (8),
which describes the format.
The file is read at every
.BR LOGIN ,
so changes apply at once; it should be owned by root with mode 0600: in
multi\-user mode tfd does not start, nor take a reload, nor pass
.BR \-\-check\-config ,
while group or others can read it (it holds the password hashes), and
names the
.B chmod go\-rwx
that mends it.
It is checked at start\-up and by
.B \-\-check\-config
in multi\-user mode: a syntax error is reported as
.IB file : line : " message"
and tfd does not start.
The reference server's plain\-text lines
.RI ( "name password" )
are accepted for migration, with a warning for each at start\-up; convert
them with
.BR "tfpasswd import" .
When the file is missing or cannot be read, LOGIN answers
.BR "FAILED 40" .
"##,
        example: "/etc/tfd/userdb",
        at: at!(userdb),
        ..KEY
    },
    Key {
        name: "authorized_keys_dir",
        arg: "dir",
        section: Section::Optional,
        kind: Kind::Path,
        shown: Some("/etc/tfd/authorized_keys"),
        summary: "Directory of the users' authorized keys for key login (TFDKEY): one file per LOGIN name, in OpenSSH's authorized_keys format; manage it with tfpasswd key. Read at every key login.",
        doc: r##"The directory of the users' public keys for key login
(a client's
.B tf \-i
or ssh\-agent; the extension's commands are
.B TFDKEY
and
.BR TFDKEYSIG ,
over the secure transport only):
one file per
.B LOGIN
name, named as the name, in OpenSSH's
.I authorized_keys
format (see
.BR sshd (8)),
managed with
.BR "tfpasswd key add" | list | del .
Ed25519, ECDSA P\-256 and P\-384, and RSA keys of 2048 bits or more
(signatures with SHA\-2) are taken.
The options
.B from="\fIpattern\-list\fB"
(addresses, with
.B *
and
.BR ? ,
.IB addr / bits
ranges and
.B !
to refuse, matched against the client's address, the PROXY header's source
behind a balancer) and
.B expiry\-time="\fIYYYYMMDD\fR[\fIHHMM\fR[\fISS\fR]]\fB"
(UTC) are honoured; a line with an option tfd cannot honour
.RB ( command= ,
.BR principals= ,
.BR cert\-authority ,
.BR permitopen= ,
.BR environment= ,
\&...) is ignored and logged. Options that restrict what ssh does
.RB ( no\-pty ,
.BR restrict ,
\&...) change nothing here.
The file is read at every key login, so a key removed or expired refuses
the next login without a restart.
As sshd's
.B StrictModes
checks, the file and every directory above it must be owned by root or by the
user's system user and writable by neither group nor others; a key file that
breaks this is refused, with the reason in the log.
A key login counts its failures as
.B LOGIN
does (but a key merely not in the user's file, which ssh\-agent and
.I ~/.ssh
offer for every key a person has, is refused without counting) (per address and per name, see
.B login_max_failures_ip
and
.BR login_max_failures_user ),
and gives the very session a password gives.
The directory must not be inside
.BR dbdir .
"##,
        example: "/etc/tfd/authorized_keys",
        at: at!(authorized_keys_dir),
        ..KEY
    },
    Key {
        name: "authorized_keys",
        arg: "file",
        section: Section::Optional,
        kind: Kind::Path,
        shown: Some("none (the hash alone lets a client in)"),
        summary: "Single-user mode: the keys that may connect at all, in OpenSSH's authorized_keys format; every session must log in by one of them (TFDKEY) right after the hash, other commands answer FAILED 37. Read at every session.",
        doc: r##"Single\-user mode
.RB ( defusr ,
or tfd not started as root): the public keys that may connect at all, one
file in OpenSSH's
.I authorized_keys
format (see
.BR sshd (8)),
with the keys, options and checks of
.BR authorized_keys_dir .
Every session must then log in by one of these keys right after the hash
(over the secure transport:
.B TFDSECURE
first, then
.B TFDKEY
and
.BR TFDKEYSIG ,
the signed exchange of a multi\-user key login, bound to the session);
every other command before it answers
.B "FAILED 37"
and is logged, so the application hash alone no longer lets anyone in.
.BR tf (1)
and the Python package offer their keys when the server asks:
.BR \-i ,
then ssh\-agent's keys, then
.IR ~/.ssh/id_* .
The file is read at every session, so a key removed or expired refuses the
next session without a restart; as sshd's
.B StrictModes
checks, it and every directory above it must be owned by root or by the
served user and writable by neither group nor others, else every session is
refused and the log says why.
Failures count in the login throttle as
.BR LOGIN 's
do (but a key merely not in the file).
A Fast Access token
.RB ( FAITOK )
is granted only to a session past this login, and its
.B FAI://
entrance, like the hash, is not asked for a key again: the token is the
proof, good until it expires
.RB ( fai_max_minutes ,
0 to grant none) even after the key that logged its session in is removed.
It must not be inside
.BR dbdir ;
in multi\-user mode tfd does not start with it (use
.BR authorized_keys_dir ),
nor with
.BR "secure_transport off" .
"##,
        example: "/etc/tfd/authorized_keys",
        at: at!(authorized_keys),
        ..KEY
    },
    Key {
        name: "user_keys",
        arg: "yes|no",
        section: Section::Optional,
        kind: Kind::YesNo,
        default: Some("no"),
        summary: "Whether users may list, add and remove their own authorized keys (tf copy-id, tf keys), proving their password as LOGIN does; no answers FAILED 202.",
        doc: r##"With
.B yes
a user of the user file may list, add and remove the keys of their own file in
.B authorized_keys_dir
over the secure transport, before
.BR LOGIN ,
proving their password
.RB ( "tf copy\-id" ,
.BR "tf keys" ;
the commands are
.BR TFDUSERKEYS ,
.BR TFDUSERKEYLIST ,
.B TFDUSERKEYADD
and
.BR TFDUSERKEYDEL ,
see doc/compatibility.md, "Users' own keys").
The proof is a
.B LOGIN
that does not log in: a wrong password answers
.B "FAILED 37"
and counts toward
.B login_max_failures_ip
and
.B login_max_failures_user
as a
.BR LOGIN 's
does.
A key a user adds is one line of a key tfd takes, without options (a line
root wrote with
.B from=
or
.B expiry\-time=
stays as root wrote it, and the user may remove it), with a comment of at
most 256 bytes; a user's file holding 32 keys takes no more.
The file is rewritten whole, as
.B tfpasswd key
writes it (owned by root, mode 0644, under a lock that
.B tfpasswd key
takes too, so concurrent changes lose none).
With
.B no
(the default) these commands answer
.BR "FAILED 202" ,
before any password is read.
"##,
        at: at!(user_keys),
        ..KEY
    },
    Key {
        name: "userdb_allow_root",
        section: Section::Optional,
        kind: Kind::Flag,
        shown: Some("off"),
        summary: "Flag: a user file line may map a LOGIN name to system user root (uid 0); without it such a LOGIN is refused (FAILED 37) and logged.",
        doc: r##"Flag: let a line of the user file map a LOGIN name to system user root
(uid 0).
Without it such a LOGIN is refused with
.B "FAILED 37"
and the reason in the log, whatever its password: whoever could add one line
to the user file would otherwise own the host.
"##,
        at: at!(userdb_allow_root),
        ..KEY
    },
    Key {
        name: "injail",
        section: Section::Optional,
        kind: Kind::Flag,
        shown: Some("off"),
        summary: "Flag (no value): every session must confine itself with INJAIL (to a directory holding a jail.key file with its token) before any other command; as root the session chroots there for good.",
        doc: r##"Flag: require every session to confine itself with
.BI "INJAIL " "token " | " dir"
before any other command (in multi\-user mode, after
.BR LOGIN ).
.I dir
must hold a file
.I jail.key
with the token on a line of its own.
When tfd runs as root the session process then
.BR chroot (2)s
into
.I dir
for good (after the lookups it needs outside: its user and groups, the user
and group names for
.BR CHOWN );
otherwise the jail is enforced by resolving every path beneath the jail
directory only.
Until INJAIL succeeds the session is bounded by
.BR prelogin_timeout ,
and, when tfd runs as root, it has not switched to its user yet:
.B INJAIL
opens the jail with the user's identity, reads
.I jail.key
as root, chroots, then switches for good.
The jail and every directory between the served root and it must be owned by
root and writable by nobody else, and so must
.I jail.key
(a jailed user could otherwise delete or replace it); a jail that breaks this
is refused with
.B FAILED 48
and the reason in the log, and no command of the jailed session may touch
.IR /jail.key .
To jail only some users, give them a jail in the user file instead (its
fifth field; see
.BR tfpasswd (8)).
"##,
        at: at!(injail),
        ..KEY
    },
    Key {
        name: "locksys",
        section: Section::Optional,
        kind: Kind::Flag,
        shown: Some("off"),
        summary: "Flag: every session must send LOCKSYS <dir> before any other command but END, LOGIN, KEEPALIVE and PROCKEY (others get FAILED 61).",
        doc: r##"Flag: require every session to send
.BI "LOCKSYS " dir
(see
.BR tfd (8))
before any other command but END, LOGIN, KEEPALIVE and PROCKEY (and after
.B INJAIL
when
.B injail
is set); the others get
.BR "FAILED 61" .
"##,
        at: at!(locksys),
        ..KEY
    },
    Key {
        name: "flycontext",
        section: Section::Optional,
        kind: Kind::Flag,
        shown: Some("off"),
        summary: "Flag: every session must send FLYCONTEXT <dir> before any other command but END, LOGIN, KEEPALIVE, PROCKEY and LOCKSYS (others get FAILED 65).",
        doc: r##"Flag: require every session to send
.BI "FLYCONTEXT " dir
before any other command but END, LOGIN, KEEPALIVE, PROCKEY and LOCKSYS (and
after
.B INJAIL
and
.B LOCKSYS
when those are required); the others get
.BR "FAILED 65" .
"##,
        at: at!(flycontext),
        ..KEY
    },
    Key {
        name: "runbash",
        section: Section::Optional,
        kind: Kind::Flag,
        shown: Some("off"),
        summary: "Flag: enable RUNBASH (a bash script inside the session's chroot jail, run as its user, with the runbash_* limits). Off, RUNBASH answers FAILED 64.",
        doc: r##"Flag: enable
.BI "RUNBASH " script
(see
.BR tfd (8)).
Without it RUNBASH answers
.BR "FAILED 64" .
With it a session may run a bash script from its root, and only when it is
chrooted into a jail (INJAIL, with tfd started as root), runs as its own
LOGIN or
.B defusr
user (never uid or gid 0, never tfd's own user) and has no quota; otherwise
.B FAILED 64
and a log line give the reason.
The script runs inside that jail as that user and groups, with
.I /usr/bin/bash
or
.I /bin/bash
from the jail, no descriptors but an empty standard input and one pipe for
standard output and error, only
.B PATH=/usr/bin:/bin
and
.B HOME=/
in its environment, in a session and process group of its own and in a PID
namespace of its own (it sees and can signal only its own processes, not
another session of the same user; whatever it leaves running is killed when
it ends), under the limits below; the reply carries its exit status and
output.
It can still do anything that user may do inside the jail, network access
included (there is no network namespace): enable it only for users trusted
with a shell there.
"##,
        at: at!(runbash),
        ..KEY
    },
    Key {
        name: "runbash_timeout",
        arg: "seconds",
        section: Section::Optional,
        kind: Kind::Int { min: 1, max: 3600, unit: "seconds", zero: "" },
        default: Some("30"),
        summary: "Seconds a RUNBASH script may run; then its whole process group is killed.",
        doc: r##"Wall-clock limit of a RUNBASH script; then its whole process group is killed
and the reply says
.BR timeout .
When the script ends earlier, whatever it left running in its process group
is killed too (no process of it can leave the group).
1 to 3600.
"##,
        at: at_runbash!(timeout),
        ..KEY
    },
    Key {
        name: "runbash_cpu_seconds",
        arg: "seconds",
        section: Section::Optional,
        kind: Kind::Int { min: 1, max: 3600, unit: "seconds", zero: "" },
        default: Some("10"),
        summary: "CPU seconds a script may use (RLIMIT_CPU: SIGXCPU, then SIGKILL one second later).",
        doc: r##"CPU time of a script (RLIMIT_CPU): SIGXCPU at the limit, SIGKILL one second
later.
1 to 3600.
"##,
        at: at_runbash!(cpu_seconds),
        ..KEY
    },
    Key {
        name: "runbash_memory",
        arg: "size",
        section: Section::Optional,
        kind: Kind::Size { min: 16 << 20, max: u64::MAX, rate: false, zero: "" },
        default: Some("256M"),
        summary: "Memory of a script (its cgroup, else RLIMIT_AS).",
        doc: r##"Memory of a script, bytes or a number with a K, M or G suffix, at least 16M.
Each jailed session with
.B runbash
gets groups bounding all processes of its scripts together, so they stay
below it.
First choice, where
.I /sys/fs/cgroup
is a cgroup v2 hierarchy with the memory and pids controllers enabled: it is
the
.B memory.max
(and
.B memory.swap.max
is 0) of
.IR /sys/fs/cgroup/tfd-runbash/s PID .
Else, where a cgroup v1 memory hierarchy is mounted (hybrid and legacy
layouts, found in
.IR /proc/self/mountinfo ):
it is the
.B memory.limit_in_bytes
(and
.BR memory.memsw.limit_in_bytes ,
where swap is accounted) of
.IR <memory\ mount> /tfd-runbash/s PID .
The
.IR s PID
groups are removed once their session has ended.
It is also the address space of each process (RLIMIT_AS), the only bound
where no memory cgroup can be used: a script
that starts several processes can then hold up to
.B runbash_nproc
times this much.
INJAIL logs which bound is in force
.RB ( "RUNBASH script host ready: cgroup v2" ,
.B cgroup v1
or
.BR "per-process rlimits only" ).
"##,
        at: at_runbash!(memory),
        ..KEY
    },
    Key {
        name: "runbash_nproc",
        arg: "n",
        section: Section::Optional,
        kind: Kind::Int { min: 1, max: 65536, unit: "", zero: "" },
        default: Some("64"),
        summary: "Processes and threads of a script (its cgroup's pids.max, and RLIMIT_NPROC of its user).",
        doc: r##"Processes of a script: in a cgroup (see
.BR runbash_memory ;
v2, or v1 where a pids hierarchy is mounted:
.IR <pids\ mount> /tfd-runbash/s PID )
the
.B pids.max
of the session's group is this plus one (the script host), counting only the
script's own processes and threads; it is also RLIMIT_NPROC of the script,
the processes and threads its user may have at once, counted over all of
that user's processes (its tfd sessions included).
1 to 65536.
"##,
        at: at_runbash!(nproc),
        ..KEY
    },
    Key {
        name: "runbash_file_max",
        arg: "size",
        section: Section::Optional,
        kind: Kind::Size { min: 0, max: u64::MAX, rate: false, zero: "" },
        default: Some("64M"),
        summary: "Largest file a script may write (RLIMIT_FSIZE).",
        doc: r##"Largest file a script may write (RLIMIT_FSIZE; beyond it the write fails and
SIGXFSZ ends the script), bytes or K/M/G.
"##,
        at: at_runbash!(file_max),
        ..KEY
    },
    Key {
        name: "runbash_output_max",
        arg: "size",
        section: Section::Optional,
        kind: Kind::Size { min: 0, max: 256 << 10, rate: false, zero: "" },
        default: Some("64K"),
        summary: "Output (stdout and stderr together) sent back in the reply; the rest is read and dropped.",
        doc: r##"Output of a script (standard output and error together, as written) sent back
in the reply, bytes or K/M/G, 0 to 256K.
The rest is read and dropped, so the script never blocks on it, and the reply
says
.BR truncated .
"##,
        at: at_runbash!(output_max),
        ..KEY
    },
];
