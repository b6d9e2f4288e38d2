//! Transfers through the real wire: SNDFILE/RCVFILE, PUT/GET, PUTCAN/GETCAN,
//! SUP/SDOWN, FSIZE/FSIZELS — round trips byte for byte, and what every cancel,
//! break and disconnect leaves on disk.

use crate::hpf_rounds;
use tfd_testkit::reply::{Answer as _, SizeOrCode as _};
use tfp_client::replies::{AsStatus as _, Split as _};

use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use tfd_testkit::*;
use tfp_wire::hpf::code;
use tfp_wire::Status;

/// Around the frame size (524,283 data bytes per SNDFILE/RCVFILE frame), and
/// past the 4 MiB buffers uploads are gathered in and downloads read ahead in.
const SIZES: [usize; 8] = [0, 1, 507, 524_283, 524_284, 1_048_576, 3_145_745, 9_437_201];

fn sha(b: &[u8]) -> Vec<u8> {
    Sha256::digest(b).to_vec()
}

fn no_temp_files(srv: &Server) {
    for e in walk(&srv.data) {
        let name = e.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.starts_with(".tfd-part-"), "temporary file left: {}", e.display());
    }
}

fn walk(d: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(d).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[test]
fn sndfile_rcvfile_round_trips() {
    let srv = Server::start();
    let mut c = srv.client();
    for (i, n) in SIZES.iter().enumerate() {
        let data = pattern(*n, i as u64);
        let name = format!("up{i}.bin");
        let st = c
            .sndfile(name.as_bytes(), false, &mut &data[..], &mut |_| {})
            .status()
            .unwrap();
        assert_eq!(st, Status::Ok(vec![]), "size {n}");
        assert_eq!(sha(&fs::read(srv.path(&name)).unwrap()), sha(&data), "disk, size {n}");
        let mut back = Vec::new();
        assert_eq!(
            c.rcvfile(name.as_bytes(), false, &mut back).status().unwrap(),
            Status::Ok(vec![])
        );
        assert_eq!(sha(&back), sha(&data), "download, size {n}");
    }
    no_temp_files(&srv);
}

#[test]
fn sndfile_flags_and_errors() {
    let srv = Server::start();
    let mut c = srv.client();
    data_dir_write(&srv.path("exists"), b"old");
    assert_failed(
        c.sndfile(b"exists", false, &mut &b"new"[..], &mut |_| {})
            .status()
            .unwrap(),
        12,
    );
    assert_eq!(fs::read(srv.path("exists")).unwrap(), b"old");
    assert!(ok(&c
        .sndfile(b"exists", true, &mut &b"new"[..], &mut |_| {})
        .status()
        .unwrap()));
    assert_eq!(fs::read(srv.path("exists")).unwrap(), b"new");
    fs::create_dir(srv.path("dir")).unwrap();
    assert_failed(
        c.sndfile(b"dir", true, &mut &b"x"[..], &mut |_| {}).status().unwrap(),
        8,
    );
    assert_failed(
        c.sndfile(b"../out", true, &mut &b"x"[..], &mut |_| {})
            .status()
            .unwrap(),
        1,
    );
    assert_failed(
        c.sndfile(b"nodir/f", true, &mut &b"x"[..], &mut |_| {})
            .status()
            .unwrap(),
        7,
    );
    assert_failed(c.call("SNDFILE", b"1").unwrap(), 16);
    assert_failed(c.call("RCVFILE", b"0").unwrap(), 16);
    let mut sink = Vec::new();
    assert_failed(c.rcvfile(b"none", false, &mut sink).status().unwrap(), 9);
    assert_failed(c.rcvfile(b"dir", false, &mut sink).status().unwrap(), 8);
    // delete-after-download
    data_dir_write(&srv.path("once"), b"read me once");
    let mut got = Vec::new();
    assert!(ok(&c.rcvfile(b"once", true, &mut got).status().unwrap()));
    assert_eq!(got, b"read me once");
    assert!(!srv.path("once").exists());
    // empty file: just OK, and deleted with flag 1
    data_dir_write(&srv.path("empty"), b"");
    assert_eq!(c.raw(b"RCVFILE 1 empty").unwrap(), b"OK");
    assert!(!srv.path("empty").exists());
    // the reference appends after any first word, not only CONT
    assert_eq!(c.raw(b"SNDFILE 0 words").unwrap(), b"CONT");
    assert_eq!(c.raw(b"CONT abc").unwrap(), b"CONT");
    assert_eq!(c.raw(b"XYZ def").unwrap(), b"CONT");
    assert_eq!(c.raw(b"OK").unwrap(), b"OK");
    assert_eq!(fs::read(srv.path("words")).unwrap(), b"abcdef");
}

/// SNDFILE answers a frame by its first word before the rest has arrived; odd
/// frames (a first word longer than that head, no space at all, data after OK or
/// BREAK) are still read whole, so the stream stays in step.
#[test]
fn sndfile_odd_frames_stay_in_step() {
    let srv = Server::start();
    let mut c = srv.client();
    assert_eq!(c.raw(b"SNDFILE 0 odd").unwrap(), b"CONT");
    assert_eq!(c.raw(b"AVERYLONGFIRSTWORDINDEED one").unwrap(), b"CONT");
    assert_eq!(c.raw(b"NOSPACEATALLINTHISFRAMEWHATSOEVER").unwrap(), b"CONT");
    assert_eq!(c.raw(b"CONT  two").unwrap(), b"CONT");
    assert_eq!(c.raw(b"OK and some trailing bytes").unwrap(), b"OK");
    assert_eq!(fs::read(srv.path("odd")).unwrap(), b"one two");
    assert_eq!(c.raw(b"SNDFILE 0 gone").unwrap(), b"CONT");
    assert_eq!(c.raw(b"CONT data").unwrap(), b"CONT");
    assert_eq!(c.raw(b"BREAK with trailing bytes").unwrap(), b"OK");
    assert!(!srv.path("gone").exists());
    assert_eq!(c.raw(b"ECHO in step").unwrap(), b"in step");
    no_temp_files(&srv);
}

#[test]
fn sndfile_break_and_disconnect_leave_nothing() {
    let srv = Server::start();
    let mut c = srv.client();
    // BREAK: partial data discarded, nothing under the final name
    assert_eq!(c.raw(b"SNDFILE 0 broken").unwrap(), b"CONT");
    assert_eq!(c.raw(b"CONT partial").unwrap(), b"CONT");
    assert_eq!(c.raw(b"BREAK").unwrap(), b"OK");
    assert!(!srv.path("broken").exists());
    // BREAK on overwrite keeps the old file intact
    data_dir_write(&srv.path("keep"), b"precious");
    assert_eq!(c.raw(b"SNDFILE 1 keep").unwrap(), b"CONT");
    assert_eq!(c.raw(b"CONT garbage").unwrap(), b"CONT");
    assert_eq!(c.raw(b"BREAK").unwrap(), b"OK");
    assert_eq!(fs::read(srv.path("keep")).unwrap(), b"precious");
    no_temp_files(&srv);
    // disconnect mid-upload
    let mut d = srv.client();
    assert_eq!(d.raw(b"SNDFILE 1 keep").unwrap(), b"CONT");
    assert_eq!(d.raw(b"CONT half").unwrap(), b"CONT");
    drop(d);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(fs::read(srv.path("keep")).unwrap(), b"precious");
    no_temp_files(&srv);
    // overwrite=0 and the name appears meanwhile: FAILED 12, the newcomer survives
    assert_eq!(c.raw(b"SNDFILE 0 race").unwrap(), b"CONT");
    assert_eq!(c.raw(b"CONT mine").unwrap(), b"CONT");
    data_dir_write(&srv.path("race"), b"theirs");
    assert_failed(Status::parse(&c.raw(b"OK").unwrap()), 12);
    assert_eq!(fs::read(srv.path("race")).unwrap(), b"theirs");
    no_temp_files(&srv);
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

#[test]
fn rcvfile_break() {
    let srv = Server::start();
    let data = pattern(1_500_000, 9);
    fs::write(srv.path("big"), &data).unwrap();
    let mut c = srv.client();
    c.chan.tx.send_frame(b"RCVFILE 1 big").unwrap();
    let first = c.chan.rx.recv_frame().unwrap();
    assert_eq!(&first[..5], b"CONT ");
    assert_eq!(&first[5..], &data[..tfp_wire::MAX_CHUNK]);
    c.chan.tx.send_frame(b"BREAK").unwrap();
    // the server had the next chunk enciphered ahead; dropping it must leave its
    // cipher state where the client expects it
    assert_eq!(c.chan.rx.recv_frame().unwrap(), b"OK");
    assert_eq!(c.raw(b"ECHO still in step").unwrap(), b"still in step");
    assert!(srv.path("big").exists(), "a broken-off download is not deleted");
}

#[test]
fn put_get_round_trips() {
    let srv = Server::start();
    let mut c = srv.client();
    for (i, n) in SIZES.iter().enumerate() {
        let data = pattern(*n, 40 + i as u64);
        let name = format!("p{i}");
        let r = c
            .put(name.as_bytes(), 0, 1 << 20, &mut &data[..], &mut |_| {})
            .split()
            .unwrap();
        assert_eq!(r, Ok(()), "size {n}");
        assert_eq!(sha(&fs::read(srv.path(&name)).unwrap()), sha(&data), "size {n}");
        let mut back = Vec::new();
        assert_eq!(
            c.get(name.as_bytes(), 0, 300_000, &mut back, &mut |_| {})
                .split()
                .unwrap(),
            Ok(*n as u64)
        );
        assert_eq!(sha(&back), sha(&data), "size {n}");
    }
    assert_eq!(c.raw(b"ECHO after").unwrap(), b"after");
}

#[test]
fn put_writes_in_place_and_get_from_offset() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::write(srv.path("f"), b"abcde").unwrap();
    c.put(b"f", 0, 16, &mut &b"XY"[..], &mut |_| {})
        .split()
        .unwrap()
        .unwrap();
    assert_eq!(fs::read(srv.path("f")).unwrap(), b"XYcde", "no truncation");
    c.put(b"f", 7, 16, &mut &b"Z"[..], &mut |_| {})
        .split()
        .unwrap()
        .unwrap();
    assert_eq!(fs::read(srv.path("f")).unwrap(), b"XYcde\0\0Z");
    let mut tail = Vec::new();
    c.get(b"f", 3, 16, &mut tail, &mut |_| {}).split().unwrap().unwrap();
    assert_eq!(tail, b"de\0\0Z");
    let mut none = Vec::new();
    assert_eq!(c.get(b"f", 100, 16, &mut none, &mut |_| {}).split().unwrap(), Ok(0));
}

/// Defect: a local read that failed in the middle of a PUT returned at once,
/// leaving the server in the transfer and the session out of step. The flow
/// now ends with HPFSTOP (the server keeps what came) and HPFFIN.
#[test]
fn a_put_whose_source_fails_midway_keeps_the_session_in_step() {
    /// 3 chunks of 1,000 bytes, then an I/O error.
    struct Failing(usize);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("the source broke"));
            }
            self.0 -= 1;
            let n = buf.len().min(1000);
            buf[..n].fill(b'x');
            Ok(n)
        }
    }
    let srv = Server::start();
    let mut c = srv.client();
    let e = c.put(b"p", 0, 1000, &mut Failing(3), &mut |_| {}).unwrap_err();
    assert!(
        matches!(&e, tfp_client::Error::Local(io) if io.to_string() == "the source broke"),
        "{e:?}"
    );
    assert_eq!(c.raw(b"ECHO after").unwrap(), b"after", "{}", srv.log());
    assert_eq!(fs::read(srv.path("p")).unwrap(), vec![b'x'; 3000], "what came is kept");
}

