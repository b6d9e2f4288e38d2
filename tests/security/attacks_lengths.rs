//! Attack classes on lengths and offsets (issue 7, wire-notes §10):
//! oversize and negative lengths wherever a length is read (the handshake,
//! command frames, HPF chunks, streams) and resume offsets near 2^63/2^64.
//! Each test asserts the server's exact reply and that another session
//! running at the same time is unaffected.

use super::attacks::{hpf_cmd, no_temp_files, Bystander};
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;
use tfd_testkit::reply::SizeOrCode as _;
use tfd_testkit::*;
use tfp_client::replies::Split as _;
use tfp_client::Client;
use tfp_wire::hpf::code;
use tfp_wire::Status;

/// True when the server has closed the connection (EOF, nothing more sent).
fn server_closed(c: &Client) -> bool {
    let mut s = c.chan.stream().try_clone().unwrap();
    read_to_close(&mut s).is_empty()
}

/// Handshake frames with negative or oversize length headers get their refusal
/// status and a close, before any allocation of that size.
#[test]
fn handshake_lengths() {
    let srv = Server::start();
    let mut by = Bystander::new(&srv);
    let plain = || {
        let s = std::net::TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        tfp_channel::Channel::new(s).unwrap()
    };
    let closed = |ch: &tfp_channel::Channel| {
        let mut s = ch.stream().try_clone().unwrap();
        read_to_close(&mut s).is_empty()
    };
    // version frame
    for hdr in [-1i32, i32::MIN, 257, i32::MAX] {
        let mut ch = plain();
        ch.stream().try_clone().unwrap().write_all(&hdr.to_be_bytes()).unwrap();
        assert_eq!(
            ch.rx.recv_frame().unwrap(),
            b"FAILED 2 : Incompatible protocol.",
            "{hdr}"
        );
        assert!(closed(&ch));
    }
    // RSA key frame (the reference memcpy'd it into 256 bytes unchecked)
    for hdr in [-1i32, i32::MIN, 257, 100_000, i32::MAX] {
        let mut ch = plain();
        ch.tx.send_frame(b"2.4.1").unwrap();
        assert_eq!(ch.rx.recv_frame().unwrap(), b"OK");
        ch.stream().try_clone().unwrap().write_all(&hdr.to_be_bytes()).unwrap();
        assert_eq!(
            ch.rx.recv_frame().unwrap(),
            b"FAILED 25 : Bad public rsa encryption key.",
            "{hdr}"
        );
        assert!(closed(&ch));
    }
    // hash frame, encrypted
    let pubkey = openssl::rsa::Rsa::public_key_from_pem(&keys().1).unwrap();
    for hdr in [-1i32, i32::MIN, 257, i32::MAX] {
        let mut ch = plain();
        ch.tx.send_frame(b"2.4.1").unwrap();
        assert_eq!(ch.rx.recv_frame().unwrap(), b"OK");
        let key = [7u8; 32];
        let enc = tfp_wire::handshake::encrypt_session_key(&pubkey, &key).unwrap();
        ch.tx.send_frame(&enc).unwrap();
        assert_eq!(ch.rx.recv_frame().unwrap(), b"OK");
        ch.start_cipher(&key);
        let mut h = hdr.to_be_bytes();
        ch.tx.cipher_mut().unwrap().pack(&mut h);
        ch.stream().try_clone().unwrap().write_all(&h).unwrap();
        assert_eq!(ch.rx.recv_frame().unwrap(), b"FAILED 3 : Invalid hash string.", "{hdr}");
        assert!(closed(&ch));
    }
    by.check();
}

