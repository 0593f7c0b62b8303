//! Delivering SCIM events: signed security event tokens (RFC 8417 SETs, RFC 9967's SCIM
//! profile) pushed to receivers over HTTP (RFC 8935), or held for receivers that poll
//! (RFC 8936, `http::events`).
//!
//! Every instance of `rollcall serve` runs one [`Deliverer`]. It claims due deliveries from
//! the outbox under a lease (`store::events::claim`), posts each as
//! `application/secevent+jwt`, and marks it delivered on a 202 (any 2xx is taken), or retries
//! it later with exponential backoff; after `max_attempts` failures, or when the receiver
//! answers 400 (it found the SET itself invalid, RFC 8935 §2.3), the delivery is dead: kept,
//! listed to admins, redeliverable on request. Delivery is at least once: an instance dying
//! after the receiver took an event but before recording it means a second delivery once
//! the lease runs out; receivers deduplicate by `jti`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::domain::Result;
use crate::store::entity::event_receivers;
use crate::store::{self, events as outbox};

/// How an instance delivers.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// The `iss` of every SET: the SCIM base URL (`https://scim.example.com/scim/v2`).
    pub issuer: String,
    /// The pause between looks at the outbox when nothing was due.
    pub interval: Duration,
    /// The first retry's delay; each later one doubles, up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Failed attempts after which a delivery is dead.
    pub max_attempts: i32,
    /// How long a claimed delivery stays this instance's before others may take it.
    pub lease: Duration,
    /// Deliveries claimed at once, and sent at once (each to its own resource).
    pub batch: u64,
    /// The longest a receiver may take to answer.
    pub timeout: Duration,
}

impl DeliveryConfig {
    /// The defaults of `rollcall serve`: retries from 1 s doubling to 15 minutes, dead after
    /// 100 failed attempts (about a day of a receiver being down).
    pub fn new(issuer: String) -> Self {
        DeliveryConfig {
            issuer,
            interval: Duration::from_millis(200),
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(15 * 60),
            max_attempts: 100,
            lease: Duration::from_secs(60),
            batch: 64,
            timeout: Duration::from_secs(10),
        }
    }

    /// When the attempt after `failures` failed ones is due, from now (microseconds).
    fn retry_at(&self, failures: i32) -> i64 {
        let factor = 1u32 << failures.clamp(0, 20) as u32;
        let delay = self.retry_base.saturating_mul(factor).min(self.retry_max);
        store::now_us() + delay.as_micros() as i64
    }
}

/// The SET a stored event is sent as: its claims with `iss`, `aud` (the receiver's URL, or
/// its id for polling) and `iat`.
pub fn set_claims(stored: &str, issuer: &str, audience: &str) -> Value {
    let mut claims = outbox::claims_of(stored);
    if let Some(fields) = claims.as_object_mut() {
        fields.insert("iss".into(), issuer.into());
        fields.insert("aud".into(), audience.into());
        fields.insert(
            "iat".into(),
            json!(time::OffsetDateTime::now_utc().unix_timestamp()),
        );
    }
    claims
}

/// A SET signed with the receiver's secret: a compact JWS, HS256, `typ` `secevent+jwt`.
pub fn sign(claims: &Value, secret: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "secevent+jwt"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{payload}");
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{input}.{signature}")
}

/// How long delivered events are kept (listed to admins) before the sweep deletes them; the
/// brake's counts go after the longest window (a week) too. Dead events stay until
/// redelivered or their receiver is deleted.
pub const KEEP_DELIVERED: Duration = Duration::from_secs(7 * 24 * 3600);

/// How often an instance sweeps.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// Delivers the push receivers' events, one instance's share.
pub struct Deliverer {
    db: DatabaseConnection,
    config: DeliveryConfig,
    client: openidconnect::reqwest::Client,
}

/// What one attempt came to.
enum Outcome {
    Delivered,
    Retry(String),
    Refused(String),
}

impl Deliverer {
    pub fn new(db: DatabaseConnection, config: DeliveryConfig) -> Self {
        let client = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .build()
            .unwrap_or_default();
        Deliverer { db, config, client }
    }

