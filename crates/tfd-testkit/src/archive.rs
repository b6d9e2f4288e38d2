//! Archive batch uploads (`TFDPUTMANY <n> a`) on the raw wire, for the
//! tests of the batch itself and of the attacks through it: headers made by
//! tfp-wire's `entry::Head`, data and trailers as a client sends them.

use sha2::{Digest, Sha256};
use tfp_client::Client;
use tfp_wire::batch::put::{Failure, PutMany, Stored};
use tfp_wire::batch::{Trailer, END};
use tfp_wire::entry::{Extra, Head, Mtime};
use tfp_wire::fstat::FileType;

/// Flags: set the mode and the mtime.
pub const ALL: u8 = Head::SET_MODE | Head::SET_MTIME;

/// One entry of a batch: its header and, for a file, its data.
pub struct Item {
    pub frame: Vec<u8>,
    pub data: Vec<u8>,
    pub file: bool,
}

/// An archive header's entry.
pub fn item(kind: Option<FileType>, flags: u8, mode: u32, mtime: Mtime, path: &str, target: Option<&str>) -> Item {
    item_with(kind, flags, mode, mtime, Extra::default(), path, target, b"")
}

/// An archive header's entry with its tagged facts and, for a file, data.
#[allow(clippy::too_many_arguments)]
pub fn item_with(
    kind: Option<FileType>,
    flags: u8,
    mode: u32,
    mtime: Mtime,
    extra: Extra,
    path: &str,
    target: Option<&str>,
    data: &[u8],
) -> Item {
    let h = Head {
        kind,
        size: data.len() as u64,
        flags,
        mode,
        mtime,
        extra,
        path: path.as_bytes(),
        target: target.map(str::as_bytes),
    };
    Item {
        frame: h.encode(),
        data: data.to_vec(),
        file: kind == Some(FileType::Regular),
    }
}

/// A file's entry.
pub fn file(path: &str, mode: u32, mtime: Mtime, data: &[u8]) -> Item {
    item_with(
        Some(FileType::Regular),
        ALL,
        mode,
        mtime,
        Extra::default(),
        path,
        None,
        data,
    )
}

/// Sends a batch (`archive`: `TFDPUTMANY <n> a`) and returns what was
/// stored and the failures (index, code, reason).
pub fn batch(c: &mut Client, items: &[Item], archive: bool) -> (u64, Vec<(u64, i32, String)>) {
    let line = PutMany::new(items.len() as u64, archive).line();
    batch_line(c, &line, items.iter().map(|it| (None, it)))
}

/// [`batch`] of a batch that says `x`: each item's header after its
/// attributes frame where it has one (`X <kinds> <list>`, sent as given,
/// malformed or not).
pub fn batch_landing(
    c: &mut Client,
    items: &[(Option<Vec<u8>>, Item)],
    archive: bool,
) -> (u64, Vec<(u64, i32, String)>) {
    let line = PutMany {
        attrs: true,
        ..PutMany::new(items.len() as u64, archive)
    }
    .line();
    batch_line(c, &line, items.iter().map(|(x, it)| (x.as_deref(), it)))
}

/// A batch under the command line `line` (sent as given): each item's
/// header after the frame before it where there is one; what was stored
/// and the failures.
pub fn batch_line<'a>(
    c: &mut Client,
    line: &[u8],
    items: impl Iterator<Item = (Option<&'a [u8]>, &'a Item)>,
) -> (u64, Vec<(u64, i32, String)>) {
    assert_eq!(c.raw(line).unwrap(), b"OK");
    for (before, it) in items {
        if let Some(x) = before {
            c.chan.tx.send_frame(x).unwrap();
        }
        c.chan.tx.send_frame(&it.frame).unwrap();
        if it.file {
            if !it.data.is_empty() {
                c.chan.tx.send_frame(&it.data).unwrap();
            }
            let sum: [u8; 32] = Sha256::digest(&it.data).into();
            c.chan.tx.send_frame(&Trailer::Sum(sum).encode()).unwrap();
        }
    }
    c.chan.tx.send_frame(END).unwrap();
    let head = c.chan.rx.recv_frame().unwrap();
    let st = Stored::parse(&head).unwrap_or_else(|| panic!("{:?}", String::from_utf8_lossy(&head)));
    let failures = (0..st.failed)
        .map(|_| {
            let f = c.chan.rx.recv_frame().unwrap();
            let f = Failure::parse(&f).unwrap();
            (f.index, f.code, f.reason.into_owned())
        })
        .collect();
    (st.stored, failures)
}

/// What a file lands with: the kinds carried and the names and values.
pub fn land(xattrs: bool, acls: bool, pairs: &[(&[u8], &[u8])]) -> tfp_wire::xattr::Land {
    let list = pairs.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect();
    tfp_wire::xattr::Land {
        xattrs,
        acls,
        list: tfp_wire::xattr::Xattrs::new(list).unwrap(),
    }
}

/// `l` as a batch's attributes frame, for [`batch_landing`].
pub fn attrs_frame(l: tfp_wire::xattr::Land) -> Option<Vec<u8>> {
    Some(tfp_wire::batch::put::AttrsHead { land: l }.encode().unwrap())
}

/// A plain batch's file of `data` for `path`, with `mode` and `mtime` when
/// given.
pub fn plain(path: &str, mode: Option<u32>, mtime: Option<i64>, data: &[u8]) -> Item {
    Item {
        frame: tfp_wire::batch::put::FileHead::new(data.len() as u64, mode, mtime, path.as_bytes()).encode(),
        data: data.to_vec(),
        file: true,
    }
}
