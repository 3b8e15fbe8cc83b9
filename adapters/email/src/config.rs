//! What the email adapter is told: where the mailbox and the SMTP server are, how to log in, and
//! what keel's own address is. The core fills [`EmailConfig`] from its configuration;
//! [`Endpoint::imap`] and [`Endpoint::smtp`] check the two URLs once, at start-up, so a mistake is
//! one line then rather than a loop of failed connections later.

use std::path::PathBuf;

use secrecy::SecretString;

/// The mailbox keel reads when the configuration names none.
pub const DEFAULT_MAILBOX: &str = "INBOX";

/// How often the mailbox is searched when the server has no IDLE, when the configuration says
/// nothing.
pub const DEFAULT_POLL_SECONDS: u64 = 60;

/// The email adapter's settings: a plain struct, filled by the core.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// `imaps://host:993` (implicit TLS) or `imap://host:143` (STARTTLS, required).
    pub imap_url: url::Url,
    /// `smtps://host:465` (implicit TLS) or `smtp://host:587` (STARTTLS, required).
    pub smtp_url: url::Url,
    /// The login, for IMAP and SMTP alike.
    pub user: String,
    pub password: SecretString,
    /// The folder keel reads (`INBOX` when empty).
    pub mailbox: String,
    /// keel's own address and display name: the From of every mail it sends, and how its own
    /// mail is recognised when it comes back.
    pub from: keel_chat::Address,
    /// Domains whose senders are the team, not clients.
    pub team_domains: Vec<String>,
    /// Move handled mail here instead of flagging it `\Seen` (created when missing).
    pub done_folder: Option<String>,
    /// Extra trusted CA certificates (PEM), for a server with a private CA. The webpki roots are
    /// trusted too; an untrusted certificate is never accepted.
    pub ca_file: Option<PathBuf>,
    /// A small JSON file `{"uidvalidity":…,"last_uid":…}`: where reading the mailbox left off.
    pub state_path: PathBuf,
    /// Seconds between searches when the server has no IDLE.
    pub poll_seconds: u64,
}

/// How a connection is secured: TLS from the first byte, or plain text upgraded by STARTTLS
/// (required: the adapter never goes on in plain text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Implicit,
    StartTls,
}

/// A checked server address: host (also the TLS server name), port and how it is secured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub security: Security,
}

impl Endpoint {
    /// The IMAP server of an `imaps://` or `imap://` URL (ports 993 and 143 by default).
    pub fn imap(url: &url::Url) -> anyhow::Result<Endpoint> {
        Endpoint::parse(
            "imap_url",
            url,
            &[("imaps", 993, Security::Implicit), ("imap", 143, Security::StartTls)],
        )
    }

    /// The SMTP server of an `smtps://` or `smtp://` URL (ports 465 and 587 by default).
    pub fn smtp(url: &url::Url) -> anyhow::Result<Endpoint> {
        Endpoint::parse(
            "smtp_url",
            url,
            &[("smtps", 465, Security::Implicit), ("smtp", 587, Security::StartTls)],
        )
    }

    fn parse(what: &str, url: &url::Url, schemes: &[(&str, u16, Security)]) -> anyhow::Result<Endpoint> {
        let Some(&(_, default_port, security)) = schemes.iter().find(|(s, _, _)| *s == url.scheme()) else {
            let allowed: Vec<String> = schemes.iter().map(|(s, _, _)| format!("{s}://")).collect();
            anyhow::bail!("{what} {url} must start with {}", allowed.join(" or "));
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => anyhow::bail!("{what} {url} names no host"),
        };
        if !url.username().is_empty() || url.password().is_some() {
            anyhow::bail!("{what} must not hold a login: set the user and password on their own");
        }
        Ok(Endpoint {
            host,
            port: url.port().unwrap_or(default_port),
            security,
        })
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl EmailConfig {
    /// The folder to read: the configured one, or `INBOX`.
    pub fn mailbox_name(&self) -> &str {
        match self.mailbox.trim() {
            "" => DEFAULT_MAILBOX,
            name => name,
        }
    }

    /// Checks what can be checked without a network: the URLs, the login, keel's address.
    pub(crate) fn check(&self) -> anyhow::Result<(Endpoint, Endpoint)> {
        let imap = Endpoint::imap(&self.imap_url)?;
        let smtp = Endpoint::smtp(&self.smtp_url)?;
        if self.user.trim().is_empty() {
            anyhow::bail!("the email user is empty");
        }
        let email = self.from.email.trim();
        if email.is_empty() || !email.contains('@') || email.contains(char::is_whitespace) {
            anyhow::bail!("keel's email address {:?} is not an address", self.from.email);
        }
        if self.poll_seconds == 0 {
            anyhow::bail!("poll_seconds must be at least 1");
        }
        if self.done_folder.as_deref().is_some_and(|f| f.trim().is_empty()) {
            anyhow::bail!("done_folder is empty: leave it out to flag handled mail as seen");
        }
        Ok((imap, smtp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn imap_urls_give_host_port_and_security() {
        let e = Endpoint::imap(&url("imaps://mail.example.com")).unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.security),
            ("mail.example.com", 993, Security::Implicit)
        );
        let e = Endpoint::imap(&url("imap://127.0.0.1:1143")).unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.security),
            ("127.0.0.1", 1143, Security::StartTls)
        );
        assert_eq!(e.to_string(), "127.0.0.1:1143");
    }

    #[test]
    fn smtp_urls_default_to_465_and_587() {
        assert_eq!(Endpoint::smtp(&url("smtps://m.example.com")).unwrap().port, 465);
        let e = Endpoint::smtp(&url("smtp://m.example.com")).unwrap();
        assert_eq!((e.port, e.security), (587, Security::StartTls));
    }

    #[test]
    fn a_wrong_scheme_or_no_host_is_one_line() {
        let e = Endpoint::imap(&url("https://mail.example.com"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "imap_url https://mail.example.com/ must start with imaps:// or imap://"
        );
        let e = Endpoint::smtp(&url("imaps://mail.example.com"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("smtps:// or smtp://"), "{e}");
        let e = Endpoint::imap(&url("imap:///INBOX")).unwrap_err().to_string();
        assert!(e.ends_with("names no host"), "{e}");
        let e = Endpoint::smtp(&url("smtp://kim:pw@m.example.com"))
            .unwrap_err()
            .to_string();
        assert!(!e.contains("pw"), "{e}");
    }
}
