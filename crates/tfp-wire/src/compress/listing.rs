//! Compressed listings (doc/compatibility.md "Compressed listings"): tfd's
//! own listings of a tree (TFDLIST, TFDNAMES, TFDENTRIES, TFDDIRENTRIES)
//! asked as `TFDLISTZ <choice> <form> <dir>`, and answered as the plain
//! command is, chunk by chunk, but with the chunks' data one zstd frame.
//! A listing is text that repeats itself (paths share their directories,
//! modes and times their digits): 5,000 names of a source tree shrink about
//! five times, and the listing is what a tree's copy waits for before its
//! first file.
//!
//! The frame is cut wherever a chunk ends (the sender flushes at each of
//! its fills, so every chunk decodes as it arrives) and ends with the
//! listing: a frame not ended when the answer's status comes is a broken
//! listing. The stream keeps at most 2^[`WINDOW_LOG`] bytes of history; a
//! receiver refuses a frame asking more before allocating it, and bounds
//! what it decodes by what it would hold of the plain listing, so no
//! frame makes it hold more than the plain answer could.

use super::{Choice, EncodeError, MAX_LEVEL};
use zstd::zstd_safe::{zstd_sys::ZSTD_EndDirective, CCtx, CParameter, DCtx, DParameter, InBuffer, OutBuffer};

/// The command: `TFDLISTZ <choice> <form> <dir>`.
pub const LISTZ: &str = "TFDLISTZ";

/// The history a listing's stream keeps (1 MiB): enough for a tree's
/// repeating paths, little for a receiver to hold.
pub const WINDOW_LOG: u32 = 20;

/// Which listing is asked, by its plain command's word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `TFDLIST`: names, sizes, mtimes and modes.
    Stat,
    /// `TFDNAMES`: names alone.
    Names,
    /// `TFDENTRIES`: every fact an archive copy keeps, the tree whole.
    Entries,
    /// `TFDDIRENTRIES`: TFDENTRIES of one level.
    DirEntries,
}

impl Form {
    /// Every form, for the tests and the parser.
    const ALL: [Form; 4] = [Form::Stat, Form::Names, Form::Entries, Form::DirEntries];

    /// The plain command's word.
    pub fn word(self) -> &'static str {
        match self {
            Form::Stat => "TFDLIST",
            Form::Names => "TFDNAMES",
            Form::Entries => crate::entry::ENTRIES,
            Form::DirEntries => crate::entry::DIR_ENTRIES,
        }
    }

    fn parse(w: &[u8]) -> Option<Form> {
        Form::ALL.into_iter().find(|f| f.word().as_bytes() == w)
    }
}

/// The command line of `form` of `dir` under `choice` (never `Off`: the
/// plain command is asked then).
pub fn encode(choice: Choice, form: Form, dir: &[u8]) -> Vec<u8> {
    [
        LISTZ.as_bytes(),
        b" ",
        choice.word().as_bytes(),
        b" ",
        form.word().as_bytes(),
        b" ",
        dir,
    ]
    .concat()
}

/// The argument of a `TFDLISTZ`: its choice (never `Off`), its form and the
/// directory (the rest, spaces and all).
pub fn parse(arg: &[u8]) -> Option<(Choice, Form, &[u8])> {
    let mut parts = arg.splitn(3, |&b| b == b' ');
    let choice = Choice::parse(std::str::from_utf8(parts.next()?).ok()?)?;
    let form = Form::parse(parts.next()?)?;
    let dir = parts.next()?;
    (choice != Choice::Off).then_some((choice, form, dir))
}

/// The level a listing is compressed at: the client's forced level, else
/// zstd's default, never above the server's cap.
pub fn level(choice: Choice, level_max: i32) -> i32 {
    let want = match choice {
        Choice::Force(Some(l)) => l,
        _ => super::decide::DEFAULT_LEVEL,
    };
    want.clamp(1, level_max.clamp(1, MAX_LEVEL))
}

