//! Mail end to end, on both backends: `keel run` reading a real Dovecot over IMAPS (IDLE) and
//! sending through a real SMTP server (STARTTLS), both from `scripts/mail` with a test CA, and a
//! team on the fake Slack. Clients write as Gmail, Outlook and their autoresponders do, through
//! SMTP; what keel sends is read back as the SMTP server received it.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keel_fake_slack::FakeSlack;

const TOKEN: &str = "xoxb-test-token";
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const FAST_RETRIES: [Duration; 3] = [
    Duration::from_millis(200),
    Duration::from_millis(500),
    Duration::from_secs(1),
];
const CHANNELS: &[(&str, &str)] = &[("C0OPS", "ops"), ("C0MAIL", "support-mail")];
const USERS: &[(&str, &str, &str, &str)] = &[
    ("ULEA", "lea", "TTEAM", "Europe/Berlin"),
    ("UMAX", "max", "TTEAM", "Europe/Berlin"),
];

/// A throwaway Dovecot and SMTP server (`scripts/mail start`), stopped when dropped.
struct MailServers {
    dir: tempfile::TempDir,
    imaps: u16,
    smtp: u16,
    ca: PathBuf,
}

impl MailServers {
    fn start() -> MailServers {
        let dir = tempfile::tempdir().expect("dir");
        let out = Command::new(script())
            .arg("start")
            .arg(dir.path())
            .stderr(Stdio::inherit())
            .output()
            .expect("scripts/mail runs");
        assert!(
            out.status.success(),
            "scripts/mail start failed (run scripts/mail install first): {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let ports: serde_json::Value = serde_json::from_slice(&out.stdout).expect("scripts/mail prints JSON");
        let port = |key: &str| ports[key].as_u64().unwrap_or_else(|| panic!("no {key} in {ports}")) as u16;
        MailServers {
            imaps: port("imaps"),
            smtp: port("smtp"),
            ca: PathBuf::from(ports["ca"].as_str().expect("ca")),
            dir,
        }
    }

    fn restart_imap(&self) {
        let status = Command::new(script())
            .arg("restart-imap")
            .arg(self.dir.path())
            .status()
            .expect("scripts/mail runs");
        assert!(status.success(), "restart-imap failed");
    }

    /// Sends raw messages (each `(from, to, bytes)`) over SMTP as a mail client does, in one
    /// connection, `per_second` at most (0: as fast as it goes).
    fn send(&self, mails: &[(String, Vec<String>, String)], per_second: u32) {
        send_mail(self.smtp, mails, per_second);
    }

    /// What the SMTP server accepted that keel sent (from `support@keel.test`), in order.
    fn sent_by_keel(&self) -> Vec<Received> {
        let dir = self.dir.path().join("sent");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "json"));
        files.sort_by_key(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(u64::MAX)
        });
        files
            .iter()
            .filter_map(|json| {
                let envelope: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(json).ok()?).ok()?;
                if envelope["mail_from"] != "support@keel.test" {
                    return None;
                }
                let raw = std::fs::read_to_string(json.with_extension("eml")).ok()?;
                Some(Received::parse(&raw, &envelope))
            })
            .collect()
    }

    /// Waits until keel has sent `n` mails and returns them.
    fn wait_sent(&self, n: usize, run: &support::KeelRun) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let sent = self.sent_by_keel();
            if sent.len() >= n {
                return sent;
            }
            assert!(
                Instant::now() < deadline,
                "keel sent {} of {n} mails: {sent:#?}\nkeel's log:\n{}",
                sent.len(),
                run.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for MailServers {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("stop").arg(self.dir.path()).status();
    }
}

/// Sends raw messages over SMTP to `port` with Python's smtplib, as a mail client does.
fn send_mail(port: u16, mails: &[(String, Vec<String>, String)], per_second: u32) {
    let mails: Vec<(String, Vec<String>, Vec<u8>)> = mails
        .iter()
        .map(|(f, t, raw)| (f.clone(), t.clone(), raw.clone().into_bytes()))
        .collect();
    send_bytes(port, &mails, per_second);
}

