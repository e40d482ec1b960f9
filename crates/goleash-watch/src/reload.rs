//! Reading the target list again while watching: at once on SIGHUP or when a `--targets`
//! file changes (a Kubernetes ConfigMap update, a deploy tool rewriting file_sd), and every
//! `--refresh` for the sources behind a URL (HTTP SD, Prometheus), which cannot announce a
//! change.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant, SystemTime};

use crate::targets::Target;

/// How the watcher gets its targets again.
pub struct Reload {
    /// Reads every source again and returns this watcher's share (sharded, deduplicated). An
    /// error keeps the current list: a typo in a file being edited must not empty the watch.
    pub read: Box<dyn FnMut() -> Result<Vec<Target>, String> + Send>,
    /// Files whose change reloads at once.
    pub files: Vec<PathBuf>,
    /// Sources read again this often even when nothing announced a change.
    pub every: Option<Duration>,
}

/// Why a reload happens, for the note it prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cause {
    Hangup,
    FileChanged,
    Refresh,
}

impl Cause {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Cause::Hangup => "SIGHUP",
            Cause::FileChanged => "the targets file changed",
            Cause::Refresh => "--refresh",
        }
    }
}

/// What identifies a version of a file without reading it: editors replace files (a new
/// inode), ConfigMaps swap a symlink, and a rewrite in place changes the time or the size.
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(path: &std::path::Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len(), meta.ino()))
}

pub(crate) struct Watcher {
    reload: Reload,
    stamps: Vec<Stamp>,
    last_poll: Instant,
    last_read: Instant,
}

/// Files are looked at at most this often: a stat per second is nothing, and a reload a
/// second late is soon enough.
const POLL: Duration = Duration::from_secs(1);

impl Watcher {
    pub(crate) fn new(reload: Reload) -> Watcher {
        catch_hangup();
        let stamps = reload.files.iter().map(|p| stamp(p)).collect();
        Watcher {
            reload,
            stamps,
            last_poll: Instant::now(),
            last_read: Instant::now(),
        }
    }

    /// How long the main loop may sleep before [`Watcher::due`] should be asked again.
    pub(crate) fn poll_interval(&self) -> Duration {
        POLL
    }

    /// Whether to read the sources now, and why.
    pub(crate) fn due(&mut self) -> Option<Cause> {
        if HANGUP.swap(false, Ordering::SeqCst) {
            return Some(Cause::Hangup);
        }
        if self.last_poll.elapsed() < POLL {
            return None;
        }
        self.last_poll = Instant::now();
        let mut changed = false;
        for (path, old) in self.reload.files.iter().zip(self.stamps.iter_mut()) {
            let new = stamp(path);
            if new != *old {
                *old = new;
                changed = true;
            }
        }
        if changed {
            return Some(Cause::FileChanged);
        }
        match self.reload.every {
            Some(every) if !every.is_zero() && self.last_read.elapsed() >= every => {
                Some(Cause::Refresh)
            }
            _ => None,
        }
    }

    pub(crate) fn read(&mut self) -> Result<Vec<Target>, String> {
        self.last_read = Instant::now();
        (self.reload.read)()
    }
}

static HANGUP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_hangup(_: libc::c_int) {
    // Only an atomic store: the one thing a signal handler may safely do here.
    HANGUP.store(true, Ordering::SeqCst);
}

/// From now on SIGHUP asks for a reload instead of ending the process (its default), as
/// Prometheus, nginx and most daemons do.
fn catch_hangup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a zeroed sigaction is a valid value; the handler only stores to an atomic,
        // which is async-signal-safe. SA_RESTART keeps the scrape workers' reads and writes
        // from failing with EINTR.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_hangup as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGHUP, &action, std::ptr::null_mut());
        }
    });
}
