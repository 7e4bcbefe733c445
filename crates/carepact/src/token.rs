//! `carepact token`: personal API tokens for the FHIR API, made by the operator for a user (a professional's scripts,
//! an organisation's integration), listed and revoked. Making and revoking are audited as done at the command line.

use carepact_domain::identity::Email;
use carepact_store::api_tokens::{self, By, NotCreated, Revoked, Status};
use carepact_store::{Db, users};
use clap::Subcommand;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::StoreArgs;

#[derive(Subcommand)]
pub(crate) enum TokenCommand {
    /// Make a token for a user and print it (once: only its hash is kept). Calls with it act as that user, limited
    /// by consent exactly as the pages are. The user and their organisation's admin can see and revoke it.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// The email address of the user the token acts as.
        #[arg(long)]
        user: String,
        /// How long the token works: minutes, hours or days, such as 30m, 1h, 12h, 7d or 90d. At most 365d.
        #[arg(long, default_value = "30d", value_parser = lifetime)]
        expires_in: Duration,
        /// What the token is for, shown to the user and their organisation's admin.
        #[arg(long, default_value = "API token")]
        label: String,
    },
    /// List a user's tokens, newest first, with their status.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// The user's email address.
        #[arg(long)]
        user: String,
    },
    /// Revoke a token at once, by its id (from `carepact token list`).
    Revoke {
        #[command(flatten)]
        store: StoreArgs,
        /// The token's id.
        id: String,
    },
}

impl TokenCommand {
    pub(crate) fn store(&self) -> &StoreArgs {
        match self {
            Self::Create { store, .. } | Self::List { store, .. } | Self::Revoke { store, .. } => store,
        }
    }
}

/// A lifetime such as 30m, 12h or 90d: more than nothing, at most 365 days.
fn lifetime(text: &str) -> Result<Duration, String> {
    let wrong = || format!("\"{text}\" is not a lifetime: write a number and m, h or d, such as 30m, 12h or 90d");
    let text = text.trim();
    let unit = text.chars().last().ok_or_else(wrong)?;
    let number = &text[..text.len() - unit.len_utf8()];
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(wrong());
    }
    let n: i64 = number.parse().map_err(|_| wrong())?;
    let minutes = match unit {
        'm' => Some(n),
        'h' => n.checked_mul(60),
        'd' => n.checked_mul(24 * 60),
        _ => return Err(wrong()),
    };
    match minutes {
        Some(0) => Err(format!(
            "\"{text}\" is too short: a token must last at least a minute, such as 30m"
        )),
        Some(m) if Duration::minutes(m) <= api_tokens::MAX_LIFETIME => Ok(Duration::minutes(m)),
        _ => Err(format!(
            "\"{text}\" is too long: a token can last at most 365 days (365d)"
        )),
    }
}

const WHEN: &[FormatItem<'static>] = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");

fn when(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(WHEN)
        .unwrap_or_else(|_| t.to_string())
}

/// The active account with this email address; on failure, the message to print.
async fn user_by_email(db: &Db, email: &str) -> anyhow::Result<Result<users::User, String>> {
    let Ok(parsed) = Email::parse(email) else {
        return Ok(Err(format!("\"{email}\" is not an email address.")));
    };
    Ok(match users::find_by_email(db, &parsed).await? {
        None => Err(format!("There is no CarePact account with the email address {parsed}.")),
        Some(u) => Ok(u),
    })
}

/// Runs the command; returns the exit status (0 done, 1 refused).
pub(crate) async fn run(db: &Db, command: TokenCommand) -> anyhow::Result<i32> {
    let now = OffsetDateTime::now_utc();
    match command {
        TokenCommand::Create {
            user,
            expires_in,
            label,
            ..
        } => {
            let account = match user_by_email(db, &user).await? {
                Ok(u) if u.active => u,
                Ok(u) => {
                    eprintln!("The account of {} is deactivated, so no token was made.", u.email);
                    return Ok(1);
                }
                Err(message) => {
                    eprintln!("{message} No token was made.");
                    return Ok(1);
                }
            };
            let made = api_tokens::create(db, account.id, &label, now + expires_in, now, By::CommandLine).await?;
            let (token, secret) = match made {
                Ok(made) => made,
                Err(why) => {
                    eprintln!(
                        "{} No token was made.",
                        match why {
                            NotCreated::NoSuchUser => "The account no longer exists.",
                            NotCreated::Deactivated => "The account is deactivated.",
                            NotCreated::BadLabel =>
                                "The label must be 1 to 100 characters on one line (--label \"what it is for\").",
                            NotCreated::BadExpiry => "The lifetime must be between a minute and 365 days.",
                            NotCreated::NotAllowed => "Only the operator may make it.",
                        }
                    );
                    return Ok(1);
                }
            };
            println!("{secret}");
            eprintln!(
                "Made API token {} (\"{}\") for {} <{}>. It works until {}.\n\
                 Keep it secret: it is shown only now. The user and their organisation's admin can revoke it.",
                token.id,
                token.label,
                account.display_name,
                account.email,
                when(token.expires_at.0)
            );
            Ok(0)
        }
        TokenCommand::List { user, .. } => {
            let account = match user_by_email(db, &user).await? {
                Ok(u) => u,
                Err(message) => {
                    eprintln!("{message}");
                    return Ok(1);
                }
            };
            let tokens = api_tokens::list_for_user(db, account.id).await?;
            if tokens.is_empty() {
                eprintln!("{} has no API tokens.", account.email);
            }
            for t in tokens {
                let status = match t.status(now) {
                    Status::Active => "active".to_owned(),
                    Status::Expired => "expired".to_owned(),
                    Status::Revoked => format!("revoked {}", t.revoked_at.map(|r| when(r.0)).unwrap_or_default()),
                    Status::AccountOff => "not working (the account is switched off)".to_owned(),
                };
                println!(
                    "{}  {}  made {}  expires {}  last used {}  \"{}\"",
                    t.id,
                    status,
                    when(t.created_at.0),
                    when(t.expires_at.0),
                    t.last_used_at.map(|u| when(u.0)).unwrap_or_else(|| "never".into()),
                    t.label
                );
            }
            Ok(0)
        }
        TokenCommand::Revoke { id, .. } => {
            let Ok(id) = Uuid::parse_str(id.trim()) else {
                eprintln!("\"{id}\" is not a token id (see carepact token list --user EMAIL).");
                return Ok(1);
            };
            match api_tokens::revoke(db, id, By::CommandLine, now).await? {
                Revoked::Done => println!("Revoked API token {id}. It no longer works."),
                Revoked::Already => println!("API token {id} was already revoked."),
                Revoked::NotFound => {
                    eprintln!("There is no API token {id}.");
                    return Ok(1);
                }
            }
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_minutes_hours_or_days_up_to_a_year() {
        assert_eq!(lifetime("30m"), Ok(Duration::minutes(30)));
        assert_eq!(lifetime("1h"), Ok(Duration::hours(1)));
        assert_eq!(lifetime("12h"), Ok(Duration::hours(12)));
        assert_eq!(lifetime("7d"), Ok(Duration::days(7)));
        assert_eq!(lifetime("90d"), Ok(Duration::days(90)));
        assert_eq!(lifetime("365d"), Ok(Duration::days(365)));
        for bad in [
            "",
            "d",
            "0d",
            "366d",
            "8761h",
            "1y",
            "1.5h",
            "-1d",
            "+1d",
            "h1",
            "1 d",
            "99999999999999999999d",
            "1é",
        ] {
            assert!(lifetime(bad).is_err(), "{bad}");
        }
    }
}
