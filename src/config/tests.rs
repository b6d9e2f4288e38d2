//! The parser's tests: every form a file may take and every error with its
//! line; `table` has those of loading a file and of the key table.
use super::*;

const PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
    MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n\
    MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n\
    -----END PRIVATE KEY-----\n";

fn reference_config() -> String {
    format!(
        "# reference-style config\n\
         proto 2.4.1\n\
         hash testhash\n\
         dbdir /srv/tfd\n\
         port 10345\n\
         faipath /srv/fai\n\
         defusr tfuser\n\
         userdb /etc/tfd/userdb\n\
         tlb /etc/tfd/tlb\n\
         injail\n\
         privkey {{\n{PEM}}}\n\
         pubkey {{-----BEGIN PUBLIC KEY-----\n\
         MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n\
         -----END PUBLIC KEY-----}}\n"
    )
}

fn minimal(extra: &str) -> String {
    format!("proto 2.4.1\nhash h\ndbdir /srv\nport 10345\nprivkey_file k.pem\n{extra}")
}

fn err(text: &str) -> String {
    match Config::parse_str(text) {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn reference_config_parses() {
    let c = Config::parse_str(&reference_config()).unwrap();
    c.validate().unwrap();
    assert_eq!(c.proto, ["2.4.1"]);
    assert_eq!(c.hash, "testhash");
    assert_eq!(c.dbdir, PathBuf::from("/srv/tfd"));
    assert_eq!(c.port, 10345);
    assert_eq!(c.privkey_pem.as_deref(), Some(PEM.as_bytes()));
    let pubkey = String::from_utf8(c.pubkey_pem.clone().unwrap()).unwrap();
    assert!(pubkey.starts_with("-----BEGIN PUBLIC KEY-----\nMIIB"));
    assert!(pubkey.ends_with("-----END PUBLIC KEY-----\n"));
    assert_eq!(c.defusr.as_deref(), Some("tfuser"));
    assert_eq!(c.userdb, Some(PathBuf::from("/etc/tfd/userdb")));
    assert_eq!(c.tlb, Some(PathBuf::from("/etc/tfd/tlb")));
    assert!(c.injail);
    assert_eq!(c.trp, None);
    assert_eq!(
        c.listen,
        vec![
            "0.0.0.0:10345".parse::<SocketAddr>().unwrap(),
            "[::]:10345".parse().unwrap()
        ]
    );
    assert_eq!(c.max_sessions, 512);
    assert_eq!(c.max_sessions_per_ip, 32);
    assert_eq!(c.prelogin_timeout, Duration::from_secs(30));
    assert_eq!(c.idle_timeout, Duration::ZERO);
    assert_eq!(c.hpf_max_buffer, 4 << 20);
    assert_eq!(c.intrw_max, 16 << 20);
    assert_eq!(c.walk_limit, 1_000_000);
    assert_eq!(c.log_level, None);
    assert_eq!(c.source, None);
    let debug = format!("{c:?}");
    assert!(!debug.contains("testhash") && !debug.contains("MIIEvQ"));
}

#[test]
fn example_conf_parses() {
    let c = Config::parse_str(include_str!("../../conf/tfd.conf")).unwrap();
    c.validate().unwrap();
    assert_eq!(c.proto, ["2.4.1", "2.5.1"]);
    assert_eq!(c.port, 10345);
    assert_eq!(c.dbdir, PathBuf::from("/srv/tfd"));
    assert_eq!(c.privkey_file, Some(PathBuf::from("/etc/tfd/key.pem")));
}

#[test]
fn example_conf_documents_every_key() {
    let conf = include_str!("../../conf/tfd.conf");
    for key in keys() {
        assert!(conf.contains(key.name), "{} not in conf/tfd.conf", key.name);
    }
}

#[test]
fn login_throttle_and_quota_keys() {
    let c = Config::parse_str(&minimal("")).unwrap();
    assert_eq!((c.login_max_failures_ip, c.login_max_failures_user), (10, 20));
    assert_eq!(
        (c.login_window, c.login_ban, c.login_lock),
        (
            Duration::from_secs(600),
            Duration::from_secs(900),
            Duration::from_secs(900)
        )
    );
    assert_eq!(c.quota_default, None);
    let c = Config::parse_str(&minimal(
        "login_max_failures_ip 0\nlogin_max_failures_user 3\nlogin_window 60\nlogin_ban 5\nlogin_lock 7\nquota_default 10M\n",
    ))
    .unwrap();
    assert_eq!((c.login_max_failures_ip, c.login_max_failures_user), (0, 3));
    assert_eq!(c.login_window, Duration::from_secs(60));
    assert_eq!(
        (c.login_ban, c.login_lock),
        (Duration::from_secs(5), Duration::from_secs(7))
    );
    assert_eq!(c.quota_default, Some(10 << 20));
    // the user file's grammar: T works here too
    assert_eq!(
        Config::parse_str(&minimal("quota_default 1T\n")).unwrap().quota_default,
        Some(1 << 40)
    );
    assert_eq!(
        Config::parse_str(&minimal("quota_default 0\n")).unwrap().quota_default,
        None
    );
    assert!(err(&minimal("login_window 0\n")).contains("login_window"));
    assert!(err(&minimal("login_ban 604801\n")).contains("login_ban"));
    assert!(err(&minimal("login_lock x\n")).contains("login_lock"));
    assert!(err(&minimal("quota_default -1\n")).contains("quota_default"));
    assert!(err(&minimal("login_max_failures_ip 1000001\n")).contains("login_max_failures_ip"));
    assert_eq!(Config::parse_str(&minimal("")).unwrap().shared_state_dir, None);
    assert_eq!(
        Config::parse_str(&minimal("shared_state_dir /srv/tf/.tfd-state\n"))
            .unwrap()
            .shared_state_dir,
        Some(PathBuf::from("/srv/tf/.tfd-state"))
    );
    assert!(err(&minimal("shared_state_dir\n")).contains("shared_state_dir"));
}

#[test]
fn log_target_and_xferlog_keys() {
    use crate::logging::LogTarget;
    let c = Config::parse_str(&minimal("")).unwrap();
    assert_eq!((c.log_target, c.xferlog), (LogTarget::Stderr, None));
    let c = Config::parse_str(&minimal("log_target syslog\nxferlog /var/log/tfd/xferlog\n")).unwrap();
    assert_eq!(c.log_target, LogTarget::Syslog);
    assert_eq!(c.xferlog, Some(PathBuf::from("/var/log/tfd/xferlog")));
    let c = Config::parse_str(&minimal("log_target stderr\n")).unwrap();
    assert_eq!(c.log_target, LogTarget::Stderr);
    for bad in ["journald", "Syslog", "syslog daemon"] {
        let e = err(&minimal(&format!("log_target {bad}\n")));
        assert!(e.starts_with("<config>:6: log_target: "), "{bad}: {e}");
    }
    assert!(err(&minimal("xferlog\n")).starts_with("<config>:6: xferlog: missing value"));
    let mut c = Config::parse_str(&minimal("")).unwrap();
    c.xferlog = Some(PathBuf::new());
    assert!(c.validate().unwrap_err().to_string().contains("xferlog"));
}

#[test]
fn every_key_in_keys_is_accepted() {
    for key in keys().map(|k| k.name) {
        let text = minimal(&format!("{key} x\n"));
        if let Err(ConfigError::UnknownKey { .. }) = Config::parse_str(&text) {
            panic!("{key} listed in the key table but unknown to the parser");
        }
        if let Err(ConfigError::InvalidValue { message, .. }) = Config::parse_str(&text) {
            assert!(!message.contains("tfd bug"), "{key}: {message}");
        }
    }
}

#[test]
fn unknown_key_line_number() {
    let e = err("proto 2.4.1\nhash h\nprot 1\n");
    assert!(e.starts_with("<config>:3: "), "{e}");
    assert!(e.contains("unknown key \"prot\""), "{e}");
}

#[test]
fn error_line_numbers() {
    let cases = [
        ("injail yes", 6, "takes no value"),
        ("defusr", 6, "defusr: missing value"),
        ("locksys yes", 6, "takes no value"),
        ("runbash yes", 6, "takes no value"),
        ("runbash_timeout 0", 6, "seconds 1..3600"),
        ("runbash_memory 1M", 6, "at least 16M"),
        ("runbash_output_max 1M", 6, "0..256K"),
        ("runbash_nproc 0", 6, "runbash_nproc"),
        ("flycontext 1", 6, "takes no value"),
        ("max_sessions 0", 6, "max_sessions"),
        ("max_sessions_per_ip 4294967296", 6, "max_sessions_per_ip"),
        ("prelogin_timeout 0", 6, "seconds 1..3600"),
        ("prelogin_timeout 3601", 6, "seconds 1..3600"),
        ("idle_timeout 604801", 6, "idle_timeout"),
        ("walk_limit 0", 6, "walk_limit"),
        ("log_level loud", 6, "log_level"),
        ("trp_ipv4 ::1", 6, "not an IPv4"),
        ("trp_ipv6 1.2.3.4", 6, "not an IPv6"),
        ("trp_dns bad host", 6, "not a host name"),
        ("listen example.com", 6, "not an IP address"),
        ("listen 1.2.3.4:0", 6, "port must be"),
        ("privkey /etc/key.pem", 6, "privkey_file"),
    ];
    for (line, n, want) in cases {
        let e = err(&minimal(&format!("{line}\n")));
        assert!(e.starts_with(&format!("<config>:{n}: ")), "{line}: {e}");
        assert!(e.contains(want), "{line}: {e}");
    }
    let no_port = |port: &str| format!("proto p\nhash h\ndbdir /d\nprivkey_file k\nport {port}\n");
    for port in ["12x", "0", "+80", "65536", "-1", " 8 0"] {
        let e = err(&no_port(port));
        let want = format!("<config>:5: port: {:?} is not a number 1..65535", port.trim());
        assert_eq!(e, want);
    }
    assert_eq!(Config::parse_str(&no_port("65535")).unwrap().port, 65535);
}

#[test]
fn proto_is_repeatable() {
    let base = "hash h\ndbdir /d\nport 1\nprivkey_file k\n";
    let c = Config::parse_str(&format!("proto 2.4.1\n{base}proto 2.5.1\nproto 0.0\n")).unwrap();
    assert_eq!(c.proto, ["2.4.1", "2.5.1", "0.0"]);
    let e = err(&format!("proto 2.4.1\n{base}proto 2.4.1\n"));
    assert!(e.starts_with("<config>:6: proto:") && e.contains("twice"), "{e}");
    let e = err(&format!("proto 2.4.1\n{base}proto {}\n", "p".repeat(32)));
    assert!(e.contains("proto: 32 bytes"), "{e}");
}

#[test]
fn string_value_limits() {
    let text = |proto: &str| format!("proto {proto}\nhash h\ndbdir /d\nport 1\nprivkey_file k\n");
    Config::parse_str(&text(&"p".repeat(31))).unwrap();
    let e = err(&text(&"p".repeat(32)));
    assert!(e.starts_with("<config>:1: proto: 32 bytes"), "{e}");
    let hash = |h: &str| format!("proto p\nhash {h}\ndbdir /d\nport 1\nprivkey_file k\n");
    Config::parse_str(&hash(&"h".repeat(255))).unwrap();
    assert!(err(&hash(&"h".repeat(256))).starts_with("<config>:2: hash:"));
    // Interior blanks and '#' are part of a value; only the ends are trimmed.
    let c = Config::parse_str(&hash("  a b#c  ")).unwrap();
    assert_eq!(c.hash, "a b#c");
}

#[test]
fn missing_keys() {
    assert_eq!(err(""), "<config>: missing required key proto");
    assert!(err("proto p\nhash h\ndbdir /d\nprivkey_file k\n").contains("key port"));
    assert!(err("proto p\nhash h\ndbdir /d\nport 1\n").contains("privkey or privkey_file"));
    assert!(err("proto p\nhash h\ndbdir\n").starts_with("<config>:3: dbdir: missing value"));
}

#[test]
fn duplicate_key() {
    let e = err(&minimal("hash again\n"));
    assert_eq!(e, "<config>:6: duplicate key \"hash\" (first given on line 2)");
    let e = err(&minimal("injail\ninjail\n"));
    assert!(e.starts_with("<config>:7: duplicate key \"injail\""), "{e}");
}

#[test]
fn two_private_key_sources() {
    let e = err(&minimal(&format!("privkey {{\n{PEM}}}\n")));
    assert!(e.starts_with("<config>:6: "), "{e}");
    assert!(e.contains("exactly one"), "{e}");
}

#[test]
fn two_trp_targets() {
    let e = err(&minimal("trp_ipv4 192.0.2.1\ntrp_dns example.net\n"));
    assert!(
        e.starts_with("<config>:7: trp_dns conflicts with trp_ipv4 on line 6"),
        "{e}"
    );
    let c = Config::parse_str(&minimal("trp_ipv6 2001:db8::1\n")).unwrap();
    assert_eq!(c.trp, Some(Trp::V6("2001:db8::1".parse().unwrap())));
    let c = Config::parse_str(&minimal("trp_dns proxy.example.net.\n")).unwrap();
    assert_eq!(c.trp, Some(Trp::Dns("proxy.example.net.".into())));
}

#[test]
fn unterminated_block() {
    let text = "proto p\nhash h\n\nprivkey {\n-----BEGIN PRIVATE KEY-----\nAAAA\n";
    let e = err(text);
    assert_eq!(e, "<config>:4: privkey block opened here is never closed with \"}\"");
    let e = err("proto p\npubkey {\n");
    assert!(e.starts_with("<config>:2: pubkey block"), "{e}");
}

#[test]
fn block_forms() {
    let base = "proto p\nhash h\ndbdir /d\nport 1\n";
    // Text on the `{` and `}` lines belongs to the PEM; CR and indentation go.
    let text = format!(
        "{base}privkey{{-----BEGIN PRIVATE KEY-----\r\n  AAAA\r\n# dropped\r\n\
         -----END PRIVATE KEY-----}}\r\n"
    );
    let c = Config::parse_str(&text).unwrap();
    assert_eq!(
        c.privkey_pem.as_deref(),
        Some(&b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"[..])
    );
    let e = err(&format!("{base}privkey {{\n{PEM}}} trailing\n"));
    assert!(e.starts_with("<config>:10: privkey: unexpected text"), "{e}");
    let e = err(&format!("{base}privkey {{ }}\n"));
    assert!(e.starts_with("<config>:5: privkey: empty PEM block"), "{e}");
    let e = err(&format!("{base}privkey {{\nnot a key\n}}\n"));
    assert!(e.starts_with("<config>:5: privkey: not PEM"), "{e}");
}

#[test]
fn listen_forms() {
    let c = Config::parse_str(&minimal(
        "listen 192.0.2.1\nlisten 192.0.2.2:8080\nlisten ::1\nlisten [::1]:9090\nlisten [fe80::2]\n",
    ))
    .unwrap();
    let want: Vec<SocketAddr> = [
        "192.0.2.1:10345",
        "192.0.2.2:8080",
        "[::1]:10345",
        "[::1]:9090",
        "[fe80::2]:10345",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    assert_eq!(c.listen, want);

    // No port key is fine when every listen has its own.
    let text = "proto p\nhash h\ndbdir /d\nprivkey_file k\nlisten [::1]:7000\nlisten 127.0.0.1:7001\n";
    let c = Config::parse_str(text).unwrap();
    assert_eq!(c.port, 7000);
    let text = "proto p\nhash h\ndbdir /d\nprivkey_file k\nlisten [::1]:7000\nlisten 127.0.0.1\n";
    let e = err(text);
    assert!(e.starts_with("<config>:6: listen 127.0.0.1 has no port"), "{e}");

    let e = err(&minimal("listen ::1\nlisten [::1]:10345\n"));
    assert!(
        e.starts_with("<config>:7: listen address [::1]:10345 given twice"),
        "{e}"
    );
}

#[test]
fn rate_limit_keys() {
    let c = Config::parse_str(&minimal("")).unwrap();
    assert_eq!(c.rate_limits, tfp_channel::bandwidth::Rates::default());
    assert!(!c.rate_limits.any(), "no limit unless configured");
    let c = Config::parse_str(&minimal(
        "rate_limit_session 10M\nrate_limit_user 512K\nrate_limit_total 1048576\n",
    ))
    .unwrap();
    assert_eq!(c.rate_limits.session, 10 << 20);
    assert_eq!(c.rate_limits.user, 512 << 10);
    assert_eq!(c.rate_limits.total, 1 << 20);
    assert_eq!(
        Config::parse_str(&minimal("rate_limit_total 0\n"))
            .unwrap()
            .rate_limits
            .total,
        0
    );
    for bad in [
        "rate_limit_session -1",
        "rate_limit_user 2T",
        "rate_limit_total 1.5M",
        "rate_limit_total M",
        "rate_limit_session 2048G",
    ] {
        let e = Config::parse_str(&minimal(&format!("{bad}\n")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a rate"), "{bad}: {e}");
    }
}

#[test]
fn intrw_max_sizes() {
    let size = |v: &str| Config::parse_str(&minimal(&format!("intrw_max {v}\n")));
    assert_eq!(size("1").unwrap().intrw_max, 1);
    assert_eq!(size("1K").unwrap().intrw_max, 1024);
    assert_eq!(size("2047M").unwrap().intrw_max, 2047 << 20);
    for bad in ["0", "2G", "-1", "x"] {
        assert!(size(bad).is_err(), "{bad}");
    }
}

#[test]
fn hpf_max_buffer_sizes() {
    let size = |v: &str| Config::parse_str(&minimal(&format!("hpf_max_buffer {v}\n")));
    assert_eq!(size("1").unwrap().hpf_max_buffer, 1);
    assert_eq!(size("65536").unwrap().hpf_max_buffer, 65536);
    assert_eq!(size("512K").unwrap().hpf_max_buffer, 512 << 10);
    assert_eq!(size("512k").unwrap().hpf_max_buffer, 512 << 10);
    assert_eq!(size("8M").unwrap().hpf_max_buffer, 8 << 20);
    assert_eq!(size("64M").unwrap().hpf_max_buffer, 64 << 20);
    assert_eq!(size("65536K").unwrap().hpf_max_buffer, 64 << 20);
    // B and iB after the unit, as tfd.conf(5) says
    assert_eq!(size("4MB").unwrap().hpf_max_buffer, 4 << 20);
    assert_eq!(size("4MiB").unwrap().hpf_max_buffer, 4 << 20);
    for bad in [
        "0",
        "0M",
        "65M",
        "67108865",
        "1G",
        "M",
        "4MBB",
        "4iB",
        "-1",
        "4.5M",
        "99999999999999999999G",
        "18014398509481984K",
    ] {
        let e = size(bad).unwrap_err().to_string();
        assert!(e.starts_with("<config>:6: hpf_max_buffer: "), "{bad}: {e}");
        assert!(e.contains("is not a size 1..64M"), "{bad}: {e}");
    }
}

#[test]
fn proxy_keys() {
    let c = Config::parse_str(&minimal(
        "proxy_protocol v2\nproxy_from 127.0.0.1, 10.0.0.0/8 ::1 fd00::/8\n",
    ))
    .unwrap();
    assert_eq!(c.proxy_protocol, ProxyProtocol::V2);
    assert_eq!(c.proxy_from.len(), 4);
    let has = |ip: &str| c.proxy_from.iter().any(|r| r.contains(ip.parse().unwrap()));
    assert!(has("127.0.0.1") && has("10.200.3.4") && has("::1") && has("fd12::1") && has("::ffff:10.0.0.1"));
    assert!(!has("127.0.0.2") && !has("11.0.0.1") && !has("fe80::1"));
    assert_eq!(
        Config::parse_str(&minimal("")).unwrap().proxy_protocol,
        ProxyProtocol::Off
    );
    assert!(Config::parse_str(&minimal("proxy_protocol v2\n")).is_err());
    assert!(Config::parse_str(&minimal("proxy_protocol v3\nproxy_from ::1\n")).is_err());
    for bad in ["1.2.3.4/33", "::1/129", "1.2.3.4/", "x", "1.2.3.4/-1"] {
        assert!(
            Config::parse_str(&minimal(&format!("proxy_from {bad}\n"))).is_err(),
            "{bad}"
        );
    }
    assert!(Cidr::parse("0.0.0.0/0")
        .unwrap()
        .contains("203.0.113.9".parse().unwrap()));
}

#[test]
fn secure_transport_key() {
    let parse = |v: &str| Config::parse_str(&minimal(&format!("secure_transport {v}\n")));
    assert_eq!(
        Config::parse_str(&minimal("")).unwrap().secure_transport,
        SecureTransport::Allow
    );
    assert_eq!(parse("off").unwrap().secure_transport, SecureTransport::Off);
    assert_eq!(parse("require").unwrap().secure_transport, SecureTransport::Require);
    assert!(parse("yes").is_err());
}

#[test]
fn sync_uploads_flag() {
    let parse = |v: &str| Config::parse_str(&minimal(&format!("sync_uploads {v}\n")));
    assert!(Config::parse_str(&minimal("")).unwrap().sync_uploads);
    assert!(!parse("no").unwrap().sync_uploads);
    assert!(parse("yes").unwrap().sync_uploads);
    assert!(parse("maybe").is_err());
    assert!(parse("").is_err());
}

#[test]
fn direct_io_min_sizes() {
    let size = |v: &str| Config::parse_str(&minimal(&format!("direct_io_min {v}\n")));
    assert_eq!(Config::parse_str(&minimal("")).unwrap().direct_io_min, 1 << 20);
    assert_eq!(size("0").unwrap().direct_io_min, 0);
    assert_eq!(size("512K").unwrap().direct_io_min, 512 << 10);
    assert_eq!(size("64M").unwrap().direct_io_min, 64 << 20);
    for bad in ["65M", "1G", "off", "-1", "1.5M"] {
        let e = size(bad).unwrap_err().to_string();
        assert!(e.starts_with("<config>:6: direct_io_min: "), "{bad}: {e}");
        assert!(e.contains("is not a size 0..64M"), "{bad}: {e}");
    }
}

#[test]
fn numbers_and_durations() {
    let c = Config::parse_str(&minimal(
        "max_sessions 10\nmax_sessions_per_ip 2\npriority_boost 0\nprelogin_timeout 3600\n\
         idle_timeout 604800\nwalk_limit 5\nlog_level DEBUG\n",
    ))
    .unwrap();
    assert_eq!(c.max_sessions, 10);
    assert_eq!(c.max_sessions_per_ip, 2);
    assert_eq!(c.priority_boost, 0);
    assert_eq!(Config::parse_str(&minimal("")).unwrap().priority_boost, 10);
    assert!(Config::parse_str(&minimal("priority_boost 20\n")).is_err());
    assert!(Config::parse_str(&minimal("priority_boost -1\n")).is_err());
    assert_eq!(c.prelogin_timeout, Duration::from_secs(3600));
    assert_eq!(c.idle_timeout, Duration::from_secs(604800));
    assert_eq!(c.walk_limit, 5);
    assert_eq!(c.log_level.as_deref(), Some("debug"));
}

#[test]
fn crlf_line_endings() {
    let text = minimal("injail\nlisten [::1]:99\n").replace('\n', "\r\n");
    let c = Config::parse_str(&text).unwrap();
    assert_eq!(c.proto, ["2.4.1"]);
    assert_eq!(c.hash, "h");
    assert_eq!(c.privkey_file, Some(PathBuf::from("k.pem")));
    assert!(c.injail);
    let text = format!(
        "proto p\r\nhash h\r\ndbdir /d\r\nport 1\r\nprivkey {{\r\n{}}}\r\n",
        PEM.replace('\n', "\r\n")
    );
    let c = Config::parse_str(&text).unwrap();
    assert_eq!(c.privkey_pem.as_deref(), Some(PEM.as_bytes()));
    // A byte-order mark from a Windows editor is not part of the first key.
    Config::parse_str(&format!("\u{feff}{}", minimal(""))).unwrap();
}

#[test]
fn ignored_keys_accepted() {
    let c = Config::parse_str(&minimal(
        "faipath /srv/fai\nxsntmex /x\nxsace /y\nrpcproxy /z\n\
         nprocmax -1\nsecurefs\ndiskspace 10G\n",
    ))
    .unwrap();
    assert_eq!(c, Config::parse_str(&minimal("")).unwrap());
}

/// The reference's `faitok_mq` is FAITOK's cap in minutes, as
/// `fai_max_minutes` is: a migrated file keeps its cap (it used to be
/// ignored, so `faitok_mq 500` became 360). Both at once is a duplicate.
#[test]
fn faitok_mq_is_fai_max_minutes() {
    assert_eq!(
        Config::parse_str(&minimal("faitok_mq 500\n")).unwrap().fai_max_minutes,
        500
    );
    assert_eq!(Config::parse_str(&minimal("faitok_mq 0\n")).unwrap().fai_max_minutes, 0);
    let both = err(&minimal("fai_max_minutes 30\nfaitok_mq 500\n"));
    assert!(both.contains("fai_max_minutes") && both.contains("faitok_mq"), "{both}");
    assert!(Config::parse_str(&minimal("faitok_mq 525601\n")).is_err());
}

#[test]
fn comments_and_blank_lines() {
    let c = Config::parse_str(&minimal("\n   \n\t# injail\n  #port 1\n")).unwrap();
    assert!(!c.injail);
    assert_eq!(c.port, 10345);
}

#[test]
fn validate_hand_built() {
    let mut c = Config::parse_str(&minimal("")).unwrap();
    c.validate().unwrap();
    c.privkey_file = None;
    assert!(c.validate().unwrap_err().to_string().contains("privkey"));
    c.privkey_pem = Some(PEM.as_bytes().to_vec());
    c.validate().unwrap();
    c.hpf_max_buffer = 0;
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "<config>: hpf_max_buffer: must be 1..67108864 bytes"
    );
    c.hpf_max_buffer = 1;
    c.listen.clear();
    assert!(c.validate().is_err());
}

#[test]
fn never_panics() {
    // A cheap stand-in for the fuzzer: every prefix of a full config, and
    // pseudo-random mixes of the characters the parser cares about.
    let full = format!("{}listen [::1]:5\nhpf_max_buffer 4M\n", reference_config());
    for (i, _) in full.char_indices() {
        let _ = Config::parse_str(&full[..i]);
    }
    let alphabet: Vec<char> = "privkey pubkey{}#\n\r \t:[]0123456789KMGport listen hash\u{feff}é"
        .chars()
        .collect();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..2000 {
        let mut s = String::new();
        for _ in 0..(state % 200) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            s.push(alphabet[(state % alphabet.len() as u64) as usize]);
        }
        let _ = Config::parse_str(&s);
        let _ = Config::parse_str(&minimal(&s));
    }
}

#[test]
fn comment_after_a_value_is_reported_with_its_line() {
    let e = err("proto 2.4.1\nhash h\ndbdir /d\nport 10345 # the port\nprivkey_file k\n");
    assert!(
        e.starts_with("<config>:4: port: \"# the port\" after the value looks like a comment"),
        "{e}"
    );
    let e = err("proto 2.4.1\nhash secret   # not part of it\ndbdir /d\nport 1\nprivkey_file k\n");
    assert!(e.starts_with("<config>:2: hash:"), "{e}");
    assert!(e.contains("on a line of their own"), "{e}");
    // glued to the value it is part of it (the reference's format)
    assert_eq!(Config::parse_str(&minimal("")).unwrap().hash, "h");
    let c = Config::parse_str("proto p\nhash a#b\ndbdir /d\nport 1\nprivkey_file k\n").unwrap();
    assert_eq!(c.hash, "a#b");
}

#[test]
fn public_key_as_private_key_is_named() {
    let public = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END PUBLIC KEY-----\n";
    let text = format!("proto p\nhash h\ndbdir /d\nport 1\nprivkey {{\n{public}}}\n");
    let e = err(&text);
    assert!(e.starts_with("<config>:5: privkey: this is a public key"), "{e}");
    let dir = temp_dir("pubkey-as-private");
    fs::create_dir(dir.join("data")).unwrap();
    fs::write(dir.join("pub.pem"), public).unwrap();
    let conf = dir.join("tfd.conf");
    fs::write(&conf, "proto 2.4.1\nhash h\ndbdir data\nport 1\nprivkey_file pub.pem\n").unwrap();
    let e = Config::load(&conf).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}:5: privkey_file: ", conf.display())) && e.contains("is a public key"),
        "{e}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tfd-config-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

mod table;
