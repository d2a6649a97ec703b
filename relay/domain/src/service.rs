//! The verification service: issue a challenge and send its code, resend it, verify a code. The
//! checks run in the order docs/security.md demands: code format, token integrity and address
//! binding, already used, expired, attempts counted atomically before the outcome of the
//! constant-time comparison counts for anything, then the proof. What a request reads and
//! writes in the store is one [`Plan`], built step by step with how each step's refusal is
//! answered, and run as one call: one round trip to a shared store. No code is ever stored: it is re-derived from the token's nonce.
//! Time comes from the [`Clock`] the service is given, never from the system, and everything the
//! store keeps about a challenge lives until the challenge's own expiry on that clock (plus a
//! margin), so no step of the clock can outlive a used mark or an attempt count.
//!
//! Send limits and the failure budget are kept per mailbox (`EmailAddress::mailbox`), not per
//! spelling of an address, twice: each client network has a share of its own, and the mailbox a
//! higher total over all networks, so that a stranger spends their own share and not the
//! owner's (docs/security.md, A27). A refused request leaves no counter behind.

use crate::clock::{Clock, UnixTime};
use crate::code::{codes_match, derive_code, derive_link_secret, link_secrets_match};
use crate::delivery::{CodeEmail, Delivery};
use crate::error::{ApiError, Limit};
use crate::hex;
use crate::keys::KeyRing;
use crate::policy::{Policy, Rate};
use crate::pow::{CheckedSolution, PowRefusal, PowSettings};
use crate::proof::{ProofClaims, ProofKeys, ProofSigner};
use crate::review::ReviewAddresses;
use crate::store::{AddressId, Count, Outcome, Plan, Step, Store, StoreKey};
use crate::token::{Challenge, MAX_LINK_LEN, TokenError, address_tag, site_tag};
use hmac::Mac;
use otp_relay_shared::pow::PowChallenge;
use otp_relay_shared::{Code, CodeError, EmailAddress};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Who is asking, as far as the flow cares.
#[derive(Debug, Clone)]
pub struct Requester {
    /// From the socket, or from a trusted proxy's header.
    pub ip: IpAddr,
    /// The request's `Origin`, already checked against the allow-list.
    pub origin: Option<String>,
    /// The language to write to the person in: the body's `lang`, else `Accept-Language`.
    pub lang: otp_relay_shared::Lang,
}

/// What the service is given besides its collaborators: the rules, the keys and who it is.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    pub policy: Policy,
    pub keys: KeyRing,
    pub proof_keys: ProofKeys,
    /// As written by the operator: the proof's `iss`, and its `aud` without an `Origin`.
    pub public_url: String,
    /// Host of the public URL: for the autofill line when a request has no `Origin`.
    pub public_host: String,
    /// Each allowed origin's branding, when the operator set one.
    pub branding: std::collections::HashMap<String, Arc<crate::Brand>>,
    /// The proof of work a send costs.
    pub pow: PowSettings,
    /// Addresses with a fixed code and no email (`review.rs`).
    pub review: ReviewAddresses,
}

/// The domain service: the whole flow, over a store, a delivery and a clock it is given.
pub struct VerificationService {
    settings: ServiceSettings,
    store: Arc<dyn Store>,
    delivery: Arc<dyn Delivery>,
    clock: Arc<dyn Clock>,
    proof: ProofSigner,
}

/// Kept in the store a little past expiry so that clock skew between relays never reopens a
/// used challenge.
pub(crate) const STORE_MARGIN: Duration = Duration::from_secs(60);

fn parse_email(raw: &str) -> Result<EmailAddress, ApiError> {
    EmailAddress::parse(raw).map_err(ApiError::invalid_email)
}

fn token_error(error: TokenError) -> ApiError {
    tracing::debug!(%error, "challenge refused");
    ApiError::invalid_challenge()
}

/// What a verify answers a challenge with: the code the person typed, or the secret of the
/// email's link and the page it was opened on (docs/security.md, A32).
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    Code(&'a str),
    Link { secret: &'a str, page: &'a str },
}

/// A verify's answer once its code is known to have the code's form.
enum Submitted<'a> {
    Code(Code),
    Link { secret: &'a str, page: &'a str },
}

