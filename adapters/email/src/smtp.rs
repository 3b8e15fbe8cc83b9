//! Sending keel's mail over SMTP with lettre: TLS from the first byte (`smtps`) or STARTTLS,
//! required (`smtp`), the same trusted roots as IMAP, a pool of connections, and every header the
//! core decided (Message-ID, In-Reply-To, References) written as it asked. Failures are sorted the
//! way the outbox needs: wait and retry, count and retry, or give up.

use std::sync::OnceLock;
use std::time::Duration;

use keel_chat::{Address, OutboundMail, SendError, Sent};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::{EmailConfig, Endpoint, Security};

/// How long one SMTP connection or command may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections kept open to the SMTP server: as many as the dispatcher sends at once.
const POOL_SIZE: u32 = 4;

/// SMTP reply codes that say keel's login was refused: the configuration is wrong, not the mail.
const AUTH_REFUSED: [u16; 4] = [530, 534, 535, 538];

/// Sends mail through the configured SMTP server.
pub(crate) struct Smtp {
    /// Everything the transport needs, checked when the adapter is made.
    builder: lettre::transport::smtp::AsyncSmtpTransportBuilder,
    /// The transport, made at the first send: its pool starts a task, which needs the runtime.
    transport: OnceLock<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
}

impl Smtp {
    /// Checks the TLS settings and keel's address, ready to send.
    pub(crate) fn new(config: &EmailConfig, endpoint: &Endpoint) -> anyhow::Result<Smtp> {
        let mut tls = TlsParameters::builder(endpoint.host.clone()).certificate_store(CertificateStore::WebpkiRoots);
        if let Some(path) = &config.ca_file {
            let pem =
                std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read the CA file {}: {e}", path.display()))?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| anyhow::anyhow!("the CA file {} holds no usable certificate: {e}", path.display()))?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls
            .build_rustls()
            .map_err(|e| anyhow::anyhow!("SMTP TLS set-up: {e}"))?;
        let tls = match endpoint.security {
            Security::Implicit => Tls::Wrapper(tls),
            Security::StartTls => Tls::Required(tls),
        };
        let credentials = Credentials::new(config.user.clone(), config.password.expose_secret().to_string());
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(endpoint.host.clone())
            .port(endpoint.port)
            .tls(tls)
            .credentials(credentials)
            .timeout(Some(SMTP_TIMEOUT))
            .pool_config(PoolConfig::new().max_size(POOL_SIZE));
        let from = mailbox(&config.from).map_err(|e| anyhow::anyhow!("keel's email address: {e}"))?;
        Ok(Smtp {
            builder,
            transport: OnceLock::new(),
            from,
        })
    }

    /// Sends one mail; its Message-ID is the core's, so the answer names it.
    pub(crate) async fn send(&self, mail: &OutboundMail) -> Result<Sent, SendError> {
        let message = message(&self.from, mail)?;
        let transport = self.transport.get_or_init(|| self.builder.clone().build());
        match transport.send(message).await {
            Ok(_) => {
                metrics::counter!("keel_mail_sent_total").increment(1);
                Ok(Sent {
                    message_id: Some(mail.message_id.clone()),
                })
            }
            Err(e) => Err(classify(&e)),
        }
    }
}

/// The mail as the core asked for it: its headers, and the text as UTF-8 plain text.
fn message(from: &Mailbox, mail: &OutboundMail) -> Result<Message, SendError> {
    if mail.to.is_empty() {
        return Err(SendError::Rejected("a mail needs at least one recipient".into()));
    }
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(mail.subject.as_str())
        .message_id(Some(angle(&mail.message_id)?))
        .date_now();
    for to in &mail.to {
        builder = builder.to(mailbox(to).map_err(SendError::Rejected)?);
    }
    for cc in &mail.cc {
        builder = builder.cc(mailbox(cc).map_err(SendError::Rejected)?);
    }
    // keel's own copy, delivered with the mail or not at all: after a crash it tells whether
    // the server took the mail (`find_sent`). Bcc is not written into the mail's headers.
    builder = builder.bcc(from.clone());
    if let Some(id) = &mail.in_reply_to {
        builder = builder.in_reply_to(angle(id)?);
    }
    if !mail.references.is_empty() {
        let ids = mail
            .references
            .iter()
            .map(|id| angle(id))
            .collect::<Result<Vec<_>, _>>()?;
        builder = builder.references(ids.join(" "));
    }
    if mail.automatic {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ));
    }
    // Asks Exchange and others not to answer with out-of-office and similar mail.
    builder = builder.raw_header(HeaderValue::new(
        HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
        "All".into(),
    ));
    builder
        .header(ContentType::TEXT_PLAIN)
        .body(mail.text.clone())
        .map_err(|e| SendError::Rejected(format!("cannot build the mail: {e}")))
}

