//! `goleash watch`: scrapes the goroutine profiles of running Go services on an interval,
//! keeps the counts per stack in SQLite, and tells the groups that grow and never come back
//! (leaks) from those that follow load.

#![warn(unreachable_pub)]

mod alert;
pub mod clock;
pub mod engine;
mod fetch;
pub mod history;
mod pool;
pub mod prometheus;
pub mod reload;
pub mod remote_write;
pub mod render;
pub mod report;
pub mod scrape;
mod serve;
pub mod settings;
mod spare;
pub mod state;
pub mod store;
pub mod targets;
pub mod trend;
pub mod ui;
pub mod usage;
