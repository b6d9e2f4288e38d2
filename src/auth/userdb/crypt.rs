//! The crypt(3) side of the file: `$5$`/`$6$` hashes parsed, verified and made,
//! and the cost one verification takes.

use super::*;

/// Longest salt crypt(3) uses (longer salts are cut to this by glibc).
const MAX_SALT: usize = 16;
/// The crypt base-64 alphabet (salts and digests).
const CRYPT_ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The crypt(3) schemes tfd verifies and generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `$5$`, SHA-256-crypt.
    Sha256,
    /// `$6$`, SHA-512-crypt (the default).
    Sha512,
}

impl Scheme {
    fn id(self) -> &'static str {
        match self {
            Scheme::Sha256 => "5",
            Scheme::Sha512 => "6",
        }
    }

    fn digest_len(self) -> usize {
        match self {
            Scheme::Sha256 => 43,
            Scheme::Sha512 => 86,
        }
    }
}

/// The work one verification costs: what the dummy hash must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    /// The scheme.
    pub scheme: Scheme,
    /// Its rounds.
    pub rounds: u32,
}

/// A parsed `$5$`/`$6$` crypt hash. Debug never shows the salt or digest.
#[derive(Clone, PartialEq, Eq)]
pub struct CryptHash {
    scheme: Scheme,
    rounds: u32,
    /// `rounds=` was written (crypt omits it for the default; kept for round trips).
    explicit_rounds: bool,
    salt: String,
    digest: String,
}

impl fmt::Debug for CryptHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CryptHash(${}$, rounds={})", self.scheme.id(), self.rounds)
    }
}

impl fmt::Display for CryptHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}$", self.scheme.id())?;
        if self.explicit_rounds {
            write!(f, "rounds={}$", self.rounds)?;
        }
        write!(f, "{}${}", self.salt, self.digest)
    }
}

/// Why a password hash field does not parse: displays as the message the
/// user file's errors and tfpasswd show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashError {
    /// Not `$...`.
    NoScheme,
    /// A scheme tfd does not verify (its id).
    Unsupported(String),
    /// Nothing after the `$`.
    Empty,
    /// No salt part.
    NoSalt,
    /// `rounds=` out of range or not canonical decimal.
    Rounds,
    /// The salt's length or alphabet.
    Salt,
    /// No digest part.
    NoDigest,
    /// More `$` parts after the digest.
    Trailing,
    /// The digest's length or alphabet for this scheme.
    Digest(Scheme),
}

impl fmt::Display for HashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HashError::NoScheme => f.write_str("a password hash must start with $5$ or $6$"),
            HashError::Unsupported(other) => write!(
                f,
                "unsupported hash scheme ${other}$ (tfd verifies $6$ SHA-512-crypt and $5$ SHA-256-crypt)"
            ),
            HashError::Empty => f.write_str("empty password hash"),
            HashError::NoSalt => f.write_str("password hash without salt"),
            HashError::Rounds => write!(f, "rounds must be {MIN_ROUNDS}..{MAX_ROUNDS}"),
            HashError::Salt => write!(f, "the salt must be 1..{MAX_SALT} characters of [./0-9A-Za-z]"),
            HashError::NoDigest => f.write_str("password hash without digest"),
            HashError::Trailing => f.write_str("trailing text after the password hash"),
            HashError::Digest(scheme) => write!(
                f,
                "the ${}$ digest must be {} characters of [./0-9A-Za-z]",
                scheme.id(),
                scheme.digest_len()
            ),
        }
    }
}

/// No randomness for a salt.
impl From<getrandom::Error> for UserDbError {
    fn from(_: getrandom::Error) -> UserDbError {
        UserDbError::Random
    }
}

