//! The debug receiver: accepts Remote Write 1.0 and 2.0 and reports what arrived (being written).