#[test]
fn hpf_refusals() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::write(srv.path("f"), b"abc").unwrap();
    fs::create_dir(srv.path("d")).unwrap();
    let mut sink = Vec::new();
    let refused = |r: Result<Result<u64, Status>, _>| r.unwrap().unwrap_err().failed_code();
    assert_eq!(refused(c.get(b"none", 0, 16, &mut sink, &mut |_| {}).split()), Some(34));
    assert_eq!(refused(c.get(b"d", 0, 16, &mut sink, &mut |_| {}).split()), Some(34));
    assert_eq!(refused(c.get(b"../x", 0, 16, &mut sink, &mut |_| {}).split()), Some(1));
    assert_eq!(
        refused(c.get(b"f", 1 << 63, 16, &mut sink, &mut |_| {}).split()),
        Some(35)
    );
    assert_eq!(
        refused(c.get(b"f", u64::MAX, 16, &mut sink, &mut |_| {}).split()),
        Some(35)
    );
    assert_eq!(refused(c.get(b"f", 0, 0, &mut sink, &mut |_| {}).split()), Some(36));
    assert_eq!(refused(c.get(b"f", 0, -5, &mut sink, &mut |_| {}).split()), Some(36));
    // a refused PUT creates nothing
    let mut cmd = b"PUT ".to_vec();
    cmd.extend_from_slice(&tfp_wire::hpf::encode(b"fresh", 0, 0, None));
    assert_failed(Status::parse(&c.raw(&cmd).unwrap()), 36);
    let mut cmd = b"PUT ".to_vec();
    cmd.extend_from_slice(&tfp_wire::hpf::encode(b"fresh", u64::MAX, 16, None));
    assert_failed(Status::parse(&c.raw(&cmd).unwrap()), 35);
    assert!(!srv.path("fresh").exists());
    assert_failed(c.call("PUT", b"short").unwrap(), 16);
    assert_failed(c.call("GET", b"").unwrap(), 16);
    // the grant never exceeds the request nor the configured cap
    let mut cmd = b"GET ".to_vec();
    cmd.extend_from_slice(&tfp_wire::hpf::encode(b"f", 0, 1 << 40, None));
    let f = c.raw(&cmd).unwrap();
    assert_eq!(&f[..3], b"OK ");
    let grant = i64::from_be_bytes(f[3..11].try_into().unwrap());
    assert_eq!(grant, 4 << 20, "default hpf_max_buffer");
    // finish that GET properly
    assert_eq!(c.chan.rx.recv_i64().unwrap(), 3);
    let mut b = [0u8; 3];
    c.chan.rx.recv_unit(&mut b).unwrap();
    assert_eq!(&b, b"abc");
    assert_eq!(c.chan.rx.recv_i64().unwrap(), 0);
    c.chan.tx.send_i64(code::FIN).unwrap();
    assert_eq!(c.chan.rx.recv_i64().unwrap(), code::FIN);
    assert_eq!(c.raw(b"ECHO ok").unwrap(), b"ok");
}

