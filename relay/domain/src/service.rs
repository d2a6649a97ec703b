//! The verification service: issue a challenge and send its code, resend it, verify a code. The
//! checks run in the order docs/security.md demands: code format, token integrity and address
//! binding, already used, expired, attempts counted atomically before the constant-time
//! comparison, then the proof. No code is ever stored: it is re-derived from the token's nonce.
//! Time comes from the [`Clock`] the service is given, never from the system, and everything the
//! store keeps about a challenge lives until the challenge's own expiry on that clock (plus a
//! margin), so no step of the clock can outlive a used mark or an attempt count.
//!
//! Send limits and the failure budget are kept per mailbox (`EmailAddress::mailbox`), not per
//! spelling of an address, twice: each client network has a share of its own, and the mailbox a
//! higher total over all networks, so that a stranger spends their own share and not the
//! owner's (docs/security.md, A27). A refused request leaves no counter behind.

use crate::clock::{Clock, UnixTime};
use crate::code::{codes_match, derive_code};
use crate::delivery::{CodeEmail, Delivery};
use crate::error::{ApiError, Limit};
use crate::held::Held;
use crate::hex;
use crate::keys::KeyRing;
use crate::policy::{Policy, Rate};
use crate::pow::{PowRefusal, PowSettings};
use crate::proof::{ProofClaims, ProofKeys, ProofSigner};
use crate::store::{AddressId, Count, Store, StoreKey};
use crate::token::{Challenge, TokenError, address_tag, site_tag};
use hmac::Mac;
use otp_relay_shared::pow::{PowChallenge, PowSolution};
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

/// Settles what a request held once it has an outcome: given back if it failed, kept if it
/// succeeded (what must stay either way, the request kept itself). The request runs as an
/// `async` block that borrows its [`Held`], rather than a closure, so that its future stays
/// `Send`.
async fn settle<T>(mut held: Held<'_>, outcome: Result<T, ApiError>) -> Result<T, ApiError> {
    if outcome.is_err() {
        held.give_back().await;
    }
    held.keep_all();
    outcome
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
}

