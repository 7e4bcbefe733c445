//! The personalised care and support plan (after the PRSB standard): what it holds, how it is checked, when it
//! counts as agreed, and how two versions differ.
//!
//! A plan is a document ([`PlanDoc`]) kept as numbered versions; every edit makes a new one. It is *agreed* when
//! the person and a professional have both agreed the same version; later versions are "changes since agreed".
//! Comparison flattens each version into labelled fields ([`fields`]) and lines them up by key, with a word-level
//! difference for each changed field ([`word_diff`]).

use crate::readings::{AlertRule, Comparison, Milli, Target};
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

/// Longest text in any one plan field.
pub const MAX_TEXT: usize = 4000;
/// Most goals, actions or supporters in a plan.
pub const MAX_ITEMS: usize = 50;

/// The whole plan, as one version holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanDoc {
    pub about_me: String,
    pub what_matters: String,
    pub goals: Vec<Goal>,
    pub actions: Vec<PlanAction>,
    pub support_network: Vec<Supporter>,
    /// "My health and readings targets", in words.
    pub targets: String,
    /// Target ranges agreed per measure, shaded on the person's charts.
    pub reading_targets: Vec<Target>,
    /// Alert rules agreed per measure, checked on every new reading.
    pub alert_rules: Vec<AlertRule>,
    /// "My medicines", in the person's words: how they take them and what helps.
    pub medicines: String,
    pub contingency: Contingency,
    pub review_date: Option<Date>,
}

/// A goal in the person's own words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Goal {
    pub id: Uuid,
    pub text: String,
    pub steps: String,
    pub target_date: Option<Date>,
}

/// Who does an action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionOwner {
    #[default]
    Person,
    Carer,
    Professional,
    CommunityService,
}

impl ActionOwner {
    pub const ALL: [Self; 4] = [Self::Person, Self::Carer, Self::Professional, Self::CommunityService];
    pub fn code(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Carer => "carer",
            Self::Professional => "professional",
            Self::CommunityService => "community_service",
        }
    }
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.code() == code)
    }
}

/// Where an action has got to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    #[default]
    NotStarted,
    InProgress,
    Done,
    Stopped,
}

impl ActionStatus {
    pub const ALL: [Self; 4] = [Self::NotStarted, Self::InProgress, Self::Done, Self::Stopped];
    pub fn code(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::InProgress => "in_progress",
            Self::Done => "done",
            Self::Stopped => "stopped",
        }
    }
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// Who does what by when.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanAction {
    pub id: Uuid,
    pub what: String,
    pub owner: ActionOwner,
    /// The name of whoever does it ("Dr Patel", "Northfield Walking Group").
    pub who: String,
    pub by: Option<Date>,
    pub status: ActionStatus,
    /// The goal it serves, if any.
    pub goal: Option<Uuid>,
}

/// Someone in the person's support network: family, friends, groups, services.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Supporter {
    pub id: Uuid,
    pub name: String,
    /// "Son", "Walking group", "Citizens Advice".
    pub relationship: String,
    pub contact: String,
}

/// What to do if things get worse.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Contingency {
    pub signs: String,
    pub what_i_do: String,
    pub who_to_call: String,
    pub out_of_hours: String,
}

/// What is wrong with a plan, by field (for the form's error summary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanProblem {
    pub field: &'static str,
    pub problem: &'static str,
}

fn too_long(text: &str) -> bool {
    text.chars().count() > MAX_TEXT
}

impl PlanDoc {
    /// Every field within its limits, every goal and action with words, no more than [`MAX_ITEMS`] of anything.
    pub fn check(&self) -> Vec<PlanProblem> {
        let mut out = Vec::new();
        let mut long = |field: &'static str, text: &str| {
            if too_long(text) {
                out.push(PlanProblem { field, problem: "long" });
            }
        };
        long("about_me", &self.about_me);
        long("what_matters", &self.what_matters);
        long("targets", &self.targets);
        long("medicines", &self.medicines);
        long("signs", &self.contingency.signs);
        long("what_i_do", &self.contingency.what_i_do);
        long("who_to_call", &self.contingency.who_to_call);
        long("out_of_hours", &self.contingency.out_of_hours);
        for g in &self.goals {
            long("goal", &g.text);
            long("steps", &g.steps);
        }
        for a in &self.actions {
            long("what", &a.what);
            long("who", &a.who);
        }
        for s in &self.support_network {
            long("name", &s.name);
            long("relationship", &s.relationship);
            long("contact", &s.contact);
        }
        if self.goals.iter().any(|g| g.text.trim().is_empty()) {
            out.push(PlanProblem {
                field: "goal",
                problem: "empty",
            });
        }
        if self.actions.iter().any(|a| a.what.trim().is_empty()) {
            out.push(PlanProblem {
                field: "what",
                problem: "empty",
            });
        }
        if self.support_network.iter().any(|s| s.name.trim().is_empty()) {
            out.push(PlanProblem {
                field: "name",
                problem: "empty",
            });
        }
        for (field, n) in [
            ("goal", self.goals.len()),
            ("what", self.actions.len()),
            ("name", self.support_network.len()),
        ] {
            if n > MAX_ITEMS {
                out.push(PlanProblem {
                    field,
                    problem: "too_many",
                });
            }
        }
        out
    }

    /// True when nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        *self == PlanDoc::default()
    }
}

