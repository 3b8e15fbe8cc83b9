//! The console adapter: keel as a chat in the terminal.
//!
//! Each input line is one message from the current speaker in the current conversation. As on
//! any platform, a line in a channel is an ordinary message unless it mentions `@keel` or starts
//! with `/keel`; in the direct conversation (no channel) every line is for keel. Lines starting
//! with `/as`, `/join`, `/dm`, `/react` and `/quit` steer the console itself.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keel_chat::{Adapter, Conversation, Inbound, InboundKind, InboundSink, Named, Outbound, SendError, Sent, Speaker};

/// The adapter name stored with console events and outbox rows.
pub const NAME: &str = "console";

/// Who is typing and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub speaker: String,
    /// Set when the speaker is a contact of this client.
    pub client: Option<String>,
    /// `None` is the direct conversation with keel.
    pub channel: Option<String>,
}

/// What one input line amounts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A message or command for the core.
    Event(Box<Inbound>),
    /// A console instruction was applied; show this note (may be empty).
    Local(String),
    /// Stop reading.
    Quit,
}

/// The last message seen in a conversation, for `/react`.
#[derive(Debug, Clone)]
struct LastMessage {
    id: String,
    text: String,
    speaker: Speaker,
}

/// keel's cards as printed, the newest by conversation, shared by the output that prints them
/// and the console that reads `/react`: a reaction after a card is a reaction on the card, as a
/// click on a platform's button would be.
#[derive(Clone, Default)]
pub struct Cards(Arc<Mutex<HashMap<String, LastMessage>>>);

impl Cards {
    fn put(&self, conversation: &str, card: LastMessage) {
        if let Ok(mut cards) = self.0.lock() {
            cards.insert(conversation.to_string(), card);
        }
    }

    fn take(&self, conversation: &str) -> Option<LastMessage> {
        self.0.lock().ok()?.remove(conversation)
    }

    fn get(&self, conversation: &str) -> Option<LastMessage> {
        self.0.lock().ok()?.get(conversation).cloned()
    }
}

/// Turns typed lines into inbound events.
pub struct Console {
    pub session: Session,
    run_id: String,
    counter: u64,
    last: HashMap<String, LastMessage>,
    cards: Cards,
    clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
}

impl Console {
    /// `run_id` makes event ids unique across runs on the same database.
    pub fn new(session: Session, run_id: String, clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>) -> Console {
        Console {
            session,
            run_id,
            counter: 0,
            last: HashMap::new(),
            cards: Cards::default(),
            clock,
        }
    }

    /// The cards the output prints, for `/react` (hand them to [`ConsoleOutput::with_cards`]).
    pub fn cards(&self) -> Cards {
        self.cards.clone()
    }

    /// The prompt: `#acme bob (acme)> ` or `keel lea> ` in the direct conversation.
    pub fn prompt(&self) -> String {
        let place = match &self.session.channel {
            Some(c) => format!("#{c}"),
            None => "direct".to_string(),
        };
        let who = match &self.session.client {
            Some(k) => format!("{} ({k})", self.session.speaker),
            None => self.session.speaker.clone(),
        };
        format!("{place} {who}> ")
    }

    fn speaker(&self) -> Speaker {
        Speaker {
            id: self.session.speaker.clone(),
            name: self.session.speaker.clone(),
            external: self.session.client.is_some(),
            client_hint: self.session.client.clone(),
            tz: None,
        }
    }

    fn conversation(&self) -> Conversation {
        match &self.session.channel {
            Some(c) => Conversation {
                id: c.clone(),
                name: c.clone(),
                direct: false,
            },
            None => {
                let id = format!("@{}", self.session.speaker);
                Conversation {
                    id: id.clone(),
                    name: id,
                    direct: true,
                }
            }
        }
    }

    fn next_id(&mut self) -> String {
        self.counter += 1;
        format!("{}-{}", self.run_id, self.counter)
    }

