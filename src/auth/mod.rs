//! Who a session runs as: the LOGIN user file, login throttling, the privilege
//! switch, the name tables CHOWN uses inside a jail, and the session's quota.

pub mod fai;
pub mod keys;
pub mod login_throttle;
pub mod names;
pub mod privs;
pub mod replay;
pub mod shared_state;
pub mod throttle;
pub mod userdb;

/// A byte quota on the files a uid owns beneath the session's root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Whose files count.
    pub uid: u32,
    /// The most bytes they may take.
    pub limit: u64,
}

/// What a session knows about its user beyond its process credentials.
#[derive(Debug, Default)]
pub struct SessionAuth {
    /// The quota in force, if any.
    pub quota: Option<Quota>,
    /// User and group names read before the chroot, for CHOWN inside the jail.
    pub names: Option<names::NameTables>,
    /// FAITOK was used (once per session, as the reference allows).
    pub fai_issued: bool,
    /// The user file's jail the session was confined to at LOGIN (beneath the
    /// served root), if any: INJAIL's directory is beneath it, and so is the
    /// jail a FAI token issued in it records.
    pub jail_base: Option<Vec<u8>>,
}
