//! The Fast Access Interface's pure parts (document, "The Fast Access Interface";
//! wire-notes §8.10): the `FAI://<uuid>` entrance in place of the version, the
//! FAITOK lifetime rule and reply, and the token record a store keeps. No I/O.

use super::uuid;

/// What a client sends instead of the version string.
pub const PREFIX: &[u8] = b"FAI://";
/// FAI keys are 128..=214 random bytes (the reference's FAIMIN_KEYLEN..KEYMAX):
/// long enough that the stream cipher's state is all key.
pub const KEY_MIN: usize = 128;
/// See [`KEY_MIN`].
pub const KEY_MAX: usize = 214;
/// A token record is one short line; anything longer is not ours.
pub const MAX_RECORD: usize = 2048;
/// The first word of every record: the format may change, old files then read
/// as invalid instead of being misread (`tfd-fai-1` records named no server).
const MAGIC: &str = "tfd-fai-2";
/// Bytes of a server identity (a SHA-256).
pub const SERVER_ID_LEN: usize = 32;

/// The token in a version frame, if the frame is a FAI entrance: `None` when it
/// does not start with `FAI://` (then it is a version string), `Some(Err)` when
/// it does but the rest is not a token tfd could have issued. Unlike the
/// reference (which looks for `FAI://` anywhere and joins the rest to a path),
/// only the exact form is accepted: the token names a file.
pub fn entrance(frame: &[u8]) -> Option<Result<[u8; uuid::TEXT_LEN], ()>> {
    let s = frame.split(|&b| b == 0).next().unwrap_or_default();
    let rest = s.strip_prefix(PREFIX)?;
    if !uuid::is_v4_text(rest) {
        return Some(Err(()));
    }
    let mut t = [0u8; uuid::TEXT_LEN];
    t.copy_from_slice(rest);
    Some(Ok(t))
}

/// FAITOK's lifetime in minutes: the argument clamped to 1..=max; 0, anything
/// larger and anything that is not a number give the maximum (the reference's
/// rule).
pub fn minutes(arg: &[u8], max: u32) -> u32 {
    let text = std::str::from_utf8(arg).unwrap_or("").trim();
    match text.parse::<u64>() {
        Ok(m) if m >= 1 && m <= max as u64 => m as u32,
        _ => max,
    }
}

/// FAITOK's answer after `OK `: `<expiry-epoch> <uuid> <base64 key>`.
pub fn faitok_reply(expiry: u64, token: &[u8; uuid::TEXT_LEN], key: &[u8]) -> Vec<u8> {
    let mut out = format!("{expiry} ").into_bytes();
    out.extend_from_slice(token);
    out.push(b' ');
    out.extend_from_slice(openssl::base64::encode_block(key).as_bytes());
    out
}

/// Parses FAITOK's answer (after `OK `), for clients.
pub fn parse_faitok_reply(data: &[u8]) -> Option<(u64, [u8; uuid::TEXT_LEN], Vec<u8>)> {
    let text = std::str::from_utf8(data).ok()?;
    let mut words = text.split(' ');
    let expiry = words.next()?.parse().ok()?;
    let token = words.next()?.as_bytes();
    let key = decode_key(words.next()?.as_bytes())?;
    if words.next().is_some() || !uuid::is_v4_text(token) {
        return None;
    }
    let mut t = [0u8; uuid::TEXT_LEN];
    t.copy_from_slice(token);
    Some((expiry, t, key))
}

/// Decodes a base64 FAI key (FAITOK's, or the next key sent at the entrance);
/// None unless it is valid base64 of [`KEY_MIN`]..=[`KEY_MAX`] bytes.
pub fn decode_key(b64: &[u8]) -> Option<Vec<u8>> {
    if b64.len() > 4 * KEY_MAX.div_ceil(3) || !b64.iter().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(b)) {
        return None;
    }
    let key = openssl::base64::decode_block(std::str::from_utf8(b64).ok()?).ok()?;
    (KEY_MIN..=KEY_MAX).contains(&key.len()).then_some(key)
}

/// One stored token: when it expires, whom it was issued to, and the key the
/// next entrance must use.
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    /// The server that issued it (see `auth::fai::server_id`): a tfd with another
    /// identity treats the token as unknown, even when it shares the directory.
    pub server: [u8; SERVER_ID_LEN],
    /// Seconds since the epoch at which the token stops working.
    pub expiry: u64,
    /// The uid the issuing session ran as (the kernel's word, not the session's).
    pub uid: u32,
    /// The LOGIN name, or None for a single-user server's session (defusr).
    pub login: Option<String>,
    /// The jail (a path beneath `dbdir`) the issuing session was confined to.
    pub jail: Option<Vec<u8>>,
    /// The session key of the next entrance.
    pub key: Vec<u8>,
}

/// Never prints the key.
impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("server", &hex(&self.server))
            .field("expiry", &self.expiry)
            .field("uid", &self.uid)
            .field("login", &self.login)
            .field(
                "jail",
                &self.jail.as_ref().map(|j| String::from_utf8_lossy(j).into_owned()),
            )
            .finish_non_exhaustive()
    }
}

fn hex(b: &[u8]) -> String {
    if b.is_empty() {
        return "-".into();
    }
    crate::hex::encode(b)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() > 2 * 1024 {
        return None;
    }
    crate::hex::decode(s)
}

