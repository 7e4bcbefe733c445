//! Questionnaires: what a form asks (items, answer options, when an item is shown), how a submitted form becomes
//! typed answers, and how the validated instruments CarePact ships are scored (PHQ-9, GAD-7, ONS4, CollaboRATE,
//! SEMCD-6).
//!
//! The model is a flat list of items, the part of a FHIR R4 Questionnaire that CarePact uses; the FHIR adapter
//! (`carepact_fhir::questionnaire`) reads and writes it. An item is shown ("enabled") by FHIR's `enableWhen` rules,
//! and an answer to an item that is not enabled never counts: it does not enable other items, it is not kept and it
//! is not scored. Scores are held in tenths so that a mean keeps its one decimal and stays an integer.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Typed answers, by item link id. One answer per item: CarePact's questionnaires have no repeating items.
pub type Answers = BTreeMap<String, AnswerValue>;

/// A questionnaire definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Questionnaire {
    /// The canonical URL that identifies the definition (and that responses point back to).
    pub url: String,
    /// The definition's version; empty when it has none.
    pub version: String,
    pub title: String,
    /// What the questionnaire is for, in plain words; empty when there is none.
    pub description: String,
    /// The items in the order they are shown.
    pub items: Vec<Item>,
    /// The built-in instrument this definition is, which says how it is scored.
    pub instrument: Option<Instrument>,
}

impl Questionnaire {
    /// The item with this link id.
    pub fn item(&self, link_id: &str) -> Option<&Item> {
        self.items.iter().find(|item| item.link_id == link_id)
    }
}

/// One question, or one piece of text shown between questions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Unique within the questionnaire; the key of the item's answer and of its form field.
    pub link_id: String,
    pub text: String,
    pub kind: ItemKind,
    /// Whether an answer is needed when the item is enabled.
    pub required: bool,
    /// Conditions for showing the item; none means it is always shown.
    pub enable_when: Vec<EnableWhen>,
    /// `true`: every condition must hold (FHIR `enableBehavior` "all", the default); `false`: any one is enough.
    pub enable_all: bool,
}

/// What kind of answer an item takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ItemKind {
    /// Text only: never answered.
    Display,
    /// One of a list of options; the answer is the option's code ([`AnswerValue::Code`]).
    Choice { options: Vec<AnswerOption> },
    /// A whole number, within the limits when they are given.
    Integer { min: Option<i64>, max: Option<i64> },
    /// A number with decimals, within the limits when they are given.
    Decimal { min: Option<f64>, max: Option<f64> },
    /// Free text.
    String,
    /// Yes or no.
    Boolean,
}

impl ItemKind {
    /// Whether items of this kind take an answer (everything but display text).
    pub fn is_question(&self) -> bool {
        !matches!(self, ItemKind::Display)
    }

    /// Whether a typed value is a valid answer to a question of this kind: of its type, one of its options, within
    /// its limits. Display items accept nothing.
    pub fn accepts(&self, value: &AnswerValue) -> Result<(), ItemProblem> {
        fits(self, value)
    }
}

/// One option of a choice item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerOption {
    /// Unique within its item: what a form submits and what [`AnswerValue::Code`] holds.
    pub code: String,
    /// The code system of a coded option. `None` for an option that is a plain value: a whole number (FHIR
    /// `valueInteger`) when `code` is one, else text (FHIR `valueString`).
    pub system: Option<String>,
    /// What the person reads.
    pub display: String,
    /// The option's value when the questionnaire is scored (FHIR ordinal value), if it has one.
    pub score: Option<i64>,
}

/// One condition for showing an item: how the answer to another question compares with a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnableWhen {
    /// The link id of the question whose answer is looked at.
    pub question: String,
    pub operator: Operator,
    /// The value compared with; for [`Operator::Exists`], `Boolean(true)` means "is answered" and `Boolean(false)`
    /// "is not answered".
    pub answer: AnswerValue,
}

/// How an enableWhen condition compares (FHIR `QuestionnaireItemOperator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// Whether the question is answered equals the condition's Boolean.
    Exists,
    /// The answer equals the value.
    Eq,
    /// The question has no answer equal to the value (so an unanswered question satisfies it).
    Ne,
    /// The answer is a number greater than the value.
    Gt,
    /// The answer is a number less than the value.
    Lt,
    /// The answer is a number greater than or equal to the value.
    Ge,
    /// The answer is a number less than or equal to the value.
    Le,
}

/// One typed answer (or the value in an enableWhen condition).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerValue {
    /// The code of a choice item's option.
    Code(String),
    Integer(i64),
    /// Always finite.
    Decimal(f64),
    String(String),
    Boolean(bool),
}

impl AnswerValue {
    /// The answer as a number, when it is one.
    fn number(&self) -> Option<f64> {
        match self {
            AnswerValue::Integer(n) => Some(*n as f64),
            AnswerValue::Decimal(x) => Some(*x),
            _ => None,
        }
    }
}

/// Why one item's answer cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemError {
    pub link_id: String,
    pub problem: ItemProblem,
}

/// What is wrong with an answer. Each variant names its message id in the catalogue ([`ItemProblem::message_id`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum ItemProblem {
    #[error("the question needs an answer")]
    Required,
    #[error("the answer is not a number (or not a whole number where one is needed)")]
    NotANumber,
    /// The lowest answer allowed, written as the person would type it.
    #[error("the answer is below {0}")]
    TooLow(String),
    /// The highest answer allowed, written as the person would type it.
    #[error("the answer is above {0}")]
    TooHigh(String),
    #[error("the answer is not one of the options")]
    UnknownOption,
}

