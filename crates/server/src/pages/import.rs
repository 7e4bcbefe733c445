//! Adding to a record from a FHIR R4 file uploaded on a page, by the person or by a professional the person lets
//! write to their record. The upload streams to a temporary file (never whole in memory), then goes through the same
//! importer as `carepact import`: all or nothing, the same file twice adds nothing, and a refused file is listed
//! problem by problem. The write is decided once, through the choke point, over the labels the person has shared.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use carepact_domain::consent::{Action, Request, Section, Sensitivity};
use carepact_domain::identity::PersonId;
use carepact_fhir::Problem;
use carepact_store::access::Grant;
use carepact_store::record::{ImportMeta, ImportOutcome, ImportReport};
use carepact_store::users::User;
use tokio::io::AsyncWriteExt;

use crate::errors::AppError;
use crate::forms::Errors;
use crate::pages::layout::{Chrome, render};
use crate::record_import::{UPLOAD_LIMIT, import_file};
use crate::session::Session;
use crate::state::AppState;

/// The field that carries the file.
const FILE_FIELD: &str = "file";

struct ProblemView {
    /// Where in the file, as a JSON path (or an NDJSON line); empty for the file as a whole.
    path: String,
    message: String,
}

#[derive(Template)]
#[template(path = "record_import.html")]
struct ImportPage<'a> {
    c: Chrome<'a>,
    base: String,
    csrf: String,
    own: bool,
    limit_mb: usize,
    errors: Errors,
    problems: Vec<ProblemView>,
    /// How many problems there were in all (only the first are listed).
    total_problems: usize,
}

#[derive(Template)]
#[template(path = "record_imported.html")]
struct ImportedPage<'a> {
    c: Chrome<'a>,
    base: String,
    file_name: String,
    report: ImportReport,
}

use crate::pages::person_id;

fn write() -> Request {
    Request {
        section: Section::Record,
        label: Sensitivity::General,
        action: Action::Write,
    }
}

/// The write grant over every label the person lets `user` add, or "not found".
async fn grant(state: &AppState, user: &User, person: PersonId, entity: &str) -> Result<Grant, AppError> {
    crate::access::authorize_care_labels(state, user, person, write(), entity).await
}

async fn page(
    state: &AppState,
    session: &Session,
    id: &str,
    grant: &Grant,
    errors: Errors,
    problems: (Vec<Problem>, usize),
    status: StatusCode,
) -> Result<Response, AppError> {
    let (c, base) = crate::pages::person_chrome(state, session, grant, id).await?;
    let c = c.crumb(&format!("{base}/import"), "import-title");
    let problems_view = problems
        .0
        .into_iter()
        .map(|p| ProblemView {
            path: p.path,
            message: p.message,
        })
        .collect();
    let body = render(&ImportPage {
        c,
        base,
        csrf: session.csrf_token().await?,
        own: grant.is_owner(),
        limit_mb: UPLOAD_LIMIT / (1024 * 1024),
        errors,
        problems: problems_view,
        total_problems: problems.1,
    })?;
    Ok((status, body).into_response())
}

pub async fn form(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let person = person_id(&id)?;
    let grant = grant(&state, &user, person, "import-form").await?;
    page(
        &state,
        &session,
        &id,
        &grant,
        Errors::default(),
        (Vec::new(), 0),
        StatusCode::OK,
    )
    .await
}

/// The uploaded file, saved to a temporary file that is removed when this is dropped.
struct Upload {
    file: tempfile::NamedTempFile,
    name: String,
    size: u64,
}

/// Why an upload could not be read.
enum UploadError {
    Missing,
    TooLarge,
    Unreadable,
}

/// The last part of a client-supplied file name, for showing and for the source of id-only files.
fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    last.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Streams the file field to a temporary file; other fields (the CSRF token, read by the session layer) are skipped.
async fn receive(mut multipart: Multipart) -> Result<Result<Upload, UploadError>, AppError> {
    let status = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            UploadError::TooLarge
        } else {
            UploadError::Unreadable
        }
    };
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(Err(UploadError::Missing)),
            Err(e) => return Ok(Err(status(e))),
        };
        if field.name() != Some(FILE_FIELD) {
            continue;
        }
        let name = clean_name(field.file_name().unwrap_or(""));
        let io = |e: std::io::Error| AppError::Internal(e.into());
        let file = tempfile::NamedTempFile::new().map_err(io)?;
        let mut out = tokio::fs::File::from_std(file.as_file().try_clone().map_err(io)?);
        let mut size = 0u64;
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    size += chunk.len() as u64;
                    out.write_all(&chunk).await.map_err(io)?;
                }
                Ok(None) => break,
                Err(e) => return Ok(Err(status(e))),
            }
        }
        out.flush().await.map_err(io)?;
        if size == 0 {
            return Ok(Err(UploadError::Missing));
        }
        return Ok(Ok(Upload { file, name, size }));
    }
}

pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let person = person_id(&id)?;
    let grant = grant(&state, &user, person, "import-record").await?;
    let tr = session.tr();
    let upload = match receive(multipart).await? {
        Ok(upload) => upload,
        Err(e) => {
            let mut errors = Errors::default();
            let (message, status) = match e {
                UploadError::Missing => ("error-import-no-file", StatusCode::BAD_REQUEST),
                UploadError::TooLarge => ("error-import-too-large", StatusCode::PAYLOAD_TOO_LARGE),
                UploadError::Unreadable => ("error-import-unreadable", StatusCode::BAD_REQUEST),
            };
            errors.add(tr, FILE_FIELD, message);
            return page(&state, &session, &id, &grant, errors, (Vec::new(), 0), status).await;
        }
    };
    let organisation = match (grant.is_owner(), user.organisation_id) {
        (false, Some(org)) => carepact_store::organisations::get(&state.db, org).await?,
        _ => None,
    };
    let source = match &organisation {
        Some(org) => format!("organisation:{}", org.name.to_lowercase()),
        None if upload.name.is_empty() => "file".to_owned(),
        None => format!("file:{}", upload.name),
    };
    let meta = ImportMeta {
        source,
        file_name: Some(upload.name.clone()).filter(|n| !n.is_empty()),
        format: "",
        supplier: organisation.as_ref().map(|o| o.id),
        actor_organisation: organisation.as_ref().map(|o| o.id),
    };
    tracing::info!(bytes = upload.size, "importing an uploaded record file");
    let outcome = import_file(&state.db, &grant, upload.file.path(), meta, None, state.now())
        .await
        .map_err(AppError::Internal)?
        .map_err(|_| AppError::NotFound)?;
    match outcome {
        ImportOutcome::Imported(report) => {
            let (c, base) = crate::pages::person_chrome(&state, &session, &grant, &id).await?;
            let c = c.crumb(&format!("{base}/import"), "import-title");
            Ok(render(&ImportedPage {
                c,
                base,
                file_name: upload.name,
                report,
            })?
            .into_response())
        }
        ImportOutcome::Rejected { problems, total } => {
            let mut errors = Errors::default();
            errors.add(tr, FILE_FIELD, "error-import-rejected");
            page(
                &state,
                &session,
                &id,
                &grant,
                errors,
                (problems, total),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::clean_name;

    #[test]
    fn file_names_keep_only_their_last_part() {
        assert_eq!(clean_name("C:\\Users\\me\\record.json"), "record.json");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("gp\u{7}.json"), "gp.json");
        assert_eq!(clean_name(""), "");
    }
}
