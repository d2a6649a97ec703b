//! The configuration's checks, each with the sentence an operator reads.

use super::args::{parse_duration, parse_rate};
use super::*;
use crate::core::Rate;
use crate::core::keys;
use crate::core::secret::SecretString;

/// `otp-relay serve --dev ARGS...`.
fn serve(args: &[&str]) -> Result<Config, String> {
    let mut argv = vec!["otp-relay", "serve", "--dev"];
    argv.extend_from_slice(args);
    parse(argv)
}

/// `otp-relay serve ARGS...`, nothing added.
fn serve_plain(args: &[&str]) -> Result<Config, String> {
    let mut argv = vec!["otp-relay", "serve"];
    argv.extend_from_slice(args);
    parse(argv)
}

fn parse(argv: Vec<&str>) -> Result<Config, String> {
    // argv[0..2] is `otp-relay serve`.
    Config::from_flags(&argv[2..])
}

/// Run alone by the test below, with `OTP_RELAY_MAX_ATTEMPTS=7` and `OTP_RELAY_SMTP_URL`
/// set; in a plain run it holds trivially.
#[test]
fn flags_alone_give_the_defaults() {
    let config = Config::from_flags(&["--dev"]).unwrap();
    assert_eq!(config.policy.max_attempts, 3);
    assert!(config.smtp.smtp_url.is_none());
}

#[test]
fn flags_alone_make_the_test_configuration_whatever_the_environment() {
    // The environment is the process's: this test runs the one above in a process of its
    // own, with variables that would change it if they were read.
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "config::tests::flags_alone_give_the_defaults"])
        .env("OTP_RELAY_MAX_ATTEMPTS", "7")
        .env("OTP_RELAY_SMTP_URL", "smtps://user:pw@smtp.example.com")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{said}");
    assert!(said.contains("1 passed"), "{said}");
}

fn redis_setting(args: &[&str]) -> Result<RedisSetting, String> {
    match serve(args)?.store {
        StoreSetting::Redis(redis) => Ok(redis),
        StoreSetting::Memory => Err("memory".into()),
    }
}

#[test]
fn store_forms_parse_and_unknown_ones_name_the_forms() {
    assert!(matches!(serve(&[]).unwrap().store, StoreSetting::Memory));
    let single = redis_setting(&["--store", "redis://:pw@127.0.0.1:6379/2"]).unwrap();
    assert!(!single.cluster);
    assert_eq!(single.nodes.len(), 1);
    let cluster = redis_setting(&[
        "--store",
        "redis-cluster://:pw@127.0.0.1:7000, 127.0.0.1:7001,127.0.0.1:7002",
    ])
    .unwrap();
    assert!(cluster.cluster);
    let nodes: Vec<&str> = cluster.nodes.iter().map(SecretString::expose).collect();
    assert_eq!(
        nodes,
        [
            "redis://:pw@127.0.0.1:7000",
            "redis://:pw@127.0.0.1:7001",
            "redis://:pw@127.0.0.1:7002"
        ]
    );
    let tls_cluster =
        redis_setting(&["--store", "rediss-cluster://u:pw@redis-a:7000,redis-b:7001"]).unwrap();
    assert!(tls_cluster.cluster);
    let nodes: Vec<&str> = tls_cluster.nodes.iter().map(SecretString::expose).collect();
    assert_eq!(
        nodes,
        ["rediss://u:pw@redis-a:7000", "rediss://u:pw@redis-b:7001"]
    );
    for wrong in [
        "memcached://x:1",
        "redis-cluster://",
        "redis-cluster://a:1/0",
        "mem",
    ] {
        let error = serve(&["--store", wrong]).unwrap_err();
        assert!(error.contains("redis-cluster://"), "{wrong}: {error}");
    }
}

/// A14 for the store: a password goes to another machine over TLS only.
#[test]
fn a_redis_password_never_crosses_the_network_in_the_clear() {
    for cleartext in [
        "redis://:pw@redis.example:6379",
        "redis://user:pw@10.0.0.5:6379/1",
        "redis-cluster://:pw@127.0.0.1:7000,redis-b.example:7001",
    ] {
        let error = serve(&["--store", cleartext]).unwrap_err();
        assert!(error.contains("without TLS"), "{cleartext}: {error}");
        assert!(error.contains("rediss"), "{cleartext}: {error}");
        assert!(
            !error.contains("pw"),
            "the password is not repeated: {error}"
        );
    }
    for fine in [
        "redis://:pw@127.0.0.1:6379",
        "redis://:pw@localhost:6379/3",
        "redis://:pw@[::1]:6379",
        "redis://redis.example:6379",
        "rediss://:pw@redis.example:6380",
        "redis-cluster://:pw@127.0.0.1:7000,127.0.0.1:7001",
        "rediss-cluster://:pw@redis-a.example:7000,redis-b.example:7001",
    ] {
        assert!(serve(&["--store", fine]).is_ok(), "{fine}");
    }
}

