//! Helpers that start real backends on loopback for the integration tests.
