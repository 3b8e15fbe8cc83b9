//! What the KPIs are measured against.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::domain::calendar::Calendar;
use crate::domain::sla::SlaBook;
use crate::settings::Settings;

/// What the KPIs are measured against.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The team's business hours (zone, hours, holidays).
    pub calendar: Calendar,
    /// The team's SLA targets and the clients' own.
    pub sla: SlaBook,
    /// Open tasks above which an owner is overloaded.
    pub overload_tasks: i64,
    /// Days without a touchpoint after which a client is silent.
    pub silent_client_days: i64,
}

impl Rules {
    /// The rules of these settings, with the team's holidays (configured and added in chat) and
    /// the SLA targets in force.
    pub fn new(settings: &Settings, holidays: BTreeSet<NaiveDate>, sla: SlaBook) -> Rules {
        let mut calendar = Calendar::new(settings.team_tz, settings.team_hours);
        calendar.holidays = holidays;
        Rules {
            calendar,
            sla,
            overload_tasks: settings.schedules.overload_tasks,
            silent_client_days: settings.schedules.silent_client_days,
        }
    }
}