#[test]
fn a_store_ca_needs_tls_and_a_certificate() {
    let dir = std::env::temp_dir().join(format!("otp-relay-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(
        &ca,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let not_pem = dir.join("key.txt");
    std::fs::write(&not_pem, "hello").unwrap();
    let ca = ca.to_str().unwrap();
    let tls = redis_setting(&["--store", "rediss://127.0.0.1:6380", "--store-ca", ca]).unwrap();
    assert!(tls.ca.is_some());
    let plain = serve(&["--store", "redis://127.0.0.1:6379", "--store-ca", ca]).unwrap_err();
    assert!(plain.contains("rediss://"), "{plain}");
    let missing = serve(&[
        "--store",
        "rediss://h:1",
        "--store-ca",
        "/nonexistent/ca.pem",
    ])
    .unwrap_err();
    assert!(missing.contains("cannot read"), "{missing}");
    let wrong = serve(&[
        "--store",
        "rediss://h:1",
        "--store-ca",
        not_pem.to_str().unwrap(),
    ])
    .unwrap_err();
    assert!(wrong.contains("no PEM certificate"), "{wrong}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn rates_and_durations_parse() {
    assert_eq!(
        parse_rate("5/15m"),
        Ok(Rate {
            count: 5,
            window: Duration::from_secs(900)
        })
    );
    assert!(parse_rate("5").is_err());
    assert!(parse_rate("0/1m").is_err());
    assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
    assert!(parse_duration("soon").is_err());
}

#[test]
fn origins_are_canonical_and_wildcards_refused() {
    assert_eq!(
        canonical_origin("https://Shop.Example:443/").unwrap(),
        "https://shop.example"
    );
    assert_eq!(
        canonical_origin("http://127.0.0.1:8080").unwrap(),
        "http://127.0.0.1:8080"
    );
    assert!(canonical_origin("https://shop.example/path").is_err());
    assert!(serve(&["--allowed-origins", "*"]).is_err());
    assert!(serve(&["--allowed-origins", "null"]).is_err());
}

#[test]
fn unsafe_policies_are_refused() {
    assert!(serve(&["--ttl", "11m"]).is_err());
    assert!(serve(&["--code-length", "4"]).is_err());
    assert!(serve(&["--failures-per-address", "101/1h"]).is_err());
    assert!(serve(&["--secret", "k:c2hvcnQ"]).is_err());
}

#[test]
fn defaults_follow_the_api() {
    let config = serve(&[]).unwrap();
    assert_eq!(config.policy.ttl, Duration::from_secs(300));
    assert_eq!(config.policy.max_attempts, 3);
    assert_eq!(config.policy.code_length, 6);
    assert_eq!(config.public_url, "http://127.0.0.1:8787");
    assert_eq!(
        config.allowed_origins,
        vec!["http://127.0.0.1:8787".to_string()]
    );
    assert!(config.keys_are_ephemeral && config.proof_key_is_ephemeral);
}

#[test]
fn the_policy_defaults_are_the_cores_defaults() {
    let config = serve(&[]).unwrap();
    let core = Policy::default();
    assert_eq!(format!("{:?}", config.policy), format!("{core:?}"));
}

#[test]
fn without_smtp_the_outbox_takes_an_explicit_switch() {
    for blank in [&[][..], &["--smtp-url", ""][..], &["--smtp-url", "  "][..]] {
        let error = serve_plain(blank).unwrap_err();
        assert!(
            error.contains("OTP_RELAY_SMTP_URL") && error.contains("OTP_RELAY_DEV"),
            "names both ways forward: {error}"
        );
    }
    assert!(serve_plain(&["--smtp-url", "smtps://u:p@smtp.example.com"]).is_ok());
    let dev = serve(&[]).unwrap();
    assert!(dev.dev);
    let both = serve(&["--smtp-url", "smtps://u:p@smtp.example.com"]).unwrap_err();
    assert!(both.contains("both"), "{both}");
}

#[test]
fn development_mode_listens_on_loopback_only() {
    for listen in ["0.0.0.0:8787", "192.0.2.1:8787", "[::]:8787"] {
        let error = serve(&["--listen", listen]).unwrap_err();
        assert!(error.contains("loopback"), "{error}");
    }
    assert!(serve(&["--listen", "[::1]:0"]).is_ok());
    assert!(
        serve_plain(&[
            "--listen",
            "0.0.0.0:8787",
            "--smtp-url",
            "smtp://localhost:25"
        ])
        .is_ok()
    );
}

#[test]
fn trusted_proxies_are_addresses_or_ranges() {
    let config = serve(&["--trust-proxy", "10.0.0.0/8, 192.0.2.7,::1,fd00::/8"]).unwrap();
    let shown: Vec<String> = config
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(shown, ["10.0.0.0/8", "192.0.2.7/32", "::1/128", "fd00::/8"]);
    assert!(serve(&[]).unwrap().trusted_proxies.is_empty());
    assert!(
        serve(&["--trust-proxy", "false"])
            .unwrap()
            .trusted_proxies
            .is_empty()
    );
    for bad in ["true", "1", "proxy.internal", "10.0.0.0/33"] {
        let error = serve(&["--trust-proxy", bad]).unwrap_err();
        assert!(error.contains("OTP_RELAY_TRUST_PROXY"), "{error}");
    }
}

#[test]
fn the_proof_of_work_is_on_unless_turned_off_and_its_settings_are_checked() {
    let pow = Config::from_flags(&["--dev"]).unwrap().pow;
    assert!(pow.enabled, "on by default");
    assert_eq!((pow.base, pow.surge_per_minute), (100_000, 600));
    for blank_or_on in ["", "on", "true", "1"] {
        assert!(
            serve(&["--pow", blank_or_on]).unwrap().pow.enabled,
            "{blank_or_on:?}"
        );
    }
    assert!(!serve(&["--pow", "off"]).unwrap().pow.enabled);
    let error = serve(&["--pow", "sometimes"]).unwrap_err();
    assert!(error.contains("neither on nor off"), "{error}");
    let exempt = serve(&["--pow-exempt", "10.0.0.0/8, 192.0.2.7,,2001:db8::/32"])
        .unwrap()
        .pow
        .exempt;
    let shown: Vec<String> = exempt.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);
    for (flags, variable) in [
        (
            &["--pow-exempt", "backend.internal"][..],
            "OTP_RELAY_POW_EXEMPT",
        ),
        (&["--pow-base", "0"][..], "OTP_RELAY_POW_BASE"),
        (&["--pow-base", "2000000000"][..], "OTP_RELAY_POW_BASE"),
        (&["--pow-surge", "0"][..], "OTP_RELAY_POW_SURGE"),
    ] {
        let error = serve(flags).unwrap_err();
        assert!(error.contains(variable), "{flags:?}: {error}");
    }
}

#[test]
fn connection_limits_are_checked() {
    let limits = serve(&[]).unwrap().connections;
    assert_eq!(limits.header_timeout, Duration::from_secs(10));
    assert_eq!(limits.request_timeout, Duration::from_secs(30));
    assert!(serve(&["--header-timeout", "31s"]).is_err());
    assert!(serve(&["--max-connections", "0"]).is_err());
    let error = serve(&["--request-timeout", "5s"]).unwrap_err();
    assert!(error.contains("OTP_RELAY_SMTP_TIMEOUT"), "{error}");
}

#[test]
fn proofs_are_ed25519_unless_a_legacy_secret_is_set_on_purpose() {
    let (ephemeral, with_keys) = (
        serve(&[]).unwrap(),
        serve(&[
            "--proof-keys",
            &format!("p2:{},p1:{}", keys::random_secret(), keys::random_secret()),
        ])
        .unwrap(),
    );
    assert!(ephemeral.proof_key_is_ephemeral);
    assert!(matches!(ephemeral.proof_keys, ProofKeys::Ed25519 { .. }));
    assert!(!with_keys.proof_key_is_ephemeral);
    let published = with_keys.proof_keys.jwks().unwrap().keys;
    assert_eq!(published.len(), 2);
    assert_eq!(published[0].kid, "p2");

    // `--flag=value`: a base64url secret may start with '-'.
    let legacy = serve(&[&format!("--proof-secret={}", keys::random_secret())]).unwrap();
    assert!(matches!(legacy.proof_keys, ProofKeys::Hs256(_)));
    assert!(!legacy.proof_key_is_ephemeral);

    let both = serve(&[
        "--proof-keys",
        &format!("p1:{}", keys::random_secret()),
        &format!("--proof-secret={}", keys::random_secret()),
    ])
    .unwrap_err();
    assert!(both.contains("both set"), "{both}");
    let blank = serve(&["--proof-keys", " ", "--proof-secret", ""]).unwrap();
    assert!(blank.proof_key_is_ephemeral, "blank settings are unset");
    let long_seed =
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, [1u8; 64]);
    let wrong = serve(&["--proof-keys", &format!("p1:{long_seed}")]).unwrap_err();
    assert!(
        wrong.contains("OTP_RELAY_PROOF_KEYS") && wrong.contains("exactly 32"),
        "{wrong}"
    );
}

#[test]
fn metrics_get_a_port_of_their_own() {
    assert_eq!(serve(&[]).unwrap().metrics_listen, None);
    assert_eq!(
        serve(&["--metrics-listen", " "]).unwrap().metrics_listen,
        None
    );
    let on = serve(&["--metrics-listen", "127.0.0.1:9187"]).unwrap();
    assert_eq!(on.metrics_listen, Some("127.0.0.1:9187".parse().unwrap()));
    let public = serve(&[
        "--listen",
        "127.0.0.1:8787",
        "--metrics-listen",
        "127.0.0.1:8787",
    ])
    .unwrap_err();
    assert!(public.contains("public port"), "{public}");
    assert!(serve(&["--metrics-listen", "9187"]).is_err());
    assert!(serve(&["--log-format", "xml"]).is_err());
    assert_eq!(
        serve(&["--log-format", "json"]).unwrap().log_format,
        LogFormat::Json
    );
}

#[test]
fn secrets_never_show_in_debug_output() {
    let secret = crate::core::keys::random_secret();
    let config = serve_plain(&[
        "--secret",
        &format!("k:{secret}"),
        "--proof-keys",
        &format!("p1:{secret}"),
        "--smtp-url",
        "smtps://user:hunter2@smtp.example.com",
    ])
    .unwrap();
    let printed = format!("{config:?}");
    assert!(!printed.contains(&secret), "{printed}");
    assert!(!printed.contains("hunter2"), "{printed}");
}

#[test]
fn every_refusal_names_its_variable() {
    let cases: [(&[&str], &str); 9] = [
        (&["--dev", "--ttl", "11m"], "OTP_RELAY_TTL"),
        (&["--dev", "--store", "mongodb://x"], "OTP_RELAY_STORE"),
        (
            &["--dev", "--metrics-listen", "nonsense"],
            "OTP_RELAY_METRICS_LISTEN",
        ),
        (
            &["--dev", "--sends-per-address", "30/15m"],
            "OTP_RELAY_SENDS_PER_ADDRESS",
        ),
        (
            &["--dev", "--allowed-origins", "*"],
            "OTP_RELAY_ALLOWED_ORIGINS",
        ),
        (&["--dev", "--secret", "nokid"], "OTP_RELAY_SECRET"),
        (
            &["--dev", "--connections-per-client", "0"],
            "OTP_RELAY_CONNECTIONS_PER_CLIENT",
        ),
        (&["--dev", "--listen", "0.0.0.0:0"], "OTP_RELAY_LISTEN"),
        (&[], "OTP_RELAY_SMTP_URL"),
    ];
    for (flags, variable) in cases {
        let error = Config::from_args(ServeArgs::from_flags(flags).unwrap()).unwrap_err();
        assert_eq!(error.variable, variable, "{flags:?}: {error}");
        assert!(error.message.contains(variable), "{flags:?}: {error}");
    }
}

/// A file in a fresh folder holding `text`; the folder goes when the guard does.
fn secret_file(text: &str) -> (tempfile::TempDir, String) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("secret");
    std::fs::write(&path, text).unwrap();
    let path = path.to_string_lossy().into_owned();
    (folder, path)
}

