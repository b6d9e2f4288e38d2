//! Defences against guessing and replay, and the default quota.
use super::{at, Key, Section, KEY};
use crate::config::kind::Kind;

pub(super) const KEYS: &[Key] = &[
    Key {
        name: "login_max_failures_ip",
        arg: "n",
        section: Section::Optional,
        kind: Kind::Int { min: 0, max: 1000000, unit: "", zero: "off" },
        default: Some("10"),
        summary: "Failed LOGINs from one address (IPv6: one /64) within login_window before that address is banned for login_ban. Refused attempts get FAILED 37 like a wrong password.",
        doc: r##"Failed
.B LOGIN
attempts from one client address (IPv6: from one /64 prefix) within
.B login_window
after which that address is banned for
.BR login_ban :
its LOGIN attempts are answered
.B FAILED 37
without checking the password, and a warning naming the address is logged.
0 to 1000000; 0 turns the rule off.
The counters are shared by all session processes.
The counters live in two tables of 4096 entries each.
When a table is full it never stops counting: a new address or name evicts the
entry with the fewest failures (the oldest among equals; only when every
candidate is serving a ban, the ban that ends soonest), so flooding the table
from many addresses does not let a guessing run go unthrottled.
The first eviction in each table is logged once, as a warning.
"##,
        at: at!(login_max_failures_ip),
        ..KEY
    },
    Key {
        name: "login_max_failures_user",
        arg: "n",
        section: Section::Optional,
        kind: Kind::Int { min: 0, max: 1000000, unit: "", zero: "off" },
        default: Some("20"),
        summary: "Failed LOGINs for one name within login_window before the name is locked for login_lock.",
        doc: r##"Failed
.B LOGIN
attempts for one user name within
.B login_window
(from any address) after which that name is locked for
.BR login_lock ,
answered like a wrong password.
Names that do not exist are counted and locked the same way, so a lock tells
nothing about which names exist.
A successful LOGIN clears the name's count.
0 to 1000000; 0 turns the rule off.
"##,
        at: at!(login_max_failures_user),
        ..KEY
    },
    Key {
        name: "login_window",
        arg: "seconds",
        section: Section::Optional,
        kind: Kind::Int { min: 1, max: 86400, unit: "seconds", zero: "" },
        default: Some("600"),
        summary: "Seconds over which failed LOGINs are counted.",
        doc: r##"The period over which failed LOGINs are counted, from the first failure, 1 to
86400.
"##,
        at: at!(login_window),
        ..KEY
    },
    Key {
        name: "login_ban",
        arg: "seconds",
        section: Section::Optional,
        kind: Kind::Int { min: 1, max: 604800, unit: "seconds", zero: "" },
        default: Some("900"),
        summary: "Seconds an address stays banned after too many failed LOGINs.",
        doc: r##"How long an address stays banned, 1 to 604800.
"##,
        at: at!(login_ban),
        ..KEY
    },
    Key {
        name: "login_lock",
        arg: "seconds",
        section: Section::Optional,
        kind: Kind::Int { min: 1, max: 604800, unit: "seconds", zero: "" },
        default: Some("900"),
        summary: "Seconds a name stays locked after too many failed LOGINs.",
        doc: r##"How long a user name stays locked, 1 to 604800.
"##,
        at: at!(login_lock),
        ..KEY
    },
    Key {
        name: "shared_state_dir",
        arg: "path",
        section: Section::Optional,
        kind: Kind::Path,
        shown: Some("none (each node counts and bans on its own)"),
        summary: "Several nodes on one shared volume: keep the LOGIN failure counts and the `tfd ctl ban` bans in this directory on that volume, so every node sees them. Same directory, same login_* settings and synchronised clocks on every node; outside dbdir. Under the shipped systemd unit, add the directory to ReadWritePaths.",
        doc: r##"A directory on the volume every node of a cluster mounts, outside
.B dbdir
(refused inside it, where clients could reach it; relative paths are taken
from this file's directory), where the LOGIN throttle's counts and the
bans of
.B tfd ctl ban
are kept for every node, so that an attacker spread over N nodes gets no more
attempts than against one, and a ban or unban made on one node holds on all.
Every node must use the same directory, the same
.B login_*
settings and synchronised clocks (the file keeps Unix times).
It holds two files of fixed size,
.B login\-throttle
(the same two tables of 4096 entries, about 192 KiB) and
.B bans
(1024 bans, 32 KiB), mode 0600 in a directory owned by the user
.B tfd
starts as and writable by nobody else; both are created, or checked, at start
(an unusable directory stops the start, or refuses the reload).
Every access holds an open file description lock for a few reads and writes,
waiting at most 2 s (a LOGIN) or 20 ms (a listener reading the bans, which it
does when the file changes and at least every 3 s; an accept only looks at the
copy in memory).
Each node keeps its own tables as well and applies the stricter answer, so a
damaged, truncated or unreachable file never gives an attacker more than one
node's own rule allows: damage is logged and the file rewritten (its bans that
the nodes already knew are kept and written back), and an error reaching it is
logged while the node's own counts go on.
A node that reads a new ban in the file also ends its sessions from that address.
"##,
        example: "<the shared volume>/tfd-state",
        at: at!(shared_state_dir),
        ..KEY
    },
    Key {
        name: "replay_cache",
        arg: "entries",
        section: Section::Optional,
        kind: Kind::Int { min: 0, max: 1 << 22, unit: "entries", zero: "off" },
        default: Some("262144"),
        summary: "Replayed sessions: the key process remembers this many accepted handshake ciphertexts and refuses one it has seen (a recorded session sent again) with FAILED 25. Per node.",
        doc: r##"How many accepted handshake ciphertexts the key process remembers, 0 to
4194304; 0 turns the check off.
The protocol has no server nonce, so the recorded bytes of a whole session sent
again on a new connection would otherwise be accepted and every recorded
command run again.
An RSA\-OAEP ciphertext is randomised, so an honest client never repeats one:
a ciphertext seen before is refused with
.B FAILED 25
and the connection closed, and a warning naming the address is logged.
Each entry is a 64\-bit fingerprint, about 40 bytes of the key process's memory
when full.
The cache is per node and starts empty when the key process starts; the oldest
entry is forgotten first.
"##,
        at: at!(replay_cache),
        ..KEY
    },
    Key {
        name: "replay_window",
        arg: "seconds",
        section: Section::Optional,
        kind: Kind::Int { min: 1, max: 2592000, unit: "seconds", zero: "" },
        default: Some("86400"),
        summary: "Seconds a handshake ciphertext is remembered.",
        doc: r##"How long a ciphertext is remembered, 1 to 2592000.
A replay is recognised within this window as long as fewer than
.B replay_cache
handshakes happened on the node since.
"##,
        at: at!(replay_window),
        ..KEY
    },
    Key {
        name: "quota_default",
        arg: "size",
        section: Section::Optional,
        kind: Kind::Size { min: 0, max: u64::MAX, rate: false, zero: "no quota" },
        default: Some("0"),
        summary: "Quota of each session user's files beneath the root, for users without a quota of their own in the userdb.",
        doc: r##"The most bytes the files of a session's user may take in the served tree (or
in its jail): bytes, or a number with a
.BR K ,
.B M
or
.B G
suffix; 0 means no quota.
It applies to every session whose user has no quota of its own in
.B userdb
(single\-user sessions included).
Usage is the sum of the apparent sizes of the regular files owned by the
user's uid beneath the session's root, measured when an upload or copy
starts; an upload
.RB ( SNDFILE ,
.BR SUP ,
.BR PUT ,
.BR PUTCAN )
that would go beyond the quota stops with
.B FAILED 13
(or its transfer's failure code) and leaves no partial file, and a
.B COPY
or
.B CPDIR
that would is refused before it starts.
"##,
        example: "10G",
        at: at!(quota_default),
        ..KEY
    },
    Key {
        name: "compression",
        arg: "yes|no",
        section: Section::Optional,
        kind: Kind::YesNo,
        default: Some("yes"),
        summary: "Whether clients may send data compressed with zstd, and tfd send a download batch's data so when asked (doc/compatibility.md, Compression); no answers the TFDZSTD probe UNKNOWN, as a server without the extension, and data goes as it is both ways.",
        doc: r##"With
.B yes
(the default) a client may send a staged upload's or a batch upload's data
as zstd blocks
.RB ( TFDZSTD ,
.BR TFDSTAGEPUTZ ,
.BR "TFDPUTMANY \fIn\fP z" ;
see doc/compatibility.md, "Compression"), and may ask a download batch's
data so
.RB ( "TFDGETMANY ... z" ):
then tfd compresses, one zstd stream across the batch, each block whose
sample shrinks and only where its own writes show the link slower than
compressing (a client's
.B \-z
forces it), within
.BR compression_level_max .
Either sender decides per block, by measurement, whether compressing pays.
Each block announces its decoded length; a block that announces more than
its file has left, or decodes to more or less than it announced, is refused
with
.B FAILED
and its bytes are not kept (in a batch, that file fails alone and the batch
goes on).
Each compressed transfer's zstd stream (a batch's, a staged upload's, a
download's) is claimed in
.B memory_budget
as
.B compression_memory
and one block while it lives: an upload the budget has no room for is
refused with
.BR "FAILED 7" ,
a download is sent as it is.
.B no
answers
.B TFDZSTD
.BR UNKNOWN ,
as a server without the extension does (and refuses a batch's
.B z
as a word it does not know): the data goes as it is both ways.
"##,
        at: at!(compression),
        ..KEY
    },
    Key {
        name: "compression_framed",
        arg: "yes|no",
        section: Section::Optional,
        kind: Kind::YesNo,
        default: Some("yes"),
        summary: "Whether a compressed batch may travel as one zstd stream, file headers and trailers included, both ways (TFDPUTMANY n z f, TFDGETMANY ... z f); no answers their probes FAILED, as a server from before it, and the data alone goes compressed.",
        doc: r##"With
.B yes
(the default, and only with
.B compression yes)
a client may send a compressed batch upload's whole exchange, every file's
header, data and trailer, as one zstd stream cut in bounded frames
.RB ( "TFDPUTMANY \fIn\fP z f" ;
see doc/compatibility.md, "Compression"): a tree of small files then costs
about what its tarball compressed would.
A frame that decodes to more or less than it announces, or a record longer
than the batch allows there, ends the batch with
.B FAILED
and the session; files not received whole keep their old versions.
.B no
answers the probe
.B "TFDPUTMANY 0 z f"
with
.BR FAILED ,
as a server from before the extension does: clients send today's
.B z
batches, their headers and trailers as they are.
The same holds for batch downloads: with
.B yes
a client asking
.B "TFDGETMANY \fIn\fP \fImax\fP ... z f"
gets every reply, data frame and trailer of the batch as one zstd stream;
.B no
answers that request and its probe
.B "TFDGETMANY 0 0 z f"
with
.BR FAILED .
"##,
        at: at!(compression_framed),
        ..KEY
    },
    Key {
        name: "compression_level_max",
        arg: "level",
        section: Section::Optional,
        kind: Kind::Int { min: 1, max: 19, unit: "", zero: "" },
        default: Some("9"),
        summary: "Highest zstd level tfd tells clients to compress at, and compresses a download batch at itself (1..19): the CPU spent per byte.",
        doc: r##"The highest zstd level, 1 to 19, that
.B TFDZSTD
offers; a client's decider never goes above it, nor does tfd's own when it
compresses a download batch's data.
Decoding costs about the same at every level: the cap bounds what a client
spends, and what tfd spends when it compresses itself.
"##,
        at: at!(compression_level_max),
        ..KEY
    },
    Key {
        name: "compression_memory",
        arg: "size",
        section: Section::Optional,
        kind: Kind::Size { min: 4096, max: 1 << 30, rate: false, zero: "" },
        default: Some("8M"),
        summary: "Memory one compressed transfer may hold on the server: half of it is the zstd window clients must keep to (a stream asking for more is refused).",
        doc: r##"The memory one compressed transfer holds at most, besides one decoded
block (448 KiB): the zstd window offered by
.B TFDZSTD
is the largest power of two within half of it (1 KiB to 128 MiB), and a
stream that asks for a larger one is refused with
.BR FAILED ,
never allocated.
The stream tfd compresses a download batch into keeps zstd's default window,
2 MiB, or less when this allows less.
"##,
        at: at!(compression_memory),
        ..KEY
    },
];
