//! The bodies of tfd's daemon-level fuzz targets, one function per target: the
//! parsers and checks above the protocol crate (the daemon's configuration, user
//! file, paths, resolution beneath the served root, UDP responder, TLB list, time
//! zones, command table, and the channel's AES receive path). The protocol's own
//! parsers are fuzzed by `crates/tfp-wire-fuzz`, a crate that links `tfp-wire`
//! alone (whose input reader these bodies use). Shared by two drivers: the
//! cargo-fuzz targets in `fuzz/daemon/fuzz_targets/` (nightly, libFuzzer,
//! coverage-guided) and the stable driver `tests/fuzz_corpus.rs`, which has this
//! crate as a dev-dependency and runs every body over the stored corpus, the kept
//! crash inputs and a bounded stream of mutated inputs (see `scripts/fuzz`). Corpus, kept crash inputs and dictionary
//! are shared with the protocol targets: `fuzz/corpus/<target>/`,
//! `fuzz/regressions/<target>/`, `fuzz/tfd.dict`.
//!
//! Each body takes arbitrary bytes and must not panic on any of them. Beyond "no
//! panic" each one asserts the properties of its parser: round trips are stable
//! (decode → encode → decode), normalised paths hold only plain components, and
//! resolved paths never reach an inode outside the served root. A failed assertion
//! is a finding, exactly like a crash.
#![forbid(unsafe_code)]
#![allow(clippy::needless_range_loop)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tfd::config::Config;
use tfd::fsys::{FsError, Kind, RelPath, Root, MAX_NAME, MAX_PATH};
use tfp_channel::{ChannelError, RxHalf, TxHalf};
use tfp_wire::aes::{AesKey, IV_LEN, KEY_LEN};
use tfp_wire::{command, hpf, MAX_FRAME};
use tfp_wire_fuzz::reader::Reader;

/// TFPSFS metadata names hold this; RelPath refuses any component containing it.
const META: &[u8] = tfd::fsys::secfs::META_MARK;

/// A target's body.
pub type Body = fn(&[u8]);

/// Every target by name, for drivers and scripts.
pub const TARGETS: &[(&str, Body)] = &[
    ("command", command),
    ("config", config),
    ("relpath", relpath),
    ("resolve", resolve),
    ("udp", udp),
    ("tlb", tlb),
    ("userdb", userdb),
    ("tzrule", tzrule),
    ("aes_channel", aes_channel),
];

/// Command frames and every argument syntax (wire-notes §3.0): the name/argument
/// split, ` | ` and first-space separators, strict integers, and each command's own
/// argument form, including the binary hpfile structs of PUT/GET/PUTCAN/GETCAN.
pub fn command(data: &[u8]) {
    let req = command::split(data);
    let (raw_name, expected_arg) = match data.iter().position(|&b| b == b' ') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[data.len()..]),
    };
    assert_eq!(
        req.arg, expected_arg,
        "the argument is everything after the first space"
    );
    if req.name.is_empty() {
        assert!(
            raw_name.is_empty() || raw_name.len() > command::MAX_NAME || !raw_name.iter().all(|b| b.is_ascii_graphic()),
            "a valid name was dropped"
        );
    } else {
        assert_eq!(
            req.name.as_bytes(),
            raw_name.to_ascii_uppercase(),
            "names are upper-cased"
        );
        assert!(req.name.len() <= command::MAX_NAME);
    }
    if let Some(spec) = tfd::commands::table::lookup(&req.name) {
        assert_eq!(spec.name, req.name);
    }
    check_separators(req.arg);

    // each command's own argument syntax
    match req.name.as_str() {
        "COPY" | "CPDIR" | "RENAM" | "RMSECDIR" | "INJAIL" => {
            if let Some((a, b)) = command::split_pipe(req.arg) {
                let _ = RelPath::parse(a);
                let _ = RelPath::parse(b);
            }
        }
        "SNDFILE" | "RCVFILE" | "CHMOD" | "CHOWN" | "XDEL" | "LOGIN" => {
            if let Some((flag, path)) = command::split_space(req.arg) {
                let _ = command::parse_i64(flag);
                let _ = RelPath::parse(path);
            }
        }
        "PUT" | "GET" => hpf_arg(req.arg, false),
        "PUTCAN" | "GETCAN" => hpf_arg(req.arg, true),
        "DTOF" | "NDATE" => {
            let _ = command::parse_i64(req.arg);
        }
        _ => {
            let _ = RelPath::parse(req.arg);
        }
    }
}

