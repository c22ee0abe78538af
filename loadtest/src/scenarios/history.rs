//! `history`: latency of `GET /api/rooms/:id/messages` as rooms grow: the
//! latest page, and `after` / `before` pages at random points, in rooms of
//! (by default) 100, 10,000 and 100,000 messages.
//!
//! Big rooms are seeded straight into the local server's D1 (one `INSERT
//! ... SELECT` over a recursive CTE, applied with `wrangler d1 execute
//! --local`), not through the API, which would take hours for 100,000
//! messages; the seeded ids are deterministic, so cursors are known without
//! reading the room.

use std::path::PathBuf;
use std::time::Duration;

use meet_ai::client::HistoryQuery;
use protocol::wire::Message;

use super::{fail_if, Ctx, Report, Run};
use crate::client::{client_ip, Result, Timed};
use crate::results::{HistoryResult, HistoryRoom, Page, Seeding};
use crate::stats::Summary;

#[derive(clap::Args, Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct HistoryArgs {
    /// Room sizes, in messages.
    #[arg(long, value_delimiter = ',', default_value = "100,10000,100000")]
    pub sizes: Vec<u64>,
    /// Requests of each kind per room.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub requests: u32,
    /// Messages per page.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// The local server's state folder (its `--persist-to`), whose D1 the
    /// rooms are seeded into.
    #[arg(long)]
    pub state_dir: PathBuf,
    /// The repository root (where wrangler.toml and node_modules are), for
    /// `wrangler d1 execute`.
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
}

/// The id of seeded message `n` (1-based) of room `room_index` in run `run`:
/// a valid version-4-shaped UUID, the same as the SQL's printf.
pub fn seeded_id(run: u32, room_index: u32, n: u64) -> String {
    format!("{run:08x}-{room_index:04x}-4000-8000-{n:012x}")
}

/// The SQL that fills room `room_id` with `size` messages, ids from
/// [`seeded_id`], owned by the room's key, in one statement.
pub fn seed_sql(run: u32, room_index: u32, room_id: &str, size: u64, base_ms: i64) -> String {
    // Room ids come from the API (UUIDs); refuse anything that could break
    // out of the literal.
    assert!(
        room_id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
        "room id {room_id:?} is not a UUID"
    );
    format!(
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {size})\n\
         INSERT INTO messages (id, room_id, key_id, sender, sender_type, color, content, created_ms, seq)\n\
         SELECT printf('%08x-%04x-4000-8000-%012x', {run}, {room_index}, n), r.id, r.key_id,\n\
         \x20 'seed-' || (n % 7), CASE WHEN n % 3 = 0 THEN 'human' ELSE 'agent' END, NULL,\n\
         \x20 'seeded message ' || n || ': ' || substr('lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua', 1, 20 + n % 100),\n\
         \x20 {base_ms} + n, {base_ms} + n\n\
         FROM rooms r, c WHERE r.id = '{room_id}';\n"
    )
}

/// A seeded room: its `n`th message (1-based) has id `seeded_id(run, index, n)`.
struct Room {
    size: u64,
    id: String,
    index: u32,
}

/// Latency, D1 time and D1 rows read of one kind of page in one room.
#[derive(Default)]
struct Samples([Vec<f64>; 3]);

impl Samples {
    fn add(&mut self, t: &Timed<Vec<Message>>) {
        self.0[0].push(t.latency_ms);
        self.0[1].extend(t.timing.map(|x| x.dur_ms));
        self.0[2].extend(t.timing.map(|x| x.rows_read as f64));
    }

    fn page(&self) -> Page {
        let [latency_ms, d1_ms, d1_rows_read] = self.0.each_ref().map(|v| Summary::of(v));
        Page {
            latency_ms,
            d1_ms,
            d1_rows_read,
        }
    }
}

