//! Word sets: the engine's lists (offensive words, keywords, number words) and an account's
//! blocked words, stored with repeated letters collapsed, with the quick filters the rules and
//! the prescan ask before a lookup ([`WordSet`], [`Quick`]), and the hash they share.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use super::normalize;

/// A small multiplicative hash for short words: the lists are ours, so no flooding to fear, and
/// SipHash costs more than the rest of a lookup.
#[derive(Default, Clone, Copy)]
pub struct WordHasher(u64);

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(super) type FastSet<T> = HashSet<T, BuildHasherDefault<WordHasher>>;

/// A set of words, stored collapsed, with a quick filter on (length, first letter).
#[derive(Debug, Clone, Default)]
pub struct WordSet {
    words: FastSet<Vec<u8>>,
    filter: [u32; 32],
    /// For each first letter, the letters that follow it in some word (after collapsing), and
    /// bit 26 when a one-letter word starts there: most words of a message stop here.
    pub(super) pairs: [u32; 26],
    /// The first three letters of every word of three letters or more, as a bitmap.
    triples: Vec<u64>,
    /// [`word_hash`] of every word and of its plural, open addressing (0 is an empty slot):
    /// a word of letters whose hash is not here is in no form of the set.
    hashes: Vec<u64>,
}

impl WordSet {
    pub fn new<'a>(words: impl IntoIterator<Item = &'a str>) -> WordSet {
        let mut set = WordSet::default();
        for w in words {
            let mut norm = normalize::normalize(w);
            norm.retain(|b| b.is_ascii_alphanumeric());
            let c = collapse(&leet(&norm));
            if c.is_empty() {
                continue;
            }
            set.filter[c.len().min(31)] |= letter_bit(c[0]);
            if c[0].is_ascii_lowercase() {
                let second = c.get(1).map_or(1 << 26, |b| letter_bit(*b));
                set.pairs[(c[0] - b'a') as usize] |= second;
            }
            if c.len() >= 3 && c[..3].iter().all(u8::is_ascii_lowercase) {
                if set.triples.is_empty() {
                    set.triples = vec![0; TRIPLES / 64];
                }
                let k = triple(&c);
                set.triples[k / 64] |= 1 << (k % 64);
            }
            set.words.insert(c);
        }
        let forms: Vec<u64> = set
            .words
            .iter()
            .flat_map(|c| {
                let mut plural = c.clone();
                push_collapsed(&mut plural, b's');
                [word_hash(c.iter().copied()), word_hash(plural.into_iter())]
            })
            .collect();
        set.hashes = vec![0; (forms.len() * 4).next_power_of_two().max(16)];
        let mask = set.hashes.len() - 1;
        for h in forms {
            let mut i = hash_slot(h, mask);
            while set.hashes[i] != 0 && set.hashes[i] != h {
                i = (i + 1) & mask;
            }
            set.hashes[i] = h;
        }
        set
    }

    /// Could a word whose letters (lowercase, repeats collapsed) hash to `h` (see [`word_hash`])
    /// be in the set, or be the plural of a word in it? Exact up to hash collisions.
    #[inline(always)]
    pub(super) fn may_be(&self, h: u64) -> bool {
        if self.hashes.is_empty() {
            return false;
        }
        let mask = self.hashes.len() - 1;
        let mut i = hash_slot(h, mask);
        loop {
            match self.hashes[i] {
                0 => return false,
                v if v == h => return true,
                _ => i = (i + 1) & mask,
            }
        }
    }

    pub(super) fn contains_collapsed(&self, w: &[u8]) -> bool {
        if w.is_empty() || self.filter[w.len().min(31)] & letter_bit(w[0]) == 0 {
            return false;
        }
        if w.len() >= 3 && !self.triples.is_empty() && w[..3].iter().all(u8::is_ascii_lowercase) {
            let k = triple(w);
            if self.triples[k / 64] & (1 << (k % 64)) == 0 {
                return false;
            }
        }
        self.words.contains(w)
    }

    /// Could a word starting with `first` then `second` (collapsed) be in the set?
    pub(super) fn may_start(&self, first: u8, second: Option<u8>) -> bool {
        if !first.is_ascii_lowercase() {
            return !self.words.is_empty();
        }
        let row = self.pairs[(first - b'a') as usize];
        match second {
            Some(b) if b.is_ascii_lowercase() => row & letter_bit(b) != 0,
            Some(_) => row != 0,
            None => row & (1 << 26) != 0,
        }
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// The first-letters filter of the prescan, for several word sets at once (the engine's
/// keywords, number words and offensive words, and an account's blocked words), so that one
/// lookup answers for all of them.
///
/// One bit per `(a, b, c)`, letters as `b & 31` (case folds itself away), `c = 0` for a word of
/// two letters. Words are listed with repeated letters collapsed ("porra" as "pora"), and a
/// word's first three letters are its collapsed ones only when none repeats; so the bits of
/// repeating letters are set conservatively: `(x, x, _)` when some listed word starts with
/// `x`, `(x, y, y)` when one starts with `x` then `y`. A clear bit means no listed word (nor
/// its plural) can be this word; a set bit means the whole word must be checked. `(x, 0, 0)`
/// is set when `x` alone is a listed word.
///
/// Stored as one `u32` of `c` bits per `(a, b)`, at `(b & 31) << 8 | (a & 31)`: the row of a
/// word whose first two letters are the low bytes of a little-endian `u64` is at that `u64`
/// masked with `0x1F1F` (32 KB, of which the rows of letters, ~3 KB, are ever read).
#[derive(Clone)]
pub(crate) struct Quick {
    rows: [u32; 0x2000],
}

impl Quick {
    pub(super) fn of(sets: &[&WordSet]) -> Quick {
        let mut q = Quick { rows: [0; 0x2000] };
        let mut set = |a: u8, b: u8, c: u8| q.rows[row(a, b)] |= 1 << (c & 31);
        let mut pairs = [0u32; 26];
        for s in sets {
            for (i, row) in s.pairs.iter().enumerate() {
                pairs[i] |= row;
            }
            for w in &s.words {
                match w[..] {
                    [a, b] if a.is_ascii_lowercase() && b.is_ascii_lowercase() => set(a, b, 0),
                    [a, b, c, ..] if [a, b, c].iter().all(u8::is_ascii_lowercase) => set(a, b, c),
                    _ => {}
                }
            }
        }
        // Words whose first letters repeat.
        for (x, &row) in (b'a'..=b'z').zip(&pairs) {
            if row == 0 {
                continue;
            }
            for c in 0..32 {
                set(x, x, c);
            }
            if row & (1 << 26) != 0 {
                set(x, 0, 0);
            }
            for (j, y) in (b'a'..=b'z').enumerate() {
                if row & (1 << j) != 0 {
                    set(x, y, y);
                }
            }
        }
        q
    }

    /// Could a word of letters whose first three are `a`, `b`, `c` (`c = 0` for a word of two
    /// letters) be in one of the sets, or be the plural of a word in one? Either case.
    #[inline(always)]
    pub(crate) fn may_hold(&self, a: u8, b: u8, c: u8) -> bool {
        debug_assert!(b != 0 || c == 0);
        self.rows[row(a, b)] & (1 << (c & 31)) != 0
    }

    /// [`Self::may_hold`] of the word whose first two letters are the low bytes of `w`.
    #[inline(always)]
    pub(crate) fn may_hold_packed(&self, w: u64, c: u8) -> bool {
        self.rows[(w & 0x1F1F) as usize] & (1 << (c & 31)) != 0
    }
}

impl std::fmt::Debug for Quick {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let heads: u32 = self.rows.iter().map(|w| w.count_ones()).sum();
        write!(f, "Quick {{ {heads} three-letter heads }}")
    }
}

