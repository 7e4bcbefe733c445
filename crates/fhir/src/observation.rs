//! Self-monitoring readings as FHIR R4 Observations, both ways: one reading as an Observation for export and the
//! FHIR API ([`observation`]), and an Observation arriving from a device or another app read back into a measure,
//! a time and values in CarePact's units ([`read_observation`]).
//!
//! Codes: LOINC (`http://loinc.org`) with its display for every measure LOINC has a fitting code for; mood,
//! breathlessness (mMRC grade) and symptoms use CarePact's own code system ([`MEASURE_SYSTEM`]). Blood pressure is
//! the vital-signs panel 85354-9 with systolic (8480-6), diastolic (8462-4) and, when taken, heart rate (8867-4) as
//! components. Units are UCUM (`http://unitsofmeasure.org`).
//!
//! Categories (`http://terminology.hl7.org/CodeSystem/observation-category`): `vital-signs` for blood pressure,
//! heart rate, weight, height, BMI, oxygen saturation and temperature; `activity` for steps and sleep; `survey` for
//! pain, mood, breathlessness and symptoms (the person's own report); `laboratory` for blood glucose and HbA1c
//! (a specimen tested, at home or in a laboratory); `exam` for peak flow (a simple instrument and manoeuvre).
//!
//! Numbers: serde_json here is built without `arbitrary_precision`, so values are written as JSON numbers from an
//! `i64` (no decimals) or an `f64` rounded to the component's decimals. serde_json writes an `f64` in its shortest
//! form that still has a decimal point, so 7.0 stays `7.0`; every component has at most one decimal place, so no
//! precision is lost (a component with two or three places would lose trailing zeros: 7.10 would become `7.1`).
//!
//! FHIR forbids empty strings, arrays and objects, so every optional part is left out when there is nothing to say.

use std::collections::BTreeMap;

use carepact_domain::readings::{Component, Measure, Milli, from_ucum};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Problem;
use crate::care_plan::{instant, words};

pub const LOINC: &str = "http://loinc.org";
pub const UCUM: &str = "http://unitsofmeasure.org";
/// CarePact's own codes for measures LOINC has no fitting code for (mood, breathlessness, symptoms).
pub const MEASURE_SYSTEM: &str = "https://carepact.example/fhir/CodeSystem/measure";
/// The code system of Observation categories.
pub const CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const DATA_ABSENT: &str = "http://terminology.hl7.org/CodeSystem/data-absent-reason";
/// The older blood pressure panel ("systolic and diastolic"), still sent by some devices; read as 85354-9.
const OLD_BP_PANEL: &str = "55284-4";

/// One reading, as [`observation`] needs it.
#[derive(Debug, Clone, Copy)]
pub struct ObservationInput<'a> {
    /// The reading's id, used as the Observation's.
    pub id: uuid::Uuid,
    /// The person, as a reference such as `Patient/<uuid>`.
    pub patient_ref: &'a str,
    pub measure: Measure,
    /// When it was taken.
    pub taken: OffsetDateTime,
    /// When CarePact recorded it.
    pub recorded: OffsetDateTime,
    /// The values in the measure's component order ([`Measure::components`]), in the components' own units.
    /// Empty for symptoms.
    pub values: &'a [Option<Milli>],
    /// The person's note; for symptoms, the words of the reading itself.
    pub note: Option<&'a str>,
    /// Who took or entered it, when it is worth saying.
    pub performer_display: Option<&'a str>,
    /// The device's name, when a device took it.
    pub device: Option<&'a str>,
}

