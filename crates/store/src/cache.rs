//! What access decisions rest on, kept in memory between requests and checked with one read.
//!
//! An audited read asks who the caller is (their API token and account) and what the person has shared (their
//! consents, emergency accesses and account). Loading those takes several queries; they change rarely. The table
//! `access_epoch` holds a counter that triggers move, in the same transaction, whenever any of them changes —
//! whichever process, node or command-line tool makes the change. Each entry here is tagged with the counter read
//! *before* it was loaded, and is used only while the counter still reads the same: so a decision never rests on
//! anything older than the last committed change, and withdrawing consent takes effect on the very next request,
//! exactly as without the cache.
//!
//! The cache is per open store ([`crate::Db`]), bounded, and emptied whole when full.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use crate::{Db, Result, on_db};

/// Most entries of one kind kept; past that the kind is emptied and refilled by use.
const MOST: usize = 200_000;

/// One kind of entry: a key, the counter it was loaded under, and the value.
#[derive(Debug)]
pub(crate) struct Kept<K, V> {
    entries: Mutex<HashMap<K, (i64, V)>>,
}

impl<K: Eq + Hash, V: Clone> Kept<K, V> {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value kept for `key` when it was loaded under `epoch`.
    pub(crate) fn get(&self, key: &K, epoch: Option<i64>) -> Option<V> {
        let epoch = epoch?;
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(key).filter(|(e, _)| *e == epoch).map(|(_, v)| v.clone())
    }

    pub(crate) fn put(&self, key: K, epoch: Option<i64>, value: V) {
        let Some(epoch) = epoch else {
            return;
        };
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MOST {
            entries.clear();
        }
        entries.insert(key, (epoch, value));
    }
}

/// The kinds kept.
#[derive(Debug)]
pub struct Cache {
    /// A person's owner, consents and emergency accesses, by person id.
    pub(crate) facts: Kept<uuid::Uuid, Arc<crate::access::Facts>>,
    /// A live API token and its holder, by the token's hash.
    pub(crate) tokens: Kept<Vec<u8>, crate::api_tokens::Holder>,
}

impl Cache {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            facts: Kept::new(),
            tokens: Kept::new(),
        })
    }
}

/// The counter now. Read it before loading anything to keep, and tag what is kept with it. `None` (nothing is
/// kept or used) only if the counter's row were missing.
pub(crate) async fn epoch(db: &Db) -> Result<Option<i64>> {
    let n: Option<i64> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT n FROM access_epoch WHERE id = 1"
    )
    .fetch_optional(p)
    .await)?;
    Ok(n)
}
