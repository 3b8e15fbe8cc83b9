//! keel's use cases: an inbound event in, one transaction of changes and replies out.
//!
//! Every event is handled inside a transaction that also records its platform id (so a
//! redelivery changes nothing) and queues its replies in the outbox. Several events may share one
//! transaction (group commit). The modules form layers (see ARCHITECTURE.md): this file only
//! declares them.

mod batch;
mod calendar;
mod capture;
mod cards;
mod chases;
mod clients;
mod commands;
mod context;
pub mod dashboard;
pub mod dispatch;
mod format;
mod forms;
mod handle;
mod home;
pub mod ingest;
mod keel;
pub mod kpi;
mod lookup;
mod mail;
mod moods;
mod outcome;
mod playbooks;
mod savepoint;
pub mod scheduler;
mod standup;
mod surveys;
mod sweep;
mod task;
mod team_calendar;
mod teammates;
mod turn;

pub use crate::settings::Settings;
pub use calendar::member_tz;
pub use format::{event_summary, format_time};
pub use keel::{Handled, Keel};
