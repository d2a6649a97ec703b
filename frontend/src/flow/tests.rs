//! Every transition of the flow and every error, natively.

use super::*;
use otp_relay_shared::api::ErrorDetail;

const NOW: f64 = 1_800_000_000_000.0;

fn challenge() -> ChallengeInfo {
    ChallengeInfo {
        token: "tok".into(),
        email: "ada@example.com".into(),
        code_length: 6,
        expires_at_ms: NOW + 300_000.0,
        resend_at_ms: NOW + 30_000.0,
        attempts_left: 3,
        sends_left: 2,
    }
}

fn refused(
    code: ErrorCode,
    message: &str,
    attempts_left: Option<u32>,
    retry_after: Option<u64>,
) -> Failure {
    Failure::Refused(ErrorDetail {
        code,
        message: message.into(),
        attempts_left,
        retry_after,
        pow: None,
    })
}

fn api(code: ErrorCode, message: &str) -> Failure {
    refused(code, message, None, None)
}

/// The relay's answer to too many sends: wait `seconds`.
fn rate_limited(seconds: u64) -> Failure {
    refused(
        ErrorCode::RateLimited,
        &format!("Too many codes. Try again in {seconds} seconds."),
        None,
        Some(seconds),
    )
}

/// The relay's answer to a wrong code, worded as the relay words it in English.
fn wrong_code(attempts_left: u32) -> Failure {
    let catalogue = otp_relay_shared::Catalogue::english();
    let message = match attempts_left {
        0 => catalogue.text("refusal.no_attempts", &[]),
        left => catalogue.plural("refusal.wrong", left.into(), &[]),
    };
    refused(ErrorCode::WrongCode, &message, Some(attempts_left), None)
}

fn send(email: &str) -> Option<Effect> {
    Some(Effect::Ask(Request::Send(CreateChallengeRequest {
        email: email.into(),
        lang: None,
        pow: None,
        link: None,
    })))
}

/// A fresh flow whose relay offers no proof of work: the rules of the flow, apart from it.
fn without_pow(prefill: &str) -> Flow {
    let mut flow = Flow::new(prefill);
    flow.pow_job = None;
    flow.pow = Pow::Unavailable;
    flow
}

/// A flow on the code step.
fn at_code_step() -> Flow {
    let mut flow = without_pow("ada@example.com");
    assert!(flow.update(Action::SubmitEmail, NOW).is_some());
    flow.update(Action::Issued(challenge()), NOW);
    flow
}

fn verify_effect(code: &str) -> Option<Effect> {
    Some(Effect::Ask(Request::Verify(VerifyRequest {
        challenge: "tok".into(),
        email: "ada@example.com".into(),
        code: Some(code.into()),
        link: None,
        page: None,
        lang: None,
    })))
}

#[test]
fn a_valid_address_requests_a_code_and_shows_busy() {
    let mut flow = without_pow("");
    flow.update(Action::EmailInput("  Ada@Example.com ".into()), NOW);
    let effect = flow.update(Action::SubmitEmail, NOW);
    assert_eq!(effect, send("ada@example.com"));
    assert_eq!(flow.busy, Busy::Sending);
    assert_eq!(
        flow.update(Action::SubmitEmail, NOW),
        None,
        "no second request while busy"
    );
}

#[test]
fn an_invalid_address_is_refused_beside_the_field_without_a_request() {
    let mut flow = without_pow("ada@");
    assert_eq!(flow.update(Action::SubmitEmail, NOW), None);
    assert!(flow.email_error().unwrap().contains("domain"));
    assert_eq!(flow.focus, Some(Focus::EmailField));
    flow.update(Action::EmailInput("ada@example.com".into()), NOW);
    assert_eq!(flow.email_error(), None, "typing clears the error");
}

#[test]
fn the_relay_refusing_the_address_shows_its_message_beside_the_field() {
    let mut flow = without_pow("ada@example.com");
    flow.update(Action::SubmitEmail, NOW);
    let report = flow.update(
        Action::Failed(api(ErrorCode::InvalidEmail, "Bad address.")),
        NOW,
    );
    assert_eq!(flow.step(), Step::Email);
    assert_eq!(flow.email_error(), Some("Bad address."));
    assert!(matches!(report, Some(Effect::ReportError { code, .. }) if code == "invalid_email"));
}