/// A goal-attainment rating (Goal Attainment Scaling): −2 much less than expected … +2 much more than expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Attainment(i8);

impl Attainment {
    pub fn new(value: i8) -> Option<Self> {
        (-2..=2).contains(&value).then_some(Self(value))
    }
    pub fn value(self) -> i8 {
        self.0
    }
}

/// Where the plan stands between the two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// Nobody has agreed a version with the other side yet.
    NotAgreed,
    /// The latest version is agreed by both.
    Agreed { version: i64 },
    /// An earlier version was agreed by both; it has been changed since.
    ChangedSinceAgreed { agreed: i64 },
}

/// Who agreed a version, on which side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Person,
    Professional,
}

impl Side {
    pub fn code(self) -> &'static str {
        match self {
            Side::Person => "person",
            Side::Professional => "professional",
        }
    }
}

/// The plan's standing, from its latest version and every (version, side) agreement given.
pub fn agreement(latest: i64, agreements: &[(i64, Side)]) -> Agreement {
    let both = |v: i64| agreements.contains(&(v, Side::Person)) && agreements.contains(&(v, Side::Professional));
    match agreements.iter().map(|(v, _)| *v).filter(|v| both(*v)).max() {
        Some(v) if v == latest => Agreement::Agreed { version: v },
        Some(v) => Agreement::ChangedSinceAgreed { agreed: v },
        None => Agreement::NotAgreed,
    }
}

/// True when the review date has passed.
pub fn review_overdue(review: Option<Date>, today: Date) -> bool {
    review.is_some_and(|d| d < today)
}

/// One labelled field of a version, for comparing: `key` lines fields up across versions, `section` and `field`
/// name them (message-id codes), `item` is the goal, action or supporter it belongs to (empty for the plan's own
/// fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub key: String,
    pub section: &'static str,
    pub field: &'static str,
    pub value: String,
}

fn date_text(d: Option<Date>) -> String {
    d.map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
        .unwrap_or_default()
}

/// A target range in symbols, for comparing versions: "blood-pressure systolic 100–135 mmHg".
fn target_text(t: &Target) -> String {
    let c = t.measure.component(&t.component);
    let (decimals, unit) = c.map_or((1, ""), |c| (c.decimals, c.unit));
    let end = |v: Option<Milli>| v.map(|v| v.format(decimals)).unwrap_or_default();
    format!(
        "{} {} {}–{} {unit}",
        t.measure.code(),
        t.component,
        end(t.low),
        end(t.high)
    )
}

/// A rule in symbols, for comparing versions: "blood-pressure systolic > 160 mmHg ×2 in 7 days → named-contact".
fn rule_text(r: &AlertRule) -> String {
    let c = r.watched();
    let (decimals, unit) = c.map_or((1, ""), |c| (c.decimals, c.unit));
    let sign = match r.comparison {
        Comparison::Above => ">",
        Comparison::Below => "<",
    };
    let count = if r.times > 1 {
        format!(" ×{} in {} days", r.times, r.within_days)
    } else {
        String::new()
    };
    let urgent = if r.urgent { " !" } else { "" };
    format!(
        "{} {} {sign} {} {unit}{count} → {}{urgent}; {} h",
        r.measure.code(),
        r.component,
        r.threshold.format(decimals),
        r.tell.code(),
        r.escalate_after_hours
    )
}