/// What [`read_observation`] finds: the measure, when it was taken, the values by component key in the
/// component's own unit (not yet checked against the plausible range: see `readings::check_value`), and the note
/// (for symptoms, the words of the reading).
pub type ReadObservation = (Measure, OffsetDateTime, BTreeMap<&'static str, f64>, Option<String>);

/// The observation category code and display for a measure.
/// The Observation category of a measure's readings: its code and display.
pub fn category(measure: Measure) -> (&'static str, &'static str) {
    match measure {
        Measure::BloodPressure
        | Measure::HeartRate
        | Measure::Weight
        | Measure::Height
        | Measure::Bmi
        | Measure::OxygenSaturation
        | Measure::Temperature => ("vital-signs", "Vital Signs"),
        Measure::Steps | Measure::Sleep => ("activity", "Activity"),
        Measure::Pain | Measure::Mood | Measure::Breathlessness | Measure::Symptoms => ("survey", "Survey"),
        Measure::BloodGlucose | Measure::Hba1c => ("laboratory", "Laboratory"),
        Measure::PeakFlow => ("exam", "Exam"),
    }
}

/// The display of a code CarePact writes: LOINC's display for LOINC codes, CarePact's for its own.
fn display(code: &str) -> &'static str {
    match code {
        "85354-9" => "Blood pressure panel with all children optional",
        "8480-6" => "Systolic blood pressure",
        "8462-4" => "Diastolic blood pressure",
        "8867-4" => "Heart rate",
        "15074-8" => "Glucose [Moles/volume] in Blood",
        "59261-8" => "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol",
        "29463-7" => "Body weight",
        "8302-2" => "Body height",
        "39156-5" => "Body mass index (BMI) [Ratio]",
        "19935-6" => "Maximum expiratory gas flow Respiratory system airway by Peak flow meter",
        "59408-5" => "Oxygen saturation in Arterial blood by Pulse oximetry",
        "8310-5" => "Body temperature",
        "41950-7" => "Number of steps in 24 hour Measured",
        "93832-4" => "Sleep duration",
        "72514-3" => "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
        "mood" => "Mood, self-rated from 0 to 10",
        "mmrc" => "Breathlessness, mMRC dyspnoea grade 0 to 4",
        "symptoms" => "Symptoms, in the person's own words",
        _ => "",
    }
}

/// A CodeableConcept with one coding and its display as text.
fn concept(system: &str, code: &str) -> Value {
    let mut coding = json!({"system": system, "code": code});
    let mut out = json!({});
    if let Some(d) = words(display(code)) {
        coding["display"] = json!(d);
        out["text"] = json!(d);
    }
    out["coding"] = json!([coding]);
    out
}

/// The measure's code as a CodeableConcept.
fn measure_code(measure: Measure) -> Value {
    let system = if measure.loinc_is_local() {
        MEASURE_SYSTEM
    } else {
        LOINC
    };
    concept(system, measure.loinc())
}

/// A component's code as a CodeableConcept (LOINC, or CarePact's for local codes).
fn component_code(measure: Measure, c: &Component) -> Value {
    let system = if measure.loinc_is_local() {
        MEASURE_SYSTEM
    } else {
        LOINC
    };
    concept(system, c.loinc)
}

/// The value as a JSON number with the component's decimal places: an integer when it has none, else an `f64`
/// rounded to them (see the module's note on numbers).
fn number(v: Milli, decimals: u8) -> Option<Value> {
    let text = v.format(decimals);
    if decimals == 0 {
        text.parse::<i64>().ok().map(Value::from)
    } else {
        text.parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
    }
}

/// `valueQuantity` for a value in a component's unit, or `dataAbsentReason` when there is none; as the fields to
/// merge into the Observation or one of its components.
fn value_fields(c: &Component, v: Option<Milli>) -> Map<String, Value> {
    let mut out = Map::new();
    match v.and_then(|v| number(v, c.decimals)) {
        Some(n) => {
            out.insert(
                "valueQuantity".into(),
                json!({"value": n, "unit": c.unit, "system": UCUM, "code": c.ucum}),
            );
        }
        None => {
            out.insert("dataAbsentReason".into(), absent());
        }
    }
    out
}

fn absent() -> Value {
    json!({"coding": [{"system": DATA_ABSENT, "code": "unknown", "display": "Unknown"}]})
}

