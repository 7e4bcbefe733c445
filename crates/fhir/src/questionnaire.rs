//! Questionnaires as FHIR R4: reading a Questionnaire into the domain's definition ([`parse`]), the five built-in
//! instruments ([`builtin`]), and answers as a QuestionnaireResponse, both ways ([`response`], [`read_response`]).
//!
//! CarePact takes the part of Questionnaire it can show and check: a flat list of display, choice, integer,
//! decimal, string/text and boolean items, each answered at most once, with answer options listed in the
//! definition, simple `enableWhen` conditions, limits from the `minValue`/`maxValue` extensions and option scores
//! from `ordinalValue` (or the older `itemWeight`). Anything else is refused with a [`Problem`] naming its JSON path
//! rather than half understood. FHIR forbids empty values, so the response leaves out whatever is empty.

use carepact_domain::questionnaire::{
    AnswerOption, AnswerValue, Answers, EnableWhen, Instrument, Item, ItemKind, ItemProblem, Operator, Questionnaire,
    check, enabled,
};
use serde_json::{Map, Value, json};
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use crate::Problem;
use crate::care_plan::{instant, words};

const ORDINAL_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/ordinalValue";
const ITEM_WEIGHT: &str = "http://hl7.org/fhir/StructureDefinition/itemWeight";
const MIN_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/minValue";
const MAX_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/maxValue";

/// The built-in definitions, as shipped.
const BUILTIN: [(Instrument, &str); 5] = [
    (Instrument::Phq9, include_str!("../questionnaires/phq-9.json")),
    (Instrument::Gad7, include_str!("../questionnaires/gad-7.json")),
    (Instrument::Ons4, include_str!("../questionnaires/ons4.json")),
    (
        Instrument::Collaborate,
        include_str!("../questionnaires/collaborate.json"),
    ),
    (Instrument::Semcd6, include_str!("../questionnaires/semcd-6.json")),
];

/// What a QuestionnaireResponse says beyond the answers: its id, whose it is, when and by whom it was completed.
#[derive(Debug, Clone, Copy)]
pub struct ResponseMeta<'a> {
    pub id: uuid::Uuid,
    /// The person, as a reference such as `Patient/<uuid>`.
    pub patient_ref: &'a str,
    pub authored: time::OffsetDateTime,
    /// Who filled it in, when it is worth saying (a carer, a professional in a consultation).
    pub author_display: Option<&'a str>,
}

/// The FHIR R4 JSON of a built-in instrument's definition, as shipped.
pub fn definition(instrument: Instrument) -> &'static str {
    BUILTIN
        .iter()
        .find(|(i, _)| *i == instrument)
        .map_or("", |(_, json)| json)
}

/// The five built-in instruments with their parsed definitions. The definitions are embedded in the binary and a
/// test makes sure each parses; one that did not would be left out rather than stop the server.
pub fn builtin() -> Vec<(Instrument, Questionnaire)> {
    BUILTIN
        .iter()
        .filter_map(|(instrument, text)| {
            let json: Value = serde_json::from_str(text).ok()?;
            let q = parse(&json).ok()?;
            (q.instrument == Some(*instrument)).then_some((*instrument, q))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Reading a Questionnaire
// ---------------------------------------------------------------------------------------------------------------

/// Reads an R4 Questionnaire into the domain's definition, or says everything that is wrong with it.
///
/// Needs `resourceType` Questionnaire, a `url`, a `status` and a `title` (or `name`), and at least one item. Every
/// item needs a unique `linkId`, `text` and a `type` CarePact handles; choice items list their `answerOption`s
/// (codings with a system, whole numbers or text). `enableWhen` must name another question of the same
/// questionnaire, with an answer of that question's type, and the conditions must not loop. A definition whose
/// `url` is a built-in instrument's must have the items that instrument's scoring reads.
pub fn parse(json: &Value) -> Result<Questionnaire, Vec<Problem>> {
    let mut p = Problems::default();
    let Some(obj) = json.as_object() else {
        return Err(vec![Problem::file(
            "",
            "This is not a FHIR resource (not a JSON object).",
        )]);
    };
    if obj.get("resourceType").and_then(Value::as_str) != Some("Questionnaire") {
        p.add("resourceType", "This is not a Questionnaire.");
    }
    let url = p.text(obj, "url", true).unwrap_or_default();
    let version = p.text(obj, "version", false).unwrap_or_default();
    let title = p.text(obj, "title", false).or_else(|| p.text(obj, "name", false));
    if title.is_none() {
        p.add("title", "A questionnaire needs a title (or a name) to show people.");
    }
    let description = p.text(obj, "description", false).unwrap_or_default();
    match obj.get("status").and_then(Value::as_str) {
        Some("draft" | "active" | "retired" | "unknown") => {}
        Some(other) => p.add("status", format!("\"{other}\" is not a Questionnaire status.")),
        None => p.add("status", "A Questionnaire must have status."),
    }
    let items = match obj.get("item").and_then(Value::as_array) {
        Some(items) if !items.is_empty() => read_items(items, &mut p),
        _ => {
            p.add("item", "A questionnaire needs at least one item.");
            Vec::new()
        }
    };
    let instrument = Instrument::from_url(&url);
    let q = Questionnaire {
        url,
        version,
        title: title.unwrap_or_default(),
        description,
        items,
        instrument,
    };
    if let Some(instrument) = instrument {
        for link_id in instrument.unscorable_items(&q) {
            p.add(
                "item",
                format!(
                    "This is the {} questionnaire, but its item {link_id} is missing or not the kind its scoring reads.",
                    instrument.code()
                ),
            );
        }
    }
    p.finish(q)
}

/// Problems found so far, all at the file level.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem::file(path, message));
    }

    /// The trimmed text of `obj[key]` at `path`; a problem when it is there but not text, or needed and missing.
    fn text_at(&mut self, obj: &Map<String, Value>, key: &str, path: &str, needed: bool) -> Option<String> {
        match obj.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => return Some(s.trim().to_owned()),
            Some(Value::String(_)) | None if needed => self.add(path, format!("This needs {key}.")),
            Some(Value::String(_)) | None => {}
            Some(_) => self.add(path, format!("{key} must be text.")),
        }
        None
    }

    fn text(&mut self, obj: &Map<String, Value>, key: &str, needed: bool) -> Option<String> {
        self.text_at(obj, key, key, needed)
    }

    fn finish<T>(self, value: T) -> Result<T, Vec<Problem>> {
        if self.0.is_empty() { Ok(value) } else { Err(self.0) }
    }
}

