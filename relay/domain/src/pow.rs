//! The proof of work a send costs (docs/security.md, requirement 14, A25 and A26): challenges in
//! ALTCHA's SHA-256 form (`otp_relay_shared::pow`), their parameters bound into the salt, and
//! the check of a solution. What a challenge binds travels in its salt, `<random>?expires=…&
//! maxnumber=…&net=…&`, which ends in `&` so that no digit of the number can pass for part of the
//! salt (ALTCHA's 2025 advisory); the salt is covered by the signature through the challenge
//! hash, so none of it can be changed. The difficulty (`maxnumber`) grows with the client
//! network's recent sends and with the relay's overall send rate ([`difficulty`]).

use crate::clock::UnixTime;
use crate::keys::KeyRing;
use crate::store::Corner;
use hmac::Mac;
use ipnet::IpNet;
use otp_relay_shared::pow::{ALGORITHM, PowChallenge, PowSolution, digest_from_hex, hash, to_hex};
use std::net::IpAddr;
use std::time::Duration;

/// The operator's settings for the proof of work.
#[derive(Debug, Clone)]
pub struct PowSettings {
    /// Off only when the operator says so (`OTP_RELAY_POW=off`).
    pub enabled: bool,
    /// The `maxnumber` asked of a network with no recent sends.
    pub base: u64,
    /// Sends per minute over all clients above which every challenge gets harder.
    pub surge_per_minute: u64,
    /// Client networks that send without a proof of work (a backend calling from known
    /// addresses).
    pub exempt: Vec<IpNet>,
    /// How long a challenge may be solved and its solution used.
    pub lifetime: Duration,
}

impl Default for PowSettings {
    fn default() -> Self {
        PowSettings {
            enabled: true,
            base: DEFAULT_BASE,
            surge_per_minute: DEFAULT_SURGE_PER_MINUTE,
            exempt: Vec::new(),
            lifetime: Duration::from_secs(10 * 60),
        }
    }
}

impl PowSettings {
    /// Whether a send from `ip` must carry a solution.
    pub fn required_of(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.enabled && !self.exempt.iter().any(|network| network.contains(&ip))
    }
}

/// About 50,000 hashes on average: a few tens of milliseconds in a browser.
pub const DEFAULT_BASE: u64 = 100_000;
/// A busy sign-up form sends a few a second at its peak.
pub const DEFAULT_SURGE_PER_MINUTE: u64 = 600;
/// Sends from one network in the window that cost no more than the first: a code and a resend,
/// or a second address.
pub const FREE_SENDS: u64 = 2;
/// The surge's first step: sixteen times the work, doubling with each doubling of the rate.
pub const SURGE_STEP: u32 = 4;
/// The most ever asked: about 2^30 tries, a minute of one native core.
pub const MAX_DIFFICULTY: u64 = 1 << 30;

/// The `maxnumber` asked of a network with `network_sends` sends in the current window while
/// the relay sent `sends_this_minute` over all clients in the current minute:
///
/// `base × 2^max(0, network_sends − FREE_SENDS) × surge`, at most [`MAX_DIFFICULTY`], where
/// `surge` is 1 up to the surge level and `2^(SURGE_STEP + ⌊log2(rate / level)⌋)` above it.
pub fn difficulty(settings: &PowSettings, network_sends: u64, sends_this_minute: u64) -> u64 {
    // 2^40 is beyond the cap for any base, so larger shifts change nothing.
    let own = network_sends.saturating_sub(FREE_SENDS).min(40);
    let surge = if settings.surge_per_minute > 0 && sends_this_minute > settings.surge_per_minute {
        u64::from(SURGE_STEP + (sends_this_minute / settings.surge_per_minute).ilog2())
    } else {
        0
    };
    let shift = (own + surge).min(40);
    settings
        .base
        .max(1)
        .saturating_mul(1u64 << shift)
        .min(MAX_DIFFICULTY)
}

