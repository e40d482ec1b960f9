pub mod analyze;
pub mod config;
pub mod diff;
pub mod exit;
pub mod flags;
pub mod history;
pub mod input;
pub mod lint;
pub mod test;
pub mod trace;
pub mod vettool;
pub mod watch;

use std::io::Write;

/// Writes a report to stdout; a closed pipe (`| head`) is not an error worth a panic.
pub fn print(text: &str) -> bool {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => true,
        Err(e) => {
            eprintln!("goleash: cannot write the report: {e}");
            false
        }
    }
}
