//! A private file stays private on the server (issue 82): carol's 0600 file
//! and 0700 directory, uploaded with `put` and `put -r` without `-p` into a
//! directory every user may write, landed 0644 and 0755, so dave, another
//! user of the same server, read them. A new file now takes its source's
//! mode less the session's umask, as `cp` and `scp` give it. Real system
//! users, a real tfd, LOGIN as each, through the real `tf`.

use crate::output::text;
use crate::shared_overwrite::{carol_and_dave, tf_as};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use tfd_testkit::users::ensure_system_user;
use tfd_testkit::*;

const CAROL: &str = "tfdpvcarol";
const DAVE: &str = "tfdpvdave";

#[test]
fn another_user_cannot_read_a_private_file_uploaded_without_p() {
    assert!(is_root(), "this test needs root: it creates system users");
    let carol = ensure_system_user(CAROL, &[]);
    ensure_system_user(DAVE, &[]);
    let srv = carol_and_dave("private-uploads-userdb", CAROL, DAVE);
    // a directory every user may write, as /tmp is
    let shared = srv.path("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    let here = tempdir("private-uploads-local");
    fs::set_permissions(&here, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(here.join("secret"), b"carol's secret\n").unwrap();
    fs::set_permissions(here.join("secret"), fs::Permissions::from_mode(0o600)).unwrap();
    let tree = here.join("priv");
    fs::create_dir(&tree).unwrap();
    fs::write(tree.join("inner"), b"carol's inner secret\n").unwrap();
    fs::set_permissions(tree.join("inner"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(&tree, fs::Permissions::from_mode(0o700)).unwrap();
    for (what, args) in [
        ("put", vec!["put", "secret", "shared/secret"]),
        ("put -r", vec!["put", "-r", "priv", "shared"]),
    ] {
        let o = tf_as(&srv, "carol", &args, &here);
        assert!(o.status.success(), "carol's {what}: {}", text(&o));
    }
    for (p, mode) in [("secret", 0o600), ("priv", 0o700), ("priv/inner", 0o600)] {
        let m = fs::metadata(shared.join(p)).unwrap();
        assert_eq!((m.uid(), m.mode() & 0o7777), (carol.0, mode), "shared/{p}");
    }
    let out = tempdir("private-uploads-dave");
    fs::set_permissions(&out, fs::Permissions::from_mode(0o777)).unwrap();
    for p in ["shared/secret", "shared/priv/inner"] {
        let o = tf_as(&srv, "dave", &["get", p, "got"], &out);
        assert!(!o.status.success(), "dave read carol's {p}: {}", text(&o));
        assert!(!out.join("got").exists(), "dave has carol's {p}");
    }
}