#[test]
fn issued_moves_to_the_code_step_with_a_message_and_focus() {
    let flow = at_code_step();
    assert_eq!(flow.step(), Step::Code);
    assert_eq!(flow.busy, Busy::Idle);
    assert!(
        flow.notice
            .as_ref()
            .unwrap()
            .text
            .contains("Check your inbox")
    );
    assert_eq!(flow.notice.as_ref().unwrap().tone, Tone::Info);
    assert_eq!(flow.focus, Some(Focus::CodeField));
    assert_eq!(flow.expires_in(NOW), 300);
    assert_eq!(flow.resend_in(NOW), 30);
    assert!(!flow.can_resend(NOW));
    assert!(flow.can_resend(NOW + 30_000.0));
}

#[test]
fn a_complete_code_submits_by_itself_exactly_once() {
    let mut flow = at_code_step();
    assert_eq!(flow.update(Action::CodeInput("12345".into()), NOW), None);
    assert_eq!(
        flow.update(Action::CodeInput("123456".into()), NOW),
        verify_effect("123456")
    );
    assert_eq!(flow.busy, Busy::Verifying);
    assert_eq!(
        flow.update(Action::SubmitCode, NOW),
        None,
        "not while verifying"
    );
    assert_eq!(flow.update(Action::CodeInput("123456".into()), NOW), None);
}

#[test]
fn the_same_code_is_not_sent_twice_in_a_row() {
    let mut flow = at_code_step();
    flow.update(Action::CodeInput("123456".into()), NOW);
    flow.busy = Busy::Idle; // as if the answer had come and changed nothing
    assert_eq!(flow.update(Action::SubmitCode, NOW), None);
}

#[test]
fn pasted_codes_are_normalised() {
    for pasted in ["123 456", "123-456", "１２３４５６", " 123456\n"] {
        let mut flow = at_code_step();
        assert_eq!(
            flow.update(Action::CodeInput(pasted.into()), NOW),
            verify_effect("123456"),
            "{pasted:?}"
        );
    }
}

#[test]
fn letters_in_the_code_are_explained_and_dropped() {
    let mut flow = at_code_step();
    assert_eq!(flow.update(Action::CodeInput("12a".into()), NOW), None);
    assert_eq!(flow.code_input, "12");
    let notice = flow.notice.clone().unwrap();
    assert_eq!(notice.tone, Tone::Error);
    assert!(notice.text.contains("only digits"));
    flow.update(Action::CodeInput("123".into()), NOW);
    assert_eq!(
        flow.notice, None,
        "the hint goes once the input is digits again"
    );
}

#[test]
fn submitting_an_incomplete_code_asks_for_all_digits() {
    let mut flow = at_code_step();
    flow.update(Action::CodeInput("123".into()), NOW);
    assert_eq!(flow.update(Action::SubmitCode, NOW), None);
    assert!(flow.notice.unwrap().text.contains("all 6 digits"));
}

#[test]
fn a_wrong_code_says_how_many_attempts_are_left() {
    let mut flow = at_code_step();
    flow.update(Action::CodeInput("111111".into()), NOW);
    flow.update(Action::Failed(wrong_code(2)), NOW);
    assert_eq!(
        flow.notice.as_ref().unwrap().text,
        "That code is not right. 2 attempts left."
    );
    assert_eq!(flow.code_input, "");
    assert_eq!(flow.challenge().unwrap().attempts_left, 2);
    assert!(!flow.code_dead());
    assert_eq!(flow.focus, Some(Focus::CodeField));
    assert_eq!(
        flow.update(Action::CodeInput("222222".into()), NOW),
        verify_effect("222222")
    );
}

