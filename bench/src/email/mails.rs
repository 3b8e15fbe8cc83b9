//! The mail of `keel-bench email`: the client mails it sends, the throwaway servers it sends
//! them through (`scripts/mail`), and sending them.

use super::*;

/// The senders' first and last names: 10 × 20 people, 200 distinct addresses.
const FIRST: [&str; 10] = [
    "ana", "tom", "mei", "omar", "lena", "raj", "sofia", "jan", "kwame", "ines",
];
const LAST: [&str; 20] = [
    "ruiz", "becker", "chen", "haddad", "novak", "patel", "rossi", "visser", "mensah", "silva", "kowalski", "tanaka",
    "dubois", "olsen", "garcia", "murphy", "schmidt", "nguyen", "ivanova", "okafor",
];

/// Subjects and texts of client requests, each with a due date phrase.
const REQUESTS: [(&str, &str); 8] = [
    (
        "Invoice export broken again",
        "The invoice export fails again since this morning. We need it fixed by Friday please, our accountant is waiting on it.",
    ),
    (
        "Two new users for our account",
        "Could you add two new users to our account by Friday? Their names are below.\n\n- Ana Ruiz\n- Tom Becker",
    ),
    (
        "Dashboard shows yesterday's numbers",
        "Our dashboard still shows yesterday's numbers. Is the sync stuck? We present them to the board tomorrow.",
    ),
    (
        "New billing address",
        "Please update the billing address to our new office in 3 days: 12 Harbour Street, Leith.",
    ),
    (
        "Checkout failing for every customer",
        "Urgent: checkout fails for every customer since 10am. Please look at it today.",
    ),
    (
        "Quarterly report",
        "Could you send the quarterly report before 2026-12-15? The finance team needs it for the audit.",
    ),
    (
        "API returns 500 on /orders",
        "The API returns 500 on /orders when the filter is empty. Can you have a fix by Monday?",
    ),
    (
        "Training session for the new team",
        "We would like a training session for the new team next week, any afternoon works.",
    ),
];

/// One client mail: envelope sender, Message-ID (without brackets) and the raw message.
#[derive(Clone)]
pub(super) struct Outgoing {
    pub(super) from: String,
    pub(super) id: String,
    pub(super) raw: String,
}

/// The `i`-th client mail of the run, tagged with its phase in the Message-ID.
pub(super) fn client_mail(i: usize, phase: &str) -> Outgoing {
    let p = i % SENDERS;
    let (first, last) = (FIRST[p % FIRST.len()], LAST[(p / FIRST.len()) % LAST.len()]);
    let from = format!("{first}.{last}@client{}.example", p % DOMAINS);
    let name = format!("{} {}", capitalised(first), capitalised(last));
    let id = format!("{ID_PREFIX}{phase}-{i:06}@mail.gmail.com");
    let (subject, text) = REQUESTS[i % REQUESTS.len()];
    let text = format!(
        "Hi team,\n\n{text}\n\nThanks,\n{name}\n-- \n{name} | Client {}",
        p % DOMAINS
    );
    let html: String = text
        .split("\n\n")
        .map(|part| format!("<div dir=\"ltr\">{}</div>", part.replace('\n', "<br>")))
        .collect();
    let boundary = format!("000000000000{i:08x}");
    let raw = format!(
        "MIME-Version: 1.0\r\nDate: {date}\r\nMessage-ID: <{id}>\r\nSubject: {subject} (ref {i})\r\n\
         From: {name} <{from}>\r\nTo: Keel Support <{KEEL}>\r\n\
         Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\n{plain}\r\n\r\n\
         --{boundary}\r\nContent-Type: text/html; charset=\"UTF-8\"\r\n\r\n{html}\r\n\r\n--{boundary}--\r\n",
        date = chrono::Utc::now().to_rfc2822(),
        plain = text.replace('\n', "\r\n"),
    );
    Outgoing { from, id, raw }
}

