//! TFPSFS through the official Java client's own methods (`tests/java/Secfs.java`):
//! the replies it reports and the metadata tfd leaves on disk.

use tfd_testkit::java::{java_lines, run_java};
use tfd_testkit::Server;

#[test]
fn java_client_drives_secfs() {
    let s = Server::start();
    let lines = java_lines(&run_java(&s, "Secfs", &["jsec"]));
    let get = |step: &str| -> String {
        let prefix = format!("{step} ");
        lines
            .iter()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
            .unwrap_or_else(|| panic!("no reply for {step}: {lines:?}\n{}", s.log()))
    };
    assert_eq!(lines[0], "connected", "{lines:?}");
    assert!(get("mkdir").starts_with("OK"), "{lines:?}");
    assert!(get("issecfs-before").starts_with("FAILED 60"), "{lines:?}");
    assert!(get("issecfs-file").starts_with("FAILED 20"), "{lines:?}");
    assert!(get("setfsid-alice").starts_with("OK"));
    assert!(get("setfsperm-owner").starts_with("OK"), "{lines:?}");
    assert!(get("issecfs-after").starts_with("OK"));
    assert!(get("setfsperm-bob").starts_with("OK"));
    assert!(get("setfsperm-bob-again").starts_with("OK"));
    // the client reads the number after OK as the status code: "OK 12 "
    assert_eq!(get("getfsperm-bob"), "OK 12 ", "{lines:?}");
    assert!(get("setfsperm-everybody").starts_with("OK"));
    assert_eq!(get("getfsperm-everybody"), "OK 16 ", "{lines:?}");
    assert!(get("setfsperm-badmask").starts_with("FAILED 57"), "{lines:?}");
    assert!(get("getfsperm-file").starts_with("FAILED 59"), "{lines:?}");
    assert!(get("remfsperm-bob").starts_with("OK"));
    assert_eq!(get("getfsperm-bob-gone"), "OK 0 ", "{lines:?}");
    // bob is gone: he falls to everybody else (list only), which never sets or removes
    assert!(get("setfsperm-as-bob").starts_with("FAILED 57"), "{lines:?}");
    assert!(get("remfsperm-as-bob").starts_with("FAILED 58"), "{lines:?}");
    assert!(get("touch-as-bob").starts_with("FAILED 1"), "{lines:?}");
    assert!(get("touch-meta").starts_with("FAILED 1"), "{lines:?}");
    assert_eq!(get("getfsperm-alice"), "OK 4095 ", "{lines:?}");
    assert_eq!(
        std::fs::read(s.path("jsec/.securefs_metadata.rd")).unwrap(),
        b"alice:4095\n:16\n"
    );
    assert!(!s.path("jsec/g").exists());
}
