//! KPIs over a scripted month, driven as a team would (`keel chat` at fixed instants), read with
//! `keel kpi --format json`, on SQLite and PostgreSQL. Every expected figure is worked out by hand
//! in the comments: the team is in UTC, business hours Mon–Fri 09:00–17:00.

mod support;

use serde_json::Value;
use support::{chat, keel, TestDb};

const LEA: &[&str] = &["--as", "lea"];
const MAX: &[&str] = &["--as", "max"];

fn client_says(db: &TestDb, at: &str, who: &str, client: &str, text: &str) -> String {
    chat(
        db,
        at,
        &["--as", who, "--client", client, "--channel", client],
        &format!("{text}\n"),
    )
}

fn team_says(db: &TestDb, at: &str, who: &str, channel: &str, text: &str) -> String {
    chat(db, at, &["--as", who, "--channel", channel], &format!("{text}\n"))
}

fn kpi_json(db: &TestDb, args: &[&str]) -> Value {
    let mut all = vec![
        "kpi",
        "--db",
        &db.url,
        "--now",
        "2026-12-02T12:00:00Z",
        "--format",
        "json",
    ];
    all.extend_from_slice(args);
    let out = keel(&all, "");
    assert!(
        out.status.success(),
        "keel kpi: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// The month: October is the previous period (one request), November the period.
fn scripted_month(db: &TestDb) {
    // 1 Oct (Thu): lea (the first speaker, an admin) and max; four clients, one added later.
    chat(db, "2026-10-01T08:00:00Z", LEA, "tz UTC\n");
    chat(db, "2026-10-01T08:00:00Z", MAX, "tz UTC\n");
    chat(
        db,
        "2026-10-01T08:00:00Z",
        LEA,
        "client add acme \"Acme Corp\" #acme owner @lea\n\
         client add globex \"Globex\" #globex owner @max\n\
         client add initech \"Initech\" #initech\n\
         client signed acme 2026-10-05\n\
         client signed globex 2026-10-20\n",
    );

    // #1, Thu 15 Oct 10:00; answered 12:00 (2 h); done Fri 16 Oct 10:00 (7 h + 1 h = 8 h).
    client_says(
        db,
        "2026-10-15T10:00:00Z",
        "bob",
        "acme",
        "The API returns an error on the orders page",
    );
    team_says(db, "2026-10-15T12:00:00Z", "lea", "acme", "Looking into it");
    // Done: bob is asked the CSAT question in #1's thread and answers 👍 (October's CSAT: 1).
    let done = chat(db, "2026-10-16T10:00:00Z", LEA, "done #1\n");
    assert!(
        done.contains("[#acme] keel: bob, #1 \"The API returns an error on the orders page\" is done. Did we solve it to your satisfaction?"),
        "{done}"
    );
    assert!(
        done.contains("Answer 👍 or 👎 (a reply or a reaction to this message)."),
        "{done}"
    );
    let thanks = client_says(db, "2026-10-16T11:00:00Z", "bob", "acme", "👍");
    assert!(thanks.contains("Thank you, bob: 👍 recorded."), "{thanks}");

    // #2, Mon 2 Nov 10:00; answered 11:30 (1.5 h); done Tue 3 Nov 10:00 (7 h + 1 h = 8 h).
    client_says(
        db,
        "2026-11-02T10:00:00Z",
        "bob",
        "acme",
        "The invoice export is broken",
    );
    team_says(db, "2026-11-02T11:30:00Z", "lea", "acme", "On it");
    // CSAT: bob is asked again (18 days after the last time) and answers 👎.
    let done = chat(db, "2026-11-03T10:00:00Z", LEA, "done #2\n");
    assert!(done.contains("bob, #2"), "{done}");
    let thanks = client_says(db, "2026-11-03T10:30:00Z", "bob", "acme", "👎");
    assert!(thanks.contains("Thank you, bob: 👎 recorded."), "{thanks}");

    // #3, Tue 3 Nov 16:00; answered Wed 10:00 (1 h + 1 h = 2 h); waiting on the client from Wed
    // 11:00 to Fri 11:00 (6 + 8 + 2 = 16 h); done Fri 15:00: 1 + 8 + 8 + 6 = 23 h − 16 h = 7 h.
    client_says(
        db,
        "2026-11-03T16:00:00Z",
        "gil",
        "globex",
        "Please add two users to our account",
    );
    team_says(db, "2026-11-04T10:00:00Z", "max", "globex", "Sure, which names?");
    chat(db, "2026-11-04T11:00:00Z", MAX, "wait #3\n");
    chat(db, "2026-11-06T11:00:00Z", MAX, "start #3\n");
    let done = chat(db, "2026-11-06T15:00:00Z", MAX, "done #3\n");
    assert!(done.contains("gil, #3"), "{done}");
    let thanks = client_says(db, "2026-11-06T15:30:00Z", "gil", "globex", ":+1:");
    assert!(thanks.contains("Thank you, gil: 👍 recorded."), "{thanks}");

    // Go-lives: acme 5 Oct → 4 Nov (30 days), globex 20 Oct → 9 Nov (20 days).
    chat(
        db,
        "2026-11-04T12:00:00Z",
        LEA,
        "client live acme 2026-11-04\nclient live globex 2026-11-09\n",
    );

    // #4 urgent, Fri 6 Nov 16:30; answered Mon 09:30 across the weekend (0.5 + 0.5 = 1 h, the
    // urgent target: met); done Mon 12:00 (0.5 + 3 = 3.5 h, target 4 h: met).
    client_says(
        db,
        "2026-11-06T16:30:00Z",
        "bob",
        "acme",
        "urgent: checkout fails for every customer",
    );
    team_says(db, "2026-11-09T09:30:00Z", "lea", "acme", "We are on it");
    // bob was asked on 3 Nov, less than a week ago: no CSAT question this time.
    let done = chat(db, "2026-11-09T12:00:00Z", LEA, "done #4\n");
    assert!(!done.contains("Did we solve"), "{done}");

    // umbrella is added on 10 Nov and never heard from.
    chat(
        db,
        "2026-11-10T09:00:00Z",
        LEA,
        "client add umbrella \"Umbrella\" #umbrella\n",
    );

    // #5, Wed 11 Nov 09:00; answered 14:00 (5 h); escalated Thu; done Fri 16:00 (8 + 8 + 7 = 23 h).
    client_says(
        db,
        "2026-11-11T09:00:00Z",
        "gil",
        "globex",
        "The dashboard shows the numbers of the day before",
    );
    team_says(db, "2026-11-11T14:00:00Z", "max", "globex", "Checking the sync");
    chat(db, "2026-11-12T10:00:00Z", LEA, "escalate #5 the sync keeps failing\n");
    // gil was asked on 6 Nov 15:00, more than a week ago: asked again; he never answers.
    let done = chat(db, "2026-11-13T16:00:00Z", MAX, "done #5\n");
    assert!(done.contains("gil, #5"), "{done}");

    // #6, Mon 16 Nov 10:00, due Friday 20 Nov; answered Wed 18 Nov 10:00 (7 + 8 + 1 = 16 h: the
    // 8 h target is breached); never done.
    client_says(
        db,
        "2026-11-16T10:00:00Z",
        "bob",
        "acme",
        "Please update the billing address by Friday",
    );
    team_says(db, "2026-11-18T10:00:00Z", "lea", "acme", "Will do");

    // initech churns on 20 Nov.
    chat(db, "2026-11-20T12:00:00Z", LEA, "client churned initech 2026-11-20\n");

    // NPS on 20 Nov: bob answers 9 (a promoter), gil 7/10 (passive). While gil's question is
    // open, a second one is refused; a client may not send surveys.
    let sent = chat(
        db,
        "2026-11-20T12:00:00Z",
        LEA,
        "survey nps acme\nsurvey nps globex\nsurvey nps globex\n",
    );
    assert!(sent.contains("NPS question sent to bob (acme)"), "{sent}");
    assert!(
        sent.contains("[#acme] keel: bob, how likely are you to recommend us"),
        "{sent}"
    );
    assert!(sent.contains("Reply with a number from 0 to 10."), "{sent}");
    assert!(sent.contains("NPS question sent to gil (globex)"), "{sent}");
    assert!(
        sent.contains("every contact of globex already has an open NPS question"),
        "{sent}"
    );
    let refused = client_says(db, "2026-11-20T12:30:00Z", "bob", "acme", "@keel survey nps acme");
    assert!(refused.contains("only team members can send surveys"), "{refused}");
    let thanks = client_says(db, "2026-11-20T13:00:00Z", "bob", "acme", "9");
    assert!(thanks.contains("Thank you, bob: 9 of 10 recorded."), "{thanks}");
    let thanks = client_says(db, "2026-11-20T14:00:00Z", "gil", "globex", "7/10");
    assert!(thanks.contains("Thank you, gil: 7 of 10 recorded."), "{thanks}");

    // #7, Mon 23 Nov 09:00; answered 09:30 (0.5 h); never done.
    client_says(
        db,
        "2026-11-23T09:00:00Z",
        "gil",
        "globex",
        "Could you send the quarterly report",
    );
    team_says(db, "2026-11-23T09:30:00Z", "max", "globex", "Yes, this week");

    // #8, a request lea records herself for acme.
    chat(
        db,
        "2026-11-24T10:00:00Z",
        LEA,
        "track prepare the renewal deck for acme\n",
    );

    // Wed 25 Nov, an ordinary day at globex. Its high-priority requests get targets of their own
    // (first response 2 h, resolution 8 h; the team's are 4 h and 24 h), and gil is asked NPS
    // again.
    let set = chat(
        db,
        "2026-11-25T09:00:00Z",
        LEA,
        "client sla globex high 2h 8h\nsurvey nps globex\n",
    );
    assert!(
        set.contains("client globex SLA high: first response 2h, resolution 8h"),
        "{set}"
    );
    assert!(set.contains("NPS question sent to gil (globex)"), "{set}");
    // hal, whom keel has never seen, answers it: a contact of globex now, a promoter, no task.
    let thanks = client_says(db, "2026-11-25T09:30:00Z", "hal", "globex", "10");
    assert!(thanks.contains("Thank you, hal: 10 of 10 recorded."), "{thanks}");
    // #9 at 10:00 and #10 at 10:30, both high priority.
    client_says(
        db,
        "2026-11-25T10:00:00Z",
        "gil",
        "globex",
        "Important: the export to Excel fails",
    );
    client_says(
        db,
        "2026-11-25T10:30:00Z",
        "gil",
        "globex",
        "Important: the PDF invoices are missing",
    );
    // max's greeting answers nothing; his top-level answer at 13:00 answers only the newest
    // waiting request, #10 (2.5 h: over globex's 2 h, within the team's 4 h). #9 is never
    // answered.
    team_says(db, "2026-11-25T11:00:00Z", "max", "globex", "Good morning everyone!");
    team_says(
        db,
        "2026-11-25T13:00:00Z",
        "max",
        "globex",
        "Looking at the PDF invoices now",
    );
    // #10 done 16:30: 6 h, within 8 h.
    let done = chat(db, "2026-11-25T16:30:00Z", MAX, "done #10\n");
    assert!(done.contains("#10 done"), "{done}");
}

fn kpis_of_a_scripted_month(backend: &str) {
    let db = TestDb::new(backend);
    scripted_month(&db);
    let tasks = support::tasks_json(&db);
    assert_eq!(tasks.len(), 10, "{tasks:#?}");
    let first = |id: i64| tasks.iter().find(|t| t["id"] == id).expect("task")["first_response_at"].clone();
    assert_eq!(
        first(9),
        Value::Null,
        "the greeting and the answer to #10 did not answer #9"
    );
    assert_eq!(first(10), "2026-11-25T13:00:00Z");
    let k = kpi_json(&db, &["--from", "2026-11-01", "--to", "2026-11-30"]);
    let json = k.to_string();

    assert_eq!(k["period"]["label"], "2026-11-01..2026-11-30", "{json}");
    assert_eq!(
        k["previous_period"]["first_day"], "2026-10-02",
        "30 days before: {json}"
    );
    assert_eq!(k["previous_period"]["last_day"], "2026-10-31");

    // Retention: acme, globex, initech active on 1 Nov (umbrella came later); initech churned.
    assert_eq!(k["retention_rate"]["value"], 0.6667, "{json}");
    assert_eq!(k["retention_rate"]["clients_at_start"], 3);
    assert_eq!(k["retention_rate"]["previous"], 1.0);

    // First response, client requests created in November and answered: 1.5, 2, 1, 5, 16, 0.5,
    // 2.5 h (#10) → sorted 0.5 1 1.5 2 2.5 5 16: median the 4th, 2; p90 the ⌈6.3⌉ = 7th: 16.
    // October: 2.
    let fr = &k["first_response_hours"];
    assert_eq!(
        (fr["median"].as_f64(), fr["p90"].as_f64()),
        (Some(2.0), Some(16.0)),
        "{json}"
    );
    assert_eq!(fr["count"], 7);
    assert_eq!(
        (fr["previous"]["median"].as_f64(), fr["previous"]["p90"].as_f64()),
        (Some(2.0), Some(2.0))
    );

    // Resolution, done in November: 8, 7, 3.5, 23, 6 (#10) → sorted 3.5 6 7 8 23: median 7, p90
    // the ⌈4.5⌉ = 5th: 23. October: 8.
    let res = &k["resolution_hours"];
    assert_eq!(
        (res["median"].as_f64(), res["p90"].as_f64()),
        (Some(7.0), Some(23.0)),
        "{json}"
    );
    assert_eq!(res["previous"]["median"].as_f64(), Some(8.0));

    // SLA: #2–#5 met both targets; #6 breached its first response (decided, not met); #7 has used
    // exactly its 48 h resolution target by 1 Dec 00:00 (23–27 Nov and 30 Nov): not yet decided.
    // globex's own high targets: #9 never answered (over 2 h) and 31 h unresolved by 1 Dec (over
    // 8 h): decided, not met; #10 answered in 2.5 h (over 2 h), done in 6 h: decided, not met (with
    // the team's 4 h it would have met both). 4 of 7.
    assert_eq!(k["sla_compliance"]["decided"], 7, "{json}");
    assert_eq!(k["sla_compliance"]["met"], 4);
    assert_eq!(k["sla_compliance"]["value"], 0.5714);
    assert_eq!(k["sla_compliance"]["previous"], 1.0);

    // Backlog on 1 Dec 00:00: #6, #7, #8, #9; #6 was due 20 Nov. On 1 Nov: nothing open.
    assert_eq!(k["backlog"], serde_json::json!({"value": 4, "previous": 0}), "{json}");
    assert_eq!(k["overdue"], serde_json::json!({"value": 1, "previous": 0}));

    // NPS: two promoters (bob 9, hal 10), one passive (gil 7), no detractor → (2 − 0) / 3 =
    // +66.7; none in October.
    assert_eq!(k["nps"]["value"], 66.7, "{json}");
    assert_eq!(k["nps"]["answers"], 3);
    assert_eq!(k["nps"]["previous"], Value::Null);
    // CSAT: 👎 (bob, #2) and 👍 (gil, #3) answered in November → 0.5; October: 👍 → 1.
    assert_eq!(k["csat"]["value"], 0.5, "{json}");
    assert_eq!(k["csat"]["previous"], 1.0);

    // Onboarding: acme 30 days, globex 20 → median 25; nobody went live in October.
    let onboarding = &k["onboarding_days"];
    assert_eq!(onboarding["median"].as_f64(), Some(25.0), "{json}");
    assert_eq!(
        onboarding["per_client"],
        serde_json::json!({"acme": 30.0, "globex": 20.0})
    );
    assert_eq!(onboarding["previous"]["median"], Value::Null);

    // Escalations: #5 of the 9 requests created in November; none of October's one.
    assert_eq!(k["escalation_rate"]["escalated"], 1, "{json}");
    assert_eq!(k["escalation_rate"]["created"], 9);
    assert_eq!(k["escalation_rate"]["value"], 0.1111);
    assert_eq!(k["escalation_rate"]["previous"], 0.0);

    // Load on 1 Dec: lea owns #6 (as acme's owner) and acme; max owns #7, #9 and globex; #8 was
    // tracked without an owner, so it is in the backlog but in nobody's load. On 1 Nov nobody
    // had open work.
    assert_eq!(
        k["owner_load"]["value"],
        serde_json::json!([
            {"owner": "lea", "open_tasks": 1, "active_clients": 1},
            {"owner": "max", "open_tasks": 2, "active_clients": 1}
        ]),
        "{json}"
    );
    assert_eq!(k["overloaded_owners"]["value"], serde_json::json!([]));

    // Silent on 1 Dec (no touchpoint since 17 Nov): umbrella (added 10 Nov, never heard from).
    // On 1 Nov (none since 18 Oct): acme (last 15 Oct), globex and initech (never).
    assert_eq!(
        k["silent_clients"],
        serde_json::json!({"value": ["umbrella"], "previous": ["acme", "globex", "initech"]}),
        "{json}"
    );

    // Sentiment: the mean of the client requests' VADER scores (in `keel tasks list`).
    let score = |id: i64| {
        tasks.iter().find(|t| t["id"] == id).expect("task")["sentiment"]
            .as_f64()
            .expect("number")
    };
    let acme = (score(2) + score(4) + score(6)) / 3.0;
    let globex = (score(3) + score(5) + score(7) + score(9) + score(10)) / 5.0;
    let close = |v: &Value, x: f64| (v.as_f64().expect("number") - x).abs() < 0.0006;
    assert!(close(&k["sentiment"]["per_client"]["acme"]["mean"], acme), "{json}");
    assert!(close(&k["sentiment"]["per_client"]["globex"]["mean"], globex), "{json}");
    // The mean of all eight requests, not of the two clients' means.
    assert!(
        close(&k["sentiment"]["mean"], (3.0 * acme + 5.0 * globex) / 8.0),
        "{json}"
    );
    assert!(
        close(&k["sentiment"]["per_client"]["acme"]["previous"], score(1)),
        "{json}"
    );

    assert_eq!(k["template_trap"]["value"], serde_json::json!([]));

    // The same figures as CSV, and the chart as a PNG file.
    let dir = tempfile::tempdir().expect("temp dir");
    let png = dir.path().join("kpi.png");
    let out = keel(
        &[
            "kpi",
            "--db",
            &db.url,
            "--now",
            "2026-12-02T12:00:00Z",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--format",
            "csv",
            "--chart",
            png.to_str().expect("path"),
        ],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(csv.starts_with("kpi,value,previous\n"), "{csv}");
    assert!(csv.contains("\nretention_rate,0.6667,1\n"), "{csv}");
    assert!(csv.contains("\nsla_compliance,0.5714,1\n"), "{csv}");
    assert!(csv.contains("\nonboarding_days.acme,30,\n"), "{csv}");
    let bytes = std::fs::read(&png).expect("chart written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    // Width and height from the IHDR chunk.
    assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 1200);
    assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 800);
    if let Ok(keep) = std::env::var("KEEL_KEEP_CHART") {
        std::fs::copy(&png, format!("{keep}/kpi-{backend}.png")).expect("copy the chart");
    }

    // In chat: the summary with what needs attention first, and the chart saved and named.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["chat", "--db", &db.url, "--now", "2026-12-01T10:00:00Z", "--as", "lea"])
        .current_dir(dir.path())
        .env("RUST_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(b"kpi 2026-11-01..2026-11-30\n")?;
            child.wait_with_output()
        })
        .expect("keel chat");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("KPIs 2026-11-01..2026-11-30"), "{said}");
    // Worst first: the SLA, then a churned client, then the silent one.
    let attention = said.find("Needs attention:").expect("attention first");
    let sla = said
        .find("1. SLA compliance 57.1% (4 of 7 requests met both targets)")
        .expect("the SLA first");
    let churn = said.find("2. 1 client churned").expect("then churn");
    let silent = said.find("3. silent for 14+ days: umbrella").expect("then silence");
    assert!(attention < sla && sla < churn && churn < silent, "{said}");
    assert!(said.contains("Retention: 66.7% (was 100%)"), "{said}");
    assert!(
        said.contains("(image saved to keel-kpi-2026-11-01..2026-11-30.png)"),
        "{said}"
    );
    assert!(dir.path().join("keel-kpi-2026-11-01..2026-11-30.png").exists());
    // A client may not read the KPIs; a period keel cannot read gets a one-line answer.
    let refused = client_says(&db, "2026-12-01T10:00:00Z", "bob", "acme", "@keel kpi");
    assert!(refused.contains("only team members can see KPIs"), "{refused}");
    let wrong = chat(&db, "2026-12-01T10:00:00Z", LEA, "kpi someday\n");
    assert!(wrong.contains("\"someday\" is not a period"), "{wrong}");

    weekly_summary(&db, dir.path());
}

