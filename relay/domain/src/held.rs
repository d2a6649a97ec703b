//! What one request holds in the store: the counts it took and the claims it won, given back
//! together when the request does not count (a refusal later in the same request, a message that
//! could not be delivered), so that a refused request leaves no trace (docs/security.md,
//! invariant 7a), and kept when it does. The service runs each request's counting as one `async`
//! block over a `Held`, then settles it: whatever is still held is given back when the request
//! failed and kept when it succeeded; what must stay either way (the client's send count after
//! a failed delivery, a wrong code's failure) is [`Held::keep`]. Giving back is asynchronous, so
//! it cannot happen in `Drop`: a request cancelled before it settled (its client hung up, it
//! passed its deadline) leaves what it held, which then ages out with its window, as a request
//! that was served would.

use crate::store::{Count, Store, StoreError, StoreKey};
use std::time::Duration;

#[must_use = "what is held must be settled: kept or given back"]
pub struct Held<'s> {
    store: &'s dyn Store,
    counts: Vec<(StoreKey, Count)>,
    claims: Vec<StoreKey>,
}

impl<'s> Held<'s> {
    pub fn new(store: &'s dyn Store) -> Self {
        Held {
            store,
            counts: Vec::new(),
            claims: Vec::new(),
        }
    }

    /// Counts one on `key` (a window of `window` if the counter is new), held.
    pub async fn count(&mut self, key: &StoreKey, window: Duration) -> Result<Count, StoreError> {
        let count = self.store.increment(key, window).await?;
        self.counts.push((key.clone(), count));
        Ok(count)
    }

    /// Claims `key` for `ttl`; a claim this request won is held. `Some(left)`: it was set already.
    pub async fn claim(
        &mut self,
        key: &StoreKey,
        ttl: Duration,
    ) -> Result<Option<Duration>, StoreError> {
        let taken = self.store.claim(key, ttl).await?;
        if taken.is_none() {
            self.claims.push(key.clone());
        }
        Ok(taken)
    }

    /// What is held on `key` stays, whatever comes of the request.
    pub fn keep(&mut self, key: &StoreKey) {
        self.counts.retain(|(held, _)| held != key);
        self.claims.retain(|held| held != key);
    }

    /// Everything held stays.
    pub fn keep_all(mut self) {
        self.counts.clear();
        self.claims.clear();
    }

    /// Gives back everything held so far, newest first (what is held later is held anew). A store
    /// that cannot take a count back is logged: the count then ages out with its window.
    pub async fn give_back(&mut self) {
        for (key, count) in std::mem::take(&mut self.counts).into_iter().rev() {
            if let Err(error) = self.store.decrement(&key, &count).await {
                tracing::warn!(%error, "could not take back a count");
            }
        }
        for key in std::mem::take(&mut self.claims).into_iter().rev() {
            if let Err(error) = self.store.release(&key).await {
                tracing::warn!(%error, "could not lift a claim");
            }
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if !self.counts.is_empty() || !self.claims.is_empty() {
            tracing::debug!("a request ended before it settled: what it held stays");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::memory::{MemorySettings, MemoryStore};
    use std::sync::Arc;

    fn store() -> MemoryStore {
        MemoryStore::new(
            MemorySettings::for_policy(&crate::Policy::default()),
            Arc::new(ManualClock::new()),
        )
    }

    #[tokio::test]
    async fn what_is_given_back_is_gone_and_what_is_kept_stays() {
        let store = store();
        let (a, b, c) = (
            StoreKey::Attempts([1; 16]),
            StoreKey::Attempts([2; 16]),
            StoreKey::Used([3; 16]),
        );
        let mut held = Held::new(&store);
        held.count(&a, Duration::from_secs(60)).await.unwrap();
        held.count(&b, Duration::from_secs(60)).await.unwrap();
        assert_eq!(held.claim(&c, Duration::from_secs(60)).await.unwrap(), None);
        held.keep(&b);
        held.give_back().await;
        assert_eq!(store.count(&a).await.unwrap().value, 0, "given back");
        assert_eq!(store.count(&b).await.unwrap().value, 1, "kept");
        assert!(!store.is_claimed(&c).await.unwrap(), "lifted");
        held.count(&a, Duration::from_secs(60)).await.unwrap();
        held.keep_all();
        assert_eq!(store.count(&a).await.unwrap().value, 1);
    }

    #[tokio::test]
    async fn a_claim_someone_else_holds_is_not_lifted() {
        let store = store();
        let key = StoreKey::ResendCooldown([4; 16]);
        store.claim(&key, Duration::from_secs(60)).await.unwrap();
        let mut held = Held::new(&store);
        assert!(
            held.claim(&key, Duration::from_secs(60))
                .await
                .unwrap()
                .is_some()
        );
        held.give_back().await;
        assert!(store.is_claimed(&key).await.unwrap());
        held.keep_all();
    }
}
