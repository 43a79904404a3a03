//! Event filtering for event source mappings: the `FilterCriteria` that decide
//! which SQS messages, Kinesis records and DynamoDB stream records reach the
//! function.
//!
//! The rules follow the Lambda developer guide ("Control which events Lambda
//! sends to your function" and its per-source pages) and, for the pattern
//! syntax, EventBridge's event patterns and content filtering, as far as Lambda
//! accepts them:
//!
//! - A mapping has at most five filters, each a JSON object of at most 4096
//!   characters. A record passes when any filter matches it; with no filters
//!   every record passes.
//! - A pattern names fields of the record; nested objects in the pattern walk
//!   into nested objects of the record, and every named field must match (AND).
//!   Fields the pattern doesn't name are ignored. A field named twice in one
//!   object counts once, by its last value (JSON parsing keeps the last).
//! - A field's value in the pattern is an array of conditions, any of which may
//!   match (OR): a string, number, `true`, `false` or `null` matched exactly,
//!   or one of `prefix`, `suffix` (each optionally `equals-ignore-case`),
//!   `equals-ignore-case`, `anything-but`, `numeric` and `exists`.
//!   `"$or": [{..}, {..}]` at any level matches when any of its alternatives
//!   does.
//! - Strings compare character by character. Exact numbers compare by their
//!   JSON representation (so 300 and 300.0 differ); `numeric` compares values.
//! - Conditions apply to leaf values. A record value that is an array matches
//!   when any element does; an object in the record is not a leaf, so
//!   `{"exists": true}` doesn't match it and `{"exists": false}` does. A field
//!   missing from the record fails every condition but `{"exists": false}`.
//! - The payload field is filtered by its content: an SQS `body` holding a
//!   JSON object is matched by a nested pattern under `body` and a body that
//!   isn't one by plain conditions on `body` itself; a mismatch between the
//!   two drops the record. A Kinesis record's `data` is base64-decoded and
//!   must hold a JSON object for a pattern under `data` to match. A DynamoDB
//!   record's `dynamodb` object is matched as it is (typed attribute values
//!   such as `{"S": "..."}` included).
//! - Patterns see the fields the source itself delivers, not those Lambda adds
//!   while polling: for Kinesis the pattern's top level is the record's
//!   `kinesis` object (`partitionKey`, `data`, ...); for SQS `eventSource`,
//!   `eventSourceARN` and `awsRegion`, and for DynamoDB `eventSourceARN`, are
//!   out of its reach.
//!
//! `cidr` and `wildcard` are EventBridge operators that Lambda's list of
//! filter operators doesn't include; patterns using them are refused.

use std::borrow::Cow;
use std::cell::OnceCell;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Number, Value};

/// Lambda's default quota of filters per event source mapping.
pub(crate) const MAX_FILTERS: usize = 5;
/// The longest `Filter.Pattern` the Lambda API accepts, in characters.
pub(crate) const MAX_PATTERN_CHARS: usize = 4096;

/// Which kind of source a record comes from: decides which field holds the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SourceKind {
    Sqs,
    Kinesis,
    DynamoDb,
}

/// The parsed `FilterCriteria.Filters` of an event source mapping.
#[derive(Clone, Debug, Default)]
pub(crate) struct FilterCriteria {
    filters: Vec<ObjectPattern>,
}

impl FilterCriteria {
    /// Parses `FilterCriteria.Filters[].Pattern` strings (each a JSON object). Errors are
    /// `Err(String)` with a message like Lambda's InvalidParameterValueException text, naming the bad pattern.
    /// At most 5 filters (Lambda's default quota); each pattern at most 4096 characters.
    pub(crate) fn parse(patterns: &[String]) -> Result<FilterCriteria, String> {
        if patterns.len() > MAX_FILTERS {
            return Err(format!(
                "Invalid filter criteria: {} filters were given, and an event source mapping \
                 takes at most {MAX_FILTERS}.",
                patterns.len()
            ));
        }
        let mut filters = Vec::with_capacity(patterns.len());
        for (index, text) in patterns.iter().enumerate() {
            let chars = text.chars().count();
            if chars > MAX_PATTERN_CHARS {
                // The pattern itself is left out: it is too long to be worth echoing.
                return Err(format!(
                    "Invalid filter pattern definition: Filters[{index}].Pattern is {chars} \
                     characters long; the limit is {MAX_PATTERN_CHARS}."
                ));
            }
            let pattern = parse_pattern(text).map_err(|reason| {
                format!(
                    "Invalid filter pattern definition: Filters[{index}].Pattern {text}: {reason}"
                )
            })?;
            filters.push(pattern);
        }
        Ok(FilterCriteria { filters })
    }

    /// No filters: every record passes.
    pub(crate) fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// True when any filter matches the record (OR between filters), or when there are none.
    /// `record` is the record as Lambda would put it in the event (for SQS: an object with
    /// messageId, body (a string), attributes, messageAttributes, ...; for Kinesis: an object with a
    /// `kinesis` object whose `data` is base64; for DynamoDB: the stream record with `dynamodb`).
    pub(crate) fn matches(&self, record: &serde_json::Value, kind: SourceKind) -> bool {
        if self.filters.is_empty() {
            return true;
        }
        let view = RecordView::new(record, kind);
        self.filters.iter().any(|filter| view.matches(filter))
    }
}

// ---------------------------------------------------------------------------
// Parsed patterns
// ---------------------------------------------------------------------------

/// One object level of a pattern: every field must match, and so must one of
/// the `$or` alternatives when there are any.
#[derive(Clone, Debug)]
struct ObjectPattern {
    fields: Vec<(String, Node)>,
    any_of: Vec<ObjectPattern>,
}

/// What a pattern holds for one field: nested fields, or conditions on the
/// field's value.
#[derive(Clone, Debug)]
enum Node {
    Object(ObjectPattern),
    Leaf(Vec<Condition>),
}

#[derive(Clone, Debug)]
enum Condition {
    /// A JSON scalar matched exactly.
    Literal(Literal),
    /// `prefix`, `suffix` or `equals-ignore-case`: a test on string values.
    Text(TextTest),
    /// Matches every leaf value the inner test does not.
    AnythingBut(Exclusion),
    /// Every bound holds for a JSON number.
    Numeric(Vec<(Comparison, f64)>),
    /// Whether the field has a leaf value at all.
    Exists(bool),
}

#[derive(Clone, Debug)]
enum Literal {
    String(String),
    Number(Number),
    Bool(bool),
    Null,
}

/// A test on a string value. The ignore-case variants hold their operand in
/// lower case, so a match lower-cases only the record's value.
#[derive(Clone, Debug)]
enum TextTest {
    Prefix(String),
    PrefixIgnoreCase(String),
    Suffix(String),
    SuffixIgnoreCase(String),
    EqualsIgnoreCase(String),
}

