//! Checking one FHIR R4 resource and saying what it is in plain words.
//!
//! [`check`] takes a resource as read from a file and either returns an [`Item`] — the resource kept whole, plus
//! the few facts CarePact shows and searches by (what it is, its date, whether it is current, its sensitivity) — or
//! the problems that stop it being imported, each with its JSON path.

use carepact_domain::NhsNumber;
use carepact_domain::consent::Sensitivity;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::Problem;
use crate::read::Entry;

/// The kinds of item the person's record shows, in the order the timeline filter offers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Patient,
    Condition,
    Medication,
    Allergy,
    Result,
    Immunisation,
    Procedure,
    Encounter,
    Report,
    Document,
    CarePlan,
    Goal,
    Other,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::Patient,
        Kind::Condition,
        Kind::Medication,
        Kind::Allergy,
        Kind::Result,
        Kind::Immunisation,
        Kind::Procedure,
        Kind::Encounter,
        Kind::Report,
        Kind::Document,
        Kind::CarePlan,
        Kind::Goal,
        Kind::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Kind::Patient => "patient",
            Kind::Condition => "condition",
            Kind::Medication => "medication",
            Kind::Allergy => "allergy",
            Kind::Result => "result",
            Kind::Immunisation => "immunisation",
            Kind::Procedure => "procedure",
            Kind::Encounter => "encounter",
            Kind::Report => "report",
            Kind::Document => "document",
            Kind::CarePlan => "care-plan",
            Kind::Goal => "goal",
            Kind::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn of_resource_type(resource_type: &str) -> Kind {
        match resource_type {
            "Patient" => Kind::Patient,
            "Condition" => Kind::Condition,
            "MedicationStatement" | "MedicationRequest" => Kind::Medication,
            "AllergyIntolerance" => Kind::Allergy,
            "Observation" => Kind::Result,
            "Immunization" => Kind::Immunisation,
            "Procedure" => Kind::Procedure,
            "Encounter" => Kind::Encounter,
            "DiagnosticReport" => Kind::Report,
            "DocumentReference" => Kind::Document,
            "CarePlan" => Kind::CarePlan,
            "Goal" => Kind::Goal,
            _ => Kind::Other,
        }
    }
}

