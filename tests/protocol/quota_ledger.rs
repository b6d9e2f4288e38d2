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

/// Sends `data` as one file of an open batch: its header, its data in
/// frames the wire allows, its trailer.
fn batch_file(c: &mut tfp_client::Client, name: &str, data: &[u8]) {
    use sha2::Digest as _;
    let h = tfp_wire::batch::put::FileHead::new(data.len() as u64, None, None, name.as_bytes());
    c.chan.tx.send_frame(&h.encode()).unwrap();
    for piece in data.chunks(tfp_wire::MAX_FRAME) {
        c.chan.tx.send_frame(piece).unwrap();
    }
    let sum: [u8; 32] = sha2::Sha256::digest(data).into();
    c.chan
        .tx
        .send_frame(&tfp_wire::batch::Trailer::Sum(sum).encode())
        .unwrap();
}

/// Ends an open batch and reads its answer: (stored, failed).
fn batch_end(c: &mut tfp_client::Client) -> (u64, u64) {
    c.chan.tx.send_frame(tfp_wire::batch::END).unwrap();
    let head = c.chan.rx.recv_frame().unwrap();
    let st =
        tfp_wire::batch::put::Stored::parse(&head).unwrap_or_else(|| panic!("{:?}", String::from_utf8_lossy(&head)));
    for _ in 0..st.failed {
        c.chan.rx.recv_frame().unwrap();
    }
    (st.stored, st.failed)
}

fn open_batch(c: &mut tfp_client::Client, n: u64) {
    let line = tfp_wire::batch::put::PutMany {
        n,
        archive: false,
        blocks: false,
        framed: false,
        attrs: false,
    }
    .line();
    assert_eq!(c.raw(&line).unwrap(), b"OK");
}

/// A batch's file received whole but not yet linked (its group commits
/// later, at the batch's end for `put -r`) counts against the quota for
/// every other session of the user: it is neither in their usage walk nor
/// given again. On the code that settled it on receipt, another session's
/// walk could not see the unlinked file while its settled count already
/// held it, so the bytes counted nowhere: `put -r` of 12 x 3 MiB with
/// several jobs landed 9 or 10 files over a 23M quota.
#[test]
fn a_batch_file_waiting_for_its_commit_counts_for_other_sessions() {
    if !require(is_root(), "needs root (defusr root)") {
        return;
    }
    let srv = Server::start_with("quota_default 23M\n");
    let three = vec![b'z'; 3 * MIB as usize];
    let mut a = srv.client();
    open_batch(&mut a, 2);
    batch_file(&mut a, "a0", &three);
    // A's session has received its first file (it hears nothing before the
    // batch's end; loopback carries 3 MiB in milliseconds)
    std::thread::sleep(Duration::from_millis(800));
    let mut b = srv.client();
    open_batch(&mut b, 8);
    for i in 0..8 {
        batch_file(&mut b, &format!("b{i}"), &three);
    }
    let (b_stored, b_failed) = batch_end(&mut b);
    batch_file(&mut a, "a1", b"small");
    let (a_stored, _) = batch_end(&mut a);
    let total = stored(&srv);
    let limit = 23 * MIB;
    assert!(
        total <= limit,
        "{total} bytes stored under a quota of {limit}: B stored {b_stored}, A {a_stored}"
    );
    // what fits is stored: A's first file and six of B's (7 x 3 MiB + 5 B)
    assert_eq!((a_stored, b_stored, b_failed), (2, 6, 2), "{:?}", dir_names(&srv.data));
}
