//! The proof of work a client pays before a code is sent: ALTCHA's SHA-256 scheme, so that
//! ALTCHA's own libraries solve the relay's challenges and check its solutions
//! (docs/api.md, `GET /api/v1/pow`; docs/security.md, requirement 14).
//!
//! The relay picks a secret `number` in `0..=maxnumber` and publishes
//! `challenge = hex(SHA-256(salt ‖ number))`, with `signature = hex(HMAC-SHA-256(key,
//! challenge))`. The client finds the number by trying them in order; the relay checks the
//! answer with one hash and one MAC. The solver here is the one the page (compiled to Wasm) and
//! the terminal client run.

use crate::api::{Fields, FromFields};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The only algorithm the relay issues and accepts.
pub const ALGORITHM: &str = "SHA-256";

/// `GET /api/v1/pow`, and the `pow` field of a `pow_required` error: ALTCHA's challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PowChallenge {
    pub algorithm: String,
    /// Hex SHA-256 of the salt followed by the secret number in decimal.
    pub challenge: String,
    /// The secret number is at most this: the difficulty (the expected work is half of it).
    pub maxnumber: u64,
    /// Random, then the parameters the relay binds (`?expires=…&…&`), ending in `&` so that no
    /// digit of a number can be read as part of the salt.
    pub salt: String,
    /// Hex HMAC-SHA-256 of `challenge` under the relay's proof-of-work key.
    pub signature: String,
}

/// What a client sends back as `pow`, base64 of this as JSON: ALTCHA's solution payload. Other
/// members (ALTCHA's `took`) are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowSolution {
    pub algorithm: String,
    pub challenge: String,
    pub number: u64,
    pub salt: String,
    pub signature: String,
}

impl FromFields for PowChallenge {
    fn from_fields(fields: &impl Fields) -> Option<Self> {
        Some(PowChallenge {
            algorithm: fields.text("algorithm")?,
            challenge: fields.text("challenge")?,
            maxnumber: fields.count("maxnumber")?,
            salt: fields.text("salt")?,
            signature: fields.text("signature")?,
        })
    }
}

impl PowChallenge {
    /// The solution payload for `number`.
    pub fn solution(&self, number: u64) -> PowSolution {
        PowSolution {
            algorithm: self.algorithm.clone(),
            challenge: self.challenge.clone(),
            number,
            salt: self.salt.clone(),
            signature: self.signature.clone(),
        }
    }
}

/// `SHA-256(salt ‖ decimal(number))`.
pub fn hash(salt: &str, number: u64) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    let mut digits = [0u8; 20];
    hasher.update(decimal(number, &mut digits));
    hasher.finalize().into()
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
    text
}

/// The 32 bytes of a lowercase or uppercase hex SHA-256 digest.
pub fn digest_from_hex(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

/// `number` in decimal, written at the end of `buffer`, without allocating (the solver writes
/// one per try).
fn decimal(mut number: u64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut start = buffer.len();
    loop {
        start -= 1;
        // `number % 10` is below 10, so the cast cannot truncate.
        buffer[start] = b'0' + (number % 10) as u8;
        number /= 10;
        if number == 0 {
            return &buffer[start..];
        }
    }
}

/// A search for a challenge's number, run in slices so that a caller in a browser can yield
/// between them: the salt's full blocks are hashed once, and each try hashes only the rest.
pub struct Solver {
    prefix: Sha256,
    target: [u8; 32],
    next: u64,
    last: u64,
}

/// Where a search stands after a slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The number, found.
    Found(u64),
    /// Not yet: call [`Solver::run`] again.
    Searching,
    /// Every number up to `maxnumber` tried: the challenge is not one this scheme can solve
    /// (another algorithm, or a malformed one).
    Exhausted,
}

impl Solver {
    /// A search for `challenge`'s number; `None` when it is not a SHA-256 challenge with a hex
    /// digest.
    pub fn new(challenge: &PowChallenge) -> Option<Solver> {
        if challenge.algorithm != ALGORITHM {
            return None;
        }
        let mut prefix = Sha256::new();
        prefix.update(challenge.salt.as_bytes());
        Some(Solver {
            prefix,
            target: digest_from_hex(&challenge.challenge)?,
            next: 0,
            last: challenge.maxnumber,
        })
    }

