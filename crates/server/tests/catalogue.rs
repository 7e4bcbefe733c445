//! Every message id the templates and code ask for exists in the English catalogue, and the catalogue has no
//! entries nobody uses — so adding a language is a matter of translating one file.

use std::collections::BTreeSet;
use std::path::Path;

use carepact_domain::consent::{Section, Sensitivity};
use carepact_domain::identity::{OrganisationKind, Role};
use carepact_server::i18n::Catalogue;

fn files(dir: &Path, ext: &str, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// Prefixes of message ids: a quoted token with one of these must be in the catalogue.
const FAMILIES: &[&str] = &[
    "error-",
    "flash-",
    "label-",
    "hint-",
    "nav-",
    "home-",
    "account-",
    "sign-in-",
    "reset-",
    "invitation-",
    "link-",
    "person-new-",
    "organisation",
    "staff-",
    "status-",
    "emails-",
    "email-",
    "title-",
    "banner-",
    "footer-",
    "service-",
    "skip-",
    "header-",
    "breadcrumb",
    "back-",
    "password-",
    "save-",
    "language-",
    "named-contact",
    "nhs-number-",
    "information-",
    "invite-",
    "set-password",
    "sign-out",
    "access-",
    "consent-",
    "grantee-",
    "log-",
    "purpose-",
    "record-",
    "revoke-",
    "section-",
    "share-",
    "sharing-",
];

/// Quoted strings that look like message ids: lowercase words joined by hyphens, from a known family. In templates
/// only the template tags are read: ids there sit inside HTML attribute quotes.
fn quoted_ids(text: &str, template: bool) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let unescaped: String;
    let pieces: Vec<&str> = if template {
        // Only inside `{{ … }}` and `{% … %}`, where quotes are balanced.
        let mut inside = Vec::new();
        for (open, close) in [("{{", "}}"), ("{%", "%}")] {
            for rest in text.split(open).skip(1) {
                let tag = rest.split(close).next().unwrap_or("");
                inside.extend(tag.split('"').skip(1).step_by(2));
            }
        }
        inside
    } else {
        // Escaped quotes inside Rust strings, and quote characters, do not open or close a string.
        unescaped = text.replace("\\\"", "").replace("'\"'", "");
        unescaped.split('"').skip(1).step_by(2).collect()
    };
    for piece in pieces {
        let looks_like_id = !piece.is_empty()
            && piece
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            && piece.contains('-')
            && !piece.ends_with('-');
        if looks_like_id {
            out.insert(piece.to_owned());
        }
    }
    out
}

