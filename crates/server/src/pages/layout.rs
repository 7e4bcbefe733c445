//! What every page shares: the header with the signed-in user and sign-out form, breadcrumbs, the one-time
//! message banner, the language, and rendering with a clean failure.

use askama::Template;
use axum::response::Html;
use carepact_domain::identity::Role;
use time::Date;

use crate::errors::AppError;
use crate::i18n::Tr;
use crate::session::Session;

pub struct Chrome<'a> {
    pub tr: Tr<'a>,
    pub lang: String,
    pub user_name: Option<String>,
    /// For the sign-out form in the header.
    pub csrf: String,
    /// The one-time message, already in words, and whether it reports success.
    pub flash: Option<(String, bool)>,
    pub breadcrumbs: Vec<(String, String)>,
    /// The page shows form errors: titles start with "Error:" so screen-reader users hear it first.
    pub has_errors: bool,
}

impl<'a> Chrome<'a> {
    /// For pages rendered without a session (error pages).
    pub fn bare(tr: Tr<'a>) -> Self {
        Self {
            tr,
            lang: tr.tag(),
            user_name: None,
            csrf: String::new(),
            flash: None,
            breadcrumbs: Vec::new(),
            has_errors: false,
        }
    }

    pub async fn new(session: &'a Session) -> Result<Self, AppError> {
        let tr = session.tr();
        let mut chrome = Self::bare(tr);
        if let Some(user) = session.user() {
            chrome.user_name = Some(user.display_name.clone());
            chrome.csrf = session.csrf_token().await?;
        }
        chrome.flash = session
            .take_flash()
            .await?
            .map(|id| (tr.t(&id), id.starts_with("flash-done-")));
        Ok(chrome)
    }

    pub fn t(&self, id: &str) -> String {
        self.tr.t(id)
    }

    pub fn t_with(&self, id: &str, args: &[(&str, &str)]) -> String {
        self.tr.t_with(id, args)
    }

    /// Adds a breadcrumb labelled from the catalogue; the trail always starts at Home.
    pub fn crumb(self, href: &str, label_id: &str) -> Self {
        let label = self.tr.t(label_id);
        self.link(href, label)
    }

    /// Adds a breadcrumb with a label that is data (an organisation's name).
    pub fn link(mut self, href: &str, label: String) -> Self {
        if self.breadcrumbs.is_empty() {
            self.breadcrumbs.push(("/".into(), self.tr.t("nav-home")));
        }
        self.breadcrumbs.push((href.into(), label));
        self
    }

    pub fn with_errors(mut self, errors: &crate::forms::Errors) -> Self {
        self.has_errors = !errors.is_empty();
        self
    }

    /// A date as people in the UK write it: 12 April 1961.
    pub fn date(&self, d: &Date) -> String {
        format_date(self.tr, *d)
    }

    /// A moment as date and time, saying the time zone: 23 November 2026 16:46 UTC.
    pub fn when(&self, t: time::OffsetDateTime) -> String {
        let t = t.to_offset(time::UtcOffset::UTC);
        format!(
            "{} {:02}:{:02} UTC",
            format_date(self.tr, t.date()),
            t.hour(),
            t.minute()
        )
    }

    pub fn role(&self, role: &Role) -> String {
        self.tr.t(role.message_id())
    }
}

pub fn format_date(tr: Tr<'_>, d: Date) -> String {
    let month = tr.t(&format!("month-{}", u8::from(d.month())));
    format!("{} {} {}", d.day(), month, d.year())
}

pub fn render<T: Template>(page: &T) -> Result<Html<String>, AppError> {
    page.render()
        .map(Html)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("rendering a page: {e}")))
}

/// Refuses users without one of `roles`.
pub fn require_role(session: &Session, roles: &[Role]) -> Result<carepact_store::users::User, AppError> {
    let user = session.require_user()?;
    if roles.iter().any(|r| user.has_role(*r)) {
        Ok(user.clone())
    } else {
        Err(AppError::Forbidden("error-forbidden-body"))
    }
}
