//! `keel run`: the configured adapters, the HTTP server, the dispatcher and the scheduler, until
//! Ctrl-C or SIGTERM.

use std::sync::Arc;

use tokio::sync::Notify;

use super::app;
use super::failure::{environment, Failure};
use crate::clock::Clock;
use crate::config::Config;
use crate::service::dispatch::Dispatcher;
use crate::service::ingest::Ingest;
use crate::service::scheduler::Scheduler;

/// `keel run`: connects the configured adapters, serves HTTP and runs until Ctrl-C or SIGTERM,
/// then stops taking events, lets the writer commit what it holds and closes the database.
/// With no adapter configured it still serves `/healthz` and `/metrics` and runs the scheduler.
pub(super) async fn serve(config: &Config, clock: Arc<dyn Clock>) -> Result<(), Failure> {
    app::check(config)?;
    let prometheus = crate::observe::install().map_err(|e| environment(format!("cannot set up the metrics: {e}")))?;
    let address = config.http.listen.clone();
    // Bound first: a port in use stops keel before it connects anywhere.
    let bound = tokio::net::TcpListener::bind(&address)
        .await
        .map_err(|e| environment(format!("cannot listen on {address}: {e}")))?;
    let local = bound.local_addr().map(|a| a.to_string()).unwrap_or(address);
    let keel = app::core(config, clock).await?;
    let store = keel.store.clone();
    let upkeep = tokio::spawn(crate::observe::upkeep(prometheus.clone()));
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
    if let Some(settings) = &config.email {
        let (email, reader) = connect_email(settings, sink.clone())?;
        adapters.push(email);
        listeners.push(reader);
    }
    let links = adapters
        .iter()
        .filter_map(|a| a.connection().map(|state| (a.name().to_string(), state)))
        .collect();
    let probe = crate::observe::Probe {
        store: store.clone(),
        links,
        journal_waiting: ingest.journal_counter(),
        prometheus,
    };
    let routes = routes
        .merge(crate::observe::router(probe))
        .merge(crate::web::router(keel.clone()));
    listeners.push(tokio::spawn(async move {
        if let Err(e) = axum::serve(bound, routes).await {
            tracing::error!(error = %e, "the HTTP server stopped");
        }
    }));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let dispatcher = tokio::spawn(
        Dispatcher::new(store.clone(), adapters.clone())
            .with_backoff_cap(config.outbox.backoff_max_seconds)
            .run(committed.clone(), stopped.clone()),
    );
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

/// The email adapter: checks the configuration and starts reading the mailbox (a server that is
/// away is retried in the background, and `/healthz` says so).
#[cfg(feature = "email")]
fn connect_email(
    settings: &crate::config::EmailSettings,
    sink: Arc<dyn keel_chat::InboundSink>,
) -> Result<(Arc<dyn keel_chat::Adapter>, tokio::task::JoinHandle<()>), Failure> {
    let url =
        |text: &str| url::Url::parse(text).map_err(|e| environment(format!("email: \"{text}\" is not a URL: {e}")));
    let config = keel_email::EmailConfig {
        imap_url: url(&settings.imap_url)?,
        smtp_url: url(&settings.smtp_url)?,
        user: settings.user.clone(),
        password: (settings.password.clone()).ok_or_else(|| environment("email: KEEL_EMAIL__PASSWORD is not set"))?,
        mailbox: settings.mailbox.clone(),
        from: keel_chat::Address {
            email: settings.address(),
            name: settings.from_name.clone(),
        },
        team_domains: settings.domains(),
        done_folder: settings.done_folder.clone().filter(|f| !f.trim().is_empty()),
        ca_file: (settings.ca_file.clone())
            .filter(|f| !f.trim().is_empty())
            .map(Into::into),
        state_path: settings.state_path.clone().into(),
        poll_seconds: settings.poll_seconds,
    };
    let email = keel_email::EmailAdapter::new(config).map_err(|e| environment(format!("email: {e:#}")))?;
    let reader = email.start(sink);
    Ok((Arc::new(email), reader))
}

#[cfg(not(feature = "email"))]
fn connect_email(
    _: &crate::config::EmailSettings,
    _: Arc<dyn keel_chat::InboundSink>,
) -> Result<(Arc<dyn keel_chat::Adapter>, tokio::task::JoinHandle<()>), Failure> {
    Err(environment(
        "this keel was built without email (the `email` feature); remove [email]",
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