/// One reading as a FHIR R4 Observation: status final, the measure's category and code, the person as subject,
/// when it was taken (`effectiveDateTime`) and recorded (`issued`), and its values. Blood pressure is a panel whose
/// values are components (heart rate only when taken); symptoms are words (`valueString`, from the note); a value
/// that is missing is said to be (`dataAbsentReason`), never written empty.
pub fn observation(r: &ObservationInput) -> Value {
    let (cat_code, cat_display) = category(r.measure);
    let mut out = json!({
        "resourceType": "Observation",
        "id": r.id.to_string(),
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": cat_code, "display": cat_display}]}],
        "code": measure_code(r.measure),
        "subject": {"reference": r.patient_ref},
    });
    if let Some(t) = instant(r.taken) {
        out["effectiveDateTime"] = json!(t);
    }
    if let Some(t) = instant(r.recorded) {
        out["issued"] = json!(t);
    }
    if let Some(who) = r.performer_display.and_then(words) {
        out["performer"] = json!([{"display": who}]);
    }
    let value = |i: usize| r.values.get(i).copied().flatten();
    let components = r.measure.components();
    let mut note = r.note.and_then(words);
    if r.measure == Measure::Symptoms {
        match note.take() {
            Some(text) => out["valueString"] = json!(text),
            None => out["dataAbsentReason"] = absent(),
        }
    } else if r.measure == Measure::BloodPressure {
        let parts: Vec<Value> = components
            .iter()
            .enumerate()
            .filter(|(i, c)| c.required || value(*i).is_some())
            .map(|(i, c)| {
                let mut part = Map::new();
                part.insert("code".into(), component_code(r.measure, c));
                part.extend(value_fields(c, value(i)));
                Value::Object(part)
            })
            .collect();
        out["component"] = json!(parts);
    } else if let Some(c) = components.first()
        && let Some(obj) = out.as_object_mut()
    {
        obj.extend(value_fields(c, value(0)));
    }
    if let Some(text) = note {
        out["note"] = json!([{"text": text}]);
    }
    if let Some(device) = r.device.and_then(words) {
        out["device"] = json!({"display": device});
    }
    out
}

// ---------------------------------------------------------------------------------------------------------------
// Reading an Observation
// ---------------------------------------------------------------------------------------------------------------

/// Problems found so far, each with its JSON path.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem::file(path, message));
    }
}

/// The measure an Observation's code names, and the component it is (for a single-value measure, or a blood
/// pressure part sent alone). The blood pressure panel (85354-9, or the older 55284-4) has no component.
fn find_measure(code: &Value, p: &mut Problems) -> Option<(Measure, Option<&'static Component>)> {
    let Some(codings) = code.get("coding").and_then(Value::as_array) else {
        p.add(
            "code.coding",
            "The observation has no coding CarePact can read (LOINC, or CarePact's own).",
        );
        return None;
    };
    let mut seen = Vec::new();
    for coding in codings {
        let system = coding.get("system").and_then(Value::as_str).unwrap_or("");
        let Some(c) = coding.get("code").and_then(Value::as_str) else {
            continue;
        };
        match system {
            LOINC if c == Measure::BloodPressure.loinc() || c == OLD_BP_PANEL => {
                return Some((Measure::BloodPressure, None));
            }
            LOINC => {
                if let Some((m, comp)) = Measure::from_loinc(c) {
                    return Some((m, Some(comp)));
                }
            }
            MEASURE_SYSTEM => {
                if let Some(m) = Measure::ALL.into_iter().find(|m| m.loinc_is_local() && m.loinc() == c) {
                    return Some((m, m.main_component()));
                }
            }
            _ => {}
        }
        seen.push(format!("{system}|{c}"));
    }
    let listed = if seen.is_empty() {
        "none".to_owned()
    } else {
        seen.join(", ")
    };
    p.add(
        "code.coding",
        format!("CarePact does not record this kind of observation (codes: {listed})."),
    );
    None
}

/// A date-time with a time and a time zone (a date alone does not say when in the day).
fn when(value: Option<&Value>, path: &str, p: &mut Problems) -> Option<OffsetDateTime> {
    let text = value.and_then(Value::as_str);
    match text.map(|t| OffsetDateTime::parse(t, &Rfc3339)) {
        Some(Ok(t)) => Some(t),
        _ => {
            p.add(
                path,
                "This needs a date and time with its time zone, such as 2026-11-23T09:30:00Z.",
            );
            None
        }
    }
}

/// When the observation was taken: `effectiveDateTime`, the start of `effectivePeriod`, or `effectiveInstant`.
fn effective(obj: &Map<String, Value>, p: &mut Problems) -> Option<OffsetDateTime> {
    if let Some(v) = obj.get("effectiveDateTime") {
        return when(Some(v), "effectiveDateTime", p);
    }
    if let Some(period) = obj.get("effectivePeriod") {
        return when(period.get("start"), "effectivePeriod.start", p);
    }
    if let Some(v) = obj.get("effectiveInstant") {
        return when(Some(v), "effectiveInstant", p);
    }
    if obj.contains_key("effectiveTiming") {
        p.add(
            "effectiveTiming",
            "A timing is not taken: say when it was measured with effectiveDateTime.",
        );
    } else {
        p.add(
            "effectiveDateTime",
            "The observation does not say when it was measured.",
        );
    }
    None
}

