//! Streaming readers for FHIR R4 JSON files: a Bundle (of any type CarePact imports) or NDJSON.
//!
//! A file is read once, from the start, and each entry is handed to the caller as soon as it has been parsed, so a
//! 100 MB file is never held in memory whole: at most one entry's resource is alive at a time.

use std::fmt;
use std::io::{BufRead, Read};

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::Problem;

/// Which of the two file shapes a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Bundle,
    Ndjson,
}

impl Format {
    /// Tells the shape from the file's first bytes: a JSON object spread over several lines, or one that says it
    /// is a Bundle, is a Bundle; one resource per line is NDJSON.
    pub fn sniff(head: &[u8]) -> Format {
        let text = String::from_utf8_lossy(head);
        let first_line = text.trim_start().lines().next().unwrap_or("");
        let one_object_on_the_line = first_line.trim_end().ends_with('}') && first_line.trim_start().starts_with('{');
        if one_object_on_the_line && !first_line.contains("\"Bundle\"") {
            Format::Ndjson
        } else {
            Format::Bundle
        }
    }
}

/// One resource read from a file, with where it was.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Zero-based entry index in a Bundle, or zero-based line number in NDJSON.
    pub index: usize,
    pub format: Format,
    pub full_url: Option<String>,
    /// The transaction or batch method, if the entry had a request.
    pub method: Option<String>,
    /// `None` when the entry had no resource.
    pub resource: Option<Value>,
    /// The Bundle's `meta.source`, when it came before the entries (as it does in files written in FHIR's own
    /// element order): the source system of resources that do not name their own.
    pub bundle_source: Option<String>,
}

impl Entry {
    /// Where in the file this entry is, as a JSON path prefix: `entry[3]` or `line 4`.
    pub fn place(&self) -> String {
        match self.format {
            Format::Bundle => format!("entry[{}]", self.index),
            Format::Ndjson => format!("line {}", self.index + 1),
        }
    }

    /// The JSON path of a field of this entry's resource.
    pub fn path(&self, field: &str) -> String {
        match (self.format, field.is_empty()) {
            (Format::Bundle, true) => format!("entry[{}].resource", self.index),
            (Format::Bundle, false) => format!("entry[{}].resource.{field}", self.index),
            (Format::Ndjson, true) => format!("line {}", self.index + 1),
            (Format::Ndjson, false) => format!("line {}: {field}", self.index + 1),
        }
    }
}

/// What the Bundle itself said, known once the whole file has been read.
#[derive(Debug, Clone, Default)]
pub struct BundleInfo {
    pub resource_type: Option<String>,
    pub bundle_type: Option<String>,
    /// `Bundle.meta.source`: the system the file came from.
    pub source: Option<String>,
    pub entries: usize,
}

/// The Bundle types CarePact imports.
pub const IMPORTED_BUNDLE_TYPES: [&str; 5] = ["collection", "transaction", "batch", "searchset", "document"];

impl BundleInfo {
    /// Problems with the Bundle as a whole (not its entries).
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        match self.resource_type.as_deref() {
            Some("Bundle") => {}
            Some(other) => out.push(Problem::file(
                "resourceType",
                format!("The file holds a {other}, not a Bundle."),
            )),
            None => out.push(Problem::file(
                "resourceType",
                "The file does not say what it holds (no resourceType).",
            )),
        }
        if self.resource_type.as_deref() == Some("Bundle") {
            match self.bundle_type.as_deref() {
                Some(t) if IMPORTED_BUNDLE_TYPES.contains(&t) => {}
                Some(t) => out.push(Problem::file(
                    "type",
                    format!("A Bundle of type \"{t}\" cannot be imported. Use collection, transaction, batch, searchset or document."),
                )),
                None => out.push(Problem::file("type", "The Bundle does not say its type.")),
            }
        }
        out
    }
}

/// Reads a Bundle from `reader`, calling `each` for every entry in order. A file that is not JSON, or not shaped
/// like a Bundle, is one problem naming the line and column.
pub fn read_bundle<R: Read>(reader: R, each: &mut dyn FnMut(Entry)) -> Result<BundleInfo, Problem> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let info = BundleSeed { each }
        .deserialize(&mut de)
        .map_err(|e| Problem::file("", not_json(&e)))?;
    de.end().map_err(|e| Problem::file("", not_json(&e)))?;
    Ok(info)
}

/// Reads NDJSON from `reader`: one resource per line, blank lines skipped. Returns the number of lines with a
/// resource; a line that is not a JSON object is a problem for that line, and reading goes on.
pub fn read_ndjson<R: BufRead>(
    reader: R,
    each: &mut dyn FnMut(Entry),
    problem: &mut dyn FnMut(Problem),
) -> std::io::Result<usize> {
    let mut count = 0;
    for (index, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        count += 1;
        match serde_json::from_str::<Value>(&line) {
            Ok(resource @ Value::Object(_)) => each(Entry {
                index,
                format: Format::Ndjson,
                full_url: None,
                method: None,
                resource: Some(resource),
                bundle_source: None,
            }),
            Ok(_) => problem(Problem::at(
                Some(index),
                format!("line {}", index + 1),
                "This line is not a FHIR resource.",
            )),
            Err(e) => problem(Problem::at(
                Some(index),
                format!("line {}", index + 1),
                format!("This line is not valid JSON (column {}).", e.column()),
            )),
        }
    }
    Ok(count)
}

