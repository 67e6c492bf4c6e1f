//! Fast, order-independent hashing of attribute sets.
//!
//! Each [`KeyValue`] is hashed on its own with an Fx-style multiplicative hasher (a few cycles
//! for a short key, against SipHash's dozens), finalised, and the per-pair hashes are summed.
//! Addition commutes, so the hash of a set does not depend on the order the caller listed it
//! in, and nothing needs sorting or allocating to find an existing series.

use std::hash::{Hash, Hasher};

use prw_api::{Key, KeyValue};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// An Fx-style hasher: rotate, xor, multiply, eight bytes at a time.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline(always)]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, mut bytes: &[u8]) {
        while bytes.len() >= 8 {
            let (head, rest) = bytes.split_at(8);
            let mut w = [0u8; 8];
            w.copy_from_slice(head);
            self.add(u64::from_le_bytes(w));
            bytes = rest;
        }
        if bytes.len() >= 4 {
            let (head, rest) = bytes.split_at(4);
            let mut w = [0u8; 4];
            w.copy_from_slice(head);
            self.add(u64::from(u32::from_le_bytes(w)));
            bytes = rest;
        }
        for &b in bytes {
            self.add(u64::from(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_i64(&mut self, i: i64) {
        self.add(i as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A strong 64-bit finaliser (splitmix64), so that summing per-pair hashes spreads well.
#[inline(always)]
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[inline]
pub(crate) fn hash_pair(kv: &KeyValue) -> u64 {
    let mut h = FxHasher::default();
    h.write(kv.key.as_str().as_bytes());
    kv.value.hash(&mut h);
    mix(h.finish())
}

/// Which attribute keys a stream keeps (a view's allow-list); `None` keeps all.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyFilter {
    allowed: Option<Box<[Key]>>,
}

impl KeyFilter {
    pub(crate) fn new(allowed: Option<Vec<Key>>) -> Self {
        KeyFilter {
            allowed: allowed.map(|mut keys| {
                keys.sort();
                keys.dedup();
                keys.into_boxed_slice()
            }),
        }
    }

    #[inline]
    pub(crate) fn is_all(&self) -> bool {
        self.allowed.is_none()
    }

    #[inline]
    pub(crate) fn keeps(&self, key: &Key) -> bool {
        match &self.allowed {
            None => true,
            Some(keys) => keys.iter().any(|k| same_str(k.as_str(), key.as_str())),
        }
    }
}

/// String equality with a pointer shortcut: attribute keys are usually the same `'static`.
#[inline(always)]
pub(crate) fn same_str(a: &str, b: &str) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

/// The order-independent hash of the kept attributes of `attrs`.
#[inline]
pub(crate) fn hash_set(attrs: &[KeyValue], filter: &KeyFilter) -> u64 {
    let mut sum = 0u64;
    if filter.is_all() {
        for kv in attrs {
            sum = sum.wrapping_add(hash_pair(kv));
        }
    } else {
        for kv in attrs.iter().filter(|kv| filter.keeps(&kv.key)) {
            sum = sum.wrapping_add(hash_pair(kv));
        }
    }
    mix(sum)
}

/// Whether `input` (any order, kept keys only) is exactly the normalised set `stored`
/// (sorted by key, keys unique). Never allocates. Returns false, so the caller takes the
/// slow path, for inputs with duplicate keys and for sets of more than 64 attributes.
#[inline]
pub(crate) fn same_set(stored: &[KeyValue], input: &[KeyValue], filter: &KeyFilter) -> bool {
    if stored.len() > 64 {
        return false;
    }
    if filter.is_all() && input.len() != stored.len() {
        return false;
    }
    let mut seen = 0u64;
    let mut kept = 0usize;
    for kv in input {
        if !filter.keeps(&kv.key) {
            continue;
        }
        kept += 1;
        let found = if stored.len() <= 8 {
            stored.iter().position(|s| same_str(s.key.as_str(), kv.key.as_str()))
        } else {
            stored.binary_search_by(|s| s.key.as_str().cmp(kv.key.as_str())).ok()
        };
        match found {
            Some(i) if stored[i].value == kv.value => {
                let bit = 1u64 << i;
                if seen & bit != 0 {
                    return false;
                }
                seen |= bit;
            }
            _ => return false,
        }
    }
    kept == stored.len()
}

/// The normal form of a set: kept keys only, sorted by key, the last of duplicate keys wins.
pub(crate) fn normalize(attrs: &[KeyValue], filter: &KeyFilter) -> Vec<KeyValue> {
    let mut out: Vec<KeyValue> = attrs.iter().filter(|kv| filter.keeps(&kv.key)).cloned().collect();
    // Stable sort keeps the caller's order among equal keys, so "last wins" means last given.
    out.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    let mut deduped: Vec<KeyValue> = Vec::with_capacity(out.len());
    for kv in out {
        match deduped.last_mut() {
            Some(last) if last.key == kv.key => *last = kv,
            _ => deduped.push(kv),
        }
    }
    deduped
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kv(k: &'static str, v: i64) -> KeyValue {
        KeyValue::new(k, v)
    }

    #[test]
    fn order_does_not_matter() {
        let f = KeyFilter::default();
        let a = [kv("a", 1), kv("b", 2), kv("c", 3)];
        let b = [kv("c", 3), kv("a", 1), kv("b", 2)];
        assert_eq!(hash_set(&a, &f), hash_set(&b, &f));
        let n = normalize(&b, &f);
        assert!(same_set(&n, &a, &f));
        assert!(same_set(&n, &b, &f));
        assert!(!same_set(&n, &[kv("a", 1), kv("b", 2)], &f));
        assert!(!same_set(&n, &[kv("a", 1), kv("b", 2), kv("c", 4)], &f));
        assert!(!same_set(&n, &[kv("a", 1), kv("a", 1), kv("b", 2)], &f));
    }

    #[test]
    fn duplicates_last_wins() {
        let f = KeyFilter::default();
        let n = normalize(&[kv("a", 1), kv("b", 2), kv("a", 3)], &f);
        assert_eq!(n, vec![kv("a", 3), kv("b", 2)]);
    }

    #[test]
    fn filter_drops_keys() {
        let f = KeyFilter::new(Some(vec![Key::from("a")]));
        let full = [kv("a", 1), kv("b", 2)];
        let n = normalize(&full, &f);
        assert_eq!(n, vec![kv("a", 1)]);
        assert_eq!(hash_set(&full, &f), hash_set(&n, &f));
        assert!(same_set(&n, &full, &f));
        assert!(same_set(&n, &[kv("a", 1)], &f));
    }

    proptest! {
        #[test]
        fn permutations_match(values in proptest::collection::vec(0i64..5, 1..10), seed in any::<u64>()) {
            let keys = ["k0","k1","k2","k3","k4","k5","k6","k7","k8","k9"];
            let set: Vec<KeyValue> = values.iter().enumerate().map(|(i, v)| kv(keys[i], *v)).collect();
            let mut shuffled = set.clone();
            let mut s = seed;
            for i in (1..shuffled.len()).rev() {
                s = mix(s.wrapping_add(1));
                shuffled.swap(i, (s % (i as u64 + 1)) as usize);
            }
            let f = KeyFilter::default();
            prop_assert_eq!(hash_set(&set, &f), hash_set(&shuffled, &f));
            prop_assert!(same_set(&normalize(&set, &f), &shuffled, &f));
        }
    }
}
