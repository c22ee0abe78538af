//! Rendering: the typed results and the checks' rows go into the templates
//! in loadtest/templates (minijinja), with the number formats below as
//! filters, so the tables are laid out in one readable file each.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{context, Environment, Value};

use super::targets::{d1_totals, evaluate, findings, growth_sentence, load_range};
use super::{Mentions, Results};

const BENCHMARKS: &str = include_str!("../../templates/benchmarks.md.j2");
const MENTIONS: &str = include_str!("../../templates/mentions.md.j2");

/// Milliseconds: whole from 100 up, else one decimal; "–" when absent.
pub fn ms(v: Option<f64>) -> String {
    match v {
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.1}"),
        None => "–".to_owned(),
    }
}

/// A whole number; "–" when absent.
pub fn int(v: Option<f64>) -> String {
    v.map_or("–".to_owned(), |x| format!("{x:.0}"))
}

/// A parameter as written: 250.0 reads as 250, 2.5 as 2.5.
fn plain(v: Value) -> String {
    match f64::try_from(v.clone()) {
        Ok(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Ok(f) => f.to_string(),
        Err(_) if v.is_none() || v.is_undefined() => String::new(),
        Err(_) => v.to_string(),
    }
}

/// Fixed decimals, "–" when absent.
fn fixed(v: Option<f64>, places: usize) -> String {
    v.map_or("–".to_owned(), |x| format!("{x:.places$}"))
}

/// Whole agents; below ten, one decimal (a share of one agent's day below one).
fn agents(v: Option<f64>) -> String {
    match v {
        Some(a) if a >= 10.0 => format!("{a:.0}"),
        other => fixed(other, 1),
    }
}

/// Makes text safe inside a table cell.
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A value as compact JSON (status counts, stream ends).
fn json(v: Value) -> String {
    serde_json::to_string(&v).unwrap_or_default()
}

fn environment() -> Result<Environment<'static>, String> {
    let mut env = Environment::new();
    // Block tags on lines of their own leave no blank line behind.
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| e.to_string())?;
    env.set_syntax(syntax);
    env.add_filter("ms", ms);
    env.add_filter("int", int);
    env.add_filter("plain", plain);
    env.add_filter("fixed", fixed);
    env.add_filter("agents", agents);
    env.add_filter("cell", |s: String| cell(&s));
    env.add_filter("json", json);
    env.add_filter("mb", |kb: Option<f64>| int(kb.map(|k| k / 1024.0)));
    env.add_filter("pct", |s: Option<f64>| {
        s.map_or("–".into(), |s| format!("{:.0}%", s * 100.0))
    });
    for (name, source) in [("benchmarks", BENCHMARKS), ("mentions", MENTIONS)] {
        env.add_template(name, source).map_err(|e| e.to_string())?;
    }
    Ok(env)
}

fn mentions_context(m: &Mentions) -> Value {
    context! {
        mentions => Value::from(Serde(m)),
        growth => growth_sentence(&m.waiting),
    }
}

/// The mentions section alone (`report --mentions-only`).
pub fn mentions(m: &Mentions) -> Result<String, String> {
    let env = environment()?;
    let tmpl = env.get_template("mentions").map_err(|e| e.to_string())?;
    tmpl.render(mentions_context(m))
        .map_err(|e| format!("{e:#}"))
}

/// The whole of docs/BENCHMARKS.md.
pub fn benchmarks(r: &Results) -> Result<String, String> {
    let env = environment()?;
    let tmpl = env.get_template("benchmarks").map_err(|e| e.to_string())?;
    let (queries, requests) = d1_totals(r);
    tmpl.render(context! {
        r => Value::from(Serde(r)),
        targets => Value::from(Serde(evaluate(r))),
        findings => findings(r),
        noise => load_range(r),
        queries, requests,
        ..mentions_context(&r.mentions)
    })
    .map_err(|e| format!("{e:#}"))
}
