//! keel: a self-hosted client-service coordination bot for Slack and Matrix.
//!
//! The core turns [`keel_chat::Inbound`] events into tasks and replies; it never imports a
//! platform adapter. See `ARCHITECTURE.md`.

mod background;
pub mod capture;
pub mod cli;
pub mod clock;
pub mod command;
pub mod config;
pub mod domain;
pub mod kpi;
pub mod logging;
pub mod observe;
pub mod playbook;
pub mod service;
pub mod settings;
pub mod store;
pub mod verify;
pub mod web;
