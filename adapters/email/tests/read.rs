//! Reading mail as real clients write it (tests/mails/*.eml: Gmail, Outlook, Apple Mail,
//! auto-replies, bounces, lists, attachments, old charsets, broken MIME), and generated mails
//! that try to make reading slow or large, then turning them into the core's events.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use keel_chat::{Address, Attachment, Inbound, InboundKind, Mail};
use keel_email::inbound::{to_inbound, Mailbox};
use keel_email::read::{plus_tag, read, task_token, ReadMail, Unreadable, MAX_TEXT_BYTES};

fn raw(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/mails/{name}.eml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn mail(name: &str) -> ReadMail {
    read(&raw(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A mail written here: header lines and body, joined with CRLF as a client sends them.
fn written(lines: &[&str]) -> ReadMail {
    read(lines.join("\r\n").as_bytes()).expect("reads")
}

fn mailbox() -> Mailbox {
    Mailbox {
        address: "support@keel.test".into(),
        team_domains: vec!["keel.test".into()],
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 10, 12, 0, 0).single().expect("time")
}

fn inbound(mail: ReadMail) -> Inbound {
    to_inbound(mail, "uid:42:7", now(), &mailbox()).expect("an event")
}

fn mail_of(event: &Inbound) -> &Mail {
    match &event.kind {
        InboundKind::Mail(mail) => mail,
        other => panic!("not a mail: {other:?}"),
    }
}

fn address(email: &str, name: &str) -> Address {
    Address {
        email: email.into(),
        name: name.into(),
    }
}

const GMAIL_ROOT: &str = "CAJ7f2Lm9x8Yq=Ww3+Kc1pVb7N0sTuRz5eHgQ4aXy2Bd6Fk@mail.gmail.com";
const GMAIL_REPLY: &str = "CAJ7f2LnQ4w1=Zp8+Kc3rVb9N2sTuRz7eHgQ6aXy4Bd8Gm@mail.gmail.com";

#[test]
fn a_gmail_request_reads_with_its_sign_off_left_out() {
    let read = mail("gmail-new-request");
    assert_eq!(read.subject, "Q3 invoice");
    assert_eq!(read.from, Some(address("bob@acme.com", "Bob Smith")));
    assert_eq!(read.to, vec![address("support+acme@keel.test", "Acme Support")]);
    assert_eq!(read.message_id.as_deref(), Some(GMAIL_ROOT));
    assert_eq!(read.date, Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).single());
    assert_eq!(
        read.full_text,
        "Hi team,\n\nCould you send the Q3 invoice by Friday? It's urgent.\n\nThanks,\nBob"
    );
    assert_eq!(
        read.text,
        "Hi team,\n\nCould you send the Q3 invoice by Friday? It's urgent."
    );
    assert_eq!(read.delivered_to, vec!["support+acme@keel.test"]);
    assert!(read.attachments.is_empty() && read.automatic.is_none());

    let event = inbound(read);
    assert_eq!(event.adapter, "email");
    assert_eq!(event.message_id, GMAIL_ROOT);
    assert_eq!(event.event_id, format!("mail:{GMAIL_ROOT}"));
    assert_eq!(
        event.at,
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).single().expect("time")
    );
    assert_eq!((event.thread.as_deref(), event.reply_to.as_deref()), (None, None));
    assert_eq!(event.speaker.id, "bob@acme.com");
    assert_eq!(event.speaker.name, "Bob Smith");
    assert!(event.speaker.external);
    assert_eq!(event.speaker.client_hint.as_deref(), Some("acme"));
    assert_eq!(event.conversation.id, "bob@acme.com");
    assert!(event.conversation.direct);
    let mail = mail_of(&event);
    assert_eq!(mail.tag.as_deref(), Some("acme"));
    assert_eq!(mail.subject, "Q3 invoice");
    assert!(mail.references.is_empty());
}

#[test]
fn a_gmail_reply_reads_without_its_quoted_history() {
    let read = mail("gmail-reply");
    assert_eq!(read.text, "Great, thanks. Could you also add the PO number 4711 to it?");
    assert!(read
        .full_text
        .contains("> On Mon, Dec 7, 2026 at 10:00 AM Bob Smith <bob@acme.com> wrote:"));
    assert_eq!(read.references, vec![GMAIL_ROOT, "keel.task-12.1@keel.test"]);
    assert_eq!(read.in_reply_to.as_deref(), Some("keel.task-12.1@keel.test"));
    assert_eq!(task_token(&read.subject), Some(12));

    let event = inbound(read);
    assert_eq!(event.thread.as_deref(), Some(GMAIL_ROOT));
    assert_eq!(event.reply_to.as_deref(), Some("keel.task-12.1@keel.test"));
    assert_eq!(mail_of(&event).references, vec!["keel.task-12.1@keel.test", GMAIL_ROOT]);
}

#[test]
fn an_outlook_html_reply_reads_without_its_header_block_and_signature() {
    let read = mail("outlook-reply");
    assert_eq!(read.text, "Hi,\n\nthe PO number is 4711. Please put it on the invoice.");
    assert!(read
        .full_text
        .contains("________________________________\n\nFrom: Keel Support <support@keel.test>\nSent:"));
    assert_eq!(read.from, Some(address("anna.meyer@globex.example", "Meyer, Anna")));
    assert_eq!(read.subject, "RE: [#12] Q3 invoice");
    // Outlook sets X-Auto-Response-Suppress on mail people write.
    assert_eq!(read.automatic, None);
    let event = inbound(read);
    assert_eq!(event.speaker.client_hint, None);
    assert_eq!(event.thread.as_deref(), Some("keel.task-12.1@keel.test"));
}

#[test]
fn replies_from_phones_and_other_languages_keep_only_what_they_add() {
    for (name, text) in [
        ("apple-mail-reply", "Yes, Friday works for us."),
        ("inline-reply", "Firefox 133 on Windows.\n\nOnly for files over 10 MB."),
        (
            "german-reply",
            "Hallo,\n\ndie Rechnung ist angekommen, vielen Dank. Können Sie sie bis Freitag auch als XRechnung schicken?",
        ),
        ("french-reply", "Bonjour,\n\nMerci, c'est noté. Pouvez-vous aussi envoyer le bon de commande ?"),
        ("thanks-only", "Thanks!"),
    ] {
        let read = mail(name);
        assert_eq!(read.text, text, "{name}");
        assert!(read.automatic.is_none(), "{name}");
    }
    assert_eq!(
        inbound(mail("apple-mail-reply")).speaker.client_hint.as_deref(),
        Some("initech")
    );
}

#[test]
fn an_html_only_mail_reads_as_text_and_is_answered_at_its_reply_to() {
    let read = mail("html-only");
    assert_eq!(
        read.full_text,
        "New message\n\nThe export button does nothing since this morning.\nWe need the report for the board \
         meeting tomorrow.\n\nName\nDana Scott\nPhone\n+1 555 0100\n\nVisit your account & more."
    );
    assert_eq!(read.reply_to, Some(address("dana@initech.example", "Dana Scott")));
    let event = inbound(read);
    assert_eq!(event.speaker.id, "noreply-form@initech.example");
    assert_eq!(event.conversation.id, "dana@initech.example");
    assert_eq!(event.conversation.name, "dana@initech.example");
}

#[test]
fn a_colleagues_reply_all_keeps_the_thread_and_everyone_in_copy() {
    let read = mail("reply-all-colleague");
    assert_eq!(
        read.cc,
        vec![
            address("bob@acme.com", "Bob Smith"),
            address("eve@acme.com", "Eve Park"),
            address("anna@keel.test", "Anna Keel")
        ]
    );
    assert_eq!(
        read.text,
        "Adding: please send it to me as well, I handle the payment.\n\nDave"
    );
    let event = inbound(read.clone());
    assert_eq!(event.speaker.id, "dave@acme.com");
    assert!(event.speaker.external);
    assert_eq!(event.speaker.client_hint, None);
    assert_eq!(event.thread.as_deref(), Some(GMAIL_ROOT));
    assert_eq!(event.reply_to.as_deref(), Some(GMAIL_REPLY));
    let mail = mail_of(&event);
    assert_eq!(
        mail.references,
        vec![GMAIL_REPLY, "keel.task-12.1@keel.test", GMAIL_ROOT]
    );
    assert_eq!(mail.cc.len(), 3);

    // The same mail from a teammate: not external.
    let mut teammate = read;
    teammate.from = Some(address("anna@keel.test", ""));
    let event = inbound(teammate);
    assert!(!event.speaker.external);
    assert_eq!(event.speaker.name, "anna@keel.test");
}

#[test]
fn machines_mail_is_automatic_and_makes_no_event() {
    for (name, reason) in [
        ("out-of-office", "Auto-Submitted: auto-replied"),
        ("exchange-auto-reply", "Auto-Submitted: auto-generated"),
        ("bounce", "Return-Path: <>"),
        ("mailing-list", "List-Id: Developers <dev.lists.example.org>"),
    ] {
        let read = mail(name);
        assert_eq!(read.automatic.as_deref(), Some(reason), "{name}");
        assert!(to_inbound(read, "uid:1:1", now(), &mailbox()).is_none(), "{name}");
    }
    let bounce = mail("bounce");
    assert_eq!(
        bounce.from,
        Some(address("mailer-daemon@mx.acme.com", "Mail Delivery System"))
    );
    assert!(bounce.full_text.contains("550 5.1.1 User unknown"));
}

#[test]
fn each_sign_of_an_automatic_mail_is_read() {
    let head = ["From: Bob <bob@acme.com>", "To: support@keel.test", "Subject: hi"];
    let automatic = |extra: &[&str]| {
        let lines: Vec<&str> = head.iter().chain(extra).copied().chain(["", "body"]).collect();
        written(&lines).automatic
    };
    assert_eq!(automatic(&[]), None);
    assert_eq!(automatic(&["Auto-Submitted: no"]), None);
    assert_eq!(automatic(&["AUTO-SUBMITTED: No (a person wrote this)"]), None);
    assert_eq!(automatic(&["X-Auto-Response-Suppress: All"]), None);
    assert_eq!(automatic(&["Precedence: first-class"]), None);
    assert_eq!(
        automatic(&["Auto-Submitted: auto-notified"]).as_deref(),
        Some("Auto-Submitted: auto-notified")
    );
    assert_eq!(
        automatic(&["X-Autorespond: yes"]).as_deref(),
        Some("X-Autorespond: yes")
    );
    assert_eq!(automatic(&["x-autoreply: YES"]).as_deref(), Some("X-Autoreply: YES"));
    assert_eq!(automatic(&["Precedence: Junk"]).as_deref(), Some("Precedence: junk"));
    assert_eq!(
        automatic(&["Precedence: auto_reply"]).as_deref(),
        Some("Precedence: auto_reply")
    );
    assert_eq!(automatic(&["Return-Path: <>"]).as_deref(), Some("Return-Path: <>"));
    assert_eq!(
        automatic(&["Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\""]).as_deref(),
        Some("Content-Type: multipart/report; report-type=delivery-status")
    );
    for sender in ["MAILER-DAEMON@mx.acme.com", "postmaster@acme.com"] {
        let mail = written(&[&format!("From: {sender}"), "Subject: failure", "", "body"]);
        assert_eq!(mail.automatic, Some(format!("From: {}", sender.to_lowercase())));
    }
}

#[test]
fn attachments_are_listed_with_their_decoded_size_and_inline_images_are_not() {
    let read = mail("pdf-attachment");
    assert_eq!(read.text, "Here is the signed contract.");
    assert_eq!(
        read.attachments,
        vec![
            Attachment {
                name: "diagram.png".into(),
                content_type: "image/png".into(),
                size: 66
            },
            Attachment {
                name: "Contract Q3 (signed).pdf".into(),
                content_type: "application/pdf".into(),
                size: 426
            },
        ]
    );
    assert_eq!(mail_of(&inbound(read)).attachments.len(), 2);
}

#[test]
fn old_charsets_and_raw_utf8_headers_are_decoded() {
    let latin1 = mail("latin1");
    assert_eq!(latin1.subject, "Réclamation : facture impayée");
    assert_eq!(latin1.from, Some(address("renee.mueller@exemple.fr", "Renée Müller")));
    assert!(latin1
        .full_text
        .contains("la facture n° 2026-114 est déjà payée, merci de vérifier."));

    let utf8 = mail("utf8-headers");
    assert_eq!(utf8.subject, "Grüße – Anfrage zu Lieferung 📦");
    assert_eq!(utf8.from, Some(address("juergen@beispiel.de", "Jürgen Groß")));

    let mut cp1252 = b"From: a@b.example\r\nSubject: =?windows-1252?Q?=93Preis=94?=\r\n".to_vec();
    cp1252.extend_from_slice(b"Content-Type: text/plain; charset=windows-1252\r\n\r\nTotal: 120 \x80, \x93net\x94\r\n");
    let windows = read(&cp1252).expect("reads");
    assert_eq!(windows.subject, "\u{201c}Preis\u{201d}");
    assert_eq!(windows.full_text, "Total: 120 €, \u{201c}net\u{201d}");
}

#[test]
fn a_mail_without_message_id_takes_the_fallback_id() {
    let read = mail("no-message-id");
    assert_eq!(read.message_id, None);
    let event = inbound(read);
    assert_eq!(event.message_id, "uid:42:7");
    assert_eq!(event.event_id, "mail:uid:42:7");
}

#[test]
fn broken_mime_reads_as_far_as_it_goes() {
    let broken = mail("broken-mime");
    assert_eq!(broken.subject, "Logs attached");
    assert_eq!(broken.text, "The app crashes at start, logs attached.");
    assert_eq!(broken.attachments.first().map(|a| a.name.as_str()), Some("crash.log"));
    // A header block alone, a multipart without any part, a boundary that never comes.
    for raw in [
        "From: a@b.example\r\nSubject: only headers",
        "From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n",
        "From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\ntext\r\n",
        "From: a@b.example\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\n\r\ntext\r\n--x--",
        "From: a@b.example\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!",
    ] {
        let read = read(raw.as_bytes()).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
        assert_eq!(
            read.from.as_ref().map(|a| a.email.as_str()),
            Some("a@b.example"),
            "{raw:?}"
        );
    }
}

#[test]
fn what_is_not_a_mail_is_unreadable() {
    assert_eq!(read(b""), Err(Unreadable::NoHeaders));
    assert_eq!(read(b"hello world\r\n\r\nmore"), Err(Unreadable::NoHeaders));
    assert_eq!(read(b"\r\n\r\nbody only"), Err(Unreadable::NoHeaders));
    assert_eq!(Unreadable::NoHeaders.to_string(), "no headers");
    let huge = vec![b'a'; 32 * 1024 * 1024 + 1];
    assert_eq!(read(&huge), Err(Unreadable::TooLarge));
    assert_eq!(Unreadable::TooLarge.to_string(), "larger than 32 MiB");
}

#[test]
fn no_sender_or_keels_own_address_makes_no_event() {
    let anonymous = written(&["To: support@keel.test", "Subject: who am I", "", "hello"]);
    assert_eq!(anonymous.from, None);
    assert_eq!(anonymous.subject, "who am I");
    assert!(to_inbound(anonymous, "uid:1:1", now(), &mailbox()).is_none());
    for own in ["support@keel.test", "Support+Acme@Keel.Test"] {
        let echo = written(&[&format!("From: Keel <{own}>"), "To: bob@acme.com", "", "#12 opened"]);
        assert!(to_inbound(echo, "uid:1:2", now(), &mailbox()).is_none(), "{own}");
    }
}

#[test]
fn the_date_is_believed_unless_it_is_far_in_the_future() {
    let dated = |date: &str| inbound(written(&["From: bob@acme.com", &format!("Date: {date}"), "", "x"])).at;
    assert_eq!(
        dated("Thu, 10 Dec 2026 20:00:00 +0000"),
        Utc.with_ymd_and_hms(2026, 12, 10, 20, 0, 0).unwrap()
    );
    assert_eq!(dated("Sat, 12 Dec 2026 12:00:00 +0000"), now());
    assert_eq!(dated("not a date"), now());
    assert_eq!(
        dated("Thu, 10 Dec 2026 08:30:00 -0500"),
        Utc.with_ymd_and_hms(2026, 12, 10, 13, 30, 0).unwrap()
    );
}

#[test]
fn references_are_answered_nearest_first_each_once_at_most_fifty() {
    let ids: Vec<String> = (0..80).map(|i| format!("<m{i}@x.example>")).collect();
    let references = format!("References: {} <m79@x.example>", ids.join("\r\n "));
    let read = written(&[
        "From: bob@acme.com",
        &references,
        "In-Reply-To: <m79@x.example>",
        "",
        "x",
    ]);
    assert_eq!(read.references.len(), 81);
    let event = inbound(read);
    assert_eq!(event.thread.as_deref(), Some("m0@x.example"));
    let answered = &mail_of(&event).references;
    assert_eq!(answered.len(), 50);
    assert_eq!(&answered[..3], ["m79@x.example", "m78@x.example", "m77@x.example"]);
}

#[test]
fn the_plus_tag_is_found_on_keels_address_wherever_it_was_delivered() {
    let tagged = |headers: &[&str]| {
        let lines: Vec<&str> = ["From: bob@acme.com"]
            .iter()
            .chain(headers)
            .copied()
            .chain(["", "x"])
            .collect();
        inbound(written(&lines)).speaker.client_hint
    };
    assert_eq!(tagged(&["To: support+Acme@keel.test"]).as_deref(), Some("acme"));
    assert_eq!(
        tagged(&["To: team@acme.com", "Cc: support+globex@keel.test"]).as_deref(),
        Some("globex")
    );
    assert_eq!(
        tagged(&["To: support@keel.test", "Delivered-To: <support+initech@keel.test>"]).as_deref(),
        Some("initech")
    );
    assert_eq!(
        tagged(&["X-Original-To: support+hooli@keel.test"]).as_deref(),
        Some("hooli")
    );
    // Another mailbox's tag is not a client of keel's.
    assert_eq!(tagged(&["To: sales+acme@keel.test, support@keel.test"]), None);
    assert_eq!(tagged(&["To: support+@keel.test"]), None);
}

#[test]
fn task_tokens_and_plus_tags_read_only_what_is_well_formed() {
    assert_eq!(task_token("Re: [#12] Q3 invoice"), Some(12));
    assert_eq!(task_token("[#7] and [#8]"), Some(7));
    assert_eq!(task_token("[#x] then [#3]"), Some(3));
    assert_eq!(task_token("[#123456789]"), Some(123_456_789));
    for none in ["[#1234567890]", "[#]", "#12", "[# 12]", "[#12", "[12]", "", "[#١٢]"] {
        assert_eq!(task_token(none), None, "{none}");
    }
    assert_eq!(plus_tag("support+acme@x.org").as_deref(), Some("acme"));
    assert_eq!(plus_tag("Support+ACME@X.org").as_deref(), Some("acme"));
    assert_eq!(plus_tag("support@x.org"), None);
    assert_eq!(plus_tag("support+@x.org"), None);
    assert_eq!(plus_tag("a+b@c+d.example").as_deref(), Some("b"));
}

#[test]
fn quoted_history_and_signatures_are_left_out_of_the_text() {
    for (body, text) in [
        ("Please call me.\n-- \nBob Smith\nACME", "Please call me."),
        (
            "Done.\n\n-----Original Message-----\nFrom: Keel\nSent: Monday\nTo: Bob\nSubject: x\n\nold",
            "Done.",
        ),
        (
            "Erledigt.\n\nVon: Keel Support\nGesendet: Montag, 7. Dezember 2026 10:05\nAn: Klaus\nBetreff: x",
            "Erledigt.",
        ),
        (
            "C'est fait.\n\nDe : Keel\nEnvoyé : lundi 7 décembre 2026 10:05\nÀ : Marie\nObjet : x",
            "C'est fait.",
        ),
        (
            "Listo.\n\nEl lun, 7 dic 2026 a las 10:05, Keel (<support@keel.test>) escribió:\n> viejo",
            "Listo.",
        ),
        (
            "Klaar.\n\nOp ma 7 dec 2026 om 10:05 schreef Keel <support@keel.test>:\n> oud",
            "Klaar.",
        ),
        (
            "Fixed.\n\nGet Outlook for iOS\n________________________________\nFrom: Keel",
            "Fixed.",
        ),
        (
            "See below.\n\n---------- Forwarded message ---------\nFrom: Carol\nDate: Mon\nSubject: x\nTo: y\n\nold",
            "See below.",
        ),
        ("Thanks, that worked!", "Thanks, that worked!"),
        ("Cheers!", "Cheers!"),
        ("> only a quote\n> more", ""),
        // A sign-off with more than a short signature after it is not the end of the mail.
        (
            "Thanks,\nthe list:\none\ntwo\nthree\nfour\nfive",
            "Thanks,\nthe list:\none\ntwo\nthree\nfour\nfive",
        ),
        (
            "Kind regards\nBob Smith\nHead of Finance, ACME\n+1 555 0100",
            "Kind regards",
        ),
    ] {
        let lines: Vec<&str> = ["From: bob@acme.com", ""].into_iter().chain(body.split('\n')).collect();
        assert_eq!(written(&lines).text, text, "{body:?}");
    }
}

#[test]
fn a_five_megabyte_body_reads_quickly_and_is_cut_on_a_character() {
    let mut raw = b"From: bob@acme.com\r\nSubject: big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n".to_vec();
    while raw.len() < 5 * 1024 * 1024 {
        raw.extend_from_slice("Zeile mit Umlauten: äöü – und noch mehr Text.\r\n".as_bytes());
    }
    let started = Instant::now();
    let read = read(&raw).expect("reads");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert!(read.full_text.len() <= MAX_TEXT_BYTES && read.full_text.len() > MAX_TEXT_BYTES - 64);
    assert!(!read.full_text.contains('\r'));
    assert!(read.text.starts_with("Zeile mit Umlauten: äöü"));
}

/// Reads a generated mail within 2 s (in a debug build), without a panic.
fn read_quickly(raw: &[u8]) -> ReadMail {
    let started = Instant::now();
    let read = read(raw).expect("reads");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    read
}

#[test]
fn deeply_nested_multiparts_read_quickly() {
    let mut raw = String::from("From: bob@acme.com\r\nSubject: deep\r\n");
    for level in 0..2_000 {
        raw.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n--b{level}\r\n"
        ));
    }
    raw.push_str("Content-Type: text/plain\r\n\r\ndeep down\r\n");
    for level in (0..2_000).rev() {
        raw.push_str(&format!("--b{level}--\r\n"));
    }
    let read = read_quickly(raw.as_bytes());
    assert_eq!(read.subject, "deep");
    // Parts deeper than 10 levels are not looked at.
    assert_eq!(read.full_text, "");

    let shallow = raw.replacen(
        "Content-Type: multipart/mixed; boundary=\"b3\"",
        "Content-Type: text/plain",
        1,
    );
    assert!(read_quickly(shallow.as_bytes()).full_text.starts_with("--b3"));
}

