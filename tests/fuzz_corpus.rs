//! The fuzz targets on stable Rust, without libFuzzer. Each target's body (the same
//! code the cargo-fuzz targets run: `crates/tfp-wire-fuzz` for the protocol's
//! targets, `crates/tfd-fuzz-bodies` for the daemon's) is run over
//!
//! 1. its stored seed corpus `fuzz/corpus/<target>/` and every kept crash input in
//!    `fuzz/regressions/<target>/` (a failure there is a regression), then
//! 2. a stream of inputs mutated from those seeds (bit flips, interesting integers,
//!    tokens from `fuzz/tfd.dict`, splices, inserts and deletes).
//!
//! `cargo test` runs a short deterministic pass (`TFD_FUZZ_ITERS`, default 3000 per
//! target, fixed seed). `scripts/fuzz --stable` runs long ones: `TFD_FUZZ_SECS` per
//! target and a fresh `TFD_FUZZ_SEED`. A failing input is written to
//! `fuzz/artifacts/<target>/` and the test fails naming the file; keep it as a
//! regression by moving it to `fuzz/regressions/<target>/`.

/// Every target: its name, its body (the protocol's from `tfp_wire_fuzz`, which
/// links `tfp-wire` alone, the daemon's from `tfd_fuzz_bodies`), and the
/// cargo-fuzz crate directory and the crate of bodies its entry point calls.
fn targets() -> impl Iterator<Item = (&'static str, tfp_wire_fuzz::Body, &'static str, &'static str)> {
    let wire = tfp_wire_fuzz::TARGETS
        .iter()
        .map(|&(n, b)| (n, b, "fuzz", "tfp_wire_fuzz"));
    let daemon = tfd_fuzz_bodies::TARGETS
        .iter()
        .map(|&(n, b)| (n, b, "fuzz/daemon", "tfd_fuzz_bodies"));
    wire.chain(daemon)
}

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The stored inputs of a target: seeds first, then kept crash inputs.
fn stored(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in ["corpus", "regressions"] {
        let dir = fuzz_dir().join(sub).join(target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).unwrap();
            out.push((f, data));
        }
    }
    out
}

/// xorshift64*: fast, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// The libFuzzer dictionary (`name="text"` lines with `\xNN`, `\\`, `\"` escapes).
fn dictionary() -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(fuzz_dir().join("tfd.dict")).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let (Some(a), Some(b)) = (line.find('"'), line.rfind('"')) else {
            continue;
        };
        if b <= a {
            continue;
        }
        let raw = &line.as_bytes()[a + 1..b];
        let mut tok = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'\\' && i + 1 < raw.len() {
                if raw[i + 1] == b'x' && i + 3 < raw.len() {
                    let hex = std::str::from_utf8(&raw[i + 2..i + 4]).unwrap_or("00");
                    tok.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                    i += 4;
                } else {
                    tok.push(raw[i + 1]);
                    i += 2;
                }
            } else {
                tok.push(raw[i]);
                i += 1;
            }
        }
        out.push(tok);
    }
    out
}

const INTERESTING: &[i64] = &[
    0,
    1,
    -1,
    -2,
    -3,
    -127,
    16,
    24,
    255,
    256,
    4096,
    4097,
    65535,
    524_287,
    524_288,
    524_289,
    i32::MAX as i64,
    i32::MIN as i64,
    i64::MAX,
    i64::MIN,
    1 << 62,
    1 << 40,
];

fn mutate(rng: &mut Rng, input: &[u8], pool: &[Vec<u8>], dict: &[Vec<u8>]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(11) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            2 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = *b"\0\xff\x7f\x80 /.|\n\r#{}0-:[]".get(rng.below(18)).unwrap_or(&0);
            }
            3 => {
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                v.splice(at..at, bytes);
            }
            4 if !v.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(v.len());
                v.drain(at.min(end)..end);
            }
            5 if !v.is_empty() => {
                let start = rng.below(v.len());
                let end = (start + 1 + rng.below(64)).min(v.len());
                let copy = v[start..end].to_vec();
                let most = if rng.below(8) == 0 { 200 } else { 3 };
                for _ in 0..1 + rng.below(most) {
                    v.splice(at..at, copy.iter().copied());
                }
            }
            6 if !dict.is_empty() => {
                let tok = &dict[rng.below(dict.len())];
                if rng.below(2) == 0 || v.len() < tok.len() {
                    v.splice(at..at, tok.iter().copied());
                } else {
                    let i = rng.below(v.len() - tok.len() + 1);
                    v[i..i + tok.len()].copy_from_slice(tok);
                }
            }
            7 if !pool.is_empty() => {
                let other = &pool[rng.below(pool.len())];
                let from = rng.below(other.len() + 1);
                v.truncate(at);
                v.extend_from_slice(&other[from..]);
            }
            8 => {
                let x = INTERESTING[rng.below(INTERESTING.len())];
                let bytes = if rng.below(2) == 0 {
                    x.to_be_bytes().to_vec()
                } else {
                    (x as i32).to_be_bytes().to_vec()
                };
                if rng.below(2) == 0 || v.len() < bytes.len() {
                    v.splice(at..at, bytes);
                } else {
                    let i = rng.below(v.len() - bytes.len() + 1);
                    v[i..i + bytes.len()].copy_from_slice(&bytes);
                }
            }
            9 => {
                let x = INTERESTING[rng.below(INTERESTING.len())];
                v.splice(at..at, x.to_string().into_bytes());
            }
            _ => v.truncate(at),
        }
    }
    v.truncate(16 * 1024);
    v
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

