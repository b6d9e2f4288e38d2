//! What a client proves itself with beside the server's key: a login's
//! name and password, and a Fast Access token. Neither ever prints its
//! secret, and a password is wiped when dropped.

/// A user name and password for LOGIN. The password is wiped when dropped
/// and never printed.
#[derive(Clone)]
pub struct Credentials {
    /// The login name.
    pub user: String,
    /// The password (the rest of the LOGIN line).
    pub password: Vec<u8>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Drop for Credentials {
    fn drop(&mut self) {
        self.password.fill(0);
    }
}

/// A Fast Access token as a client keeps it: FAITOK's answer, then the next
/// key of every entrance.
#[derive(Clone, PartialEq, Eq)]
pub struct FaiToken {
    /// The token (a UUID), sent as `FAI://<token>`.
    pub token: String,
    /// Seconds since the epoch at which it expires.
    pub expiry: u64,
    /// The key of the next entrance.
    pub key: Vec<u8>,
}

/// Never prints the key.
impl std::fmt::Debug for FaiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaiToken")
            .field("expiry", &self.expiry)
            .finish_non_exhaustive()
    }
}
