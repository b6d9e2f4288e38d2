//! The rows of tf's global option table, in the order `tf --help` and tf(1)
//! show them.
use super::row::{BadValue, FileKey, Opt, Scope, Settings, Store};
use tfp_client::dial::Family;
use tfp_client::Transport;

/// The fields most rows leave as they are.
const OPT: Opt = Opt {
    names: &[],
    value: "",
    missing: "",
    help: "",
    doc: "",
    env: None,
    file: None,
    scope: Scope::Connection,
    store: Store::Flag(|_| {}),
};

fn set(field: &mut Option<String>, v: String) -> Result<(), BadValue> {
    *field = Some(v);
    Ok(())
}

fn keylen(s: &mut Settings, v: String) -> Result<(), BadValue> {
    match v.parse() {
        Ok(n) if (16..=214).contains(&n) => s.keylen = Some(n),
        _ => return Err("--keylen needs a number 16..214".into()),
    }
    Ok(())
}

fn timeout(s: &mut Settings, v: String) -> Result<(), BadValue> {
    match v.parse() {
        Ok(n) if (1..=86_400).contains(&n) => s.timeout = Some(n),
        _ => return Err("--timeout needs a number of seconds 1..86400".into()),
    }
    Ok(())
}

fn compression(s: &mut Settings, v: String) -> Result<(), BadValue> {
    match tfp_wire::compress::Choice::parse(&v) {
        Some(c) => s.compress = Some(c),
        None => return Err("--compression needs auto, yes, no or a level 1..19".into()),
    }
    Ok(())
}

fn bwlimit(s: &mut Settings, v: String) -> Result<(), BadValue> {
    let limit = tfp_client::bwlimit::Limit::parse(&v).map_err(|e| format!("--bwlimit: {e}"))?;
    s.bwlimit = Some(limit);
    Ok(())
}

fn retries(s: &mut Settings, v: String) -> Result<(), BadValue> {
    match v.parse() {
        Ok(n) if n <= 100 => s.retries = Some(n),
        _ => return Err("--retries needs a number 0..100".into()),
    }
    Ok(())
}

