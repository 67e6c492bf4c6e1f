//! Interned label strings: the symbol table a conversion's series share.
//!
//! Every label name and value of a conversion is stored once, in one text buffer, and a series'
//! labels are pairs of symbol refs into it. Equal strings have equal refs, so two label sets of
//! one conversion compare as integers; the RW 2.0 encoder maps refs to request symbols through
//! an array instead of hashing every label; and the sort orders symbols once, then series by
//! the symbols' ranks.

use std::cmp::Ordering;

/// FxHash (rustc's hasher) over 8-byte words: fast for the short strings of label names and
/// values.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The hash of a string, with its length mixed in (so `"a"` and `"a\0"` differ).
#[inline]
pub(crate) fn hash_str(s: &[u8]) -> u64 {
    let mut h = FxHasher(s.len() as u64);
    let mut words = s.chunks_exact(8);
    for w in &mut words {
        h.add(word(w));
    }
    if !words.remainder().is_empty() {
        // The last eight bytes (overlapping the words before) or the short string's bytes:
        // fixed-size loads, no copy of a variable length.
        h.add(if s.len() >= 8 { word(&s[s.len() - 8..]) } else { short_word(s) });
    }
    h.0
}

/// Eight bytes as an integer.
#[inline]
fn word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_le_bytes(w)
}

/// The bytes of a string shorter than eight bytes as an integer, from at most two loads.
/// Together with the length this determines the string (the two 4-byte loads, or the first,
/// middle and last byte, cover every byte).
#[inline]
fn short_word(b: &[u8]) -> u64 {
    let n = b.len();
    if n >= 4 {
        let (mut lo, mut hi) = ([0u8; 4], [0u8; 4]);
        lo.copy_from_slice(&b[..4]);
        hi.copy_from_slice(&b[n - 4..]);
        u64::from(u32::from_le_bytes(lo)) | (u64::from(u32::from_le_bytes(hi)) << 32)
    } else if n > 0 {
        u64::from(b[0]) | (u64::from(b[n / 2]) << 8) | (u64::from(b[n - 1]) << 16)
    } else {
        0
    }
}

/// Whether two byte strings are equal, a word at a time (no `memcmp` call: label values are
/// short).
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return short_word(a) == short_word(b);
    }
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    for (p, q) in (&mut x).zip(&mut y) {
        if word(p) != word(q) {
            return false;
        }
    }
    word(&a[n - 8..]) == word(&b[n - 8..])
}

/// Strings by ref: ref 0 is always `""`.
#[derive(Debug, Clone)]
pub(crate) struct Symbols {
    text: String,
    /// Where each symbol starts in `text`, plus the end of the last one.
    bounds: Vec<usize>,
}

impl Default for Symbols {
    fn default() -> Self {
        Self { text: String::new(), bounds: vec![0, 0] }
    }
}

impl Symbols {
    /// No symbols at all (not even `""`): what a label set without a store reads.
    pub(crate) const EMPTY: Symbols = Symbols { text: String::new(), bounds: Vec::new() };

    /// The string of ref `r` (`""` for a ref out of range, which no caller makes).
    #[inline]
    pub(crate) fn get(&self, r: u32) -> &str {
        let r = r as usize;
        match (self.bounds.get(r), self.bounds.get(r + 1)) {
            (Some(&a), Some(&b)) => self.text.get(a..b).unwrap_or(""),
            _ => "",
        }
    }

