//! OpenSSH's public keys and signatures as byte blobs (RFC 4253 §6.6, RFC 5656
//! §3.1, RFC 8332, RFC 8709): what an `authorized_keys` line carries in
//! Base64, what ssh-agent answers, and what a key login sends. Parsed with
//! bounds, never panicking; only the types tfd verifies are accepted.

/// The largest public key blob read: an RSA key of 16384 bits (sshd's
/// own ceiling) takes about 2,070 bytes.
pub const MAX_KEY_BLOB: usize = 2200;
/// The largest signature blob read: an RSA signature of 16384 bits and its name.
pub const MAX_SIG_BLOB: usize = 2100;
/// The smallest RSA modulus accepted, in bits (as OpenSSH since 9.x).
pub const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits.
pub const MAX_RSA_BITS: usize = 16384;

/// An elliptic curve of the accepted ECDSA keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256, signed with SHA-256.
    P256,
    /// NIST P-384, signed with SHA-384.
    P384,
}

impl Curve {
    /// The curve's name in a key blob.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "nistp256",
            Curve::P384 => "nistp384",
        }
    }

    /// Bytes of one coordinate (and of a scalar).
    pub fn field_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }
}

/// A public key of an accepted type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// `ssh-ed25519`: the 32-byte key.
    Ed25519([u8; 32]),
    /// `ecdsa-sha2-nistp256|384`: the uncompressed point (`04 ‖ x ‖ y`).
    Ecdsa {
        /// The curve.
        curve: Curve,
        /// The point, uncompressed.
        point: Vec<u8>,
    },
    /// `ssh-rsa`: the exponent and the modulus, big-endian, no leading zeros.
    Rsa {
        /// The public exponent.
        e: Vec<u8>,
        /// The modulus.
        n: Vec<u8>,
    },
}

/// A signature algorithm of the accepted ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigAlg {
    /// Ed25519 (RFC 8709).
    Ed25519,
    /// ECDSA with the curve's hash (RFC 5656).
    Ecdsa(Curve),
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8332).
    RsaSha256,
    /// RSASSA-PKCS1-v1_5 with SHA-512 (RFC 8332).
    RsaSha512,
}

impl SigAlg {
    /// The algorithm's name in a signature blob.
    pub fn name(self) -> &'static str {
        match self {
            SigAlg::Ed25519 => "ssh-ed25519",
            SigAlg::Ecdsa(Curve::P256) => "ecdsa-sha2-nistp256",
            SigAlg::Ecdsa(Curve::P384) => "ecdsa-sha2-nistp384",
            SigAlg::RsaSha256 => "rsa-sha2-256",
            SigAlg::RsaSha512 => "rsa-sha2-512",
        }
    }

    /// The algorithm named so; `ssh-rsa` (SHA-1) is not one.
    pub fn from_name(name: &[u8]) -> Option<SigAlg> {
        [
            SigAlg::Ed25519,
            SigAlg::Ecdsa(Curve::P256),
            SigAlg::Ecdsa(Curve::P384),
            SigAlg::RsaSha256,
            SigAlg::RsaSha512,
        ]
        .into_iter()
        .find(|a| a.name().as_bytes() == name)
    }
}

/// Why a blob was refused (for the log: every one is a `FAILED` to the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobError {
    /// Longer than the bound for its kind.
    TooLong,
    /// A length runs past the end, or bytes follow the last field.
    Malformed,
    /// A key or signature type tfd does not take (named, escaped).
    UnknownType(String),
    /// An RSA modulus outside 2048..=16384 bits (its size).
    RsaSize(usize),
    /// A point, key or signature of the wrong length for its type.
    BadLength,
    /// A signature of another type than the key's.
    WrongType,
}

impl std::fmt::Display for BlobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobError::TooLong => write!(f, "longer than the bound"),
            BlobError::Malformed => write!(f, "malformed"),
            BlobError::UnknownType(t) => write!(f, "type {t:?} is not taken"),
            BlobError::RsaSize(b) => write!(f, "an RSA key of {b} bits (2048 to 16384 taken)"),
            BlobError::BadLength => write!(f, "wrong length for its type"),
            BlobError::WrongType => write!(f, "a signature of another type than the key"),
        }
    }
}

