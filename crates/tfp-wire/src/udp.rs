//! The four UDP probes (wire-notes §5.3), pure: a datagram in, a reply out. The
//! first byte selects the probe; PROCHECK and SOCKCHECK carry a PROCKEY after it.

/// Datagrams longer than this are dropped unanswered.
pub const MAX_DATAGRAM: usize = 512;

/// A parsed probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe<'a> {
    /// 0: is the server reachable?
    Host,
    /// 1 + key: is that session alive?
    Proc(&'a [u8]),
    /// 2 + key: that session's OOB counter.
    Sock(&'a [u8]),
    /// 3: the next TLB tuple.
    Tlb,
}

/// The key after the probe byte: up to the first NUL, leading `/` dropped (glibc's
/// shm_open ignored them, so clients send the key with or without it).
fn key(rest: &[u8]) -> &[u8] {
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let k = &rest[..end];
    let start = k.iter().position(|&b| b != b'/').unwrap_or(k.len());
    &k[start..]
}

/// Parses a datagram; None for anything that gets no reply (empty, oversize,
/// unknown probe).
pub fn parse(d: &[u8]) -> Option<Probe<'_>> {
    if d.is_empty() || d.len() > MAX_DATAGRAM {
        return None;
    }
    match d[0] {
        0 => Some(Probe::Host),
        1 => Some(Probe::Proc(key(&d[1..]))),
        2 => Some(Probe::Sock(key(&d[1..]))),
        3 => Some(Probe::Tlb),
        _ => None,
    }
}

/// HOSTCHECK/PROCHECK reply: one byte, 1 or 0.
pub fn reply_flag(alive: bool) -> Vec<u8> {
    vec![alive as u8]
}

/// SOCKCHECK reply: `01` + decimal counter + NUL, or `00`.
pub fn reply_sock(counter: Option<u64>) -> Vec<u8> {
    match counter {
        Some(n) => {
            let mut v = vec![1u8];
            v.extend_from_slice(n.to_string().as_bytes());
            v.push(0);
            v
        }
        None => vec![0],
    }
}

/// UDP TLB reply: `01` + tuple + NUL (no space after the status byte), or `00`.
pub fn reply_tlb(tuple: Option<&str>) -> Vec<u8> {
    match tuple {
        Some(t) => {
            let mut v = vec![1u8];
            v.extend_from_slice(t.as_bytes());
            v.push(0);
            v
        }
        None => vec![0],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes() {
        assert_eq!(parse(&[0]), Some(Probe::Host));
        assert_eq!(parse(&[0, 9, 9]), Some(Probe::Host));
        assert_eq!(parse(b"\x01/abc"), Some(Probe::Proc(b"abc")));
        assert_eq!(parse(b"\x01abc\0junk"), Some(Probe::Proc(b"abc")));
        assert_eq!(parse(b"\x02//k"), Some(Probe::Sock(b"k")));
        assert_eq!(parse(&[3]), Some(Probe::Tlb));
        assert_eq!(parse(&[4]), None);
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&[0u8; MAX_DATAGRAM + 1]), None);
    }

    #[test]
    fn replies_match_the_reference_bytes() {
        assert_eq!(reply_flag(true), [1]);
        assert_eq!(reply_flag(false), [0]);
        assert_eq!(reply_sock(Some(0)), [1, b'0', 0]);
        assert_eq!(reply_sock(Some(12)), [1, b'1', b'2', 0]);
        assert_eq!(reply_sock(None), [0]);
        assert_eq!(reply_tlb(Some("4 10.0.0.1;1234")), b"\x014 10.0.0.1;1234\0");
        assert_eq!(reply_tlb(None), [0]);
    }
}