#[test]
fn put_chunk_over_grant_closes_connection() {
    let srv = Server::start();
    let mut c = srv.client();
    let mut cmd = b"PUT ".to_vec();
    cmd.extend_from_slice(&tfp_wire::hpf::encode(b"v", 0, 16, None));
    assert_eq!(&c.raw(&cmd).unwrap()[..3], b"OK ");
    c.chan.tx.send_i64(17).unwrap();
    let mut s = c.chan.stream().try_clone().unwrap();
    assert!(read_to_close(&mut s).is_empty());
    // an unknown negative code is a violation too
    let mut c = srv.client();
    assert_eq!(&c.raw(&cmd).unwrap()[..3], b"OK ");
    c.chan.tx.send_i64(-9).unwrap();
    let mut s = c.chan.stream().try_clone().unwrap();
    assert!(read_to_close(&mut s).is_empty());
    assert_eq!(srv.client().raw(b"ECHO alive").unwrap(), b"alive");
}

#[test]
fn put_stop_keeps_and_cancel_deletes() {
    let srv = Server::start();
    let mut c = srv.client();
    hpf_rounds::put_stop_keeps_and_cancel_deletes(&srv, &mut c);
    assert_eq!(c.raw(b"ECHO ok").unwrap(), b"ok");
}

#[test]
fn get_cancel_and_disconnect() {
    let srv = Server::start();
    let data = pattern(2_000_000, 3);
    fs::write(srv.path("big"), &data).unwrap();
    let mut c = srv.client();
    let kept = c.get_cancel_after_first(b"big", 65536).split().unwrap().unwrap();
    assert_eq!(kept, 65536);
    assert_eq!(c.raw(b"ECHO after cancel").unwrap(), b"after cancel");
    // a client vanishing mid-GET: the session process ends (no spinning thread)
    vanish_mid_get(&srv, b"big", 4096);
    assert_eq!(fs::read(srv.path("big")).unwrap().len(), data.len());
}

