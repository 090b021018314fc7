//! Dataset rules beyond types, declared as data in the schema's `adx.rules` block and compiled
//! against the reader shape once, when the schema loads.
//!
//! ```json
//! {"rule": "non_empty", "fields": ["impression_id", "imps[].imp_id"]}
//! {"rule": "min", "fields": ["win_price_micros"], "value": 0}
//! {"rule": "pattern", "fields": ["country"], "regex": "^[A-Z]{2}$"}
//! {"rule": "min_items", "fields": ["imps"], "value": 1}
//! {"rule": "when", "if": {"field": "event_type", "equals": "CONVERSION"}, "require": ["conversion_type"]}
//! {"rule": "when", "if": {"field": "revenue_micros", "present": true}, "require": ["currency"], "forbid": []}
//! ```
//! A path is a dotted list of field names; `name[]` steps into every item of an array. A rule
//! skips a null value: whether a value may be null is the schema's business.

use crate::error::{FieldError, shorten};
use crate::model::datum::Datum;
use crate::model::shape::{Kind, RecordShape, Ty};
use crate::pattern::Pattern;
use serde::Deserialize;

/// A rule as written in the schema file.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleSpec {
    /// Strings at these paths are not empty (nor only white space).
    NonEmpty {
        /// Paths checked.
        fields: Vec<String>,
    },
    /// Numbers at these paths are at least `value`.
    Min {
        /// Paths checked.
        fields: Vec<String>,
        /// Smallest allowed value.
        value: f64,
    },
    /// Strings at these paths match `regex`.
    Pattern {
        /// Paths checked.
        fields: Vec<String>,
        /// The regular expression (anchor it).
        regex: String,
    },
    /// Arrays at these paths hold at least `value` items.
    MinItems {
        /// Paths checked.
        fields: Vec<String>,
        /// Fewest items allowed.
        value: usize,
    },
    /// When the condition holds, the `require` paths must have a value and `forbid` paths none.
    When {
        /// The condition.
        #[serde(rename = "if")]
        condition: ConditionSpec,
        /// Paths that must be non-null.
        #[serde(default)]
        require: Vec<String>,
        /// Paths that must be null.
        #[serde(default)]
        forbid: Vec<String>,
    },
}

/// The condition of a `when` rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    /// Path of the field tested (no `[]`).
    pub field: String,
    /// Holds when the field's value (enum symbol, string, number as text) equals this.
    pub equals: Option<String>,
    /// Holds when the field is present (non-null) if true, absent if false.
    pub present: Option<bool>,
}

#[derive(Debug, Clone)]
enum Step {
    Field(usize, String),
    Each,
}

#[derive(Debug, Clone)]
struct Path {
    steps: Vec<Step>,
    ty: Ty,
}

#[derive(Debug, Clone)]
enum Check {
    NonEmpty,
    Min(f64),
    Pattern(Pattern),
    MinItems(usize),
    Required(String),
    Forbidden(String),
}

#[derive(Debug, Clone)]
struct FieldCheck {
    path: Path,
    check: Check,
}

#[derive(Debug, Clone)]
enum Condition {
    Equals(String),
    Present(bool),
}

#[derive(Debug, Clone)]
struct When {
    path: Path,
    condition: Condition,
    checks: Vec<FieldCheck>,
}

/// Why the rules of a schema cannot be compiled against its shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    /// A path steps into a field that is not a record.
    #[error("path {path}: {segment} is not inside a record")]
    NotInsideRecord {
        /// The path as written.
        path: String,
        /// The segment that cannot be reached.
        segment: String,
    },
    /// A path names a field the record does not have.
    #[error("path {path}: no field {name}")]
    NoField {
        /// The path as written.
        path: String,
        /// The missing field.
        name: String,
    },
    /// A path has `[]` after a field that is not an array.
    #[error("path {path}: {name} is not an array")]
    NotAnArray {
        /// The path as written.
        path: String,
        /// The field that is not an array.
        name: String,
    },
    /// A path with no segment.
    #[error("empty path")]
    EmptyPath,
    /// A rule on a field whose type it cannot check.
    #[error("rule on {path}: the field is not {expected}")]
    WrongType {
        /// The path as written.
        path: String,
        /// The type the rule needs (`a string`, `a number`, `an array`).
        expected: &'static str,
    },
    /// A `pattern` rule whose regular expression does not compile.
    #[error("pattern {regex}: {error}")]
    BadPattern {
        /// The regular expression as written.
        regex: String,
        /// Why it does not compile.
        error: regex::Error,
    },
    /// A `when` condition on a path with `[]`.
    #[error("condition on {field}: `[]` is not allowed")]
    EachInCondition {
        /// The condition's path.
        field: String,
    },
    /// A `when` condition with both or neither of `equals` and `present`.
    #[error("condition on {field}: give exactly one of equals, present")]
    ConditionTest {
        /// The condition's path.
        field: String,
    },
}

