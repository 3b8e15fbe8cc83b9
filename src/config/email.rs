//! `[email]`: keel's mailbox. The password comes from `KEEL_EMAIL__PASSWORD` only and is never
//! logged or printed.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// keel's mailbox: where client mail is read (IMAP) and answers are sent from (SMTP).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailSettings {
    /// `imaps://imap.example.com:993` (TLS) or `imap://imap.example.com:143` (STARTTLS).
    pub imap_url: String,
    /// `smtps://smtp.example.com:465` (TLS) or `smtp://smtp.example.com:587` (STARTTLS).
    pub smtp_url: String,
    /// The login, for IMAP and SMTP alike (often the address).
    pub user: String,
    #[serde(skip_serializing)]
    pub password: Option<SecretString>,
    /// The folder read (default `INBOX`).
    pub mailbox: String,
    /// keel's address, which clients write to and answers come from.
    pub from: String,
    /// The name shown with it (`Acme Support`).
    pub from_name: String,
    /// Mail from these domains is the team's, never a client request.
    pub team_domains: Vec<String>,
    /// Where new mail requests are announced, and the team answers them: a channel of
    /// `notify_adapter` (default: slack when `[slack]` is set, else matrix, else console).
    pub notify_channel: String,
    pub notify_adapter: Option<String>,
    /// Handled mail is moved here; without it, handled mail is flagged as read.
    pub done_folder: Option<String>,
    /// A CA certificate (PEM) to trust besides the public ones, for a server with a private CA.
    pub ca_file: Option<String>,
    /// Where keel keeps the mailbox's UIDVALIDITY and the last UID it handled.
    pub state_path: String,
    /// How often to look for new mail when the server has no IMAP IDLE.
    pub poll_seconds: u64,
    /// Whether a client gets an acknowledgement of a new request by mail (per client:
    /// `[clients.<key>] acknowledge_mail = false`).
    pub acknowledge: bool,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            imap_url: String::new(),
            smtp_url: String::new(),
            user: String::new(),
            password: None,
            mailbox: "INBOX".into(),
            from: String::new(),
            from_name: String::new(),
            team_domains: Vec::new(),
            notify_channel: String::new(),
            notify_adapter: None,
            done_folder: None,
            ca_file: None,
            state_path: "keel-email.json".into(),
            poll_seconds: 60,
            acknowledge: true,
        }
    }
}

impl EmailSettings {
    /// What is missing or malformed, one line each.
    pub(super) fn problems(&self, out: &mut Vec<String>) {
        let url =
            |key: &str, value: &str, schemes: [&str; 2], example: &str, out: &mut Vec<String>| match url::Url::parse(
                value,
            ) {
                Ok(u) if schemes.contains(&u.scheme()) && u.host_str().is_some() => {}
                _ if value.trim().is_empty() => out.push(format!("email.{key}: missing (e.g. {example})")),
                _ => out.push(format!(
                    "email.{key}: \"{}\" is not a URL like {example}",
                    crate::domain::truncate(value, 60)
                )),
            };
        url(
            "imap_url",
            &self.imap_url,
            ["imaps", "imap"],
            "imaps://imap.example.com:993",
            out,
        );
        url(
            "smtp_url",
            &self.smtp_url,
            ["smtps", "smtp"],
            "smtps://smtp.example.com:465",
            out,
        );
        if self.user.trim().is_empty() {
            out.push("email.user: missing (the mailbox's login, often its address)".into());
        }
        if self.password.is_none() {
            out.push(
                "email.password: missing (set KEEL_EMAIL__PASSWORD; an app password for Gmail or Microsoft 365)".into(),
            );
        }
        if !is_address(&self.from) {
            out.push("email.from: missing or not an address like support@example.com".into());
        }
        if self.team_domains.is_empty() {
            out.push("email.team_domains: missing (the team's mail domains; everyone else is a client)".into());
        }
        if self.notify_channel.trim().is_empty() {
            out.push("email.notify_channel: missing (the channel where the team sees and answers mail)".into());
        }
        if let Some(adapter) = &self.notify_adapter {
            if !matches!(adapter.as_str(), "slack" | "matrix" | "console") {
                out.push(format!(
                    "email.notify_adapter: \"{}\" is not slack, matrix or console",
                    crate::domain::truncate(adapter, 40)
                ));
            }
        }
        if !(5..=3600).contains(&self.poll_seconds) {
            out.push("email.poll_seconds: must be between 5 and 3600".into());
        }
    }

    /// keel's address, lowercase.
    pub fn address(&self) -> String {
        self.from.trim().to_lowercase()
    }

    /// The team's domains, lowercase and without `@`.
    pub fn domains(&self) -> Vec<String> {
        self.team_domains
            .iter()
            .map(|d| d.trim().trim_start_matches('@').to_lowercase())
            .filter(|d| !d.is_empty())
            .collect()
    }
}

/// True for `local@domain.tld`, roughly: one `@`, both sides non-empty, no spaces.
pub fn is_address(text: &str) -> bool {
    let text = text.trim();
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !domain.contains('@') && !text.contains(char::is_whitespace)
        }
        None => false,
    }
}
