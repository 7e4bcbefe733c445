//! Audit events and their hash chain.
//!
//! Every access to a person's data, and every decision (including refusals), is an event. Events form one chain
//! per person (and one for events about no person): each event's hash covers its content and the previous event's
//! hash, so editing, deleting or reordering any stored event breaks the chain from that point. Chains per person
//! let many writers append at once and match sharding by person.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

/// The hash before the first event of a chain.
pub const GENESIS: [u8; 32] = [0; 32];

/// The chain for events that concern no particular person (e.g. a refusal for a person who does not exist).
pub const SYSTEM_CHAIN: Uuid = Uuid::nil();

/// One audit event, as stored. Text fields are codes and identifiers, never personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: Uuid,
    pub occurred_at: OffsetDateTime,
    /// The user who acted (none for the system itself).
    pub actor: Option<Uuid>,
    /// The role they acted in, e.g. "professional".
    pub actor_role: String,
    pub organisation: Option<Uuid>,
    /// When an app or a carer acts for someone: who ("app:…", "user:…").
    pub on_behalf_of: Option<String>,
    /// Whose data (none when the person does not exist or it concerns no person).
    pub person: Option<Uuid>,
    /// What was done: "read", "write", "grant", "revoke", "break-glass", "request-access", …
    pub action: String,
    /// Which section of the person's data, if any.
    pub section: Option<String>,
    /// What exactly, e.g. "person-summary", "consent:…".
    pub entity: String,
    /// Why, e.g. "direct-care", "person-access", "emergency".
    pub purpose: String,
    /// "permit:owner", "permit:consent:…", "permit:break-glass:…", "deny:no-consent", …
    pub outcome: String,
}

impl Event {
    pub fn chain(&self) -> Uuid {
        self.person.unwrap_or(SYSTEM_CHAIN)
    }
}

fn field(h: &mut Sha256, bytes: &[u8]) {
    // Length-prefixed, so no two different events encode alike.
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

fn opt_uuid(h: &mut Sha256, u: Option<Uuid>) {
    field(h, u.as_ref().map(|u| u.as_bytes().as_slice()).unwrap_or(&[]));
}

/// The hash of `event` at position `seq` of its chain, following `prev`.
pub fn chain_hash(prev: &[u8; 32], seq: i64, event: &Event) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"carepact-audit-v1");
    h.update(prev);
    h.update(seq.to_be_bytes());
    field(&mut h, event.id.as_bytes());
    let micros = event.occurred_at.unix_timestamp_nanos() / 1_000;
    h.update(micros.to_be_bytes());
    opt_uuid(&mut h, event.actor);
    field(&mut h, event.actor_role.as_bytes());
    opt_uuid(&mut h, event.organisation);
    field(&mut h, event.on_behalf_of.as_deref().unwrap_or("").as_bytes());
    opt_uuid(&mut h, event.person);
    field(&mut h, event.action.as_bytes());
    field(&mut h, event.section.as_deref().unwrap_or("").as_bytes());
    field(&mut h, event.entity.as_bytes());
    field(&mut h, event.purpose.as_bytes());
    field(&mut h, event.outcome.as_bytes());
    h.finalize().into()
}

/// What is wrong with a chain, naming the first bad event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainFault {
    /// Sequence numbers skip or repeat at this position (an event was deleted or inserted).
    Gap {
        chain: Uuid,
        expected_seq: i64,
        found_seq: i64,
    },
    /// This event's stored hash does not match its content and predecessor (edited or reordered).
    BadHash { chain: Uuid, seq: i64, id: Uuid },
    /// The chain is shorter than its recorded head (newest events cut off), or the head does not match.
    Truncated { chain: Uuid, head_seq: i64, last_seq: i64 },
}

/// Checks one chain: `events` in stored order with their stored (seq, prev hash, hash), against the recorded head.
pub fn verify_chain(
    chain: Uuid,
    events: &[(i64, [u8; 32], [u8; 32], Event)],
    head: Option<(i64, [u8; 32])>,
) -> Result<(), ChainFault> {
    let mut prev = GENESIS;
    let mut expected = 1;
    for (seq, stored_prev, stored_hash, event) in events {
        if *seq != expected {
            return Err(ChainFault::Gap {
                chain,
                expected_seq: expected,
                found_seq: *seq,
            });
        }
        if *stored_prev != prev || chain_hash(&prev, *seq, event) != *stored_hash {
            return Err(ChainFault::BadHash {
                chain,
                seq: *seq,
                id: event.id,
            });
        }
        prev = *stored_hash;
        expected += 1;
    }
    let last_seq = expected - 1;
    match head {
        Some((head_seq, head_hash)) if head_seq == last_seq && (last_seq == 0 || head_hash == prev) => Ok(()),
        None if last_seq == 0 => Ok(()),
        Some((head_seq, _)) => Err(ChainFault::Truncated {
            chain,
            head_seq,
            last_seq,
        }),
        None => Err(ChainFault::Truncated {
            chain,
            head_seq: 0,
            last_seq,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn event(n: u8) -> Event {
        Event {
            id: Uuid::from_bytes([n; 16]),
            occurred_at: datetime!(2026-11-23 10:00 UTC),
            actor: Some(Uuid::from_bytes([9; 16])),
            actor_role: "professional".into(),
            organisation: None,
            on_behalf_of: None,
            person: Some(Uuid::from_bytes([7; 16])),
            action: "read".into(),
            section: Some("record".into()),
            entity: "person-summary".into(),
            purpose: "direct-care".into(),
            outcome: "permit:owner".into(),
        }
    }

    fn chain_of(n: u8) -> Vec<(i64, [u8; 32], [u8; 32], Event)> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|i| {
                let e = event(i);
                let h = chain_hash(&prev, i64::from(i), &e);
                let row = (i64::from(i), prev, h, e);
                prev = h;
                row
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies_and_every_kind_of_tampering_is_named() {
        let chain = Uuid::from_bytes([7; 16]);
        let good = chain_of(5);
        let head = Some((5, good[4].2));
        assert_eq!(verify_chain(chain, &good, head), Ok(()));

        let mut edited = good.clone();
        edited[2].3.outcome = "permit:consent:x".into();
        assert_eq!(
            verify_chain(chain, &edited, head),
            Err(ChainFault::BadHash {
                chain,
                seq: 3,
                id: good[2].3.id
            })
        );

        let mut deleted = good.clone();
        deleted.remove(1);
        assert_eq!(
            verify_chain(chain, &deleted, head),
            Err(ChainFault::Gap {
                chain,
                expected_seq: 2,
                found_seq: 3
            })
        );

        let mut swapped = good.clone();
        swapped.swap(1, 2);
        swapped[1].0 = 2;
        swapped[2].0 = 3;
        assert!(matches!(
            verify_chain(chain, &swapped, head),
            Err(ChainFault::BadHash { seq: 2, .. })
        ));

        let cut = &good[..3];
        assert_eq!(
            verify_chain(chain, cut, head),
            Err(ChainFault::Truncated {
                chain,
                head_seq: 5,
                last_seq: 3
            })
        );
        assert_eq!(verify_chain(chain, &[], None), Ok(()));
    }
}
