//! The tests of `Config::load` (paths resolved, files read, their errors with
//! the file's name) and of the key table's own consistency (defaults, ranges,
//! Debug, messages).
use super::*;

#[test]
fn placeholder_hash_is_refused_by_load() {
    let dir = temp_dir("placeholder");
    fs::create_dir(dir.join("data")).unwrap();
    fs::write(dir.join("key.pem"), PEM).unwrap();
    let conf = dir.join("tfd.conf");
    let text = |h: &str| format!("proto 2.4.1\nhash {h}\ndbdir data\nport 1\nprivkey_file key.pem\n");
    // the example's own line, as conf/tfd.conf ships it
    let example = include_str!("../../../conf/tfd.conf");
    let line = example.lines().find(|l| l.starts_with("hash ")).unwrap();
    fs::write(&conf, text(line.trim_start_matches("hash "))).unwrap();
    let e = Config::load(&conf).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}:2: hash: ", conf.display())) && e.contains("placeholder"),
        "{e}"
    );
    fs::write(&conf, text("change_me")).unwrap();
    assert!(Config::load(&conf).unwrap_err().to_string().contains("placeholder"));
    fs::write(&conf, text("3f9a0c1b2d")).unwrap();
    Config::load(&conf).unwrap();
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn load_resolves_relative_paths() {
    let dir = temp_dir("load");
    fs::create_dir(dir.join("root")).unwrap();
    fs::create_dir(dir.join("keys")).unwrap();
    fs::write(dir.join("keys/key.pem"), PEM).unwrap();
    let conf = dir.join("tfd.conf");
    fs::write(
        &conf,
        "proto 2.4.1\nhash h\ndbdir root/.\nport 10345\nprivkey_file keys/key.pem\nuserdb users\ntlb /abs/tlb\n",
    )
    .unwrap();
    let canon = fs::canonicalize(&dir).unwrap();
    let c = Config::load(&conf).unwrap();
    assert_eq!(c.dbdir, canon.join("root"));
    assert_eq!(c.privkey_file, Some(canon.join("keys/key.pem")));
    assert_eq!(c.privkey_pem.as_deref(), Some(PEM.as_bytes()));
    assert_eq!(c.userdb, Some(canon.join("users")));
    assert_eq!(c.tlb, Some(PathBuf::from("/abs/tlb")));
    assert_eq!(c.source, Some(canon.join("tfd.conf")));
    c.validate().unwrap();

    // the shared state beside the served tree, never inside it
    let text = fs::read_to_string(&conf).unwrap();
    fs::write(&conf, format!("{text}shared_state_dir state\n")).unwrap();
    assert_eq!(Config::load(&conf).unwrap().shared_state_dir, Some(canon.join("state")));
    fs::write(&conf, format!("{text}shared_state_dir root/new/state\n")).unwrap();
    let e = Config::load(&conf).unwrap_err().to_string();
    assert!(e.contains("shared_state_dir") && e.contains("inside dbdir"), "{e}");
    fs::write(&conf, text).unwrap();

    // A missing key file names the privkey_file line.
    fs::remove_file(dir.join("keys/key.pem")).unwrap();
    let e = Config::load(&conf).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}:5: privkey_file: ", conf.display())), "{e}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn load_errors() {
    let dir = temp_dir("errors");
    let conf = dir.join("tfd.conf");
    fs::write(
        &conf,
        format!("proto p\nhash h\n\ndbdir missing\nport 1\nprivkey {{\n{PEM}}}\n"),
    )
    .unwrap();
    let e = Config::load(&conf).unwrap_err();
    assert!(matches!(e, ConfigError::Resolve { line: Some(4), .. }), "{e}");
    assert!(
        e.to_string().starts_with(&format!("{}:4: dbdir: ", conf.display())),
        "{e}"
    );

    fs::write(dir.join("plain"), "").unwrap();
    fs::write(
        &conf,
        format!("proto p\nhash h\ndbdir plain\nport 1\nprivkey {{\n{PEM}}}\n"),
    )
    .unwrap();
    let e = Config::load(&conf).unwrap_err().to_string();
    assert!(e.contains(":3: dbdir: ") && e.ends_with("is not a directory"), "{e}");

    fs::write(&conf, "proto p\nprot\n").unwrap();
    let e = Config::load(&conf).unwrap_err().to_string();
    assert_eq!(
        e,
        format!("{}:2: unknown key \"prot\" (did you mean \"proto\"?)", conf.display())
    );

    fs::write(&conf, b"proto p\nhash \xff\n").unwrap();
    let e = Config::load(&conf).unwrap_err().to_string();
    assert_eq!(e, format!("{}:2: not valid UTF-8", conf.display()));

    fs::write(&conf, vec![b'#'; MAX_FILE_SIZE as usize + 1]).unwrap();
    let e = Config::load(&conf).unwrap_err();
    assert!(matches!(e, ConfigError::TooLarge { .. }), "{e}");

    let e = Config::load(&dir.join("absent.conf")).unwrap_err();
    assert!(matches!(&e, ConfigError::Read { error, .. } if error.kind() == std::io::ErrorKind::NotFound));
    fs::remove_dir_all(&dir).unwrap();
}

