//! `TFDMODE <path>`, tfd's own (doc/compatibility.md "Modes"): an entry's
//! permission bits, which FSTAT does not say, answered `OK <octal>` (the
//! twelve bits of `st_mode & 07777`, octal digits, no sign, no leading
//! zero but for 0 itself). A download gives a new file these less the
//! umask, as `cp` and `scp` do; a tree's new directories take them with the
//! owner's bits. A server without it answers `UNKNOWN`.

/// The command.
pub const MODE: &str = "TFDMODE";

/// The bits an answer carries.
pub const BITS: u32 = 0o7777;

/// The answer's data for `mode` (only its [`BITS`]).
pub fn encode(mode: u32) -> Vec<u8> {
    format!("{:o}", mode & BITS).into_bytes()
}

/// An answer's data parsed, only as [`encode`] writes it: `None` for
/// anything else (a sign, a leading zero, bits past [`BITS`]).
pub fn parse(data: &[u8]) -> Option<u32> {
    let digits = !data.is_empty() && data.len() <= 4 && data.iter().all(|b| (b'0'..=b'7').contains(b));
    if !digits || (data.len() > 1 && data[0] == b'0') {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(data).ok()?, 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mode_travels_as_encode_writes_it() {
        for m in [0, 0o7, 0o644, 0o755, 0o4755, 0o7777] {
            assert_eq!(parse(&encode(m)), Some(m));
        }
        assert_eq!(encode(0o100644), b"644");
        for bad in [&b""[..], b"0644", b"+644", b"-1", b"8", b"17777", b"64 4", b"644\n"] {
            assert_eq!(parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
