//! A file kept compressed, as one standard zstd frame (`zstd -d` reads
//! it): `tf backup`'s index, whose text for 31,000 files is 8 MB and
//! compresses to 1.5 MB at level 1. Reading it back is bounded: a frame
//! that would decode past the reader's cap, or asks a window over
//! [`WINDOW_LOG`], is refused before it holds more, so a hostile server's
//! file cannot make the client hold what it likes.

use std::io::Read;

/// The largest window a frame may ask (8 MiB; level 1 writes 512 KiB).
pub const WINDOW_LOG: u32 = 23;
/// zstd's frame magic, little-endian: what a compressed file starts with.
pub const MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// `data` as one zstd frame at `level`; None when zstd fails (no memory).
pub fn frame(data: &[u8], level: i32) -> Option<Vec<u8>> {
    zstd::bulk::compress(data, level).ok()
}

/// Whether `bytes` start as a zstd frame.
pub fn is_frame(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// The data of the frames in `bytes`, at most `cap` bytes; None for
/// anything that is not whole frames, asks a window over [`WINDOW_LOG`],
/// or decodes to more than `cap`.
pub fn unframe(bytes: &[u8], cap: u64) -> Option<Vec<u8>> {
    let mut d = zstd::stream::read::Decoder::new(bytes).ok()?;
    d.window_log_max(WINDOW_LOG).ok()?;
    let mut out = Vec::new();
    d.take(cap.saturating_add(1)).read_to_end(&mut out).ok()?;
    (out.len() as u64 <= cap).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_reads_back_within_its_cap_and_not_beyond() {
        let text: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let f = frame(&text, 1).unwrap();
        assert!(is_frame(&f) && f.len() < text.len() / 4, "{}", f.len());
        assert_eq!(unframe(&f, text.len() as u64).as_deref(), Some(&text[..]));
        assert_eq!(unframe(&f, text.len() as u64 - 1), None);
        assert_eq!(unframe(&f[..f.len() - 3], text.len() as u64), None, "a cut frame");
        assert_eq!(unframe(b"not zstd", 100), None);
        assert!(!is_frame(b"tf-backup-index 1\n"));
        // a bomb: a gigabyte of zeros in a few kilobytes, refused at the cap
        let zeros = zstd::bulk::compress(&vec![0u8; 64 << 20], 19).unwrap();
        assert_eq!(unframe(&zeros, 1 << 20), None);
        // a window larger than a reader takes
        let mut c = zstd::bulk::Compressor::new(19).unwrap();
        c.set_parameter(zstd::zstd_safe::CParameter::WindowLog(27)).unwrap();
        let big: Vec<u8> = (0..(40u32 << 20))
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let wide = c.compress(&big).unwrap();
        assert_eq!(unframe(&wide, 1 << 30), None);
    }
}