#[test]
fn the_last_wrong_code_offers_a_new_code() {
    let mut flow = at_code_step();
    flow.update(Action::CodeInput("111111".into()), NOW);
    flow.update(Action::Failed(wrong_code(0)), NOW);
    assert!(flow.code_dead());
    assert_eq!(flow.notice.as_ref().unwrap().recovery, Recovery::NewCode);
    assert_eq!(
        flow.update(Action::CodeInput("222222".into()), NOW),
        None,
        "a dead code takes no input"
    );
    assert!(!flow.can_resend(NOW + 60_000.0));
    assert_eq!(flow.update(Action::NewCode, NOW), send("ada@example.com"));
    flow.update(
        Action::Issued(ChallengeInfo {
            token: "tok2".into(),
            ..challenge()
        }),
        NOW,
    );
    assert!(!flow.code_dead());
    assert_eq!(flow.code_input, "");
}

#[test]
fn codes_that_need_a_new_code_say_so() {
    for code in [
        ErrorCode::TooManyAttempts,
        ErrorCode::Expired,
        ErrorCode::AlreadyUsed,
        ErrorCode::InvalidChallenge,
    ] {
        let mut flow = at_code_step();
        flow.update(Action::CodeInput("111111".into()), NOW);
        flow.update(Action::Failed(api(code, "The relay's sentence.")), NOW);
        let notice = flow.notice.clone().unwrap();
        assert_eq!(notice.text, "The relay's sentence.", "{code}");
        assert_eq!(notice.recovery, Recovery::NewCode, "{code}");
        assert!(flow.code_dead());
        assert_eq!(flow.focus, Some(Focus::Notice));
    }
}

#[test]
fn rate_limits_count_down_and_block_until_then() {
    let mut flow = without_pow("ada@example.com");
    flow.update(Action::SubmitEmail, NOW);
    flow.update(Action::Failed(rate_limited(45)), NOW);
    assert_eq!(flow.blocked_in(NOW), 45);
    assert_eq!(flow.blocked_in(NOW + 44_500.0), 1);
    assert_eq!(flow.update(Action::SubmitEmail, NOW + 10_000.0), None);
    assert_eq!(flow.update(Action::Retry, NOW + 10_000.0), None);
    assert_eq!(
        flow.update(Action::Retry, NOW + 45_000.0),
        send("ada@example.com")
    );
}

#[test]
fn a_rate_limited_resend_waits_for_the_countdown() {
    let mut flow = at_code_step();
    let later = NOW + 31_000.0;
    assert!(matches!(
        flow.update(Action::Resend, later),
        Some(Effect::Ask(Request::Resend(_)))
    ));
    flow.update(
        Action::Failed(refused(ErrorCode::RateLimited, "Wait.", None, Some(20))),
        later,
    );
    assert_eq!(flow.resend_in(later), 20);
    assert!(!flow.can_resend(later + 10_000.0));
    assert!(flow.can_resend(later + 20_000.0));
}

#[test]
fn resend_keeps_the_code_and_updates_sends_left() {
    let mut flow = at_code_step();
    assert_eq!(
        flow.update(Action::Resend, NOW),
        None,
        "not before resend_at"
    );
    let later = NOW + 30_000.0;
    assert_eq!(
        flow.update(Action::Resend, later),
        Some(Effect::Ask(Request::Resend(ResendRequest {
            challenge: "tok".into(),
            email: "ada@example.com".into(),
            lang: None,
            pow: None,
        })))
    );
    assert_eq!(flow.busy, Busy::Resending);
    flow.update(
        Action::Resent(ChallengeInfo {
            resend_at_ms: later + 30_000.0,
            sends_left: 1,
            ..challenge()
        }),
        later,
    );
    assert!(flow.notice.as_ref().unwrap().text.contains("again"));
    assert_eq!(flow.resend_in(later), 30);
    assert_eq!(flow.challenge().unwrap().sends_left, 1);
    flow.update(
        Action::Resent(ChallengeInfo {
            sends_left: 0,
            resend_at_ms: later,
            ..challenge()
        }),
        later,
    );
    assert!(!flow.can_resend(later + 60_000.0), "no sends left");
}

