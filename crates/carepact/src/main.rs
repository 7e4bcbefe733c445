//! The `carepact` command: serve the web app, apply migrations, import a record, check the audit log, invite the
//! first administrator, or make and revoke personal API tokens.

mod import;
mod seed;
mod token;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use carepact_domain::SystemClock;
use carepact_server::{AppState, Config, bootstrap, demo};
use carepact_store::Db;
use clap::{Args, Parser, Subcommand, ValueEnum};
use tokio::net::TcpListener;

/// CarePact: a health and care record that the person holds, shared with professionals, organisations and carers
/// only by the person's consent.
#[derive(Parser)]
#[command(name = "carepact", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Which log lines to print, e.g. "info" or "carepact_server=debug".
    #[arg(long, global = true, env = "CAREPACT_LOG", default_value = "info")]
    log: String,
    /// Log as human-readable text or as JSON lines (for log collectors).
    #[arg(long, global = true, env = "CAREPACT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Start the CarePact web app. Creates and updates the database as needed.
    Serve(ServeArgs),
    /// Bring the database's structure up to date, then stop.
    Migrate(StoreArgs),
    /// Check the audit log: every event is where it was written, unaltered, and none is missing. Names the first bad
    /// event if not.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Import a person's record from a FHIR R4 file: a Bundle (collection, transaction, batch, searchset or document)
    /// or NDJSON. All or nothing: a file with any problem is refused whole, with a list of its problems. Importing the
    /// same file again adds nothing.
    Import(import::ImportArgs),
    /// Invite the first system administrator of a new CarePact: prints a one-time link to set their password.
    CreateAdmin {
        #[command(flatten)]
        store: StoreArgs,
        /// Their email address (they sign in with it).
        #[arg(long)]
        email: String,
        /// Their full name.
        #[arg(long)]
        name: String,
        /// The address people use to reach CarePact, for the link.
        #[arg(long, env = "CAREPACT_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
        public_url: String,
    },
    /// Make a deterministic synthetic population for benchmarks: organisations, professionals and N people with
    /// England's long-term conditions, their care plans, consents, a year of readings, questionnaires, messages and
    /// alerts. Refuses a database that already has people unless given --append.
    Seed(seed::SeedArgs),
    /// Personal API tokens for the FHIR API (scripts and integrations): make one for a user, list a user's, revoke
    /// one.
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify every hash chain in the audit log. Exits with status 1 if anything was edited, deleted, reordered or cut off.
    Verify(StoreArgs),
}

#[derive(Args)]
pub(crate) struct StoreArgs {
    /// Where CarePact keeps its data: sqlite://PATH (an embedded file, created if missing) or postgres://…
    #[arg(long, env = "CAREPACT_DATABASE_URL", default_value = "sqlite://carepact.db")]
    pub(crate) database_url: String,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The address and port to listen on.
    #[arg(long, env = "CAREPACT_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Load the demo organisations, professionals, people and carer if the database is empty, and print their accounts.
    #[arg(long, env = "CAREPACT_DEMO")]
    demo: bool,
    /// The address people use to reach CarePact, for links in emails. Cookies are marked Secure when it is https.
    /// Defaults to http://ADDR.
    #[arg(long, env = "CAREPACT_PUBLIC_URL")]
    public_url: Option<String>,
    /// SMTP server for email, e.g. smtp://127.0.0.1:2525 or smtps://user:password@mail.example.org. Without one,
    /// emails wait in the outbox until one is configured.
    #[arg(long, env = "CAREPACT_SMTP_URL")]
    smtp_url: Option<String>,
    /// The From address of emails.
    #[arg(
        long,
        env = "CAREPACT_MAIL_FROM",
        default_value = "CarePact <no-reply@carepact.example>"
    )]
    mail_from: String,
    /// Take the client's address from X-Forwarded-For. Only behind a load balancer you trust.
    #[arg(long, env = "CAREPACT_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// Do not run the email worker in this process (when other nodes run it).
    #[arg(long, env = "CAREPACT_NO_WORKER")]
    no_worker: bool,
    /// Most database connections this process opens.
    #[arg(long, env = "CAREPACT_MAX_CONNECTIONS", default_value_t = 16)]
    max_connections: u32,
}

