//! The command line: `keel [chat|tasks|clients|export|migrate|config]`.
//!
//! Exit codes: 0 success, 1 the command ran and failed (bad input, missing record), 2 usage or
//! environment error. Every error is one line on stderr.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::clock::{parse_now, Clock, FixedClock, SystemClock};
use crate::config::Config;
use crate::domain::Status;
use crate::service::dispatch::Dispatcher;
use crate::service::ingest::Ingest;
use crate::service::scheduler::Scheduler;
use crate::service::{Keel, Settings};
use crate::store::tasks::{self, Filter, TaskView};
use crate::store::{outbox, people};
use crate::store::{redact_url, Store};

#[derive(Debug, Parser)]
#[command(
    name = "keel",
    version,
    about = "Client-service coordination bot for Slack and Matrix",
    long_about = None
)]
pub struct Cli {
    /// Without a command, keel chats: `keel --as lea` is `keel chat --as lea`.
    #[command(flatten)]
    chat: ChatArgs,
    /// Database URL: sqlite://FILE (created on first use) or postgres://…
    #[arg(long, global = true, env = "KEEL_DATABASE_URL")]
    db: Option<String>,
    /// Config file (default: config/keel.toml when present)
    #[arg(long, global = true, env = "KEEL_CONFIG")]
    config: Option<PathBuf>,
    /// Fix the clock at this instant (RFC 3339), for trying time-based behaviour
    #[arg(long, global = true, env = "KEEL_NOW")]
    now: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Chat with keel in the terminal (the default)
    Chat(ChatArgs),
    /// Tasks
    #[command(subcommand)]
    Tasks(TasksCommand),
    /// Clients
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Export data for spreadsheets and BI tools
    #[command(subcommand)]
    Export(ExportCommand),
    /// Run keel as a service: the configured chat adapters, the outbox, the scheduler and the
    /// HTTP server (/healthz, /metrics, the Slack endpoints), until stopped (Ctrl-C or SIGTERM)
    Run {
        /// Serve HTTP at this address instead of the configured http.listen (127.0.0.1:8080)
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Run every scheduled job due now (or at --now) once, print what was posted, exit
    Tick {
        #[arg(long, value_enum, default_value_t = TickFormat::Text)]
        format: TickFormat,
    },
    /// KPIs for a period (default: last week, Monday to Sunday), each with the period before
    Kpi {
        /// First day, YYYY-MM-DD (with --to)
        #[arg(long, value_name = "DAY", requires = "to", conflicts_with = "week")]
        from: Option<String>,
        /// Last day, YYYY-MM-DD, included (with --from)
        #[arg(long, value_name = "DAY", requires = "from")]
        to: Option<String>,
        /// An ISO week, 2026-W47
        #[arg(long, value_name = "WEEK")]
        week: Option<String>,
        #[arg(long, value_enum, default_value_t = KpiFormat::Text)]
        format: KpiFormat,
        /// Also draw the chart (last 8 weeks) into this PNG file
        #[arg(long, value_name = "FILE.png")]
        chart: Option<PathBuf>,
    },
    /// Apply pending database migrations
    Migrate,
    /// Configuration
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Args)]
struct ChatArgs {
    /// Speak as this person
    #[arg(long = "as", value_name = "NAME")]
    speaker: Option<String>,
    /// Talk in this channel (without it: the direct conversation with keel)
    #[arg(long)]
    channel: Option<String>,
    /// The speaker is a contact of this client
    #[arg(long, value_name = "KEY")]
    client: Option<String>,
}

