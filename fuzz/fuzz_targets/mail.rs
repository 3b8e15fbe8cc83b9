//! Any bytes as a raw mail: `read` reads them or says in one line why not, and never panics;
//! what it reads keeps its limits, turns into the core's event (or none), and its subject and
//! addresses give a task token and plus tags.
#![no_main]

use chrono::{Duration, TimeZone, Utc};
use keel_chat::InboundKind;
use keel_email::inbound::{to_inbound, Mailbox};
use keel_email::read::{plus_tag, read, task_token, MAX_TEXT_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mail = match read(data) {
        Ok(mail) => mail,
        Err(why) => {
            let line = why.to_string();
            assert!(!line.is_empty() && !line.contains('\n'), "{line:?}");
            return;
        }
    };
    assert!(mail.full_text.len() <= MAX_TEXT_BYTES, "{}", mail.full_text.len());
    assert!(!mail.full_text.contains('\r'));
    assert!(mail.text.len() <= mail.full_text.len(), "{mail:?}");
    assert_eq!(mail.text.trim(), mail.text);
    assert!(mail.attachments.len() <= 500);
    if let Some(number) = task_token(&mail.subject) {
        assert!(number < 1_000_000_000);
    }
    for address in mail.to.iter().chain(&mail.cc).chain(&mail.from) {
        assert_eq!(address.email, address.email.to_lowercase());
        if let Some(tag) = plus_tag(&address.email) {
            assert!(!tag.is_empty());
        }
    }
    let mailbox = Mailbox {
        address: "support@keel.test".into(),
        team_domains: vec!["keel.test".into()],
    };
    let at = Utc.with_ymd_and_hms(2026, 12, 10, 12, 0, 0).single().expect("time");
    let automatic = mail.automatic.is_some();
    let Some(event) = to_inbound(mail, "uid:1:1", at, &mailbox) else {
        return;
    };
    assert!(!automatic);
    assert_eq!(event.event_id, format!("mail:{}", event.message_id));
    assert!(event.at <= at + Duration::days(1));
    match &event.kind {
        InboundKind::Mail(mail) => assert!(mail.references.len() <= 50),
        other => panic!("not a mail: {other:?}"),
    }
});
