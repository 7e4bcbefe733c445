//! Self-monitoring: the catalogue of measures a person can record (each with its LOINC code, UCUM unit and
//! plausible range), reading what they typed into checked values, and the alert rules agreed in their care plan.
//!
//! Values are kept as [`Milli`], thousandths of the measure's unit, so that comparisons with agreed thresholds
//! are exact and plans (which hold thresholds) can be compared for equality.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// A value in thousandths of its unit: 7.8 mmol/L is `Milli(7800)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Milli(pub i64);

impl Milli {
    /// Whole units: `Milli::units(160)` is 160.
    pub const fn units(n: i64) -> Milli {
        Milli(n * 1000)
    }

    /// The nearest thousandth of a finite number; nothing for NaN, infinity or a number too big to hold.
    pub fn from_f64(v: f64) -> Option<Milli> {
        let m = (v * 1000.0).round();
        (m.is_finite() && m.abs() < 9.0e15).then_some(Milli(m as i64))
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// Rounded to `decimals` places (0 to 3), without trailing noise: `Milli(7850).format(1)` is "7.9".
    pub fn format(self, decimals: u8) -> String {
        let decimals = decimals.min(3);
        let step = 10_i64.pow(3 - u32::from(decimals));
        let rounded = (self.0 as f64 / step as f64).round() as i64;
        let sign = if rounded < 0 { "-" } else { "" };
        let rounded = rounded.unsigned_abs();
        if decimals == 0 {
            return format!("{sign}{rounded}");
        }
        let scale = 10_u64.pow(u32::from(decimals));
        format!(
            "{sign}{}.{:0width$}",
            rounded / scale,
            rounded % scale,
            width = usize::from(decimals)
        )
    }
}

/// Something a person measures or notes about themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    BloodPressure,
    HeartRate,
    BloodGlucose,
    Hba1c,
    Weight,
    Height,
    Bmi,
    PeakFlow,
    OxygenSaturation,
    Temperature,
    Steps,
    Sleep,
    Pain,
    Mood,
    Breathlessness,
    Symptoms,
}

/// One number a measure records: blood pressure has three (systolic, diastolic, pulse), most have one (`value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component {
    /// The field's key: `value`, `systolic`, `diastolic` or `pulse`.
    pub key: &'static str,
    pub loinc: &'static str,
    /// The UCUM code the value is kept in.
    pub ucum: &'static str,
    /// The unit as people write it.
    pub unit: &'static str,
    /// The plausible range, inclusive.
    pub min: Milli,
    pub max: Milli,
    /// Decimal places people record it to.
    pub decimals: u8,
    pub required: bool,
}

const fn component(
    key: &'static str,
    loinc: &'static str,
    ucum: &'static str,
    unit: &'static str,
    range: (i64, i64),
    decimals: u8,
) -> Component {
    Component {
        key,
        loinc,
        ucum,
        unit,
        min: Milli(range.0),
        max: Milli(range.1),
        decimals,
        required: true,
    }
}

const BLOOD_PRESSURE: [Component; 3] = [
    component("systolic", "8480-6", "mm[Hg]", "mmHg", (50_000, 300_000), 0),
    component("diastolic", "8462-4", "mm[Hg]", "mmHg", (30_000, 200_000), 0),
    Component {
        required: false,
        ..component("pulse", "8867-4", "/min", "beats a minute", (20_000, 250_000), 0)
    },
];
const HEART_RATE: [Component; 1] = [component(
    "value",
    "8867-4",
    "/min",
    "beats a minute",
    (20_000, 250_000),
    0,
)];
const BLOOD_GLUCOSE: [Component; 1] = [component("value", "15074-8", "mmol/L", "mmol/L", (500, 50_000), 1)];
const HBA1C: [Component; 1] = [component(
    "value",
    "59261-8",
    "mmol/mol",
    "mmol/mol",
    (15_000, 200_000),
    0,
)];
const WEIGHT: [Component; 1] = [component("value", "29463-7", "kg", "kg", (2_000, 400_000), 1)];
const HEIGHT: [Component; 1] = [component("value", "8302-2", "cm", "cm", (40_000, 250_000), 0)];
const BMI: [Component; 1] = [component("value", "39156-5", "kg/m2", "kg/m²", (10_000, 100_000), 1)];
const PEAK_FLOW: [Component; 1] = [component(
    "value",
    "19935-6",
    "L/min",
    "litres a minute",
    (50_000, 1_000_000),
    0,
)];
const OXYGEN: [Component; 1] = [component("value", "59408-5", "%", "%", (50_000, 100_000), 0)];
const TEMPERATURE: [Component; 1] = [component("value", "8310-5", "Cel", "°C", (30_000, 45_000), 1)];
const STEPS: [Component; 1] = [component("value", "41950-7", "/d", "steps", (0, 100_000_000), 0)];
const SLEEP: [Component; 1] = [component("value", "93832-4", "h", "hours", (0, 24_000), 1)];
const PAIN: [Component; 1] = [component("value", "72514-3", "{score}", "out of 10", (0, 10_000), 0)];
const MOOD: [Component; 1] = [component("value", "mood", "{score}", "out of 10", (0, 10_000), 0)];
const BREATHLESSNESS: [Component; 1] = [component("value", "mmrc", "{score}", "mMRC grade", (0, 4_000), 0)];

