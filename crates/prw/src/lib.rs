//! prw (to be written).
#![warn(missing_docs)]
