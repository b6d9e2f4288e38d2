//! A backup's verify (`tf backup verify NAME[@SNAPSHOT] [--sample
//! PERCENT]`, the Python package's `verify`, issue 69): the server proves
//! it still holds a snapshot's files. The client spends one of the
//! snapshot's secret keys ([`super::proof`]: marked spent before it is
//! sent) and asks the server, with TFDHMAC ([`tfp_wire::prove`]), for the
//! HMAC of each file under it; an answer that is not the one kept names the
//! file. No answer the server kept from before can serve: it never saw the
//! key.
//!
//! Without a key left, or without proofs at all (the snapshot was made on
//! another machine), the server's plain SHA-256 is compared instead, with
//! the SHA-256 kept or else the snapshot's index on the server: the weaker
//! check (a server could keep the sums and not the data), and the outcome
//! says so. A sample asks a random part of the files.

use super::index::Entry;
use super::proof::{self, Place, Proofs};
use super::remote::{read_index, snapshots, Sentence};
use super::Failure;
use crate::escape::shown;
use crate::{Client, ClientConfig, Error};
use std::collections::HashSet;
use tfp_wire::prove::{self, Answer, Key, Request};
use tfp_wire::Status;

/// How strong the proof asked was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strength {
    /// A fresh key's HMACs.
    Keyed {
        /// The keys that remain for later verifies.
        left: usize,
    },
    /// Every key was spent by earlier verifies: SHA-256 against the sums
    /// kept on this machine.
    Spent,
    /// No proofs on this machine: SHA-256 against the server's own index.
    Unproven,
}

impl Strength {
    /// The words a summary line ends with.
    pub fn words(&self) -> String {
        match self {
            Strength::Keyed { left } => format!("a fresh key; {left} left"),
            Strength::Spent | Strength::Unproven => "SHA-256 only, a weaker check".into(),
        }
    }

    /// Why the check is the weaker one, for `label` (`NAME@SNAPSHOT`); None
    /// for a keyed check.
    pub fn warning(&self, label: &str) -> Option<String> {
        match self {
            Strength::Keyed { .. } => None,
            Strength::Spent => Some(format!(
                "every key of {label} was spent by earlier verifies (each spends one; the next backup \
                 makes new ones): the server's SHA-256 is compared with the one tf kept instead, a weaker \
                 check (a server could keep the sums and not the data)"
            )),
            Strength::Unproven => Some(format!(
                "this machine holds no proofs for {label} (it was backed up from another machine, or its \
                 proofs were removed): the server's SHA-256 is compared with the snapshot's index on the server \
                 instead, a weaker check (a server could keep the sums and the index and not the data)"
            )),
        }
    }
}

/// Why a file is not held as it was backed up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bad {
    /// The server's answer differs: its bytes differ.
    Differs,
    /// The server has no such file.
    Missing,
    /// The server could not read it (the FAILED code).
    Unreadable(i32),
    /// Its path is too long for the request.
    TooLong,
}

impl std::fmt::Display for Bad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bad::Differs => f.write_str("is not the file backed up (its bytes differ)"),
            Bad::Missing => f.write_str("is missing on the server"),
            Bad::Unreadable(code) => write!(f, "could not be read by the server (FAILED {code})"),
            Bad::TooLong => f.write_str("cannot be asked (its path is too long)"),
        }
    }
}

/// A verify's outcome.
#[derive(Debug)]
pub struct Verified {
    /// `NAME@SNAPSHOT`, shown.
    pub label: String,
    /// The snapshot checked.
    pub snapshot: String,
    /// The files asked.
    pub files: usize,
    /// Those not held as backed up, each with why.
    pub bad: Vec<(Vec<u8>, Bad)>,
    /// The check's strength.
    pub strength: Strength,
}

impl Verified {
    /// Whether every file asked is held as it was backed up.
    pub fn ok(&self) -> bool {
        self.bad.is_empty()
    }
}

/// What one file is checked against.
struct Want {
    /// The path below the snapshot's tree.
    path: Vec<u8>,
    /// The bytes the server's answer must start with.
    sum: Vec<u8>,
}

/// Verifies `name`@`snap` (the newest complete one when `None`): every
/// file, or a random `sample` percent of them.
pub fn verify(
    c: &mut Client,
    cfg: &ClientConfig,
    name: &str,
    snap: Option<&str>,
    sample: Option<f64>,
) -> Result<Verified, Failure> {
    let snap = match snap {
        Some(s) => s.to_string(),
        None => match snapshots(c, name)?.0.pop() {
            Some(s) => s,
            None => return Err(format!("{} has no complete snapshot", shown(name.as_bytes())).into()),
        },
    };
    let label = format!("{}@{}", shown(name.as_bytes()), shown(snap.as_bytes()));
    let place = Place::of(cfg, name, &snap)?;
    // a snapshot named that this client kept no proofs of and the server
    // does not list is said in words, as restore says it, not as its
    // index's RCVFILE fails (one it has proofs of is asked: the server's
    // answers tell what it lost)
    if !place.path().exists() && !snapshots(c, name)?.0.contains(&snap) {
        return Err(format!("{} has no snapshot {}", shown(name.as_bytes()), shown(snap.as_bytes())).into());
    }
    let (key, wants, strength) = match place.load()? {
        Some(mut p) => {
            // a key another snapshot's verify spent is spent here too
            let ledger = proof::spent(cfg, name)?;
            for (k, spent) in &mut p.keys {
                *spent |= ledger.contains(k);
            }
            match p.keys.iter().position(|(_, spent)| !spent) {
                Some(i) => {
                    p.keys[i].1 = true;
                    // spent for every snapshot sharing it before it is sent
                    proof::spend(cfg, name, p.keys[i].0).map_err(|e| {
                        format!(
                            "the key to spend could not be recorded spent ({}); nothing was asked",
                            e.0
                        )
                    })?;
                    if let Err(e) = place.store(&p) {
                        return Err(format!(
                            "the key to spend could not be marked spent in {}: {e}; nothing was asked",
                            crate::escape::path(place.path())
                        )
                        .into());
                    }
                    let left = p.keys.iter().filter(|(_, s)| !s).count();
                    (Key::Hmac(p.keys[i].0), keyed(&p, i), Strength::Keyed { left })
                }
                None => (Key::Plain, plain(&p), Strength::Spent),
            }
        }
        None => {
            let index = read_index(c, &format!("{name}/{snap}/index"))?;
            (Key::Plain, from_index(&index), Strength::Unproven)
        }
    };
    let wants = match sample {
        Some(pc) => pick(wants, pc),
        None => wants,
    };
    let tree = format!("{name}/{snap}/tree");
    let bad = match ask(c, &key, &tree, &wants)? {
        Ok(b) => b,
        Err(m) => return Err(format!("{label}: {m}; nothing is proven").into()),
    };
    Ok(Verified {
        label,
        snapshot: snap,
        files: wants.len(),
        bad,
        strength,
    })
}

