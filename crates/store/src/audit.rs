//! The audit log: append-only, one hash chain per person, verified by `carepact audit verify`.
//!
//! Reads are audited through [`AuditWriter`], which commits the events of many concurrent requests in one
//! transaction (one fsync for the group), so auditing every read does not cap read throughput; each request still
//! waits until its own event is durable before it is answered. Writes append their events inside their own
//! transaction ([`append_in_tx!`]), so a change and its audit commit together or not at all.
//!
//! Several processes may append at once (PostgreSQL): a batch locks the chain heads it touches, in id order, so
//! writers to different people never wait for each other and writers to one person never deadlock.

use crate::access::{Denied, Grant};
use carepact_domain::audit::{ChainFault, Event, verify_chain};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::{Db, DbTime, Result, StoreError, on_db};

/// Most rows one statement of [`append_in_tx!`] carries (16 parameters an event: well inside both backends' limits).
pub(crate) const ROWS_A_STATEMENT: usize = 256;

/// Appends `events` (a slice of [`Event`]) to their chains inside the open transaction `tx`, in four statements
/// whatever their number (per [`ROWS_A_STATEMENT`]): make any missing chain heads, read (on PostgreSQL, lock) the
/// heads in chain order so that concurrent batches never deadlock, insert the events with their hashes, and move
/// the heads on. Each chain's events keep their order of arrival.
macro_rules! append_in_tx {
    ($tx:expr, $backend:expr, $events:expr) => {{
        async {
            use carepact_domain::audit::GENESIS;
            use $crate::audit::ROWS_A_STATEMENT as N;
            let events: &[carepact_domain::audit::Event] = $events;
            let mut order: Vec<usize> = (0..events.len()).collect();
            order.sort_by_key(|&i| (events[i].chain(), i));
            let mut chains: Vec<uuid::Uuid> = order.iter().map(|&i| events[i].chain()).collect();
            chains.dedup();
            let mut heads = std::collections::HashMap::with_capacity(chains.len());
            for part in chains.chunks(N) {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO audit_chain_heads (chain_id, seq, hash) ");
                q.push_values(part, |mut row, chain| {
                    row.push_bind(*chain).push_bind(0_i64).push_bind(GENESIS.to_vec());
                });
                q.push(" ON CONFLICT (chain_id) DO NOTHING");
                q.build().execute(&mut *$tx).await?;
                let mut q =
                    sqlx::QueryBuilder::new("SELECT chain_id, seq, hash FROM audit_chain_heads WHERE chain_id IN (");
                let mut ids = q.separated(", ");
                for chain in part {
                    ids.push_bind(*chain);
                }
                q.push(")");
                if $backend == $crate::Backend::Postgres {
                    q.push(" ORDER BY chain_id FOR UPDATE");
                }
                let found: Vec<(uuid::Uuid, i64, Vec<u8>)> = q.build_query_as().fetch_all(&mut *$tx).await?;
                for (chain, seq, hash) in found {
                    heads.insert(chain, (seq, <[u8; 32]>::try_from(hash.as_slice()).unwrap_or(GENESIS)));
                }
            }
            let mut rows = Vec::with_capacity(events.len());
            for i in order {
                let event = &events[i];
                let head = heads.entry(event.chain()).or_insert((0, GENESIS));
                let seq = head.0 + 1;
                let hash = carepact_domain::audit::chain_hash(&head.1, seq, event);
                rows.push((event, seq, head.1, hash));
                *head = (seq, hash);
            }
            for part in rows.chunks(N) {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO audit_events (chain_id, seq, id, occurred_at, actor_id, actor_role, organisation_id, \
                     on_behalf_of, person_id, action, section, entity, purpose, outcome, prev_hash, hash) ",
                );
                q.push_values(part, |mut row, (event, seq, prev, hash)| {
                    row.push_bind(event.chain())
                        .push_bind(*seq)
                        .push_bind(event.id)
                        .push_bind($crate::DbTime(event.occurred_at))
                        .push_bind(event.actor)
                        .push_bind(event.actor_role.as_str())
                        .push_bind(event.organisation)
                        .push_bind(event.on_behalf_of.as_deref())
                        .push_bind(event.person)
                        .push_bind(event.action.as_str())
                        .push_bind(event.section.as_deref())
                        .push_bind(event.entity.as_str())
                        .push_bind(event.purpose.as_str())
                        .push_bind(event.outcome.as_str())
                        .push_bind(prev.to_vec())
                        .push_bind(hash.to_vec());
                });
                q.build().execute(&mut *$tx).await?;
            }
            for part in chains.chunks(N) {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO audit_chain_heads (chain_id, seq, hash) ");
                q.push_values(part, |mut row, chain| {
                    let (seq, hash) = heads.get(chain).copied().unwrap_or((0, GENESIS));
                    row.push_bind(*chain).push_bind(seq).push_bind(hash.to_vec());
                });
                q.push(" ON CONFLICT (chain_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash");
                q.build().execute(&mut *$tx).await?;
            }
            Ok::<(), sqlx::Error>(())
        }
        .await
    }};
}
pub(crate) use append_in_tx;

