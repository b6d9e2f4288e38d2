//! The key-login frames and blobs against keys made by OpenSSH's ssh-keygen
//! (their lines and fingerprints copied from its output).

use super::blob::{put_string, Reader};
use super::line::{self, LineError};
use super::*;

const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBUGJWgL3NGHb5yylWdDcduCOeO7nV0e+3leoRvhcs6g alice@ed";
const P256: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKGaMKMTiYEUQhw45nQK8cWR2ulcWEg6XX3hC39+zyKy/a+I3ZhOdK4xsAh6neb8ZvycXcJLIW8IZ1zmAdhIK2A= p256";
const P384: &str = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBMTIwztIqDMITVfUMwBV5LwmVGURp9sEwVxHUu/lNsai61EK2c6JxwIc6nJqo48+cOgO7s1RvmaVdt+/DSdeV2pultKKT3OcJAHMzjpVi9b7bV3yZUgqBk4gXwd+efyEhw== p384";
const RSA2048: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCONnY6LPpI7/CEsRQNMhbbFfi2zqf9urXD70Cas0Hia5aoUdBEw2plwipOfwe5rh+j4g1fUtwQFvTR6+WkdyqBUERmFgN6Jdw3m802Cy2JylBF94lwJvmYnEZN0B6N0Eh7DbTjqVMoHA3ev39H+yeve2an/4o6wbEyuQcYRXy0ajGRDI4AzPf8l2qyARsTpIVCCSAMRrdwBXvGwf5DPLbrX10vzze+7Vim3yTq02CawOi6Y01v9ZzVC/rRlCGMw63SA7TvoSEWhwp+9Td8EdYha0dV1xqBPa+PuWJvESk6LXKi18sV2Q4ri68Bh8GX4GxK15k23Myqw+yAdtjVxFxN rsa";
const RSA1024: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC9Sk0pP6StkH3zw5x/ds8HsH4H2phujzAFoWMPDOi2iPitQ0L33/jGwYV1xP5TfS5WUKX7lxsBi1N3U5b3rVipqwDK1SuQp4zTVWHNsA+PVmz6QpKmeNi5IAUpf+RAEqoDzPzHSj2NU36EOkMPIKW8qmEVOqyC1guR6OuqMZz2eQ== small";

fn blob_of(l: &str) -> Vec<u8> {
    line::parse(l).unwrap().unwrap().blob
}

#[test]
fn ssh_keygens_keys_parse_round_trip_and_print_its_fingerprints() {
    for (l, kind, bits, fp) in [
        (
            ED25519,
            "ssh-ed25519",
            256,
            "SHA256:AKtv29xLXbockxr1LgJbFiAcMtHuEL1bL/j4bbYbRxs",
        ),
        (
            P256,
            "ecdsa-sha2-nistp256",
            256,
            "SHA256:kBjPSSICVP5xzNT7SEfyy5GvGK/TQnqdeoSPmEcmGBw",
        ),
        (
            P384,
            "ecdsa-sha2-nistp384",
            384,
            "SHA256:49MuKFm+tHooJ1hWVfbIn9CM5OHQTRXWYtwzu3Q61Vw",
        ),
        (
            RSA2048,
            "ssh-rsa",
            2048,
            "SHA256:gwpblNvkuUfTrjdtAKQRt6vWEIOQb8BiFH+oTkSeIOw",
        ),
    ] {
        let k = line::parse(l).unwrap().unwrap();
        assert_eq!(k.key.type_name(), kind);
        assert_eq!(k.key.bits(), bits);
        assert_eq!(k.key.to_blob(), k.blob, "{kind}");
        assert_eq!(fingerprint(&k.blob), fp);
        assert!(k.options.is_empty());
        assert_eq!(line::render("", &k.blob, &k.key, &k.comment), l);
    }
}

#[test]
fn small_rsa_and_other_types_are_refused() {
    assert_eq!(
        line::parse(RSA1024),
        Err(LineError::Key(FrameError::Blob(BlobError::RsaSize(1024))))
    );
    let mut dss = Vec::new();
    put_string(&mut dss, b"ssh-dss");
    put_string(&mut dss, b"xx");
    assert!(matches!(PublicKey::parse(&dss), Err(BlobError::UnknownType(_))));
    // the type word must be the blob's
    let swapped = ED25519.replacen("ssh-ed25519", "ssh-rsa", 1);
    assert_eq!(line::parse(&swapped), Err(LineError::TypeMismatch));
}