/// Every field of a plan in reading order.
pub fn fields(doc: &PlanDoc) -> Vec<Field> {
    let mut out = Vec::new();
    let mut push = |key: String, section: &'static str, field: &'static str, value: String| {
        out.push(Field {
            key,
            section,
            field,
            value,
        })
    };
    push("about_me".into(), "about", "about_me", doc.about_me.clone());
    push("what_matters".into(), "about", "what_matters", doc.what_matters.clone());
    for g in &doc.goals {
        push(format!("goal:{}:text", g.id), "goals", "goal", g.text.clone());
        push(format!("goal:{}:steps", g.id), "goals", "steps", g.steps.clone());
        push(
            format!("goal:{}:target", g.id),
            "goals",
            "target_date",
            date_text(g.target_date),
        );
    }
    for a in &doc.actions {
        push(format!("action:{}:what", a.id), "actions", "what", a.what.clone());
        push(
            format!("action:{}:owner", a.id),
            "actions",
            "owner",
            a.owner.code().into(),
        );
        push(format!("action:{}:who", a.id), "actions", "who", a.who.clone());
        push(format!("action:{}:by", a.id), "actions", "by", date_text(a.by));
        push(
            format!("action:{}:status", a.id),
            "actions",
            "status",
            a.status.code().into(),
        );
    }
    for s in &doc.support_network {
        push(format!("supporter:{}:name", s.id), "network", "name", s.name.clone());
        push(
            format!("supporter:{}:relationship", s.id),
            "network",
            "relationship",
            s.relationship.clone(),
        );
        push(
            format!("supporter:{}:contact", s.id),
            "network",
            "contact",
            s.contact.clone(),
        );
    }
    push("targets".into(), "targets", "targets", doc.targets.clone());
    for t in &doc.reading_targets {
        push(format!("target:{}", t.id), "targets", "target", target_text(t));
    }
    for r in &doc.alert_rules {
        push(format!("rule:{}:when", r.id), "targets", "rule", rule_text(r));
        push(format!("rule:{}:advice", r.id), "targets", "advice", r.advice.clone());
    }
    push("medicines".into(), "medicines", "medicines", doc.medicines.clone());
    let c = &doc.contingency;
    push("signs".into(), "contingency", "signs", c.signs.clone());
    push("what_i_do".into(), "contingency", "what_i_do", c.what_i_do.clone());
    push(
        "who_to_call".into(),
        "contingency",
        "who_to_call",
        c.who_to_call.clone(),
    );
    push(
        "out_of_hours".into(),
        "contingency",
        "out_of_hours",
        c.out_of_hours.clone(),
    );
    push(
        "review_date".into(),
        "review",
        "review_date",
        date_text(doc.review_date),
    );
    out
}

/// One row of a comparison: the field in the older and the newer version (empty where it is absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compared {
    pub section: &'static str,
    pub field: &'static str,
    pub old: String,
    pub new: String,
}

impl Compared {
    pub fn changed(&self) -> bool {
        self.old != self.new
    }
}

/// Lines up two versions field by field: the newer version's order, with fields only the older one had (removed
/// goals, actions, supporters) after the last field of their section. Fields empty in both are left out.
pub fn compare(old: &PlanDoc, new: &PlanDoc) -> Vec<Compared> {
    let before = fields(old);
    let after = fields(new);
    let mut rows: Vec<(String, Compared)> = after
        .iter()
        .map(|f| {
            let old = before
                .iter()
                .find(|b| b.key == f.key)
                .map(|b| b.value.clone())
                .unwrap_or_default();
            (
                f.key.clone(),
                Compared {
                    section: f.section,
                    field: f.field,
                    old,
                    new: f.value.clone(),
                },
            )
        })
        .collect();
    for gone in before.iter().filter(|b| !after.iter().any(|a| a.key == b.key)) {
        let at = rows
            .iter()
            .rposition(|(_, r)| r.section == gone.section)
            .map(|i| i + 1)
            .unwrap_or(rows.len());
        rows.insert(
            at,
            (
                gone.key.clone(),
                Compared {
                    section: gone.section,
                    field: gone.field,
                    old: gone.value.clone(),
                    new: String::new(),
                },
            ),
        );
    }
    rows.into_iter()
        .map(|(_, r)| r)
        .filter(|r| !(r.old.is_empty() && r.new.is_empty()))
        .collect()
}

/// A run of words in a word-level difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Same(String),
    Removed(String),
    Added(String),
}