/// `keel tick --format json` with a weekly channel configured, at `now`.
fn tick(db: &TestDb, config: &std::path::Path, now: &str) -> Vec<Value> {
    let out = keel(
        &[
            "tick",
            "--db",
            &db.url,
            "--config",
            config.to_str().expect("path"),
            "--now",
            now,
            "--format",
            "json",
        ],
        "",
    );
    assert!(out.status.success(), "tick: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// The weekly summary: Mondays 09:00 team time, once, last week's figures and the chart.
fn weekly_summary(db: &TestDb, dir: &std::path::Path) {
    let config = dir.join("keel.toml");
    std::fs::write(&config, "[schedules]\nweekly_kpi_channel = \"#coordinators\"\n").expect("config");
    let weekly = |posted: &[Value]| {
        posted
            .iter()
            .filter(|m| m["kind"] == "weekly_kpi")
            .cloned()
            .collect::<Vec<_>>()
    };
    // The first run only schedules the next Monday 09:00 (30 Nov).
    assert!(weekly(&tick(db, &config, "2026-11-30T08:00:00Z")).is_empty());
    assert!(weekly(&tick(db, &config, "2026-11-30T08:59:00Z")).is_empty());
    let posted = weekly(&tick(db, &config, "2026-11-30T09:00:00Z"));
    assert_eq!(posted.len(), 2, "text and chart: {posted:?}");
    assert_eq!(posted[0]["channel"], "coordinators");
    let text = posted[0]["text"].as_str().expect("text");
    // Last week, 23–29 Nov: #7 answered in 0.5 h, #10 in 2.5 h (#9 never); the backlog on 30 Nov
    // 00:00 is #6, #7, #8 and #9.
    assert!(
        text.starts_with("Weekly summary: KPIs 2026-W48 (2026-11-23 to 2026-11-29)"),
        "{text}"
    );
    assert!(text.contains("First response: median 1.5 h, p90 2.5 h (2)"), "{text}");
    assert!(text.contains("Backlog: 4 open, 1 overdue"), "{text}");
    assert_eq!(posted[1]["image"], "keel-kpi-2026-W48.png");
    assert!(posted[1]["bytes"].as_u64().expect("size") > 10_000);
    // Once: the next one is on 7 Dec.
    assert!(weekly(&tick(db, &config, "2026-11-30T10:00:00Z")).is_empty());
    assert!(weekly(&tick(db, &config, "2026-12-07T08:59:00Z")).is_empty());
    assert_eq!(weekly(&tick(db, &config, "2026-12-07T09:00:00Z")).len(), 2);
}

on_both_backends!(kpis_match_a_month_worked_out_by_hand, |backend| {
    kpis_of_a_scripted_month(backend);
});

/// Playbooks: `client signed` offers onboarding; `playbook run` creates the items as tasks with
/// due dates and owners; a client whose onboarding tasks nobody adapted is in the template trap.
fn playbooks_and_the_template_trap(backend: &str) {
    let db = TestDb::new(backend);
    chat(&db, "2026-11-02T08:00:00Z", LEA, "tz UTC\n");
    chat(&db, "2026-11-02T08:00:00Z", MAX, "tz UTC\n");
    let said = chat(
        &db,
        "2026-11-02T08:00:00Z",
        LEA,
        "client add acme \"Acme Corp\" #acme owner @max\nclient signed acme\n",
    );
    assert!(
        said.contains("start onboarding with: playbook run onboarding for acme"),
        "{said}"
    );
    // Mon 2 Nov: kick-off due Tue 3 Nov 17:00 (day 1), owned by acme's owner; the go-live review
    // (day 30, 2 Dec) by the first lead, lea.
    let said = chat(&db, "2026-11-02T09:00:00Z", LEA, "playbook run onboarding for acme\n");
    assert!(
        said.contains("playbook onboarding for Acme Corp: 8 tasks #1–#8"),
        "{said}"
    );
    let tasks = support::tasks_json(&db);
    assert_eq!(tasks.len(), 8);
    let kickoff = &tasks[0];
    assert_eq!(kickoff["title"], "Kick-off call: goals, contacts, timeline — Acme Corp");
    assert_eq!(kickoff["source"], "playbook");
    assert_eq!(kickoff["client"], "acme");
    assert_eq!(kickoff["owner"], "max");
    assert_eq!(kickoff["due_at"], "2026-11-03T17:00:00Z");
    let review = &tasks[4];
    assert!(
        review["title"].as_str().unwrap().starts_with("Go-live review"),
        "{review}"
    );
    assert_eq!(review["owner"], "lea");
    assert_eq!(review["due_at"], "2026-12-02T17:00:00Z");

    // Nobody adapted an item: acme is onboarding straight from the template.
    let k = kpi_json(&db, &["--from", "2026-11-02", "--to", "2026-11-08"]);
    assert_eq!(k["template_trap"]["value"], serde_json::json!(["acme"]), "{k}");
    // Playbook items are not client requests: no first response, resolution or escalation counts.
    assert_eq!(k["escalation_rate"]["created"], 0);
    chat(&db, "2026-11-04T10:00:00Z", MAX, "due #1 friday\n");
    let k = kpi_json(&db, &["--from", "2026-11-02", "--to", "2026-11-08"]);
    assert_eq!(k["template_trap"]["value"], serde_json::json!([]), "{k}");

    // A new coordinator's first 90 days, for a member; bad input is answered in one line.
    let said = chat(&db, "2026-11-05T09:00:00Z", LEA, "playbook run coordinator for @max\n");
    assert!(said.contains("playbook coordinator for @max: 9 tasks #9–#17"), "{said}");
    let said = chat(
        &db,
        "2026-11-05T09:00:00Z",
        LEA,
        "playbook run coordinator for acme\nplaybook run nosuch for acme\nplaybook list\n",
    );
    assert!(said.contains("playbook coordinator is for a team member"), "{said}");
    assert!(
        said.contains("there is no playbook \"nosuch\" (known: onboarding, coordinator)"),
        "{said}"
    );
    assert!(
        said.contains("Client onboarding (8 items): playbook run onboarding for <client>"),
        "{said}"
    );
    let refused = chat(&db, "2026-11-05T09:00:00Z", MAX, "playbook run onboarding for acme\n");
    assert!(refused.contains("only leads and admins can run playbooks"), "{refused}");
    assert_eq!(
        support::tasks_json(&db).len(),
        17,
        "nothing created by refused commands"
    );
}

on_both_backends!(
    playbooks_create_tasks_and_unadapted_ones_are_a_template_trap,
    |backend| {
        playbooks_and_the_template_trap(backend);
    }
);

/// NPS on its schedule: 30 days after go-live, then every 90 days, one open question per contact,
/// none after churn; a team member's number in the channel is no answer.
fn nps_on_schedule(backend: &str) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("keel.toml");
    std::fs::write(&config, "").expect("config");
    let surveys = |now: &str| {
        tick(&db, &config, now)
            .into_iter()
            .filter(|m| m["kind"] == "survey")
            .collect::<Vec<_>>()
    };
    chat(
        &db,
        "2026-09-01T08:00:00Z",
        LEA,
        "tz UTC\nclient add acme \"Acme\" #acme\n",
    );
    // Live on 1 Sep: a date without a time is 17:00 in lea's zone.
    chat(&db, "2026-09-01T08:00:00Z", LEA, "client live acme 2026-09-01\n");
    client_says(
        &db,
        "2026-09-02T10:00:00Z",
        "bob",
        "acme",
        "Hello, the new dashboard is great",
    );
    // 30 days after go-live: 1 Oct 17:00.
    assert!(surveys("2026-10-01T16:59:00Z").is_empty());
    let asked = surveys("2026-10-01T17:00:00Z");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0]["channel"], "acme");
    let text = asked[0]["text"].as_str().expect("text");
    assert!(text.starts_with("bob, how likely are you to recommend us"), "{text}");
    assert!(surveys("2026-10-01T18:00:00Z").is_empty(), "once");
    // lea's "8" is a team message; bob's "8" answers; a second question is not open.
    let said = team_says(&db, "2026-10-02T09:00:00Z", "lea", "acme", "8");
    assert!(!said.contains("recorded"), "{said}");
    let thanks = client_says(&db, "2026-10-02T10:00:00Z", "bob", "acme", "8");
    assert!(thanks.contains("Thank you, bob: 8 of 10 recorded."), "{thanks}");
    let k = kpi_json(&db, &["--from", "2026-10-01", "--to", "2026-10-31"]);
    // One passive answer: (0 − 0) / 1 = 0.
    assert_eq!(k["nps"]["value"], 0.0, "{k}");
    // A lead asks again on 10 Dec (bob answered, so he may be asked); the round of 30 Dec then
    // leaves bob out: he was asked 20 days before.
    let sent = chat(&db, "2026-12-10T10:00:00Z", LEA, "survey nps acme\n");
    assert!(sent.contains("NPS question sent to bob (acme)"), "{sent}");
    assert!(surveys("2026-12-30T17:00:00Z").is_empty(), "asked 20 days ago");
    // Every 90 days: the round after 30 Dec is on 30 Mar 17:00.
    assert!(surveys("2027-03-30T16:59:00Z").is_empty());
    assert_eq!(surveys("2027-03-30T17:00:00Z").len(), 1);
    // No survey after churn.
    chat(&db, "2027-04-05T10:00:00Z", LEA, "client churned acme\n");
    assert!(surveys("2027-06-30T17:00:00Z").is_empty());
    let refused = chat(&db, "2027-04-05T10:00:00Z", LEA, "survey nps acme\n");
    assert!(refused.contains("acme has churned"), "{refused}");
}

