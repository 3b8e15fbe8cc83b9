//! The command table: every command's name, usage line, help text, who may run it and which
//! parser reads its arguments. `parse` dispatches on it and `help` prints it.

use super::args::{
    client_stage, parse_assign, parse_away, parse_client_add, parse_client_channel, parse_client_email,
    parse_client_owner, parse_client_rename, parse_client_show, parse_client_sla, parse_due, parse_escalate,
    parse_holiday_add, parse_holiday_remove, parse_hours, parse_kpi, parse_list, parse_meet, parse_note,
    parse_playbook_run, parse_priority, parse_reply, parse_role, parse_show, parse_snooze, parse_standup_set,
    parse_standup_skip, parse_survey_nps, parse_take, parse_track, parse_tz_cmd, status,
};
use super::tokenizer::Args;
use super::{Command, Lifecycle};
use crate::domain::Status;

/// Who may run a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// Team members and client users.
    Everyone,
    /// Team members only.
    Team,
    /// Leads and admins.
    Leads,
    /// Admins.
    Admins,
}

/// One command's definition: its name, usage line, help text, who may run it, and its parser.
pub struct Spec {
    pub name: &'static str,
    pub usage: &'static str,
    pub about: &'static str,
    /// What running it does, for refusals: "only team members can {does}".
    pub does: &'static str,
    pub allowed: Allowed,
    pub(super) parse: fn(&mut Args) -> Result<Command, String>,
}

