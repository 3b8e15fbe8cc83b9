//! The command line's grammar, as clap reads it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    pub(crate) chat: ChatArgs,
    /// Database URL: sqlite://FILE (created on first use) or postgres://…
    #[arg(long, global = true, env = "KEEL_DATABASE_URL")]
    pub(crate) db: Option<String>,
    /// Config file (default: config/keel.toml when present)
    #[arg(long, global = true, env = "KEEL_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Fix the clock at this instant (RFC 3339), for trying time-based behaviour
    #[arg(long, global = true, env = "KEEL_NOW")]
    pub(crate) now: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
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
    /// The outbox: messages waiting to go out, and those given up
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// The web dashboard
    #[command(subcommand)]
    Dashboard(DashboardCommand),
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
    /// Replay every task's event log and compare it with the tasks table; exits 1 and prints
    /// each difference (task, field, table value, replayed value) when they disagree
    Verify {
        #[arg(long, value_enum, default_value_t = VerifyFormat::Text)]
        format: VerifyFormat,
    },
    /// Configuration
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// How `keel verify` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum VerifyFormat {
    /// One line per difference, then a summary line
    Text,
    /// One JSON object: tasks, events and the differences
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct ChatArgs {
    /// Speak as this person
    #[arg(long = "as", value_name = "NAME")]
    pub(crate) speaker: Option<String>,
    /// Talk in this channel (without it: the direct conversation with keel)
    #[arg(long)]
    pub(crate) channel: Option<String>,
    /// The speaker is a contact of this client
    #[arg(long, value_name = "KEY")]
    pub(crate) client: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TasksCommand {
    /// List tasks, oldest first
    List {
        /// open, in-progress, waiting, done, cancelled, active (the first three) or all
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
pub(crate) enum ClientsCommand {
    /// List clients
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DashboardCommand {
    /// Print a one-time sign-in link (valid 10 minutes) for a team member
    Link {
        /// The member's name, as keel knows them
        #[arg(long = "as", value_name = "NAME")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum OutboxCommand {
    /// Messages waiting to be sent, oldest first; with --failed, those given up
    List {
        /// The messages given up: refused for good (channel gone, keel removed) or too often
        #[arg(long)]
        failed: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Send messages that were given up again: one by its id, or all of them
    Retry {
        /// The message's id (from `keel outbox list --failed`)
        #[arg(value_name = "ID", required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Every message given up
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ExportCommand {
    /// Every task event, oldest first
    Events {
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Report every missing or invalid setting
    Check,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TickFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KpiFormat {
    Text,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormat {
    Jsonl,
}
