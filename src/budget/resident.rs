//! The allocator's share of the ceiling: freed pages it keeps are returned when the process's
//! resident memory nears the limit.
//!
//! The budget's lines cap live bytes. The binaries' allocator (jemalloc, options in
//! `.cargo/config.toml`) is built never to return freed pages (`dirty_decay_ms:-1`): returning
//! them made each reuse fault the pages in again (1 GiB of text: 1.5 s -> 0.4 s of system
//! time). Pages it keeps are resident but in no line, and when the sizes freed do not fit what
//! is allocated next (a wide schema's many small arrays, then large spill blobs) they add up:
//! 3,000 columns at `--memory-limit 128MiB` peaked at 84 MiB of heap (heaptrack) but 131-134
//! MiB resident. [`ResidentCeiling`] watches the resident size and, when it comes within an
//! eighth of the limit, has jemalloc return its freed pages (setting an arena's dirty decay
//! to 0 purges them at once; it is then set back). Go's `GOMEMLIMIT` does the same: its heap
//! returns memory to the OS as it nears the limit. Below that mark nothing changes, so the
//! default limits and the benchmarks (taxi, text: well under it) run as before.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tikv_jemalloc_ctl::{Access, AsName};

/// How often the resident size is read: allocation at memory bandwidth cannot outrun the
/// headroom ([`headroom`]) between two reads.
const POLL: Duration = Duration::from_millis(5);
/// The least headroom below the limit at which freed pages are returned.
const MIN_HEADROOM: usize = 4 << 20;

/// Resident bytes at which freed pages are returned for a `limit`: an eighth below it (16 MiB
/// at 128 MiB), at least [`MIN_HEADROOM`]. The headroom takes what is allocated between two
/// reads and the spikes of a cut: 3,000 columns at 128 MiB peaked at 125.9-126.3 MiB with a
/// sixteenth, 118.9-120.9 MiB (4.7-4.9 s -> 5.2-5.8 s) with an eighth.
pub fn release_mark(limit: usize) -> usize {
    limit.saturating_sub((limit / 8).max(MIN_HEADROOM))
}

/// A thread that holds resident memory under a limit by returning the allocator's freed
/// pages (see the module); stopped when dropped.
pub struct ResidentCeiling {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<u64>>,
}

impl ResidentCeiling {
    /// Start watching for `limit` bytes; None where the resident size cannot be read (not
    /// Linux) or the thread cannot start.
    pub fn start(limit: usize) -> Option<Self> {
        resident_bytes()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let mark = release_mark(limit);
        let thread = std::thread::Builder::new()
            .name("resident-ceiling".into())
            .spawn(move || watch(mark, &flag))
            .ok()?;
        Some(ResidentCeiling {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for ResidentCeiling {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            if let Ok(releases) = thread.join() {
                tracing::debug!(releases, "resident ceiling: freed pages returned");
            }
        }
    }
}

/// Read the resident size every [`POLL`]; at `mark` or above, return freed pages. Returns how
/// often it did.
fn watch(mark: usize, stop: &AtomicBool) -> u64 {
    let mut releases = 0;
    while !stop.load(Ordering::Relaxed) {
        if resident_bytes().is_some_and(|r| r >= mark) {
            match release_freed_pages() {
                Ok(()) => releases += 1,
                Err(e) => {
                    tracing::warn!("resident ceiling: cannot return freed pages: {e}");
                    break;
                }
            }
        }
        std::thread::sleep(POLL);
    }
    releases
}

/// Have every jemalloc arena return its freed (dirty) pages: its dirty decay set to 0 purges
/// them at once, then the decay is set back.
pub fn release_freed_pages() -> Result<(), tikv_jemalloc_ctl::Error> {
    let arenas: u32 = b"arenas.narenas\0".name().read()?;
    let mut mib: tikv_jemalloc_ctl::Mib<[usize; 3]> = b"arena.0.dirty_decay_ms\0".name().mib()?;
    for arena in 0..arenas as usize {
        mib[1] = arena;
        // An arena index not yet in use has nothing to return (EFAULT).
        let Ok(decay) = Access::<isize>::read(&mib) else {
            continue;
        };
        if decay != 0 {
            mib.write(0isize)?;
            mib.write(decay)?;
        }
    }
    Ok(())
}

/// The process's resident set size (`VmRSS`), where `/proc` has it.
pub fn resident_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_is_an_eighth_below_the_limit_and_at_least_four_mib() {
        assert_eq!(release_mark(128 << 20), 112 << 20);
        assert_eq!(release_mark(512 << 20), 448 << 20);
        assert_eq!(release_mark(32 << 20), 28 << 20);
        assert_eq!(release_mark(1 << 20), 0);
    }

    #[test]
    fn freed_pages_can_be_returned_and_the_decay_is_restored() {
        let name = b"arena.0.dirty_decay_ms\0".name();
        let before: isize = name.read().expect("arena 0's decay");
        release_freed_pages().expect("release");
        let after: isize = name.read().expect("arena 0's decay");
        assert_eq!(before, after);
    }

    #[test]
    fn the_resident_size_is_read_and_the_watcher_stops_when_dropped() {
        if cfg!(target_os = "linux") {
            let rss = resident_bytes().expect("VmRSS on Linux");
            assert!(rss > 1 << 20, "{rss}");
            let ceiling = ResidentCeiling::start(1 << 30).expect("started");
            drop(ceiling);
        }
    }
}