/// Every global option.
pub static OPTIONS: &[Opt] = &[
    Opt {
        names: &["--server"],
        value: "HOST:PORT",
        help: "the tfd server",
        doc: r##"The server to connect to.
.I host
may be a name or an address (an IPv6 address in brackets); the first address
it resolves to is used.
"##,
        env: Some("TF_SERVER"),
        file: Some(FileKey {
            name: "server",
            home: false,
            doc: r##".IR host : port ,
as
.BR \-\-server .
"##,
        }),
        store: Store::Value(|s, v| set(&mut s.server, v)),
        ..OPT
    },
    Opt {
        names: &["--key"],
        value: "FILE",
        help: "the server's RSA public key (PEM); without it, the key pinned in\n$XDG_CONFIG_HOME/tf/known_servers (asked of the server and pinned\non first contact)",
        doc: r##"The server's RSA public key, in PEM form (a
.B PUBLIC KEY
or
.B RSA PUBLIC KEY
block); for
.BR "tfd demo" ,
the
.I pub.pem
file in the demo folder.
Without it,
.B tf
uses the key pinned for the server in the known servers file, and on a first
contact asks the server for its key (see
.BR "KNOWN SERVERS" ).
A given key is used as it is, whatever is pinned.
"##,
        env: Some("TF_KEY"),
        file: Some(FileKey {
            name: "key",
            home: true,
            doc: r##"The server's public key file, as
.BR \-\-key
.RI ( ~/
at its start is the home directory).
"##,
        }),
        store: Store::Value(|s, v| set(&mut s.key, v)),
        ..OPT
    },
    Opt {
        names: &["--accept-new"],
        help: "without --key, pin the key of a server not yet in\n$XDG_CONFIG_HOME/tf/known_servers without asking (as ssh's\nStrictHostKeyChecking=accept-new)",
        doc: r##"Without
.BR \-\-key ,
a server not yet in the known servers file (see
.BR "KNOWN SERVERS" )
has its key fetched, shown by its fingerprint and pinned without asking, as
.BR ssh 's
.BR StrictHostKeyChecking=accept\-new .
Without this option
.B tf
asks on the terminal, and refuses when there is none.
A server whose key differs from its pin is refused either way.
"##,
        file: Some(FileKey {
            name: "accept_new",
            home: false,
            doc: r##".B yes
or
.BR no ,
as
.BR \-\-accept\-new .
"##,
        }),
        store: Store::Flag(|s| s.accept_new = true),
        ..OPT
    },
    Opt {
        names: &["--hash"],
        value: "HASH",
        help: "the application hash the server expects",
        doc: r##"The application hash the server expects (its
.B hash
key).
"##,
        env: Some("TF_HASH"),
        file: Some(FileKey {
            name: "hash",
            home: false,
            doc: r##"As
.BR \-\-hash .
"##,
        }),
        store: Store::Value(|s, v| set(&mut s.hash, v)),
        ..OPT
    },
    Opt {
        names: &["--proto"],
        value: "VERSION",
        help: "protocol version (default 2.4.1)",
        doc: r##"The protocol version string to send (default
.BR 2.4.1 ).
"##,
        env: Some("TF_PROTO"),
        store: Store::Value(|s, v| set(&mut s.proto, v)),
        ..OPT
    },
    Opt {
        names: &["--keylen"],
        value: "N",
        help: "session key length 16..214 (default 32)",
        doc: r##"The length of the random session key, 16 to 214 bytes (default 32).
Any other value is a usage error.
"##,
        store: Store::Value(keylen),
        ..OPT
    },
    Opt {
        names: &["--aes"],
        help: "switch the session to AES-256-CBC (GOAES) after the handshake",
        doc: r##"Right after the handshake, switch the session to AES\-256\-CBC with a fresh
random key and IV
.RB ( GOAES ;
every connection of a parallel
.B put
or
.B get
does the same).
A server that refuses it (an older server answers
.BR UNKNOWN )
is an error.
Note that AES\-CBC here has no integrity check either: it hides the data from
a passive listener, like the default cipher, but does not detect tampering.
"##,
        store: Store::Flag(|s| s.aes = true),
        ..OPT
    },
    Opt {
        names: &["--secure"],
        help: "insist on tfd's secure transport (authenticated, forward secret);\nby default it is used whenever the server offers it",
        doc: r##"Insist on tfd's secure transport: after the handshake
.B tf
sends
.B TFDSECURE
and moves the session to authenticated, forward\-secret records (see
.BR tfd (8),
SECURITY); a server that does not offer it is an error.
Without this option
.B tf
uses the secure transport whenever the server offers it and otherwise goes on
with the protocol's own cipher.
A reply to the upgrade that does not prove knowledge of the session key is
always an error (someone may be tampering with the connection).
"##,
        store: Store::Flag(|s| s.transport = Some(Transport::Require)),
        ..OPT
    },
    Opt {
        names: &["--legacy"],
        help: "never use it: the protocol's own cipher only",
        doc: r##"Never use the secure transport: the protocol's own cipher only (as with a
server that predates it).
"##,
        store: Store::Flag(|s| s.transport = Some(Transport::Legacy)),
        ..OPT
    },
    Opt {
        names: &["-v", "--verbose"],
        help: "say on stderr which transport the session uses, and what a tree run\nleft out where the ends do not allow it (owners)",
        doc: r##"Say on standard error which transport the session uses
.RB ( "tf: transport: Noise_NNpsk0_25519_AESGCM_SHA256" ,
or
.BR legacy ),
and, in one line, what
.BR "put \-r" ,
.B "get \-r"
or
.B mirror
left out because an end does not allow it and rsync leaves out silently
(owners and groups where the receiving side may not give them).
"##,
        store: Store::Flag(|s| s.verbose = true),
        ..OPT
    },
    Opt {
        names: &["--progress"],
        help: "draw the progress bar even when stderr is not a terminal",
        doc: r##"Draw the progress bar of a transfer or a tree run on standard error even
when it is not a terminal (a log file, a pipe, a terminal multiplexer's
capture): by default the bar is drawn only on a terminal, so a script
reading standard error gets no carriage returns.
"##,
        store: Store::Flag(|s| s.progress = true),
        ..OPT
    },
    Opt {
        names: &["--fai"],
        help: "Fast Access: connect with the token cached in $XDG_CACHE_HOME/tf\n(else ~/.cache/tf) instead of RSA; without one, ask FAITOK for one",
        doc: r##"Connect through the Fast Access Interface, without the RSA step.
.B tf
keeps one Fast Access token per server, hash, user and jail in
.I $XDG_CACHE_HOME/tf
(else
.IR ~/.cache/tf ),
mode 0600 in a directory of mode 0700.
With a cached token it sends
.BI FAI:// token
instead of the version and stores at once the next key the server sends (each
key opens one session).
Without one, or when the server refuses it (expired, revoked, or already
used), it makes the ordinary handshake and asks
.B FAITOK
for a new token of the server's longest validity
.RB ( FAIMQ ),
cached for the next run.
The token opens sessions as the user and in the jail of the session that got
it; a server whose sessions run as root issues none.
When no token comes, a note on standard error gives the server's answer to
.B FAITOK
(its log says why: a root session, the Fast Access Interface off, a token
directory it cannot write, ...) or why the token could not be cached, and the
command goes on over the RSA session.
Parallel
.B \-\-streams
connections still use RSA.
"##,
        store: Store::Flag(|s| s.fai = true),
        ..OPT
    },
    Opt {
        names: &["--timeout"],
        value: "SECONDS",
        help: "seconds to wait for the server at each step (default 30)",
        doc: r##"How long to wait for the server at each step: connecting, and every read and
write (1 to 86400; default 30).
A server that accepts the connection but never answers is reported as
.RI \(lq host : port
timed out after
.I seconds
s\(rq.
"##,
        store: Store::Value(timeout),
        ..OPT
    },
    Opt {
        names: &["--user"],
        value: "NAME",
        help: "LOGIN as NAME (a multi-user server); the password is asked for\nwithout echo on the terminal, or read from TF_PASSWORD, or from\nthe first line of --password-file FILE; never from the command line",
        doc: r##"Log in as
.I name
right after the handshake
.RB ( LOGIN ;
a multi\-user server, one with a
.B userdb
and no
.BR defusr ,
accepts nothing else first).
The password is read from the file of
.B \-\-password\-file
when given, else from the environment variable
.BR TF_PASSWORD ,
else asked for on the terminal
.RI ( /dev/tty )
with echo off.
It is never taken from the command line, where every user could read it in
the process list, and
.B tf
prints it nowhere.
A refused login (wrong name or password) is reported as such, with exit
status 1; the server refuses an address or name for a while after several
failures.
"##,
        env: Some("TF_USER"),
        file: Some(FileKey {
            name: "user",
            home: false,
            doc: r##"As
.BR \-\-user .
"##,
        }),
        store: Store::Value(|s, v| set(&mut s.user, v)),
        ..OPT
    },
    Opt {
        names: &["--compression"],
        value: "WHEN",
        help: "compress with zstd: auto (by measurement, the default), yes, no, or a\nlevel 1..19; a command's own choice wins",
        doc: r##"Whether the transfers compress their data with zstd where tfd offers it
(doc/compatibility.md, "Compression"):
.B auto
(the default: only over a slow link, block by block as it pays),
.B yes
(whatever the link),
.B no
(never), or a level, 1 to 19 (whatever the link, at that level).
A command's
.BR \-z ,
.B \-\-compress
and
.B \-\-no\-compress
win over it.
"##,
        file: Some(FileKey {
            name: "compress",
            home: false,
            doc: r##"As
.BR \-\-compression .
"##,
        }),
        store: Store::Value(compression),
        ..OPT
    },
    // gentleness: how much of the link a run takes, how it meets a broken
    // connection, which address family it uses
    Opt {
        names: &["--bwlimit"],
        value: "RATE",
        help: "at most RATE bytes a second each way for the whole run, all its sessions\nand streams together (as rsync: a plain number is KiB/s; K, M, G; 0: none;\na timetable as rclone's: \"08:00,1M 19:00,off\", \"Mon-08:00,512K Fri-19:00,off\");\nalso among a transfer's words, after its command, as rsync takes it anywhere",
        doc: r##"Move at most
.I rate
bytes a second in each direction, for the whole run: every session and
connection it opens (the
.B \-\-jobs
sessions of a tree or a mirror, the connections of
.BR \-\-streams )
draws from one token bucket, an upload paced as it writes and a download as
it reads. As
.BR rsync 's
.BR \-\-bwlimit ,
a plain number is KiB a second, and a suffix says otherwise:
.BR K ,
.BR M ,
.B G
(KiB, MiB, GiB),
.BR KB ,
.BR MB ,
.B GB
(powers of 1000),
.B B
(bytes); a fraction may be given
.RB ( 1.5M );
.B 0
or
.B off
is no limit, and the least limit is 512 bytes a second. The rate holds on
average over the run; up to 50 ms of it may pass at once.
As
.BR rclone 's,
.I rate
may be a timetable of
.IB hh : mm , rate
entries separated by spaces, each rate holding from its time of day (the
local clock) until the next entry's, the last past midnight until the first:
.B \-\-bwlimit \(dq08:00,1M 19:00,off\(dq
moves at most 1 MiB a second by day and without a limit at night, a run
going on across 19:00 changing pace then (within 10 s).
An entry may name a weekday first, as rclone's do,
.IB day \- hh : mm , rate
.RB ( Mon
to
.BR Sun ,
or the whole name): the timetable is then a week's, each rate holding until
the next entry of the week, and an entry without a day holds on every day:
.B \-\-bwlimit \(dqMon\-08:00,512K Fri\-19:00,off\(dq
limits the working week from Monday morning and nothing from Friday evening.
As rsync takes it anywhere on its line, a transfer command
.RB ( put ,
.BR get ,
.BR mirror ,
.BR backup ,
.BR restore
and the others of its part of the help) takes it among its own words too,
after the command, with the same meaning
.RB ( "tf put big.iso isos/ \-\-bwlimit 1M" ).
"##,
        file: Some(FileKey {
            name: "bwlimit",
            home: false,
            doc: r##"As
.BR \-\-bwlimit .
"##,
        }),
        store: Store::Value(bwlimit),
        ..OPT
    },
    Opt {
        names: &["--retries"],
        value: "N",
        help: "when the connection breaks during put, get or mirror, connect again and\ncontinue, up to N times (default 0), waiting 1, 2, 4... s between",
        doc: r##"When the connection breaks during a
.BR put ,
.B get
or
.B mirror
(the server's session ended, the network cut it; tf's own session or one of the
\-\-jobs
sessions of a tree or a mirror), connect again and continue,
up to
.I n
times (0 to 100; default 0), waiting 1 s before the first try, then twice as
long each time, at most 30 s: a
.B get
continues its partials as
.B \-\-resume
does, a
.B put
continues the stage a
.B \-\-streams
upload left and sends nothing onto a remote file that is already the same, a
.B put \-r
or
.B get \-r
continues into the destination the first try made (as running the command
again does), and a
.B mirror
moves what is still different. What it did is said on standard error (a
try that another follows prints no command to continue it: tf runs it), and
the summary says how many tries it took. A run that ended otherwise (a
refusal, a local error, an interrupt) is not tried again.
"##,
        file: Some(FileKey {
            name: "retries",
            home: false,
            doc: r##"As
.BR \-\-retries .
"##,
        }),
        store: Store::Value(retries),
        ..OPT
    },
    Opt {
        names: &["-4", "--ipv4"],
        help: "connect over IPv4 only",
        doc: r##"Connect over IPv4 only, as
.B ssh \-4
and
.B rsync \-4
do: a server name without an IPv4 address is refused with a sentence.
The later of
.B \-4
and
.B \-6
wins.
"##,
        store: Store::Flag(|s| s.family = Some(Family::V4)),
        ..OPT
    },
    Opt {
        names: &["-6", "--ipv6"],
        help: "connect over IPv6 only",
        doc: r##"Connect over IPv6 only, as
.B ssh \-6
and
.B rsync \-6
do: a server name without an IPv6 address is refused with a sentence.
"##,
        store: Store::Flag(|s| s.family = Some(Family::V6)),
        ..OPT
    },
    Opt {
        names: &["--password-file"],
        value: "FILE",
        help: "the file holding the password of --user",
        doc: r##"The password of
.BR \-\-user :
the first line of
.I file
(without its line end).
Keep the file mode 0600.
"##,
        file: Some(FileKey {
            name: "password_file",
            home: true,
            doc: r##"As
.BR \-\-password\-file .
The password itself has no key: it does not belong in a file others may be
shown.
"##,
        }),
        store: Store::Value(|s, v| set(&mut s.password_file, v)),
        ..OPT
    },
    Opt {
        names: &["-i", "--identity"],
        value: "FILE",
        missing: "-i needs a key file (an OpenSSH private key, as ssh -i takes)",
        help: "log in with this OpenSSH key (default: ssh-agent's keys,\nthen ~/.ssh/id_ed25519, id_ecdsa, id_rsa)",
        doc: r##"Log in as
.B \-\-user
with the OpenSSH private key in
.I file
(as
.B ssh \-i
takes it) instead of the default keys: those of a running
.BR ssh\-agent (1)
.RB ( SSH_AUTH_SOCK ),
then
.IR ~/.ssh/id_ed25519 ,
.I id_ecdsa
and
.IR id_rsa .
A key under a passphrase asks for it on the terminal, once the server has
accepted the key.
The password is asked (or taken from
.B \-\-password\-file
or
.BR TF_PASSWORD )
only when no key was accepted;
.B \-v
names the key that logged in.
Key login needs the secure transport and a server whose
.B authorized_keys_dir
holds the key for the user (see
.BR "tfpasswd key add" ).
Without
.BR \-\-user ,
the same keys (this one alone when given) are offered to a single\-user
server that asks for a key login (its
.B authorized_keys
setting, see
.BR tfd.conf (5));
when it accepts none, tf says so in one sentence.
"##,
        file: Some(FileKey {
            name: "identity",
            home: true,
            doc: r##"As
.BR \-\-identity .
"##,
        }),
        store: Store::Value(|s, v| set(&mut s.identity, v)),
        ..OPT
    },
    Opt {
        names: &["--jail"],
        value: "TOKEN:DIR",
        help: "INJAIL into DIR (its jail.key holds TOKEN) after the LOGIN",
        doc: r##"After the login (or right after the handshake on a single\-user server),
confine the session to the directory
.I dir
.RB ( "INJAIL \fItoken\fP | \fIdir\fP" );
its
.I jail.key
file must hold
.I token
as one of its lines.
Paths are then relative to
.IR dir .
A server with
.B injail
set accepts nothing else first.
"##,
        env: Some("TF_JAIL"),
        file: Some(FileKey {
            name: "jail",
            home: false,
            doc: r##".IR token : dir ,
as
.BR \-\-jail .
"##,
        }),
        store: Store::Value(|s, v| set(&mut s.jail, v)),
        ..OPT
    },
    Opt {
        names: &["-s", "--named"],
        value: "NAME",
        missing: "-s needs the name of a server in the config file",
        help: "the server [NAME] of $XDG_CONFIG_HOME/tf/config (else\n~/.config/tf/config): server, key, hash, user, jail,\npassword_file, options; given options win over it",
        doc: r##"Take the connection settings from the section
.BI [ name ]
of the configuration file (see
.BR "CONFIGURATION FILE" ).
Options given on the command line win over the section, and the section over
the environment.
"##,
        scope: Scope::Invocation,
        store: Store::Value(|s, v| set(&mut s.named, v)),
        ..OPT
    },
    Opt {
        names: &["-b", "--batch"],
        value: "FILE",
        missing: "-b needs a file of commands ('-' for stdin)",
        help: "run the shell commands of FILE ('-': stdin), one a line, each echoed\non stderr (tf> LINE), stopping at the first failure unless its line starts with '-'",
        doc: r##"Run the commands of
.I file
.RB ( \- :
standard input), one a line, on one session, in the language of
.B tf shell
(see
.BR "Shell and batch" ).
The batch stops at the first command that fails, with that command's exit
status, unless the line starts with
.BR \- ;
empty lines and lines starting with
.B #
are skipped.
Each command is echoed on standard error before it runs, as
.B sftp \-b
does
.RB ( "tf> " \fIline\fP ),
so that a transcript shows which command said what (standard output keeps
only what the commands print, such as a file got to
.BR \- ).
No command may follow
.BR \-b .
"##,
        scope: Scope::Invocation,
        store: Store::Value(|s, v| set(&mut s.batch, v)),
        ..OPT
    },
    Opt {
        names: &["-h", "--help"],
        help: "this help",
        doc: r##"Print a usage summary and exit with status 0.
"##,
        scope: Scope::Invocation,
        store: Store::Flag(|s| s.help = true),
        ..OPT
    },
    Opt {
        names: &["-V", "--version"],
        help: "print tf's version and exit",
        doc: r##"Print
.B tf
and its version (as
.BR "tf 0.1.0" )
and exit with status 0.
"##,
        scope: Scope::Invocation,
        store: Store::Flag(|s| s.version = true),
        ..OPT
    },
    Opt {
        names: &["--password"],
        store: Store::Refuse(
            "there is no --password: a password on the command line is visible to every \
             user in the process list; use the prompt, TF_PASSWORD or --password-file",
        ),
        ..OPT
    },
];
