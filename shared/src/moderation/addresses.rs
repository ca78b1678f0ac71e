//! The address rules: e-mail addresses (`@`, `arroba`, `(at)`) and links (`scheme://`, `www.`,
//! bare `name.tld` and `name ponto com`); a link to one of the account's allowed domains passes.

use super::keywords::{keyword, KW_DOT};
use super::tokens::*;
use super::{Cx, Findings, Kind};

impl Cx<'_> {
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
            if keyword(w) == KW_DOT && t.sep & !(S_SPACE | S_PAREN | S_BRACKET) == 0 {
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

    /// `name.xx/path` with a top-level domain of two or three letters that is not listed
    /// (`goo.gl/…`, `is.gd/…`, `shorturl.at/…`): the path makes it a link. One dot only: a
    /// code such as an alphanumeric CNPJ (`W8.ETG.VNF/0AB5-69`) has more.
    fn short_link(&self, domain: &[u8], end: usize) -> bool {
        let mut labels = domain.split(|b| *b == b'.');
        let (Some(_), Some(last), None) = (labels.next(), labels.next(), labels.next()) else {
            return false;
        };
        (2..=3).contains(&last.len())
            && last.iter().all(u8::is_ascii_alphabetic)
            && self
                .toks
                .get(end)
                .is_some_and(|n| n.sep == S_SLASH && n.sep_len == 1)
    }

    fn last_label_is_tld(&self, domain: &[u8]) -> bool {
        let last = domain.rsplit(|b| *b == b'.').next().unwrap_or(b"");
        domain.contains(&b'.') && self.e.tlds.contains(last)
    }

    #[inline(never)]
    pub(super) fn emails(&self, f: &mut Findings, consumed: &mut [bool], domain: &mut Vec<u8>) {
        for i in 1..self.toks.len() {
            let Some(d) = self.at_before(i) else { continue };
            if d >= self.toks.len() || self.toks[i - 1].kind == 0 {
                continue;
            }
            let (end, _) = self.domain_from(d, domain);
            let last = domain.rsplit(|b| *b == b'.').next().unwrap_or(b"");
            if domain.contains(&b'.') && last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic)
            {
                f.add(Kind::Email);
                for c in consumed.iter_mut().take(end).skip(i.saturating_sub(1)) {
                    *c = true;
                }
            }
        }
    }

    #[inline(never)]
    pub(super) fn links(&self, f: &mut Findings, consumed: &[bool], domain: &mut Vec<u8>) {
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
                    f.add(Kind::Link);
                }
                i = end.max(i + 1);
                continue;
            }
            // Bare domains: name.tld, name ponto com.
            let dot_follows = toks.get(i + 1).is_some_and(|n| {
                (n.sep & S_DOT != 0 && n.sep_len <= 3) || keyword(self.word(n)) == KW_DOT
            });
            let starts_domain =
                dot_follows && t.kind != K_DIGIT && !(t.sep == S_DOT && t.sep_len == 1 && i > 0);
            if starts_domain {
                let (end, spoken) = self.domain_from(i, domain);
                if end > i + 1
                    && (self.last_label_is_tld(domain) || (!spoken && self.short_link(domain, end)))
                    && !(spoken && self.e.not_domain.contains(w))
                {
                    let host = domain.strip_prefix(b"www.").unwrap_or(domain);
                    if !self.account.is_some_and(|a| a.allows(host)) {
                        f.add(Kind::Link);
                    }
                    i = end;
                    continue;
                }
            }
            i += 1;
        }
    }
}