/// The defaults come from the table, parsed as a file's values would be; these
/// are the values tfd had before the table (each was a constant or a literal).
#[test]
fn table_defaults() {
    let c = Config::parse_str(&minimal("")).unwrap();
    assert_eq!((c.max_sessions, c.max_sessions_per_ip, c.priority_boost), (512, 32, 10));
    assert_eq!(
        (c.prelogin_timeout, c.idle_timeout),
        (Duration::from_secs(30), Duration::ZERO)
    );
    assert_eq!(
        (c.hpf_max_buffer, c.direct_io_min, c.intrw_max),
        (4 << 20, 1 << 20, 16 << 20)
    );
    assert_eq!((c.walk_limit, c.replay_cache), (1_000_000, 1 << 18));
    assert_eq!(c.replay_window, Duration::from_secs(86400));
    assert_eq!(
        (c.fai_max_minutes, c.sweep_interval),
        (360, Some(Duration::from_secs(60)))
    );
    assert_eq!(
        (c.udp_user.as_str(), c.shutdown_grace),
        ("nobody", Duration::from_secs(10))
    );
    assert_eq!((c.sync_uploads, c.secure_transport), (true, SecureTransport::Allow));
    assert_eq!((c.proxy_protocol, c.quota_default), (ProxyProtocol::Off, None));
    assert_eq!(
        (c.runbash, c.control_socket.clone(), c.log_level.clone()),
        (None, None, None)
    );
    assert_eq!(c.fai_dir, PathBuf::from(DEFAULT_FAI_DIR));
    let c = Config::parse_str(&minimal("runbash\n")).unwrap();
    let want = RunBash {
        timeout: Duration::from_secs(30),
        cpu_seconds: 10,
        memory: 256 << 20,
        nproc: 64,
        file_max: 64 << 20,
        output_max: 64 << 10,
    };
    assert_eq!(c.runbash, Some(want));
    // a limit before or after the flag, and limits alone do not turn it on
    for text in ["runbash_nproc 3\nrunbash\n", "runbash\nrunbash_nproc 3\n"] {
        let c = Config::parse_str(&minimal(text)).unwrap();
        assert_eq!(c.runbash, Some(RunBash { nproc: 3, ..want }), "{text}");
    }
    assert_eq!(Config::parse_str(&minimal("runbash_nproc 3\n")).unwrap().runbash, None);
    assert_eq!(
        Config::parse_str(&minimal("sweep_interval 0\n"))
            .unwrap()
            .sweep_interval,
        None
    );
}