fn hpf_arg(arg: &[u8], can: bool) {
    if let Some(r) = hpf::parse(arg, can) {
        if let Ok(p) = RelPath::parse(r.path) {
            check_relpath_invariants(&p, r.path);
        }
    }
}

/// The separators and the integer parser on one argument.
fn check_separators(arg: &[u8]) {
    let naive = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    assert_eq!(command::find(arg, b" | "), naive(arg, b" | "));
    match command::split_pipe(arg) {
        Some((a, b)) => {
            assert_eq!([a, b" | ", b].concat(), arg, "split_pipe lost bytes");
            assert!(
                command::find(a, b" | ").is_none(),
                "split_pipe did not split at the first ` | `"
            );
        }
        None => assert!(naive(arg, b" | ").is_none()),
    }
    match command::split_lsv2(arg) {
        Some((a, b)) => {
            assert_eq!([a, b"@||@", b].concat(), arg, "split_lsv2 lost bytes");
            assert!(
                command::find(a, b"@||@").is_none(),
                "split_lsv2 did not split at the first `@||@`"
            );
        }
        None => assert!(naive(arg, b"@||@").is_none()),
    }
    match command::split_space(arg) {
        Some((a, b)) => {
            assert_eq!([a, b" ", b].concat(), arg, "split_space lost bytes");
            assert!(!a.contains(&b' '));
        }
        None => assert!(!arg.contains(&b' ')),
    }
    match command::parse_i64(arg) {
        Some(v) => {
            // strict: the text is blanks, an optional sign and digits only
            let t = std::str::from_utf8(arg).expect("parsed text is UTF-8").trim();
            let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
            assert!(
                !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
                "{t:?}"
            );
            assert_eq!(command::parse_i64(v.to_string().as_bytes()), Some(v));
        }
        None => {
            if let Ok(t) = std::str::from_utf8(arg) {
                assert!(t.trim().parse::<i64>().is_err());
            }
        }
    }
}

/// The configuration parser (`Config::parse_str`): never panics; whatever it accepts
/// passes `validate()`; every error names `<config>` and a line inside the text; and
/// the result does not depend on CRLF line ends, indentation or a leading comment.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let base = Config::parse_str(text);
    let lines = text.split('\n').count();
    match &base {
        Ok(c) => {
            c.validate().expect("parse_str accepted what validate refuses");
            assert!(!c.listen.is_empty() && c.port != 0);
            assert!(c.listen.iter().all(|a| a.port() != 0));
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("<config>"), "{msg}");
            if let Some(l) = e.line() {
                assert!((1..=lines).contains(&l), "line {l} of {lines}: {msg}");
            }
        }
    }
    let same = |other: &Result<Config, tfd::config::ConfigError>, shift: usize, what: &str| match (&base, other) {
        (Ok(a), Ok(b)) => assert!(a == b, "{what} changed the config"),
        (Err(a), Err(b)) => {
            assert_eq!(
                std::mem::discriminant(a),
                std::mem::discriminant(b),
                "{what}: {a} vs {b}"
            );
            assert_eq!(a.line().map(|l| l + shift), b.line(), "{what}: {a} vs {b}");
        }
        (a, b) => panic!(
            "{what} changed the outcome: {:?} vs {:?}",
            a.as_ref().err(),
            b.as_ref().err()
        ),
    };
    if text.len() > 64 * 1024 {
        return;
    }
    same(&Config::parse_str(&text.replace('\n', "\r\n")), 0, "CRLF");
    if !text.starts_with('\u{feff}') {
        same(&Config::parse_str(&format!("# fuzz\n{text}")), 1, "a leading comment");
        let indented: Vec<String> = text.split('\n').map(|l| format!("  {l}")).collect();
        same(&Config::parse_str(&indented.join("\n")), 0, "indentation");
    }
}