    /// Reads one line.
    pub fn read(&mut self, raw: &str) -> Line {
        let line = raw.trim_end_matches(['\r', '\n']);
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return Line::Local(String::new());
        }
        let first = trimmed.split_whitespace().next().unwrap_or("");
        match first {
            "/quit" | "/exit" => return Line::Quit,
            "/as" => return self.switch_speaker(trimmed),
            "/join" => {
                return match trimmed.split_whitespace().nth(1) {
                    Some(c) if c.chars().any(char::is_control) => {
                        Line::Local("a channel name cannot contain control characters (usage: /join CHANNEL)".into())
                    }
                    Some(c) => {
                        self.session.channel = Some(c.trim_start_matches('#').to_string());
                        Line::Local(String::new())
                    }
                    None => Line::Local("usage: /join CHANNEL".into()),
                }
            }
            "/dm" => {
                self.session.channel = None;
                return Line::Local(String::new());
            }
            "/react" => return self.react(trimmed),
            // `/keel …` as Slack's slash command, `!keel …` as Matrix's command prefix.
            "/keel" | "!keel" => {
                let text = trimmed[first.len()..].trim().to_string();
                return self.event(InboundKind::Command { text });
            }
            _ if first.starts_with('/') && first.len() > 1 && !first[1..].contains('/') => {
                return Line::Local(format!(
                    "unknown console command {first} (try /as NAME [--client KEY], /join CHANNEL, /dm, /react EMOJI, /keel …, /quit)"
                ));
            }
            _ => {}
        }
        let direct = self.session.channel.is_none();
        let (to_keel, text) = strip_mention(trimmed);
        let text = if to_keel { text } else { trimmed.to_string() };
        let kind = InboundKind::Message {
            text: text.clone(),
            to_keel: to_keel || direct,
        };
        let line = self.event(kind);
        if let Line::Event(inbound) = &line {
            let last = LastMessage {
                id: inbound.message_id.clone(),
                text,
                speaker: inbound.speaker.clone(),
            };
            // What is typed now is newer than any card printed before.
            self.cards.take(&inbound.conversation.id);
            self.last.insert(inbound.conversation.id.clone(), last);
        }
        line
    }

    fn event(&mut self, kind: InboundKind) -> Line {
        let id = self.next_id();
        let named = match &kind {
            InboundKind::Message { text, .. } | InboundKind::Command { text } => named(text),
            _ => Vec::new(),
        };
        Line::Event(Box::new(Inbound {
            adapter: NAME.to_string(),
            event_id: id.clone(),
            at: (self.clock)(),
            speaker: self.speaker(),
            conversation: self.conversation(),
            message_id: id,
            thread: None,
            reply_to: None,
            permalink: None,
            kind,
            named,
        }))
    }

    fn switch_speaker(&mut self, line: &str) -> Line {
        let words: Vec<&str> = line.split_whitespace().skip(1).collect();
        // PostgreSQL cannot store a NUL; other odd characters are cleaned from the name keel keeps.
        if words.iter().any(|w| w.contains('\0')) {
            return Line::Local("a name cannot contain a NUL character (usage: /as NAME [--client KEY])".into());
        }
        match words.as_slice() {
            [name] => {
                self.session.speaker = name.trim_start_matches('@').to_string();
                self.session.client = None;
            }
            [name, "--client", key] | ["--client", key, name] => {
                self.session.speaker = name.trim_start_matches('@').to_string();
                self.session.client = Some(key.to_lowercase());
            }
            _ => return Line::Local("usage: /as NAME [--client KEY]".into()),
        }
        Line::Local(String::new())
    }

    fn react(&mut self, line: &str) -> Line {
        let Some(emoji) = line.split_whitespace().nth(1) else {
            return Line::Local("usage: /react EMOJI (reacts to the last message or card here)".into());
        };
        let conversation = self.conversation();
        let newest = self
            .cards
            .get(&conversation.id)
            .or_else(|| self.last.get(&conversation.id).cloned());
        let Some(last) = newest else {
            return Line::Local("there is no message here to react to".into());
        };
        self.event(InboundKind::Reaction {
            emoji: emoji.to_string(),
            message_id: last.id,
            message_text: Some(last.text),
            author: Some(last.speaker),
        })
    }
}

