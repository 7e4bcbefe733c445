//! `carepact import`: a person's record from a FHIR R4 file, with a progress bar.

use std::path::PathBuf;
use std::sync::Arc;

use carepact_domain::NhsNumber;
use carepact_domain::consent::{Action, Request, Section, Sensitivity};
use carepact_server::record_import::{Progress, find_patient, import_file};
use carepact_store::Db;
use carepact_store::access::authorize_operator;
use carepact_store::audit::AuditWriter;
use carepact_store::record::{ImportMeta, ImportOutcome};
use carepact_store::{organisations, people};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use time::OffsetDateTime;

use crate::StoreArgs;

#[derive(Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// The FHIR R4 JSON file: a Bundle, or NDJSON with one resource per line.
    file: PathBuf,
    /// The NHS number of the person whose record this is (they must already be in CarePact).
    #[arg(long, required_unless_present = "create_person", conflicts_with = "create_person")]
    person: Option<String>,
    /// Add the person from the file's Patient (name, date of birth, NHS number) and import their record.
    #[arg(long)]
    create_person: bool,
    /// With --create-person: the NHS number to use when the file's Patient has none (a record from outside
    /// England).
    #[arg(long, requires = "create_person")]
    nhs_number: Option<String>,
    /// The organisation that supplied the record, as named in CarePact: the person's correction requests go to it.
    #[arg(long)]
    organisation: Option<String>,
    /// The source system, for resources that do not name their own (FHIR meta.source). Defaults to the
    /// organisation, or else the file's name.
    #[arg(long)]
    source: Option<String>,
}

fn nhs(text: &str) -> anyhow::Result<NhsNumber> {
    NhsNumber::parse(text).map_err(|_| anyhow::anyhow!("{text} is not a valid NHS number"))
}

fn print_problems(problems: &[carepact_fhir::Problem], total: usize) {
    eprintln!("The file was not imported: nothing was stored. {total} problem(s):");
    for p in problems {
        eprintln!("  {}: {}", if p.path.is_empty() { "file" } else { &p.path }, p.message);
    }
    if total > problems.len() {
        eprintln!("  … and {} more.", total - problems.len());
    }
}

/// Runs the import; returns the exit status (0 imported, 1 refused).
pub(crate) async fn run(db: &Db, args: &ImportArgs) -> anyhow::Result<i32> {
    let now = OffsetDateTime::now_utc();
    let supplier = match &args.organisation {
        Some(name) => Some(
            organisations::find_by_name(db, name)
                .await?
                .ok_or_else(|| anyhow::anyhow!("there is no organisation called \"{name}\" in CarePact"))?,
        ),
        None => None,
    };
    let person = if let Some(number) = &args.person {
        let number = nhs(number)?;
        match people::id_for_nhs_number(db, &number).await? {
            Some(id) => id,
            None => {
                eprintln!(
                    "Nobody with NHS number {number} is in CarePact. Use --create-person to add them from the file."
                );
                return Ok(1);
            }
        }
    } else {
        let path = args.file.clone();
        let facts = match tokio::task::spawn_blocking(move || find_patient(&path)).await?? {
            Ok(facts) => facts,
            Err(problems) => {
                print_problems(&problems, problems.len());
                return Ok(1);
            }
        };
        let number = match (&args.nhs_number, facts.nhs_number) {
            (Some(given), _) => nhs(given)?,
            (None, Some(n)) => n,
            (None, None) => {
                eprintln!("The file's Patient has no NHS number: give one with --nhs-number.");
                return Ok(1);
            }
        };
        let birth = facts
            .birth_date
            .as_deref()
            .and_then(carepact_fhir::resource::fhir_date)
            .and_then(|d| time::Date::parse(&d, time::macros::format_description!("[year]-[month]-[day]")).ok())
            .ok_or_else(|| anyhow::anyhow!("the file's Patient has no date of birth"))?;
        let (given, family) = (
            facts.given_name.unwrap_or_default(),
            facts.family_name.unwrap_or_default(),
        );
        if family.is_empty() {
            anyhow::bail!("the file's Patient has no family name");
        }
        match people::id_for_nhs_number(db, &number).await? {
            Some(id) => id,
            None => people::create_without_account(db, &number, &given, &family, birth, now).await?,
        }
    };
    let audit = AuditWriter::start(db.clone());
    let request = Request {
        section: Section::Record,
        label: Sensitivity::General,
        action: Action::Write,
    };
    let Ok(grant) = authorize_operator(db, &audit, person, request, "import-record", now).await? else {
        anyhow::bail!("the person could not be found");
    };
    let file_name = args.file.file_name().map(|n| n.to_string_lossy().into_owned());
    let source = args
        .source
        .clone()
        .or_else(|| {
            args.organisation
                .as_ref()
                .map(|o| format!("organisation:{}", o.to_lowercase()))
        })
        .or_else(|| file_name.as_ref().map(|f| format!("file:{f}")))
        .unwrap_or_else(|| "file".into());
    let meta = ImportMeta {
        source,
        file_name,
        format: "",
        supplier,
        actor_organisation: None,
    };
    let size = std::fs::metadata(&args.file)?.len();
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:40}] {bytes}/{total_bytes} ({eta} left)")?
            .progress_chars("=> "),
    );
    bar.set_message("Importing");
    let shown = bar.clone();
    let progress: Progress = Arc::new(move |n| shown.set_position(n));
    let outcome = import_file(db, &grant, &args.file, meta, Some(progress), now).await?;
    bar.finish_and_clear();
    match outcome {
        Ok(ImportOutcome::Imported(r)) => {
            println!(
                "Imported {}: {} added, {} updated, {} unchanged; {} references linked.",
                args.file.display(),
                r.added,
                r.updated,
                r.unchanged,
                r.links
            );
            Ok(0)
        }
        Ok(ImportOutcome::Rejected { problems, total }) => {
            print_problems(&problems, total);
            Ok(1)
        }
        Err(_) => anyhow::bail!("the import was refused"),
    }
}