/// The NHS number identifier system.
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// A checked resource and what CarePact shows of it.
#[derive(Debug, Clone)]
pub struct Item {
    pub resource_type: String,
    pub kind: Kind,
    /// The resource's own id in its source system.
    pub source_id: Option<String>,
    pub full_url: Option<String>,
    /// `meta.source`, when the resource names its source system.
    pub source: Option<String>,
    /// What makes this resource the same one when it is imported again (within its source system).
    pub identity: String,
    pub label: Sensitivity,
    /// What it is, in words: "Type 2 diabetes mellitus".
    pub title: String,
    /// A value or dose, if it has one: "48 mmol/mol", "One tablet twice a day".
    pub detail: Option<String>,
    pub status: Option<String>,
    /// The first coding: system and code.
    pub code: Option<(String, String)>,
    /// The date that places it on the timeline, `YYYY-MM-DD` (a partial date is placed on its first day).
    pub date: Option<String>,
    /// The date as the source wrote it.
    pub date_text: Option<String>,
    /// A current problem, medicine or allergy.
    pub current: bool,
    /// References to other resources: (JSON path, reference).
    pub references: Vec<(String, String)>,
    /// For a Patient: the NHS number, and name and birth date for creating the person.
    pub patient: Option<PatientFacts>,
    /// The resource, as compact JSON with keys in order.
    pub json: String,
    pub content_hash: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientFacts {
    pub nhs_number: Option<NhsNumber>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub birth_date: Option<String>,
}

/// Checks the resource of one entry.
pub fn check(entry: Entry) -> Result<Item, Vec<Problem>> {
    let mut problems = Vec::new();
    let at = entry.index;
    let Some(resource) = entry.resource.as_ref() else {
        return Err(vec![Problem::at(
            Some(at),
            entry.place(),
            "This entry has no resource.",
        )]);
    };
    if let Some(method) = entry.method.as_deref()
        && !matches!(method, "POST" | "PUT" | "PATCH" | "GET" | "HEAD")
    {
        problems.push(Problem::at(
            Some(at),
            format!("{}.request.method", entry.place()),
            format!("{method} requests cannot be imported: an import only adds or updates records."),
        ));
    }
    let Some(obj) = resource.as_object() else {
        return Err(vec![Problem::at(
            Some(at),
            entry.path(""),
            "This is not a FHIR resource (not a JSON object).",
        )]);
    };
    let resource_type = match obj.get("resourceType").and_then(Value::as_str) {
        Some(t) if !t.is_empty() && t.chars().all(|c| c.is_ascii_alphabetic()) => t.to_owned(),
        _ => {
            return Err(vec![Problem::at(
                Some(at),
                entry.path("resourceType"),
                "The resource does not say what type it is.",
            )]);
        }
    };
    let mut need = |field: &str, present: bool| {
        if !present {
            problems.push(Problem::at(
                Some(at),
                entry.path(field),
                format!("A {resource_type} must have {field}."),
            ));
        }
    };
    let has = |k: &str| obj.get(k).is_some_and(|v| !v.is_null());
    let has_prefix = |p: &str| obj.keys().any(|k| k.starts_with(p) && k.len() > p.len());
    match resource_type.as_str() {
        "Condition" | "Procedure" => need("subject", has("subject")),
        "MedicationStatement" => {
            need("status", has("status"));
            need("medication[x]", has_prefix("medication"));
            need("subject", has("subject"));
        }
        "MedicationRequest" => {
            need("status", has("status"));
            need("intent", has("intent"));
            need("medication[x]", has_prefix("medication"));
            need("subject", has("subject"));
        }
        "AllergyIntolerance" => need("patient", has("patient")),
        "Observation" | "DiagnosticReport" => {
            need("status", has("status"));
            need("code", has("code"));
        }
        "Immunization" => {
            need("status", has("status"));
            need("vaccineCode", has("vaccineCode"));
            need("patient", has("patient"));
            need("occurrence[x]", has_prefix("occurrence"));
        }
        "Encounter" => {
            need("status", has("status"));
            need("class", has("class"));
        }
        "DocumentReference" => {
            need("status", has("status"));
            need(
                "content",
                obj.get("content")
                    .and_then(Value::as_array)
                    .is_some_and(|c| !c.is_empty()),
            );
        }
        "CarePlan" => {
            need("status", has("status"));
            need("intent", has("intent"));
            need("subject", has("subject"));
        }
        "Goal" => {
            need("lifecycleStatus", has("lifecycleStatus"));
            need("description", has("description"));
            need("subject", has("subject"));
        }
        _ => {}
    }
    let source_id = match obj.get("id") {
        None => None,
        Some(Value::String(id)) if valid_id(id) => Some(id.clone()),
        Some(_) => {
            problems.push(Problem::at(
                Some(at),
                entry.path("id"),
                "An id is 1 to 64 letters, digits, hyphens and full stops.",
            ));
            None
        }
    };
    let mut references = Vec::new();
    walk(resource, &mut String::new(), &mut |path, key, value| match key {
        "reference" => match value {
            Value::String(r) if !r.trim().is_empty() => references.push((path.to_owned(), r.clone())),
            _ => problems.push(Problem::at(Some(at), entry.path(path), "A reference must be text.")),
        },
        _ if is_date_field(key) && value.as_str().is_none_or(|v| fhir_date(v).is_none()) => {
            problems.push(Problem::at(
                Some(at),
                entry.path(path),
                format!("\"{}\" is not a valid date.", value.as_str().unwrap_or("(not text)")),
            ));
        }
        _ => {}
    });
    let patient = (resource_type == "Patient").then(|| patient_facts(obj, &entry, &mut problems));
    if !problems.is_empty() {
        return Err(problems);
    }
    let json = serde_json::to_string(resource).unwrap_or_default();
    let content_hash: [u8; 32] = Sha256::digest(json.as_bytes()).into();
    let kind = Kind::of_resource_type(&resource_type);
    let identity = identity(
        obj,
        &resource_type,
        source_id.as_deref(),
        entry.full_url.as_deref(),
        &content_hash,
    );
    let (date_text, date) = match effective(obj) {
        Some(text) => {
            let date = fhir_date(&text);
            (Some(text), date)
        }
        None => (None, None),
    };
    let status = status(obj);
    Ok(Item {
        kind,
        source_id,
        full_url: entry.full_url.clone(),
        source: obj
            .get("meta")
            .and_then(|m| m.get("source"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| entry.bundle_source.clone()),
        identity,
        label: label(obj),
        title: title(obj, &resource_type, patient.as_ref()),
        detail: detail(obj, kind),
        current: is_current(obj, kind, status.as_deref()),
        status,
        code: first_coding(obj, kind),
        date,
        date_text,
        references,
        patient,
        json,
        content_hash,
        resource_type,
    })
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// Calls `f(path, key, value)` for every object member in `value`, depth first.
fn walk(value: &Value, path: &mut String, f: &mut dyn FnMut(&str, &str, &Value)) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                f(path, k, v);
                walk(v, path, f);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(v, path, f);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn is_date_field(key: &str) -> bool {
    key.ends_with("DateTime")
        || key.ends_with("Date")
        || key.ends_with("Instant")
        || matches!(
            key,
            "date" | "issued" | "start" | "end" | "recorded" | "authoredOn" | "lastUpdated" | "created"
        )
}

/// Checks a FHIR date, dateTime or instant, and gives its calendar date (`YYYY-MM-DD`; a year or a month is placed
/// on its first day). `None` if it is not one.
pub fn fhir_date(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        bytes
            .get(r.clone())
            .filter(|b| b.iter().all(u8::is_ascii_digit))
            .map(|_| &text[r])
    };
    let year: i32 = digits(0..4)?.parse().ok()?;
    let (month, day, rest) = match bytes.len() {
        4 => (1u8, 1u8, ""),
        7 if bytes[4] == b'-' => (digits(5..7)?.parse().ok()?, 1, ""),
        n if n >= 10 && bytes[4] == b'-' && bytes[7] == b'-' => {
            (digits(5..7)?.parse().ok()?, digits(8..10)?.parse().ok()?, &text[10..])
        }
        _ => return None,
    };
    let month = time::Month::try_from(month).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    if !rest.is_empty() && !valid_time_part(rest) {
        return None;
    }
    Some(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    ))
}

/// `Thh:mm:ss(.fraction)(Z|±hh:mm)`.
fn valid_time_part(rest: &str) -> bool {
    let b = rest.as_bytes();
    let two = |i: usize, max: u8| {
        b.get(i..i + 2)
            .filter(|d| d.iter().all(u8::is_ascii_digit))
            .is_some_and(|d| (d[0] - b'0') * 10 + (d[1] - b'0') <= max)
    };
    if b.len() < 9 || b[0] != b'T' || !two(1, 23) || b[3] != b':' || !two(4, 59) || b[6] != b':' || !two(7, 60) {
        return false;
    }
    let mut i = 9;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z'] => true,
        [b'+' | b'-', ..] if b.len() - i == 6 => two(i + 1, 14) && b[i + 3] == b':' && two(i + 4, 59),
        _ => false,
    }
}

