//! `TFDGETZ <choice> <path> <hpfile>`: GET (the same `<path> <hpfile>`,
//! the same grant, end codes and FIN) whose every data unit is one block
//! ([`super::Block`]) of at most [`data_for_grant`] bytes of data, so that
//! even a block zstd did not shrink fits the grant. Each request is a zstd
//! stream of its own (its first compressed block starts one): a resume or
//! a second request decodes afresh.

use super::{data_for_frame, Choice};
use crate::hpf::{self, HpfRequest};

/// The command.
pub const GET: &str = "TFDGETZ";

/// The argument after `TFDGETZ `: the choice's word ([`Choice::word`]),
/// then GET's own argument.
pub fn encode(choice: Choice, path: &[u8], offset: u64, bufsz: i64) -> Vec<u8> {
    let mut v = choice.word().into_bytes();
    v.push(b' ');
    v.extend_from_slice(&hpf::encode(path, offset, bufsz, None));
    v
}

/// Reads the argument: the choice (never [`Choice::Off`]: a client that
/// wants none asks GET) and GET's request.
pub fn parse(arg: &[u8]) -> Option<(Choice, HpfRequest<'_>)> {
    let space = arg.iter().position(|&b| b == b' ')?;
    let (word, rest) = (&arg[..space], &arg[space + 1..]);
    let choice = Choice::parse(std::str::from_utf8(word).ok()?).filter(|c| *c != Choice::Off)?;
    Some((choice, hpf::parse(rest, false)?))
}

/// GET's argument within a `TFDGETZ` one (after the choice's word), for a
/// server that handles it as GET's.
pub fn hpf_part(arg: &[u8]) -> Option<&[u8]> {
    parse(arg)?;
    let space = arg.iter().position(|&b| b == b' ')?;
    Some(&arg[space + 1..])
}

/// The most data a block of a request granted `grant` bytes a unit holds:
/// 0 when the grant is too small for any block.
pub fn data_for_grant(grant: usize) -> usize {
    data_for_frame(grant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_refuse_off_or_a_short_struct() {
        for c in [Choice::Auto, Choice::Force(None), Choice::Force(Some(7))] {
            let a = encode(c, b"dir/a b", 5, 1 << 20);
            let (got, r) = parse(&a).unwrap();
            assert_eq!((got, r.path, r.offset, r.bufsz), (c, &b"dir/a b"[..], 5, 1 << 20));
            assert_eq!(hpf_part(&a), Some(&hpf::encode(b"dir/a b", 5, 1 << 20, None)[..]));
        }
        assert!(parse(&encode(Choice::Off, b"a", 0, 10)).is_none());
        for bad in [
            &b""[..],
            b"auto",
            b"auto x",
            b"fast 0123456789abcdef0",
            b"\xff 0123456789abcdef0",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
        assert_eq!(data_for_grant(10), 0);
        assert!(data_for_grant(1 << 20) == super::super::MAX_DATA);
    }
}