#[test]
fn every_secret_setting_reads_from_its_file_without_the_line_ending() {
    let secret = format!("k1:{}", keys::random_secret());
    let (_a, secret_path) = secret_file(&format!("{secret}\n"));
    let from_file = serve(&["--secret-file", &secret_path]).unwrap();
    let from_flag = serve(&["--secret", &secret]).unwrap();
    assert!(!from_file.keys_are_ephemeral);
    assert_eq!(
        format!("{:?}", from_file.keys.signing().kid),
        format!("{:?}", from_flag.keys.signing().kid)
    );
    let token = |config: &Config| {
        let mac = config.keys.store_key().mac();
        hmac::Mac::finalize(mac).into_bytes().to_vec()
    };
    assert_eq!(token(&from_file), token(&from_flag), "the same key");

    let proof = format!("p1:{}", keys::random_secret());
    let (_b, proof_path) = secret_file(&format!("{proof}\r\n"));
    assert!(
        !serve(&["--proof-keys-file", &proof_path])
            .unwrap()
            .proof_key_is_ephemeral
    );
    let (_c, hs_path) = secret_file(&keys::random_secret());
    let legacy = serve(&["--proof-secret-file", &hs_path]).unwrap();
    assert!(matches!(legacy.proof_keys, ProofKeys::Hs256(_)));

    let (_d, store_path) = secret_file("redis://:pw@127.0.0.1:6379/2\n");
    let store = redis_setting(&["--store-file", &store_path]).unwrap();
    assert_eq!(store.nodes[0].expose(), "redis://:pw@127.0.0.1:6379/2");

    let (_e, smtp_path) = secret_file("smtps://user:pw@smtp.example.com:465\n");
    let config = serve_plain(&["--smtp-url-file", &smtp_path]).unwrap();
    assert_eq!(
        config.smtp.smtp_url.as_ref().unwrap().expose(),
        "smtps://user:pw@smtp.example.com:465"
    );

    let hooks = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\nwhsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let (_f, webhook_path) = secret_file(&format!("{hooks}\n"));
    let config = serve_plain(&[
        "--webhook-url",
        "https://hooks.example/otp",
        "--webhook-secret-file",
        &webhook_path,
    ])
    .unwrap();
    assert_eq!(config.smtp.webhook_settings().unwrap().secrets, hooks);

    let (_g, review_path) = secret_file("review@example.com:123456\ne2e@example.com:654321\n");
    let config = serve(&["--review-addresses-file", &review_path]).unwrap();
    assert_eq!(config.review.len(), 2);
}