/// Reads SSH wire fields from a blob.
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `blob`.
    pub fn new(blob: &'a [u8]) -> Reader<'a> {
        Reader { rest: blob }
    }

    /// A `string`: a u32 length, then that many bytes.
    pub fn string(&mut self) -> Result<&'a [u8], BlobError> {
        let (len, rest) = self.rest.split_first_chunk::<4>().ok_or(BlobError::Malformed)?;
        let len = u32::from_be_bytes(*len) as usize;
        if len > rest.len() {
            return Err(BlobError::Malformed);
        }
        let (s, rest) = rest.split_at(len);
        self.rest = rest;
        Ok(s)
    }

    /// An `mpint` that must be positive and minimal (as OpenSSH reads one:
    /// a leading zero byte only before a byte with its top bit set): its
    /// magnitude.
    pub fn positive_mpint(&mut self) -> Result<&'a [u8], BlobError> {
        let m = self.string()?;
        match m {
            [] => Ok(m),
            [b, ..] if b & 0x80 != 0 => Err(BlobError::Malformed),
            [0, next, ..] if next & 0x80 != 0 => Ok(&m[1..]),
            [0, ..] => Err(BlobError::Malformed),
            _ => Ok(m),
        }
    }

    /// Nothing may follow the last field.
    pub fn end(&self) -> Result<(), BlobError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(BlobError::Malformed)
        }
    }
}

/// Appends an SSH `string`.
pub fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

/// Appends a positive `mpint` from big-endian magnitude bytes.
pub fn put_mpint(out: &mut Vec<u8>, magnitude: &[u8]) {
    let start = magnitude.iter().position(|&b| b != 0).unwrap_or(magnitude.len());
    let m = &magnitude[start..];
    if m.first().is_some_and(|b| b & 0x80 != 0) {
        put_string(out, &[&[0u8][..], m].concat());
    } else {
        put_string(out, m);
    }
}

/// The number of bits of a big-endian magnitude without leading zeros.
fn bits(m: &[u8]) -> usize {
    match m.first() {
        Some(&b) => m.len() * 8 - b.leading_zeros() as usize,
        None => 0,
    }
}

impl PublicKey {
    /// Parses a key blob.
    pub fn parse(blob: &[u8]) -> Result<PublicKey, BlobError> {
        if blob.len() > MAX_KEY_BLOB {
            return Err(BlobError::TooLong);
        }
        let mut r = Reader::new(blob);
        let kind = r.string()?;
        let key = match kind {
            b"ssh-ed25519" => {
                let k: [u8; 32] = r.string()?.try_into().map_err(|_| BlobError::BadLength)?;
                PublicKey::Ed25519(k)
            }
            b"ecdsa-sha2-nistp256" | b"ecdsa-sha2-nistp384" => {
                let curve = if kind == b"ecdsa-sha2-nistp256" {
                    Curve::P256
                } else {
                    Curve::P384
                };
                if r.string()? != curve.name().as_bytes() {
                    return Err(BlobError::Malformed);
                }
                let point = r.string()?;
                if point.len() != 1 + 2 * curve.field_len() || point[0] != 4 {
                    return Err(BlobError::BadLength);
                }
                PublicKey::Ecdsa {
                    curve,
                    point: point.to_vec(),
                }
            }
            b"ssh-rsa" => {
                let e = r.positive_mpint()?;
                let n = r.positive_mpint()?;
                let b = bits(n);
                if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&b) {
                    return Err(BlobError::RsaSize(b));
                }
                if e.is_empty() || e.len() > 8 {
                    return Err(BlobError::Malformed);
                }
                PublicKey::Rsa {
                    e: e.to_vec(),
                    n: n.to_vec(),
                }
            }
            other => {
                return Err(BlobError::UnknownType(crate::escape::shown(
                    &other[..other.len().min(40)],
                )))
            }
        };
        r.end()?;
        Ok(key)
    }

    /// The key's type name, as in an `authorized_keys` line.
    pub fn type_name(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => "ssh-ed25519",
            PublicKey::Ecdsa { curve: Curve::P256, .. } => "ecdsa-sha2-nistp256",
            PublicKey::Ecdsa { curve: Curve::P384, .. } => "ecdsa-sha2-nistp384",
            PublicKey::Rsa { .. } => "ssh-rsa",
        }
    }

    /// The key's size in bits, as `ssh-keygen -l` prints it.
    pub fn bits(&self) -> usize {
        match self {
            PublicKey::Ed25519(_) => 256,
            PublicKey::Ecdsa { curve, .. } => curve.field_len() * 8,
            PublicKey::Rsa { n, .. } => bits(n),
        }
    }

    /// The key blob (the inverse of [`PublicKey::parse`]).
    pub fn to_blob(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_string(&mut out, self.type_name().as_bytes());
        match self {
            PublicKey::Ed25519(k) => put_string(&mut out, k),
            PublicKey::Ecdsa { curve, point } => {
                put_string(&mut out, curve.name().as_bytes());
                put_string(&mut out, point);
            }
            PublicKey::Rsa { e, n } => {
                put_mpint(&mut out, e);
                put_mpint(&mut out, n);
            }
        }
        out
    }

    /// Whether `alg` is a signature algorithm of this key.
    pub fn takes(&self, alg: SigAlg) -> bool {
        match (self, alg) {
            (PublicKey::Ed25519(_), SigAlg::Ed25519) => true,
            (PublicKey::Ecdsa { curve, .. }, SigAlg::Ecdsa(c)) => *curve == c,
            (PublicKey::Rsa { .. }, SigAlg::RsaSha256 | SigAlg::RsaSha512) => true,
            _ => false,
        }
    }
}