impl ItemProblem {
    /// The catalogue message explaining the problem. `TooLow` and `TooHigh` take the limit as `$limit`.
    pub fn message_id(&self) -> &'static str {
        match self {
            Self::Required => "questionnaire-error-required",
            Self::NotANumber => "questionnaire-error-number",
            Self::TooLow(_) => "questionnaire-error-too-low",
            Self::TooHigh(_) => "questionnaire-error-too-high",
            Self::UnknownOption => "questionnaire-error-option",
        }
    }

    /// The limit the message names (its `$limit` argument), for `TooLow` and `TooHigh`.
    pub fn limit(&self) -> Option<&str> {
        match self {
            Self::TooLow(limit) | Self::TooHigh(limit) => Some(limit),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Enablement
// ---------------------------------------------------------------------------------------------------------------

/// Whether the item is shown, given the answers so far, by FHIR's enableWhen rules: an item without conditions is
/// always enabled; otherwise all (or, with `enable_all` false, any) of its conditions must hold. An answer to a
/// question that is itself not enabled counts as no answer. Unknown link ids are not enabled, and neither is an
/// item whose conditions loop back to it, directly or through other items (the FHIR adapter refuses such loops).
pub fn enabled(q: &Questionnaire, answers: &Answers, link_id: &str) -> bool {
    Enablement::new(q, answers).enabled(link_id)
}

/// Works out enablement for one set of answers, remembering each item's result so that every condition is looked
/// at once however the conditions are chained.
struct Enablement<'q, 'a> {
    q: &'q Questionnaire,
    answers: &'a Answers,
    known: BTreeMap<&'q str, Known>,
}

#[derive(Clone, Copy)]
enum Known {
    /// Being worked out further up: meeting it again means the conditions loop.
    Visiting,
    Enabled(bool),
}

/// The conditions of an item loop back to it.
struct Loop;

impl<'q, 'a> Enablement<'q, 'a> {
    fn new(q: &'q Questionnaire, answers: &'a Answers) -> Self {
        Enablement {
            q,
            answers,
            known: BTreeMap::new(),
        }
    }

    fn enabled(&mut self, link_id: &str) -> bool {
        self.q
            .item(link_id)
            .is_some_and(|item| self.item(item).unwrap_or(false))
    }

    fn item(&mut self, item: &'q Item) -> Result<bool, Loop> {
        match self.known.get(item.link_id.as_str()) {
            Some(Known::Enabled(on)) => return Ok(*on),
            Some(Known::Visiting) => return Err(Loop),
            None => {}
        }
        if item.enable_when.is_empty() {
            return Ok(true);
        }
        // An item left as Visiting after a loop stays a loop for every later question about it.
        self.known.insert(&item.link_id, Known::Visiting);
        let mut results = Vec::with_capacity(item.enable_when.len());
        for condition in &item.enable_when {
            results.push(self.holds(condition)?);
        }
        let on = if item.enable_all {
            results.iter().all(|holds| *holds)
        } else {
            results.iter().any(|holds| *holds)
        };
        self.known.insert(&item.link_id, Known::Enabled(on));
        Ok(on)
    }

    fn holds(&mut self, condition: &'q EnableWhen) -> Result<bool, Loop> {
        let answer = match self.q.item(&condition.question) {
            Some(question) if question.kind.is_question() && self.item(question)? => {
                self.answers.get(&question.link_id)
            }
            _ => None,
        };
        let target = &condition.answer;
        let ordered = |wanted: &[Ordering]| {
            answer
                .and_then(|a| compare_numbers(a, target))
                .is_some_and(|order| wanted.contains(&order))
        };
        Ok(match condition.operator {
            Operator::Exists => match target {
                AnswerValue::Boolean(wanted) => answer.is_some() == *wanted,
                _ => false,
            },
            Operator::Eq => answer.is_some_and(|a| same(a, target)),
            Operator::Ne => !answer.is_some_and(|a| same(a, target)),
            Operator::Gt => ordered(&[Ordering::Greater]),
            Operator::Lt => ordered(&[Ordering::Less]),
            Operator::Ge => ordered(&[Ordering::Greater, Ordering::Equal]),
            Operator::Le => ordered(&[Ordering::Less, Ordering::Equal]),
        })
    }
}

/// How two numbers compare; nothing when either is not a number.
fn compare_numbers(a: &AnswerValue, b: &AnswerValue) -> Option<Ordering> {
    match (a, b) {
        (AnswerValue::Integer(a), AnswerValue::Integer(b)) => Some(a.cmp(b)),
        _ => a.number()?.partial_cmp(&b.number()?),
    }
}

/// Whether two values are equal; a whole number equals the same decimal.
fn same(a: &AnswerValue, b: &AnswerValue) -> bool {
    match (a, b) {
        (AnswerValue::Code(a), AnswerValue::Code(b)) | (AnswerValue::String(a), AnswerValue::String(b)) => a == b,
        (AnswerValue::Boolean(a), AnswerValue::Boolean(b)) => a == b,
        _ => compare_numbers(a, b) == Some(Ordering::Equal),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Reading and checking answers
// ---------------------------------------------------------------------------------------------------------------

/// Turns a submitted HTML form (field name = item link id) into typed answers.
///
/// A choice submits the option's code, a yes/no question `"true"` or `"false"`, numbers as typed; an empty (or
/// blank) field is no answer. Fields that are not questions of `q` are ignored (the CSRF token, display items).
/// Answers to items that are not enabled are dropped without being checked. Every enabled question with an
/// unreadable or out-of-range answer, or required and unanswered, gives one error, in the questionnaire's order.
pub fn read_form(q: &Questionnaire, form: &BTreeMap<String, String>) -> Result<Answers, Vec<ItemError>> {
    let mut answers = Answers::new();
    let mut unreadable = BTreeMap::new();
    for item in &q.items {
        let Some(text) = form.get(&item.link_id).map(|t| t.trim()).filter(|t| !t.is_empty()) else {
            continue;
        };
        if !item.kind.is_question() {
            continue;
        }
        match read_value(&item.kind, text) {
            Ok(value) => {
                answers.insert(item.link_id.clone(), value);
            }
            Err(problem) => {
                unreadable.insert(item.link_id.as_str(), problem);
            }
        }
    }
    settle(q, &answers, unreadable)
}

/// Checks typed answers (from the FHIR API, say) against the questionnaire: each must fit its item (type, option,
/// limits) and every required enabled question must be answered. Returns the answers that count: those to enabled
/// questions of `q`. Answers to unknown link ids, display items and items that are not enabled are left out, and
/// blank text counts as no answer.
pub fn check(q: &Questionnaire, answers: &Answers) -> Result<Answers, Vec<ItemError>> {
    let mut fitting = Answers::new();
    let mut unfit = BTreeMap::new();
    for item in q.items.iter().filter(|item| item.kind.is_question()) {
        match answers.get(&item.link_id) {
            Some(AnswerValue::String(text)) if text.trim().is_empty() => {}
            Some(value) => match fits(&item.kind, value) {
                Ok(()) => {
                    fitting.insert(item.link_id.clone(), value.clone());
                }
                Err(problem) => {
                    unfit.insert(item.link_id.as_str(), problem);
                }
            },
            None => {}
        }
    }
    settle(q, &fitting, unfit)
}

/// Keeps the answers of enabled questions and reports the problems of enabled questions, in item order. `answers`
/// hold only values that fit their items; `unreadable` the problems of the others, which count as unanswered.
fn settle(
    q: &Questionnaire,
    answers: &Answers,
    mut unreadable: BTreeMap<&str, ItemProblem>,
) -> Result<Answers, Vec<ItemError>> {
    let mut enablement = Enablement::new(q, answers);
    let mut kept = Answers::new();
    let mut errors = Vec::new();
    for item in q.items.iter().filter(|item| item.kind.is_question()) {
        if !enablement.enabled(&item.link_id) {
            continue;
        }
        let problem = match (unreadable.remove(item.link_id.as_str()), answers.get(&item.link_id)) {
            (Some(problem), _) => Some(problem),
            (None, Some(value)) => {
                kept.insert(item.link_id.clone(), value.clone());
                None
            }
            (None, None) => item.required.then_some(ItemProblem::Required),
        };
        if let Some(problem) = problem {
            errors.push(ItemError {
                link_id: item.link_id.clone(),
                problem,
            });
        }
    }
    if errors.is_empty() { Ok(kept) } else { Err(errors) }
}

/// Reads one non-blank form field as an answer to a question of this kind.
fn read_value(kind: &ItemKind, text: &str) -> Result<AnswerValue, ItemProblem> {
    let value = match kind {
        ItemKind::Choice { .. } | ItemKind::Display => AnswerValue::Code(text.to_owned()),
        ItemKind::Integer { .. } => AnswerValue::Integer(text.parse().map_err(|_| ItemProblem::NotANumber)?),
        ItemKind::Decimal { .. } => AnswerValue::Decimal(decimal(text).ok_or(ItemProblem::NotANumber)?),
        ItemKind::String => AnswerValue::String(text.to_owned()),
        ItemKind::Boolean => match text {
            "true" => AnswerValue::Boolean(true),
            "false" => AnswerValue::Boolean(false),
            _ => return Err(ItemProblem::UnknownOption),
        },
    };
    fits(kind, &value)?;
    Ok(value)
}

/// A decimal number as people type it: an optional sign, digits, and at most one decimal point (no exponents, no
/// "inf" or "NaN", which Rust's own parser would accept).
fn decimal(text: &str) -> Option<f64> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let well_formed =
        !(whole.is_empty() && fraction.is_empty()) && whole.chars().chain(fraction.chars()).all(|c| c.is_ascii_digit());
    well_formed
        .then(|| text.parse::<f64>().ok())
        .flatten()
        .filter(|x| x.is_finite())
}

/// Whether a typed value is a valid answer to a question of this kind. A value of the wrong type is "not a
/// number" for numeric questions and "not one of the options" for the others.
fn fits(kind: &ItemKind, value: &AnswerValue) -> Result<(), ItemProblem> {
    match (kind, value) {
        (ItemKind::Choice { options }, AnswerValue::Code(code)) => options
            .iter()
            .any(|option| option.code == *code)
            .then_some(())
            .ok_or(ItemProblem::UnknownOption),
        (ItemKind::Integer { min, max }, AnswerValue::Integer(n)) => within(*n, *min, *max),
        (ItemKind::Decimal { min, max }, AnswerValue::Decimal(x)) if x.is_finite() => within(*x, *min, *max),
        (ItemKind::Integer { .. } | ItemKind::Decimal { .. }, _) => Err(ItemProblem::NotANumber),
        (ItemKind::String, AnswerValue::String(_)) | (ItemKind::Boolean, AnswerValue::Boolean(_)) => Ok(()),
        _ => Err(ItemProblem::UnknownOption),
    }
}

fn within<T: PartialOrd + ToString>(value: T, min: Option<T>, max: Option<T>) -> Result<(), ItemProblem> {
    match (min, max) {
        (Some(min), _) if value < min => Err(ItemProblem::TooLow(min.to_string())),
        (_, Some(max)) if value > max => Err(ItemProblem::TooHigh(max.to_string())),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Instruments and their scores
// ---------------------------------------------------------------------------------------------------------------

/// The validated, free-to-use instruments CarePact ships, each with its built-in definition and scoring rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Instrument {
    /// Patient Health Questionnaire, depression (nine items 0–3).
    #[serde(rename = "phq-9")]
    Phq9,
    /// Generalised Anxiety Disorder assessment (seven items 0–3).
    #[serde(rename = "gad-7")]
    Gad7,
    /// The ONS four personal wellbeing questions (each 0–10, never summed).
    #[serde(rename = "ons4")]
    Ons4,
    /// CollaboRATE, shared decision-making after a consultation (three items 0–9).
    #[serde(rename = "collaborate")]
    Collaborate,
    /// Self-Efficacy for Managing Chronic Disease, 6 items (each 1–10).
    #[serde(rename = "semcd-6")]
    Semcd6,
}

/// PHQ-9 and GAD-7 answers: the LOINC answer codes and their scores.
pub const FREQUENCY_ANSWERS: [(&str, i64); 4] = [("LA6568-5", 0), ("LA6569-3", 1), ("LA6570-1", 2), ("LA6571-9", 3)];

const PHQ9_ITEMS: [&str; 9] = [
    "phq9-1", "phq9-2", "phq9-3", "phq9-4", "phq9-5", "phq9-6", "phq9-7", "phq9-8", "phq9-9",
];
/// The PHQ-9 item about thoughts of self-harm: any answer above 0 needs a safety response.
pub const PHQ9_SELF_HARM_ITEM: &str = "phq9-9";
const GAD7_ITEMS: [&str; 7] = ["gad7-1", "gad7-2", "gad7-3", "gad7-4", "gad7-5", "gad7-6", "gad7-7"];
const ONS4_ITEMS: [&str; 4] = [
    "ons4-life-satisfaction",
    "ons4-worthwhile",
    "ons4-happiness",
    "ons4-anxiety",
];
/// The part key of each ONS4 item, in the same order as its items.
const ONS4_KEYS: [&str; 4] = ["life-satisfaction", "worthwhile", "happiness", "anxiety"];
const COLLABORATE_ITEMS: [&str; 3] = ["collaborate-1", "collaborate-2", "collaborate-3"];
const SEMCD6_ITEMS: [&str; 6] = ["semcd6-1", "semcd6-2", "semcd6-3", "semcd6-4", "semcd6-5", "semcd6-6"];
/// SEMCD-6 is not scored when more than two of its six items are unanswered.
const SEMCD6_MIN_ANSWERED: usize = 4;

/// Bands as (highest value in the band, band message id), lowest band first.
type Bands = [(i64, &'static str)];

const PHQ9_BANDS: &Bands = &[
    (4, "band-phq9-none-or-minimal"),
    (9, "band-phq9-mild"),
    (14, "band-phq9-moderate"),
    (19, "band-phq9-moderately-severe"),
    (27, "band-phq9-severe"),
];
const GAD7_BANDS: &Bands = &[
    (4, "band-gad7-minimal"),
    (9, "band-gad7-mild"),
    (14, "band-gad7-moderate"),
    (21, "band-gad7-severe"),
];
/// ONS4 life satisfaction, worthwhile and happiness.
const ONS4_BANDS: &Bands = &[
    (4, "band-ons4-low"),
    (6, "band-ons4-medium"),
    (8, "band-ons4-high"),
    (10, "band-ons4-very-high"),
];
/// ONS4 anxiety, where lower is better.
const ONS4_ANXIETY_BANDS: &Bands = &[
    (1, "band-ons4-anxiety-very-low"),
    (3, "band-ons4-anxiety-low"),
    (5, "band-ons4-anxiety-medium"),
    (10, "band-ons4-anxiety-high"),
];
const COLLABORATE_TOP: &str = "band-collaborate-top-score";
const COLLABORATE_NOT_TOP: &str = "band-collaborate-not-top-score";

/// A scored questionnaire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Score {
    /// The figure charted over time: the total (PHQ-9, GAD-7, CollaboRATE) or the mean (SEMCD-6); none for ONS4,
    /// whose parts are charted separately, or when only `urgent` could be worked out.
    pub headline: Option<Part>,
    /// Every figure, in reading order (the headline included).
    pub parts: Vec<Part>,
    /// The answers need an immediate safety response (PHQ-9 item 9 above 0), whatever the total.
    pub urgent: bool,
}

impl Score {
    /// The part with this key.
    pub fn part(&self, key: &str) -> Option<&Part> {
        self.parts.iter().find(|part| part.key == key)
    }
}

/// One figure of a score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    /// What the figure is: "total", "mean", "top-score", or an ONS4 item ("life-satisfaction", "worthwhile",
    /// "happiness", "anxiety").
    pub key: &'static str,
    /// The value ×10 (a mean of 7.25 rounds half up to 73).
    pub value_tenths: i64,
    /// The highest possible value ×10.
    pub max_tenths: i64,
    /// The band's message id, for figures that have bands.
    pub band: Option<&'static str>,
}

impl Instrument {
    /// Every instrument, in the order pages list them.
    pub const ALL: [Instrument; 5] = [
        Instrument::Phq9,
        Instrument::Gad7,
        Instrument::Ons4,
        Instrument::Collaborate,
        Instrument::Semcd6,
    ];

    /// The short code used in URLs and storage: "phq-9", "gad-7", "ons4", "collaborate", "semcd-6".
    pub fn code(self) -> &'static str {
        match self {
            Instrument::Phq9 => "phq-9",
            Instrument::Gad7 => "gad-7",
            Instrument::Ons4 => "ons4",
            Instrument::Collaborate => "collaborate",
            Instrument::Semcd6 => "semcd-6",
        }
    }

    /// The instrument with this code.
    pub fn from_code(code: &str) -> Option<Instrument> {
        Instrument::ALL.into_iter().find(|i| i.code() == code)
    }

    /// The canonical URL of CarePact's built-in definition.
    pub fn url(self) -> &'static str {
        match self {
            Instrument::Phq9 => "https://carepact.example/fhir/Questionnaire/phq-9",
            Instrument::Gad7 => "https://carepact.example/fhir/Questionnaire/gad-7",
            Instrument::Ons4 => "https://carepact.example/fhir/Questionnaire/ons4",
            Instrument::Collaborate => "https://carepact.example/fhir/Questionnaire/collaborate",
            Instrument::Semcd6 => "https://carepact.example/fhir/Questionnaire/semcd-6",
        }
    }

    /// The instrument whose built-in definition has this canonical URL.
    pub fn from_url(url: &str) -> Option<Instrument> {
        Instrument::ALL.into_iter().find(|i| i.url() == url)
    }

    /// The link ids of the scored items, in the instrument's order.
    pub fn scored_items(self) -> &'static [&'static str] {
        match self {
            Instrument::Phq9 => &PHQ9_ITEMS,
            Instrument::Gad7 => &GAD7_ITEMS,
            Instrument::Ons4 => &ONS4_ITEMS,
            Instrument::Collaborate => &COLLABORATE_ITEMS,
            Instrument::Semcd6 => &SEMCD6_ITEMS,
        }
    }

    /// The lowest and highest value of one scored item.
    fn scale(self) -> (i64, i64) {
        match self {
            Instrument::Phq9 | Instrument::Gad7 => (0, 3),
            Instrument::Ons4 => (0, 10),
            Instrument::Collaborate => (0, 9),
            Instrument::Semcd6 => (1, 10),
        }
    }

    /// The scored items of a definition that this instrument's scoring cannot read: missing, or not the kind it
    /// expects (PHQ-9 and GAD-7: a choice of exactly the four frequency answers with their usual scores; the others:
    /// a whole number limited to the instrument's scale). Empty when the definition can be scored.
    pub fn unscorable_items(self, q: &Questionnaire) -> Vec<&'static str> {
        self.scored_items()
            .iter()
            .copied()
            .filter(|link_id| !q.item(link_id).is_some_and(|item| self.scorable(&item.kind)))
            .collect()
    }

    fn scorable(self, kind: &ItemKind) -> bool {
        let (low, high) = self.scale();
        match (self, kind) {
            (Instrument::Phq9 | Instrument::Gad7, ItemKind::Choice { options }) => {
                options.len() == FREQUENCY_ANSWERS.len()
                    && FREQUENCY_ANSWERS.iter().all(|(code, score)| {
                        options
                            .iter()
                            .any(|o| o.code == *code && o.score.is_none_or(|s| s == *score))
                    })
            }
            (Instrument::Ons4 | Instrument::Collaborate | Instrument::Semcd6, ItemKind::Integer { min, max }) => {
                *min == Some(low) && *max == Some(high)
            }
            _ => false,
        }
    }

    /// The value of one scored item, or nothing when it is unanswered or not a value of the instrument's scale.
    fn item_value(self, answer: Option<&AnswerValue>) -> Option<i64> {
        let value = match (self, answer?) {
            (Instrument::Phq9 | Instrument::Gad7, AnswerValue::Code(code)) => FREQUENCY_ANSWERS
                .iter()
                .find(|(c, _)| c == code)
                .map(|(_, score)| *score),
            (Instrument::Ons4 | Instrument::Collaborate | Instrument::Semcd6, AnswerValue::Integer(n)) => Some(*n),
            _ => None,
        }?;
        let (low, high) = self.scale();
        (low..=high).contains(&value).then_some(value)
    }

    /// The value of each scored item, in order.
    fn values(self, answers: &Answers) -> Vec<Option<i64>> {
        self.scored_items()
            .iter()
            .map(|link_id| self.item_value(answers.get(*link_id)))
            .collect()
    }

    /// Scores a set of answers (to the built-in definition's link ids); nothing when too few are answered to score.
    ///
    /// - PHQ-9: the total of all nine items, banded; `urgent` when item 9 is above 0. When some items are
    ///   unanswered there is no total, but an answer above 0 to item 9 still gives a score with no parts and
    ///   `urgent` set, so that the safety response never depends on the rest of the form.
    /// - GAD-7: the total of all seven items, banded.
    /// - ONS4: each answered item as its own banded part; never a total, no headline.
    /// - CollaboRATE: with all three answered, the total (0–27), the mean, and whether it is a top score (all 9).
    /// - SEMCD-6: the mean of the answered items, when at least four of the six are answered.
    pub fn score(self, answers: &Answers) -> Option<Score> {
        let values = self.values(answers);
        match self {
            Instrument::Phq9 => phq9(&values),
            Instrument::Gad7 => total_score(&values, GAD7_BANDS).map(|part| headlined(part, Vec::new())),
            Instrument::Ons4 => ons4(&values),
            Instrument::Collaborate => collaborate(&values),
            Instrument::Semcd6 => semcd6(&values),
        }
    }
}

