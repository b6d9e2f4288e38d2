//! The PROXY protocol, versions 1 and 2 (HAProxy's `send-proxy` and
//! `send-proxy-v2`): the header a balancer writes before the client's first byte,
//! naming the client's real address. Pure: the listener peeks at the bytes and
//! asks [`parse`] whether they hold a whole header yet, so it can consume exactly
//! the header and leave the client's own bytes in the socket.
//!
//! Bounds: a version 1 line is at most [`V1_MAX`] bytes (the specification's own
//! limit), a version 2 header at most [`V2_MAX`] (its address block plus a little
//! room for TLVs, which tfd reads past and ignores).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The longest version 1 line, CRLF included (the specification's bound).
pub const V1_MAX: usize = 107;
/// The version 2 signature.
pub const V2_SIG: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The longest version 2 header tfd reads: 16 fixed bytes and 512 of addresses
/// and TLVs (HAProxy sends 12 or 36 bytes of addresses and a few TLVs).
pub const V2_MAX: usize = 16 + 512;
/// The most bytes a caller must have read to decide: the larger bound.
pub const MAX_HEADER: usize = V2_MAX;

/// Which version a header was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// The text form.
    V1,
    /// The binary form.
    V2,
}

/// A whole header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Its length in bytes: what the caller consumes.
    pub len: usize,
    /// Its version.
    pub version: Version,
    /// The client's address and the address it reached; None for a header that
    /// names none (v1 `UNKNOWN`, v2 `LOCAL`, an unspecified or UNIX family): the
    /// connection's own addresses stand, as the specification says.
    pub addrs: Option<(SocketAddr, SocketAddr)>,
}

/// What the bytes read so far hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// The start of a header, not yet all of it.
    Incomplete,
    /// A whole header.
    Complete(Header),
}

/// Why the bytes are no header tfd accepts.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyError {
    /// The bytes do not start with either version's signature.
    NotProxy,
    /// A header, but not a well-formed one (the text says what).
    Malformed(&'static str),
    /// Longer than [`V1_MAX`] / [`V2_MAX`].
    TooLong,
}

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProxyError::NotProxy => write!(f, "no PROXY header"),
            ProxyError::Malformed(why) => write!(f, "malformed PROXY header: {why}"),
            ProxyError::TooLong => write!(f, "PROXY header too long"),
        }
    }
}

const V1_SIG: &[u8] = b"PROXY ";

/// True if `data` (however little of it) could be the start of a header: what
/// a connection from an untrusted address must not begin with.
pub fn looks_like(data: &[u8]) -> bool {
    let n = data.len().min(V1_SIG.len());
    let m = data.len().min(V2_SIG.len());
    !data.is_empty() && (data[..n] == V1_SIG[..n] || data[..m] == V2_SIG[..m])
}

/// Parses the header at the start of `data`.
pub fn parse(data: &[u8]) -> Result<Parsed, ProxyError> {
    if data.is_empty() {
        return Ok(Parsed::Incomplete);
    }
    let n = data.len().min(V2_SIG.len());
    if data[..n] == V2_SIG[..n] {
        return if data.len() < 16 {
            Ok(Parsed::Incomplete)
        } else {
            parse_v2(data)
        };
    }
    let n = data.len().min(V1_SIG.len());
    if data[..n] == V1_SIG[..n] {
        return parse_v1(data);
    }
    Err(ProxyError::NotProxy)
}

fn parse_v1(data: &[u8]) -> Result<Parsed, ProxyError> {
    let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
        if data.len() >= V1_MAX {
            return Err(ProxyError::TooLong);
        }
        // a bare LF before the CRLF is no line of this protocol
        if data.contains(&b'\n') {
            return Err(ProxyError::Malformed("line not ended by CRLF"));
        }
        return Ok(Parsed::Incomplete);
    };
    let len = end + 2;
    if len > V1_MAX {
        return Err(ProxyError::TooLong);
    }
    let line = std::str::from_utf8(&data[V1_SIG.len()..end]).map_err(|_| ProxyError::Malformed("not text"))?;
    let fields: Vec<&str> = line.split(' ').collect();
    let addrs = match fields.as_slice() {
        // UNKNOWN may be followed by anything, which receivers ignore
        ["UNKNOWN", ..] => None,
        ["TCP4", src, dst, sport, dport] => {
            let ip = |s: &str| s.parse::<Ipv4Addr>().map(IpAddr::V4);
            Some(addr_pair(ip(src), ip(dst), sport, dport)?)
        }
        ["TCP6", src, dst, sport, dport] => {
            let ip = |s: &str| s.parse::<Ipv6Addr>().map(IpAddr::V6);
            Some(addr_pair(ip(src), ip(dst), sport, dport)?)
        }
        _ => return Err(ProxyError::Malformed("fields")),
    };
    Ok(Parsed::Complete(Header {
        len,
        version: Version::V1,
        addrs,
    }))
}