impl Measure {
    pub const ALL: [Measure; 16] = [
        Measure::BloodPressure,
        Measure::HeartRate,
        Measure::BloodGlucose,
        Measure::Hba1c,
        Measure::Weight,
        Measure::Height,
        Measure::Bmi,
        Measure::PeakFlow,
        Measure::OxygenSaturation,
        Measure::Temperature,
        Measure::Steps,
        Measure::Sleep,
        Measure::Pain,
        Measure::Mood,
        Measure::Breathlessness,
        Measure::Symptoms,
    ];

    /// The code used in URLs, the database and message ids (`measure-<code>`).
    pub fn code(self) -> &'static str {
        match self {
            Measure::BloodPressure => "blood-pressure",
            Measure::HeartRate => "heart-rate",
            Measure::BloodGlucose => "blood-glucose",
            Measure::Hba1c => "hba1c",
            Measure::Weight => "weight",
            Measure::Height => "height",
            Measure::Bmi => "bmi",
            Measure::PeakFlow => "peak-flow",
            Measure::OxygenSaturation => "oxygen-saturation",
            Measure::Temperature => "temperature",
            Measure::Steps => "steps",
            Measure::Sleep => "sleep",
            Measure::Pain => "pain",
            Measure::Mood => "mood",
            Measure::Breathlessness => "breathlessness",
            Measure::Symptoms => "symptoms",
        }
    }

    pub fn from_code(code: &str) -> Option<Measure> {
        Measure::ALL.into_iter().find(|m| m.code() == code)
    }

    /// The LOINC code of the whole observation (the panel, for blood pressure). Pain, mood and breathlessness have
    /// no LOINC code of their own that fits a self-report: theirs are CarePact's (see [`Measure::loinc_is_local`]).
    pub fn loinc(self) -> &'static str {
        match self {
            Measure::BloodPressure => "85354-9",
            Measure::Symptoms => "symptoms",
            m => m.components().first().map_or("", |c| c.loinc),
        }
    }

    /// True when [`Measure::loinc`] is CarePact's own code rather than LOINC's.
    pub fn loinc_is_local(self) -> bool {
        matches!(self, Measure::Mood | Measure::Breathlessness | Measure::Symptoms)
    }

    /// The numbers it records, in the order they are entered and shown. Symptoms are words only.
    pub fn components(self) -> &'static [Component] {
        match self {
            Measure::BloodPressure => &BLOOD_PRESSURE,
            Measure::HeartRate => &HEART_RATE,
            Measure::BloodGlucose => &BLOOD_GLUCOSE,
            Measure::Hba1c => &HBA1C,
            Measure::Weight => &WEIGHT,
            Measure::Height => &HEIGHT,
            Measure::Bmi => &BMI,
            Measure::PeakFlow => &PEAK_FLOW,
            Measure::OxygenSaturation => &OXYGEN,
            Measure::Temperature => &TEMPERATURE,
            Measure::Steps => &STEPS,
            Measure::Sleep => &SLEEP,
            Measure::Pain => &PAIN,
            Measure::Mood => &MOOD,
            Measure::Breathlessness => &BREATHLESSNESS,
            Measure::Symptoms => &[],
        }
    }

    pub fn component(self, key: &str) -> Option<&'static Component> {
        self.components().iter().find(|c| c.key == key)
    }

    /// The component charted and checked first: systolic for blood pressure, else the value.
    pub fn main_component(self) -> Option<&'static Component> {
        self.components().first()
    }

    /// Worked out from other readings (BMI from weight and height), never typed in.
    pub fn is_derived(self) -> bool {
        self == Measure::Bmi
    }

    /// The other units a person may type it in.
    pub fn input_units(self) -> &'static [InputUnit] {
        match self {
            Measure::BloodGlucose => &[InputUnit::Standard, InputUnit::MilligramsPerDecilitre],
            Measure::Weight => &[InputUnit::Standard, InputUnit::StonesPounds],
            _ => &[InputUnit::Standard],
        }
    }

    /// Looks a LOINC code up: the measure and component it belongs to. The mass-concentration glucose code
    /// (2339-0, mg/dL) maps to blood glucose too: see [`from_ucum`] for its unit.
    pub fn from_loinc(code: &str) -> Option<(Measure, &'static Component)> {
        if code == "2339-0" || code == "2345-7" {
            return Some((Measure::BloodGlucose, &BLOOD_GLUCOSE[0]));
        }
        if code == "4548-4" {
            return None; // HbA1c in %, which CarePact does not take: it would need converting with care.
        }
        Measure::ALL.into_iter().filter(|m| !m.loinc_is_local()).find_map(|m| {
            m.components()
                .iter()
                .filter(|c| !(m == Measure::BloodPressure && c.key == "pulse"))
                .find(|c| c.loinc == code)
                .map(|c| (m, c))
        })
    }
}

