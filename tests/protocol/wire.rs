//! The handshake and framing through the real socket: every refusal gets its
//! status and a close, every frame violation a close, and the server keeps serving.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tfd_testkit::*;
use tfp_channel::Channel;
use tfp_wire::handshake::encrypt_session_key;

fn plain(srv: &Server) -> Channel {
    let s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    Channel::new(s).unwrap()
}

fn pubkey() -> openssl::rsa::Rsa<openssl::pkey::Public> {
    openssl::rsa::Rsa::public_key_from_pem(&keys().1).unwrap()
}

fn assert_closed(ch: &mut Channel) {
    let mut s = ch.stream().try_clone().unwrap();
    assert!(read_to_close(&mut s).is_empty(), "expected the server to close");
}

fn still_serving(srv: &Server) {
    let mut c = srv.client();
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

#[test]
fn wrong_version_gets_failed_2_and_close() {
    let srv = Server::start();
    let mut ch = plain(&srv);
    ch.tx.send_frame(b"2.4.0").unwrap();
    assert_eq!(ch.rx.recv_frame().unwrap(), b"FAILED 2 : Incompatible protocol.");
    assert_closed(&mut ch);
    still_serving(&srv);
}

#[test]
fn oversize_version_frame_is_refused_without_reading_it() {
    let srv = Server::start();
    let mut ch = plain(&srv);
    let mut s = ch.stream().try_clone().unwrap();
    s.write_all(&1_000_000i32.to_be_bytes()).unwrap();
    assert_eq!(ch.rx.recv_frame().unwrap(), b"FAILED 2 : Incompatible protocol.");
    assert_closed(&mut ch);
    still_serving(&srv);
}

#[test]
fn bad_rsa_frames_get_failed_25() {
    let srv = Server::start();
    for bad in [
        vec![0u8; 255],
        vec![0u8; 256],
        vec![7u8; 300],
        encrypt_session_key(&pubkey(), &[1u8; 8]).unwrap(),
    ] {
        let mut ch = plain(&srv);
        ch.tx.send_frame(b"2.4.1").unwrap();
        assert_eq!(ch.rx.recv_frame().unwrap(), b"OK");
        ch.tx.send_frame(&bad).unwrap();
        assert_eq!(
            ch.rx.recv_frame().unwrap(),
            b"FAILED 25 : Bad public rsa encryption key."
        );
        assert_closed(&mut ch);
    }
    still_serving(&srv);
}

#[test]
fn key_lengths_16_and_214_work() {
    let srv = Server::start();
    for len in [16usize, 214] {
        let mut cfg = srv.client_config();
        cfg.key_len = len;
        let mut c = tfp_client::Client::connect(&cfg).unwrap();
        assert_eq!(c.raw(b"ECHO k").unwrap(), b"k");
    }
}

#[test]
fn wrong_hash_gets_failed_3_encrypted() {
    let srv = Server::start();
    let mut cfg = srv.client_config();
    cfg.hash = "wrong".into();
    match tfp_client::Client::connect(&cfg) {
        Err(tfp_client::Error::Handshake("hash", st)) => assert_eq!(st.failed_code(), Some(3)),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("wrong hash accepted"),
    }
    still_serving(&srv);
}

#[test]
fn frame_violations_close_only_that_connection() {
    let srv = Server::start();
    let mut bystander = srv.client();
    for hdr in [600_000i32, 524_289, -1, i32::MIN] {
        let mut c = srv.client();
        // write the header as one encrypted unit, then nothing
        let mut h = hdr.to_be_bytes();
        c.chan.tx.cipher_mut().unwrap().pack(&mut h);
        let mut s = c.chan.stream().try_clone().unwrap();
        s.write_all(&h).unwrap();
        assert!(read_to_close(&mut s).is_empty(), "header {hdr}: connection must close");
        assert_eq!(bystander.raw(b"ECHO ok").unwrap(), b"ok");
    }
    assert!(srv.log().contains("protocol violation"));
    // a full 524288-byte frame is legal
    let mut c = srv.client();
    let mut big = b"ECHO ".to_vec();
    big.resize(tfp_wire::MAX_FRAME, b'z');
    assert_eq!(c.raw(&big).unwrap().len(), tfp_wire::MAX_FRAME - 5);
}

#[test]
fn prelogin_phase_is_bounded_in_time() {
    let srv = Server::start_with("prelogin_timeout 1\n");
    let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    let t = Instant::now();
    // trickle a byte now and then: the deadline is for the whole phase
    for _ in 0..3 {
        if s.write_all(&[0]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(400));
    }
    let _ = read_to_close(&mut s);
    assert!(t.elapsed() < Duration::from_secs(5), "closed after {:?}", t.elapsed());
    still_serving(&srv);
}