fn check_relpath_invariants(p: &RelPath, arg: &[u8]) {
    for c in p.components() {
        assert!(!c.is_empty() && c != b"." && c != b"..", "component {c:?} from {arg:?}");
        assert!(!c.contains(&b'/') && !c.contains(&0));
        assert!(c.len() <= MAX_NAME);
    }
    let bytes = p.to_bytes();
    assert!(bytes.len() <= arg.len());
    // normalising is idempotent and the syscall form is the same path
    assert_eq!(&RelPath::parse(&bytes).expect("normal form refused"), p);
    let cs = p.to_cstring();
    if p.is_root() {
        assert_eq!(cs.as_bytes(), b".");
    } else {
        assert_eq!(cs.as_bytes(), &bytes[..]);
        let name = p.name().expect("non-root has a name");
        assert_eq!(&p.parent().join(name), p);
        assert!(p.starts_with(&p.parent()));
        assert!(!p.parent().starts_with(p));
    }
    assert!(p.starts_with(&RelPath::default()));
}

/// Path normalisation (`RelPath::parse`): never panics; accepted paths hold only
/// plain components (no empty, `.`, `..`, `/` or NUL, each ≤ NAME_MAX) and are a
/// fixed point; refusals have their reason (NUL or over-long → Invalid, climbing
/// above the root → Escape); a leading `/`, a trailing `/`, a `./` prefix or an
/// `x/..` suffix change nothing.
pub fn relpath(data: &[u8]) {
    let parsed = RelPath::parse(data);
    match &parsed {
        Ok(p) => check_relpath_invariants(p, data),
        Err(FsError::Invalid) => assert!(
            data.contains(&0) || data.len() > MAX_PATH || data.split(|&b| b == b'/').any(|c| c.len() > MAX_NAME),
            "Invalid without a reason: {data:?}"
        ),
        Err(FsError::Escape) => assert!(
            data.split(|&b| b == b'/').any(|c| c == b".."),
            "Escape without a `..`: {data:?}"
        ),
        Err(FsError::Reserved) => assert!(
            data.split(|&b| b == b'/')
                .any(|c| c.windows(META.len()).any(|w| w == META)),
            "Reserved without a metadata name: {data:?}"
        ),
        Err(e) => panic!("unexpected error {e:?}"),
    }
    if data.len() + 8 > MAX_PATH {
        return;
    }
    let variants: [Vec<u8>; 4] = [
        [b"/", data].concat(),
        [data, b"/"].concat(),
        [b"./", data].concat(),
        [data, b"/x/.."].concat(),
    ];
    for v in variants {
        match (&parsed, RelPath::parse(&v)) {
            (Ok(a), Ok(b)) => assert_eq!(a, &b, "{v:?}"),
            (Err(a), Err(b)) => assert_eq!(std::mem::discriminant(a), std::mem::discriminant(&b), "{v:?}"),
            (a, b) => panic!("{v:?}: {a:?} vs {b:?}"),
        }
    }
}

/// A served root with every kind of symlink trap, built once per process.
struct Fixture {
    root: Root,
    /// (dev, ino) of everything beneath the root, the root included.
    inside: HashSet<(u64, u64)>,
    dir: PathBuf,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        use std::os::unix::fs::symlink;
        let dir = std::env::temp_dir().join(format!("tfd-fuzz-resolve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("d/e")).expect("fixture");
        std::fs::create_dir_all(dir.join("outside")).expect("fixture");
        std::fs::write(dir.join("outside/secret"), b"secret").expect("fixture");
        std::fs::write(root.join("f"), b"f").expect("fixture");
        std::fs::write(root.join("d/g"), b"g").expect("fixture");
        let links: &[(&str, &str)] = &[
            ("in", "d"),
            ("in2", "d/e"),
            ("chain", "in/e"),
            ("self", "."),
            ("d/back", ".."),
            ("d/e/top", "../.."),
            ("up", ".."),
            ("up2", "../outside/secret"),
            ("d/up3", "../../outside"),
            ("d/e/up4", "../../../outside/secret"),
            ("abs", "/etc"),
            ("abs2", "/"),
            ("absroot", root.to_str().expect("utf-8 temp dir")),
            ("magic", "/proc/self/root"),
            ("magicfd", "/proc/self/cwd"),
            ("loop", "loop"),
            ("loopa", "loopb"),
            ("loopb", "loopa"),
            ("dangling", "nothing/here"),
            ("d/e/tricky", "../../d/../../outside"),
        ];
        for (name, target) in links {
            symlink(target, root.join(name)).expect("fixture");
        }
        let mut inside = HashSet::new();
        collect_inodes(&root, &mut inside);
        let handle = Root::open_root(&root).expect("fixture root");
        Fixture {
            root: handle,
            inside,
            dir,
        }
    })
}

