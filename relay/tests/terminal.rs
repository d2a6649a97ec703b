//! `otp-relay verify`, driven through a pseudo-terminal as a person would use it, and through a
//! pipe as a script would, against a relay and a real SMTP server.

use otp_relay_tests::*;
use rexpect::process::WaitStatus;
use rexpect::session::{PtySession, spawn_command};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The client with no locale from the machine running the tests: English unless a test says.
fn verify_command(relay: &str, args: &[&str]) -> Command {
    let mut command = relay_command();
    for locale in ["LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"] {
        command.env_remove(locale);
    }
    command.args(["verify", "--relay", relay]).args(args);
    command
}

/// A relay with a real SMTP server and the proof of work on, as it is by default: the client pays
/// it for every send.
fn app() -> TestApp {
    TestApp::spawn_with(&[("OTP_RELAY_POW", "on")])
}

fn terminal(relay: &str, args: &[&str]) -> PtySession {
    spawn_command(verify_command(relay, args), Some(15_000)).expect("a pseudo-terminal")
}

fn exit_code(session: &mut PtySession) -> i32 {
    session.exp_eof().expect("the client ends");
    match session.process().wait().expect("exit status") {
        WaitStatus::Exited(_, code) => code,
        other => panic!("did not exit normally: {other:?}"),
    }
}

#[test]
fn the_right_code_verifies() {
    let app = app();
    let mut session = terminal(&app.relay.url, &[]);
    session.exp_string("Email address: ").unwrap();
    session.send_line("Ada@Example.com").unwrap();
    session
        .exp_string("We sent a 6-digit code to ada@example.com. It expires in 5 minutes.")
        .unwrap();
    session.exp_string("Code: ").unwrap();
    let code = app.smtp.last_to("ada@example.com").code();
    session.send_line(&code).unwrap();
    session
        .exp_string("Verified: ada@example.com controls this address.")
        .unwrap();
    assert_eq!(exit_code(&mut session), 0);
}

#[test]
fn a_wrong_code_then_the_right_one_says_how_many_attempts_are_left() {
    let app = app();
    let mut session = terminal(&app.relay.url, &["--email", "bob@example.com"]);
    session.exp_string("Code: ").unwrap();
    let code = app.smtp.last_to("bob@example.com").code();
    session.send_line(&wrong_code(&code)).unwrap();
    session
        .exp_string("That code is not right. 2 attempts left.")
        .unwrap();
    session.exp_string("Code: ").unwrap();
    session.send_line(&code).unwrap();
    session.exp_string("Verified: bob@example.com").unwrap();
    assert_eq!(exit_code(&mut session), 0);
}

#[test]
fn typos_are_explained_and_asked_again_without_using_an_attempt() {
    let app = app();
    let mut session = terminal(&app.relay.url, &["--email", "cy@example.com"]);
    session.exp_string("Code: ").unwrap();
    for typo in ["abc123", "12345", "1234567", "twelve"] {
        session.send_line(typo).unwrap();
        session.exp_string("No attempt was used.").unwrap();
        session.exp_string("Code: ").unwrap();
    }
    let code = app.smtp.last_to("cy@example.com").code();
    session.send_line(&wrong_code(&code)).unwrap();
    session.exp_string("2 attempts left").unwrap();
    // A code typed with a space, as it reads in the email, is fine.
    session
        .send_line(&format!("{} {}", &code[..3], &code[3..]))
        .unwrap();
    session.exp_string("Verified: cy@example.com").unwrap();
    assert_eq!(exit_code(&mut session), 0);
}

#[test]
fn an_invalid_address_is_asked_again_at_a_terminal() {
    let app = app();
    let mut session = terminal(&app.relay.url, &[]);
    session.exp_string("Email address: ").unwrap();
    session.send_line("not an address").unwrap();
    session.exp_string("cannot contain spaces").unwrap();
    session.exp_string("Email address: ").unwrap();
    session.send_line("dee@example.com").unwrap();
    session
        .exp_string("We sent a 6-digit code to dee@example.com")
        .unwrap();
    session
        .send_line(&app.smtp.last_to("dee@example.com").code())
        .unwrap();
    assert_eq!(exit_code(&mut session), 0);
}

#[test]
fn using_up_the_attempts_ends_with_its_exit_code() {
    let app = app();
    let mut session = terminal(&app.relay.url, &["--email", "eve@example.com"]);
    session.exp_string("Code: ").unwrap();
    let code = app.smtp.last_to("eve@example.com").code();
    let mut wrong = code.clone();
    for _ in 0..3 {
        wrong = wrong_code(&wrong);
        session.send_line(&wrong).unwrap();
    }
    session.exp_string("no attempts are left").unwrap();
    assert_eq!(exit_code(&mut session), 3);
}