#[test]
fn delivery_failures_and_outages_offer_retry_of_the_same_request() {
    for failure in [
        api(ErrorCode::DeliveryFailed, "Could not send."),
        api(ErrorCode::Unavailable, "Down."),
        Failure::Unreachable,
    ] {
        let mut flow = without_pow("ada@example.com");
        let first = flow.update(Action::SubmitEmail, NOW);
        let report = flow.update(Action::Failed(failure.clone()), NOW);
        assert!(matches!(report, Some(Effect::ReportError { .. })));
        let notice = flow.notice.clone().unwrap();
        assert_eq!(notice.recovery, Recovery::Retry, "{failure:?}");
        assert_eq!(flow.update(Action::Retry, NOW), first, "{failure:?}");
    }
}

#[test]
fn an_unreachable_relay_while_verifying_can_retry_the_same_code() {
    let mut flow = at_code_step();
    let effect = flow.update(Action::CodeInput("123456".into()), NOW);
    flow.update(Action::Failed(Failure::Unreachable), NOW);
    assert!(flow.notice.as_ref().unwrap().text.contains("cannot reach"));
    assert_eq!(flow.update(Action::Retry, NOW), effect);
}

#[test]
fn success_announces_the_proof() {
    let mut flow = at_code_step();
    flow.update(Action::CodeInput("123456".into()), NOW);
    let proof = VerifiedProof {
        email: "ada@example.com".into(),
        proof: "jwt".into(),
        expires_at: "t".into(),
    };
    assert_eq!(
        flow.update(Action::Verified(proof.clone()), NOW),
        Some(Effect::Announce(proof))
    );
    assert_eq!(flow.step(), Step::Verified);
    assert_eq!(flow.focus, Some(Focus::Success));
}

#[test]
fn another_address_goes_back_with_the_address_kept() {
    let mut flow = at_code_step();
    flow.update(Action::UseAnotherAddress, NOW);
    assert_eq!(flow.step(), Step::Email);
    assert_eq!(flow.email_input, "ada@example.com");
    assert_eq!(flow.challenge(), None);
    assert_eq!(flow.focus, Some(Focus::EmailField));
    flow.update(Action::Reset, NOW);
    assert_eq!(
        flow,
        Flow::new(""),
        "a fresh flow, starting on a fresh proof of work"
    );
}

#[test]
fn a_held_form_submission_asks_to_verify_first() {
    let mut flow = without_pow("");
    assert_eq!(flow.update(Action::SubmissionHeld, NOW), None);
    assert!(flow.notice.as_ref().unwrap().text.contains("send the code"));
    assert_eq!(flow.focus, Some(Focus::EmailField));
    let mut flow = at_code_step();
    flow.update(Action::SubmissionHeld, NOW);
    assert!(
        flow.notice
            .as_ref()
            .unwrap()
            .text
            .contains("enter the code")
    );
    assert_eq!(flow.focus, Some(Focus::CodeField));
}

#[test]
fn a_refused_origin_is_said_at_once_and_nothing_is_sent() {
    let mut flow = without_pow("ada@example.com");
    let report = flow.update(Action::Refused("This site is not allowed.".into()), NOW);
    assert!(
        matches!(report, Some(Effect::ReportError { code, .. }) if code == "origin_not_allowed")
    );
    assert_eq!(
        flow.notice.as_ref().unwrap().text,
        "This site is not allowed."
    );
    assert_eq!(flow.notice.as_ref().unwrap().recovery, Recovery::None);
    assert_eq!(
        flow.update(Action::SubmitEmail, NOW),
        None,
        "no request that cannot succeed"
    );
    assert_eq!(
        flow.notice.as_ref().unwrap().text,
        "This site is not allowed."
    );
}

#[test]
fn expiry_is_seen_on_the_clock() {
    let flow = at_code_step();
    assert!(!flow.is_expired(NOW + 299_000.0));
    assert!(flow.is_expired(NOW + 300_000.0));
    assert!(!flow.can_resend(NOW + 300_000.0));
    assert_eq!(clock(flow.expires_in(NOW + 1_000.0)), "4:59");
}

#[test]
fn every_api_error_leaves_a_message_and_a_way_forward() {
    for code in ErrorCode::ALL {
        let mut flow = at_code_step();
        flow.update(Action::CodeInput("123456".into()), NOW);
        flow.update(
            Action::Failed(refused(code, "Sentence.", Some(1), Some(5))),
            NOW,
        );
        assert_eq!(flow.busy, Busy::Idle, "{code}");
        let notice = flow
            .notice
            .clone()
            .unwrap_or_else(|| panic!("{code}: no message"));
        assert!(!notice.text.is_empty());
        let can_go_on = notice.recovery != Recovery::None || !flow.code_dead();
        assert!(can_go_on, "{code}: stuck");
    }
}

