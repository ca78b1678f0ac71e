//! The moderation rules engine: compiled once per cold start, then every message is normalised
//! to ASCII bytes ([`normalize`]), cut into tokens with the separators between them, and read by
//! each rule. Findings become seed `BlockRule`s, one per kind:
//! `CPF`, `CNPJ`, `PIX`, `EMAIL`, `PHONE`, `LINK`, `OFFENSIVE`.
//!
//! Evasions it sees through: separators and line breaks between digits, digits written as words,
//! `arroba`/`(at)`/`[at]`, `ponto com`, full-width and look-alike letters, leetspeak and repeated
//! letters in words. What it must let pass: prices, quantities, order and tracking numbers, dates,
//! CEPs, product codes and sizes (see `tests/corpus/`).

pub mod normalize;
mod prescan;
pub mod words;

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

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

type FastSet<T> = HashSet<T, BuildHasherDefault<WordHasher>>;

use crate::domain::model::BlockRule;

/// Kinds of finding, in the order their rules are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tag {
    Cpf,
    Cnpj,
    Pix,
    Email,
    Phone,
    Link,
    Offensive,
}

impl Tag {
    pub const ALL: [Tag; 7] = [
        Tag::Cpf,
        Tag::Cnpj,
        Tag::Pix,
        Tag::Email,
        Tag::Phone,
        Tag::Link,
        Tag::Offensive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tag::Cpf => "CPF",
            Tag::Cnpj => "CNPJ",
            Tag::Pix => "PIX",
            Tag::Email => "EMAIL",
            Tag::Phone => "PHONE",
            Tag::Link => "LINK",
            Tag::Offensive => "OFFENSIVE",
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Tag::Cpf => "A mensagem contém um CPF",
            Tag::Cnpj => "A mensagem contém um CNPJ",
            Tag::Pix => "A mensagem contém uma chave PIX",
            Tag::Email => "A mensagem contém um endereço de e-mail",
            Tag::Phone => "A mensagem contém um número de telefone",
            Tag::Link => "A mensagem contém um link externo",
            Tag::Offensive => "A mensagem contém linguagem ofensiva",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The set of kinds found in one message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Findings(u8);

impl Findings {
    pub fn add(&mut self, t: Tag) {
        self.0 |= t.bit();
    }
    pub fn has(self, t: Tag) -> bool {
        self.0 & t.bit() != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn tags(self) -> impl Iterator<Item = Tag> {
        Tag::ALL.into_iter().filter(move |t| self.has(*t))
    }
    pub fn block_rules(self) -> Vec<BlockRule> {
        self.tags()
            .map(|t| BlockRule {
                reason: t.reason().to_owned(),
                tags: vec![t.as_str().to_owned()],
                fields: Vec::new(),
            })
            .collect()
    }
}

/// The findings of one message over all its fields: one decision, with each kind's block rule
/// naming the fields that tripped it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldFindings {
    all: Findings,
    /// (kind, field), in the order found.
    at: Vec<(Tag, String)>,
}

impl FieldFindings {
    pub fn add(&mut self, field: &str, found: Findings) {
        self.all.0 |= found.0;
        for t in found.tags() {
            self.at.push((t, field.to_owned()));
        }
    }
    pub fn all(&self) -> Findings {
        self.all
    }
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }
    /// One rule per kind, in the kinds' order, each with its fields in the order checked.
    pub fn block_rules(&self) -> Vec<BlockRule> {
        self.all
            .tags()
            .map(|t| BlockRule {
                reason: t.reason().to_owned(),
                tags: vec![t.as_str().to_owned()],
                fields: self
                    .at
                    .iter()
                    .filter(|(k, _)| *k == t)
                    .map(|(_, f)| f.clone())
                    .collect(),
            })
            .collect()
    }
}

// ---- separators between tokens ------------------------------------------------------------

const S_SPACE: u16 = 1;
const S_NL: u16 = 1 << 1;
const S_DOT: u16 = 1 << 2;
const S_DASH: u16 = 1 << 3;
const S_SLASH: u16 = 1 << 4;
const S_AT: u16 = 1 << 5;
const S_COLON: u16 = 1 << 6;
const S_COMMA: u16 = 1 << 7;
const S_PAREN: u16 = 1 << 8;
const S_PLUS: u16 = 1 << 9;
const S_DOLLAR: u16 = 1 << 10;
const S_STAR: u16 = 1 << 11;
const S_BRACKET: u16 = 1 << 12;
const S_OTHER: u16 = 1 << 13;

const fn sep_table() -> [u16; 256] {
    let mut t = [S_OTHER; 256];
    t[b' ' as usize] = S_SPACE;
    t[b'\t' as usize] = S_SPACE;
    t[b'\r' as usize] = S_SPACE;
    t[0x0b] = S_SPACE;
    t[0x0c] = S_SPACE;
    t[b'\n' as usize] = S_NL;
    t[b'.' as usize] = S_DOT;
    t[b'-' as usize] = S_DASH;
    t[b'_' as usize] = S_DASH;
    t[b'/' as usize] = S_SLASH;
    t[b'\\' as usize] = S_SLASH;
    t[b'@' as usize] = S_AT;
    t[b':' as usize] = S_COLON;
    t[b',' as usize] = S_COMMA;
    t[b';' as usize] = S_COMMA;
    t[b'(' as usize] = S_PAREN;
    t[b')' as usize] = S_PAREN;
    t[b'+' as usize] = S_PLUS;
    t[b'$' as usize] = S_DOLLAR;
    t[b'*' as usize] = S_STAR;
    t[b'#' as usize] = S_STAR;
    t[b'[' as usize] = S_BRACKET;
    t[b']' as usize] = S_BRACKET;
    t[b'{' as usize] = S_BRACKET;
    t[b'}' as usize] = S_BRACKET;
    t
}

static SEP: [u16; 256] = sep_table();

const K_ALPHA: u8 = 1;
const K_DIGIT: u8 = 2;

#[derive(Debug, Clone, Copy)]
struct Token {
    start: u32,
    end: u32,
    kind: u8,
    /// The separator before this token: kinds of character in it, and its length.
    sep: u16,
    sep_len: u16,
    /// The separator's first three characters (for `://` and ` . `).
    sep_head: [u8; 3],
}

impl Token {
    fn len(&self) -> usize {
        (self.end - self.start) as usize
    }
}

const C_SEP: u8 = 0;
const C_ALPHA: u8 = K_ALPHA;
const C_DIGIT: u8 = K_DIGIT;

const fn class_table() -> [u8; 256] {
    let mut t = [C_SEP; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_lowercase() || c.is_ascii_uppercase() {
            t[b] = C_ALPHA;
        } else if c.is_ascii_digit() {
            t[b] = C_DIGIT;
        }
        b += 1;
    }
    t
}

static CLASS: [u8; 256] = class_table();

/// What the tokenizer saw in the whole message: lets whole rules be skipped.
#[derive(Debug, Default, Clone, Copy)]
struct Summary {
    /// Every kind of separator character present.
    seps: u16,
    /// Digits in all-digit tokens.
    digits: usize,
    /// A token of exactly 14 characters (a solid CNPJ).
    has14: bool,
}

/// The next character as a normalised ASCII byte and its width in the input, or `None` for an
/// invisible character (which vanishes without splitting a token).
#[inline(always)]
fn next_char(input: &str, bytes: &[u8], i: usize) -> (Option<u8>, usize) {
    let b = bytes[i];
    if b < 0x80 {
        return (Some(b), 1);
    }
    let c = input[i..].chars().next().unwrap_or(' ');
    (normalize::map_char(c), c.len_utf8())
}

/// Normalises and tokenizes in one pass: `text` receives only the (normalised) characters of
/// the tokens, back to back; each token remembers the separator before it.
#[inline(never)]
fn tokenize(input: &str, text: &mut Vec<u8>, out: &mut Vec<Token>) -> Summary {
    let bytes = input.as_bytes();
    let n = bytes.len();
    // Every output byte comes from at least one input byte: size once, write by index.
    text.clear();
    text.resize(n, 0);
    out.clear();
    let mut sum = Summary::default();
    let mut w = 0usize;
    let mut i = 0usize;
    loop {
        // A separator run.
        let mut sep = 0u16;
        let mut sep_len = 0usize;
        let mut sep_head = [0u8; 3];
        let mut first = 0u8;
        let mut first_class = C_SEP;
        while i < n {
            let (m, width) = next_char(input, bytes, i);
            i += width;
            let Some(m) = m else { continue };
            let class = CLASS[m as usize];
            if class != C_SEP {
                first = m;
                first_class = class;
                break;
            }
            if sep_len < 3 {
                sep_head[sep_len] = m;
            }
            sep |= SEP[m as usize];
            sep_len += 1;
        }
        sum.seps |= sep;
        if first_class == C_SEP {
            break;
        }
        // A token: letters lowercased, digits as they are.
        let start = w;
        text[w] = first | ((first_class == C_ALPHA) as u8) << 5;
        w += 1;
        let mut kind = first_class;
        while i < n {
            let b = bytes[i];
            let (m, width) = if b < 0x80 {
                (b, 1)
            } else {
                match next_char(input, bytes, i) {
                    (Some(m), width) => (m, width),
                    (None, width) => {
                        i += width;
                        continue;
                    }
                }
            };
            let class = CLASS[m as usize];
            if class == C_SEP {
                break;
            }
            i += width;
            text[w] = m | ((class == C_ALPHA) as u8) << 5;
            w += 1;
            kind |= class;
        }
        let len = w - start;
        if kind == K_DIGIT {
            sum.digits += len;
        }
        sum.has14 |= len == 14;
        out.push(Token {
            start: start as u32,
            end: w as u32,
            kind,
            sep,
            sep_len: sep_len.min(u16::MAX as usize) as u16,
            sep_head,
        });
    }
    text.truncate(w);
    sum
}

/// Words that wake a rule: an address sign, a link, the word "pix".
const KEYWORDS: &[&str] = &[
    "arroba", "at", "ponto", "dot", "http", "https", "www", "pix", "chavepix",
];

/// Keywords some rules need, found in one pass over the words.
const KW_AT: u8 = 1;
const KW_DOT: u8 = 1 << 1;
const KW_WEB: u8 = 1 << 2;
const KW_PIX: u8 = 1 << 3;

// ---- the engine ---------------------------------------------------------------------------

/// A set of words, stored collapsed, with a quick filter on (length, first letter).
#[derive(Debug, Clone, Default)]
pub struct WordSet {
    words: FastSet<Vec<u8>>,
    filter: [u32; 32],
    /// For each first letter, the letters that follow it in some word (after collapsing), and
    /// bit 26 when a one-letter word starts there: most words of a message stop here.
    pairs: [u32; 26],
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
    fn may_be(&self, h: u64) -> bool {
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

    fn contains_collapsed(&self, w: &[u8]) -> bool {
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
    fn may_start(&self, first: u8, second: Option<u8>) -> bool {
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
    fn of(sets: &[&WordSet]) -> Quick {
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

fn letter_bit(b: u8) -> u32 {
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

/// What an account adds to the rules.
#[derive(Debug, Clone, Default)]
pub struct AccountRules {
    blocked: WordSet,
    /// [`Quick`] of the engine's lists and `blocked`, built on the account's first message.
    /// Every engine holds the same lists ([`Engine::new`] takes none), so it serves any engine.
    quick: std::sync::OnceLock<Box<Quick>>,
    /// Lowercase domains; a link to one of them or to a subdomain passes.
    pub allowed_domains: Vec<Vec<u8>>,
}

impl AccountRules {
    pub fn new(blocked_words: &[String], allowed_domains: &[String]) -> AccountRules {
        AccountRules {
            blocked: WordSet::new(blocked_words.iter().map(String::as_str)),
            quick: std::sync::OnceLock::new(),
            allowed_domains: allowed_domains
                .iter()
                .map(|d| {
                    d.trim()
                        .trim_start_matches("*.")
                        .to_ascii_lowercase()
                        .into_bytes()
                })
                .filter(|d| !d.is_empty())
                .collect(),
        }
    }

    fn allows(&self, domain: &[u8]) -> bool {
        self.allowed_domains.iter().any(|a| {
            domain == a.as_slice()
                || (domain.len() > a.len()
                    && domain.ends_with(a)
                    && domain[domain.len() - a.len() - 1] == b'.')
        })
    }
}

pub struct Engine {
    offensive: WordSet,
    /// Offensive words, keywords and number words together: what makes a word worth a look.
    special: WordSet,
    /// The first-letters filter of `special` (see [`Quick`]).
    quick: Box<Quick>,
    /// First-two-letter pairs that start a keyword, a number word or an offensive word.
    interesting: [u32; 26],
    code_words: FastSet<&'static [u8]>,
    tlds: FastSet<&'static [u8]>,
    not_domain: FastSet<&'static [u8]>,
    /// What the two-byte characters U+00C0..U+00FF become (see [`prescan`]).
    c3: [u8; 64],
}

/// One engine for the process, compiled on first use (for checks outside the worker, such as
/// whether a name shows contact details).
pub fn engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(Engine::new)
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

/// Buffers reused across messages.
#[derive(Default)]
pub struct Scratch {
    text: Vec<u8>,
    tokens: Vec<Token>,
    word: Vec<u8>,
    consumed: Vec<bool>,
    bufs: Bufs,
    pre: prescan::Prescan,
}

/// Work buffers of the rules, kept across messages so a message allocates nothing.
#[derive(Default)]
struct Bufs {
    digits: Vec<u8>,
    groups: Vec<Group>,
    chars: Vec<u8>,
    domain: Vec<u8>,
    documents: Vec<(usize, usize)>,
    phones: Vec<(usize, usize)>,
}

impl Engine {
    pub fn new() -> Engine {
        let offensive = WordSet::new(words::OFFENSIVE.iter().copied());
        let mut interesting = offensive.pairs;
        for w in KEYWORDS
            .iter()
            .map(|w| w.as_bytes())
            .chain(words::NUMBER_WORDS.iter().copied())
        {
            interesting[(w[0] - b'a') as usize] |= letter_bit(w[1]);
        }
        let special = WordSet::new(
            words::OFFENSIVE.iter().chain(KEYWORDS).copied().chain(
                words::NUMBER_WORDS
                    .iter()
                    .filter_map(|w| std::str::from_utf8(w).ok()),
            ),
        );
        Engine {
            quick: Box::new(Quick::of(&[&special])),
            special,
            interesting,
            offensive,
            code_words: words::CODE_WORDS.iter().map(|w| w.as_bytes()).collect(),
            tlds: words::TLDS.iter().map(|w| w.as_bytes()).collect(),
            not_domain: words::NOT_A_DOMAIN.iter().map(|w| w.as_bytes()).collect(),
            c3: prescan::c3_table(),
        }
    }

    fn pair_of_interest(&self, a: u8, b: u8) -> bool {
        a.is_ascii_lowercase()
            && b.is_ascii_lowercase()
            && self.interesting[(a - b'a') as usize] & letter_bit(b) != 0
    }

    /// Every kind of finding in `text`.
    pub fn check(&self, text: &str, account: Option<&AccountRules>) -> Findings {
        let mut scratch = Scratch::default();
        self.check_with(text, account, &mut scratch)
    }

    /// Every kind of finding in `text`: the prescan picks the windows the rules could act on,
    /// and the rules read only those.
    pub fn check_with(
        &self,
        text: &str,
        account: Option<&AccountRules>,
        s: &mut Scratch,
    ) -> Findings {
        let blocked = account.map(|a| &a.blocked).filter(|b| !b.is_empty());
        let quick = match (account, blocked) {
            (Some(a), Some(b)) => &**a
                .quick
                .get_or_init(|| Box::new(Quick::of(&[&self.special, b]))),
            _ => &*self.quick,
        };
        let mut pre = std::mem::take(&mut s.pre);
        self.prescan(text, Lists { blocked, quick }, &mut pre);
        let mut f = Findings::default();
        let mut pix_word = false;
        for &(a, b) in &pre.windows {
            let (found, pix) = self.check_window(&text[a..b], account, s);
            f.0 |= found.0;
            pix_word |= pix;
        }
        pix_word |= pre.pix;
        s.pre = pre;
        Self::pix_word_rule(f, pix_word)
    }

    /// The rules over the whole of `text`, without the prescan (what the prescan must agree with).
    pub fn check_full(&self, text: &str, account: Option<&AccountRules>) -> Findings {
        self.check_full_with(text, account, &mut Scratch::default())
    }

    /// [`Self::check_full`] with reused buffers (for the benchmark's comparison).
    pub fn check_full_with(
        &self,
        text: &str,
        account: Option<&AccountRules>,
        s: &mut Scratch,
    ) -> Findings {
        let (f, pix_word) = self.check_window(text, account, s);
        Self::pix_word_rule(f, pix_word)
    }

    /// PIX: the word anywhere in the message next to any other kind of key.
    fn pix_word_rule(mut f: Findings, pix_word: bool) -> Findings {
        if (f.has(Tag::Cpf) || f.has(Tag::Cnpj) || f.has(Tag::Email) || f.has(Tag::Phone))
            && pix_word
        {
            f.add(Tag::Pix);
        }
        f
    }

    /// The rules over one window; returns the findings and whether the word "pix" was seen.
    fn check_window(
        &self,
        text: &str,
        account: Option<&AccountRules>,
        s: &mut Scratch,
    ) -> (Findings, bool) {
        let sum = tokenize(text, &mut s.text, &mut s.tokens);
        let mut f = Findings::default();
        let cx = Cx {
            e: self,
            text: &s.text,
            toks: &s.tokens,
            account,
        };
        // One pass over the words: offensive words, and the keywords that wake other rules.
        let (kw, number_digits) = cx.words(&mut f, &mut s.word);
        // Each rule runs only when the message has what it needs to fire.
        if sum.digits + number_digits >= 8 {
            cx.digits(&mut f, &mut s.bufs);
        }
        if sum.has14 || sum.seps & (S_DOT | S_SLASH | S_DASH) != 0 {
            cx.alnum_cnpj(&mut f, &mut s.bufs.chars);
        }
        s.consumed.clear();
        s.consumed.resize(s.tokens.len(), false);
        if sum.seps & S_AT != 0 || kw & KW_AT != 0 {
            cx.emails(&mut f, &mut s.consumed, &mut s.bufs.domain);
        }
        if sum.seps & S_DOT != 0 || kw & (KW_DOT | KW_WEB) != 0 {
            cx.links(&mut f, &s.consumed, &mut s.bufs.domain);
        }
        // PIX: a random key (UUID) on its own.
        if sum.seps & S_DASH != 0 && cx.uuid() {
            f.add(Tag::Pix);
        }
        (f, kw & KW_PIX != 0)
    }

    /// Is this (collapsed) word listed, by the engine or the account? Plurals too: "idiotas".
    fn listed(&self, w: &[u8], blocked: Option<&WordSet>) -> bool {
        let one = |w: &[u8]| {
            self.offensive.contains_collapsed(w) || blocked.is_some_and(|b| b.contains_collapsed(w))
        };
        one(w) || (w.len() > 3 && w.ends_with(b"s") && one(&w[..w.len() - 1]))
    }
}

struct Cx<'a> {
    e: &'a Engine,
    text: &'a [u8],
    toks: &'a [Token],
    account: Option<&'a AccountRules>,
}

/// Separators digits of one number may have between them (kept short: a long gap is prose).
const DIGIT_JOIN: u16 =
    S_SPACE | S_NL | S_DOT | S_DASH | S_SLASH | S_COLON | S_COMMA | S_PAREN | S_PLUS | S_STAR;
const CPF_SEPS: u16 = S_SPACE | S_NL | S_DOT | S_DASH | S_STAR | S_SLASH;
const CNPJ_SEPS: u16 = CPF_SEPS;
const PHONE_SEPS: u16 = S_SPACE | S_NL | S_DOT | S_DASH | S_PAREN | S_PLUS | S_STAR;

#[derive(Clone, Copy)]
struct Group {
    at: usize,
    len: usize,
    /// Separator before this group (0 for the first).
    sep: u16,
    /// A plain run of digits as typed (not digits written as words).
    typed: bool,
}

impl<'a> Cx<'a> {
    fn word(&self, t: &Token) -> &'a [u8] {
        &self.text[t.start as usize..t.end as usize]
    }

    /// The first characters of the separator before `t` (at most three).
    fn sep_text(t: &Token) -> &[u8] {
        &t.sep_head[..(t.sep_len as usize).min(3)]
    }

    fn digit_value(&self, t: &Token) -> Option<DigitTok<'a>> {
        match t.kind {
            K_DIGIT => Some(DigitTok::Typed(self.word(t))),
            K_ALPHA if words::maybe_number_word(self.word(t)) => {
                words::number_word(self.word(t)).map(DigitTok::Word)
            }
            _ => None,
        }
    }

    /// CPF, CNPJ (numeric) and phone numbers, from clusters of digit groups.
    #[inline(never)]
    fn digits(&self, f: &mut Findings, bufs: &mut Bufs) {
        let toks = self.toks;
        let mut i = 0;
        let Bufs {
            digits: buf,
            groups,
            documents,
            phones,
            ..
        } = bufs;
        while i < toks.len() {
            if self.digit_value(&toks[i]).is_none() {
                i += 1;
                continue;
            }
            // Grow the cluster.
            buf.clear();
            groups.clear();
            let start = i;
            let mut j = i;
            while j < toks.len() {
                let t = &toks[j];
                if j > start && (t.sep & !DIGIT_JOIN != 0 || t.sep_len > 3) {
                    break;
                }
                let Some(d) = self.digit_value(t) else { break };
                let at = buf.len();
                let typed = matches!(d, DigitTok::Typed(_));
                match d {
                    DigitTok::Typed(s) => buf.extend(s.iter().map(|b| b - b'0')),
                    DigitTok::Word(v) => buf.extend_from_slice(v),
                }
                groups.push(Group {
                    at,
                    len: buf.len() - at,
                    sep: if j > start { t.sep } else { 0 },
                    typed,
                });
                j += 1;
            }
            i = j.max(i + 1);
            // Fewer than 8 digits cannot be any of these.
            if buf.len() < 8 {
                continue;
            }
            if self.is_price(start, j) {
                continue;
            }
            // Looked up only for a plain number that could be a document or a phone.
            let code_context = || self.after_code_word(start);
            self.check_cluster(buf, groups, code_context, f, documents, phones);
        }
    }

    /// `R$ 1.299,90`, `1.299 reais`.
    fn is_price(&self, start: usize, end: usize) -> bool {
        let first = &self.toks[start];
        let dollar_before = first.sep & S_DOLLAR != 0;
        let reais_after = self
            .toks
            .get(end)
            .is_some_and(|t| matches!(self.word(t), b"reais" | b"real" | b"rs"));
        dollar_before || reais_after
    }

    fn after_code_word(&self, start: usize) -> bool {
        let lo = start.saturating_sub(3);
        self.toks[lo..start]
            .iter()
            .any(|t| t.kind == K_ALPHA && self.e.code_words.contains(self.word(t)))
    }

    #[inline(never)]
    fn check_cluster(
        &self,
        buf: &[u8],
        groups: &[Group],
        code_context: impl Fn() -> bool,
        f: &mut Findings,
        documents: &mut Vec<(usize, usize)>,
        phones: &mut Vec<(usize, usize)>,
    ) {
        documents.clear();
        phones.clear();
        // Documents first; a phone is not reported from inside a document's digits.
        for a in 0..groups.len() {
            let mut seps = 0u16;
            let mut len = 0usize;
            for b in a..groups.len() {
                if b > a {
                    seps |= groups[b].sep;
                }
                len += groups[b].len;
                if len > 14 {
                    break;
                }
                // Fewer than 8 digits is none of these.
                if len < 8 {
                    continue;
                }
                let digits = &buf[groups[a].at..groups[a].at + len];
                let solid = a == b && groups[a].typed;
                // A bare number after "pedido", "nf", "sku"… is a code, not a document.
                if solid && code_context() {
                    continue;
                }
                if len == 11 && seps & !CPF_SEPS == 0 && cpf_valid(digits) {
                    f.add(Tag::Cpf);
                    documents.push((a, b));
                }
                if len == 14 && seps & !CNPJ_SEPS == 0 && cnpj_valid_digits(digits) {
                    f.add(Tag::Cnpj);
                    documents.push((a, b));
                }
                let whole = a == 0 && b == groups.len() - 1;
                if seps & !PHONE_SEPS == 0 && is_phone(digits, &groups[a..=b], whole) {
                    phones.push((a, b));
                }
            }
        }
        let inside_document =
            |(a, b): &(usize, usize)| documents.iter().any(|(x, y)| x <= a && b <= y);
        if phones.iter().any(|p| !inside_document(p)) {
            f.add(Tag::Phone);
        }
    }

    /// The alphanumeric CNPJ (from July 2026): 12 characters of `0-9A-Z`, two check digits.
    #[inline(never)]
    fn alnum_cnpj(&self, f: &mut Findings, chars: &mut Vec<u8>) {
        let toks = self.toks;
        let tight = |t: &Token| t.sep_len == 1 && t.sep & !(S_DOT | S_SLASH | S_DASH) == 0;
        for i in 0..toks.len() {
            let joined_next = toks.get(i + 1).is_some_and(tight);
            if toks[i].len() > 14 || (toks[i].len() != 14 && !joined_next) {
                continue;
            }
            // Measure the run first; copy only a run of exactly 14 characters with a letter.
            let mut total = 0;
            let mut letters = false;
            let mut j = i;
            while j < toks.len() && total < 14 && (j == i || tight(&toks[j])) {
                total += toks[j].len();
                letters |= toks[j].kind & K_ALPHA != 0;
                j += 1;
            }
            if total != 14 || !letters {
                continue;
            }
            chars.clear();
            for t in &toks[i..j] {
                chars.extend_from_slice(self.word(t));
            }
            if chars[..12].iter().any(|b| b.is_ascii_alphabetic())
                && chars[12..].iter().all(|b| b.is_ascii_digit())
                && cnpj_valid_alnum(chars)
            {
                f.add(Tag::Cnpj);
            }
        }
    }

    /// A random PIX key: a UUID (8-4-4-4-12 hex).
    #[inline(never)]
    fn uuid(&self) -> bool {
        let toks = self.toks;
        let hex = |t: &Token| self.word(t).iter().all(|b| b.is_ascii_hexdigit());
        let tight_dash = |t: &Token| t.sep == S_DASH && t.sep_len == 1;
        toks.windows(5).any(|w| {
            [8, 4, 4, 4, 12]
                .iter()
                .zip(w)
                .all(|(n, t)| t.len() == *n && hex(t))
                && w[1..].iter().all(tight_dash)
        })
    }

    /// Is token `i` an "at": `@`, `arroba`, `(at)`, `[at]`? Returns the index of the first token
    /// of the domain.
    fn at_before(&self, i: usize) -> Option<usize> {
        let t = &self.toks[i];
        if t.sep & S_AT != 0 && t.sep_len <= 3 {
            return Some(i);
        }
        let w = self.word(t);
        let next = self.toks.get(i + 1)?;
        if w == b"arroba" {
            return Some(i + 1);
        }
        if w == b"at" && t.sep & (S_PAREN | S_BRACKET) != 0 && next.sep & (S_PAREN | S_BRACKET) != 0
        {
            return Some(i + 1);
        }
        None
    }

    /// Follows `label (dot label)*` from token `i`; returns the index past the last label and
    /// whether a spoken connector (`ponto`, `(dot)`) was used.
    fn domain_from(&self, i: usize, out: &mut Vec<u8>) -> (usize, bool) {
        let toks = self.toks;
        out.clear();
        out.extend_from_slice(self.word(&toks[i]));
        let mut j = i + 1;
        let mut spoken = false;
        while let Some(t) = toks.get(j) {
            let tight_dot = t.sep == S_DOT && t.sep_len == 1;
            let spaced_dot =
                t.sep == (S_DOT | S_SPACE) && t.sep_len == 3 && Self::sep_text(t) == b" . ";
            if tight_dot || spaced_dot {
                out.push(b'.');
                out.extend_from_slice(self.word(t));
                j += 1;
                continue;
            }
            // "ponto" / "dot" / "(dot)" followed by another label.
            let w = self.word(t);
            if (w == b"ponto" || w == b"dot") && t.sep & !(S_SPACE | S_PAREN | S_BRACKET) == 0 {
                if let Some(n) = toks.get(j + 1) {
                    if n.sep & !(S_SPACE | S_PAREN | S_BRACKET) == 0 && n.kind != K_DIGIT {
                        out.push(b'.');
                        out.extend_from_slice(self.word(n));
                        spoken = true;
                        j += 2;
                        continue;
                    }
                }
            }
            break;
        }
        (j, spoken)
    }

    fn last_label_is_tld(&self, domain: &[u8]) -> bool {
        let last = domain.rsplit(|b| *b == b'.').next().unwrap_or(b"");
        domain.contains(&b'.') && self.e.tlds.contains(last)
    }

    #[inline(never)]
    fn emails(&self, f: &mut Findings, consumed: &mut [bool], domain: &mut Vec<u8>) {
        for i in 1..self.toks.len() {
            let Some(d) = self.at_before(i) else { continue };
            if d >= self.toks.len() || self.toks[i - 1].kind == 0 {
                continue;
            }
            let (end, _) = self.domain_from(d, domain);
            let last = domain.rsplit(|b| *b == b'.').next().unwrap_or(b"");
            if domain.contains(&b'.') && last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic)
            {
                f.add(Tag::Email);
                for c in consumed.iter_mut().take(end).skip(i.saturating_sub(1)) {
                    *c = true;
                }
            }
        }
    }

    #[inline(never)]
    fn links(&self, f: &mut Findings, consumed: &[bool], domain: &mut Vec<u8>) {
        let toks = self.toks;
        let mut i = 0;
        while i < toks.len() {
            if consumed[i] {
                i += 1;
                continue;
            }
            let t = &toks[i];
            let w = self.word(t);
            // Explicit links: scheme:// or www.
            let explicit = if (w == b"http" || w == b"https")
                && toks
                    .get(i + 1)
                    .is_some_and(|n| Self::sep_text(n).starts_with(b"://"))
            {
                Some(i + 1)
            } else if w == b"www"
                && toks
                    .get(i + 1)
                    .is_some_and(|n| n.sep == S_DOT && n.sep_len == 1)
            {
                Some(i)
            } else {
                None
            };
            if let Some(d) = explicit {
                let (end, _) = self.domain_from(d, domain);
                let host = domain.strip_prefix(b"www.").unwrap_or(domain);
                if !self.account.is_some_and(|a| a.allows(host)) {
                    f.add(Tag::Link);
                }
                i = end.max(i + 1);
                continue;
            }
            // Bare domains: name.tld, name ponto com.
            let dot_follows = toks.get(i + 1).is_some_and(|n| {
                (n.sep & S_DOT != 0 && n.sep_len <= 3) || matches!(self.word(n), b"ponto" | b"dot")
            });
            let starts_domain =
                dot_follows && t.kind != K_DIGIT && !(t.sep == S_DOT && t.sep_len == 1 && i > 0);
            if starts_domain {
                let (end, spoken) = self.domain_from(i, domain);
                if end > i + 1
                    && self.last_label_is_tld(domain)
                    && !(spoken && self.e.not_domain.contains(w))
                {
                    let host = domain.strip_prefix(b"www.").unwrap_or(domain);
                    if !self.account.is_some_and(|a| a.allows(host)) {
                        f.add(Tag::Link);
                    }
                    i = end;
                    continue;
                }
            }
            i += 1;
        }
    }

    /// Offensive words; returns the keywords seen and how many digits are written as words.
    #[inline(never)]
    fn words(&self, f: &mut Findings, word: &mut Vec<u8>) -> (u8, usize) {
        let toks = self.toks;
        let mut kw = 0u8;
        let mut number_digits = 0usize;
        let blocked = self.account.map(|a| &a.blocked).filter(|b| !b.is_empty());
        let check = |w: &[u8], f: &mut Findings| {
            if self.e.listed(w, blocked) {
                f.add(Tag::Offensive);
            }
        };
        let mut i = 0;
        while i < toks.len() {
            let t = &toks[i];
            if t.kind == K_DIGIT {
                i += 1;
                continue;
            }
            // Fast path: a plain word whose first two letters start no keyword, number word or
            // listed word (most words of a message) costs one table lookup.
            if t.kind == K_ALPHA && t.len() >= 2 {
                let (a, b) = (self.text[t.start as usize], self.text[t.start as usize + 1]);
                if a != b
                    && !self.e.pair_of_interest(a, b)
                    && blocked.is_none_or(|w| !w.may_start(a, Some(b)))
                {
                    i += 1;
                    continue;
                }
            }
            if t.kind == K_ALPHA && (2..=9).contains(&t.len()) {
                let w = self.word(t);
                match w {
                    b"arroba" | b"at" => kw |= KW_AT,
                    b"ponto" | b"dot" => kw |= KW_DOT,
                    b"http" | b"https" | b"www" => kw |= KW_WEB,
                    b"pix" | b"chavepix" => kw |= KW_PIX,
                    _ => {
                        if words::maybe_number_word(w) {
                            if let Some(d) = words::number_word(w) {
                                number_digits += d.len();
                            }
                        }
                    }
                }
            }
            // Letters spelled out one by one: "p o r r a", "p.o.r.r.a".
            if t.len() == 1 {
                let mut j = i + 1;
                while j < toks.len()
                    && toks[j].len() == 1
                    && toks[j].sep_len <= 2
                    && toks[j].sep & S_NL == 0
                {
                    j += 1;
                }
                if j - i >= 3 {
                    word.clear();
                    for tk in &toks[i..j] {
                        push_collapsed(word, leet_byte(self.text[tk.start as usize]));
                    }
                    check(word, f);
                    i = j;
                    continue;
                }
            }
            // Most words are out at once: their first two letters start no listed word.
            let glued = toks
                .get(i + 1)
                .is_some_and(|n| n.sep_len == 1 && n.sep & (S_AT | S_DOLLAR) != 0);
            if !glued {
                let w = self.word(t);
                let mapped = |b: u8| if t.kind == K_ALPHA { b } else { leet_byte(b) };
                let first = mapped(w[0]);
                let second = w.iter().map(|b| mapped(*b)).find(|b| *b != first);
                let maybe = self.e.offensive.may_start(first, second)
                    || blocked.is_some_and(|b| b.may_start(first, second));
                if !maybe {
                    i += 1;
                    continue;
                }
            }
            // One word, with "@"/"$" inside it read as letters ("c@ralho").
            word.clear();
            let mut j = i;
            loop {
                for &b in self.word(&toks[j]) {
                    push_collapsed(word, if t.kind == K_ALPHA { b } else { leet_byte(b) });
                }
                let Some(n) = toks.get(j + 1) else { break };
                if n.sep_len == 1 && n.sep & (S_AT | S_DOLLAR) != 0 && n.kind != K_DIGIT {
                    push_collapsed(word, if n.sep == S_AT { b'a' } else { b's' });
                    j += 1;
                } else {
                    break;
                }
            }
            if word.len() <= 24 {
                check(word, f);
            }
            i = j + 1;
        }
        (kw, number_digits)
    }
}

#[derive(Clone, Copy)]
enum DigitTok<'a> {
    Typed(&'a [u8]),
    Word(&'static [u8]),
}

fn leet_byte(b: u8) -> u8 {
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

fn push_collapsed(w: &mut Vec<u8>, b: u8) {
    if w.last() != Some(&b) {
        w.push(b);
    }
}

/// CPF: 11 digits, two mod-11 check digits, not all the same digit.
pub fn cpf_valid(d: &[u8]) -> bool {
    if d.len() != 11 || d.iter().all(|x| *x == d[0]) {
        return false;
    }
    let dv = |n: usize| {
        let s: u32 = (0..n)
            .map(|i| d[i] as u32 * (n as u32 + 1 - i as u32))
            .sum();
        ((s * 10) % 11 % 10) as u8
    };
    dv(9) == d[9] && dv(10) == d[10]
}

fn cnpj_dv(v: &[u32]) -> u32 {
    const W: [u32; 13] = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
    let w = &W[13 - v.len()..];
    let s: u32 = v.iter().zip(w).map(|(a, b)| a * b).sum();
    let r = s % 11;
    if r < 2 {
        0
    } else {
        11 - r
    }
}

/// Numeric CNPJ given as digit values.
pub fn cnpj_valid_digits(d: &[u8]) -> bool {
    if d.len() != 14 || d.iter().all(|x| *x == d[0]) {
        return false;
    }
    let v: Vec<u32> = d.iter().map(|x| *x as u32).collect();
    cnpj_dv(&v[..12]) == v[12] && cnpj_dv(&v[..13]) == v[13]
}

/// Alphanumeric CNPJ given as characters: each worth its ASCII code minus 48.
pub fn cnpj_valid_alnum(chars: &[u8]) -> bool {
    if chars.len() != 14 {
        return false;
    }
    let v: Vec<u32> = chars
        .iter()
        .map(|c| c.to_ascii_uppercase() as u32 - 48)
        .collect();
    cnpj_dv(&v[..12]) == v[12] && cnpj_dv(&v[..13]) == v[13]
}

/// Brazilian phone numbers: +55, DDD, 8 or 9 digits. Bare 8/9-digit numbers count only when
/// they are the whole number and written like a phone (`99999-9999`, `3333 4444`) or read out
/// digit by digit in words.
fn is_phone(d: &[u8], groups: &[Group], whole: bool) -> bool {
    let mobile = |x: &[u8]| x.len() == 9 && x[0] == 9;
    let landline = |x: &[u8]| x.len() == 8 && (2..=5).contains(&x[0]);
    let with_ddd =
        |x: &[u8]| x.len() >= 10 && valid_ddd(x[0], x[1]) && (mobile(&x[2..]) || landline(&x[2..]));
    match d.len() {
        12 | 13 => d[0] == 5 && d[1] == 5 && with_ddd(&d[2..]),
        10 | 11 => with_ddd(d),
        8 | 9 => {
            let split_like_a_phone = groups.len() == 2
                && groups[1].len == 4
                && groups[1].sep & (S_DASH | S_SPACE | S_DOT) != 0;
            let spoken = groups.iter().all(|g| !g.typed);
            whole && (split_like_a_phone || spoken) && (mobile(d) || landline(d))
        }
        _ => false,
    }
}

fn valid_ddd(a: u8, b: u8) -> bool {
    words::valid_ddd(a, b)
}

#[cfg(test)]
mod tests;
