//! prw-api (to be written).
#![warn(missing_docs)]
