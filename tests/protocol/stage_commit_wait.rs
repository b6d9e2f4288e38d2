//! A staged upload's commit that waits for the stage's other writers
//! (doc/compatibility.md "Staged uploads"): a client sends TFDSTAGEDONE as
//! soon as its own connection has nothing more to send, while its other
//! connections still finish their last ranges. tfd answers once they have
//! written (and installs the file), answers "incomplete" at once when bytes
//! are missing and nobody writes, and promptly when a writer's connection
//! dies, leaving the stage for a resume.

use sha2::Digest;
use std::io::Read;
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};
use tfd_testkit::*;
use tfp_client::Client;
use tfp_wire::Status;

const MIB: usize = 1 << 20;
/// The staged file: two halves of 1 MiB, one per connection.
const SIZE: usize = 2 * MIB;
/// The block the paused writer sends (and its grant).
const BLOCK: usize = 64 * 1024;

fn sha_text(data: &[u8]) -> String {
    let d = sha2::Sha256::digest(data);
    format!("0x{}", d.iter().map(|x| format!("{x:02x}")).collect::<String>())
}

/// One TFDSTAGEPUT of `data` at `at`: the status of its extra frame.
fn stage_put(c: &mut Client, remote: &str, at: u64, data: &[u8]) -> Status {
    c.put_as(
        "TFDSTAGEPUT",
        remote.as_bytes(),
        at,
        MIB as i64,
        &mut &data[..],
        &mut |_| {},
    )
    .unwrap();
    Status::parse(&c.chan.rx.recv_frame().unwrap())
}

fn assert_ok(st: &Status, what: &str) {
    assert!(matches!(st, Status::Ok(_)), "{what}: {st:?}");
}

/// A source that gives `data` one block per read, and after `pause_after`
/// blocks says so and waits to be let go on.
struct Pausing {
    data: Vec<u8>,
    at: usize,
    pause_after: usize,
    paused: Sender<()>,
    go_on: Receiver<()>,
}

impl Read for Pausing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.pause_after * BLOCK {
            let _ = self.paused.send(());
            // let go, or the test gave up on this writer
            let _ = self.go_on.recv();
        }
        let n = buf.len().min(BLOCK).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Session B writing `data` at `at` into the stage of `remote` on its own
/// connection, pausing after 4 blocks: its socket (to cut it), the sender
/// that lets it go on, and its thread (the status of its TFDSTAGEPUT, or
/// the client's error once its connection is cut).
type Writer = (TcpStream, Sender<()>, std::thread::JoinHandle<Result<Status, String>>);

fn paused_writer(srv: &Server, remote: &str, at: u64, data: &[u8]) -> Writer {
    let mut b = srv.client();
    let sock = b.chan.stream().try_clone().unwrap();
    let (paused, wait_paused) = channel();
    let (go_on, wait_go) = channel();
    let src = Pausing {
        data: data.to_vec(),
        at: 0,
        pause_after: 4,
        paused,
        go_on: wait_go,
    };
    let remote = remote.to_string();
    let t = std::thread::spawn(move || {
        let mut src = src;
        b.put_as(
            "TFDSTAGEPUT",
            remote.as_bytes(),
            at,
            BLOCK as i64,
            &mut src,
            &mut |_| {},
        )
        .map_err(|e| e.to_string())?;
        b.chan
            .rx
            .recv_frame()
            .map(|f| Status::parse(&f))
            .map_err(|e| e.to_string())
    });
    wait_paused
        .recv_timeout(Duration::from_secs(20))
        .expect("writer B never got its grant");
    (sock, go_on, t)
}

/// A stages `data` as `remote` (source identity `id`) and writes the first
/// half; B writes the second on its own connection and pauses; A sends its
/// commit. A, and B's sender that lets it go on, and B's thread.
fn committing_while_b_writes(
    srv: &Server,
    remote: &str,
    id: &str,
    data: &[u8],
) -> (Client, Sender<()>, std::thread::JoinHandle<Result<Status, String>>) {
    let mut a = srv.client();
    assert_ok(
        &a.call("TFDSTAGE", format!("{SIZE} {id} 1 {remote}").as_bytes())
            .unwrap(),
        "TFDSTAGE",
    );
    assert_ok(&stage_put(&mut a, remote, 0, &data[..MIB]), "A's half");
    let (_sock, go_on, b) = paused_writer(srv, remote, MIB as u64, &data[MIB..]);
    a.chan
        .tx
        .send_frame(format!("TFDSTAGEDONE {} 1 {remote}", sha_text(data)).as_bytes())
        .unwrap();
    (a, go_on, b)
}

/// Whether a reply is waiting on `c`'s connection within `wait` (nothing is
/// consumed).
fn replied_within(c: &Client, wait: Duration) -> bool {
    let s = c.chan.stream();
    s.set_read_timeout(Some(wait)).unwrap();
    let r = s.peek(&mut [0u8; 1]);
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    match r {
        Ok(n) => n > 0,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => false,
        Err(e) => panic!("reading A's reply: {e}"),
    }
}

/// The stages in the data directory.
fn stages(srv: &Server) -> Vec<String> {
    std::fs::read_dir(srv.path(""))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tfd-part-s"))
        .collect()
}