/// What an `anything-but` leaves out.
#[derive(Clone, Debug)]
enum Exclusion {
    Literals(Vec<Literal>),
    Text(Vec<TextTest>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Comparison {
    Less,
    LessOrEqual,
    Equal,
    GreaterOrEqual,
    Greater,
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

fn parse_pattern(text: &str) -> Result<ObjectPattern, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("the pattern is not valid JSON ({e})"))?;
    match value {
        Value::Object(map) => parse_object(&map, ""),
        _ => Err("the pattern must be a JSON object".to_owned()),
    }
}

/// Names a place in a pattern for error messages: `path` is the dotted field
/// path to it, empty at the top.
fn place(path: &str) -> String {
    if path.is_empty() {
        "the pattern".to_owned()
    } else {
        format!("field \"{path}\"")
    }
}

fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn parse_object(map: &Map<String, Value>, path: &str) -> Result<ObjectPattern, String> {
    if map.is_empty() {
        return Err(format!("{} is an empty object", place(path)));
    }
    let mut pattern = ObjectPattern {
        fields: Vec::with_capacity(map.len()),
        any_of: Vec::new(),
    };
    for (key, value) in map {
        let here = child_path(path, key);
        if key == "$or" && is_alternatives(value) {
            pattern.any_of = parse_alternatives(value, &here)?;
            continue;
        }
        let node = match value {
            Value::Object(inner) => Node::Object(parse_object(inner, &here)?),
            Value::Array(conditions) => Node::Leaf(parse_conditions(conditions, &here)?),
            _ => {
                return Err(format!(
                    "{} must be an array of conditions or an object, not {value}",
                    place(&here)
                ));
            }
        };
        pattern.fields.push((key.clone(), node));
    }
    Ok(pattern)
}

/// `$or` means alternatives when it holds objects; with only plain values it
/// is an ordinary field that happens to be called `$or`, as in EventBridge.
fn is_alternatives(value: &Value) -> bool {
    value
        .as_array()
        .is_some_and(|items| items.iter().any(Value::is_object))
}

fn parse_alternatives(value: &Value, path: &str) -> Result<Vec<ObjectPattern>, String> {
    let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
    if items.len() < 2 {
        return Err(format!("{} needs at least two alternatives", place(path)));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(map) => parse_object(map, &format!("{path}[{i}]")),
            _ => Err(format!("{} must hold only objects", place(path))),
        })
        .collect()
}

fn parse_conditions(items: &[Value], path: &str) -> Result<Vec<Condition>, String> {
    if items.is_empty() {
        return Err(format!("{} has an empty array of conditions", place(path)));
    }
    items
        .iter()
        .map(|item| match item {
            Value::Object(operator) => parse_operator(operator, path),
            Value::Array(_) => Err(format!(
                "{} has an array inside its conditions; conditions are values or objects",
                place(path)
            )),
            scalar => literal(scalar)
                .map(Condition::Literal)
                .ok_or_else(|| format!("{} has a condition that is not a JSON value", place(path))),
        })
        .collect()
}

fn literal(value: &Value) -> Option<Literal> {
    match value {
        Value::String(s) => Some(Literal::String(s.clone())),
        Value::Number(n) => Some(Literal::Number(n.clone())),
        Value::Bool(b) => Some(Literal::Bool(*b)),
        Value::Null => Some(Literal::Null),
        Value::Array(_) | Value::Object(_) => None,
    }
}

fn parse_operator(operator: &Map<String, Value>, path: &str) -> Result<Condition, String> {
    let mut entries = operator.iter();
    let (name, operand) = match (entries.next(), entries.next()) {
        (Some(entry), None) => entry,
        _ => {
            return Err(format!(
                "{} has a condition object that does not hold exactly one operator",
                place(path)
            ));
        }
    };
    let at = place(path);
    match name.as_str() {
        "prefix" => text_operand(
            operand,
            &at,
            "prefix",
            TextTest::Prefix,
            TextTest::PrefixIgnoreCase,
        )
        .map(Condition::Text),
        "suffix" => text_operand(
            operand,
            &at,
            "suffix",
            TextTest::Suffix,
            TextTest::SuffixIgnoreCase,
        )
        .map(Condition::Text),
        "equals-ignore-case" => match operand {
            Value::String(s) => Ok(Condition::Text(TextTest::EqualsIgnoreCase(
                s.to_lowercase(),
            ))),
            _ => Err(format!("{at}: \"equals-ignore-case\" takes a string")),
        },
        "anything-but" => parse_anything_but(operand, &at).map(Condition::AnythingBut),
        "numeric" => parse_numeric(operand, &at).map(Condition::Numeric),
        "exists" => match operand {
            Value::Bool(b) => Ok(Condition::Exists(*b)),
            _ => Err(format!("{at}: \"exists\" takes true or false")),
        },
        // EventBridge has these, but Lambda's list of filter operators does
        // not: refusing them is better than filtering differently from Lambda.
        "cidr" | "wildcard" => Err(format!(
            "{at}: \"{name}\" is an EventBridge operator that Lambda event filtering does not support"
        )),
        _ => Err(format!("{at}: unknown operator \"{name}\"")),
    }
}

/// The operand of `prefix` or `suffix`: a string, or `{"equals-ignore-case": string}`.
fn text_operand(
    operand: &Value,
    at: &str,
    name: &str,
    exact: fn(String) -> TextTest,
    ignore_case: fn(String) -> TextTest,
) -> Result<TextTest, String> {
    match operand {
        Value::String(s) => Ok(exact(s.clone())),
        Value::Object(inner) if inner.len() == 1 => match inner.get("equals-ignore-case") {
            Some(Value::String(s)) => Ok(ignore_case(s.to_lowercase())),
            _ => Err(format!(
                "{at}: \"{name}\" takes a string or {{\"equals-ignore-case\": string}}"
            )),
        },
        _ => Err(format!(
            "{at}: \"{name}\" takes a string or {{\"equals-ignore-case\": string}}"
        )),
    }
}

fn parse_anything_but(operand: &Value, at: &str) -> Result<Exclusion, String> {
    match operand {
        Value::String(_) | Value::Number(_) => {
            Ok(Exclusion::Literals(literal(operand).into_iter().collect()))
        }
        Value::Array(items) => {
            // EventBridge takes a list of strings or a list of numbers, not a mix.
            let strings = items.iter().all(Value::is_string);
            let numbers = items.iter().all(Value::is_number);
            if items.is_empty() || !(strings || numbers) {
                return Err(format!(
                    "{at}: \"anything-but\" takes a non-empty list of only strings or only numbers"
                ));
            }
            Ok(Exclusion::Literals(
                items.iter().filter_map(literal).collect(),
            ))
        }
        Value::Object(inner) if inner.len() == 1 => {
            let (name, value) = inner
                .iter()
                .next()
                .ok_or_else(|| format!("{at}: \"anything-but\" has an empty object"))?;
            match (name.as_str(), value) {
                ("prefix", Value::String(s)) => {
                    Ok(Exclusion::Text(vec![TextTest::Prefix(s.clone())]))
                }
                ("suffix", Value::String(s)) => {
                    Ok(Exclusion::Text(vec![TextTest::Suffix(s.clone())]))
                }
                ("equals-ignore-case", Value::String(s)) => {
                    Ok(Exclusion::Text(vec![TextTest::EqualsIgnoreCase(
                        s.to_lowercase(),
                    )]))
                }
                ("equals-ignore-case", Value::Array(items))
                    if !items.is_empty() && items.iter().all(Value::is_string) =>
                {
                    Ok(Exclusion::Text(
                        items
                            .iter()
                            .filter_map(Value::as_str)
                            .map(|s| TextTest::EqualsIgnoreCase(s.to_lowercase()))
                            .collect(),
                    ))
                }
                ("prefix" | "suffix", _) => Err(format!(
                    "{at}: \"anything-but\" takes a single {name} string"
                )),
                ("cidr" | "wildcard", _) => Err(format!(
                    "{at}: \"{name}\" is an EventBridge operator that Lambda event filtering does not support"
                )),
                _ => Err(format!(
                    "{at}: \"anything-but\" cannot hold \"{name}\" with {value}"
                )),
            }
        }
        _ => Err(format!(
            "{at}: \"anything-but\" takes a string, a number, a list of either, or a prefix, \
             suffix or equals-ignore-case object"
        )),
    }
}

