//! Adding readings from a CSV file (a spreadsheet, or an export from a meter or monitor app), by the person or by
//! someone they let write to their readings.
//!
//! The upload streams to a temporary file; a small CSV reader (quoted fields, doubled quotes, CRLF or LF, a UTF-8
//! byte order mark, commas, semicolons or tabs) then reads it row by row on a blocking thread, so only the checked
//! readings are held in memory, never the file. The person says which measure the file holds, its unit and which
//! columns hold what. Every row is checked like a reading typed in (a real date and time, not in the future, each
//! value within its plausible range); a row that cannot be taken is listed with its line number and the reason, and
//! never stops the rest. The good rows go to the store in one transaction (`readings::add_batch`): readings already
//! there are skipped, and the agreed alert rules are checked, so a file can raise an alert like a typed reading.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};

use askama::Template;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use carepact_domain::consent::{Action, Section};
use carepact_domain::identity::PersonId;
use carepact_domain::readings::{self as domain, Component, EntryProblem, Measure, Milli, Values};
use carepact_store::access::Grant;
use carepact_store::readings::{self, NewReading};
use carepact_store::users::User;
use time::{Date, Duration, Month, OffsetDateTime, Time, UtcOffset};
use tokio::io::AsyncWriteExt;

use crate::errors::AppError;
use crate::forms::Errors;
use crate::i18n::Tr;
use crate::pages::layout::{Chrome, render};
use crate::pages::readings::{alert_mail, measure_name};
use crate::pages::{person_chrome, person_id};
use crate::record_import::UPLOAD_LIMIT;
use crate::session::Session;
use crate::state::AppState;

/// The field that carries the file.
const FILE_FIELD: &str = "file";
/// The most rows read from one file; rows after these are counted and reported as not taken.
pub(crate) const MAX_ROWS: usize = 50_000;
/// The most problems listed on the report; the rest are counted.
const MAX_LISTED: usize = 100;
/// The longest row read, in bytes: a longer one is not a row of readings.
const MAX_RECORD: usize = 64 * 1024;
/// How many rows at the top of a file are searched for the header row (device exports often start with a title).
const HEADER_SEARCH: usize = 10;
/// The longest device name kept (the file's name).
const DEVICE_LIMIT: usize = 100;
/// The longest text taken from one of the form's other fields.
const TEXT_FIELD_LIMIT: usize = 1024;

/// The units a file may hold its readings in: (form code, label id, UCUM code when not the measure's own, measure).
const UNITS: [(&str, &str, Option<&str>, Option<Measure>); 3] = [
    ("standard", "readings-upload-unit-standard", None, None),
    (
        "mg-dl",
        "readings-upload-unit-mg-dl",
        Some("mg/dL"),
        Some(Measure::BloodGlucose),
    ),
    ("lb", "readings-upload-unit-lb", Some("[lb_av]"), Some(Measure::Weight)),
];

/// The form's column fields: (field, component key or "" for the date and the note, default column name).
const COLUMNS: [(&str, &str, &str); 6] = [
    ("col_date", "", "date"),
    ("col_value", "value", "value"),
    ("col_systolic", "systolic", "systolic"),
    ("col_diastolic", "diastolic", "diastolic"),
    ("col_pulse", "pulse", "pulse"),
    ("col_note", "", "note"),
];

/// The measures a file can hold: everything typed in as numbers (not worked out, not words).
fn measures() -> impl Iterator<Item = Measure> {
    Measure::ALL
        .into_iter()
        .filter(|m| !m.is_derived() && *m != Measure::Symptoms)
}

async fn grant(state: &AppState, user: &User, person: PersonId, entity: &str) -> Result<Grant, AppError> {
    crate::pages::section_grant(state, user, person, Section::Readings, Action::Write, entity).await
}

// ---------------------------------------------------------------------------------------------------------------
// The form

/// The text fields of the upload form, as sent (the file travels apart).
#[derive(Debug, Default, Clone)]
struct Form(Vec<(String, String)>);

impl Form {
    /// A fresh form: the usual unit and the usual column names.
    fn defaults() -> Self {
        let mut fields = vec![("unit".to_owned(), "standard".to_owned())];
        fields.extend(COLUMNS.iter().map(|(f, _, d)| ((*f).to_owned(), (*d).to_owned())));
        Self(fields)
    }

