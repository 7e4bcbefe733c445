//! Form handling: reading bodies without ever failing loudly, and collecting field errors for the NHS
//! error-summary pattern.

use axum::body::to_bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;

use crate::errors::AppError;
use crate::i18n::Tr;
use crate::session::FORM_LIMIT;

/// The fields of a submitted HTML form. Reading never fails on odd input: a missing field reads as empty, repeated
/// fields (checkbox groups) can all be read, and a body that is not a form becomes a clear error page.
#[derive(Debug, Default)]
pub struct Fields(Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = AppError;
    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        if !is_form(req.headers()) {
            return Err(AppError::BadRequest("error-form-unreadable"));
        }
        let bytes = to_bytes(req.into_body(), FORM_LIMIT)
            .await
            .map_err(|_| AppError::PayloadTooLarge)?;
        Ok(Self::parse(&bytes))
    }
}

/// True when the request body is an HTML form.
pub fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

impl Fields {
    pub fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, or "" when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Every value of `name` (checkbox groups).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Problems with a submitted form, in the order the fields appear.
#[derive(Debug, Default, Clone)]
pub struct Errors {
    items: Vec<(String, String)>,
}

impl Errors {
    pub fn add(&mut self, tr: Tr<'_>, field: &str, message_id: &str) {
        if self.get(field).is_none() {
            self.items.push((field.to_owned(), tr.t(message_id)));
        }
    }

    /// Adds a message already in words (one that needed arguments).
    pub fn add_text(&mut self, field: &str, text: String) {
        if self.get(field).is_none() {
            self.items.push((field.to_owned(), text));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The status of a form page: 200, or 400 when it shows errors.
    pub fn status(&self) -> axum::http::StatusCode {
        if self.is_empty() {
            axum::http::StatusCode::OK
        } else {
            axum::http::StatusCode::BAD_REQUEST
        }
    }

    /// The message for one field, shown beside it.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.items.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }

    /// (field id, message) pairs for the error summary, which links each message to its field.
    pub fn items(&self) -> &[(String, String)] {
        &self.items
    }
}

/// An optional "from" and "to" date pair (written 2024-03-31) for filtering a list. A date that cannot be read, or a
/// "to" before the "from", adds an error to the field and is left out.
pub fn date_range(from: &str, to: &str, errors: &mut Errors, tr: Tr<'_>) -> (Option<time::Date>, Option<time::Date>) {
    let mut day = |field: &str, text: &str| match text.trim() {
        "" => None,
        text => time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
            .ok()
            .or_else(|| {
                errors.add(tr, field, "error-filter-date");
                None
            }),
    };
    let (from, to) = (day("from", from), day("to", to));
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        errors.add(tr, "to", "error-filter-date-order");
    }
    (from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_forgivingly() {
        let f = Fields::parse(b"email=a%40b.org&roles=professional&roles=link_worker&bad=%ZZ");
        assert_eq!(f.get("email"), "a@b.org");
        assert_eq!(f.get("missing"), "");
        assert_eq!(f.all("roles"), ["professional", "link_worker"]);
    }
}