/// A commits while B still writes the second half: no answer while B is
/// paused, then `OK` once B's range is in, and the file is the source.
/// Failed on the tfd before this change: A was answered "incomplete" at once.
#[test]
fn a_commit_waits_for_the_other_connections_writing() {
    let srv = Server::start();
    let data = pattern(SIZE, 71);
    let remote = "waited.bin";
    let (mut a, go_on, b) = committing_while_b_writes(&srv, remote, "waited", &data);
    assert!(
        !replied_within(&a, Duration::from_millis(500)),
        "A's commit was answered while B still writes: {:?}",
        Status::parse(&a.chan.rx.recv_frame().unwrap())
    );
    go_on.send(()).unwrap();
    assert_ok(&b.join().unwrap().expect("B's TFDSTAGEPUT"), "B's half");
    let st = Status::parse(&a.chan.rx.recv_frame().unwrap());
    assert_ok(&st, "A's commit");
    assert!(
        std::fs::read(srv.path(remote)).unwrap() == data,
        "the committed file is not the source"
    );
    assert!(stages(&srv).is_empty(), "a stage is left: {:?}", stages(&srv));
    assert!(
        srv.log().contains("TFDSTAGEDONE waited"),
        "no word of the wait in the log:\n{}",
        srv.log()
    );
}

/// With bytes missing and nobody writing, the commit is answered
/// "incomplete" at once; while B writes it waits, and when B's connection is
/// cut mid-range it is answered "incomplete" promptly (not after the 30 s a
/// stalled writer gets): the target is untouched and the stage stays, and a
/// resume completes it.
#[test]
fn a_commit_waiting_for_a_writer_whose_connection_dies_answers_incomplete_promptly() {
    let srv = Server::start();
    let old = pattern(1000, 5);
    let data = pattern(SIZE, 72);
    let remote = "cut.bin";
    std::fs::write(srv.path(remote), &old).unwrap();
    let done = format!("TFDSTAGEDONE {} 1 {remote}", sha_text(&data));
    let incomplete = |st: &Status| matches!(st, Status::Failed(_, t) if t.contains("incomplete"));
    let mut a = srv.client();
    assert_ok(
        &a.call("TFDSTAGE", format!("{SIZE} cut 1 {remote}").as_bytes()).unwrap(),
        "TFDSTAGE",
    );
    assert_ok(&stage_put(&mut a, remote, 0, &data[..MIB]), "A's half");
    // nobody writes: answered at once, as ever
    let t0 = Instant::now();
    let st = Status::parse(&a.raw(done.as_bytes()).unwrap());
    assert!(incomplete(&st), "a commit with nobody writing: {st:?}");
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "a commit with nobody writing took {:?}",
        t0.elapsed()
    );
    let (sock, go_on, b) = paused_writer(&srv, remote, MIB as u64, &data[MIB..]);
    a.chan.tx.send_frame(done.as_bytes()).unwrap();
    assert!(
        !replied_within(&a, Duration::from_millis(300)),
        "A's commit was answered while B still writes"
    );
    let t0 = Instant::now();
    sock.shutdown(Shutdown::Both).unwrap();
    let st = Status::parse(&a.chan.rx.recv_frame().unwrap());
    let took = t0.elapsed();
    drop(go_on);
    let _ = b.join().unwrap();
    assert!(incomplete(&st), "A's commit once B's connection was cut: {st:?}");
    assert!(took < Duration::from_secs(10), "A waited {took:?} for a dead writer");
    assert_eq!(std::fs::read(srv.path(remote)).unwrap(), old, "the target was touched");
    assert_eq!(stages(&srv).len(), 1, "the stage did not stay for a resume");
    // the resume: the stage kept A's half, the rest goes again, and commits
    let kept = a.call("TFDSTAGE", format!("{SIZE} cut 0 {remote}").as_bytes()).unwrap();
    assert!(
        matches!(&kept, Status::Ok(r) if r.starts_with(b"1 0-")),
        "the stage kept: {kept:?}"
    );
    assert_ok(&stage_put(&mut a, remote, MIB as u64, &data[MIB..]), "the resumed half");
    let st = Status::parse(&a.raw(done.as_bytes()).unwrap());
    assert_ok(&st, "the resumed commit");
    assert!(std::fs::read(srv.path(remote)).unwrap() == data, "the resumed file");
}

/// A commit whose own client leaves while it waits stops waiting at once,
/// while B still writes (it answers no one): the wait sleeps watching A's
/// socket, as every wait for something other than the client does
/// (`session::liveness::client_gone_within`). The target is untouched.
#[test]
fn a_commit_whose_client_leaves_stops_waiting() {
    let srv = Server::start();
    let old = pattern(1000, 6);
    let data = pattern(SIZE, 73);
    let remote = "left.bin";
    std::fs::write(srv.path(remote), &old).unwrap();
    let (a, go_on, b) = committing_while_b_writes(&srv, remote, "left", &data);
    assert!(
        !replied_within(&a, Duration::from_millis(300)),
        "A's commit was answered while B still writes"
    );
    a.chan.stream().shutdown(Shutdown::Both).unwrap();
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !srv.log().contains("the client left while it waited") {
        assert!(
            Instant::now() < deadline,
            "the commit went on waiting for B after its client left:\n{}",
            srv.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(go_on);
    let _ = b.join().unwrap();
    assert_eq!(std::fs::read(srv.path(remote)).unwrap(), old, "the target was touched");
}