#[test]
fn table_is_consistent() {
    let mut names = std::collections::BTreeSet::new();
    for k in keys() {
        assert!(names.insert(k.name), "{} twice", k.name);
        assert!(!k.summary.is_empty() && !k.doc.is_empty(), "{}: no docs", k.name);
        assert!(
            !k.doc.contains("Default:"),
            "{}: the default belongs in the table",
            k.name
        );
        assert_eq!(k.at.is_none(), matches!(k.kind, Kind::Ignored), "{}", k.name);
        if let Some(text) = k.default {
            k.kind.parse(k.name, text).unwrap_or_else(|e| panic!("{}: {e}", k.name));
        }
        if let Some(same) = k.same_as {
            assert!(key(same).is_some_and(|s| s.same_as.is_none()), "{}", k.name);
        }
    }
    Config::with_defaults().unwrap();
}

/// validate() said it checked every range, but had none for these keys: a
/// hand-built config could carry values the parser refuses.
#[test]
fn validate_checks_every_range_of_the_table() {
    let base = Config::parse_str(&minimal("")).unwrap();
    type Spoil = fn(&mut Config);
    let cases: [(&str, Spoil); 8] = [
        ("priority_boost", |c| c.priority_boost = 20),
        ("replay_cache", |c| c.replay_cache = (1 << 22) + 1),
        ("replay_window", |c| c.replay_window = Duration::ZERO),
        ("shutdown_grace", |c| c.shutdown_grace = Duration::from_secs(3601)),
        ("fai_max_minutes", |c| c.fai_max_minutes = 525_601),
        ("login_max_failures_ip", |c| c.login_max_failures_ip = 1_000_001),
        ("login_max_failures_user", |c| c.login_max_failures_user = 1_000_001),
        ("sweep_interval", |c| {
            c.sweep_interval = Some(Duration::from_secs(86_401))
        }),
    ];
    for (key, spoil) in cases {
        let mut c = base.clone();
        spoil(&mut c);
        let e = c.validate().expect_err(key).to_string();
        assert!(e.starts_with(&format!("<config>: {key}: must be ")), "{e}");
    }
    let mut c = base.clone();
    c.priority_boost = 19;
    c.validate().unwrap();
}

/// Debug shows every key by its name (the hand-written one left out
/// control_socket, shutdown_grace and udp_user) and never a secret.
#[test]
fn debug_shows_every_key_but_secrets() {
    let text = format!("{}control_socket /run/x.sock\nudp_user tfdprobe\n", reference_config());
    let c = Config::parse_str(&text).unwrap();
    let debug = format!("{c:?}");
    for key in keys().filter(|k| k.at.is_some() && k.same_as.is_none() && !k.name.starts_with("trp_")) {
        assert!(
            debug.contains(&format!("{}: ", key.name)),
            "{} missing in {debug}",
            key.name
        );
    }
    assert!(debug.contains("/run/x.sock") && debug.contains("tfdprobe") && debug.contains("shutdown_grace: 10s"));
    assert!(!debug.contains("testhash") && !debug.contains("MIIEvQ"), "{debug}");
    assert!(
        debug.contains("hash: <redacted>") && debug.contains("privkey: <redacted>"),
        "{debug}"
    );
}

/// Messages name the range the table gives.
#[test]
fn messages_from_the_kinds() {
    assert_eq!(
        err(&minimal("shutdown_grace 3601\n")),
        "<config>:6: shutdown_grace: \"3601\" is not a number of seconds 0..3600"
    );
    assert_eq!(
        err(&minimal("intrw_max 2G\n")),
        "<config>:6: intrw_max: \"2G\" is not a size 1..2G-1 (bytes, or a number with a K, M, G or T suffix)"
    );
    assert_eq!(
        err(&minimal("runbash_memory 1M\n")),
        "<config>:6: runbash_memory: \"1M\" is not a size of at least 16M (bytes, or a number with a K, M, G or T suffix)"
    );
    assert_eq!(
        err(&minimal("secure_transport yes\n")),
        "<config>:6: secure_transport: \"yes\" is not off, allow or require"
    );
    assert_eq!(
        err(&minimal("idle_timeout x\n")),
        "<config>:6: idle_timeout: \"x\" is not a number of seconds 0..604800 (0 = no limit)"
    );
}
