//! OpenSSH private key files (`~/.ssh/id_*`, `tf -i FILE`) read with
//! RustCrypto's ssh-key (its passphrase decryption too: bcrypt-pbkdf and
//! AES), their key material handed to OpenSSL, which signs: ssh-key's own
//! signing would bring RustCrypto's `rsa` crate, which carries an open
//! timing advisory (RUSTSEC-2023-0071), and OpenSSL already signs and
//! verifies everything else here.

use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use ssh_key::private::{EcdsaKeypair, KeypairData};
use ssh_key::PrivateKey;
use std::path::Path;
use tfp_wire::keylogin::{Curve, SigAlg, Signature};

/// The largest key file read.
const MAX_FILE: u64 = 64 << 10;

/// A key file, read: its public part (readable without the passphrase) and
/// the private key, decrypted or still encrypted.
pub struct KeyFile {
    key: PrivateKey,
}

/// Why a key file could not be used.
pub fn err(path: &Path, why: impl std::fmt::Display) -> String {
    format!("{}: {why}", path.display())
}

impl KeyFile {
    /// Reads `path` (at most 64 KiB), if it is an OpenSSH private key that
    /// only its owner can read, as ssh refuses an unprotected key.
    pub fn read(path: &Path) -> Result<KeyFile, String> {
        use std::io::Read;
        let f = crate::secret_files::open("the key file", path, crate::secret_files::Rule::Private)?;
        let mut text = Vec::new();
        f.take(MAX_FILE + 1).read_to_end(&mut text).map_err(|e| err(path, e))?;
        if text.len() as u64 > MAX_FILE {
            return Err(err(path, "larger than any key file"));
        }
        let key =
            PrivateKey::from_openssh(&text).map_err(|e| err(path, format!("not an OpenSSH private key ({e})")))?;
        text.fill(0);
        Ok(KeyFile { key })
    }

    /// The public key blob.
    pub fn public_blob(&self) -> Result<Vec<u8>, String> {
        self.key.public_key().to_bytes().map_err(|e| e.to_string())
    }

    /// Whether a passphrase must be asked first.
    pub fn encrypted(&self) -> bool {
        self.key.is_encrypted()
    }

    /// The key as OpenSSL signs with it, decrypted with `passphrase` if
    /// it is encrypted.
    pub fn unlock(&self, passphrase: Option<&[u8]>) -> Result<(PKey<Private>, SigAlg), String> {
        let plain;
        let key = match (self.key.is_encrypted(), passphrase) {
            (false, _) => &self.key,
            (true, Some(p)) => {
                plain = self.key.decrypt(p).map_err(|_| "wrong passphrase".to_string())?;
                &plain
            }
            (true, None) => return Err("no passphrase".into()),
        };
        to_openssl(key.key_data()).map_err(|e| e.to_string())
    }
}

/// ssh-key's key material as OpenSSL's key and the algorithm it signs with.
fn to_openssl(k: &KeypairData) -> Result<(PKey<Private>, SigAlg), Box<dyn std::error::Error>> {
    match k {
        KeypairData::Ed25519(kp) => Ok((
            PKey::private_key_from_raw_bytes(&kp.private.to_bytes(), Id::ED25519)?,
            SigAlg::Ed25519,
        )),
        KeypairData::Ecdsa(kp) => {
            let (nid, curve) = match kp {
                EcdsaKeypair::NistP256 { .. } => (Nid::X9_62_PRIME256V1, Curve::P256),
                EcdsaKeypair::NistP384 { .. } => (Nid::SECP384R1, Curve::P384),
                _ => return Err("ECDSA P-521 keys are not taken by tfd".into()),
            };
            let group = EcGroup::from_curve_name(nid)?;
            let mut ctx = openssl::bn::BigNumContext::new()?;
            let point = EcPoint::from_bytes(&group, kp.public_key_bytes(), &mut ctx)?;
            let private = BigNum::from_slice(kp.private_key_bytes())?;
            let ec = EcKey::from_private_components(&group, &private, &point)?;
            ec.check_key()?;
            Ok((PKey::from_ec_key(ec)?, SigAlg::Ecdsa(curve)))
        }
        KeypairData::Rsa(kp) => {
            let num = |m: &ssh_key::Mpint| -> Result<BigNum, Box<dyn std::error::Error>> {
                Ok(BigNum::from_slice(
                    m.as_positive_bytes().ok_or("a negative RSA number")?,
                )?)
            };
            let (n, e, d) = (num(&kp.public.n)?, num(&kp.public.e)?, num(&kp.private.d)?);
            let (p, q, iqmp) = (num(&kp.private.p)?, num(&kp.private.q)?, num(&kp.private.iqmp)?);
            let mut ctx = openssl::bn::BigNumContext::new()?;
            let one = BigNum::from_u32(1)?;
            let (mut p1, mut q1) = (BigNum::new()?, BigNum::new()?);
            p1.checked_sub(&p, &one)?;
            q1.checked_sub(&q, &one)?;
            let (mut dmp1, mut dmq1) = (BigNum::new()?, BigNum::new()?);
            dmp1.nnmod(&d, &p1, &mut ctx)?;
            dmq1.nnmod(&d, &q1, &mut ctx)?;
            let rsa = Rsa::from_private_components(n, e, d, p, q, dmp1, dmq1, iqmp)?;
            Ok((PKey::from_rsa(rsa)?, SigAlg::RsaSha512))
        }
        _ => Err("a key type tfd does not take (Ed25519, ECDSA P-256/P-384 and RSA are)".into()),
    }
}

/// `data` signed by `key` with `alg`, as the signature blob SSH writes.
pub fn sign(key: &PKey<Private>, alg: SigAlg, data: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let digest = |alg| match alg {
        SigAlg::Ecdsa(Curve::P384) => MessageDigest::sha384(),
        SigAlg::RsaSha512 => MessageDigest::sha512(),
        _ => MessageDigest::sha256(),
    };
    let sig = match alg {
        SigAlg::Ed25519 => {
            let s = Signer::new_without_digest(key)?.sign_oneshot_to_vec(data)?;
            let mut b = [0u8; 64];
            if s.len() == 64 {
                b.copy_from_slice(&s);
            }
            Signature::Ed25519(b)
        }
        SigAlg::Ecdsa(curve) => {
            let mut s = Signer::new(digest(alg), key)?;
            s.update(data)?;
            let der = EcdsaSig::from_der(&s.sign_to_vec()?)?;
            Signature::Ecdsa {
                curve,
                r: der.r().to_vec(),
                s: der.s().to_vec(),
            }
        }
        SigAlg::RsaSha256 | SigAlg::RsaSha512 => {
            let mut s = Signer::new(digest(alg), key)?;
            s.set_rsa_padding(openssl::rsa::Padding::PKCS1)?;
            s.update(data)?;
            Signature::Rsa {
                alg,
                sig: s.sign_to_vec()?,
            }
        }
    };
    Ok(sig.to_blob())
}