/// An address verified, with its signed proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub email: EmailAddress,
    /// The proof (a JWT).
    pub proof: String,
    pub proof_expires_at: UnixTime,
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

    fn client_sends_key(requester: &Requester) -> StoreKey {
        StoreKey::ClientSends(crate::network::client_bucket(requester.ip))
    }

    fn site_host(&self, requester: &Requester) -> String {
        requester
            .origin
            .as_deref()
            .and_then(|origin| url::Url::parse(origin).ok())
            .and_then(|url| url.host_str().map(str::to_string))
            .unwrap_or_else(|| self.settings.public_host.clone())
    }

    /// Counts one send against a limit, held; over the limit, the answer is a `rate_limited`
    /// error (and the request's [`Held`] gives the count back with the rest).
    async fn take_send(
        held: &mut Held<'_>,
        key: &StoreKey,
        rate: Rate,
        limit: Limit,
    ) -> Result<Count, ApiError> {
        let count = held.count(key, rate.window).await?;
        if count.value > rate.count {
            return Err(ApiError::rate_limited(
                count.resets_in.as_secs().max(1),
                limit,
            ));
        }
        Ok(count)
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

    /// Checks, in this order, the mailbox's failure budgets (this network's share, then the
    /// total: a mailbox that has used one gets no more codes from where it was used until it
    /// recovers), the per-client send limit, and the mailbox's send limits (this network's share,
    /// then the total), holding each count it takes.
    async fn take_sends(
        &self,
        held: &mut Held<'_>,
        ip_key: &StoreKey,
        budgets: &Budgets,
    ) -> Result<(), ApiError> {
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
            let failures = self.store.count(key).await?;
            if failures.value >= rate.count {
                return Err(ApiError::rate_limited(
                    failures.resets_in.as_secs().max(1),
                    limit,
                ));
            }
        }
        Self::take_send(held, ip_key, policy.sends_per_ip, Limit::ClientSends).await?;
        Self::take_send(
            held,
            &budgets.share_sends,
            policy.sends_per_address,
            Limit::NetworkAddressSends,
        )
        .await?;
        Self::take_send(
            held,
            &budgets.total_sends,
            policy.sends_per_address_total,
            Limit::AddressSends,
        )
        .await?;
        Ok(())
    }

    async fn deliver(
        &self,
        email: &EmailAddress,
        challenge: &Challenge,
        requester: &Requester,
    ) -> Result<(), ApiError> {
        let keys = self
            .settings
            .keys
            .by_kid(&challenge.kid)
            .ok_or_else(ApiError::invalid_challenge)?;
        let code = derive_code(keys, &challenge.nonce, self.settings.policy.code_length);
        let lifetime = challenge.expires_at.since(self.now_in_whole_seconds());
        let message = CodeEmail {
            to: email.clone(),
            code,
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
        }
    }

    /// The proof-of-work difficulty a send from `requester` needs now: from its network's sends
    /// in the current window and the relay's sends in the current minute (`pow::difficulty`).
    async fn pow_difficulty(&self, requester: &Requester) -> Result<u64, ApiError> {
        let network_sends = self
            .store
            .count(&Self::client_sends_key(requester))
            .await?
            .value;
        let sends_this_minute = self.store.count(&StoreKey::SendsThisMinute).await?.value;
        Ok(crate::pow::difficulty(
            &self.settings.pow,
            network_sends,
            sends_this_minute,
        ))
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

    /// `GET /api/v1/pow`: a challenge at the difficulty `requester` needs now.
    pub async fn pow_challenge(&self, requester: &Requester) -> Result<PowChallenge, ApiError> {
        let maxnumber = self.pow_difficulty(requester).await?;
        let net = crate::pow::network_tag(&self.settings.keys, requester.ip);
        Ok(self.fresh_pow(&net, maxnumber))
    }

    /// The base difficulty, for reading a challenge's level (`maxnumber / base`).
    pub fn pow_base(&self) -> u64 {
        self.settings.pow.base.max(1)
    }

    /// Takes a send's payment: checks `solution` (docs/security.md, A25) and claims it, held, so
    /// it is spent once ([`Self::keep_payment`] keeps it once the send goes ahead). `Ok(None)`:
    /// this requester needs none. A refusal carries a fresh challenge at the difficulty needed now, and leaves nothing
    /// counted.
    async fn pay(
        &self,
        held: &mut Held<'_>,
        solution: Option<&PowSolution>,
        requester: &Requester,
    ) -> Result<Option<(StoreKey, u64)>, ApiError> {
        if !self.settings.pow.required_of(requester.ip) {
            return Ok(None);
        }
        let needed = self.pow_difficulty(requester).await?;
        let net = crate::pow::network_tag(&self.settings.keys, requester.ip);
        let refuse = |refusal: PowRefusal| {
            tracing::info!(
                reason = "pow_required",
                refusal = refusal.as_str(),
                maxnumber = needed,
                "send refused: no valid proof of work"
            );
            Err(ApiError::pow_required(
                refusal,
                self.fresh_pow(&net, needed),
            ))
        };
        let Some(solution) = solution else {
            return refuse(PowRefusal::Missing);
        };
        let checked =
            match crate::pow::check_for(&self.settings.keys, solution, &net, self.clock.now()) {
                Ok(checked) => checked,
                Err(refusal) => return refuse(refusal),
            };
        if checked.maxnumber < needed {
            return refuse(PowRefusal::TooEasy);
        }
        let spent = StoreKey::PowSpent(checked.id);
        let lifetime = checked.expires_at.since(self.now_in_whole_seconds()) + STORE_MARGIN;
        if held.claim(&spent, lifetime).await?.is_some() {
            return refuse(PowRefusal::Replayed);
        }
        Ok(Some((spent, checked.maxnumber)))
    }

    /// A send that passed its limits and goes ahead: its payment, if it made one, stays spent
    /// whatever comes of the delivery, and counts towards the relay's rate per minute (the
    /// surge's measure).
    async fn keep_payment(
        &self,
        held: &mut Held<'_>,
        paid: &Option<(StoreKey, u64)>,
    ) -> Result<(), ApiError> {
        let Some((spent, _)) = paid else {
            return Ok(());
        };
        held.keep(spent);
        let surge = StoreKey::SendsThisMinute;
        held.count(&surge, Duration::from_secs(60)).await?;
        held.keep(&surge);
        Ok(())
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
        pow: Option<&PowSolution>,
        requester: &Requester,
    ) -> Result<Sent, ApiError> {
        let email = parse_email(raw_email)?;
        let policy = &self.settings.policy;
        let ip_key = Self::client_sends_key(requester);
        let budgets = self.budgets(self.mailbox_id(&email), requester);
        let mut held = Held::new(self.store.as_ref());
        let outcome: Result<Sent, ApiError> = async {
            let held = &mut held;
            let paid = self.pay(held, pow, requester).await?;
            self.take_sends(held, &ip_key, &budgets).await?;
            // A send that cannot be delivered is refunded to the person, so an outage does not
            // lock them out, but still counts against the client, so that nobody drives
            // unlimited SMTP transactions (A19); its proof of work is spent too.
            held.keep(&ip_key);
            self.keep_payment(held, &paid).await?;

            // Nothing about the challenge itself is stored: its first resend waits from the
            // issue time the token carries.
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
            };
            self.deliver(&email, &challenge, requester).await?;
            let token = challenge.encode(keys);
            Ok(Sent {
                pow_paid: paid.map(|(_, maxnumber)| maxnumber),
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
        .await;
        settle(held, outcome).await
    }

    /// Decodes a token for this address and this site, and refuses used and expired ones.
    async fn open(
        &self,
        token: &str,
        email: &EmailAddress,
        requester: &Requester,
    ) -> Result<Challenge, ApiError> {
        let challenge = Challenge::decode_for(
            token,
            email,
            requester.origin.as_deref(),
            &self.settings.keys,
        )
        .map_err(token_error)?;
        if self
            .store
            .is_claimed(&StoreKey::Used(challenge.id()))
            .await?
        {
            return Err(ApiError::already_used());
        }
        if challenge.epoch != self.store.epoch() {
            return Err(ApiError::expired_by_restart());
        }
        if self.clock.now() >= challenge.expires_at {
            return Err(ApiError::expired());
        }
        Ok(challenge)
    }

    /// `POST /api/v1/challenges/resend`: the same code again, same expiry, same attempts.
    pub async fn resend(
        &self,
        token: &str,
        raw_email: &str,
        pow: Option<&PowSolution>,
        requester: &Requester,
    ) -> Result<Sent, ApiError> {
        let email = parse_email(raw_email)?;
        let challenge = self.open(token, &email, requester).await?;
        let policy = &self.settings.policy;
        let id = challenge.id();
        let attempts_used = self.store.count(&StoreKey::Attempts(id)).await?.value;
        if attempts_used >= u64::from(policy.max_attempts) {
            return Err(ApiError::too_many_attempts());
        }
        let now = self.clock.now();
        let until_expiry = challenge
            .expires_at
            .since(UnixTime::from_secs(now.secs()))
            .as_secs();
        let no_resends_left = || ApiError::rate_limited(until_expiry, Limit::NoResendsLeft);
        // The issue is the first send; only resends are counted, from the first resend on.
        let sends_key = StoreKey::ChallengeSends(id);
        let resends_allowed = u64::from(policy.sends_per_challenge).saturating_sub(1);
        if self.store.count(&sends_key).await?.value >= resends_allowed {
            return Err(no_resends_left());
        }
        // The first wait runs from the issue time in the token; later ones from each resend.
        let first_allowed = challenge.issued_at + policy.resend_after;
        if now < first_allowed {
            return Err(ApiError::rate_limited(
                first_allowed.since(now).as_secs_f64().ceil() as u64,
                Limit::ResendWait,
            ));
        }
        let cooldown_key = StoreKey::ResendCooldown(id);
        let ip_key = Self::client_sends_key(requester);
        let budgets = self.budgets(self.mailbox_id(&email), requester);
        // A resend refused or not delivered gives back its wait and its count, so a mail
        // server outage does not use up a person's resends (invariant 7).
        let mut held = Held::new(self.store.as_ref());
        let outcome: Result<Sent, ApiError> = async {
            let held = &mut held;
            let paid = self.pay(held, pow, requester).await?;
            if let Some(left) = held.claim(&cooldown_key, policy.resend_after).await? {
                return Err(ApiError::rate_limited(
                    left.as_secs_f64().ceil() as u64,
                    Limit::ResendWait,
                ));
            }
            let resends = held
                .count(&sends_key, self.challenge_lifetime(&challenge))
                .await?;
            if resends.value > resends_allowed {
                // A parallel resend took the last one.
                return Err(no_resends_left());
            }
            self.take_sends(held, &ip_key, &budgets).await?;
            // As in `issue`: refunded to the person, still counted against the client.
            held.keep(&ip_key);
            self.keep_payment(held, &paid).await?;
            self.deliver(&email, &challenge, requester).await?;
            Ok(Sent {
                pow_paid: paid.map(|(_, maxnumber)| maxnumber),
                ..self.response(
                    token.to_string(),
                    &email,
                    &challenge,
                    (now + policy.resend_after).secs_ceil(),
                    attempts_used,
                    resends.value + 1,
                )
            })
        }
        .await;
        settle(held, outcome).await
    }

    /// `POST /api/v1/challenges/verify`.
    pub async fn verify(
        &self,
        token: &str,
        raw_email: &str,
        raw_code: &str,
        requester: &Requester,
    ) -> Result<Verified, ApiError> {
        let policy = &self.settings.policy;
        let submitted = Code::parse(raw_code, policy.code_length)
            .map_err(|_: CodeError| ApiError::invalid_code_format(policy.code_length))?;
        let email = parse_email(raw_email)?;
        let challenge = self.open(token, &email, requester).await?;
        let id = challenge.id();

        // Counted before comparing, so parallel guesses cannot exceed either budget.
        let attempts = self
            .store
            .increment(&StoreKey::Attempts(id), self.challenge_lifetime(&challenge))
            .await?;
        if attempts.value > u64::from(policy.max_attempts) {
            return Err(ApiError::too_many_attempts());
        }
        // This network's share of the mailbox's failure budget first, so that a stranger who
        // spent theirs is refused before touching the total the owner relies on. Both are
        // counted before comparing, kept for a wrong code, and given back for the right one (it
        // was not a failure after all) and for a refusal.
        let budgets = self.budgets(self.mailbox_id(&email), requester);
        let mut held = Held::new(self.store.as_ref());
        let outcome: Result<(), ApiError> = async {
            let held = &mut held;
            for (key, rate) in [
                (&budgets.share_failures, policy.failures_per_address),
                (&budgets.total_failures, policy.failures_per_address_total),
            ] {
                let failures = held.count(key, rate.window).await?;
                if failures.value > rate.count {
                    return Err(ApiError::address_locked(
                        failures.resets_in.as_secs().max(1),
                    ));
                }
            }
            let keys = self
                .settings
                .keys
                .by_kid(&challenge.kid)
                .ok_or_else(ApiError::invalid_challenge)?;
            let expected = derive_code(keys, &challenge.nonce, policy.code_length);
            if !codes_match(&submitted, &expected) {
                held.keep(&budgets.share_failures);
                held.keep(&budgets.total_failures);
                let left = u64::from(policy.max_attempts).saturating_sub(attempts.value);
                tracing::info!(reason = "wrong_code", to = %email.masked(), challenge = %short_id(&challenge), attempts_left = left, "wrong code");
                return Err(ApiError::wrong_code(u32::try_from(left).unwrap_or(0)));
            }
            held.give_back().await;
            Ok(())
        }
        .await;
        settle(held, outcome).await?;
        if self
            .store
            .claim(&StoreKey::Used(id), self.challenge_lifetime(&challenge))
            .await?
            .is_some()
        {
            return Err(ApiError::already_used());
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
        })
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