    /// Tries up to `tries` more numbers.
    pub fn run(&mut self, tries: u64) -> Progress {
        let mut digits = [0u8; 20];
        let end = self
            .next
            .saturating_add(tries)
            .min(self.last.saturating_add(1));
        while self.next < end {
            let number = self.next;
            self.next += 1;
            let mut hasher = self.prefix.clone();
            hasher.update(decimal(number, &mut digits));
            if hasher.finalize().as_slice() == self.target {
                return Progress::Found(number);
            }
        }
        if self.next > self.last {
            Progress::Exhausted
        } else {
            Progress::Searching
        }
    }

    /// Numbers tried so far.
    pub fn tried(&self) -> u64 {
        self.next
    }
}

/// Solves `challenge` in one go (the terminal client); `None` if it has no solution.
pub fn solve(challenge: &PowChallenge) -> Option<u64> {
    let mut solver = Solver::new(challenge)?;
    match solver.run(u64::MAX) {
        Progress::Found(number) => Some(number),
        Progress::Searching | Progress::Exhausted => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge_for(salt: &str, number: u64, maxnumber: u64) -> PowChallenge {
        PowChallenge {
            algorithm: ALGORITHM.into(),
            challenge: to_hex(&hash(salt, number)),
            maxnumber,
            salt: salt.into(),
            signature: String::new(),
        }
    }

    #[test]
    fn decimal_digits_are_written_as_text() {
        let mut buffer = [0u8; 20];
        for number in [0, 7, 10, 99_999, u64::MAX] {
            assert_eq!(decimal(number, &mut buffer), number.to_string().as_bytes());
        }
    }

    #[test]
    fn the_hash_is_sha256_of_salt_and_number() {
        // `printf 'abc?expires=1&123' | sha256sum`
        assert_eq!(
            to_hex(&hash("abc?expires=1&", 123)),
            to_hex(&Sha256::digest(b"abc?expires=1&123"))
        );
    }

    #[test]
    fn the_solver_finds_the_number_with_short_and_long_salts() {
        // Tails that leave room for the padding in one block, and ones that need two.
        let salts: Vec<String> = [1, 45, 46, 50, 54, 55, 56, 63, 64, 65, 119, 130]
            .iter()
            .map(|n| format!("{}&", "x".repeat(n - 1)))
            .collect();
        for salt in &salts {
            for number in [0, 1, 9, 10, 5_000, 20_000] {
                assert_eq!(
                    solve(&challenge_for(salt, number, 20_000)),
                    Some(number),
                    "{salt}"
                );
            }
        }
    }

    #[test]
    fn slices_resume_where_they_stopped() {
        let challenge = challenge_for("salt&", 2_500, 10_000);
        let mut solver = Solver::new(&challenge).unwrap();
        assert_eq!(solver.run(1_000), Progress::Searching);
        assert_eq!(solver.run(1_000), Progress::Searching);
        assert_eq!(solver.tried(), 2_000);
        assert_eq!(solver.run(1_000), Progress::Found(2_500));
    }

    #[test]
    fn a_number_beyond_maxnumber_or_another_algorithm_is_not_found() {
        assert_eq!(solve(&challenge_for("salt&", 101, 100)), None);
        let mut other = challenge_for("salt&", 1, 100);
        other.algorithm = "SHA-512".into();
        assert!(Solver::new(&other).is_none());
        other.algorithm = ALGORITHM.into();
        other.challenge = "not hex".into();
        assert!(Solver::new(&other).is_none());
    }

    #[test]
    fn hex_round_trips() {
        let digest = hash("a&", 1);
        assert_eq!(digest_from_hex(&to_hex(&digest)), Some(digest));
        assert_eq!(
            digest_from_hex(&to_hex(&digest).to_uppercase()),
            Some(digest)
        );
        assert_eq!(digest_from_hex("ab"), None);
    }
}
