//! Random tokens for session cookies, CSRF and emailed links, and the hash under which they are stored.

use sha2::{Digest, Sha256};

/// 32 random bytes as 64 lowercase hex characters.
pub fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("random number generator: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The stored form of a token: its SHA-256.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A hex digest of arbitrary input, for keys that must not hold the input itself (throttle keys).
pub fn digest_hex(input: &str) -> String {
    token_hash(input).iter().map(|b| format!("{b:02x}")).collect()
}

/// True when a token has the shape we issue (so junk is refused before touching the database).
pub fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_well_formed() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_ne!(a, b);
        assert!(well_formed(&a));
        assert!(!well_formed("abc"));
        assert!(!well_formed(&a.to_uppercase()));
        assert_eq!(token_hash(&a).len(), 32);
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