#[derive(Debug, Subcommand)]
enum TasksCommand {
    /// List tasks, oldest first
    List {
        /// open, in-progress, waiting, done, cancelled, or active (the first three)
        #[arg(long)]
        status: Option<String>,
        #[arg(long, value_name = "KEY")]
        client: Option<String>,
        #[arg(long, value_name = "NAME")]
        owner: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
enum ClientsCommand {
    /// List clients
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
enum ExportCommand {
    /// Every task event, oldest first
    Events {
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Report every missing or invalid setting
    Check,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TickFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KpiFormat {
    Text,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExportFormat {
    Jsonl,
}

/// A failure and its exit code.
pub struct Failure {
    pub code: i32,
    pub message: String,
}

/// A value someone typed, as an error shows it: one line, at most 40 characters, nothing that
/// would move the terminal's cursor.
fn shown(value: &str) -> String {
    crate::domain::truncate(value, 40)
}

fn failed(message: impl Into<String>) -> Failure {
    Failure {
        code: 1,
        message: message.into(),
    }
}

fn environment(message: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: message.into(),
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        environment(crate::store::one_line(&format!("{e:#}")))
    }
}

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
        None => chat(cli.chat, &config, clock, cli.now.is_none()).await,
        Some(Command::Chat(args)) => chat(args, &config, clock, cli.now.is_none()).await,
        Some(Command::Tasks(TasksCommand::List {
            status,
            client,
            owner,
            format,
        })) => {
            let store = open(&config).await?;
            tasks_list(&store, status, client, owner, format).await
        }
        Some(Command::Clients(ClientsCommand::List { format })) => {
            let store = open(&config).await?;
            clients_list(&store, format).await
        }
        Some(Command::Export(ExportCommand::Events {
            format: ExportFormat::Jsonl,
        })) => {
            let store = open(&config).await?;
            export_events(&store).await
        }
        Some(Command::Tick { format }) => tick(&config, clock, format).await,
        Some(Command::Kpi {
            from,
            to,
            week,
            format,
            chart,
        }) => kpi(&config, clock, (from, to, week), format, chart).await,
        Some(Command::Run { listen }) => {
            let mut config = config;
            if let Some(address) = listen {
                config.http.listen = address;
            }
            serve(&config, clock).await
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
        Some(Command::Config(ConfigCommand::Check)) => config_check(&config).await,
    }
}

/// `keel kpi`: the report for a period in text, JSON or CSV.
async fn kpi(
    config: &Config,
    clock: Arc<dyn Clock>,
    range: (Option<String>, Option<String>, Option<String>),
    format: KpiFormat,
    chart: Option<PathBuf>,
) -> Result<(), Failure> {
    let store = open(config).await?;
    let keel = Keel::new(store.clone(), clock.clone(), Settings::from_config(config));
    let now = clock.now();
    let tz = keel.settings.team_tz;
    let day = |s: &str| {
        chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| environment(format!("\"{}\" is not a date (YYYY-MM-DD)", shown(s))))
    };
    let period = match range {
        (Some(from), Some(to), None) => crate::kpi::Period::days(day(&from)?, day(&to)?, tz).map_err(environment)?,
        (None, None, Some(week)) => crate::kpi::Period::iso_week(&week, tz).map_err(environment)?,
        _ => crate::kpi::Period::last_week(now, tz),
    };
    let mut conn = store.pool().acquire().await.map_err(anyhow::Error::from)?;
    let rules = crate::service::kpi::rules(&keel, &mut conn).await?;
    let report = crate::kpi::report(&mut conn, Some(store.pool()), &rules, &period, now).await?;
    if let Some(file) = chart {
        let png = crate::kpi::chart_png(&mut conn, &rules, &report, now).await?;
        std::fs::write(&file, png)
            .map_err(|e| environment(format!("cannot write the chart to {}: {e}", file.display())))?;
    }
    drop(conn);
    let out = match format {
        KpiFormat::Text => format!("{}\n", report.to_text()),
        KpiFormat::Json => format!("{}\n", report.to_json()),
        KpiFormat::Csv => report.to_csv(),
    };
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .map_err(|e| environment(format!("writing output: {e}")))?;
    store.close().await;
    Ok(())
}

async fn open(config: &Config) -> Result<Store, Failure> {
    Store::open(&config.database_url)
        .await
        .map_err(|e| environment(e.to_string()))
}

/// Delivers the console's replies after each event.
struct DeliverNow(Dispatcher);

#[async_trait]
impl keel_console::AfterEvent for DeliverNow {
    async fn after_event(&self) {
        if let Err(e) = self.0.round().await {
            eprintln!(
                "keel could not deliver replies: {}",
                crate::store::one_line(&format!("{e:#}"))
            );
        }
    }
}

async fn chat(args: ChatArgs, config: &Config, clock: Arc<dyn Clock>, no_fixed_clock: bool) -> Result<(), Failure> {
    let problems = config.problems();
    if let Some(first) = problems.first() {
        return Err(environment(format!(
            "invalid configuration: {first} (see keel config check)"
        )));
    }
    let store = open(config).await?;
    let keel = Keel::new(store.clone(), clock.clone(), Settings::from_config(config));
    let committed = Arc::new(Notify::new());
    let (ingest, writer) = Ingest::start(keel.clone(), committed);
    let output: Arc<dyn keel_chat::Adapter> = Arc::new(keel_console::ConsoleOutput::stdout());
    let dispatcher = Dispatcher::new(store.clone(), vec![output]);
    let speaker = args
        .speaker
        .or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "me".into());
    let session = keel_console::Session {
        speaker: speaker.trim_start_matches('@').to_string(),
        client: args.client.map(|c| c.to_lowercase()),
        channel: args.channel.map(|c| c.trim_start_matches('#').to_string()),
    };
    let run_id = format!(
        "console-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    let console_clock = clock.clone();
    let console = keel_console::Console::new(session, run_id, Arc::new(move || console_clock.now()));
    let after = Arc::new(DeliverNow(dispatcher.clone()));
    // At a terminal on the real clock, scheduled work (standups, nudges) happens while you chat;
    // piped input and a fixed clock leave it to `keel tick`, so runs are repeatable.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin()) && no_fixed_clock;
    let scheduler = interactive.then(|| {
        let scheduler = Scheduler::new(keel.clone());
        let wake = Arc::new(Notify::new());
        let delivered = dispatcher.clone();
        let woken = wake.clone();
        tokio::spawn(async move {
            let deliver = tokio::spawn(async move {
                loop {
                    woken.notified().await;
                    let _ = delivered.round().await;
                }
            });
            scheduler.run(wake, Arc::new(Notify::new()), stopped).await;
            deliver.abort();
        })
    });
    keel_console::run(console, Arc::new(ingest), after.clone()).await?;
    let _ = stop.send(true);
    if let Some(handle) = scheduler {
        let _ = handle.await;
    }
    writer
        .await
        .map_err(|e| environment(format!("the writer stopped: {e}")))?;
    after.0.round().await?;
    store.close().await;
    Ok(())
}

/// `keel run`: connects the configured adapters, serves HTTP and runs until Ctrl-C or SIGTERM,
/// then stops taking events, lets the writer commit what it holds and closes the database.
/// With no adapter configured it still serves `/healthz` and `/metrics` and runs the scheduler.
async fn serve(config: &Config, clock: Arc<dyn Clock>) -> Result<(), Failure> {
    let problems = config.problems();
    if let Some(first) = problems.first() {
        return Err(environment(format!(
            "invalid configuration: {first} (see keel config check)"
        )));
    }
    let prometheus = crate::observe::install().map_err(|e| environment(format!("cannot set up the metrics: {e}")))?;
    let address = config.http.listen.clone();
    // Bound first: a port in use stops keel before it connects anywhere.
    let bound = tokio::net::TcpListener::bind(&address)
        .await
        .map_err(|e| environment(format!("cannot listen on {address}: {e}")))?;
    let local = bound.local_addr().map(|a| a.to_string()).unwrap_or(address);
    let store = open(config).await?;
    let upkeep = tokio::spawn(crate::observe::upkeep(prometheus.clone()));
    let keel = Keel::new(store.clone(), clock, Settings::from_config(config));
    let committed = Arc::new(Notify::new());
    let (ingest, writer) = Ingest::start(keel.clone(), committed.clone());
    let sink: Arc<dyn keel_chat::InboundSink> = Arc::new(ingest.clone());
    let mut adapters: Vec<Arc<dyn keel_chat::Adapter>> = Vec::new();
    let mut listeners = vec![upkeep];
    let mut routes = axum::Router::new();
    if let Some(settings) = &config.matrix {
        let (matrix, sync) = connect_matrix(settings, sink.clone()).await?;
        adapters.push(matrix);
        listeners.push(sync);
    }
    if let Some(settings) = &config.slack {
        let parts = connect_slack(settings, sink.clone())?;
        adapters.push(parts.slack);
        listeners.extend(parts.listener);
        if let Some(slack_routes) = parts.routes {
            routes = routes.merge(slack_routes);
        }
    }
    let links = adapters
        .iter()
        .filter_map(|a| a.link().map(|link| (a.name().to_string(), link)))
        .collect();
    let probe = crate::observe::Probe {
        store: store.clone(),
        links,
        journal_waiting: ingest.journal_counter(),
        prometheus,
    };
    let routes = routes.merge(crate::observe::router(probe));
    listeners.push(tokio::spawn(async move {
        if let Err(e) = axum::serve(bound, routes).await {
            tracing::error!(error = %e, "the HTTP server stopped");
        }
    }));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let dispatcher =
        tokio::spawn(Dispatcher::new(store.clone(), adapters.clone()).run(committed.clone(), stopped.clone()));
    let scheduler = tokio::spawn(Scheduler::new(keel).run(committed, Arc::new(Notify::new()), stopped));
    tracing::info!(adapters = adapters.len(), http = %local, "keel is running");
    eprintln!("keel is running, HTTP on {local} (Ctrl-C stops it)");
    shutdown_signal().await;
    tracing::info!("stopping");
    for listener in &listeners {
        listener.abort();
    }
    let _ = stop.send(true);
    let _ = dispatcher.await;
    let _ = scheduler.await;
    // Adapters may still hold the ingest (matrix-sdk keeps its event handlers): close it rather
    // than wait for every clone to go.
    ingest.close();
    if tokio::time::timeout(std::time::Duration::from_secs(20), writer)
        .await
        .is_err()
    {
        tracing::error!("the writer did not finish within 20 s; stopping anyway");
    }
    store.close().await;
    Ok(())
}

/// Logs in to Matrix (or restores the saved session) and starts syncing. A homeserver that is
/// not up yet is tried again for two minutes (keel and Synapse often start together); a refused
/// login stops keel at once.
#[cfg(feature = "matrix")]
async fn connect_matrix(
    settings: &crate::config::MatrixSettings,
    sink: Arc<dyn keel_chat::InboundSink>,
) -> Result<(Arc<dyn keel_chat::Adapter>, tokio::task::JoinHandle<()>), Failure> {
    let config = keel_matrix::MatrixConfig {
        homeserver: settings.homeserver.clone(),
        user: settings.user.clone(),
        password: settings.password.clone(),
        access_token: settings.access_token.clone(),
        store_path: settings.store_dir(),
        team: settings.team.clone(),
        allow_invites_from: settings.inviters(),
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    use backon::BackoffBuilder;
    let mut waits = backon::ExponentialBuilder::new()
        .with_min_delay(std::time::Duration::from_millis(500))
        .with_max_delay(std::time::Duration::from_secs(10))
        .without_max_times()
        .build();
    loop {
        let attempt = async {
            let matrix = keel_matrix::Matrix::connect(config.clone()).await?;
            let sync = matrix.start(sink.clone()).await?;
            anyhow::Ok((matrix, sync))
        };
        match attempt.await {
            Ok((matrix, sync)) => return Ok((Arc::new(matrix), sync)),
            Err(e) => {
                let message = crate::store::one_line(&format!("{e:#}"));
                let refused = keel_matrix::is_refused(&e);
                let wait = waits.next().unwrap_or(std::time::Duration::from_secs(10));
                if refused || tokio::time::Instant::now() + wait > deadline {
                    return Err(environment(format!("cannot connect to Matrix: {message}")));
                }
                tracing::warn!(error = %message, retry_in_ms = wait.as_millis() as u64, "cannot reach the Matrix homeserver yet");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

#[cfg(not(feature = "matrix"))]
async fn connect_matrix(
    _: &crate::config::MatrixSettings,
    _: Arc<dyn keel_chat::InboundSink>,
) -> Result<(Arc<dyn keel_chat::Adapter>, tokio::task::JoinHandle<()>), Failure> {
    Err(environment(
        "this keel was built without Matrix (the `matrix` feature); remove [matrix]",
    ))
}

/// The Slack adapter as `keel run` wires it.
struct SlackParts {
    slack: Arc<dyn keel_chat::Adapter>,
    /// Socket Mode's connection task.
    listener: Option<tokio::task::JoinHandle<()>>,
    /// The Events API's routes, for keel's HTTP server.
    routes: Option<axum::Router>,
}

/// The Slack adapter: Socket Mode starts listening now; the Events API returns its routes for
/// keel's HTTP server.
#[cfg(feature = "slack")]
fn connect_slack(
    settings: &crate::config::SlackSettings,
    sink: Arc<dyn keel_chat::InboundSink>,
) -> Result<SlackParts, Failure> {
    let missing = || environment("slack: a token is missing (see keel config check)");
    let slack = keel_slack::Slack::new(&keel_slack::SlackConfig {
        bot_token: settings.bot_token.clone().ok_or_else(missing)?,
        api_url: settings.api_url.clone(),
    })
    .map_err(|e| environment(format!("cannot set up the Slack client: {e}")))?;
    let translator = keel_slack::inbound::Translator::new(slack.clone());
    if settings.mode == "events" {
        let secret = settings.signing_secret.clone().ok_or_else(missing)?;
        let routes = keel_slack::events::router(secret, translator, sink);
        Ok(SlackParts {
            slack: Arc::new(slack),
            listener: None,
            routes: Some(routes),
        })
    } else {
        let app_token = settings.app_token.clone().ok_or_else(missing)?;
        let listener = keel_slack::socket::start(slack.clone(), app_token, translator, sink);
        Ok(SlackParts {
            slack: Arc::new(slack),
            listener: Some(listener),
            routes: None,
        })
    }
}

#[cfg(not(feature = "slack"))]
fn connect_slack(_: &crate::config::SlackSettings, _: Arc<dyn keel_chat::InboundSink>) -> Result<SlackParts, Failure> {
    Err(environment(
        "this keel was built without Slack (the `slack` feature); remove [slack]",
    ))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `keel tick`: runs the due jobs, then prints (delivers) what they queued for the console.
async fn tick(config: &Config, clock: Arc<dyn Clock>, format: TickFormat) -> Result<(), Failure> {
    if let Some(first) = config.problems().first() {
        return Err(environment(format!(
            "invalid configuration: {first} (see keel config check)"
        )));
    }
    let store = open(config).await?;
    let keel = Keel::new(store.clone(), clock.clone(), Settings::from_config(config));
    let now = clock.now();
    Scheduler::new(keel).run_due(now).await?;
    let console = keel_console::ConsoleOutput::stdout();
    let mut conn = store.writer().acquire().await.map_err(anyhow::Error::from)?;
    loop {
        let due = outbox::claim(&mut conn, store.backend(), "console", now.timestamp(), 500).await?;
        if due.is_empty() {
            break;
        }
        for pending in due {
            match format {
                TickFormat::Text => {
                    keel_chat::Adapter::send(&console, &pending.outbound)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                }
                TickFormat::Json => println!("{}", posted_json(&pending.kind, &pending.outbound)),
            }
            outbox::mark_sent(&mut conn, pending.id, now.timestamp(), None).await?;
        }
    }
    drop(conn);
    store.close().await;
    Ok(())
}

/// One posted message as `keel tick --format json` prints it.
fn posted_json(kind: &str, outbound: &keel_chat::Outbound) -> Value {
    use keel_chat::Outbound;
    let (channel, to, thread, text) = match outbound {
        Outbound::Message {
            conversation,
            thread,
            text,
        } => (Some(conversation.clone()), None, thread.clone(), text.clone()),
        Outbound::Direct { user, text } => (None, Some(user.clone()), None, text.clone()),
        Outbound::Ephemeral {
            conversation,
            user,
            text,
        } => (Some(conversation.clone()), Some(user.clone()), None, text.clone()),
        Outbound::Reaction {
            conversation, emoji, ..
        } => (Some(conversation.clone()), None, None, emoji.clone()),
        Outbound::Question {
            conversation,
            thread,
            text,
            fallback,
            ..
        } => (
            Some(conversation.clone()),
            None,
            thread.clone(),
            keel_chat::plain_question(text, fallback),
        ),
        Outbound::Image {
            conversation,
            caption,
            name,
            png,
            ..
        } => {
            return json!({ "kind": kind, "channel": conversation, "to": null, "thread": null, "text": caption,
                           "image": name, "bytes": png.len() });
        }
    };
    json!({ "kind": kind, "channel": channel, "to": to, "thread": thread, "text": text })
}

fn rfc3339(at: Option<i64>) -> Value {
    match at.and_then(|t| DateTime::<Utc>::from_timestamp(t, 0)) {
        Some(t) => json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        None => Value::Null,
    }
}

fn task_json(v: &TaskView) -> Value {
    let t = &v.task;
    json!({
        "id": t.id,
        "title": t.title,
        "client": v.client_key,
        "channel": t.channel_name,
        "requester": t.requester_name,
        "owner": v.owner_name,
        "status": t.status.as_str(),
        "priority": t.priority.as_str(),
        "source": t.source.as_str(),
        "sentiment": t.sentiment,
        "created_at": rfc3339(Some(t.created_at)),
        "due_at": rfc3339(t.due_at),
        "first_response_at": rfc3339(t.first_response_at),
        "resolved_at": rfc3339(t.resolved_at),
    })
}

const TASK_FIELDS: [&str; 14] = [
    "id",
    "title",
    "client",
    "channel",
    "requester",
    "owner",
    "status",
    "priority",
    "source",
    "sentiment",
    "created_at",
    "due_at",
    "first_response_at",
    "resolved_at",
];

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn tasks_list(
    store: &Store,
    status: Option<String>,
    client: Option<String>,
    owner: Option<String>,
    format: Format,
) -> Result<(), Failure> {
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(|e| environment(format!("database: {e}")))?;
    let mut filter = Filter::default();
    if let Some(s) = status {
        filter.statuses = if s == "active" {
            vec![Status::Open, Status::InProgress, Status::Waiting]
        } else {
            vec![s.parse::<Status>().map_err(|e| failed(e.to_string()))?]
        };
    }
    if let Some(key) = client {
        let c = people::client_by_key(&mut conn, &key.to_lowercase()).await?;
        filter.client_id = Some(
            c.ok_or_else(|| failed(format!("there is no client \"{}\"", shown(&key))))?
                .id,
        );
    }
    if let Some(name) = owner {
        let m = people::member_by_reference(&mut conn, "console", name.trim_start_matches('@')).await?;
        filter.owner_id = Some(
            m.ok_or_else(|| failed(format!("there is no team member \"{}\"", shown(&name))))?
                .id,
        );
    }
    let found = tasks::list(&mut conn, &filter).await?;
    let rows: Vec<Value> = found.iter().map(task_json).collect();
    let mut out = std::io::stdout().lock();
    let written = match format {
        Format::Json => serde_json::to_writer_pretty(&mut out, &rows)
            .map_err(std::io::Error::other)
            .and_then(|_| writeln!(out)),
        Format::Csv => write_csv(&mut out, &TASK_FIELDS, &rows),
        Format::Table => {
            let lines: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    ["id", "status", "priority", "client", "owner", "due_at", "title"]
                        .iter()
                        .map(|f| cell(&r[*f]))
                        .collect()
                })
                .collect();
            write_table(
                &mut out,
                &["ID", "STATUS", "PRIORITY", "CLIENT", "OWNER", "DUE", "TITLE"],
                &lines,
            )
        }
    };
    written.map_err(|e| environment(format!("writing output: {e}")))
}

fn write_csv(out: &mut dyn Write, fields: &[&str], rows: &[Value]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(fields).map_err(std::io::Error::other)?;
    for r in rows {
        w.write_record(fields.iter().map(|f| cell(&r[*f])))
            .map_err(std::io::Error::other)?;
    }
    w.flush()
}

fn write_table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count().min(60));
        }
    }
    let line = |cells: Vec<String>| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let c = crate::domain::truncate(c, 60);
                format!("{c:<w$}", w = widths[i])
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    writeln!(out, "{}", line(header.iter().map(|h| h.to_string()).collect()))?;
    for r in rows {
        writeln!(out, "{}", line(r.clone()))?;
    }
    Ok(())
}

async fn clients_list(store: &Store, format: Format) -> Result<(), Failure> {
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(|e| environment(format!("database: {e}")))?;
    let clients = people::clients(&mut conn).await?;
    let mut rows = Vec::new();
    for c in &clients {
        let owner = match c.owner_id {
            Some(id) => people::member_by_id(&mut conn, id).await?.map(|m| m.name),
            None => None,
        };
        let open = tasks::active_for_client(&mut conn, c.id).await?;
        rows.push(json!({
            "key": c.key,
            "name": c.name,
            "owner": owner,
            "open_tasks": open,
            "contract_signed_at": rfc3339(c.contract_signed_at),
            "go_live_at": rfc3339(c.go_live_at),
            "churned_at": rfc3339(c.churned_at),
            "last_touch_at": rfc3339(c.last_touch_at),
        }));
    }
    let fields = [
        "key",
        "name",
        "owner",
        "open_tasks",
        "contract_signed_at",
        "go_live_at",
        "churned_at",
        "last_touch_at",
    ];
    let mut out = std::io::stdout().lock();
    let written = match format {
        Format::Json => serde_json::to_writer_pretty(&mut out, &rows)
            .map_err(std::io::Error::other)
            .and_then(|_| writeln!(out)),
        Format::Csv => write_csv(&mut out, &fields, &rows),
        Format::Table => {
            let lines: Vec<Vec<String>> = rows
                .iter()
                .map(|r| fields[..5].iter().map(|f| cell(&r[*f])).collect())
                .collect();
            write_table(&mut out, &["KEY", "NAME", "OWNER", "OPEN", "SIGNED"], &lines)
        }
    };
    written.map_err(|e| environment(format!("writing output: {e}")))
}

async fn export_events(store: &Store) -> Result<(), Failure> {
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(|e| environment(format!("database: {e}")))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut after = 0;
    loop {
        let page = tasks::events_after(&mut conn, after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for e in &page {
            let line = json!({
                "id": e.id,
                "task": e.task_id,
                "at": rfc3339(Some(e.at)),
                "kind": e.event.kind(),
                "actor": e.actor,
                "data": e.event.data(),
            });
            writeln!(out, "{line}").map_err(|e| environment(format!("writing output: {e}")))?;
        }
    }
    out.flush().map_err(|e| environment(format!("writing output: {e}")))
}

async fn config_check(config: &Config) -> Result<(), Failure> {
    let problems = config.problems();
    for p in &problems {
        eprintln!("{p}");
    }
    if !problems.is_empty() {
        return Err(environment(format!(
            "{} problem(s) in the configuration",
            problems.len()
        )));
    }
    let store = Store::connect(&config.database_url)
        .await
        .map_err(|e| environment(e.to_string()))?;
    store.close().await;
    let matrix = config
        .matrix
        .as_ref()
        .map(|m| format!(", matrix {} on {}", m.user, m.homeserver))
        .unwrap_or_default();
    println!(
        "configuration ok: database {}, team time zone {}, business hours {}{matrix}",
        redact_url(&config.database_url),
        config.team.timezone,
        config.team.hours
    );
    Ok(())
}