/// How a value was typed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputUnit {
    /// The measure's own unit.
    Standard,
    /// Blood glucose in mg/dL, converted at 18.016 mg/dL to 1 mmol/L.
    MilligramsPerDecilitre,
    /// Weight in stones and pounds (fields `stones` and `pounds`), converted at 6.35029318 kg a stone.
    StonesPounds,
}

impl InputUnit {
    pub fn code(self) -> &'static str {
        match self {
            InputUnit::Standard => "standard",
            InputUnit::MilligramsPerDecilitre => "mg-dl",
            InputUnit::StonesPounds => "st-lb",
        }
    }

    pub fn from_code(code: &str) -> Option<InputUnit> {
        [
            InputUnit::Standard,
            InputUnit::MilligramsPerDecilitre,
            InputUnit::StonesPounds,
        ]
        .into_iter()
        .find(|u| u.code() == code)
    }
}

pub const MG_DL_PER_MMOL_L: f64 = 18.016;
const KG_PER_POUND: f64 = 0.453_592_37;

/// Converts a value arriving in a UCUM unit other than the component's own (mg/dL glucose, lb or g weight,
/// [degF] temperature). Nothing when the unit is unknown for it.
pub fn from_ucum(measure: Measure, component: &Component, ucum: &str, value: f64) -> Option<f64> {
    if ucum == component.ucum {
        return Some(value);
    }
    match (measure, ucum) {
        (Measure::BloodGlucose, "mg/dL") => Some(value / MG_DL_PER_MMOL_L),
        (Measure::Weight, "[lb_av]") => Some(value * KG_PER_POUND),
        (Measure::Weight, "g") => Some(value / 1000.0),
        (Measure::Height, "m") => Some(value * 100.0),
        (Measure::Height, "[in_i]") => Some(value * 2.54),
        (Measure::Temperature, "[degF]") => Some((value - 32.0) * 5.0 / 9.0),
        (Measure::HeartRate | Measure::BloodPressure, "{beats}/min") => Some(value),
        _ => None,
    }
}

/// What is wrong with one field of a reading, as a message id and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryProblem {
    Missing,
    NotANumber,
    /// Outside the plausible range, given in the unit it was typed in.
    OutOfRange {
        min: String,
        max: String,
        unit: &'static str,
    },
    /// The diastolic pressure is not below the systolic.
    DiastolicNotBelowSystolic,
    /// Words are needed (symptoms).
    TextMissing,
    TextTooLong,
}

