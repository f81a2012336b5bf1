//! The open-file limit. Every connection is a file descriptor, and the usual
//! default soft limit (1 024) sits far below the hard limit: past it `accept`
//! fails with EMFILE for everyone, health checks included. The soft limit is
//! raised to the hard one at start, and the connection cap is kept under it,
//! so that the cap, not EMFILE, is what bounds the connections.

use std::io;

use rlimit::Resource;

/// Descriptors kept out of the connection cap whatever the pool size: the
/// listener, the runtime's epoll and wakers, stdio, the log and trace
/// exporters.
const RESERVED: u64 = 64;

/// Descriptors one database pool connection may hold (a SQLite connection
/// opens the database, its WAL and its shared-memory index).
const PER_POOL_CONNECTION: u64 = 4;

/// `RLIMIT_NOFILE` of this process: the soft limit it had and has, and the
/// hard one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFileLimit {
    pub soft_before: u64,
    pub soft: u64,
    pub hard: u64,
}

impl OpenFileLimit {
    /// The connection cap that fits under the soft limit next to a database
    /// pool of `pool_size`: `wanted`, or fewer when the limit is too low.
    pub fn fit_connections(&self, wanted: usize, pool_size: u32) -> usize {
        let reserved = RESERVED.saturating_add(PER_POOL_CONNECTION.saturating_mul(u64::from(pool_size)));
        let room = usize::try_from(self.soft.saturating_sub(reserved)).unwrap_or(usize::MAX);
        wanted.min(room).max(1)
    }
}

/// Raises the soft limit to the hard limit and logs both. Where that fails
/// the limit stays as it was (logged): the server runs, with room for fewer
/// connections.
pub fn raise() -> Option<OpenFileLimit> {
    if !Resource::NOFILE.is_supported() {
        return None;
    }
    match raise_with(|| Resource::NOFILE.get(), |soft, hard| Resource::NOFILE.set(soft, hard)) {
        Ok(limit) => {
            tracing::info!(
                soft_before = limit.soft_before,
                soft = limit.soft,
                hard = limit.hard,
                "open-file limit (RLIMIT_NOFILE): soft limit at the hard limit"
            );
            Some(limit)
        }
        Err(error) => {
            tracing::warn!(%error, "could not raise the open-file limit (RLIMIT_NOFILE)");
            Resource::NOFILE.get().ok().map(|(soft, hard)| OpenFileLimit { soft_before: soft, soft, hard })
        }
    }
}

/// [`raise`] over `get` and `set` (getrlimit and setrlimit, faked in tests).
/// The limit is read back after setting: it is what the kernel granted.
fn raise_with(
    get: impl Fn() -> io::Result<(u64, u64)>,
    set: impl FnOnce(u64, u64) -> io::Result<()>,
) -> io::Result<OpenFileLimit> {
    let (soft_before, hard) = get()?;
    if soft_before < hard {
        set(hard, hard)?;
    }
    let (soft, hard) = get()?;
    Ok(OpenFileLimit { soft_before, soft, hard })
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// A process limit that `set` changes, counting the calls.
    struct FakeLimit {
        current: Cell<(u64, u64)>,
        sets: Cell<usize>,
    }

    impl FakeLimit {
        fn new(soft: u64, hard: u64) -> Self {
            Self { current: Cell::new((soft, hard)), sets: Cell::new(0) }
        }

        fn raise(&self) -> io::Result<OpenFileLimit> {
            raise_with(
                || Ok(self.current.get()),
                |soft, hard| {
                    self.sets.set(self.sets.get() + 1);
                    self.current.set((soft, hard));
                    Ok(())
                },
            )
        }
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_limit() {
        let limit = FakeLimit::new(1024, 524_288);
        assert_eq!(limit.raise().unwrap(), OpenFileLimit { soft_before: 1024, soft: 524_288, hard: 524_288 });
        assert_eq!(limit.current.get(), (524_288, 524_288));
        assert_eq!(limit.sets.get(), 1);
    }

    #[test]
    fn a_soft_limit_already_at_the_hard_limit_is_left_alone() {
        let limit = FakeLimit::new(4096, 4096);
        assert_eq!(limit.raise().unwrap(), OpenFileLimit { soft_before: 4096, soft: 4096, hard: 4096 });
        assert_eq!(limit.sets.get(), 0);
    }

    #[test]
    fn a_refused_raise_is_an_error() {
        let refused = raise_with(|| Ok((1024, 4096)), |_, _| Err(io::Error::from(io::ErrorKind::PermissionDenied)));
        assert_eq!(refused.unwrap_err().kind(), io::ErrorKind::PermissionDenied);
    }

    #[test]
    fn the_connection_cap_keeps_room_for_the_pool_and_the_process() {
        let low = OpenFileLimit { soft_before: 1024, soft: 1024, hard: 1024 };
        // 1024 - 64 - 4 × 16
        assert_eq!(low.fit_connections(10_000, 16), 896);
        let high = OpenFileLimit { soft_before: 1024, soft: 1_048_576, hard: 1_048_576 };
        assert_eq!(high.fit_connections(10_000, 16), 10_000);
        let tiny = OpenFileLimit { soft_before: 32, soft: 32, hard: 32 };
        assert_eq!(tiny.fit_connections(10_000, 16), 1);
    }

    // Linux lets an unprivileged process raise its soft limit to any finite hard limit.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_real_limit_ends_with_soft_at_hard() {
        let limit = raise().expect("RLIMIT_NOFILE exists on this platform");
        assert_eq!(limit.soft, limit.hard);
        assert!(limit.soft >= limit.soft_before);
    }
}
