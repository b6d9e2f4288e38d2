//! The keys every file needs: what clients must send, the tree, the port, the key.
use super::{at, Key, Section, KEY};
use crate::config::kind::Kind;

pub(super) const KEYS: &[Key] = &[
    Key {
        name: "proto",
        arg: "version",
        section: Section::Required,
        kind: Kind::Text { max: 31 },
        repeat: true,
        summary: "Protocol version string a client must send first. Repeat the key to accept several: the string is whatever the clients were set up with (tfd speaks the 2.5.1 command set to all of them). Clients set up for the reference server's example config send \"0.0\": add \"proto 0.0\" for those.",
        doc: r##"A protocol version string a client may send first, compared byte for byte
(bytes after a NUL in the client's frame are ignored).
1 to 31 bytes, no control characters.
Repeatable: each
.B proto
line adds a string that is accepted (the same one twice is an error).
Neither document fixes the string: it is whatever a deployment's clients were
set up with, and both the Python and the Java client take it from the
application.
tfd speaks the whole 2.5.1 command set whichever string a client sent, so one
server can accept the clients set up for 2.4.1 and those set up for 2.5.1;
the example configuration accepts
.B 2.4.1
and
.BR 2.5.1 .
Clients set up for the reference server's example configuration send
.BR 0.0 :
add
.B "proto 0.0"
for them.
A client sending anything else gets
.B FAILED 2
and is disconnected.
"##,
        example: "2.4.1\n2.5.1",
        at: at!(proto),
        ..KEY
    },
    Key {
        name: "hash",
        arg: "secret",
        section: Section::Required,
        kind: Kind::Text { max: 255 },
        secret: true,
        summary: "Shared secret a client must send after the key exchange. CHANGE THIS: anyone who knows it can open a session.",
        doc: r##"The shared secret (\(lqapplication hash\(rq) a client must send after the key
exchange; compared exactly, in constant time.
1 to 255 bytes, no control characters; blanks inside are allowed.
A client sending anything else gets
.B FAILED 3
and is disconnected.
Anyone who knows it can open a session.
A placeholder such as the example's
.B CHANGE\-ME\-to\-a\-long\-random\-secret
(any value containing
.B change\-me
or
.BR changeme ,
in any case) is refused when the file is loaded, with its
.IB file : line ,
so a server never runs with a published hash; use e.g. the output of
.BR "openssl rand \-hex 24" .
"##,
        example: "CHANGE-ME-to-a-long-random-secret",
        at: at!(hash),
        ..KEY
    },
    Key {
        name: "dbdir",
        arg: "directory",
        section: Section::Required,
        kind: Kind::Path,
        summary: "Root of the served tree. Relative paths are taken from this file's directory; it must be an existing directory.",
        doc: r##"The root of the served tree.
Every path a client names is confined beneath it.
It must exist and be a directory; it is resolved to a canonical absolute path
when the file is loaded.
"##,
        example: "/srv/tfd",
        at: at!(dbdir),
        ..KEY
    },
    Key {
        name: "port",
        arg: "number",
        section: Section::Required,
        kind: Kind::Int { min: 1, max: 65535, unit: "", zero: "" },
        summary: "TCP port (and the UDP keepalive port). May be left out only when every \"listen\" line gives its own port.",
        doc: r##"The TCP port, 1 to 65535, used by every
.B listen
address that gives none.
It may be left out only when every
.B listen
line gives its own port; the port of the first
.B listen
line then stands in for it.
"##,
        example: "10345",
        at: at!(port),
        ..KEY
    },
    Key {
        name: "privkey",
        arg: "PEM",
        section: Section::Required,
        kind: Kind::Pem { private: true },
        secret: true,
        summary: "The RSA private key inline, as the reference server's block, instead of privkey_file; the PEM text goes between the braces.",
        doc: r##"The server's RSA private key inline, as a block (see
.BR Format ).
"##,
        at: at!(privkey_pem),
        ..KEY
    },
    Key {
        name: "privkey_file",
        arg: "file",
        section: Section::Required,
        kind: Kind::Path,
        summary: "RSA private key (PEM, PKCS#1 or PKCS#8) used for the session key exchange. Exactly one key source is required: this file, or an inline privkey block. A relative path is taken from this file's directory.",
        doc: r##"The path of a PEM file holding the server's RSA private key (PKCS#1 or PKCS#8,
at most 1 MiB).
tfd refuses a file that group or others can read (at start\-up, on reload
and by
.BR \-\-check\-config ),
as sshd refuses a readable host key, and names the
.B chmod go\-rwx
that mends it.
A public key here (or in a
.B privkey
block), the usual slip of
.I pub.pem
for
.IR key.pem ,
is refused with its
.IB file : line
and a message saying so.
.PP
Exactly one of
.B privkey
and
.B privkey_file
must be given.
The key must be an RSA\-2048 key and pass its consistency check; this is
verified at start\-up, on reload and by
.BR \-\-check\-config .
When the key is given inline, the configuration file is held to the same
rule.
"##,
        example: "/etc/tfd/key.pem",
        at: at!(privkey_file),
        ..KEY
    },
];
