//! `carepact seed --people N [--seed S]`: a deterministic synthetic population with the shape of England's
//! long-term conditions, written through the store's bulk paths, for benchmarks and demonstrations at scale.
//!
//! The generator lives here, in the binary, rather than in the domain crate: it is a tool for operators and
//! benchmarks, not a rule of the domain; it needs the FHIR crate (conditions are stored as the importer stores
//! them) and the store's row types; and its word lists and England's figures would only weigh the domain down.
//! It is still pure — [`generate`] does no I/O, so its tests need no database — and deterministic: a seed gives
//! the same population, byte for byte, except the password hash (Argon2id with a random salt, made once per run).
//!
//! Generation runs on a thread of its own, one chunk of people ahead of the writer; the writer stores each chunk
//! in one transaction ([`carepact_store::seed`]), so memory stays flat whatever the number of people.

pub mod england;
pub mod generate;
pub mod rng;

use std::io::IsTerminal;
use std::time::{Duration as StdDuration, Instant};

use anyhow::{Context, bail};
use carepact_domain::identity::{OrganisationId, OrganisationKind};
use carepact_store::seed::{self as store, Chunk, Seeder};
use carepact_store::{Db, organisations};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::StoreArgs;
use generate::{Counts, Generator, MAX_PEOPLE, NHS_HIGH, NHS_LOW, Org, PRACTICE_SIZE, Questionnaires, Settings};

/// The `--now` used when none is given, so that every run is the same.
pub const DEFAULT_NOW: &str = "2026-11-01T00:00:00Z";

#[derive(Args)]
pub(crate) struct SeedArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// How many people to make.
    #[arg(long)]
    people: u64,
    /// The seed: the same seed (and --now) makes the same population.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The moment the year of readings ends, as RFC 3339 (2026-11-01T00:00:00Z) or a date (2026-11-01). Give
    /// today's date for recent-looking data; the default keeps runs identical.
    #[arg(long, default_value = DEFAULT_NOW)]
    now: String,
    /// The password of the accounts that can sign in (the first practice's staff, the shared organisations' staff
    /// and the first ten people). Defaults to the demo password.
    #[arg(long, env = "CAREPACT_SEED_PASSWORD")]
    password: Option<String>,
    /// Add the people to a database that already has people (numbering carries on after earlier seeded people).
    #[arg(long)]
    append: bool,
    /// People written per transaction.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    chunk: u64,
}

fn parse_now(text: &str) -> anyhow::Result<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    let date = time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
        .with_context(|| format!("--now {text:?} is neither RFC 3339 nor YYYY-MM-DD"))?;
    Ok(date.midnight().assume_utc())
}

/// Stores the built-in questionnaires (as the server does at start) and returns the ids of those seeded people
/// answer.
async fn questionnaires(db: &Db, now: OffsetDateTime) -> anyhow::Result<Questionnaires> {
    carepact_store::questionnaires::ensure_builtin(db, now).await?;
    let ids = store::builtin_questionnaires(db).await?;
    let get = |code: &str| {
        ids.get(code)
            .copied()
            .with_context(|| format!("the built-in questionnaire {code} is missing"))
    };
    Ok(Questionnaires {
        phq9: get("phq-9")?,
        gad7: get("gad-7")?,
        ons4: get("ons4")?,
    })
}

/// The organisations the people need that the database does not have yet. One of another's name (made by hand,
/// or by a seeding with other ids) is refused: the people would belong to an organisation that is not there.
async fn missing(db: &Db, orgs: Vec<Org>) -> anyhow::Result<Vec<Org>> {
    let mut out = Vec::new();
    for org in orgs {
        if organisations::get(db, OrganisationId(org.id)).await?.is_some() {
            continue;
        }
        if organisations::find_by_name(db, &org.name).await?.is_some() {
            bail!(
                "the database already has an organisation called \"{}\" that this seeding did not make",
                org.name
            );
        }
        out.push(org);
    }
    Ok(out)
}

fn progress(people: u64) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(people), target);
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {human_pos}/{human_len} people, {msg} (eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(StdDuration::from_millis(200));
    bar
}

