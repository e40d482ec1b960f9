//! The watcher's own CPU time and memory, for its metrics and the measurements in
//! docs/watch.md.

/// This process's CPU time and resident memory.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
}

/// From /proc (Linux only). Resident memory is read from `status` in kB, so it does not depend
/// on the page size (4 KiB on x86, 16 or 64 KiB on some arm64 and ppc64 kernels).
pub fn process_usage() -> Option<Usage> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = 100.0; // USER_HZ is 100 on every Linux ABI Rust targets
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    Some(Usage {
        cpu_seconds: (utime + stime) / ticks,
        resident_bytes: resident_kib(&status)? * 1024,
    })
}

/// `VmRSS:    12345 kB` from /proc/self/status.
fn resident_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let value = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_memory_is_read_in_kib_whatever_the_page_size() {
        let status = "Name:\tgoleash\nVmPeak:\t  20000 kB\nVmRSS:\t   5120 kB\nThreads:\t3\n";
        assert_eq!(resident_kib(status), Some(5120));
        assert_eq!(resident_kib("VmRSS:\t12 MB\n"), None);
        let usage = process_usage().expect("/proc is readable on Linux");
        assert!(usage.resident_bytes > 0 && usage.resident_bytes.is_multiple_of(1024));
    }
}