/// `numeric`: `[op, n]`, or a lower and an upper bound `[">"|">=", a, "<"|"<=", b]`
/// (in either order). `=` stands alone.
fn parse_numeric(operand: &Value, at: &str) -> Result<Vec<(Comparison, f64)>, String> {
    let usage = format!(
        "{at}: \"numeric\" takes [operator, number] or a lower and an upper bound, \
         with operators \"<\", \"<=\", \"=\", \">=\", \">\""
    );
    let items = operand.as_array().ok_or_else(|| usage.clone())?;
    if !(items.len() == 2 || items.len() == 4) {
        return Err(usage);
    }
    let mut bounds = Vec::with_capacity(items.len() / 2);
    for pair in items.chunks(2) {
        let comparison = match pair[0].as_str() {
            Some("<") => Comparison::Less,
            Some("<=") => Comparison::LessOrEqual,
            Some("=") => Comparison::Equal,
            Some(">=") => Comparison::GreaterOrEqual,
            Some(">") => Comparison::Greater,
            _ => return Err(usage),
        };
        // Numeric conditions compare JSON numbers; a quoted number is refused.
        let number = pair[1]
            .as_f64()
            .filter(|n| n.is_finite())
            .ok_or_else(|| usage.clone())?;
        bounds.push((comparison, number));
    }
    if let [(first, a), (second, b)] = bounds.as_slice() {
        let lower = |c: &Comparison| matches!(c, Comparison::Greater | Comparison::GreaterOrEqual);
        let upper = |c: &Comparison| matches!(c, Comparison::Less | Comparison::LessOrEqual);
        let (low, high) = if lower(first) && upper(second) {
            (*a, *b)
        } else if upper(first) && lower(second) {
            (*b, *a)
        } else {
            return Err(format!(
                "{at}: a \"numeric\" range needs one lower bound (\">\" or \">=\") and one \
                 upper bound (\"<\" or \"<=\")"
            ));
        };
        if low > high {
            return Err(format!(
                "{at}: the \"numeric\" range's lower bound {low} is above its upper bound {high}"
            ));
        }
    }
    Ok(bounds)
}

// ---------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------

/// A record as its filters see it: the fields within their reach, and the
/// payload field decoded (once, when a filter first asks for it).
struct RecordView<'a> {
    kind: SourceKind,
    fields: Option<&'a Map<String, Value>>,
    payload: OnceCell<Payload<'a>>,
}

/// The payload field of a record, by what its content turned out to be.
enum Payload<'a> {
    /// The record has no payload field.
    Missing,
    /// A JSON object: SQS body or Kinesis data that parsed, or DynamoDB's `dynamodb`.
    Json(Cow<'a, Value>),
    /// An SQS body that is not a JSON object, matched by plain conditions.
    Text(&'a Value),
    /// Kinesis data (or a DynamoDB `dynamodb`) that holds no JSON object.
    Opaque,
}

impl<'a> RecordView<'a> {
    fn new(record: &'a Value, kind: SourceKind) -> Self {
        let fields = match kind {
            // What Kinesis delivers is the `kinesis` object; the fields around
            // it are Lambda's.
            SourceKind::Kinesis => record.get("kinesis").and_then(Value::as_object),
            SourceKind::Sqs | SourceKind::DynamoDb => record.as_object(),
        };
        RecordView {
            kind,
            fields,
            payload: OnceCell::new(),
        }
    }

    fn payload_key(&self) -> &'static str {
        match self.kind {
            SourceKind::Sqs => "body",
            SourceKind::Kinesis => "data",
            SourceKind::DynamoDb => "dynamodb",
        }
    }

    /// Fields Lambda adds to the record while polling, which filters can't see.
    fn is_hidden(&self, key: &str) -> bool {
        match self.kind {
            SourceKind::Sqs => matches!(key, "eventSource" | "eventSourceARN" | "awsRegion"),
            SourceKind::DynamoDb => key == "eventSourceARN",
            SourceKind::Kinesis => false,
        }
    }

    fn field(&self, key: &str) -> Option<&'a Value> {
        if self.is_hidden(key) {
            return None;
        }
        self.fields.and_then(|fields| fields.get(key))
    }

    fn payload(&self) -> &Payload<'a> {
        self.payload.get_or_init(|| {
            let Some(value) = self.field(self.payload_key()) else {
                return Payload::Missing;
            };
            match (self.kind, value) {
                (_, Value::Object(_)) => Payload::Json(Cow::Borrowed(value)),
                (SourceKind::Sqs, Value::String(body)) => match serde_json::from_str(body) {
                    Ok(parsed @ Value::Object(_)) => Payload::Json(Cow::Owned(parsed)),
                    _ => Payload::Text(value),
                },
                (SourceKind::Sqs, _) => Payload::Text(value),
                (SourceKind::Kinesis, Value::String(data)) => STANDARD
                    .decode(data)
                    .ok()
                    .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
                    .filter(Value::is_object)
                    .map_or(Payload::Opaque, |parsed| Payload::Json(Cow::Owned(parsed))),
                (SourceKind::Kinesis | SourceKind::DynamoDb, _) => Payload::Opaque,
            }
        })
    }

    /// Matches a pattern against the record's top level, where the payload
    /// field is special.
    fn matches(&self, pattern: &ObjectPattern) -> bool {
        let fields_match = pattern.fields.iter().all(|(key, node)| {
            if key == self.payload_key() {
                self.payload_matches(node)
            } else {
                node.matches(self.field(key))
            }
        });
        fields_match
            && (pattern.any_of.is_empty() || pattern.any_of.iter().any(|alt| self.matches(alt)))
    }

    /// The payload's format must agree with the pattern's: a nested pattern
    /// needs a JSON object, plain conditions need an SQS body that isn't one.
    /// Any other pairing drops the record.
    fn payload_matches(&self, node: &Node) -> bool {
        match (node, self.payload()) {
            (Node::Object(pattern), Payload::Json(value)) => pattern.matches(Some(value)),
            (Node::Object(pattern), Payload::Missing) => pattern.matches(None),
            (Node::Leaf(conditions), Payload::Text(value)) => leaf_matches(conditions, Some(value)),
            // Kinesis and DynamoDB take only JSON patterns on their payload.
            (Node::Leaf(conditions), Payload::Missing) => {
                self.kind == SourceKind::Sqs && leaf_matches(conditions, None)
            }
            _ => false,
        }
    }
}

impl Node {
    fn matches(&self, value: Option<&Value>) -> bool {
        match self {
            Node::Object(pattern) => pattern.matches(value),
            Node::Leaf(conditions) => leaf_matches(conditions, value),
        }
    }
}

