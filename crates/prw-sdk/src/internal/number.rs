//! The three number types behind one trait: atomic updates through `u64` bit patterns.

use std::sync::atomic::{AtomicU64, Ordering};

use prw_proto::otlp::metrics::number_data_point::Value as PointValue;

pub(crate) trait Num: prw_api::Number + Default {
    fn to_bits(self) -> u64;
    fn from_bits(bits: u64) -> Self;
    fn to_f64(self) -> f64;
    /// Atomically adds `v` to the value stored in `cell`.
    fn atomic_add(cell: &AtomicU64, v: Self);
    fn sub(self, other: Self) -> Self;
    fn add(self, other: Self) -> Self;
    fn is_negative(self) -> bool;
    fn is_finite(self) -> bool;
    fn point_value(self) -> PointValue;
}

impl Num for u64 {
    #[inline]
    fn to_bits(self) -> u64 {
        self
    }
    #[inline]
    fn from_bits(bits: u64) -> Self {
        bits
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline]
    fn atomic_add(cell: &AtomicU64, v: Self) {
        cell.fetch_add(v, Ordering::Relaxed);
    }
    fn sub(self, other: Self) -> Self {
        self.wrapping_sub(other)
    }
    fn add(self, other: Self) -> Self {
        self.wrapping_add(other)
    }
    fn is_negative(self) -> bool {
        false
    }
    fn is_finite(self) -> bool {
        true
    }
    /// OTLP has no unsigned integer: values past `i64::MAX` go out as doubles, not wrapped.
    fn point_value(self) -> PointValue {
        match i64::try_from(self) {
            Ok(v) => PointValue::AsInt(v),
            Err(_) => PointValue::AsDouble(self as f64),
        }
    }
}

impl Num for i64 {
    #[inline]
    fn to_bits(self) -> u64 {
        self as u64
    }
    #[inline]
    fn from_bits(bits: u64) -> Self {
        bits as i64
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    /// Two's complement: adding the bit pattern is adding the signed value.
    #[inline]
    fn atomic_add(cell: &AtomicU64, v: Self) {
        cell.fetch_add(v as u64, Ordering::Relaxed);
    }
    fn sub(self, other: Self) -> Self {
        self.wrapping_sub(other)
    }
    fn add(self, other: Self) -> Self {
        self.wrapping_add(other)
    }
    fn is_negative(self) -> bool {
        self < 0
    }
    fn is_finite(self) -> bool {
        true
    }
    fn point_value(self) -> PointValue {
        PointValue::AsInt(self)
    }
}

impl Num for f64 {
    #[inline]
    fn to_bits(self) -> u64 {
        f64::to_bits(self)
    }
    #[inline]
    fn from_bits(bits: u64) -> Self {
        f64::from_bits(bits)
    }
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn atomic_add(cell: &AtomicU64, v: Self) {
        let mut current = cell.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(current) + v).to_bits();
            match cell.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }
    fn sub(self, other: Self) -> Self {
        self - other
    }
    fn add(self, other: Self) -> Self {
        self + other
    }
    /// NaN counts as negative: a counter must not take it.
    fn is_negative(self) -> bool {
        self.is_nan() || self < 0.0
    }
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    fn point_value(self) -> PointValue {
        PointValue::AsDouble(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_u64_is_not_wrapped() {
        assert_eq!(5u64.point_value(), PointValue::AsInt(5));
        assert_eq!(u64::MAX.point_value(), PointValue::AsDouble(u64::MAX as f64));
    }

    #[test]
    fn signed_adds() {
        let c = AtomicU64::new(0);
        i64::atomic_add(&c, 5);
        i64::atomic_add(&c, -7);
        assert_eq!(i64::from_bits(c.load(Ordering::Relaxed)), -2);
        let c = AtomicU64::new(0f64.to_bits());
        f64::atomic_add(&c, 1.5);
        f64::atomic_add(&c, -0.25);
        assert_eq!(f64::from_bits(c.load(Ordering::Relaxed)), 1.25);
    }
}