/// Appends events in one transaction of their own.
pub async fn append(db: &Db, events: &[Event]) -> Result<()> {
    let backend = db.backend();
    on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        append_in_tx!(tx, backend, events)?;
        tx.commit().await
    }
    .await)?;
    Ok(())
}

type Pending = (Event, oneshot::Sender<std::result::Result<(), String>>);

/// `first` and whatever else is already waiting in `rx`, up to `most` in all: one group for a group commit.
pub(crate) fn waiting_with<T>(first: T, rx: &mut mpsc::Receiver<T>, most: usize) -> Vec<T> {
    let mut group = vec![first];
    while group.len() < most {
        match rx.try_recv() {
            Ok(next) => group.push(next),
            Err(_) => break,
        }
    }
    group
}

/// Group commit for audit events: callers wait for durability, but share the transaction (and its fsync) with
/// whoever else is waiting at the same moment. Cloning is cheap; the task stops when the last clone is dropped.
#[derive(Clone)]
pub struct AuditWriter {
    queue: mpsc::Sender<Pending>,
}

/// Most events committed together.
const GROUP_MAX: usize = 512;

impl AuditWriter {
    /// Starts the writer task on the current runtime.
    pub fn start(db: Db) -> Self {
        let (queue, mut rx) = mpsc::channel::<Pending>(4 * GROUP_MAX);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let group = waiting_with(first, &mut rx, GROUP_MAX);
                let events: Vec<Event> = group.iter().map(|(e, _)| e.clone()).collect();
                let mut outcome = append(&db, &events).await;
                if outcome.is_err() {
                    // A concurrent writer on another node may have created the same chain head first: retry once.
                    outcome = append(&db, &events).await;
                }
                let shared = outcome.map_err(|e| e.to_string());
                for (_, done) in group {
                    let _ = done.send(shared.clone());
                }
            }
        });
        Self { queue }
    }

    /// Records `event` and returns once it is durable.
    pub async fn record(&self, event: Event) -> Result<()> {
        let (done, wait) = oneshot::channel();
        self.queue
            .send((event, done))
            .await
            .map_err(|_| StoreError::Corrupt("the audit writer has stopped".into()))?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Corrupt(format!("audit write failed: {e}"))),
            Err(_) => Err(StoreError::Corrupt("the audit writer has stopped".into())),
        }
    }
}

/// An access to a person's data as the person sees it in "who has looked at my record".
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccessEntry {
    pub id: Uuid,
    pub organisation_id: Option<Uuid>,
    pub occurred_at: DbTime,
    pub actor_name: Option<String>,
    pub actor_role: String,
    pub organisation_name: Option<String>,
    pub action: String,
    pub section: Option<String>,
    pub entity: String,
    pub purpose: String,
    pub outcome: String,
    /// The app (SMART on FHIR) the actor used, when they acted through one.
    pub app_name: Option<String>,
    /// How the actor came, when not through a page: `app:<client id>`, `token:<id>` (an API token),
    /// `command-line`.
    pub via: Option<String>,
}

/// Which entries of the access log to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// Someone looked at something.
    Looked,
    /// Someone added to or changed something.
    Changed,
    /// Sharing started or stopped, and requests for access.
    Sharing,
    /// Someone was refused.
    Refused,
    /// Emergency access: opened, and everything done under it.
    Emergency,
}

