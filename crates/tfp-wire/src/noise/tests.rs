//! The Noise handshake's tests: the Cacophony vectors, a wrong PSK, tampered messages, rekeying, HKDF.
use super::*;

use crate::aes::tests::hex;

fn arr(s: &str) -> [u8; LEN] {
    hex(s).try_into().unwrap()
}

/// The Noise test vectors for these two protocols (the "cacophony" set the
/// Noise implementations share): both handshake messages, the handshake
/// hash, and four transport messages, byte for byte.
#[test]
fn cacophony_vectors() {
    struct V {
        suite: Suite,
        hash: &'static str,
        msgs: [&'static str; 6],
    }
    let vectors = [
            V {
                suite: Suite::AesGcm,
                hash: "9f3b1f9afd7767767b5b9d1069844a6154fdbdcc36dfb3e31c0fffc5c973d530",
                msgs: [
                    "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79447c37a89fc17813788d30df2d59501d6066f5f8aecc3406bbd9829f2d24a531b1",
                    "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f1448088432f29d79368ef9de4e1ae7a362fb05bf0ad668e026bf5714554497b3a720461",
                    "7c01e898a6201f36aecee532e29cd0b7f8ffa29d3366ad0dce39a6",
                    "a9ff535aace3db6a1da1a7fb00fe2de2622bb373abad9fb42c00e0",
                    "6cfc49a3e65472edc2d0152abe5ce950170a8a47c959f30bd48b5f0aacf29adbfd",
                    "9bc86e6d974ed21ba04604a94aa68de21677eb409ead070c0cd569b069ee19ba142aa4c1a9",
                ],
            },
            V {
                suite: Suite::ChaChaPoly,
                hash: "f4d03dc34495c95729ea6de9e1b59004b59733102488b3e24bc441e0be208eaf",
                msgs: [
                    "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c794479b962b8aff8485742ac32f905ba45369e2465fb59e138a93d67a0d1266b6a54",
                    "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843d6062704d5a9c422a8e834423f8c1feada7e8d0d910a1a2cd030fb584221e3",
                    "e632c3763d7669067383433197a3baddf146e9e70ad4b4e9e59e0f",
                    "64c6bee32ea91c8474bb4c21d7a700109ad45af77b29764ba5eb1e",
                    "e2fa0bed0603b62d3ccac2ecabbf3fe33f3e86514909b323361626266cb2471cc8",
                    "0c01dc9cec1fe4ddd692e8dd32188aa351088dc91183639a53b57aa4692b5ebdef8b8ca111",
                ],
            },
        ];
    let prologue = hex("4a6f686e2047616c74");
    let psk = arr("54686973206973206d7920417573747269616e20706572737065637469766521");
    let ie = arr("893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a");
    let re = arr("bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b");
    let payloads = [
        "4c756477696720766f6e204d69736573",
        "4d757272617920526f746862617264",
        "462e20412e20486179656b",
        "4361726c204d656e676572",
        "4a65616e2d426170746973746520536179",
        "457567656e2042f6686d20766f6e2042617765726b",
    ];
    for v in vectors {
        let mut m1 = Vec::new();
        let init = Initiator::start(v.suite, &prologue, &psk, &hex(payloads[0]), &mut m1, Some(&ie)).unwrap();
        assert_eq!(m1, hex(v.msgs[0]), "{:?} message 1", v.suite);
        let (resp, p) = Responder::read(v.suite, &prologue, &psk, &m1).unwrap();
        assert_eq!(p, hex(payloads[0]));
        let mut m2 = Vec::new();
        let mut rt = resp.reply(&hex(payloads[1]), &mut m2, Some(&re)).unwrap();
        assert_eq!(m2, hex(v.msgs[1]), "{:?} message 2", v.suite);
        let (p, mut it) = init.finish(&m2).unwrap();
        assert_eq!(p, hex(payloads[1]));
        assert_eq!(it.h.to_vec(), hex(v.hash));
        assert_eq!(rt.h, it.h);
        // transport: initiator, responder, initiator, responder
        for (i, want) in v.msgs[2..].iter().enumerate() {
            let (tx, rx) = if i % 2 == 0 {
                (&mut it.send, &mut rt.recv)
            } else {
                (&mut rt.send, &mut it.recv)
            };
            let mut c = Vec::new();
            tx.encrypt_with_ad(&[], &hex(payloads[i + 2]), &mut c).unwrap();
            assert_eq!(c, hex(want), "{:?} transport {i}", v.suite);
            assert_eq!(rx.decrypt_with_ad(&[], &c).unwrap(), hex(payloads[i + 2]));
        }
    }
}

#[test]
fn another_psk_fails_at_the_responder() {
    for suite in Suite::ALL {
        let mut m1 = Vec::new();
        let _i = Initiator::start(suite, b"p", &[1; LEN], b"", &mut m1, None).unwrap();
        assert_eq!(
            Responder::read(suite, b"p", &[2; LEN], &m1).err(),
            Some(NoiseError::Auth)
        );
        // another prologue too
        assert_eq!(
            Responder::read(suite, b"q", &[1; LEN], &m1).err(),
            Some(NoiseError::Auth)
        );
    }
}

#[test]
fn every_bit_of_message_1_matters() {
    let suite = Suite::preferred();
    let mut m1 = Vec::new();
    let init = Initiator::start(suite, b"p", &[7; LEN], b"", &mut m1, None).unwrap();
    for bit in 0..m1.len() * 8 {
        let mut t = m1.clone();
        t[bit / 8] ^= 1 << (bit % 8);
        assert!(
            Responder::read(suite, b"p", &[7; LEN], &t).is_err(),
            "message 1 bit {bit}"
        );
    }
    let (resp, _) = Responder::read(suite, b"p", &[7; LEN], &m1).unwrap();
    let mut m2 = Vec::new();
    resp.reply(b"", &mut m2, None).unwrap();
    assert!(init.finish(&m2).is_ok());
}

#[test]
fn tampered_message_2_fails_at_the_initiator() {
    let suite = Suite::preferred();
    for bit in [0, 100, 255, 256, 300, 383] {
        let mut m1 = Vec::new();
        let init = Initiator::start(suite, b"p", &[7; LEN], b"", &mut m1, None).unwrap();
        let (resp, _) = Responder::read(suite, b"p", &[7; LEN], &m1).unwrap();
        let mut m2 = Vec::new();
        resp.reply(b"", &mut m2, None).unwrap();
        m2[bit / 8] ^= 1 << (bit % 8);
        assert!(init.finish(&m2).is_err(), "bit {bit}");
    }
}

#[test]
fn rekey_moves_both_sides_alike() {
    let suite = Suite::AesGcm;
    let mut a = CipherState::with_key(suite, [3; LEN]);
    let mut b = CipherState::with_key(suite, [3; LEN]);
    let mut c = Vec::new();
    a.encrypt_with_ad(b"x", b"before", &mut c).unwrap();
    assert_eq!(b.decrypt_with_ad(b"x", &c).unwrap(), b"before");
    a.rekey().unwrap();
    let mut c2 = Vec::new();
    a.encrypt_with_ad(b"x", b"after", &mut c2).unwrap();
    let mut stale = CipherState::with_key(suite, [3; LEN]);
    stale.n = 1;
    assert_eq!(stale.decrypt_with_ad(b"x", &c2), Err(NoiseError::Auth));
    b.rekey().unwrap();
    assert_eq!(b.decrypt_with_ad(b"x", &c2).unwrap(), b"after");
}

#[test]
fn hkdf_matches_rfc5869_case_1() {
    // RFC 5869 A.1 (first 32 of its 42 bytes)
    let okm = hkdf_sha256(
        &hex("000102030405060708090a0b0c"),
        &hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
        &hex("f0f1f2f3f4f5f6f7f8f9"),
    )
    .unwrap();
    assert_eq!(
        okm.to_vec(),
        hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf")
    );
}