/// Where a solution of difficulty `paid` is still enough: the region of (network sends, sends
/// this minute) with `difficulty(sends, rate) <= paid`, as the corners a store checks in the same
/// call that counts the send ([`crate::store::Step::Within`]). The surge is constant over each
/// band of rates `[level·2^j, level·2^(j+1))` (and up to the level), so one corner per band, at
/// its top, with the most sends [`difficulty`] allows there.
pub fn corners(settings: &PowSettings, paid: u64) -> Vec<Corner> {
    let level = settings.surge_per_minute;
    let mut band_tops = vec![(level > 0).then_some(level)];
    if level > 0 {
        for doubling in 1..64 {
            let top = level
                .checked_shl(doubling)
                .filter(|top| top >> doubling == level);
            band_tops.push(top.map(|top| top - 1));
            if top.is_none() {
                break;
            }
        }
    }
    let mut corners = Vec::new();
    for max_rate in band_tops {
        let rate = max_rate.unwrap_or(u64::MAX);
        if difficulty(settings, 0, rate) > paid {
            break;
        }
        // `difficulty` stops growing with sends once its shift is capped at 40.
        let max_sends = if difficulty(settings, u64::MAX, rate) <= paid {
            None
        } else {
            (0..=FREE_SENDS + 41)
                .take_while(|&sends| difficulty(settings, sends, rate) <= paid)
                .last()
        };
        corners.push(Corner {
            max_rate,
            max_sends,
        });
    }
    corners
}

/// Why a solution was not accepted. Each is answered `pow_required` with a fresh challenge; the
/// reason goes to the log and the metrics, not to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowRefusal {
    /// No `pow` in the request.
    Missing,
    /// Another algorithm, a hash that is not the salt's and number's, a signature that is not
    /// ours, or a salt not of our form: altered or made up.
    Invalid,
    Expired,
    /// Issued for another client network.
    OtherNetwork,
    /// Issued at a lower difficulty than this request now needs.
    TooEasy,
    /// Already spent by an earlier send.
    Replayed,
}

impl PowRefusal {
    /// The label in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            PowRefusal::Missing => "missing",
            PowRefusal::Invalid => "invalid",
            PowRefusal::Expired => "expired",
            PowRefusal::OtherNetwork => "other_network",
            PowRefusal::TooEasy => "too_easy",
            PowRefusal::Replayed => "replayed",
        }
    }
}

/// A solution whose hash, signature, expiry and network check out; what is left to check needs
/// the store (the difficulty now required, and single use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedSolution {
    /// The `maxnumber` it was issued at.
    pub maxnumber: u64,
    /// Its identity for the single-use claim: the first half of the challenge hash.
    pub id: [u8; 16],
    pub expires_at: UnixTime,
}

/// The salt's parameters: `<random hex>?expires=<unix seconds>&maxnumber=<n>&net=<tag>&`.
struct SaltParams<'a> {
    expires: u64,
    maxnumber: u64,
    net: &'a str,
}

fn parse_salt(salt: &str) -> Option<SaltParams<'_>> {
    let (random, query) = salt.split_once('?')?;
    let params = query.strip_suffix('&')?;
    if random.len() != 24 || !random.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut fields = params.split('&');
    let mut next = |name: &str| fields.next()?.strip_prefix(name)?.strip_prefix('=');
    let expires = next("expires")?.parse().ok()?;
    let maxnumber = next("maxnumber")?.parse().ok()?;
    let net = next("net")?;
    fields.next().is_none().then_some(SaltParams {
        expires,
        maxnumber,
        net,
    })
}

/// The tag of the network `ip` belongs to (an IPv4 /24, an IPv6 /48), keyed so that a salt
/// names no address. A request computes it once for its check and its fresh challenge.
pub fn network_tag(keys: &KeyRing, ip: IpAddr) -> String {
    let mut mac = keys.signing().pow_signature.mac();
    mac.update(b"network\0");
    mac.update(crate::network::network(ip).as_bytes());
    to_hex(&mac.finalize().into_bytes()[..8])
}

fn signature(key: &crate::secret::SecretKey, challenge: &str) -> hmac::Hmac<sha2::Sha256> {
    let mut mac = key.mac();
    mac.update(challenge.as_bytes());
    mac
}

/// A fresh challenge for a client at `ip`, at `maxnumber`, expiring `lifetime` after `now`.
pub fn issue(
    keys: &KeyRing,
    ip: IpAddr,
    maxnumber: u64,
    now: UnixTime,
    lifetime: Duration,
) -> PowChallenge {
    issue_for(keys, &network_tag(keys, ip), maxnumber, now, lifetime)
}