/// The page a link may open, as the URL parser writes it and without a fragment (the link brings
/// its own): an `http(s)` URL on the requester's own `Origin`, without credentials, of at most
/// [`MAX_LINK_LEN`] bytes. `None` for anything else, and for a request without an `Origin`.
pub fn link_page(raw: &str, origin: Option<&str>) -> Option<String> {
    let mut url = url::Url::parse(raw).ok()?;
    if !matches!(url.scheme(), "https" | "http")
        || !url.username().is_empty()
        || url.password().is_some()
        || Some(url.origin().ascii_serialization().as_str()) != origin
    {
        return None;
    }
    url.set_fragment(None);
    let page = String::from(url);
    (page.len() <= MAX_LINK_LEN).then_some(page)
}

/// The link an email carries: the page, with the challenge, the link secret and the address in
/// the fragment, which no browser sends to a server.
fn link_url(page: &str, token: &str, secret: &str, email: &EmailAddress) -> String {
    let address: String = url::form_urlencoded::byte_serialize(email.as_str().as_bytes()).collect();
    format!("{page}#otp-link={token}.{secret}&email={address}")
}

/// A code sent, or sent again: what the client is told, in the domain's types (the HTTP layer
/// writes it as the API's `ChallengeResponse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The challenge token.
    pub token: String,
    /// The normalised address the code went to.
    pub email: EmailAddress,
    pub code_length: usize,
    pub expires_at: UnixTime,
    /// When the next resend is allowed.
    pub resend_at: UnixTime,
    pub attempts_left: u32,
    pub sends_left: u32,
    /// The difficulty of the proof of work this send paid, if it needed one.
    pub pow_paid: Option<u64>,
    /// A review address: nothing was sent, the listed code verifies.
    pub review: bool,
}

/// An address verified, with its signed proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub email: EmailAddress,
    /// The proof (a JWT).
    pub proof: String,
    pub proof_expires_at: UnixTime,
    /// A review address's proof (it says so in its `review` claim).
    pub review: bool,
}

/// The keys of a mailbox's budgets as seen from one client network.
struct Budgets {
    share_sends: StoreKey,
    total_sends: StoreKey,
    share_failures: StoreKey,
    total_failures: StoreKey,
}

impl VerificationService {
    pub fn new(
        settings: ServiceSettings,
        store: Arc<dyn Store>,
        delivery: Arc<dyn Delivery>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let proof = ProofSigner::new(&settings.proof_keys);
        VerificationService {
            settings,
            store,
            delivery,
            clock,
            proof,
        }
    }

