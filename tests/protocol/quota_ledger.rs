//! One quota ledger per node (doc/reliability.md "Quotas"): sessions of the same
//! user uploading in parallel add up, so what they store together never exceeds
//! the quota (issue 15: 4 sessions × 700 KB under 1 MiB all got OK).

use tfd_testkit::reply::Answer as _;
use tfp_client::replies::AsStatus as _;

use std::io::Read;
use std::sync::{Arc, Barrier};
use std::time::Duration;
use tfd_testkit::*;

const KB: usize = 1000;
const MIB: u64 = 1 << 20;

/// `total` bytes in pieces, slowly, so that parallel uploads overlap.
struct Slow {
    left: usize,
}

impl Read for Slow {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(40));
        let n = buf.len().min(self.left).min(70 * KB);
        buf[..n].fill(b'q');
        self.left -= n;
        Ok(n)
    }
}

fn stored(srv: &Server) -> u64 {
    std::fs::read_dir(&srv.data)
        .unwrap()
        .flatten()
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

/// Runs one upload per command in `cmds`, all at once, 700 KB each; returns
/// which succeeded.
fn parallel(srv: &Server, cmds: &[&'static str]) -> Vec<bool> {
    let go = Arc::new(Barrier::new(cmds.len()));
    let handles: Vec<_> = cmds
        .iter()
        .enumerate()
        .map(|(i, &cmd)| {
            let mut c = srv.client();
            let go = go.clone();
            std::thread::spawn(move || {
                let name = format!("{cmd}-{i}");
                let mut data = Slow { left: 700 * KB };
                go.wait();
                match cmd {
                    "SNDFILE" => ok(&c
                        .sndfile(name.as_bytes(), false, &mut data, &mut |_| {})
                        .status()
                        .unwrap()),
                    "SUP" => c.sup(name.as_bytes(), &mut data).answer().unwrap() == 0,
                    _ => match c.put(name.as_bytes(), 0, 64 * 1024, &mut data, &mut |_| {}) {
                        Ok(()) => true,
                        Err(e) if e.session_usable() => false,
                        Err(e) => panic!("PUT: {e}"),
                    },
                }
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn parallel_sessions_never_exceed_the_quota_together() {
    if !require(is_root(), "needs root (defusr root)") {
        return;
    }
    let srv = Server::start_with("quota_default 1M\n");
    // the case
    let won = parallel(&srv, &["SNDFILE"; 4]);
    assert_eq!(won.iter().filter(|&&w| w).count(), 1, "{won:?}");
    assert!(stored(&srv) <= MIB, "{} bytes stored under 1 MiB", stored(&srv));
    assert_eq!(dir_names(&srv.data).len(), 1, "{:?}", dir_names(&srv.data));
    assert!(srv.log().contains("quota of user root exceeded"));

    // every kind of upload draws on the same ledger
    for f in dir_names(&srv.data) {
        std::fs::remove_file(srv.path(&f)).unwrap();
    }
    let won = parallel(&srv, &["SNDFILE", "SUP", "PUT", "SNDFILE", "SUP", "PUT"]);
    assert!(won.iter().filter(|&&w| w).count() <= 1, "{won:?}");
    assert!(stored(&srv) <= MIB, "{} bytes stored under 1 MiB", stored(&srv));

    // refusals held nothing back: what fits alone still fits
    for f in dir_names(&srv.data) {
        std::fs::remove_file(srv.path(&f)).unwrap();
    }
    let mut c = srv.client();
    let data = vec![1u8; 1000 * KB];
    assert_ok(
        c.sndfile(b"alone", false, &mut &data[..], &mut |_| {})
            .status()
            .unwrap(),
    );
    assert_eq!(stored(&srv), 1000 * KB as u64);
}