/// The sender's stream: the listing's text in, the frame's bytes out.
pub struct Packer {
    ctx: CCtx<'static>,
}

impl std::fmt::Debug for Packer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Packer")
    }
}

impl Packer {
    /// A stream at `level`; None when zstd has no memory.
    pub fn new(level: i32) -> Option<Packer> {
        let mut ctx = CCtx::try_create()?;
        ctx.set_parameter(CParameter::WindowLog(WINDOW_LOG)).ok()?;
        ctx.set_parameter(CParameter::CompressionLevel(level.clamp(1, MAX_LEVEL)))
            .ok()?;
        Some(Packer { ctx })
    }

    /// Appends `text` to `out` compressed and flushed (so the receiver
    /// decodes it at once); `last` ends the frame.
    pub fn pack(&mut self, text: &[u8], last: bool, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mode = if last {
            ZSTD_EndDirective::ZSTD_e_end
        } else {
            ZSTD_EndDirective::ZSTD_e_flush
        };
        let mut input = InBuffer::around(text);
        loop {
            out.reserve(zstd::zstd_safe::compress_bound(text.len() - input.pos()).max(64));
            let pos = out.len();
            let mut output = OutBuffer::around_pos(out, pos);
            let left = self
                .ctx
                .compress_stream2(&mut output, &mut input, mode)
                .map_err(|_| EncodeError)?;
            if left == 0 && input.pos() == text.len() {
                return Ok(());
            }
        }
    }
}

/// Why a compressed listing was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnpackError {
    /// Not zstd, a window over [`WINDOW_LOG`], or bytes after the frame's end.
    Corrupt,
    /// The frame had not ended when the listing did.
    Unended,
    /// The receiver's sink refused what it decoded (the listing's bound).
    Refused,
}

/// The receiver's stream: the chunks' bytes in, the listing's text out.
pub struct Unpacker {
    ctx: DCtx<'static>,
    ended: bool,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Unpacker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unpacker").field("ended", &self.ended).finish()
    }
}

/// What one call decodes at most before handing it to the sink.
const OUT: usize = 64 * 1024;

impl Unpacker {
    /// A stream refusing a window over [`WINDOW_LOG`]; None when zstd has no
    /// memory.
    pub fn new() -> Option<Unpacker> {
        let mut ctx = DCtx::try_create()?;
        ctx.set_parameter(DParameter::WindowLogMax(WINDOW_LOG)).ok()?;
        Some(Unpacker {
            ctx,
            ended: false,
            buf: vec![0; OUT],
        })
    }

    /// Decodes `chunk`, handing the text to `sink` [`OUT`] bytes at most at
    /// a time (so the sink's bound holds whatever the frame would expand
    /// to). After an error the listing is broken: the stream is not used
    /// again.
    pub fn unpack(&mut self, chunk: &[u8], sink: &mut dyn FnMut(&[u8]) -> Result<(), ()>) -> Result<(), UnpackError> {
        let mut input = InBuffer::around(chunk);
        loop {
            if self.ended {
                return if input.pos() == chunk.len() {
                    Ok(())
                } else {
                    Err(UnpackError::Corrupt)
                };
            }
            let mut output = OutBuffer::around(&mut self.buf[..]);
            let hint = self
                .ctx
                .decompress_stream(&mut output, &mut input)
                .map_err(|_| UnpackError::Corrupt)?;
            let made = output.pos();
            self.ended = hint == 0;
            if made > 0 {
                sink(&self.buf[..made]).map_err(|_| UnpackError::Refused)?;
            }
            // all taken and nothing more to give: the next chunk continues
            if !self.ended && input.pos() == chunk.len() && made < OUT {
                return Ok(());
            }
        }
    }

    /// Whether the frame ended: a listing whose status came before is
    /// broken ([`UnpackError::Unended`]).
    pub fn finish(&self) -> Result<(), UnpackError> {
        if self.ended {
            Ok(())
        } else {
            Err(UnpackError::Unended)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| format!("F 1234 644 1700000000 lib/python3/module_{i}.py\n").into_bytes())
            .collect()
    }