fn collect_inodes(p: &Path, out: &mut HashSet<(u64, u64)>) {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::symlink_metadata(p) else { return };
    out.insert((m.dev(), m.ino()));
    if m.is_dir() {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            collect_inodes(&e.path(), out);
        }
    }
}

/// Removes the `resolve` fixture (the stable driver calls this at the end).
pub fn cleanup() {
    if let Some(f) = FIXTURE.get() {
        let _ = std::fs::remove_dir_all(&f.dir);
    }
}

/// Kernel path resolution beneath the root (`Root::open`/`stat`/`lstat`/`parent`):
/// for any argument, over a tree full of symlinks leading out (relative, absolute,
/// `..`, chains, loops, `/proc` magic links), whatever is opened or stat'ed is an
/// inode inside the served tree; nothing outside is ever reached.
pub fn resolve(data: &[u8]) {
    let f = fixture();
    let Ok(p) = RelPath::parse(data) else { return };
    let key = |st: &libc::stat| (st.st_dev, st.st_ino);
    let check = |what: &str, st: &libc::stat| {
        assert!(
            f.inside.contains(&key(st)),
            "{what} of {data:?} reached an inode outside the root"
        );
    };
    if let Ok(st) = f.root.stat(&p) {
        check("stat", &st);
    }
    if let Ok(st) = f.root.lstat(&p) {
        check("lstat", &st);
    }
    for flags in [
        libc::O_RDONLY | libc::O_NONBLOCK,
        libc::O_PATH,
        libc::O_RDONLY | libc::O_DIRECTORY,
    ] {
        if let Ok(fd) = f.root.open(&p, flags, 0) {
            let st = tfd_sys::fstat(std::os::fd::AsFd::as_fd(&fd)).expect("fstat");
            check("open", &st);
        }
    }
    if let Ok((dir, _name)) = f.root.parent(&p) {
        let st = tfd_sys::fstat(std::os::fd::AsFd::as_fd(&dir)).expect("fstat");
        check("parent", &st);
        assert_eq!(Kind::of(&st), Kind::Dir);
    }
}

/// The UDP probe parser and the responder's answer (wire-notes §5.3): never panics;
/// datagrams that are empty, over 512 bytes or of an unknown kind get no reply; every
/// reply has the reference's shape; PROCKEYs round-trip through their text form.
pub fn udp(data: &[u8]) {
    use tfd::services::registry::{self, Registry, KEY_BYTES};
    use tfp_wire::udp::{self, Probe, MAX_DATAGRAM};
    static REG: OnceLock<(Registry, [u8; KEY_BYTES])> = OnceLock::new();
    let (reg, live_key) = REG.get_or_init(|| {
        let reg = Registry::new(4).expect("registry");
        let key = [0xa5u8; KEY_BYTES];
        let slot = reg.reserve("127.0.0.1:1".parse().expect("addr")).expect("slot");
        reg.set_pid(slot, 1);
        reg.publish(slot, &key);
        (reg, key)
    });
    let parsed = udp::parse(data);
    match &parsed {
        None => assert!(data.is_empty() || data.len() > MAX_DATAGRAM || data[0] > 3),
        Some(Probe::Proc(k)) | Some(Probe::Sock(k)) => {
            assert!(!k.contains(&0) && !k.starts_with(b"/"));
        }
        Some(_) => {}
    }
    let tlb = ["4 10.0.0.1;1234".to_string()];
    for list in [&tlb[..], &[][..]] {
        let reply = tfd::daemon::udp::answer(data, reg, list);
        assert_eq!(reply.is_some(), parsed.is_some());
        let Some(reply) = reply else { continue };
        assert!(!reply.is_empty() && reply[0] <= 1, "{reply:?}");
        match &parsed {
            Some(Probe::Host) => assert_eq!(reply, [1]),
            Some(Probe::Proc(k)) => {
                let alive = registry::parse_key(k) == Some(*live_key);
                assert_eq!(reply, [u8::from(alive)]);
            }
            Some(Probe::Sock(_)) | Some(Probe::Tlb) => {
                if reply[0] == 1 {
                    assert_eq!(reply.last(), Some(&0));
                } else {
                    assert_eq!(reply, [0]);
                }
            }
            None => {}
        }
    }
    if let Some(k) = registry::parse_key(data) {
        let s = registry::key_string(&k);
        assert_eq!(registry::parse_key(&s.as_bytes()[1..]), Some(k));
    }
}