/// The compiled rules of one dataset.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    checks: Vec<FieldCheck>,
    whens: Vec<When>,
}

fn compile_path(root: &RecordShape, text: &str) -> Result<Path, RuleError> {
    let mut steps = Vec::new();
    let mut record: Option<std::sync::Arc<RecordShape>> = None;
    let mut current: Option<Ty> = None;
    for segment in text.split('.') {
        if let Some(ty) = &current {
            match &ty.kind {
                Kind::Record(r) => record = Some(r.clone()),
                _ => {
                    return Err(RuleError::NotInsideRecord {
                        path: text.to_string(),
                        segment: segment.to_string(),
                    });
                }
            }
        }
        let here = record.as_deref().unwrap_or(root);
        let (name, each) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (segment, false),
        };
        let pos = here.position(name).ok_or_else(|| RuleError::NoField {
            path: text.to_string(),
            name: name.to_string(),
        })?;
        steps.push(Step::Field(pos, name.to_string()));
        let mut ty = here.fields[pos].ty.clone();
        if each {
            let Kind::Array(item) = &ty.kind else {
                return Err(RuleError::NotAnArray {
                    path: text.to_string(),
                    name: name.to_string(),
                });
            };
            let item = (**item).clone();
            steps.push(Step::Each);
            ty = item;
        }
        current = Some(ty);
    }
    let ty = current.ok_or(RuleError::EmptyPath)?;
    Ok(Path { steps, ty })
}

fn compile_checks(
    root: &RecordShape,
    fields: &[String],
    check: &Check,
    fits: fn(&Kind) -> bool,
    what: &'static str,
) -> Result<Vec<FieldCheck>, RuleError> {
    fields
        .iter()
        .map(|f| {
            let path = compile_path(root, f)?;
            if !fits(&path.ty.kind) {
                return Err(RuleError::WrongType {
                    path: f.clone(),
                    expected: what,
                });
            }
            Ok(FieldCheck {
                path,
                check: check.clone(),
            })
        })
        .collect()
}

impl Rules {
    /// Compiles rule specs against the dataset's record shape.
    pub fn compile(root: &RecordShape, specs: &[RuleSpec]) -> Result<Rules, RuleError> {
        let mut rules = Rules::default();
        let string = |k: &Kind| matches!(k, Kind::Str);
        let number = |k: &Kind| matches!(k, Kind::Int | Kind::Long | Kind::Float | Kind::Double);
        let array = |k: &Kind| matches!(k, Kind::Array(_));
        let any = |_: &Kind| true;
        for spec in specs {
            match spec {
                RuleSpec::NonEmpty { fields } => rules.checks.extend(compile_checks(
                    root,
                    fields,
                    &Check::NonEmpty,
                    string,
                    "a string",
                )?),
                RuleSpec::Min { fields, value } => rules.checks.extend(compile_checks(
                    root,
                    fields,
                    &Check::Min(*value),
                    number,
                    "a number",
                )?),
                RuleSpec::Pattern { fields, regex } => {
                    let re = Pattern::new(regex).map_err(|error| RuleError::BadPattern {
                        regex: regex.clone(),
                        error,
                    })?;
                    rules.checks.extend(compile_checks(
                        root,
                        fields,
                        &Check::Pattern(re),
                        string,
                        "a string",
                    )?)
                }
                RuleSpec::MinItems { fields, value } => rules.checks.extend(compile_checks(
                    root,
                    fields,
                    &Check::MinItems(*value),
                    array,
                    "an array",
                )?),
                RuleSpec::When {
                    condition,
                    require,
                    forbid,
                } => {
                    let path = compile_path(root, &condition.field)?;
                    if path.steps.iter().any(|s| matches!(s, Step::Each)) {
                        return Err(RuleError::EachInCondition {
                            field: condition.field.clone(),
                        });
                    }
                    let (cond, said) = match (&condition.equals, condition.present) {
                        (Some(v), None) => (
                            Condition::Equals(v.clone()),
                            format!("{} is {v}", condition.field),
                        ),
                        (None, Some(p)) => (
                            Condition::Present(p),
                            format!(
                                "{} is {}",
                                condition.field,
                                if p { "present" } else { "absent" }
                            ),
                        ),
                        _ => {
                            return Err(RuleError::ConditionTest {
                                field: condition.field.clone(),
                            });
                        }
                    };
                    let mut checks =
                        compile_checks(root, require, &Check::Required(said.clone()), any, "")?;
                    checks.extend(compile_checks(
                        root,
                        forbid,
                        &Check::Forbidden(said),
                        any,
                        "",
                    )?);
                    rules.whens.push(When {
                        path,
                        condition: cond,
                        checks,
                    });
                }
            }
        }
        Ok(rules)
    }

