//! SMART on FHIR (App Launch 2.0, standalone patient launch) through the real router, on both backends: the system
//! admin registers an app; Amina starts the code flow with PKCE, signs in on the way, reads in plain words what the
//! app asks to see, and allows it; the code becomes tokens for her; every wrong code, verifier, address or app is
//! refused with the right OAuth error; refresh tokens rotate and a stolen one revokes its family; Disconnect stops
//! the app at once; her access log names the app. Peter, Margaret's carer, connects an app to her record (only while
//! and as far as she shares with him, which she sees and can undo). With `openid fhirUser`, the token response has
//! an identity token whose ES256 signature verifies against the published key.

mod support;

use anyhow::{Context, Result};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use carepact_domain::identity::{Email, PersonId, UserId};
use carepact_domain::smart::pkce_s256;
use carepact_store::{on_db, people, smart, users};
use serde_json::Value;
use support::*;

const REDIRECT: &str = "https://tracker.example/callback";
const AUD: &str = "http://127.0.0.1:8080/fhir/r4";
const VERIFIER: &str = "the-verifier-of-a-real-app-43-characters-or-more";
const SCOPES: &str = "launch/patient offline_access patient/Observation.rs patient/Condition.rs";

const CARER: &str = "peter@carepact.example";
const MARGARET: &str = "margaret@carepact.example";
const DAVID: &str = "david@carepact.example";

async fn amina(app: &TestApp) -> Result<(UserId, PersonId)> {
    let (user, person) = account(app, PERSON).await?;
    Ok((user, person.context("person")?))
}

/// A demo account, and the person whose record it is (if any).
async fn account(app: &TestApp, email: &str) -> Result<(UserId, Option<PersonId>)> {
    let email = Email::parse(email).map_err(anyhow::Error::msg)?;
    let user = users::find_by_email(&app.state.db, &email).await?.context("user")?;
    Ok((user.id, people::id_for_user(&app.state.db, user.id).await?))
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let at = text.find(start)? + start.len();
    Some(&text[at..at + text[at..].find(end)?])
}