/// [`issue`] for the network whose tag is `net`.
pub fn issue_for(
    keys: &KeyRing,
    net: &str,
    maxnumber: u64,
    now: UnixTime,
    lifetime: Duration,
) -> PowChallenge {
    let expires = (now + lifetime).secs();
    // One draw from the OS for both: the salt's random part and the secret number.
    let random = crate::random::bytes::<20>();
    let salt = format!(
        "{}?expires={expires}&maxnumber={maxnumber}&net={}&",
        to_hex(&random[..12]),
        net
    );
    let mut draw = [0u8; 8];
    draw.copy_from_slice(&random[12..]);
    // Uniform enough: the bias of a 64-bit draw reduced modulo at most 2^30 + 1 is below 2^-33.
    let number = u64::from_be_bytes(draw) % (maxnumber + 1);
    let challenge = to_hex(&hash(&salt, number));
    let signed = signature(&keys.signing().pow_signature, &challenge);
    PowChallenge {
        algorithm: ALGORITHM.to_string(),
        signature: to_hex(&signed.finalize().into_bytes()),
        challenge,
        maxnumber,
        salt,
    }
}

/// Checks what a solution can show by itself: our signature (under any of the ring's keys, so a
/// rotation does not refuse solutions in flight), the hash of salt and number, the salt's form,
/// its expiry against `now` and its network against `ip`.
pub fn check(
    keys: &KeyRing,
    solution: &PowSolution,
    ip: IpAddr,
    now: UnixTime,
) -> Result<CheckedSolution, PowRefusal> {
    check_for(keys, solution, &network_tag(keys, ip), now)
}