impl CryptHash {
    /// Parses `$6$[rounds=N$]salt$digest` or the `$5$` form.
    pub fn parse(s: &str) -> Result<CryptHash, HashError> {
        let mut parts = s.split('$');
        if parts.next() != Some("") {
            return Err(HashError::NoScheme);
        }
        let scheme = match parts.next() {
            Some("6") => Scheme::Sha512,
            Some("5") => Scheme::Sha256,
            Some(other) => return Err(HashError::Unsupported(other.into())),
            None => return Err(HashError::Empty),
        };
        let mut next = parts.next().ok_or(HashError::NoSalt)?;
        let (rounds, explicit_rounds) = match next.strip_prefix("rounds=") {
            Some(n) => {
                // canonical decimal only: `rounds=09999` would be rewritten as
                // `rounds=9999` by the next tfpasswd change (found by fuzzing)
                let ok = !n.is_empty() && n.len() <= 10 && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit());
                let rounds = ok
                    .then(|| n.parse::<u32>().ok())
                    .flatten()
                    .filter(|r| (MIN_ROUNDS..=MAX_ROUNDS).contains(r))
                    .ok_or(HashError::Rounds)?;
                next = parts.next().ok_or(HashError::NoSalt)?;
                (rounds, true)
            }
            None => (DEFAULT_ROUNDS, false),
        };
        let salt = next;
        if salt.is_empty() || salt.len() > MAX_SALT || !salt.bytes().all(|b| CRYPT_ALPHABET.contains(&b)) {
            return Err(HashError::Salt);
        }
        let digest = parts.next().ok_or(HashError::NoDigest)?;
        if parts.next().is_some() {
            return Err(HashError::Trailing);
        }
        if digest.len() != scheme.digest_len() || !digest.bytes().all(|b| CRYPT_ALPHABET.contains(&b)) {
            return Err(HashError::Digest(scheme));
        }
        Ok(CryptHash {
            scheme,
            rounds,
            explicit_rounds,
            salt: salt.into(),
            digest: digest.into(),
        })
    }

    /// Hashes a new password with a fresh random salt.
    pub fn new(password: &[u8], scheme: Scheme, rounds: u32) -> Result<CryptHash, UserDbError> {
        if !(MIN_ROUNDS..=MAX_ROUNDS).contains(&rounds) {
            return Err(UserDbError::Invalid(format!(
                "rounds must be {MIN_ROUNDS}..{MAX_ROUNDS}"
            )));
        }
        let mut salt = String::with_capacity(MAX_SALT);
        let mut r = [0u8; MAX_SALT];
        getrandom::getrandom(&mut r)?;
        for b in r {
            // 256 is a multiple of 64, so `& 63` is uniform
            salt.push(CRYPT_ALPHABET[(b & 63) as usize] as char);
        }
        let mut h = CryptHash {
            scheme,
            rounds,
            explicit_rounds: rounds != DEFAULT_ROUNDS,
            salt,
            digest: String::new(),
        };
        h.digest = h
            .compute(password)
            .ok_or_else(|| UserDbError::Invalid("cannot hash".into()))?;
        Ok(h)
    }

    /// A hash that never matches, with the given cost: what unknown names are
    /// checked against. The digest holds `*`, outside the crypt alphabet.
    pub fn dummy(cost: Cost) -> CryptHash {
        CryptHash {
            scheme: cost.scheme,
            rounds: cost.rounds,
            explicit_rounds: true,
            salt: "tfdDummySaltXyz0".into(),
            digest: "*".repeat(cost.scheme.digest_len()),
        }
    }

    /// What verifying against this hash costs.
    pub fn cost(&self) -> Cost {
        Cost {
            scheme: self.scheme,
            rounds: self.rounds,
        }
    }

    /// The encoded digest of `password` under this hash's salt and rounds.
    fn compute(&self, password: &[u8]) -> Option<String> {
        match self.scheme {
            Scheme::Sha512 => {
                let p = sha_crypt::Sha512Params::new(self.rounds as usize).ok()?;
                sha_crypt::sha512_crypt_b64(password, self.salt.as_bytes(), &p).ok()
            }
            Scheme::Sha256 => {
                let p = sha_crypt::Sha256Params::new(self.rounds as usize).ok()?;
                sha_crypt::sha256_crypt_b64(password, self.salt.as_bytes(), &p).ok()
            }
        }
    }

    /// True if `password` hashes to this digest; the comparison is constant-time.
    pub fn matches(&self, password: &[u8]) -> bool {
        match self.compute(password) {
            Some(d) => ct_eq(d.as_bytes(), self.digest.as_bytes()),
            None => false,
        }
    }
}
