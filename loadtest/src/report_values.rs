//! What the report reads results with: a scenario's outcome as found on
//! disk, values by JSON pointer, and the number formats of its tables. Shared
//! by report.rs and report_wake.rs, so neither depends on the other's insides.

use serde_json::Value;

/// One scenario's outcome as found on disk.
#[derive(Debug, Clone)]
pub enum Found {
    Ran(Value),
    /// It did not produce a result: why (the end of its stderr), or a
    /// reason the script recorded for skipping it.
    Missing(String),
}

impl Found {
    pub fn value(&self) -> Option<&Value> {
        match self {
            Found::Ran(v) => Some(v),
            Found::Missing(_) => None,
        }
    }

    pub fn why_missing(&self) -> String {
        match self {
            Found::Ran(_) => String::new(),
            Found::Missing(w) => w.clone(),
        }
    }
}

pub fn num(v: &Value, pointer: &str) -> Option<f64> {
    v.pointer(pointer).and_then(Value::as_f64)
}

pub fn text(v: &Value, pointer: &str) -> String {
    match v.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        // 250.0 reads as 250 in prose.
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
            _ => n.to_string(),
        },
        Some(other) => other.to_string(),
    }
}

pub fn ms(v: Option<f64>) -> String {
    match v {
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.1}"),
        None => "–".to_owned(),
    }
}

pub fn int(v: Option<f64>) -> String {
    v.map_or("–".to_owned(), |x| format!("{x:.0}"))
}

/// Makes text safe inside a table cell.
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
