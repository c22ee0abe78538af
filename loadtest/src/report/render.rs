//! Rendering: the typed results and the checks' rows go into the templates
//! in loadtest/templates (minijinja), with the number formats below as
//! filters, so the tables are laid out in one readable file each.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{context, Environment, Value};

use super::findings::{d1_totals, findings, history_growth, load_range};
use super::targets::{evaluate, find, GOALS};
use super::{Mentions, Results};

/// Milliseconds: whole from 100 up, else one decimal; "–" when absent.
pub fn ms(v: Option<f64>) -> String {
    match v {
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.1}"),
        None => "–".to_owned(),
    }
}

/// A parameter as written: 250.0 reads as 250, 2.5 as 2.5.
fn plain(v: Value) -> String {
    match f64::try_from(v.clone()) {
        // f64 displays 250.0 as "250" (a Value displays "250.0").
        Ok(f) => f.to_string(),
        Err(_) if v.is_none() || v.is_undefined() => String::new(),
        Err(_) => v.to_string(),
    }
}

/// Fixed decimals, "–" when absent.
pub fn fixed(v: Option<f64>, places: usize) -> String {
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
fn cell(s: String) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A template error with its causes (an include's error names the line in
/// the included template only there).
fn error(e: minijinja::Error) -> String {
    let mut text = format!("{e:#}");
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause:#}"));
        source = cause.source();
    }
    text
}

fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    // Block tags on lines of their own leave no blank line behind.
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()?;
    env.set_syntax(syntax);
    env.add_filter("ms", ms);
    // A whole number; "–" when absent.
    env.add_filter("int", |v| fixed(v, 0));
    env.add_filter("plain", plain);
    env.add_filter("fixed", fixed);
    env.add_filter("agents", agents);
    env.add_filter("cell", cell);
    // A value as compact JSON (status counts, stream ends).
    env.add_filter("json", |v: Value| {
        serde_json::to_string(&v).unwrap_or_default()
    });
    // Kilobytes as whole megabytes.
    env.add_filter("mb", |kb: Option<f64>| fixed(kb.map(|k| k / 1024.0), 0));
    // A share (0..1) as a whole percentage.
    env.add_filter("pct", |s: Option<f64>| {
        s.map_or("–".into(), |s| format!("{:.0}%", s * 100.0))
    });
    env.add_template(
        "benchmarks",
        include_str!("../../templates/benchmarks.md.j2"),
    )?;
    env.add_template("mentions", include_str!("../../templates/mentions.md.j2"))?;
    env.add_template("targets", include_str!("../../templates/targets.md.j2"))?;
    Ok(env)
}

fn mentions_context(m: &Mentions) -> Value {
    context! {
        mentions => Value::from(Serde(m)),
        growth => history_growth(&m.waiting),
    }
}

fn render(name: &str, ctx: Value) -> Result<String, String> {
    let env = environment().map_err(error)?;
    let tmpl = env.get_template(name).map_err(error)?;
    tmpl.render(ctx).map_err(error)
}

/// The mentions section alone (`report --mentions-only`).
pub fn mentions(m: &Mentions) -> Result<String, String> {
    render("mentions", mentions_context(m))
}

/// The whole of docs/BENCHMARKS.md.
pub fn benchmarks(r: &Results) -> Result<String, String> {
    let (queries, requests) = d1_totals(r);
    let ctx = context! {
        r => Value::from(Serde(r)),
        checks => Value::from(Serde(evaluate(r))),
        g => Value::from(Serde(GOALS)),
        send4 => Value::from(Serde(find(&r.send, 4).ok())),
        sse50 => Value::from(Serde(find(&r.fanout_sse, 50).ok())),
        ws50 => Value::from(Serde(find(&r.fanout_ws, 50).ok())),
        findings => findings(r),
        noise => load_range(r),
        queries, requests,
        ..mentions_context(&r.mentions)
    };
    render("benchmarks", ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::targets::tests::{missing, ran, results};
    use serde_json::json;

    #[test]
    fn whole_numbers_read_plainly() {
        assert_eq!(plain(Value::from(250.0)), "250");
        assert_eq!(plain(Value::from(2.5)), "2.5");
        assert_eq!(plain(Value::from("x")), "x");
        assert_eq!(plain(Value::from(())), "");
        assert_eq!(
            (ms(Some(123.4)), ms(Some(12.34)), ms(None)),
            ("123".into(), "12.3".into(), "–".into())
        );
        assert_eq!(agents(Some(57.9)), "58");
        assert_eq!(agents(Some(2.08)), "2.1");
    }

    #[test]
    fn renders_every_section_even_with_gaps() {
        let md = benchmarks(&results()).unwrap();
        for text in [
            "## Targets",
            "## Findings",
            "[FINDINGS.md](FINDINGS.md)",
            "## send",
            "## fanout over SSE",
            "## fanout over WebSocket",
            "## history",
            "## idle",
            "## soak",
            "## Mentions",
            "## Memory and cost",
            "## Reproduce",
            "| 50 | not run: no paid variant |||",
            "Did not run: stopped",
            "- **Noise:** not sampled\n- **Server",
            "| idle SSE listener | <= 1 D1 query/s",
            "| 0.27 query/s, 21 requests/hour, 1200 rows read/hour | met |",
        ] {
            assert!(md.contains(text), "{text} in {md}");
        }
    }

    #[test]
    fn renders_the_mentions_tables() {
        let m = Mentions {
            wake: ran(
                json!({"params": {"timeout": 30, "min_pause": 0.3, "max_pause": 3.0},
                "result": {"rounds": 20, "woken": 20, "errors": 0,
                    "wake_ms": {"p50": 612.3, "p90": 1400.0, "p99": 1980.0, "max": 1990.0},
                    "wake_after_send_response_ms": {"p50": 600.0, "p99": 1950.0},
                    "send_latency_ms": {"p50": 12.5},
                    "wait_queries_per_call": 4.25, "wait_rows_read_per_call": 10.0,
                    "sample_errors": ["round 3: a | b"]}}),
            ),
            waiting: [
                ran(
                    json!({"params": {"timeout": 50, "seconds": 120.0, "history": 0},
                    "result": {"calls": 3, "statuses": {"204": 3}, "mean_call_s": 50.1,
                        "queries_per_call": 27.0, "rows_read_per_call": 60.0,
                        "requests_per_hour": 71.9, "d1_queries_per_s": 0.54,
                        "rows_read_per_hour": 4314.0, "rows_written_per_hour": 72.0,
                        "free_plan_agents": 57.9}}),
                ),
                missing("meet-ai-loadtest: connection refused"),
            ],
        };
        let o = mentions(&m).unwrap();
        assert!(o.starts_with("\n## Mentions: wake latency"), "{o}");
        for text in [
            "| 20 | 20 | 0 | 612 | 1400 | 1980 | 1990 | 600 / 1950 | 12.5 | 4.2 | 10.0 |",
            "timeout=30&ack=1",
            "\n\n- error: round 3: a \\| b\n",
            "| 0 | 120 | 50 | 3 | {\"204\":3} | 50.1 | 27.0 | 60.0 | 71.9 | 0.540 | 4314 | 72 | 58 |",
            "| did not run: meet-ai-loadtest: connection refused |",
        ] {
            assert!(o.contains(text), "{text} in {o}");
        }
        let none = Mentions {
            wake: missing("no result file"),
            waiting: [missing("x"), missing("y")],
        };
        let o = mentions(&none).unwrap();
        assert!(o.contains("wake did not run: no result file"), "{o}");
    }
}
