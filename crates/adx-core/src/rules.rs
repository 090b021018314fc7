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

use crate::datum::Datum;
use crate::error::{FieldError, shorten};
use crate::shape::{Kind, RecordShape, Ty};
use regex::Regex;
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
    Pattern(Regex),
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

/// The compiled rules of one dataset.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    checks: Vec<FieldCheck>,
    whens: Vec<When>,
}

fn compile_path(root: &RecordShape, text: &str) -> Result<Path, String> {
    let mut steps = Vec::new();
    let mut record: Option<std::sync::Arc<RecordShape>> = None;
    let mut current: Option<Ty> = None;
    for segment in text.split('.') {
        if let Some(ty) = &current {
            match &ty.kind {
                Kind::Record(r) => record = Some(r.clone()),
                _ => return Err(format!("path {text}: {segment} is not inside a record")),
            }
        }
        let here = record.as_deref().unwrap_or(root);
        let (name, each) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (segment, false),
        };
        let pos = here
            .position(name)
            .ok_or_else(|| format!("path {text}: no field {name}"))?;
        steps.push(Step::Field(pos, name.to_string()));
        let mut ty = here.fields[pos].ty.clone();
        if each {
            let Kind::Array(item) = &ty.kind else {
                return Err(format!("path {text}: {name} is not an array"));
            };
            let item = (**item).clone();
            steps.push(Step::Each);
            ty = item;
        }
        current = Some(ty);
    }
    let ty = current.ok_or_else(|| "empty path".to_string())?;
    Ok(Path { steps, ty })
}

fn compile_checks(
    root: &RecordShape,
    fields: &[String],
    check: &Check,
    fits: fn(&Kind) -> bool,
    what: &str,
) -> Result<Vec<FieldCheck>, String> {
    fields
        .iter()
        .map(|f| {
            let path = compile_path(root, f)?;
            if !fits(&path.ty.kind) {
                return Err(format!("rule on {f}: the field is not {what}"));
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
    pub fn compile(root: &RecordShape, specs: &[RuleSpec]) -> Result<Rules, String> {
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
                    let re = Regex::new(regex).map_err(|e| format!("pattern {regex}: {e}"))?;
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
                        return Err(format!(
                            "condition on {}: `[]` is not allowed",
                            condition.field
                        ));
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
                            return Err(format!(
                                "condition on {}: give exactly one of equals, present",
                                condition.field
                            ));
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
            visit(record, &c.path.steps, &mut |d| {
                apply(&c.check, d, &c.path.ty)
            })?;
        }
        for w in &self.whens {
            if condition_holds(record, w) {
                for c in &w.checks {
                    visit_all(record, &c.path.steps, &mut |d| {
                        apply(&c.check, d, &c.path.ty)
                    })?;
                }
            }
        }
        Ok(())
    }
}

fn condition_holds(record: &Datum, when: &When) -> bool {
    let mut value: Option<&Datum> = None;
    let _ = visit_all(record, &when.path.steps, &mut |d| {
        value = Some(d);
        Ok(())
    });
    let value = value.unwrap_or(&Datum::Null);
    match &when.condition {
        Condition::Present(p) => value.is_null() != *p,
        Condition::Equals(expected) => render(value, &when.path.ty).is_some_and(|v| v == *expected),
    }
}

fn render(value: &Datum, ty: &Ty) -> Option<String> {
    match (value, &ty.kind) {
        (Datum::Enum(i), Kind::Enum(e)) => e.symbols.get(*i as usize).cloned(),
        (Datum::Str(s), _) => Some(s.clone()),
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
        (_, Datum::Null) if nulls && rest.iter().all(|s| matches!(s, Step::Field(..))) => {
            f(&Datum::Null)
        }
        _ => Ok(()),
    }
}

fn apply(check: &Check, d: &Datum, ty: &Ty) -> Result<(), FieldError> {
    match check {
        Check::NonEmpty => match d {
            Datum::Str(s) if s.trim().is_empty() => Err(FieldError::new(
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