/// `ana` → `Ana`, for display names.
pub(super) fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Throwaway Dovecot and SMTP servers (`scripts/mail start`), stopped when dropped, so also when
/// the run fails.
pub(super) struct Servers {
    pub(super) dir: tempfile::TempDir,
    pub(super) imaps: u16,
    pub(super) smtp: u16,
    pub(super) ca: PathBuf,
    pub(super) password: String,
}

/// `scripts/mail`, found from this crate so the bench runs from any directory.
pub(super) fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/mail")
}

impl Servers {
    /// Starts the servers in a fresh short folder under /tmp and reads their ports.
    pub(super) fn start() -> anyhow::Result<Servers> {
        // Dovecot's sockets live in the folder, whose path may be at most 70 characters.
        let dir = tempfile::Builder::new().prefix("keel-bench-mail").tempdir_in("/tmp")?;
        let out = Command::new(script()).arg("start").arg(dir.path()).output()?;
        anyhow::ensure!(
            out.status.success(),
            "scripts/mail start failed (did `scripts/mail install` run?): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().last().unwrap_or_default();
        let ports: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("scripts/mail start printed {line:?}"))?;
        let port = |key: &str| {
            ports[key]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .with_context(|| format!("no {key} port in {line}"))
        };
        let text = |key: &str| {
            ports[key]
                .as_str()
                .map(str::to_string)
                .with_context(|| format!("no {key} in {line}"))
        };
        Ok(Servers {
            imaps: port("imaps")?,
            smtp: port("smtp")?,
            ca: PathBuf::from(text("ca")?),
            password: text("password")?,
            dir,
        })
    }

    /// keel's Maildir, where the SMTP server delivers mail to support@keel.test.
    pub(super) fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail").join(USER)
    }

    /// The SMTP server's record of what it accepted: Message-ID → `accepted_at` (unix seconds).
    pub(super) fn accepted(&self) -> anyhow::Result<HashMap<String, f64>> {
        let mut times = HashMap::new();
        for entry in std::fs::read_dir(self.dir.path().join("sent"))? {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
            let raw = std::fs::read_to_string(path.with_extension("eml"))?;
            if let (Some(id), Some(at)) = (header_id(&raw), meta["accepted_at"].as_f64()) {
                times.insert(id, at);
            }
        }
        Ok(times)
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("stop").arg(self.dir.path()).status();
    }
}

/// The Message-ID of a raw mail, without its brackets.
pub(super) fn header_id(raw: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next()?;
    let line = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))?;
    let value = line.split_once(':')?.1.trim();
    Some(value.trim_start_matches('<').trim_end_matches('>').to_string())
}

/// The clients' SMTP connection pool.
pub(super) type Smtp = AsyncSmtpTransport<Tokio1Executor>;

/// A client's mail program: plain SMTP to the test server, a few pooled connections.
pub(super) fn smtp(port: u16) -> Smtp {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .pool_config(PoolConfig::new().max_size(8))
        .build()
}

/// Hands one mail to the SMTP server, to keel's address; returns once the server accepted it.
pub(super) async fn send(smtp: &Smtp, mail: &Outgoing) -> anyhow::Result<()> {
    let envelope = Envelope::new(Some(mail.from.parse()?), vec![KEEL.parse()?])?;
    smtp.send_raw(&envelope, mail.raw.as_bytes())
        .await
        .with_context(|| format!("sending {}", mail.id))?;
    Ok(())
}

/// Sends the mails, 8 at a time, and waits until the Maildir holds `total` mails.
pub(super) async fn fill(servers: &Servers, smtp: &Smtp, mails: &[Outgoing], total: usize) -> anyhow::Result<()> {
    futures::stream::iter(mails)
        .map(|mail| send(smtp, mail))
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
    let started = Instant::now();
    loop {
        let count = ["new", "cur"]
            .iter()
            .map(|sub| std::fs::read_dir(servers.maildir().join(sub)).map_or(0, |d| d.count()))
            .sum::<usize>();
        if count >= total {
            return Ok(());
        }
        anyhow::ensure!(started.elapsed() < PATIENCE, "{count} of {total} mails delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