/// The TLB list parser: never panics, and what it accepts is in canonical form (its
/// output, parsed again, is the same list).
pub fn tlb(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(list) = tfd::services::tlb::parse(text) {
        let again = tfd::services::tlb::parse(&list.join("\n")).expect("canonical list refused");
        assert_eq!(again, list);
        for t in &list {
            assert!(t.starts_with("4 ") || t.starts_with("6 "), "{t}");
        }
    }
}

/// The LOGIN user file (`UserDb::parse`): never panics on any bytes; what it accepts
/// renders back to text that parses to the same database (and renders identically);
/// every user has a valid name and can be found by it; the hash, quota and size
/// fields round-trip through their text forms. (No `authenticate`: a hash may ask
/// for 10^7 rounds, which is cost, not a finding.)
pub fn userdb(data: &[u8]) {
    use tfd::auth::userdb::{check_name, format_size, parse_size, CryptHash, QuotaSpec, Secret, UserDb};
    // Known and reported: parse strips one CR per line and render adds none, so a
    // line ending in two or more CRs changes on every rewrite (a comment loses a CR,
    // a legacy password ending in CR loses it, `name \r\r` becomes a file tfd
    // refuses). The round trip is asserted for every other input.
    let cr_cr = data.split(|&b| b == b'\n').any(|l| l.ends_with(b"\r\r"));
    if let Ok(db) = UserDb::parse(data, "<fuzz>") {
        if !cr_cr {
            let text = db.render();
            let again = UserDb::parse(&text, "<fuzz>").expect("rendered user file refused");
            assert!(again == db, "parse(render(db)) != db");
            assert_eq!(again.render(), text, "render is not stable");
        }
        let mut names = HashSet::new();
        for e in db.users() {
            if !e.is_legacy() {
                check_name(&e.name).expect("accepted an invalid name");
            }
            assert!(names.insert(e.name.clone()), "duplicate user {:?}", e.name);
            assert_eq!(db.get(&e.name), Some(e));
            if let Secret::Crypt(h) = &e.secret {
                assert_eq!(CryptHash::parse(&h.to_string()).as_ref(), Ok(h));
            }
            let q = e.quota.to_string();
            assert_eq!(QuotaSpec::parse(&q), Ok(e.quota), "quota {q:?}");
        }
    }
    // the single fields on their own
    if let Ok(text) = std::str::from_utf8(data) {
        // (non-canonical numbers such as `rounds=09999` are accepted and written back
        // canonically, so the value round-trips, not always the text)
        if let Ok(h) = CryptHash::parse(text) {
            assert_eq!(CryptHash::parse(&h.to_string()).as_ref(), Ok(&h), "{text:?}");
            let again = h.to_string();
            assert_eq!(CryptHash::parse(&again).map(|x| x.to_string()), Ok(again));
        }
        if let Some(n) = parse_size(text) {
            assert_eq!(parse_size(&format_size(n)), Some(n));
        }
    }
    let n = Reader::new(data).u64();
    assert_eq!(parse_size(&format_size(n)), Some(n), "format_size({n})");
}

