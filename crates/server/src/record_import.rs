//! Importing a FHIR R4 file into a person's record, for the command line, the upload page and the demo.
//!
//! The file is read on a blocking thread, entry by entry ([`carepact_fhir::read`]); each resource is checked there
//! and handed over a bounded channel to [`carepact_store::record::import`], which stores it inside one
//! transaction. Only a few entries are in memory at any time, however big the file; if anything is wrong, the
//! transaction is rolled back and every problem is reported.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use carepact_fhir::resource::PatientFacts;
use carepact_fhir::{Format, Problem, check, read};
use carepact_store::Db;
use carepact_store::access::{Denied, Grant};
use carepact_store::record::{ImportMeta, ImportOutcome, Incoming, import};
use time::OffsetDateTime;
use tokio::sync::mpsc;

/// Told how many bytes of the file have been read so far.
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// The largest file the upload page takes. Bigger files (whole-practice extracts) go through `carepact import`.
pub const UPLOAD_LIMIT: usize = 32 * 1024 * 1024;

/// How many checked entries may wait between the reader and the store.
const QUEUE: usize = 256;

struct Counting<R> {
    inner: R,
    read: u64,
    progress: Option<Progress>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if let Some(p) = &self.progress {
            p(self.read);
        }
        Ok(n)
    }
}

/// The file's shape, from its first bytes.
pub fn sniff(path: &Path) -> std::io::Result<Format> {
    let mut head = vec![0; 4096];
    let mut file = File::open(path)?;
    let n = file.read(&mut head)?;
    head.truncate(n);
    Ok(Format::sniff(&head))
}

/// Where a file's bytes come from.
enum Source {
    File(PathBuf),
    /// A file embedded in the binary (the demo records).
    Bytes(&'static [u8]),
}

impl Source {
    fn sniff(&self) -> std::io::Result<Format> {
        match self {
            Source::File(path) => sniff(path),
            Source::Bytes(bytes) => Ok(Format::sniff(&bytes[..bytes.len().min(4096)])),
        }
    }

    fn open(&self, progress: Option<Progress>) -> std::io::Result<BufReader<Counting<Box<dyn Read + Send>>>> {
        let inner: Box<dyn Read + Send> = match self {
            Source::File(path) => Box::new(File::open(path)?),
            Source::Bytes(bytes) => Box::new(*bytes),
        };
        Ok(BufReader::with_capacity(
            256 * 1024,
            Counting {
                inner,
                read: 0,
                progress,
            },
        ))
    }
}

/// Reads `source` and sends what it holds to `tx`. Runs on a blocking thread.
fn read_into(
    source: &Source,
    format: Format,
    tx: &mpsc::Sender<Incoming>,
    progress: Option<Progress>,
) -> std::io::Result<()> {
    let send = |incoming: Incoming| {
        // The store stops listening only when it has failed; its error is the one reported.
        let _ = tx.blocking_send(incoming);
    };
    let mut each = |entry| match check(entry) {
        Ok(item) => send(Incoming::Item(Box::new(item))),
        Err(problems) => problems.into_iter().for_each(|p| send(Incoming::Problem(p))),
    };
    let reader = source.open(progress)?;
    match format {
        Format::Bundle => match read::read_bundle(reader, &mut each) {
            Ok(info) => info.problems().into_iter().for_each(|p| send(Incoming::Problem(p))),
            Err(problem) => send(Incoming::Problem(problem)),
        },
        Format::Ndjson => {
            let lines = read::read_ndjson(reader, &mut each, &mut |p| send(Incoming::Problem(p)))?;
            if lines == 0 {
                send(Incoming::Problem(Problem::file("", "The file is empty.")));
            }
        }
    }
    Ok(())
}

/// Imports the file at `path` into the record `grant` is for. `meta.format` is set from the file.
pub async fn import_file(
    db: &Db,
    grant: &Grant,
    path: &Path,
    meta: ImportMeta,
    progress: Option<Progress>,
    now: OffsetDateTime,
) -> anyhow::Result<Result<ImportOutcome, Denied>> {
    import_source(db, grant, Source::File(path.to_owned()), meta, progress, now).await
}

/// Imports a file embedded in the binary.
pub async fn import_embedded(
    db: &Db,
    grant: &Grant,
    bytes: &'static [u8],
    meta: ImportMeta,
    now: OffsetDateTime,
) -> anyhow::Result<Result<ImportOutcome, Denied>> {
    import_source(db, grant, Source::Bytes(bytes), meta, None, now).await
}

async fn import_source(
    db: &Db,
    grant: &Grant,
    source: Source,
    mut meta: ImportMeta,
    progress: Option<Progress>,
    now: OffsetDateTime,
) -> anyhow::Result<Result<ImportOutcome, Denied>> {
    let format = source.sniff()?;
    meta.format = match format {
        Format::Bundle => "bundle",
        Format::Ndjson => "ndjson",
    };
    let (tx, rx) = mpsc::channel(QUEUE);
    let reader = tokio::task::spawn_blocking(move || read_into(&source, format, &tx, progress));
    let outcome = import(db, grant, &meta, rx, now).await;
    reader.await??;
    Ok(outcome?)
}

/// The one person a file is about, for creating them before their record is imported. Reads the whole file.
pub fn find_patient(path: &Path) -> anyhow::Result<Result<PatientFacts, Vec<Problem>>> {
    let format = sniff(path)?;
    let (tx, mut rx) = mpsc::channel(QUEUE);
    let source = Source::File(path.to_owned());
    let reader = std::thread::spawn(move || read_into(&source, format, &tx, None));
    let mut patients: Vec<PatientFacts> = Vec::new();
    let mut problems = Vec::new();
    while let Some(next) = rx.blocking_recv() {
        match next {
            Incoming::Item(item) => {
                if let Some(p) = item.patient
                    && !patients.contains(&p)
                {
                    patients.push(p);
                }
            }
            Incoming::Problem(p) => problems.push(p),
        }
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the file reader stopped unexpectedly"))??;
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    match patients.len() {
        1 => Ok(Ok(patients.remove(0))),
        0 => Ok(Err(vec![Problem::file(
            "",
            "The file has no Patient, so it does not say whose record it is.",
        )])),
        _ => Ok(Err(vec![Problem::file(
            "",
            "The file holds more than one person: import one person's record at a time.",
        )])),
    }
}