/// [`send_mail`] of raw bytes.
fn send_bytes(port: u16, mails: &[(String, Vec<String>, Vec<u8>)], per_second: u32) {
    let batch: Vec<serde_json::Value> = mails
        .iter()
        .map(|(from, to, raw)| serde_json::json!({"from": from, "to": to, "raw": latin1(raw)}))
        .collect();
    let program = r#"
import json, smtplib, sys, time
mails = json.load(sys.stdin)
pace = float(sys.argv[2])
start = time.time()
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30) as s:
    for i, m in enumerate(mails):
        if pace > 0:
            time.sleep(max(0.0, start + i / pace - time.time()))
        s.sendmail(m["from"], m["to"], m["raw"].encode("latin-1"))
"#;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(program)
        .arg(port.to_string())
        .arg(per_second.to_string())
        .stdin(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(serde_json::Value::Array(batch).to_string().as_bytes())
        .expect("write");
    assert!(child.wait().expect("python3 ends").success(), "sending mail failed");
}

/// Bytes as the characters U+0000 … U+00FF, which Python turns back into the same bytes: mail is
/// sent byte for byte, 8-bit and non-UTF-8 as written.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|b| char::from(*b)).collect()
}

/// A fixture mail of the adapter's tests, as its client wrote it, byte for byte.
fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("adapters/email/tests/mails")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mail")
}

/// A mail as the SMTP server received it: its headers (unfolded, names lowercase) and body.
#[derive(Debug, Clone)]
struct Received {
    headers: BTreeMap<String, String>,
    body: String,
    rcpt: Vec<String>,
    accepted_at: f64,
}

impl Received {
    fn parse(raw: &str, envelope: &serde_json::Value) -> Received {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
        let mut headers = BTreeMap::new();
        let mut last: Option<String> = None;
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some(name) = &last {
                    let value: &mut String = headers.entry(name.clone()).or_default();
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            if let Some((name, value)) = line.split_once(':') {
                let name = name.trim().to_lowercase();
                headers.entry(name.clone()).or_insert_with(|| value.trim().to_string());
                last = Some(name);
            }
        }
        // keel's own copy (Bcc) is left out: it is keel's record, not a recipient.
        let rcpt = envelope["rcpt_tos"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .filter(|r| r != "support@keel.test")
                    .collect()
            })
            .unwrap_or_default();
        Received {
            headers,
            body: body.to_string(),
            rcpt,
            accepted_at: envelope["accepted_at"].as_f64().unwrap_or_default(),
        }
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
}

/// A new mail as Gmail writes it: multipart/alternative, text and HTML.
fn gmail(from: (&str, &str), subject: &str, text: &str, id: &str, thread: &[&str]) -> String {
    let html: String = text
        .split("\n\n")
        .map(|p| format!("<div dir=\"ltr\">{}</div>", p.replace('\n', "<br>")))
        .collect();
    let mut headers = format!(
        "MIME-Version: 1.0\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{id}>\r\n\
         Subject: {subject}\r\nFrom: {} <{}>\r\nTo: Keel Support <support@keel.test>\r\n",
        from.0, from.1
    );
    if let Some(parent) = thread.last() {
        let refs: Vec<String> = thread.iter().map(|r| format!("<{r}>")).collect();
        headers.push_str(&format!(
            "In-Reply-To: <{parent}>\r\nReferences: {}\r\n",
            refs.join(" ")
        ));
    }
    format!(
        "{headers}Content-Type: multipart/alternative; boundary=\"000000000000b1e2\"\r\n\r\n\
         --000000000000b1e2\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\n{}\r\n\r\n\
         --000000000000b1e2\r\nContent-Type: text/html; charset=\"UTF-8\"\r\n\r\n{html}\r\n\r\n\
         --000000000000b1e2--\r\n",
        text.replace('\n', "\r\n")
    )
}