/// Reads every item, then their enableWhen conditions (which may point forward), then checks for loops. Problems
/// name each item by its place in the JSON.
fn read_items(values: &[Value], p: &mut Problems) -> Vec<Item> {
    let mut items: Vec<(usize, Item)> = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, value) in values.iter().enumerate() {
        if let Some(item) = read_item(value, &format!("item[{i}]"), p) {
            if seen.insert(item.link_id.clone()) {
                items.push((i, item));
            } else {
                p.add(
                    format!("item[{i}].linkId"),
                    format!("The linkId \"{}\" is used by more than one item.", item.link_id),
                );
            }
        }
    }
    let kinds: BTreeMap<String, ItemKind> = items
        .iter()
        .map(|(_, it)| (it.link_id.clone(), it.kind.clone()))
        .collect();
    for (i, item) in &mut items {
        if let Some(obj) = values.get(*i).and_then(Value::as_object) {
            read_conditions(obj, item, &kinds, &format!("item[{i}]"), p);
        }
    }
    let by_link_id: BTreeMap<&str, &Item> = items.iter().map(|(_, item)| (item.link_id.as_str(), item)).collect();
    for (i, item) in &items {
        if loops_back(&by_link_id, item) {
            p.add(
                format!("item[{i}].enableWhen"),
                format!(
                    "Whether item \"{}\" is shown depends, in a loop, on itself.",
                    item.link_id
                ),
            );
        }
    }
    items.into_iter().map(|(_, item)| item).collect()
}

/// One item without its conditions; nothing when it cannot be read (the problems say why).
fn read_item(value: &Value, path: &str, p: &mut Problems) -> Option<Item> {
    let Some(obj) = value.as_object() else {
        p.add(path, "An item must be a JSON object.");
        return None;
    };
    let link_id = p.text_at(obj, "linkId", &format!("{path}.linkId"), true);
    let text = p.text_at(obj, "text", &format!("{path}.text"), true);
    let required = flag(obj, "required", path, p);
    if flag(obj, "repeats", path, p) {
        p.add(
            format!("{path}.repeats"),
            "Items that take more than one answer are not supported.",
        );
    }
    if obj.contains_key("item") {
        p.add(
            format!("{path}.item"),
            "Groups and nested items are not supported: list the items one after another.",
        );
    }
    if obj.contains_key("answerValueSet") {
        p.add(
            format!("{path}.answerValueSet"),
            "Answer value sets are not supported: list the answerOptions.",
        );
    }
    let kind = read_kind(obj, path, p)?;
    if required && kind == ItemKind::Display {
        p.add(format!("{path}.required"), "A display item cannot be required.");
    }
    Some(Item {
        link_id: link_id?,
        text: text?,
        kind,
        required,
        enable_when: Vec::new(),
        enable_all: true,
    })
}

/// A true/false element of an item: false when absent, a problem when not a boolean.
fn flag(obj: &Map<String, Value>, key: &str, path: &str, p: &mut Problems) -> bool {
    match obj.get(key) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            p.add(format!("{path}.{key}"), format!("{key} must be true or false."));
            false
        }
    }
}

fn read_kind(obj: &Map<String, Value>, path: &str, p: &mut Problems) -> Option<ItemKind> {
    let type_path = format!("{path}.type");
    let kind = match obj.get("type").and_then(Value::as_str) {
        Some("display") => ItemKind::Display,
        Some("choice") => ItemKind::Choice {
            options: read_options(obj, path, p),
        },
        Some("integer") => ItemKind::Integer {
            min: limit(obj, MIN_VALUE, path, p, Value::as_i64),
            max: limit(obj, MAX_VALUE, path, p, Value::as_i64),
        },
        Some("decimal") => ItemKind::Decimal {
            min: limit(obj, MIN_VALUE, path, p, finite),
            max: limit(obj, MAX_VALUE, path, p, finite),
        },
        Some("string" | "text") => ItemKind::String,
        Some("boolean") => ItemKind::Boolean,
        Some("group") => {
            p.add(type_path, "Groups are not supported: list the items one after another.");
            return None;
        }
        Some(other) => {
            p.add(type_path, format!("Items of type \"{other}\" are not supported."));
            return None;
        }
        None => {
            p.add(type_path, "An item must have a type.");
            return None;
        }
    };
    if !matches!(kind, ItemKind::Choice { .. }) && obj.contains_key("answerOption") {
        p.add(format!("{path}.answerOption"), "Only choice items have answer options.");
    }
    let takes_limits = matches!(kind, ItemKind::Integer { .. } | ItemKind::Decimal { .. });
    if !takes_limits && (extension(obj, MIN_VALUE).is_some() || extension(obj, MAX_VALUE).is_some()) {
        p.add(
            format!("{path}.extension"),
            "Only integer and decimal items have minValue and maxValue.",
        );
    }
    let backwards = match &kind {
        ItemKind::Integer {
            min: Some(min),
            max: Some(max),
        } => min > max,
        ItemKind::Decimal {
            min: Some(min),
            max: Some(max),
        } => min > max,
        _ => false,
    };
    if backwards {
        p.add(format!("{path}.extension"), "minValue is above maxValue.");
    }
    Some(kind)
}

fn finite(value: &Value) -> Option<f64> {
    value.as_f64().filter(|x| x.is_finite())
}

/// The extension with this URL among `obj.extension`, with its index.
fn extension<'a>(obj: &'a Map<String, Value>, url: &str) -> Option<(usize, &'a Map<String, Value>)> {
    obj.get("extension")?
        .as_array()?
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some((i, e.as_object()?)))
        .find(|(_, e)| e.get("url").and_then(Value::as_str) == Some(url))
}

/// A minValue or maxValue limit, read by `number` from the extension's `valueInteger` (or, for decimals,
/// `valueDecimal`).
fn limit<T>(
    obj: &Map<String, Value>,
    url: &str,
    path: &str,
    p: &mut Problems,
    number: fn(&Value) -> Option<T>,
) -> Option<T> {
    let (i, ext) = extension(obj, url)?;
    let value = ext.get("valueInteger").or_else(|| ext.get("valueDecimal"));
    let read = value.and_then(number);
    if read.is_none() {
        p.add(
            format!("{path}.extension[{i}]"),
            "This limit must be a number of the item's type (valueInteger or valueDecimal).",
        );
    }
    read
}

fn read_options(obj: &Map<String, Value>, path: &str, p: &mut Problems) -> Vec<AnswerOption> {
    let Some(values) = obj
        .get("answerOption")
        .and_then(Value::as_array)
        .filter(|v| !v.is_empty())
    else {
        p.add(
            format!("{path}.answerOption"),
            "A choice item must list its answerOptions.",
        );
        return Vec::new();
    };
    let mut options: Vec<AnswerOption> = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let option_path = format!("{path}.answerOption[{i}]");
        let Some(option) = read_option(value, &option_path, p) else {
            continue;
        };
        if options.iter().any(|o| o.code == option.code) {
            p.add(option_path, format!("The option \"{}\" is listed twice.", option.code));
        } else {
            options.push(option);
        }
    }
    options
}