/// The solution a client sent as `pow`: base64 (padded or not) of ALTCHA's solution payload as
/// JSON. `None` for anything else, which is a wrong proof of work like any other
/// ([`PowRefusal::Invalid`]): a client that sent one gets a fresh challenge, not a dead end.
pub fn decode_solution(text: &str) -> Option<PowSolution> {
    use base64::Engine;
    let text = text.trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// [`check`] for a client of the network whose tag is `net`.
pub fn check_for(
    keys: &KeyRing,
    solution: &PowSolution,
    net: &str,
    now: UnixTime,
) -> Result<CheckedSolution, PowRefusal> {
    if solution.algorithm != ALGORITHM {
        return Err(PowRefusal::Invalid);
    }
    let digest = digest_from_hex(&solution.challenge).ok_or(PowRefusal::Invalid)?;
    let tag = digest_from_hex(&solution.signature).ok_or(PowRefusal::Invalid)?;
    // The MAC first, compared in constant time, before anything else is believed.
    let signed = keys.all().any(|key| {
        signature(&key.pow_signature, &solution.challenge)
            .verify_slice(&tag)
            .is_ok()
    });
    if !signed || hash(&solution.salt, solution.number) != digest {
        return Err(PowRefusal::Invalid);
    }
    let params = parse_salt(&solution.salt).ok_or(PowRefusal::Invalid)?;
    let expires_at = UnixTime::from_secs(params.expires);
    if now >= expires_at {
        return Err(PowRefusal::Expired);
    }
    if params.net != net {
        return Err(PowRefusal::OtherNetwork);
    }
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    Ok(CheckedSolution {
        maxnumber: params.maxnumber,
        id,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use otp_relay_shared::pow::solve;

    #[test]
    fn the_corners_let_through_exactly_the_counts_a_difficulty_allows() {
        for settings in [
            PowSettings::default(),
            PowSettings {
                surge_per_minute: 0,
                ..PowSettings::default()
            },
            PowSettings {
                base: 1,
                surge_per_minute: 3,
                ..PowSettings::default()
            },
        ] {
            for paid in [
                1,
                99_999,
                100_000,
                400_000,
                1_600_000,
                1 << 29,
                1 << 30,
                u64::MAX,
            ] {
                let corners = corners(&settings, paid);
                for sends in (0..60).chain([1_000, u64::MAX]) {
                    for rate in (0..5_000)
                        .step_by(7)
                        .chain([599, 600, 601, 1199, 1200, u64::MAX])
                    {
                        let allowed = difficulty(&settings, sends, rate) <= paid;
                        let inside = corners.iter().any(|corner| corner.covers(sends, rate));
                        assert_eq!(inside, allowed, "paid {paid}, sends {sends}, rate {rate}");
                    }
                }
            }
        }
    }

    fn keys() -> KeyRing {
        KeyRing::parse(&format!("k1:{}", crate::keys::random_secret())).unwrap()
    }

    const IP: &str = "192.0.2.7";
    const NOW: u64 = 1_800_000_000;

    fn solved(keys: &KeyRing, maxnumber: u64) -> PowSolution {
        let challenge = issue(
            keys,
            IP.parse().unwrap(),
            maxnumber,
            UnixTime::from_secs(NOW),
            Duration::from_secs(600),
        );
        let number = solve(&challenge).unwrap();
        challenge.solution(number)
    }

    fn checked(
        keys: &KeyRing,
        solution: &PowSolution,
        ip: &str,
        now: u64,
    ) -> Result<u64, PowRefusal> {
        check(
            keys,
            solution,
            ip.parse().unwrap(),
            UnixTime::from_secs(now),
        )
        .map(|c| c.maxnumber)
    }

    #[test]
    fn a_solved_challenge_checks_out_with_its_parameters() {
        let keys = keys();
        let solution = solved(&keys, 1_000);
        assert!(solution.salt.ends_with('&'));
        assert_eq!(checked(&keys, &solution, IP, NOW + 1), Ok(1_000));
        // Another address of the same /24 is the same network.
        assert_eq!(checked(&keys, &solution, "192.0.2.200", NOW), Ok(1_000));
    }

    #[test]
    fn expired_or_from_another_network_is_refused() {
        let keys = keys();
        let solution = solved(&keys, 1_000);
        assert_eq!(
            checked(&keys, &solution, IP, NOW + 600),
            Err(PowRefusal::Expired)
        );
        assert_eq!(
            checked(&keys, &solution, "198.51.100.7", NOW),
            Err(PowRefusal::OtherNetwork)
        );
    }

    #[test]
    fn any_change_is_invalid() {
        let keys = keys();
        let good = solved(&keys, 1_000);
        let mut changes = Vec::new();
        let mut s = good.clone();
        s.number += 1;
        changes.push(s);
        let mut s = good.clone();
        s.salt = s.salt.replace("maxnumber=1000", "maxnumber=1000000");
        changes.push(s);
        let mut s = good.clone();
        s.salt = s.salt.replace("expires=", "expires=9");
        changes.push(s);
        // The signature's first digit, always to another one (replacing its first two digits
        // with `00` changed nothing for one signature in 256, which starts with `00`).
        let mut s = good.clone();
        let other = if s.signature.starts_with('0') {
            "1"
        } else {
            "0"
        };
        s.signature.replace_range(..1, other);
        changes.push(s);
        let mut s = good.clone();
        s.algorithm = "SHA-512".into();
        changes.push(s);
        // A challenge and signature an attacker made for their own salt, under their own key.
        let theirs = solved(&self::keys(), 10);
        changes.push(theirs);
        for change in changes {
            assert_eq!(
                checked(&keys, &change, IP, NOW),
                Err(PowRefusal::Invalid),
                "{change:?}"
            );
        }
    }

    #[test]
    fn a_salt_with_the_number_moved_into_it_is_refused() {
        // The salt/number ambiguity: salt `…&` + `12` cannot be re-read as salt `…&1` + `2`.
        let keys = keys();
        let good = solved(&keys, 1_000);
        let mut s = good.clone();
        let text = s.number.to_string();
        if text.len() > 1 {
            s.salt.push_str(&text[..1]);
            s.number = text[1..].parse().unwrap();
            assert_eq!(checked(&keys, &s, IP, NOW), Err(PowRefusal::Invalid));
        }
    }

    #[test]
    fn difficulty_grows_with_a_networks_sends_and_with_a_surge() {
        let settings = PowSettings::default();
        let base = settings.base;
        assert_eq!(difficulty(&settings, 0, 0), base);
        assert_eq!(difficulty(&settings, 2, 0), base);
        assert_eq!(difficulty(&settings, 3, 0), 2 * base);
        assert_eq!(difficulty(&settings, 9, 0), 128 * base);
        assert_eq!(difficulty(&settings, 1_000, 0), MAX_DIFFICULTY);
        let level = settings.surge_per_minute;
        assert_eq!(difficulty(&settings, 0, level), base);
        assert_eq!(difficulty(&settings, 0, level + 1), 16 * base);
        assert_eq!(difficulty(&settings, 0, 2 * level), 32 * base);
        assert_eq!(difficulty(&settings, 0, 8 * level), 128 * base);
    }

    #[test]
    fn exempt_networks_need_none_and_off_means_off() {
        let mut settings = PowSettings {
            exempt: vec!["10.0.0.0/8".parse().unwrap()],
            ..PowSettings::default()
        };
        assert!(!settings.required_of("10.1.2.3".parse().unwrap()));
        assert!(!settings.required_of("::ffff:10.1.2.3".parse().unwrap()));
        assert!(settings.required_of("192.0.2.1".parse().unwrap()));
        settings.enabled = false;
        assert!(!settings.required_of("192.0.2.1".parse().unwrap()));
    }
}