/// The value of `obj` (the Observation, or one of its components) in component `c`'s unit. `path` is where `obj`
/// is (empty for the Observation itself).
fn quantity(measure: Measure, c: &Component, obj: &Value, path: &str, p: &mut Problems) -> Option<f64> {
    let at = |field: &str| {
        if path.is_empty() {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        }
    };
    let Some(q) = obj.get("valueQuantity") else {
        let other = obj
            .as_object()
            .and_then(|o| o.keys().find(|k| k.starts_with("value")).cloned());
        match other {
            Some(key) => p.add(at(&key), format!("Only a valueQuantity is taken here, not {key}.")),
            None => p.add(at("valueQuantity"), "There is no value."),
        }
        return None;
    };
    if q.get("comparator").is_some() {
        p.add(
            at("valueQuantity.comparator"),
            "A value given only as more or less than a number is not taken.",
        );
        return None;
    }
    let Some(value) = q.get("value").and_then(Value::as_f64) else {
        p.add(at("valueQuantity.value"), "There is no value (a number).");
        return None;
    };
    let system = q.get("system").and_then(Value::as_str);
    let code = q.get("code").and_then(Value::as_str);
    let unit = match (system, code) {
        (Some(UCUM) | None, Some(code)) => code,
        (Some(other), _) => {
            p.add(
                at("valueQuantity.system"),
                format!("Units must be UCUM ({UCUM}), not {other}."),
            );
            return None;
        }
        (None, None) => {
            p.add(at("valueQuantity.code"), "The value has no UCUM unit code.");
            return None;
        }
    };
    match from_ucum(measure, c, unit, value) {
        Some(v) => Some(v),
        None => {
            p.add(
                at("valueQuantity.code"),
                format!(
                    "The unit \"{unit}\" is not one CarePact can take for this (it records {}).",
                    c.ucum
                ),
            );
            None
        }
    }
}

/// The blood pressure panel's components: systolic, diastolic and pulse, each at most once.
fn panel(obj: &Map<String, Value>, values: &mut BTreeMap<&'static str, f64>, p: &mut Problems) {
    let m = Measure::BloodPressure;
    if let Some(key) = obj.keys().find(|k| k.starts_with("value")) {
        p.add(
            key.clone(),
            "A blood pressure panel keeps its values in its components, not in a value of its own.",
        );
    }
    let Some(parts) = obj.get("component").and_then(Value::as_array) else {
        p.add(
            "component",
            "The blood pressure panel has no components (systolic and diastolic).",
        );
        return;
    };
    let mut seen: Vec<&str> = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let path = format!("component[{i}]");
        let codes: Vec<&str> = part
            .pointer("/code/coding")
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .filter(|c| c.get("system").and_then(Value::as_str) == Some(LOINC))
                    .filter_map(|c| c.get("code").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        let Some(c) = m.components().iter().find(|c| codes.contains(&c.loinc)) else {
            p.add(
                format!("{path}.code"),
                "Only systolic (8480-6), diastolic (8462-4) and heart rate (8867-4) are taken in a blood pressure panel.",
            );
            continue;
        };
        if seen.contains(&c.key) {
            p.add(
                format!("{path}.code"),
                format!("The {} value is given more than once.", c.key),
            );
            continue;
        }
        seen.push(c.key);
        if let Some(v) = quantity(m, c, part, &path, p) {
            values.insert(c.key, v);
        }
    }
    for c in m.components().iter().filter(|c| c.required && !seen.contains(&c.key)) {
        p.add("component", format!("The {} pressure is missing.", c.key));
    }
}

