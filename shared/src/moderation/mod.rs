//! The moderation rules engine: compiled once per cold start, then every message is normalised
//! to ASCII bytes ([`normalize`]), cut into tokens with the separators between them, and read by
//! each rule. Findings become seed `BlockRule`s, one per kind:
//! `CPF`, `CNPJ`, `PIX`, `EMAIL`, `PHONE`, `LINK`, `OFFENSIVE`.
//!
//! Evasions it sees through: separators and line breaks between digits, digits written as words,
//! `arroba`/`(at)`/`[at]`, `ponto com`, full-width and look-alike letters, leetspeak and repeated
//! letters in words. What it must let pass: prices, quantities, order and tracking numbers, dates,
//! CEPs, product codes and sizes (see `tests/corpus/`).
//!
//! How the pipeline works inside (prescan, tokenizer, rules) and how to measure a change:
//! `shared/src/moderation/README.md`.

mod addresses;
mod checksums;
mod findings;
mod keywords;
pub mod normalize;
mod numbers;
mod offensive;
mod prescan;
mod tokens;
pub mod words;
mod wordset;

pub use checksums::{cnpj_valid_alnum, cnpj_valid_digits, cpf_valid};
pub use findings::{FieldFindings, Findings, Kind};
pub use wordset::{WordHasher, WordSet};

use keywords::{KEYWORDS, KW_AT, KW_DOT, KW_PIX, KW_WEB};
use numbers::Group;
use tokens::*;
use wordset::{letter_bit, FastSet, Lists, Quick};

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
    /// Offensive words, keywords, number words and spelled separators together: what makes a
    /// word worth a look.
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
        for w in KEYWORDS.iter().chain(words::NUMBER_WORDS).copied() {
            interesting[(w[0] - b'a') as usize] |= letter_bit(w[1]);
        }
        let special = WordSet::new(
            words::OFFENSIVE
                .iter()
                .chain(words::SEPARATOR_WORDS)
                .copied()
                .chain(
                    KEYWORDS
                        .iter()
                        .chain(words::NUMBER_WORDS)
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
            f.extend(found);
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
        if (f.has(Kind::Cpf) || f.has(Kind::Cnpj) || f.has(Kind::Email) || f.has(Kind::Phone))
            && pix_word
        {
            f.add(Kind::Pix);
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
            raw: text.as_bytes(),
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
        if sum.has14 || sum.mixed || sum.seps & (S_DOT | S_SLASH | S_DASH) != 0 {
            cx.alnum_cnpj(&mut f, &mut s.bufs.chars, sum.mixed);
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
            f.add(Kind::Pix);
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
    /// The window as written (`Token::raw` indexes it).
    raw: &'a [u8],
    text: &'a [u8],
    toks: &'a [Token],
    account: Option<&'a AccountRules>,
}

impl<'a> Cx<'a> {
    fn word(&self, t: &Token) -> &'a [u8] {
        &self.text[t.start as usize..t.end as usize]
    }

    /// The first characters of the separator before `t` (at most three).
    fn sep_text(t: &Token) -> &[u8] {
        &t.sep_head[..(t.sep_len as usize).min(3)]
    }
}

#[cfg(test)]
mod tests;
