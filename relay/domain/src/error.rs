//! The API's error as data: one of the shared error codes, why (a [`Reason`]), and the numbers
//! some codes carry. Every refusal in the relay ends up as one of these. The domain says why and
//! never how: the sentence a person reads is worded at the edge, from the catalogue, in the
//! requester's language (`http/error.rs`, the one place that turns an error into a response).

use otp_relay_shared::{EmailError, ErrorCode};
use std::borrow::Cow;

/// Why a request was refused: what the edge words for the person who reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A request the API cannot read (its body, route or method), said by the HTTP layer in
    /// English for the developer wiring up a client.
    Protocol(Cow<'static, str>),
    /// The address breaks the address rule.
    Address(EmailError),
    /// The code is not `length` digits.
    CodeFormat {
        length: usize,
    },
    InvalidChallenge,
    /// An email's link opened on another page than the one it was made for, or changed.
    LinkRefused,
    /// A `link` to create a challenge with that is not a page of the requester's own site.
    LinkPage,
    Expired,
    /// Issued under a store epoch that has since moved on (the store lost what it knew).
    ExpiredByRestart,
    AlreadyUsed,
    /// This challenge's attempts are spent.
    TooManyAttempts,
    /// The address's wrong codes are spent for a while (`retry_after`).
    AddressLocked,
    /// Not the code; `attempts_left` says how many remain.
    WrongCode,
    /// A limit on sends or wrong codes, until `retry_after`.
    Limit(Limit),
    OriginNotAllowed,
    /// A send without a proof of work this relay accepts, and why (for the log and metrics).
    PowRequired(crate::pow::PowRefusal),
    DeliveryFailed,
    /// The store cannot be used: fail closed.
    Unavailable,
    /// `/readyz`: the store cannot be used, and what it said.
    StoreNotReady(String),
    /// The request ran past its deadline.
    Timeout,
    Internal,
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Sends from one client.
    ClientSends,
    /// Sends to one mailbox from one client network.
    NetworkAddressSends,
    /// Sends to one mailbox in total.
    AddressSends,
    /// Wrong codes for one mailbox from one client network.
    NetworkAddressFailures,
    /// Wrong codes for one mailbox in total.
    AddressFailures,
    /// A challenge's resends are spent.
    NoResendsLeft,
    /// Too soon after the last send of this challenge.
    ResendWait,
}

/// Seconds an `unavailable` answer asks a client to wait (`Retry-After`): a store failing over
/// is back within about this.
pub const RETRY_UNAVAILABLE: u64 = 2;

/// An error as the client will see it, but for its wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub reason: Reason,
    pub attempts_left: Option<u32>,
    pub retry_after: Option<u64>,
    /// With `pow_required`: the fresh challenge to solve (boxed: most errors carry none).
    pub pow: Option<Box<otp_relay_shared::pow::PowChallenge>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, reason: Reason) -> Self {
        ApiError {
            code,
            reason,
            attempts_left: None,
            retry_after: None,
            pow: None,
        }
    }

    /// A refusal of the HTTP layer: `code` with a sentence for developers.
    pub fn protocol(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(code, Reason::Protocol(message.into()))
    }

    pub fn invalid_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::protocol(ErrorCode::InvalidRequest, message)
    }

    pub fn invalid_email(error: EmailError) -> Self {
        Self::new(ErrorCode::InvalidEmail, Reason::Address(error))
    }

    pub fn invalid_code_format(length: usize) -> Self {
        Self::new(ErrorCode::InvalidCodeFormat, Reason::CodeFormat { length })
    }

    pub fn invalid_challenge() -> Self {
        Self::new(ErrorCode::InvalidChallenge, Reason::InvalidChallenge)
    }

    pub fn link_refused() -> Self {
        Self::new(ErrorCode::InvalidChallenge, Reason::LinkRefused)
    }

    pub fn link_page() -> Self {
        Self::new(ErrorCode::InvalidRequest, Reason::LinkPage)
    }

    pub fn expired() -> Self {
        Self::new(ErrorCode::Expired, Reason::Expired)
    }

    pub fn expired_by_restart() -> Self {
        Self::new(ErrorCode::Expired, Reason::ExpiredByRestart)
    }

    pub fn already_used() -> Self {
        Self::new(ErrorCode::AlreadyUsed, Reason::AlreadyUsed)
    }

    pub fn too_many_attempts() -> Self {
        Self::new(ErrorCode::TooManyAttempts, Reason::TooManyAttempts)
    }

    pub fn address_locked(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(ErrorCode::TooManyAttempts, Reason::AddressLocked)
        }
    }

    pub fn wrong_code(attempts_left: u32) -> Self {
        ApiError {
            attempts_left: Some(attempts_left),
            ..Self::new(ErrorCode::WrongCode, Reason::WrongCode)
        }
    }

    pub fn rate_limited(retry_after: u64, limit: Limit) -> Self {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(ErrorCode::RateLimited, Reason::Limit(limit))
        }
    }

    pub fn origin_not_allowed() -> Self {
        Self::new(ErrorCode::OriginNotAllowed, Reason::OriginNotAllowed)
    }

    /// `pow_required`, with the challenge to solve before trying again.
    pub fn pow_required(
        refusal: crate::pow::PowRefusal,
        fresh: otp_relay_shared::pow::PowChallenge,
    ) -> Self {
        ApiError {
            pow: Some(Box::new(fresh)),
            ..Self::new(ErrorCode::PowRequired, Reason::PowRequired(refusal))
        }
    }

    pub fn delivery_failed() -> Self {
        Self::new(ErrorCode::DeliveryFailed, Reason::DeliveryFailed)
    }

    /// A store that did not answer: try again in [`RETRY_UNAVAILABLE`] seconds, about what a
    /// Redis failover takes.
    pub fn unavailable() -> Self {
        Self::new(ErrorCode::Unavailable, Reason::Unavailable).retry_in(RETRY_UNAVAILABLE)
    }

    pub fn store_not_ready(detail: String) -> Self {
        Self::new(ErrorCode::Unavailable, Reason::StoreNotReady(detail)).retry_in(RETRY_UNAVAILABLE)
    }

    pub fn timeout() -> Self {
        Self::new(ErrorCode::Unavailable, Reason::Timeout).retry_in(RETRY_UNAVAILABLE)
    }

    fn retry_in(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, Reason::Internal)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        tracing::error!(reason = "unavailable", %error, "store unavailable: refusing (fail closed)");
        ApiError::unavailable()
    }
}