fn addr_pair<E>(
    src: Result<IpAddr, E>,
    dst: Result<IpAddr, E>,
    sport: &str,
    dport: &str,
) -> Result<(SocketAddr, SocketAddr), ProxyError> {
    let (Ok(src), Ok(dst)) = (src, dst) else {
        return Err(ProxyError::Malformed("address"));
    };
    Ok((SocketAddr::new(src, port(sport)?), SocketAddr::new(dst, port(dport)?)))
}

/// A v1 port: 1 to 5 decimal digits, no sign, no leading zero but for `0` itself.
fn port(s: &str) -> Result<u16, ProxyError> {
    let bad = ProxyError::Malformed("port");
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return Err(bad);
    }
    s.parse().map_err(|_| bad)
}

fn parse_v2(data: &[u8]) -> Result<Parsed, ProxyError> {
    let ver_cmd = data[12];
    let fam = data[13];
    let body = u16::from_be_bytes([data[14], data[15]]) as usize;
    if ver_cmd >> 4 != 2 {
        return Err(ProxyError::Malformed("version"));
    }
    let len = 16 + body;
    if len > V2_MAX {
        return Err(ProxyError::TooLong);
    }
    if data.len() < len {
        return Ok(Parsed::Incomplete);
    }
    let block = &data[16..len];
    let local = match ver_cmd & 0x0f {
        0 => true,
        1 => false,
        _ => return Err(ProxyError::Malformed("command")),
    };
    let need = match fam >> 4 {
        0 => 0,
        1 => 12,
        2 => 36,
        3 => 216,
        _ => return Err(ProxyError::Malformed("family")),
    };
    if block.len() < need {
        return Err(ProxyError::Malformed("address block shorter than its family"));
    }
    let transport = fam & 0x0f;
    if transport > 2 {
        return Err(ProxyError::Malformed("transport"));
    }
    let addrs = if local || need == 0 || need == 216 {
        None
    } else if transport != 1 {
        // a datagram (or unspecified) client on a TCP connection: nothing of ours
        return Err(ProxyError::Malformed("not a stream"));
    } else if need == 12 {
        let ip = |o: usize| IpAddr::V4(Ipv4Addr::new(block[o], block[o + 1], block[o + 2], block[o + 3]));
        let port = |o: usize| u16::from_be_bytes([block[o], block[o + 1]]);
        Some((SocketAddr::new(ip(0), port(8)), SocketAddr::new(ip(4), port(10))))
    } else {
        let ip = |o: usize| {
            let mut b = [0u8; 16];
            b.copy_from_slice(&block[o..o + 16]);
            IpAddr::V6(Ipv6Addr::from(b))
        };
        let port = |o: usize| u16::from_be_bytes([block[o], block[o + 1]]);
        Some((SocketAddr::new(ip(0), port(32)), SocketAddr::new(ip(16), port(34))))
    };
    Ok(Parsed::Complete(Header {
        len,
        version: Version::V2,
        addrs,
    }))
}

/// The version 1 line for `addrs` (UNKNOWN for None, or for a mixed pair).
pub fn encode_v1(addrs: Option<(SocketAddr, SocketAddr)>) -> Vec<u8> {
    match addrs {
        Some((s, d)) if s.is_ipv4() == d.is_ipv4() => {
            let fam = if s.is_ipv4() { "TCP4" } else { "TCP6" };
            format!("PROXY {fam} {} {} {} {}\r\n", s.ip(), d.ip(), s.port(), d.port()).into_bytes()
        }
        _ => b"PROXY UNKNOWN\r\n".to_vec(),
    }
}