#[test]
fn every_message_used_exists_and_every_message_is_used() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let catalogue = Catalogue::load().expect("catalogue parses");
    let known: BTreeSet<String> = catalogue.english_ids().into_iter().collect();
    let mut sources = Vec::new();
    files(&root.join("templates"), "html", &mut sources);
    files(&root.join("src"), "rs", &mut sources);
    files(&root.join("../domain/src"), "rs", &mut sources);
    let mut used = BTreeSet::new();
    for path in &sources {
        let text = std::fs::read_to_string(path).expect("readable");
        used.extend(quoted_ids(&text, path.extension().is_some_and(|e| e == "html")));
    }
    // Ids built at run time.
    used.extend(Role::ALL.iter().map(|r| r.message_id().to_owned()));
    used.extend(OrganisationKind::ALL.iter().map(|k| k.message_id().to_owned()));
    used.extend((1..=12).map(|m| format!("month-{m}")));
    used.extend(Section::ALL.iter().map(|s| format!("section-{}", s.code())));
    used.extend(
        Sensitivity::ALL
            .iter()
            .map(|l| format!("label-sensitivity-{}", l.code())),
    );
    used.extend(
        [
            "read",
            "write",
            "own-consents",
            "own-audit-log",
            "own-person-details",
            "approve-request",
            "decline-request",
            "request-access",
        ]
        .map(|a| format!("log-what-{a}")),
    );
    used.extend(
        [
            "direct-care",
            "person-access",
            "person-choice",
            "emergency",
            "operations",
            "answer-person",
        ]
        .map(|p| format!("purpose-{p}")),
    );
    used.extend(carepact_fhir::Kind::ALL.iter().map(|k| format!("kind-{}", k.code())));
    used.extend(
        carepact_store::audit::LogKind::ALL
            .iter()
            .map(|k| format!("log-filter-kind-{}", k.code())),
    );
    used.extend(["open", "answered"].map(|s| format!("correction-status-{s}")));
    used.extend(
        ["note", "correction"]
            .iter()
            .flat_map(|f| [format!("error-{f}-empty"), format!("error-{f}-long")]),
    );
    used.extend(
        ["summary-of-record", "timeline-of-record", "export", "import-form"].map(|e| format!("log-what-read-{e}")),
    );
    used.extend(
        [
            "read-correction-request",
            "write-correction-request",
            "read-access-query",
            "write-access-query",
        ]
        .map(|w| format!("log-what-{w}")),
    );
    used.extend(
        ["read-item", "read-attachment", "own-note", "own-correction"].map(|w| format!("log-what-{w}-unnamed")),
    );
    // The care plan's forms and comparison name fields, parts and codes at run time.
    let plan_fields = [
        "about_me",
        "what_matters",
        "targets",
        "medicines",
        "signs",
        "what_i_do",
        "who_to_call",
        "out_of_hours",
        "review_date",
        "goal",
        "steps",
        "target_date",
        "what",
        "owner",
        "who",
        "by",
        "status",
        "goal_id",
        "name",
        "relationship",
        "contact",
    ];
    used.extend(
        plan_fields
            .iter()
            .flat_map(|f| [format!("plan-field-{f}"), format!("plan-hint-{f}")]),
    );
    used.extend(
        [
            "about",
            "targets",
            "medicines",
            "contingency",
            "review",
            "goals",
            "actions",
            "network",
        ]
        .map(|p| format!("plan-form-{p}")),
    );
    used.extend(
        ["goals", "actions", "network"]
            .iter()
            .flat_map(|p| [format!("plan-form-{p}-new"), format!("plan-remove-{p}")]),
    );
    used.extend(
        carepact_domain::care_plan::ActionOwner::ALL
            .iter()
            .map(|o| format!("plan-owner-{}", o.code())),
    );
    used.extend(
        carepact_domain::care_plan::ActionStatus::ALL
            .iter()
            .map(|s| format!("plan-status-{}", s.code())),
    );
    used.extend((0..=4).map(|n| format!("plan-attainment-{n}")));
    used.extend(["empty", "long", "too_many"].map(|p| format!("error-plan-{p}")));
    used.extend(
        carepact_store::notifications::KINDS
            .iter()
            .flat_map(|k| [format!("notification-{k}"), format!("notification-kind-{k}")]),
    );
    used.extend(
        ["subject", "body"]
            .iter()
            .flat_map(|f| [format!("error-message-{f}-empty"), format!("error-message-{f}-long")]),
    );
    // Readings: names, components, units and sources are built from the catalogue of measures.
    use carepact_domain::readings::{InputUnit, Level, Measure};
    used.extend(Measure::ALL.iter().map(|m| format!("measure-{}", m.code())));
    used.extend(["systolic", "diastolic", "pulse", "value"].map(|k| format!("reading-component-{k}")));
    used.extend(
        [
            InputUnit::Standard,
            InputUnit::MilligramsPerDecilitre,
            InputUnit::StonesPounds,
        ]
        .map(|u| format!("reading-unit-{}", u.code())),
    );
    used.extend(
        ["person", "carer", "professional", "device", "file", "derived"].map(|s| format!("reading-source-{s}")),
    );
    used.extend(Level::ALL.iter().flat_map(|l| {
        [
            format!("alert-level-{}", l.code()),
            format!("plan-rule-tell-{}", l.code()),
            format!("rule-words-tell-{}", l.code()),
        ]
    }));
    used.extend(["raised", "escalated"].map(|e| format!("alert-event-{e}")));
    used.extend(
        ["snoozed", "acknowledged", "reading-added"]
            .iter()
            .flat_map(|e| [format!("alert-event-{e}"), format!("alert-event-{e}-by")]),
    );
    used.extend(["above", "below"].map(|w| format!("chart-threshold-{w}")));
    used.extend((1..=12).map(|m| format!("month-short-{m}")));
    used.extend(
        [
            "component",
            "low",
            "high",
            "comparison",
            "threshold",
            "times",
            "within_days",
            "tell",
            "urgent",
            "advice",
            "escalate_after_hours",
        ]
        .iter()
        .flat_map(|f| [format!("plan-field-{f}"), format!("plan-hint-{f}")]),
    );
    used.extend(["target", "rule"].map(|f| format!("plan-field-{f}")));
    used.extend(["ranges", "rules"].iter().flat_map(|p| {
        [
            format!("plan-form-{p}"),
            format!("plan-form-{p}-new"),
            format!("plan-remove-{p}"),
        ]
    }));
    // Questionnaires: names and explanations by instrument, score parts by key.
    use carepact_domain::questionnaire::Instrument;
    used.extend(Instrument::ALL.iter().flat_map(|i| {
        [
            format!("questionnaire-name-{}", i.code()),
            format!("questionnaire-explain-{}", i.code()),
        ]
    }));
    used.extend(
        [
            "total",
            "mean",
            "top-score",
            "life-satisfaction",
            "worthwhile",
            "happiness",
            "anxiety",
        ]
        .map(|k| format!("questionnaire-part-{k}")),
    );
    // Alert levels are codes, not messages.
    used.remove("named-contact");
    // Audit entity kinds share message prefixes but are codes, not messages.
    for code in ["record-item", "record-note", "record-correction", "access-query"] {
        used.remove(code);
    }
    // Email kinds are named once in code and stand for a subject and a body in the catalogue.
    let kinds: Vec<String> = used.iter().filter(|id| id.starts_with("email-")).cloned().collect();
    for kind in &kinds {
        if known.contains(&format!("{kind}-subject")) && known.contains(&format!("{kind}-body")) {
            used.remove(kind);
            used.insert(format!("{kind}-subject"));
            used.insert(format!("{kind}-body"));
        }
    }
    // Ids that look like messages (a known family) must exist; any other quoted token may be a code, not a message.
    let missing: Vec<_> = used
        .iter()
        .filter(|id| !known.contains(*id) && FAMILIES.iter().any(|f| id.starts_with(f)))
        .collect();
    assert!(
        missing.is_empty(),
        "message ids used but not in the catalogue: {missing:?}"
    );
    let unused: Vec<_> = known.iter().filter(|id| !used.contains(*id)).collect();
    assert!(unused.is_empty(), "catalogue entries nothing uses: {unused:?}");
}
