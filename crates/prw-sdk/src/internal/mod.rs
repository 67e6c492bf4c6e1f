//! The SDK's machinery: hashing, series storage, aggregators, streams and the pipeline.

pub(crate) mod aggregators;
pub(crate) mod convert;
pub(crate) mod exponential;
pub(crate) mod hash;
pub(crate) mod number;
pub(crate) mod pipeline;
pub(crate) mod stream;
pub(crate) mod value_map;