#[test]
fn options_are_read_as_sshd_writes_them() {
    let l = format!("from=\"10.0.0.0/8,!10.1.*\",expiry-time=\"20300101\",no-pty,command=\"a \\\"b\\\"\" {ED25519}");
    let k = line::parse(&l).unwrap().unwrap();
    assert_eq!(
        k.options,
        vec![
            ("from".into(), Some("10.0.0.0/8,!10.1.*".into())),
            ("expiry-time".into(), Some("20300101".into())),
            ("no-pty".into(), None),
            ("command".into(), Some("a \"b\"".into())),
        ]
    );
    assert_eq!(k.comment, "alice@ed");
    for bad in [
        format!("from=\"x {ED25519}"),
        format!("from=x {ED25519}"),
        format!(",no-pty {ED25519}"),
        "no-pty".to_string(),
        "ssh-ed25519".to_string(),
        "ssh-ed25519 !!!!".to_string(),
    ] {
        assert!(line::parse(&bad).is_err(), "{bad}");
    }
    assert_eq!(line::parse("  # a comment"), Ok(None));
    assert_eq!(line::parse(""), Ok(None));
    let long = format!("{}{ED25519}", "no-pty,".repeat(2000));
    assert_eq!(line::parse(&long), Err(LineError::TooLong));
    let many = format!("{}no-pty {ED25519}", "no-pty,".repeat(40));
    assert_eq!(line::parse(&many), Err(LineError::Options));
}

#[test]
fn every_truncation_of_a_blob_is_refused_without_panic() {
    for l in [ED25519, P256, P384, RSA2048] {
        let b = blob_of(l);
        for n in 0..b.len() {
            assert!(PublicKey::parse(&b[..n]).is_err(), "{n}");
        }
        let mut longer = b.clone();
        longer.push(0);
        assert_eq!(PublicKey::parse(&longer), Err(BlobError::Malformed));
    }
    assert_eq!(
        PublicKey::parse(&vec![0u8; blob::MAX_KEY_BLOB + 1]),
        Err(BlobError::TooLong)
    );
    // a length that runs past the end
    assert_eq!(
        PublicKey::parse(&[0xff, 0xff, 0xff, 0xff, b's']),
        Err(BlobError::Malformed)
    );
}

/// A signature blob of `alg` with a body of `body`.
fn sig_blob(alg: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_string(&mut out, alg);
    put_string(&mut out, body);
    out
}

#[test]
fn signatures_of_the_wrong_type_or_length_are_refused() {
    let ed = PublicKey::parse(&blob_of(ED25519)).unwrap();
    let rsa = PublicKey::parse(&blob_of(RSA2048)).unwrap();
    let p256 = PublicKey::parse(&blob_of(P256)).unwrap();
    let good = sig_blob(b"ssh-ed25519", &[7u8; 64]);
    assert_eq!(Signature::parse(&good, &ed), Ok(Signature::Ed25519([7u8; 64])));
    assert_eq!(Signature::parse(&good, &ed).unwrap().to_blob(), good);
    assert_eq!(
        Signature::parse(&sig_blob(b"ssh-ed25519", &[7u8; 63]), &ed),
        Err(BlobError::BadLength)
    );
    assert_eq!(Signature::parse(&good, &rsa), Err(BlobError::WrongType));
    // SHA-1 RSA signatures are not taken
    assert!(matches!(
        Signature::parse(&sig_blob(b"ssh-rsa", &[1u8; 256]), &rsa),
        Err(BlobError::UnknownType(_))
    ));
    let r = Signature::parse(&sig_blob(b"rsa-sha2-512", &[1u8; 256]), &rsa).unwrap();
    assert_eq!(
        r,
        Signature::Rsa {
            alg: SigAlg::RsaSha512,
            sig: vec![1u8; 256]
        }
    );
    assert_eq!(
        Signature::parse(&sig_blob(b"rsa-sha2-256", &[1u8; 255]), &rsa),
        Err(BlobError::BadLength)
    );
    let mut inner = Vec::new();
    blob::put_mpint(&mut inner, &[0x80; 32]);
    blob::put_mpint(&mut inner, &[0x01; 32]);
    let e = Signature::parse(&sig_blob(b"ecdsa-sha2-nistp256", &inner), &p256).unwrap();
    assert_eq!(e.to_blob(), sig_blob(b"ecdsa-sha2-nistp256", &inner));
    let mut long = Vec::new();
    blob::put_mpint(&mut long, &[0x01; 33]);
    blob::put_mpint(&mut long, &[0x01; 32]);
    assert_eq!(
        Signature::parse(&sig_blob(b"ecdsa-sha2-nistp256", &long), &p256),
        Err(BlobError::BadLength)
    );
    assert_eq!(
        Signature::parse(&sig_blob(b"ecdsa-sha2-nistp384", &inner), &p256),
        Err(BlobError::WrongType)
    );
    assert_eq!(
        Signature::parse(&vec![0u8; blob::MAX_SIG_BLOB + 1], &rsa),
        Err(BlobError::TooLong)
    );
    for n in 0..good.len() {
        assert!(Signature::parse(&good[..n], &ed).is_err());
    }
}