impl LogKind {
    pub const ALL: [LogKind; 5] = [
        LogKind::Looked,
        LogKind::Changed,
        LogKind::Sharing,
        LogKind::Refused,
        LogKind::Emergency,
    ];
    pub fn code(self) -> &'static str {
        match self {
            LogKind::Looked => "looked",
            LogKind::Changed => "changed",
            LogKind::Sharing => "sharing",
            LogKind::Refused => "refused",
            LogKind::Emergency => "emergency",
        }
    }
    pub fn from_code(code: &str) -> Option<LogKind> {
        LogKind::ALL.into_iter().find(|k| k.code() == code)
    }
    /// The condition, on fixed text only.
    fn condition(self) -> &'static str {
        match self {
            LogKind::Looked => "e.action = 'read' AND e.outcome NOT LIKE 'deny%'",
            LogKind::Changed => "e.action = 'write' AND e.outcome NOT LIKE 'deny%'",
            LogKind::Sharing => {
                "e.action IN ('grant', 'revoke', 'approve-request', 'decline-request', 'request-access')"
            }
            LogKind::Refused => "e.outcome LIKE 'deny%'",
            LogKind::Emergency => "(e.action = 'break-glass' OR e.outcome LIKE 'permit:break-glass%')",
        }
    }
}

/// A filter on the access log. Empty means everything.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Leave out what the person did themself.
    pub others_only: bool,
    pub organisation: Option<Uuid>,
    pub kind: Option<LogKind>,
    /// From the start of this instant, up to (not including) `until`.
    pub from: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub offset: i64,
    pub limit: i64,
}

/// One page of the access log, and how many entries match in all.
#[derive(Debug, Clone, Default)]
pub struct LogPage {
    pub entries: Vec<AccessEntry>,
    pub total: i64,
}

/// The person's access log, newest first, filtered: the person's own only. The check the person passes before
/// changing their sharing is left out: the change itself (sharing started or stopped) is the entry they read.
pub async fn access_log(db: &Db, grant: &Grant, filter: &LogFilter) -> Result<std::result::Result<LogPage, Denied>> {
    if !grant.is_owner() {
        return Ok(Err(Denied));
    }
    let mut where_ = String::from(
        "e.person_id = $1 AND NOT (e.outcome = 'permit:owner' AND e.action = 'write' AND e.entity = 'consents') \
         AND e.occurred_at >= $2 AND e.occurred_at < $3",
    );
    if filter.others_only {
        where_.push_str(" AND e.outcome <> 'permit:owner'");
    }
    if let Some(kind) = filter.kind {
        where_.push_str(" AND ");
        where_.push_str(kind.condition());
    }
    where_.push_str(if filter.organisation.is_some() {
        " AND e.organisation_id = $4"
    } else {
        " AND ($4 IS NULL OR $4 IS NOT NULL)"
    });
    let person = grant.person().0;
    let from = DbTime(filter.from.unwrap_or(OffsetDateTime::UNIX_EPOCH));
    let until = DbTime(filter.until.unwrap_or(time::macros::datetime!(9999-12-31 00:00 UTC)));
    let total: i64 = on_db!(db, read, |p| sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM audit_events e WHERE {where_}"
    )))
    .bind(person)
    .bind(from)
    .bind(until)
    .bind(filter.organisation)
    .fetch_one(p)
    .await)?;
    let entries: Vec<AccessEntry> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT e.id, e.organisation_id, e.occurred_at, u.display_name AS actor_name, e.actor_role, \
         o.name AS organisation_name, e.action, e.section, e.entity, e.purpose, e.outcome, a.name AS app_name, \
         e.on_behalf_of AS via FROM audit_events e LEFT JOIN users u ON u.id = e.actor_id \
         LEFT JOIN organisations o ON o.id = e.organisation_id \
         LEFT JOIN smart_clients a ON e.on_behalf_of = 'app:' || a.client_id \
         WHERE {where_} ORDER BY e.occurred_at DESC, e.seq DESC LIMIT $5 OFFSET $6"
    )))
    .bind(person)
    .bind(from)
    .bind(until)
    .bind(filter.organisation)
    .bind(filter.limit)
    .bind(filter.offset)
    .fetch_all(p)
    .await)?;
    Ok(Ok(LogPage { entries, total }))
}

