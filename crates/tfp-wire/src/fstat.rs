//! The raw binary answers of FTYPE, FTYPELS and FSTATLS (2.5.1 document;
//! wire-notes §8.3). Pure: the type byte and the 26-byte `fstathdr` record are
//! built and read here, so the layout is defined once, unit-tested and fuzzed.
//!
//! On the wire every answer is its own cipher unit: FTYPE one byte, FTYPELS one
//! byte per line then −2, FSTATLS one 26-byte record per line then an end record.

/// One byte per file: what the path names (the document's FTYPE values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i8)]
pub enum FileType {
    /// A directory.
    Dir = 0,
    /// A character device.
    CharDevice = 1,
    /// A block device.
    BlockDevice = 2,
    /// A regular file.
    Regular = 3,
    /// A FIFO (pipe).
    Fifo = 4,
    /// A symbolic link (never sent by a server that follows links, as tfd does).
    Symlink = 5,
    /// A socket.
    Socket = 6,
    /// Anything else.
    Other = 7,
}

/// FTYPE/FTYPELS: the type could not be had (missing, refused, outside the root).
pub const TYPE_FAIL: i8 = -1;
/// FTYPELS: no more types follow.
pub const TYPE_END: i8 = -2;

impl FileType {
    /// From the `st_mode` file-type bits (`S_IFMT` part).
    pub fn from_mode(mode: u32) -> FileType {
        const S_IFMT: u32 = 0o170000;
        match mode & S_IFMT {
            0o040000 => FileType::Dir,
            0o020000 => FileType::CharDevice,
            0o060000 => FileType::BlockDevice,
            0o100000 => FileType::Regular,
            0o010000 => FileType::Fifo,
            0o120000 => FileType::Symlink,
            0o140000 => FileType::Socket,
            _ => FileType::Other,
        }
    }

    /// The byte on the wire.
    pub fn code(self) -> i8 {
        self as i8
    }

    /// From the byte on the wire; None for the failure and end markers and
    /// anything undefined.
    pub fn from_code(c: i8) -> Option<FileType> {
        use FileType::*;
        [Dir, CharDevice, BlockDevice, Regular, Fifo, Symlink, Socket, Other]
            .into_iter()
            .find(|t| t.code() == c)
    }
}

/// Length of one FSTATLS record (the reference's packed `struct fstathdr`).
pub const RECORD_LEN: usize = 26;

/// One FSTATLS record, as it travels: `code` (i8), `type` (i8), then `size`,
/// `atime` and `mtime` as big-endian u64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatRecord {
    /// Code 0: the statistics of one line's path.
    Stat {
        /// What the path names.
        kind: FileType,
        /// `st_size`.
        size: u64,
        /// Last access, Unix seconds.
        atime: u64,
        /// Last modification, Unix seconds.
        mtime: u64,
    },
    /// Code −1: this line's path could not be stat'ed; the rest is zero.
    Fail,
    /// Code −2: no more records; the rest is zero (the reference sent stale stack
    /// bytes here when the list could not be opened: tfd never does).
    End,
}

/// Why 26 bytes are not a record tfd would send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// Fewer than [`RECORD_LEN`] bytes.
    Short(usize),
    /// A code other than 0, −1, −2.
    Code(i8),
    /// Code 0 with a type byte outside 0..=7.
    Type(i8),
    /// A fail or end record whose other bytes are not all zero.
    Padding,
}

impl StatRecord {
    /// The 26 bytes on the wire.
    pub fn encode(&self) -> [u8; RECORD_LEN] {
        let mut out = [0u8; RECORD_LEN];
        match *self {
            StatRecord::Stat {
                kind,
                size,
                atime,
                mtime,
            } => {
                out[1] = kind.code() as u8;
                out[2..10].copy_from_slice(&size.to_be_bytes());
                out[10..18].copy_from_slice(&atime.to_be_bytes());
                out[18..26].copy_from_slice(&mtime.to_be_bytes());
            }
            StatRecord::Fail => out[0] = (-1i8) as u8,
            StatRecord::End => out[0] = (-2i8) as u8,
        }
        out
    }

    /// Reads one record (the client side, tests and the fuzz target). Strict:
    /// exactly what [`StatRecord::encode`] produces is accepted.
    pub fn decode(b: &[u8]) -> Result<StatRecord, RecordError> {
        let b: &[u8; RECORD_LEN] = b
            .get(..RECORD_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(RecordError::Short(b.len()))?;
        let u64_at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            u64::from_be_bytes(a)
        };
        let rest_zero = b[1..].iter().all(|&x| x == 0);
        match b[0] as i8 {
            0 => {
                let t = b[1] as i8;
                let kind = FileType::from_code(t).ok_or(RecordError::Type(t))?;
                Ok(StatRecord::Stat {
                    kind,
                    size: u64_at(2),
                    atime: u64_at(10),
                    mtime: u64_at(18),
                })
            }
            -1 if rest_zero => Ok(StatRecord::Fail),
            -2 if rest_zero => Ok(StatRecord::End),
            -1 | -2 => Err(RecordError::Padding),
            c => Err(RecordError::Code(c)),
        }
    }
}

/// Clamps a `stat` time (signed seconds) to the record's unsigned field: a time
/// before 1970 is sent as 0 rather than as a huge wrapped number.
pub fn time_field(secs: i64) -> u64 {
    u64::try_from(secs).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_the_references_packed_struct() {
        let r = StatRecord::Stat {
            kind: FileType::Regular,
            size: 0x0102_0304_0506_0708,
            atime: 1_795_298_546,
            mtime: 2,
        };
        let b = r.encode();
        assert_eq!(b.len(), 26);
        assert_eq!(&b[..2], &[0, 3]);
        assert_eq!(&b[2..10], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&b[10..18], &1_795_298_546u64.to_be_bytes());
        assert_eq!(&b[18..], &2u64.to_be_bytes());
        assert_eq!(StatRecord::decode(&b), Ok(r));
        let mut end = [0u8; 26];
        end[0] = 0xfe;
        assert_eq!(StatRecord::End.encode(), end);
        end[0] = 0xff;
        assert_eq!(StatRecord::Fail.encode(), end);
        assert_eq!(StatRecord::decode(&end[..25]), Err(RecordError::Short(25)));
        end[5] = 1;
        assert_eq!(StatRecord::decode(&end), Err(RecordError::Padding));
    }

    #[test]
    fn types_from_modes() {
        assert_eq!(FileType::from_mode(0o040755), FileType::Dir);
        assert_eq!(FileType::from_mode(0o100644), FileType::Regular);
        assert_eq!(FileType::from_mode(0o020666), FileType::CharDevice);
        assert_eq!(FileType::from_mode(0o060660), FileType::BlockDevice);
        assert_eq!(FileType::from_mode(0o010644), FileType::Fifo);
        assert_eq!(FileType::from_mode(0o120777), FileType::Symlink);
        assert_eq!(FileType::from_mode(0o140755), FileType::Socket);
        assert_eq!(FileType::from_mode(0), FileType::Other);
        for c in -3i8..10 {
            match FileType::from_code(c) {
                Some(t) => assert_eq!(t.code(), c),
                None => assert!(!(0..=7).contains(&c)),
            }
        }
        assert_eq!(time_field(-5), 0);
        assert_eq!(time_field(7), 7);
    }
}