    /// The fields sent, and the usual value of any field that did not arrive.
    fn or_defaults(mut self) -> Self {
        for (name, value) in Self::defaults().0 {
            if !self.0.iter().any(|(k, _)| *k == name) {
                self.0.push((name, value));
            }
        }
        self
    }

    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

struct ColumnField {
    name: &'static str,
    label: String,
    hint: String,
}

#[derive(Template)]
#[template(path = "readings_upload.html")]
struct UploadPage<'a> {
    c: Chrome<'a>,
    base: String,
    limit_mb: usize,
    max_rows: String,
    /// (code, name, chosen)
    measures: Vec<(&'static str, String, bool)>,
    /// (code, label, chosen)
    units: Vec<(&'static str, String, bool)>,
    /// The date column's field, the reading's (every measure but blood pressure), blood pressure's, the note's.
    date: ColumnField,
    value: ColumnField,
    bp: Vec<ColumnField>,
    note: ColumnField,
    form: Form,
    errors: Errors,
}

fn column_field(tr: Tr<'_>, name: &'static str) -> ColumnField {
    let (label, hint) = match name {
        "col_date" => ("readings-upload-col-date", "readings-upload-col-date-hint"),
        "col_value" => ("readings-upload-col-value", "readings-upload-col-value-hint"),
        "col_systolic" => ("readings-upload-col-systolic", "readings-upload-col-bp-hint"),
        "col_diastolic" => ("readings-upload-col-diastolic", "readings-upload-col-bp-hint"),
        "col_pulse" => ("readings-upload-col-pulse", "readings-upload-col-pulse-hint"),
        _ => ("readings-upload-col-note", "readings-upload-col-note-hint"),
    };
    ColumnField {
        name,
        label: tr.t(label),
        hint: tr.t(hint),
    }
}

async fn form_page(
    state: &AppState,
    session: &Session,
    grant: &Grant,
    id: &str,
    form: Form,
    errors: Errors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let (c, base) = person_chrome(state, session, grant, id).await?;
    let c = c
        .crumb(&format!("{base}/readings"), "readings-title")
        .crumb(&format!("{base}/readings/upload"), "readings-upload-title")
        .with_errors(&errors);
    let tr = c.tr;
    let chosen_measure = form.get("measure");
    let chosen_unit = form.get("unit");
    let page = UploadPage {
        base,
        limit_mb: UPLOAD_LIMIT / (1024 * 1024),
        max_rows: thousands(MAX_ROWS),
        measures: measures()
            .map(|m| (m.code(), measure_name(tr, m), m.code() == chosen_measure))
            .collect(),
        units: UNITS
            .iter()
            .map(|(code, label, _, _)| (*code, tr.t(label), *code == chosen_unit))
            .collect(),
        date: column_field(tr, "col_date"),
        value: column_field(tr, "col_value"),
        bp: ["col_systolic", "col_diastolic", "col_pulse"]
            .into_iter()
            .map(|f| column_field(tr, f))
            .collect(),
        note: column_field(tr, "col_note"),
        c,
        form,
        errors,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn form(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let grant = grant(&state, &user, person_id(&id)?, "readings-upload-form").await?;
    form_page(
        &state,
        &session,
        &grant,
        &id,
        Form::defaults(),
        Errors::default(),
        StatusCode::OK,
    )
    .await
}

// ---------------------------------------------------------------------------------------------------------------
// Receiving the upload

/// The uploaded file, saved to a temporary file that is removed when this is dropped.
struct Upload {
    file: tempfile::NamedTempFile,
    name: String,
}

/// Why the file could not be received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UploadError {
    Missing,
    /// A file was chosen, but it has nothing in it.
    Empty,
    TooLarge,
    Unreadable,
}

fn upload_error(e: &MultipartError) -> UploadError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        UploadError::TooLarge
    } else {
        UploadError::Unreadable
    }
}

/// The last part of a client-supplied file name, without control characters, at most `DEVICE_LIMIT` characters.
fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    last.chars()
        .filter(|c| !c.is_control())
        .take(DEVICE_LIMIT)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A short text field, read up to `TEXT_FIELD_LIMIT` bytes (the rest is dropped).
async fn small_text(field: &mut Field<'_>) -> Result<String, MultipartError> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        let room = TEXT_FIELD_LIMIT.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Reads the form: its text fields, and the file streamed to a temporary file. The CSRF token, the first field, was
/// already checked by the session layer.
async fn receive(mut multipart: Multipart) -> Result<(Form, Result<Upload, UploadError>), AppError> {
    let mut form = Form::default();
    let mut upload: Result<Upload, UploadError> = Err(UploadError::Missing);
    let io = |e: std::io::Error| AppError::Internal(e.into());
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Ok((form, Err(upload_error(&e)))),
        };
        let name = field.name().unwrap_or("").to_owned();
        if name == FILE_FIELD && matches!(upload, Err(UploadError::Missing)) {
            let file_name = clean_name(field.file_name().unwrap_or(""));
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
                    Err(e) => return Ok((form, Err(upload_error(&e)))),
                }
            }
            out.flush().await.map_err(io)?;
            upload = match (size, file_name.is_empty()) {
                (0, true) => Err(UploadError::Missing),
                (0, false) => Err(UploadError::Empty),
                _ => Ok(Upload { file, name: file_name }),
            };
            continue;
        }
        match small_text(&mut field).await {
            Ok(text) if name != FILE_FIELD && name != "csrf_token" => form.0.push((name, text)),
            Ok(_) => {}
            Err(e) => return Ok((form, Err(upload_error(&e)))),
        }
    }
    Ok((form, upload))
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the form into a column mapping

/// A file's unit, when not the measure's own: its UCUM code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileUnit(Option<&'static str>);

/// Which columns hold what.
#[derive(Debug, Clone)]
struct Mapping {
    measure: Measure,
    unit: FileUnit,
    /// The date column, as named on the form (trimmed).
    date: String,
    /// Each component read and the column named for it (an optional component may have none).
    components: Vec<(&'static Component, &'static str, String)>,
    note: String,
}

/// Reads the mapping from the form, adding an error to each field that is wrong.
fn mapping(form: &Form, tr: Tr<'_>, errors: &mut Errors) -> Option<Mapping> {
    let measure = measures().find(|m| m.code() == form.get("measure"));
    if measure.is_none() {
        errors.add(tr, "measure", "readings-upload-error-measure");
    }
    let unit = match UNITS.iter().find(|(code, ..)| *code == form.get("unit")) {
        None => {
            errors.add(tr, "unit", "readings-upload-error-unit");
            None
        }
        Some((_, _, _, Some(only))) if measure.is_some_and(|m| m != *only) => {
            errors.add(tr, "unit", "readings-upload-error-unit-measure");
            None
        }
        Some((_, _, ucum, _)) => Some(FileUnit(*ucum)),
    };
    let column = |field: &str| form.get(field).trim().to_owned();
    let date = column("col_date");
    if date.is_empty() {
        errors.add(tr, "col_date", "readings-upload-error-col-date");
    }
    let mut components = Vec::new();
    for c in measure.map_or(&[][..], Measure::components) {
        let field = COLUMNS
            .iter()
            .find(|(_, key, _)| *key == c.key)
            .map_or("col_value", |(f, _, _)| *f);
        let name = column(field);
        if name.is_empty() && c.required {
            let message = match field {
                "col_systolic" => "readings-upload-error-col-systolic",
                "col_diastolic" => "readings-upload-error-col-diastolic",
                _ => "readings-upload-error-col-value",
            };
            errors.add(tr, field, message);
        }
        components.push((c, field, name));
    }
    if !errors.is_empty() {
        return None;
    }
    Some(Mapping {
        measure: measure?,
        unit: unit?,
        date,
        components,
        note: column("col_note"),
    })
}

// ---------------------------------------------------------------------------------------------------------------
// A small CSV reader