/// The version 2 header for `addrs` (LOCAL for None, or for a mixed pair).
pub fn encode_v2(addrs: Option<(SocketAddr, SocketAddr)>) -> Vec<u8> {
    let mut out = V2_SIG.to_vec();
    let mut block = Vec::new();
    match addrs {
        Some((SocketAddr::V4(s), SocketAddr::V4(d))) => {
            out.extend_from_slice(&[0x21, 0x11]);
            block.extend_from_slice(&s.ip().octets());
            block.extend_from_slice(&d.ip().octets());
            block.extend_from_slice(&s.port().to_be_bytes());
            block.extend_from_slice(&d.port().to_be_bytes());
        }
        Some((SocketAddr::V6(s), SocketAddr::V6(d))) => {
            out.extend_from_slice(&[0x21, 0x21]);
            block.extend_from_slice(&s.ip().octets());
            block.extend_from_slice(&d.ip().octets());
            block.extend_from_slice(&s.port().to_be_bytes());
            block.extend_from_slice(&d.port().to_be_bytes());
        }
        _ => out.extend_from_slice(&[0x20, 0x00]),
    }
    out.extend_from_slice(&(block.len() as u16).to_be_bytes());
    out.extend_from_slice(&block);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(data: &[u8]) -> Header {
        match parse(data) {
            Ok(Parsed::Complete(h)) => h,
            other => panic!("{other:?} for {data:?}"),
        }
    }

    #[test]
    fn v1_forms() {
        let h = complete(b"PROXY TCP4 203.0.113.7 127.0.0.1 51000 10345\r\nrest");
        assert_eq!(h.len, 46);
        assert_eq!(h.version, Version::V1);
        assert_eq!(h.addrs.unwrap().0, "203.0.113.7:51000".parse().unwrap());
        let h = complete(b"PROXY TCP6 2001:db8::1 ::1 1 65535\r\n");
        assert_eq!(h.addrs.unwrap().0, "[2001:db8::1]:1".parse().unwrap());
        assert_eq!(complete(b"PROXY UNKNOWN\r\n").addrs, None);
        assert_eq!(complete(b"PROXY UNKNOWN ffff::1 ::1 1 2\r\n").addrs, None);
        assert_eq!(parse(b"PROXY TCP4 1.2.3.4"), Ok(Parsed::Incomplete));
        assert_eq!(parse(b"PRO"), Ok(Parsed::Incomplete));
        for bad in [
            &b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"[..],
            b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
            b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n",
            b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
            b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
            b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
        ] {
            assert!(matches!(parse(bad), Err(ProxyError::Malformed(_))), "{bad:?}");
        }
        let long = [b"PROXY UNKNOWN ".as_slice(), &[b'x'; 120]].concat();
        assert_eq!(parse(&long), Err(ProxyError::TooLong));
        assert_eq!(parse(b"0.0 TF"), Err(ProxyError::NotProxy));
    }

    #[test]
    fn v2_forms() {
        let a: SocketAddr = "203.0.113.7:51000".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:10345".parse().unwrap();
        let mut h = encode_v2(Some((a, b)));
        assert_eq!(h.len(), 28);
        h.extend_from_slice(b"client bytes");
        assert_eq!(complete(&h).addrs, Some((a, b)));
        assert_eq!(complete(&h).len, 28);
        for cut in 0..28 {
            assert_eq!(parse(&h[..cut]), Ok(Parsed::Incomplete), "{cut}");
        }
        let six: (SocketAddr, SocketAddr) = ("[2001:db8::7]:1".parse().unwrap(), "[::1]:2".parse().unwrap());
        assert_eq!(complete(&encode_v2(Some(six))).addrs, Some(six));
        assert_eq!(complete(&encode_v2(None)).addrs, None);
        // TLVs after the addresses are read past
        let mut t = encode_v2(Some((a, b)));
        t[15] += 7;
        t.extend_from_slice(&[0x04, 0x00, 0x04, 1, 2, 3, 4]);
        assert_eq!(complete(&t).len, 35);
        // bad version, command, family, short block, too long
        let mut v = encode_v2(Some((a, b)));
        v[12] = 0x11;
        assert!(matches!(parse(&v), Err(ProxyError::Malformed(_))));
        let mut v = encode_v2(Some((a, b)));
        v[12] = 0x22;
        assert!(matches!(parse(&v), Err(ProxyError::Malformed(_))));
        let mut v = encode_v2(Some((a, b)));
        v[13] = 0x12;
        assert!(matches!(parse(&v), Err(ProxyError::Malformed(_))));
        let mut v = encode_v2(Some((a, b)));
        v[13] = 0x21;
        assert!(matches!(parse(&v), Err(ProxyError::Malformed(_))));
        let mut v = encode_v2(Some((a, b)));
        v[14] = 0xff;
        assert_eq!(parse(&v), Err(ProxyError::TooLong));
    }

    #[test]
    fn signatures() {
        assert!(looks_like(b"P"));
        assert!(looks_like(b"PROXY TCP4"));
        assert!(looks_like(&V2_SIG[..3]));
        assert!(!looks_like(b"0.0"));
        assert!(!looks_like(b""));
        assert_eq!(
            encode_v1(Some(("1.2.3.4:5".parse().unwrap(), "6.7.8.9:10".parse().unwrap()))),
            b"PROXY TCP4 1.2.3.4 6.7.8.9 5 10\r\n"
        );
    }
}