impl EntryProblem {
    pub fn message_id(&self) -> &'static str {
        match self {
            EntryProblem::Missing => "reading-error-missing",
            EntryProblem::NotANumber => "reading-error-number",
            EntryProblem::OutOfRange { .. } => "reading-error-range",
            EntryProblem::DiastolicNotBelowSystolic => "reading-error-bp-order",
            EntryProblem::TextMissing => "reading-error-symptoms",
            EntryProblem::TextTooLong => "reading-error-too-long",
        }
    }
}

/// A problem with one field: `field` is the form field's key (`value`, `systolic`, `stones`, `text`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    pub field: &'static str,
    pub problem: EntryProblem,
}

/// The longest note or symptom description kept.
pub const TEXT_LIMIT: usize = 2000;

/// The checked values of one reading, by component key, in the measure's own units.
pub type Values = BTreeMap<&'static str, Milli>;

/// Reads what a person typed for one reading: `fields` holds the form's text by field key. The values come back
/// in the measure's own units, each within its plausible range; every problem is reported, not just the first.
pub fn read_entry(
    measure: Measure,
    unit: InputUnit,
    fields: &BTreeMap<String, String>,
    text: &str,
) -> Result<Values, Vec<EntryError>> {
    let mut values = Values::new();
    let mut errors = Vec::new();
    let field = |key: &str| fields.get(key).map(|s| s.trim()).unwrap_or("");
    for c in measure.components() {
        let got = if measure == Measure::Weight && unit == InputUnit::StonesPounds {
            read_stones_pounds(c, field("stones"), field("pounds"))
        } else {
            read_number(measure, c, unit, field(c.key))
        };
        match got {
            Ok(Some(v)) => {
                values.insert(c.key, v);
            }
            Ok(None) if !c.required => {}
            Ok(None) => errors.push(EntryError {
                field: entry_field(measure, unit, c),
                problem: EntryProblem::Missing,
            }),
            Err(problem) => errors.push(EntryError {
                field: entry_field(measure, unit, c),
                problem,
            }),
        }
    }
    if let (Some(s), Some(d)) = (values.get("systolic"), values.get("diastolic"))
        && d >= s
    {
        errors.push(EntryError {
            field: "diastolic",
            problem: EntryProblem::DiastolicNotBelowSystolic,
        });
    }
    if measure == Measure::Symptoms && text.trim().is_empty() {
        errors.push(EntryError {
            field: "text",
            problem: EntryProblem::TextMissing,
        });
    }
    if text.chars().count() > TEXT_LIMIT {
        errors.push(EntryError {
            field: "text",
            problem: EntryProblem::TextTooLong,
        });
    }
    if errors.is_empty() { Ok(values) } else { Err(errors) }
}

/// The form field a component's problem belongs to.
fn entry_field(measure: Measure, unit: InputUnit, c: &Component) -> &'static str {
    if measure == Measure::Weight && unit == InputUnit::StonesPounds {
        "stones"
    } else {
        c.key
    }
}

/// A decimal number as people type it ("7.8", "120", "7,8" is refused); nothing for an empty field.
fn number(text: &str) -> Result<Option<f64>, EntryProblem> {
    if text.is_empty() {
        return Ok(None);
    }
    let ok = text.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        && text.chars().filter(|c| *c == '.').count() <= 1
        && text.chars().skip(1).all(|c| c != '-')
        && text.chars().any(|c| c.is_ascii_digit());
    if !ok || text.len() > 12 {
        return Err(EntryProblem::NotANumber);
    }
    text.parse::<f64>().map(Some).map_err(|_| EntryProblem::NotANumber)
}

fn read_number(measure: Measure, c: &Component, unit: InputUnit, text: &str) -> Result<Option<Milli>, EntryProblem> {
    let Some(typed) = number(text)? else {
        return Ok(None);
    };
    let (value, factor, unit_label) = match (measure, unit) {
        (Measure::BloodGlucose, InputUnit::MilligramsPerDecilitre) => {
            (typed / MG_DL_PER_MMOL_L, MG_DL_PER_MMOL_L, "mg/dL")
        }
        _ => (typed, 1.0, c.unit),
    };
    let v = Milli::from_f64(value).ok_or(EntryProblem::NotANumber)?;
    if v < c.min || v > c.max {
        let shown = |m: Milli| {
            let decimals = if factor == 1.0 { c.decimals } else { 0 };
            Milli::from_f64(m.as_f64() * factor).unwrap_or(m).format(decimals)
        };
        return Err(EntryProblem::OutOfRange {
            min: shown(c.min),
            max: shown(c.max),
            unit: unit_label,
        });
    }
    Ok(Some(round_to(v, c.decimals)))
}