fn run(name: &str) {
    let body = targets()
        .find(|t| t.0 == name)
        .map(|t| t.1)
        .unwrap_or_else(|| panic!("no target {name}"));
    let seeds = stored(name);
    assert!(!seeds.is_empty(), "fuzz/corpus/{name}/ holds no seed");
    for (path, data) in &seeds {
        if catch_unwind(AssertUnwindSafe(|| body(data))).is_err() {
            panic!("{name}: stored input {} fails", path.display());
        }
    }
    let secs = env_u64("TFD_FUZZ_SECS");
    let iters = env_u64("TFD_FUZZ_ITERS").unwrap_or(if secs.is_some() { u64::MAX } else { 3000 });
    let deadline = secs.map(|s| Instant::now() + Duration::from_secs(s));
    let seed = env_u64("TFD_FUZZ_SEED").unwrap_or(0x7fd_f022)
        ^ name
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    let mut rng = Rng(seed | 1);
    let dict = dictionary();
    let mut pool: Vec<Vec<u8>> = seeds.into_iter().map(|(_, d)| d).collect();
    let started = Instant::now();
    let mut n = 0u64;
    while n < iters {
        if n % 256 == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let base = pool[rng.below(pool.len())].clone();
        let input = mutate(&mut rng, &base, &pool, &dict);
        if catch_unwind(AssertUnwindSafe(|| body(&input))).is_err() {
            let dir = fuzz_dir().join("artifacts").join(name);
            std::fs::create_dir_all(&dir).unwrap();
            let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
                (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
            });
            let file = dir.join(format!("crash-{hash:016x}"));
            std::fs::write(&file, &input).unwrap();
            panic!(
                "{name}: input #{n} (seed {seed:#x}) fails; saved as {} — keep it in fuzz/regressions/{name}/",
                file.display()
            );
        }
        // keep some mutants so mutations can build on each other
        if rng.below(16) == 0 && pool.len() < 4096 {
            pool.push(input);
        }
        n += 1;
    }
    eprintln!(
        "fuzz {name}: {n} mutated inputs in {:.1}s, no failure (seed {seed:#x})",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn frame() {
    run("frame");
}

#[test]
fn cipher() {
    run("cipher");
}

#[test]
fn aes_channel() {
    run("aes_channel");
}

#[test]
fn secure_record() {
    run("secure_record");
}

#[test]
fn command() {
    run("command");
}

#[test]
fn hpf() {
    run("hpf");
}

#[test]
fn config() {
    run("config");
}

#[test]
fn relpath() {
    run("relpath");
}

#[test]
fn netlock() {
    run("netlock");
}

#[test]
fn fai() {
    run("fai");
}

#[test]
fn resolve() {
    run("resolve");
    tfd_fuzz_bodies::cleanup();
}

#[test]
fn udp() {
    run("udp");
}

#[test]
fn tlb() {
    run("tlb");
}

#[test]
fn userdb() {
    run("userdb");
}

#[test]
fn fstat() {
    run("fstat");
}

#[test]
fn tzrule() {
    run("tzrule");
}

#[test]
fn secfs() {
    run("secfs");
}

/// Every target in the body tables has a test here and a cargo-fuzz entry point in
/// its crate, and no name is in both crates.
#[test]
fn every_target_is_wired_up() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let me = std::fs::read_to_string(root.join("tests/fuzz_corpus.rs")).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for (name, _, dir, krate) in targets() {
        assert!(seen.insert(name), "{name}: in both fuzz crates");
        assert!(
            me.contains(&format!("fn {name}() {{\n    run(\"{name}\");")),
            "{name}: no test"
        );
        let entry = root.join(dir).join("fuzz_targets").join(format!("{name}.rs"));
        let src = std::fs::read_to_string(&entry).unwrap_or_else(|_| panic!("{}", entry.display()));
        assert!(src.contains(&format!("{krate}::{name}(data)")), "{}", entry.display());
        let manifest = std::fs::read_to_string(root.join(dir).join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "{name}: not in {dir}/Cargo.toml"
        );
    }
}

#[test]
fn proxy() {
    run("proxy");
}

#[test]
fn batch_put() {
    run("batch_put");
}

#[test]
fn batch_get() {
    run("batch_get");
}

#[test]
fn stage() {
    run("stage");
}

#[test]
fn backup() {
    run("backup");
}

#[test]
fn link() {
    run("link");
}

#[test]
fn same() {
    run("same");
}

#[test]
fn listing_end() {
    run("listing_end");
}

#[test]
fn delta() {
    run("delta");
}

#[test]
fn prove() {
    run("prove");
}

#[test]
fn listz() {
    run("listz");
}

#[test]
fn features() {
    run("features");
}

#[test]
fn keylogin() {
    run("keylogin");
}

#[test]
fn user_keys() {
    run("user_keys");
}

#[test]
fn host_key() {
    run("host_key");
}

#[test]
fn session_end() {
    run("session_end");
}

#[test]
fn xattr() {
    run("xattr");
}

#[test]
fn compress() {
    run("compress");
}

#[test]
fn framed() {
    run("framed");
}