#[test]
fn sending_failing_says_so_and_exits_with_its_code() {
    let certs = Certs::new();
    let port = free_port();
    let relay = RelayProcess::start(&[
        (
            "OTP_RELAY_SMTP_URL".into(),
            format!("smtp://u:p@127.0.0.1:{port}?tls=required"),
        ),
        ("OTP_RELAY_SMTP_CA".into(), certs.ca().display().to_string()),
        ("OTP_RELAY_POW".into(), "on".into()),
    ]);
    let mut session = terminal(&relay.url, &["--email", "fay@example.com"]);
    session.exp_string("The email could not be sent.").unwrap();
    assert_eq!(exit_code(&mut session), 5);
}

#[test]
fn an_unreachable_relay_says_so_and_exits_with_its_code() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let mut session = terminal(&url, &["--email", "gil@example.com"]);
    session.exp_string("Cannot reach the relay at").unwrap();
    assert_eq!(exit_code(&mut session), 6);
}

/// A relay in this process on a manual clock that starts at the real time (the client compares
/// the relay's times with its own clock), served on a loopback port for the real client binary.
struct ClockedRelay {
    relay: otp_relay::testing::InProcessRelay,
    url: String,
    _runtime: tokio::runtime::Runtime,
}

impl ClockedRelay {
    fn start() -> ClockedRelay {
        use otp_relay::core::{Clock, ManualClock, SystemClock};
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let clock = ManualClock::at(SystemClock.now());
        let relay =
            otp_relay::testing::InProcessRelay::with_clock(&["--pow", "on"], clock).unwrap();
        let (address, _) = runtime.block_on(relay.serve_on_loopback()).unwrap();
        ClockedRelay {
            relay,
            url: format!("http://{address}"),
            _runtime: runtime,
        }
    }

    fn code_to(&self, to: &str) -> String {
        self.relay.last_code(to).expect("a message in the outbox")
    }
}

#[test]
fn an_expired_code_ends_with_its_exit_code() {
    let relay = ClockedRelay::start();
    let mut session = terminal(&relay.url, &["--email", "hal@example.com"]);
    session.exp_string("It expires in 5 minutes.").unwrap();
    session.exp_string("Code: ").unwrap();
    let code = relay.code_to("hal@example.com");
    relay.relay.clock.advance(Duration::from_secs(300));
    session.send_line(&code).unwrap();
    session
        .exp_string("This code has expired. Get a new code.")
        .unwrap();
    assert_eq!(exit_code(&mut session), 4);
}

#[test]
fn r_resends_after_the_cooldown_and_the_code_stays_the_same() {
    let relay = ClockedRelay::start();
    let mut session = terminal(&relay.url, &["--email", "ivy@example.com"]);
    session
        .exp_string("or r and Enter to have it sent again")
        .unwrap();
    session.exp_string("Code: ").unwrap();
    let first = relay.code_to("ivy@example.com");
    session.send_line("r").unwrap();
    session
        .exp_string("Wait a little before asking for the code again. Try again in 30 seconds.")
        .unwrap();
    session.exp_string("Code: ").unwrap();
    relay.relay.clock.advance(Duration::from_secs(30));
    session.send_line("r").unwrap();
    session
        .exp_string("We sent the code to ivy@example.com again")
        .unwrap();
    assert_eq!(relay.relay.sent(), 2);
    assert_eq!(relay.code_to("ivy@example.com"), first);
    session.send_line(&first).unwrap();
    session.exp_string("Verified: ivy@example.com").unwrap();
    assert_eq!(exit_code(&mut session), 0);
}
/// Runs the client as a script would: the code delivered to `email` piped in once it arrives,
/// then the input closed; what the client printed and how it ended.
fn pipe_the_code(app: &TestApp, mut command: Command, email: &str) -> std::process::Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let code = app.smtp.last_to(email).code();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{code}").unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn a_script_pipes_the_code_in_and_gets_the_proof_alone_on_stdout() {
    let app = app();
    let output = pipe_the_code(
        &app,
        verify_command(
            &app.relay.url,
            &["--email", "jo@example.com", "--print-proof"],
        ),
        "jo@example.com",
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "only the proof on stdout: {stdout:?}");
    assert_eq!(lines[0].split('.').count(), 3);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("Code: "),
        "no prompts without a terminal: {stderr}"
    );
    assert!(stderr.contains("Verified: jo@example.com"));

    // The proof is the relay's, for the relay's own audience (no Origin from a script).
    let jwks = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(fetch_jwks(&app.relay.url));
    let claims = check_proof(lines[0], &jwks, &app.relay.url, &app.relay.url).unwrap();
    assert_eq!(claims["email"], "jo@example.com");
}

