//! OTLP/JSON decoding (to be written).