fn read_stones_pounds(c: &Component, stones: &str, pounds: &str) -> Result<Option<Milli>, EntryProblem> {
    let (st, lb) = (number(stones)?, number(pounds)?);
    if st.is_none() && lb.is_none() {
        return Ok(None);
    }
    let kg = (st.unwrap_or(0.0) * 14.0 + lb.unwrap_or(0.0)) * KG_PER_POUND;
    let v = Milli::from_f64(kg).ok_or(EntryProblem::NotANumber)?;
    if v < c.min || v > c.max || st.is_some_and(|s| s < 0.0) || lb.is_some_and(|l| !(0.0..14.0).contains(&l)) {
        return Err(EntryProblem::OutOfRange {
            min: c.min.format(0),
            max: c.max.format(0),
            unit: "kg",
        });
    }
    Ok(Some(round_to(v, c.decimals)))
}

/// The value rounded to `decimals` places, as it will be shown.
fn round_to(v: Milli, decimals: u8) -> Milli {
    let step = 10_i64.pow(3 - u32::from(decimals.min(3)));
    Milli(((v.0 as f64 / step as f64).round() as i64) * step)
}

/// Checks a value that arrived from a device or a file (already in the component's unit).
pub fn check_value(c: &Component, value: f64) -> Result<Milli, EntryProblem> {
    let v = Milli::from_f64(value).ok_or(EntryProblem::NotANumber)?;
    if v < c.min || v > c.max {
        return Err(EntryProblem::OutOfRange {
            min: c.min.format(c.decimals),
            max: c.max.format(c.decimals),
            unit: c.unit,
        });
    }
    Ok(round_to(v, c.decimals))
}

/// Body mass index from weight (kg) and height (cm), to one decimal place; nothing when it is implausible.
pub fn bmi(weight: Milli, height_cm: Milli) -> Option<Milli> {
    let m = height_cm.as_f64() / 100.0;
    if m <= 0.0 {
        return None;
    }
    let v = round_to(Milli::from_f64(weight.as_f64() / (m * m))?, 1);
    (v >= BMI[0].min && v <= BMI[0].max).then_some(v)
}

// ---------------------------------------------------------------------------------------------------------------
// Agreed targets and alert rules

/// A target range agreed for one component of a measure, shaded on its chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub id: Uuid,
    pub measure: Measure,
    pub component: String,
    pub low: Option<Milli>,
    pub high: Option<Milli>,
}

/// Which way a reading crosses a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Comparison {
    Above,
    Below,
}

/// Who an alert is for, in the order it escalates: the person, then their carer, then their named contact, then
/// their care team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Person,
    Carer,
    NamedContact,
    Team,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::Person, Level::Carer, Level::NamedContact, Level::Team];

    pub fn code(self) -> &'static str {
        match self {
            Level::Person => "person",
            Level::Carer => "carer",
            Level::NamedContact => "named-contact",
            Level::Team => "team",
        }
    }

    pub fn from_code(code: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The next level up, if any.
    pub fn next(self) -> Option<Level> {
        match self {
            Level::Person => Some(Level::Carer),
            Level::Carer => Some(Level::NamedContact),
            Level::NamedContact => Some(Level::Team),
            Level::Team => None,
        }
    }
}

/// An alert rule agreed in the care plan: "systolic above 160 twice within 7 days → tell my named contact".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRule {
    pub id: Uuid,
    pub measure: Measure,
    pub component: String,
    pub comparison: Comparison,
    /// Strictly above or below this value.
    pub threshold: Milli,
    /// How many readings across the threshold it takes (1 for "any").
    pub times: u32,
    /// Within how many days those readings fall (ignored when `times` is 1).
    pub within_days: u32,
    /// Who is told first.
    pub tell: Level,
    /// Urgent: "follow my contingency plan now".
    pub urgent: bool,
    /// What the person is shown at once, in the words agreed.
    pub advice: String,
    /// Hours an alert may stay unacknowledged before it goes to the next level (0: never escalates).
    pub escalate_after_hours: u32,
}