/// Why a row could not be read as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RawProblem {
    NotUtf8,
    TooLong,
    UnclosedQuote,
}

/// One row of a CSV file: its fields, or why it could not be read.
type RawRecord = Result<Vec<String>, RawProblem>;

/// Reads a CSV file one row at a time: fields split on the delimiter, quoted fields with delimiters, line breaks and
/// doubled quotes inside, rows ending in LF, CRLF or CR. Lenient where files in the wild are (a quote inside an
/// unquoted field is kept); a row longer than `MAX_RECORD` bytes is reported, not held.
struct CsvReader<R> {
    inner: R,
    delimiter: u8,
    /// The line the next byte is on (from 1).
    line: u64,
    /// The last byte ended a row with CR: a LF straight after belongs to it.
    after_cr: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// At the start of a field.
    Start,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the end of the field, or the first of a doubled quote.
    QuoteInQuoted,
}

impl<R: BufRead> CsvReader<R> {
    fn new(inner: R, delimiter: u8) -> Self {
        Self {
            inner,
            delimiter,
            line: 1,
            after_cr: false,
        }
    }

    /// The next row and the line it starts on; nothing at the end of the file.
    fn next_record(&mut self) -> std::io::Result<Option<(u64, RawRecord)>> {
        let mut fields: Vec<Vec<u8>> = Vec::new();
        let mut field: Vec<u8> = Vec::new();
        let mut state = Scan::Start;
        let mut held = 0usize;
        let mut too_long = false;
        let mut any = false;
        let mut start = self.line;
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                if !any {
                    return Ok(None);
                }
                if state == Scan::Quoted {
                    return Ok(Some((start, Err(RawProblem::UnclosedQuote))));
                }
                fields.push(field);
                return Ok(Some((start, finish(fields, too_long))));
            }
            let mut used = 0;
            let mut ended = false;
            for &b in buf {
                used += 1;
                if self.after_cr {
                    self.after_cr = false;
                    if b == b'\n' {
                        // The LF of a CRLF: the row already ended; the next starts after it.
                        start = self.line;
                        continue;
                    }
                }
                any = true;
                let end_of_row = b == b'\n' || b == b'\r';
                let mut keep = None;
                match state {
                    Scan::Start if b == b'"' => state = Scan::Quoted,
                    Scan::Start | Scan::Unquoted | Scan::QuoteInQuoted if b == self.delimiter => {
                        fields.push(std::mem::take(&mut field));
                        state = Scan::Start;
                    }
                    Scan::Start | Scan::Unquoted | Scan::QuoteInQuoted if end_of_row => {
                        self.line += 1;
                        self.after_cr = b == b'\r';
                        ended = true;
                        break;
                    }
                    Scan::Start | Scan::Unquoted => {
                        keep = Some(b);
                        state = Scan::Unquoted;
                    }
                    Scan::Quoted if b == b'"' => state = Scan::QuoteInQuoted,
                    Scan::Quoted => {
                        if b == b'\n' {
                            self.line += 1;
                        }
                        keep = Some(b);
                    }
                    Scan::QuoteInQuoted if b == b'"' => {
                        keep = Some(b'"');
                        state = Scan::Quoted;
                    }
                    Scan::QuoteInQuoted => {
                        // Text straight after a closing quote: kept, as spreadsheets do.
                        keep = Some(b);
                        state = Scan::Unquoted;
                    }
                }
                if let Some(b) = keep {
                    if held < MAX_RECORD {
                        field.push(b);
                        held += 1;
                    } else {
                        too_long = true;
                    }
                }
            }
            self.inner.consume(used);
            if ended {
                fields.push(field);
                return Ok(Some((start, finish(fields, too_long))));
            }
        }
    }
}

fn finish(fields: Vec<Vec<u8>>, too_long: bool) -> RawRecord {
    if too_long {
        return Err(RawProblem::TooLong);
    }
    fields
        .into_iter()
        .map(|f| String::from_utf8(f).map_err(|_| RawProblem::NotUtf8))
        .collect()
}

/// A row with nothing in it (an empty line, or only delimiters and spaces).
fn is_blank(fields: &[String]) -> bool {
    fields.iter().all(|f| f.trim().is_empty())
}

/// The delimiter a file uses, from its first bytes: the commonest of comma, semicolon and tab outside quotes
/// (comma when none).
fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|i| (counts[*i], std::cmp::Reverse(*i))).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        [b',', b';', b'\t'][best]
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the rows

