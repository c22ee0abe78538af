//! Command line: global options, then one scenario.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::client::Client;
use crate::report::ReportArgs;
use crate::scenarios::fanout::FanoutArgs;
use crate::scenarios::history::HistoryArgs;
use crate::scenarios::idle::IdleArgs;
use crate::scenarios::send::SendArgs;
use crate::scenarios::soak::SoakArgs;
use crate::scenarios::waiting::WaitingArgs;
use crate::scenarios::wake::WakeArgs;
use crate::scenarios::{self, fanout, send, soak, Ctx, Report};

#[derive(Parser, Debug)]
#[command(
    name = "meet-ai-loadtest",
    version,
    about = "Load generator and benchmarks for a meet-ai deployment",
    long_about = "Load generator and benchmarks for a meet-ai deployment. Each scenario prints one \
                  JSON object on stdout. Exit status: 0 ok, 1 the scenario's checks failed, 2 it could not run."
)]
pub struct Cli {
    /// The deployment to measure.
    #[arg(
        long,
        global = true,
        default_value = "http://127.0.0.1:8787",
        env = "MEET_AI_URL"
    )]
    pub url: String,
    /// How the server is run (reported in every result), e.g. `lean-dev`.
    #[arg(
        long,
        global = true,
        default_value = "unspecified",
        env = "MEET_AI_RUNNER"
    )]
    pub runner: String,
    /// Allow a URL that is not on this machine (a real deployment). Load
    /// tests send a lot of traffic: only aim them at servers you own.
    #[arg(long, global = true)]
    pub allow_remote: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// N concurrent senders post as fast as they can: accepted msgs/s, POST latency.
    Send(SendArgs),
    /// L listeners on one room, one sender at R msg/s: delivery latency, loss, order.
    Fanout(FanoutArgs),
    /// Reconnecting listeners for minutes (optionally across a server restart):
    /// every stored message exactly once, in order, or exit 1.
    Soak(SoakArgs),
    /// History page latency in rooms of 100, 10,000 and 100,000 messages.
    History(HistoryArgs),
    /// What an idle SSE listener costs: requests per hour, D1 queries per second.
    Idle(IdleArgs),
    /// Mention-to-wake latency: a member waits (`GET …/wait`), another mentions it.
    Wake(WakeArgs),
    /// What an agent waiting back to back on a quiet room costs per hour.
    Waiting(WaitingArgs),
    /// Writes the benchmark report (markdown) from a directory of results.
    Report(ReportArgs),
}

impl Command {
    /// The longest the scenario may run, all phases included.
    fn time_bound(&self) -> Duration {
        let secs = match self {
            Command::Send(a) => a.seconds + send::BASELINE_SECONDS + 120.0,
            Command::Fanout(a) => a.seconds + fanout::DRAIN_SECONDS + 180.0,
            Command::Soak(a) => a.minutes * 60.0 + soak::DRAIN_SECONDS + soak::HOOK_TIMEOUT + 240.0,
            Command::History(_) => 1800.0,
            Command::Idle(a) => a.seconds + 120.0,
            Command::Wake(a) => {
                f64::from(a.rounds) * (a.max_pause + f64::from(a.timeout) + 35.0) + 120.0
            }
            Command::Waiting(a) => a.seconds + f64::from(a.timeout) + 150.0,
            Command::Report(_) => 60.0,
        };
        Duration::from_secs_f64(secs.clamp(1.0, 2.0 * 86_400.0))
    }
}

/// Exit status 2, "could not run", with why on stderr.
fn could_not_run(why: impl std::fmt::Display) -> ExitCode {
    eprintln!("meet-ai-loadtest: {why}");
    ExitCode::from(2)
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Report(args) = &cli.command {
        let done = crate::report::run(args);
        return done.map_or_else(
            |e| could_not_run(format!("report: {e}")),
            |()| ExitCode::SUCCESS,
        );
    }
    let client = match Client::new(&cli.url) {
        Ok(c) => c,
        Err(e) => return could_not_run(e),
    };
    if !meet_ai::config::is_loopback(client.base.as_str()) && !cli.allow_remote {
        return could_not_run(format!(
            "{} is not on this machine; pass --allow-remote to load a deployment you own",
            client.base
        ));
    }
    let ctx = Ctx {
        client,
        runner: cli.runner.clone(),
        run: fastrand::u32(..),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return could_not_run(format!("start the runtime: {e}")),
    };
    let bound = cli.command.time_bound();
    let outcome =
        runtime.block_on(async { tokio::time::timeout(bound, dispatch(&ctx, &cli.command)).await });
    // Listener tasks still reading streams must not hold the process open.
    runtime.shutdown_timeout(Duration::from_secs(2));
    match outcome {
        Err(_) => could_not_run(format!(
            "the scenario passed its time bound ({:.0} s) and was stopped",
            bound.as_secs_f64()
        )),
        Ok(Err(e)) => could_not_run(e),
        Ok(Ok(report)) => {
            println!("{}", report.json);
            ExitCode::from(u8::from(!report.ok))
        }
    }
}

async fn dispatch(ctx: &Ctx, command: &Command) -> crate::client::Result<Report> {
    match command {
        Command::Send(a) => scenarios::send::run(ctx, a).await,
        Command::Fanout(a) => scenarios::fanout::run(ctx, a).await,
        Command::Soak(a) => scenarios::soak::run(ctx, a).await,
        Command::History(a) => scenarios::history::run(ctx, a).await,
        Command::Idle(a) => scenarios::idle::run(ctx, a).await,
        Command::Wake(a) => scenarios::wake::run(ctx, a).await,
        Command::Waiting(a) => scenarios::waiting::run(ctx, a).await,
        Command::Report(_) => unreachable!("handled before the runtime starts"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_the_standard_invocations() {
        let parse = |args: &str| Cli::try_parse_from(["x"].into_iter().chain(args.split(' ')));
        let c = parse("--url http://127.0.0.1:9000 fanout --transport ws --listeners 50 --rate 10");
        let Command::Fanout(a) = c.unwrap().command else {
            panic!("not fanout")
        };
        assert_eq!(
            (a.listeners, a.transport),
            (50, crate::listener::Transport::Ws)
        );
        let c = parse("history --sizes 100,10000 --state-dir s").unwrap();
        assert!(matches!(c.command, Command::History(a) if a.sizes == [100, 10_000]));
        // Counts out of range are refused before anything runs, and the
        // soak's hook needs its time and the other way round.
        for bad in [
            "send --senders 0",
            "wake --timeout 51",
            "soak --restart-hook true",
            "soak --restart-after 5",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("waiting --timeout 50").is_ok());
        assert!(parse("soak --minutes 1 --restart-hook true --restart-after 5").is_ok());
    }
}