    /// Delivers until `shutdown` resolves (finishing the batch in hand).
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut swept = tokio::time::Instant::now();
        loop {
            if swept.elapsed() >= SWEEP_EVERY {
                swept = tokio::time::Instant::now();
                let before = store::now_us() - KEEP_DELIVERED.as_micros() as i64;
                if let Err(e) = outbox::sweep(&self.db, before).await {
                    tracing::warn!(error = %e, "sweeping delivered events failed");
                }
                if let Err(e) = store::brake::sweep(&self.db, before).await {
                    tracing::warn!(error = %e, "sweeping the brake's counts failed");
                }
            }
            let pause = match self.deliver_due().await {
                Ok(0) => self.config.interval,
                Ok(_) => Duration::ZERO,
                Err(e) => {
                    tracing::warn!(error = %e, "event delivery failed; retrying");
                    self.config.interval * 5
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Claims the due deliveries and sends them at once; answers how many it claimed.
    pub async fn deliver_due(&self) -> Result<usize> {
        let lease_until = store::now_us() + self.config.lease.as_micros() as i64;
        let claimed = outbox::claim(&self.db, self.config.batch, lease_until).await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let mut receivers = std::collections::HashMap::new();
        for c in &claimed {
            if !receivers.contains_key(&c.receiver_id)
                && let Some(r) = event_receivers::Entity::find_by_id(c.receiver_id.clone())
                    .one(&self.db)
                    .await
                    .map_err(|e| store::sql_err(e, "event receiver"))?
            {
                receivers.insert(c.receiver_id.clone(), r);
            }
        }
        let mut sends = tokio::task::JoinSet::new();
        for c in claimed.iter().cloned() {
            let Some(receiver) = receivers.get(&c.receiver_id) else {
                continue;
            };
            let url = receiver.url.clone().unwrap_or_default();
            let token = sign(
                &set_claims(&c.claims, &self.config.issuer, &url),
                &receiver.secret,
            );
            let client = self.client.clone();
            sends.spawn(async move { (c, push(&client, &url, token).await) });
        }
        let mut done = Vec::new();
        // Per receiver: whether any event got through, else the earliest retry of its failures.
        let mut answered = std::collections::HashMap::<String, Option<i64>>::new();
        let mut failed = Vec::new();
        while let Some(joined) = sends.join_next().await {
            let Ok((c, outcome)) = joined else { continue };
            match outcome {
                Outcome::Delivered => {
                    answered.insert(c.receiver_id.clone(), None);
                    done.push(c.id);
                }
                Outcome::Retry(error) => {
                    let failures = c.attempts + 1;
                    let dead = failures >= self.config.max_attempts;
                    tracing::debug!(id = c.id, %error, failures, dead, "event not delivered");
                    let retry_at = self.config.retry_at(failures - 1);
                    match answered.entry(c.receiver_id.clone()) {
                        std::collections::hash_map::Entry::Occupied(mut e) => {
                            if let Some(at) = e.get_mut() {
                                *at = (*at).min(retry_at);
                            }
                        }
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(Some(retry_at));
                        }
                    }
                    outbox::failed(&self.db, c.id, failures, retry_at, dead, &error).await?;
                    failed.push(c.id);
                }
                Outcome::Refused(error) => {
                    outbox::failed(
                        &self.db,
                        c.id,
                        c.attempts + 1,
                        store::now_us(),
                        true,
                        &error,
                    )
                    .await?;
                }
            }
        }
        outbox::delivered(&self.db, &done).await?;
        for (receiver, down_until) in answered {
            match down_until {
                None => outbox::receiver_up(&self.db, &receiver, &failed).await?,
                Some(until) => outbox::receiver_down(&self.db, &receiver, until).await?,
            }
        }
        Ok(claimed.len())
    }
}

/// One push (RFC 8935 §2): 202 (any 2xx) is delivered; 400 is the receiver refusing the SET
/// itself (dead); anything else — another status, no answer — is tried again later.
async fn push(client: &openidconnect::reqwest::Client, url: &str, token: String) -> Outcome {
    let sent = client
        .post(url)
        .header("Content-Type", "application/secevent+jwt")
        .header("Accept", "application/json")
        .body(token)
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => Outcome::Delivered,
        Ok(r) if r.status().as_u16() == 400 => {
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            Outcome::Refused(format!(
                "{status}: {}",
                body.chars().take(300).collect::<String>()
            ))
        }
        Ok(r) => Outcome::Retry(format!("answered {}", r.status())),
        Err(e) => Outcome::Retry(format!("no answer: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_an_hs256_jws_the_secret_verifies() {
        let token = sign(&json!({"jti": "1"}), "key");
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "HS256", "typ": "secevent+jwt"}));
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap())
            .expect("signature verifies");
    }

    #[test]
    fn retries_back_off_to_the_ceiling() {
        let config = DeliveryConfig::new("i".into());
        let now = store::now_us();
        let first = config.retry_at(0) - now;
        assert!((900_000..1_200_000).contains(&first), "{first}");
        let late = config.retry_at(30) - now;
        assert!(late <= 15 * 60 * 1_000_000 + 100_000, "{late}");
    }
}