    /// Packs `t` in fills of `fill` bytes, cut into chunks of `chunk` bytes.
    fn chunks(t: &[u8], fill: usize, chunk: usize) -> Vec<Vec<u8>> {
        let mut p = Packer::new(3).unwrap();
        let mut wire = Vec::new();
        let pieces: Vec<&[u8]> = t.chunks(fill).collect();
        for (i, piece) in pieces.iter().enumerate() {
            p.pack(piece, i + 1 == pieces.len(), &mut wire).unwrap();
        }
        wire.chunks(chunk).map(<[u8]>::to_vec).collect()
    }

    fn unpack_all(cs: &[Vec<u8>], bound: usize) -> Result<Vec<u8>, UnpackError> {
        let mut u = Unpacker::new().unwrap();
        let mut got = Vec::new();
        for c in cs {
            u.unpack(c, &mut |b| {
                if got.len() + b.len() > bound {
                    return Err(());
                }
                got.extend_from_slice(b);
                Ok(())
            })?;
        }
        u.finish()?;
        Ok(got)
    }

    #[test]
    fn a_listing_cut_anywhere_comes_back_whole_and_smaller() {
        let t = text(5000);
        for (fill, chunk) in [(60_000, 65_000), (4096, 7), (1, 1000), (t.len(), 12 * 1024)] {
            let cs = chunks(&t, fill, chunk);
            let sent: usize = cs.iter().map(Vec::len).sum();
            assert_eq!(unpack_all(&cs, usize::MAX).unwrap(), t, "fill {fill} chunk {chunk}");
            if fill > 1 {
                assert!(sent * 4 < t.len(), "{sent} of {}", t.len());
            }
        }
    }

    #[test]
    fn a_broken_listing_is_refused() {
        let t = text(2000);
        let mut cs = chunks(&t, 8192, 4096);
        // the sink's bound holds, whatever the frame expands to
        assert_eq!(unpack_all(&cs, 1000), Err(UnpackError::Refused));
        // a frame cut short
        let last = cs.pop().unwrap();
        assert_eq!(unpack_all(&cs, usize::MAX), Err(UnpackError::Unended));
        // bytes after the frame's end
        cs.push(last);
        cs.push(b"more".to_vec());
        assert_eq!(unpack_all(&cs, usize::MAX), Err(UnpackError::Corrupt));
        assert_eq!(
            unpack_all(&[b"not zstd at all".to_vec()], usize::MAX),
            Err(UnpackError::Corrupt)
        );
        // a frame asking a window over the bound is refused, not allocated
        let mut big = CCtx::create();
        big.set_parameter(CParameter::WindowLog(WINDOW_LOG + 4)).unwrap();
        let mut out = vec![0u8; 4 << 20];
        let data: Vec<u8> = (0..3u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let n = big.compress2(&mut out[..], &data).unwrap();
        assert_eq!(unpack_all(&[out[..n].to_vec()], usize::MAX), Err(UnpackError::Corrupt));
    }

    #[test]
    fn the_command_reads_back() {
        for f in Form::ALL {
            let line = encode(Choice::Force(Some(7)), f, b"a dir/with spaces");
            let arg = &line[LISTZ.len() + 1..];
            assert_eq!(parse(arg), Some((Choice::Force(Some(7)), f, &b"a dir/with spaces"[..])));
        }
        assert_eq!(parse(b"no TFDLIST x"), None);
        assert_eq!(parse(b"auto LSR x"), None);
        assert_eq!(parse(b"auto TFDLIST"), None);
        assert_eq!(parse(b"auto TFDNAMES "), Some((Choice::Auto, Form::Names, &b""[..])));
        assert_eq!(level(Choice::Auto, 9), 3);
        assert_eq!(level(Choice::Force(Some(12)), 9), 9);
        assert_eq!(level(Choice::Force(Some(1)), 0), 1);
    }
}
