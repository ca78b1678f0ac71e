//! The word pass: offensive words (the engine's list and the account's blocked words, with
//! leetspeak, repeated letters, letters spelled one by one and `@`/`$` inside a word), and, in
//! the same pass, the keywords that wake the other rules and the digits written as words.

use super::keywords::keyword;
use super::tokens::*;
use super::wordset::{leet_byte, push_collapsed};
use super::{words, Cx, Findings, Kind};

impl Cx<'_> {
    #[inline(never)]
    pub(super) fn words(&self, f: &mut Findings, word: &mut Vec<u8>) -> (u8, usize) {
        let toks = self.toks;
        let mut kw = 0u8;
        let mut number_digits = 0usize;
        let blocked = self.account.map(|a| &a.blocked).filter(|b| !b.is_empty());
        let check = |w: &[u8], f: &mut Findings| {
            if self.e.listed(w, blocked) {
                f.add(Kind::Offensive);
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
                match keyword(w) {
                    0 => {
                        if words::maybe_number_word(w) {
                            if let Some(d) = words::number_word(w) {
                                number_digits += d.len();
                            }
                        }
                    }
                    k => kw |= k,
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