    /// Checks a record; the first broken rule is returned.
    pub fn check(&self, record: &Datum) -> Result<(), FieldError> {
        for c in &self.checks {
            match (c.path.steps.as_slice(), record) {
                // Most rules name a top-level field: look it up directly.
                ([Step::Field(i, name)], Datum::Record(fields)) => match fields.get(*i) {
                    Some(Datum::Null) | None => {}
                    Some(d) => apply(&c.check, d, &c.path.ty).map_err(|e| e.within(name))?,
                },
                (steps, _) => visit(record, steps, &mut |d| apply(&c.check, d, &c.path.ty))?,
            }
        }
        for w in &self.whens {
            if condition_holds(record, w) {
                for c in &w.checks {
                    match (c.path.steps.as_slice(), record) {
                        // A top-level field, null or not: look it up directly.
                        ([Step::Field(i, name)], Datum::Record(fields)) => {
                            if let Some(d) = fields.get(*i) {
                                apply(&c.check, d, &c.path.ty).map_err(|e| e.within(name))?;
                            }
                        }
                        (steps, _) => {
                            visit_all(record, steps, &mut |d| apply(&c.check, d, &c.path.ty))?
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn condition_holds(record: &Datum, when: &When) -> bool {
    let value = field_value(record, &when.path.steps).unwrap_or(&Datum::Null);
    match &when.condition {
        Condition::Present(p) => value.is_null() != *p,
        Condition::Equals(expected) => renders_as(value, &when.path.ty, expected),
    }
}

/// The value at a path of fields only (no `[]`), or `None` when a null record lies on the way.
fn field_value<'a>(mut d: &'a Datum<'a>, steps: &[Step]) -> Option<&'a Datum<'a>> {
    for step in steps {
        match (step, d) {
            (Step::Field(i, _), Datum::Record(fields)) => d = fields.get(*i)?,
            _ => return None,
        }
    }
    Some(d)
}

/// Whether `value` renders as `expected` (as [`render`] would render it), without building
/// the rendered text: conditions are tested on every record.
fn renders_as(value: &Datum, ty: &Ty, expected: &str) -> bool {
    use std::fmt::Write;

    /// Takes the rendered text piece by piece, checking each against what is left of
    /// the expected text.
    struct Compare<'e> {
        rest: &'e str,
    }

    impl Write for Compare<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            match self.rest.strip_prefix(s) {
                Some(rest) => {
                    self.rest = rest;
                    Ok(())
                }
                None => Err(std::fmt::Error),
            }
        }
    }

    let mut compare = Compare { rest: expected };
    let written = match (value, &ty.kind) {
        (Datum::Enum(i), Kind::Enum(e)) => {
            return e.symbols.get(*i as usize).is_some_and(|s| s == expected);
        }
        (Datum::Str(s), _) => return s.as_str() == expected,
        (Datum::Long(v) | Datum::Timestamp(v), _) => write!(compare, "{v}"),
        (Datum::Int(v), _) => write!(compare, "{v}"),
        (Datum::Bool(v), _) => write!(compare, "{v}"),
        (Datum::Double(v), _) => write!(compare, "{v}"),
        (Datum::Float(v), _) => write!(compare, "{v}"),
        _ => return false,
    };
    written.is_ok() && compare.rest.is_empty()
}

fn render(value: &Datum, ty: &Ty) -> Option<String> {
    match (value, &ty.kind) {
        (Datum::Enum(i), Kind::Enum(e)) => e.symbols.get(*i as usize).cloned(),
        (Datum::Str(s), _) => Some(s.to_string()),
        (Datum::Long(v) | Datum::Timestamp(v), _) => Some(v.to_string()),
        (Datum::Int(v), _) => Some(v.to_string()),
        (Datum::Bool(v), _) => Some(v.to_string()),
        (Datum::Double(v), _) => Some(v.to_string()),
        (Datum::Float(v), _) => Some(v.to_string()),
        _ => None,
    }
}

/// Visits non-null values at `steps`.
fn visit<'a>(
    d: &'a Datum,
    steps: &[Step],
    f: &mut dyn FnMut(&'a Datum) -> Result<(), FieldError>,
) -> Result<(), FieldError> {
    walk(d, steps, f, false)
}

/// Visits values at `steps`, nulls included (for require/forbid).
fn visit_all<'a>(
    d: &'a Datum,
    steps: &[Step],
    f: &mut dyn FnMut(&'a Datum) -> Result<(), FieldError>,
) -> Result<(), FieldError> {
    walk(d, steps, f, true)
}

fn walk<'a>(
    d: &'a Datum,
    steps: &[Step],
    f: &mut dyn FnMut(&'a Datum) -> Result<(), FieldError>,
    nulls: bool,
) -> Result<(), FieldError> {
    let Some((step, rest)) = steps.split_first() else {
        return if d.is_null() && !nulls { Ok(()) } else { f(d) };
    };
    match (step, d) {
        (Step::Field(i, name), Datum::Record(fields)) => match fields.get(*i) {
            Some(child) => walk(child, rest, f, nulls).map_err(|e| e.within(name)),
            None => Ok(()),
        },
        (Step::Each, Datum::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, rest, f, nulls).map_err(|e| e.at_index(i))?;
            }
            Ok(())
        }
        // A null record or array on the way: nothing below it to check, unless the rule
        // wants to see absent values, in which case the leaf is absent.
        (_, Datum::Null) if nulls && steps.iter().all(|s| matches!(s, Step::Field(..))) => steps
            .iter()
            .rev()
            .fold(f(&Datum::Null), |result, step| match step {
                Step::Field(_, name) => result.map_err(|e| e.within(name)),
                Step::Each => result,
            }),
        _ => Ok(()),
    }
}

/// Whether a string is empty or only whitespace (most values start with a visible character).
fn is_blank(s: &str) -> bool {
    match s.as_bytes().first() {
        Some(b) if b.is_ascii_graphic() => false,
        _ => s.trim().is_empty(),
    }
}

fn apply(check: &Check, d: &Datum, ty: &Ty) -> Result<(), FieldError> {
    match check {
        Check::NonEmpty => match d {
            Datum::Str(s) if is_blank(s) => Err(FieldError::new(
                "",
                "a non-empty string",
                format!("\"{s}\""),
            )),
            _ => Ok(()),
        },
        Check::Min(min) => {
            let v = match d {
                Datum::Int(v) => f64::from(*v),
                Datum::Long(v) => *v as f64,
                Datum::Float(v) => f64::from(*v),
                Datum::Double(v) => *v,
                _ => return Ok(()),
            };
            if v < *min {
                Err(FieldError::new(
                    "",
                    format!("a value >= {min}"),
                    render(d, ty).unwrap_or_default(),
                ))
            } else {
                Ok(())
            }
        }
        Check::Pattern(re) => match d {
            Datum::Str(s) if !re.is_match(s) => Err(FieldError::new(
                "",
                format!("a value matching {}", re.as_str()),
                format!("\"{}\"", shorten(s)),
            )),
            _ => Ok(()),
        },
        Check::MinItems(n) => match d {
            Datum::Array(items) if items.len() < *n => Err(FieldError::new(
                "",
                format!("at least {n} item(s)"),
                format!("{} item(s)", items.len()),
            )),
            _ => Ok(()),
        },
        Check::Required(when) => {
            if d.is_null() {
                Err(FieldError::new(
                    "",
                    format!("a value, since {when}"),
                    "none",
                ))
            } else {
                Ok(())
            }
        }
        Check::Forbidden(when) => {
            if d.is_null() {
                Ok(())
            } else {
                Err(FieldError::new(
                    "",
                    format!("no value, since {when}"),
                    render(d, ty).unwrap_or_else(|| "a value".into()),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::json::json_to_record;
    use serde_json::{Value, json};
    use std::sync::Arc;

    const FIELDS: &str = r#"
        {"name":"s","type":["null","string"],"default":null},
        {"name":"i","type":"int"},
        {"name":"l","type":["null","long"],"default":null},
        {"name":"d","type":["null","double"],"default":null},
        {"name":"kind","type":{"type":"enum","name":"K","symbols":["A","B"]}},
        {"name":"imps","type":{"type":"array","items":{"type":"record","name":"Imp","fields":[
            {"name":"imp_id","type":"string"},
            {"name":"floor","type":"long"}
        ]}}},
        {"name":"tags","type":{"type":"array","items":"string"},"default":[]},
        {"name":"site","type":["null",{"type":"record","name":"Site","fields":[
            {"name":"domain","type":"string"},
            {"name":"page","type":["null","string"],"default":null}
        ]}],"default":null}
    "#;

    fn shape() -> Arc<RecordShape> {
        crate::test_support::shape(FIELDS)
    }

    fn compile(specs: Value) -> Result<Rules, String> {
        let specs: Vec<RuleSpec> = serde_json::from_value(specs).unwrap();
        Rules::compile(&shape(), &specs).map_err(|e| e.to_string())
    }

    /// A valid record (`i` 1, `kind` A, no imps) with `overrides` laid over it.
    fn record(overrides: Value) -> Datum<'static> {
        let mut base = json!({"i": 1, "kind": "A", "imps": []});
        for (k, v) in overrides.as_object().unwrap() {
            base[k] = v.clone();
        }
        json_to_record(&base, &shape()).unwrap()
    }

    fn check(specs: Value, overrides: Value) -> Result<(), FieldError> {
        compile(specs).unwrap().check(&record(overrides))
    }

    #[test]
    fn non_empty_refuses_empty_and_blank_strings_and_skips_null() {
        let spec = json!([{"rule": "non_empty", "fields": ["s"]}]);
        let e = check(spec.clone(), json!({"s": ""})).unwrap_err();
        assert_eq!(e.field, "s");
        assert_eq!(e.expected, "a non-empty string");
        assert_eq!(e.found, "\"\"");
        let e = check(spec.clone(), json!({"s": "  "})).unwrap_err();
        assert_eq!(e.field, "s");
        assert_eq!(e.found, "\"  \"");
        check(spec.clone(), json!({"s": "a"})).unwrap();
        check(spec.clone(), json!({"s": null})).unwrap();
        check(spec, json!({})).unwrap();
    }

    #[test]
    fn min_on_int_long_and_double() {
        let spec = json!([{"rule": "min", "fields": ["i", "l", "d"], "value": 0}]);
        let e = check(spec.clone(), json!({"i": -1})).unwrap_err();
        assert_eq!(e.field, "i");
        assert_eq!(e.expected, "a value >= 0");
        assert_eq!(e.found, "-1");
        check(spec.clone(), json!({"i": 0})).unwrap();

        let e = check(spec.clone(), json!({"l": -5})).unwrap_err();
        assert_eq!((e.field.as_str(), e.found.as_str()), ("l", "-5"));
        assert!(e.expected.contains(">= 0"), "{e}");
        check(spec.clone(), json!({"l": 0})).unwrap();
        check(spec.clone(), json!({"l": i64::MAX})).unwrap();
        check(spec.clone(), json!({"l": null})).unwrap();

        let e = check(spec.clone(), json!({"d": -0.5})).unwrap_err();
        assert_eq!((e.field.as_str(), e.found.as_str()), ("d", "-0.5"));
        check(spec, json!({"d": 0.0})).unwrap();
    }

    #[test]
    fn min_with_a_non_zero_bound() {
        let spec = json!([{"rule": "min", "fields": ["i"], "value": 10}]);
        let e = check(spec.clone(), json!({"i": 9})).unwrap_err();
        assert_eq!(e.field, "i");
        assert_eq!(e.expected, "a value >= 10");
        check(spec, json!({"i": 10})).unwrap();
    }

    #[test]
    fn pattern_on_country() {
        let spec = json!([{"rule": "pattern", "fields": ["s"], "regex": "^[A-Z]{2}$"}]);
        let e = check(spec.clone(), json!({"s": "usa"})).unwrap_err();
        assert_eq!(e.field, "s");
        assert_eq!(e.expected, "a value matching ^[A-Z]{2}$");
        assert_eq!(e.found, "\"usa\"");
        check(spec.clone(), json!({"s": "US"})).unwrap();
        check(spec.clone(), json!({"s": "USA"})).unwrap_err();
        check(spec, json!({"s": null})).unwrap();
    }

    #[test]
    fn pattern_shortens_a_long_value() {
        let spec = json!([{"rule": "pattern", "fields": ["s"], "regex": "^[A-Z]{2}$"}]);
        let long = "x".repeat(200);
        let e = check(spec, json!({ "s": long })).unwrap_err();
        assert!(e.found.len() < 100, "{}", e.found);
        assert!(e.found.contains('…'));
    }

    #[test]
    fn min_items_refuses_an_empty_array() {
        let spec = json!([{"rule": "min_items", "fields": ["imps", "tags"], "value": 1}]);
        let e = check(spec.clone(), json!({"tags": ["t"]})).unwrap_err();
        assert_eq!(e.field, "imps");
        assert_eq!(e.expected, "at least 1 item(s)");
        assert_eq!(e.found, "0 item(s)");
        let e = check(
            spec.clone(),
            json!({"imps": [{"imp_id": "a", "floor": 1}], "tags": []}),
        )
        .unwrap_err();
        assert_eq!(e.field, "tags");
        check(
            spec,
            json!({"imps": [{"imp_id": "a", "floor": 1}], "tags": ["t"]}),
        )
        .unwrap();
    }

    #[test]
    fn paths_into_arrays_of_records_name_the_item() {
        let spec = json!([
            {"rule": "non_empty", "fields": ["imps[].imp_id"]},
            {"rule": "min", "fields": ["imps[].floor"], "value": 0}
        ]);
        let e = check(
            spec.clone(),
            json!({"imps": [{"imp_id": "a", "floor": 1}, {"imp_id": "", "floor": 1}]}),
        )
        .unwrap_err();
        assert_eq!(e.field, "imps[1].imp_id");
        assert_eq!(e.expected, "a non-empty string");
        let e = check(
            spec.clone(),
            json!({"imps": [{"imp_id": "a", "floor": 1}, {"imp_id": "b", "floor": 0}, {"imp_id": "c", "floor": -3}]}),
        )
        .unwrap_err();
        assert_eq!(e.field, "imps[2].floor");
        assert_eq!(e.found, "-3");
        check(spec.clone(), json!({"imps": [{"imp_id": "a", "floor": 0}]})).unwrap();
        check(spec, json!({"imps": []})).unwrap();
    }

    #[test]
    fn paths_into_arrays_of_strings() {
        let spec = json!([{"rule": "non_empty", "fields": ["tags[]"]}]);
        let e = check(spec.clone(), json!({"tags": ["x", "y", " "]})).unwrap_err();
        assert_eq!(e.field, "tags[2]");
        check(spec, json!({"tags": ["x"]})).unwrap();
    }

    #[test]
    fn paths_into_a_nullable_record_skip_a_null_record() {
        let spec = json!([{"rule": "non_empty", "fields": ["site.domain", "site.page"]}]);
        check(spec.clone(), json!({"site": null})).unwrap();
        check(spec.clone(), json!({"site": {"domain": "x.com"}})).unwrap();
        let e = check(spec.clone(), json!({"site": {"domain": ""}})).unwrap_err();
        assert_eq!(e.field, "site.domain");
        assert_eq!(e.found, "\"\"");
        let e = check(spec, json!({"site": {"domain": "x.com", "page": " "}})).unwrap_err();
        assert_eq!(e.field, "site.page");
    }

    #[test]
    fn when_equals_on_an_enum_requires() {
        let spec = json!([
            {"rule": "when", "if": {"field": "kind", "equals": "A"}, "require": ["s"]}
        ]);
        let e = check(spec.clone(), json!({"kind": "A"})).unwrap_err();
        assert_eq!(e.field, "s");
        assert_eq!(e.expected, "a value, since kind is A");
        assert_eq!(e.found, "none");
        check(spec.clone(), json!({"kind": "A", "s": "x"})).unwrap();
        check(spec, json!({"kind": "B"})).unwrap();
    }

    #[test]
    fn when_equals_on_an_enum_forbids() {
        let spec = json!([
            {"rule": "when", "if": {"field": "kind", "equals": "B"}, "forbid": ["l", "s"]}
        ]);
        let e = check(spec.clone(), json!({"kind": "B", "l": 5})).unwrap_err();
        assert_eq!(e.field, "l");
        assert_eq!(e.expected, "no value, since kind is B");
        assert_eq!(e.found, "5");
        let e = check(spec.clone(), json!({"kind": "B", "s": "hi"})).unwrap_err();
        assert_eq!((e.field.as_str(), e.found.as_str()), ("s", "hi"));
        check(spec.clone(), json!({"kind": "B"})).unwrap();
        check(spec, json!({"kind": "A", "l": 5, "s": "hi"})).unwrap();
    }

    #[test]
    fn when_forbid_renders_an_enum_by_symbol() {
        let spec = json!([
            {"rule": "when", "if": {"field": "i", "equals": "7"}, "forbid": ["kind"]}
        ]);
        let e = check(spec.clone(), json!({"i": 7, "kind": "B"})).unwrap_err();
        assert_eq!(e.field, "kind");
        assert_eq!(e.expected, "no value, since i is 7");
        assert_eq!(e.found, "B");
        check(spec, json!({"i": 8, "kind": "B"})).unwrap();
    }

    #[test]
    fn when_equals_compares_the_whole_rendered_value() {
        let on = |field: &str, equals: &str| json!([{"rule": "when", "if": {"field": field, "equals": equals}, "require": ["s"]}]);
        // Numbers as their text: neither a prefix nor a longer text matches.
        check(on("i", "7"), json!({"i": 7})).unwrap_err();
        check(on("i", "7"), json!({"i": 70})).unwrap();
        check(on("i", "70"), json!({"i": 7})).unwrap();
        check(on("i", "-7"), json!({"i": -7})).unwrap_err();
        check(on("l", "12"), json!({"l": 12})).unwrap_err();
        check(on("l", "12"), json!({"l": 1})).unwrap();
        check(on("d", "0.5"), json!({"d": 0.5})).unwrap_err();
        check(on("d", "0.5"), json!({"d": 0.25})).unwrap();
        check(on("d", "1"), json!({"d": 1.0})).unwrap_err();
        // Strings and enum symbols exactly; a null value equals nothing.
        let e = check(on("site.domain", "d"), json!({"site": {"domain": "d"}})).unwrap_err();
        assert_eq!(e.field, "s");
        check(on("site.domain", "d"), json!({"site": {"domain": "dd"}})).unwrap();
        check(on("site.domain", "d"), json!({"site": null})).unwrap();
        check(on("kind", "B"), json!({"kind": "B"})).unwrap_err();
        check(on("kind", "B"), json!({"kind": "A"})).unwrap();
        check(on("l", ""), json!({})).unwrap();
    }

    #[test]
    fn when_present_requires() {
        let spec = json!([
            {"rule": "when", "if": {"field": "l", "present": true}, "require": ["s"]}
        ]);
        let e = check(spec.clone(), json!({"l": 0})).unwrap_err();
        assert_eq!(e.field, "s");
        assert_eq!(e.expected, "a value, since l is present");
        assert_eq!(e.found, "none");
        check(spec.clone(), json!({"l": 0, "s": "EUR"})).unwrap();
        check(spec, json!({})).unwrap();
    }

    #[test]
    fn when_absent_requires() {
        let spec = json!([
            {"rule": "when", "if": {"field": "l", "present": false}, "require": ["s"]}
        ]);
        let e = check(spec.clone(), json!({})).unwrap_err();
        assert_eq!(e.field, "s");
        assert_eq!(e.expected, "a value, since l is absent");
        check(spec.clone(), json!({"s": "x"})).unwrap();
        check(spec, json!({"l": 1})).unwrap();
    }

    #[test]
    fn when_condition_inside_a_nullable_record() {
        let spec = json!([
            {"rule": "when", "if": {"field": "site.page", "present": true}, "require": ["s"]}
        ]);
        check(spec.clone(), json!({"site": null})).unwrap();
        check(spec.clone(), json!({"site": {"domain": "d"}})).unwrap();
        let e = check(spec, json!({"site": {"domain": "d", "page": "p"}})).unwrap_err();
        assert_eq!(e.field, "s");
    }

    #[test]
    fn when_require_inside_a_present_nested_record() {
        let spec = json!([
            {"rule": "when", "if": {"field": "kind", "equals": "A"}, "require": ["site.page"]}
        ]);
        let e = check(spec.clone(), json!({"site": {"domain": "d"}})).unwrap_err();
        assert_eq!(e.field, "site.page");
        assert_eq!(e.found, "none");
        check(spec, json!({"site": {"domain": "d", "page": "p"}})).unwrap();
    }

    #[test]
    fn when_require_through_a_null_record_names_the_leaf() {
        let spec = json!([
            {"rule": "when", "if": {"field": "kind", "equals": "A"}, "require": ["site.page"]}
        ]);
        let e = check(spec, json!({"site": null})).unwrap_err();
        assert_eq!(e.field, "site.page");
    }

    #[test]
    fn the_first_broken_rule_is_reported() {
        let spec = json!([
            {"rule": "non_empty", "fields": ["s"]},
            {"rule": "min", "fields": ["i"], "value": 0}
        ]);
        let e = check(spec, json!({"s": "", "i": -1})).unwrap_err();
        assert_eq!(e.field, "s");
    }

    #[test]
    fn no_rules_accept_anything() {
        compile(json!([]))
            .unwrap()
            .check(&record(json!({"s": ""})))
            .unwrap();
    }

    fn compile_error(specs: Value) -> String {
        compile(specs).unwrap_err()
    }

    #[test]
    fn compile_refuses_an_unknown_field() {
        let e = compile_error(json!([{"rule": "non_empty", "fields": ["nope"]}]));
        assert!(e.contains("no field nope"), "{e}");
        let e = compile_error(json!([{"rule": "non_empty", "fields": ["site.nope"]}]));
        assert!(e.contains("no field nope"), "{e}");
        let e = compile_error(json!([{"rule": "non_empty", "fields": ["imps[].nope"]}]));
        assert!(e.contains("no field nope"), "{e}");
        let e = compile_error(json!([
            {"rule": "when", "if": {"field": "nope", "present": true}, "require": ["s"]}
        ]));
        assert!(e.contains("no field nope"), "{e}");
        let e = compile_error(json!([
            {"rule": "when", "if": {"field": "s", "present": true}, "forbid": ["nope"]}
        ]));
        assert!(e.contains("no field nope"), "{e}");
    }

    #[test]
    fn compile_refuses_brackets_on_a_non_array() {
        let e = compile_error(json!([{"rule": "non_empty", "fields": ["s[]"]}]));
        assert!(e.contains("s is not an array"), "{e}");
    }

    #[test]
    fn compile_refuses_a_step_into_a_non_record() {
        let e = compile_error(json!([{"rule": "non_empty", "fields": ["s.x"]}]));
        assert!(e.contains("not inside a record"), "{e}");
        // An array of records needs `[]` to step into its items.
        let e = compile_error(json!([{"rule": "non_empty", "fields": ["imps.imp_id"]}]));
        assert!(e.contains("not inside a record"), "{e}");
    }

    #[test]
    fn compile_refuses_a_rule_on_the_wrong_type() {
        let e = compile_error(json!([{"rule": "non_empty", "fields": ["i"]}]));
        assert!(e.contains("rule on i") && e.contains("not a string"), "{e}");
        let e = compile_error(json!([{"rule": "min", "fields": ["s"], "value": 0}]));
        assert!(e.contains("not a number"), "{e}");
        let e = compile_error(json!([{"rule": "pattern", "fields": ["kind"], "regex": "^A$"}]));
        assert!(e.contains("not a string"), "{e}");
        let e = compile_error(json!([{"rule": "min_items", "fields": ["s"], "value": 1}]));
        assert!(e.contains("not an array"), "{e}");
    }

    #[test]
    fn compile_refuses_a_condition_with_both_or_neither_test() {
        let e = compile_error(json!([
            {"rule": "when", "if": {"field": "kind", "equals": "A", "present": true}, "require": ["s"]}
        ]));
        assert!(e.contains("exactly one of equals, present"), "{e}");
        assert!(e.contains("condition on kind"), "{e}");
        let e = compile_error(json!([
            {"rule": "when", "if": {"field": "kind"}, "require": ["s"]}
        ]));
        assert!(e.contains("exactly one of equals, present"), "{e}");
    }

    #[test]
    fn compile_refuses_brackets_in_a_condition() {
        let e = compile_error(json!([
            {"rule": "when", "if": {"field": "imps[].imp_id", "present": true}, "require": ["s"]}
        ]));
        assert!(e.contains("`[]` is not allowed"), "{e}");
    }

    #[test]
    fn compile_refuses_a_bad_regex() {
        let e = compile_error(json!([{"rule": "pattern", "fields": ["s"], "regex": "^[A-Z"}]));
        assert!(e.starts_with("pattern ^[A-Z:"), "{e}");
    }

    #[test]
    fn specs_refuse_unknown_rules_and_keys() {
        let bad = [
            json!({"rule": "max", "fields": ["i"], "value": 1}),
            json!({"rule": "non_empty", "fields": ["s"], "extra": 1}),
            json!({"rule": "when", "if": {"field": "s", "present": true, "other": 1}}),
            json!({"rule": "min", "fields": ["i"]}),
        ];
        for spec in bad {
            assert!(
                serde_json::from_value::<RuleSpec>(spec.clone()).is_err(),
                "{spec}"
            );
        }
    }
}
