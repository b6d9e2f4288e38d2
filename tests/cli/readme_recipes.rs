//! README's recipes that change the machine, run as written (issue 65): the
//! `install -d` lines of the jail recipe in a temporary root standing for
//! `/srv/tfd`, for system users the test creates (removed when it exits),
//! and the served root's owner and mode asserted after them. README is read
//! by its markers, so a change to the recipe is what runs.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use tfd_testkit::*;

/// The lines of the first `sh` block after the line holding `marker`.
fn block_after(readme: &str, marker: &str) -> Vec<String> {
    let at = readme
        .find(marker)
        .unwrap_or_else(|| panic!("README has no {marker:?}"));
    let mut lines = readme[at..].lines().map(str::trim).skip_while(|l| *l != "```sh");
    assert_eq!(lines.next(), Some("```sh"), "no sh block after {marker:?}");
    lines.take_while(|l| !l.starts_with("```")).map(String::from).collect()
}

/// Owner and permission bits of `p`.
fn owner_mode(p: &Path) -> (u32, u32) {
    let m = fs::metadata(p).unwrap();
    (m.uid(), m.mode() & 0o7777)
}

#[test]
fn the_jail_recipe_keeps_the_served_roots_owner_and_mode() {
    if !require(is_root(), "needs root (system users, chown)") {
        return;
    }
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let recipe = block_after(&readme, "A recipe, for `/srv/tfd` served to `alice` (jailed)");
    let (tfd_uid, tfd_gid) = users::ensure_system_user("tfdrcp-t", &[]);
    let (alice, _) = users::ensure_system_user("tfdrcp-a", &[]);
    users::ensure_system_user("tfdrcp-b", &[]);
    // the package's served root: tfd's, 0750
    let top = tempdir("recipe_jail");
    let root = top.join("srv/tfd");
    fs::create_dir_all(&root).unwrap();
    nix::unistd::chown(&root, Some(tfd_uid.into()), Some(tfd_gid.into())).unwrap();
    fs::set_permissions(&root, fs::Permissions::from_mode(0o750)).unwrap();
    let script: String = recipe
        .iter()
        .filter(|l| l.starts_with("install -d"))
        .map(|l| {
            let l = l.split("  #").next().unwrap_or(l);
            l.replace("/srv/tfd", root.to_str().unwrap())
                .replace("-o alice -g alice", "-o tfdrcp-a -g tfdrcp-a")
                .replace("-o bob -g bob", "-o tfdrcp-b -g tfdrcp-b")
                + "\n"
        })
        .collect();
    assert!(
        script.lines().count() >= 2,
        "no install -d lines in the recipe: {recipe:?}"
    );
    let o = Command::new("sh").args(["-ec", &script]).output().unwrap();
    assert!(o.status.success(), "{script}\n{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        owner_mode(&root),
        (tfd_uid, 0o750),
        "the served root changed:\n{script}"
    );
    assert_eq!(owner_mode(&root.join("jails/alice")), (0, 0o755));
    assert_eq!(owner_mode(&root.join("jails/alice/home")), (alice, 0o750));
}