/// The parameters of an authorization request, as an app sends them.
fn auth_params(client_id: &str, redirect: &str, scope: &str, verifier: &str) -> Vec<(String, String)> {
    [
        ("response_type", "code".to_owned()),
        ("client_id", client_id.to_owned()),
        ("redirect_uri", redirect.to_owned()),
        ("scope", scope.to_owned()),
        ("state", "st-123".to_owned()),
        ("aud", AUD.to_owned()),
        ("code_challenge", pkce_s256(verifier)),
        ("code_challenge_method", "S256".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn with_query(path: &str, params: &[(String, String)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{path}?{query}")
}

fn authorize_path(client_id: &str, verifier: &str) -> String {
    with_query("/oauth/authorize", &auth_params(client_id, REDIRECT, SCOPES, verifier))
}

/// One parameter of the query of a redirect.
fn param(location: &str, name: &str) -> Option<String> {
    let query = location.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The system admin registers an app; its client_id and (for a confidential app) secret.
async fn register(admin: &mut Client, name: &str, kind: &str) -> Result<(String, Option<String>)> {
    register_for(admin, name, kind, SCOPES).await
}

/// The system admin registers an app that may be granted `scopes`.
async fn register_for(admin: &mut Client, name: &str, kind: &str, scopes: &str) -> Result<(String, Option<String>)> {
    let fields = [
        ("name", name),
        ("redirect_uris", REDIRECT),
        ("kind", kind),
        ("scopes", scopes),
    ];
    let page = admin.submit("/admin/apps", "/admin/apps", &fields).await?;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let id = between(&page.body, "<code id=\"client-id\">", "</code>").context("client id")?;
    let secret = between(&page.body, "<code id=\"client-secret\">", "</code>");
    Ok((id.to_owned(), secret.map(str::to_owned)))
}

/// Amina (signed in) allows the app on its consent page; the code it is sent back with.
async fn allow(person: &mut Client, client_id: &str, verifier: &str) -> Result<String> {
    let path = authorize_path(client_id, verifier);
    let page = person.get(&path).await?;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = page.csrf().context("csrf")?;
    let mut fields = auth_params(client_id, REDIRECT, SCOPES, verifier);
    fields.push(("csrf_token".into(), csrf));
    fields.push(("decision".into(), "allow".into()));
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let done = person.post("/oauth/authorize", &fields).await?;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let location = done.location().context("redirect")?;
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    assert_eq!(param(location, "state").as_deref(), Some("st-123"));
    param(location, "code").context("code")
}

/// The signed-in user answers the consent page for `scope`: Allow, choosing `person` when given. The answer.
async fn answer(user: &mut Client, client_id: &str, scope: &str, person: Option<&str>) -> Result<Page> {
    let path = with_query("/oauth/authorize", &auth_params(client_id, REDIRECT, scope, VERIFIER));
    let page = user.get(&path).await?;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let mut fields = auth_params(client_id, REDIRECT, scope, VERIFIER);
    fields.push(("csrf_token".into(), page.csrf().context("csrf")?));
    fields.push(("decision".into(), "allow".into()));
    if let Some(person) = person {
        fields.push(("person".into(), person.into()));
    }
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    user.post("/oauth/authorize", &fields).await
}

/// The code an answer sends the app back with.
fn code_of(done: &Page) -> Result<String> {
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let location = done.location().context("redirect")?;
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    param(location, "code").context("code")
}

/// Allows and exchanges the code: the token response.
async fn connect(
    app: &TestApp,
    user: &mut Client,
    client_id: &str,
    scope: &str,
    person: Option<&str>,
) -> Result<Value> {
    let code = code_of(&answer(user, client_id, scope, person).await?)?;
    let (status, tokens) = exchange(app, client_id, &code, REDIRECT, VERIFIER).await?;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    Ok(tokens)
}

/// The person shares `sections` (read only) with a carer, on their sharing page.
async fn share_with_carer(person: &mut Client, carer: &str, sections: &[&str]) -> Result<()> {
    let mut fields = vec![
        ("grantee", "carer"),
        ("carer_email", carer),
        ("labels", "general"),
        ("access", "read"),
    ];
    fields.extend(sections.iter().map(|s| ("sections", *s)));
    let shared = person.submit("/sharing", "/sharing", &fields).await?;
    assert_eq!(shared.location(), Some("/sharing"), "{}", shared.body);
    Ok(())
}

/// The person stops sharing with `who`, from their sharing page (as crates/server/tests/consent.rs does).
async fn stop_sharing(person: &mut Client, who: &str) -> Result<()> {
    let page = person.get("/sharing").await?;
    let row = &page.body[page.body.find(who).context("shared with")?..];
    let revoke = between(row, "action=\"/sharing/", "\"")
        .context("revoke form")?
        .to_owned();
    let csrf = page.csrf().context("csrf")?;
    let done = person
        .post(&format!("/sharing/{revoke}"), &[("csrf_token", csrf.as_str())])
        .await?;
    assert_eq!(done.location(), Some("/sharing"));
    Ok(())
}

/// A FHIR API call with a bearer token: the status and the JSON answer.
async fn fhir(app: &TestApp, path: &str, token: &str) -> Result<(StatusCode, Value)> {
    let req = Request::get(path)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())?;
    let page = app.client().send(req).await?;
    Ok((page.status, serde_json::from_str(&page.body).unwrap_or(Value::Null)))
}

/// The disconnect forms' connection ids on an apps page, in order.
fn disconnect_ids(page: &Page) -> Vec<String> {
    page.body
        .split("action=\"/apps/")
        .skip(1)
        .filter_map(|s| s.split_once("/disconnect\"").map(|(id, _)| id.to_owned()))
        .collect()
}

fn base64url_decode(text: &str) -> Result<Vec<u8>> {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = A.iter().position(|a| *a == c).context("not base64url")? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

/// Checks an identity token's ES256 signature against the published key (with ring) and returns its claims.
async fn verified_claims(app: &TestApp, id_token: &str) -> Result<Value> {
    let parts: Vec<&str> = id_token.split('.').collect();
    assert_eq!(parts.len(), 3, "{id_token}");
    let header: Value = serde_json::from_slice(&base64url_decode(parts[0])?)?;
    assert_eq!((text(&header, "alg"), text(&header, "typ")), ("ES256", "JWT"));
    let jwks = app.client().get("/.well-known/jwks.json").await?;
    assert_eq!(jwks.status, StatusCode::OK, "{}", jwks.body);
    let jwks: Value = serde_json::from_str(&jwks.body)?;
    let key = jwks["keys"]
        .as_array()
        .context("keys")?
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .context("the token's kid is published")?;
    for (name, value) in [("kty", "EC"), ("crv", "P-256"), ("alg", "ES256"), ("use", "sig")] {
        assert_eq!(text(key, name), value, "{key}");
    }
    let (x, y) = (base64url_decode(text(key, "x"))?, base64url_decode(text(key, "y"))?);
    assert_eq!((x.len(), y.len()), (32, 32));
    let point = [&[0x04][..], &x, &y].concat();
    let signature = base64url_decode(parts[2])?;
    let public = ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &point);
    let signed = format!("{}.{}", parts[0], parts[1]);
    public
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| anyhow::anyhow!("the identity token's signature does not verify"))?;
    // A changed token does not verify.
    assert!(public.verify(format!("{signed}x").as_bytes(), &signature).is_err());
    Ok(serde_json::from_slice(&base64url_decode(parts[1])?)?)
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                char::from(A[((n >> (18 - 6 * i)) & 63) as usize])
            } else {
                '='
            });
        }
    }
    out
}

/// A call an app makes to the token or revocation endpoint: a form, no cookie, HTTP Basic for a confidential app.
async fn call(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Result<(StatusCode, HeaderMap, Value)> {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut req = Request::post(path)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        req = req.header(
            header::AUTHORIZATION,
            format!("Basic {}", base64(format!("{id}:{secret}").as_bytes())),
        );
    }
    let page = app.client().send(req.body(Body::from(body))?).await?;
    let json = serde_json::from_str(&page.body).unwrap_or(Value::Null);
    Ok((page.status, page.headers, json))
}

async fn exchange(
    app: &TestApp,
    client_id: &str,
    code: &str,
    redirect: &str,
    verifier: &str,
) -> Result<(StatusCode, Value)> {
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
        ("code_verifier", verifier),
        ("client_id", client_id),
    ];
    let (status, _, json) = call(app, "/oauth/token", &fields, None).await?;
    Ok((status, json))
}

async fn refresh(app: &TestApp, client_id: &str, token: &str) -> Result<(StatusCode, Value)> {
    let fields = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("client_id", client_id),
    ];
    let (status, _, json) = call(app, "/oauth/token", &fields, None).await?;
    Ok((status, json))
}

fn text<'a>(json: &'a Value, key: &str) -> &'a str {
    json[key].as_str().unwrap_or("")
}

async fn live(app: &TestApp, token: &str) -> Result<Option<smart::AccessToken>> {
    Ok(smart::access_token(&app.state.db, token, app.state.now()).await?)
}

