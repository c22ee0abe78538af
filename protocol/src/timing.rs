//! `Server-Timing`: what D1 cost one response. The Worker writes it on every
//! response; the load generator reads it back to count rows per operation
//! (docs/free-tier.md's numbers come from it). One definition, both ways.
//!
//! `d1;dur=<ms>;desc="<N> queries", d1-rows-read;desc="<R>", d1-rows-written;desc="<W>"`

/// D1's share of one response.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct D1Timing {
    /// Milliseconds spent waiting on D1.
    pub dur_ms: f64,
    /// Round trips (a batch is one).
    pub queries: u32,
    /// Rows D1 reports reading and writing: what the free plan counts.
    pub rows_read: u64,
    pub rows_written: u64,
}

impl D1Timing {
    /// The header value.
    pub fn encode(&self) -> String {
        let noun = if self.queries == 1 {
            "query"
        } else {
            "queries"
        };
        format!(
            "d1;dur={:.1};desc=\"{} {noun}\", d1-rows-read;desc=\"{}\", d1-rows-written;desc=\"{}\"",
            self.dur_ms, self.queries, self.rows_read, self.rows_written
        )
    }

    /// Reads the D1 entries of a `Server-Timing` value; other entries are
    /// skipped. `None` without a well-formed `d1` entry; missing row
    /// entries read as 0.
    pub fn parse(header: &str) -> Option<D1Timing> {
        let mut out: Option<D1Timing> = None;
        let (mut read, mut written) = (0, 0);
        for entry in header.split(',') {
            let params: Vec<&str> = entry.split(';').map(str::trim).collect();
            match params.first().copied() {
                Some("d1") => {
                    let dur = params.iter().find_map(|p| p.strip_prefix("dur="))?;
                    out = Some(D1Timing {
                        dur_ms: dur.parse().ok()?,
                        queries: desc_number(&params)?,
                        ..D1Timing::default()
                    });
                }
                Some("d1-rows-read") => read = desc_number(&params)?,
                Some("d1-rows-written") => written = desc_number(&params)?,
                _ => {}
            }
        }
        out.map(|t| D1Timing {
            rows_read: read,
            rows_written: written,
            ..t
        })
    }
}

/// The leading number of a `desc` value: `"2 queries"` -> 2.
fn desc_number<T: std::str::FromStr>(params: &[&str]) -> Option<T> {
    params.iter().find_map(|p| {
        let v = p.strip_prefix("desc=")?.trim_matches('"');
        v.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for t in [
            D1Timing::default(),
            D1Timing {
                dur_ms: 12.5,
                queries: 1,
                rows_read: 8,
                rows_written: 3,
            },
            D1Timing {
                dur_ms: 0.1,
                queries: 45,
                rows_read: 1_321,
                rows_written: 0,
            },
        ] {
            assert_eq!(D1Timing::parse(&t.encode()), Some(t), "{}", t.encode());
        }
        assert!(D1Timing::encode(&D1Timing {
            queries: 1,
            ..D1Timing::default()
        })
        .contains("\"1 query\""));
    }

    #[test]
    fn reads_among_other_entries_and_refuses_malformed_ones() {
        let t = D1Timing::parse(r#"cfRequestDuration;dur=3, d1;dur=2.0;desc="2 queries""#).unwrap();
        assert_eq!((t.queries, t.rows_read, t.rows_written), (2, 0, 0));
        for bad in [
            "",
            "cache;dur=1",
            "d1;desc=\"2 queries\"",
            "d1;dur=x;desc=\"1\"",
        ] {
            assert_eq!(D1Timing::parse(bad), None, "{bad}");
        }
    }
}
