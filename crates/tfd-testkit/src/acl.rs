//! POSIX ACLs in the kernel's binary form (`system.posix_acl_access`'s and
//! `_default`'s value), for the tests that set them through tfd's commands
//! and frames.

/// An entry's id where the tag names none (the owner, the group, the mask,
/// others).
pub const ANY: u32 = u32::MAX;

/// An ACL of `(tag, perm, id)` entries, in the order given (the kernel
/// wants them sorted by tag, then id).
pub fn value(entries: &[(u16, u16, u32)]) -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in entries {
        v.extend(tag.to_le_bytes());
        v.extend(perm.to_le_bytes());
        v.extend(id.to_le_bytes());
    }
    v
}

/// The owner's rw, `uid`'s `perm`, the group's and others' r, a mask rw.
pub fn granting(uid: u32, perm: u16) -> Vec<u8> {
    value(&[(1, 6, ANY), (2, perm, uid), (4, 4, ANY), (0x10, 6, ANY), (0x20, 4, ANY)])
}
