use super::*;

/// Lines of a web server's log: compresses several times over.
fn log_lines(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..n {
        v.extend_from_slice(
            format!(
                "10.0.{}.{} - - [27/Nov/2026:10:{:02}:00 +0000] \"GET /a/{} HTTP/1.1\" 200 {}\n",
                i % 7,
                i % 251,
                i % 60,
                i % 97,
                i * 13 % 9000
            )
            .as_bytes(),
        );
    }
    v
}

/// Bytes that do not compress (the delta tests' xorshift stream).
pub(crate) fn noise(n: usize) -> Vec<u8> {
    crate::delta::noise(0x9e37_79b9_7f4a_7c15, n)
}

fn roundtrip(blocks: &[&[u8]], fresh_each: bool) -> usize {
    let mut enc = Encoder::new(3, DEFAULT_WINDOW_LOG).unwrap();
    let mut dec = Decoder::with_default_window().unwrap();
    let mut wire = 0;
    let mut out = Vec::new();
    for b in blocks {
        if fresh_each {
            enc.fresh();
        }
        let mut frame = Vec::new();
        enc.compress(b, &mut frame).unwrap();
        assert!(frame.len() <= crate::MAX_FRAME);
        wire += frame.len();
        dec.decode(&frame, MAX_DATA, &mut out).unwrap();
        assert_eq!(&out[..], *b);
    }
    wire
}

#[test]
fn blocks_round_trip_and_one_stream_beats_fresh_contexts() {
    let files: Vec<Vec<u8>> = (0..40).map(|i| log_lines(20 + i)).collect();
    let refs: Vec<&[u8]> = files.iter().map(|f| &f[..]).collect();
    let total: usize = files.iter().map(Vec::len).sum();
    let stream = roundtrip(&refs, false);
    let fresh = roundtrip(&refs, true);
    assert!(stream * 3 < total, "{stream} of {total}");
    assert!(stream < fresh, "one stream {stream}, fresh contexts {fresh}");
}

#[test]
fn the_largest_block_fits_a_frame_even_when_it_does_not_compress() {
    let data = noise(MAX_DATA);
    let wire = roundtrip(&[&data], false);
    assert!(wire <= crate::MAX_FRAME && wire > MAX_DATA);
    let mut enc = Encoder::new(3, DEFAULT_WINDOW_LOG).unwrap();
    assert!(enc.compress(&noise(MAX_DATA + 1), &mut Vec::new()).is_err());
}

#[test]
fn raw_blocks_and_level_changes_keep_the_stream_in_step() {
    let mut enc = Encoder::new(1, DEFAULT_WINDOW_LOG).unwrap();
    let mut dec = Decoder::with_default_window().unwrap();
    let mut out = Vec::new();
    for (i, level) in [1, 9, 3, 19, 2].into_iter().enumerate() {
        enc.set_level(level).unwrap();
        let data = log_lines(100 + i);
        let mut frame = Vec::new();
        enc.compress(&data, &mut frame).unwrap();
        dec.decode(&frame, MAX_DATA, &mut out).unwrap();
        assert_eq!(out, data);
        let raw = noise(1000 + i);
        frame.clear();
        Encoder::raw(&raw, &mut frame);
        dec.decode(&frame, MAX_DATA, &mut out).unwrap();
        assert_eq!(out, raw);
    }
    assert_eq!(enc.level(), 2);
}

/// A level set between blocks is the level the next block is made at: the
/// block after a change is what a stream begun at that level makes of it
/// (zstd applies a level set mid-frame only with worker threads; the
/// stream stayed at its first level).
#[test]
fn a_new_level_is_the_level_of_the_next_block() {
    let (x, y) = (log_lines(3_000), log_lines(3_001));
    let mut climbing = Encoder::new(1, DEFAULT_WINDOW_LOG).unwrap();
    climbing.compress(&x, &mut Vec::new()).unwrap();
    climbing.set_level(19).unwrap();
    let mut after = Vec::new();
    assert_eq!(climbing.compress(&y, &mut after).unwrap(), Kind::ZstdFresh);
    let mut at_19 = Encoder::new(19, DEFAULT_WINDOW_LOG).unwrap();
    let mut alone = Vec::new();
    at_19.compress(&y, &mut alone).unwrap();
    assert_eq!(after.len(), alone.len());
    // the same level again keeps the stream
    climbing.set_level(19).unwrap();
    assert_eq!(climbing.compress(&y, &mut Vec::new()).unwrap(), Kind::Zstd);
}

#[test]
fn a_block_announcing_more_than_the_cap_is_refused_before_decoding() {
    let data = vec![0u8; 100_000];
    let mut frame = Vec::new();
    Encoder::new(3, DEFAULT_WINDOW_LOG)
        .unwrap()
        .compress(&data, &mut frame)
        .unwrap();
    let mut out = Vec::new();
    let mut dec = Decoder::with_default_window().unwrap();
    assert_eq!(
        dec.decode(&frame, 99_999, &mut out),
        Err(BlockError::TooLarge {
            announced: 100_000,
            cap: 99_999
        })
    );
    assert_eq!(out.capacity(), 0);
    let mut huge = frame.clone();
    huge[1..5].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        dec.decode(&huge, usize::MAX, &mut out),
        Err(BlockError::TooLarge { .. })
    ));
    assert_eq!(out.capacity(), 0);
    // the announcement reads whatever the cap, of any known kind
    assert_eq!(Block::announced(&huge), Some((Kind::ZstdFresh, u32::MAX as usize)));
    assert_eq!(Block::announced(&frame[..HEADER_LEN]), Some((Kind::ZstdFresh, 100_000)));
    assert_eq!(Block::announced(&frame[..HEADER_LEN - 1]), None);
    huge[0] = 3;
    assert_eq!(Block::announced(&huge), None);
}