/// Command frame headers: negative, just over and far over the bound close the
/// connection without reading a payload; a bystander is unaffected.
#[test]
fn command_frame_lengths() {
    let srv = Server::start();
    let mut by = Bystander::new(&srv);
    for hdr in [-1i32, -2, i32::MIN, 524_289, 1 << 24, i32::MAX] {
        let mut c = srv.client();
        assert_eq!(c.raw(b"ECHO first").unwrap(), b"first");
        let mut h = hdr.to_be_bytes();
        c.chan.tx.cipher_mut().unwrap().pack(&mut h);
        let mut s = c.chan.stream().try_clone().unwrap();
        s.write_all(&h).unwrap();
        // a payload that would be a valid command if the header were ignored
        let _ = s.write_all(b"ECHO stale");
        assert!(server_closed(&c), "header {hdr}");
        by.check();
    }
}

/// PUT/PUTCAN chunk headers above the grant, far above it, at 2^32 (which a 32-bit
/// truncation would read as 0 or 1) and negative values that are no code: the
/// connection closes, the file holds exactly what was sent before, the bystander goes on.
#[test]
fn hpf_chunk_lengths() {
    let srv = Server::start();
    let mut by = Bystander::new(&srv);
    let bad: [i64; 9] = [17, 1 << 20, i64::MAX, 1 << 32, (1 << 32) | 1, i64::MIN, -4, -126, -128];
    for (i, len) in bad.iter().enumerate() {
        for (name, can) in [("PUT", None), ("PUTCAN", Some(0u64))] {
            let file = format!("{name}{i}");
            let mut c = srv.client();
            let reply = c.raw(&hpf_cmd(name, file.as_bytes(), 0, 16, can)).unwrap();
            assert_eq!(reply, [&b"OK "[..], &16i64.to_be_bytes()].concat());
            c.chan.tx.send_units(&[&4i64.to_be_bytes(), b"good"]).unwrap();
            c.chan.tx.send_i64(*len).unwrap();
            let _ = c.chan.tx.send_units(&[&[0x55u8; 64]]);
            assert!(server_closed(&c), "{name} chunk header {len}");
            assert_eq!(fs::read(srv.path(&file)).unwrap(), b"good", "{name} {len}");
            by.check();
        }
    }
    // GET: whatever the client sends before its FIN is ignored, the stream is intact
    fs::write(srv.path("g"), b"0123456789").unwrap();
    let mut c = srv.client();
    let reply = c.raw(&hpf_cmd("GET", b"g", 0, 4, None)).unwrap();
    assert_eq!(reply, [&b"OK "[..], &4i64.to_be_bytes()].concat());
    for junk in [12345i64, i64::MIN, i64::MAX, -3, 0, -1] {
        c.chan.tx.send_i64(junk).unwrap();
    }
    let mut got = Vec::new();
    loop {
        let n = c.chan.rx.recv_i64().unwrap();
        assert!((0..=4).contains(&n), "chunk {n}");
        if n == 0 {
            break;
        }
        let mut b = vec![0u8; n as usize];
        c.chan.rx.recv_unit(&mut b).unwrap();
        got.extend(b);
    }
    assert_eq!(got, b"0123456789");
    c.chan.tx.send_i64(code::FIN).unwrap();
    assert_eq!(c.chan.rx.recv_i64().unwrap(), code::FIN);
    assert_eq!(c.raw(b"ECHO after get").unwrap(), b"after get");
    // GETCAN: a window answer that is no code stops the stream; the session goes on
    let reply = c.raw(&hpf_cmd("GETCAN", b"g", 0, 4, Some(1))).unwrap();
    assert_eq!(&reply[..3], b"OK ");
    assert_eq!(c.chan.rx.recv_i64().unwrap(), 4);
    let mut b = [0u8; 4];
    c.chan.rx.recv_unit(&mut b).unwrap();
    c.chan.tx.send_i64(i64::MIN).unwrap();
    assert_eq!(c.raw(b"ECHO after getcan").unwrap(), b"after getcan");
    by.check();
}