fn per_second(n: u64, elapsed: StdDuration) -> f64 {
    n as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// Runs the seeding; returns the exit status (0 done, 1 refused).
pub(crate) async fn run(db: &Db, args: &SeedArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let now = parse_now(&args.now)?;
    let existing = store::people_count(db).await?;
    if existing > 0 && !args.append {
        eprintln!(
            "The database already has {existing} people, so nothing was written. Seeding makes a whole population; \
             give --append to add these people to the ones already there."
        );
        return Ok(1);
    }
    let start = match store::highest_nhs_number(db, NHS_LOW, NHS_HIGH).await? {
        Some(highest) => generate::index_of_nhs_number(&highest).map_or(0, |i| i + 1),
        None => 0,
    };
    if start + args.people > MAX_PEOPLE {
        bail!("seeded NHS numbers have room for {MAX_PEOPLE} people in one database");
    }
    let questionnaires = questionnaires(db, now).await?;
    let password = args
        .password
        .clone()
        .unwrap_or_else(|| carepact_server::demo::DEMO_PASSWORD.to_owned());
    let password_hash = carepact_server::passwords::PasswordHasher::new()
        .hash(&password)
        .await?;
    let generator = Generator::new(Settings {
        seed: args.seed,
        now,
        password_hash: Some(password_hash),
        questionnaires,
    });

    let end = start + args.people;
    let mut orgs = generator.community();
    if args.people > 0 {
        orgs.extend((start / PRACTICE_SIZE..=(end - 1) / PRACTICE_SIZE).map(|k| generator.practice(k)));
    }
    let new_orgs = missing(db, orgs).await?;
    let mut seeder = Seeder::open(db).await?;
    let mut first = Chunk::default();
    generator.organisation_rows(&new_orgs, &mut first);
    seeder.write(&first).await.context("writing the organisations")?;

    // Generate one chunk ahead of the writer, on a thread of its own.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Chunk, Counts)>(1);
    let chunk_size = args.chunk;
    let maker = tokio::task::spawn_blocking(move || {
        let community = generator.community();
        let mut practice = generator.practice(start / PRACTICE_SIZE);
        let mut from = start;
        while from < end {
            let to = (from + chunk_size).min(end);
            let mut chunk = Chunk::default();
            let mut counts = Counts::default();
            for i in from..to {
                if practice.name != generate::practice_name(i / PRACTICE_SIZE) {
                    practice = generator.practice(i / PRACTICE_SIZE);
                }
                let c = generator.person(i, &practice, &community, &mut chunk);
                counts.people += c.people;
                counts.readings += c.readings;
            }
            if tx.blocking_send((chunk, counts)).is_err() {
                return;
            }
            from = to;
        }
    });

    let bar = progress(args.people);
    let writing = Instant::now();
    let mut done = Counts::default();
    let mut rows = first.rows() as u64;
    let mut failed = None;
    while let Some((chunk, counts)) = rx.recv().await {
        if let Err(e) = seeder.write(&chunk).await {
            failed = Some(e);
            break;
        }
        done.people += counts.people;
        done.readings += counts.readings;
        rows += chunk.rows() as u64;
        let elapsed = writing.elapsed();
        bar.set_position(done.people);
        bar.set_message(format!(
            "{} readings, {:.0} people/s, {:.0} readings/s",
            done.readings,
            per_second(done.people, elapsed),
            per_second(done.readings, elapsed)
        ));
    }
    drop(rx);
    let _ = maker.await;
    bar.finish_and_clear();
    if let Some(e) = failed {
        return Err(anyhow::Error::from(e).context(format!(
            "writing people {}… (earlier chunks of {} people are stored; the failed chunk is not)",
            start + done.people,
            args.chunk
        )));
    }
    seeder.finish().await?;
    let elapsed = started.elapsed();
    let bytes = store::database_bytes(db).await?;
    println!(
        "Seeded {} people (from number {start}) with {} readings in {:.1} s: {:.0} people/s, {:.0} readings/s, {} \
         rows in all.",
        done.people,
        done.readings,
        elapsed.as_secs_f64(),
        per_second(done.people, elapsed),
        per_second(done.readings, elapsed),
        rows
    );
    if let Some(bytes) = bytes {
        let per = if done.readings > 0 {
            format!(", {:.0} bytes a reading", bytes as f64 / done.readings as f64)
        } else {
            String::new()
        };
        println!("The database holds {:.1} MB{per}.", bytes as f64 / 1_000_000.0);
    }
    if start == 0 {
        let pw = if args.password.is_some() {
            "the password given"
        } else {
            carepact_server::demo::DEMO_PASSWORD
        };
        println!("These accounts can sign in with {pw}:");
        let first_practice = generate::practice_name(0);
        for org in new_orgs
            .iter()
            .filter(|o| o.kind != OrganisationKind::GpPractice || o.name == first_practice)
        {
            for s in &org.staff {
                println!("  {:<44} {} — {}, {}", s.email, s.name, s.role_text, org.name);
            }
        }
        for i in 0..generate::SIGN_IN_PEOPLE.min(done.people) {
            println!("  person.{i}@{}", generate::EMAIL_DOMAIN);
        }
    }
    Ok(0)
}
