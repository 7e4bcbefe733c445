//! SMART on FHIR (App Launch 2.0, standalone patient launch) through the real router, on both backends: the system
//! admin registers an app; Amina starts the code flow with PKCE, signs in on the way, reads in plain words what the
//! app asks to see, and allows it; the code becomes tokens for her; every wrong code, verifier, address or app is
//! refused with the right OAuth error; refresh tokens rotate and a stolen one revokes its family; Disconnect stops
//! the app at once; her access log names the app.

mod support;

use anyhow::{Context, Result};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use carepact_domain::identity::{Email, PersonId, UserId};
use carepact_domain::smart::pkce_s256;
use carepact_store::{people, smart, users};
use serde_json::Value;
use support::*;

const REDIRECT: &str = "https://tracker.example/callback";
const AUD: &str = "http://127.0.0.1:8080/fhir/r4";
const VERIFIER: &str = "the-verifier-of-a-real-app-43-characters-or-more";
const SCOPES: &str = "launch/patient offline_access patient/Observation.rs patient/Condition.rs";

async fn amina(app: &TestApp) -> Result<(UserId, PersonId)> {
    let email = Email::parse(PERSON).map_err(anyhow::Error::msg)?;
    let user = users::find_by_email(&app.state.db, &email).await?.context("user")?;
    let person = people::id_for_user(&app.state.db, user.id).await?.context("person")?;
    Ok((user.id, person))
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
    let fields = [
        ("name", name),
        ("redirect_uris", REDIRECT),
        ("kind", kind),
        ("scopes", SCOPES),
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
}
