//! Rounds of commands a session runs the same whatever carries it (the
//! protocol cipher, the secure transport): notifications, and uploads and
//! downloads of several sizes, each checked on disk and on the way back.

use crate::reply::Answer as _;
use crate::{data_dir_write, ok, pattern, Server};
use std::time::{Duration, Instant};
use tfp_client::replies::AsStatus as _;
use tfp_client::Client;

/// Notification mode through `c` (whatever cipher or transport it runs): a
/// file present before STARTNTFY is notified, DEL deletes it on disk, a file
/// made later is notified too; then END. Leaves reading the end to the caller.
pub fn notification_round(srv: &Server, c: &mut Client) {
    std::fs::create_dir(srv.path("in")).unwrap();
    data_dir_write(&srv.path("in/msg_a"), b"a");
    assert!(ok(&c.call("ADDNTFY", b"msg_ in").unwrap()));
    c.chan.tx.send_frame(b"STARTNTFY 0.2").unwrap();
    assert_eq!(c.chan.rx.recv_frame().unwrap(), b"0 msg_a");
    c.chan.tx.send_frame(b"DEL").unwrap();
    let t = Instant::now();
    while srv.path("in/msg_a").exists() {
        assert!(t.elapsed() < Duration::from_secs(5), "DEL not acted upon");
        std::thread::sleep(Duration::from_millis(10));
    }
    data_dir_write(&srv.path("in/msg_b"), b"b");
    assert_eq!(c.chan.rx.recv_frame().unwrap(), b"0 msg_b");
    c.chan.tx.send_frame(b"END").unwrap();
}

/// SNDFILE then RCVFILE, SUP then SDOWN of one file per size (patterned bytes,
/// named `{prefix}s{i}` and `{prefix}u{i}`), each checked on disk and on the
/// way back, whatever cipher or transport `c` runs.
pub fn stream_round_trips(srv: &Server, c: &mut Client, prefix: &str, sizes: &[usize]) {
    use tfp_wire::Status;
    for (i, &n) in sizes.iter().enumerate() {
        let data = pattern(n, i as u64);
        let name = format!("{prefix}s{i}");
        let st = c
            .sndfile(name.as_bytes(), false, &mut &data[..], &mut |_| {})
            .status()
            .unwrap();
        assert_eq!(st, Status::Ok(vec![]), "SNDFILE size {n}");
        assert_eq!(std::fs::read(srv.path(&name)).unwrap(), data, "disk, size {n}");
        let mut back = Vec::new();
        assert_eq!(
            c.rcvfile(name.as_bytes(), false, &mut back).status().unwrap(),
            Status::Ok(vec![])
        );
        assert_eq!(back, data, "RCVFILE size {n}");
        let name = format!("{prefix}u{i}");
        assert_eq!(
            c.sup(name.as_bytes(), &mut &data[..]).answer().unwrap(),
            0,
            "SUP size {n}"
        );
        assert_eq!(std::fs::read(srv.path(&name)).unwrap(), data, "SUP disk, size {n}");
        let mut back = Vec::new();
        assert!(c.sdown(name.as_bytes(), &mut back).done().unwrap());
        assert_eq!(back, data, "SDOWN size {n}");
    }
}
