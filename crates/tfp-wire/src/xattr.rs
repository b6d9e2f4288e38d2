//! Extended attributes on the wire (`-X`, doc/compatibility.md "Extended
//! attributes"): a path's names and values, which neither side follows
//! through a link. Both sides parse and write with these.
//!
//! - `TFDXATTRS <path>`: answered `OK <scope> <list>` ([`Listing`]): the
//!   attributes the session may see (`user` scope: `user.` names alone;
//!   `all`: `user.`, `trusted.` and `security.`, a root session);
//! - `TFDSETXATTRS <list><path>`: the path's attributes in the session's
//!   scope become the list: names not given are removed. Answered `OK`;
//! - `TFDACLS <path>` and `TFDSETACLS <list><path>` (`-A`): the same for
//!   the POSIX ACLs alone ([`ACLS`], scope `acl`), kept apart so that `-X`
//!   never touches ACLs and `-A` never touches other attributes, and so
//!   that a server without ACLs answers `UNKNOWN` rather than read a flag
//!   as a path;
//! - what an upload lands with ([`Land`], `<kinds> <list>`): the sets a
//!   file is given on the server's temporary before its rename, so it is
//!   never seen with new data and old attributes. A batch carries it as a
//!   frame before the file's header (`crate::batch::put::AttrsHead`); a
//!   staged or delta upload registers it first with `TFDLANDXATTRS
//!   <kinds> <list><path>` ([`LandAt`]), for the session's next commit of
//!   that path.
//!
//! A list is `<n> ` and then, for each attribute, `<name length>:<value
//! length>:<name><value>`. Names are 1..=[`MAX_NAME`] bytes without NUL in
//! a namespace [`-X` carries](carried); values at most [`MAX_VALUE`]; the
//! names together (each with its NUL, as the kernel counts them) at most
//! [`MAX_LIST`], the values together at most [`MAX_VALUES`]. Every parser
//! takes arbitrary bytes, never panics and allocates no more than its input
//! holds.

/// The command that reads a path's attributes.
pub const GET: &str = "TFDXATTRS";
/// The command that sets a path's attributes (replacing its set).
pub const SET: &str = "TFDSETXATTRS";

/// The longest name (the kernel's `XATTR_NAME_MAX`).
pub const MAX_NAME: usize = 255;
/// The command that reads a path's POSIX ACLs.
pub const ACL_GET: &str = "TFDACLS";
/// The command that sets a path's POSIX ACLs (replacing them).
pub const ACL_SET: &str = "TFDSETACLS";

/// The names of a POSIX ACL, the kernel's binary form (numeric uids and
/// gids): the access ACL and a directory's default ACL.
pub const ACLS: [&[u8]; 2] = [b"system.posix_acl_access", b"system.posix_acl_default"];

/// The largest value (the kernel's `XATTR_SIZE_MAX`).
pub const MAX_VALUE: usize = 65_536;
/// The names of one path together, each with its NUL (the kernel's
/// `XATTR_LIST_MAX`).
pub const MAX_LIST: usize = 65_536;
/// The values of one path together: four largest values, so a list fits
/// one frame whole.
pub const MAX_VALUES: usize = 4 * MAX_VALUE;

/// The namespaces `-X` carries (`system.` is ACLs' and the kernel's: not).
pub const NAMESPACES: [&[u8]; 3] = [b"user.", b"trusted.", b"security."];

/// Whether `name` is in a namespace `-X` carries, and in `user.` alone
/// unless `privileged` (as rsync keeps them for a non-root receiver).
pub fn carried(name: &[u8], privileged: bool) -> bool {
    if name.starts_with(b"user.") {
        return name.len() > 5;
    }
    privileged
        && NAMESPACES[1..]
            .iter()
            .any(|ns| name.starts_with(ns) && name.len() > ns.len())
}

/// Whether `name` is a POSIX ACL's ([`ACLS`]).
pub fn is_acl(name: &[u8]) -> bool {
    ACLS.contains(&name)
}

