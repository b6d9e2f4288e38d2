//! The user name and password a client logs in with.

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
