//! `goleash watch`: scrapes the goroutine profiles of running Go services on an interval,
//! keeps the counts per stack in SQLite, and tells the groups that grow and never come back
//! (leaks) from those that follow load.

pub mod clock;
pub mod fetch;
pub mod pool;
pub mod scrape;
pub mod targets;
pub mod trend;
