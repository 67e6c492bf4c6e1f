//! One process per queue directory: an OS advisory lock on `<dir>/LOCK`.
//!
//! The lock is `flock(2)` (through fs4) on an open file, so the kernel drops it when the
//! process dies, even by SIGKILL: a stale lock file never blocks a restart. The holder
//! writes its pid into the file so that a refused opener can say who holds it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::{OpenError, QueueIoError};

/// The lock file's name inside the queue directory.
pub(crate) const LOCK_FILE: &str = "LOCK";

/// Holds the directory lock while alive.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock on `dir` or says who holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<Self, OpenError> {
        let path = dir.join(LOCK_FILE);
        let io_err =
            |source| QueueIoError { what: "open the lock file", path: path.clone(), source };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                return Err(OpenError::Locked {
                    dir: dir.to_path_buf(),
                    holder: read_pid(&mut file),
                });
            }
            Err(fs4::TryLockError::Error(source)) => {
                return Err(OpenError::Io(QueueIoError { what: "lock", path, source }));
            }
        }
        // Best effort: the pid only improves the message another opener gets.
        let pid = std::process::id();
        let _ = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{pid}"));
        Ok(Self { _file: file })
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}