/// The flow in `lang`, with that language's messages as the relay sends them.
fn speaking(lang: otp_relay_shared::Lang) -> Flow {
    Flow::speaking("ada@example.com", crate::words::builtin(lang))
}

/// The relay's answer to a wrong code, worded as the relay words it in `lang`.
fn wrong_code_in(lang: otp_relay_shared::Lang, attempts_left: u32) -> Failure {
    let catalogue = otp_relay_shared::Catalogue::builtin(lang);
    let message = catalogue.plural("refusal.wrong", attempts_left.into(), &[]);
    refused(ErrorCode::WrongCode, &message, Some(attempts_left), None)
}

#[test]
fn another_language_speaks_throughout_with_its_plural_forms() {
    use otp_relay_shared::{Catalogue, Lang};
    for lang in [Lang::De, Lang::Ja, Lang::Ar, Lang::Fr] {
        let catalogue = Catalogue::builtin(lang);
        let mut flow = speaking(lang);
        flow.update(Action::SubmitEmail, NOW);
        flow.update(Action::Issued(challenge()), NOW);
        assert_eq!(
            flow.notice.as_ref().unwrap().text,
            catalogue.text("ui.check_inbox", &[])
        );
        // The relay's refusals arrive worded in the flow's language; the flow shows them as they
        // are, and words its own parts (buttons, countdowns) itself.
        for left in [2, 1] {
            flow.update(Action::CodeInput("111111".into()), NOW);
            flow.update(Action::Failed(wrong_code_in(lang, left)), NOW);
            let said = &flow.notice.as_ref().unwrap().text;
            assert_eq!(said, &catalogue.plural("refusal.wrong", left.into(), &[]));
        }
        assert_eq!(
            flow.resend_button(NOW).label,
            catalogue.text("ui.resend_in", &[("time", "0:30")])
        );
        flow.update(Action::CodeInput("12".into()), NOW);
        flow.update(Action::SubmitCode, NOW);
        assert_eq!(
            flow.notice.as_ref().unwrap().text,
            catalogue.text("ui.enter_all", &[("length", "6")])
        );
        // The code running out on this clock is said in the language too.
        let expired = flow.shown_notice(NOW + 300_000.0).unwrap();
        assert_eq!(expired.text, catalogue.text("refusal.expired", &[]));
        assert_eq!(
            flow.recovery_button(&expired, NOW + 300_000.0)
                .unwrap()
                .label,
            catalogue.text("ui.new_code", &[])
        );
        // Starting over keeps the language.
        flow.update(Action::UseAnotherAddress, NOW);
        assert_eq!(flow.words.lang, lang);
    }
}

#[test]
fn a_rate_limit_counts_down_on_its_button_in_the_language() {
    let mut flow = speaking(otp_relay_shared::Lang::De);
    flow.update(Action::SubmitEmail, NOW);
    flow.update(Action::Failed(rate_limited(45)), NOW);
    let notice = flow.notice.clone().unwrap();
    let button = flow.recovery_button(&notice, NOW).unwrap();
    assert_eq!(button.label, "Erneut versuchen in 0:45");
    assert!(!button.enabled);
    let button = flow.recovery_button(&notice, NOW + 45_000.0).unwrap();
    assert_eq!(button.label, "Erneut versuchen");
    assert!(button.enabled);
}

/// Each address refusal reads, in English, as the shared rule says it; in the other languages,
/// as their catalogue does.
#[test]
fn address_refusals_read_in_every_language() {
    use otp_relay_shared::{Catalogue, EmailError, Lang};
    for error in EmailError::every_kind() {
        assert_eq!(
            address_refusal(crate::words::Words::english(), &error),
            error.to_string()
        );
        for lang in [Lang::De, Lang::Ja, Lang::Ar] {
            let expected = Catalogue::builtin(lang).address_refusal(&error);
            assert_eq!(
                address_refusal(crate::words::builtin(lang), &error),
                expected
            );
        }
    }
    let mut flow = speaking(Lang::De);
    flow.email_input = "ada example.com".into();
    flow.update(Action::SubmitEmail, NOW);
    assert_eq!(
        flow.email_error(),
        Some("Eine E-Mail-Adresse darf keine Leerzeichen enthalten.")
    );
}