/// A score whose headline is `headline`, followed by the other parts.
fn headlined(headline: Part, others: Vec<Part>) -> Score {
    let mut parts = vec![headline.clone()];
    parts.extend(others);
    Score {
        headline: Some(headline),
        parts,
        urgent: false,
    }
}

/// The band that holds `value`.
fn band(value: i64, bands: &Bands) -> Option<&'static str> {
    bands.iter().find(|(highest, _)| value <= *highest).map(|(_, id)| *id)
}

/// The mean of `count` values adding up to `sum`, in tenths, rounded half up; nothing for no values.
fn mean_tenths(sum: i64, count: usize) -> Option<i64> {
    let count = i64::try_from(count).ok().filter(|n| *n > 0)?;
    (sum * 20 + count).checked_div(2 * count)
}

/// The banded total of items that must all be answered; the last band's top is the highest total.
fn total_score(values: &[Option<i64>], bands: &Bands) -> Option<Part> {
    let total: i64 = values.iter().copied().sum::<Option<i64>>()?;
    let max = bands.last().map_or(0, |(highest, _)| *highest);
    Some(Part {
        key: "total",
        value_tenths: total * 10,
        max_tenths: max * 10,
        band: band(total, bands),
    })
}

fn phq9(values: &[Option<i64>]) -> Option<Score> {
    let self_harm = PHQ9_ITEMS.iter().position(|id| *id == PHQ9_SELF_HARM_ITEM);
    let urgent = self_harm
        .and_then(|i| values.get(i).copied().flatten())
        .is_some_and(|v| v > 0);
    match total_score(values, PHQ9_BANDS) {
        Some(total) => Some(Score {
            urgent,
            ..headlined(total, Vec::new())
        }),
        None => urgent.then(|| Score {
            headline: None,
            parts: Vec::new(),
            urgent: true,
        }),
    }
}