on_both_backends!(nps_is_asked_30_days_after_go_live_then_every_90_days, |backend| {
    nps_on_schedule(backend);
});

/// A database an older keel wrote (tests/data/kpi-2026-W46: its make.sh says how) is migrated
/// when opened, and its week's KPIs come out byte for byte as that keel printed them, next to
/// the KPIs added since.
#[test]
fn a_database_of_an_older_keel_reports_the_same_bytes() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kpi-2026-W46");
    let dir = tempfile::tempdir().expect("temporary directory");
    let copy = dir.path().join("keel.db");
    std::fs::copy(fixture.join("keel.db"), &copy).expect("copy the database");
    let url = format!("sqlite://{}", copy.display());
    let out = keel(&["kpi", "--db", &url, "--week", "2026-W46", "--format", "json"], "");
    assert!(
        out.status.success(),
        "keel kpi: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = std::fs::read(fixture.join("kpi.json")).expect("the older keel's output");
    // KPIs added since are new keys with nothing in them (the older keel recorded no chases);
    // with them taken out, every byte is as it was.
    let mut now: serde_json::Value = serde_json::from_slice(&out.stdout).expect("kpi json");
    let added = now.as_object_mut().expect("an object").remove("chases");
    assert_eq!(
        added,
        Some(serde_json::json!({"per_client": {}, "previous": 0, "tasks": 0, "value": 0}))
    );
    assert_eq!(format!("{now}\n"), String::from_utf8_lossy(&expected));
}