#[test]
fn a_secret_set_both_ways_or_unreadable_refuses_to_start_naming_the_setting() {
    let secret = format!("k1:{}", keys::random_secret());
    let (_a, path) = secret_file(&secret);
    let both = serve(&["--secret", &secret, "--secret-file", &path]).unwrap_err();
    assert!(
        both.contains("OTP_RELAY_SECRET and OTP_RELAY_SECRET_FILE are both set"),
        "{both}"
    );
    let both = serve(&["--store", "memory", "--store-file", &path]).unwrap_err();
    assert!(
        both.contains("OTP_RELAY_STORE and OTP_RELAY_STORE_FILE are both set"),
        "{both}"
    );

    let missing = serve(&["--proof-keys-file", "/nonexistent/otp-relay/proof"]).unwrap_err();
    assert!(missing.contains("OTP_RELAY_PROOF_KEYS_FILE"), "{missing}");
    assert!(
        missing.contains("/nonexistent/otp-relay/proof"),
        "{missing}"
    );
    let (_b, empty) = secret_file("\n");
    let refused = serve(&["--secret-file", &empty]).unwrap_err();
    assert!(refused.contains("is empty"), "{refused}");
}

#[test]
fn what_a_secret_file_holds_never_appears_in_an_error() {
    let marker = "Zq7xMARKERsecretvalue";
    for (flag, variable, text) in [
        ("--secret-file", "OTP_RELAY_SECRET", format!("k1:{marker}")),
        (
            "--proof-keys-file",
            "OTP_RELAY_PROOF_KEYS",
            format!("p1:{marker}"),
        ),
        (
            "--proof-secret-file",
            "OTP_RELAY_PROOF_SECRET",
            marker.to_string(),
        ),
        (
            "--store-file",
            "OTP_RELAY_STORE",
            format!("redis://:{marker}@example.com:6379"),
        ),
        (
            "--store-file",
            "OTP_RELAY_STORE",
            format!("nosuch://{marker}"),
        ),
    ] {
        let (_folder, path) = secret_file(&text);
        let refused = serve(&[flag, &path]).unwrap_err();
        assert!(refused.contains(variable), "{flag}: {refused}");
        assert!(!refused.contains(marker), "{flag}: {refused}");
    }
    let (_webhook, path) = secret_file(&format!("whsec_{marker}"));
    let refused = serve_plain(&[
        "--webhook-url",
        "https://hooks.example/otp",
        "--webhook-secret-file",
        &path,
    ])
    .unwrap_err();
    assert!(refused.contains("OTP_RELAY_WEBHOOK_SECRET"), "{refused}");
    assert!(!refused.contains(marker), "{refused}");
    let (_review, path) = secret_file(&format!("review@example.com:{marker}"));
    let refused = serve(&["--review-addresses-file", &path]).unwrap_err();
    assert!(refused.contains("OTP_RELAY_REVIEW_ADDRESSES"), "{refused}");
    assert!(!refused.contains(marker), "{refused}");
}