/// `keel run` with the team on the fake Slack (Events API) and keel's mailbox on the servers.
fn keel_run(db: &support::TestDb, fake: &FakeSlack, mail: &MailServers) -> support::KeelRun {
    let config = format!(
        "database_url = \"{}\"\n[log]\nlevel = \"info\"\n[team]\ntimezone = \"UTC\"\n[http]\nlisten = \"{{listen}}\"\n\
         [slack]\nmode = \"events\"\napi_url = \"{}\"\n\
         [email]\nimap_url = \"imaps://127.0.0.1:{}\"\nsmtp_url = \"smtp://127.0.0.1:{}\"\n\
         user = \"support\"\nfrom = \"support@keel.test\"\nfrom_name = \"Keel Support\"\n\
         team_domains = [\"keel.test\"]\nnotify_channel = \"C0MAIL\"\nnotify_adapter = \"slack\"\n\
         ca_file = \"{}\"\nstate_path = \"mailbox.json\"\n",
        db.url,
        fake.api_url,
        mail.imaps,
        mail.smtp,
        mail.ca.display()
    );
    support::KeelRun::start(
        &config,
        &[
            ("KEEL_SLACK__BOT_TOKEN", TOKEN),
            ("KEEL_SLACK__SIGNING_SECRET", SECRET),
            ("KEEL_EMAIL__PASSWORD", "keel-secret"),
        ],
    )
}

static TRIGGERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// `/keel <text>` from lea in #ops.
async fn slash(run: &support::KeelRun, text: &str) {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("command", "/keel")
        .append_pair("text", text)
        .append_pair("user_id", "ULEA")
        .append_pair("channel_id", "C0OPS")
        .append_pair("channel_name", "ops")
        .append_pair("team_id", "TTEAM")
        .append_pair(
            "trigger_id",
            &format!("T{}", TRIGGERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
        )
        .append_pair("response_url", "http://127.0.0.1:9/none")
        .finish();
    let answer = keel_fake_slack::send_signed(
        &format!("http://{}/slack/commands", run.http),
        SECRET,
        "application/x-www-form-urlencoded",
        form.as_bytes(),
        None,
        &[],
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
}

/// Waits for keel's post that satisfies `want`.
async fn keel_post_where(
    fake: &FakeSlack,
    run: &support::KeelRun,
    db: &support::TestDb,
    want: impl Fn(&keel_fake_slack::Post) -> bool,
) -> keel_fake_slack::Post {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(post) = fake.keel_posts().into_iter().find(&want) {
            return post;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "keel posted only {:#?}\noutbox: {}\nkeel's log:\n{}",
            fake.keel_posts(),
            String::from_utf8_lossy(&support::keel(&["outbox", "list", "--failed", "--db", &db.url], "").stdout),
            run.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `keel tasks list` shows `n` tasks, and returns them.
fn wait_tasks(db: &support::TestDb, n: usize, within: Duration, run: &support::KeelRun) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + within;
    loop {
        let tasks = support::tasks_json(db);
        if tasks.len() >= n {
            return tasks;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} tasks\nkeel's log:\n{}",
            tasks.len(),
            run.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn ids(header: &str) -> Vec<String> {
    header
        .split_whitespace()
        .map(|id| id.trim_matches(['<', '>']).to_string())
        .collect()
}

on_both_backends!(
    a_client_mail_becomes_a_task_answered_by_mail_threaded_both_ways,
    |backend| {
        support::runtime().block_on(async {
        let mail = MailServers::start();
        let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
        let db = support::TestDb::new(backend);
        let run = keel_run(&db, &fake, &mail);
        slash(&run, "client add acme \"Acme Corp\"").await;
        slash(&run, "client email acme acme.com").await;
        keel_post_where(&fake, &run, &db, |p| p.text.contains("mail from acme.com added")).await;

        // Bob writes as Gmail does: a new thread, a due date and an urgent word.
        let root = "CAB0b-1@mail.gmail.com";
        let first = gmail(
            ("Bob Stone", "bob@acme.com"),
            "Q3 invoice export",
            "Hi team,\n\nCould you send the Q3 invoice export by Friday? It's urgent, our auditors wait.\n\nThanks,\nBob",
            root,
            &[],
        );
        mail.send(&[("bob@acme.com".into(), vec!["support@keel.test".into()], first)], 0);
        let card = keel_post_where(&fake, &run, &db, |p| p.channel == "C0MAIL" && p.text.contains("#1 opened")).await;
        assert!(card.text.contains("Q3 invoice export"), "{}", card.text);
        assert!(card.text.contains("client acme"), "{}", card.text);
        assert!(card.text.contains("from Bob Stone <bob@acme.com>"), "{}", card.text);
        let tasks = wait_tasks(&db, 1, Duration::from_secs(5), &run);
        assert_eq!(tasks[0]["title"], "Q3 invoice export");
        assert_eq!(tasks[0]["client"], "acme");
        assert_eq!(tasks[0]["priority"], "urgent");
        assert!(tasks[0]["due_at"].is_string(), "{}", tasks[0]);
        assert_eq!(tasks[0]["source"], "email");

        // The acknowledgement: automatic, threaded under Bob's mail.
        let sent = mail.wait_sent(1, &run);
        let ack = &sent[0];
        assert_eq!(ack.rcpt, vec!["bob@acme.com".to_string()]);
        assert_eq!(ack.header("auto-submitted"), "auto-generated");
        assert_eq!(ack.header("x-auto-response-suppress"), "All");
        assert_eq!(ids(ack.header("in-reply-to")), vec![root.to_string()]);
        assert_eq!(ack.header("subject"), "Re: Q3 invoice export [#1]");
        assert!(ack.body.contains("We have your request #1"), "{}", ack.body);

        // Lea answers from chat; Bob receives it threaded, and it is the first response.
        slash(&run, "reply #1 Here it is: the export runs tonight, you will have it tomorrow morning.").await;
        keel_post_where(&fake, &run, &db, |p| p.text.contains("#1 answered by mail to bob@acme.com")).await;
        let sent = mail.wait_sent(2, &run);
        let answer = &sent[1];
        assert_eq!(answer.rcpt, vec!["bob@acme.com".to_string()]);
        assert_eq!(answer.header("auto-submitted"), "", "a person's answer is not automatic");
        assert_eq!(ids(answer.header("in-reply-to")), vec![root.to_string()]);
        assert_eq!(ids(answer.header("references")).first().map(String::as_str), Some(root));
        assert_eq!(answer.header("subject"), "Re: Q3 invoice export [#1]");
        assert!(answer.body.contains("the export runs tonight"), "{}", answer.body);
        let answer_id = ids(answer.header("message-id")).remove(0);
        assert!(answer_id.starts_with("keel.task-1.1@keel.test"), "{answer_id}");
        let tasks = support::tasks_json(&db);
        assert!(tasks[0]["first_response_at"].is_string(), "{}", tasks[0]);

        // Bob answers from Gmail with the history quoted: it joins #1 and shows in its thread.
        let reply = gmail(
            ("Bob Stone", "bob@acme.com"),
            "Re: Q3 invoice export [#1]",
            "Great, could you add the PO number to it as well?\n\nOn Mon, 7 Dec 2026 at 11:00, Keel Support <support@keel.test> wrote:\n> Here it is: the export runs tonight",
            "CAB0b-2@mail.gmail.com",
            &[root, &answer_id],
        );
        mail.send(&[("bob@acme.com".into(), vec!["support@keel.test".into()], reply)], 0);
        let mirrored = keel_post_where(&fake, &run, &db, |p| p.text.contains("wrote on #1")).await;
        assert_eq!(mirrored.thread_ts.as_deref(), Some(card.ts.as_str()), "in the card's thread");
        assert!(mirrored.text.contains("add the PO number"), "{}", mirrored.text);
        assert!(!mirrored.text.contains("wrote:"), "the quoted history is not repeated");

        // Carol, Bob's colleague, answers all from Outlook: the same task.
        let outlook = format!(
            "Message-ID: <DB9PR01MB0001@eurprd01.prod.outlook.com>\r\nFrom: Carol Diaz <carol@acme.com>\r\n\
             To: Keel Support <support@keel.test>\r\nCc: Bob Stone <bob@acme.com>\r\n\
             Subject: RE: Q3 invoice export [#1]\r\nDate: Mon, 7 Dec 2026 12:00:00 +0000\r\n\
             In-Reply-To: <CAB0b-2@mail.gmail.com>\r\nReferences: <{root}> <{answer_id}> <CAB0b-2@mail.gmail.com>\r\n\
             Thread-Topic: Q3 invoice export\r\nX-MS-Has-Attach: \r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=\"us-ascii\"\r\n\r\n\
             The PO number is 4711.\r\n\r\n________________________________\r\nFrom: Bob Stone <bob@acme.com>\r\n\
             Sent: Monday, December 7, 2026 11:30 AM\r\nTo: Keel Support <support@keel.test>\r\n\
             Subject: Re: Q3 invoice export [#1]\r\n\r\nGreat, could you add the PO number\r\n"
        );
        mail.send(
            &[(
                "carol@acme.com".into(),
                vec!["support@keel.test".into(), "bob@acme.com".into()],
                outlook,
            )],
            0,
        );
        keel_post_where(&fake, &run, &db, |p| p.text.contains("carol@acme.com") && p.text.contains("wrote on #1")).await;

        // An out-of-office answer and a bounce: nothing made, nothing sent.
        let away = "Message-ID: <ooo-1@acme.com>\r\nFrom: Bob Stone <bob@acme.com>\r\nTo: support@keel.test\r\n\
             Subject: Automatic reply: Q3 invoice export\r\nAuto-Submitted: auto-replied\r\nX-Autoreply: yes\r\n\
             Content-Type: text/plain\r\n\r\nI am out of the office until Monday.\r\n";
        let bounce = "Message-ID: <bounce-1@mx.acme.com>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.acme.com>\r\n\
             To: support@keel.test\r\nSubject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B1\"\r\n\r\n\
             --B1\r\nContent-Type: text/plain\r\n\r\nThis is the mail system. Your message could not be delivered.\r\n\
             --B1\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; nobody@acme.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\
             --B1--\r\n";
        mail.send(
            &[
                ("bob@acme.com".into(), vec!["support@keel.test".into()], away.into()),
                ("".into(), vec!["support@keel.test".into()], bounce.into()),
            ],
            0,
        );
        // A new subject from the same person is a new request (and shows that the two before it
        // were read: the mailbox is read in order).
        let second = gmail(
            ("Bob Stone", "bob@acme.com"),
            "Access for our new accountant",
            "Please give Dana access to the portal.",
            "CAB0b-3@mail.gmail.com",
            &[],
        );
        mail.send(&[("bob@acme.com".into(), vec!["support@keel.test".into()], second)], 0);
        keel_post_where(&fake, &run, &db, |p| p.channel == "C0MAIL" && p.text.contains("#2 opened")).await;
        let tasks = support::tasks_json(&db);
        assert_eq!(tasks.len(), 2, "{tasks:#?}");

        // Lea answers in the card's thread of #1: Carol is copied.
        let in_thread = fake.user_says("C0MAIL", "ULEA", "reply: Done, the PO number is on it.", Some(&card.ts));
        let answers = keel_fake_slack::deliver_event(
            &format!("http://{}/slack/events", run.http),
            SECRET,
            &in_thread,
            &FAST_RETRIES,
        )
        .await;
        assert_eq!(answers[0].status, 200, "{answers:?}");
        keel_post_where(&fake, &run, &db, |p| p.text.contains("#1 answered by mail") && p.text.contains("carol@acme.com")).await;
        // Sent: the ack of #1, the answer, no ack of #2 (one an hour per sender), this answer.
        let sent = mail.wait_sent(3, &run);
        let last = sent.last().expect("sent");
        let mut rcpt = last.rcpt.clone();
        rcpt.sort();
        assert_eq!(rcpt, vec!["bob@acme.com".to_string(), "carol@acme.com".to_string()]);
        assert!(last.header("cc").contains("carol@acme.com"), "{:?}", last.headers);
        assert_eq!(ids(last.header("in-reply-to")), vec!["DB9PR01MB0001@eurprd01.prod.outlook.com".to_string()]);
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(mail.sent_by_keel().len(), 3, "nothing answered the auto-reply or the bounce");
        assert_eq!(support::tasks_json(&db).len(), 2);
        let shown = support::events(&db);
        let mails = shown.iter().filter(|e| e["kind"] == "mail").count();
        assert_eq!(mails, 6, "four client mails and two answers on the logs: {shown:#?}");
    });
    }
);

/// `n` new requests from `n` different people (so each is acknowledged: one an hour per sender).
fn requests(first: usize, n: usize) -> Vec<(String, Vec<String>, String)> {
    (first..first + n)
        .map(|i| {
            let from = format!("client{i}@example.org");
            let raw = gmail(
                ("Client", &from),
                &format!("Request number {i}"),
                &format!("Please look at item {i} by Friday."),
                &format!("req-{i}@mail.example.org"),
                &[],
            );
            (from, vec!["support@keel.test".to_string()], raw)
        })
        .collect()
}

on_both_backends!(
    killed_while_mail_arrives_and_the_imap_server_restarted_nothing_is_lost_or_twice,
    |backend| {
        support::runtime().block_on(async {
            let mail = MailServers::start();
            let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
            let db = support::TestDb::new(backend);
            let mut run = keel_run(&db, &fake, &mail);

            // 200 mails at 100 a second; keel is killed (`kill -9`) while they arrive.
            let port = mail.smtp;
            let sending = std::thread::spawn(move || send_mail(port, &requests(0, 200), 100));
            let deadline = Instant::now() + Duration::from_secs(30);
            while support::tasks_json(&db).len() < 20 {
                assert!(Instant::now() < deadline, "no tasks: {}", run.log_text());
                std::thread::sleep(Duration::from_millis(20));
            }
            run.kill();
            sending.join().expect("sent");
            let before = support::tasks_json(&db).len();
            assert!(before < 200, "keel was killed before it had read everything ({before})");
            run.restart();
            let tasks = wait_tasks(&db, 200, Duration::from_secs(60), &run);
            assert_eq!(tasks.len(), 200);

            // The IMAP server restarts in the middle of 100 more.
            let sending = std::thread::spawn(move || send_mail(port, &requests(200, 100), 50));
            std::thread::sleep(Duration::from_millis(700));
            mail.restart_imap();
            sending.join().expect("sent");
            let tasks = wait_tasks(&db, 300, Duration::from_secs(60), &run);
            std::thread::sleep(Duration::from_secs(2));
            let tasks_now = support::tasks_json(&db);
            assert_eq!(tasks_now.len(), 300, "exactly one task a mail");
            let mut titles: Vec<String> = tasks
                .iter()
                .map(|t| t["title"].as_str().unwrap_or("").to_string())
                .collect();
            titles.sort();
            titles.dedup();
            assert_eq!(titles.len(), 300, "no mail made two tasks");

            // Each acknowledged once.
            let acks = mail.wait_sent(300, &run);
            std::thread::sleep(Duration::from_secs(2));
            let acks_now = mail.sent_by_keel();
            let mut seen = std::collections::BTreeMap::new();
            for a in &acks_now {
                *seen.entry(a.rcpt.join(",")).or_insert(0) += 1;
            }
            let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
            let sent_log = std::fs::read_to_string(run.dir.path().join("mailbox.sent")).unwrap_or_default();
            for a in acks_now
                .iter()
                .filter(|a| twice.iter().any(|(r, _)| **r == a.rcpt.join(",")))
            {
                let id = ids(a.header("message-id")).remove(0);
                eprintln!(
                    "twice: {} {id} at {} in the sent log: {}",
                    a.rcpt.join(","),
                    a.accepted_at,
                    sent_log.lines().any(|l| l == id)
                );
            }
            assert_eq!(
                acks_now.len(),
                300,
                "one acknowledgement a request, none twice ({} seen first): twice {twice:?}",
                acks.len()
            );
            let mut to: Vec<String> = acks_now.iter().flat_map(|a| a.rcpt.clone()).collect();
            to.sort();
            to.dedup();
            assert_eq!(to.len(), 300);
        });
    }
);

/// A 5 MB log pasted into a mail, and a multipart nested 300 deep (a zip bomb's shape).
fn huge_and_nested() -> Vec<(String, Vec<String>, Vec<u8>)> {
    let mut log = String::from(
        "Message-ID: <huge-1@example.net>\r\nFrom: Ivy <ivy@example.net>\r\n\
        To: support@keel.test\r\nSubject: Huge log\r\nContent-Type: text/plain\r\n\r\nOur import fails, the log:\r\n",
    );
    while log.len() < 5_000_000 {
        log.push_str("2026-12-07 10:00:00 ERROR import failed at row 4711: value out of range\r\n");
    }
    let mut nested = String::from(
        "Message-ID: <nested-1@example.net>\r\nFrom: Ivy <ivy@example.net>\r\n\
        To: support@keel.test\r\nSubject: Nested\r\nMIME-Version: 1.0\r\n",
    );
    for depth in 0..300 {
        nested.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{depth}\"\r\n\r\n--b{depth}\r\n"
        ));
    }
    nested.push_str("Content-Type: text/plain\r\n\r\nPlease check the nested export.\r\n");
    let to = vec!["support@keel.test".to_string()];
    vec![
        ("ivy@example.net".into(), to.clone(), log.into_bytes()),
        ("ivy@example.net".into(), to, nested.into_bytes()),
    ]
}

on_both_backends!(
    mail_of_every_shape_makes_one_task_or_nothing_and_health_tells,
    |backend| {
        support::runtime().block_on(async {
            let mail = MailServers::start();
            let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
            let db = support::TestDb::new(backend);
            let run = keel_run(&db, &fake, &mail);
            slash(&run, "client add acme \"Acme Corp\"").await;
            keel_post_where(&fake, &run, &db, |p| p.text.contains("client acme added")).await;
            let to = vec!["support@keel.test".to_string()];
            let mut mails: Vec<(String, Vec<String>, Vec<u8>)> = [
                ("bob@acme.com", "pdf-attachment.eml"),
                ("renee.mueller@exemple.fr", "latin1.eml"),
                ("noreply-form@initech.example", "html-only.eml"),
                ("hank@example.net", "broken-mime.eml"),
                ("gina@example.it", "no-message-id.eml"),
                ("juergen@beispiel.de", "utf8-headers.eml"),
                ("frank@lists.example.org", "mailing-list.eml"),
                ("anna.meyer@globex.example", "exchange-auto-reply.eml"),
                ("", "bounce.eml"),
                ("carol@acme.com", "out-of-office.eml"),
            ]
            .iter()
            .map(|(from, name)| (from.to_string(), to.clone(), fixture(name)))
            .collect();
            mails.extend(huge_and_nested());
            send_bytes(mail.smtp, &mails, 0);
            wait_tasks(&db, 8, Duration::from_secs(30), &run);
            std::thread::sleep(Duration::from_secs(2));
            let tasks = support::tasks_json(&db);
            let titles: Vec<&str> = tasks.iter().map(|t| t["title"].as_str().unwrap_or("")).collect();
            for title in [
                "Signed contract",
                "Réclamation : facture impayée",
                "Contact form: export button",
                "Logs attached",
                "Question about access",
                "Huge log",
                "Nested",
            ] {
                assert!(titles.contains(&title), "no task {title:?} in {titles:?}");
            }
            assert!(titles.iter().any(|t| t.starts_with("Grüße")), "{titles:?}");
            assert_eq!(
                tasks.len(),
                8,
                "the list, the autoresponders and the bounce make nothing: {titles:?}"
            );
            let contract = tasks
                .iter()
                .find(|t| t["title"] == "Signed contract")
                .expect("contract");
            assert_eq!(contract["client"], "acme", "support+acme@ is acme's");
            let card = keel_post_where(&fake, &run, &db, |p| p.text.contains("Signed contract")).await;
            assert!(
                card.text.contains("📎 Contract Q3 (signed).pdf (application/pdf"),
                "{}",
                card.text
            );
            // Acknowledged: the requests' seven senders (Ivy's two requests get one), nothing else.
            let sent = mail.wait_sent(7, &run);
            std::thread::sleep(Duration::from_secs(1));
            assert_eq!(mail.sent_by_keel().len(), 7, "{sent:#?}");

            let (status, health) = run.get("/healthz").await;
            assert_eq!(status, 200, "{health}");
            let health: serde_json::Value = serde_json::from_str(&health).expect("json");
            assert_eq!(health["adapters"]["email"]["connected"], true, "{health}");
            let (_, metrics) = run.get("/metrics").await;
            let read = |outcome: &str| {
                support::metric(&metrics, &format!("keel_mail_received_total{{outcome=\"{outcome}\"}}")).unwrap_or(0.0)
            };
            assert!(read("event") >= 8.0 && read("automatic") >= 4.0, "{metrics}");
            assert_eq!(support::metric(&metrics, "keel_mail_imap_up"), Some(1.0), "{metrics}");
        });
    }
);
