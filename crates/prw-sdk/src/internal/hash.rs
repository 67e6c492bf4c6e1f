//! Fast, order-independent hashing of attribute sets.
//!
//! Each [`KeyValue`] is hashed on its own with a folded multiply (the construction of
//! foldhash and wyhash: one 64×64→128-bit multiply, a few cycles where SipHash takes dozens)
//! over its key's and string value's hashes, which `prw-api` computes once when the string is
//! made; the per-pair hashes are summed. Addition commutes, so the hash of a set does not depend on
//! the order the caller listed it in, and nothing needs sorting or allocating to find an
//! existing series.

use prw_api::{Array, Key, KeyValue, Value};

const K0: u64 = 0x243f_6a88_85a3_08d3;
const K1: u64 = 0x1319_8a2e_0370_7344;
const K2: u64 = 0xa409_3822_299f_31d0;
const K3: u64 = 0x082e_fa98_ec4e_6c89;

/// Multiplies to 128 bits and folds the halves together: one instruction pair that mixes
/// every input bit into every output bit.
#[inline(always)]
fn fold(a: u64, b: u64) -> u64 {
    let full = u128::from(a).wrapping_mul(u128::from(b));
    (full as u64) ^ ((full >> 64) as u64)
}

#[inline(always)]
fn word8(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_le_bytes(w)
}

#[inline(always)]
fn word4(b: &[u8]) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[..4]);
    u64::from(u32::from_le_bytes(w))
}

#[inline(always)]
fn hash_value(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.hash_code(),
        Value::I64(i) => fold(*i as u64 ^ K1, K3),
        Value::Bool(b) => fold(u64::from(*b) ^ K2, K0),
        Value::F64(f) => fold(f.to_bits() ^ K3, K1),
        Value::Array(a) => hash_array(a),
    }
}

#[cold]
fn hash_array(a: &Array) -> u64 {
    let mut h = K3;
    let mut add = |x: u64| h = fold(h ^ x, K1);
    match a {
        Array::Bool(v) => v.iter().for_each(|b| add(u64::from(*b))),
        Array::I64(v) => v.iter().for_each(|i| add(*i as u64)),
        Array::F64(v) => v.iter().for_each(|f| add(f.to_bits())),
        Array::String(v) => v.iter().for_each(|s| add(s.hash_code())),
    }
    // Arrays of different types with the same elements must differ.
    let tag = match a {
        Array::Bool(_) => 1,
        Array::I64(_) => 2,
        Array::F64(_) => 3,
        Array::String(_) => 4,
    };
    fold(h ^ tag, K2)
}

#[inline(always)]
pub(crate) fn hash_pair(kv: &KeyValue) -> u64 {
    fold(kv.key.hash_code() ^ K0, hash_value(&kv.value) ^ K1)
}

/// A strong 64-bit finaliser (splitmix64), for tests' pseudo-random shuffles.
#[cfg(test)]
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
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

/// String equality, cheapest test first: length, then the pointer (attribute keys are
/// usually the same `'static` text), then the bytes, without a `memcmp` call for short ones.
#[inline(always)]
pub(crate) fn same_str(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let len = a.len();
    if len != b.len() {
        return false;
    }
    if a.as_ptr() == b.as_ptr() {
        return true;
    }
    if (8..=16).contains(&len) {
        word8(a) == word8(b) && word8(&a[len - 8..]) == word8(&b[len - 8..])
    } else if (4..8).contains(&len) {
        word4(a) == word4(b) && word4(&a[len - 4..]) == word4(&b[len - 4..])
    } else {
        a == b
    }
}

#[inline(always)]
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            x.hash_code() == y.hash_code() && same_str(x.as_str(), y.as_str())
        }
        (Value::I64(x), Value::I64(y)) => x == y,
        _ => a == b,
    }
}

/// The order-independent hash of the kept attributes of `attrs`. Each pair's hash is a
/// folded multiply, already well mixed, so their sum needs no finaliser.
#[inline(always)]
pub(crate) fn hash_set(attrs: &[KeyValue], filter: &KeyFilter) -> u64 {
    if !filter.is_all() {
        return hash_kept(attrs, filter);
    }
    let mut sum = 0u64;
    for kv in attrs {
        sum = sum.wrapping_add(hash_pair(kv));
    }
    sum
}

#[inline(never)]
fn hash_kept(attrs: &[KeyValue], filter: &KeyFilter) -> u64 {
    let mut sum = 0u64;
    for kv in attrs.iter().filter(|kv| filter.keeps(&kv.key)) {
        sum = sum.wrapping_add(hash_pair(kv));
    }
    sum
}

/// Where `kv`'s key sits in the sorted, unique `stored`, trying `guess` (its position in
/// the caller's slice) first: callers usually list attributes in one order, often sorted.
#[inline(always)]
fn position(stored: &[KeyValue], kv: &KeyValue, guess: usize) -> Option<usize> {
    let h = kv.key.hash_code();
    let hit = |s: &KeyValue| s.key.hash_code() == h && same_str(s.key.as_str(), kv.key.as_str());
    if let Some(s) = stored.get(guess) {
        if hit(s) {
            return Some(guess);
        }
    }
    if stored.len() <= 8 {
        stored.iter().position(hit)
    } else {
        stored.binary_search_by(|s| s.key.as_str().cmp(kv.key.as_str())).ok()
    }
}