/// Whether the ACL `value` of `name` is one to carry: a default ACL
/// always; an access ACL unless it says no more than the mode does (its
/// owner, group and other entries alone: setting the mode makes it, and
/// `getfacl` shows it alike). An unreadable value is carried, for the
/// kernel that sets it to judge.
pub fn acl_carried(name: &[u8], value: &[u8]) -> bool {
    const USER_OBJ: u16 = 0x01;
    const GROUP_OBJ: u16 = 0x04;
    const OTHER: u16 = 0x20;
    if name != ACLS[0] || value.len() < 4 || (value.len() - 4) % 8 != 0 {
        return true;
    }
    value[4..]
        .chunks_exact(8)
        .any(|e| !matches!(u16::from_le_bytes([e[0], e[1]]), USER_OBJ | GROUP_OBJ | OTHER))
}

/// Which names a session may read and set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `user.` alone.
    User,
    /// `user.`, `trusted.` and `security.` (a root session).
    All,
    /// The POSIX ACLs ([`ACLS`]) alone: `TFDACLS`' scope, any session's
    /// (the kernel lets the file's owner or root set them).
    Acl,
}

impl Scope {
    /// Its word on the wire.
    pub fn word(self) -> &'static [u8] {
        match self {
            Scope::User => b"user",
            Scope::All => b"all",
            Scope::Acl => b"acl",
        }
    }

    /// Whether the scope takes `name`.
    pub fn takes(self, name: &[u8]) -> bool {
        match self {
            Scope::Acl => is_acl(name),
            _ => carried(name, self == Scope::All),
        }
    }
}

/// One path's attributes: names sorted and distinct, within the bounds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Xattrs {
    list: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Why a list cannot be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// A name empty, too long, with a NUL, or repeated.
    Name,
    /// A value over [`MAX_VALUE`].
    Value,
    /// The names or the values together over their bound.
    Total,
}

impl Xattrs {
    /// The list of `pairs` (sorted by name); refused past a bound.
    pub fn new(mut pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Xattrs, Refused> {
        pairs.sort();
        let (mut names, mut values) = (0usize, 0usize);
        for (i, (n, v)) in pairs.iter().enumerate() {
            if n.is_empty() || n.len() > MAX_NAME || n.contains(&0) || (i > 0 && pairs[i - 1].0 == *n) {
                return Err(Refused::Name);
            }
            if v.len() > MAX_VALUE {
                return Err(Refused::Value);
            }
            names += n.len() + 1;
            values += v.len();
        }
        if names > MAX_LIST || values > MAX_VALUES {
            return Err(Refused::Total);
        }
        Ok(Xattrs { list: pairs })
    }

    /// The names and values, sorted by name.
    pub fn pairs(&self) -> &[(Vec<u8>, Vec<u8>)] {
        &self.list
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The attributes `scope` takes.
    pub fn within(&self, scope: Scope) -> Xattrs {
        Xattrs {
            list: self.list.iter().filter(|(n, _)| scope.takes(n)).cloned().collect(),
        }
    }

    /// The list's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!("{} ", self.list.len()).into_bytes();
        for (n, v) in &self.list {
            out.extend_from_slice(format!("{}:{}:", n.len(), v.len()).as_bytes());
            out.extend_from_slice(n);
            out.extend_from_slice(v);
        }
        out
    }

    /// A list read from the front of `data`, and what follows it; None:
    /// malformed, short, or past a bound.
    pub fn parse(data: &[u8]) -> Option<(Xattrs, &[u8])> {
        let (n, mut rest) = word(data, b' ')?;
        // each attribute takes at least 5 bytes ("1:0:a")
        if n > rest.len() / 5 + 1 {
            return None;
        }
        let mut pairs = Vec::with_capacity(n);
        for _ in 0..n {
            let (nl, r) = word(rest, b':')?;
            let (vl, r) = word(r, b':')?;
            if nl > MAX_NAME || vl > MAX_VALUE || r.len() < nl + vl {
                return None;
            }
            pairs.push((r[..nl].to_vec(), r[nl..nl + vl].to_vec()));
            rest = &r[nl + vl..];
        }
        let sorted = pairs.windows(2).all(|w| w[0].0 < w[1].0);
        let x = Xattrs::new(pairs).ok()?;
        sorted.then_some((x, rest))
    }
}

/// The command that gives the session's next staged or delta commit of a
/// path the sets it is to land with ([`LandAt`]).
pub const LAND: &str = "TFDLANDXATTRS";

/// What an upload lands with: which kinds it carries (`x`: the extended
/// attributes of the session's scope, `-X`; `a`: the POSIX ACLs, `-A`) and
/// their names and values. Every name of a carried kind that is not in the
/// list is removed from the file (a temporary inherits a directory's
/// default ACL, which `-A` replaces by the source's); kinds not carried are
/// left as the server makes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Land {
    pub xattrs: bool,
    pub acls: bool,
    pub list: Xattrs,
}