/// SUP headers (raw i32): oversize closes, any negative cancels with no reply and
/// no file; SNDFILE and RCVFILE frames over the bound close, leaving nothing.
#[test]
fn stream_lengths() {
    let srv = Server::start();
    let mut by = Bystander::new(&srv);
    for hdr in [524_289i32, 1 << 30, i32::MAX] {
        let mut c = srv.raw_client();
        c.chan.tx.send_frame(b"SUP big").unwrap();
        c.chan.tx.send_units(&[&3i32.to_be_bytes(), b"abc"]).unwrap();
        c.chan.tx.send_i32(hdr).unwrap();
        assert!(server_closed(&c), "SUP header {hdr}");
        assert!(!srv.path("big").exists());
        no_temp_files(&srv.data);
        by.check();
    }
    let mut c = srv.client();
    for hdr in [-1i32, -2, -7, i32::MIN] {
        c.chan.tx.send_frame(b"SUP cancelled").unwrap();
        c.chan.tx.send_units(&[&3i32.to_be_bytes(), b"abc"]).unwrap();
        c.chan.tx.send_i32(hdr).unwrap();
        assert_eq!(c.raw(b"ECHO next").unwrap(), b"next", "after SUP {hdr}");
        assert!(!srv.path("cancelled").exists());
    }
    no_temp_files(&srv.data);
    // a SNDFILE chunk frame over the bound
    let mut c = srv.client();
    assert_eq!(c.raw(b"SNDFILE 0 up").unwrap(), b"CONT");
    c.chan.tx.send_frame(b"CONT part").unwrap();
    assert_eq!(c.chan.rx.recv_frame().unwrap(), b"CONT");
    let mut h = 524_289i32.to_be_bytes();
    c.chan.tx.cipher_mut().unwrap().pack(&mut h);
    c.chan.stream().try_clone().unwrap().write_all(&h).unwrap();
    assert!(server_closed(&c));
    assert!(!srv.path("up").exists());
    no_temp_files(&srv.data);
    // a RCVFILE answer frame over the bound
    fs::write(srv.path("down"), vec![7u8; 1000]).unwrap();
    let mut c = srv.client();
    c.chan.tx.send_frame(b"RCVFILE 0 down").unwrap();
    let f = c.chan.rx.recv_frame().unwrap();
    assert!(f.starts_with(b"CONT "));
    let mut h = (-5i32).to_be_bytes();
    c.chan.tx.cipher_mut().unwrap().pack(&mut h);
    c.chan.stream().try_clone().unwrap().write_all(&h).unwrap();
    assert!(server_closed(&c));
    assert_eq!(fs::read(srv.path("down")).unwrap().len(), 1000);
    by.check();
}

