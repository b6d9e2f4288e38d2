//! The `tf` CLI against a real server: transfers with parallel streams, resume and
//! verification, checked on disk.

use sha2::{Digest, Sha256};
use std::fs;
use std::process::Output;
use tfd_testkit::*;

fn tf(srv: &Server, args: &[&str]) -> Output {
    srv.tf(args)
}

fn big_file(path: &std::path::Path, n: usize) -> Vec<u8> {
    let mut x = 0x9e3779b97f4a7c15u64;
    let data: Vec<u8> = (0..n)
        .map(|_| {
            x ^= x << 7;
            x ^= x >> 9;
            (x >> 24) as u8
        })
        .collect();
    fs::write(path, &data).unwrap();
    Sha256::digest(&data).to_vec()
}

#[test]
fn four_stream_put_and_get_reassemble_exactly() {
    let srv = Server::start();
    let local = srv.dir.join("big.bin");
    let want = big_file(&local, 256 << 20);
    let o = tf(
        &srv,
        &["put", local.to_str().unwrap(), "big.bin", "--streams", "4", "--verify"],
    );
    assert!(o.status.success(), "put: {}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("verified"));
    assert_eq!(Sha256::digest(fs::read(srv.path("big.bin")).unwrap()).to_vec(), want);
    let back = srv.dir.join("back.bin");
    let o = tf(
        &srv,
        &["get", "big.bin", back.to_str().unwrap(), "--streams", "4", "--verify"],
    );
    assert!(o.status.success(), "get: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(Sha256::digest(fs::read(&back).unwrap()).to_vec(), want);
}

#[test]
fn resume_put_and_get() {
    let srv = Server::start();
    let local = srv.dir.join("f.bin");
    big_file(&local, 3_000_000);
    let data = fs::read(&local).unwrap();
    // a partial upload already on the server
    fs::write(srv.path("f.bin"), &data[..1_234_567]).unwrap();
    let o = tf(&srv, &["put", local.to_str().unwrap(), "f.bin", "--resume", "--verify"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::read(srv.path("f.bin")).unwrap(), data);
    // a partial download locally
    let back = srv.dir.join("back.bin");
    fs::write(&back, &data[..777]).unwrap();
    let o = tf(&srv, &["get", "f.bin", back.to_str().unwrap(), "--resume", "--verify"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::read(&back).unwrap(), data);
    // a corrupted local copy fails verification with its own exit status
    let mut bad = data.clone();
    bad[5] ^= 1;
    fs::write(&back, &bad).unwrap();
    let o = tf(
        &srv,
        &["get", "f.bin", back.to_str().unwrap(), "--offset", "10", "--verify"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn sndfile_rcvfile_sup_sdown_and_failures() {
    let srv = Server::start();
    let local = srv.dir.join("s.bin");
    big_file(&local, 700_000);
    let data = fs::read(&local).unwrap();
    for (up, down) in [("sndfile", "rcvfile"), ("sup", "sdown")] {
        let name = format!("{up}.bin");
        let o = tf(&srv, &[up, local.to_str().unwrap(), &name]);
        assert!(o.status.success(), "{up}: {}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(fs::read(srv.path(&name)).unwrap(), data);
        let back = srv.dir.join(format!("{down}.out"));
        let o = tf(&srv, &[down, &name, back.to_str().unwrap()]);
        assert!(o.status.success(), "{down}: {}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(fs::read(&back).unwrap(), data);
    }
    let o = tf(&srv, &["sndfile", local.to_str().unwrap(), "sndfile.bin"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("FAILED 12"));
    let o = tf(&srv, &["fsize", "sndfile.bin"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "700000");
    let o = tf(&srv, &["mkdir", "d"]);
    assert!(o.status.success());
    assert!(srv.path("d").is_dir());
    let o = tf(&srv, &["ls"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("D: d/"));
}

#[test]
fn liveness_subcommands() {
    let srv = Server::start();
    let o = tf(&srv, &["probe", "host"]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "host reachable");
    let o = tf(&srv, &["prockey"]);
    let key = String::from_utf8_lossy(&o.stdout)
        .trim()
        .trim_start_matches("OK ")
        .to_string();
    assert_eq!(key.len(), 33, "{key}");
    // that tf session has ended (its process may take a moment to exit): its key reads dead
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let o = loop {
        let o = tf(&srv, &["probe", "proc", &key]);
        if o.status.code() == Some(2) || std::time::Instant::now() > deadline {
            break o;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "dead");
    let o = tf(&srv, &["oob", "3"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 3);
    let o = tf(&srv, &["nigma", "16"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = tf(&srv, &["keepalive", "1", "60", "10", "5"]);
    assert!(o.status.success());
    let o = tf(&srv, &["tlb"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("FAILED 52"));
}