/// A message id in angle brackets; one with spaces, brackets or control characters in it would
/// break the header, so it is refused.
fn angle(id: &str) -> Result<String, SendError> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    if id.is_empty()
        || id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
    {
        return Err(SendError::Rejected(format!("{id:?} is not a message id")));
    }
    Ok(format!("<{id}>"))
}

/// A lettre mailbox from a keel address; a bad address is a one-line error.
fn mailbox(address: &Address) -> Result<Mailbox, String> {
    let email = address
        .email
        .trim()
        .parse::<lettre::Address>()
        .map_err(|e| format!("{:?} is not an email address: {e}", address.email))?;
    let name = Some(address.name.trim().to_string()).filter(|n| !n.is_empty());
    Ok(Mailbox::new(name, email))
}

/// How the outbox should take a failed send: a 4xx reply may pass (counted); a 5xx reply refuses
/// the mail for good; a refused login waits, uncounted, for the configuration to be fixed, as
/// does a server that cannot be reached, times out or fails TLS.
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let line = format!("SMTP: {e}").split_whitespace().collect::<Vec<_>>().join(" ");
    let code = e.status().map(u16::from);
    if code.is_some_and(|c| AUTH_REFUSED.contains(&c)) {
        SendError::Unreachable(line)
    } else if e.is_transient() {
        SendError::Transient(line)
    } else if e.is_permanent() {
        SendError::Rejected(line)
    } else if e.is_response() || e.is_client() {
        SendError::Transient(line)
    } else {
        SendError::Unreachable(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbound() -> OutboundMail {
        OutboundMail {
            to: vec![Address {
                email: "kim@client.example".into(),
                name: "Kim Ito".into(),
            }],
            cc: vec![Address {
                email: "lea@client.example".into(),
                name: String::new(),
            }],
            subject: "Re: Läuft nicht".into(),
            text: "Hello Kim,\nwe are on it.\n".into(),
            message_id: "keel.task-12.3@keel.test".into(),
            in_reply_to: Some("abc@client.example".into()),
            references: vec!["root@client.example".into(), "abc@client.example".into()],
            automatic: true,
        }
    }

    #[test]
    fn a_mail_carries_the_headers_the_core_decided() {
        let from = mailbox(&Address {
            email: "support@keel.test".into(),
            name: "Keel Support".into(),
        })
        .unwrap();
        let raw = String::from_utf8(message(&from, &outbound()).unwrap().formatted()).unwrap();
        for header in [
            "Message-ID: <keel.task-12.3@keel.test>",
            "In-Reply-To: <abc@client.example>",
            "References: <root@client.example> <abc@client.example>",
            "Auto-Submitted: auto-generated",
            "X-Auto-Response-Suppress: All",
            "To: \"Kim Ito\" <kim@client.example>",
            "Cc: lea@client.example",
            "From: \"Keel Support\" <support@keel.test>",
            "Content-Type: text/plain; charset=utf-8",
        ] {
            assert!(raw.contains(header), "{header} missing from\n{raw}");
        }
        assert!(raw.contains("Date: "), "{raw}");
    }

    #[test]
    fn bad_addresses_and_ids_are_rejected() {
        let from = mailbox(&Address {
            email: "support@keel.test".into(),
            name: String::new(),
        })
        .unwrap();
        let mut mail = outbound();
        mail.to[0].email = "not an address".into();
        assert!(matches!(message(&from, &mail), Err(SendError::Rejected(_))));
        let mut mail = outbound();
        mail.in_reply_to = Some("a b@c\r\nBcc: x@y".into());
        assert!(matches!(message(&from, &mail), Err(SendError::Rejected(_))));
        let mut mail = outbound();
        mail.to.clear();
        assert!(matches!(message(&from, &mail), Err(SendError::Rejected(_))));
        let mut mail = outbound();
        mail.automatic = false;
        let raw = String::from_utf8(message(&from, &mail).unwrap().formatted()).unwrap();
        assert!(!raw.contains("Auto-Submitted"), "{raw}");
    }
}
