//! Free loopback ports.

use std::io;
use std::net::{Ipv4Addr, TcpListener};

/// A TCP port on 127.0.0.1 that was free a moment ago.
///
/// The port is found by binding `127.0.0.1:0` and releasing it, so another process can take it
/// before the backend binds it; the backends' `start` retries on another port when that happens.
///
/// # Errors
///
/// When the kernel will not hand out a port.
pub fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// How many ports a backend start tries before giving up.
pub(crate) const START_ATTEMPTS: usize = 5;
