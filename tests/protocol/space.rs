//! FREESP answers the space a session may still use: the lesser of the file
//! system's free space and what is left of the quota (issue 32: under a 50M
//! quota `tf freesp` showed the disk's 82 GB). TFDSPACE and `tf df` show both
//! and the quota's use.

use tfp_client::replies::AsStatus as _;

use tfd_testkit::*;

const QUOTA: u64 = 50 << 20;

fn disk_free(srv: &Server) -> u64 {
    let st = nix::sys::statvfs::statvfs(&srv.data).unwrap();
    st.blocks_available() as u64 * st.fragment_size() as u64
}

#[test]
fn freesp_is_what_the_quota_leaves() {
    let srv = Server::start_with("quota_default 50M\n");
    let mut c = srv.client();
    let free: u64 = assert_ok(c.call("FREESP", b"").unwrap()).parse().unwrap();
    assert_eq!(free, QUOTA.min(disk_free(&srv)), "an empty root: the whole quota");

    // 10 MB stored through the wire counts against it
    let data = pattern(10_000_000, 7);
    let st = c
        .sndfile(b"ten.bin", false, &mut &data[..], &mut |_| {})
        .status()
        .unwrap();
    assert!(ok(&st), "{st:?}");
    assert_eq!(std::fs::metadata(srv.path("ten.bin")).unwrap().len(), 10_000_000);
    // a file someone else owns does not (root's only when the session is root)
    let free: u64 = assert_ok(c.call("FREESP", b"").unwrap()).parse().unwrap();
    assert_eq!(free, (QUOTA - 10_000_000).min(disk_free(&srv)));

    // TFDSPACE: usable, disk free, quota used, quota limit
    let text = assert_ok(c.call("TFDSPACE", b"").unwrap());
    let n: Vec<u64> = text.split(' ').map(|w| w.parse().unwrap()).collect();
    assert_eq!(n.len(), 4, "{text}");
    assert_eq!(n[0], free);
    assert!(n[1].abs_diff(disk_free(&srv)) < 256 << 20, "{text}");
    assert_eq!((n[2], n[3]), (10_000_000, QUOTA), "{text}");

    // an upload that would pass the quota is refused, and FREESP said so
    let big = pattern((QUOTA - 10_000_000 + 1) as usize, 8);
    let st = c
        .sndfile(b"big.bin", false, &mut &big[..], &mut |_| {})
        .status()
        .unwrap();
    assert!(!ok(&st), "{st:?}");
    assert!(!srv.path("big.bin").exists());
    // what FREESP promised fits exactly
    let fits = pattern(free as usize, 9);
    let st = c
        .sndfile(b"fits.bin", false, &mut &fits[..], &mut |_| {})
        .status()
        .unwrap();
    assert!(ok(&st), "{st:?}");
    assert_eq!(assert_ok(c.call("FREESP", b"").unwrap()), "0");
}

#[test]
fn tf_df_shows_free_space_and_the_quota() {
    let srv = Server::start_with("quota_default 50M\n");
    data_dir_write(&srv.path("five.bin"), &pattern(5 << 20, 3));
    let out = srv.tf(&["df"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains("available  45M\n"), "{text}");
    assert!(text.contains("quota      5.0M used of 50M (10%)\n"), "{text}");
    assert!(text.contains("disk free  "), "{text}");
    let out = srv.tf(&["df", "--raw"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("available  {}\n", 45u64 << 20))
            && text.contains(&format!("quota      {} used of {QUOTA} (10%)\n", 5u64 << 20)),
        "{text}"
    );
    assert!(!srv.tf(&["df", "-x"]).status.success());

    // no quota: the disk's free space, and no quota said
    let srv = Server::start();
    let out = srv.tf(&["df", "--raw"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("quota      none\n"), "{text}");
    let avail: u64 = text
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(avail.abs_diff(disk_free(&srv)) < 256 << 20, "{text}");
}