    /// The bytes of ref `r`.
    #[inline]
    pub(crate) fn bytes(&self, r: u32) -> &[u8] {
        let r = r as usize;
        match (self.bounds.get(r), self.bounds.get(r + 1)) {
            (Some(&a), Some(&b)) => self.text.as_bytes().get(a..b).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Number of symbols, `""` included.
    pub(crate) fn len(&self) -> usize {
        self.bounds.len().saturating_sub(1)
    }

    /// Appends `s` as a new symbol (no check for an equal one) and returns its ref.
    fn push(&mut self, s: &str) -> u32 {
        if self.bounds.is_empty() {
            self.bounds.push(0);
        }
        let r = self.len() as u32;
        self.text.push_str(s);
        self.bounds.push(self.text.len());
        r
    }
}

/// Length of the longest common prefix of `a` and `b`.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    // Eight bytes at a time; `chunks_exact` lets the compiler drop the bounds checks.
    let mut i = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let d = word(x) ^ word(y);
        if d != 0 {
            return i + (d.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + a[i..].iter().zip(&b[i..]).take_while(|(x, y)| x == y).count()
}

/// Compares two byte strings (without a `memcmp` call: label names and values are short).
#[inline]
pub(crate) fn cmp_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let n = common_prefix(a, b);
    match (a.get(n), b.get(n)) {
        (Some(x), Some(y)) => x.cmp(y),
        _ => a.len().cmp(&b.len()),
    }
}

/// The labels of a conversion: each distinct `(name, value)` pair once, by id, with its
/// strings in [`Symbols`] and its RW 1.0 `labels` entry written out, so encoding a series'
/// labels is one copy per label. Label id 0 is unused.
#[derive(Debug, Clone)]
pub(crate) struct LabelTable {
    pub(crate) symbols: Symbols,
    /// Name and value ref of each label.
    pairs: Vec<[u32; 2]>,
    /// The RW 1.0 `labels` entry (`Label` message with its field key and length) of each label.
    wire: Vec<u8>,
    wire_bounds: Vec<usize>,
    /// A hash of each label's name and value (the same for equal labels of any table).
    hashes: Vec<u64>,
}

impl Default for LabelTable {
    fn default() -> Self {
        Self {
            symbols: Symbols::default(),
            pairs: vec![[0, 0]],
            wire: Vec::new(),
            wire_bounds: vec![0, 0],
            hashes: vec![0],
        }
    }
}

impl LabelTable {
    /// No labels at all: what a label set without a store reads.
    pub(crate) const EMPTY: LabelTable = LabelTable {
        symbols: Symbols::EMPTY,
        pairs: Vec::new(),
        wire: Vec::new(),
        wire_bounds: Vec::new(),
        hashes: Vec::new(),
    };

    /// Name and value ref of label `id`.
    #[inline]
    pub(crate) fn pair(&self, id: u32) -> [u32; 2] {
        self.pairs.get(id as usize).copied().unwrap_or([0, 0])
    }

    /// Name and value of label `id`.
    #[inline]
    pub(crate) fn get(&self, id: u32) -> (&str, &str) {
        let [n, v] = self.pair(id);
        (self.symbols.get(n), self.symbols.get(v))
    }

    /// The RW 1.0 `labels` entry of label `id`.
    #[cfg(test)]
    pub(crate) fn wire(&self, id: u32) -> &[u8] {
        let i = id as usize;
        match (self.wire_bounds.get(i), self.wire_bounds.get(i + 1)) {
            (Some(&a), Some(&b)) => self.wire.get(a..b).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// A hash of label `id`'s name and value, equal for equal labels of any table.
    #[inline]
    pub(crate) fn content_hash(&self, id: u32) -> u64 {
        self.hashes.get(id as usize).copied().unwrap_or(0)
    }

    /// All labels' RW 1.0 entries in one buffer, and where each starts (label `id`'s entry is
    /// `bounds[id]..bounds[id + 1]`): for encoders that copy entries in fixed-width chunks.
    #[inline]
    pub(crate) fn wire_parts(&self) -> (&[u8], &[usize]) {
        (&self.wire, &self.wire_bounds)
    }

    /// Number of label ids, the unused 0 included.
    pub(crate) fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Compares two labels: name, then value, by bytes.
    #[inline]
    pub(crate) fn cmp(&self, a: u32, b: u32) -> Ordering {
        if a == b {
            return Ordering::Equal;
        }
        let ([an, av], [bn, bv]) = (self.pair(a), self.pair(b));
        let s = &self.symbols;
        let by_name = if an == bn { Ordering::Equal } else { cmp_bytes(s.bytes(an), s.bytes(bn)) };
        by_name.then_with(|| cmp_bytes(s.bytes(av), s.bytes(bv)))
    }

    /// Appends a label (no check for an equal one) and returns its id.
    fn push(&mut self, name: u32, value: u32) -> u32 {
        if self.pairs.is_empty() {
            *self = Self::default();
        }
        let id = self.pairs.len() as u32;
        self.pairs.push([name, value]);
        let (k, v) = (self.symbols.bytes(name), self.symbols.bytes(value));
        self.hashes.push((hash_str(k).rotate_left(17) ^ hash_str(v)).wrapping_mul(FX_SEED));
        let mut w = std::mem::take(&mut self.wire);
        crate::wire::put_label(&mut w, k, v);
        self.wire = w;
        self.wire_bounds.push(self.wire.len());
        id
    }

    /// Appends a label with new symbols for its strings (no check for equal ones), for a
    /// label set built on its own.
    pub(crate) fn push_strings(&mut self, name: &str, value: &str) -> u32 {
        if self.pairs.is_empty() {
            *self = Self::default();
        }
        let n = self.symbols.push(name);
        let v = self.symbols.push(value);
        self.push(n, v)
    }
}

/// An open-addressing hash index of `u32` ids (0 is the empty slot), at most half full.
#[derive(Debug)]
struct Index {
    /// Per slot: the id, and the high half of its hash (to skip most mismatches unread).
    slots: Vec<(u32, u32)>,
    len: usize,
}

impl Index {
    fn new() -> Self {
        Self { slots: vec![(0, 0); 256], len: 0 }
    }

    /// The id in the chain of `hash` for which `is` holds, else the free slot to fill.
    #[inline]
    fn find(&self, hash: u64, mut is: impl FnMut(u32) -> bool) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let tag = (hash >> 32) as u32;
        // The multiply leaves the low bits weak: index by the high ones.
        let mut i = (hash >> 40) as usize & mask;
        loop {
            let (id, t) = self.slots[i];
            if id == 0 {
                return Err(i);
            }
            if t == tag && is(id) {
                return Ok(id);
            }
            i = (i + 1) & mask;
        }
    }

    fn insert_at(&mut self, slot: usize, hash: u64, id: u32) {
        self.slots[slot] = (id, (hash >> 32) as u32);
        self.len += 1;
        if self.len * 2 > self.slots.len() {
            let grown = vec![(0, 0); self.slots.len() * 2];
            let old = std::mem::replace(&mut self.slots, grown);
            let mask = self.slots.len() - 1;
            for (id, tag) in old.into_iter().filter(|&(id, _)| id != 0) {
                // The tag is the high half of the hash; the index came from bits 40 and up.
                let mut i = (tag >> 8) as usize & mask;
                while self.slots[i].0 != 0 {
                    i = (i + 1) & mask;
                }
                self.slots[i] = (id, tag);
            }
        }
    }
}

/// A label whose value is at most 24 bytes, keyed by its name ref and its value's bytes as
/// three words (see [`short_key`]).
#[derive(Debug, Clone, Copy, Default)]
struct ShortLabel {
    name: u32,
    len: u32,
    words: [u64; 3],
    /// 0 for an empty entry.
    id: u32,
}

/// Most entries of the short-label cache (a power of two). It starts small and grows with
/// the number of labels, so a small conversion does not pay for a big one.
const SHORT_LABELS: usize = 4096;
const SHORT_LABELS_MIN: usize = 64;

/// The bytes of a value of at most 24 bytes as three words: fixed-size loads (overlapping
/// when the value is not a multiple of eight bytes long), which together with the length
/// determine the value.
#[inline]
fn short_key(b: &[u8]) -> Option<[u64; 3]> {
    let n = b.len();
    Some(match n {
        0..8 => [short_word(b), 0, 0],
        8..=16 => [word(b), word(&b[n - 8..]), 0],
        17..=24 => [word(b), word(&b[8..]), word(&b[n - 8..])],
        _ => return None,
    })
}

/// Builds a [`LabelTable`], giving equal strings one symbol and equal labels one id.
#[derive(Debug)]
pub(crate) struct Interner {
    table: LabelTable,
    symbol_index: Index,
    label_index: Index,
    /// A direct-mapped cache in front of `label_index` for short values (most label values:
    /// methods, codes, hosts, short paths): the key is compared inline, without following
    /// the table to the value's text.
    short: Vec<ShortLabel>,
}

impl Default for Interner {
    fn default() -> Self {
        Self::new()
    }
}

/// The hash of a label: its name ref mixed into its value's hash.
#[inline]
fn label_hash(name: u32, value: &[u8]) -> u64 {
    (hash_str(value) ^ u64::from(name)).wrapping_mul(FX_SEED)
}

impl Interner {
    pub(crate) fn new() -> Self {
        Self {
            table: LabelTable::default(),
            symbol_index: Index::new(),
            label_index: Index::new(),
            short: vec![ShortLabel::default(); SHORT_LABELS_MIN],
        }
    }

    pub(crate) fn table(&self) -> &LabelTable {
        &self.table
    }

    /// The ref of string `s`, added if new.
    #[inline]
    pub(crate) fn symbol(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let h = hash_str(s.as_bytes());
        let symbols = &self.table.symbols;
        match self.symbol_index.find(h, |r| same_bytes(symbols.bytes(r), s.as_bytes())) {
            Ok(r) => r,
            Err(slot) => {
                let r = self.table.symbols.push(s);
                self.symbol_index.insert_at(slot, h, r);
                r
            }
        }
    }

    /// The id of the label with name ref `name` and value `value`, added if new.
    #[inline]
    pub(crate) fn label(&mut self, name: u32, value: &str) -> u32 {
        let Some(words) = short_key(value.as_bytes()) else { return self.label_slow(name, value) };
        let len = value.len() as u32;
        let h = (words[0] ^ words[1].rotate_left(21) ^ words[2].rotate_left(42))
            .wrapping_add(u64::from(name) << 32 | u64::from(len))
            .wrapping_mul(FX_SEED);
        let slot = (h >> 52) as usize & (self.short.len() - 1);
        let e = self.short[slot];
        if e.id != 0 && e.name == name && e.len == len && e.words == words {
            return e.id;
        }
        let id = self.label_slow(name, value);
        self.short[slot] = ShortLabel { name, len, words, id };
        // Four entries per label keeps conflicts rare; a bigger cache starts empty.
        if self.table.len() * 4 > self.short.len() && self.short.len() < SHORT_LABELS {
            self.short = vec![ShortLabel::default(); self.short.len() * 4];
        }
        id
    }

    /// [`Self::label`] through the full index.
    fn label_slow(&mut self, name: u32, value: &str) -> u32 {
        let h = label_hash(name, value.as_bytes());
        let t = &self.table;
        let found = self.label_index.find(h, |id| {
            let [n, v] = t.pair(id);
            n == name && same_bytes(t.symbols.bytes(v), value.as_bytes())
        });
        match found {
            Ok(id) => id,
            Err(slot) => {
                let v = self.symbol(value);
                let id = self.table.push(name, v);
                self.label_index.insert_at(slot, h, id);
                id
            }
        }
    }

    /// The id of the label `name`=`value`, both added if new.
    pub(crate) fn label_str(&mut self, name: &str, value: &str) -> u32 {
        let n = self.symbol(name);
        self.label(n, value)
    }

    pub(crate) fn into_table(self) -> LabelTable {
        self.table
    }
}

/// Ranks of labels in label order, for sorting label sets by integers instead of strings.
#[derive(Debug, Default)]
pub(crate) struct Ranks {
    /// Rank by label id.
    pub(crate) rank: Vec<u32>,
    distinct: Vec<u32>,
}

/// The first eight bytes of `b`, big-endian, zero-padded: integers in the order of the strings
/// (strings that tie here may still differ, or one be a prefix of the other).
#[inline]
fn prefix_key(b: &[u8]) -> u64 {
    if b.len() >= 8 {
        return u64::from_be_bytes(b[..8].try_into().unwrap_or([0; 8]));
    }
    let mut k = [0u8; 8];
    for (d, s) in k.iter_mut().zip(b) {
        *d = *s;
    }
    u64::from_be_bytes(k)
}

/// Sorts label ids in label order (name bytes, then value bytes). Names are few: they are
/// ranked first, and each label sorts on (its name's rank, its value's first eight bytes) as
/// integers, the values' strings compared only where those tie.
pub(crate) fn sort_labels(table: &LabelTable, ids: &mut [u32]) {
    let s = &table.symbols;
    let mut names: Vec<u32> = ids.iter().map(|&id| table.pair(id)[0]).collect();
    names.sort_unstable();
    names.dedup();
    names.sort_unstable_by(|&a, &b| cmp_bytes(s.bytes(a), s.bytes(b)));
    // Equal names (the same string under two refs, in a table built without interning) get
    // one rank.
    let mut name_rank: Vec<(u32, u32)> = Vec::with_capacity(names.len());
    let mut r = 0u32;
    for (i, &n) in names.iter().enumerate() {
        if i > 0 && cmp_bytes(s.bytes(names[i - 1]), s.bytes(n)) != Ordering::Equal {
            r += 1;
        }
        name_rank.push((n, r));
    }
    name_rank.sort_unstable();
    let rank_of =
        |n: u32| name_rank.binary_search_by_key(&n, |&(x, _)| x).map_or(0, |i| name_rank[i].1);
    let mut keyed: Vec<(u32, u64, u32)> = ids
        .iter()
        .map(|&id| {
            let [n, v] = table.pair(id);
            (rank_of(n), prefix_key(s.bytes(v)), id)
        })
        .collect();
    keyed.sort_unstable_by(|a, b| {
        (a.0, a.1)
            .cmp(&(b.0, b.1))
            .then_with(|| cmp_bytes(s.bytes(table.pair(a.2)[1]), s.bytes(table.pair(b.2)[1])))
    });
    for (d, k) in ids.iter_mut().zip(&keyed) {
        *d = k.2;
    }
}

impl Ranks {
    /// Ranks every label of `table` in label order. Returns the number of labels.
    pub(crate) fn rank_all(&mut self, table: &LabelTable) -> usize {
        self.distinct.clear();
        self.distinct.extend(1..table.len() as u32);
        sort_labels(table, &mut self.distinct);
        self.rank.clear();
        self.rank.resize(table.len(), 0);
        for (i, &id) in self.distinct.iter().enumerate() {
            self.rank[id as usize] = i as u32;
        }
        self.distinct.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_compare_and_hash_by_every_byte() {
        let words: Vec<Vec<u8>> = (0..=17)
            .flat_map(|n| {
                (0..n).map(move |i| {
                    let mut w: Vec<u8> = (0..n as u8).map(|b| b + 1).collect();
                    w[i] = 0xff;
                    w
                })
            })
            .chain((0..=17).map(|n| vec![b'a'; n]))
            .collect();
        for a in &words {
            for b in &words {
                assert_eq!(same_bytes(a, b), a == b, "{a:?} {b:?}");
                if a == b {
                    assert_eq!(hash_str(a), hash_str(b));
                }
            }
        }
    }

    #[test]
    fn interns_equal_strings_and_labels_once() {
        let mut i = Interner::new();
        let words: Vec<String> = (0..5000).map(|n| format!("w{}", n % 1234)).collect();
        let refs: Vec<u32> = words.iter().map(|w| i.symbol(w)).collect();
        assert_eq!(i.symbol(""), 0);
        assert_eq!(i.table().symbols.len(), 1235);
        for (w, &r) in words.iter().zip(&refs) {
            assert_eq!(i.table().symbols.get(r), w);
            assert_eq!(i.symbol(w), r);
        }
        // NUL and prefixes are distinct strings.
        let a = i.symbol("a");
        let b = i.symbol("a\0");
        assert_ne!(a, b);
        assert_eq!(i.table().symbols.get(b), "a\0");
        // Labels: by name and value.
        let ids: Vec<u32> = words.iter().map(|w| i.label_str(&w[..2], w)).collect();
        for (w, &id) in words.iter().zip(&ids) {
            assert_eq!(i.table().get(id), (&w[..2], w.as_str()));
            assert_eq!(i.label_str(&w[..2], w), id);
            let mut want = Vec::new();
            crate::wire::put_label(&mut want, &w.as_bytes()[..2], w.as_bytes());
            assert_eq!(i.table().wire(id), want.as_slice());
        }
        assert_ne!(i.label_str("x", "y"), i.label_str("y", "y"));
    }

    #[test]
    fn the_short_label_cache_keeps_every_byte_and_the_name_apart() {
        let mut i = Interner::new();
        let names = [i.symbol("a"), i.symbol("b")];
        // Values of every length around the word sizes, differing in one byte anywhere.
        let mut values = Vec::new();
        for n in 0..=30usize {
            values.push("x".repeat(n));
            for at in 0..n {
                let mut v = vec![b'x'; n];
                v[at] = b'y';
                values.push(String::from_utf8(v).expect("ASCII"));
            }
        }
        let ids: Vec<Vec<u32>> =
            names.iter().map(|&n| values.iter().map(|v| i.label(n, v)).collect()).collect();
        // Again, now through the cache: the same ids, each label distinct.
        for (k, &n) in names.iter().enumerate() {
            for (j, v) in values.iter().enumerate() {
                assert_eq!(i.label(n, v), ids[k][j], "{v:?}");
                assert_eq!(i.table().get(ids[k][j]), (["a", "b"][k], v.as_str()));
            }
        }
        let mut all: Vec<u32> = ids.concat();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 2 * values.len());
    }

    #[test]
    fn ranks_follow_label_order() {
        let mut i = Interner::new();
        // Names and values that tie on their first eight bytes, NUL bytes, prefixes.
        let labels = [
            ("b", "1"),
            ("a", "2"),
            ("a", ""),
            ("ab", "0"),
            ("a\0", "z"),
            ("B", "x"),
            ("b", "1"),
            ("otel_scope_version", "1"),
            ("otel_scope_name", "z"),
            ("otel_scope_name", "/api/v1/items/17"),
            ("otel_scope_name", "/api/v1/items/170"),
            ("otel_scope_name", "/api/v1/items/1"),
            ("otel_scope_name", "/api/v1/\0"),
            ("otel_scope_name", "/api/v1/"),
        ];
        let ids: Vec<u32> = labels.iter().map(|(k, v)| i.label_str(k, v)).collect();
        let mut ranks = Ranks::default();
        let n = ranks.rank_all(i.table());
        assert_eq!(n, labels.len() - 1);
        for (x, &ix) in labels.iter().zip(&ids) {
            for (y, &iy) in labels.iter().zip(&ids) {
                let want = x.0.cmp(y.0).then(x.1.cmp(y.1));
                assert_eq!(ranks.rank[ix as usize].cmp(&ranks.rank[iy as usize]), want);
                assert_eq!(i.table().cmp(ix, iy), want);
            }
        }
    }
}