#[test]
fn a_script_whose_input_ends_early_gets_the_invalid_input_code() {
    let app = app();
    let output = verify_command(&app.relay.url, &["--email", "not-an-address"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("An email address needs an @"));
    let mut child = verify_command(&app.relay.url, &["--email", "kay@example.com"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let said: Vec<String> = stderr.lines().map_while(Result::ok).collect();
    assert_eq!(child.wait().unwrap().code(), Some(2));
    assert!(said.iter().any(|l| l.contains("input ended")), "{said:?}");
}

/// What rexpect shows of `text`: it reads the terminal byte by byte, one char per byte, so UTF-8
/// text is matched byte for byte.
fn on_pty(text: &str) -> String {
    text.bytes().map(char::from).collect()
}

/// The client in German, from the locale, through a pseudo-terminal: prompts, the attempts left
/// (with German plurals) and the result; and the email it asked for is German too.
#[test]
fn the_client_speaks_the_locale_language_and_asks_for_the_email_in_it() {
    let app = app();
    let mut command = verify_command(&app.relay.url, &[]);
    command.env("LANG", "de_DE.UTF-8");
    let mut session = spawn_command(command, Some(15_000)).expect("a pseudo-terminal");
    session.exp_string("E-Mail-Adresse: ").unwrap();
    // A mistyped address is explained in German, and asked for again.
    session.send_line("dora example.com").unwrap();
    session
        .exp_string(&on_pty(
            "Eine E-Mail-Adresse darf keine Leerzeichen enthalten.",
        ))
        .unwrap();
    session.exp_string("E-Mail-Adresse: ").unwrap();
    session.send_line("dora@example.com").unwrap();
    session
        .exp_string(&on_pty("Wir haben einen 6-stelligen Code an dora@example.com gesendet. Er ist 5 Minuten lang gültig."))
        .unwrap();
    session.exp_string("Code: ").unwrap();
    let delivered = app.smtp.last_to("dora@example.com");
    assert!(
        delivered.subject.ends_with("ist Ihr Bestätigungscode"),
        "{}",
        delivered.subject
    );
    assert!(
        delivered.raw.contains("Content-Language: de"),
        "{}",
        delivered.raw
    );
    let code = delivered.code();
    session.send_line("12").unwrap();
    session
        .exp_string(&on_pty("Der Code besteht aus den 6 Ziffern (0–9)"))
        .unwrap();
    session.send_line(&wrong_code(&code)).unwrap();
    session
        .exp_string("Dieser Code ist nicht richtig. Noch 2 Versuche.")
        .unwrap();
    session.send_line(&wrong_code(&code)).unwrap();
    session
        .exp_string("Dieser Code ist nicht richtig. Noch 1 Versuch.")
        .unwrap();
    session.send_line(&code).unwrap();
    session
        .exp_string(&on_pty(
            "Bestätigt: Die Adresse dora@example.com gehört Ihnen.",
        ))
        .unwrap();
    assert_eq!(exit_code(&mut session), 0);
}

/// `--lang` wins over the locale; a language the client does not speak is an input error.
#[test]
fn the_lang_flag_wins_over_the_locale() {
    let app = app();
    let mut command = verify_command(
        &app.relay.url,
        &["--lang", "fr", "--email", "flo@example.com"],
    );
    command.env("LANG", "de_DE.UTF-8");
    let mut session = spawn_command(command, Some(15_000)).expect("a pseudo-terminal");
    session
        .exp_string(&on_pty(
            "Nous avons envoyé un code à 6 chiffres à flo@example.com.",
        ))
        .unwrap();
    session.exp_string("Code : ").unwrap();
    let delivered = app.smtp.last_to("flo@example.com");
    assert!(delivered.raw.contains("Content-Language: fr"));
    session.send_line(&delivered.code()).unwrap();
    session
        .exp_string(&on_pty("Vérifié : flo@example.com"))
        .unwrap();
    assert_eq!(exit_code(&mut session), 0);

    let unknown = verify_command(
        &app.relay.url,
        &["--lang", "tlh", "--email", "x@example.com"],
    )
    .output()
    .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--lang"));
}

/// The client reaches an `https://` relay (behind a TLS proxy whose certificate is from a private
/// CA) when given that CA with `--ca`; without it the certificate is refused (exit code 6, and
/// no code sent), and a `--ca` that is not a certificate file is named.
#[test]
fn an_https_relay_is_reached_over_tls_with_a_private_ca() {
    let app = app();
    let proxy = TlsProxy::start(app.relay.url.trim_start_matches("http://"));
    let untrusted = verify_command(&proxy.url(), &["--email", "tls@example.com"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&untrusted.stderr);
    assert_eq!(untrusted.status.code(), Some(6), "{said}");
    assert_eq!(
        app.smtp.count(),
        0,
        "nothing was asked of an untrusted relay"
    );

    let ca = proxy.certs.ca();
    let ca = ca.to_str().unwrap();
    let output = pipe_the_code(
        &app,
        verify_command(
            &proxy.url(),
            &["--email", "tls@example.com", "--ca", ca, "--print-proof"],
        ),
        "tls@example.com",
    );
    let said = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert!(said.contains("Verified: tls@example.com"), "{said}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .split('.')
            .count(),
        3
    );

    let not_a_ca = verify_command(
        &proxy.url(),
        &["--email", "tls@example.com", "--ca", "/nonexistent.pem"],
    )
    .stdin(Stdio::null())
    .output()
    .unwrap();
    assert_eq!(not_a_ca.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&not_a_ca.stderr).contains("--ca /nonexistent.pem"));
}