/// A signature: its algorithm and its bytes in the form a verifier takes
/// (Ed25519: 64 bytes; ECDSA: `r` and `s`; RSA: the modulus-long integer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// Ed25519's 64 bytes.
    Ed25519([u8; 64]),
    /// ECDSA's two integers, big-endian magnitudes.
    Ecdsa {
        /// The curve (and so the hash).
        curve: Curve,
        /// `r`.
        r: Vec<u8>,
        /// `s`.
        s: Vec<u8>,
    },
    /// RSA PKCS#1 v1.5, with SHA-256 or SHA-512.
    Rsa {
        /// [`SigAlg::RsaSha256`] or [`SigAlg::RsaSha512`].
        alg: SigAlg,
        /// The signature, as long as the modulus.
        sig: Vec<u8>,
    },
}

impl Signature {
    /// Parses a signature blob made by `key`'s holder: its type must be one of
    /// the key's, its length the one its type and the key give.
    pub fn parse(blob: &[u8], key: &PublicKey) -> Result<Signature, BlobError> {
        if blob.len() > MAX_SIG_BLOB {
            return Err(BlobError::TooLong);
        }
        let mut r = Reader::new(blob);
        let name = r.string()?;
        let alg = SigAlg::from_name(name)
            .ok_or_else(|| BlobError::UnknownType(crate::escape::shown(&name[..name.len().min(40)])))?;
        if !key.takes(alg) {
            return Err(BlobError::WrongType);
        }
        let body = r.string()?;
        r.end()?;
        match (alg, key) {
            (SigAlg::Ed25519, _) => Ok(Signature::Ed25519(body.try_into().map_err(|_| BlobError::BadLength)?)),
            (SigAlg::Ecdsa(curve), _) => {
                let mut inner = Reader::new(body);
                let r_ = inner.positive_mpint()?;
                let s_ = inner.positive_mpint()?;
                inner.end()?;
                let n = curve.field_len();
                if r_.is_empty() || s_.is_empty() || r_.len() > n || s_.len() > n {
                    return Err(BlobError::BadLength);
                }
                Ok(Signature::Ecdsa {
                    curve,
                    r: r_.to_vec(),
                    s: s_.to_vec(),
                })
            }
            (_, PublicKey::Rsa { n, .. }) => {
                if body.len() != n.len() {
                    return Err(BlobError::BadLength);
                }
                Ok(Signature::Rsa {
                    alg,
                    sig: body.to_vec(),
                })
            }
            _ => Err(BlobError::WrongType),
        }
    }

    /// The signature blob (what an agent answers, what the client sends).
    pub fn to_blob(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Signature::Ed25519(b) => {
                put_string(&mut out, SigAlg::Ed25519.name().as_bytes());
                put_string(&mut out, b);
            }
            Signature::Ecdsa { curve, r, s } => {
                put_string(&mut out, SigAlg::Ecdsa(*curve).name().as_bytes());
                let mut inner = Vec::new();
                put_mpint(&mut inner, r);
                put_mpint(&mut inner, s);
                put_string(&mut out, &inner);
            }
            Signature::Rsa { alg, sig } => {
                put_string(&mut out, alg.name().as_bytes());
                put_string(&mut out, sig);
            }
        }
        out
    }
}
