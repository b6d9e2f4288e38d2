//! Accounts as an operator reads them: a message about a file's owner names
//! the account (`alice (uid 988)`), since a bare number sends the reader to
//! /etc/passwd to learn whether it is the jail's user or a stranger.

/// `uid` as an operator reads it: `alice (uid 988)`, or `uid 988 (no such
/// account)`.
pub fn named_uid(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(u)) => format!("{} (uid {uid})", u.name),
        _ => format!("uid {uid} (no such account)"),
    }
}

#[cfg(test)]
mod tests {
    use super::named_uid;

    #[test]
    fn root_by_name_and_a_stranger_by_number() {
        assert_eq!(named_uid(0), "root (uid 0)");
        assert_eq!(named_uid(4_000_000_123), "uid 4000000123 (no such account)");
    }
}
