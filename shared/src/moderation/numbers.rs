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
    #[inline(always)]
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
            let joins = |t: &Token| t.sep & !DIGIT_JOIN == 0 && t.sep_len <= 3;
            while j < toks.len() {
                let mut t = &toks[j];
                let mut sep = 0;
                if j > start {
                    if !joins(t) {
                        break;
                    }
                    sep = t.sep;
                    // A separator spelled out between two groups: "… ponto oito quatro …".
                    if let Some(s) = self.separator_word(t) {
                        match toks.get(j + 1) {
                            Some(n) if joins(n) && self.digit_value(n).is_some() => {
                                sep = s;
                                j += 1;
                                t = n;
                            }
                            _ => break,
                        }
                    }
                }
                let Some(d) = self.digit_value(t) else { break };
                let at = buf.len();
                let typed = matches!(d, DigitTok::Typed(_));
                // Between digits read out in words any pause is just a pause ("sete oito sete,
                // zero…"): the punctuation says nothing about the number.
                if !typed && groups.last().is_some_and(|g| !g.typed) && sep & S_NL == 0 {
                    sep = S_SPACE;
                }
                match d {
                    DigitTok::Typed(s) => buf.extend(s.iter().map(|b| b - b'0')),
                    DigitTok::Word(v) => buf.extend_from_slice(v),
                }
                groups.push(Group {
                    at,
                    len: buf.len() - at,
                    sep,
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
            let code_context = || self.context_before(start);
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

    /// A spelled-out separator ("ponto", "traço", "barra"…) as the separator it stands for.
    fn separator_word(&self, t: &Token) -> Option<u16> {
        if t.kind != K_ALPHA || !(5..=8).contains(&t.len()) {
            return None;
        }
        words::separator_word(self.word(t))
    }

    /// What the three tokens before a number say it is: a code after `pedido`, `sku`…, unless
    /// a document word (`cpf`, `cnpj`…) comes there too; after a payment word (`boleto`,
    /// `nota`…) a document still counts.
    fn context_before(&self, start: usize) -> Context {
        let before = &self.toks[start.saturating_sub(3)..start];
        let code = |t: &Token| t.kind == K_ALPHA && self.e.code_words.contains(self.word(t));
        // Most numbers follow no code word: one lookup a token.
        let Some(first) = before.iter().position(code) else {
            return Context::Plain;
        };
        let word = |t: &Token| (t.kind == K_ALPHA).then(|| self.word(t));
        if before.iter().filter_map(word).any(words::is_document_word) {
            return Context::Plain;
        }
        let payment_only = before[first..]
            .iter()
            .filter(|t| code(t))
            .filter_map(word)
            .all(words::is_payment_word);
        if payment_only {
            Context::Payment
        } else {
            Context::Code
        }
    }

    #[inline(never)]
    fn check_cluster(
        &self,
        buf: &[u8],
        groups: &[Group],
        code_context: impl Fn() -> Context,
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
                // A bare number after "pedido", "sku"… is a code, not a document; after
                // "boleto" or "nota", not a phone.
                let context = if solid {
                    code_context()
                } else {
                    Context::Plain
                };
                if context == Context::Code {
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
                if context == Context::Plain
                    && seps & !PHONE_SEPS == 0
                    && is_phone(digits, &groups[a..=b], whole)
                {
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
    /// Its groups may be joined tightly (`12.ABC.345/01DE-35`) or split by spaces and line
    /// breaks (`12A BCD 45Z 35`, one group a line). A split one needs a group mixing letters and
    /// digits followed within three groups by another or by a group of one or two digits, and
    /// each of its groups within three of such a pair (ordinary words and a number are prose, a
    /// lone `10x` is a size; the prescan finds the run by that pair).
    #[inline(never)]
    pub(super) fn alnum_cnpj(&self, f: &mut Findings, chars: &mut Vec<u8>, any_mixed: bool) {
        let toks = self.toks;
        let loose =
            |t: &Token| t.sep_len <= 3 && t.sep & !(S_SPACE | S_NL | S_DOT | S_SLASH | S_DASH) == 0;
        // Split runs start within three groups before a pair.
        let mut from = 0;
        for k in 0..toks.len() {
            let t = &toks[k];
            if t.len() == 14 || toks.get(k + 1).is_some_and(tight) {
                self.alnum_run(k, tight, f, chars);
            }
            if any_mixed && mixed(t) && pair_at(toks, k, self.raw) {
                for i in k.saturating_sub(3).max(from)..=k {
                    self.alnum_run(i, loose, f, chars);
                }
                from = k + 1;
            }
        }
    }

    /// The run of 14 characters from token `i` over separators `joins` accepts, when it is an
    /// alphanumeric CNPJ (a split run only as [`Self::alnum_cnpj`] says).
    fn alnum_run(
        &self,
        i: usize,
        joins: impl Fn(&Token) -> bool,
        f: &mut Findings,
        chars: &mut Vec<u8>,
    ) {
        let toks = self.toks;
        let joined_next = toks.get(i + 1).is_some_and(&joins);
        if toks[i].len() > 14 || (toks[i].len() != 14 && !joined_next) {
            return;
        }
        // Measure the run first; copy only a run of exactly 14 characters with a letter.
        let mut total = 0;
        let mut letters = false;
        let mut split = false;
        let mut j = i;
        while j < toks.len() && total < 14 && (j == i || joins(&toks[j])) {
            split |= j > i && !tight(&toks[j]);
            total += toks[j].len();
            letters |= toks[j].kind & K_ALPHA != 0;
            j += 1;
        }
        if total != 14 || !letters {
            return;
        }
        let run = &toks[i..j];
        // Each group within three of a pair inside the run.
        let member = |k: usize| {
            pair_at(run, k, self.raw)
                || (second(&run[k]) && (k.saturating_sub(3)..k).any(|x| pair_at(run, x, self.raw)))
        };
        let near = |k: usize| k.saturating_sub(3)..(k + 4).min(run.len());
        if split && !(0..run.len()).all(|k| run[k].len() <= 8 && near(k).any(member)) {
            return;
        }
        chars.clear();
        for t in run {
            chars.extend_from_slice(self.word(t));
        }
        if chars[..12].iter().any(|b| b.is_ascii_alphabetic())
            && chars[12..].iter().all(|b| b.is_ascii_digit())
            && cnpj_valid_alnum(chars)
        {
            f.add(Kind::Cnpj);
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

/// What the words before a number make of it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Plain,
    /// After a code word: neither a document nor a phone.
    Code,
    /// After a payment word: a document, not a phone.
    Payment,
}

/// Joined to the token before by one `.`, `/` or `-` (`12.ABC.345/01DE-35`).
fn tight(t: &Token) -> bool {
    t.sep_len == 1 && t.sep & !(S_DOT | S_SLASH | S_DASH) == 0
}

/// A short group of letters and digits (a group of a split alphanumeric CNPJ).
fn mixed(t: &Token) -> bool {
    t.kind == K_ALPHA | K_DIGIT && t.len() <= 8
}

/// What may follow a mixed group in a split CNPJ: another, or one or two digits.
fn second(t: &Token) -> bool {
    mixed(t) || (t.kind == K_DIGIT && t.len() <= 2)
}

/// Token `k` is a mixed group followed within three groups by a [`second`], with only groups
/// of capitals and digits between (`HWJ`, `003`, as a CNPJ is printed; ordinary words, as in
/// "9h e 18h", are not), as the prescan reads them in `raw`, the input: such a pair it makes
/// hot.
fn pair_at(toks: &[Token], k: usize, raw: &[u8]) -> bool {
    if !mixed(&toks[k]) {
        return false;
    }
    let after = &toks[k + 1..(k + 4).min(toks.len())];
    after.iter().position(second).is_some_and(|p| {
        after[..p]
            .iter()
            .all(|t| super::prescan::caps_token(raw, t.raw as usize))
    })
}

enum DigitTok<'a> {
    Typed(&'a [u8]),
    Word(&'static [u8]),
}

/// Brazilian phone numbers: +55, DDD, 8 or 9 digits. Bare 8/9-digit numbers count only when
/// they are the whole number and written like a phone (`99999-9999`, `3333 4444`) or read out
/// digit by digit in words. Not a number whose last group is one check digit.
fn is_phone(d: &[u8], groups: &[Group], whole: bool) -> bool {
    // One digit after a longer group is a check digit, as in a part number (`123.456.789-0`),
    // an account (`12345-6`): phones end in groups of four (or are read out digit by digit).
    if let [.., g, last] = groups {
        if last.typed && last.len == 1 && g.typed && g.len >= 3 {
            return false;
        }
    }
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
