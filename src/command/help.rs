//! The help text, printed from the command table so it always matches what the parser reads.

use super::spec::{specs_named, Allowed, Spec, SPECS};

/// The help text: every command, or the commands under one name.
pub fn help(topic: Option<&str>, for_client: bool) -> String {
    let specs: Vec<&Spec> = match topic {
        Some(t) => specs_named(t),
        None => SPECS.iter().collect(),
    };
    let visible: Vec<&Spec> = specs
        .into_iter()
        .filter(|s| !for_client || s.allowed == Allowed::Everyone)
        .collect();
    if topic.is_some() {
        return visible
            .iter()
            .map(|s| format!("{} — {}", s.usage, s.about))
            .collect::<Vec<_>>()
            .join("\n");
    }
    let mut out = String::from("Commands (after @keel, /keel, !keel, or on their own in a direct message):\n");
    for s in visible {
        out.push_str(&format!("  {} — {}\n", s.usage, s.about));
    }
    if !for_client {
        out.push_str(
            "In a task's thread, task commands need no #N: \"take\", \"done fixed it\", \"due friday\" act on that task.\n",
        );
    }
    out.push_str("Anything else after @keel (or /keel) becomes a task.");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_comes_from_the_table() {
        let all = help(None, false);
        for spec in SPECS {
            assert!(all.contains(spec.usage), "{} missing from help", spec.name);
        }
        let client = help(None, true);
        assert!(client.contains("track <text>"));
        assert!(!client.contains("assign #N"));
        assert!(help(Some("client"), false).contains("client add"));
        assert_eq!(help(Some("take"), false), "take #N — become the task's owner");
    }
}