/// A second client asks to GET `name` with `bufsz`, reads the grant and
/// disconnects; its session process must end, leaving only the caller's.
fn vanish_mid_get(srv: &Server, name: &[u8], bufsz: i64) {
    let mut d = srv.client();
    let mut cmd = b"GET ".to_vec();
    cmd.extend_from_slice(&tfp_wire::hpf::encode(name, 0, bufsz, None));
    d.chan.tx.send_frame(&cmd).unwrap();
    let _ = d.chan.rx.recv_frame().unwrap();
    drop(d);
    srv.wait_sessions(1, "the vanished client's GET session ends");
}

/// A GET that fits one grant is sent without a reader thread; the client's
/// late CANCEL and its FIN are still read, and a client that vanishes still
/// ends the session.
#[test]
fn small_get_cancel_and_disconnect() {
    let srv = Server::start();
    let data = pattern(16_384, 4);
    fs::write(srv.path("small"), &data).unwrap();
    let mut c = srv.client();
    let mut out = Vec::new();
    assert!(c
        .get(b"small", 0, 65536, &mut out, &mut |_| {})
        .split()
        .unwrap()
        .is_ok());
    assert!(out == data);
    let kept = c.get_cancel_after_first(b"small", 65536).split().unwrap().unwrap();
    assert_eq!(kept, data.len() as u64, "the whole file came in the one chunk");
    assert_eq!(c.raw(b"ECHO after cancel").unwrap(), b"after cancel");
    vanish_mid_get(&srv, b"small", 65536);
    srv.wait_log("GET sent 16384 bytes (cancelled)");
    assert_eq!(fs::read(srv.path("small")).unwrap(), data);
}