fn identity(
    obj: &Map<String, Value>,
    resource_type: &str,
    id: Option<&str>,
    full_url: Option<&str>,
    hash: &[u8; 32],
) -> String {
    let identifier = obj.get("identifier").and_then(|i| match i {
        Value::Array(list) => list.first(),
        single => Some(single),
    });
    if let Some(ident) = identifier
        && let (Some(system), Some(value)) = (
            ident.get("system").and_then(Value::as_str),
            ident.get("value").and_then(Value::as_str),
        )
    {
        return format!("{resource_type}|{system}|{value}");
    }
    if let Some(id) = id {
        return format!("{resource_type}/{id}");
    }
    if let Some(url) = full_url {
        return url.to_owned();
    }
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The sensitivity label from `meta.security` (HL7 v3 ActCode information-sensitivity codes).
fn label(obj: &Map<String, Value>) -> Sensitivity {
    let codes: Vec<&str> = obj
        .get("meta")
        .and_then(|m| m.get("security"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|c| c.get("code").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let any = |set: &[&str]| codes.iter().any(|c| set.contains(c));
    // The most guarded label wins when several are present.
    if any(&["SEX", "STD", "HIV", "SDV"]) {
        Sensitivity::SexualHealth
    } else if any(&["PSY", "PSYTHPN", "MH", "ETH", "SUD", "ETHUD", "BH"]) {
        Sensitivity::MentalHealth
    } else if any(&["SOC", "SOCIAL"]) {
        Sensitivity::SocialCare
    } else {
        Sensitivity::General
    }
}

/// The words of a CodeableConcept: its text, else the first coding's display, else its code.
pub fn concept_text(v: &Value) -> Option<String> {
    if let Some(t) = v.get("text").and_then(Value::as_str) {
        return Some(t.to_owned());
    }
    let codings = v.get("coding").and_then(Value::as_array)?;
    codings
        .iter()
        .find_map(|c| c.get("display").and_then(Value::as_str))
        .or_else(|| codings.iter().find_map(|c| c.get("code").and_then(Value::as_str)))
        .map(str::to_owned)
}

fn code_field(kind: Kind) -> &'static str {
    match kind {
        Kind::Immunisation => "vaccineCode",
        Kind::Medication => "medicationCodeableConcept",
        Kind::Document => "type",
        _ => "code",
    }
}

fn first_coding(obj: &Map<String, Value>, kind: Kind) -> Option<(String, String)> {
    let coding = obj.get(code_field(kind))?.get("coding")?.as_array()?.first()?;
    Some((
        coding.get("system")?.as_str()?.to_owned(),
        coding.get("code")?.as_str()?.to_owned(),
    ))
}

fn str_at<'a>(obj: &'a Map<String, Value>, path: &[&str]) -> Option<&'a str> {
    let (first, rest) = path.split_first()?;
    let mut v = obj.get(*first)?;
    for key in rest {
        v = match v {
            Value::Array(items) => items.first()?.get(key)?,
            _ => v.get(key)?,
        };
    }
    match v {
        Value::Array(items) => items.first()?.as_str(),
        _ => v.as_str(),
    }
}

