//! prw-sdk (being written). The exporter boundary below is the agreed interface.
#![warn(missing_docs)]

pub mod export;
