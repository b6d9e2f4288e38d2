//! A key login's signature checked with OpenSSL: Ed25519 (RFC 8032),
//! ECDSA P-256 with SHA-256 and P-384 with SHA-384, RSA PKCS#1 v1.5 with
//! SHA-256 or SHA-512. The blobs were parsed and bounded by
//! [`tfp_wire::keylogin`]; this only asks OpenSSL.

use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use openssl::rsa::Rsa;
use openssl::sign::Verifier;
use tfp_wire::keylogin::{Curve, PublicKey, SigAlg, Signature};

/// The key as OpenSSL takes it.
fn pkey(key: &PublicKey) -> Result<PKey<Public>, openssl::error::ErrorStack> {
    match key {
        PublicKey::Ed25519(k) => PKey::public_key_from_raw_bytes(k, Id::ED25519),
        PublicKey::Ecdsa { curve, point } => {
            let group = EcGroup::from_curve_name(nid(*curve))?;
            let mut ctx = openssl::bn::BigNumContext::new()?;
            let p = EcPoint::from_bytes(&group, point, &mut ctx)?;
            PKey::from_ec_key(EcKey::from_public_key(&group, &p)?)
        }
        PublicKey::Rsa { e, n } => PKey::from_rsa(Rsa::from_public_components(
            BigNum::from_slice(n)?,
            BigNum::from_slice(e)?,
        )?),
    }
}

/// OpenSSL's name of a curve.
pub fn nid(c: Curve) -> Nid {
    match c {
        Curve::P256 => Nid::X9_62_PRIME256V1,
        Curve::P384 => Nid::SECP384R1,
    }
}

/// The digest of a signature algorithm (None: Ed25519 hashes by itself).
pub fn digest(alg: SigAlg) -> Option<MessageDigest> {
    match alg {
        SigAlg::Ed25519 => None,
        SigAlg::Ecdsa(Curve::P256) | SigAlg::RsaSha256 => Some(MessageDigest::sha256()),
        SigAlg::Ecdsa(Curve::P384) => Some(MessageDigest::sha384()),
        SigAlg::RsaSha512 => Some(MessageDigest::sha512()),
    }
}

/// Whether `sig` is `key`'s signature of `data`. Any error of OpenSSL's (a
/// point off the curve, say) is a signature that does not verify.
pub fn verify(key: &PublicKey, sig: &Signature, data: &[u8]) -> bool {
    let run = || -> Result<bool, openssl::error::ErrorStack> {
        let pk = pkey(key)?;
        match sig {
            Signature::Ed25519(s) => Verifier::new_without_digest(&pk)?.verify_oneshot(s, data),
            Signature::Ecdsa { curve, r, s } => {
                let der =
                    EcdsaSig::from_private_components(BigNum::from_slice(r)?, BigNum::from_slice(s)?)?.to_der()?;
                let md = digest(SigAlg::Ecdsa(*curve)).unwrap_or_else(MessageDigest::sha256);
                let mut v = Verifier::new(md, &pk)?;
                v.update(data)?;
                v.verify(&der)
            }
            Signature::Rsa { alg, sig } => {
                let md = digest(*alg).unwrap_or_else(MessageDigest::sha256);
                let mut v = Verifier::new(md, &pk)?;
                v.set_rsa_padding(openssl::rsa::Padding::PKCS1)?;
                v.update(data)?;
                v.verify(sig)
            }
        }
    };
    run().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::pkey::Private;
    use openssl::sign::Signer;
    use tfp_wire::keylogin::blob::PublicKey as Pk;

    /// Signs as an SSH client would, then the blob form both sides use.
    fn sign(k: &PKey<Private>, alg: SigAlg, data: &[u8]) -> Signature {
        match alg {
            SigAlg::Ed25519 => {
                let s = Signer::new_without_digest(k)
                    .unwrap()
                    .sign_oneshot_to_vec(data)
                    .unwrap();
                Signature::Ed25519(s.try_into().unwrap())
            }
            SigAlg::Ecdsa(curve) => {
                let mut sg = Signer::new(digest(alg).unwrap(), k).unwrap();
                sg.update(data).unwrap();
                let der = sg.sign_to_vec().unwrap();
                let s = EcdsaSig::from_der(&der).unwrap();
                Signature::Ecdsa {
                    curve,
                    r: s.r().to_vec(),
                    s: s.s().to_vec(),
                }
            }
            _ => {
                let mut sg = Signer::new(digest(alg).unwrap(), k).unwrap();
                sg.update(data).unwrap();
                Signature::Rsa {
                    alg,
                    sig: sg.sign_to_vec().unwrap(),
                }
            }
        }
    }

    fn public(k: &PKey<Private>, curve: Option<Curve>) -> Pk {
        if let Ok(raw) = k.raw_public_key() {
            return Pk::Ed25519(raw.try_into().unwrap());
        }
        if let Some(curve) = curve {
            let ec = k.ec_key().unwrap();
            let mut ctx = openssl::bn::BigNumContext::new().unwrap();
            let point = ec
                .public_key()
                .to_bytes(ec.group(), openssl::ec::PointConversionForm::UNCOMPRESSED, &mut ctx)
                .unwrap();
            return Pk::Ecdsa { curve, point };
        }
        let r = k.rsa().unwrap();
        Pk::Rsa {
            e: r.e().to_vec(),
            n: r.n().to_vec(),
        }
    }

    #[test]
    fn each_type_verifies_its_own_signature_and_no_altered_one() {
        let ec = |c| PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(nid(c)).unwrap()).unwrap()).unwrap();
        let rsa = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let cases = [
            (PKey::generate_ed25519().unwrap(), None, SigAlg::Ed25519),
            (ec(Curve::P256), Some(Curve::P256), SigAlg::Ecdsa(Curve::P256)),
            (ec(Curve::P384), Some(Curve::P384), SigAlg::Ecdsa(Curve::P384)),
            (rsa.clone(), None, SigAlg::RsaSha256),
            (rsa, None, SigAlg::RsaSha512),
        ];
        for (k, curve, alg) in cases {
            let pk = public(&k, curve);
            let sig = sign(&k, alg, b"data");
            // through the blob, as the wire carries it
            let sig = Signature::parse(&sig.to_blob(), &pk).unwrap();
            assert!(verify(&pk, &sig, b"data"), "{alg:?}");
            assert!(!verify(&pk, &sig, b"datA"), "{alg:?}");
            let mut blob = sig.to_blob();
            let last = blob.len() - 1;
            blob[last] ^= 1;
            if let Ok(bad) = Signature::parse(&blob, &pk) {
                assert!(!verify(&pk, &bad, b"data"), "{alg:?}");
            }
        }
        // a point off the curve verifies nothing
        let off = Pk::Ecdsa {
            curve: Curve::P256,
            point: [&[4u8][..], &[1u8; 64]].concat(),
        };
        let s = Signature::Ecdsa {
            curve: Curve::P256,
            r: vec![1],
            s: vec![1],
        };
        assert!(!verify(&off, &s, b"data"));
    }
}