impl Land {
    /// The longest encoding of a list within the bounds: its count, then
    /// per name (at least 6 bytes, `user.` and one more, and its NUL) two
    /// lengths and their colons, the names and the values (under a
    /// channel's frame, 512 KiB).
    pub const MAX: usize = 4 + 8 + MAX_LIST + MAX_VALUES + 10 * (MAX_LIST / 7 + 1);

    /// Whether the list holds only names of the kinds carried.
    fn consistent(&self) -> bool {
        (self.xattrs || self.acls)
            && self
                .list
                .pairs()
                .iter()
                .all(|(n, _)| (self.xattrs && carried(n, true)) || (self.acls && is_acl(n)))
    }

    /// `<kinds> <list>`; None for a list with a name of a kind not
    /// carried, or no kind.
    pub fn encode(&self) -> Option<Vec<u8>> {
        if !self.consistent() {
            return None;
        }
        let kinds: &[u8] = match (self.xattrs, self.acls) {
            (true, true) => b"xa ",
            (true, false) => b"x ",
            _ => b"a ",
        };
        Some([kinds, &self.list.encode()].concat())
    }

    /// One read from the front of `data`, and what follows it; None:
    /// malformed, past a bound, or a name of a kind not carried.
    pub fn parse(data: &[u8]) -> Option<(Land, &[u8])> {
        let i = data.iter().take(3).position(|&b| b == b' ')?;
        let (xattrs, acls) = match &data[..i] {
            b"x" => (true, false),
            b"a" => (false, true),
            b"xa" => (true, true),
            _ => return None,
        };
        let (list, rest) = Xattrs::parse(&data[i + 1..])?;
        let land = Land { xattrs, acls, list };
        land.consistent().then_some((land, rest))
    }
}

// a batch's attributes frame, its `X ` and a path after it fit one frame
const _: () = assert!(Land::MAX + 64 <= crate::frame::MAX_FRAME);

/// `TFDLANDXATTRS <kinds> <list><path>`: the session's next staged or
/// delta commit of `path` gives the file `land` before its rename.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandAt<'a> {
    pub land: Land,
    pub path: &'a [u8],
}

impl<'a> LandAt<'a> {
    /// The argument; None as [`Land::encode`].
    pub fn encode(&self) -> Option<Vec<u8>> {
        Some([&self.land.encode()?[..], self.path].concat())
    }

    /// The argument read; None: a list [`Land::parse`] refuses, or no path.
    pub fn parse(arg: &'a [u8]) -> Option<LandAt<'a>> {
        let (land, path) = Land::parse(arg)?;
        (!path.is_empty()).then_some(LandAt { land, path })
    }
}

/// A decimal number of at most 7 digits ended by `end`, and what follows.
fn word(data: &[u8], end: u8) -> Option<(usize, &[u8])> {
    let i = data.iter().take(8).position(|&b| b == end)?;
    let digits = &data[..i];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    let n = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((n, &data[i + 1..]))
}

/// `TFDXATTRS`'s answer (what follows `OK `): the session's scope and the
/// path's attributes within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub scope: Scope,
    pub xattrs: Xattrs,
}

impl Listing {
    /// The answer's bytes.
    pub fn encode(&self) -> Vec<u8> {
        [self.scope.word(), b" ", &self.xattrs.encode()].concat()
    }