#[test]
fn putcan_getcan_windows() {
    let srv = Server::start();
    let mut c = srv.client();
    // PUTCAN, canpt 2, grant 16: after every 2 chunks the server answers -3
    hpf_rounds::putcan_window(&srv, &mut c);
    // GETCAN, canpt 3: the client answers every third chunk; at a window boundary
    // at EOF it still answers before the 0
    hpf_rounds::getcan_window(&srv, &mut c);
    // GETCAN stopped by the client at the first window
    let mut cmd = b"GETCAN ".to_vec();
    cmd.extend_from_slice(&tfp_wire::hpf::encode(b"gc", 0, 16, Some(1)));
    assert_eq!(&c.raw(&cmd).unwrap()[..3], b"OK ");
    assert_eq!(c.chan.rx.recv_i64().unwrap(), 16);
    let mut b = [0u8; 16];
    c.chan.rx.recv_unit(&mut b).unwrap();
    c.chan.tx.send_i64(code::CANCEL).unwrap();
    assert_eq!(c.raw(b"ECHO stopped").unwrap(), b"stopped");
    // PUTCAN cancel deletes
    let mut cmd = b"PUTCAN ".to_vec();
    cmd.extend_from_slice(&tfp_wire::hpf::encode(b"pc2", 0, 16, Some(0)));
    assert_eq!(&c.raw(&cmd).unwrap()[..3], b"OK ");
    c.chan.tx.send_units(&[&4i64.to_be_bytes(), b"data"]).unwrap();
    c.chan.tx.send_i64(code::CANCEL).unwrap();
    assert_eq!(c.raw(b"ECHO x").unwrap(), b"x");
    assert!(!srv.path("pc2").exists());
}