fn paid_send(email: &str, pow: &str) -> Option<Effect> {
    Some(Effect::Ask(Request::Send(CreateChallengeRequest {
        email: email.into(),
        lang: None,
        pow: Some(pow.into()),
        link: None,
    })))
}

fn pow_challenge(maxnumber: u64) -> PowChallenge {
    PowChallenge {
        algorithm: "SHA-256".into(),
        challenge: "ab".repeat(32),
        maxnumber,
        salt: "00?expires=1&".into(),
        signature: "cd".repeat(32),
    }
}

fn pow_required(maxnumber: u64) -> Failure {
    Failure::Refused(ErrorDetail {
        code: ErrorCode::PowRequired,
        message: "Finish the check.".into(),
        attempts_left: None,
        retry_after: None,
        pow: Some(pow_challenge(maxnumber)),
    })
}

#[test]
fn a_fresh_flow_starts_on_its_proof_of_work_at_once() {
    let mut flow = Flow::new("ada@example.com");
    assert_eq!(
        flow.pow_job.take(),
        Some(PowJob {
            generation: 0,
            challenge: None
        })
    );
    assert_eq!(flow.pow, Pow::Working);
}

#[test]
fn a_solution_ready_before_the_click_is_spent_at_once_and_the_next_one_started() {
    let mut flow = Flow::new("ada@example.com");
    flow.pow_job.take();
    assert_eq!(flow.update(Action::PowSolved(0, "p0".into()), NOW), None);
    assert_eq!(
        flow.update(Action::SubmitEmail, NOW),
        paid_send("ada@example.com", "p0")
    );
    assert!(!flow.paying());
    assert_eq!(
        flow.main_label(words::UI_SEND, Busy::Sending, words::UI_SENDING),
        "Sending…"
    );
    // Spent: the next send (a resend, another address) gets a new one.
    let next = flow.pow_job.take().unwrap();
    assert_eq!((next.generation, next.challenge), (1, None));
    assert_eq!(flow.pow, Pow::Working);
}

#[test]
fn a_click_before_the_solution_waits_for_it_and_says_it_is_working() {
    let mut flow = Flow::new("ada@example.com");
    flow.pow_job.take();
    assert_eq!(flow.update(Action::SubmitEmail, NOW), None);
    assert!(flow.paying());
    assert_eq!(flow.busy, Busy::Sending);
    assert_eq!(
        flow.main_label(words::UI_SEND, Busy::Sending, words::UI_SENDING),
        "Working…"
    );
    // A second click changes nothing.
    assert_eq!(flow.update(Action::SubmitEmail, NOW), None);
    // A result of an older job is not this one.
    assert_eq!(flow.update(Action::PowSolved(7, "old".into()), NOW), None);
    assert!(flow.paying());
    assert_eq!(
        flow.update(Action::PowSolved(0, "p0".into()), NOW),
        paid_send("ada@example.com", "p0")
    );
    assert!(!flow.paying());
    assert_eq!(
        flow.main_label(words::UI_SEND, Busy::Sending, words::UI_SENDING),
        "Sending…"
    );
}