fn ons4(values: &[Option<i64>]) -> Option<Score> {
    let parts: Vec<Part> = ONS4_KEYS
        .iter()
        .zip(values)
        .filter_map(|(key, value)| {
            let value = (*value)?;
            let bands = if *key == "anxiety" {
                ONS4_ANXIETY_BANDS
            } else {
                ONS4_BANDS
            };
            Some(Part {
                key,
                value_tenths: value * 10,
                max_tenths: 100,
                band: band(value, bands),
            })
        })
        .collect();
    (!parts.is_empty()).then_some(Score {
        headline: None,
        parts,
        urgent: false,
    })
}

fn collaborate(values: &[Option<i64>]) -> Option<Score> {
    let answered: Vec<i64> = values.iter().copied().collect::<Option<_>>()?;
    let sum: i64 = answered.iter().sum();
    let top = answered.iter().all(|v| *v == 9);
    let total = Part {
        key: "total",
        value_tenths: sum * 10,
        max_tenths: 270,
        band: None,
    };
    let mean = Part {
        key: "mean",
        value_tenths: mean_tenths(sum, answered.len())?,
        max_tenths: 90,
        band: None,
    };
    let top_score = Part {
        key: "top-score",
        value_tenths: if top { 10 } else { 0 },
        max_tenths: 10,
        band: Some(if top { COLLABORATE_TOP } else { COLLABORATE_NOT_TOP }),
    };
    Some(headlined(total, vec![mean, top_score]))
}