fn title(obj: &Map<String, Value>, resource_type: &str, patient: Option<&PatientFacts>) -> String {
    if let Some(p) = patient {
        let name = [p.given_name.as_deref(), p.family_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>();
        if !name.is_empty() {
            return name.join(" ");
        }
    }
    let concept = |k: &str| {
        obj.get(k).and_then(|v| match v {
            Value::Array(items) => items.iter().find_map(concept_text),
            v => concept_text(v),
        })
    };
    let words = match resource_type {
        "MedicationStatement" | "MedicationRequest" => concept("medicationCodeableConcept")
            .or_else(|| str_at(obj, &["medicationReference", "display"]).map(str::to_owned)),
        "Immunization" => concept("vaccineCode"),
        "Encounter" => concept("type").or_else(|| concept("serviceType")).or_else(|| {
            str_at(obj, &["class", "display"])
                .or_else(|| str_at(obj, &["class", "code"]))
                .map(str::to_owned)
        }),
        "DocumentReference" => obj
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| concept("type"))
            .or_else(|| str_at(obj, &["content", "attachment", "title"]).map(str::to_owned)),
        "CarePlan" => obj
            .get("title")
            .or_else(|| obj.get("description"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| concept("category")),
        "Goal" => concept("description"),
        _ => concept("code")
            .or_else(|| obj.get("name").and_then(Value::as_str).map(str::to_owned))
            .or_else(|| obj.get("title").and_then(Value::as_str).map(str::to_owned)),
    };
    words.unwrap_or_else(|| format!("{resource_type} (not named)"))
}

fn quantity(q: &Value) -> Option<String> {
    let value = q.get("value")?;
    let number = match value {
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let comparator = q.get("comparator").and_then(Value::as_str).unwrap_or("");
    let unit = q
        .get("unit")
        .and_then(Value::as_str)
        .or_else(|| q.get("code").and_then(Value::as_str));
    Some(match unit {
        Some(u) => format!("{comparator}{number} {u}"),
        None => format!("{comparator}{number}"),
    })
}

fn value_of(obj: &Map<String, Value>) -> Option<String> {
    if let Some(q) = obj.get("valueQuantity") {
        return quantity(q);
    }
    if let Some(c) = obj.get("valueCodeableConcept") {
        return concept_text(c);
    }
    for key in ["valueString", "valueDateTime", "valueTime"] {
        if let Some(s) = obj.get(key).and_then(Value::as_str) {
            return Some(s.to_owned());
        }
    }
    if let Some(b) = obj.get("valueBoolean").and_then(Value::as_bool) {
        return Some(if b { "Yes" } else { "No" }.to_owned());
    }
    if let Some(n) = obj.get("valueInteger").and_then(Value::as_i64) {
        return Some(n.to_string());
    }
    None
}

fn detail(obj: &Map<String, Value>, kind: Kind) -> Option<String> {
    match kind {
        Kind::Result => value_of(obj).or_else(|| {
            let parts: Vec<String> = obj
                .get("component")?
                .as_array()?
                .iter()
                .filter_map(|c| {
                    let c = c.as_object()?;
                    let name = c.get("code").and_then(concept_text)?;
                    Some(format!("{name}: {}", value_of(c)?))
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }),
        Kind::Medication => str_at(obj, &["dosage", "text"])
            .or_else(|| str_at(obj, &["dosageInstruction", "text"]))
            .map(str::to_owned),
        Kind::Allergy => obj
            .get("reaction")
            .and_then(Value::as_array)
            .and_then(|r| r.first())
            .and_then(|r| r.get("manifestation"))
            .and_then(Value::as_array)
            .and_then(|m| m.first())
            .and_then(concept_text),
        Kind::Report => obj.get("conclusion").and_then(Value::as_str).map(str::to_owned),
        Kind::Procedure | Kind::Encounter => obj
            .get("reasonCode")
            .and_then(Value::as_array)
            .and_then(|r| r.first())
            .and_then(concept_text),
        Kind::Goal => {
            let target = obj.get("target")?.as_array()?.first()?;
            target
                .get("detailQuantity")
                .and_then(quantity)
                .or_else(|| target.get("detailString")?.as_str().map(str::to_owned))
        }
        Kind::Document => str_at(obj, &["content", "attachment", "contentType"]).map(str::to_owned),
        _ => None,
    }
}

fn effective(obj: &Map<String, Value>) -> Option<String> {
    const FIELDS: [&[&str]; 18] = [
        &["effectiveDateTime"],
        &["effectivePeriod", "start"],
        &["effectiveInstant"],
        &["onsetDateTime"],
        &["onsetPeriod", "start"],
        &["occurrenceDateTime"],
        &["performedDateTime"],
        &["performedPeriod", "start"],
        &["period", "start"],
        &["authoredOn"],
        &["dateAsserted"],
        &["recordedDate"],
        &["issued"],
        &["date"],
        &["startDate"],
        &["statusDate"],
        &["created"],
        &["birthDate"],
    ];
    FIELDS.iter().find_map(|path| str_at(obj, path)).map(str::to_owned)
}

fn status(obj: &Map<String, Value>) -> Option<String> {
    obj.get("clinicalStatus")
        .and_then(concept_text)
        .or_else(|| obj.get("status").and_then(Value::as_str).map(str::to_owned))
        .or_else(|| obj.get("lifecycleStatus").and_then(Value::as_str).map(str::to_owned))
}

fn coded_status(obj: &Map<String, Value>, field: &str) -> Option<String> {
    let v = obj.get(field)?;
    v.get("coding")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find_map(|c| c.get("code").and_then(Value::as_str)))
        .or_else(|| v.get("text").and_then(Value::as_str))
        .map(str::to_ascii_lowercase)
}

fn is_current(obj: &Map<String, Value>, kind: Kind, status: Option<&str>) -> bool {
    let verification = coded_status(obj, "verificationStatus");
    if matches!(verification.as_deref(), Some("entered-in-error" | "refuted")) {
        return false;
    }
    match kind {
        Kind::Condition | Kind::Allergy => {
            matches!(
                coded_status(obj, "clinicalStatus").as_deref(),
                None | Some("active" | "recurrence" | "relapse")
            )
        }
        Kind::Medication => matches!(status, Some("active" | "intended" | "on-hold")),
        _ => false,
    }
}

fn patient_facts(obj: &Map<String, Value>, entry: &Entry, problems: &mut Vec<Problem>) -> PatientFacts {
    let mut nhs_number = None;
    for (i, ident) in obj
        .get("identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if ident.get("system").and_then(Value::as_str) == Some(NHS_NUMBER_SYSTEM) {
            let value = ident.get("value").and_then(Value::as_str).unwrap_or("");
            match NhsNumber::parse(value) {
                Ok(n) => nhs_number = Some(n),
                Err(_) => problems.push(Problem::at(
                    Some(entry.index),
                    entry.path(&format!("identifier[{i}].value")),
                    format!(
                        "\"{value}\" is not a valid NHS number (its check digit is wrong, or it is not 10 digits)."
                    ),
                )),
            }
        }
    }
    let name = obj.get("name").and_then(Value::as_array).and_then(|names| {
        names
            .iter()
            .find(|n| n.get("use").and_then(Value::as_str) == Some("official"))
            .or_else(|| names.first())
    });
    let given = name
        .and_then(|n| n.get("given"))
        .and_then(Value::as_array)
        .map(|g| g.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
        .filter(|g| !g.is_empty());
    PatientFacts {
        nhs_number,
        given_name: given,
        family_name: name
            .and_then(|n| n.get("family"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        birth_date: obj.get("birthDate").and_then(Value::as_str).map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::Format;
    use serde_json::json;

    fn entry(resource: Value) -> Entry {
        Entry {
            index: 2,
            format: Format::Bundle,
            full_url: None,
            method: None,
            resource: Some(resource),
            bundle_source: None,
        }
    }

    #[test]
    fn a_condition_is_described_and_current() {
        let item = check(entry(json!({
            "resourceType": "Condition", "id": "c1",
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006", "display": "Type 2 diabetes mellitus"}]},
            "subject": {"reference": "Patient/p1"},
            "onsetDateTime": "2019-03"
        })))
        .unwrap();
        assert_eq!(item.kind, Kind::Condition);
        assert_eq!(item.title, "Type 2 diabetes mellitus");
        assert_eq!(item.identity, "Condition/c1");
        assert_eq!(item.date.as_deref(), Some("2019-03-01"));
        assert_eq!(item.date_text.as_deref(), Some("2019-03"));
        assert!(item.current);
        assert_eq!(item.code, Some(("http://snomed.info/sct".into(), "44054006".into())));
        assert_eq!(item.references, vec![("subject.reference".into(), "Patient/p1".into())]);
        assert_eq!(item.label, Sensitivity::General);
    }

    #[test]
    fn missing_fields_and_bad_dates_are_named_with_their_paths() {
        let problems = check(entry(json!({
            "resourceType": "Observation",
            "effectiveDateTime": "2024-13-45",
            "component": [{"valuePeriod": {"start": "yesterday"}}]
        })))
        .unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"entry[2].resource.status"), "{paths:?}");
        assert!(paths.contains(&"entry[2].resource.code"), "{paths:?}");
        assert!(paths.contains(&"entry[2].resource.effectiveDateTime"), "{paths:?}");
        assert!(
            paths.contains(&"entry[2].resource.component[0].valuePeriod.start"),
            "{paths:?}"
        );
        assert!(problems.iter().all(|p| p.entry == Some(2)));
    }

    #[test]
    fn an_entry_without_a_resource_or_type_is_refused() {
        let e = Entry {
            index: 4,
            format: Format::Bundle,
            full_url: None,
            method: None,
            resource: None,
            bundle_source: None,
        };
        assert_eq!(check(e).unwrap_err()[0].path, "entry[4]");
        assert_eq!(
            check(entry(json!({"id": "x"}))).unwrap_err()[0].path,
            "entry[2].resource.resourceType"
        );
        let mut e = entry(json!({"resourceType": "Basic"}));
        e.method = Some("DELETE".into());
        assert_eq!(check(e).unwrap_err()[0].path, "entry[2].request.method");
    }

    #[test]
    fn security_labels_map_to_sensitivity() {
        let with = |code: &str| {
            check(entry(json!({"resourceType": "Basic", "meta": {"security": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"},
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": code}]}})))
            .unwrap()
            .label
        };
        assert_eq!(with("PSY"), Sensitivity::MentalHealth);
        assert_eq!(with("STD"), Sensitivity::SexualHealth);
        assert_eq!(with("SOC"), Sensitivity::SocialCare);
        assert_eq!(with("HTEST"), Sensitivity::General);
    }

    #[test]
    fn observations_show_values_and_components() {
        let bp = check(entry(json!({"resourceType": "Observation", "status": "final",
            "code": {"text": "Blood pressure"}, "effectiveDateTime": "2025-06-01T09:30:00+01:00",
            "component": [
                {"code": {"text": "Systolic"}, "valueQuantity": {"value": 138, "unit": "mmHg"}},
                {"code": {"text": "Diastolic"}, "valueQuantity": {"value": 84, "unit": "mmHg"}}]})))
        .unwrap();
        assert_eq!(bp.detail.as_deref(), Some("Systolic: 138 mmHg, Diastolic: 84 mmHg"));
        assert_eq!(bp.date.as_deref(), Some("2025-06-01"));
        let hba1c = check(entry(json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
            "valueQuantity": {"value": 48.5, "unit": "mmol/mol"}, "issued": "2025-06-02T10:00:00.123Z"})))
        .unwrap();
        assert_eq!(
            (hba1c.title.as_str(), hba1c.detail.as_deref()),
            ("4548-4", Some("48.5 mmol/mol"))
        );
    }

    #[test]
    fn identity_prefers_identifier_then_id_then_full_url_then_content() {
        let mut e =
            entry(json!({"resourceType": "Basic", "id": "b", "identifier": [{"system": "https://s", "value": "1"}]}));
        assert_eq!(check(e.clone()).unwrap().identity, "Basic|https://s|1");
        e.resource = Some(json!({"resourceType": "Basic"}));
        e.full_url = Some("urn:uuid:abc".into());
        assert_eq!(check(e.clone()).unwrap().identity, "urn:uuid:abc");
        e.full_url = None;
        let a = check(e.clone()).unwrap().identity;
        assert!(a.starts_with("sha256:") && a == check(e).unwrap().identity);
    }

    #[test]
    fn a_patient_gives_nhs_number_and_name_and_a_bad_number_is_a_problem() {
        let p = check(entry(json!({"resourceType": "Patient", "id": "p",
            "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": "9434765919"}],
            "name": [{"use": "official", "family": "Khan", "given": ["Amina"]}], "birthDate": "1961-04-12"})))
        .unwrap();
        assert_eq!(p.title, "Amina Khan");
        assert_eq!(
            p.patient.unwrap().nhs_number.map(|n| n.as_digits()),
            Some("9434765919".into())
        );
        let bad = check(entry(json!({"resourceType": "Patient",
            "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": "9434765918"}]})))
        .unwrap_err();
        assert_eq!(bad[0].path, "entry[2].resource.identifier[0].value");
    }

    #[test]
    fn fhir_dates() {
        for good in [
            "2024",
            "2024-02",
            "2024-02-29",
            "2024-02-29T23:59:60Z",
            "2024-02-29T10:00:00.5+05:30",
        ] {
            assert!(fhir_date(good).is_some(), "{good}");
        }
        for bad in [
            "",
            "24",
            "2023-02-29",
            "2024-13",
            "2024-1-01",
            "2024-01-01T25:00:00Z",
            "2024-01-01T10:00",
            "2024-01-01T10:00:00",
        ] {
            assert!(fhir_date(bad).is_none(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fhir_date_never_panics(s in "\\PC{0,40}") {
            let _ = fhir_date(&s);
        }
    }
}
