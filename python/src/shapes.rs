//! How tfp-client's typed answers look to Python: the tuples, names and
//! bytes the `Session` class's methods hand back, each shape in one place.

use tfp_client::remote::entries::Entries;
use tfp_client::remote::listing::Kind;
use tfp_client::{FaiToken, FileType, Status};
use tfp_wire::fstat::StatRecord;

/// A stat as Python gets it: (kind, size, mtime).
pub(crate) type StatTuple = (&'static str, u64, i64);

/// A listed entry with its stat: (kind, rel, size, mtime).
pub(crate) type StatEntryTuple = (&'static str, Vec<u8>, u64, i64);

/// A TFDENTRIES entry: (type code, rel, size, mode, (mtime s, ns), a
/// link's target, (uid, gid)).
pub(crate) type FullTuple = (i8, Vec<u8>, u64, u32, (i64, u32), Option<Vec<u8>>, Option<(u32, u32)>);

/// TFDENTRIES's answer as Python gets it: the listed directory itself
/// (`rel` empty) first, then every entry whose name passed.
pub(crate) fn full_tuples(e: Entries) -> Vec<FullTuple> {
    e.root
        .into_iter()
        .chain(e.entries)
        .map(|f| {
            let mtime = (f.mtime.sec, f.mtime.nsec);
            (f.kind.code(), f.rel, f.size, f.mode, mtime, f.target, f.owner)
        })
        .collect()
}

/// An FSTATLS record typed: (kind, size, atime, mtime).
pub(crate) type FstatTuple = (String, u64, u64, u64);

/// A typed FTYPE answer as the document's byte (what the compat layer hands
/// on, and what the Pythonic layer names).
pub(crate) fn type_code(t: Option<FileType>) -> i8 {
    t.map_or(tfp_wire::fstat::TYPE_FAIL, FileType::code)
}

pub(crate) fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Dir => "dir",
        Kind::File => "file",
        Kind::Other => "other",
    }
}

/// A FAI token as (token, expiry, key).
pub(crate) fn fai_tuple(t: &FaiToken) -> (String, u64, Vec<u8>) {
    (t.token.clone(), t.expiry, t.key.clone())
}

/// FSTATLS's records typed, one per line of the list (the end record left
/// out): None for a path that could not be stat'ed.
pub(crate) fn fstat_tuples(recs: Vec<StatRecord>) -> Vec<Option<FstatTuple>> {
    recs.into_iter()
        .filter(|r| *r != StatRecord::End)
        .map(|r| match r {
            StatRecord::Stat {
                kind,
                size,
                atime,
                mtime,
            } => Some((format!("{kind:?}").to_lowercase(), size, atime, mtime)),
            _ => None,
        })
        .collect()
}

/// A status as the frame the server sent ("OK data", "FAILED n : text",
/// "UNKNOWN", or any other reply whole).
pub(crate) fn status_frame(st: Status) -> Vec<u8> {
    match st {
        Status::Ok(d) if d.is_empty() => b"OK".to_vec(),
        Status::Ok(d) => [&b"OK "[..], &d].concat(),
        Status::Failed(n, t) => format!("FAILED {n} : {t}").into_bytes(),
        Status::Unknown => b"UNKNOWN".to_vec(),
        Status::Other(d) => d,
    }
}
