//! The bodies of targets `keylogin` and `host_key`: the key login's frames
//! and blobs (`tfp_wire::keylogin`) and TFDHOSTKEY's answer
//! (`tfp_wire::hostkey`).

/// The key login's frames and blobs (`tfp_wire::keylogin`; the first byte
/// picks the parser): none panics, what parses re-encodes to what parses
/// to the same value, and nothing decodes past its bound.
pub fn keylogin(data: &[u8]) {
    use tfp_wire::keylogin::{self as kl, blob, line, Challenge, Offer, PublicKey, Signature};
    let Some((&which, arg)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => {
            if let Ok(o) = Offer::parse(arg) {
                assert!(o.blob.len() <= blob::MAX_KEY_BLOB && o.user.len() <= kl::MAX_USER);
                let user = String::from_utf8_lossy(&o.user).into_owned();
                if user.as_bytes() == o.user.as_slice() && !user.contains(' ') {
                    let f = Offer::frame(&user, &o.blob);
                    assert_eq!(Offer::parse(&f[kl::OFFER.len() + 1..]), Ok(o));
                }
            }
        }
        1 => {
            if let Ok(k) = PublicKey::parse(arg) {
                assert_eq!(k.to_blob(), arg);
                // the rest of the input as a signature by it
                let _ = Signature::parse(arg, &k).map(|s| assert_eq!(Signature::parse(&s.to_blob(), &k), Ok(s)));
            }
        }
        2 => {
            if let Some(c) = Challenge::parse(arg) {
                assert_eq!(Challenge::parse(&c.frame()), Some(c));
            }
            if let Ok(b) = kl::parse_signature(arg) {
                assert!(b.len() <= blob::MAX_SIG_BLOB);
            }
        }
        3 => {
            if let Ok(Some(k)) = line::parse(&String::from_utf8_lossy(arg)) {
                assert!(k.options.len() <= line::MAX_OPTIONS);
                assert_eq!(PublicKey::parse(&k.blob), Ok(k.key));
            }
        }
        _ => {
            // a signature against each kind of key
            let keys = [
                PublicKey::Ed25519([7; 32]),
                PublicKey::Ecdsa {
                    curve: kl::Curve::P256,
                    point: [&[4u8][..], &[1; 64]].concat(),
                },
                PublicKey::Rsa {
                    e: vec![1, 0, 1],
                    n: vec![0xc5; 256],
                },
            ];
            for k in &keys {
                if let Ok(s) = Signature::parse(arg, k) {
                    assert_eq!(Signature::parse(&s.to_blob(), k), Ok(s));
                }
            }
        }
    }
}

/// The answer to `TFDHOSTKEY` (`tfp_wire::hostkey`), as a client reads it
/// from a server it does not know yet: the parser never panics, takes only
/// a 2048-bit RSA key blob within its bound, and what it takes is what the
/// server's own encoding of that key gives back.
pub fn host_key(data: &[u8]) {
    use tfp_wire::hostkey;
    let _ = hostkey::is_request(data);
    if let Ok(blob) = hostkey::parse_reply(data) {
        assert!(data.len() <= hostkey::MAX_REPLY);
        let key = tfp_wire::keylogin::PublicKey::parse(&blob);
        assert_eq!(key.map(|k| k.bits()), Ok(hostkey::RSA_BITS));
        assert_eq!(hostkey::parse_reply(&hostkey::reply(&blob)), Ok(blob.clone()));
        assert!(hostkey::fingerprint(&blob).starts_with("SHA256:"));
    }
}