/// The words of `old` and `new` as runs kept, removed and added (longest common subsequence of words, spacing
/// kept with each word). Long texts fall back to "all removed, all added" to bound the work.
pub fn word_diff(old: &str, new: &str) -> Vec<Piece> {
    // Words and the spaces between them are separate tokens, so both texts rebuild exactly.
    fn words(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut start = 0;
        let mut space = None;
        for (i, ch) in text.char_indices() {
            let is_space = ch.is_whitespace();
            if space.is_some_and(|s| s != is_space) {
                out.push(&text[start..i]);
                start = i;
            }
            space = Some(is_space);
        }
        if start < text.len() {
            out.push(&text[start..]);
        }
        out
    }
    let (a, b) = (words(old), words(new));
    let mut pieces: Vec<Piece> = Vec::new();
    let mut push = |piece: Piece| {
        let merged = match (pieces.last_mut(), &piece) {
            (Some(Piece::Same(t)), Piece::Same(s))
            | (Some(Piece::Removed(t)), Piece::Removed(s))
            | (Some(Piece::Added(t)), Piece::Added(s)) => {
                t.push_str(s);
                true
            }
            _ => false,
        };
        if !merged {
            pieces.push(piece);
        }
    };
    if a.len().saturating_mul(b.len()) > 250_000 {
        if !old.is_empty() {
            push(Piece::Removed(old.to_owned()));
        }
        if !new.is_empty() {
            push(Piece::Added(new.to_owned()));
        }
        return pieces;
    }
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let same = |x: &str, y: &str| x == y;
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if same(a[i], b[j]) {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if same(a[i], b[j]) {
            push(Piece::Same(b[j].to_owned()));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            push(Piece::Removed(a[i].to_owned()));
            i += 1;
        } else {
            push(Piece::Added(b[j].to_owned()));
            j += 1;
        }
    }
    a[i..].iter().for_each(|w| push(Piece::Removed((*w).to_owned())));
    b[j..].iter().for_each(|w| push(Piece::Added((*w).to_owned())));
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn agreed_needs_both_sides_on_the_same_version() {
        use Side::*;
        assert_eq!(agreement(1, &[]), Agreement::NotAgreed);
        assert_eq!(agreement(2, &[(1, Person), (2, Professional)]), Agreement::NotAgreed);
        assert_eq!(
            agreement(2, &[(2, Person), (2, Professional)]),
            Agreement::Agreed { version: 2 }
        );
        assert_eq!(
            agreement(4, &[(2, Person), (2, Professional), (4, Person)]),
            Agreement::ChangedSinceAgreed { agreed: 2 }
        );
    }

    #[test]
    fn attainment_is_minus_two_to_plus_two() {
        assert!(Attainment::new(-2).is_some() && Attainment::new(2).is_some());
        assert!(Attainment::new(3).is_none() && Attainment::new(-3).is_none());
    }

    #[test]
    fn a_changed_goal_and_a_removed_action_show_in_the_comparison() {
        let goal = Uuid::from_u128(1);
        let action = Uuid::from_u128(2);
        let old = PlanDoc {
            goals: vec![Goal {
                id: goal,
                text: "Walk to the park".into(),
                ..Default::default()
            }],
            actions: vec![PlanAction {
                id: action,
                what: "Book a review".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut new = old.clone();
        new.goals[0].text = "Walk to the park and back".into();
        new.actions.clear();
        new.contingency.signs = "Breathless at rest".into();
        let rows = compare(&old, &new);
        let changed: Vec<(&str, &str, &str)> = rows
            .iter()
            .filter(|r| r.changed())
            .map(|r| (r.field, r.old.as_str(), r.new.as_str()))
            .collect();
        assert!(changed.contains(&("goal", "Walk to the park", "Walk to the park and back")));
        assert!(changed.contains(&("what", "Book a review", "")));
        assert!(changed.contains(&("signs", "", "Breathless at rest")));
        // Unchanged fields are there too, for reading side by side; fields empty in both are not.
        assert!(rows.iter().any(|r| r.field == "goal" || r.field == "target_date"));
        assert!(!rows.iter().any(|r| r.field == "about_me"));
    }

    #[test]
    fn word_diff_marks_the_words_that_changed() {
        assert_eq!(
            word_diff("walk to the park", "walk to the big park"),
            vec![
                Piece::Same("walk to the ".into()),
                Piece::Added("big ".into()),
                Piece::Same("park".into())
            ]
        );
        assert_eq!(word_diff("", "new"), vec![Piece::Added("new".into())]);
    }

    #[test]
    fn checks_name_the_field() {
        let doc = PlanDoc {
            goals: vec![Goal::default()],
            about_me: "x".repeat(MAX_TEXT + 1),
            ..Default::default()
        };
        let problems = doc.check();
        assert!(problems.contains(&PlanProblem {
            field: "goal",
            problem: "empty"
        }));
        assert!(problems.contains(&PlanProblem {
            field: "about_me",
            problem: "long"
        }));
    }

    proptest! {
        // Keeping the "same" and "removed" pieces gives the old text; "same" and "added" give the new one.
        #[test]
        fn word_diff_rebuilds_both_texts(old in "[a-c ]{0,40}", new in "[a-c ]{0,40}") {
            let pieces = word_diff(&old, &new);
            let rebuilt_old: String = pieces.iter().filter_map(|p| match p {
                Piece::Same(t) | Piece::Removed(t) => Some(t.as_str()), Piece::Added(_) => None }).collect();
            let rebuilt_new: String = pieces.iter().filter_map(|p| match p {
                Piece::Same(t) | Piece::Added(t) => Some(t.as_str()), Piece::Removed(_) => None }).collect();
            prop_assert_eq!(rebuilt_old, old);
            prop_assert_eq!(rebuilt_new, new);
        }
    }
}
