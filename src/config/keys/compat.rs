//! The reference server's keys: stored, proxy and load balancing, and the ignored ones.
use super::{at, at_trp, Key, Section, KEY};
use crate::config::kind::Kind;

pub(super) const KEYS: &[Key] = &[
    Key {
        name: "pubkey",
        arg: "PEM",
        section: Section::Unused,
        kind: Kind::Pem { private: false },
        shown: Some("none"),
        summary: "Public key, in the same block form. Stored only; the reference used it with the transparent proxy.",
        doc: r##"A public key, as a block (see
.BR Format ).
Stored only; the reference used it with the transparent proxy.
"##,
        at: at!(pubkey_pem),
        ..KEY
    },
    Key {
        name: "tlb",
        arg: "file",
        section: Section::Proxy,
        kind: Kind::Path,
        shown: Some("none"),
        summary: "Target list for TLB (load balancing) requests. Relative paths are taken from this file's directory.",
        doc: r##"The target list for
.B TLB
(load balancing) requests, over TCP and the UDP probe: one target a line,
.BI "4 " ipv4 ; port
or
.BI "6 " ipv6 ; port\fR,\fP
.B #
comments and blank lines skipped; a malformed line is refused at start and
reload.
Each request gets the next target in turn.
"##,
        example: "/etc/tfd/tlb",
        at: at!(tlb),
        ..KEY
    },
    Key {
        name: "trp_ipv4",
        arg: "address",
        section: Section::Proxy,
        kind: Kind::Ipv4,
        summary: "Transparent proxy: relay every connection to this IPv4 address on the same port.",
        doc: r##"Transparent proxy target, an IPv4 address.
"##,
        example: "192.0.2.10",
        at: at_trp!(V4),
        ..KEY
    },
    Key {
        name: "trp_ipv6",
        arg: "address",
        section: Section::Proxy,
        kind: Kind::Ipv6,
        summary: "Transparent proxy target, an IPv6 address.",
        doc: r##"Transparent proxy target, an IPv6 address.
"##,
        example: "2001:db8::10",
        at: at_trp!(V6),
        ..KEY
    },
    Key {
        name: "trp_dns",
        arg: "host",
        section: Section::Proxy,
        kind: Kind::Host,
        shown: Some("none (serve locally)"),
        summary: "Transparent proxy target, a host name. At most one of trp_ipv4, trp_ipv6, trp_dns.",
        doc: r##"Transparent proxy target, a host name (labels of 1 to 63 letters, digits,
.B \-
and
.BR _ ,
not starting or ending with
.BR \- ;
at most 253 bytes; an optional final dot).
.IP
At most one of
.BR trp_ipv4 ,
.B trp_ipv6
and
.B trp_dns
may be given.
"##,
        example: "backend.example.net",
        at: at_trp!(Dns),
        ..KEY
    },
    Key {
        name: "faipath",
        section: Section::Ignored,
        kind: Kind::Ignored,
        summary: "Accepted for compatibility, ignored.",
        doc: r##"Ignored: the token directory is
.BR fai_dir ,
which tfd keeps root-only (the reference's may be any directory).
"##,
        at: None,
        ..KEY
    },
    Key {
        name: "xsntmex",
        section: Section::Ignored,
        kind: Kind::Ignored,
        summary: "Accepted for compatibility, ignored.",
        doc: r##"Ignored.
"##,
        at: None,
        ..KEY
    },
    Key {
        name: "xsace",
        section: Section::Ignored,
        kind: Kind::Ignored,
        summary: "Accepted for compatibility, ignored.",
        doc: r##"Ignored.
"##,
        at: None,
        ..KEY
    },
    Key {
        name: "rpcproxy",
        section: Section::Ignored,
        kind: Kind::Ignored,
        summary: "Accepted for compatibility, ignored.",
        doc: r##"Ignored.
"##,
        at: None,
        ..KEY
    },
    Key {
        name: "nprocmax",
        section: Section::Ignored,
        kind: Kind::Ignored,
        summary: "Accepted for compatibility, ignored.",
        doc: r##"Ignored.
"##,
        at: None,
        ..KEY
    },
    Key {
        name: "securefs",
        section: Section::Ignored,
        kind: Kind::Ignored,
        summary: "Accepted for compatibility, ignored.",
        doc: r##"Ignored.
"##,
        at: None,
        ..KEY
    },
    Key {
        name: "diskspace",
        section: Section::Ignored,
        kind: Kind::Ignored,
        summary: "Accepted for compatibility, ignored.",
        doc: r##"Ignored.
"##,
        at: None,
        ..KEY
    },
];