#[test]
fn review_addresses_must_be_addresses_with_codes_of_the_code_length() {
    let config = serve(&["--review-addresses", "review@example.com:123456"]).unwrap();
    assert_eq!(config.review.len(), 1);
    let eight = serve(&[
        "--code-length",
        "8",
        "--review-addresses",
        "review@example.com:12345678",
    ])
    .unwrap();
    assert_eq!(eight.review.len(), 1);
    for (spec, says) in [
        ("review@example.com:1234567", "must be 6 digits"),
        ("review@example.com", "is not address:code"),
        ("review@@example.com:123456", "entry 1"),
        ("a@example.com:111111,<x>@example.com:222222", "entry 2"),
    ] {
        let error = serve(&["--review-addresses", spec]).unwrap_err();
        assert!(error.starts_with("OTP_RELAY_REVIEW_ADDRESSES: "), "{error}");
        assert!(error.contains(says), "{spec}: {error}");
        assert!(
            !error.contains("222222") && !error.contains("1234567"),
            "{error}"
        );
    }
    // Eight-digit codes on six-digit relays are caught too.
    let error = serve(&["--review-addresses", "review@example.com:12345678"]).unwrap_err();
    assert!(error.contains("must be 6 digits"), "{error}");
}

#[test]
fn a_webhook_takes_the_place_of_smtp_and_only_with_a_secret_over_https() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let config = serve_plain(&[
        "--webhook-url",
        "https://hooks.example/otp",
        "--webhook-secret",
        secret,
    ])
    .unwrap();
    assert!(config.smtp.webhook_settings().is_some());
    for (args, says) in [
        (
            vec!["--webhook-url", "https://hooks.example/otp"],
            "OTP_RELAY_WEBHOOK_SECRET is required",
        ),
        (
            vec![
                "--webhook-url",
                "http://hooks.example/otp",
                "--webhook-secret",
                secret,
            ],
            "must be https://",
        ),
        (
            vec![
                "--webhook-url",
                "https://hooks.example/otp",
                "--webhook-secret",
                secret,
                "--smtp-url",
                "smtp://127.0.0.1:2525",
            ],
            "codes go one way only",
        ),
        (
            vec![
                "--webhook-url",
                "https://hooks.example/otp",
                "--webhook-secret",
                "whsec_c2hvcnQ=",
            ],
            "24 to 64 random bytes",
        ),
    ] {
        let error = serve_plain(&args).unwrap_err();
        assert!(error.contains(says), "{args:?}: {error}");
        assert!(!error.contains("MfKQ9r8"), "never the secret: {error}");
    }
    let error = serve(&[
        "--webhook-url",
        "http://127.0.0.1:9/otp",
        "--webhook-secret",
        secret,
    ])
    .unwrap_err();
    assert!(error.contains("codes go one way only"), "{error}");
}

/// A logo is kept as the URL parser reads it: `https:/host/x` (one slash, which the parser
/// forgives) goes into the email as `https://host/x`, never as a path a mail client would guess
/// at. Found by the `branding` fuzz target.
#[test]
fn a_logo_is_kept_as_the_url_it_reads_as() {
    let allowed = vec!["https://shop.example".to_string()];
    let brands = branding_from_text(
        r#"{"https://shop.example": {"product": "Shop", "logo": "https:/shop.example/logo.png"}}"#,
        &allowed,
    )
    .unwrap();
    assert_eq!(
        brands["https://shop.example"].logo.as_deref(),
        Some("https://shop.example/logo.png")
    );
}
