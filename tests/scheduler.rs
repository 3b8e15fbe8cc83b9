//! Scheduled work driven as a user would: `keel chat` to set things up, `keel tick --now …` to let
//! time pass, on SQLite and PostgreSQL. Expected instants are worked out by hand in the comments.

mod support;

use serde_json::Value;
use support::{chat, keel, TestDb};

/// `keel tick --now T --format json`, parsed: one value per posted message.
fn tick(db: &TestDb, now: &str) -> Vec<Value> {
    let out = keel(&["tick", "--db", &db.url, "--now", now, "--format", "json"], "");
    assert!(
        out.status.success(),
        "keel tick failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// Who got a standup prompt in these messages.
fn prompted(posted: &[Value]) -> Vec<String> {
    posted
        .iter()
        .filter(|m| m["kind"] == "standup_prompt")
        .map(|m| m["to"].as_str().unwrap_or("").to_string())
        .collect()
}

/// A team in three zones with a daily 09:00 standup, set up on 2026-03-01.
fn three_zone_team(db: &TestDb, cron: &str) {
    chat(db, "2026-03-01T00:00:00Z", &["--as", "lea"], "tz America/New_York\n");
    chat(db, "2026-03-01T00:00:00Z", &["--as", "ben"], "tz Europe/Berlin\n");
    chat(db, "2026-03-01T00:00:00Z", &["--as", "kim"], "tz Asia/Kolkata\n");
    let said = chat(
        db,
        "2026-03-01T00:00:00Z",
        &["--as", "lea", "--channel", "general"],
        &format!("@keel standup set \"{cron}\" in #standup\n"),
    );
    assert!(said.contains("standup set"), "{said}");
}

/// Ticks one minute before and at each expected prompt: nobody early, exactly the one member on time.
fn expect_prompts(db: &TestDb, expected: &[(&str, &str, &str)]) {
    for (before, at, who) in expected {
        let early = prompted(&tick(db, before));
        assert!(
            !early.contains(&who.to_string()),
            "{who} prompted early, at {before}: {early:?}"
        );
        let on_time = prompted(&tick(db, at));
        assert_eq!(on_time, vec![who.to_string()], "at {at}");
    }
}

on_both_backends!(prompts_follow_each_members_clock_across_dst, |backend| {
    let db = TestDb::new(backend);
    three_zone_team(&db, "0 9 * * *");
    // Catch up to the window quietly: the last 09:00 of each zone is more than 4 h old.
    assert!(prompted(&tick(&db, "2026-03-07T00:00:00Z")).is_empty());
    // New York springs forward on Sun 8 Mar (EST −5 → EDT −4); Berlin (CET +1) and Kolkata (+5:30)
    // do not move that week.
    expect_prompts(
        &db,
        &[
            ("2026-03-07T03:29:00Z", "2026-03-07T03:30:00Z", "kim"), // 09:00 IST
            ("2026-03-07T07:59:00Z", "2026-03-07T08:00:00Z", "ben"), // 09:00 CET
            ("2026-03-07T13:59:00Z", "2026-03-07T14:00:00Z", "lea"), // 09:00 EST
            ("2026-03-08T03:29:00Z", "2026-03-08T03:30:00Z", "kim"),
            ("2026-03-08T07:59:00Z", "2026-03-08T08:00:00Z", "ben"),
            ("2026-03-08T12:59:00Z", "2026-03-08T13:00:00Z", "lea"), // 09:00 EDT
            ("2026-03-09T12:59:00Z", "2026-03-09T13:00:00Z", "lea"),
        ],
    );
    // Berlin springs forward on Sun 29 Mar (CET +1 → CEST +2).
    assert!(prompted(&tick(&db, "2026-03-28T00:00:00Z")).is_empty());
    expect_prompts(
        &db,
        &[
            ("2026-03-28T07:59:00Z", "2026-03-28T08:00:00Z", "ben"), // 09:00 CET
            ("2026-03-29T06:59:00Z", "2026-03-29T07:00:00Z", "ben"), // 09:00 CEST
            ("2026-03-30T06:59:00Z", "2026-03-30T07:00:00Z", "ben"),
        ],
    );
    // Berlin falls back on Sun 25 Oct, New York on Sun 1 Nov.
    assert!(prompted(&tick(&db, "2026-10-24T00:00:00Z")).is_empty());
    expect_prompts(
        &db,
        &[
            ("2026-10-24T06:59:00Z", "2026-10-24T07:00:00Z", "ben"), // 09:00 CEST
            ("2026-10-25T07:59:00Z", "2026-10-25T08:00:00Z", "ben"), // 09:00 CET
            ("2026-10-31T12:59:00Z", "2026-10-31T13:00:00Z", "lea"), // 09:00 EDT
            ("2026-11-01T13:59:00Z", "2026-11-01T14:00:00Z", "lea"), // 09:00 EST
            ("2026-11-02T03:29:00Z", "2026-11-02T03:30:00Z", "kim"), // Kolkata never moves
        ],
    );
});

on_both_backends!(a_time_that_does_not_exist_or_happens_twice_fires_once, |backend| {
    let db = TestDb::new(backend);
    chat(&db, "2026-03-01T00:00:00Z", &["--as", "lea"], "tz America/New_York\n");
    chat(
        &db,
        "2026-03-01T00:00:00Z",
        &["--as", "lea", "--channel", "general"],
        "@keel standup set \"30 2 * * *\" in #standup\n",
    );
    assert!(prompted(&tick(&db, "2026-03-07T00:00:00Z")).is_empty());
    // 02:30 does not exist on Sun 8 Mar in New York (02:00 EST → 03:00 EDT): it runs at 03:00 EDT.
    expect_prompts(
        &db,
        &[
            ("2026-03-07T07:29:00Z", "2026-03-07T07:30:00Z", "lea"), // 02:30 EST
            ("2026-03-08T06:59:00Z", "2026-03-08T07:00:00Z", "lea"), // 03:00 EDT
            ("2026-03-09T06:29:00Z", "2026-03-09T06:30:00Z", "lea"), // 02:30 EDT
        ],
    );
    let said = chat(
        &db,
        "2026-10-30T00:00:00Z",
        &["--as", "lea", "--channel", "general"],
        "@keel standup set \"30 1 * * *\" in #standup\n",
    );
    assert!(said.contains("standup set"), "{said}");
    assert!(prompted(&tick(&db, "2026-10-31T00:00:00Z")).is_empty());
    // 01:30 happens twice on Sun 1 Nov (01:30 EDT = 05:30Z, then 01:30 EST = 06:30Z): once only.
    expect_prompts(&db, &[("2026-11-01T05:29:00Z", "2026-11-01T05:30:00Z", "lea")]);
    assert!(
        prompted(&tick(&db, "2026-11-01T06:30:00Z")).is_empty(),
        "01:30 EST is not a second run"
    );
    expect_prompts(&db, &[("2026-11-02T06:29:00Z", "2026-11-02T06:30:00Z", "lea")]);
    // 01:30 EST
});

on_both_backends!(holidays_away_days_and_skips_prompt_nobody, |backend| {
    let db = TestDb::new(backend);
    // Mon 23 Nov 2026, team and members in UTC.
    chat(&db, "2026-11-22T12:00:00Z", &["--as", "lea"], "back\n");
    chat(&db, "2026-11-22T12:00:00Z", &["--as", "sam"], "back\n");
    let said = chat(
        &db,
        "2026-11-22T12:00:00Z",
        &["--as", "lea", "--channel", "general"],
        "@keel standup set \"0 9 * * 1-5\" in #standup\n@keel holiday add 2026-11-26 Thanksgiving\n\
         @keel standup skip 2026-11-27\n@keel holiday list\n",
    );
    assert!(said.contains("holiday on Thu 26 Nov 2026 (Thanksgiving)"), "{said}");
    assert!(said.contains("no standup on Fri 27 Nov 2026"), "{said}");
    assert!(said.contains("2026-11-26 Thanksgiving"), "{said}");
    chat(&db, "2026-11-22T12:00:00Z", &["--as", "sam"], "away until 2026-11-24\n");
    let mut both = prompted(&tick(&db, "2026-11-23T09:00:00Z"));
    both.sort();
    assert_eq!(both, ["lea"], "sam is away on Monday");
    let tuesday = tick(&db, "2026-11-24T09:00:00Z");
    assert_eq!(prompted(&tuesday), ["lea"], "and Tuesday");
    // Monday's summary (due 4 h after its prompt) lists sam as away.
    let summary: Vec<&Value> = tuesday.iter().filter(|m| m["kind"] == "standup_summary").collect();
    assert_eq!(summary.len(), 1, "{tuesday:?}");
    assert_eq!(
        summary[0]["text"],
        "Standup Mon 23 Nov: 0 of 1 answered · no answer: @lea · away: @sam"
    );
    let mut wednesday = prompted(&tick(&db, "2026-11-25T09:00:00Z"));
    wednesday.sort();
    assert_eq!(wednesday, ["lea", "sam"]);
    assert!(prompted(&tick(&db, "2026-11-26T09:00:00Z")).is_empty(), "a holiday");
    assert!(prompted(&tick(&db, "2026-11-27T09:00:00Z")).is_empty(), "a skipped day");
    let mut monday = prompted(&tick(&db, "2026-11-30T09:00:00Z"));
    monday.sort();
    assert_eq!(monday, ["lea", "sam"]);
});

on_both_backends!(a_restart_or_a_repeat_sends_no_second_prompt, |backend| {
    let db = TestDb::new(backend);
    chat(
        &db,
        "2026-11-22T12:00:00Z",
        &["--as", "lea", "--channel", "general"],
        "@keel standup set \"0 9 * * 1-5\" in #standup\n",
    );
    assert_eq!(prompted(&tick(&db, "2026-11-23T09:00:00Z")), ["lea"]);
    // keel restarts at 09:30 and 10:15 in the middle of the standup window.
    assert!(prompted(&tick(&db, "2026-11-23T09:30:00Z")).is_empty());
    let at_1015 = tick(&db, "2026-11-23T10:15:00Z");
    assert!(prompted(&at_1015).is_empty());
    assert_eq!(
        at_1015.iter().filter(|m| m["kind"] == "standup_reminder").count(),
        1,
        "one reminder an hour after the prompt: {at_1015:?}"
    );
    let said = chat(
        &db,
        "2026-11-23T10:20:00Z",
        &["--as", "lea", "--channel", "general"],
        "@keel standup now\n",
    );
    assert!(said.contains("everyone has had today's standup already"), "{said}");
    assert!(tick(&db, "2026-11-23T10:30:00Z").is_empty());
});

on_both_backends!(answers_reminder_and_summary, |backend| {
    let db = TestDb::new(backend);
    chat(
        &db,
        "2026-11-22T12:00:00Z",
        &["--as", "lea", "--channel", "general"],
        "@keel standup set \"0 9 * * 1-5\" questions \"Done?\" \"Next?\" in #standup\n",
    );
    chat(&db, "2026-11-22T12:00:00Z", &["--as", "sam"], "back\n");
    let mut first = prompted(&tick(&db, "2026-11-23T09:00:00Z"));
    first.sort();
    assert_eq!(first, ["lea", "sam"]);
    let said = chat(
        &db,
        "2026-11-23T09:05:00Z",
        &["--as", "lea"],
        "shipped the export\ninvoices\n",
    );
    assert!(said.contains("2/2: Next?"), "{said}");
    assert!(said.contains("Thanks, that's your standup for Mon 23 Nov."), "{said}");
    assert!(!said.contains("Standup Mon 23 Nov"), "sam has not answered yet: {said}");
    // An hour after the prompt, sam (who has not answered) gets one reminder; lea none.
    let at_10 = tick(&db, "2026-11-23T10:00:00Z");
    let reminded: Vec<&Value> = at_10.iter().filter(|m| m["kind"] == "standup_reminder").collect();
    assert_eq!(reminded.len(), 1, "{at_10:?}");
    assert_eq!(reminded[0]["to"], "sam");
    // 4 h after the prompt the summary goes to #standup: one message, the answers in its thread.
    let at_13 = tick(&db, "2026-11-23T13:00:00Z");
    let summary: Vec<&Value> = at_13.iter().filter(|m| m["kind"] == "standup_summary").collect();
    assert_eq!(summary.len(), 2, "{at_13:?}");
    assert_eq!(summary[0]["channel"], "standup");
    assert_eq!(summary[0]["thread"], Value::Null);
    assert_eq!(
        summary[0]["text"],
        "Standup Mon 23 Nov: 1 of 2 answered · no answer: @sam"
    );
    assert!(
        summary[1]["thread"].as_str().is_some_and(|t| !t.is_empty()),
        "{at_13:?}"
    );
    assert_eq!(summary[1]["text"], "@lea: Done? shipped the export / Next? invoices");
    assert!(
        tick(&db, "2026-11-23T18:00:00Z").is_empty(),
        "the summary goes out once"
    );
});

on_both_backends!(a_three_day_outage_catches_up_once, |backend| {
    let db = TestDb::new(backend);
    chat(
        &db,
        "2026-11-22T12:00:00Z",
        &["--as", "lea", "--channel", "general"],
        "@keel standup set \"0 9 * * 1-5\" in #standup\n",
    );
    chat(&db, "2026-11-22T12:00:00Z", &["--as", "sam"], "back\n");
    assert_eq!(prompted(&tick(&db, "2026-11-23T09:00:00Z")).len(), 2);
    // Down from Monday 09:01 to Thursday 10:00: Tuesday's and Wednesday's prompts were missed.
    let back = tick(&db, "2026-11-26T10:00:00Z");
    let mut now = prompted(&back);
    now.sort();
    assert_eq!(now, ["lea", "sam"], "one prompt each, for today: {back:?}");
    // Monday's summary (due 13:00 Monday) went out once, with the catch-up.
    assert_eq!(
        back.iter()
            .filter(|m| m["kind"] == "standup_summary" && m["thread"].is_null())
            .count(),
        1,
        "{back:?}"
    );
    assert!(prompted(&tick(&db, "2026-11-26T10:01:00Z")).is_empty());
});

#[test]
fn tick_rejects_a_bad_time_with_one_line() {
    let out = keel(&["tick", "--db", "sqlite::memory:", "--now", "yesterday-ish"], "");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

on_both_backends!(two_schedulers_send_each_prompt_once, |backend| {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use keel::clock::FixedClock;
    use keel::service::scheduler::Scheduler;
    use keel::service::{Keel, Settings};
    use keel::store::Store;

    let db = TestDb::new(backend);
    support::runtime().block_on(async {
        let store = Store::open(&db.url).await.expect("store");
        // 1,000 members (and lea, the admin) on the console adapter, all in UTC.
        sqlx::raw_sql(sqlx::AssertSqlSafe(
            "INSERT INTO members (adapter, platform_id, name, role, created_at) \
             VALUES ('console', 'lea', 'lea', 'admin', 0)"
                .to_string(),
        ))
        .execute(store.pool())
        .await
        .expect("admin");
        for chunk in 0..10 {
            let values: Vec<String> = (0..100)
                .map(|i| format!("('console', 'm{0}', 'm{0}', 'member', 0)", chunk * 100 + i))
                .collect();
            let sql = format!(
                "INSERT INTO members (adapter, platform_id, name, role, created_at) VALUES {}",
                values.join(", ")
            );
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(store.pool())
                .await
                .expect("members");
        }
        store.close().await;
    });
    let said = chat(
        &db,
        "2026-11-22T12:00:00Z",
        &["--as", "lea", "--channel", "general"],
        "@keel standup set \"0 9 * * 1-5\" in #standup\n",
    );
    assert!(said.contains("standup set"), "{said}");
    support::runtime().block_on(async {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().expect("time");
        let mut runs = Vec::new();
        let mut stores = Vec::new();
        for _ in 0..2 {
            // Two replicas: each its own connections.
            let store = Store::open(&db.url).await.expect("store");
            let keel = Keel::new(store.clone(), Arc::new(FixedClock(at)), Settings::default());
            stores.push(store);
            runs.push(tokio::spawn(async move { Scheduler::new(keel).run_due(at).await }));
        }
        let mut ran = 0;
        for r in runs {
            ran += r.await.expect("join").expect("run");
        }
        // 1,001 prompts, the sweep and the weekly KPI job (its first run).
        assert_eq!(ran, 1003, "every due job ran once across both schedulers");
        let pool = stores[0].pool();
        let prompts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'standup_prompt'")
            .fetch_one(pool)
            .await
            .expect("count");
        let people: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT target) FROM outbox WHERE kind = 'standup_prompt'")
            .fetch_one(pool)
            .await
            .expect("count");
        assert_eq!((prompts, people), (1001, 1001));
        for store in stores {
            store.close().await;
        }
    });
});

/// `keel chat` with a config file, at `now`, as `who`.
fn chat_with(db: &TestDb, config: &str, now: &str, who: &[&str], lines: &str) {
    let mut args = vec!["chat", "--db", &db.url, "--config", config, "--now", now];
    args.extend_from_slice(who);
    let out = keel(&args, lines);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `keel tick` with a config file, at `now`: what was posted.
fn tick_with_config(db: &TestDb, config: &str, now: &str) -> Vec<Value> {
    let out = keel(
        &[
            "tick", "--db", &db.url, "--config", config, "--now", now, "--format", "json",
        ],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

/// The kinds and recipients in these messages, as `kind→to` (a task card shown anew after an
/// escalation is no notice: the cards' own tests follow them).
fn notices(posted: &[Value]) -> Vec<String> {
    posted
        .iter()
        .filter(|m| m["kind"] != "standup_prompt" && m["kind"] != "card_update")
        .map(|m| {
            format!(
                "{}→{}",
                m["kind"].as_str().unwrap_or(""),
                m["to"].as_str().unwrap_or("")
            )
        })
        .collect()
}

on_both_backends!(nudges_sla_and_escalations_arrive_in_business_hours_once, |backend| {
    let db = TestDb::new(backend);
    // Team in UTC, 09:00–17:00 Mon–Fri. lea (admin) and sam; acme is a client without an owner.
    chat(&db, "2026-11-20T12:00:00Z", &["--as", "lea"], "back\n");
    chat(&db, "2026-11-20T12:00:00Z", &["--as", "sam"], "back\n");
    chat(
        &db,
        "2026-11-20T12:00:00Z",
        &["--as", "lea", "--channel", "general"],
        "@keel client add acme \"Acme Corp\" #acme\n",
    );
    assert!(notices(&tick(&db, "2026-11-23T08:00:00Z")).is_empty());
    // Mon 23 Nov 10:00: bob asks (normal priority: first response 8 h, resolution 48 h);
    // lea gives it to sam at once (the last activity).
    chat(
        &db,
        "2026-11-23T10:00:00Z",
        &["--as", "bob", "--client", "acme", "--channel", "acme"],
        "The invoice export is broken\n",
    );
    chat(
        &db,
        "2026-11-23T10:00:00Z",
        &["--as", "lea", "--channel", "general"],
        "@keel assign #1 @sam\n",
    );
    // First response: 75 % of 8 business hours = 6 h → Mon 16:00.
    assert!(notices(&tick(&db, "2026-11-23T15:55:00Z")).is_empty());
    assert_eq!(notices(&tick(&db, "2026-11-23T16:00:00Z")), ["sla_warning→sam"]);
    // Breach at 8 business hours: Mon 10–17 (7 h) + Tue 09–10 (1 h) → Tue 10:00; the owner hears,
    // and the escalation goes to the leads. Nothing in the night between.
    assert!(notices(&tick(&db, "2026-11-23T23:00:00Z")).is_empty());
    assert!(notices(&tick(&db, "2026-11-24T09:55:00Z")).is_empty());
    assert_eq!(
        notices(&tick(&db, "2026-11-24T10:00:00Z")),
        ["sla_breach→sam", "escalation→lea"]
    );
    // Stalled: 2 business days of sam's (16 h) after Mon 10:00 → Wed 10:00, again Fri 10:00.
    assert!(notices(&tick(&db, "2026-11-25T09:55:00Z")).is_empty());
    assert_eq!(notices(&tick(&db, "2026-11-25T10:00:00Z")), ["nudge→sam"]);
    assert!(notices(&tick(&db, "2026-11-25T16:00:00Z")).is_empty(), "no repeat");
    // Resolution: 75 % of 48 business hours = 36 h → Fri 14:00; the second nudge at Fri 10:00.
    assert_eq!(notices(&tick(&db, "2026-11-27T10:00:00Z")), ["nudge→sam"]);
    assert_eq!(notices(&tick(&db, "2026-11-27T14:00:00Z")), ["sla_warning→sam"]);
    // After 2 nudges, at 6 business days (48 h: Tue 1 Dec 10:00) the stalled task is escalated;
    // the resolution target (48 h) is breached at the same moment, with its own escalation.
    assert!(notices(&tick(&db, "2026-11-30T10:00:00Z")).is_empty());
    assert_eq!(
        notices(&tick(&db, "2026-12-01T10:00:00Z")),
        ["escalation→lea", "sla_breach→sam", "escalation→lea"]
    );
    assert!(notices(&tick(&db, "2026-12-02T10:00:00Z")).is_empty());
    // The log shows the nudges and the escalations (they count in the escalation rate).
    let kinds: Vec<String> = support::events(&db)
        .iter()
        .filter(|e| e["task"] == 1 || e["task_id"] == 1)
        .map(|e| e["kind"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "nudged").count(), 2, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "escalated").count(), 3, "{kinds:?}");
});

on_both_backends!(a_weekend_request_is_warned_about_on_monday_morning, |backend| {
    let db = TestDb::new(backend);
    chat(&db, "2026-11-20T12:00:00Z", &["--as", "lea"], "back\n");
    chat(
        &db,
        "2026-11-20T12:00:00Z",
        &["--as", "lea", "--channel", "general"],
        "@keel client add acme \"Acme Corp\" #acme\n",
    );
    // Fri 27 Nov 16:30, urgent (first response 1 h): 30 min on Friday, the rest on Monday.
    chat(
        &db,
        "2026-11-27T16:30:00Z",
        &["--as", "carol", "--client", "acme", "--channel", "acme"],
        "urgent: checkout fails for every customer\n",
    );
    assert!(notices(&tick(&db, "2026-11-28T12:00:00Z")).is_empty(), "Saturday");
    assert!(notices(&tick(&db, "2026-11-30T09:14:00Z")).is_empty());
    // 75 % of 1 h = 45 min: 30 on Friday + 15 on Monday → Mon 09:15; nobody owns it: the leads.
    assert_eq!(notices(&tick(&db, "2026-11-30T09:15:00Z")), ["sla_warning→lea"]);
    assert_eq!(
        notices(&tick(&db, "2026-11-30T09:30:00Z")),
        ["sla_breach→lea", "escalation→lea"]
    );
});

on_both_backends!(silent_clients_and_overloaded_owners_are_flagged_once, |backend| {
    let db = TestDb::new(backend);
    let config = std::env::temp_dir().join(format!("keel-overload-{}-{backend}.toml", std::process::id()));
    std::fs::write(&config, "[schedules]\noverload_tasks = 2\n").expect("config");
    let config = config.to_string_lossy().to_string();
    let with = |db: &TestDb, now: &str, who: &[&str], lines: &str| chat_with(db, &config, now, who, lines);
    let tick_with = |db: &TestDb, now: &str| {
        notices(&tick_with_config(db, &config, now))
            .into_iter()
            .filter(|n| n.starts_with("overload") || n.starts_with("silent_client"))
            .collect::<Vec<_>>()
    };
    with(&db, "2026-11-02T10:00:00Z", &["--as", "lea"], "back\n");
    with(&db, "2026-11-02T10:00:00Z", &["--as", "sam"], "back\n");
    with(
        &db,
        "2026-11-02T10:00:00Z",
        &["--as", "lea", "--channel", "general"],
        "@keel client add acme \"Acme Corp\" #acme owner @sam\n\
         @keel track renew the certificate @sam\n@keel track update the docs @sam\n@keel track call the bank @sam\n",
    );
    // Three active tasks for sam, more than 2: sam and the leads hear, once that week.
    assert_eq!(tick_with(&db, "2026-11-02T10:15:00Z"), ["overload→sam", "overload→lea"]);
    assert!(tick_with(&db, "2026-11-03T10:15:00Z").is_empty());
    // Acme has had no touchpoint since it was added on Mon 2 Nov: on Mon 16 Nov its owner hears.
    // Two weeks later, still overloaded: once in the new week.
    assert_eq!(tick_with(&db, "2026-11-16T09:45:00Z"), ["overload→sam", "overload→lea"]);
    assert_eq!(tick_with(&db, "2026-11-16T10:00:00Z"), ["silent_client→sam"]);
    assert!(tick_with(&db, "2026-11-17T10:00:00Z").is_empty());
});

on_both_backends!(meet_finds_the_earliest_shared_hours_in_each_zone, |backend| {
    let db = TestDb::new(backend);
    chat(&db, "2026-11-23T12:00:00Z", &["--as", "lea"], "tz America/New_York\n");
    chat(&db, "2026-11-23T12:00:00Z", &["--as", "ben"], "tz Europe/Berlin\n");
    chat(&db, "2026-11-23T12:00:00Z", &["--as", "ben"], "away until 2026-11-24\n");
    // Mon 23 Nov 12:00Z. New York 09–17 EST = 14–22Z, Berlin 09–17 CET = 08–16Z: 14:00–16:00Z
    // each working day; ben is away Monday and Tuesday, so Wednesday 09:00 EST = 15:00 CET.
    let said = chat(
        &db,
        "2026-11-23T12:00:00Z",
        &["--as", "lea"],
        "meet @ben 30m\nmeet @ben 3h\nmeet @nobody 30m\n",
    );
    assert!(
        said.contains(
            "30 min with @lea, @ben: 1) Wed 25 Nov 2026 09:00 EST (lea Wed 09:00 EST · ben Wed 15:00 CET); \
             2) Wed 25 Nov 2026 09:30 EST"
        ),
        "{said}"
    );
    assert!(said.contains("no 180-minute slot where @lea, @ben all work"), "{said}");
    assert!(said.contains("I don't know @nobody"), "{said}");
});

on_both_backends!(
    a_flood_of_notices_comes_twenty_a_sweep_with_one_line_for_the_rest,
    |backend| {
        let db = TestDb::new(backend);
        let config = std::env::temp_dir().join(format!("keel-flood-{}-{backend}.toml", std::process::id()));
        std::fs::write(&config, "[capture]\ngroup_minutes = 0\n").expect("config");
        let config = config.to_string_lossy().to_string();
        let with = |now: &str, who: &[&str], lines: &str| chat_with(&db, &config, now, who, lines);
        with("2026-11-20T12:00:00Z", &["--as", "lea"], "back\n");
        with(
            "2026-11-20T12:00:00Z",
            &["--as", "lea", "--channel", "general"],
            "@keel client add acme \"Acme Corp\" #acme\n",
        );
        // Mon 30 Nov 09:00: 25 urgent requests nobody owns (first response 1 h, warned at 45 min):
        // every notice goes to lea, the lead.
        let requests: String = (1..=25)
            .map(|i| format!("urgent: checkout fails on shop {i}\n"))
            .collect();
        with(
            "2026-11-30T09:00:00Z",
            &["--as", "carol", "--client", "acme", "--channel", "acme"],
            &requests,
        );
        assert_eq!(support::tasks_json(&db).len(), 25);
        let sweep = |now: &str| -> (Vec<String>, Vec<String>) {
            let posted = tick_with_config(&db, &config, now);
            let held = posted
                .iter()
                .filter(|m| m["kind"] == "notices_held")
                .map(|m| {
                    format!(
                        "{}: {}",
                        m["to"].as_str().unwrap_or(""),
                        m["text"].as_str().unwrap_or("")
                    )
                })
                .collect();
            let given = notices(&posted)
                .into_iter()
                .filter(|n| !n.starts_with("notices_held"))
                .collect();
            (given, held)
        };
        let count = |given: &[String], what: &str| given.iter().filter(|n| *n == what).count();
        // 09:45: twenty warnings and one line about the five that wait.
        let (given, held) = sweep("2026-11-30T09:45:00Z");
        assert_eq!(count(&given, "sla_warning→lea"), 20, "{given:?}");
        assert_eq!(given.len(), 20, "{given:?}");
        assert_eq!(held.len(), 1, "{held:?}");
        assert!(held[0].starts_with("lea: …and 5 more notices"), "{held:?}");
        // 10:00: all 25 breached, each with its escalation to the lead: 50 due, 20 now.
        let (given, held) = sweep("2026-11-30T10:00:00Z");
        assert_eq!(given.len(), 20, "{given:?}");
        assert_eq!(count(&given, "sla_breach→lea"), 10, "{given:?}");
        assert!(held.len() == 1 && held[0].contains("30 more"), "{held:?}");
        let (given, held) = sweep("2026-11-30T10:15:00Z");
        assert_eq!(given.len(), 20, "{given:?}");
        assert!(held.len() == 1 && held[0].contains("10 more"), "{held:?}");
        // The last ten, and no line: nothing waits.
        let (given, held) = sweep("2026-11-30T10:30:00Z");
        assert_eq!(count(&given, "sla_breach→lea"), 5, "{given:?}");
        assert_eq!(count(&given, "escalation→lea"), 5, "{given:?}");
        assert!(held.is_empty(), "{held:?}");
        // Each went once.
        assert_eq!(sweep("2026-11-30T10:45:00Z"), (vec![], vec![]));
    }
);

on_both_backends!(
    a_task_nobody_owns_is_nudged_to_the_clients_owner_else_the_leads,
    |backend| {
        let db = TestDb::new(backend);
        chat(&db, "2026-11-20T12:00:00Z", &["--as", "lea"], "back\n");
        chat(&db, "2026-11-20T12:00:00Z", &["--as", "sam"], "back\n");
        chat(
            &db,
            "2026-11-20T12:00:00Z",
            &["--as", "lea", "--channel", "general"],
            "@keel client add acme \"Acme Corp\" #acme\n@keel client add globex \"Globex\" #globex\n",
        );
        // Mon 23 Nov 10:00: two requests, neither client has an owner yet, nobody answers.
        for (who, client) in [("bob", "acme"), ("gil", "globex")] {
            chat(
                &db,
                "2026-11-23T10:00:00Z",
                &["--as", who, "--client", client, "--channel", client],
                "The invoice export is broken\n",
            );
        }
        chat(
            &db,
            "2026-11-23T11:00:00Z",
            &["--as", "lea", "--channel", "general"],
            "@keel client owner acme @sam\n",
        );
        let owners: Vec<Value> = support::tasks_json(&db).iter().map(|t| t["owner"].clone()).collect();
        assert_eq!(owners, [Value::Null, Value::Null]);
        // Stalled after 2 business days (Wed 10:00): acme's task to its client's owner, globex's
        // (no client owner) to the leads.
        let nudges = |posted: &[Value]| -> Vec<String> {
            notices(posted).into_iter().filter(|n| n.starts_with("nudge")).collect()
        };
        assert!(nudges(&tick(&db, "2026-11-25T09:55:00Z")).is_empty());
        assert_eq!(nudges(&tick(&db, "2026-11-25T10:00:00Z")), ["nudge→sam", "nudge→lea"]);
        assert!(nudges(&tick(&db, "2026-11-25T16:00:00Z")).is_empty(), "no repeat");
    }
);

on_both_backends!(standup_set_without_a_schedule_runs_at_nine_on_weekdays, |backend| {
    let db = TestDb::new(backend);
    let said = chat(
        &db,
        "2026-11-23T12:00:00Z",
        &["--as", "lea", "--channel", "standup"],
        "@keel standup set\n",
    );
    assert!(
        said.starts_with("[#standup] keel: standup set: \"0 9 * * 1-5\" in each member's own time zone, 3 questions, summary in #standup; your next prompt: Tue 24 Nov 2026 09:00 UTC"),
        "{said}"
    );
    assert_eq!(prompted(&tick(&db, "2026-11-24T09:00:00Z")), ["lea"]);
});

on_both_backends!(kpi_weekly_here_makes_the_channel_the_weekly_summarys, |backend| {
    let db = TestDb::new(backend);
    // The weekly job's first run only schedules the next Monday.
    assert!(tick(&db, "2026-11-20T12:00:00Z")
        .iter()
        .all(|m| m["kind"] != "weekly_kpi"));
    let said = chat(
        &db,
        "2026-11-20T12:00:00Z",
        &["--as", "lea", "--channel", "leads"],
        "@keel kpi weekly here\n",
    );
    assert_eq!(
        said,
        "[#leads] keel: the weekly KPI summary goes to #leads, Mondays 09:00 team time\n"
    );
    let refused = chat(
        &db,
        "2026-11-20T12:00:00Z",
        &["--as", "sam", "--channel", "random"],
        "@keel kpi weekly here\n",
    );
    assert!(
        refused.contains("only leads and admins can choose the weekly KPI channel"),
        "{refused}"
    );
    let monday: Vec<Value> = tick(&db, "2026-11-23T09:00:00Z")
        .into_iter()
        .filter(|m| m["kind"] == "weekly_kpi")
        .collect();
    assert!(!monday.is_empty(), "the summary is posted on Monday");
    assert!(monday.iter().all(|m| m["channel"] == "leads"), "{monday:?}");
    assert!(
        monday[0]["text"].as_str().unwrap_or("").starts_with("Weekly summary: "),
        "{monday:?}"
    );
});

/// `keel kpi` of one day, with an optional config file: the JSON report.
fn kpi_day(db: &TestDb, config: Option<&str>, day: &str) -> Value {
    let mut args = vec!["kpi", "--db", &db.url, "--from", day, "--to", day, "--format", "json"];
    if let Some(config) = config {
        args.extend_from_slice(&["--config", config]);
    }
    let out = keel(&args, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("kpi json")
}

on_both_backends!(a_clients_own_sla_targets_drive_its_warnings_and_compliance, |backend| {
    let db = TestDb::new(backend);
    let lea = ["--as", "lea", "--channel", "general"];
    let sam = ["--as", "sam", "--channel", "general"];
    chat(
        &db,
        "2026-11-20T12:00:00Z",
        &lea,
        "@keel client add acme \"Acme Corp\" #acme\n",
    );
    chat(
        &db,
        "2026-11-20T12:00:00Z",
        &lea,
        "@keel client add globex \"Globex\" #globex\n",
    );
    let set = chat(
        &db,
        "2026-11-20T12:00:00Z",
        &lea,
        "@keel client sla acme urgent 40m 2h\n",
    );
    assert_eq!(
        set,
        "[#general] keel: client acme SLA urgent: first response 40m, resolution 2h in business time (team: 1h / 4h)\n"
    );
    let refused = chat(&db, "2026-11-20T12:00:00Z", &sam, "@keel client sla acme high 1h 2h\n");
    assert_eq!(
        refused,
        "[#general] keel: only leads and admins can change SLA targets\n"
    );
    let shown = chat(&db, "2026-11-20T12:00:00Z", &sam, "@keel client sla acme\n");
    assert_eq!(
        shown,
        [
            "[#general] keel: client acme SLA, business time (first response / resolution):",
            "    urgent 40m / 2h (own)",
            "    high 4h / 24h (team)",
            "    normal 8h / 48h (team)",
            "    low 24h / 120h (team)\n",
        ]
        .join("\n")
    );
    let card = chat(&db, "2026-11-20T12:00:00Z", &sam, "@keel client show acme\n");
    assert!(
        card.contains("SLA of its own: urgent 40m / 2h (the team's for the rest)"),
        "{card}"
    );
    let bad = chat(
        &db,
        "2026-11-20T12:00:00Z",
        &lea,
        "@keel client sla acme urgent 30s 2h\n",
    );
    assert!(bad.contains("\"30s\" is not a span of business time"), "{bad}");

    // Mon 23 Nov 10:00: the same urgent request from each client, both given to sam.
    for (who, client) in [("bob", "acme"), ("carol", "globex")] {
        chat(
            &db,
            "2026-11-23T10:00:00Z",
            &["--as", who, "--client", client, "--channel", client],
            "Urgent: the site is down\n",
        );
    }
    chat(
        &db,
        "2026-11-23T10:00:00Z",
        &lea,
        "@keel assign #1 @sam\n@keel assign #2 @sam\n",
    );
    // acme: 75 % of 40 min is 30 min → the 10:30 sweep; globex: 75 % of the team's hour → 10:45,
    // when acme's first response is breached (40 min).
    assert!(notices(&tick(&db, "2026-11-23T10:15:00Z")).is_empty());
    assert_eq!(notices(&tick(&db, "2026-11-23T10:30:00Z")), ["sla_warning→sam"]);
    let mut at_10_45 = notices(&tick(&db, "2026-11-23T10:45:00Z"));
    at_10_45.sort();
    assert_eq!(at_10_45, ["escalation→lea", "sla_breach→sam", "sla_warning→sam"]);

    // sam answers both at 10:50 and closes both at 11:00: acme's first response missed its 40
    // minutes, globex's met the team's hour; both resolutions met theirs (2 h, 4 h).
    for client in ["acme", "globex"] {
        chat(
            &db,
            "2026-11-23T10:50:00Z",
            &["--as", "sam", "--channel", client],
            "Looking into it now\n",
        );
    }
    chat(&db, "2026-11-23T11:00:00Z", &sam, "@keel done #1\n@keel done #2\n");
    let sla = |kpi: &Value| {
        let s = &kpi["sla_compliance"];
        (s["decided"].as_i64(), s["met"].as_i64())
    };
    assert_eq!(sla(&kpi_day(&db, None, "2026-11-23")), (Some(2), Some(1)));

    // The configuration's targets win over chat's: globex's 20 minutes make its answer late too,
    // and chat cannot change what the configuration sets.
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("keel.toml");
    std::fs::write(
        &config,
        "[clients.globex.sla]\nurgent = { first_response = \"20m\", resolution = \"1h\" }\n",
    )
    .expect("config");
    let config = config.to_str().expect("path");
    assert_eq!(sla(&kpi_day(&db, Some(config), "2026-11-23")), (Some(2), Some(0)));
    let out = keel(
        &[
            "chat",
            "--db",
            &db.url,
            "--config",
            config,
            "--now",
            "2026-11-23T12:00:00Z",
            "--as",
            "lea",
            "--channel",
            "general",
        ],
        "@keel client sla globex urgent 2h 8h\n",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[#general] keel: client globex's urgent targets are set in the configuration ([clients.globex.sla]), which wins; change them there\n"
    );

    // Back to the team's targets: both requests met them.
    let reset = chat(&db, "2026-11-23T12:00:00Z", &lea, "@keel client sla acme reset\n");
    assert_eq!(
        reset,
        "[#general] keel: client acme SLA reset: the team's targets again\n"
    );
    assert_eq!(sla(&kpi_day(&db, None, "2026-11-23")), (Some(2), Some(2)));
    let again = chat(&db, "2026-11-23T12:00:00Z", &lea, "@keel client sla acme reset\n");
    assert_eq!(
        again,
        "[#general] keel: client acme has no SLA targets of its own set in chat\n"
    );
});

on_both_backends!(a_client_chasing_is_heard_once_a_day_in_the_owners_hours, |backend| {
    // Mon 23 Nov 2026, the team in UTC working 09:00-17:00.
    let db = TestDb::new(backend);
    let lea = ["--as", "lea", "--channel", "general"];
    let bob = ["--as", "bob", "--client", "acme", "--channel", "acme"];
    chat(
        &db,
        "2026-11-23T09:00:00Z",
        &lea,
        "@keel client add acme \"Acme Corp\" #acme\n",
    );
    chat(
        &db,
        "2026-11-23T10:00:00Z",
        &bob,
        "The invoice export fails for November\n",
    );
    chat(&db, "2026-11-23T10:05:00Z", &lea, "@keel assign #1 @sam\n");
    let chases = |posted: &[Value]| -> Vec<String> {
        posted
            .iter()
            .filter(|m| m["kind"] == "chase")
            .map(|m| {
                format!(
                    "{}: {}",
                    m["to"].as_str().unwrap_or(""),
                    m["text"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    tick(&db, "2026-11-23T10:05:00Z");

    // 11:00 bob asks after it: no new task, and sam hears at once.
    let said = chat(&db, "2026-11-23T11:00:00Z", &bob, "Hi, any update on this?\n");
    assert_eq!(said, "", "a chase gets no answer in the channel");
    assert_eq!(
        chases(&tick(&db, "2026-11-23T11:00:00Z")),
        ["sam: bob is chasing #1 \"The invoice export fails for November\" (#acme): \"Hi, any update on this?\" — chased 1× so far. Answer in its thread, or `show #1`."]
    );
    // 13:00 again: recorded, but sam heard today already.
    chat(&db, "2026-11-23T13:00:00Z", &bob, "any news?\n");
    assert!(chases(&tick(&db, "2026-11-23T13:00:00Z")).is_empty());
    // 20:00, after sam's hours: sam hears at 09:00 the next morning, not before.
    chat(&db, "2026-11-23T20:00:00Z", &bob, "following up\n");
    assert!(chases(&tick(&db, "2026-11-23T20:00:00Z")).is_empty());
    assert!(chases(&tick(&db, "2026-11-24T08:45:00Z")).is_empty());
    let morning = chases(&tick(&db, "2026-11-24T09:00:00Z"));
    assert_eq!(morning.len(), 1, "{morning:?}");
    assert!(
        morning[0].starts_with("sam: bob is chasing #1") && morning[0].contains("chased 3×"),
        "{morning:?}"
    );

    let tasks = support::tasks_json(&db);
    assert_eq!(tasks.len(), 1, "no chase became a task: {tasks:#?}");
    let card = chat(&db, "2026-11-24T09:05:00Z", &lea, "@keel show #1\n");
    assert!(card.contains("chased 3×"), "{card}");
    assert!(card.contains("bob chased \"following up\""), "{card}");
    let out = keel(
        &[
            "kpi",
            "--db",
            &db.url,
            "--from",
            "2026-11-23",
            "--to",
            "2026-11-24",
            "--format",
            "json",
        ],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let kpi: Value = serde_json::from_slice(&out.stdout).expect("kpi json");
    assert_eq!(
        kpi["chases"],
        serde_json::json!({"per_client": {"acme": 3}, "previous": 0, "tasks": 1, "value": 3})
    );
});