#[test]
fn sup_sdown_round_trips_and_cancel() {
    let srv = Server::start();
    let mut c = srv.client();
    for (i, n) in SIZES.iter().enumerate() {
        let data = pattern(*n, 80 + i as u64);
        let name = format!("s{i}");
        assert_eq!(c.sup(name.as_bytes(), &mut &data[..]).answer().unwrap(), 0, "size {n}");
        assert_eq!(sha(&fs::read(srv.path(&name)).unwrap()), sha(&data));
        let mut back = Vec::new();
        assert!(c.sdown(name.as_bytes(), &mut back).done().unwrap());
        assert_eq!(sha(&back), sha(&data));
    }
    let mut sink = Vec::new();
    assert!(!c.sdown(b"none", &mut sink).done().unwrap());
    assert!(!c.sdown(b"../etc/passwd", &mut sink).done().unwrap());
    // SUP into a missing directory: data swallowed, result -1
    assert_eq!(c.sup(b"nodir/x", &mut &b"abc"[..]).answer().unwrap(), -1);
    // client cancel (-1): no reply, nothing left, session continues
    data_dir_write(&srv.path("s0"), b"before");
    c.chan.tx.send_frame(b"SUP s0").unwrap();
    c.chan.tx.send_units(&[&3i32.to_be_bytes(), b"new"]).unwrap();
    c.chan.tx.send_i32(-1).unwrap();
    assert_eq!(c.raw(b"ECHO z").unwrap(), b"z");
    assert_eq!(fs::read(srv.path("s0")).unwrap(), b"before");
    no_temp_files(&srv);
    // an oversize SUP header is a violation
    c.chan.tx.send_frame(b"SUP big").unwrap();
    c.chan.tx.send_i32(600_000).unwrap();
    let mut s = c.chan.stream().try_clone().unwrap();
    assert!(read_to_close(&mut s).is_empty());
}

#[test]
fn fsize_and_fsizels() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::write(srv.path("five"), b"12345").unwrap();
    fs::create_dir(srv.path("d")).unwrap();
    assert_eq!(c.fsize(b"five").size_or_code().unwrap(), 5);
    assert_eq!(c.fsize(b"d").size_or_code().unwrap(), -2);
    assert_eq!(c.fsize(b"none").size_or_code().unwrap(), -1);
    assert_eq!(c.fsize(b"../x").size_or_code().unwrap(), -1);
    let mut list = fs::File::create(srv.path("list")).unwrap();
    writeln!(list, "five\nd\nnone\n../../etc/passwd").unwrap();
    drop(list);
    use tfp_client::LineSize::{Bytes, Failed, NotRegular};
    assert_eq!(c.fsizels(b"list").unwrap(), vec![Bytes(5), NotRegular, Failed, Failed]);
    assert!(c.fsizels(b"nolist").unwrap().is_empty());
    assert_eq!(c.raw(b"ECHO ok").unwrap(), b"ok");
}