    /// The store's pseudonym for the mailbox an address reaches: a keyed hash, so the store never
    /// holds addresses, of the canonical mailbox, so `ada+1@` and `Ada@` share one budget.
    fn mailbox_id(&self, email: &EmailAddress) -> AddressId {
        let mut mac = self.settings.keys.store_key().mac();
        mac.update(email.mailbox().as_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        id
    }

    fn site_host(&self, requester: &Requester) -> String {
        requester
            .origin
            .as_deref()
            .and_then(|origin| url::Url::parse(origin).ok())
            .and_then(|url| url.host_str().map(str::to_string))
            .unwrap_or_else(|| self.settings.public_host.clone())
    }

    /// Now, in the whole seconds a token's times are made of.
    fn now_in_whole_seconds(&self) -> UnixTime {
        UnixTime::from_secs(self.clock.now().secs())
    }

    /// How long the store must keep what it knows about `challenge`: until the challenge expires
    /// on this clock, and a margin for relays whose clocks differ a little. Anchored to the
    /// token's expiry rather than to the first use, so a clock stepped back between issue and
    /// verify cannot make an attempt count vanish while the token is still good.
    fn challenge_lifetime(&self, challenge: &Challenge) -> Duration {
        challenge.expires_at.since(self.now_in_whole_seconds()) + STORE_MARGIN
    }

    /// The store's pseudonym for a mailbox as asked about from one client network (an IPv4 /24
    /// or an IPv6 /48): that network's share of the mailbox's budgets, which only it can spend.
    fn network_mailbox_id(mailbox: AddressId, ip: IpAddr, keys: &KeyRing) -> AddressId {
        let mut mac = keys.store_key().mac();
        mac.update(b"network-share\0");
        mac.update(&mailbox);
        mac.update(crate::network::network(ip).as_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        id
    }

    /// The budgets a mailbox has, as seen from `requester`'s network: its own share, and the
    /// mailbox's total over every network.
    fn budgets(&self, mailbox: AddressId, requester: &Requester) -> Budgets {
        let share = Self::network_mailbox_id(mailbox, requester.ip, &self.settings.keys);
        Budgets {
            share_sends: StoreKey::NetworkAddressSends(share),
            total_sends: StoreKey::AddressSends(mailbox),
            share_failures: StoreKey::NetworkAddressFailures(share),
            total_failures: StoreKey::AddressFailures(mailbox),
        }
    }

    /// Adds a send's limits to `request`, in this order: the mailbox's failure budgets (this
    /// network's share, then the total: a mailbox that has used one gets no more codes from
    /// where it was used until it recovers), the per-client send limit, and the mailbox's send
    /// limits (this network's share, then the total). Answers the steps of the mailbox's send
    /// counts, which a send that could not be delivered gives back.
    fn add_send_limits(&self, request: &mut Request, budgets: &Budgets) -> [usize; 2] {
        let policy = &self.settings.policy;
        for (key, rate, limit) in [
            (
                &budgets.share_failures,
                policy.failures_per_address,
                Limit::NetworkAddressFailures,
            ),
            (
                &budgets.total_failures,
                policy.failures_per_address_total,
                Limit::AddressFailures,
            ),
        ] {
            request.add(
                Step::Peek {
                    key: key.clone(),
                    limit: Some(rate.count),
                },
                Refusal::Limited(limit),
            );
        }
        let client_sends = request.client_sends();
        let mut count = |key: &StoreKey, rate: Rate, limit: Limit| {
            request.add(
                Step::Count {
                    key: key.clone(),
                    window: rate.window,
                    limit: Some(rate.count),
                    kept: false,
                },
                Refusal::Limited(limit),
            )
        };
        count(&client_sends, policy.sends_per_ip, Limit::ClientSends);
        [
            count(
                &budgets.share_sends,
                policy.sends_per_address,
                Limit::NetworkAddressSends,
            ),
            count(
                &budgets.total_sends,
                policy.sends_per_address_total,
                Limit::AddressSends,
            ),
        ]
    }

    async fn deliver(
        &self,
        email: &EmailAddress,
        challenge: &Challenge,
        token: &str,
        requester: &Requester,
    ) -> Result<(), ApiError> {
        let keys = self
            .settings
            .keys
            .by_kid(&challenge.kid)
            .ok_or_else(ApiError::invalid_challenge)?;
        if self.settings.review.code_for(email).is_some() {
            tracing::info!(to = %email.masked(), challenge = %short_id(challenge), "review address: no email sent");
            return Ok(());
        }
        let code = derive_code(keys, &challenge.nonce, self.settings.policy.code_length);
        let lifetime = challenge.expires_at.since(self.now_in_whole_seconds());
        let link = challenge.link.as_deref().map(|page| {
            link_url(
                page,
                token,
                &derive_link_secret(keys, &challenge.nonce, page),
                email,
            )
        });
        let message = CodeEmail {
            to: email.clone(),
            code,
            link,
            lifetime,
            site_host: self.site_host(requester),
            lang: requester.lang,
            brand: requester
                .origin
                .as_ref()
                .and_then(|origin| self.settings.branding.get(origin))
                .cloned(),
        };
        match self.delivery.deliver(message).await {
            Ok(()) => {
                tracing::info!(to = %email.masked(), challenge = %short_id(challenge), "code sent");
                Ok(())
            }
            Err(error) => {
                tracing::warn!(
                    to = %email.masked(),
                    hint = %error.hint,
                    detail = %error.detail,
                    "delivery failed"
                );
                Err(ApiError::delivery_failed())
            }
        }
    }

    fn response(
        &self,
        token: String,
        email: &EmailAddress,
        challenge: &Challenge,
        resend_at: u64,
        attempts_used: u64,
        sends_used: u64,
    ) -> Sent {
        let policy = &self.settings.policy;
        Sent {
            token,
            email: email.clone(),
            code_length: policy.code_length,
            expires_at: challenge.expires_at,
            resend_at: UnixTime::from_secs(resend_at),
            attempts_left: u32::try_from(
                u64::from(policy.max_attempts).saturating_sub(attempts_used),
            )
            .unwrap_or(0),
            sends_left: u32::try_from(
                u64::from(policy.sends_per_challenge).saturating_sub(sends_used),
            )
            .unwrap_or(0),
            pow_paid: None,
            review: self.settings.review.code_for(email).is_some(),
        }
    }

    /// A fresh challenge at `maxnumber` for the network whose tag is `net`.
    fn fresh_pow(&self, net: &str, maxnumber: u64) -> PowChallenge {
        crate::pow::issue_for(
            &self.settings.keys,
            net,
            maxnumber,
            self.now_in_whole_seconds(),
            self.settings.pow.lifetime,
        )
    }

    /// A new request's plan, for `requester`.
    fn request(&self, requester: &Requester) -> Request<'_> {
        Request {
            service: self,
            ip: requester.ip,
            plan: Plan::default(),
            refusals: Vec::new(),
            pow_reads: None,
        }
    }

    /// `GET /api/v1/pow`: a challenge at the difficulty `requester` needs now.
    pub async fn pow_challenge(&self, requester: &Requester) -> Result<PowChallenge, ApiError> {
        let mut request = self.request(requester);
        request.read_pow_counts();
        let answers = request.run().await?;
        let maxnumber = request.pow_needed(&answers);
        Ok(self.fresh_pow(&request.net(), maxnumber))
    }

    /// The base difficulty, for reading a challenge's level (`maxnumber / base`).
    pub fn pow_base(&self) -> u64 {
        self.settings.pow.base.max(1)
    }

    /// Checks a send's payment, `solution` (docs/security.md, A25), as far as it can be without
    /// the store. `Ok(None)`: `requester` needs none.
    fn check_payment(
        &self,
        solution: Option<&str>,
        requester: &Requester,
        net: &str,
    ) -> Result<Option<CheckedSolution>, PowRefusal> {
        if !self.settings.pow.required_of(requester.ip) {
            return Ok(None);
        }
        let sent = solution.ok_or(PowRefusal::Missing)?;
        let solution = crate::pow::decode_solution(sent).ok_or(PowRefusal::Invalid)?;
        crate::pow::check_for(&self.settings.keys, &solution, net, self.clock.now()).map(Some)
    }

    /// Adds a send's payment to `request`: the solution must be at least as hard as the
    /// difficulty needed now (`pow::difficulty`, from the network's sends in the window and the
    /// relay's sends this minute, read in the same call) and is claimed, held, so that it is
    /// spent once; once the send goes ahead it stays spent, whatever comes of the delivery.
    /// Answers the difficulty paid, if any; or the refusal to answer, once the steps before
    /// it passed, with a fresh challenge at the difficulty needed now.
    fn add_payment(
        &self,
        request: &mut Request,
        solution: Option<&str>,
        requester: &Requester,
    ) -> Result<Option<u64>, Refusal> {
        let checked = match self.check_payment(solution, requester, &request.net()) {
            Ok(None) => return Ok(None),
            Ok(Some(checked)) => checked,
            Err(refusal) => {
                request.read_pow_counts();
                return Err(Refusal::Pow(refusal));
            }
        };
        let (sends, rate) = request.read_pow_counts();
        request.add(
            Step::Within {
                sends,
                rate,
                corners: crate::pow::corners(&self.settings.pow, checked.maxnumber),
            },
            Refusal::Pow(PowRefusal::TooEasy),
        );
        let lifetime = checked.expires_at.since(self.now_in_whole_seconds()) + STORE_MARGIN;
        request.add(
            Step::Claim {
                key: StoreKey::PowSpent(checked.id),
                ttl: lifetime,
            },
            Refusal::Pow(PowRefusal::Replayed),
        );
        Ok(Some(checked.maxnumber))
    }

    /// The last step of a paid send: it counts towards the relay's sends this minute (the
    /// surge's measure), whatever comes of the delivery.
    fn add_surge_count(request: &mut Request, paid: Option<u64>) {
        if paid.is_some() {
            request.add(
                Step::Count {
                    key: StoreKey::SendsThisMinute,
                    window: Duration::from_secs(60),
                    limit: None,
                    kept: false,
                },
                Refusal::Never,
            );
        }
    }

    /// Whether the store answers: `/readyz`.
    pub async fn store_ready(&self) -> Result<(), ApiError> {
        self.store
            .ready()
            .await
            .map_err(|error| ApiError::store_not_ready(error.to_string()))
    }

    /// `POST /api/v1/challenges`, paid for with `pow` where the requester needs one.
    pub async fn issue(
        &self,
        raw_email: &str,
        pow: Option<&str>,
        link: Option<&str>,
        requester: &Requester,
    ) -> Result<Sent, ApiError> {
        let email = parse_email(raw_email)?;
        let link = match link {
            Some(raw) => {
                Some(link_page(raw, requester.origin.as_deref()).ok_or_else(ApiError::link_page)?)
            }
            None => None,
        };
        let policy = &self.settings.policy;
        let budgets = self.budgets(self.mailbox_id(&email), requester);
        let mut request = self.request(requester);
        let paid = match self.add_payment(&mut request, pow, requester) {
            Ok(paid) => paid,
            Err(refusal) => return Err(request.refuse(refusal).await),
        };
        let mailbox_sends = self.add_send_limits(&mut request, &budgets);
        Self::add_surge_count(&mut request, paid);
        let answers = request.run().await?;

        // Nothing about the challenge itself is stored: its first resend waits from the issue
        // time the token carries.
        let now = self.clock.now();
        let keys = self.settings.keys.signing();
        let challenge = Challenge {
            kid: keys.kid.clone(),
            epoch: self.store.epoch(),
            issued_at: UnixTime::from_secs(now.secs()),
            expires_at: UnixTime::from_secs(now.secs()) + policy.ttl,
            nonce: crate::random::bytes::<16>(),
            address_tag: address_tag(keys, &email),
            site_tag: site_tag(keys, requester.origin.as_deref()),
            link,
        };
        let token = challenge.encode(keys);
        if let Err(error) = self.deliver(&email, &challenge, &token, requester).await {
            // A send that cannot be delivered is refunded to the person, so an outage does not
            // lock them out, but still counts against the client, so that nobody drives
            // unlimited SMTP transactions (A19); its proof of work is spent too.
            request.give_back(&answers, &mailbox_sends).await;
            return Err(error);
        }
        Ok(Sent {
            pow_paid: paid,
            ..self.response(
                token,
                &email,
                &challenge,
                (challenge.issued_at + policy.resend_after).secs(),
                0,
                1,
            )
        })
    }

    /// Decodes a token for this address and this site, and adds the check that it was not used
    /// to `request`. Answers the challenge and, for one that expired, the refusal to answer
    /// once that check passed (a used challenge is "already used" even after it expired).
    fn open(
        &self,
        request: &mut Request,
        token: &str,
        email: &EmailAddress,
        requester: &Requester,
    ) -> Result<(Challenge, Option<Refusal>), ApiError> {
        let challenge = Challenge::decode_for(
            token,
            email,
            requester.origin.as_deref(),
            &self.settings.keys,
        )
        .map_err(token_error)?;
        request.add(
            Step::Unset(StoreKey::Used(challenge.id())),
            Refusal::Error(ApiError::already_used()),
        );
        let expired = if challenge.epoch != self.store.epoch() {
            Some(ApiError::expired_by_restart())
        } else if self.clock.now() >= challenge.expires_at {
            Some(ApiError::expired())
        } else {
            None
        };
        Ok((challenge, expired.map(Refusal::Error)))
    }

    /// `POST /api/v1/challenges/resend`: the same code again, same expiry, same attempts.
    pub async fn resend(
        &self,
        token: &str,
        raw_email: &str,
        pow: Option<&str>,
        requester: &Requester,
    ) -> Result<Sent, ApiError> {
        let email = parse_email(raw_email)?;
        let mut request = self.request(requester);
        let (challenge, expired) = self.open(&mut request, token, &email, requester)?;
        if let Some(refusal) = expired {
            return Err(request.refuse(refusal).await);
        }
        let policy = &self.settings.policy;
        let id = challenge.id();
        let lifetime = self.challenge_lifetime(&challenge);
        let attempts = request.add(
            Step::Peek {
                key: StoreKey::Attempts(id),
                limit: Some(u64::from(policy.max_attempts)),
            },
            Refusal::Error(ApiError::too_many_attempts()),
        );
        let now = self.clock.now();
        let until_expiry = challenge
            .expires_at
            .since(UnixTime::from_secs(now.secs()))
            .as_secs();
        let no_resends_left =
            || Refusal::Error(ApiError::rate_limited(until_expiry, Limit::NoResendsLeft));
        // The issue is the first send; only resends are counted, from the first resend on.
        let sends_key = StoreKey::ChallengeSends(id);
        let resends_allowed = u64::from(policy.sends_per_challenge).saturating_sub(1);
        request.add(
            Step::Peek {
                key: sends_key.clone(),
                limit: Some(resends_allowed),
            },
            no_resends_left(),
        );
        // The first wait runs from the issue time in the token; later ones from each resend.
        let first_allowed = challenge.issued_at + policy.resend_after;
        if now < first_allowed {
            let wait = ApiError::rate_limited(
                first_allowed.since(now).as_secs_f64().ceil() as u64,
                Limit::ResendWait,
            );
            return Err(request.refuse(Refusal::Error(wait)).await);
        }
        let paid = match self.add_payment(&mut request, pow, requester) {
            Ok(paid) => paid,
            Err(refusal) => return Err(request.refuse(refusal).await),
        };
        let cooldown = request.add(
            Step::Claim {
                key: StoreKey::ResendCooldown(id),
                ttl: policy.resend_after,
            },
            Refusal::ResendWait,
        );
        // A parallel resend may have taken the last one since the read above.
        let resends = request.add(
            Step::Count {
                key: sends_key,
                window: lifetime,
                limit: Some(resends_allowed),
                kept: false,
            },
            no_resends_left(),
        );
        let budgets = self.budgets(self.mailbox_id(&email), requester);
        let [share_sends, total_sends] = self.add_send_limits(&mut request, &budgets);
        Self::add_surge_count(&mut request, paid);
        let answers = request.run().await?;
        if let Err(error) = self.deliver(&email, &challenge, token, requester).await {
            // As in `issue`; and its wait and its count are given back too, so a mail server
            // outage does not use up a person's resends (invariant 7).
            request
                .give_back(&answers, &[cooldown, resends, share_sends, total_sends])
                .await;
            return Err(error);
        }
        Ok(Sent {
            pow_paid: paid,
            ..self.response(
                token.to_string(),
                &email,
                &challenge,
                (now + policy.resend_after).secs_ceil(),
                answers[attempts].value,
                answers[resends].value + 1,
            )
        })
    }

    /// `POST /api/v1/challenges/verify`, with the code or the email's link.
    pub async fn verify(
        &self,
        token: &str,
        raw_email: &str,
        answer: Answer<'_>,
        requester: &Requester,
    ) -> Result<Verified, ApiError> {
        let policy = &self.settings.policy;
        let submitted = match answer {
            Answer::Code(raw_code) => Submitted::Code(
                Code::parse(raw_code, policy.code_length)
                    .map_err(|_: CodeError| ApiError::invalid_code_format(policy.code_length))?,
            ),
            Answer::Link { secret, page } => Submitted::Link { secret, page },
        };
        let email = parse_email(raw_email)?;
        let mut request = self.request(requester);
        let (challenge, expired) = self.open(&mut request, token, &email, requester)?;
        if let Some(refusal) = expired {
            return Err(request.refuse(refusal).await);
        }
        let id = challenge.id();
        let lifetime = self.challenge_lifetime(&challenge);
        let keys = self
            .settings
            .keys
            .by_kid(&challenge.kid)
            .ok_or_else(ApiError::invalid_challenge)?;
        let review = self.settings.review.code_for(&email);
        let right = match submitted {
            Submitted::Code(submitted) => {
                let expected = match review {
                    Some(listed) => listed.clone(),
                    None => derive_code(keys, &challenge.nonce, policy.code_length),
                };
                // Compared here, in constant time, but acted on only through the plan below,
                // which counts the attempt and, for a wrong code, the failures before anything
                // depends on the comparison: parallel guesses cannot exceed either budget
                // (docs/security.md, 4).
                codes_match(&submitted, &expected)
            }
            // A link's secret has 128 bits, so a wrong one is a changed link, not a guess: it is
            // refused without using an attempt, after the check that the challenge was not used
            // (A32). Opened on another page than the one bound into the challenge, it is
            // refused too, even with its own secret.
            Submitted::Link { secret, page } => {
                let opened_on = link_page(page, requester.origin.as_deref());
                let fits = match (challenge.link.as_deref(), opened_on.as_deref()) {
                    (Some(bound), Some(opened)) if bound == opened => link_secrets_match(
                        secret,
                        &derive_link_secret(keys, &challenge.nonce, bound),
                    ),
                    _ => false,
                };
                if !fits {
                    tracing::info!(reason = "link_refused", to = %email.masked(), challenge = %short_id(&challenge), "link refused");
                    return Err(request
                        .refuse(Refusal::Error(ApiError::link_refused()))
                        .await);
                }
                true
            }
        };
        let attempts = request.add(
            Step::Count {
                key: StoreKey::Attempts(id),
                window: lifetime,
                limit: Some(u64::from(policy.max_attempts)),
                kept: true,
            },
            Refusal::Error(ApiError::too_many_attempts()),
        );
        // This network's share of the mailbox's failure budget first, so that a stranger who
        // spent theirs is refused before touching the total the owner relies on. A wrong code
        // counts against both; the right one only needs both to have room left.
        let budgets = self.budgets(self.mailbox_id(&email), requester);
        for (key, rate) in [
            (&budgets.share_failures, policy.failures_per_address),
            (&budgets.total_failures, policy.failures_per_address_total),
        ] {
            let step = if right {
                Step::Peek {
                    key: key.clone(),
                    limit: Some(rate.count),
                }
            } else {
                Step::Count {
                    key: key.clone(),
                    window: rate.window,
                    limit: Some(rate.count),
                    kept: false,
                }
            };
            request.add(step, Refusal::Locked);
        }
        if right {
            request.add(
                Step::Claim {
                    key: StoreKey::Used(id),
                    ttl: lifetime,
                },
                Refusal::Error(ApiError::already_used()),
            );
        }
        let answers = request.run().await?;
        if !right {
            let left = u64::from(policy.max_attempts).saturating_sub(answers[attempts].value);
            tracing::info!(reason = "wrong_code", to = %email.masked(), challenge = %short_id(&challenge), attempts_left = left, "wrong code");
            return Err(ApiError::wrong_code(u32::try_from(left).unwrap_or(0)));
        }

        let now = self.clock.now().secs();
        let proof_expires_at = now + policy.proof_ttl.as_secs();
        let claims = ProofClaims {
            iss: self.settings.public_url.clone(),
            sub: email.to_string(),
            email: email.to_string(),
            email_verified: true,
            aud: requester
                .origin
                .clone()
                .unwrap_or_else(|| self.settings.public_url.clone()),
            iat: now,
            exp: proof_expires_at,
            jti: hex(&crate::random::bytes::<16>()),
            review: review.is_some(),
        };
        let proof = self.proof.sign(&claims).map_err(|error| {
            tracing::error!(%error, "could not sign a proof");
            ApiError::internal()
        })?;
        tracing::info!(to = %email.masked(), challenge = %short_id(&challenge), aud = %claims.aud, "address verified");
        Ok(Verified {
            email,
            proof,
            proof_expires_at: UnixTime::from_secs(proof_expires_at),
            review: review.is_some(),
        })
    }
}

/// How the refusal of one step of a request's plan is answered.
enum Refusal {
    /// As this error.
    Error(ApiError),
    /// `rate_limited` by this limit, until the refusing count resets.
    Limited(Limit),
    /// `address_locked` until the refusing failure count resets.
    Locked,
    /// `rate_limited` until the resend wait (the refusing claim) ends.
    ResendWait,
    /// `pow_required` with a fresh challenge at the difficulty needed now, read by the plan.
    Pow(PowRefusal),
    /// A step that never refuses.
    Never,
}

/// One request's work in the store, built step by step, then run as one call.
struct Request<'s> {
    service: &'s VerificationService,
    /// Who asks: their send counter and network tag are made from it only where a request
    /// needs them (a verify needs neither).
    ip: IpAddr,
    plan: Plan,
    /// How each step's refusal is answered.
    refusals: Vec<Refusal>,
    /// The steps that read the network's sends and the relay's sends this minute.
    pow_reads: Option<(usize, usize)>,
}