carepact_testkit::backend_tests! {
    fixture = app;

    async fn a_person_connects_an_app_with_pkce_and_disconnects_it(app: TestApp) {
        let (amina_user, amina_person) = amina(&app).await?;

        // Apps find everything from the configuration, at the root and under the FHIR base.
        let config = app.client().get("/fhir/r4/.well-known/smart-configuration").await?;
        assert_eq!(config.status, StatusCode::OK);
        let config: Value = serde_json::from_str(&config.body)?;
        assert_eq!(text(&config, "authorization_endpoint"), "http://127.0.0.1:8080/oauth/authorize");
        assert_eq!(text(&config, "token_endpoint"), "http://127.0.0.1:8080/oauth/token");
        assert_eq!(text(&config, "revocation_endpoint"), "http://127.0.0.1:8080/oauth/revoke");
        let capabilities = config["capabilities"].as_array().context("capabilities")?;
        for c in ["launch-standalone", "client-public", "client-confidential-symmetric", "context-standalone-patient", "permission-offline", "permission-patient", "permission-v1", "permission-v2"] {
            assert!(capabilities.iter().any(|v| v == c), "{c}");
        }
        assert_eq!(config["code_challenge_methods_supported"], serde_json::json!(["S256"]));
        assert_eq!(app.client().get("/.well-known/smart-configuration").await?.status, StatusCode::OK);

        // The system admin registers a public app; only the admin may.
        let mut admin = app.client().signed_in(SYSTEM_ADMIN).await?;
        assert!(admin.get("/").await?.contains("href=\"/admin/apps\""));
        let (client_id, secret) = register(&mut admin, "Heart Tracker", "public").await?;
        assert!(secret.is_none());
        assert!(admin.get("/admin/apps").await?.contains(&client_id));
        let bad = admin.submit("/admin/apps", "/admin/apps", &[("name", ""), ("redirect_uris", "http://tracker.example/cb"), ("kind", ""), ("scopes", "user/*.cruds")]).await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        for message in ["Enter the name of the app", "Enter each return address in full", "Select the type of app", "Enter only scopes CarePact understands"] {
            assert!(bad.contains(message), "{message}: {}", bad.body);
        }
        let mut gp = app.client().signed_in(GP).await?;
        assert_eq!(gp.get("/admin/apps").await?.status, StatusCode::FORBIDDEN);

        // Amina starts from the app: she signs in first, and is brought back to the same request.
        let path = authorize_path(&client_id, VERIFIER);
        let mut person = app.client();
        let to_sign_in = person.get(&path).await?;
        let next = to_sign_in.location().context("to sign in")?.to_owned();
        assert!(next.starts_with("/sign-in?next="), "{next}");
        let form = person.get(&next).await?;
        assert!(form.contains("name=\"next\""), "{}", form.body);
        let csrf = form.csrf().context("csrf")?;
        let signed = person.post("/sign-in", &[("csrf_token", csrf.as_str()), ("email", PERSON), ("password", PASSWORD), ("next", path.as_str())]).await?;
        assert_eq!(signed.location(), Some(path.as_str()));

        // The consent page says, in words, what the app wants, grouped by section, and for how long.
        let consent = person.get(&path).await?;
        assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
        assert_eq!(consent.h1(), "Connect Heart Tracker to your record?");
        for words in ["Health record", "your health problems", "Readings", "your readings, such as blood pressure and weight", "It can see:", "Until you disconnect it", "Allow", "Do not allow", "https://tracker.example"] {
            assert!(consent.contains(words), "{words}: {}", consent.body);
        }
        assert!(!consent.contains("It can add, change or delete:"), "the app asked to read only");
        let csp = consent.headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(csp.contains("form-action 'self' https://tracker.example;"), "{csp}");

        // Not allowing sends the app access_denied.
        let mut deny = auth_params(&client_id, REDIRECT, SCOPES, VERIFIER);
        deny.push(("csrf_token".into(), consent.csrf().context("csrf")?));
        deny.push(("decision".into(), "deny".into()));
        let deny: Vec<(&str, &str)> = deny.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let denied = person.post("/oauth/authorize", &deny).await?;
        let location = denied.location().context("denied")?;
        assert_eq!(param(location, "error").as_deref(), Some("access_denied"));
        assert_eq!(param(location, "state").as_deref(), Some("st-123"));

        // Allowing gives a code, which becomes tokens for her.
        let code = allow(&mut person, &client_id, VERIFIER).await?;
        let fields = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT), ("code_verifier", VERIFIER), ("client_id", client_id.as_str())];
        let (status, headers, tokens) = call(&app, "/oauth/token", &fields, None).await?;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        assert_eq!(headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()), Some("no-store"));
        assert_eq!(text(&tokens, "token_type"), "Bearer");
        assert_eq!(tokens["expires_in"], 3600);
        assert_eq!(text(&tokens, "patient"), amina_person.to_string());
        assert_eq!(text(&tokens, "scope"), SCOPES);
        let access = text(&tokens, "access_token").to_owned();
        assert!(!text(&tokens, "refresh_token").is_empty());
        let found = live(&app, &access).await?.context("the token works")?;
        assert_eq!((found.user, found.person), (amina_user, amina_person));
        assert_eq!(found.client_id, client_id);
        assert_eq!(found.client_name, "Heart Tracker");
        assert_eq!(found.scopes.join(" "), SCOPES);
        assert!(live(&app, "not-a-token").await?.is_none());

        // The same code again: refused, and what it gave is revoked.
        let (status, again) = exchange(&app, &client_id, &code, REDIRECT, VERIFIER).await?;
        assert_eq!((status, text(&again, "error")), (StatusCode::BAD_REQUEST, "invalid_grant"));
        assert!(live(&app, &access).await?.is_none(), "a reused code revokes its tokens");

        // A wrong verifier: refused, and the code is used up by the attempt.
        let code = allow(&mut person, &client_id, VERIFIER).await?;
        let (status, wrong) = exchange(&app, &client_id, &code, REDIRECT, "a-different-verifier-that-is-also-43-characters").await?;
        assert_eq!((status, text(&wrong, "error")), (StatusCode::BAD_REQUEST, "invalid_grant"));
        let (status, _) = exchange(&app, &client_id, &code, REDIRECT, VERIFIER).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // A different redirect address at the token endpoint.
        let code = allow(&mut person, &client_id, VERIFIER).await?;
        let (status, wrong) = exchange(&app, &client_id, &code, "https://tracker.example/other", VERIFIER).await?;
        assert_eq!((status, text(&wrong, "error")), (StatusCode::BAD_REQUEST, "invalid_grant"));

        // An expired code (codes last 60 seconds).
        let code = allow(&mut person, &client_id, VERIFIER).await?;
        app.advance(time::Duration::seconds(61));
        let (status, expired) = exchange(&app, &client_id, &code, REDIRECT, VERIFIER).await?;
        assert_eq!((status, text(&expired, "error")), (StatusCode::BAD_REQUEST, "invalid_grant"));

        // An unknown app at the token endpoint, and no grant type.
        let code = allow(&mut person, &client_id, VERIFIER).await?;
        let (status, headers, unknown) = call(&app, "/oauth/token", &[("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT), ("code_verifier", VERIFIER), ("client_id", "no-such-app")], None).await?;
        assert_eq!((status, text(&unknown, "error")), (StatusCode::UNAUTHORIZED, "invalid_client"));
        assert!(headers.contains_key(header::WWW_AUTHENTICATE));
        let (status, _, missing) = call(&app, "/oauth/token", &[("client_id", client_id.as_str())], None).await?;
        assert_eq!((status, text(&missing, "error")), (StatusCode::BAD_REQUEST, "invalid_request"));
        let (status, _, other) = call(&app, "/oauth/token", &[("grant_type", "password"), ("client_id", client_id.as_str())], None).await?;
        assert_eq!((status, text(&other, "error")), (StatusCode::BAD_REQUEST, "unsupported_grant_type"));

        // A bad app or return address is an error page, never a redirect.
        let unknown_app = person.get(&authorize_path("no-such-app", VERIFIER)).await?;
        assert_eq!(unknown_app.status, StatusCode::BAD_REQUEST);
        assert!(unknown_app.location().is_none() && unknown_app.contains("not registered with CarePact"), "{}", unknown_app.body);
        let elsewhere = with_query("/oauth/authorize", &auth_params(&client_id, "https://evil.example/cb", SCOPES, VERIFIER));
        let elsewhere = person.get(&elsewhere).await?;
        assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST);
        assert!(elsewhere.location().is_none() && elsewhere.contains("an address that is not registered"));
        // Other problems go back to the app as OAuth errors.
        let mut no_pkce = auth_params(&client_id, REDIRECT, SCOPES, VERIFIER);
        no_pkce.retain(|(k, _)| k != "code_challenge_method");
        let refused = person.get(&with_query("/oauth/authorize", &no_pkce)).await?;
        assert_eq!(param(refused.location().context("pkce")?, "error").as_deref(), Some("invalid_request"));
        let mut wrong_aud = auth_params(&client_id, REDIRECT, SCOPES, VERIFIER);
        wrong_aud[5].1 = "https://other.example/fhir".into();
        let refused = person.get(&with_query("/oauth/authorize", &wrong_aud)).await?;
        assert_eq!(param(refused.location().context("aud")?, "error").as_deref(), Some("invalid_request"));
        let nothing = with_query("/oauth/authorize", &auth_params(&client_id, REDIRECT, "patient/Encounter.rs openid", VERIFIER));
        let refused = person.get(&nothing).await?;
        assert_eq!(param(refused.location().context("scope")?, "error").as_deref(), Some("invalid_scope"));

        // Refresh tokens rotate; presenting a replaced one again revokes the whole family.
        let code = allow(&mut person, &client_id, VERIFIER).await?;
        let (_, first) = exchange(&app, &client_id, &code, REDIRECT, VERIFIER).await?;
        let r1 = text(&first, "refresh_token").to_owned();
        let (status, second) = refresh(&app, &client_id, &r1).await?;
        assert_eq!(status, StatusCode::OK, "{second}");
        let (a2, r2) = (text(&second, "access_token").to_owned(), text(&second, "refresh_token").to_owned());
        assert!(!r2.is_empty() && r2 != r1);
        assert_eq!(text(&second, "patient"), amina_person.to_string());
        assert!(live(&app, &a2).await?.is_some());
        let (status, reused) = refresh(&app, &client_id, &r1).await?;
        assert_eq!((status, text(&reused, "error")), (StatusCode::BAD_REQUEST, "invalid_grant"));
        assert!(live(&app, &a2).await?.is_none(), "the family is revoked");
        let (status, _) = refresh(&app, &client_id, &r2).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // An app may give up a token (RFC 7009).
        let code = allow(&mut person, &client_id, VERIFIER).await?;
        let (_, given) = exchange(&app, &client_id, &code, REDIRECT, VERIFIER).await?;
        let given = text(&given, "access_token").to_owned();
        let (status, _, _) = call(&app, "/oauth/revoke", &[("token", given.as_str()), ("client_id", client_id.as_str())], None).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(live(&app, &given).await?.is_none());

        // Her apps page lists it; Disconnect stops every token at once.
        let code = allow(&mut person, &client_id, VERIFIER).await?;
        let (_, connected) = exchange(&app, &client_id, &code, REDIRECT, VERIFIER).await?;
        let access = text(&connected, "access_token").to_owned();
        assert!(live(&app, &access).await?.is_some());
        assert!(person.get("/").await?.contains("href=\"/apps\""));
        let list = person.get("/apps").await?;
        for words in ["Heart Tracker", "your health problems", "Until you disconnect it", "Last used", "Disconnect"] {
            assert!(list.contains(words), "{words}: {}", list.body);
        }
        let id = between(&list.body, "action=\"/apps/", "/disconnect\"").context("disconnect form")?.to_owned();
        let done = person.submit("/apps", &format!("/apps/{id}/disconnect"), &[]).await?;
        assert_eq!(done.location(), Some("/apps"));
        assert!(live(&app, &access).await?.is_none(), "disconnecting revokes the app's tokens");
        let list = person.get("/apps").await?;
        assert!(list.contains("The app has been disconnected") && list.contains("No apps are connected to your record."), "{}", list.body);
        assert_eq!(person.submit("/apps", &format!("/apps/{id}/disconnect"), &[]).await?.status, StatusCode::NOT_FOUND);
        // Nobody else can reach her apps page.
        assert_eq!(gp.get("/apps").await?.status, StatusCode::FORBIDDEN);

        // Her access log says which app she connected and disconnected.
        let log = person.get("/access-log?kind=sharing").await?;
        assert!(log.contains("You connected the app &#34;Heart Tracker&#34; to your record") || log.contains("You connected the app &quot;Heart Tracker&quot; to your record"), "{}", log.body);
        assert!(log.contains("You disconnected the app"), "{}", log.body);
        Ok(())
    }

    async fn a_confidential_app_authenticates_with_its_secret_and_can_be_switched_off(app: TestApp) {
        let mut admin = app.client().signed_in(SYSTEM_ADMIN).await?;
        let (client_id, secret) = register(&mut admin, "Clinic Portal", "confidential").await?;
        let secret = secret.context("a confidential app has a secret, shown once")?;
        assert!(!admin.get("/admin/apps").await?.contains(&secret));
        let mut person = app.client().signed_in(PERSON).await?;
        let code = allow(&mut person, &client_id, VERIFIER).await?;
        let fields = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT), ("code_verifier", VERIFIER)];
        // Without its secret, or with a wrong one, it is refused.
        let mut with_id = fields.to_vec();
        with_id.push(("client_id", client_id.as_str()));
        let (status, _, json) = call(&app, "/oauth/token", &with_id, None).await?;
        assert_eq!((status, text(&json, "error")), (StatusCode::UNAUTHORIZED, "invalid_client"));
        let (status, _, _) = call(&app, "/oauth/token", &fields, Some((&client_id, "wrong"))).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // The code was not used by those attempts: the app had not proved who it is.
        let (status, _, tokens) = call(&app, "/oauth/token", &fields, Some((&client_id, &secret))).await?;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let access = text(&tokens, "access_token").to_owned();
        assert!(live(&app, &access).await?.is_some());

        // Tokens issued directly (for tests and tools) work the same way.
        let (user, person_id) = amina(&app).await?;
        let issued = smart::issue_tokens(&app.state.db, &client_id, user, person_id, &["patient/Observation.rs".to_owned()], app.state.now()).await?;
        assert!(issued.refresh_token.is_none(), "no offline_access, no refresh token");
        assert_eq!(live(&app, &issued.access_token).await?.context("issued")?.scopes, ["patient/Observation.rs"]);

        // Switched off, none of its tokens work.
        let done = admin.submit("/admin/apps", &format!("/admin/apps/{client_id}/disable"), &[]).await?;
        assert_eq!(done.location(), Some("/admin/apps"));
        assert!(live(&app, &access).await?.is_none());
        assert!(live(&app, &issued.access_token).await?.is_none());
        assert_eq!(person.get(&authorize_path(&client_id, VERIFIER)).await?.status, StatusCode::BAD_REQUEST);
        // An access token expires after an hour.
        admin.submit("/admin/apps", &format!("/admin/apps/{client_id}/enable"), &[]).await?;
        assert!(live(&app, &access).await?.is_some());
        app.advance(time::Duration::minutes(61));
        assert!(live(&app, &access).await?.is_none());
        Ok(())
    }

    async fn a_carer_connects_an_app_for_the_person_they_care_for(app: TestApp) {
        let (_, margaret) = account(&app, MARGARET).await?;
        let margaret = margaret.context("Margaret's record")?;
        let (_, amina_person) = amina(&app).await?;
        let mut admin = app.client().signed_in(SYSTEM_ADMIN).await?;
        let (client_id, _) = register(&mut admin, "Heart Tracker", "public").await?;

        // Until Margaret shares with him, Peter has no record to connect an app to.
        let mut peter = app.client().signed_in(CARER).await?;
        let refused = peter.get(&authorize_path(&client_id, VERIFIER)).await?;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.contains("Only a person, or a carer they share with, can connect an app"), "{}", refused.body);

        // Margaret shares her readings with Peter, her carer.
        let mut margaret_browser = app.client().signed_in(MARGARET).await?;
        share_with_carer(&mut margaret_browser, CARER, &["readings"]).await?;

        // Peter starts from the app, signs in on the way, and is brought back to the request.
        let path = authorize_path(&client_id, VERIFIER);
        let mut peter = app.client();
        let next = peter.get(&path).await?.location().context("to sign in")?.to_owned();
        let csrf = peter.get(&next).await?.csrf().context("csrf")?;
        let signed = peter.post("/sign-in", &[("csrf_token", csrf.as_str()), ("email", CARER), ("password", PASSWORD), ("next", path.as_str())]).await?;
        assert_eq!(signed.location(), Some(path.as_str()));

        // With one choice, the page says whose record it is, in words that fit her record.
        let consent = peter.get(&path).await?;
        assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
        assert_eq!(consent.h1().replace("&#39;", "'"), "Connect Heart Tracker to Margaret Wilson's record?");
        for words in ["Margaret Wilson shares their record with you as their carer", "readings, such as blood pressure and weight", "only reach what they share with you"] {
            assert!(consent.contains(words), "{words}: {}", consent.body);
        }
        assert!(!consent.contains("your readings") && !consent.contains("name=\"person\""), "{}", consent.body);

        // David shares with Peter too: now he chooses whose record, and must.
        let mut david = app.client().signed_in(DAVID).await?;
        share_with_carer(&mut david, CARER, &["readings", "record"]).await?;
        let consent = peter.get(&path).await?;
        assert_eq!(consent.h1(), "Connect Heart Tracker to a record?");
        assert!(consent.contains("Whose record should the app use?") && !consent.contains("Your own record"), "{}", consent.body);
        let (at_david, at_margaret) = (consent.body.find("David").context("David")?, consent.body.find("Margaret Wilson").context("Margaret")?);
        assert!(at_david < at_margaret, "by name");
        assert!(consent.contains(&format!("value=\"{margaret}\"")));
        let missing = answer(&mut peter, &client_id, SCOPES, None).await?;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        for words in ["There is a problem", "href=\"#person\"", "Select whose record the app should use", "id=\"person-error\""] {
            assert!(missing.contains(words), "{words}: {}", missing.body);
        }
        // A tampered choice — someone who does not share with him, nobody, or not an id — is "not found".
        for tampered in [amina_person.to_string(), uuid::Uuid::now_v7().to_string(), "not-an-id".to_owned()] {
            let page = answer(&mut peter, &client_id, SCOPES, Some(&tampered)).await?;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "{tampered}");
        }

        // He chooses Margaret: the code becomes tokens for her record.
        let tokens = connect(&app, &mut peter, &client_id, SCOPES, Some(&margaret.to_string())).await?;
        assert_eq!(text(&tokens, "patient"), margaret.to_string());
        assert!(tokens.get("id_token").is_none(), "no openid, no identity token");
        let access = text(&tokens, "access_token").to_owned();
        let (status, bundle) = fhir(&app, "/fhir/r4/Observation", &access).await?;
        assert_eq!(status, StatusCode::OK, "{bundle}");
        let entries = bundle["entry"].as_array().context("entries")?;
        assert!(!entries.is_empty(), "{bundle}");
        let subject = format!("Patient/{margaret}");
        assert!(entries.iter().all(|e| e["resource"]["subject"]["reference"] == subject.as_str()), "{bundle}");
        // What she does not share with him stays out of reach, whatever the scopes say.
        let (status, _) = fhir(&app, "/fhir/r4/Condition", &access).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Peter's apps page lists it, for Margaret; his home page links to it.
        assert!(peter.get("/").await?.contains("href=\"/apps\""));
        let mine = peter.get("/apps").await?;
        assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
        assert_eq!(mine.h1(), "Apps you have connected for others");
        for words in ["Heart Tracker", "Whose record", "Margaret Wilson", "readings, such as blood pressure and weight", "Disconnect"] {
            assert!(mine.contains(words), "{words}: {}", mine.body);
        }
        // Margaret's own connection to the same app is separate.
        let own = connect(&app, &mut margaret_browser, &client_id, SCOPES, None).await?;
        let own_access = text(&own, "access_token").to_owned();
        let hers = margaret_browser.get("/apps").await?;
        assert_eq!(hers.body.matches("<h2 class=\"nhsuk-card__heading").count(), 2, "{}", hers.body);
        assert_eq!(hers.body.matches("Connected by Peter Wilson").count(), 1, "{}", hers.body);
        assert_eq!(disconnect_ids(&hers).len(), 2);

        // Peter disconnects his: his tokens stop at once, hers do not; her log names him.
        let id = disconnect_ids(&mine).first().context("disconnect form")?.clone();
        let done = peter.submit("/apps", &format!("/apps/{id}/disconnect"), &[]).await?;
        assert_eq!(done.location(), Some("/apps"));
        let after = peter.get("/apps").await?;
        assert!(after.contains("The app has been disconnected") && after.contains("You have not connected any apps"), "{}", after.body);
        assert!(live(&app, &access).await?.is_none());
        assert!(live(&app, &own_access).await?.is_some());
        assert_eq!(peter.submit("/apps", &format!("/apps/{id}/disconnect"), &[]).await?.status, StatusCode::NOT_FOUND);
        // Nor can he disconnect Margaret's own connection.
        let her_own = disconnect_ids(&margaret_browser.get("/apps").await?).first().context("hers")?.clone();
        assert_eq!(peter.submit("/apps", &format!("/apps/{her_own}/disconnect"), &[]).await?.status, StatusCode::NOT_FOUND);
        let checked = margaret_browser.get("/access-log?who=others&kind=looked").await?;
        assert!(checked.contains("Checked that they can connect an app to your record"), "{}", checked.body);
        let log = margaret_browser.get("/access-log?kind=sharing").await?;
        for words in ["Peter Wilson", "Connected the app &#34;Heart Tracker&#34; to your record", "Disconnected the app &#34;Heart Tracker&#34; from your record", "You connected the app &#34;Heart Tracker&#34; to your record"] {
            assert!(log.contains(words) || log.contains(&words.replace("&#34;", "&quot;")), "{words}: {}", log.body);
        }

        // He connects it again; when Margaret stops sharing with him, the next call is "not found".
        let again = connect(&app, &mut peter, &client_id, SCOPES, Some(&margaret.to_string())).await?;
        let access = text(&again, "access_token").to_owned();
        assert_eq!(fhir(&app, "/fhir/r4/Observation", &access).await?.0, StatusCode::OK);
        stop_sharing(&mut margaret_browser, "Peter Wilson").await?;
        let (status, _) = fhir(&app, "/fhir/r4/Observation", &access).await?;
        assert_eq!(status, StatusCode::NOT_FOUND, "stopping sharing works on the very next call");
        // His list no longer names her; only David is left to choose.
        let mine = peter.get("/apps").await?;
        assert!(mine.contains("Someone who no longer shares with you what this app can reach") && !mine.contains("Margaret Wilson"), "{}", mine.body);
        let consent = peter.get(&path).await?;
        assert!(consent.h1().contains("David") && !consent.contains("Margaret"), "{}", consent.body);
        assert_eq!(answer(&mut peter, &client_id, SCOPES, Some(&margaret.to_string())).await?.status, StatusCode::NOT_FOUND);

        // Margaret still sees the app he connected, and disconnects it: she stays in control.
        let hers = margaret_browser.get("/apps").await?;
        assert!(hers.contains("Connected by Peter Wilson"), "{}", hers.body);
        let at = hers.body.find("Connected by Peter Wilson").context("his card")?;
        let his = disconnect_ids(&Page { status: hers.status, headers: hers.headers.clone(), body: hers.body[at..].to_owned() }).first().context("his form")?.clone();
        let done = margaret_browser.submit("/apps", &format!("/apps/{his}/disconnect"), &[]).await?;
        assert_eq!(done.location(), Some("/apps"));
        assert!(live(&app, &access).await?.is_none(), "her disconnecting revokes what he connected");
        assert!(live(&app, &own_access).await?.is_some());
        let hers = margaret_browser.get("/apps").await?;
        assert!(!hers.contains("Connected by Peter Wilson") && hers.contains("Heart Tracker"), "{}", hers.body);
        Ok(())
    }

    async fn only_people_and_their_carers_connect_apps_and_a_carer_can_choose_their_own_record(app: TestApp) {
        let (amina_user, amina_person) = amina(&app).await?;
        let mut admin = app.client().signed_in(SYSTEM_ADMIN).await?;
        let (client_id, _) = register(&mut admin, "Heart Tracker", "public").await?;

        // A professional with no record of their own and no carer's sharing is refused, in words.
        let mut gp = app.client().signed_in(GP).await?;
        let refused = gp.get(&authorize_path(&client_id, VERIFIER)).await?;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.contains("Only a person, or a carer they share with, can connect an app to their record"), "{}", refused.body);
        // Sending the form anyway: without a choice it is the same refusal; naming a person is "not found".
        let mut fields = auth_params(&client_id, REDIRECT, SCOPES, VERIFIER);
        fields.push(("csrf_token".into(), gp.get("/").await?.csrf().context("csrf")?));
        fields.push(("decision".into(), "allow".into()));
        let plain: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(gp.post("/oauth/authorize", &plain).await?.status, StatusCode::FORBIDDEN);
        let person = amina_person.to_string();
        let mut tampered = plain.clone();
        tampered.push(("person", person.as_str()));
        assert_eq!(gp.post("/oauth/authorize", &tampered).await?.status, StatusCode::NOT_FOUND);
        assert_eq!(gp.get("/apps").await?.status, StatusCode::FORBIDDEN);
        // Sharing with a professional does not make them able to connect apps: the page still refuses, and the store
        // refuses a grant resting on a professional's consent.
        let mut amina_browser = app.client().signed_in(PERSON).await?;
        let shared = amina_browser.submit("/sharing", "/sharing", &[("grantee", "professional"), ("professional_email", GP), ("sections", "readings"), ("labels", "general"), ("access", "read")]).await?;
        assert_eq!(shared.location(), Some("/sharing"), "{}", shared.body);
        assert_eq!(gp.get(&authorize_path(&client_id, VERIFIER)).await?.status, StatusCode::FORBIDDEN);
        let gp_user = users::find_by_email(&app.state.db, &Email::parse(GP).map_err(anyhow::Error::msg)?).await?.context("GP")?;
        let actor = carepact_domain::consent::Actor { user: gp_user.id, roles: gp_user.roles.clone(), organisation: gp_user.organisation_id };
        let request = carepact_domain::consent::Request { section: carepact_domain::consent::Section::Readings, label: carepact_domain::consent::Sensitivity::General, action: carepact_domain::consent::Action::Read };
        let ask = carepact_store::access::Ask { actor: &actor, role: "professional", on_behalf_of: None, person: amina_person, request, entity: "test", purpose: "direct-care", as_owner: None };
        let grant = carepact_store::access::authorize(&app.state.db, &app.state.audit, &ask, app.state.now()).await?.map_err(|_| anyhow::anyhow!("the GP may read her readings"))?;
        assert!(!smart::acts_as_carer(&app.state.db, &grant, app.state.now()).await?);
        let scopes = ["patient/Observation.rs".to_owned()];
        let challenge = pkce_s256(VERIFIER);
        let asked = smart::NewAuthorization { client_id: &client_id, scopes: &scopes, redirect_uri: REDIRECT, code_challenge: &challenge };
        assert!(smart::approve(&app.state.db, &grant, &asked, app.state.now()).await?.is_err());

        // Amina is also a carer, for Margaret: her own record comes first.
        let db = &app.state.db;
        on_db!(db, write, |p| sqlx::query("UPDATE users SET roles = 'carer person' WHERE id = $1")
            .bind(amina_user.0)
            .execute(p)
            .await
            .map(|_| ()))?;
        let mut margaret = app.client().signed_in(MARGARET).await?;
        share_with_carer(&mut margaret, PERSON, &["readings"]).await?;
        let mut amina = app.client().signed_in(PERSON).await?;
        let consent = amina.get(&authorize_path(&client_id, VERIFIER)).await?;
        assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
        let own = consent.body.find("Your own record").context("own record")?;
        let theirs = consent.body.find("Margaret Wilson").context("Margaret")?;
        assert!(own < theirs, "her own record first");
        assert!(consent.contains(&format!("id=\"person\" name=\"person\" type=\"radio\" value=\"{amina_person}\"")), "{}", consent.body);
        let tokens = connect(&app, &mut amina, &client_id, SCOPES, Some(&person)).await?;
        assert_eq!(text(&tokens, "patient"), person);
        // Her apps page has both lists.
        let list = amina.get("/apps").await?;
        assert!(list.contains("Apps connected to your record") && list.contains("Apps you have connected for others"), "{}", list.body);
        Ok(())
    }

    async fn openid_connect_identity_tokens_verify_against_the_published_key(app: TestApp) {
        const IDENTITY: &str = "launch/patient openid fhirUser offline_access patient/Observation.rs";
        let (amina_user, amina_person) = amina(&app).await?;

        // Discovery: the SMART configuration says so, and the OpenID configuration is at the issuer (the FHIR base).
        let smart_config: Value = serde_json::from_str(&app.client().get("/.well-known/smart-configuration").await?.body)?;
        assert!(smart_config["capabilities"].as_array().context("capabilities")?.iter().any(|c| c == "sso-openid-connect"));
        let scopes = smart_config["scopes_supported"].as_array().context("scopes")?;
        assert!(scopes.iter().any(|s| s == "openid") && scopes.iter().any(|s| s == "fhirUser"));
        assert_eq!(text(&smart_config, "issuer"), AUD);
        for path in ["/fhir/r4/.well-known/openid-configuration", "/.well-known/openid-configuration"] {
            let page = app.client().get(path).await?;
            assert_eq!(page.status, StatusCode::OK, "{path}");
            let config: Value = serde_json::from_str(&page.body)?;
            assert_eq!(text(&config, "issuer"), AUD);
            assert_eq!(text(&config, "jwks_uri"), "http://127.0.0.1:8080/.well-known/jwks.json");
            assert_eq!(text(&config, "authorization_endpoint"), "http://127.0.0.1:8080/oauth/authorize");
            assert_eq!(text(&config, "token_endpoint"), "http://127.0.0.1:8080/oauth/token");
            assert_eq!(config["id_token_signing_alg_values_supported"], serde_json::json!(["ES256"]));
            assert_eq!(config["response_types_supported"], serde_json::json!(["code"]));
            assert_eq!(config["subject_types_supported"], serde_json::json!(["public"]));
            assert!(config["scopes_supported"].as_array().context("scopes")?.iter().any(|s| s == "openid"));
        }

        // Amina allows an app registered for openid fhirUser: the token response carries a signed identity token.
        let mut admin = app.client().signed_in(SYSTEM_ADMIN).await?;
        let (client_id, _) = register_for(&mut admin, "Heart Tracker", "public", IDENTITY).await?;
        let mut person = app.client().signed_in(PERSON).await?;
        let consent = person.get(&with_query("/oauth/authorize", &auth_params(&client_id, REDIRECT, IDENTITY, VERIFIER))).await?;
        assert!(consent.contains("which CarePact account allowed it"), "{}", consent.body);
        let tokens = connect(&app, &mut person, &client_id, IDENTITY, None).await?;
        assert_eq!(text(&tokens, "scope"), IDENTITY);
        let claims = verified_claims(&app, text(&tokens, "id_token")).await?;
        let now = app.state.now().unix_timestamp();
        assert_eq!(text(&claims, "iss"), AUD);
        assert_eq!(text(&claims, "sub"), amina_user.to_string());
        assert_eq!(text(&claims, "aud"), client_id);
        assert_eq!((claims["iat"].as_i64(), claims["exp"].as_i64()), (Some(now), Some(now + 3600)));
        assert_eq!(text(&claims, "fhirUser"), format!("{AUD}/Patient/{amina_person}"));

        // A refresh gives a new one, signed with the same (stored) key.
        let header = |token: &str| -> Result<Value> {
            Ok(serde_json::from_slice(&base64url_decode(token.split('.').next().unwrap_or(""))?)?)
        };
        let kid = text(&header(text(&tokens, "id_token"))?, "kid").to_owned();
        app.advance(time::Duration::minutes(5));
        let (status, refreshed) = refresh(&app, &client_id, text(&tokens, "refresh_token")).await?;
        assert_eq!(status, StatusCode::OK, "{refreshed}");
        let again = verified_claims(&app, text(&refreshed, "id_token")).await?;
        assert_eq!(again["iat"].as_i64(), Some(now + 300));
        assert_eq!(text(&again, "fhirUser"), format!("{AUD}/Patient/{amina_person}"));
        assert_eq!(text(&header(text(&refreshed, "id_token"))?, "kid"), kid);
        let jwks: Value = serde_json::from_str(&app.client().get("/.well-known/jwks.json").await?.body)?;
        assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(1));
        // Narrowed to leave out openid, no identity token.
        let fields = [("grant_type", "refresh_token"), ("refresh_token", text(&refreshed, "refresh_token")), ("client_id", client_id.as_str()), ("scope", "offline_access patient/Observation.rs")];
        let (status, _, narrowed) = call(&app, "/oauth/token", &fields, None).await?;
        assert_eq!(status, StatusCode::OK, "{narrowed}");
        assert!(narrowed.get("id_token").is_none(), "{narrowed}");

        // Without openid, no identity token.
        let plain = connect(&app, &mut person, &client_id, "launch/patient patient/Observation.rs", None).await?;
        assert!(plain.get("id_token").is_none(), "{plain}");
        // openid without fhirUser: no fhirUser claim.
        let bare = connect(&app, &mut person, &client_id, "openid patient/Observation.rs", None).await?;
        assert!(verified_claims(&app, text(&bare, "id_token")).await?.get("fhirUser").is_none());

        // A carer's identity token names them as a RelatedPerson (their user id), not as the person.
        let (peter_user, _) = account(&app, CARER).await?;
        let mut margaret = app.client().signed_in(MARGARET).await?;
        share_with_carer(&mut margaret, CARER, &["readings"]).await?;
        let mut peter = app.client().signed_in(CARER).await?;
        let tokens = connect(&app, &mut peter, &client_id, IDENTITY, None).await?;
        let claims = verified_claims(&app, text(&tokens, "id_token")).await?;
        assert_eq!(text(&claims, "sub"), peter_user.to_string());
        assert_eq!(text(&claims, "fhirUser"), format!("{AUD}/RelatedPerson/{peter_user}"));
        Ok(())
    }
}
