//! The listener and the service as a whole: addresses, limits, transfers.
use super::{at, Key, Section, KEY};
use crate::config::kind::Kind;

pub(super) const KEYS: &[Key] = &[
    Key {
        name: "listen",
        arg: "address",
        section: Section::Optional,
        kind: Kind::Listen,
        shown: Some("both wildcards,\n.B 0.0.0.0\nand\n.BR [::] ,\non\n.BR port"),
        repeat: true,
        summary: "Address to listen on; repeatable. Forms: 192.0.2.1, 192.0.2.1:10345, ::1, [::1]:10345. Without a port, \"port\" is used.",
        doc: r##"An address to accept connections on.
Forms:
.BR 192.0.2.1 ,
.BR 192.0.2.1:10345 ,
.BR ::1 ,
.B [::1]
and
.BR [::1]:10345 ;
an address without a port uses
.BR port .
Host names are not accepted.
Repeatable; the same address and port given twice is an error.
IPv6 sockets are IPv6\-only, so an IPv4 and an IPv6 wildcard can share a port.
Changes take effect on restart only, not on reload
.RB ( "tfd ctl reload"
answers
.BR restart: ).
"##,
        example: "0.0.0.0\n[::]:10345",
        at: at!(listen),
        ..KEY
    },
    Key {
        name: "defusr",
        arg: "user",
        section: Section::Optional,
        kind: Kind::User,
        shown: Some("none; a root daemon without\n.B defusr\nis in multi\\-user mode, where clients must\n.B LOGIN\nfirst (see\n.BR userdb )"),
        summary: "System user a session switches to after the hash check. Without it, clients must LOGIN.",
        doc: r##"A system user.
If tfd runs as root, each session process switches to this user for good
right after the client's hash has been accepted (single\-user mode).
If tfd does not run as root, sessions run as the invoking user and the value is
only checked.
The user must exist; this is checked at start\-up and by
.BR \-\-check\-config .
No blanks or control characters.
"##,
        example: "tfd",
        at: at!(defusr),
        ..KEY
    },
    Key {
        name: "max_sessions",
        arg: "n",
        section: Section::Optional,
        kind: Kind::Int { min: 1, max: 4294967295, unit: "", zero: "" },
        default: Some("512"),
        summary: "Maximum concurrent sessions in total.",
        doc: r##"The most concurrent sessions in total, 1 to 4294967295.
A connection beyond the limit is closed at once, without a reply.
"##,
        at: at!(max_sessions),
        ..KEY
    },
    Key {
        name: "max_sessions_per_ip",
        arg: "n",
        section: Section::Optional,
        kind: Kind::Int { min: 1, max: 4294967295, unit: "", zero: "" },
        default: Some("32"),
        summary: "Maximum concurrent sessions from one IP address.",
        doc: r##"The most concurrent sessions from one client IP address, 1 to 4294967295.
A connection beyond the limit is closed at once, without a reply.
"##,
        at: at!(max_sessions_per_ip),
        ..KEY
    },
    Key {
        name: "priority_boost",
        arg: "levels",
        section: Section::Optional,
        kind: Kind::Int { min: 0, max: 19, unit: "", zero: "off" },
        default: Some("10"),
        summary: "Nice levels the listener, the key process, the FAI issuer and each session's handshake run above the sessions' commands, so that accepting and handshakes keep up when every CPU is busy with sessions. Needs root.",
        doc: r##"How many nice levels the listener, the key process and the FAI issuer run
above the sessions, 0 to 19; 0 turns it off.
Every connection is accepted by the listener and every handshake decrypted by
the key process, so under load they would otherwise queue behind every busy
session (on a 2\-core machine with 64 busy clients, a new client waited
160 ms for its session key without the boost and 50 ms with it).
A session keeps that boost while it is set up (the handshake and a
.B TFDSECURE
upgrade), so that a new client's few steps do not queue either; from its
first other command it runs, like the UDP responder, at the nice value tfd
was started with (for example
.B Nice=
in the systemd unit); the others at that value minus
.IR levels ,
at most \-20.
Raising priority needs root (CAP_SYS_NICE); without it tfd logs a warning
and runs everything at the starting value.
A reload applies a changed value to the listener and to the key process it
starts.
"##,
        at: at!(priority_boost),
        ..KEY
    },
    Key {
        name: "prelogin_timeout",
        arg: "seconds",
        section: Section::Optional,
        kind: Kind::Int { min: 1, max: 3600, unit: "seconds", zero: "" },
        default: Some("30"),
        summary: "Seconds a client has to finish the handshake and hash check.",
        doc: r##"The time a client has to finish the handshake and the hash check (and, in
multi\-user mode, to log in), 1 to 3600.
The session process is ended when it runs out, however slowly the client
sends.
"##,
        at: at!(prelogin_timeout),
        ..KEY
    },
    Key {
        name: "idle_timeout",
        arg: "seconds",
        section: Section::Optional,
        kind: Kind::Int { min: 0, max: 604800, unit: "seconds", zero: "no limit" },
        default: Some("0"),
        summary: "Seconds a logged-in session may stay silent, or not read what it is sent, before it is closed.",
        doc: r##"How long a logged\-in session may go without sending anything, or without
reading what it is sent (a client that stops reading holds a session in a
send), before it is closed, 0 to 604800 (one week); 0 means no limit.
"##,
        at: at!(idle_timeout),
        ..KEY
    },
    Key {
        name: "hold_timeout",
        arg: "seconds",
        section: Section::Optional,
        kind: Kind::Int { min: 1, max: 3600, unit: "seconds", zero: "" },
        default: Some("60"),
        summary: "Seconds a session holding memory for what its client sends waits for the client to send, or to read, more.",
        doc: r##"While a session holds memory of
.B memory_budget
for what its client is sending (the signatures of a delta download, a
delta upload, a batch's paths, headers and data), how long each read of
the client's next frame, and each send to it, may wait before the session
is closed, 1 to 3600; a shorter
.B idle_timeout
wins.
A client that stops in the middle would otherwise keep that memory for as
long as it liked (with
.B idle_timeout
0, the default, for ever).
A claim of
.B memory_budget
that does not fit waits at most this long (and at most 10 seconds).
"##,
        at: at!(hold_timeout),
        ..KEY
    },
    Key {
        name: "memory_budget",
        arg: "size",
        section: Section::Optional,
        kind: Kind::Size { min: 0, max: 1 << 50, rate: false, zero: "a quarter of the machine's memory, at least 256M" },
        default: Some("0"),
        summary: "Memory all sessions together may hold for what their clients send.",
        doc: r##"The memory all sessions together may hold for what their clients send:
a delta download's signatures and their index (up to 16 bytes for each
byte of signatures, and the windows of the file read ahead), a batch's
paths and outcomes, a delta upload's buffers.
Each such command claims what it may hold before it holds it; a claim that
does not fit waits for others to give theirs back, at most
.B hold_timeout
or 10 seconds, whichever is shorter, and is then refused, logged:
.B TFDDELTAGET
and
.B TFDDELTAPUT
answer
.B FAILED 7
(tf then transfers the file whole), and a batch
.RB ( TFDPUTMANY ,
.BR TFDGETMANY )
is read to its end and every file of it answered failed, so the session
goes on.
A claim larger than the whole budget is refused at once.
A session that dies, even killed, gives its share back when tfd reaps it.
Besides its claims, a session process holds at most about 32M of its own
with the default
.B hpf_max_buffer
and
.B direct_io_min
(its share of tfd's code and libraries, counted in each session's resident
memory, and the buffers of one transfer; larger values add their buffers):
N sessions hold at most the budget and N times 32M.
0 means a quarter of the machine's physical memory, at least 256M.
"##,
        at: at!(memory_budget),
        ..KEY
    },
    Key {
        name: "hpf_max_buffer",
        arg: "size",
        section: Section::Optional,
        kind: Kind::Size { min: 1, max: 64 << 20, rate: false, zero: "" },
        default: Some("4M"),
        summary: "Largest buffer granted to PUT/GET (high-performance file interface).",
        doc: r##"The largest buffer granted to
.BR PUT ,
.BR GET ,
.B PUTCAN
and
.B GETCAN
(the high\-performance file interface): a client proposing more is granted
this much.
Bytes, or a number with a
.BR K ,
.B M
or
.B G
suffix (powers of 1024, either case), from 1 byte to 64M.
A
.B PUT
or
.B GET
holds two buffers of the granted size in its session process (one on the
network side, one at the disk), the others one.
"##,
        at: at!(hpf_max_buffer),
        ..KEY
    },
    Key {
        name: "direct_io_min",
        arg: "size",
        section: Section::Optional,
        kind: Kind::Size { min: 0, max: 64 << 20, rate: false, zero: "never" },
        default: Some("1M"),
        summary: "Smallest transfer piece that bypasses the page cache (O_DIRECT): upload chunks of at least this size, aligned to 4096 bytes, are written straight to disk, and downloads of files not in the cache are read around it.",
        doc: r##"The smallest piece of a transfer that bypasses the page cache (O_DIRECT),
from 0 (never) to 64M, written like
.BR hpf_max_buffer .
Uploads
.RB ( PUT ,
.BR PUTCAN ,
.BR SNDFILE ,
.BR SUP )
write chunks of at least this size that are aligned to 4096 bytes in file
offset and length straight to the disk; a
.B SNDFILE
gathers its frames into buffers of this size (at least 1M) for that.
Downloads
.RB ( GET ,
.BR RCVFILE ,
.BR SDOWN )
are read one chunk ahead on a thread of their own (a GET by its grant, the
others by this size, at least 1M; each holds two such buffers), and a chunk
read from an
aligned offset goes direct when most of it is not in the page cache
(cachestat(2), Linux 6.5 and later), so files already in memory are still
served from it.
Everything else, unaligned tails included, goes through the page cache.
A big upload or download then neither evicts the files other sessions use nor
pays for copying through the cache (measured on a VM: writing 1 GiB took 1.4 s
of CPU through the cache, 0.1 s direct).
On memory\-backed file systems (tmpfs, ramfs) and network or user\-space ones
(NFS, SMB/CIFS, CephFS, FUSE, AFS, 9p), where bypassing the cache gains
nothing or costs a round trip per write (the NFS client commits every direct
write to stable storage), tfd always uses the page cache, as it does by
itself on a file system that refuses direct I/O.
The kernel keeps direct and cached I/O of the same file coherent; a process
that has such a file mapped with mmap(2) while it is uploaded may see the old
contents until it maps it again.
"##,
        at: at!(direct_io_min),
        ..KEY
    },
    Key {
        name: "rate_limit_session",
        arg: "rate",
        section: Section::Optional,
        kind: Kind::Size { min: 0, max: 1 << 40, rate: true, zero: "no limit" },
        default: Some("0"),
        shown: Some("0 (no limit)"),
        summary: "Bandwidth of one session, in each direction on its own, counting the encrypted bytes on the wire. A reload applies new limits to sessions that start after it.",
        doc: r##"The bandwidth limit of each session; see
.BR rate_limit_total .
"##,
        example: "10M",
        at: at!(rate_limits.session),
        ..KEY
    },
    Key {
        name: "rate_limit_user",
        arg: "rate",
        section: Section::Optional,
        kind: Kind::Size { min: 0, max: 1 << 40, rate: true, zero: "no limit" },
        default: Some("0"),
        shown: Some("0 (no limit)"),
        summary: "Bandwidth shared by all sessions of one LOGIN user, in each direction.",
        doc: r##"The bandwidth limit of each
.B LOGIN
user, all of its sessions together; see
.BR rate_limit_total .
"##,
        example: "20M",
        at: at!(rate_limits.user),
        ..KEY
    },
    Key {
        name: "rate_limit_total",
        arg: "rate",
        section: Section::Optional,
        kind: Kind::Size { min: 0, max: 1 << 40, rate: true, zero: "no limit" },
        default: Some("0"),
        shown: Some("0 (no limit)"),
        summary: "Bandwidth shared by every session of this server, in each direction. The strictest limit that applies wins.",
        doc: r##"Bandwidth limits, like the per-session, per-user and per-server limits of
FTP daemons.
.I rate
is in bytes per second, or a number with a
.BR K ,
.B M
or
.B G
suffix (powers of 1024:
.B 10M
is 10485760 bytes per second); at most 1T.
.B rate_limit_session
limits each session,
.B rate_limit_user
all sessions of one
.B LOGIN
user together (in single-user mode, all sessions of
.B defusr
or of the user tfd runs as), and
.B rate_limit_total
every session of the server together.
Each limit applies to each direction on its own: a session with
.B rate_limit_session 2M
may upload and download 2 MiB/s at the same time.
They cover every command that moves data
.RB ( SNDFILE ,
.BR RCVFILE ,
.BR PUT ,
.BR GET ,
.BR PUTCAN ,
.BR GETCAN ,
.BR SUP ,
.BR SDOWN ,
.BR LS ,
.BR LSR ,
and the rest), and count the bytes on the wire, encryption and framing
included.
The strictest limit that applies sets the pace; a session idle for a while
may move a burst of 50 ms worth at once.
.B 0
means no limit; with none set, sessions pay nothing for the feature.
A transparent proxy
.RB ( trp_ipv4 ,
.BR trp_ipv6 ,
.BR trp_dns )
relays bytes without reading commands: set the limits on the server behind it.
A reload applies changed limits to sessions that start after it; running
sessions keep the limits they started with (the shared user and server
budgets are drawn by each session at its own limit).
"##,
        example: "100M",
        at: at!(rate_limits.total),
        ..KEY
    },
    Key {
        name: "secure_transport",
        arg: "off|allow|require",
        section: Section::Optional,
        kind: Kind::Words { words: &["off", "allow", "require"], fold_case: false },
        default: Some("allow"),
        summary: "tfd's own secure transport (TFDSECURE: authenticated, forward-secret records; see tfd(8), SECURITY). allow offers it to clients that ask (tf does by default), require refuses everything but TFDSECURE, KEEPALIVE and PROCKEY until a session has upgraded, off answers UNKNOWN like an older server.",
        doc: r##"tfd's own secure transport (the
.B TFDSECURE
upgrade; see
.BR tfd (8),
SECURITY).
.B allow
(the default) offers it: clients that ask for it get authenticated,
forward\-secret records, all others go on as before.
.B require
refuses every command but TFDSECURE, KEEPALIVE and PROCKEY
.RB ( "FAILED 201" )
until the session has upgraded: only clients that speak it (such as
.BR tf (1))
can use the server.
.B off
answers TFDSECURE
.BR UNKNOWN ,
as an older server does.
"##,
        at: at!(secure_transport),
        ..KEY
    },
    Key {
        name: "proxy_protocol",
        arg: "off|v1|v2|any",
        section: Section::Optional,
        kind: Kind::Words { words: &["off", "v1", "v2", "any"], fold_case: false },
        default: Some("off"),
        summary: "Behind a balancer (HAProxy send-proxy-v2): connections from proxy_from begin with a PROXY protocol header of this version, whose client address then counts for bans, per-address limits, logs and metrics. Headers from other addresses are refused.",
        doc: r##"With a balancer in front (HAProxy's
.B send\-proxy
or
.BR send\-proxy\-v2 ),
every connection from a
.B proxy_from
address must begin with a PROXY protocol header of that version
.RB ( any :
either); the client address inside it then stands for the connection
everywhere: bans, \fBmax_sessions_per_ip\fR, login throttling, logs, the
xferlog, metrics and \fBtfd ctl sessions\fR. A header that names no client
(v1 UNKNOWN, v2 LOCAL: a health check) keeps the balancer's address. A
connection from a trusted balancer without a header, with a malformed one or
with the other version, and a header from any other address (a client forging
its address) are refused and logged. The listener reads the header without a
process per connection, at most 256 connections at once and 5 seconds each.
"##,
        example: "v2",
        at: at!(proxy_protocol),
        ..KEY
    },
    Key {
        name: "proxy_from",
        arg: "addr|addr/bits ...",
        section: Section::Optional,
        kind: Kind::Cidrs,
        summary: "The balancers trusted to send PROXY headers: addresses or CIDR ranges separated by spaces or commas. Required when proxy_protocol is not off.",
        doc: r##"The balancers trusted to send PROXY headers: IPv4 or IPv6 addresses or CIDR
ranges, separated by spaces or commas (an IPv4-mapped IPv6 peer matches its
IPv4 address). Required when
.B proxy_protocol
is not off; other addresses connect directly, as without a balancer.
"##,
        example: "10.0.0.5 10.0.0.6",
        at: at!(proxy_from),
        ..KEY
    },
    Key {
        name: "sync_uploads",
        arg: "yes|no",
        section: Section::Optional,
        kind: Kind::YesNo,
        default: Some("yes"),
        summary: "Durability of uploads: with yes, an upload is on stable storage (its data fsynced, then its directory entry) before it is acknowledged. no skips both fsyncs (faster; a power cut may then lose a file the client was told was stored).",
        doc: r##"With
.B yes
(the default) an upload is on stable storage before the client hears that it
is stored: the file's data is written and fsynced, the file is moved into
place under its name, and its directory is fsynced, all before the
.B OK
to
.BR SNDFILE ,
the 0 to
.BR SUP ,
the
.B HPFFIN
to
.B PUT
(and the end of a
.BR PUTCAN ).
A power cut after the acknowledgement then loses neither the data nor the
name.
.B no
skips both fsyncs: uploads are acknowledged once they are in the page cache,
which is faster (the ratio is reported by
.BR scripts/bench ),
and a crash of the machine may lose, or leave empty, a file already
acknowledged.
"##,
        at: at!(sync_uploads),
        ..KEY
    },
    Key {
        name: "intrw_max",
        arg: "size",
        section: Section::Optional,
        kind: Kind::Size { min: 1, max: i32::MAX as u64, rate: false, zero: "" },
        default: Some("16M"),
        summary: "Largest file INTREAD sends (held in memory while it is sent) or INTWRITE accepts; larger ones get -1.",
        doc: r##"The largest file
.B INTREAD
sends and
.B INTWRITE
accepts, written like
.BR hpf_max_buffer ,
from 1 to 2G\-1 (the protocol's size is a signed 32\-bit number).
.B INTREAD
holds the whole file in its session's memory (its hash and its bytes must be
one snapshot), so this bounds that memory;
.B INTWRITE
streams to a temporary file and holds nothing.
A larger file, or a larger upload (which is read and thrown away), gets the
commands' failure
.BR \-1 ,
and the refusal is logged.
"##,
        at: at!(intrw_max),
        ..KEY
    },
    Key {
        name: "walk_limit",
        arg: "n",
        section: Section::Optional,
        kind: Kind::Int { min: 1, max: u64::MAX, unit: "", zero: "" },
        default: Some("1000000"),
        summary: "Most entries one recursive listing or tree walk may visit.",
        doc: r##"The most entries a listing
.RB ( LS ,
.BR LSR )
or a tree walk
.RB ( RMDIR ,
.BR CPDIR )
visits, and the most lines
.B FSIZELS
reads from its list file; at least 1.
A listing is cut short at the limit (a warning is logged), a removal stops
(the reply is
.BR "FAILED 15" ),
a copy fails and is undone, and
.B FSIZELS
ends its answer early.
For
.BR XCOPY ,
.BR XCPDIR ,
.B XDEL
and
.BR XRMDIR ,
the entries walked and the entries copied or removed share one budget of this
size; what is left when it runs out is not done (the reply is still
.BR OK ,
and a warning is logged).
"##,
        at: at!(walk_limit),
        ..KEY
    },
];
