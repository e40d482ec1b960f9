//! Prints how many goroutines of an execution trace are in each state at its end (every
//! goroutine, the runtime's own included), with the read's figures, to compare with Go's own
//! reader (`go tool trace -d=parsed`; see docs/trace.md).
//!
//!     cargo run --release -p goleash-parse --example trace_states -- FILE

use std::collections::BTreeMap;
use std::time::Instant;

use goleash_parse::trace::{read_trace, GoState};
use goleash_parse::Limits;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: trace_states FILE");
        std::process::exit(2);
    };
    let file = std::fs::File::open(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2);
    });
    let start = Instant::now();
    let lifecycles = match read_trace(
        &path,
        file,
        Limits {
            max_bytes: u64::MAX,
        },
    ) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let secs = start.elapsed().as_secs_f64();
    let mut states: BTreeMap<&str, u64> = BTreeMap::new();
    for g in &lifecycles.goroutines {
        let name = match g.state {
            GoState::Runnable => "Runnable",
            GoState::Running => "Running",
            GoState::Syscall => "Syscall",
            GoState::Waiting => "Waiting",
        };
        *states.entry(name).or_default() += 1;
    }
    for (state, n) in states {
        println!("{state} {n}");
    }
    let created: u64 = lifecycles.sites.iter().map(|s| s.created).sum();
    let ended: u64 = lifecycles.sites.iter().map(|s| s.ended).sum();
    eprintln!(
        "{} bytes, {} generations, {} events, {created} goroutines created and {ended} of them ended, in {secs:.2}s ({:.0} MB/s)",
        lifecycles.bytes,
        lifecycles.generations,
        lifecycles.events,
        lifecycles.bytes as f64 / secs / 1e6
    );
}
