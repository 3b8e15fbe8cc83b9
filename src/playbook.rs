//! Playbooks: checklists whose items become tasks (`playbook run <name> for <client|@member>`).
//! Two ship inside the binary (`config/playbooks/onboarding.toml`, `coordinator.toml`); files in
//! the configured directory add to them or replace one of the same name.

use std::path::Path;

use serde::Deserialize;

/// Who a playbook is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    Client,
    Member,
}

/// Who owns an item's task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerRole {
    /// The client's owner (else whoever ran the playbook).
    ClientOwner,
    /// The first lead.
    Lead,
    /// Whoever ran the playbook.
    Runner,
    /// The member the playbook is for (a new coordinator).
    Subject,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub title: String,
    /// Due this many days after the run.
    pub day: i64,
    pub owner: OwnerRole,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    pub name: String,
    pub title: String,
    pub subject: Subject,
    pub items: Vec<Item>,
}

const SHIPPED: [(&str, &str); 2] = [
    ("onboarding.toml", include_str!("../config/playbooks/onboarding.toml")),
    ("coordinator.toml", include_str!("../config/playbooks/coordinator.toml")),
];

/// Reads one playbook file's text.
pub fn parse(file: &str, text: &str) -> Result<Playbook, String> {
    use figment::providers::Format;
    let playbook: Playbook = figment::Figment::from(figment::providers::Toml::string(text))
        .extract()
        .map_err(|e| format!("{file}: {}", crate::store::one_line(&e)))?;
    let name_ok = !playbook.name.is_empty()
        && playbook
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !name_ok {
        return Err(format!("{file}: name must be lowercase letters, digits, - or _"));
    }
    if playbook.items.is_empty() || playbook.items.len() > 100 {
        return Err(format!("{file}: a playbook has 1 to 100 items"));
    }
    for item in &playbook.items {
        if item.title.trim().is_empty() || !(0..=3650).contains(&item.day) {
            return Err(format!("{file}: every item needs a title and a day from 0 to 3650"));
        }
        if item.owner == OwnerRole::ClientOwner && playbook.subject != Subject::Client
            || item.owner == OwnerRole::Subject && playbook.subject != Subject::Member
        {
            return Err(format!(
                "{file}: \"{}\" has an owner this playbook's subject cannot give",
                item.title
            ));
        }
    }
    Ok(playbook)
}

/// The shipped playbooks, then those in `dir` (when it exists), a later one replacing an
/// earlier one of the same name.
pub fn load(dir: &Path) -> Result<Vec<Playbook>, String> {
    let mut all: Vec<Playbook> = Vec::new();
    let mut add = |p: Playbook| match all.iter_mut().find(|q| q.name == p.name) {
        Some(q) => *q = p,
        None => all.push(p),
    };
    for (file, text) in SHIPPED {
        add(parse(file, text)?);
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(all);
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        add(parse(&path.display().to_string(), &text)?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_playbooks_parse_and_bad_ones_are_named() {
        let all = load(Path::new("/no/such/dir")).unwrap();
        let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["onboarding", "coordinator"]);
        assert_eq!(all[0].items.len(), 8);
        assert_eq!(all[1].items.len(), 9);
        assert!(parse(
            "x.toml",
            "name = \"X\"\ntitle = \"t\"\nsubject = \"client\"\n[[items]]\ntitle = \"a\"\nday = 1\nowner = \"lead\"\n"
        )
        .unwrap_err()
        .contains("lowercase"));
        assert!(parse("x.toml", "name = \"x\"\ntitle = \"t\"\nsubject = \"member\"\n[[items]]\ntitle = \"a\"\nday = 1\nowner = \"client_owner\"\n")
            .unwrap_err()
            .contains("cannot give"));
        assert!(parse(
            "x.toml",
            "name = \"x\"\ntitle = \"t\"\nsubject = \"client\"\nitems = []\n"
        )
        .is_err());
        assert!(parse("x.toml", "not toml [").unwrap_err().starts_with("x.toml: "));
    }
}
