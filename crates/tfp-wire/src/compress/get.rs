//! `TFDGETZ <choice> <path> <hpfile>`: GET (the same `<path> <hpfile>`,
//! the same grant, end codes and FIN) whose every data unit is one block
//! ([`super::Block`]) of at most [`data_for_grant`] bytes of data, so that
//! even a block zstd did not shrink fits the grant. Each request is a zstd
//! stream of its own (its first compressed block starts one): a resume or
//! a second request decodes afresh.
//!
//! `TFDGETCANZ <choice> <path> <hpfilecan>`: the ranged form, GETCAN (the
//! same struct, the client's word after every `canpt` chunks, no FIN) whose
//! every chunk is one block of exactly the grant's data (fewer at the end
//! of the file), so a lane of `get --streams` keeps its window grid; the
//! grant is at most [`super::MAX_DATA`] and a unit at most
//! [`unit_max`] of it. One zstd stream per request, across its windows.

use super::{data_for_frame, Choice, HEADER_LEN, MAX_DATA};
use crate::hpf::{self, HpfRequest};

/// The command.
pub const GET: &str = "TFDGETZ";

/// The ranged command (GETCAN's flow).
pub const GET_CAN: &str = "TFDGETCANZ";

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
    parse_as(arg, false)
}

/// GET's argument within a `TFDGETZ` one (after the choice's word), for a
/// server that handles it as GET's.
pub fn hpf_part(arg: &[u8]) -> Option<&[u8]> {
    part_as(arg, false)
}

/// The argument after `TFDGETCANZ `: the choice's word, then GETCAN's own
/// argument (`canpt` chunks between the client's words).
pub fn encode_can(choice: Choice, path: &[u8], offset: u64, bufsz: i64, canpt: u64) -> Vec<u8> {
    let mut v = choice.word().into_bytes();
    v.push(b' ');
    v.extend_from_slice(&hpf::encode(path, offset, bufsz, Some(canpt)));
    v
}

/// Reads a `TFDGETCANZ` argument: the choice (never [`Choice::Off`]) and
/// GETCAN's request.
pub fn parse_can(arg: &[u8]) -> Option<(Choice, HpfRequest<'_>)> {
    parse_as(arg, true)
}

/// GETCAN's argument within a `TFDGETCANZ` one.
pub fn hpf_can_part(arg: &[u8]) -> Option<&[u8]> {
    part_as(arg, true)
}

/// The grant of a `TFDGETCANZ` asking `grant` bytes a chunk: what one block
/// holds at most, so every window decodes to exactly the grant.
pub fn can_grant(grant: usize) -> usize {
    grant.min(MAX_DATA)
}

/// The longest unit a chunk of `grant` bytes of data may take on the wire:
/// zstd's worst case for it and the block's header.
pub fn unit_max(grant: usize) -> usize {
    zstd::zstd_safe::compress_bound(grant.min(MAX_DATA)) + HEADER_LEN
}

fn parse_as(arg: &[u8], can: bool) -> Option<(Choice, HpfRequest<'_>)> {
    let space = arg.iter().position(|&b| b == b' ')?;
    let (word, rest) = (&arg[..space], &arg[space + 1..]);
    let choice = Choice::parse(std::str::from_utf8(word).ok()?).filter(|c| *c != Choice::Off)?;
    Some((choice, hpf::parse(rest, can)?))
}

fn part_as(arg: &[u8], can: bool) -> Option<&[u8]> {
    parse_as(arg, can)?;
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

    #[test]
    fn ranged_requests_round_trip_and_bound_their_units() {
        for c in [Choice::Auto, Choice::Force(None), Choice::Force(Some(3))] {
            let a = encode_can(c, b"x y", 1 << 20, 256 << 10, 1);
            let (got, r) = parse_can(&a).unwrap();
            assert_eq!(
                (got, r.path, r.offset, r.bufsz, r.canpt),
                (c, &b"x y"[..], 1 << 20, 256 << 10, Some(1))
            );
            assert_eq!(
                hpf_can_part(&a),
                Some(&hpf::encode(b"x y", 1 << 20, 256 << 10, Some(1))[..])
            );
        }
        assert!(parse_can(&encode_can(Choice::Off, b"a", 0, 10, 1)).is_none());
        // the plain form's struct is too short for the ranged one's
        assert!(parse_can(&encode(Choice::Auto, b"", 0, 10)).is_none());
        assert_eq!(can_grant(256 << 10), 256 << 10);
        assert_eq!(can_grant(1 << 20), MAX_DATA);
        assert!(unit_max(256 << 10) > 256 << 10);
        assert!(unit_max(1 << 30) <= crate::MAX_FRAME);
    }
}