/// The most readings a rule can count, and the longest window it can look back.
pub const MAX_TIMES: u32 = 10;
pub const MAX_WITHIN_DAYS: u32 = 90;

impl AlertRule {
    /// True when `value` is across this rule's threshold.
    pub fn breached_by(&self, value: Milli) -> bool {
        match self.comparison {
            Comparison::Above => value > self.threshold,
            Comparison::Below => value < self.threshold,
        }
    }

    /// The window the readings must fall within.
    pub fn window(&self) -> Duration {
        Duration::days(i64::from(self.within_days.max(1)))
    }

    /// True when a new reading (`at`, `value`) makes the rule fire: it is across the threshold itself, and with
    /// it at least `times` readings across the threshold fall within one window of `within_days` days.
    /// `history` is the other readings of the same component, in any order, earlier or later than `at` (a reading
    /// may be entered late).
    pub fn fires(&self, at: OffsetDateTime, value: Milli, history: &[(OffsetDateTime, Milli)]) -> bool {
        if !self.breached_by(value) {
            return false;
        }
        let needed = self.times.max(1) as usize;
        if needed == 1 {
            return true;
        }
        let window = self.window();
        let mut near: Vec<OffsetDateTime> = history
            .iter()
            .filter(|(t, v)| self.breached_by(*v) && (*t - at).abs() <= window)
            .map(|(t, _)| *t)
            .collect();
        near.push(at);
        near.sort();
        // A window [start, start + window] that holds `at`: try each breach no later than `at` as its start.
        near.iter()
            .filter(|s| **s <= at && at - **s <= window)
            .any(|start| near.iter().filter(|t| **t >= *start && **t - *start <= window).count() >= needed)
    }

    /// The component it watches, if the measure has it.
    pub fn watched(&self) -> Option<&'static Component> {
        self.measure.component(&self.component)
    }
}

/// What is wrong with a rule as written on the plan form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleProblem {
    /// The component does not belong to the measure.
    Component,
    /// The threshold is outside the component's plausible range.
    Threshold,
    Times,
    WithinDays,
    AdviceMissing,
}

impl RuleProblem {
    pub fn message_id(self) -> &'static str {
        match self {
            RuleProblem::Component => "rule-error-component",
            RuleProblem::Threshold => "rule-error-threshold",
            RuleProblem::Times => "rule-error-times",
            RuleProblem::WithinDays => "rule-error-within",
            RuleProblem::AdviceMissing => "rule-error-advice",
        }
    }
}

