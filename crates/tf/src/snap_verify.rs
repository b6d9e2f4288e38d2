//! `tf backup verify NAME[@SNAPSHOT] [--sample PERCENT]` (issue 69): the
//! server proves it still holds a snapshot's files. tf spends one of the
//! snapshot's secret keys ([`tfp_client::backup::proof`]: marked spent before it
//! is sent) and asks the server, with TFDHMAC ([`tfp_wire::prove`]), for
//! the HMAC of each file under it; an answer that is not the one tf kept
//! names the file. No answer the server kept from before can serve: it
//! never saw the key.
//!
//! Without a key left, or without proofs at all (the snapshot was made on
//! another machine), the server's plain SHA-256 is compared instead, with
//! the SHA-256 tf kept or else the snapshot's index on the server, and tf
//! says it is the weaker check (a server could keep the sums and not the
//! data). `--sample PERCENT` asks a random part of the files.

use super::exit::Exit;
use std::collections::HashSet;
use std::process::ExitCode;
use tfp_client::backup::index::Entry;
use tfp_client::backup::proof::{Place, Proofs};
use tfp_client::backup::remote::Sentence;
use tfp_client::escape::shown;
use tfp_client::{Client, ClientConfig, Error};
use tfp_wire::prove::{self, Answer, Key, Request};
use tfp_wire::Status;

/// What one file is checked against.
struct Want {
    /// The path below the snapshot's tree.
    path: Vec<u8>,
    /// The bytes the server's answer must start with.
    sum: Vec<u8>,
}

/// Runs the verify of `name`@`snap` (the newest when `None`).
pub fn run(
    c: &mut Client,
    cfg: &ClientConfig,
    name: &str,
    snap: Option<String>,
    sample: Option<f64>,
) -> Result<ExitCode, Error> {
    let snap = match snap {
        Some(s) => s,
        None => match tfp_client::backup::remote::snapshots(c, name)?.0.pop() {
            Some(s) => s,
            None => return Ok(say(format!("{} has no complete snapshot", shown(name.as_bytes())))),
        },
    };
    let label = format!("{}@{}", shown(name.as_bytes()), shown(snap.as_bytes()));
    let place = match Place::of(cfg, name, &snap) {
        Ok(p) => p,
        Err(m) => return Ok(say(m)),
    };
    let (key, wants, weak) = match place.load() {
        Err(m) => return Ok(say(m)),
        Ok(Some(mut p)) => match p.keys.iter().position(|(_, spent)| !spent) {
            Some(i) => {
                p.keys[i].1 = true;
                if let Err(e) = place.store(&p) {
                    return Ok(say(format!(
                        "the key to spend could not be marked spent in {}: {e}; nothing was asked",
                        tfp_client::escape::path(place.path())
                    )));
                }
                let left = p.keys.iter().filter(|(_, s)| !s).count();
                (
                    Key::Hmac(p.keys[i].0),
                    keyed(&p, i),
                    format!("a fresh key; {left} left"),
                )
            }
            None => {
                eprintln!(
                    "tf: every key of {label} was spent by earlier verifies (each spends one; the next backup \
                     makes new ones): the server's SHA-256 is compared with the one tf kept instead, a weaker \
                     check (a server could keep the sums and not the data)"
                );
                (Key::Plain, plain(&p), "SHA-256 only, a weaker check".into())
            }
        },
        Ok(None) => {
            eprintln!(
                "tf: this machine holds no proofs for {label} (it was backed up from another machine, or its \
                 proofs were removed): the server's SHA-256 is compared with the snapshot's index on the server \
                 instead, a weaker check (a server could keep the sums and the index and not the data)"
            );
            let index = match tfp_client::backup::remote::read_index(c, &format!("{name}/{snap}/index")) {
                Ok(i) => i,
                Err(m) => return Ok(say(m)),
            };
            (Key::Plain, from_index(&index), "SHA-256 only, a weaker check".into())
        }
    };
    let wants = match sample {
        Some(pc) => pick(wants, pc),
        None => wants,
    };
    let tree = format!("{name}/{snap}/tree");
    let bad = match ask(c, &key, &tree, &wants, &label)? {
        Ok(b) => b,
        Err(m) => return Ok(say(format!("{label}: {m}; nothing is proven"))),
    };
    if bad > 0 {
        return Ok(say(format!(
            "{label}: {bad} of {} files are not held as they were backed up",
            wants.len()
        )));
    }
    println!("{label}: {} files held as backed up ({weak})", wants.len());
    Ok(ExitCode::SUCCESS)
}

fn say(m: impl std::fmt::Display) -> ExitCode {
    eprintln!("tf: {m}");
    ExitCode::from(Exit::Error)
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
/// how many did not, or why the server's answers cannot be used.
fn ask(c: &mut Client, key: &Key, tree: &str, wants: &[Want], label: &str) -> Result<Result<usize, Sentence>, Error> {
    let mut todo: Vec<usize> = (0..wants.len()).collect();
    let mut bad = 0;
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
            eprintln!(
                "tf: {label}: {} cannot be asked (its path is too long)",
                shown(&wants[i].path)
            );
            bad += 1;
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
                    tfp_client::escape::status_text(&st)
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
            let p = shown(&w.path);
            match a {
                Answer::Sum(s) if s.starts_with(&w.sum) => {}
                Answer::Sum(_) => {
                    bad += 1;
                    eprintln!("tf: {label}: {p} is not the file backed up (its bytes differ)");
                }
                Answer::Failed(17) => {
                    bad += 1;
                    eprintln!("tf: {label}: {p} is missing on the server");
                }
                Answer::Failed(code) => {
                    bad += 1;
                    eprintln!("tf: {label}: {p} could not be read by the server (FAILED {code})");
                }
                Answer::Later => later.push(*i),
            }
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