/// What the prescan checks words against: the account's blocked words (if any), and the
/// first-letters filter of those and the engine's lists together.
#[derive(Clone, Copy)]
pub(crate) struct Lists<'a> {
    pub blocked: Option<&'a WordSet>,
    pub quick: &'a Quick,
}

/// A hash of a word's letters, lowercase, with runs of one letter counted once; never 0.
/// The letters may come in either case (`b | 0x20`).
#[inline(always)]
pub(crate) fn word_hash(letters: impl Iterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut prev = 0u8;
    for b in letters {
        let c = b | 0x20;
        if c != prev {
            h = (h ^ c as u64).wrapping_mul(0x0100_0000_01b3);
            prev = c;
        }
    }
    h | 1
}

#[inline(always)]
fn hash_slot(h: u64, mask: usize) -> usize {
    (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
}

const TRIPLES: usize = 26 * 26 * 26 + 64 - (26 * 26 * 26) % 64;

fn triple(w: &[u8]) -> usize {
    ((w[0] - b'a') as usize * 26 + (w[1] - b'a') as usize) * 26 + (w[2] - b'a') as usize
}

/// The row of [`Quick`] of a word starting with `a`, `b` (either case): the two letters as the
/// low bytes of a `u64`, masked with `0x1F1F`, as [`Quick::may_hold_packed`] takes them.
#[inline(always)]
fn row(a: u8, b: u8) -> usize {
    usize::from(b & 31) << 8 | usize::from(a & 31)
}

pub(super) fn letter_bit(b: u8) -> u32 {
    1 << (b.wrapping_sub(b'a') & 31)
}

fn leet(w: &[u8]) -> Vec<u8> {
    w.iter()
        .map(|&b| match b {
            b'0' => b'o',
            b'1' => b'i',
            b'3' => b'e',
            b'4' => b'a',
            b'5' => b's',
            b'7' => b't',
            b'8' => b'b',
            b'@' => b'a',
            b'$' => b's',
            other => other,
        })
        .collect()
}

fn collapse(w: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(w.len());
    for &b in w {
        if out.last() != Some(&b) {
            out.push(b);
        }
    }
    out
}

pub(super) fn leet_byte(b: u8) -> u8 {
    match b {
        b'0' => b'o',
        b'1' => b'i',
        b'3' => b'e',
        b'4' => b'a',
        b'5' => b's',
        b'7' => b't',
        b'8' => b'b',
        other => other,
    }
}

pub(super) fn push_collapsed(w: &mut Vec<u8>, b: u8) {
    if w.last() != Some(&b) {
        w.push(b);
    }
}