/// Finds an `@keel` mention; returns the text without it.
fn strip_mention(text: &str) -> (bool, String) {
    let mut found = false;
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| {
            let is_keel = w
                .trim_end_matches([',', ':', '.', '!', '?'])
                .eq_ignore_ascii_case("@keel");
            found |= is_keel;
            !is_keel
        })
        .collect();
    (found, words.join(" "))
}

/// Prints what keel says. Channel messages show their channel; direct messages their reader.
pub struct ConsoleOutput {
    out: Mutex<Box<dyn Write + Send>>,
    cards: Cards,
}

impl ConsoleOutput {
    pub fn stdout() -> ConsoleOutput {
        ConsoleOutput::to_writer(Box::new(std::io::stdout()))
    }

    pub fn to_writer(writer: Box<dyn Write + Send>) -> ConsoleOutput {
        ConsoleOutput {
            out: Mutex::new(writer),
            cards: Cards::default(),
        }
    }

    /// Notes every card printed in `cards`, for the console's `/react`.
    pub fn with_cards(mut self, cards: Cards) -> ConsoleOutput {
        self.cards = cards;
        self
    }

    fn print(&self, text: &str) -> Result<(), SendError> {
        let mut out = self
            .out
            .lock()
            .map_err(|_| SendError::Transient("console output poisoned".into()))?;
        writeln!(out, "{text}")
            .and_then(|_| out.flush())
            .map_err(|e| SendError::Transient(e.to_string()))
    }
}

/// `[#acme] keel: text`, continuation lines indented.
fn render(place: &str, text: &str) -> String {
    let mut lines = text.lines();
    let mut out = format!("[{place}] keel: {}", lines.next().unwrap_or(""));
    for line in lines {
        out.push_str("\n    ");
        out.push_str(line);
    }
    out
}

fn place(conversation: &str) -> String {
    if conversation.starts_with('@') {
        conversation.to_string()
    } else {
        format!("#{conversation}")
    }
}

#[async_trait]
impl Adapter for ConsoleOutput {
    fn name(&self) -> &str {
        NAME
    }

    async fn send(&self, outbound: &Outbound) -> Result<Sent, SendError> {
        let text = match outbound {
            Outbound::Message { conversation, text, .. } => render(&place(conversation), text),
            Outbound::Direct { user, text } => render(&format!("@{user}"), text),
            Outbound::Ephemeral {
                conversation,
                user,
                text,
                ..
            } => render(&format!("{} only to @{user}", place(conversation)), text),
            Outbound::Reaction {
                conversation, emoji, ..
            } => format!("[{}] keel reacted {emoji}", place(conversation)),
            Outbound::Question {
                conversation,
                text,
                fallback,
                ..
            } => render(&place(conversation), &keel_chat::plain_question(text, fallback)),
            Outbound::Card { conversation, card, .. } => render(&place(conversation), &card.text()),
            // A terminal cannot edit what it printed; the answers say what changed.
            Outbound::CardUpdate { .. } => return Ok(Sent::default()),
            // The console asks for no form and has no home.
            Outbound::Form { .. } | Outbound::Home { .. } => {
                return Err(SendError::Rejected("the console has no forms or homes".into()))
            }
            Outbound::Mail(mail) => render(
                &format!("mail to {}", mail.to.first().map_or("", |a| a.email.as_str())),
                &format!("{}\n{}", mail.subject, mail.text),
            ),
            Outbound::Image {
                conversation,
                name,
                caption,
                png,
                ..
            } => {
                let file = sanitize_file_name(name);
                std::fs::write(&file, png).map_err(|e| SendError::Transient(format!("writing {file}: {e}")))?;
                render(&place(conversation), &format!("{caption} (image saved to {file})"))
            }
        };
        self.print(&text)?;
        Ok(Sent::default())
    }