/// Whether `input` (any order, kept keys only) is exactly the normalised set `stored`
/// (sorted by key, keys unique). Never allocates. Returns false, so the caller takes the
/// slow path, for inputs with duplicate keys and for sets of more than 64 attributes.
///
/// First, inline, the common case: every attribute kept and listed in the stored (sorted)
/// order, so pair `j` of one is pair `j` of the other, compared by pointer for `'static` and
/// shared text. Any difference falls through to the general comparison.
#[inline(always)]
pub(crate) fn same_set(stored: &[KeyValue], input: &[KeyValue], filter: &KeyFilter) -> bool {
    if filter.is_all() && stored.len() == input.len() {
        let mut j = 0;
        while j < input.len() {
            if !same_pair(&stored[j], &input[j]) && !equal_pair(&stored[j], &input[j]) {
                return same_set_any_order(stored, input, filter);
            }
            j += 1;
        }
        return true;
    }
    same_set_any_order(stored, input, filter)
}

/// Whether two pairs are equal, comparing text (owned strings, other types).
#[inline(never)]
fn equal_pair(s: &KeyValue, i: &KeyValue) -> bool {
    s.key == i.key && same_value(&s.value, &i.value)
}

/// Whether two pairs are the same, when both hold the same `'static` or shared text (or the
/// same integer); false otherwise, which sends the caller to [`equal_pair`].
#[inline(always)]
fn same_pair(s: &KeyValue, i: &KeyValue) -> bool {
    s.key.ptr_eq(&i.key)
        && match (&s.value, &i.value) {
            (Value::String(x), Value::String(y)) => x.ptr_eq(y),
            (Value::I64(x), Value::I64(y)) => x == y,
            _ => false,
        }
}

#[inline(never)]
fn same_set_any_order(stored: &[KeyValue], input: &[KeyValue], filter: &KeyFilter) -> bool {
    if stored.len() > 64 {
        return false;
    }
    let mut seen = 0u64;
    if filter.is_all() {
        if input.len() != stored.len() {
            return false;
        }
        for (j, kv) in input.iter().enumerate() {
            match position(stored, kv, j) {
                Some(i) if same_value(&stored[i].value, &kv.value) => {
                    let bit = 1u64 << i;
                    if seen & bit != 0 {
                        return false;
                    }
                    seen |= bit;
                }
                _ => return false,
            }
        }
        return true;
    }
    let mut kept = 0usize;
    for kv in input.iter().filter(|kv| filter.keeps(&kv.key)) {
        match position(stored, kv, kept) {
            Some(i) if same_value(&stored[i].value, &kv.value) => {
                let bit = 1u64 << i;
                if seen & bit != 0 {
                    return false;
                }
                seen |= bit;
            }
            _ => return false,
        }
        kept += 1;
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
    fn storage_does_not_matter() {
        let f = KeyFilter::default();
        let shared: std::sync::Arc<str> = "/users".into();
        let stored = normalize(&[KeyValue::new("a", "x"), KeyValue::new("b", shared.clone())], &f);
        for input in [
            [KeyValue::new("a", "x"), KeyValue::new("b", shared.clone())],
            [KeyValue::new("a", String::from("x")), KeyValue::new("b", "/users")],
            [KeyValue::new(String::from("a"), "x"), KeyValue::new("b", String::from("/users"))],
            [KeyValue::new("b", "/users"), KeyValue::new("a", "x")],
        ] {
            assert_eq!(hash_set(&stored, &f), hash_set(&input, &f));
            assert!(same_set(&stored, &input, &f), "{input:?}");
        }
        for input in [
            [KeyValue::new("a", "x"), KeyValue::new("b", "/user")],
            [KeyValue::new("a", String::from("y")), KeyValue::new("b", shared.clone())],
            [KeyValue::new("a", "x"), KeyValue::new("c", shared.clone())],
            [KeyValue::new("a", "x"), KeyValue::new("b", 1)],
        ] {
            assert!(!same_set(&stored, &input, &f), "{input:?}");
        }
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
#[cfg(test)]
mod distribution {
    use super::*;
    #[test]
    fn distinct_hashes() {
        let f = KeyFilter::default();
        let mut hs = std::collections::HashSet::new();
        let mut low = std::collections::HashSet::new();
        for i in 0..1000i64 {
            let set = [
                KeyValue::new(
                    "method",
                    ["GET", "POST", "PUT", "DELETE", "A", "B", "C", "D", "E", "F"]
                        [(i % 10) as usize],
                ),
                KeyValue::new(
                    "route",
                    ["/", "/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h", "/i"]
                        [((i / 10) % 10) as usize],
                ),
                KeyValue::new("status", 200 + i / 100),
            ];
            let h = hash_set(&set, &f);
            hs.insert(h);
            low.insert(h & 1023);
        }
        println!("distinct {} low {}", hs.len(), low.len());
        assert_eq!(hs.len(), 1000);
    }
}
