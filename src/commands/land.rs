//! `TFDLANDXATTRS` (`tf -X`, `-A` up; doc/compatibility.md "Extended
//! attributes"): the sets a session's next staged or delta commit of a
//! path gives the file before its rename ([`crate::fsys::land`]), held
//! here between the command and the commit.

use super::{CmdError, CmdResult, Reply};
use crate::fsys::land::Landing;
use crate::fsys::RelPath;
use crate::session::Session;
use tfp_wire::xattr as wire;
use tfp_wire::Failed;

/// The attribute scope of `s`'s session.
pub(super) fn scope(s: &Session) -> wire::Scope {
    if super::putmany_archive::privileged(s) {
        wire::Scope::All
    } else {
        wire::Scope::User
    }
}

/// The sets the session's next staged or delta commit of one path lands
/// with (`TFDLANDXATTRS`): one at a time, so what a session can make tfd
/// hold is one list's bounds.
#[derive(Default)]
struct LandNext(Option<(Vec<u8>, Landing)>);

/// `TFDLANDXATTRS <kinds> <list><path>` → `OK`: the session's next staged
/// or delta commit of `path` gives the file the list's sets before its
/// rename (see [`crate::fsys::land`]). Whatever was registered before is
/// forgotten, even when this one is refused (the refusal is logged as
/// any command's).
pub fn land(s: &mut Session, arg: &[u8]) -> CmdResult {
    s.family_mut::<LandNext>().0 = None;
    let Some(at) = wire::LandAt::parse(arg) else {
        return Err(CmdError::Told(
            Failed::MissingParameter,
            "a malformed or oversized attribute list".into(),
        ));
    };
    let landing = match Landing::of(at.land, scope(s)) {
        Ok(l) => l,
        Err(why) => return Err(CmdError::Told(Failed::AccessDenied, why.into())),
    };
    let p = s.path(at.path)?;
    s.family_mut::<LandNext>().0 = Some((p.to_bytes(), landing));
    Ok(Reply::Ok)
}

/// What the session registered for its next commit of `p`, taken (None:
/// nothing, or for another path, which stays).
pub(super) fn landing_for(s: &mut Session, p: &RelPath) -> Option<Landing> {
    let slot = &mut s.family_mut::<LandNext>().0;
    match slot {
        Some((at, _)) if *at == p.to_bytes() => slot.take().map(|(_, l)| l),
        _ => None,
    }
}