#[test]
fn a_bomb_that_decodes_beyond_its_announcement_is_refused_within_it() {
    // 400 KiB of zeros, announced as 1 KiB: the bytes land nowhere but a
    // buffer of 1 KiB.
    let data = vec![0u8; 400 * 1024];
    let mut frame = Vec::new();
    Encoder::new(3, DEFAULT_WINDOW_LOG)
        .unwrap()
        .compress(&data, &mut frame)
        .unwrap();
    assert!(frame.len() < 1024);
    frame[1..5].copy_from_slice(&1024u32.to_be_bytes());
    let mut out = Vec::new();
    let mut dec = Decoder::with_default_window().unwrap();
    assert_eq!(dec.decode(&frame, MAX_DATA, &mut out), Err(BlockError::Overflow));
    assert!(out.capacity() < 4096, "{}", out.capacity());
    // Exactly one byte too many is caught too.
    let mut frame = Vec::new();
    Encoder::new(3, DEFAULT_WINDOW_LOG)
        .unwrap()
        .compress(&data[..1025], &mut frame)
        .unwrap();
    frame[1..5].copy_from_slice(&1024u32.to_be_bytes());
    let mut dec = Decoder::with_default_window().unwrap();
    assert_eq!(dec.decode(&frame, MAX_DATA, &mut out), Err(BlockError::Overflow));
}

#[test]
fn a_block_decoding_to_less_is_refused() {
    let data = log_lines(50);
    let mut frame = Vec::new();
    Encoder::new(3, DEFAULT_WINDOW_LOG)
        .unwrap()
        .compress(&data, &mut frame)
        .unwrap();
    frame[1..5].copy_from_slice(&(data.len() as u32 + 1).to_be_bytes());
    let mut dec = Decoder::with_default_window().unwrap();
    assert_eq!(dec.decode(&frame, MAX_DATA, &mut Vec::new()), Err(BlockError::Short));
}

#[test]
fn a_stream_asking_for_a_larger_window_than_agreed_is_refused() {
    // Level 19 with a 64 MiB window, on data whose repeat is 3 MiB back.
    let mut enc = Encoder::new(19, 26).unwrap();
    let chunk = noise(MAX_DATA);
    let mut dec = Decoder::new(MIN_WINDOW_LOG).unwrap();
    let mut out = Vec::new();
    let mut frame = Vec::new();
    enc.compress(&chunk, &mut frame).unwrap();
    assert_eq!(dec.decode(&frame, MAX_DATA, &mut out), Err(BlockError::Corrupt));
}

#[test]
fn malformed_headers_are_refused() {
    let mut out = Vec::new();
    let mut dec = Decoder::with_default_window().unwrap();
    for bad in [
        &b""[..],
        b"\x00\x00\x00\x00",
        b"\x03\x00\x00\x00\x00",
        b"\xff\x00\x00\x00\x01x",
    ] {
        assert_eq!(
            dec.decode(bad, MAX_DATA, &mut out),
            Err(BlockError::Malformed),
            "{bad:?}"
        );
    }
    assert_eq!(
        dec.decode(b"\x00\x00\x00\x00\x02x", MAX_DATA, &mut out),
        Err(BlockError::RawLength)
    );
    assert_eq!(
        dec.decode(b"\x01\x00\x00\x00\x02xy", MAX_DATA, &mut out),
        Err(BlockError::Corrupt)
    );
    dec.decode(b"\x00\x00\x00\x00\x02xy", MAX_DATA, &mut out).unwrap();
    assert_eq!(out, b"xy");
}

#[test]
fn the_window_follows_the_memory_bound() {
    assert_eq!(window_log_for(0), MIN_WINDOW_LOG);
    assert_eq!(window_log_for(4 << 20), 21);
    assert_eq!(window_log_for(5 << 20), 21);
    assert_eq!(window_log_for(u64::MAX), MAX_WINDOW_LOG);
}

#[test]
fn data_for_a_frame_fits_it_compressed_at_worst() {
    for frame in [0, 5, 6, 100, 4096, 65536, 1 << 20, crate::MAX_FRAME, 4 << 20] {
        let n = data_for_frame(frame);
        assert!(n <= MAX_DATA);
        if n > 0 {
            assert!(zstd::zstd_safe::compress_bound(n) + HEADER_LEN <= frame, "{frame}: {n}");
            assert!(n + n / 128 + 2048 >= frame.min(MAX_DATA), "{frame}: {n}");
        }
    }
    assert_eq!(data_for_frame(crate::MAX_FRAME), MAX_DATA);
}