    /// The answer read; None: malformed, a name outside its scope, or
    /// bytes after the list.
    pub fn parse(data: &[u8]) -> Option<Listing> {
        let i = data.iter().position(|&b| b == b' ')?;
        let scope = match &data[..i] {
            b"user" => Scope::User,
            b"all" => Scope::All,
            b"acl" => Scope::Acl,
            _ => return None,
        };
        let (xattrs, rest) = Xattrs::parse(&data[i + 1..])?;
        let inside = xattrs.pairs().iter().all(|(n, _)| scope.takes(n));
        (rest.is_empty() && inside).then_some(Listing { scope, xattrs })
    }
}

/// `TFDSETXATTRS <list><path>`: `path`'s attributes become `xattrs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set<'a> {
    pub xattrs: Xattrs,
    pub path: &'a [u8],
}

impl<'a> Set<'a> {
    /// The argument.
    pub fn encode(&self) -> Vec<u8> {
        [&self.xattrs.encode()[..], self.path].concat()
    }

    /// The argument read; None: a malformed list, a name in no namespace
    /// `-X` carries and no ACL's, or no path.
    pub fn parse(arg: &'a [u8]) -> Option<Set<'a>> {
        let (xattrs, path) = Xattrs::parse(arg)?;
        let known = xattrs.pairs().iter().all(|(n, _)| carried(n, true) || is_acl(n));
        (known && !path.is_empty()).then_some(Set { xattrs, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(pairs: &[(&str, &[u8])]) -> Xattrs {
        Xattrs::new(pairs.iter().map(|(n, v)| (n.as_bytes().to_vec(), v.to_vec())).collect()).unwrap()
    }

    #[test]
    fn lists_round_trip_sorted() {
        let a = x(&[("user.b", b"2"), ("user.a", b"one\0:")]);
        assert_eq!(a.encode(), b"2 6:5:user.aone\0:6:1:user.b2");
        let l = Listing {
            scope: Scope::User,
            xattrs: a.clone(),
        };
        assert_eq!(Listing::parse(&l.encode()), Some(l));
        let s = Set {
            xattrs: a.clone(),
            path: b"d/f g",
        };
        assert_eq!(Set::parse(&s.encode()), Some(s));
        assert_eq!(Set::parse(b"0 f").map(|s| s.xattrs.is_empty()), Some(true));
        let big = x(&[("user.big", &vec![7u8; MAX_VALUE])]);
        assert_eq!(Xattrs::parse(&big.encode()).map(|p| p.0), Some(big));
    }

    #[test]
    fn bad_lists_are_refused() {
        for bad in [
            &b""[..],
            b"1 ",
            b"1 6:1:user.a",
            b"2 6:1:user.b26:1:user.a1",
            b"2 6:1:user.a16:1:user.a2",
            b"01 6:1:user.a1",
            b"1 0:1:x",
            b"9999999 ",
            b"1 6:99999999:user.a",
            b"1 6:65537:user.a",
            b"x 6:1:user.a1",
        ] {
            assert!(Xattrs::parse(bad).is_none(), "{:?}", String::from_utf8_lossy(bad));
        }
        // the set: no path, or a name of another namespace
        assert!(Set::parse(b"1 6:1:user.a1").is_none());
        assert!(Set::parse(b"1 10:1:system.foo1f").is_none());
        assert!(Listing::parse(b"user 1 11:1:trusted.foo1").is_none());
        assert!(Listing::parse(b"all 1 11:1:trusted.foo1").is_some());
        assert!(Listing::parse(b"some 0 ").is_none());
        let name = vec![b'a'; MAX_NAME + 1];
        assert_eq!(Xattrs::new(vec![(name, vec![])]), Err(Refused::Name));
        let many: Vec<_> = (0..5)
            .map(|i| (format!("user.{i}").into_bytes(), vec![0u8; MAX_VALUE]))
            .collect();
        assert_eq!(Xattrs::new(many), Err(Refused::Total));
        let names: Vec<_> = (0..300)
            .map(|i| (format!("user.{i:0>250}").into_bytes(), vec![]))
            .collect();
        assert_eq!(Xattrs::new(names), Err(Refused::Total));
    }

    #[test]
    fn lands_round_trip_and_carry_only_their_kinds() {
        let both = x(&[("user.a", b"1"), ("system.posix_acl_access", b"\x02\0\0\0")]);
        let l = Land {
            xattrs: true,
            acls: true,
            list: both.clone(),
        };
        let e = l.encode().unwrap();
        assert!(e.starts_with(b"xa 2 "));
        assert_eq!(Land::parse(&e), Some((l.clone(), &b""[..])));
        let at = LandAt { land: l, path: b"d/f" };
        assert_eq!(LandAt::parse(&at.encode().unwrap()), Some(at));
        // a name of a kind not carried: neither written nor read
        let only_x = Land {
            xattrs: true,
            acls: false,
            list: both.clone(),
        };
        assert_eq!(only_x.encode(), None);
        let mut sneaky = b"x ".to_vec();
        sneaky.extend(both.encode());
        assert_eq!(Land::parse(&sneaky), None);
        let none = Land {
            xattrs: false,
            acls: false,
            list: Xattrs::default(),
        };
        assert_eq!(none.encode(), None);
        for bad in [&b" 0 "[..], b"ax 0 ", b"X 0 ", b"x", b"x 0", b"xaa 0 "] {
            assert!(Land::parse(bad).is_none(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(
            Land::parse(b"a 0 "),
            Some((
                Land {
                    xattrs: false,
                    acls: true,
                    list: Xattrs::default()
                },
                &b""[..]
            ))
        );
        assert!(LandAt::parse(b"x 0 ").is_none(), "no path");
        // the largest lists fit the bound, and the bound fits a frame
        let values: Vec<_> = (0..4)
            .map(|i| (format!("user.{i}").into_bytes(), vec![7u8; MAX_VALUE]))
            .collect();
        // 8,192 names of 7 bytes and their NULs: the whole name list
        let names: Vec<_> = (0..8192u32)
            .map(|i| {
                (
                    [&b"user."[..], &[1 + (i / 255) as u8, 1 + (i % 255) as u8]].concat(),
                    vec![],
                )
            })
            .collect();
        for pairs in [values, names] {
            let list = Xattrs::new(pairs).unwrap();
            let land = Land {
                xattrs: true,
                acls: false,
                list,
            };
            assert!(land.encode().unwrap().len() <= Land::MAX);
        }
    }

    #[test]
    fn namespaces() {
        assert!(carried(b"user.x", false) && !carried(b"user.", false));
        assert!(!carried(b"trusted.x", false) && carried(b"trusted.x", true));
        assert!(carried(b"security.selinux", true) && !carried(b"system.posix_acl_access", true));
        assert!(Scope::Acl.takes(b"system.posix_acl_default") && !Scope::Acl.takes(b"user.x"));
        assert!(!Scope::All.takes(b"system.posix_acl_access") && !Scope::Acl.takes(b"system.posix_acl"));
        assert!(Listing::parse(b"acl 1 23:4:system.posix_acl_access\x02\0\0\0").is_some());
        assert!(Listing::parse(b"acl 1 6:1:user.a1").is_none());
        assert!(Set::parse(b"1 24:0:system.posix_acl_defaultd").is_some());
    }

    #[test]
    fn an_access_acl_the_mode_says_is_not_carried() {
        let acl = |entries: &[(u16, u16, u32)]| {
            let mut v = 2u32.to_le_bytes().to_vec();
            for (tag, perm, id) in entries {
                v.extend(tag.to_le_bytes());
                v.extend(perm.to_le_bytes());
                v.extend(id.to_le_bytes());
            }
            v
        };
        let minimal = acl(&[(1, 6, u32::MAX), (4, 4, u32::MAX), (0x20, 4, u32::MAX)]);
        let named = acl(&[
            (1, 6, u32::MAX),
            (2, 6, 1234),
            (4, 4, u32::MAX),
            (0x10, 6, u32::MAX),
            (0x20, 4, u32::MAX),
        ]);
        assert!(!acl_carried(ACLS[0], &minimal));
        assert!(acl_carried(ACLS[1], &minimal), "a default ACL always is");
        assert!(acl_carried(ACLS[0], &named));
        assert!(acl_carried(ACLS[0], b"bad"));
    }
}