/// SETTZ/DATEFTZ arguments as POSIX TZ rules (the zone database is not opened
/// here, so only rules and `UTC` resolve): never a panic, and a zone that is
/// accepted formats any time of the `time_t` range it can represent as
/// `YYYY-MM-DD HH:MM:SS ZONE` with a plausible offset.
pub fn tzrule(data: &[u8]) {
    use tfd::commands::tz;
    let mut r = Reader::new(data);
    let ts = r.u64() as i64 % (400 * 366 * 86_400);
    let arg = r.rest();
    if let Some(zone) = tz::resolve(arg) {
        assert!(arg.len() <= tz::MAX_ZONE);
        for t in [ts, 0, 1_795_298_546, -ts] {
            if let Some(text) = tz::format_in(&zone, t) {
                let (date, rest) = text.split_once(' ').expect("date");
                let (clock, _zone) = rest.split_once(' ').expect("zone");
                let local = tfp_wire::date::parse_utc(&format!("{date} {clock}"));
                // POSIX offsets reach 24:59:59 and a DST zone without its own
                // offset is one hour east of standard: 25:59:59 at most.
                if let Some(local) = local {
                    assert!((local - t).abs() < 26 * 3600, "{text} for {t}");
                }
            }
        }
    }
}

/// The channel's receive path under GOAES's AES layer (and CIAON's token).
///
/// - fed arbitrary bytes, a receiver reading frames whole or in parts of
///   arbitrary sizes never panics and ends in a clean error (closed, a refused
///   header, bad padding, a wrong token);
/// - frames a sender enciphers (payloads taken from the input, given in pieces)
///   come back identical, read whole or in parts, with and without a token.
pub fn aes_channel(data: &[u8]) {
    let mut r = Reader::new(data);
    let key = AesKey::new(r.array::<KEY_LEN>(), r.array::<IV_LEN>());
    let flags = r.u8();
    let token = (flags & 1 == 1).then_some(*b"01234567-89ab-4cde-8f01-23456789abcd");
    let part = 1 + usize::from(r.u8()) * 7;
    let rest = r.rest();

    // arbitrary bytes
    let mut rx = RxHalf::new(rest);
    rx.set_aes(Some(&key)).unwrap();
    rx.set_ident(token);
    loop {
        let got = if flags & 2 == 2 {
            rx.recv_frame_max(4096).map(|_| ())
        } else {
            let mut head = vec![0u8; part.min(4096)];
            rx.begin_frame(4096, &mut head).and_then(|mut f| {
                let mut buf = vec![0u8; part];
                while f.left() > 0 {
                    rx.read_frame_part(&mut f, &mut buf)?;
                }
                Ok(())
            })
        };
        match got {
            Ok(()) => {}
            Err(ChannelError::Closed | ChannelError::Frame(_) | ChannelError::Cipher(_) | ChannelError::Identity) => {
                break
            }
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }

    // round trip: the input cut into payloads, each sent in two pieces
    let payloads: Vec<&[u8]> = rest.chunks(part).collect();
    let mut tx = TxHalf::new(Vec::new());
    tx.set_aes(Some(&key)).unwrap();
    tx.set_ident(token);
    for p in &payloads {
        let cut = p.len() / 3;
        tx.send_frame_parts(&[&p[..cut], &p[cut..]]).unwrap();
    }
    let wire = tx.get_ref().clone();
    let mut rx = RxHalf::new(&wire[..]);
    rx.set_aes(Some(&key)).unwrap();
    rx.set_ident(token);
    for p in &payloads {
        if flags & 2 == 2 {
            assert_eq!(rx.recv_frame().unwrap(), *p);
        } else {
            let mut head = vec![0u8; part / 2];
            let mut f = rx.begin_frame(MAX_FRAME, &mut head).unwrap();
            let mut got = head[..f.filled()].to_vec();
            let mut buf = vec![0u8; part / 3 + 1];
            while f.left() > 0 {
                let n = rx.read_frame_part(&mut f, &mut buf).unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(got, *p);
        }
    }
    assert!(matches!(rx.recv_frame(), Err(ChannelError::Closed)));
}