#[test]
fn pow_required_is_solved_and_sent_again_without_the_person_a_few_times() {
    let mut flow = Flow::new("ada@example.com");
    flow.pow_job.take();
    flow.update(Action::PowSolved(0, "p0".into()), NOW);
    flow.update(Action::SubmitEmail, NOW);
    let mut generation = flow.pow_job.take().unwrap().generation;
    for retry in 0..3 {
        // The relay wants a harder one: no message, still busy, that challenge solved.
        assert_eq!(
            flow.update(Action::Failed(pow_required(1_000 << retry)), NOW),
            None
        );
        assert_eq!(flow.notice, None);
        assert_eq!(flow.busy, Busy::Sending);
        assert!(flow.paying());
        let job = flow.pow_job.take().unwrap();
        assert!(job.generation > generation);
        generation = job.generation;
        assert_eq!(job.challenge, Some(pow_challenge(1_000 << retry)));
        let pow = format!("p{}", retry + 1);
        assert_eq!(
            flow.update(Action::PowSolved(generation, pow.clone()), NOW),
            paid_send("ada@example.com", &pow)
        );
        generation = flow.pow_job.take().unwrap().generation;
    }
    // Past that, the person is told, with a way forward.
    assert!(
        flow.update(Action::Failed(pow_required(64_000)), NOW)
            .is_some()
    );
    assert_eq!(flow.busy, Busy::Idle);
    let notice = flow.notice.clone().unwrap();
    assert_eq!(
        (notice.text.as_str(), notice.recovery),
        ("Finish the check.", Recovery::Retry)
    );
    // Trying again pays again, with the solution of the job still running.
    assert_eq!(flow.update(Action::Retry, NOW), None);
    assert!(flow.paying());
    assert_eq!(
        flow.update(Action::PowSolved(generation, "p9".into()), NOW),
        paid_send("ada@example.com", "p9")
    );
}

#[test]
fn a_relay_without_a_proof_of_work_gets_sends_without_one() {
    let mut flow = Flow::new("ada@example.com");
    flow.pow_job.take();
    flow.update(Action::SubmitEmail, NOW);
    assert_eq!(
        flow.update(Action::PowUnavailable(0), NOW),
        send("ada@example.com")
    );
    assert_eq!(flow.pow, Pow::Unavailable);
}

#[test]
fn a_resend_pays_too_and_another_address_starts_afresh() {
    let mut flow = Flow::new("ada@example.com");
    flow.pow_job.take();
    flow.update(Action::PowSolved(0, "p0".into()), NOW);
    flow.update(Action::SubmitEmail, NOW);
    let job = flow.pow_job.take().unwrap();
    flow.update(Action::Issued(challenge()), NOW);
    flow.update(Action::PowSolved(job.generation, "p1".into()), NOW);
    let later = NOW + 30_000.0;
    assert_eq!(
        flow.update(Action::Resend, later),
        Some(Effect::Ask(Request::Resend(ResendRequest {
            challenge: "tok".into(),
            email: "ada@example.com".into(),
            lang: None,
            pow: Some("p1".into()),
        })))
    );
    // Another address: a fresh flow, with a fresh proof of work.
    flow.update(Action::UseAnotherAddress, NOW);
    let job = flow.pow_job.take().unwrap();
    assert_eq!((job.generation, job.challenge), (0, None));
    flow.update(Action::PowSolved(0, "p2".into()), NOW);
    flow.email_input = "bob@example.com".into();
    assert_eq!(
        flow.update(Action::SubmitEmail, NOW),
        paid_send("bob@example.com", "p2")
    );
}

const PAGE: &str = "https://shop.example/signup?step=2";

/// What the browser's `decodeURIComponent` does with the escapes these tests use.
fn decode(text: &str) -> Option<String> {
    if text.contains('%') && !text.contains("%2B") && !text.contains("%40") {
        return None;
    }
    Some(text.replace("%2B", "+").replace("%40", "@"))
}

fn email_link() -> EmailLink {
    EmailLink {
        token: "tok".into(),
        secret: "c2VjcmV0LXNlY3JldC0xMjM".into(),
        email: "ada+x@example.com".into(),
        page: PAGE.into(),
    }
}

fn proof() -> VerifiedProof {
    VerifiedProof {
        email: "ada@example.com".into(),
        proof: "jwt".into(),
        expires_at: "2026-11-21T10:10:00Z".into(),
    }
}