/// One answer option: a coding (with a system), a whole number, or text.
fn read_option(value: &Value, path: &str, p: &mut Problems) -> Option<AnswerOption> {
    let Some(obj) = value.as_object() else {
        p.add(path, "An answerOption must be a JSON object.");
        return None;
    };
    let coding = obj.get("valueCoding").and_then(Value::as_object);
    let score = option_score(obj, coding, path, p);
    if let Some(coding) = coding {
        let system = p.text_at(coding, "system", &format!("{path}.valueCoding.system"), true);
        let code = p.text_at(coding, "code", &format!("{path}.valueCoding.code"), true)?;
        let display = p.text_at(coding, "display", &format!("{path}.valueCoding.display"), false);
        return Some(AnswerOption {
            display: display.unwrap_or_else(|| code.clone()),
            code,
            system: Some(system?),
            score: score?,
        });
    }
    if let Some(n) = obj.get("valueInteger").and_then(Value::as_i64) {
        return Some(AnswerOption {
            code: n.to_string(),
            system: None,
            display: n.to_string(),
            score: score?.or(Some(n)),
        });
    }
    if let Some(text) = obj.get("valueString").and_then(Value::as_str).and_then(words) {
        if whole_number(text).is_some() {
            p.add(
                format!("{path}.valueString"),
                "A whole-number option must be a valueInteger, not a valueString.",
            );
            return None;
        }
        return Some(AnswerOption {
            code: text.to_owned(),
            system: None,
            display: text.to_owned(),
            score: score?,
        });
    }
    p.add(
        path,
        "An answerOption must be a valueCoding, a valueInteger or a non-empty valueString.",
    );
    None
}

/// The option's score from the ordinalValue (or itemWeight) extension on the option or on its coding: `Some(None)`
/// when it has none, `None` when the score cannot be read.
fn option_score(
    obj: &Map<String, Value>,
    coding: Option<&Map<String, Value>>,
    path: &str,
    p: &mut Problems,
) -> Option<Option<i64>> {
    let places = [(Some(obj), path.to_owned()), (coding, format!("{path}.valueCoding"))];
    for (place, place_path) in places {
        let Some(place) = place else { continue };
        let Some((i, ext)) = extension(place, ORDINAL_VALUE).or_else(|| extension(place, ITEM_WEIGHT)) else {
            continue;
        };
        let value = ext
            .get("valueDecimal")
            .or_else(|| ext.get("valueInteger"))
            .and_then(finite);
        return match value.filter(|x| x.fract() == 0.0 && x.abs() < 1e15) {
            Some(x) => Some(Some(x as i64)),
            None => {
                p.add(
                    format!("{place_path}.extension[{i}]"),
                    "An option's score must be a whole number.",
                );
                None
            }
        };
    }
    Some(None)
}

/// The number when `text` is written exactly as a whole number is (so "7" but not "07" or "+7").
fn whole_number(text: &str) -> Option<i64> {
    text.parse::<i64>().ok().filter(|n| n.to_string() == text)
}

/// Reads the item's enableWhen conditions and enableBehavior, given every item's kind by link id.
fn read_conditions(
    obj: &Map<String, Value>,
    item: &mut Item,
    kinds: &BTreeMap<String, ItemKind>,
    path: &str,
    p: &mut Problems,
) {
    match obj.get("enableBehavior") {
        None => {}
        Some(Value::String(b)) if b == "all" => item.enable_all = true,
        Some(Value::String(b)) if b == "any" => item.enable_all = false,
        Some(_) => p.add(
            format!("{path}.enableBehavior"),
            "enableBehavior must be \"all\" or \"any\".",
        ),
    }
    let Some(conditions) = obj.get("enableWhen") else {
        return;
    };
    let Some(conditions) = conditions.as_array() else {
        p.add(format!("{path}.enableWhen"), "enableWhen must be a list.");
        return;
    };
    for (j, condition) in conditions.iter().enumerate() {
        let condition_path = format!("{path}.enableWhen[{j}]");
        if let Some(condition) = read_condition(condition, &item.link_id, kinds, &condition_path, p) {
            item.enable_when.push(condition);
        }
    }
}

fn read_condition(
    value: &Value,
    own_link_id: &str,
    kinds: &BTreeMap<String, ItemKind>,
    path: &str,
    p: &mut Problems,
) -> Option<EnableWhen> {
    let Some(obj) = value.as_object() else {
        p.add(path, "An enableWhen condition must be a JSON object.");
        return None;
    };
    let question = p.text_at(obj, "question", &format!("{path}.question"), true)?;
    let kind = match kinds.get(&question) {
        _ if question == own_link_id => {
            p.add(format!("{path}.question"), "An item cannot depend on its own answer.");
            return None;
        }
        Some(ItemKind::Display) => {
            p.add(
                format!("{path}.question"),
                format!("\"{question}\" is display text: it has no answer."),
            );
            return None;
        }
        Some(kind) => kind,
        None => {
            p.add(
                format!("{path}.question"),
                format!("There is no question \"{question}\" in this questionnaire."),
            );
            return None;
        }
    };
    let operator = match obj.get("operator").and_then(Value::as_str) {
        Some("exists") => Operator::Exists,
        Some("=") => Operator::Eq,
        Some("!=") => Operator::Ne,
        Some(">") => Operator::Gt,
        Some("<") => Operator::Lt,
        Some(">=") => Operator::Ge,
        Some("<=") => Operator::Le,
        _ => {
            p.add(
                format!("{path}.operator"),
                "operator must be one of exists, =, !=, >, <, >=, <=.",
            );
            return None;
        }
    };
    let answer = condition_answer(obj, operator, kind, path, p)?;
    Some(EnableWhen {
        question,
        operator,
        answer,
    })
}

/// The condition's answer[x], typed for the question it looks at: a Boolean for `exists`; otherwise the
/// question's own type, with ordering operators only for numbers.
fn condition_answer(
    obj: &Map<String, Value>,
    operator: Operator,
    kind: &ItemKind,
    path: &str,
    p: &mut Problems,
) -> Option<AnswerValue> {
    let answers: Vec<(&String, &Value)> = obj.iter().filter(|(k, _)| k.starts_with("answer")).collect();
    let [(key, value)] = answers.as_slice() else {
        p.add(
            format!("{path}.answer[x]"),
            "An enableWhen condition needs exactly one answer[x].",
        );
        return None;
    };
    let answer_path = format!("{path}.{key}");
    let ordering = matches!(operator, Operator::Gt | Operator::Lt | Operator::Ge | Operator::Le);
    let answer = match (operator, kind, key.as_str()) {
        (Operator::Exists, _, "answerBoolean") => value.as_bool().map(AnswerValue::Boolean),
        (Operator::Exists, _, _) => None,
        (_, ItemKind::Integer { .. }, "answerInteger") => value.as_i64().map(AnswerValue::Integer),
        (_, ItemKind::Decimal { .. }, "answerDecimal" | "answerInteger") => finite(value).map(AnswerValue::Decimal),
        (_, _, _) if ordering => None,
        (_, ItemKind::Choice { options }, _) => choice_value(options, key, value).map(AnswerValue::Code),
        (_, ItemKind::String, "answerString") => value.as_str().map(|s| AnswerValue::String(s.to_owned())),
        (_, ItemKind::Boolean, "answerBoolean") => value.as_bool().map(AnswerValue::Boolean),
        _ => None,
    };
    if answer.is_none() {
        p.add(
            answer_path,
            "This answer does not fit the question it looks at (exists takes answerBoolean; >, <, >= and <= only \
             compare numbers; a choice takes one of its options).",
        );
    }
    answer
}