/// What is wrong with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    Raw(RawProblem),
    /// More values than the header has columns.
    ExtraFields,
    DateMissing(String),
    Date(String),
    Future,
    TooOld,
    ValueMissing(String),
    NotANumber {
        column: String,
        text: String,
    },
    OutOfRange {
        column: String,
        text: String,
        min: String,
        max: String,
        unit: &'static str,
    },
    BpOrder,
    NoteTooLong,
    /// Another row has a reading at the same moment with different values.
    Clash(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RowProblem {
    line: u64,
    problems: Vec<Problem>,
}

/// A row ready to store.
#[derive(Debug, Clone)]
struct GoodRow {
    at: OffsetDateTime,
    values: Values,
    note: Option<String>,
}

/// What reading a file found.
#[derive(Debug, Default)]
struct Parsed {
    rows: Vec<GoodRow>,
    /// Rows of readings in the file (not counting the header, rows above it and blank rows).
    total: usize,
    /// Rows that repeat an earlier row of the file exactly (skipped).
    repeated: usize,
    /// Rows not taken: those with problems, and those after the first `MAX_ROWS`.
    not_taken: usize,
    /// Rows after the first `MAX_ROWS`.
    beyond: usize,
    /// The first `MAX_LISTED` rows with problems.
    problems: Vec<RowProblem>,
    /// Optional columns named on the form that the file does not have: (field, column).
    absent: Vec<(&'static str, String)>,
    /// The line the header row is on.
    header_line: u64,
}

/// Why the file as a whole could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FileProblem {
    Empty,
    NotCsv,
    /// A header row was found but no rows under it.
    NoRows,
    /// Columns named on the form that the header row does not have: (field, column), and the header's columns.
    MissingColumns(Vec<(&'static str, String)>, Vec<String>),
}

fn normalise(name: &str) -> String {
    name.trim_start_matches('\u{feff}').trim().to_lowercase()
}

/// Reads a CSV file of readings against `mapping`. Only the good rows are kept; `now` decides what is in the future.
fn parse<R: BufRead>(
    mut reader: R,
    mapping: &Mapping,
    now: OffsetDateTime,
) -> std::io::Result<Result<Parsed, FileProblem>> {
    // The first bytes: a byte order mark to skip, a binary file to refuse, the delimiter to use.
    let head = reader.fill_buf()?;
    let bom = head.starts_with(&[0xEF, 0xBB, 0xBF]);
    let head_len = head.len();
    let delimiter = sniff_delimiter(&head[if bom { 3 } else { 0 }..]);
    if head[..head_len.min(8192)].contains(&0) {
        return Ok(Err(FileProblem::NotCsv));
    }
    if bom {
        reader.consume(3);
    }
    let mut csv = CsvReader::new(reader, delimiter);

    // The header row: the first of the top rows that has every required column named on the form.
    let required: Vec<(&'static str, String)> = std::iter::once(("col_date", mapping.date.clone()))
        .chain(
            mapping
                .components
                .iter()
                .filter(|(c, _, _)| c.required)
                .map(|(_, field, name)| (*field, name.clone())),
        )
        .collect();
    let mut first: Option<Vec<String>> = None;
    // The header row: its line, its column names as compared, and as written.
    let mut header: Option<(u64, Vec<String>, Vec<String>)> = None;
    let mut searched = 0;
    while searched < HEADER_SEARCH {
        let Some((line, record)) = csv.next_record()? else {
            break;
        };
        let fields = match record {
            Ok(fields) if is_blank(&fields) => continue,
            Ok(fields) => fields,
            Err(_) if first.is_none() => return Ok(Err(FileProblem::NotCsv)),
            Err(_) => {
                searched += 1;
                continue;
            }
        };
        searched += 1;
        let names: Vec<String> = fields.iter().map(|f| normalise(f)).collect();
        if first.is_none() {
            first = Some(
                fields
                    .iter()
                    .map(|f| f.trim_start_matches('\u{feff}').trim().to_owned())
                    .collect(),
            );
        }
        if required.iter().all(|(_, col)| names.contains(&normalise(col))) {
            let shown = fields
                .iter()
                .map(|f| f.trim_start_matches('\u{feff}').trim().to_owned())
                .collect();
            header = Some((line, names, shown));
            break;
        }
    }
    let Some((header_line, names, shown)) = header else {
        return Ok(Err(match first {
            None => FileProblem::Empty,
            Some(columns) => {
                let have: Vec<String> = columns.iter().map(|c| normalise(c)).collect();
                let missing = required
                    .into_iter()
                    .filter(|(_, col)| !have.contains(&normalise(col)))
                    .collect();
                FileProblem::MissingColumns(missing, columns.into_iter().filter(|c| !c.is_empty()).collect())
            }
        }));
    };
    let index = |col: &str| {
        let col = normalise(col);
        (!col.is_empty())
            .then(|| names.iter().position(|n| *n == col))
            .flatten()
    };
    let mut parsed = Parsed {
        header_line,
        ..Parsed::default()
    };
    let date_at = index(&mapping.date).unwrap_or(0);
    let date_column = shown.get(date_at).cloned().unwrap_or_default();
    let mut columns = Vec::new();
    for (c, field, name) in &mapping.components {
        match index(name) {
            Some(i) => columns.push((*c, Some((i, shown.get(i).cloned().unwrap_or_default())))),
            None => {
                if !name.is_empty() {
                    parsed.absent.push((field, name.clone()));
                }
                columns.push((*c, None));
            }
        }
    }
    let note_at = index(&mapping.note);
    if note_at.is_none() && !mapping.note.is_empty() {
        parsed.absent.push(("col_note", mapping.note.clone()));
    }
    let decimal_comma = delimiter != b',';
    // Each moment already taken from the file: its line and values.
    let mut seen: HashMap<OffsetDateTime, (u64, Values)> = HashMap::new();
    while let Some((line, record)) = csv.next_record()? {
        let fields = match record {
            Ok(fields) if is_blank(&fields) => continue,
            other => other,
        };
        parsed.total += 1;
        if parsed.total > MAX_ROWS {
            parsed.beyond += 1;
            parsed.not_taken += 1;
            continue;
        }
        let fields = match fields {
            Ok(fields) => fields,
            Err(raw) => {
                report(&mut parsed, line, vec![Problem::Raw(raw)]);
                continue;
            }
        };
        match read_row(
            &fields,
            names.len(),
            date_at,
            &date_column,
            &columns,
            note_at,
            mapping,
            decimal_comma,
            now,
        ) {
            Err(problems) => report(&mut parsed, line, problems),
            Ok(row) => match seen.get(&row.at) {
                Some((_, values)) if *values == row.values => parsed.repeated += 1,
                Some((earlier, _)) => report(&mut parsed, line, vec![Problem::Clash(*earlier)]),
                None => {
                    seen.insert(row.at, (line, row.values.clone()));
                    parsed.rows.push(row);
                }
            },
        }
    }
    if parsed.total == 0 {
        return Ok(Err(FileProblem::NoRows));
    }
    Ok(Ok(parsed))
}

/// Counts a row not taken, and keeps its problems for the report while there is room.
fn report(parsed: &mut Parsed, line: u64, problems: Vec<Problem>) {
    parsed.not_taken += 1;
    if parsed.problems.len() < MAX_LISTED {
        parsed.problems.push(RowProblem { line, problems });
    }
}

/// Reads one row: the moment, each value in the measure's own unit, and the note.
#[allow(clippy::too_many_arguments)]
fn read_row(
    fields: &[String],
    width: usize,
    date_at: usize,
    date_column: &str,
    columns: &[(&'static Component, Option<(usize, String)>)],
    note_at: Option<usize>,
    mapping: &Mapping,
    decimal_comma: bool,
    now: OffsetDateTime,
) -> Result<GoodRow, Vec<Problem>> {
    let mut problems = Vec::new();
    let cell = |i: usize| fields.get(i).map_or("", |f| f.trim());
    if fields.iter().skip(width).any(|f| !f.trim().is_empty()) {
        problems.push(Problem::ExtraFields);
    }
    let at = match cell(date_at) {
        "" => {
            problems.push(Problem::DateMissing(date_column.to_owned()));
            None
        }
        text => match parse_when(text) {
            None => {
                problems.push(Problem::Date(shorten(text)));
                None
            }
            Some(at) if at > now + Duration::minutes(5) => {
                problems.push(Problem::Future);
                None
            }
            Some(at) if now - at > Duration::days(3650) => {
                problems.push(Problem::TooOld);
                None
            }
            Some(at) => Some(at),
        },
    };
    let mut values = Values::new();
    for (c, at) in columns {
        let Some((i, column)) = at else {
            continue;
        };
        let text = cell(*i);
        if text.is_empty() {
            if c.required {
                problems.push(Problem::ValueMissing(column.clone()));
            }
            continue;
        }
        let Some(number) = parse_number(text, decimal_comma) else {
            problems.push(Problem::NotANumber {
                column: column.clone(),
                text: shorten(text),
            });
            continue;
        };
        let converted = match mapping.unit.0 {
            Some(ucum) if c.key == "value" => domain::from_ucum(mapping.measure, c, ucum, number),
            _ => Some(number),
        };
        match converted.map(|v| domain::check_value(c, v)) {
            Some(Ok(v)) => {
                values.insert(c.key, v);
            }
            Some(Err(EntryProblem::OutOfRange { min, max, unit })) => {
                let (min, max, unit) = match mapping.unit.0 {
                    Some(ucum) if c.key == "value" => range_in(mapping.measure, c, ucum).unwrap_or((min, max, unit)),
                    _ => (min, max, unit),
                };
                problems.push(Problem::OutOfRange {
                    column: column.clone(),
                    text: shorten(text),
                    min,
                    max,
                    unit,
                });
            }
            _ => problems.push(Problem::NotANumber {
                column: column.clone(),
                text: shorten(text),
            }),
        }
    }
    if let (Some(s), Some(d)) = (values.get("systolic"), values.get("diastolic"))
        && d >= s
    {
        problems.push(Problem::BpOrder);
    }
    let note = note_at.map(cell).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > domain::TEXT_LIMIT) {
        problems.push(Problem::NoteTooLong);
    }
    match at {
        Some(at) if problems.is_empty() => Ok(GoodRow {
            at,
            values,
            note: note.map(str::to_owned),
        }),
        _ => Err(problems),
    }
}

/// A component's plausible range in another unit, as whole numbers: (min, max, unit as written).
fn range_in(measure: Measure, c: &Component, ucum: &str) -> Option<(String, String, &'static str)> {
    let per_unit = domain::from_ucum(measure, c, ucum, 1.0).filter(|f| *f > 0.0)?;
    let shown = |m: Milli| Milli::from_f64(m.as_f64() / per_unit).map(|v| v.format(0));
    let unit = match ucum {
        "mg/dL" => "mg/dL",
        "[lb_av]" => "lb",
        _ => return None,
    };
    Some((shown(c.min)?, shown(c.max)?, unit))
}

/// Text from the file, cut short for showing.
fn shorten(text: &str) -> String {
    const SHOWN: usize = 40;
    if text.chars().count() <= SHOWN {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(SHOWN).collect::<String>())
    }
}

/// A decimal number as devices and spreadsheets write it: "7.8", "+120", "-3", and "7,8" when the file's delimiter
/// is not a comma. Not "1e3", not "7.8.1", not "120 mmHg".
fn parse_number(text: &str, decimal_comma: bool) -> Option<f64> {
    let text = if decimal_comma && text.matches(',').count() == 1 && !text.contains('.') {
        std::borrow::Cow::Owned(text.replace(',', "."))
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    let digits = text.strip_prefix(['+', '-']).unwrap_or(&text);
    let ok = !digits.is_empty()
        && digits.len() <= 15
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|c| *c == '.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit());
    if !ok {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Reads a date and time written in one of the accepted ways, as a moment in UTC:
/// `2026-03-15T08:30:00Z` (or with an offset, `+01:00`, and fractions of a second), `2026-03-15 08:30` and
/// `2026-03-15T08:30:00` (UTC), `2026-03-15` (midnight UTC), `15/03/2026 08:30` and `15/03/2026` (day first, UTC).
fn parse_when(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    let (date_text, rest) = match text.find(['T', 't', ' ']) {
        Some(i) => (&text[..i], text[i + 1..].trim_start()),
        None => (text, ""),
    };
    let date = parse_date(date_text)?;
    if rest.is_empty() {
        return Some(date.midnight().assume_utc());
    }
    // The time, then any zone: Z, UTC, GMT, +01:00, +0100, +01.
    let zone_at = rest
        .char_indices()
        .find(|(i, c)| *c == 'Z' || *c == 'z' || *c == '+' || (*c == '-' && *i > 0) || c.is_whitespace())
        .map_or(rest.len(), |(i, _)| i);
    let (time_text, zone_text) = (&rest[..zone_at], rest[zone_at..].trim());
    let time = parse_time(time_text)?;
    let offset = parse_zone(zone_text)?;
    Some(date.with_time(time).assume_offset(offset).to_offset(UtcOffset::UTC))
}

fn number_of(text: &str, min_len: usize, max_len: usize) -> Option<u32> {
    (text.len() >= min_len && text.len() <= max_len && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn parse_date(text: &str) -> Option<Date> {
    let (year, month, day) = if let Some((y, rest)) = text.split_once('-') {
        let (m, d) = rest.split_once('-')?;
        (number_of(y, 4, 4)?, number_of(m, 1, 2)?, number_of(d, 1, 2)?)
    } else {
        let mut parts = text.split('/');
        let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        (number_of(y, 4, 4)?, number_of(m, 1, 2)?, number_of(d, 1, 2)?)
    };
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()
}

fn parse_time(text: &str) -> Option<Time> {
    let mut parts = text.split(':');
    let hour = number_of(parts.next()?, 1, 2)?;
    let minute = number_of(parts.next()?, 2, 2)?;
    let (second, micro) = match parts.next() {
        None => (0, 0),
        Some(s) => {
            let (whole, fraction) = s.split_once(['.', ',']).unwrap_or((s, ""));
            let second = number_of(whole, 2, 2)?;
            let micro = if fraction.is_empty() {
                0
            } else {
                let digits: String = fraction.chars().take(6).collect();
                let micro = number_of(&digits, 1, 6)?;
                if !fraction.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                micro * 10_u32.pow(6 - u32::try_from(digits.len()).ok()?)
            };
            (second, micro)
        }
    };
    if parts.next().is_some() {
        return None;
    }
    Time::from_hms_micro(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        micro,
    )
    .ok()
}

fn parse_zone(text: &str) -> Option<UtcOffset> {
    match text {
        "" | "Z" | "z" | "UTC" | "GMT" => Some(UtcOffset::UTC),
        _ => {
            let (sign, rest) = match text.as_bytes().first()? {
                b'+' => (1, &text[1..]),
                b'-' => (-1, &text[1..]),
                _ => return None,
            };
            let (h, m) = match rest.split_once(':') {
                Some((h, m)) => (number_of(h, 2, 2)?, number_of(m, 2, 2)?),
                None if rest.len() == 4 => (number_of(&rest[..2], 2, 2)?, number_of(&rest[2..], 2, 2)?),
                None => (number_of(rest, 2, 2)?, 0),
            };
            let (h, m) = (i8::try_from(h).ok()?, i8::try_from(m).ok()?);
            UtcOffset::from_hms(sign * h, sign * m, 0).ok()
        }
    }
}

/// A name as it reads inside a sentence: a first word written like "Blood" loses its capital, "HbA1c" keeps it.
fn in_sentence(name: &str) -> String {
    let first = name.split(' ').next().unwrap_or("");
    let mut chars = first.chars();
    let plain = chars.next().is_some_and(char::is_uppercase) && chars.all(char::is_lowercase);
    if !plain {
        return name.to_owned();
    }
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A count with thousands separated: 10,000.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------------------------
// The report

struct ProblemView {
    line: u64,
    text: String,
}

struct FiredView {
    href: String,
    advice: String,
    urgent: bool,
}

#[derive(Template)]
#[template(path = "readings_uploaded.html")]
struct ReportPage<'a> {
    c: Chrome<'a>,
    base: String,
    file_name: String,
    code: &'static str,
    measure: String,
    /// The measure's name inside a sentence ("blood glucose", but "HbA1c").
    measure_in_sentence: String,
    own: bool,
    total: String,
    added: String,
    already: String,
    repeated: String,
    not_taken: String,
    nothing_new: bool,
    /// The header row was not the first line: the rows above it were left out.
    header_line: u64,
    beyond: String,
    absent: Vec<String>,
    fired: Vec<FiredView>,
    problems: Vec<ProblemView>,
    /// Problems not listed.
    more: usize,
}

/// One problem in words.
fn problem_text(tr: Tr<'_>, p: &Problem) -> String {
    match p {
        Problem::Raw(RawProblem::NotUtf8) => tr.t("readings-upload-problem-utf8"),
        Problem::Raw(RawProblem::TooLong) => tr.t("readings-upload-problem-too-long"),
        Problem::Raw(RawProblem::UnclosedQuote) => tr.t("readings-upload-problem-quote"),
        Problem::ExtraFields => tr.t("readings-upload-problem-extra"),
        Problem::DateMissing(column) => tr.t_with("readings-upload-problem-date-missing", &[("column", column)]),
        Problem::Date(text) => tr.t_with("readings-upload-problem-date", &[("text", text)]),
        Problem::Future => tr.t("readings-upload-problem-future"),
        Problem::TooOld => tr.t("readings-upload-problem-too-old"),
        Problem::ValueMissing(column) => tr.t_with("readings-upload-problem-missing", &[("column", column)]),
        Problem::NotANumber { column, text } => tr.t_with(
            "readings-upload-problem-number",
            &[("column", column.as_str()), ("text", text.as_str())],
        ),
        Problem::OutOfRange {
            column,
            text,
            min,
            max,
            unit,
        } => tr.t_with(
            "readings-upload-problem-range",
            &[
                ("column", column.as_str()),
                ("text", text.as_str()),
                ("min", min.as_str()),
                ("max", max.as_str()),
                ("unit", unit),
            ],
        ),
        Problem::BpOrder => tr.t("readings-upload-problem-bp-order"),
        Problem::NoteTooLong => tr.t("readings-upload-problem-note"),
        Problem::Clash(line) => tr.t_with("readings-upload-problem-clash", &[("line", line.to_string().as_str())]),
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
    let grant = grant(&state, &user, person, "readings-upload").await?;
    let tr = session.tr();
    let (form, upload) = receive(multipart).await?;
    let mut errors = Errors::default();
    let mut status = StatusCode::BAD_REQUEST;
    let upload = match upload {
        Ok(upload) => Some(upload),
        Err(e) => {
            let message = match e {
                UploadError::Missing => "readings-upload-error-no-file",
                UploadError::Empty => "readings-upload-error-empty",
                UploadError::TooLarge => {
                    status = StatusCode::PAYLOAD_TOO_LARGE;
                    "readings-upload-error-too-large"
                }
                UploadError::Unreadable => "readings-upload-error-unreadable",
            };
            errors.add(tr, FILE_FIELD, message);
            if matches!(e, UploadError::TooLarge | UploadError::Unreadable) {
                // The body stopped part way: the fields that did not arrive are not the person's mistake.
                let form = form.or_defaults();
                return form_page(&state, &session, &grant, &id, form, errors, status).await;
            }
            None
        }
    };
    let mapping = mapping(&form, tr, &mut errors);
    let (Some(upload), Some(mapping)) = (upload, mapping) else {
        return form_page(&state, &session, &grant, &id, form, errors, status).await;
    };
    let now = state.now();
    let file_name = upload.name.clone();
    let reading = mapping.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(upload.file.path())?;
        parse(BufReader::with_capacity(MAX_RECORD, file), &reading, now)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
    .map_err(|e| AppError::Internal(e.into()))?;
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(problem) => {
            match problem {
                FileProblem::Empty => errors.add(tr, FILE_FIELD, "readings-upload-error-empty"),
                FileProblem::NotCsv => errors.add(tr, FILE_FIELD, "readings-upload-error-not-csv"),
                FileProblem::NoRows => errors.add(tr, FILE_FIELD, "readings-upload-error-no-rows"),
                FileProblem::MissingColumns(missing, found) => {
                    let found = found.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
                    for (field, column) in missing {
                        let text = if found.is_empty() {
                            tr.t_with("readings-upload-error-column-none", &[("column", column.as_str())])
                        } else {
                            tr.t_with(
                                "readings-upload-error-column",
                                &[("column", column.as_str()), ("found", found.as_str())],
                            )
                        };
                        errors.add_text(field, text);
                    }
                }
            }
            return form_page(&state, &session, &grant, &id, form, errors, StatusCode::BAD_REQUEST).await;
        }
    };
    let device = Some(file_name.as_str()).filter(|n| !n.is_empty());
    let batch: Vec<NewReading<'_>> = parsed
        .rows
        .iter()
        .map(|row| NewReading {
            measure: mapping.measure,
            taken_at: row.at,
            values: &row.values,
            note: row.note.as_deref(),
            source: "file",
            device,
        })
        .collect();
    let mail = alert_mail(&state, tr, person);
    tracing::info!(
        rows = parsed.total,
        good = batch.len(),
        "adding readings from an uploaded file"
    );
    let outcome = readings::add_batch(&state.db, &grant, &batch, &mail, now)
        .await?
        .map_err(|_| AppError::NotFound)?;

    let (c, base) = person_chrome(&state, &session, &grant, &id).await?;
    let c = c
        .crumb(&format!("{base}/readings"), "readings-title")
        .crumb(&format!("{base}/readings/upload"), "readings-upload-title");
    let mut fired: Vec<_> = outcome.fired.iter().collect();
    fired.sort_by_key(|f| std::cmp::Reverse((f.rule.urgent, f.rule.tell)));
    fired.dedup_by_key(|f| f.alert);
    let fired = fired
        .into_iter()
        .map(|f| FiredView {
            href: format!("{base}/alerts/{}", f.alert),
            advice: f.rule.advice.clone(),
            urgent: f.rule.urgent,
        })
        .collect();
    let problems: Vec<ProblemView> = parsed
        .problems
        .iter()
        .map(|p| ProblemView {
            line: p.line,
            text: p
                .problems
                .iter()
                .map(|p| problem_text(c.tr, p))
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect();
    let absent = parsed
        .absent
        .iter()
        .map(|(field, column)| {
            let id = if *field == "col_pulse" {
                "readings-uploaded-absent-pulse"
            } else {
                "readings-uploaded-absent-note"
            };
            c.t_with(id, &[("column", column.as_str())])
        })
        .collect();
    let listed_problems = parsed.not_taken - parsed.beyond;
    Ok(render(&ReportPage {
        base,
        file_name,
        code: mapping.measure.code(),
        measure: measure_name(c.tr, mapping.measure),
        measure_in_sentence: in_sentence(&measure_name(c.tr, mapping.measure)),
        own: grant.is_owner(),
        total: thousands(parsed.total),
        added: thousands(outcome.added),
        already: thousands(outcome.duplicates),
        repeated: thousands(parsed.repeated),
        not_taken: thousands(parsed.not_taken),
        nothing_new: outcome.added == 0,
        header_line: parsed.header_line,
        beyond: thousands(parsed.beyond),
        absent,
        fired,
        more: listed_problems.saturating_sub(problems.len()),
        problems,
        c,
    })?
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn records(text: &str) -> Vec<(u64, RawRecord)> {
        let mut csv = CsvReader::new(text.as_bytes(), b',');
        let mut out = Vec::new();
        while let Some(r) = csv.next_record().unwrap() {
            out.push(r);
        }
        out
    }

    fn fields(v: &[&str]) -> RawRecord {
        Ok(v.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn the_reader_handles_quotes_line_ends_and_lines() {
        let got = records("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\rlast,\n");
        assert_eq!(
            got,
            vec![
                (1, fields(&["a", "b"])),
                (2, fields(&["x, y", "say \"hi\""])),
                (3, fields(&["two\nlines", "z"])),
                (5, fields(&["last", ""])),
            ]
        );
        assert_eq!(
            records("a\n\"open,b\n"),
            vec![(1, fields(&["a"])), (2, Err(RawProblem::UnclosedQuote))]
        );
        assert_eq!(records("no end"), vec![(1, fields(&["no end"]))]);
        assert_eq!(records(""), vec![]);
        let mut bad = b"ok\n".to_vec();
        bad.extend_from_slice(&[0xff, 0xfe, b'\n']);
        let mut csv = CsvReader::new(bad.as_slice(), b',');
        assert!(csv.next_record().unwrap().unwrap().1.is_ok());
        assert_eq!(csv.next_record().unwrap().unwrap().1, Err(RawProblem::NotUtf8));
        let long = format!("{}\nnext\n", "x".repeat(MAX_RECORD + 10));
        assert_eq!(records(&long)[0].1, Err(RawProblem::TooLong));
        assert_eq!(records(&long)[1], (2, fields(&["next"])));
    }

    #[test]
    fn delimiters_are_sniffed() {
        assert_eq!(sniff_delimiter(b"date;value\n2026-01-01;7,8\n"), b';');
        assert_eq!(sniff_delimiter(b"date\tvalue\n"), b'\t');
        assert_eq!(sniff_delimiter(b"\"a;b\",c\n"), b',');
        assert_eq!(sniff_delimiter(b"date\n"), b',');
    }

    #[test]
    fn dates_are_read_in_the_accepted_forms() {
        let at = datetime!(2026-03-15 08:30 UTC);
        for text in [
            "2026-03-15T08:30:00Z",
            "2026-03-15T08:30Z",
            "2026-03-15 08:30",
            "2026-03-15 08:30:00",
            "2026-03-15T09:30:00+01:00",
            "2026-03-15T09:30:00+0100",
            "2026-03-15T07:30:00-01:00",
            "15/03/2026 08:30",
            "15/3/2026 08:30:00",
            " 2026-03-15 08:30 UTC ",
        ] {
            assert_eq!(parse_when(text), Some(at), "{text}");
        }
        assert_eq!(parse_when("2026-03-15"), Some(datetime!(2026-03-15 00:00 UTC)));
        assert_eq!(parse_when("15/03/2026"), Some(datetime!(2026-03-15 00:00 UTC)));
        assert_eq!(
            parse_when("2026-03-15T08:30:00.1234567Z"),
            Some(datetime!(2026-03-15 08:30:00.123456 UTC))
        );
        for bad in [
            "",
            "yesterday",
            "2026-02-30",
            "03/15/2026",
            "2026-03-15 25:00",
            "2026-03-15 08:30 BST",
            "15/03/26",
            "2026-03-15T08",
            "1773563400",
        ] {
            assert_eq!(parse_when(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_are_strict() {
        assert_eq!(parse_number("7.8", false), Some(7.8));
        assert_eq!(parse_number("+120", false), Some(120.0));
        assert_eq!(parse_number("7,8", true), Some(7.8));
        for bad in ["7,8", "1e3", "7.8.1", "120 mmHg", "-", ".", "NaN", "inf"] {
            assert_eq!(parse_number(bad, false), None, "{bad}");
        }
    }

    fn glucose(unit: Option<&'static str>) -> Mapping {
        Mapping {
            measure: Measure::BloodGlucose,
            unit: FileUnit(unit),
            date: "Date".into(),
            components: vec![(&Measure::BloodGlucose.components()[0], "col_value", "value".into())],
            note: "note".into(),
        }
    }

    #[test]
    fn rows_are_checked_and_problems_kept_with_their_lines() {
        let now = datetime!(2026-11-23 09:00 UTC);
        let file = "\u{feff}Glucose export\n\n date , Value ,Note\n2026-11-20 08:00,7.8,after breakfast\n\
                    2026-11-20 08:00,7.8,\n2026-11-20 08:00,9.1,\nsoon,7.0\n2026-11-21 08:00,seven\n\
                    2026-11-21 09:00,99\n2026-12-25 08:00,7.0\n2026-11-22 08:00,\n\n";
        let parsed = parse(file.as_bytes(), &glucose(None), now).unwrap().unwrap();
        assert_eq!(parsed.header_line, 3);
        assert_eq!(
            (parsed.total, parsed.rows.len(), parsed.repeated, parsed.not_taken),
            (8, 1, 1, 6)
        );
        assert_eq!(parsed.rows[0].values["value"], Milli(7800));
        assert_eq!(parsed.rows[0].note.as_deref(), Some("after breakfast"));
        let lines: Vec<u64> = parsed.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [6, 7, 8, 9, 10, 11]);
        assert_eq!(parsed.problems[0].problems, [Problem::Clash(4)]);
        assert_eq!(parsed.problems[1].problems, [Problem::Date("soon".into())]);
        assert!(matches!(parsed.problems[3].problems[0], Problem::OutOfRange { ref max, .. } if max == "50.0"));
        assert_eq!(parsed.problems[4].problems, [Problem::Future]);
        assert_eq!(parsed.problems[5].problems, [Problem::ValueMissing("Value".into())]);
    }

    #[test]
    fn a_missing_column_is_named_and_units_are_converted() {
        let now = datetime!(2026-11-23 09:00 UTC);
        let missing = parse("when,value\n2026-01-01,7\n".as_bytes(), &glucose(None), now).unwrap();
        assert_eq!(
            missing.unwrap_err(),
            FileProblem::MissingColumns(vec![("col_date", "Date".into())], vec!["when".into(), "value".into()])
        );
        let parsed = parse(
            "date,value\n2026-01-01,126\n2026-01-02,2000\n".as_bytes(),
            &glucose(Some("mg/dL")),
            now,
        )
        .unwrap()
        .unwrap();
        assert_eq!(parsed.rows[0].values["value"], Milli(7000));
        assert!(
            matches!(&parsed.problems[0].problems[0], Problem::OutOfRange { max, unit, .. } if max == "901" && *unit == "mg/dL")
        );
        assert_eq!(
            parse(b"".as_slice(), &glucose(None), now).unwrap().unwrap_err(),
            FileProblem::Empty
        );
        assert_eq!(
            parse(b"PK\x03\x04\0\0".as_slice(), &glucose(None), now)
                .unwrap()
                .unwrap_err(),
            FileProblem::NotCsv
        );
        assert_eq!(
            parse(b"date,value\n\n".as_slice(), &glucose(None), now)
                .unwrap()
                .unwrap_err(),
            FileProblem::NoRows
        );
    }

    #[test]
    fn semicolon_files_take_decimal_commas_and_rows_beyond_the_cap_are_counted() {
        let now = datetime!(2026-11-23 09:00 UTC);
        let mut file = String::from("date;value\n");
        for i in 0..(MAX_ROWS + 3) {
            let at = now - Duration::minutes(i as i64 + 1);
            file.push_str(&format!(
                "{} {:02}:{:02};7,{}\n",
                at.date(),
                at.hour(),
                at.minute(),
                i % 10
            ));
        }
        let parsed = parse(file.as_bytes(), &glucose(None), now).unwrap().unwrap();
        assert_eq!(parsed.total, MAX_ROWS + 3);
        assert_eq!(parsed.beyond, 3);
        assert_eq!(parsed.rows[0].values["value"], Milli(7000));
    }

    #[test]
    fn counts_and_names_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(in_sentence("Blood glucose"), "blood glucose");
        assert_eq!(
            in_sentence("HbA1c (long-term blood sugar)"),
            "HbA1c (long-term blood sugar)"
        );
        assert_eq!(clean_name("C:\\Users\\me\\readings.csv"), "readings.csv");
        assert_eq!(clean_name(&"x".repeat(300)).len(), DEVICE_LIMIT);
    }
}