/// Reads an R4 Observation arriving from a device or another app: which measure it is (LOINC, or CarePact's own
/// code), when it was taken, its values converted to the components' own units, and its note. Everything that
/// cannot be taken is a [`Problem`] with its JSON path, all reported at once.
///
/// It must be an Observation with status final, amended or corrected; the code must be one of the catalogue's
/// (a blood pressure reading is the panel 85354-9 or 55284-4 with systolic and diastolic components, and optionally
/// heart rate); when it was taken must be a full date and time with a time zone (`effectiveDateTime`, the start of
/// `effectivePeriod`, or `effectiveInstant`); values are `valueQuantity` in UCUM units the measure takes (mg/dL
/// glucose, pounds, grams, metres, inches and °F are converted); symptoms are `valueString`. Notes (`note[].text`)
/// are joined by blank lines. The subject is not checked here: the caller knows whose record it is going into.
pub fn read_observation(json: &Value) -> Result<ReadObservation, Vec<Problem>> {
    let mut p = Problems::default();
    let Some(obj) = json.as_object() else {
        return Err(vec![Problem::file(
            "",
            "This is not a FHIR resource (not a JSON object).",
        )]);
    };
    if obj.get("resourceType").and_then(Value::as_str) != Some("Observation") {
        p.add("resourceType", "This is not an Observation.");
    }
    match obj.get("status").and_then(Value::as_str) {
        Some("final" | "amended" | "corrected") => {}
        Some(other) => p.add(
            "status",
            format!("Only a final (or amended or corrected) observation is taken, not \"{other}\"."),
        ),
        None => p.add("status", "The observation has no status."),
    }
    let found = match obj.get("code") {
        Some(code) => find_measure(code, &mut p),
        None => {
            p.add("code", "The observation does not say what was measured.");
            None
        }
    };
    let taken = effective(obj, &mut p);
    let mut values = BTreeMap::new();
    let mut notes: Vec<String> = Vec::new();
    match found {
        Some((Measure::Symptoms, _)) => match obj.get("valueString").and_then(Value::as_str).and_then(words) {
            Some(text) => notes.push(text.to_owned()),
            None => p.add("valueString", "Symptoms need words (valueString)."),
        },
        Some((Measure::BloodPressure, None)) => panel(obj, &mut values, &mut p),
        Some((Measure::BloodPressure, Some(c))) => p.add(
            "code.coding",
            format!(
                "A {} pressure on its own is not taken: send the blood pressure panel (85354-9) with both pressures.",
                c.key
            ),
        ),
        Some((m, Some(c))) => {
            if let Some(v) = quantity(m, c, json, "", &mut p) {
                values.insert(c.key, v);
            }
        }
        Some((_, None)) | None => {}
    }
    match obj.get("note") {
        None => {}
        Some(Value::Array(list)) => notes.extend(
            list.iter()
                .filter_map(|n| n.get("text").and_then(Value::as_str).and_then(words))
                .map(str::to_owned),
        ),
        Some(_) => p.add("note", "note must be a list."),
    }
    match (found, taken) {
        (Some((measure, _)), Some(taken)) if p.0.is_empty() => {
            let note = (!notes.is_empty()).then(|| notes.join("\n\n"));
            Ok((measure, taken, values, note))
        }
        _ => Err(p.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use carepact_domain::readings::MG_DL_PER_MMOL_L;
    use time::macros::datetime;
    use uuid::Uuid;

    use crate::care_plan::tests::assert_no_empties;

    const TAKEN: OffsetDateTime = datetime!(2026-11-23 09:30 +01:00);
    const RECORDED: OffsetDateTime = datetime!(2026-11-23 08:31:05 UTC);

    /// A plausible value for each component: the middle of its range, rounded to its decimals, with a fraction
    /// where it has decimals so that they show.
    fn sample(c: &Component) -> Milli {
        let mid = (c.min.0 + c.max.0) / 2;
        let step = 10_i64.pow(3 - u32::from(c.decimals));
        Milli((mid / step) * step + if c.decimals > 0 { step * 3 } else { 0 })
    }

    fn values(m: Measure) -> Vec<Option<Milli>> {
        m.components().iter().map(|c| Some(sample(c))).collect()
    }

    fn input<'a>(m: Measure, values: &'a [Option<Milli>]) -> ObservationInput<'a> {
        ObservationInput {
            id: Uuid::from_u128(7),
            patient_ref: "Patient/p",
            measure: m,
            taken: TAKEN,
            recorded: RECORDED,
            values,
            note: Some(if m == Measure::Symptoms {
                "Dizzy after lunch"
            } else {
                "After a walk"
            }),
            performer_display: Some("Amina Khan"),
            device: Some("Omron M3"),
        }
    }

    fn coding(v: &Value) -> (&str, &str) {
        (
            v["coding"][0]["system"].as_str().unwrap_or(""),
            v["coding"][0]["code"].as_str().unwrap_or(""),
        )
    }

    #[test]
    fn every_measure_is_a_well_formed_observation() {
        for m in Measure::ALL {
            let vals = values(m);
            let f = observation(&input(m, &vals));
            assert_no_empties(&f);
            assert_eq!(f["resourceType"], "Observation");
            assert_eq!(f["id"], Uuid::from_u128(7).to_string());
            assert_eq!(f["status"], "final");
            assert_eq!(f["subject"]["reference"], "Patient/p");
            assert_eq!(f["effectiveDateTime"], "2026-11-23T08:30:00Z", "{}", m.code());
            assert_eq!(f["issued"], "2026-11-23T08:31:05Z");
            assert_eq!(f["performer"], json!([{"display": "Amina Khan"}]));
            assert_eq!(f["device"], json!({"display": "Omron M3"}));
            assert_eq!(coding(&f["category"][0]).0, CATEGORY);
            let system = if m.loinc_is_local() { MEASURE_SYSTEM } else { LOINC };
            assert_eq!(coding(&f["code"]), (system, m.loinc()), "{}", m.code());
            assert!(
                f["code"]["coding"][0]["display"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty())
            );
            match m {
                Measure::Symptoms => {
                    assert_eq!(f["valueString"], "Dizzy after lunch");
                    assert!(f.get("note").is_none(), "the words are the value, not a note");
                }
                Measure::BloodPressure => {
                    assert!(f.get("valueQuantity").is_none());
                    assert_eq!(f["component"].as_array().map(Vec::len), Some(3));
                }
                _ => {
                    let c = m.components()[0];
                    let q = &f["valueQuantity"];
                    assert_eq!((q["system"].as_str(), q["code"].as_str()), (Some(UCUM), Some(c.ucum)));
                    assert_eq!(q["unit"], c.unit);
                    assert_eq!(q["value"].to_string(), sample(&c).format(c.decimals), "{}", m.code());
                    assert_eq!(f["note"], json!([{"text": "After a walk"}]));
                }
            }
        }
    }

    #[test]
    fn categories_follow_the_measure() {
        let cat = |m: Measure| {
            let vals = values(m);
            observation(&input(m, &vals))["category"][0]["coding"][0]["code"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        };
        for m in [
            Measure::BloodPressure,
            Measure::HeartRate,
            Measure::Weight,
            Measure::Height,
            Measure::Bmi,
            Measure::OxygenSaturation,
            Measure::Temperature,
        ] {
            assert_eq!(cat(m), "vital-signs", "{}", m.code());
        }
        assert_eq!(cat(Measure::Steps), "activity");
        assert_eq!(cat(Measure::Sleep), "activity");
        for m in [Measure::Pain, Measure::Mood, Measure::Breathlessness] {
            assert_eq!(cat(m), "survey", "{}", m.code());
        }
    }

    #[test]
    fn blood_pressure_is_the_panel_with_its_components() {
        let vals = [Some(Milli::units(148)), Some(Milli::units(92)), Some(Milli::units(71))];
        let f = observation(&input(Measure::BloodPressure, &vals));
        assert_eq!(coding(&f["code"]), (LOINC, "85354-9"));
        let parts = f["component"].as_array().cloned().unwrap_or_default();
        let got: Vec<(&str, String, &str)> = parts
            .iter()
            .map(|p| {
                (
                    coding(&p["code"]).1,
                    p["valueQuantity"]["value"].to_string(),
                    p["valueQuantity"]["code"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("8480-6", "148".to_owned(), "mm[Hg]"),
                ("8462-4", "92".to_owned(), "mm[Hg]"),
                ("8867-4", "71".to_owned(), "/min")
            ]
        );
        assert!(parts.iter().all(|p| coding(&p["code"]).0 == LOINC));
        // No pulse taken: no heart rate component.
        let vals = [Some(Milli::units(148)), Some(Milli::units(92)), None];
        let f = observation(&input(Measure::BloodPressure, &vals));
        assert_eq!(f["component"].as_array().map(Vec::len), Some(2));
        assert_no_empties(&f);
    }

    #[test]
    fn decimals_are_kept() {
        let vals = [Some(Milli(7000))];
        let f = observation(&input(Measure::BloodGlucose, &vals));
        assert_eq!(
            serde_json::to_string(&f["valueQuantity"]["value"]).ok().as_deref(),
            Some("7.0")
        );
        let vals = [Some(Milli(71_700))];
        let f = observation(&input(Measure::Weight, &vals));
        assert_eq!(f["valueQuantity"]["value"].to_string(), "71.7");
        let vals = [Some(Milli(53_000))];
        let f = observation(&input(Measure::Hba1c, &vals));
        assert_eq!(f["valueQuantity"]["value"].to_string(), "53");
        assert!(f["valueQuantity"]["value"].is_i64());
    }

    #[test]
    fn nothing_empty_when_there_is_little_to_say() {
        let vals = [None];
        let mut i = input(Measure::HeartRate, &vals);
        i.note = Some("  ");
        i.performer_display = None;
        i.device = Some("");
        let f = observation(&i);
        assert_no_empties(&f);
        for absent in ["note", "performer", "device", "valueQuantity"] {
            assert!(f.get(absent).is_none(), "{absent} in {f}");
        }
        assert_eq!(f["dataAbsentReason"]["coding"][0]["code"], "unknown");
        let mut i = input(Measure::Symptoms, &[]);
        i.note = None;
        let f = observation(&i);
        assert_no_empties(&f);
        assert!(f.get("valueString").is_none());
    }

    #[test]
    fn every_measure_round_trips() {
        for m in Measure::ALL {
            let vals = values(m);
            let f = observation(&input(m, &vals));
            let (measure, taken, got, note) = read_observation(&f).unwrap_or_else(|e| panic!("{}: {e:?}", m.code()));
            assert_eq!(measure, m);
            assert_eq!(taken, TAKEN);
            let want: BTreeMap<&str, f64> = m
                .components()
                .iter()
                .zip(&vals)
                .filter_map(|(c, v)| v.map(|v| (c.key, v.as_f64())))
                .collect();
            assert_eq!(got, want, "{}", m.code());
            let want_note = if m == Measure::Symptoms {
                "Dizzy after lunch"
            } else {
                "After a walk"
            };
            assert_eq!(note.as_deref(), Some(want_note));
        }
    }

    fn without(mut v: Value, keys: &[&str]) -> Value {
        if let Some(o) = v.as_object_mut() {
            for k in keys {
                o.remove(*k);
            }
        }
        v
    }

    fn reading(code: &str, value: f64, unit: &str) -> Value {
        json!({
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "subject": {"reference": "Patient/p"},
            "effectivePeriod": {"start": "2026-11-23T09:30:00+01:00", "end": "2026-11-23T09:31:00+01:00"},
            "valueQuantity": {"value": value, "system": UCUM, "code": unit},
        })
    }

    #[test]
    fn units_are_converted() {
        let (m, taken, v, note) =
            read_observation(&reading("2339-0", 126.0, "mg/dL")).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(m, Measure::BloodGlucose);
        assert_eq!(taken, TAKEN);
        assert!((v["value"] - 126.0 / MG_DL_PER_MMOL_L).abs() < 1e-9);
        assert!((v["value"] - 6.99).abs() < 0.01);
        assert_eq!(note, None);
        let (m, _, v, _) = read_observation(&reading("29463-7", 150.0, "[lb_av]")).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(m, Measure::Weight);
        assert!((v["value"] - 68.038_855_5).abs() < 1e-6, "{}", v["value"]);
    }

    #[test]
    fn other_times_are_read() {
        let mut r = without(reading("8867-4", 71.0, "/min"), &["effectivePeriod"]);
        r["effectiveInstant"] = json!("2026-11-23T08:30:00Z");
        assert_eq!(read_observation(&r).map(|o| o.1), Ok(TAKEN));
        r["effectiveDateTime"] = json!("2026-11-23T08:30:00.000Z");
        assert_eq!(read_observation(&r).map(|o| o.1), Ok(TAKEN));
        r["effectiveDateTime"] = json!("2026-11-23");
        let e = read_observation(&r).err().unwrap_or_default();
        assert_eq!(
            e.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(),
            ["effectiveDateTime"]
        );
    }

    #[test]
    fn a_blood_pressure_panel_from_a_device() {
        let bp = |parts: Value| {
            json!({
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
                "effectiveDateTime": "2026-11-23T08:30:00Z",
                "component": parts,
            })
        };
        let part = |code: &str, v: f64, unit: &str| {
            json!({"code": {"coding": [{"system": LOINC, "code": code}]},
                   "valueQuantity": {"value": v, "system": UCUM, "code": unit}})
        };
        let (m, _, v, _) = read_observation(&bp(json!([
            part("8480-6", 148.0, "mm[Hg]"),
            part("8462-4", 92.0, "mm[Hg]"),
            part("8867-4", 71.0, "{beats}/min"),
        ])))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(m, Measure::BloodPressure);
        assert_eq!(
            v,
            BTreeMap::from([("diastolic", 92.0), ("pulse", 71.0), ("systolic", 148.0)])
        );
        let e = read_observation(&bp(json!([
            part("8480-6", 148.0, "mm[Hg]"),
            part("8478-0", 110.0, "mm[Hg]"),
        ])))
        .err()
        .unwrap_or_default();
        let paths: Vec<&str> = e.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["component[1].code", "component"], "{e:?}");
        assert!(e[1].message.contains("diastolic"));
        let mut lone = reading("8480-6", 148.0, "mm[Hg]");
        lone["effectiveDateTime"] = json!("2026-11-23T08:30:00Z");
        let e = read_observation(&lone).err().unwrap_or_default();
        assert_eq!(e.first().map(|p| p.path.as_str()), Some("code.coding"));
    }

    #[test]
    fn what_cannot_be_taken_is_named() {
        // An unknown code.
        let e = read_observation(&reading("1234-5", 1.0, "kg"))
            .err()
            .unwrap_or_default();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].path, "code.coding");
        assert!(e[0].message.contains("http://loinc.org|1234-5"), "{}", e[0].message);
        // A missing value.
        let mut r = without(reading("29463-7", 70.0, "kg"), &["valueQuantity"]);
        r["dataAbsentReason"] = absent();
        let e = read_observation(&r).err().unwrap_or_default();
        assert_eq!(e.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(), ["valueQuantity"]);
        let mut r = reading("29463-7", 70.0, "kg");
        r["valueQuantity"] = without(r["valueQuantity"].take(), &["value"]);
        let e = read_observation(&r).err().unwrap_or_default();
        assert_eq!(
            e.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(),
            ["valueQuantity.value"]
        );
        // An unsupported unit.
        let e = read_observation(&reading("29463-7", 11.0, "[stone_av]"))
            .err()
            .unwrap_or_default();
        assert_eq!(
            e.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(),
            ["valueQuantity.code"]
        );
        assert!(e[0].message.contains("[stone_av]") && e[0].message.contains("kg"));
        let mut r = reading("29463-7", 70.0, "kg");
        r["valueQuantity"]["system"] = json!("http://snomed.info/sct");
        let e = read_observation(&r).err().unwrap_or_default();
        assert_eq!(e[0].path, "valueQuantity.system");
        // Another type of value, a status that is not final, no time: all said at once.
        let mut r = without(reading("8867-4", 71.0, "/min"), &["valueQuantity", "effectivePeriod"]);
        r["valueInteger"] = json!(71);
        r["status"] = json!("preliminary");
        let e = read_observation(&r).err().unwrap_or_default();
        assert_eq!(
            e.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(),
            ["status", "effectiveDateTime", "valueInteger"]
        );
        assert!(read_observation(&json!([])).is_err());
        let e = read_observation(&json!({"resourceType": "Patient"}))
            .err()
            .unwrap_or_default();
        assert_eq!(e[0].path, "resourceType");
    }

    #[test]
    fn symptoms_need_words() {
        let r = json!({
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": MEASURE_SYSTEM, "code": "symptoms"}]},
            "effectiveDateTime": "2026-11-23T08:30:00Z",
            "valueString": "  ",
        });
        let e = read_observation(&r).err().unwrap_or_default();
        assert_eq!(e.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(), ["valueString"]);
    }
}