/// The code of the option that a value[x] (or answer[x]) of `key` names, among a choice item's options.
fn choice_value(options: &[AnswerOption], key: &str, value: &Value) -> Option<String> {
    let matches = |system: Option<&str>, code: &str| {
        options
            .iter()
            .find(|o| o.system.as_deref() == system && o.code == code)
            .map(|o| o.code.clone())
    };
    match key {
        "valueCoding" | "answerCoding" => {
            let coding = value.as_object()?;
            let system = coding.get("system").and_then(Value::as_str)?;
            matches(Some(system), coding.get("code").and_then(Value::as_str)?)
        }
        "valueInteger" | "answerInteger" => matches(None, &value.as_i64()?.to_string()),
        "valueString" | "answerString" => matches(None, value.as_str()?),
        _ => None,
    }
}

/// Whether the conditions for showing `item` lead, through other items' conditions, back to it. `by_link_id` holds
/// every item.
fn loops_back(by_link_id: &BTreeMap<&str, &Item>, item: &Item) -> bool {
    let mut to_visit: Vec<&str> = item.enable_when.iter().map(|c| c.question.as_str()).collect();
    let mut visited = BTreeSet::new();
    while let Some(link_id) = to_visit.pop() {
        if link_id == item.link_id {
            return true;
        }
        if visited.insert(link_id)
            && let Some(next) = by_link_id.get(link_id)
        {
            to_visit.extend(next.enable_when.iter().map(|c| c.question.as_str()));
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------------------------
// QuestionnaireResponse
// ---------------------------------------------------------------------------------------------------------------

/// The canonical reference to the definition: `url|version`, or the url alone when it has no version.
fn canonical(q: &Questionnaire) -> String {
    if q.version.is_empty() {
        q.url.clone()
    } else {
        format!("{}|{}", q.url, q.version)
    }
}

/// The answers as a completed R4 QuestionnaireResponse, items in the questionnaire's order. Only answers that fit
/// an enabled question of `q` are written (answers from [`read_response`] or the domain's `read_form` or `check`
/// all do); anything else is left out rather than written invalid. It does not check that required questions are
/// answered: the answers' checks did.
pub fn response(q: &Questionnaire, answers: &Answers, meta: &ResponseMeta) -> Value {
    let answers = fitting_answers(q, answers);
    let items: Vec<Value> = q
        .items
        .iter()
        .filter_map(|item| {
            let answer = answer_json(item, answers.get(&item.link_id)?)?;
            let mut out = json!({"linkId": item.link_id, "answer": [answer]});
            if let Some(text) = words(&item.text) {
                out["text"] = json!(text);
            }
            Some(out)
        })
        .collect();
    let mut resource = json!({
        "resourceType": "QuestionnaireResponse",
        "id": meta.id.to_string(),
        "questionnaire": canonical(q),
        "status": "completed",
        "subject": {"reference": meta.patient_ref},
    });
    if let Some(authored) = instant(meta.authored) {
        resource["authored"] = json!(authored);
    }
    if let Some(author) = meta.author_display.and_then(words) {
        resource["author"] = json!({"display": author});
    }
    if !items.is_empty() {
        resource["item"] = json!(items);
    }
    resource
}

/// The answers that fit questions of `q` and whose questions are enabled.
fn fitting_answers(q: &Questionnaire, answers: &Answers) -> Answers {
    let fitting: Answers = answers
        .iter()
        .filter(|(link_id, value)| q.item(link_id).is_some_and(|item| item.kind.accepts(value).is_ok()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    fitting
        .iter()
        .filter(|(link_id, _)| enabled(q, &fitting, link_id))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// One answer's value[x] for its item.
fn answer_json(item: &Item, value: &AnswerValue) -> Option<Value> {
    Some(match (&item.kind, value) {
        (ItemKind::Choice { options }, AnswerValue::Code(code)) => {
            let option = options.iter().find(|o| o.code == *code)?;
            match (&option.system, whole_number(&option.code)) {
                (Some(system), _) => {
                    json!({"valueCoding": {"system": system, "code": option.code, "display": option.display}})
                }
                (None, Some(n)) => json!({"valueInteger": n}),
                (None, None) => json!({"valueString": option.code}),
            }
        }
        (ItemKind::Integer { .. }, AnswerValue::Integer(n)) => json!({"valueInteger": n}),
        (ItemKind::Decimal { .. }, AnswerValue::Decimal(x)) if x.is_finite() => json!({"valueDecimal": x}),
        (ItemKind::String, AnswerValue::String(s)) => json!({"valueString": words(s)?}),
        (ItemKind::Boolean, AnswerValue::Boolean(b)) => json!({"valueBoolean": b}),
        _ => return None,
    })
}

/// Reads the answers of an R4 QuestionnaireResponse to `q` (from the FHIR API), checking them against it: the
/// response must be `completed` (or `amended`) and point at `q`; each item must be a question of `q`, once, with
/// at most one answer of the question's type (a choice's answer must be one of its options); no answer may be given
/// to a question that is not shown; values must be within limits; required questions that are shown must be
/// answered.
pub fn read_response(q: &Questionnaire, json: &Value) -> Result<Answers, Vec<Problem>> {
    let mut p = Problems::default();
    let Some(obj) = json.as_object() else {
        return Err(vec![Problem::file(
            "",
            "This is not a FHIR resource (not a JSON object).",
        )]);
    };
    if obj.get("resourceType").and_then(Value::as_str) != Some("QuestionnaireResponse") {
        p.add("resourceType", "This is not a QuestionnaireResponse.");
    }
    check_canonical(q, obj.get("questionnaire"), &mut p);
    match obj.get("status").and_then(Value::as_str) {
        Some("completed" | "amended") => {}
        _ => p.add("status", "Only a completed (or amended) response can be taken."),
    }
    let mut answers = Answers::new();
    let mut paths = BTreeMap::new();
    match obj.get("item") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("item[{i}]");
                if let Some((link_id, value)) = read_answer(q, item, &path, &mut p) {
                    match answers.entry(link_id) {
                        Entry::Occupied(seen) => p.add(
                            format!("{path}.linkId"),
                            format!("\"{}\" is answered more than once.", seen.key()),
                        ),
                        Entry::Vacant(slot) => {
                            paths.insert(slot.key().clone(), path);
                            slot.insert(value);
                        }
                    }
                }
            }
        }
        Some(_) => p.add("item", "item must be a list."),
    }
    for (link_id, path) in &paths {
        if !enabled(q, &answers, link_id) {
            p.add(
                format!("{path}.answer"),
                format!("\"{link_id}\" is answered, but its enableWhen conditions say it is not shown."),
            );
        }
    }
    match check(q, &answers) {
        Ok(kept) => p.finish(kept),
        Err(errors) => {
            for error in errors {
                let path = paths
                    .get(&error.link_id)
                    .map_or_else(|| "item".to_owned(), |p| format!("{p}.answer[0]"));
                p.add(path, item_problem(&error.link_id, &error.problem));
            }
            p.finish(answers)
        }
    }
}

/// Checks that `questionnaire` names `q` (its url, and its version when both give one).
fn check_canonical(q: &Questionnaire, value: Option<&Value>, p: &mut Problems) {
    let Some(reference) = value.and_then(Value::as_str) else {
        p.add("questionnaire", "The response must say which questionnaire it answers.");
        return;
    };
    let (url, version) = reference.split_once('|').unwrap_or((reference, ""));
    let version_differs = !version.is_empty() && !q.version.is_empty() && version != q.version;
    if url != q.url || version_differs {
        p.add(
            "questionnaire",
            format!("This response answers {reference}, not {}.", canonical(q)),
        );
    }
}

/// One response item as (link id, typed answer); nothing when it has no answer or cannot be read.
fn read_answer(q: &Questionnaire, value: &Value, path: &str, p: &mut Problems) -> Option<(String, AnswerValue)> {
    let Some(obj) = value.as_object() else {
        p.add(path, "An item must be a JSON object.");
        return None;
    };
    let link_id = p.text_at(obj, "linkId", &format!("{path}.linkId"), true)?;
    let Some(item) = q.item(&link_id) else {
        p.add(
            format!("{path}.linkId"),
            format!("The questionnaire has no item \"{link_id}\"."),
        );
        return None;
    };
    if obj.contains_key("item") {
        p.add(format!("{path}.item"), "Nested items are not supported.");
    }
    let answers = match obj.get("answer") {
        None => return None,
        Some(Value::Array(answers)) => answers,
        Some(_) => {
            p.add(format!("{path}.answer"), "answer must be a list.");
            return None;
        }
    };
    match answers.as_slice() {
        [] => None,
        [_] if !item.kind.is_question() => {
            p.add(
                format!("{path}.answer"),
                format!("\"{link_id}\" is display text: it takes no answer."),
            );
            None
        }
        [answer] => {
            let answer_path = format!("{path}.answer[0]");
            let value = typed_answer(&item.kind, answer);
            if value.is_none() {
                p.add(answer_path, expected(&item.kind));
            }
            Some((link_id, value?))
        }
        _ => {
            p.add(
                format!("{path}.answer"),
                format!("\"{link_id}\" takes one answer only."),
            );
            None
        }
    }
}

/// An answer's value[x] as a typed answer to a question of this kind.
fn typed_answer(kind: &ItemKind, answer: &Value) -> Option<AnswerValue> {
    let obj = answer.as_object()?;
    let values: Vec<(&String, &Value)> = obj.iter().filter(|(k, _)| k.starts_with("value")).collect();
    let [(key, value)] = values.as_slice() else {
        return None;
    };
    match (kind, key.as_str()) {
        (ItemKind::Choice { options }, _) => choice_value(options, key, value).map(AnswerValue::Code),
        (ItemKind::Integer { .. }, "valueInteger") => value.as_i64().map(AnswerValue::Integer),
        (ItemKind::Decimal { .. }, "valueDecimal") => finite(value).map(AnswerValue::Decimal),
        (ItemKind::String, "valueString") => value.as_str().map(|s| AnswerValue::String(s.to_owned())),
        (ItemKind::Boolean, "valueBoolean") => value.as_bool().map(AnswerValue::Boolean),
        _ => None,
    }
}

/// What an answer to a question of this kind must be, in plain words.
fn expected(kind: &ItemKind) -> &'static str {
    match kind {
        ItemKind::Choice { .. } => "The answer must be one value[x] naming one of the question's options.",
        ItemKind::Integer { .. } => "The answer must be one valueInteger.",
        ItemKind::Decimal { .. } => "The answer must be one valueDecimal.",
        ItemKind::String => "The answer must be one valueString.",
        ItemKind::Boolean => "The answer must be one valueBoolean.",
        ItemKind::Display => "Display text takes no answer.",
    }
}

fn item_problem(link_id: &str, problem: &ItemProblem) -> String {
    match problem {
        ItemProblem::Required => format!("\"{link_id}\" is required and not answered."),
        ItemProblem::TooLow(limit) => format!("The answer to \"{link_id}\" is below its minimum, {limit}."),
        ItemProblem::TooHigh(limit) => format!("The answer to \"{link_id}\" is above its maximum, {limit}."),
        ItemProblem::NotANumber | ItemProblem::UnknownOption => {
            format!("The answer to \"{link_id}\" does not fit the question ({problem}).")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::care_plan::tests::assert_no_empties;
    use carepact_domain::questionnaire::read_form;
    use time::macros::datetime;

    fn meta() -> ResponseMeta<'static> {
        ResponseMeta {
            id: uuid::Uuid::from_u128(7),
            patient_ref: "Patient/p",
            authored: datetime!(2026-11-23 10:00 +01:00),
            author_display: Some("Amina Khan"),
        }
    }

    fn builtin_q(instrument: Instrument) -> Questionnaire {
        builtin().into_iter().find(|(i, _)| *i == instrument).unwrap().1
    }

    /// An answer to every question of `q`: the option or value at `pick` (0 = first/lowest, 1 = last/highest).
    fn full_answers(q: &Questionnaire, highest: bool) -> Answers {
        q.items
            .iter()
            .filter_map(|item| {
                let value = match &item.kind {
                    ItemKind::Choice { options } => {
                        let option = if highest { options.last() } else { options.first() };
                        AnswerValue::Code(option?.code.clone())
                    }
                    ItemKind::Integer { min, max } => AnswerValue::Integer(if highest { (*max)? } else { (*min)? }),
                    _ => return None,
                };
                Some((item.link_id.clone(), value))
            })
            .collect()
    }

    fn paths(result: Result<impl std::fmt::Debug, Vec<Problem>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn every_builtin_parses_with_its_metadata_and_scores_a_full_set_of_answers() {
        let all = builtin();
        assert_eq!(all.iter().map(|(i, _)| *i).collect::<Vec<_>>(), Instrument::ALL);
        for (instrument, q) in &all {
            let json: Value = serde_json::from_str(definition(*instrument)).unwrap();
            assert_eq!(json["id"], instrument.code());
            assert_eq!(json["url"], instrument.url());
            assert_eq!(json["version"], "1");
            assert_eq!(json["status"], "active");
            assert_eq!(json["publisher"], "CarePact");
            assert!(
                json["name"]
                    .as_str()
                    .unwrap()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric())
            );
            assert_no_empties(&json);
            assert_eq!(q.url, instrument.url());
            assert_eq!(q.instrument, Some(*instrument));
            assert!(!q.title.is_empty() && !q.description.is_empty());
            assert!(instrument.unscorable_items(q).is_empty(), "{instrument:?}");
            for link_id in instrument.scored_items() {
                assert!(q.item(link_id).is_some_and(|i| i.kind.is_question()), "{link_id}");
            }

            for highest in [false, true] {
                let answers = check(q, &full_answers(q, highest)).unwrap();
                let score = instrument
                    .score(&answers)
                    .unwrap_or_else(|| panic!("{instrument:?} scores"));
                let figures: Vec<(&str, i64)> = score.parts.iter().map(|p| (p.key, p.value_tenths)).collect();
                let expected: Vec<(&str, i64)> = match (instrument, highest) {
                    (Instrument::Phq9, false) => vec![("total", 0)],
                    (Instrument::Phq9, true) => vec![("total", 270)],
                    (Instrument::Gad7, false) => vec![("total", 0)],
                    (Instrument::Gad7, true) => vec![("total", 210)],
                    (Instrument::Ons4, v) => ["life-satisfaction", "worthwhile", "happiness", "anxiety"]
                        .into_iter()
                        .map(|k| (k, if v { 100 } else { 0 }))
                        .collect(),
                    (Instrument::Collaborate, false) => vec![("total", 0), ("mean", 0), ("top-score", 0)],
                    (Instrument::Collaborate, true) => vec![("total", 270), ("mean", 90), ("top-score", 10)],
                    (Instrument::Semcd6, false) => vec![("mean", 10)],
                    (Instrument::Semcd6, true) => vec![("mean", 100)],
                };
                assert_eq!(figures, expected, "{instrument:?}, highest {highest}");
                assert_eq!(score.urgent, *instrument == Instrument::Phq9 && highest);
            }
        }
    }

    #[test]
    fn builtin_option_scores_agree_with_the_scoring() {
        for instrument in [Instrument::Phq9, Instrument::Gad7] {
            let q = builtin_q(instrument);
            for link_id in instrument.scored_items() {
                let Some(ItemKind::Choice { options }) = q.item(link_id).map(|i| &i.kind) else {
                    panic!("{link_id} is a choice");
                };
                let scores: Vec<_> = options
                    .iter()
                    .map(|o| (o.code.as_str(), o.display.as_str(), o.score))
                    .collect();
                assert_eq!(
                    scores,
                    [
                        ("LA6568-5", "Not at all", Some(0)),
                        ("LA6569-3", "Several days", Some(1)),
                        ("LA6570-1", "More than half the days", Some(2)),
                        ("LA6571-9", "Nearly every day", Some(3)),
                    ]
                );
            }
        }
    }

    #[test]
    fn phq9_difficulty_is_asked_only_when_a_problem_was_reported() {
        let q = builtin_q(Instrument::Phq9);
        let mut form: BTreeMap<String, String> = Instrument::Phq9
            .scored_items()
            .iter()
            .map(|id| (id.to_string(), "LA6568-5".to_string()))
            .collect();
        form.insert("phq9-difficulty".into(), "LA6573-5".into());
        let answers = read_form(&q, &form).unwrap();
        assert!(
            !answers.contains_key("phq9-difficulty"),
            "no problems, so the difficulty question is not shown"
        );
        assert_eq!(
            Instrument::Phq9.score(&answers).unwrap().headline.unwrap().value_tenths,
            0
        );

        form.insert("phq9-4".into(), "LA6570-1".into());
        let answers = read_form(&q, &form).unwrap();
        assert_eq!(
            answers.get("phq9-difficulty"),
            Some(&AnswerValue::Code("LA6573-5".into()))
        );
        let score = Instrument::Phq9.score(&answers).unwrap();
        assert_eq!((score.headline.unwrap().value_tenths, score.urgent), (20, false));
    }

    #[test]
    fn every_builtin_round_trips_through_a_questionnaire_response() {
        for (instrument, q) in builtin() {
            for answers in [full_answers(&q, false), full_answers(&q, true)] {
                let answers = check(&q, &answers).unwrap();
                let json = response(&q, &answers, &meta());
                assert_no_empties(&json);
                assert_eq!(json["questionnaire"], format!("{}|1", instrument.url()));
                assert_eq!(read_response(&q, &json), Ok(answers.clone()), "{instrument:?}");
            }
        }
        let q = builtin_q(Instrument::Semcd6);
        let partial = Answers::from([
            ("semcd6-1".to_string(), AnswerValue::Integer(7)),
            ("semcd6-4".to_string(), AnswerValue::Integer(3)),
        ]);
        let json = response(&q, &partial, &meta());
        assert_eq!(json["item"].as_array().unwrap().len(), 2);
        assert_eq!(read_response(&q, &json), Ok(partial));
    }

    #[test]
    fn response_has_the_r4_shape() {
        let q = builtin_q(Instrument::Phq9);
        let mut answers = full_answers(&q, false);
        answers.insert("phq9-2".into(), AnswerValue::Code("LA6570-1".into()));
        answers.insert("phq9-difficulty".into(), AnswerValue::Code("LA6575-0".into()));
        answers.insert("phq9-intro".into(), AnswerValue::String("not a question".into()));
        answers.insert("nonsense".into(), AnswerValue::Integer(1));
        let json = response(&q, &answers, &meta());
        assert_eq!(json["resourceType"], "QuestionnaireResponse");
        assert_eq!(json["id"], uuid::Uuid::from_u128(7).to_string());
        assert_eq!(json["status"], "completed");
        assert_eq!(json["subject"], json!({"reference": "Patient/p"}));
        assert_eq!(json["authored"], "2026-11-23T09:00:00Z");
        assert_eq!(json["author"], json!({"display": "Amina Khan"}));
        let items = json["item"].as_array().unwrap();
        assert_eq!(
            items.len(),
            10,
            "nine questions and the difficulty question, nothing else"
        );
        assert_eq!(
            items[1],
            json!({
                "linkId": "phq9-2",
                "text": "Feeling down, depressed, or hopeless",
                "answer": [{"valueCoding": {"system": "http://loinc.org", "code": "LA6570-1", "display": "More than half the days"}}]
            })
        );
        assert_eq!(items[9]["answer"][0]["valueCoding"]["display"], "Very difficult");

        let bare = ResponseMeta {
            author_display: Some("  "),
            ..meta()
        };
        let json = response(&q, &Answers::new(), &bare);
        assert_no_empties(&json);
        assert!(json.get("author").is_none() && json.get("item").is_none());
    }

    /// A questionnaire using every item type, option form and condition form CarePact reads.
    fn general() -> Value {
        json!({
            "resourceType": "Questionnaire",
            "url": "https://example.org/Questionnaire/general",
            "name": "General",
            "status": "draft",
            "item": [
                {"linkId": "intro", "text": "About you", "type": "display"},
                {"linkId": "smoker", "text": "Do you smoke?", "type": "boolean", "required": true},
                {"linkId": "per-day", "text": "How many a day?", "type": "integer", "required": true,
                 "extension": [
                    {"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": 1},
                    {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 100}
                 ],
                 "enableWhen": [{"question": "smoker", "operator": "=", "answerBoolean": true}]},
                {"linkId": "weight", "text": "Weight (kg)", "type": "decimal",
                 "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueDecimal": 20.5}]},
                {"linkId": "stairs", "text": "Flights of stairs", "type": "choice",
                 "answerOption": [{"valueInteger": 0}, {"valueInteger": 1},
                                  {"valueInteger": 2, "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/itemWeight", "valueDecimal": 5}]}]},
                {"linkId": "mood", "text": "Mood", "type": "choice",
                 "answerOption": [{"valueString": "Good"}, {"valueString": "Bad"},
                                  {"valueCoding": {"system": "urn:x", "code": "meh",
                                   "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 1.0}]}}]},
                {"linkId": "heavy", "text": "Why so many?", "type": "text",
                 "enableWhen": [
                    {"question": "per-day", "operator": ">=", "answerInteger": 20},
                    {"question": "weight", "operator": "exists", "answerBoolean": false},
                    {"question": "mood", "operator": "=", "answerString": "Bad"}
                 ],
                 "enableBehavior": "any"}
            ]
        })
    }

    #[test]
    fn parse_reads_every_supported_shape() {
        let q = parse(&general()).unwrap();
        assert_eq!(
            (q.title.as_str(), q.version.as_str(), q.instrument),
            ("General", "", None)
        );
        assert_eq!(q.items.len(), 7);
        assert_eq!(q.item("intro").unwrap().kind, ItemKind::Display);
        assert_eq!(
            q.item("per-day").unwrap().kind,
            ItemKind::Integer {
                min: Some(1),
                max: Some(100)
            }
        );
        assert_eq!(
            q.item("weight").unwrap().kind,
            ItemKind::Decimal {
                min: Some(20.5),
                max: None
            }
        );
        assert_eq!(q.item("heavy").unwrap().kind, ItemKind::String);
        let Some(ItemKind::Choice { options }) = q.item("stairs").map(|i| &i.kind) else {
            panic!()
        };
        let stairs: Vec<_> = options
            .iter()
            .map(|o| (o.code.as_str(), o.system.is_none(), o.score))
            .collect();
        assert_eq!(
            stairs,
            [("0", true, Some(0)), ("1", true, Some(1)), ("2", true, Some(5))]
        );
        let Some(ItemKind::Choice { options }) = q.item("mood").map(|i| &i.kind) else {
            panic!()
        };
        assert_eq!(
            options[2],
            AnswerOption {
                code: "meh".into(),
                system: Some("urn:x".into()),
                display: "meh".into(),
                score: Some(1)
            }
        );
        let heavy = q.item("heavy").unwrap();
        assert!(!heavy.enable_all);
        assert_eq!(
            heavy.enable_when,
            [
                EnableWhen {
                    question: "per-day".into(),
                    operator: Operator::Ge,
                    answer: AnswerValue::Integer(20)
                },
                EnableWhen {
                    question: "weight".into(),
                    operator: Operator::Exists,
                    answer: AnswerValue::Boolean(false)
                },
                EnableWhen {
                    question: "mood".into(),
                    operator: Operator::Eq,
                    answer: AnswerValue::Code("Bad".into())
                },
            ]
        );
        assert!(q.item("smoker").unwrap().required);
    }

    #[test]
    fn general_answers_round_trip_as_integer_string_and_coded_options() {
        let q = parse(&general()).unwrap();
        let answers = Answers::from([
            ("smoker".to_string(), AnswerValue::Boolean(true)),
            ("per-day".to_string(), AnswerValue::Integer(25)),
            ("weight".to_string(), AnswerValue::Decimal(72.5)),
            ("stairs".to_string(), AnswerValue::Code("2".into())),
            ("mood".to_string(), AnswerValue::Code("Good".into())),
            ("heavy".to_string(), AnswerValue::String("Stress at work".into())),
        ]);
        let json = response(&q, &answers, &meta());
        let values: Vec<Value> = json["item"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["answer"][0].clone())
            .collect();
        assert_eq!(
            values,
            [
                json!({"valueBoolean": true}),
                json!({"valueInteger": 25}),
                json!({"valueDecimal": 72.5}),
                json!({"valueInteger": 2}),
                json!({"valueString": "Good"}),
                json!({"valueString": "Stress at work"}),
            ]
        );
        assert_eq!(json["questionnaire"], "https://example.org/Questionnaire/general");
        assert_eq!(read_response(&q, &json), Ok(answers));
    }

    /// `general()` with `change` applied, parsed; the paths of the problems.
    fn broken(change: impl FnOnce(&mut Value)) -> Vec<String> {
        let mut json = general();
        change(&mut json);
        paths(parse(&json))
    }

    #[test]
    fn parse_refuses_what_it_cannot_handle_naming_the_path() {
        assert_eq!(
            broken(|j| j["item"][1].as_object_mut().unwrap().clear()),
            [
                "item[1].linkId",
                "item[1].text",
                "item[1].type",
                // per-day's condition then points at an item that could not be read.
                "item[2].enableWhen[0].question",
            ]
        );
        // The second "smoker" is left out, so the condition on "weight" points at nothing.
        assert_eq!(
            broken(|j| j["item"][3]["linkId"] = json!("smoker")),
            ["item[3].linkId", "item[6].enableWhen[1].question"]
        );
        assert_eq!(broken(|j| j["item"][0]["type"] = json!("attachment")), ["item[0].type"]);
        assert_eq!(broken(|j| j["item"][0]["type"] = json!("group")), ["item[0].type"]);
        assert_eq!(
            broken(|j| j["item"][0]["item"] = json!([{"linkId": "x"}])),
            ["item[0].item"]
        );
        assert_eq!(broken(|j| j["item"][1]["repeats"] = json!(true)), ["item[1].repeats"]);
        assert_eq!(broken(|j| j["item"][0]["required"] = json!(true)), ["item[0].required"]);
        assert_eq!(
            broken(|j| j["item"][2]["enableWhen"][0]["question"] = json!("smokes")),
            ["item[2].enableWhen[0].question"]
        );
        assert_eq!(
            broken(|j| j["item"][2]["enableWhen"][0]["question"] = json!("intro")),
            ["item[2].enableWhen[0].question"]
        );
        assert_eq!(
            broken(|j| j["item"][2]["enableWhen"][0]["question"] = json!("per-day")),
            ["item[2].enableWhen[0].question"]
        );
        assert_eq!(
            broken(|j| j["item"][2]["enableWhen"][0]["operator"] = json!("~")),
            ["item[2].enableWhen[0].operator"]
        );
        assert_eq!(
            broken(
                |j| j["item"][2]["enableWhen"][0] = json!({"question": "smoker", "operator": "=", "answerInteger": 1})
            ),
            ["item[2].enableWhen[0].answerInteger"]
        );
        assert_eq!(
            broken(|j| j["item"][2]["enableWhen"][0] =
                json!({"question": "smoker", "operator": ">", "answerBoolean": true})),
            ["item[2].enableWhen[0].answerBoolean"]
        );
        assert_eq!(
            broken(|j| j["item"][6]["enableWhen"][2]["answerString"] = json!("Awful")),
            ["item[6].enableWhen[2].answerString"]
        );
        assert_eq!(
            broken(|j| j["item"][2]["enableWhen"][0] = json!({"question": "smoker", "operator": "="})),
            ["item[2].enableWhen[0].answer[x]"]
        );
        assert_eq!(
            broken(|j| j["item"][2]["enableBehavior"] = json!("some")),
            ["item[2].enableBehavior"]
        );
        assert_eq!(
            broken(|j| j["item"][4]["answerOption"] = json!([])),
            ["item[4].answerOption"]
        );
        assert_eq!(
            broken(|j| j["item"][4]["answerValueSet"] = json!("http://x")),
            ["item[4].answerValueSet"]
        );
        assert_eq!(
            broken(|j| j["item"][1]["answerOption"] = json!([{"valueInteger": 1}])),
            ["item[1].answerOption"]
        );
        assert_eq!(
            broken(|j| drop(j["item"][5]["answerOption"][2]["valueCoding"]["system"].take())),
            ["item[5].answerOption[2].valueCoding.system"]
        );
        assert_eq!(
            broken(|j| j["item"][5]["answerOption"][2]["valueCoding"]["extension"][0]["valueDecimal"] = json!(0.5)),
            ["item[5].answerOption[2].valueCoding.extension[0]"]
        );
        assert_eq!(
            broken(|j| j["item"][5]["answerOption"][0] = json!({"valueString": "Bad"})),
            ["item[5].answerOption[1]"]
        );
        assert_eq!(
            broken(|j| j["item"][5]["answerOption"][0] = json!({"valueString": "3"})),
            ["item[5].answerOption[0].valueString"]
        );
        assert_eq!(
            broken(|j| j["item"][5]["answerOption"][0] = json!({"valueDate": "2026-01-01"})),
            ["item[5].answerOption[0]"]
        );
        assert_eq!(
            broken(|j| j["item"][2]["extension"][1]["valueInteger"] = json!(0)),
            ["item[2].extension"]
        );
        assert_eq!(
            broken(|j| j["item"][2]["extension"][0]["valueInteger"] = json!("one")),
            ["item[2].extension[0]"]
        );
        assert_eq!(
            broken(|j| j["item"][1]["extension"] = j["item"][2]["extension"].clone()),
            ["item[1].extension"]
        );
    }

    #[test]
    fn parse_refuses_loops_and_bad_resources() {
        let loop_paths = broken(|j| {
            j["item"][1]["enableWhen"] = json!([{"question": "heavy", "operator": "exists", "answerBoolean": true}]);
        });
        // smoker → heavy → per-day → smoker: every item on the loop says so.
        assert_eq!(
            loop_paths,
            ["item[1].enableWhen", "item[2].enableWhen", "item[6].enableWhen"]
        );
        assert_eq!(
            broken(|j| j["item"][1]["enableWhen"] =
                json!([{"question": "smoker", "operator": "exists", "answerBoolean": true}])),
            ["item[1].enableWhen[0].question"]
        );
        assert_eq!(broken(|j| j["resourceType"] = json!("Patient")), ["resourceType"]);
        assert_eq!(broken(|j| j["status"] = json!("final")), ["status"]);
        assert_eq!(broken(|j| drop(j.as_object_mut().unwrap().remove("url"))), ["url"]);
        assert_eq!(broken(|j| drop(j.as_object_mut().unwrap().remove("name"))), ["title"]);
        assert_eq!(broken(|j| j["name"] = json!(null)), ["name", "title"]);
        assert_eq!(broken(|j| j["item"] = json!([])), ["item"]);
        assert_eq!(paths(parse(&json!([1, 2]))), [""]);

        let mut phq9: Value = serde_json::from_str(definition(Instrument::Phq9)).unwrap();
        phq9["item"].as_array_mut().unwrap().remove(9);
        let problems = parse(&phq9).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].message.contains("phq9-9") || problems[1].message.contains("phq9-9"));
    }

    /// A response to `general()` answering `items`.
    fn general_response(items: Value) -> Value {
        json!({
            "resourceType": "QuestionnaireResponse",
            "questionnaire": "https://example.org/Questionnaire/general",
            "status": "completed",
            "item": items
        })
    }

    #[test]
    fn read_response_refuses_answers_that_do_not_fit() {
        let q = parse(&general()).unwrap();
        let smoker_no = json!({"linkId": "smoker", "answer": [{"valueBoolean": false}]});
        assert_eq!(
            read_response(&q, &general_response(json!([smoker_no]))),
            Ok(Answers::from([("smoker".to_string(), AnswerValue::Boolean(false))]))
        );
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (json!([]), vec!["item"]),
            (
                json!([smoker_no, {"linkId": "smoker", "answer": [{"valueBoolean": false}]}]),
                vec!["item[1].linkId"],
            ),
            (
                json!([smoker_no, {"linkId": "pets", "answer": [{"valueBoolean": true}]}]),
                vec!["item[1].linkId"],
            ),
            (
                json!([{"linkId": "smoker", "answer": [{"valueString": "no"}]}]),
                vec!["item[0].answer[0]", "item"],
            ),
            (
                json!([{"linkId": "smoker", "answer": [{"valueBoolean": true}, {"valueBoolean": false}]}]),
                vec!["item[0].answer", "item"],
            ),
            (
                json!([{"linkId": "smoker", "answer": [{"valueBoolean": true}]},
                       {"linkId": "per-day", "answer": [{"valueInteger": 0}]}]),
                vec!["item[1].answer[0]"],
            ),
            (
                json!([{"linkId": "smoker", "answer": [{"valueBoolean": true}]},
                       {"linkId": "per-day", "answer": [{"valueDecimal": 5.5}]}]),
                vec!["item[1].answer[0]", "item"],
            ),
            (
                json!([smoker_no, {"linkId": "per-day", "answer": [{"valueInteger": 5}]}]),
                vec!["item[1].answer"],
            ),
            (
                json!([smoker_no, {"linkId": "stairs", "answer": [{"valueInteger": 3}]}]),
                vec!["item[1].answer[0]"],
            ),
            (
                json!([smoker_no, {"linkId": "mood", "answer": [{"valueCoding": {"system": "urn:y", "code": "meh"}}]}]),
                vec!["item[1].answer[0]"],
            ),
            (
                json!([smoker_no, {"linkId": "intro", "answer": [{"valueString": "hi"}]}]),
                vec!["item[1].answer"],
            ),
            (
                json!([smoker_no, {"linkId": "weight", "answer": [{"valueDecimal": 3}]}]),
                vec!["item[1].answer[0]"],
            ),
        ];
        for (items, expected) in cases {
            assert_eq!(
                paths(read_response(&q, &general_response(items.clone()))),
                expected,
                "{items}"
            );
        }
        let problems = read_response(&q, &general_response(json!([]))).unwrap_err();
        assert_eq!(problems[0].message, "\"smoker\" is required and not answered.");

        let mut other = general_response(json!([smoker_no]));
        other["questionnaire"] = json!("https://example.org/Questionnaire/other|2");
        other["status"] = json!("in-progress");
        other["resourceType"] = json!("Questionnaire");
        assert_eq!(
            paths(read_response(&q, &other)),
            ["resourceType", "questionnaire", "status"]
        );
    }

    #[test]
    fn read_response_checks_the_version_when_both_give_one() {
        let q = builtin_q(Instrument::Ons4);
        let mut json = response(&q, &full_answers(&q, true), &meta());
        json["questionnaire"] = json!(Instrument::Ons4.url());
        assert!(read_response(&q, &json).is_ok());
        json["questionnaire"] = json!(format!("{}|2", Instrument::Ons4.url()));
        assert_eq!(paths(read_response(&q, &json)), ["questionnaire"]);
    }
}
