//! prw-convert (to be written).
#![warn(missing_docs)]