impl Request<'_> {
    /// Adds a step and how its refusal is answered; answers the step's place in the plan.
    fn add(&mut self, step: Step, refusal: Refusal) -> usize {
        self.plan.steps.push(step);
        self.refusals.push(refusal);
        self.plan.steps.len() - 1
    }

    /// The requester's network tag, which proof-of-work challenges are bound to.
    fn net(&self) -> String {
        crate::pow::network_tag(&self.service.settings.keys, self.ip)
    }

    /// The requester's send counter.
    fn client_sends(&self) -> StoreKey {
        StoreKey::ClientSends(crate::network::client_bucket(self.ip))
    }

    /// Adds the reads the proof-of-work difficulty is computed from (once); answers their steps.
    fn read_pow_counts(&mut self) -> (usize, usize) {
        if let Some(reads) = self.pow_reads {
            return reads;
        }
        let client_sends = self.client_sends();
        let mut read = |key: StoreKey| self.add(Step::Peek { key, limit: None }, Refusal::Never);
        let reads = (read(client_sends), read(StoreKey::SendsThisMinute));
        self.pow_reads = Some(reads);
        reads
    }

    /// The difficulty needed now, from the plan's reads.
    fn pow_needed(&self, answers: &[Count]) -> u64 {
        let read = |step: Option<usize>| {
            step.and_then(|step| answers.get(step))
                .map_or(0, |count| count.value)
        };
        crate::pow::difficulty(
            &self.service.settings.pow,
            read(self.pow_reads.map(|(sends, _)| sends)),
            read(self.pow_reads.map(|(_, rate)| rate)),
        )
    }

    /// Runs the plan: every step's answer, or the first refusal's error.
    async fn run(&mut self) -> Result<Vec<Count>, ApiError> {
        match self.service.store.run(&self.plan).await? {
            Outcome::Done(answers) => Ok(answers),
            Outcome::Refused { at, answers } => {
                let refusal = std::mem::replace(&mut self.refusals[at], Refusal::Never);
                Err(self.answer(refusal, &answers[at], &answers))
            }
        }
    }

    /// Runs the plan so far, then refuses with `refusal` unless one of its steps refused first.
    async fn refuse(mut self, refusal: Refusal) -> ApiError {
        match self.run().await {
            Ok(answers) => {
                let nothing = Count::default();
                self.answer(refusal, &nothing, &answers)
            }
            Err(error) => error,
        }
    }

    /// The error for `refusal`, given the refusing step's answer and the answers so far.
    fn answer(&self, refusal: Refusal, answer: &Count, answers: &[Count]) -> ApiError {
        match refusal {
            Refusal::Error(error) => error,
            Refusal::Limited(limit) => {
                ApiError::rate_limited(answer.resets_in.as_secs().max(1), limit)
            }
            Refusal::Locked => ApiError::address_locked(answer.resets_in.as_secs().max(1)),
            Refusal::ResendWait => ApiError::rate_limited(
                answer.resets_in.as_secs_f64().ceil() as u64,
                Limit::ResendWait,
            ),
            Refusal::Pow(refusal) => {
                let needed = self.pow_needed(answers);
                tracing::info!(
                    reason = "pow_required",
                    refusal = refusal.as_str(),
                    maxnumber = needed,
                    "send refused: no valid proof of work"
                );
                ApiError::pow_required(refusal, self.service.fresh_pow(&self.net(), needed))
            }
            Refusal::Never => {
                tracing::error!("a store step that never refuses refused");
                ApiError::internal()
            }
        }
    }

    /// Gives back what `steps` of the plan (answered `answers`) took, for a send that turned
    /// out not to count. A store that cannot take them back is logged: the counts then age out
    /// with their windows, the claims with their lifetimes.
    async fn give_back(&self, answers: &[Count], steps: &[usize]) {
        let mut plan = Plan::default();
        for &at in steps.iter().rev() {
            match (&self.plan.steps[at], answers.get(at)) {
                (Step::Count { key, .. }, Some(counted)) => plan.steps.push(Step::Uncount {
                    key: key.clone(),
                    counted: *counted,
                }),
                (Step::Claim { key, .. }, _) => plan.steps.push(Step::Release(key.clone())),
                _ => {}
            }
        }
        if let Err(error) = self.service.store.run(&plan).await {
            tracing::warn!(%error, "could not give back what a failed send took");
        }
    }
}

/// The first 8 hex digits of a challenge id: enough to follow one challenge through the logs.
/// Written straight into the log line, with nothing allocated.
fn short_id(challenge: &Challenge) -> ShortId {
    let id = challenge.id();
    ShortId([id[0], id[1], id[2], id[3]])
}

struct ShortId([u8; 4]);

impl std::fmt::Display for ShortId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:08x}", u32::from_be_bytes(self.0))
    }
}
