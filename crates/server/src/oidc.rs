//! OpenID Connect for SMART apps (`openid fhirUser`): an identity token (a JWT signed with ES256) beside the access
//! token, naming the user who connected the app; the discovery document; and the public key (JWKS) apps check the
//! signature with.
//!
//! - The signing key is made once, on first use, and stored (`store::signing_keys`, PKCS#8); every node signs with
//!   the same key. Its `kid` is the key's JWK thumbprint (RFC 7638).
//! - The issuer is the FHIR base URL (what apps send as `aud`), so discovery is at
//!   `<FHIR base>/.well-known/openid-configuration` (and at the root, for convenience).
//! - Claims: `iss`, `sub` (the user's id), `aud` (the app's client_id), `iat`, `exp` (one hour, as the access
//!   token), and with `fhirUser` the user as a FHIR resource's absolute URL: `<base>/Patient/<person id>` for a
//!   person acting on their own record; for anyone else (a carer acting for the person),
//!   `<base>/RelatedPerson/<user id>`, which names the carer's CarePact account. The API serves only Patient, so a
//!   RelatedPerson URL identifies the user but cannot be read.
//! - No `nonce` is taken or returned (SMART apps do not need one: the code is bound to the app by PKCE).

use anyhow::anyhow;
use axum::extract::State;
use axum::response::{IntoResponse, Json, Response};
use carepact_domain::identity::{PersonId, UserId};
use carepact_domain::smart::{ACCESS_LIFETIME, base64url};
use carepact_store::signing_keys::{self, SigningKey};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::errors::AppError;
use crate::state::AppState;

/// The one signing algorithm.
pub const ALG: &str = "ES256";

/// The claims an identity token may carry.
pub const CLAIMS: [&str; 6] = ["iss", "sub", "aud", "exp", "iat", "fhirUser"];

fn key_pair(pkcs8: &[u8]) -> Result<EcdsaKeyPair, AppError> {
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &SystemRandom::new())
        .map_err(|e| AppError::Internal(anyhow!("the stored signing key cannot be read: {e}")))
}

/// The public half of a P-256 key as JWK coordinates: `x` and `y`, base64url. The public key is the uncompressed
/// point (0x04, then 32 bytes of x and 32 of y).
fn coordinates(pair: &EcdsaKeyPair) -> Result<(String, String), AppError> {
    match pair.public_key().as_ref() {
        [0x04, point @ ..] if point.len() == 64 => Ok((base64url(&point[..32]), base64url(&point[32..]))),
        _ => Err(AppError::Internal(anyhow!(
            "the signing key is not an uncompressed P-256 point"
        ))),
    }
}

/// The key's JWK thumbprint (RFC 7638): SHA-256 over its required members in lexical order.
fn thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    base64url(&Sha256::digest(canonical.as_bytes()))
}

/// The current signing key, made and stored the first time it is needed.
async fn signing_key(state: &AppState) -> Result<(SigningKey, EcdsaKeyPair), AppError> {
    let key = match signing_keys::current(&state.db, ALG).await? {
        Some(key) => key,
        None => {
            let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| AppError::Internal(anyhow!("a signing key could not be made")))?;
            let pair = key_pair(document.as_ref())?;
            let (x, y) = coordinates(&pair)?;
            let candidate = SigningKey {
                kid: thumbprint(&x, &y),
                algorithm: ALG.to_owned(),
                pkcs8: document.as_ref().to_vec(),
                created_at: carepact_store::DbTime(state.now()),
            };
            // Another node may have stored one first: then that one is used.
            signing_keys::current_or_insert(&state.db, &candidate, state.now()).await?
        }
    };
    let pair = key_pair(&key.pkcs8)?;
    Ok((key, pair))
}

/// The FHIR base URL: the issuer.
pub fn issuer(state: &AppState) -> String {
    format!("{}/fhir/r4", state.config.public_url.trim_end_matches('/'))
}

/// What an identity token says about the user.
pub struct Subject {
    pub user: UserId,
    /// The person whose record the app reaches.
    pub person: PersonId,
    /// Whether to name the user as a FHIR resource (the `fhirUser` scope).
    pub fhir_user: bool,
}

/// The user as a FHIR resource's absolute URL: their Patient when acting on their own record, else a RelatedPerson
/// named by their user id (see the module's notes).
async fn fhir_user(state: &AppState, subject: &Subject) -> Result<String, AppError> {
    let own = carepact_store::people::id_for_user(&state.db, subject.user).await? == Some(subject.person);
    Ok(if own {
        format!("{}/Patient/{}", issuer(state), subject.person)
    } else {
        format!("{}/RelatedPerson/{}", issuer(state), subject.user)
    })
}

/// A signed identity token for the app `client_id`.
pub async fn id_token(state: &AppState, client_id: &str, subject: &Subject) -> Result<String, AppError> {
    let (key, pair) = signing_key(state).await?;
    let now = state.now().unix_timestamp();
    let header = json!({"alg": ALG, "typ": "JWT", "kid": key.kid});
    let mut claims = json!({
        "iss": issuer(state),
        "sub": subject.user.to_string(),
        "aud": client_id,
        "iat": now,
        "exp": now + ACCESS_LIFETIME.whole_seconds(),
    });
    if subject.fhir_user {
        claims["fhirUser"] = json!(fhir_user(state, subject).await?);
    }
    let input = format!(
        "{}.{}",
        base64url(header.to_string().as_bytes()),
        base64url(claims.to_string().as_bytes())
    );
    let signature = pair
        .sign(&SystemRandom::new(), input.as_bytes())
        .map_err(|_| AppError::Internal(anyhow!("the identity token could not be signed")))?;
    Ok(format!("{input}.{}", base64url(signature.as_ref())))
}

/// The published keys as JWKs.
async fn keys(state: &AppState) -> Result<Vec<Value>, AppError> {
    // Make the key now if no token has been signed yet, so apps can fetch it before their first sign-in.
    signing_key(state).await?;
    let mut out = Vec::new();
    for key in signing_keys::published(&state.db, ALG).await? {
        let (x, y) = coordinates(&key_pair(&key.pkcs8)?)?;
        out.push(json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": key.kid, "alg": ALG, "use": "sig"}));
    }
    Ok(out)
}

/// `GET /.well-known/jwks.json`: the public keys identity tokens are signed with.
pub async fn jwks(State(state): State<AppState>) -> Result<Response, AppError> {
    Ok(Json(json!({ "keys": keys(&state).await? })).into_response())
}

/// `GET /.well-known/openid-configuration` (and under the FHIR base, the issuer): OpenID Connect discovery.
pub async fn configuration(State(state): State<AppState>) -> Response {
    let base = state.config.public_url.trim_end_matches('/');
    Json(json!({
        "issuer": issuer(&state),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "introspection_endpoint": format!("{base}/oauth/introspect"),
        "id_token_signing_alg_values_supported": [ALG],
        "scopes_supported": crate::smart::scopes_supported(),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_rfc_7638_shape() {
        // The same members always give the same id, and different keys different ids.
        assert_eq!(thumbprint("a", "b"), thumbprint("a", "b"));
        assert_ne!(thumbprint("a", "b"), thumbprint("b", "a"));
        assert_eq!(thumbprint("a", "b").len(), 43);
    }

    #[test]
    fn a_generated_key_has_p256_coordinates() {
        let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        let pair = key_pair(document.as_ref()).unwrap();
        let (x, y) = coordinates(&pair).unwrap();
        assert_eq!((x.len(), y.len()), (43, 43));
        assert!(key_pair(b"not a key").is_err());
    }
}