#[test]
fn ten_thousand_parts_read_quickly_and_only_the_first_are_looked_at() {
    let mut raw =
        String::from("From: bob@acme.com\r\nSubject: many\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n");
    raw.push_str("--p\r\nContent-Type: text/plain\r\n\r\nsee the files\r\n");
    for n in 0..10_000 {
        raw.push_str(&format!(
            "--p\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"f{n}.bin\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n"
        ));
    }
    raw.push_str("--p--\r\n");
    let read = read_quickly(raw.as_bytes());
    assert_eq!(read.text, "see the files");
    assert!(read.attachments.len() < 500, "{}", read.attachments.len());
    assert_eq!(
        read.attachments[0],
        Attachment {
            name: "f0.bin".into(),
            content_type: "application/octet-stream".into(),
            size: 3
        }
    );
}

#[test]
fn mails_built_to_cost_time_or_memory_read_quickly() {
    let head = "From: bob@acme.com\r\nSubject: bomb\r\n";
    let html = format!(
        "{head}Content-Type: text/html\r\n\r\n{}deep<blockquote>{}",
        "<div>".repeat(100_000),
        "<b>".repeat(10_000)
    );
    assert!(read_quickly(html.as_bytes()).full_text.contains("deep"));
    let fields = format!("{head}{}\r\nhello", "X-A: b\r\n".repeat(1_000_000));
    assert_eq!(read_quickly(fields.as_bytes()).subject, "bomb");
    let parts = format!(
        "{head}Content-Type: multipart/mixed; boundary=b\r\n\r\n{}",
        "--b\r\n\r\nx\r\n".repeat(500_000)
    );
    read_quickly(parts.as_bytes());
    let rfc822 = format!(
        "{}{head}\r\nbody",
        "From: a@b.example\r\nContent-Type: message/rfc822\r\n\r\n".repeat(20_000)
    );
    read_quickly(rfc822.as_bytes());
}