/// The command table. Order is the order of `help`.
pub static SPECS: &[Spec] = &[
    Spec {
        name: "help",
        usage: "help [command]",
        about: "list commands, or show how to use one",
        does: "get help",
        allowed: Allowed::Everyone,
        parse: parse_help,
    },
    Spec {
        name: "track",
        usage: "track <text>",
        about: "record a request as a new task (dates, priority, @owner and \"for <client>\" are understood)",
        does: "open requests",
        allowed: Allowed::Everyone,
        parse: parse_track,
    },
    Spec {
        name: "list",
        usage: "list [mine|open|overdue|waiting|all] [for <client>] [@owner]",
        about: "list tasks, oldest first",
        does: "list tasks",
        allowed: Allowed::Everyone,
        parse: parse_list,
    },
    Spec {
        name: "show",
        usage: "show #N",
        about: "a task's card and timeline",
        does: "see task details",
        allowed: Allowed::Team,
        parse: parse_show,
    },
    Spec {
        name: "assign",
        usage: "assign #N @who",
        about: "make someone the task's owner",
        does: "assign tasks",
        allowed: Allowed::Team,
        parse: parse_assign,
    },
    Spec {
        name: "take",
        usage: "take #N",
        about: "become the task's owner",
        does: "take tasks",
        allowed: Allowed::Team,
        parse: parse_take,
    },
    Spec {
        name: "start",
        usage: "start #N",
        about: "mark the task in progress",
        does: "change task status",
        allowed: Allowed::Team,
        parse: |a| status(a, Status::InProgress, false),
    },
    Spec {
        name: "wait",
        usage: "wait #N",
        about: "mark the task waiting on the client (pauses the resolution clock)",
        does: "change task status",
        allowed: Allowed::Team,
        parse: |a| status(a, Status::Waiting, false),
    },
    Spec {
        name: "done",
        usage: "done #N [note]",
        about: "mark the task done",
        does: "close tasks",
        allowed: Allowed::Team,
        parse: |a| status(a, Status::Done, true),
    },
    Spec {
        name: "cancel",
        usage: "cancel #N [why]",
        about: "cancel the task",
        does: "cancel tasks",
        allowed: Allowed::Team,
        parse: |a| status(a, Status::Cancelled, true),
    },
    Spec {
        name: "reopen",
        usage: "reopen #N",
        about: "open a done or cancelled task again",
        does: "reopen tasks",
        allowed: Allowed::Team,
        parse: |a| status(a, Status::Open, false),
    },
    Spec {
        name: "due",
        usage: "due #N <date>",
        about: "set the due date (\"friday\", \"2026-12-01\", \"in 3 days\", \"tomorrow 3pm\")",
        does: "change due dates",
        allowed: Allowed::Team,
        parse: parse_due,
    },
    Spec {
        name: "priority",
        usage: "priority #N <low|normal|high|urgent>",
        about: "set the priority",
        does: "change priorities",
        allowed: Allowed::Team,
        parse: parse_priority,
    },
    Spec {
        name: "note",
        usage: "note #N <text>",
        about: "add a note to the task's timeline",
        does: "add notes",
        allowed: Allowed::Team,
        parse: parse_note,
    },
    Spec {
        name: "reply",
        usage: "reply #N <text>",
        about: "answer a mailed request by mail (threaded, to the client and their colleagues on it)",
        does: "answer clients by mail",
        allowed: Allowed::Team,
        parse: parse_reply,
    },
    Spec {
        name: "snooze",
        usage: "snooze #N <date>",
        about: "no nudges about the task until the date",
        does: "snooze tasks",
        allowed: Allowed::Team,
        parse: parse_snooze,
    },
    Spec {
        name: "escalate",
        usage: "escalate #N [why]",
        about: "notify the client's owner and the leads",
        does: "escalate tasks",
        allowed: Allowed::Team,
        parse: parse_escalate,
    },
    Spec {
        name: "client add",
        usage: "client add <key> \"<name>\" [#channel…] [owner @who]",
        about: "add a client and its shared channels",
        does: "add clients",
        allowed: Allowed::Leads,
        parse: parse_client_add,
    },
    Spec {
        name: "client list",
        usage: "client list",
        about: "list clients",
        does: "list clients",
        allowed: Allowed::Team,
        parse: |a| a.finish(Command::ClientList),
    },
    Spec {
        name: "client show",
        usage: "client show <key>",
        about: "a client's card",
        does: "see client details",
        allowed: Allowed::Team,
        parse: parse_client_show,
    },
    Spec {
        name: "client owner",
        usage: "client owner <key> @who",
        about: "make a team member the client's owner",
        does: "change client owners",
        allowed: Allowed::Leads,
        parse: parse_client_owner,
    },
    Spec {
        name: "client channel",
        usage: "client channel <key> add|remove #channel",
        about: "link a shared channel to the client, or unlink it",
        does: "change client channels",
        allowed: Allowed::Leads,
        parse: parse_client_channel,
    },
    Spec {
        name: "client email",
        usage: "client email <key> [add|remove] <address or domain>",
        about: "mail from this address, or anyone at this domain, is the client's",
        does: "change client mail addresses",
        allowed: Allowed::Leads,
        parse: parse_client_email,
    },
    Spec {
        name: "client rename",
        usage: "client rename <key> \"<name>\"",
        about: "change the client's name (the key stays)",
        does: "rename clients",
        allowed: Allowed::Leads,
        parse: parse_client_rename,
    },
    Spec {
        name: "client sla",
        usage: "client sla <key> [<priority> <first-response> <resolution> | reset]",
        about: "show the client's SLA targets, set its own for a priority (business time: 30m, 2h, 3d), or go back to the team's",
        does: "see client SLA targets",
        allowed: Allowed::Team,
        parse: parse_client_sla,
    },
    Spec {
        name: "client signed",
        usage: "client signed <key> [date]",
        about: "record the contract signature (default: today)",
        does: "record client signatures",
        allowed: Allowed::Leads,
        parse: |a| client_stage(a, Lifecycle::Signed),
    },
    Spec {
        name: "client live",
        usage: "client live <key> [date]",
        about: "record the go-live (default: today)",
        does: "record go-lives",
        allowed: Allowed::Leads,
        parse: |a| client_stage(a, Lifecycle::Live),
    },
    Spec {
        name: "client churned",
        usage: "client churned <key> [date]",
        about: "record that the client left (default: today)",
        does: "record churn",
        allowed: Allowed::Leads,
        parse: |a| client_stage(a, Lifecycle::Churned),
    },
    Spec {
        name: "away",
        usage: "away until <date>",
        about: "you are away until the date (no nudges, no standups)",
        does: "set availability",
        allowed: Allowed::Team,
        parse: parse_away,
    },
    Spec {
        name: "back",
        usage: "back",
        about: "you are back",
        does: "set availability",
        allowed: Allowed::Team,
        parse: |a| a.finish(Command::Back),
    },
    Spec {
        name: "tz",
        usage: "tz <Area/City>",
        about: "set your time zone",
        does: "set a time zone",
        allowed: Allowed::Team,
        parse: parse_tz_cmd,
    },
    Spec {
        name: "hours",
        usage: "hours 09:00-17:00",
        about: "set your working hours",
        does: "set working hours",
        allowed: Allowed::Team,
        parse: parse_hours,
    },
    Spec {
        name: "role",
        usage: "role @who <member|lead|admin>",
        about: "set a team member's role",
        does: "set roles",
        allowed: Allowed::Admins,
        parse: parse_role,
    },
    Spec {
        name: "standup set",
        usage: "standup set [\"<cron>\"] [questions \"q1\" \"q2\" …] [in #channel]",
        about: "run the team's standup on a cron schedule (default 09:00 Mon–Fri), read in each member's own time zone",
        does: "set up standups",
        allowed: Allowed::Leads,
        parse: parse_standup_set,
    },
    Spec {
        name: "standup now",
        usage: "standup now",
        about: "ask everyone the standup questions now",
        does: "start standups",
        allowed: Allowed::Leads,
        parse: |a| a.finish(Command::StandupNow),
    },
    Spec {
        name: "standup skip",
        usage: "standup skip <date>",
        about: "no standup that day",
        does: "skip standups",
        allowed: Allowed::Leads,
        parse: parse_standup_skip,
    },
    Spec {
        name: "standup off",
        usage: "standup off",
        about: "stop the standup",
        does: "stop standups",
        allowed: Allowed::Leads,
        parse: |a| a.finish(Command::StandupOff),
    },
    Spec {
        name: "meet",
        usage: "meet @a @b [@c …] 30m [this week|next week]",
        about: "the three earliest slots inside everyone's working hours, in each person's time zone",
        does: "find meeting slots",
        allowed: Allowed::Team,
        parse: parse_meet,
    },
    Spec {
        name: "playbook run",
        usage: "playbook run <name> for <client|@member>",
        about: "create a playbook's tasks with their due dates and owners (onboarding, coordinator, …)",
        does: "run playbooks",
        allowed: Allowed::Leads,
        parse: parse_playbook_run,
    },
    Spec {
        name: "playbook list",
        usage: "playbook list",
        about: "the playbooks keel knows",
        does: "list playbooks",
        allowed: Allowed::Team,
        parse: |a| a.finish(Command::PlaybookList),
    },
    Spec {
        name: "survey nps",
        usage: "survey nps <client>",
        about: "ask the client's contacts the 0–10 question now (one open question per contact)",
        does: "send surveys",
        allowed: Allowed::Leads,
        parse: parse_survey_nps,
    },
    Spec {
        name: "kpi weekly",
        usage: "kpi weekly here",
        about: "post the weekly KPI summary (Mondays 09:00) in this channel",
        does: "choose the weekly KPI channel",
        allowed: Allowed::Leads,
        parse: |a| match a.next() {
            Some(w) if w.eq_ignore_ascii_case("here") => a.finish(Command::KpiWeeklyHere),
            _ => Err("say where: kpi weekly here, in the channel it should go to".into()),
        },
    },
    Spec {
        name: "kpi",
        usage: "kpi [week|month|<from>..<to>|2026-W47]",
        about: "the KPI summary: what needs attention first, then the figures against the period before",
        does: "see KPIs",
        allowed: Allowed::Team,
        parse: parse_kpi,
    },
    Spec {
        name: "dashboard",
        usage: "dashboard",
        about: "a sign-in link to the web dashboard, for you alone (one use, valid 10 minutes)",
        does: "open the dashboard",
        allowed: Allowed::Team,
        parse: |a| a.finish(Command::Dashboard),
    },
    Spec {
        name: "holiday add",
        usage: "holiday add <YYYY-MM-DD> [name]",
        about: "a team holiday: no standups, nudges or SLA clock that day",
        does: "add holidays",
        allowed: Allowed::Leads,
        parse: parse_holiday_add,
    },
    Spec {
        name: "holiday list",
        usage: "holiday list",
        about: "the team's holidays",
        does: "list holidays",
        allowed: Allowed::Team,
        parse: |a| a.finish(Command::HolidayList),
    },
    Spec {
        name: "holiday remove",
        usage: "holiday remove <YYYY-MM-DD>",
        about: "remove a team holiday",
        does: "remove holidays",
        allowed: Allowed::Leads,
        parse: parse_holiday_remove,
    },
];

/// `help [command]`: a topic must name a command.
fn parse_help(a: &mut Args) -> Result<Command, String> {
    let topic = a.rest();
    if let Some(t) = &topic {
        if specs_named(t).is_empty() {
            return Err(format!("there is no command \"{}\"", crate::domain::truncate(t, 40)));
        }
    }
    Ok(Command::Help { topic })
}

/// Looks up a command by name for `help <command>` (`client` lists every `client …`).
pub fn specs_named(topic: &str) -> Vec<&'static Spec> {
    let topic = topic.trim().to_lowercase();
    SPECS
        .iter()
        .filter(|s| s.name == topic || s.name.split(' ').next() == Some(topic.as_str()))
        .collect()
}