/// Checks a rule before it goes into a plan.
pub fn check_rule(rule: &AlertRule) -> Vec<RuleProblem> {
    let mut problems = Vec::new();
    match rule.watched() {
        None => problems.push(RuleProblem::Component),
        Some(c) if rule.threshold < c.min || rule.threshold > c.max => problems.push(RuleProblem::Threshold),
        Some(_) => {}
    }
    if !(1..=MAX_TIMES).contains(&rule.times) {
        problems.push(RuleProblem::Times);
    }
    if rule.times > 1 && !(1..=MAX_WITHIN_DAYS).contains(&rule.within_days) {
        problems.push(RuleProblem::WithinDays);
    }
    if rule.advice.trim().is_empty() {
        problems.push(RuleProblem::AdviceMissing);
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn every_measure_has_a_unique_code_and_a_sane_range() {
        for m in Measure::ALL {
            assert_eq!(Measure::from_code(m.code()), Some(m));
            for c in m.components() {
                assert!(c.min < c.max, "{}", m.code());
                assert!(c.decimals <= 3);
            }
        }
        let codes: std::collections::BTreeSet<_> = Measure::ALL.iter().map(|m| m.code()).collect();
        assert_eq!(codes.len(), Measure::ALL.len());
    }

    #[test]
    fn milli_formats_rounded() {
        assert_eq!(Milli(7850).format(1), "7.9");
        assert_eq!(Milli(160_000).format(0), "160");
        assert_eq!(Milli(-1500).format(1), "-1.5");
        assert_eq!(Milli(50).format(2), "0.05");
        assert_eq!(Milli::from_f64(f64::NAN), None);
    }

    #[test]
    fn blood_pressure_reads_three_numbers_and_pulse_is_optional() {
        let v = read_entry(
            Measure::BloodPressure,
            InputUnit::Standard,
            &fields(&[("systolic", "148"), ("diastolic", "92")]),
            "",
        )
        .unwrap();
        assert_eq!(v["systolic"], Milli::units(148));
        assert_eq!(v["diastolic"], Milli::units(92));
        assert!(!v.contains_key("pulse"));
    }

    #[test]
    fn an_implausible_value_names_the_range() {
        let e = read_entry(
            Measure::BloodPressure,
            InputUnit::Standard,
            &fields(&[("systolic", "400"), ("diastolic", "abc")]),
            "",
        )
        .unwrap_err();
        assert_eq!(
            e[0],
            EntryError {
                field: "systolic",
                problem: EntryProblem::OutOfRange {
                    min: "50".into(),
                    max: "300".into(),
                    unit: "mmHg"
                }
            }
        );
        assert_eq!(e[1].problem, EntryProblem::NotANumber);
        let e = read_entry(
            Measure::BloodPressure,
            InputUnit::Standard,
            &fields(&[("systolic", "80"), ("diastolic", "90")]),
            "",
        )
        .unwrap_err();
        assert_eq!(e[0].problem, EntryProblem::DiastolicNotBelowSystolic);
    }

    #[test]
    fn glucose_in_mg_dl_is_converted() {
        let v = read_entry(
            Measure::BloodGlucose,
            InputUnit::MilligramsPerDecilitre,
            &fields(&[("value", "126")]),
            "",
        )
        .unwrap();
        assert_eq!(v["value"], Milli(7000));
        let e = read_entry(
            Measure::BloodGlucose,
            InputUnit::MilligramsPerDecilitre,
            &fields(&[("value", "2000")]),
            "",
        )
        .unwrap_err();
        assert_eq!(
            e[0].problem,
            EntryProblem::OutOfRange {
                min: "9".into(),
                max: "901".into(),
                unit: "mg/dL"
            }
        );
    }

    #[test]
    fn weight_in_stones_and_pounds_is_converted() {
        let v = read_entry(
            Measure::Weight,
            InputUnit::StonesPounds,
            &fields(&[("stones", "11"), ("pounds", "4")]),
            "",
        )
        .unwrap();
        assert_eq!(v["value"], Milli(71_700)); // 158 lb = 71.67 kg
        let e = read_entry(
            Measure::Weight,
            InputUnit::StonesPounds,
            &fields(&[("stones", "11"), ("pounds", "20")]),
            "",
        )
        .unwrap_err();
        assert_eq!(e[0].field, "stones");
    }

    #[test]
    fn symptoms_need_words_and_numbers_must_be_numbers() {
        let e = read_entry(Measure::Symptoms, InputUnit::Standard, &fields(&[]), " ").unwrap_err();
        assert_eq!(e[0].problem, EntryProblem::TextMissing);
        assert!(
            read_entry(
                Measure::Symptoms,
                InputUnit::Standard,
                &fields(&[]),
                "Dizzy after lunch"
            )
            .is_ok()
        );
        for bad in ["1e3", "7,8", "--5", "12-3", ".", "seven"] {
            let e = read_entry(Measure::Pain, InputUnit::Standard, &fields(&[("value", bad)]), "").unwrap_err();
            assert_eq!(e[0].problem, EntryProblem::NotANumber, "{bad}");
        }
        let e = read_entry(Measure::Pain, InputUnit::Standard, &fields(&[("value", "")]), "").unwrap_err();
        assert_eq!(e[0].problem, EntryProblem::Missing);
    }

    #[test]
    fn bmi_is_worked_out_to_one_place() {
        assert_eq!(bmi(Milli(70_000), Milli(175_000)), Some(Milli(22_900)));
        assert_eq!(bmi(Milli(70_000), Milli(0)), None);
    }

    #[test]
    fn loinc_codes_find_their_measure() {
        assert_eq!(
            Measure::from_loinc("8480-6").map(|(m, c)| (m, c.key)),
            Some((Measure::BloodPressure, "systolic"))
        );
        assert_eq!(Measure::from_loinc("8867-4").map(|(m, _)| m), Some(Measure::HeartRate));
        assert_eq!(
            Measure::from_loinc("2339-0").map(|(m, _)| m),
            Some(Measure::BloodGlucose)
        );
        assert_eq!(Measure::from_loinc("mood"), None);
        let (m, c) = Measure::from_loinc("2339-0").unwrap();
        assert_eq!(from_ucum(m, c, "mg/dL", 180.16), Some(10.0));
    }

    fn rule(times: u32, within_days: u32) -> AlertRule {
        AlertRule {
            id: Uuid::nil(),
            measure: Measure::BloodPressure,
            component: "systolic".into(),
            comparison: Comparison::Above,
            threshold: Milli::units(160),
            times,
            within_days,
            tell: Level::NamedContact,
            urgent: false,
            advice: "Sit quietly and check again in five minutes.".into(),
            escalate_after_hours: 24,
        }
    }

    #[test]
    fn twice_within_seven_days() {
        let r = rule(2, 7);
        let t0 = datetime!(2026-11-01 09:00 UTC);
        let high = Milli::units(165);
        assert!(!r.fires(t0, high, &[]), "one is not twice");
        assert!(r.fires(t0, high, &[(t0 - Duration::days(6), high)]));
        assert!(
            r.fires(t0, high, &[(t0 - Duration::days(7), high)]),
            "exactly seven days is within"
        );
        assert!(!r.fires(t0, high, &[(t0 - Duration::days(8), high)]));
        assert!(!r.fires(t0, Milli::units(160), &[(t0, high)]), "160 is not above 160");
        assert!(!r.fires(t0, high, &[(t0 - Duration::days(1), Milli::units(150))]));
        assert!(
            r.fires(t0, high, &[(t0 + Duration::days(2), high)]),
            "a later reading entered first counts"
        );
        assert!(rule(1, 0).fires(t0, high, &[]));
    }

    #[test]
    fn rules_are_checked() {
        let mut r = rule(2, 7);
        assert!(check_rule(&r).is_empty());
        r.component = "value".into();
        r.threshold = Milli::units(400);
        r.times = 0;
        r.advice = " ".into();
        assert_eq!(
            check_rule(&r),
            vec![RuleProblem::Component, RuleProblem::Times, RuleProblem::AdviceMissing]
        );
        let mut r = rule(3, 365);
        r.threshold = Milli::units(400);
        assert_eq!(check_rule(&r), vec![RuleProblem::Threshold, RuleProblem::WithinDays]);
    }

    /// The rule as plainly as it can be said: some `times` breaching readings, the new one among them, lie
    /// within one window. Checked by trying every window that starts at a breaching reading.
    fn model(r: &AlertRule, at: i64, value: i64, history: &[(i64, i64)]) -> bool {
        let breach = |v: i64| v > 160;
        if !breach(value) {
            return false;
        }
        let d = i64::from(r.within_days) * 24;
        let mut times: Vec<i64> = history.iter().filter(|(_, v)| breach(*v)).map(|(t, _)| *t).collect();
        times.push(at);
        times.iter().any(|&start| {
            start <= at
                && at <= start + d
                && times.iter().filter(|&&t| t >= start && t <= start + d).count() >= r.times as usize
        })
    }

    proptest! {
        #[test]
        fn fires_exactly_when_enough_readings_fall_in_one_window(
            times in 1u32..5,
            within in 1u32..10,
            at in 0i64..2000,
            value in 140i64..180,
            history in proptest::collection::vec((0i64..2000, 140i64..180), 0..12),
        ) {
            let r = rule(times, within);
            let base = datetime!(2026-01-01 00:00 UTC);
            let hours = |h: i64| base + Duration::hours(h);
            let hist: Vec<_> = history.iter().map(|(t, v)| (hours(*t), Milli::units(*v))).collect();
            prop_assert_eq!(r.fires(hours(at), Milli::units(value), &hist), model(&r, at, value, &history));
        }
    }
}
