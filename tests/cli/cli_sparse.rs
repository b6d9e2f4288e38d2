//! Issue 67 `-S`: a sparse file (data at both ends, a 64 MiB hole between)
//! goes up (`put -r -a -S`, through a stage) and down (`get -r -a -S`,
//! through the engine) with its hole: the bytes the same, no more blocks
//! allocated than `rsync -a -S`'s copy, and no more than 1.1 times its data
//! on the wire (counted by a relay in front of the server).

use crate::output::ok;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tfd_testkit::*;

const END: usize = 2 << 20;
const HOLE: u64 = 64 << 20;

/// A relay to `to` counting the bytes that cross it, both ways.
struct Relay {
    addr: String,
    bytes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Relay {
    fn start(to: String) -> Relay {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let (bytes, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let (b2, st) = (bytes.clone(), stop.clone());
        l.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let Ok((a, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                a.set_nonblocking(false).unwrap();
                let Ok(b) = TcpStream::connect(&to) else { continue };
                for (mut from, mut into) in [(a.try_clone().unwrap(), b.try_clone().unwrap()), (b, a)] {
                    let counted = b2.clone();
                    std::thread::spawn(move || {
                        let mut buf = vec![0u8; 64 * 1024];
                        while let Ok(n @ 1..) = from.read(&mut buf) {
                            counted.fetch_add(n as u64, Ordering::Relaxed);
                            if into.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = into.shutdown(std::net::Shutdown::Write);
                    });
                }
            }
        });
        Relay { addr, bytes, stop }
    }

    /// The bytes counted since the last call.
    fn take(&self) -> u64 {
        self.bytes.swap(0, Ordering::Relaxed)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// `dir/vm.img`: END bytes of data, a HOLE, END bytes of data.
fn sparse_file(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    let mut f = fs::File::create(dir.join("vm.img")).unwrap();
    f.write_all(&pattern(END, 1)).unwrap();
    f.seek(SeekFrom::Current(HOLE as i64)).unwrap();
    f.write_all(&pattern(END, 2)).unwrap();
    fs::write(dir.join("small"), b"small file").unwrap();
    // a small one goes up through a stage too, and down in a batch, whose
    // zeros are not written (rsync -S's receiver)
    let mut f = fs::File::create(dir.join("small.img")).unwrap();
    f.write_all(&pattern(4096, 3)).unwrap();
    f.seek(SeekFrom::Current(1 << 20)).unwrap();
    f.write_all(&pattern(4096, 4)).unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The copy `got` of the sparse file is `want`'s bytes in no more blocks
/// than rsync's copy `reference`.
#[track_caller]
fn same_and_sparse(got: &Path, want: &Path, reference: &Path) {
    assert!(
        fs::read(got).unwrap() == fs::read(want).unwrap(),
        "{got:?}: other bytes"
    );
    let (g, r) = (fs::metadata(got).unwrap(), fs::metadata(reference).unwrap());
    assert_eq!(g.len(), r.len());
    assert!(
        g.blocks() <= r.blocks(),
        "{got:?} allocates {} blocks, rsync -S's copy {}",
        g.blocks(),
        r.blocks()
    );
}

#[test]
fn sparse_files_keep_their_holes_both_ways_and_their_zeros_stay_home() {
    let srv = Server::start();
    let relay = Relay::start(srv.addr());
    let here = tempdir("cli_sparse");
    let (src, reference) = (here.join("src"), here.join("ref"));
    sparse_file(&src);
    let o = std::process::Command::new("rsync")
        .args(["-a", "-S", &format!("{}/", s(&src)), s(&reference)])
        .output()
        .unwrap();
    ok(&o, "rsync -a -S");
    let data = 2 * END as u64 + 2 * 4096;
    // the small file's hole is fetched as zeros (as rsync's sender sends them)
    let most = data + data / 10;
    let most_down = most + (1 << 20);

    fs::create_dir_all(srv.path("into")).unwrap();
    relay.take();
    ok(
        &srv.tf_via(&relay.addr, &["put", "-r", "-a", "-S", s(&src), "into"])
            .output()
            .unwrap(),
        "put -r -a -S",
    );
    let up = relay.take();
    for name in ["vm.img", "small.img"] {
        same_and_sparse(&srv.path("into/src").join(name), &src.join(name), &reference.join(name));
    }
    assert!(up <= most, "put -r -a -S moved {up} bytes for {data} of data");
    ok(
        &srv.tf_via(&relay.addr, &["put", "-r", "-a", "-S", s(&src), "into"])
            .output()
            .unwrap(),
        "put -r -a -S again",
    );
    let again = relay.take();
    assert!(again < 64 << 10, "a second put -r -a -S moved {again} bytes");

    let out = here.join("out");
    fs::create_dir_all(&out).unwrap();
    ok(
        &srv.tf_via(&relay.addr, &["get", "-r", "-a", "-S", "into/src", s(&out)])
            .output()
            .unwrap(),
        "get -r -a -S",
    );
    let down = relay.take();
    for name in ["vm.img", "small.img"] {
        same_and_sparse(&out.join("src").join(name), &src.join(name), &reference.join(name));
    }
    assert!(down <= most_down, "get -r -a -S moved {down} bytes for {data} of data");
    // mirror both ways, onto nothing: the same
    let back = here.join("back");
    ok(
        &srv.tf_via(&relay.addr, &["mirror", "-S", "into/src", s(&back)])
            .output()
            .unwrap(),
        "mirror -S",
    );
    ok(
        &srv.tf_via(&relay.addr, &["mirror", "-R", "-S", s(&back), "again"])
            .output()
            .unwrap(),
        "mirror -R -S",
    );
    for name in ["vm.img", "small.img"] {
        same_and_sparse(&back.join(name), &src.join(name), &reference.join(name));
        same_and_sparse(&srv.path("again").join(name), &src.join(name), &reference.join(name));
    }
    let both = relay.take();
    assert!(
        both <= most + most_down,
        "mirror -S and -R -S moved {both} bytes for twice {data} of data"
    );
    let _ = fs::remove_dir_all(&here);
}
