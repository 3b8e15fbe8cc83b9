//! `keel chat` (the console adapter over the core) and `keel tick` (due jobs once, printed).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use tokio::sync::Notify;

use super::app;
use super::args::{ChatArgs, TickFormat};
use super::failure::{environment, Failure};
use super::render::{record, Posted};
use crate::clock::Clock;
use crate::config::Config;
use crate::service::dispatch::Dispatcher;
use crate::service::ingest::Ingest;
use crate::service::scheduler::Scheduler;
use crate::store::outbox;

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

pub(super) async fn chat(
    args: ChatArgs,
    config: &Config,
    clock: Arc<dyn Clock>,
    no_fixed_clock: bool,
) -> Result<(), Failure> {
    app::check(config)?;
    let keel = app::core(config, clock.clone()).await?;
    let store = keel.store.clone();
    let committed = Arc::new(Notify::new());
    let (ingest, writer) = Ingest::start(keel.clone(), committed);

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
    let output = keel_console::ConsoleOutput::stdout().with_cards(console.cards());
    let output: Arc<dyn keel_chat::Adapter> = Arc::new(output);
    let dispatcher = Dispatcher::new(store.clone(), vec![output]);
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

/// `keel tick`: runs the due jobs, then prints (delivers) what they queued for the console.
pub(super) async fn tick(config: &Config, clock: Arc<dyn Clock>, format: TickFormat) -> Result<(), Failure> {
    app::check(config)?;
    let keel = app::core(config, clock.clone()).await?;
    let store = keel.store.clone();
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
                TickFormat::Json => println!("{}", record(&Posted::of(&pending.kind, &pending.outbound))),
            }
            outbox::mark_sent(&mut conn, pending.id, now.timestamp(), None).await?;
        }
    }
    drop(conn);
    store.close().await;
    Ok(())
}
