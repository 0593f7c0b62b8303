//! Rate limits (governor's GCRA): requests per credential, and failed authentications per
//! client address. Both are per process: with several instances behind a load balancer each
//! counts its own share (see the README's "Operating Rollcall").

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Keys a limiter holds before it forgets the ones whose buckets have refilled.
const PRUNE_AT: usize = 10_000;

/// Whole seconds to wait, at least one: `Retry-After` takes integers.
fn retry_seconds(wait: Duration) -> u64 {
    (wait.as_secs_f64().ceil() as u64).max(1)
}

fn check<K: Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Result<(), u64> {
    if limiter.len() > PRUNE_AT {
        limiter.retain_recent();
    }
    limiter
        .check_key(key)
        .map_err(|not_until| retry_seconds(not_until.wait_time_from(DefaultClock::default().now())))
}

/// Requests per second per credential, bursts up to twice that. A tenant's `rateLimit`
/// setting replaces the server's default for its credentials, up to the operator's ceiling.
pub struct RateLimits {
    default: u32,
    ceiling: u32,
    /// One keyed limiter per rate in use (the default, and each tenant's own).
    by_rate: RwLock<HashMap<u32, Arc<DefaultKeyedRateLimiter<String>>>>,
}

impl RateLimits {
    /// `default` requests per second; 0 turns rate limiting off, tenants' settings included.
    /// A tenant's own rate is taken up to `ceiling`.
    pub fn new(default: u32, ceiling: u32) -> Self {
        RateLimits {
            default,
            ceiling,
            by_rate: RwLock::default(),
        }
    }

    /// The rate a credential gets: its tenant's, at most the ceiling, else the default.
    pub fn rate(&self, tenant_rate: Option<u32>) -> u32 {
        tenant_rate.map_or(self.default, |r| r.min(self.ceiling.max(1)))
    }

    fn limiter(&self, rate: NonZeroU32) -> Arc<DefaultKeyedRateLimiter<String>> {
        if let Some(limiter) = self
            .by_rate
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&rate.get())
        {
            return limiter.clone();
        }
        let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(1));
        self.by_rate
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(rate.get())
            .or_insert_with(|| {
                Arc::new(RateLimiter::keyed(
                    Quota::per_second(rate).allow_burst(burst),
                ))
            })
            .clone()
    }

    /// Takes one request from the credential's bucket; `Err(seconds)` when it is empty.
    pub fn check(&self, credential_id: &str, tenant_rate: Option<u32>) -> Result<(), u64> {
        if self.default == 0 {
            return Ok(());
        }
        let Some(rate) = NonZeroU32::new(self.rate(tenant_rate)) else {
            return Ok(());
        };
        check(&self.limiter(rate), &credential_id.to_string())
    }
}

/// Failed authentications per client address: `per_minute` of them (in a burst, or spread
/// out); past that the address is refused without looking at what it sends until its bucket
/// has room again.
pub struct AuthThrottle {
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

impl AuthThrottle {
    /// 0 turns the throttle off.
    pub fn new(per_minute: u32) -> Self {
        AuthThrottle {
            limiter: NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            blocked: Mutex::default(),
        }
    }

    /// Seconds the address must still wait, if it is throttled.
    pub fn blocked(&self, address: IpAddr) -> Option<u64> {
        self.limiter.as_ref()?;
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        let until = *blocked.get(&address)?;
        let now = Instant::now();
        if until <= now {
            blocked.remove(&address);
            return None;
        }
        Some(retry_seconds(until - now))
    }

    /// Counts a failed authentication; `Some(seconds)` once the address is over its limit.
    pub fn failed(&self, address: IpAddr) -> Option<u64> {
        let limiter = self.limiter.as_ref()?;
        let seconds = check(limiter, &address).err()?;
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if blocked.len() > PRUNE_AT {
            blocked.retain(|_, until| *until > now);
        }
        blocked.insert(address, now + Duration::from_secs(seconds));
        Some(seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_seconds(Duration::ZERO), 1);
        assert_eq!(retry_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_seconds(Duration::from_secs(1)), 1);
        assert_eq!(retry_seconds(Duration::from_millis(1500)), 2);
    }

    #[test]
    fn a_credential_gets_twice_its_rate_in_a_burst_then_waits() {
        let limits = RateLimits::new(5, 3);
        let passed = (0..50).filter(|_| limits.check("a", None).is_ok()).count();
        assert_eq!(passed, 10);
        assert!(
            limits.check("b", None).is_ok(),
            "buckets are per credential"
        );
        let tenant = (0..50)
            .filter(|_| limits.check("c", Some(2)).is_ok())
            .count();
        assert_eq!(tenant, 4, "a tenant's own rate replaces the default");
        let raised = (0..50)
            .filter(|_| limits.check("d", Some(100)).is_ok())
            .count();
        assert_eq!(raised, 6, "a tenant's rate stops at the ceiling");
        let off = RateLimits::new(0, 10);
        assert!((0..1000).all(|_| off.check("a", Some(1)).is_ok()));
    }

    #[test]
    fn failed_sign_ins_block_the_address_not_others() {
        let throttle = AuthThrottle::new(3);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert_eq!(throttle.failed(a), None);
        assert_eq!(throttle.failed(a), None);
        assert_eq!(throttle.failed(a), None);
        assert!(throttle.blocked(a).is_none());
        let wait = throttle.failed(a).expect("over the limit");
        assert!((1..=20).contains(&wait), "{wait}");
        assert_eq!(throttle.blocked(a), Some(wait));
        assert_eq!(throttle.blocked(b), None);
        assert!(AuthThrottle::new(0).failed(a).is_none());
    }
}
