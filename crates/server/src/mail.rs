//! Email: composing messages from the catalogue, queueing them in the outbox, and the worker that delivers them
//! over SMTP.
//!
//! Emails never contain clinical detail — only that there is something to do, with a link. The worker claims one
//! message at a time (safe with several nodes), retries failures with exponential back-off, and gives up after
//! [`MAX_ATTEMPTS`] or on a permanent SMTP refusal, leaving a dead letter an admin can see.

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use time::Duration;
use tokio::sync::watch;

use carepact_store::outbox::{self, NewEmail};
use carepact_store::users::NewUser;
use carepact_store::{StoreError, tokens};

use crate::i18n::Tr;
use crate::state::AppState;
use crate::tokens::{random_token, token_hash};

pub const MAX_ATTEMPTS: i32 = 8;
const LEASE: Duration = Duration::minutes(5);
const POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// An email's subject and body from the catalogue (`<kind>-subject`, `<kind>-body`), with `link` available to the
/// body as `{ $link }`.
pub fn compose(tr: Tr<'_>, kind: &str, link: &str) -> (String, String) {
    (
        tr.t(&format!("{kind}-subject")),
        tr.t_with(&format!("{kind}-body"), &[("link", link)]),
    )
}

/// Queues a composed email on its own (when no other change needs to commit with it).
pub async fn queue(state: &AppState, tr: Tr<'_>, to: &str, kind: &str, link: &str) -> anyhow::Result<()> {
    let (subject, body) = compose(tr, kind, link);
    let email = NewEmail {
        to,
        subject: &subject,
        body: &body,
        idempotency_key: None,
    };
    outbox::enqueue(&state.db, &email, state.now()).await?;
    Ok(())
}

/// How long an invitation link works.
pub const INVITATION_LIFETIME: Duration = Duration::days(7);

/// Creates a user with no password and emails them a one-time link to set one; user, token and email commit
/// together. Returns the link (the command line prints it for the first administrator).
pub async fn invite_user(state: &AppState, tr: Tr<'_>, new: &NewUser<'_>) -> Result<String, StoreError> {
    let token = random_token().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let link = format!("{}/invitation/{token}", state.config.public_url.trim_end_matches('/'));
    let (subject, body) = compose(tr, "email-invitation-staff", &link);
    let message = NewEmail {
        to: new.email.as_str(),
        subject: &subject,
        body: &body,
        idempotency_key: None,
    };
    let now = state.now();
    tokens::invite(
        &state.db,
        new,
        &token_hash(&token),
        &message,
        now,
        now + INVITATION_LIFETIME,
    )
    .await?;
    Ok(link)
}

pub type Transport = AsyncSmtpTransport<Tokio1Executor>;

pub fn transport(url: &str) -> anyhow::Result<Transport> {
    Ok(AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
        .timeout(Some(std::time::Duration::from_secs(30)))
        .build())
}

fn retry_delay(attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.clamp(1, 7) - 1).unwrap_or(0);
    Duration::seconds(30 * 2i64.pow(exponent))
}

/// Delivers every message that is due now. Returns how many were sent.
pub async fn deliver_due(state: &AppState, transport: &Transport) -> anyhow::Result<usize> {
    let from: Mailbox = state.config.mail_from.parse()?;
    let mut sent = 0;
    loop {
        let now = state.now();
        let Some(email) = outbox::claim_next(&state.db, now, now + LEASE).await? else {
            return Ok(sent);
        };
        let message = email
            .to_address
            .parse::<Mailbox>()
            .map_err(|e| e.to_string())
            .and_then(|to| {
                Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(email.subject.clone())
                    .header(ContentType::TEXT_PLAIN)
                    .body(email.body_text.clone())
                    .map_err(|e| e.to_string())
            });
        let outcome = match message {
            Err(e) => Err((format!("message could not be built: {e}"), true)),
            Ok(message) => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| (e.to_string(), e.is_permanent())),
        };
        match outcome {
            Ok(()) => {
                outbox::mark_sent(&state.db, email.id, state.now()).await?;
                sent += 1;
            }
            Err((error, permanent)) => {
                let give_up = permanent || email.attempts >= MAX_ATTEMPTS;
                let retry_at = (!give_up).then(|| state.now() + retry_delay(email.attempts));
                tracing::warn!(attempts = email.attempts, give_up, %error, "email delivery failed");
                outbox::mark_failed(&state.db, email.id, &error, retry_at).await?;
                if !give_up {
                    // The server is probably unreachable: stop this round and try again later.
                    return Ok(sent);
                }
            }
        }
    }
}

/// Runs until `stop` turns true, delivering due messages every couple of seconds.
pub async fn run_worker(state: AppState, mut stop: watch::Receiver<bool>) {
    let Some(url) = state.config.smtp_url.clone() else {
        tracing::warn!("no SMTP server configured (--smtp-url): emails wait in the outbox");
        return;
    };
    let transport = match transport(&url) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "the SMTP URL is not usable: emails wait in the outbox");
            return;
        }
    };
    loop {
        if let Err(e) = deliver_due(&state, &transport).await {
            tracing::error!(error = %e, "email outbox round failed");
        }
        tokio::select! {
            _ = stop.changed() => break,
            () = tokio::time::sleep(POLL) => {}
        }
        if *stop.borrow() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_and_is_capped() {
        assert_eq!(retry_delay(1), Duration::seconds(30));
        assert_eq!(retry_delay(2), Duration::seconds(60));
        assert_eq!(retry_delay(7), Duration::seconds(30 * 64));
        assert_eq!(retry_delay(50), Duration::seconds(30 * 64));
    }
}