fn init_logging(cli: &Cli) {
    let mut filter =
        tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if matches!(cli.command, Command::Seed(_))
        && let Ok(quiet) = "sqlx::query=error".parse()
    {
        // Seeding's statements carry thousands of rows: a slow one would be logged whole.
        filter = filter.add_directive(quiet);
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

async fn open_store(args: &StoreArgs, max_connections: u32) -> anyhow::Result<Db> {
    let options = carepact_store::db::Options { max_connections };
    let db = Db::connect_with(&args.database_url, &options)
        .await
        .with_context(|| "could not open the database (check --database-url)".to_string())?;
    db.migrate().await.context("could not bring the database up to date")?;
    Ok(db)
}

fn describe_fault(fault: &carepact_domain::audit::ChainFault) -> String {
    use carepact_domain::audit::ChainFault;
    match fault {
        ChainFault::Gap {
            chain,
            expected_seq,
            found_seq,
        } => {
            format!("in chain {chain}, event {expected_seq} is missing (the next stored event is number {found_seq})")
        }
        ChainFault::BadHash { chain, seq, id } => {
            format!("in chain {chain}, event {seq} (id {id}) was altered, moved or does not follow its predecessor")
        }
        ChainFault::Truncated {
            chain,
            head_seq,
            last_seq,
        } => {
            format!("in chain {chain}, the newest events were cut off: {head_seq} were written, {last_seq} remain")
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(&cli);
    match cli.command {
        Command::Migrate(store) => {
            let db = open_store(&store, 2).await?;
            db.close().await;
            println!("The database is up to date.");
        }
        Command::Audit {
            command: AuditCommand::Verify(store),
        } => {
            let db = open_store(&store, 2).await?;
            let result = carepact_store::audit::verify(&db).await?;
            db.close().await;
            match result {
                Ok(report) => println!(
                    "The audit log is intact: {} events in {} chains.",
                    report.events, report.chains
                ),
                Err(fault) => {
                    eprintln!("The audit log has been tampered with: {}", describe_fault(&fault));
                    std::process::exit(1);
                }
            }
        }
        Command::Import(args) => {
            let db = open_store(&args.store, 4).await?;
            let code = import::run(&db, &args).await;
            db.close().await;
            std::process::exit(code?);
        }
        Command::Seed(args) => {
            let db = open_store(&args.store, 4).await?;
            let code = seed::run(&db, &args).await;
            db.close().await;
            std::process::exit(code?);
        }
        Command::Token { command } => {
            let db = open_store(command.store(), 2).await?;
            let code = token::run(&db, command).await;
            db.close().await;
            std::process::exit(code?);
        }
        Command::CreateAdmin {
            store,
            email,
            name,
            public_url,
        } => {
            let db = open_store(&store, 2).await?;
            let config = Config {
                public_url,
                ..Config::for_tests()
            };
            let state = AppState::new(db.clone(), Arc::new(SystemClock), config)?;
            let link = bootstrap::invite_system_admin(&state, &email, &name).await?;
            db.close().await;
            println!("Invited {email}. They set their password with this link (valid for 7 days):\n{link}");
        }
        Command::Serve(args) => {
            let db = open_store(&args.store, args.max_connections).await?;
            let listener = TcpListener::bind(args.addr)
                .await
                .with_context(|| format!("could not listen on {}", args.addr))?;
            let addr = listener.local_addr()?;
            let config = Config {
                addr,
                public_url: args.public_url.unwrap_or_else(|| format!("http://{addr}")),
                smtp_url: args.smtp_url,
                mail_from: args.mail_from,
                trust_forwarded_for: args.trust_forwarded_for,
                run_worker: !args.no_worker,
            };
            let state = AppState::new(db, Arc::new(SystemClock), config)?;
            if args.demo {
                match demo::load_if_empty(&state).await? {
                    Some(accounts) => {
                        println!(
                            "Demo world loaded. Every account's password is: {}",
                            demo::DEMO_PASSWORD
                        );
                        for a in accounts {
                            println!("  {:<32} {} — {}", a.email, a.name, a.what);
                        }
                    }
                    None => println!("The database already has accounts, so the demo world was not loaded again."),
                }
            }
            println!("CarePact is running at http://{addr}");
            carepact_server::serve(state, listener).await?;
        }
    }
    Ok(())
}