impl ObjectPattern {
    /// `value` is the record's value where this pattern applies, `None` when
    /// the record has nothing there.
    fn matches(&self, value: Option<&Value>) -> bool {
        match value {
            // An array of objects matches when one element matches the whole
            // object pattern, so that its fields are all met by one element.
            Some(Value::Array(items)) if !items.is_empty() => {
                items.iter().any(|item| self.matches(Some(item)))
            }
            Some(Value::Object(map)) => {
                self.fields
                    .iter()
                    .all(|(key, node)| node.matches(map.get(key)))
                    && self.alternatives_match(value)
            }
            // Nothing to walk into: each field is missing, which only
            // `{"exists": false}` accepts.
            _ => {
                self.fields.iter().all(|(_, node)| node.matches(None))
                    && self.alternatives_match(value)
            }
        }
    }

    fn alternatives_match(&self, value: Option<&Value>) -> bool {
        self.any_of.is_empty() || self.any_of.iter().any(|alt| alt.matches(value))
    }
}

/// The leaf values at a place in the record: the value itself, or the
/// elements of arrays (at any depth); objects are not leaves.
fn collect_leaves<'v>(value: &'v Value, leaves: &mut Vec<&'v Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| collect_leaves(item, leaves)),
        Value::Object(_) => {}
        leaf => leaves.push(leaf),
    }
}

fn leaf_matches(conditions: &[Condition], value: Option<&Value>) -> bool {
    let mut leaves = Vec::new();
    if let Some(value) = value {
        collect_leaves(value, &mut leaves);
    }
    conditions.iter().any(|condition| match condition {
        Condition::Exists(wanted) => leaves.is_empty() != *wanted,
        other => leaves.iter().any(|leaf| other.matches_leaf(leaf)),
    })
}

impl Condition {
    fn matches_leaf(&self, leaf: &Value) -> bool {
        match self {
            Condition::Literal(literal) => literal.matches(leaf),
            Condition::Text(test) => leaf.as_str().is_some_and(|s| test.matches(s)),
            Condition::AnythingBut(Exclusion::Literals(excluded)) => {
                !excluded.iter().any(|literal| literal.matches(leaf))
            }
            Condition::AnythingBut(Exclusion::Text(excluded)) => !leaf
                .as_str()
                .is_some_and(|s| excluded.iter().any(|test| test.matches(s))),
            Condition::Numeric(bounds) => match leaf {
                Value::Number(n) => n
                    .as_f64()
                    .is_some_and(|x| bounds.iter().all(|(cmp, bound)| cmp.holds(x, *bound))),
                _ => false,
            },
            // Presence is decided over all of a field's leaves, not per leaf.
            Condition::Exists(_) => false,
        }
    }
}

impl Literal {
    fn matches(&self, leaf: &Value) -> bool {
        match (self, leaf) {
            (Literal::String(a), Value::String(b)) => a == b,
            // `Number`'s equality keeps integers and floats apart, which is
            // the "string representation" comparison the docs describe.
            (Literal::Number(a), Value::Number(b)) => a == b,
            (Literal::Bool(a), Value::Bool(b)) => a == b,
            (Literal::Null, Value::Null) => true,
            _ => false,
        }
    }
}

impl TextTest {
    fn matches(&self, s: &str) -> bool {
        match self {
            TextTest::Prefix(p) => s.starts_with(p.as_str()),
            TextTest::Suffix(p) => s.ends_with(p.as_str()),
            TextTest::PrefixIgnoreCase(p) => s.to_lowercase().starts_with(p.as_str()),
            TextTest::SuffixIgnoreCase(p) => s.to_lowercase().ends_with(p.as_str()),
            TextTest::EqualsIgnoreCase(p) => s.to_lowercase() == *p,
        }
    }
}

impl Comparison {
    fn holds(self, x: f64, bound: f64) -> bool {
        match self {
            Comparison::Less => x < bound,
            Comparison::LessOrEqual => x <= bound,
            Comparison::Equal => x == bound,
            Comparison::GreaterOrEqual => x >= bound,
            Comparison::Greater => x > bound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn criteria(patterns: &[&str]) -> FilterCriteria {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        match FilterCriteria::parse(&patterns) {
            Ok(criteria) => criteria,
            Err(e) => panic!("patterns {patterns:?} should parse: {e}"),
        }
    }

    fn parse_error(pattern: &str) -> String {
        match FilterCriteria::parse(&[pattern.to_owned()]) {
            Ok(_) => panic!("pattern {pattern} should be refused"),
            Err(e) => e,
        }
    }

    fn sqs_record(body: &str) -> Value {
        json!({
            "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
            "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1545082649183",
                "SenderId": "AIDAIENQZJOLO23YVJ4VO"
            },
            "messageAttributes": {
                "team": {"stringValue": "blue", "dataType": "String"}
            },
            "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:my-queue",
            "awsRegion": "us-east-1"
        })
    }

    /// Whether `pattern` lets through an SQS message whose body holds `body`
    /// (serialised as JSON).
    fn body_passes(pattern: &str, body: Value) -> bool {
        criteria(&[pattern]).matches(&sqs_record(&body.to_string()), SourceKind::Sqs)
    }

    fn kinesis_record(data: &[u8]) -> Value {
        json!({
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": "1",
                "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                "data": STANDARD.encode(data),
                "approximateArrivalTimestamp": 1545084650.987
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
            "eventName": "aws:kinesis:record",
            "awsRegion": "us-east-2",
            "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream"
        })
    }

    fn dynamodb_record(event_name: &str, new_image: Value) -> Value {
        json!({
            "eventID": "1",
            "eventName": event_name,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "Keys": {"Id": {"N": "101"}},
                "NewImage": new_image,
                "SequenceNumber": "111",
                "SizeBytes": 26,
                "StreamViewType": "NEW_IMAGE"
            },
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024"
        })
    }

    // --- Filters as a whole -------------------------------------------------