#[test]
fn the_frames_parse_what_they_encode_and_nothing_past_their_bounds() {
    let blob = blob_of(P256);
    let frame = Offer::frame("alice", &blob);
    let arg = frame.strip_prefix(b"TFDKEY ").unwrap();
    let o = Offer::parse(arg).unwrap();
    assert_eq!((o.user.as_slice(), o.blob.as_slice()), (&b"alice"[..], blob.as_slice()));
    assert_eq!(Offer::parse(b"alice"), Err(FrameError::Missing));
    assert_eq!(Offer::parse(b" AAAA"), Err(FrameError::Missing));
    assert_eq!(Offer::parse(b"alice !!"), Err(FrameError::Encoding));
    let huge = vec![b'A'; 4 * blob::MAX_KEY_BLOB];
    assert_eq!(
        Offer::parse(&[&b"alice "[..], &huge].concat()),
        Err(FrameError::TooLong)
    );
    let long_user = [vec![b'u'; MAX_USER + 1], b" AAAA".to_vec()].concat();
    assert_eq!(Offer::parse(&long_user), Err(FrameError::TooLong));
    let c = Challenge {
        nonce: [0xab; NONCE_LEN],
    };
    assert_eq!(Challenge::parse(&c.frame()), Some(c));
    assert_eq!(Challenge::parse(b"OK abc"), None);
    assert_eq!(Challenge::parse(&[&b"OK "[..], &[b'z'; 64]].concat()), None);
    assert_eq!(Challenge::parse(b"FAILED 37 : Login failed."), None);
    let sig = signature_frame(b"\x00\x01");
    assert_eq!(
        parse_signature(sig.strip_prefix(b"TFDKEYSIG ").unwrap()),
        Ok(b"\x00\x01".to_vec())
    );
    assert_eq!(parse_signature(b""), Err(FrameError::Missing));
    assert_eq!(
        parse_signature(&vec![b'A'; 4 * blob::MAX_SIG_BLOB]),
        Err(FrameError::TooLong)
    );
}

#[test]
fn the_signed_value_binds_session_user_nonce_and_key() {
    let h = [1u8; 32];
    let n = [2u8; 32];
    let d = signed_data(&h, b"alice", &n, b"KEY");
    assert!(d.starts_with(DOMAIN));
    let mut r = Reader::new(&d[DOMAIN.len()..]);
    assert_eq!(r.string().unwrap(), &h);
    assert_eq!(r.string().unwrap(), b"alice");
    assert_eq!(r.string().unwrap(), &n);
    assert_eq!(r.string().unwrap(), b"KEY");
    r.end().unwrap();
    // any field changed changes the value; none can be shifted into another
    assert_ne!(d, signed_data(&[3u8; 32], b"alice", &n, b"KEY"));
    assert_ne!(d, signed_data(&h, b"bob", &n, b"KEY"));
    assert_ne!(d, signed_data(&h, b"alice", &[4u8; 32], b"KEY"));
    assert_ne!(signed_data(&h, b"ab", &n, b"c"), signed_data(&h, b"a", &n, b"bc"));
    // SSH's user authentication data starts with a length; ours never parses as one
    assert!(u32::from_be_bytes(DOMAIN[..4].try_into().unwrap()) as usize > d.len());
}