/// The organisations that appear in the person's access log, by name: the choices for filtering it.
pub async fn log_organisations(db: &Db, grant: &Grant) -> Result<std::result::Result<Vec<(Uuid, String)>, Denied>> {
    if !grant.is_owner() {
        return Ok(Err(Denied));
    }
    Ok(Ok(on_db!(db, read, |p| sqlx::query_as(
        "SELECT o.id, o.name FROM organisations o WHERE o.id IN \
         (SELECT DISTINCT organisation_id FROM audit_events WHERE person_id = $1 AND organisation_id IS NOT NULL) \
         ORDER BY o.name"
    )
    .bind(grant.person().0)
    .fetch_all(p)
    .await)?))
}

#[derive(sqlx::FromRow)]
struct StoredRow {
    seq: i64,
    id: Uuid,
    occurred_at: DbTime,
    actor_id: Option<Uuid>,
    actor_role: String,
    organisation_id: Option<Uuid>,
    on_behalf_of: Option<String>,
    person_id: Option<Uuid>,
    action: String,
    section: Option<String>,
    entity: String,
    purpose: String,
    outcome: String,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

impl StoredRow {
    fn into_event(self) -> Event {
        Event {
            id: self.id,
            occurred_at: self.occurred_at.0,
            actor: self.actor_id,
            actor_role: self.actor_role,
            organisation: self.organisation_id,
            on_behalf_of: self.on_behalf_of,
            person: self.person_id,
            action: self.action,
            section: self.section,
            entity: self.entity,
            purpose: self.purpose,
            outcome: self.outcome,
        }
    }
}

/// Every audit event about the person, oldest first: for the person's own export.
pub async fn events_for(db: &Db, grant: &Grant) -> Result<std::result::Result<Vec<Event>, Denied>> {
    if !grant.is_owner() {
        return Ok(Err(Denied));
    }
    let rows: Vec<StoredRow> = on_db!(db, read, |p| {
        sqlx::query_as(
        "SELECT seq, id, occurred_at, actor_id, actor_role, organisation_id, on_behalf_of, person_id, action, section, \
         entity, purpose, outcome, prev_hash, hash FROM audit_events WHERE chain_id = $1 ORDER BY seq"
    )
    .bind(grant.person().0)
    .fetch_all(p)
    .await
    })?;
    Ok(Ok(rows.into_iter().map(StoredRow::into_event).collect()))
}

fn hash32(v: &[u8]) -> [u8; 32] {
    <[u8; 32]>::try_from(v).unwrap_or([0xff; 32])
}

/// How much was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyReport {
    pub chains: usize,
    pub events: usize,
}

/// Checks every chain, returning the first fault found (by chain id order).
pub async fn verify(db: &Db) -> Result<std::result::Result<VerifyReport, ChainFault>> {
    let mut chains: Vec<Uuid> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT chain_id FROM audit_chain_heads UNION SELECT chain_id FROM audit_events"
    )
    .fetch_all(p)
    .await)?;
    chains.sort();
    let mut events = 0;
    for chain in &chains {
        let head: Option<(i64, Vec<u8>)> = on_db!(db, read, |p| sqlx::query_as(
            "SELECT seq, hash FROM audit_chain_heads WHERE chain_id = $1"
        )
        .bind(chain)
        .fetch_optional(p)
        .await)?;
        let rows: Vec<StoredRow> = on_db!(db, read, |p| {
            sqlx::query_as(
            "SELECT seq, id, occurred_at, actor_id, actor_role, organisation_id, on_behalf_of, person_id, action, section, \
             entity, purpose, outcome, prev_hash, hash FROM audit_events WHERE chain_id = $1 ORDER BY seq"
        )
        .bind(chain)
        .fetch_all(p)
        .await
        })?;
        events += rows.len();
        let stored: Vec<(i64, [u8; 32], [u8; 32], Event)> = rows
            .into_iter()
            .map(|r| (r.seq, hash32(&r.prev_hash), hash32(&r.hash), r.into_event()))
            .collect();
        // An event filed under the wrong chain is as bad as an edited one.
        if let Some((seq, _, _, e)) = stored.iter().find(|(_, _, _, e)| e.chain() != *chain) {
            return Ok(Err(ChainFault::BadHash {
                chain: *chain,
                seq: *seq,
                id: e.id,
            }));
        }
        let head = head.map(|(s, h)| (s, hash32(&h)));
        if let Err(fault) = verify_chain(*chain, &stored, head) {
            return Ok(Err(fault));
        }
    }
    Ok(Ok(VerifyReport {
        chains: chains.len(),
        events,
    }))
}
