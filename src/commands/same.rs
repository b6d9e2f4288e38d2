//! `TFDSTATID` and `TFDDELIF` (tfp_wire::same): a file's identity, and its
//! removal only while it keeps it (`tf get --remove-source-files`, a
//! download's check that the file held still while it was read).

use super::fs::{ident_of, remove_file};
use super::{denied_or, CmdResult, Reply};
use crate::fsys::{FsError, Kind};
use crate::session::Session;
use tfp_wire::same::Ident;
use tfp_wire::Failed;

/// `TFDSTATID <path>` → `OK <size> <mtime> <ctime> <inode>` of a regular
/// file, followed as FSTAT follows it.
pub fn statid(s: &mut Session, arg: &[u8]) -> CmdResult {
    if arg.is_empty() {
        return Err(Failed::MissingParameter.into());
    }
    let p = s.path(arg)?;
    let st = match s.stat(&p) {
        Ok(st) => st,
        Err(FsError::NotFound) | Err(FsError::NotDir) => return Err(Failed::NoSuchFile.into()),
        Err(e) => return Err(denied_or(e, Failed::NoSuchFile).into()),
    };
    if Kind::of(&st) != Kind::File {
        return Err(Failed::NotAFile.into());
    }
    s.check_lock_parent(&p)?;
    Ok(Reply::Data(ident_of(&st).text().into_bytes()))
}

/// `TFDDELIF <size> <mtime> <ctime> <inode> <path>`: DEL of the path only
/// while its file has that identity (else `FAILED 7`, nothing changed).
pub fn del_if(s: &mut Session, arg: &[u8]) -> CmdResult {
    let Some((want, path)) = Ident::split_del_if(arg) else {
        return Err(Failed::MissingParameter.into());
    };
    remove_file(s, path, Some(&want))
}