    /// A card is known by its outbox key, so a reaction on it (`/react`) reaches its task.
    async fn send_keyed(&self, key: &str, outbound: &Outbound) -> Result<Sent, SendError> {
        let sent = self.send(outbound).await?;
        let Outbound::Card { conversation, card, .. } = outbound else {
            return Ok(sent);
        };
        let keel = Speaker {
            id: "keel".into(),
            name: "keel".into(),
            external: false,
            client_hint: None,
            tz: None,
        };
        let printed = LastMessage {
            id: key.to_string(),
            text: card.text(),
            speaker: keel,
        };
        self.cards.put(conversation, printed);
        Ok(Sent {
            message_id: Some(key.to_string()),
        })
    }
}

fn sanitize_file_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_start_matches('.').to_string();
    if clean.is_empty() {
        "keel-image.png".into()
    } else {
        clean
    }
}

/// What the console does after each event: deliver the replies it caused.
#[async_trait]
pub trait AfterEvent: Send + Sync {
    async fn after_event(&self);
}

/// Reads lines (a terminal with line editing, or piped stdin) until the end or `/quit`. Each
/// event is handed to the core and its replies printed before the next line is read.
pub async fn run(mut console: Console, sink: Arc<dyn InboundSink>, after: Arc<dyn AfterEvent>) -> anyhow::Result<()> {
    let interactive = std::io::stdin().is_terminal();
    let (lines_tx, mut lines_rx) = tokio::sync::mpsc::channel::<Option<String>>(1);
    let (prompt_tx, prompt_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || read_lines(interactive, prompt_rx, lines_tx));
    if interactive {
        println!("keel console: type \"help\"; /join CHANNEL to talk in a channel, /as NAME [--client KEY] to switch speaker, /quit to leave");
    }
    after.after_event().await;
    loop {
        if prompt_tx.send(console.prompt()).is_err() {
            break;
        }
        let Some(Some(raw)) = lines_rx.recv().await else { break };
        match console.read(&raw) {
            Line::Quit => break,
            Line::Local(note) => {
                if !note.is_empty() {
                    println!("{note}");
                }
            }
            Line::Event(inbound) => {
                if let Err(e) = sink.deliver(*inbound).await {
                    println!("keel could not take that message: {}", one_line(&e.to_string()));
                }
                after.after_event().await;
            }
        }
    }
    Ok(())
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The reading thread: waits for each prompt, then reads one line.
fn read_lines(
    interactive: bool,
    prompts: std::sync::mpsc::Receiver<String>,
    lines: tokio::sync::mpsc::Sender<Option<String>>,
) {
    if interactive {
        let Ok(mut editor) = rustyline::DefaultEditor::new() else {
            let _ = lines.blocking_send(None);
            return;
        };
        while let Ok(prompt) = prompts.recv() {
            match editor.readline(&prompt) {
                Ok(line) => {
                    let _ = editor.add_history_entry(line.as_str());
                    if lines.blocking_send(Some(line)).is_err() {
                        return;
                    }
                }
                Err(rustyline::error::ReadlineError::Interrupted) => {
                    if lines.blocking_send(Some(String::new())).is_err() {
                        return;
                    }
                }
                Err(_) => {
                    let _ = lines.blocking_send(None);
                    return;
                }
            }
        }
    } else {
        // Bytes, not text: a line that is not UTF-8 is read with replacement characters instead
        // of ending the chat (and dropping every line after it).
        let mut input = std::io::stdin().lock();
        while prompts.recv().is_ok() {
            let mut bytes = Vec::new();
            match input.read_until(b'\n', &mut bytes) {
                Ok(0) | Err(_) => {
                    let _ = lines.blocking_send(None);
                    return;
                }
                Ok(_) => {
                    let line = String::from_utf8_lossy(&bytes).into_owned();
                    if lines.blocking_send(Some(line)).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// The console has no directory: anyone a line names (`@kim`) is who the name says, a teammate
/// (client users are marked with `--client` when they speak). Only names keel could answer to
/// count: a letter first, then letters, digits, `.`, `_` or `-`.
fn named(text: &str) -> Vec<Named> {
    keel_chat::person_references(text)
        .into_iter()
        .filter(|name| {
            name.len() <= 64
                && !name.eq_ignore_ascii_case("keel")
                && name.starts_with(|c: char| c.is_alphabetic())
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
        })
        .map(|name| Named {
            candidates: vec![Speaker {
                id: name.clone(),
                name: name.clone(),
                external: false,
                client_hint: None,
                tz: None,
            }],
            reference: name,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console(channel: Option<&str>) -> Console {
        let session = Session {
            speaker: "lea".into(),
            client: None,
            channel: channel.map(str::to_string),
        };
        Console::new(session, "t".into(), Arc::new(Utc::now))
    }

    fn event(line: Line) -> Inbound {
        match line {
            Line::Event(e) => *e,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[test]
    fn channel_lines_are_messages_unless_they_address_keel() {
        let mut c = console(Some("acme"));
        let plain = event(c.read("Looking into it now"));
        assert_eq!(
            plain.kind,
            InboundKind::Message {
                text: "Looking into it now".into(),
                to_keel: false
            }
        );
        let mention = event(c.read("@keel list overdue"));
        assert_eq!(
            mention.kind,
            InboundKind::Message {
                text: "list overdue".into(),
                to_keel: true
            }
        );
        let slash = event(c.read("/keel take #3"));
        assert_eq!(slash.kind, InboundKind::Command { text: "take #3".into() });
        assert_ne!(plain.event_id, mention.event_id);
    }

    #[test]
    fn direct_lines_are_for_keel() {
        let mut c = console(None);
        let e = event(c.read("help"));
        assert!(e.conversation.direct);
        assert_eq!(
            e.kind,
            InboundKind::Message {
                text: "help".into(),
                to_keel: true
            }
        );
    }

    #[test]
    fn as_and_join_switch_speaker_and_place() {
        let mut c = console(None);
        assert_eq!(c.read("/as bob --client Acme"), Line::Local(String::new()));
        assert_eq!(c.read("/join #acme"), Line::Local(String::new()));
        assert_eq!(c.prompt(), "#acme bob (acme)> ");
        let e = event(c.read("hello, the export fails"));
        assert!(e.speaker.external);
        assert_eq!(e.speaker.client_hint.as_deref(), Some("acme"));
        assert!(matches!(c.read("/as"), Line::Local(n) if n.starts_with("usage")));
        assert!(matches!(c.read("/frobnicate"), Line::Local(n) if n.starts_with("unknown console command")));
        assert_eq!(c.read("/quit"), Line::Quit);
    }

    #[test]
    fn react_targets_the_last_message_here() {
        let mut c = console(Some("acme"));
        assert!(matches!(c.read("/react 🎫"), Line::Local(_)));
        let msg = event(c.read("the export is broken"));
        let reaction = event(c.read("/react 🎫"));
        match reaction.kind {
            InboundKind::Reaction {
                message_id,
                message_text,
                ..
            } => {
                assert_eq!(message_id, msg.message_id);
                assert_eq!(message_text.as_deref(), Some("the export is broken"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn output_shows_place_and_indents_lines() {
        assert_eq!(render("#acme", "a\nb"), "[#acme] keel: a\n    b");
        assert_eq!(sanitize_file_name("../etc/passwd"), "_etc_passwd");
    }
}