impl Record {
    /// The file's one line:
    /// `tfd-fai-2 <server> <expiry> <uid> <login|-> <jail|-> <key>`, the server
    /// identity, names and the jail in hex (any bytes), the key in base64.
    pub fn encode(&self) -> Vec<u8> {
        let login = self.login.as_deref().map_or("-".into(), |l| hex(l.as_bytes()));
        let jail = self.jail.as_deref().map_or("-".into(), hex);
        format!(
            "{MAGIC} {} {} {} {login} {jail} {}\n",
            hex(&self.server),
            self.expiry,
            self.uid,
            openssl::base64::encode_block(&self.key)
        )
        .into_bytes()
    }

    /// Parses [`Record::encode`]'s line; None for anything else.
    pub fn parse(bytes: &[u8]) -> Option<Record> {
        if bytes.len() > MAX_RECORD {
            return None;
        }
        let text = std::str::from_utf8(bytes).ok()?.strip_suffix('\n')?;
        let w: Vec<&str> = text.split(' ').collect();
        let [magic, server, expiry, uid, login, jail, key] = w[..] else {
            return None;
        };
        if magic != MAGIC {
            return None;
        }
        // encode writes "-" for none and for empty, so an empty field never came
        // from it; taking it as Some("") would not survive a rewrite
        let opt = |s: &str| match s {
            "-" => Some(None),
            "" => None,
            _ => unhex(s).map(Some),
        };
        let login = match opt(login)? {
            Some(l) => Some(String::from_utf8(l).ok()?),
            None => None,
        };
        Some(Record {
            server: unhex(server)?.try_into().ok()?,
            expiry: expiry.parse().ok()?,
            uid: uid.parse().ok()?,
            login,
            jail: opt(jail)?,
            key: decode_key(key.as_bytes())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &[u8; 36] = b"9570a411-7512-422b-a260-2f608aa5ef91";

    #[test]
    fn entrance_forms() {
        assert_eq!(entrance(b"2.4.1"), None);
        assert_eq!(entrance(b""), None);
        assert_eq!(entrance(&[PREFIX, T].concat()), Some(Ok(*T)));
        assert_eq!(entrance(&[PREFIX, T, b"\0junk"].concat()), Some(Ok(*T)));
        // the reference's traversal and its "anywhere" search are not tokens
        assert_eq!(entrance(b"FAI://../tfd.conf"), Some(Err(())));
        assert_eq!(entrance(&[b"xx", PREFIX, T].concat()), None);
        assert_eq!(entrance(&[PREFIX, T, b"/"].concat()), Some(Err(())));
        assert_eq!(entrance(b"FAI://"), Some(Err(())));
        assert_eq!(entrance(&[PREFIX, &T.to_ascii_uppercase()[..]].concat()), Some(Err(())));
    }

    #[test]
    fn minutes_rule() {
        assert_eq!(minutes(b"10", 360), 10);
        assert_eq!(minutes(b"360", 360), 360);
        assert_eq!(minutes(b"361", 360), 360);
        assert_eq!(minutes(b"0", 360), 360);
        assert_eq!(minutes(b"-5", 360), 360);
        assert_eq!(minutes(b"", 360), 360);
        assert_eq!(minutes(b"abc", 360), 360);
        assert_eq!(minutes(b"99999999999999999999999", 360), 360);
    }

    #[test]
    fn reply_round_trip() {
        let key: Vec<u8> = (0..150u8).collect();
        let r = faitok_reply(1_700_000_000, T, &key);
        assert!(r.starts_with(b"1700000000 9570a411-7512-422b-a260-2f608aa5ef91 "));
        assert_eq!(parse_faitok_reply(&r), Some((1_700_000_000, *T, key)));
        assert_eq!(parse_faitok_reply(b"1 x y"), None);
        // too short a key is not a FAI key
        assert_eq!(decode_key(openssl::base64::encode_block(&[1u8; 16]).as_bytes()), None);
        assert_eq!(decode_key(b"!!!"), None);
    }

    #[test]
    fn record_round_trip_and_rejects() {
        let rec = Record {
            server: [0xa5; SERVER_ID_LEN],
            expiry: 42,
            uid: 1001,
            login: Some("ali ce".into()),
            jail: Some(b"jails/a b".to_vec()),
            key: vec![7u8; 200],
        };
        let line = rec.encode();
        assert_eq!(Record::parse(&line), Some(rec.clone()));
        let bare = Record {
            login: None,
            jail: None,
            ..rec.clone()
        };
        assert_eq!(Record::parse(&bare.encode()), Some(bare));
        assert!(!format!("{rec:?}").contains("key"));
        assert_eq!(Record::parse(b"42 AAAA\n"), None);
        assert_eq!(Record::parse(&line[..line.len() - 1]), None);
        let mut other = line.clone();
        other[8] = b'1';
        assert_eq!(Record::parse(&other), None);
        // a record of the format before servers were named is not read
        let text = String::from_utf8(line.clone()).unwrap();
        let old = text.replacen(&format!("{MAGIC} {} ", hex(&rec.server)), "tfd-fai-1 ", 1);
        assert_eq!(Record::parse(old.as_bytes()), None, "{old}");
        // a server identity is exactly 32 bytes
        for server in ["-", "", "a5", &"a5".repeat(33)] {
            let bad = text.replacen(&hex(&rec.server), server, 1);
            assert_eq!(Record::parse(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(Record::parse(&vec![b'a'; MAX_RECORD + 1]), None);
        // an empty name or jail is written "-"; an empty field is no record of ours
        // (the fuzzer's find: it parsed as Some("") and came back None)
        let key = openssl::base64::encode_block(&rec.key);
        let server = hex(&rec.server);
        for line in [
            format!("{MAGIC} {server} 42 1001  - {key}\n"),
            format!("{MAGIC} {server} 42 1001 -  {key}\n"),
        ] {
            assert_eq!(Record::parse(line.as_bytes()), None, "{line}");
        }
    }
}