fn keyed(p: &Proofs, i: usize) -> Vec<Want> {
    p.files
        .iter()
        .filter_map(|f| {
            Some(Want {
                path: f.path.clone(),
                sum: f.macs.get(i)?.to_vec(),
            })
        })
        .collect()
}

fn plain(p: &Proofs) -> Vec<Want> {
    p.files
        .iter()
        .map(|f| Want {
            path: f.path.clone(),
            sum: f.sha256.to_vec(),
        })
        .collect()
}

fn from_index(index: &[Entry]) -> Vec<Want> {
    index
        .iter()
        .filter(|e| e.kind == b'f')
        .filter_map(|e| {
            Some(Want {
                path: e.path.clone(),
                sum: e.sha256?.to_vec(),
            })
        })
        .collect()
}

/// A random `percent` of `all` (at least one file when there is one).
fn pick(mut all: Vec<Want>, percent: f64) -> Vec<Want> {
    let n = ((all.len() as f64 * percent / 100.0).ceil() as usize).clamp(all.len().min(1), all.len());
    // a partial Fisher-Yates shuffle, from the kernel's random bytes
    for i in 0..n {
        let mut r = [0u8; 8];
        let _ = tfd_sys::fill_random(&mut r);
        let j = i + (u64::from_ne_bytes(r) % (all.len() - i) as u64) as usize;
        all.swap(i, j);
    }
    all.truncate(n);
    all
}

/// Asks the server for every file of `wants` (in commands of at most
/// [`prove::MAX_PATHS`] paths and [`prove::MAX_LINE`] bytes, again for the
/// files it left for later) and names each that does not match; returns
/// each that did not, or why the server's answers cannot be used.
type Asked = Result<Vec<(Vec<u8>, Bad)>, Sentence>;

fn ask(c: &mut Client, key: &Key, tree: &str, wants: &[Want]) -> Result<Asked, Error> {
    let mut todo: Vec<usize> = (0..wants.len()).collect();
    let mut bad = Vec::new();
    let head = prove::COMMAND.len() + 66;
    while !todo.is_empty() {
        let (mut batch, mut len) = (Vec::new(), head);
        for &i in &todo {
            let p = [tree.as_bytes(), b"/", &wants[i].path].concat();
            let grown = Request::grown(len, &p);
            if !batch.is_empty() && (batch.len() == prove::MAX_PATHS || grown > prove::MAX_LINE) {
                break;
            }
            len = grown;
            batch.push((i, p));
        }
        let r = Request {
            key: *key,
            paths: batch.iter().map(|(_, p)| p.clone()).collect(),
        };
        let Some(line) = r.line() else {
            let (i, _) = batch[0];
            bad.push((wants[i].path.clone(), Bad::TooLong));
            todo.retain(|&t| t != i);
            continue;
        };
        let answers = match c.command(&line)? {
            Status::Ok(text) => prove::parse_answers(&text, batch.len()),
            Status::Unknown => {
                return Ok(Err(
                    "the server does not know TFDHMAC (an older tfd or another server)".into()
                ))
            }
            st => {
                return Ok(Err(format!(
                    "the server refused the check: {}",
                    crate::escape::status_text(&st)
                )
                .into()))
            }
        };
        let Some(answers) = answers else {
            return Ok(Err("the server's answer is not one answer a file".into()));
        };
        let mut later = Vec::new();
        for ((i, _), a) in batch.iter().zip(answers) {
            let w = &wants[*i];
            let why = match a {
                Answer::Sum(s) if s.starts_with(&w.sum) => continue,
                Answer::Sum(_) => Bad::Differs,
                Answer::Failed(17) => Bad::Missing,
                Answer::Failed(code) => Bad::Unreadable(code),
                Answer::Later => {
                    later.push(*i);
                    continue;
                }
            };
            bad.push((w.path.clone(), why));
        }
        if later.len() == batch.len() {
            return Ok(Err(Sentence(
                "the server left every file of a request for later".into(),
            )));
        }
        let asked: HashSet<usize> = batch.iter().map(|(i, _)| *i).collect();
        let later: HashSet<usize> = later.into_iter().collect();
        todo.retain(|t| !asked.contains(t) || later.contains(t));
    }
    Ok(Ok(bad))
}