fn not_json(e: &serde_json::Error) -> String {
    if e.is_io() {
        format!("The file could not be read: {e}")
    } else if e.is_eof() {
        format!(
            "The file ends too soon, at line {} column {}: it may be cut short.",
            e.line(),
            e.column()
        )
    } else if e.is_syntax() {
        format!("The file is not valid JSON at line {} column {}.", e.line(), e.column())
    } else {
        format!("The file is not shaped like a FHIR Bundle: {e}")
    }
}

struct BundleSeed<'a> {
    each: &'a mut dyn FnMut(Entry),
}

impl<'de> DeserializeSeed<'de> for BundleSeed<'_> {
    type Value = BundleInfo;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<BundleInfo, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for BundleSeed<'_> {
    type Value = BundleInfo;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a FHIR Bundle (a JSON object)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BundleInfo, A::Error> {
        #[derive(Deserialize)]
        struct Meta {
            source: Option<String>,
        }
        let mut info = BundleInfo::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "resourceType" => info.resource_type = map.next_value::<Option<String>>()?,
                "type" => info.bundle_type = map.next_value::<Option<String>>()?,
                "meta" => info.source = map.next_value::<Option<Meta>>()?.and_then(|m| m.source),
                "entry" => {
                    let source = info.source.clone();
                    info.entries = map.next_value_seed(EntriesSeed {
                        each: &mut *self.each,
                        source,
                    })?
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(info)
    }
}

struct EntriesSeed<'a> {
    each: &'a mut dyn FnMut(Entry),
    source: Option<String>,
}

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of Bundle entries")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct RawEntry {
            full_url: Option<String>,
            resource: Option<Value>,
            request: Option<RawRequest>,
        }
        #[derive(Deserialize)]
        struct RawRequest {
            method: Option<String>,
        }
        let mut index = 0;
        while let Some(raw) = seq.next_element::<RawEntry>()? {
            (self.each)(Entry {
                index,
                format: Format::Bundle,
                full_url: raw.full_url,
                method: raw.request.and_then(|r| r.method),
                resource: raw.resource,
                bundle_source: self.source.clone(),
            });
            index += 1;
        }
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_is_read_entry_by_entry_whatever_the_key_order() {
        let text = br#"{"entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"}},{"request":{"method":"POST"}}],
            "type":"collection","meta":{"source":"https://gp.example"},"resourceType":"Bundle","id":"x"}"#;
        let mut seen = Vec::new();
        let info = read_bundle(&text[..], &mut |e| seen.push(e)).unwrap();
        assert_eq!(info.bundle_type.as_deref(), Some("collection"));
        assert_eq!(info.source.as_deref(), Some("https://gp.example"));
        assert_eq!(info.entries, 2);
        assert!(info.problems().is_empty());
        assert_eq!(seen[0].full_url.as_deref(), Some("urn:uuid:1"));
        assert!(seen[1].resource.is_none());
        assert_eq!(seen[1].method.as_deref(), Some("POST"));
    }

    #[test]
    fn a_cut_short_file_is_one_problem_naming_where() {
        let text = br#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Pat"#;
        let p = read_bundle(&text[..], &mut |_| {}).unwrap_err();
        assert!(p.message.contains("ends too soon"), "{p:?}");
        let p = read_bundle(&b"[1,2]"[..], &mut |_| {}).unwrap_err();
        assert!(p.message.contains("not shaped like a FHIR Bundle"), "{p:?}");
    }

    #[test]
    fn bundle_types_and_resource_types_are_checked() {
        let info = BundleInfo {
            resource_type: Some("Bundle".into()),
            bundle_type: Some("history".into()),
            ..Default::default()
        };
        assert!(info.problems()[0].message.contains("\"history\""));
        let info = BundleInfo {
            resource_type: Some("Patient".into()),
            ..Default::default()
        };
        assert!(info.problems()[0].message.contains("holds a Patient"));
    }

    #[test]
    fn ndjson_lines_are_read_and_bad_lines_named() {
        let text = "{\"resourceType\":\"Patient\",\"id\":\"a\"}\n\n[1]\n{\"resourceType\":\n";
        let (mut seen, mut problems) = (Vec::new(), Vec::new());
        let n = read_ndjson(text.as_bytes(), &mut |e| seen.push(e), &mut |p| problems.push(p)).unwrap();
        assert_eq!((n, seen.len(), problems.len()), (3, 1, 2));
        assert_eq!(problems[0].path, "line 3");
        assert_eq!(problems[1].path, "line 4");
    }

    #[test]
    fn the_shape_is_sniffed() {
        assert_eq!(
            Format::sniff(b"{\"resourceType\":\"Patient\"}\n{\"resourceType\":\"Condition\"}"),
            Format::Ndjson
        );
        assert_eq!(Format::sniff(b"{\n  \"resourceType\": \"Bundle\""), Format::Bundle);
        assert_eq!(
            Format::sniff(b"{\"resourceType\":\"Bundle\",\"entry\":[]}"),
            Format::Bundle
        );
    }
}