fn semcd6(values: &[Option<i64>]) -> Option<Score> {
    let answered: Vec<i64> = values.iter().flatten().copied().collect();
    if answered.len() < SEMCD6_MIN_ANSWERED {
        return None;
    }
    let mean = Part {
        key: "mean",
        value_tenths: mean_tenths(answered.iter().sum(), answered.len())?,
        max_tenths: 100,
        band: None,
    };
    Some(headlined(mean, Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FREQ: [&str; 4] = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"];

    /// Answers to a frequency instrument, one score (0–3) per item.
    fn frequency(instrument: Instrument, scores: &[usize]) -> Answers {
        instrument
            .scored_items()
            .iter()
            .zip(scores)
            .map(|(id, s)| (id.to_string(), AnswerValue::Code(FREQ[*s].to_owned())))
            .collect()
    }

    /// Answers to a numeric-scale instrument; `None` leaves an item unanswered.
    fn numeric(instrument: Instrument, values: &[Option<i64>]) -> Answers {
        instrument
            .scored_items()
            .iter()
            .zip(values)
            .filter_map(|(id, v)| v.map(|v| (id.to_string(), AnswerValue::Integer(v))))
            .collect()
    }

    /// Item scores for a frequency instrument adding up to `total`, highest first.
    fn spread(items: usize, total: usize) -> Vec<usize> {
        (0..items).map(|i| total.saturating_sub(3 * i).min(3)).collect()
    }

    fn headline(score: &Score) -> (i64, Option<&'static str>) {
        let part = score.headline.as_ref().unwrap();
        (part.value_tenths, part.band)
    }

    #[test]
    fn phq9_totals_at_every_band_boundary() {
        let cases = [
            (0, "band-phq9-none-or-minimal"),
            (4, "band-phq9-none-or-minimal"),
            (5, "band-phq9-mild"),
            (9, "band-phq9-mild"),
            (10, "band-phq9-moderate"),
            (14, "band-phq9-moderate"),
            (15, "band-phq9-moderately-severe"),
            (19, "band-phq9-moderately-severe"),
            (20, "band-phq9-severe"),
            (27, "band-phq9-severe"),
        ];
        for (total, band) in cases {
            // Items filled from the first, so item 9 stays 0 until the total passes 24.
            let score = Instrument::Phq9
                .score(&frequency(Instrument::Phq9, &spread(9, total)))
                .unwrap();
            assert_eq!(headline(&score), (total as i64 * 10, Some(band)), "total {total}");
            assert_eq!(score.headline.as_ref().unwrap().max_tenths, 270);
            assert_eq!(score.parts, vec![score.headline.clone().unwrap()]);
            assert_eq!(score.urgent, total > 24, "total {total}");
        }
    }

    #[test]
    fn phq9_item_9_above_0_is_urgent_whatever_the_total() {
        let mut scores = [0; 9];
        scores[8] = 1;
        let score = Instrument::Phq9.score(&frequency(Instrument::Phq9, &scores)).unwrap();
        assert!(score.urgent);
        assert_eq!(headline(&score), (10, Some("band-phq9-none-or-minimal")));

        let mut scores = [3; 9];
        scores[8] = 0;
        let score = Instrument::Phq9.score(&frequency(Instrument::Phq9, &scores)).unwrap();
        assert!(!score.urgent, "a high total without item 9 is severe, not urgent");
        assert_eq!(headline(&score), (240, Some("band-phq9-severe")));
    }

    #[test]
    fn phq9_incomplete_has_no_total_but_keeps_the_safety_flag() {
        let urgent_only = Some(Score {
            headline: None,
            parts: Vec::new(),
            urgent: true,
        });
        let mut answers = frequency(Instrument::Phq9, &[2; 9]);
        answers.remove("phq9-3");
        assert_eq!(
            Instrument::Phq9.score(&answers),
            urgent_only,
            "item 9 at 2 is urgent even without a total"
        );
        let mut answers = frequency(Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 1]);
        answers.remove("phq9-1");
        answers.remove("phq9-2");
        assert_eq!(Instrument::Phq9.score(&answers), urgent_only);
        let mut answers = frequency(Instrument::Phq9, &[3, 3, 3, 3, 3, 3, 3, 3, 0]);
        answers.remove("phq9-3");
        assert_eq!(Instrument::Phq9.score(&answers), None);
        answers.remove("phq9-9");
        assert_eq!(Instrument::Phq9.score(&answers), None);
    }

    #[test]
    fn phq9_ignores_the_difficulty_item_and_unknown_codes() {
        let mut answers = frequency(Instrument::Phq9, &[1, 1, 1, 1, 1, 1, 1, 1, 0]);
        answers.insert("phq9-difficulty".into(), AnswerValue::Code("LA6573-5".into()));
        assert_eq!(headline(&Instrument::Phq9.score(&answers).unwrap()).0, 80);
        answers.insert("phq9-4".into(), AnswerValue::Code("LA6572-7".into()));
        assert_eq!(Instrument::Phq9.score(&answers), None, "an unknown code is no answer");
        answers.insert("phq9-4".into(), AnswerValue::Integer(1));
        assert_eq!(
            Instrument::Phq9.score(&answers),
            None,
            "PHQ-9 answers are codes, not numbers"
        );
    }

    #[test]
    fn gad7_totals_at_every_band_boundary() {
        let cases = [
            (0, "band-gad7-minimal"),
            (4, "band-gad7-minimal"),
            (5, "band-gad7-mild"),
            (9, "band-gad7-mild"),
            (10, "band-gad7-moderate"),
            (14, "band-gad7-moderate"),
            (15, "band-gad7-severe"),
            (21, "band-gad7-severe"),
        ];
        for (total, band) in cases {
            let score = Instrument::Gad7
                .score(&frequency(Instrument::Gad7, &spread(7, total)))
                .unwrap();
            assert_eq!(headline(&score), (total as i64 * 10, Some(band)), "total {total}");
            assert_eq!(score.headline.as_ref().unwrap().max_tenths, 210);
            assert!(!score.urgent);
        }
        let mut answers = frequency(Instrument::Gad7, &[3; 7]);
        answers.remove("gad7-7");
        assert_eq!(Instrument::Gad7.score(&answers), None);
    }

    #[test]
    fn ons4_bands_each_item_separately_at_every_boundary() {
        let positive = [
            (0, "band-ons4-low"),
            (4, "band-ons4-low"),
            (5, "band-ons4-medium"),
            (6, "band-ons4-medium"),
            (7, "band-ons4-high"),
            (8, "band-ons4-high"),
            (9, "band-ons4-very-high"),
            (10, "band-ons4-very-high"),
        ];
        let anxiety = [
            (0, "band-ons4-anxiety-very-low"),
            (1, "band-ons4-anxiety-very-low"),
            (2, "band-ons4-anxiety-low"),
            (3, "band-ons4-anxiety-low"),
            (4, "band-ons4-anxiety-medium"),
            (5, "band-ons4-anxiety-medium"),
            (6, "band-ons4-anxiety-high"),
            (10, "band-ons4-anxiety-high"),
        ];
        for ((value, band), (anxious, anxiety_band)) in positive.into_iter().zip(anxiety) {
            let answers = numeric(
                Instrument::Ons4,
                &[Some(value), Some(value), Some(value), Some(anxious)],
            );
            let score = Instrument::Ons4.score(&answers).unwrap();
            assert_eq!(score.headline, None, "ONS4 has no headline");
            let keys: Vec<_> = score.parts.iter().map(|p| p.key).collect();
            assert_eq!(keys, ["life-satisfaction", "worthwhile", "happiness", "anxiety"]);
            for part in &score.parts[..3] {
                assert_eq!(
                    (part.value_tenths, part.max_tenths, part.band),
                    (value * 10, 100, Some(band))
                );
            }
            assert_eq!(score.parts[3].band, Some(anxiety_band), "anxiety {anxious}");
            assert_eq!(score.parts[3].value_tenths, anxious * 10);
        }
    }

    #[test]
    fn ons4_items_are_never_summed_and_unanswered_ones_are_left_out() {
        let score = Instrument::Ons4
            .score(&numeric(Instrument::Ons4, &[Some(3), None, Some(9), Some(6)]))
            .unwrap();
        let parts: Vec<_> = score
            .parts
            .iter()
            .map(|p| (p.key, p.value_tenths, p.band.unwrap()))
            .collect();
        assert_eq!(
            parts,
            [
                ("life-satisfaction", 30, "band-ons4-low"),
                ("happiness", 90, "band-ons4-very-high"),
                ("anxiety", 60, "band-ons4-anxiety-high")
            ]
        );
        assert!(score.part("total").is_none());
        assert_eq!(Instrument::Ons4.score(&Answers::new()), None);
        assert_eq!(
            Instrument::Ons4.score(&numeric(Instrument::Ons4, &[Some(11), None, None, None])),
            None
        );
    }

    #[test]
    fn collaborate_sum_mean_and_top_score() {
        let score = Instrument::Collaborate
            .score(&numeric(Instrument::Collaborate, &[Some(9), Some(9), Some(9)]))
            .unwrap();
        assert_eq!(headline(&score), (270, None));
        assert_eq!(score.part("mean").unwrap().value_tenths, 90);
        let top = score.part("top-score").unwrap();
        assert_eq!(
            (top.value_tenths, top.max_tenths, top.band),
            (10, 10, Some("band-collaborate-top-score"))
        );

        let score = Instrument::Collaborate
            .score(&numeric(Instrument::Collaborate, &[Some(9), Some(9), Some(8)]))
            .unwrap();
        assert_eq!(headline(&score), (260, None));
        assert_eq!(
            score.part("mean").unwrap().value_tenths,
            87,
            "26 / 3 = 8.67, to one decimal 8.7"
        );
        let top = score.part("top-score").unwrap();
        assert_eq!(
            (top.value_tenths, top.band),
            (0, Some("band-collaborate-not-top-score"))
        );

        let score = Instrument::Collaborate
            .score(&numeric(Instrument::Collaborate, &[Some(0), Some(0), Some(1)]))
            .unwrap();
        assert_eq!(score.part("mean").unwrap().value_tenths, 3, "1 / 3 = 0.33");
        assert_eq!(
            score.parts.iter().map(|p| p.key).collect::<Vec<_>>(),
            ["total", "mean", "top-score"]
        );

        let missing = numeric(Instrument::Collaborate, &[Some(9), None, Some(9)]);
        assert_eq!(Instrument::Collaborate.score(&missing), None);
        let too_high = numeric(Instrument::Collaborate, &[Some(9), Some(10), Some(9)]);
        assert_eq!(Instrument::Collaborate.score(&too_high), None);
    }

    #[test]
    fn semcd6_mean_needs_four_answers() {
        let three = numeric(Instrument::Semcd6, &[Some(8), None, Some(6), None, Some(7), None]);
        assert_eq!(Instrument::Semcd6.score(&three), None);

        let four = numeric(Instrument::Semcd6, &[Some(8), None, Some(6), None, Some(7), Some(8)]);
        let score = Instrument::Semcd6.score(&four).unwrap();
        assert_eq!(headline(&score), (73, None), "29 / 4 = 7.25 rounds half up to 7.3");
        assert_eq!(score.headline.as_ref().unwrap().max_tenths, 100);
        assert_eq!(score.parts.len(), 1);

        let six = numeric(
            Instrument::Semcd6,
            &[Some(1), Some(2), Some(2), Some(2), Some(2), Some(2)],
        );
        assert_eq!(
            headline(&Instrument::Semcd6.score(&six).unwrap()).0,
            18,
            "11 / 6 = 1.83"
        );
        let all_ten = numeric(Instrument::Semcd6, &[Some(10); 6]);
        assert_eq!(headline(&Instrument::Semcd6.score(&all_ten).unwrap()).0, 100);
        let zero = numeric(Instrument::Semcd6, &[Some(0), Some(5), Some(5), Some(5), None, None]);
        assert_eq!(
            Instrument::Semcd6.score(&zero),
            None,
            "0 is off the 1–10 scale, leaving three answers"
        );
    }

    #[test]
    fn instrument_codes_and_urls_round_trip() {
        for instrument in Instrument::ALL {
            assert_eq!(Instrument::from_code(instrument.code()), Some(instrument));
            assert_eq!(Instrument::from_url(instrument.url()), Some(instrument));
            assert_eq!(
                instrument.url(),
                format!("https://carepact.example/fhir/Questionnaire/{}", instrument.code())
            );
        }
        assert_eq!(Instrument::from_code("phq9"), None);
    }

    // --- enableWhen, read_form and check ----------------------------------------------------------------------

    fn question(link_id: &str, kind: ItemKind) -> Item {
        Item {
            link_id: link_id.into(),
            text: format!("Question {link_id}"),
            kind,
            required: false,
            enable_when: Vec::new(),
            enable_all: true,
        }
    }

    fn option(code: &str) -> AnswerOption {
        AnswerOption {
            code: code.into(),
            system: Some("urn:test".into()),
            display: code.to_uppercase(),
            score: None,
        }
    }

    fn when(question: &str, operator: Operator, answer: AnswerValue) -> EnableWhen {
        EnableWhen {
            question: question.into(),
            operator,
            answer,
        }
    }

    fn form_questionnaire() -> Questionnaire {
        let mut smoker = question("smoker", ItemKind::Boolean);
        smoker.required = true;
        let mut per_day = question(
            "per-day",
            ItemKind::Integer {
                min: Some(1),
                max: Some(100),
            },
        );
        per_day.required = true;
        per_day.enable_when = vec![when("smoker", Operator::Eq, AnswerValue::Boolean(true))];
        let mut weight = question(
            "weight",
            ItemKind::Decimal {
                min: Some(20.5),
                max: Some(300.0),
            },
        );
        weight.required = true;
        Questionnaire {
            url: "urn:test:form".into(),
            version: "1".into(),
            title: "Test".into(),
            description: String::new(),
            items: vec![
                question("intro", ItemKind::Display),
                smoker,
                per_day,
                weight,
                question(
                    "mood",
                    ItemKind::Choice {
                        options: vec![option("good"), option("bad")],
                    },
                ),
                question("notes", ItemKind::String),
            ],
            instrument: None,
        }
    }

    fn form(fields: &[(&str, &str)]) -> BTreeMap<String, String> {
        fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn problems(result: Result<Answers, Vec<ItemError>>) -> Vec<(String, ItemProblem)> {
        result
            .unwrap_err()
            .into_iter()
            .map(|e| (e.link_id, e.problem))
            .collect()
    }

    #[test]
    fn read_form_types_every_kind_of_answer() {
        let q = form_questionnaire();
        let answers = read_form(
            &q,
            &form(&[
                ("csrf", "token"),
                ("intro", "ignored"),
                ("smoker", "true"),
                ("per-day", " 10 "),
                ("weight", "72.5"),
                ("mood", "good"),
                ("notes", "  Feeling better  "),
            ]),
        )
        .unwrap();
        let expected: Answers = [
            ("smoker", AnswerValue::Boolean(true)),
            ("per-day", AnswerValue::Integer(10)),
            ("weight", AnswerValue::Decimal(72.5)),
            ("mood", AnswerValue::Code("good".into())),
            ("notes", AnswerValue::String("Feeling better".into())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(answers, expected);
    }

    #[test]
    fn read_form_reports_each_problem_of_enabled_items_in_order() {
        let q = form_questionnaire();
        let errors = problems(read_form(
            &q,
            &form(&[
                ("smoker", "true"),
                ("per-day", "lots"),
                ("weight", "12"),
                ("mood", "meh"),
            ]),
        ));
        assert_eq!(
            errors,
            [
                ("per-day".to_string(), ItemProblem::NotANumber),
                ("weight".to_string(), ItemProblem::TooLow("20.5".into())),
                ("mood".to_string(), ItemProblem::UnknownOption),
            ]
        );
        let errors = problems(read_form(
            &q,
            &form(&[("smoker", "yes"), ("per-day", "101"), ("weight", "")]),
        ));
        assert_eq!(
            errors,
            [
                ("smoker".to_string(), ItemProblem::UnknownOption),
                ("weight".to_string(), ItemProblem::Required),
            ],
            "an unreadable smoker answer counts as none, so per-day is not shown"
        );
        let errors = problems(read_form(
            &q,
            &form(&[("smoker", "true"), ("per-day", "101"), ("weight", "300.5")]),
        ));
        assert_eq!(
            errors,
            [
                ("per-day".to_string(), ItemProblem::TooHigh("100".into())),
                ("weight".to_string(), ItemProblem::TooHigh("300".into())),
            ]
        );
        let errors = problems(read_form(&q, &form(&[("smoker", "true"), ("weight", "70")])));
        assert_eq!(errors, [("per-day".to_string(), ItemProblem::Required)]);
        assert_eq!(errors[0].1.message_id(), "questionnaire-error-required");
    }

    #[test]
    fn read_form_drops_answers_to_disabled_items_unchecked() {
        let q = form_questionnaire();
        let answers = read_form(
            &q,
            &form(&[("smoker", "false"), ("per-day", "nonsense"), ("weight", "70")]),
        )
        .unwrap();
        assert_eq!(answers.get("per-day"), None);
        assert_eq!(answers.len(), 2);
    }

    #[test]
    fn read_form_refuses_numbers_people_do_not_type() {
        let q = form_questionnaire();
        for bad in ["inf", "NaN", "1e3", "7,5", "1.2.3", ".", "-", "72kg"] {
            let errors = problems(read_form(&q, &form(&[("smoker", "false"), ("weight", bad)])));
            assert_eq!(errors, [("weight".to_string(), ItemProblem::NotANumber)], "{bad}");
        }
        for (good, value) in [("+72", 72.0), ("72.", 72.0), ("-0.5", -0.5), (".5", 0.5)] {
            let result = read_form(&q, &form(&[("smoker", "false"), ("weight", good)]));
            let expected = if value < 20.5 {
                Err(vec![ItemError {
                    link_id: "weight".into(),
                    problem: ItemProblem::TooLow("20.5".into()),
                }])
            } else {
                Ok(Answers::from([
                    ("smoker".to_string(), AnswerValue::Boolean(false)),
                    ("weight".to_string(), AnswerValue::Decimal(value)),
                ]))
            };
            assert_eq!(result, expected, "{good}");
        }
        for bad in ["10.0", "1e1", "ten"] {
            let errors = problems(read_form(
                &q,
                &form(&[("smoker", "true"), ("per-day", bad), ("weight", "70")]),
            ));
            assert_eq!(errors, [("per-day".to_string(), ItemProblem::NotANumber)], "{bad}");
        }
    }

    #[test]
    fn problems_name_their_messages() {
        let problems = [
            ItemProblem::Required,
            ItemProblem::NotANumber,
            ItemProblem::TooLow("1".into()),
            ItemProblem::TooHigh("9".into()),
            ItemProblem::UnknownOption,
        ];
        let ids: Vec<_> = problems.iter().map(|p| (p.message_id(), p.limit())).collect();
        assert_eq!(
            ids,
            [
                ("questionnaire-error-required", None),
                ("questionnaire-error-number", None),
                ("questionnaire-error-too-low", Some("1")),
                ("questionnaire-error-too-high", Some("9")),
                ("questionnaire-error-option", None),
            ]
        );
    }

    #[test]
    fn check_keeps_fitting_answers_of_enabled_items() {
        let q = form_questionnaire();
        let mut answers: Answers = [
            ("smoker", AnswerValue::Boolean(false)),
            ("per-day", AnswerValue::Integer(5)),
            ("weight", AnswerValue::Decimal(70.0)),
            ("notes", AnswerValue::String("  ".into())),
            ("unknown", AnswerValue::Integer(1)),
            ("intro", AnswerValue::String("x".into())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let kept = check(&q, &answers).unwrap();
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["smoker", "weight"]);

        answers.insert("weight".into(), AnswerValue::Integer(70));
        answers.insert("mood".into(), AnswerValue::Boolean(true));
        answers.insert("smoker".into(), AnswerValue::Boolean(true));
        answers.insert("per-day".into(), AnswerValue::Decimal(5.0));
        assert_eq!(
            problems(check(&q, &answers)),
            [
                ("per-day".to_string(), ItemProblem::NotANumber),
                ("weight".to_string(), ItemProblem::NotANumber),
                ("mood".to_string(), ItemProblem::UnknownOption),
            ]
        );
        answers.insert("weight".into(), AnswerValue::Decimal(f64::INFINITY));
        assert!(problems(check(&q, &answers)).contains(&("weight".to_string(), ItemProblem::NotANumber)));
    }

    /// A questionnaire with an integer question "n", a choice "c" (a or b) and a text item "x" enabled by
    /// `conditions`.
    fn gated(conditions: Vec<EnableWhen>, all: bool) -> Questionnaire {
        let mut x = question("x", ItemKind::String);
        x.enable_when = conditions;
        x.enable_all = all;
        let c = question(
            "c",
            ItemKind::Choice {
                options: vec![option("a"), option("b")],
            },
        );
        Questionnaire {
            url: "urn:test:gated".into(),
            version: String::new(),
            title: "Gated".into(),
            description: String::new(),
            items: vec![question("n", ItemKind::Integer { min: None, max: None }), c, x],
            instrument: None,
        }
    }

    fn with_n(n: Option<i64>) -> Answers {
        n.map(|n| ("n".to_string(), AnswerValue::Integer(n)))
            .into_iter()
            .collect()
    }

    #[test]
    fn enable_when_operators_follow_fhir() {
        use AnswerValue::{Boolean, Decimal, Integer};
        let cases: [(Operator, AnswerValue, Option<i64>, bool); 22] = [
            (Operator::Exists, Boolean(true), Some(0), true),
            (Operator::Exists, Boolean(true), None, false),
            (Operator::Exists, Boolean(false), None, true),
            (Operator::Exists, Boolean(false), Some(0), false),
            (Operator::Eq, Integer(3), Some(3), true),
            (Operator::Eq, Integer(3), Some(4), false),
            (Operator::Eq, Integer(3), None, false),
            (Operator::Eq, Decimal(3.0), Some(3), true),
            (Operator::Ne, Integer(3), Some(3), false),
            (Operator::Ne, Integer(3), Some(4), true),
            (Operator::Ne, Integer(3), None, true),
            (Operator::Gt, Integer(3), Some(4), true),
            (Operator::Gt, Integer(3), Some(3), false),
            (Operator::Gt, Integer(3), None, false),
            (Operator::Lt, Integer(3), Some(2), true),
            (Operator::Lt, Integer(3), Some(3), false),
            (Operator::Ge, Integer(3), Some(3), true),
            (Operator::Ge, Integer(3), Some(2), false),
            (Operator::Le, Integer(3), Some(3), true),
            (Operator::Le, Integer(3), Some(4), false),
            (Operator::Le, Decimal(3.5), Some(3), true),
            (Operator::Gt, AnswerValue::String("3".into()), Some(4), false),
        ];
        for (operator, value, n, expected) in cases {
            let q = gated(vec![when("n", operator, value.clone())], true);
            assert_eq!(
                enabled(&q, &with_n(n), "x"),
                expected,
                "{operator:?} {value:?} with n = {n:?}"
            );
        }
    }

    #[test]
    fn enable_when_codes_all_and_any() {
        let is_a = when("c", Operator::Eq, AnswerValue::Code("a".into()));
        let n_big = when("n", Operator::Gt, AnswerValue::Integer(5));
        let mut answers = with_n(Some(9));
        answers.insert("c".into(), AnswerValue::Code("b".into()));

        let all = gated(vec![is_a.clone(), n_big.clone()], true);
        let any = gated(vec![is_a, n_big], false);
        assert!(!enabled(&all, &answers, "x"));
        assert!(enabled(&any, &answers, "x"));
        answers.insert("c".into(), AnswerValue::Code("a".into()));
        assert!(enabled(&all, &answers, "x"));
        answers.insert("n".into(), AnswerValue::Integer(1));
        assert!(!enabled(&all, &answers, "x"));
        assert!(enabled(&any, &answers, "x"));
        assert!(
            enabled(&any, &answers, "n"),
            "an item without conditions is always enabled"
        );
        assert!(!enabled(&any, &answers, "nope"), "an unknown item is not");
    }

    #[test]
    fn answers_to_disabled_questions_do_not_enable_others() {
        // n → x (needs n = 1) → y (needs x answered); loop: p ↔ r.
        let mut q = gated(vec![when("n", Operator::Eq, AnswerValue::Integer(1))], true);
        let mut y = question("y", ItemKind::String);
        y.enable_when = vec![when("x", Operator::Exists, AnswerValue::Boolean(true))];
        let mut p = question("p", ItemKind::Boolean);
        p.enable_when = vec![when("r", Operator::Exists, AnswerValue::Boolean(false))];
        let mut r = question("r", ItemKind::Boolean);
        r.enable_when = vec![when("p", Operator::Exists, AnswerValue::Boolean(false))];
        q.items.extend([y, p, r]);

        let mut answers = with_n(Some(1));
        answers.insert("x".into(), AnswerValue::String("yes".into()));
        assert!(enabled(&q, &answers, "y"));
        answers.insert("n".into(), AnswerValue::Integer(2));
        assert!(!enabled(&q, &answers, "x"));
        assert!(
            !enabled(&q, &answers, "y"),
            "x is answered but not shown, so its answer does not count"
        );
        assert!(!enabled(&q, &answers, "p"), "a loop of conditions is never enabled");
        assert!(!enabled(&q, &answers, "r"));
        let kept = check(&q, &answers).unwrap();
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["n"]);
    }

    #[test]
    fn unscorable_items_name_what_scoring_cannot_read() {
        let frequency_options: Vec<AnswerOption> = FREQUENCY_ANSWERS
            .iter()
            .map(|(code, score)| AnswerOption {
                code: code.to_string(),
                system: Some("http://loinc.org".into()),
                display: code.to_string(),
                score: Some(*score),
            })
            .collect();
        let mut items: Vec<Item> = GAD7_ITEMS
            .iter()
            .map(|id| {
                question(
                    id,
                    ItemKind::Choice {
                        options: frequency_options.clone(),
                    },
                )
            })
            .collect();
        let mut q = Questionnaire {
            url: Instrument::Gad7.url().into(),
            version: "1".into(),
            title: "GAD-7".into(),
            description: String::new(),
            items: items.clone(),
            instrument: Some(Instrument::Gad7),
        };
        assert!(Instrument::Gad7.unscorable_items(&q).is_empty());
        assert_eq!(Instrument::Phq9.unscorable_items(&q).len(), 9);

        let mut wrong_score = frequency_options.clone();
        wrong_score[1].score = Some(2);
        items[1].kind = ItemKind::Choice { options: wrong_score };
        items[2].kind = ItemKind::Integer {
            min: Some(0),
            max: Some(3),
        };
        items.remove(6);
        q.items = items;
        assert_eq!(Instrument::Gad7.unscorable_items(&q), ["gad7-2", "gad7-3", "gad7-7"]);
    }

    fn band_rank(bands: &Bands, id: Option<&str>) -> usize {
        bands.iter().position(|(_, b)| Some(*b) == id).unwrap()
    }

    proptest! {
        #[test]
        fn phq9_total_is_in_range_and_bands_rise_with_it(
            a in proptest::collection::vec(0usize..4, 9),
            b in proptest::collection::vec(0usize..4, 9),
        ) {
            let score_a = Instrument::Phq9.score(&frequency(Instrument::Phq9, &a)).unwrap();
            let score_b = Instrument::Phq9.score(&frequency(Instrument::Phq9, &b)).unwrap();
            let (total_a, band_a) = headline(&score_a);
            let (total_b, band_b) = headline(&score_b);
            prop_assert_eq!(total_a, a.iter().sum::<usize>() as i64 * 10);
            prop_assert!((0..=270).contains(&total_a));
            prop_assert_eq!(score_a.urgent, a[8] > 0);
            if total_a <= total_b {
                prop_assert!(band_rank(PHQ9_BANDS, band_a) <= band_rank(PHQ9_BANDS, band_b));
            }
        }

        #[test]
        fn gad7_total_is_in_range_and_bands_rise_with_it(
            a in proptest::collection::vec(0usize..4, 7),
            b in proptest::collection::vec(0usize..4, 7),
        ) {
            let (total_a, band_a) = headline(&Instrument::Gad7.score(&frequency(Instrument::Gad7, &a)).unwrap());
            let (total_b, band_b) = headline(&Instrument::Gad7.score(&frequency(Instrument::Gad7, &b)).unwrap());
            prop_assert_eq!(total_a, a.iter().sum::<usize>() as i64 * 10);
            prop_assert!((0..=210).contains(&total_a));
            if total_a <= total_b {
                prop_assert!(band_rank(GAD7_BANDS, band_a) <= band_rank(GAD7_BANDS, band_b));
            }
        }

        #[test]
        fn semcd6_mean_is_within_the_scale(values in proptest::collection::vec(proptest::option::of(1i64..=10), 6)) {
            let answered = values.iter().flatten().count();
            match Instrument::Semcd6.score(&numeric(Instrument::Semcd6, &values)) {
                None => prop_assert!(answered < 4),
                Some(score) => {
                    let mean = score.headline.unwrap().value_tenths;
                    prop_assert!(answered >= 4 && (10..=100).contains(&mean));
                    let exact = values.iter().flatten().sum::<i64>() as f64 * 10.0 / answered as f64;
                    prop_assert!((mean as f64 - exact).abs() <= 0.5);
                }
            }
        }

        #[test]
        fn read_form_never_panics(fields in proptest::collection::btree_map(
            proptest::sample::select(vec!["smoker", "per-day", "weight", "mood", "notes", "intro", "other"]),
            ".{0,12}",
            0..7,
        )) {
            let form: BTreeMap<String, String> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            if let Ok(answers) = read_form(&form_questionnaire(), &form) {
                prop_assert!(answers.contains_key("smoker") && answers.contains_key("weight"));
            }
        }
    }
}
