//! The command line: `keel [chat|tasks|clients|export|migrate|config]`.
//!
//! Exit codes: 0 success, 1 the command ran and failed (bad input, missing record), 2 usage or
//! environment error. Every error is one line on stderr.

mod app;
mod args;
mod chat;
mod dashboard;
mod failure;
mod outbox;
mod render;
mod reports;
mod serve;

use std::sync::Arc;

use clap::Parser;

use crate::clock::{parse_now, Clock, FixedClock, SystemClock};
use crate::config::Config;
use crate::store::{redact_url, Store};
pub use args::Cli;
use args::{
    ClientsCommand, Command, ConfigCommand, DashboardCommand, ExportCommand, ExportFormat, OutboxCommand, TasksCommand,
};
use failure::environment;
pub use failure::Failure;

/// Parses the arguments; help and version print and exit 0, usage errors exit 2 in one line.
/// Global options (`--db`, `--config`, `--now`) go before or after the command; the chat's own
/// (`--as`, `--channel`, `--client`) belong to `keel` alone or to `keel chat`.
pub fn parse_args() -> Result<Cli, Failure> {
    match Cli::try_parse() {
        Ok(cli) => {
            let chat = &cli.chat;
            if cli.command.is_some() && (chat.speaker.is_some() || chat.channel.is_some() || chat.client.is_some()) {
                return Err(environment(
                    "--as, --channel and --client are options of keel chat (see keel --help)",
                ));
            }
            Ok(cli)
        }
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            let _ = e.print();
            std::process::exit(0);
        }
        Err(e) => {
            let rendered = e.to_string();
            let line = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments");
            Err(environment(format!("{} (see keel --help)", line.trim())))
        }
    }
}

/// Loads the configuration the arguments point at.
pub fn load_config(cli: &Cli) -> Result<Config, Failure> {
    let mut config = Config::load(cli.config.as_deref()).map_err(environment)?;
    if let Some(db) = &cli.db {
        config.database_url = db.clone();
    }
    Ok(config)
}

/// Runs the parsed command.
pub async fn run(cli: Cli, config: Config) -> Result<(), Failure> {
    let clock: Arc<dyn Clock> = match &cli.now {
        Some(text) => Arc::new(FixedClock(parse_now(text).map_err(environment)?)),
        None => Arc::new(SystemClock),
    };
    match cli.command {
        None => chat::chat(cli.chat, &config, clock, cli.now.is_none()).await,
        Some(Command::Chat(args)) => chat::chat(args, &config, clock, cli.now.is_none()).await,
        Some(Command::Tasks(TasksCommand::List {
            status,
            client,
            owner,
            format,
        })) => {
            let store = app::open(&config).await?;
            reports::tasks_list(&store, status, client, owner, format).await
        }
        Some(Command::Clients(ClientsCommand::List { format })) => {
            let store = app::open(&config).await?;
            reports::clients_list(&store, format).await
        }
        Some(Command::Dashboard(DashboardCommand::Link { name })) => {
            let keel = app::core(&config, clock).await?;
            dashboard::link(&keel, &name).await
        }
        Some(Command::Outbox(OutboxCommand::List { failed, format })) => {
            let store = app::open(&config).await?;
            outbox::list(&store, failed, format).await
        }
        Some(Command::Outbox(OutboxCommand::Retry { id, .. })) => {
            let store = app::open(&config).await?;
            outbox::retry(&store, id).await
        }
        Some(Command::Export(ExportCommand::Events {
            format: ExportFormat::Jsonl,
        })) => {
            let store = app::open(&config).await?;
            reports::export_events(&store).await
        }
        Some(Command::Tick { format }) => chat::tick(&config, clock, format).await,
        Some(Command::Verify { format }) => {
            let store = app::open(&config).await?;
            reports::verify(&store, format).await
        }
        Some(Command::Kpi {
            from,
            to,
            week,
            format,
            chart,
        }) => reports::kpi(&config, clock, (from, to, week), format, chart).await,
        Some(Command::Run { listen }) => {
            let mut config = config;
            if let Some(address) = listen {
                config.http.listen = address;
            }
            serve::serve(&config, clock).await
        }
        Some(Command::Migrate) => {
            let store = Store::connect(&config.database_url)
                .await
                .map_err(|e| environment(e.to_string()))?;
            let applied = store
                .migrate()
                .await
                .map_err(|e| environment(format!("migration failed: {e:#}")))?;
            println!(
                "database {} is up to date ({applied} migrations applied now)",
                redact_url(&config.database_url)
            );
            Ok(())
        }
        Some(Command::Config(ConfigCommand::Check)) => reports::config_check(&config).await,
    }
}
