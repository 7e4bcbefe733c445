//! Password hashing with Argon2id at OWASP's recommended cost, off the async threads and with a cap on how many
//! run at once, so a flood of sign-in attempts cannot starve the server.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

fn argon2() -> anyhow::Result<Argon2<'static>> {
    // OWASP: Argon2id, m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A hash of a password nobody has, verified when the account does not exist so that the time taken does not
/// reveal which addresses have accounts.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$lHnWcA4j9T0LxGh1MfWHnZ0w5o6Y6J7xwQ8m0PZk0TA";

impl PasswordHasher {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Self {
            permits: Arc::new(Semaphore::new(cores)),
        }
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let a = argon2()?;
            a.hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
        })
        .await?
    }

    /// True when `password` matches `stored`. With no stored hash (unknown account, or an invitation not yet
    /// accepted) a dummy hash is checked anyway and the answer is false.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await?;
        let password = password.to_owned();
        let known = stored.is_some();
        let stored = stored.unwrap_or(DUMMY_HASH).to_owned();
        tokio::task::spawn_blocking(move || {
            let a = argon2()?;
            let ok = match PasswordHash::new(&stored) {
                Ok(parsed) => a.verify_password(password.as_bytes(), &parsed).is_ok(),
                Err(_) => false,
            };
            Ok(ok && known)
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_do() {
        let h = PasswordHasher::new();
        let stored = h.hash("correct horse battery").await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(h.verify("correct horse battery", Some(&stored)).await.unwrap());
        assert!(!h.verify("wrong horse battery", Some(&stored)).await.unwrap());
        assert!(!h.verify("correct horse battery", None).await.unwrap());
        assert!(!h.verify("x", Some("not a hash")).await.unwrap());
    }
}