/// Resume offsets near 2^63 and 2^64 (the reference's lseek took them as negative):
/// every refused PUT creates nothing; a far but valid offset makes a sparse file
/// that GET and FSIZE read back exactly.
#[test]
fn hpf_offsets_near_the_limits() {
    let srv = Server::start();
    let mut by = Bystander::new(&srv);
    let mut c = srv.client();
    fs::write(srv.path("small"), b"abc").unwrap();
    let huge = [1u64 << 63, (1 << 63) + 1, u64::MAX - 1, u64::MAX];
    for off in huge {
        for (name, can) in [("PUT", None), ("PUTCAN", Some(1)), ("GET", None), ("GETCAN", Some(1))] {
            let target = if name.starts_with("GET") { "small" } else { "fresh" };
            let st = Status::parse(&c.raw(&hpf_cmd(name, target.as_bytes(), off, 16, can)).unwrap());
            assert_eq!(st.failed_code(), Some(35), "{name} at {off}");
        }
    }
    assert!(!srv.path("fresh").exists(), "a refused PUT created its file");
    // offsets below 2^63 that the filesystem may not seek to (ext4 stops at 16 TiB;
    // tmpfs and XFS go up to 2^63-1): refused with FAILED 35 where the kernel refuses
    // the seek, granted where it does not
    let seekable = |off: u64| {
        use std::io::{Seek, SeekFrom};
        let mut f = fs::File::create(srv.dir.join("probe")).unwrap();
        f.seek(SeekFrom::Start(off)).is_ok()
    };
    for off in [i64::MAX as u64, (i64::MAX - 1) as u64, 1 << 62] {
        let max_ok = seekable(off);
        let st = Status::parse(&c.raw(&hpf_cmd("PUT", b"fresh2", off, 16, None)).unwrap());
        if max_ok {
            // granted: the write fails (EFBIG) or makes a huge sparse file; either
            // way the PUT ends with FIN and the session goes on
            assert!(ok(&st), "{st:?}");
            c.chan.tx.send_units(&[&1i64.to_be_bytes(), b"x"]).unwrap();
            c.chan.tx.send_i64(code::END).unwrap();
            while c.chan.rx.recv_i64().unwrap() != code::FIN {}
            c.chan.tx.send_i64(code::FIN).unwrap();
        } else {
            assert_eq!(st.failed_code(), Some(35), "PUT at {off}: {st:?}");
        }
        // a refused PUT at such an offset leaves nothing behind: see
        // refused_put_at_unseekable_offset_creates_nothing
        let _ = fs::remove_file(srv.path("fresh2"));
        let mut sink = Vec::new();
        // refused at the seek (35), or seekable: EOF at once, or (tmpfs at 2^63-1,
        // where pos + count overflows) a read error the server ends with HPFCANCEL,
        // which the client reports as 7
        match c.get(b"small", off, 16, &mut sink, &mut |_| {}).split().unwrap() {
            Ok(n) => assert_eq!((n, sink.len()), (0, 0)),
            Err(st) if max_ok => assert_eq!(st.failed_code(), Some(7), "GET at {off}"),
            Err(st) => assert_eq!(st.failed_code(), Some(35), "GET at {off}"),
        }
        assert_eq!(c.raw(b"ECHO on").unwrap(), b"on");
    }
    // 1 TiB out: a sparse file, read back exactly
    let far = 1u64 << 40;
    c.put(b"sparse", far, 16, &mut &b"xyz"[..], &mut |_| {}).unwrap();
    let m = fs::metadata(srv.path("sparse")).unwrap();
    assert_eq!(m.len(), far + 3);
    assert!(m.blocks() < 1024, "not sparse: {} blocks", m.blocks());
    assert_eq!(c.fsize(b"sparse").size_or_code().unwrap(), (far + 3) as i64);
    let mut back = Vec::new();
    assert_eq!(
        c.get(b"sparse", far, 16, &mut back, &mut |_| {})
            .split()
            .unwrap()
            .unwrap(),
        3
    );
    assert_eq!(back, b"xyz");
    let mut back = Vec::new();
    assert_eq!(
        c.get(b"sparse", far + 3, 16, &mut back, &mut |_| {})
            .split()
            .unwrap()
            .unwrap(),
        0
    );
    let mut back = Vec::new();
    assert_eq!(
        c.get(b"small", far, 16, &mut back, &mut |_| {})
            .split()
            .unwrap()
            .unwrap(),
        0
    );
    assert!(ok(&c.call("DEL", b"sparse").unwrap()));
    // buffer sizes at the extremes
    for bufsz in [i64::MIN, -1, 0] {
        let st = Status::parse(&c.raw(&hpf_cmd("GET", b"small", 0, bufsz, None)).unwrap());
        assert_eq!(st.failed_code(), Some(36), "bufsz {bufsz}");
    }
    let reply = c.raw(&hpf_cmd("PUT", b"capped", 0, i64::MAX, None)).unwrap();
    assert_eq!(reply, [&b"OK "[..], &(4i64 << 20).to_be_bytes()].concat());
    c.chan.tx.send_i64(code::END).unwrap();
    assert_eq!(c.chan.rx.recv_i64().unwrap(), code::FIN);
    c.chan.tx.send_i64(code::FIN).unwrap();
    assert_eq!(c.raw(b"ECHO ok").unwrap(), b"ok");
    by.check();
}