    #[test]
    fn no_filters_let_everything_through() {
        let none = FilterCriteria::parse(&[]).expect("no filters parse");
        assert!(none.is_empty());
        assert!(none.matches(&json!({}), SourceKind::Sqs));
        assert!(FilterCriteria::default().matches(&sqs_record("x"), SourceKind::Sqs));
        assert!(!criteria(&[r#"{"body": ["x"]}"#]).is_empty());
    }

    #[test]
    fn filters_are_ored() {
        let filters = criteria(&[
            r#"{"body": {"kind": ["a"]}}"#,
            r#"{"body": {"kind": ["b"]}}"#,
        ]);
        let passes = |kind: &str| {
            let record = sqs_record(&json!({"kind": kind}).to_string());
            filters.matches(&record, SourceKind::Sqs)
        };
        assert!(passes("a"));
        assert!(passes("b"));
        assert!(!passes("c"));
    }

    // --- Field structure ----------------------------------------------------

    #[test]
    fn fields_are_anded_and_values_ored() {
        let pattern = r#"{"body": {"city": ["Seattle", "Portland"], "day": ["Monday"]}}"#;
        assert!(body_passes(
            pattern,
            json!({"city": "Portland", "day": "Monday"})
        ));
        assert!(body_passes(
            pattern,
            json!({"city": "Seattle", "day": "Monday", "x": 1})
        ));
        assert!(!body_passes(
            pattern,
            json!({"city": "Seattle", "day": "Tuesday"})
        ));
        assert!(!body_passes(
            pattern,
            json!({"city": "Boston", "day": "Monday"})
        ));
        // Every named field must be present.
        assert!(!body_passes(pattern, json!({"city": "Seattle"})));
    }

    #[test]
    fn nested_objects_nest() {
        let pattern = r#"{"body": {"order": {"item": {"type": ["buy"]}}}}"#;
        assert!(body_passes(
            pattern,
            json!({"order": {"item": {"type": "buy"}}})
        ));
        assert!(!body_passes(
            pattern,
            json!({"order": {"item": {"type": "sell"}}})
        ));
        // The same name at another depth is not the field.
        assert!(!body_passes(pattern, json!({"order": {"type": "buy"}})));
        assert!(!body_passes(pattern, json!({"type": "buy"})));
        // A scalar where the pattern expects an object has no fields in it.
        assert!(!body_passes(pattern, json!({"order": "buy"})));
    }

    #[test]
    fn a_repeated_key_counts_by_its_last_value() {
        let pattern = r#"{"body": {"a": ["x"], "a": ["y"]}}"#;
        assert!(body_passes(pattern, json!({"a": "y"})));
        assert!(!body_passes(pattern, json!({"a": "x"})));
    }

    // --- Exact values ---------------------------------------------------------

    #[test]
    fn strings_match_exactly_and_case_sensitively() {
        let pattern = r#"{"body": {"name": ["Alice"]}}"#;
        assert!(body_passes(pattern, json!({"name": "Alice"})));
        assert!(!body_passes(pattern, json!({"name": "alice"})));
        assert!(!body_passes(pattern, json!({"name": "Alice "})));
        assert!(!body_passes(pattern, json!({"other": "Alice"})));
    }

    #[test]
    fn empty_string_and_null_are_different() {
        let empty = r#"{"body": {"v": [""]}}"#;
        let null = r#"{"body": {"v": [null]}}"#;
        assert!(body_passes(empty, json!({"v": ""})));
        assert!(!body_passes(empty, json!({"v": null})));
        assert!(body_passes(null, json!({"v": null})));
        assert!(!body_passes(null, json!({"v": ""})));
        // A missing field is not null.
        assert!(!body_passes(null, json!({"w": 1})));
    }

    #[test]
    fn booleans_match_booleans_only() {
        let pattern = r#"{"body": {"ok": [true]}}"#;
        assert!(body_passes(pattern, json!({"ok": true})));
        assert!(!body_passes(pattern, json!({"ok": false})));
        assert!(!body_passes(pattern, json!({"ok": "true"})));
    }

    #[test]
    fn exact_numbers_compare_by_representation() {
        let pattern = r#"{"body": {"price": [300]}}"#;
        assert!(body_passes(pattern, json!({"price": 300})));
        // The docs: 300 and 300.0 are not equal for an exact match.
        assert!(!body_passes(pattern, json!({"price": 300.0})));
        assert!(!body_passes(pattern, json!({"price": "300"})));
        assert!(!body_passes(pattern, json!({"price": 301})));
        // And a quoted number in the pattern is a string.
        assert!(!body_passes(
            r#"{"body": {"price": ["300"]}}"#,
            json!({"price": 300})
        ));
    }

    // --- String operators ---------------------------------------------------

    #[test]
    fn prefix_and_suffix() {
        let prefix = r#"{"body": {"region": [{"prefix": "us-"}]}}"#;
        assert!(body_passes(prefix, json!({"region": "us-east-1"})));
        assert!(!body_passes(prefix, json!({"region": "eu-west-1"})));
        assert!(!body_passes(prefix, json!({"region": "US-east-1"})));
        let suffix = r#"{"body": {"file": [{"suffix": ".png"}]}}"#;
        assert!(body_passes(suffix, json!({"file": "cat.png"})));
        assert!(!body_passes(suffix, json!({"file": "cat.png.txt"})));
        // Only strings have prefixes.
        assert!(!body_passes(
            r#"{"body": {"n": [{"prefix": "1"}]}}"#,
            json!({"n": 12})
        ));
    }

    #[test]
    fn prefix_and_suffix_ignoring_case() {
        let prefix = r#"{"body": {"s": [{"prefix": {"equals-ignore-case": "EventB"}}]}}"#;
        assert!(body_passes(prefix, json!({"s": "eventbridge"})));
        assert!(body_passes(prefix, json!({"s": "EVENTBRIDGE"})));
        assert!(!body_passes(prefix, json!({"s": "bridge"})));
        let suffix = r#"{"body": {"s": [{"suffix": {"equals-ignore-case": "tBridge"}}]}}"#;
        assert!(body_passes(suffix, json!({"s": "EVENTBRIDGE"})));
        assert!(!body_passes(suffix, json!({"s": "eventbridges"})));
    }

    #[test]
    fn equals_ignore_case() {
        let pattern = r#"{"body": {"name": [{"equals-ignore-case": "alice"}]}}"#;
        assert!(body_passes(pattern, json!({"name": "ALICE"})));
        assert!(body_passes(pattern, json!({"name": "Alice"})));
        assert!(!body_passes(pattern, json!({"name": "Alicia"})));
        assert!(!body_passes(pattern, json!({"name": 1})));
    }

    // --- anything-but -------------------------------------------------------

    #[test]
    fn anything_but_values() {
        let one = r#"{"body": {"weather": [{"anything-but": "Raining"}]}}"#;
        assert!(body_passes(one, json!({"weather": "Sunny"})));
        assert!(!body_passes(one, json!({"weather": "Raining"})));
        // A missing field is not "anything".
        assert!(!body_passes(one, json!({"other": "Sunny"})));

        let list = r#"{"body": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}"#;
        assert!(body_passes(list, json!({"state": "running"})));
        assert!(!body_passes(list, json!({"state": "stopped"})));
        assert!(!body_passes(list, json!({"state": "overloaded"})));

        let numbers = r#"{"body": {"limit": [{"anything-but": [100, 200]}]}}"#;
        assert!(body_passes(numbers, json!({"limit": 150})));
        assert!(!body_passes(numbers, json!({"limit": 200})));
        let number = r#"{"body": {"limit": [{"anything-but": 123}]}}"#;
        assert!(!body_passes(number, json!({"limit": 123})));
        assert!(body_passes(number, json!({"limit": 124})));
    }

    #[test]
    fn anything_but_prefix_suffix_and_ignore_case() {
        let prefix = r#"{"body": {"state": [{"anything-but": {"prefix": "init"}}]}}"#;
        assert!(body_passes(prefix, json!({"state": "running"})));
        assert!(!body_passes(prefix, json!({"state": "initializing"})));
        let suffix = r#"{"body": {"file": [{"anything-but": {"suffix": ".png"}}]}}"#;
        assert!(body_passes(suffix, json!({"file": "a.jpg"})));
        assert!(!body_passes(suffix, json!({"file": "a.png"})));
        let ignore = r#"{"body": {"s": [{"anything-but": {"equals-ignore-case": ["a", "B"]}}]}}"#;
        assert!(body_passes(ignore, json!({"s": "c"})));
        assert!(!body_passes(ignore, json!({"s": "A"})));
        assert!(!body_passes(ignore, json!({"s": "b"})));
    }

    // --- numeric --------------------------------------------------------------

    #[test]
    fn numeric_equality_compares_values() {
        let pattern = r#"{"body": {"price": [{"numeric": ["=", 300]}]}}"#;
        assert!(body_passes(pattern, json!({"price": 300})));
        assert!(body_passes(pattern, json!({"price": 300.0})));
        let record = sqs_record(r#"{"price": 3.0e2}"#);
        assert!(criteria(&[pattern]).matches(&record, SourceKind::Sqs));
        assert!(!body_passes(pattern, json!({"price": 300.5})));
        // Numeric conditions need a JSON number, not a numeric string.
        assert!(!body_passes(pattern, json!({"price": "300"})));
    }

    #[test]
    fn numeric_ranges() {
        let range = r#"{"body": {"c": [{"numeric": [">", 0, "<=", 5]}]}}"#;
        assert!(body_passes(range, json!({"c": 5})));
        assert!(body_passes(range, json!({"c": 0.5})));
        assert!(!body_passes(range, json!({"c": 0})));
        assert!(!body_passes(range, json!({"c": 5.01})));
        assert!(!body_passes(range, json!({"c": -3})));

        let below = r#"{"body": {"d": [{"numeric": ["<", 10]}]}}"#;
        assert!(body_passes(below, json!({"d": 9.99})));
        assert!(!body_passes(below, json!({"d": 10})));
        let at_least = r#"{"body": {"d": [{"numeric": [">=", 10]}]}}"#;
        assert!(body_passes(at_least, json!({"d": 10})));
        assert!(!body_passes(at_least, json!({"d": 9})));

        // The upper bound may come first.
        let reversed = r#"{"body": {"c": [{"numeric": ["<", 5, ">=", 1]}]}}"#;
        assert!(body_passes(reversed, json!({"c": 1})));
        assert!(!body_passes(reversed, json!({"c": 5})));
    }

    // --- exists ---------------------------------------------------------------

    #[test]
    fn exists_true_and_false() {
        let exists = r#"{"body": {"name": [{"exists": true}]}}"#;
        let absent = r#"{"body": {"name": [{"exists": false}]}}"#;
        assert!(body_passes(exists, json!({"name": "x"})));
        assert!(body_passes(exists, json!({"name": null})));
        assert!(!body_passes(exists, json!({"other": "x"})));
        assert!(body_passes(absent, json!({"other": "x"})));
        assert!(!body_passes(absent, json!({"name": "x"})));
        // Missing all the way down is still missing.
        assert!(body_passes(
            r#"{"body": {"a": {"b": [{"exists": false}]}}}"#,
            json!({"c": 1})
        ));
    }

    #[test]
    fn exists_only_sees_leaf_values() {
        let exists = r#"{"body": {"detail": [{"exists": true}]}}"#;
        let absent = r#"{"body": {"detail": [{"exists": false}]}}"#;
        // An object is an intermediate node, not a leaf.
        assert!(!body_passes(exists, json!({"detail": {"c": 1}})));
        assert!(body_passes(absent, json!({"detail": {"c": 1}})));
        // An empty array holds no leaf; a non-empty one does.
        assert!(body_passes(absent, json!({"detail": []})));
        assert!(body_passes(exists, json!({"detail": ["x"]})));
    }

    #[test]
    fn exists_false_or_a_value() {
        let pattern = r#"{"body": {"v": ["x", {"exists": false}]}}"#;
        assert!(body_passes(pattern, json!({"v": "x"})));
        assert!(body_passes(pattern, json!({})));
        assert!(!body_passes(pattern, json!({"v": "y"})));
    }

    // --- $or --------------------------------------------------------------------

    #[test]
    fn or_at_the_top_level() {
        let pattern = r#"{"$or": [{"body": {"a": ["1"]}}, {"attributes": {"SenderId": ["S"]}}]}"#;
        let filters = criteria(&[pattern]);
        let mut record = sqs_record(r#"{"a": "1"}"#);
        assert!(filters.matches(&record, SourceKind::Sqs));
        record["body"] = json!(r#"{"a": "2"}"#);
        assert!(!filters.matches(&record, SourceKind::Sqs));
        record["attributes"]["SenderId"] = json!("S");
        assert!(filters.matches(&record, SourceKind::Sqs));
    }

    #[test]
    fn or_nested_and_combined_with_fields() {
        let pattern = r#"{"body": {
            "kind": ["order"],
            "$or": [
                {"total": [{"numeric": [">", 100]}]},
                {"customer": {"vip": [true]}}
            ]
        }}"#;
        assert!(body_passes(pattern, json!({"kind": "order", "total": 150})));
        assert!(body_passes(
            pattern,
            json!({"kind": "order", "total": 5, "customer": {"vip": true}})
        ));
        assert!(!body_passes(pattern, json!({"kind": "order", "total": 5})));
        // The other fields still have to match.
        assert!(!body_passes(
            pattern,
            json!({"kind": "refund", "total": 150})
        ));
    }

    #[test]
    fn or_with_plain_values_is_an_ordinary_field() {
        let pattern = r#"{"body": {"$or": ["x"]}}"#;
        assert!(body_passes(pattern, json!({"$or": "x"})));
        assert!(!body_passes(pattern, json!({"$or": "y"})));
    }

    // --- Arrays in records ------------------------------------------------------

    #[test]
    fn an_array_matches_when_any_element_does() {
        let pattern = r#"{"body": {"tags": ["blue"]}}"#;
        assert!(body_passes(pattern, json!({"tags": ["red", "blue"]})));
        assert!(!body_passes(pattern, json!({"tags": ["red", "green"]})));
        assert!(!body_passes(pattern, json!({"tags": []})));
        let numeric = r#"{"body": {"n": [{"numeric": [">", 10]}]}}"#;
        assert!(body_passes(numeric, json!({"n": [1, 2, 30]})));
        assert!(!body_passes(numeric, json!({"n": [1, 2, 3]})));
        // anything-but is met by any element outside the set.
        let but = r#"{"body": {"tags": [{"anything-but": "red"}]}}"#;
        assert!(body_passes(but, json!({"tags": ["red", "blue"]})));
        assert!(!body_passes(but, json!({"tags": ["red"]})));
    }

    #[test]
    fn arrays_of_objects_are_walked_element_by_element() {
        let pattern = r#"{"body": {"items": {"sku": ["A1"], "qty": [{"numeric": [">", 1]}]}}}"#;
        assert!(body_passes(
            pattern,
            json!({"items": [{"sku": "B2", "qty": 1}, {"sku": "A1", "qty": 5}]})
        ));
        // Both fields must be met by the same element.
        assert!(!body_passes(
            pattern,
            json!({"items": [{"sku": "A1", "qty": 1}, {"sku": "B2", "qty": 5}]})
        ));
    }

    // --- SQS bodies ---------------------------------------------------------------

    #[test]
    fn sqs_json_body_is_filtered_on_its_content() {
        let filters = criteria(&[r#"{"body": {"RequestCode": ["BBBB"]}}"#]);
        let matching = sqs_record("{\n \"RecordNumber\": 1234,\n \"RequestCode\": \"BBBB\"\n}");
        let other = sqs_record(r#"{"RecordNumber": 1234, "RequestCode": "AAAA"}"#);
        assert!(filters.matches(&matching, SourceKind::Sqs));
        assert!(!filters.matches(&other, SourceKind::Sqs));
    }

    #[test]
    fn sqs_plain_body_takes_plain_conditions() {
        let plain = criteria(&[r#"{"body": ["hello"]}"#]);
        assert!(plain.matches(&sqs_record("hello"), SourceKind::Sqs));
        assert!(!plain.matches(&sqs_record("hello world"), SourceKind::Sqs));
        let prefix = criteria(&[r#"{"body": [{"prefix": "ERROR"}]}"#]);
        assert!(prefix.matches(&sqs_record("ERROR: disk full"), SourceKind::Sqs));
        assert!(!prefix.matches(&sqs_record("INFO: ok"), SourceKind::Sqs));
    }

    #[test]
    fn sqs_body_format_must_agree_with_the_pattern() {
        // Plain body, JSON pattern: dropped, even when the pattern asks for absence.
        let nested = criteria(&[r#"{"body": {"a": [{"exists": false}]}}"#]);
        assert!(!nested.matches(&sqs_record("not json"), SourceKind::Sqs));
        assert!(nested.matches(&sqs_record(r#"{"b": 1}"#), SourceKind::Sqs));
        // JSON body, plain pattern: dropped, even when the text would match.
        let text = criteria(&[r#"{"body": [{"prefix": "{"}]}"#]);
        assert!(!text.matches(&sqs_record(r#"{"b": 1}"#), SourceKind::Sqs));
        assert!(text.matches(&sqs_record("{ not json"), SourceKind::Sqs));
        let anything = criteria(&[r#"{"body": [{"exists": true}]}"#]);
        assert!(!anything.matches(&sqs_record(r#"{"b": 1}"#), SourceKind::Sqs));
        assert!(anything.matches(&sqs_record("text"), SourceKind::Sqs));
        // A JSON value that is not an object counts as a plain string.
        let quoted = criteria(&[r#"{"body": ["42"]}"#]);
        assert!(quoted.matches(&sqs_record("42"), SourceKind::Sqs));
    }

    #[test]
    fn sqs_metadata_without_body_pattern_ignores_the_body() {
        let filters = criteria(&[r#"{"messageAttributes": {"team": {"stringValue": ["blue"]}}}"#]);
        assert!(filters.matches(&sqs_record("plain"), SourceKind::Sqs));
        assert!(filters.matches(&sqs_record(r#"{"a": 1}"#), SourceKind::Sqs));
        let mut record = sqs_record("plain");
        record["messageAttributes"]["team"]["stringValue"] = json!("red");
        assert!(!filters.matches(&record, SourceKind::Sqs));
    }

    #[test]
    fn sqs_fields_added_by_polling_are_out_of_reach() {
        let source = criteria(&[r#"{"eventSource": ["aws:sqs"]}"#]);
        assert!(!source.matches(&sqs_record("x"), SourceKind::Sqs));
        let absent = criteria(&[r#"{"awsRegion": [{"exists": false}]}"#]);
        assert!(absent.matches(&sqs_record("x"), SourceKind::Sqs));
        let delivered = criteria(&[r#"{"md5OfBody": [{"exists": true}]}"#]);
        assert!(delivered.matches(&sqs_record("x"), SourceKind::Sqs));
    }

    // --- Kinesis ----------------------------------------------------------------

    #[test]
    fn kinesis_data_is_decoded_and_filtered() {
        let filters = criteria(&[r#"{"data": {"order": {"type": ["buy"]}}}"#]);
        let buy =
            kinesis_record(br#"{"record": 12345, "order": {"type": "buy", "quantity": 1000}}"#);
        let sell = kinesis_record(br#"{"record": 12346, "order": {"type": "sell"}}"#);
        assert!(filters.matches(&buy, SourceKind::Kinesis));
        assert!(!filters.matches(&sell, SourceKind::Kinesis));
        let numeric =
            criteria(&[r#"{"data": {"order": {"quantity": [{"numeric": [">=", 1000]}]}}}"#]);
        assert!(numeric.matches(&buy, SourceKind::Kinesis));
    }

    #[test]
    fn kinesis_metadata_is_the_kinesis_object() {
        let record = kinesis_record(br#"{"Location": "Los Angeles"}"#);
        let both = criteria(&[r#"{"partitionKey": ["1"], "data": {"Location": ["Los Angeles"]}}"#]);
        assert!(both.matches(&record, SourceKind::Kinesis));
        let other_key = criteria(&[r#"{"partitionKey": ["2"]}"#]);
        assert!(!other_key.matches(&record, SourceKind::Kinesis));
        // The fields around `kinesis` are Lambda's, not the stream's.
        let outer = criteria(&[r#"{"eventName": ["aws:kinesis:record"]}"#]);
        assert!(!outer.matches(&record, SourceKind::Kinesis));
    }

    #[test]
    fn kinesis_non_json_data() {
        let record = kinesis_record(b"just some text");
        // A pattern on data drops the record, even one asking for absence...
        let on_data = criteria(&[r#"{"data": {"a": [{"exists": false}]}}"#]);
        assert!(!on_data.matches(&record, SourceKind::Kinesis));
        // ...a plain condition on data is never met...
        let plain = criteria(&[r#"{"data": [{"prefix": "just"}]}"#]);
        assert!(!plain.matches(&record, SourceKind::Kinesis));
        // ...and metadata alone still filters.
        let metadata = criteria(&[r#"{"partitionKey": ["1"]}"#]);
        assert!(metadata.matches(&record, SourceKind::Kinesis));
        // Data that isn't base64 at all is not JSON either.
        let mut broken = kinesis_record(b"{}");
        broken["kinesis"]["data"] = json!("%%% not base64 %%%");
        assert!(!on_data.matches(&broken, SourceKind::Kinesis));
        assert!(metadata.matches(&broken, SourceKind::Kinesis));
    }

    // --- DynamoDB -----------------------------------------------------------------

    #[test]
    fn dynamodb_typed_attributes() {
        let filters = criteria(&[r#"{"dynamodb": {"NewImage": {"status": {"S": ["active"]}}}}"#]);
        let active = dynamodb_record("INSERT", json!({"status": {"S": "active"}}));
        let inactive = dynamodb_record("INSERT", json!({"status": {"S": "inactive"}}));
        let numbered = dynamodb_record("INSERT", json!({"status": {"N": "1"}}));
        assert!(filters.matches(&active, SourceKind::DynamoDb));
        assert!(!filters.matches(&inactive, SourceKind::DynamoDb));
        assert!(!filters.matches(&numbered, SourceKind::DynamoDb));

        // DynamoDB numbers are strings in the stream record.
        let key = criteria(&[r#"{"dynamodb": {"Keys": {"Id": {"N": ["101"]}}}}"#]);
        assert!(key.matches(&active, SourceKind::DynamoDb));
        let as_number = criteria(&[r#"{"dynamodb": {"Keys": {"Id": {"N": [101]}}}}"#]);
        assert!(!as_number.matches(&active, SourceKind::DynamoDb));

        let flag = criteria(&[r#"{"dynamodb": {"NewImage": {"vip": {"BOOL": [true]}}}}"#]);
        let vip = dynamodb_record("MODIFY", json!({"vip": {"BOOL": true}}));
        assert!(flag.matches(&vip, SourceKind::DynamoDb));
        assert!(!flag.matches(&active, SourceKind::DynamoDb));
    }

    #[test]
    fn dynamodb_event_name_and_exists() {
        let insert = criteria(&[
            r#"{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"email": {"S": [{"exists": true}]}}}}"#,
        ]);
        let with_email = dynamodb_record("INSERT", json!({"email": {"S": "a@b.c"}}));
        let without = dynamodb_record("INSERT", json!({"name": {"S": "a"}}));
        let removed = dynamodb_record("REMOVE", json!({"email": {"S": "a@b.c"}}));
        assert!(insert.matches(&with_email, SourceKind::DynamoDb));
        assert!(!insert.matches(&without, SourceKind::DynamoDb));
        assert!(!insert.matches(&removed, SourceKind::DynamoDb));

        let no_old_image =
            criteria(&[r#"{"dynamodb": {"OldImage": {"email": {"S": [{"exists": false}]}}}}"#]);
        assert!(no_old_image.matches(&with_email, SourceKind::DynamoDb));
        // Lambda adds eventSourceARN while polling; filters don't see it.
        let arn = criteria(&[r#"{"eventSourceARN": [{"prefix": "arn:"}]}"#]);
        assert!(!arn.matches(&with_email, SourceKind::DynamoDb));
    }

    #[test]
    fn dynamodb_payload_takes_only_nested_patterns() {
        let record = dynamodb_record("INSERT", json!({"a": {"S": "x"}}));
        let plain = criteria(&[r#"{"dynamodb": [{"exists": false}]}"#]);
        assert!(!plain.matches(&record, SourceKind::DynamoDb));
        let nested = criteria(&[r#"{"dynamodb": {"StreamViewType": ["NEW_IMAGE"]}}"#]);
        assert!(nested.matches(&record, SourceKind::DynamoDb));
    }

    // --- Parsing ------------------------------------------------------------------

    #[test]
    fn quota_and_length_limits() {
        let five: Vec<String> = (0..5).map(|i| format!(r#"{{"body": ["{i}"]}}"#)).collect();
        assert!(FilterCriteria::parse(&five).is_ok());
        let mut six = five.clone();
        six.push(r#"{"body": ["6"]}"#.to_owned());
        let error = FilterCriteria::parse(&six).expect_err("six filters are too many");
        assert!(error.contains("at most 5"), "{error}");

        // Exactly 4096 characters (the body condition padded out) is fine.
        let frame = r#"{"body": [""]}"#;
        let fits = frame.replace("\"\"", &format!("\"{}\"", "x".repeat(4096 - frame.len())));
        assert_eq!(fits.chars().count(), 4096);
        assert!(FilterCriteria::parse(std::slice::from_ref(&fits)).is_ok());
        let too_long = fits.replace("\"x", "\"xx");
        let error = FilterCriteria::parse(&[too_long]).expect_err("4097 characters");
        assert!(
            error.contains("Filters[0]") && error.contains("4096"),
            "{error}"
        );
    }

    #[test]
    fn errors_name_the_pattern() {
        let patterns = vec![
            r#"{"body": ["ok"]}"#.to_owned(),
            r#"{"body": []}"#.to_owned(),
        ];
        let error = FilterCriteria::parse(&patterns).expect_err("second pattern is bad");
        assert!(
            error.starts_with("Invalid filter pattern definition"),
            "{error}"
        );
        assert!(error.contains("Filters[1]"), "{error}");
        assert!(error.contains(r#"{"body": []}"#), "{error}");
        assert!(error.contains("\"body\""), "{error}");
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for pattern in [
            "",
            "not json",
            r#"["body"]"#,
            r#""body""#,
            "{}",
            r#"{"body": {}}"#,
            r#"{"body": []}"#,
            r#"{"body": "hello"}"#,
            r#"{"body": {"n": 5}}"#,
            r#"{"body": [["nested"]]}"#,
        ] {
            assert!(
                FilterCriteria::parse(&[pattern.to_owned()]).is_err(),
                "{pattern} should fail"
            );
        }
    }

    #[test]
    fn bad_operators_are_refused() {
        for pattern in [
            r#"{"a": [{"contains": "x"}]}"#,
            r#"{"a": [{"prefix": "x", "suffix": "y"}]}"#,
            r#"{"a": [{}]}"#,
            r#"{"a": [{"prefix": 1}]}"#,
            r#"{"a": [{"prefix": ["x"]}]}"#,
            r#"{"a": [{"prefix": {"equals-ignore-case": 1}}]}"#,
            r#"{"a": [{"suffix": null}]}"#,
            r#"{"a": [{"equals-ignore-case": ["x"]}]}"#,
            r#"{"a": [{"exists": "true"}]}"#,
            r#"{"a": [{"anything-but": []}]}"#,
            r#"{"a": [{"anything-but": ["x", 1]}]}"#,
            r#"{"a": [{"anything-but": true}]}"#,
            r#"{"a": [{"anything-but": null}]}"#,
            r#"{"a": [{"anything-but": {"prefix": ["x", "y"]}}]}"#,
            r#"{"a": [{"anything-but": {"numeric": [">", 1]}}]}"#,
            r#"{"a": [{"numeric": []}]}"#,
            r#"{"a": [{"numeric": [">"]}]}"#,
            r#"{"a": [{"numeric": [">", "1"]}]}"#,
            r#"{"a": [{"numeric": ["!=", 1]}]}"#,
            r#"{"a": [{"numeric": [">", 1, ">", 2]}]}"#,
            r#"{"a": [{"numeric": ["=", 1, "<", 2]}]}"#,
            r#"{"a": [{"numeric": [">", 5, "<", 1]}]}"#,
            r#"{"a": [{"numeric": [">", 0, "<", 5, "<", 6]}]}"#,
            r#"{"$or": [{"a": ["x"]}]}"#,
            r#"{"$or": [{"a": ["x"]}, "b"]}"#,
        ] {
            assert!(
                FilterCriteria::parse(&[pattern.to_owned()]).is_err(),
                "{pattern} should fail"
            );
        }
    }

    #[test]
    fn or_errors_point_at_the_alternatives() {
        let error = parse_error(r#"{"x": {"$or": [{"a": ["x"]}, "b"]}}"#);
        assert!(
            error.contains("\"x.$or\" must hold only objects"),
            "{error}"
        );
        let error = parse_error(r#"{"x": {"$or": [{"a": {}}, {"b": ["y"]}]}}"#);
        assert!(
            error.contains("\"x.$or[0].a\" is an empty object"),
            "{error}"
        );
    }

    #[test]
    fn eventbridge_only_operators_are_refused() {
        let error = parse_error(r#"{"ip": [{"cidr": "10.0.0.0/24"}]}"#);
        assert!(
            error.contains("cidr") && error.contains("does not support"),
            "{error}"
        );
        let error = parse_error(r#"{"f": [{"wildcard": "*.png"}]}"#);
        assert!(error.contains("wildcard"), "{error}");
        let error = parse_error(r#"{"f": [{"anything-but": {"wildcard": "*.png"}}]}"#);
        assert!(error.contains("wildcard"), "{error}");
    }
}