/// Seeds every room in one `wrangler d1 execute --local --file`; how long
/// that took.
async fn seed(ctx: &Ctx, args: &HistoryArgs, rooms: &[Room]) -> Result<f64> {
    let base_ms = (crate::content::now_us() / 1000) - 200_000;
    let mut sql = String::new();
    for r in rooms {
        sql.push_str(&seed_sql(ctx.run, r.index, &r.id, r.size, base_ms));
    }
    let file = std::env::temp_dir().join(format!("meet-ai-loadtest-seed-{:08x}.sql", ctx.run));
    std::fs::write(&file, sql)?;
    let wrangler = args.repo.join("node_modules/.bin/wrangler");
    let mut cmd = tokio::process::Command::new(&wrangler);
    cmd.current_dir(&args.repo)
        .args(["d1", "execute", "meet-ai", "--local", "--persist-to"])
        .arg(&args.state_dir)
        .arg("--file")
        .arg(&file)
        .env("WRANGLER_SEND_METRICS", "false")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let t0 = std::time::Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(600), cmd.output())
        .await
        .map_err(|_| "wrangler d1 execute took over 600 s")?
        .map_err(|e| format!("run {}: {e}", wrangler.display()))?;
    let _ = std::fs::remove_file(&file);
    if !out.status.success() {
        return Err(format!(
            "wrangler d1 execute failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(t0.elapsed().as_secs_f64())
}

/// The room holds exactly what was seeded: its newest message is number
/// `size`, the only one after number `size - 1`.
async fn verify(ctx: &Ctx, key: &str, room: &Room) -> Result<()> {
    let (want, second) = (room.size, room.size.saturating_sub(1));
    let second = (second > 0).then(|| seeded_id(ctx.run, room.index, second));
    let q = HistoryQuery {
        after: second.as_deref(),
        before: None,
        limit: Some(5),
    };
    let page = ctx.client.history_page(key, &room.id, q).await;
    let ids: Vec<String> = page
        .expect("GET history")?
        .into_iter()
        .map(|m| m.id)
        .collect();
    let want = [seeded_id(ctx.run, room.index, want)];
    let why = format!(
        "room of {} is not seeded as expected: {ids:?}, want {want:?}",
        room.size
    );
    fail_if(ids != want, &why)
}

pub async fn run(ctx: &Ctx, args: &HistoryArgs) -> Result<Report> {
    let run = Run::start("history", ctx);
    fail_if(
        args.sizes.is_empty() || args.sizes.iter().any(|&s| s == 0 || s > 10_000_000),
        "--sizes must be 1..=10000000 each",
    )?;
    let key = ctx.client.create_key(&client_ip(ctx.run, 0)).await?;
    let mut rooms = Vec::new();
    for (i, &size) in args.sizes.iter().enumerate() {
        let room = ctx
            .client
            .create_room(&key, &format!("loadtest history {size}"))
            .await?;
        rooms.push(Room {
            size,
            id: room.id,
            index: i as u32,
        });
    }
    let seeding = Seeding {
        method: "wrangler d1 execute --local".into(),
        seconds: seed(ctx, args, &rooms).await?,
    };
    for r in &rooms {
        verify(ctx, &key, r).await?;
    }

    let client = ctx.measured();
    let mut rng = fastrand::Rng::with_seed(u64::from(ctx.run));
    let limit = u64::from(args.limit);
    let latest = HistoryQuery {
        limit: Some(args.limit),
        ..HistoryQuery::default()
    };
    let mut samples: Vec<[Samples; 3]> = rooms.iter().map(|_| Default::default()).collect();
    let mut failures = 0u64;
    // Warm-up, unmeasured: first requests pay for compiling statements.
    for r in &rooms {
        for _ in 0..3 {
            let _ = client.history_page(&key, &r.id, latest).await;
        }
    }
    // Interleaved, so background noise falls on every size alike.
    for _ in 0..args.requests {
        for (r, samples) in rooms.iter().zip(&mut samples) {
            // The step: a page of each kind (Kinds' order); after and before
            // start at a random message.
            let at = |n| seeded_id(ctx.run, r.index, n);
            let after = at(rng.u64(1..=r.size.saturating_sub(limit).max(1)));
            let before = at(rng.u64((limit + 1).min(r.size)..=r.size));
            let (after, before) = (Some(after.as_str()), Some(before.as_str()));
            let after = HistoryQuery { after, ..latest };
            let before = HistoryQuery { before, ..latest };
            for (q, samples) in [latest, after, before].into_iter().zip(samples) {
                let t = client.history_page(&key, &r.id, q).await;
                match t.status {
                    200 => samples.add(&t),
                    _ => failures += 1,
                }
            }
        }
    }

    let pages: Vec<[Page; 3]> = samples
        .iter()
        .map(|k| k.each_ref().map(Samples::page))
        .collect();
    // Largest room against smallest, by median.
    let (small, big) = (&pages[0], &pages[pages.len() - 1]);
    let ratios: [Option<f64>; 3] = std::array::from_fn(|k| {
        let (small, big) = (small[k].latency_ms.p50, big[k].latency_ms.p50);
        (small > 0.0).then(|| big / small)
    });
    let per_room = (rooms.iter().zip(pages))
        .map(|(r, pages)| HistoryRoom {
            messages: r.size,
            pages: pages.into(),
        })
        .collect();
    let mut notes = Vec::new();
    if failures > 0 {
        notes.push(format!("{failures} requests failed"));
    }
    let ok = failures == 0;
    let result = HistoryResult {
        seeding,
        rooms: per_room,
        p50_ratio_largest_to_smallest: ratios.into(),
        failures,
    };
    Ok(run.report(ok, &notes, args, result, &client))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_are_uuids_the_api_accepts() {
        let id = seeded_id(0xdead_beef, 2, 100_000);
        assert_eq!(id, "deadbeef-0002-4000-8000-0000000186a0");
        assert_eq!(
            protocol::validate::parse_id(&id).as_deref(),
            Some(id.as_str())
        );
    }

    #[test]
    fn seed_sql_names_the_room_and_count() {
        let sql = seed_sql(1, 0, "6244a39b-5588-4b8d-a295-ac0346d14fc4", 100, 5);
        assert!(sql.contains("WHERE n < 100)"));
        assert!(sql.contains("r.id = '6244a39b-5588-4b8d-a295-ac0346d14fc4'"));
        assert!(sql.contains("printf('%08x-%04x-4000-8000-%012x', 1, 0, n)"));
    }

    #[test]
    #[should_panic(expected = "is not a UUID")]
    fn seed_sql_refuses_odd_room_ids() {
        seed_sql(1, 0, "x'; DROP TABLE messages; --", 1, 0);
    }
}
