//! A commit stamp for a SQLite database in WAL mode, read without a query.
//!
//! Every process that has the database open maps its `-shm` file (the wal-index). Its first
//! 96 bytes are the wal-index header, written twice (bytes 0-47 and 48-95), which every write
//! transaction rewrites when it commits: `iChange` (bytes 8-11) is incremented, `mxFrame`
//! (16-19) moves, and the salts (32-39) change when the WAL restarts. Readers take their
//! snapshot from this header, so a commit is visible exactly when the header changes
//! (<https://www.sqlite.org/walformat.html>, "The WAL-Index Header").
//!
//! Reading the header is one `pread` of a page-cache page (about a microsecond, no thread
//! hand-off), so a cache entry stamped with the header read *before* its query is current
//! while the header is unchanged, whichever process or connection writes. A torn read (a
//! writer between its two copies) gives no stamp, and the caller reads the database.

use std::fs::File;
use std::path::Path;

/// The wal-index header as of one moment; equal stamps mean no commit in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp([u8; HEADER]);

/// One copy of the wal-index header (`WalIndexHdr`).
const HEADER: usize = 48;
/// `isInit` byte of the header: 0 while the wal-index is being (re)built.
const IS_INIT: usize = 12;

/// The open `-shm` file of one database, or nothing (in-memory database, not WAL, not Unix).
#[derive(Debug)]
pub(crate) struct WalStamp {
    shm: Option<File>,
}

impl WalStamp {
    /// Open `<db>-shm` for reading. The database must already be open in WAL mode by this
    /// process (which keeps the file in place while its connections live).
    pub fn open(db: &Path) -> Self {
        let mut name = db.as_os_str().to_owned();
        name.push("-shm");
        let shm = File::open(Path::new(&name)).ok();
        if shm.is_none() {
            tracing::debug!(path = ?name, "no wal-index file; reads are not cached");
        }
        Self { shm }
    }

    /// No stamps at all (reads always go to the database).
    pub fn none() -> Self {
        Self { shm: None }
    }

    /// The header now, or `None` when it cannot be read consistently.
    pub fn read(&self) -> Option<Stamp> {
        let shm = self.shm.as_ref()?;
        let mut buf = [0u8; 2 * HEADER];
        read_at(shm, &mut buf)?;
        let (a, b) = buf.split_at(HEADER);
        if a != b || a.get(IS_INIT).copied().unwrap_or(0) == 0 {
            return None;
        }
        let mut h = [0u8; HEADER];
        h.copy_from_slice(a);
        Some(Stamp(h))
    }
}

#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8]) -> Option<()> {
    use std::os::unix::fs::FileExt as _;
    f.read_exact_at(buf, 0).ok()
}

#[cfg(not(unix))]
fn read_at(_f: &File, _buf: &mut [u8]) -> Option<()> {
    None
}