#[test]
fn an_email_links_fragment_is_read_and_anything_else_is_not() {
    assert_eq!(
        EmailLink::from_fragment(
            "otp-link=tok.c2VjcmV0LXNlY3JldC0xMjM&email=ada%2Bx%40example.com",
            PAGE,
            decode
        ),
        Some(email_link())
    );
    for other in [
        "",
        "top",
        "otp-link=tok&email=a%40b.c",
        "otp-link=.s&email=a%40b.c",
        "otp-link=t.&email=a%40b.c",
        "otp-link=t.s",
        "otp-link=t.s&email=%4",
        "email=a%40b.c&otp-link=t.s",
    ] {
        assert_eq!(
            EmailLink::from_fragment(other, PAGE, decode),
            None,
            "{other}"
        );
    }
}

#[test]
fn a_site_that_wants_a_link_sends_its_page_with_each_new_code() {
    let mut flow = without_pow("ada@example.com");
    flow.link_page = Some(PAGE.into());
    let Some(Effect::Ask(Request::Send(request))) = flow.update(Action::SubmitEmail, NOW) else {
        panic!("a send");
    };
    assert_eq!(request.link.as_deref(), Some(PAGE));
    flow.update(Action::Failed(Failure::Unreachable), NOW);
    flow.update(Action::UseAnotherAddress, NOW);
    assert_eq!(
        flow.link_page.as_deref(),
        Some(PAGE),
        "kept for the next address"
    );
    flow.update(Action::Reset, NOW);
    assert_eq!(flow.link_page.as_deref(), Some(PAGE), "kept after a reset");
}

#[test]
fn a_page_opened_from_the_link_asks_for_a_click_and_sends_nothing_before_it() {
    let mut flow = without_pow("");
    assert_eq!(flow.update(Action::LinkOpened(email_link()), NOW), None);
    assert_eq!(flow.step(), Step::Confirm);
    assert_eq!(flow.email_input, "ada+x@example.com");
    // Nothing the page may do by itself verifies: only the person's confirmation.
    for action in [
        Action::SubmitCode,
        Action::Retry,
        Action::Resend,
        Action::SubmissionHeld,
    ] {
        assert_eq!(flow.update(action, NOW), None);
    }
    let confirmed = flow.update(Action::Confirm, NOW);
    assert_eq!(
        confirmed,
        Some(Effect::Ask(Request::Verify(VerifyRequest {
            challenge: "tok".into(),
            email: "ada+x@example.com".into(),
            code: None,
            link: Some("c2VjcmV0LXNlY3JldC0xMjM".into()),
            page: Some(PAGE.into()),
            lang: None,
        })))
    );
    assert_eq!(flow.busy, Busy::Verifying);
    assert_eq!(
        flow.update(Action::Confirm, NOW),
        None,
        "one request at a time"
    );
    assert_eq!(
        flow.update(Action::Verified(proof()), NOW),
        Some(Effect::Announce(proof()))
    );
    assert_eq!(flow.step(), Step::Verified);
}

#[test]
fn a_refused_link_says_why_and_offers_a_new_code_for_the_same_address() {
    let mut flow = without_pow("");
    flow.update(Action::LinkOpened(email_link()), NOW);
    flow.update(Action::Confirm, NOW);
    let message = "This link does not work on this page. Enter the code from the email instead.";
    flow.update(
        Action::Failed(api(ErrorCode::InvalidChallenge, message)),
        NOW,
    );
    let notice = flow.shown_notice(NOW).expect("a message");
    assert_eq!(notice.text, message);
    assert_eq!(notice.recovery, Recovery::NewCode);
    assert!(
        flow.recovery_button(&notice, NOW)
            .is_some_and(|b| b.enabled)
    );
    assert_eq!(flow.update(Action::NewCode, NOW), send("ada+x@example.com"));
}

#[test]
fn a_link_confirmed_in_another_tab_completes_only_the_flow_of_its_challenge() {
    let mut flow = at_code_step();
    assert_eq!(
        flow.update(Action::VerifiedElsewhere("other".into(), proof()), NOW),
        None
    );
    assert_eq!(flow.step(), Step::Code);
    assert_eq!(
        flow.update(Action::VerifiedElsewhere("tok".into(), proof()), NOW),
        Some(Effect::Announce(proof()))
    );
    assert_eq!(flow.step(), Step::Verified);
    let mut fresh = without_pow("");
    assert_eq!(
        fresh.update(Action::VerifiedElsewhere("tok".into(), proof()), NOW),
        None
    );
}
