//! The number rules: CPF, numeric CNPJ and phone numbers read from clusters of digit groups
//! (typed or written as words), the alphanumeric CNPJ, and the random PIX key (a UUID). Prices
//! (`R$ 1.299,90`, `1.299 reais`) and bare numbers after a code word (`pedido`, `nf`, `sku`…)
//! are not documents.

use super::checksums::{cnpj_valid_alnum, cnpj_valid_digits, cpf_valid};
use super::tokens::*;
use super::{words, Bufs, Cx, Findings, Kind};

/// Separators digits of one number may have between them (kept short: a long gap is prose).
const DIGIT_JOIN: u16 =
    S_SPACE | S_NL | S_DOT | S_DASH | S_SLASH | S_COLON | S_COMMA | S_PAREN | S_PLUS | S_STAR;
const CPF_SEPS: u16 = S_SPACE | S_NL | S_DOT | S_DASH | S_STAR | S_SLASH;
const CNPJ_SEPS: u16 = CPF_SEPS;
const PHONE_SEPS: u16 = S_SPACE | S_NL | S_DOT | S_DASH | S_PAREN | S_PLUS | S_STAR;

#[derive(Clone, Copy)]
pub(super) struct Group {
    at: usize,
    len: usize,
    /// Separator before this group (0 for the first).
    sep: u16,
    /// A plain run of digits as typed (not digits written as words).
    typed: bool,
}

impl<'a> Cx<'a> {
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
    pub(super) fn digits(&self, f: &mut Findings, bufs: &mut Bufs) {
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
                    f.add(Kind::Cpf);
                    documents.push((a, b));
                }
                if len == 14 && seps & !CNPJ_SEPS == 0 && cnpj_valid_digits(digits) {
                    f.add(Kind::Cnpj);
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
            f.add(Kind::Phone);
        }
    }

    /// The alphanumeric CNPJ (from July 2026): 12 characters of `0-9A-Z`, two check digits.
    #[inline(never)]
    pub(super) fn alnum_cnpj(&self, f: &mut Findings, chars: &mut Vec<u8>) {
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
                f.add(Kind::Cnpj);
            }
        }
    }

    /// A random PIX key: a UUID (8-4-4-4-12 hex).
    #[inline(never)]
    pub(super) fn uuid(&self) -> bool {
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
}

enum DigitTok<'a> {
    Typed(&'a [u8]),
    Word(&'static [u8]),
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
