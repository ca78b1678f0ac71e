//! The prescan: one cheap pass over the raw bytes that finds the parts of a message any rule could
//! act on, so the rules (which cost ~100 instructions a byte) read only those parts.
//!
//! Most of a chat message is ordinary words between spaces and sentence punctuation. Such a word
//! is *cold* when the word rule would pass over it (its first two letters start no keyword,
//! number word or listed word, or the full check clears it) and the separators on both sides are
//! *plain* (whitespace and `,;!?"'`, a `.` or `$` only as sentence punctuation). Every other token
//! is *hot*. A run of numbers is cold too when, together, it cannot be a document or a phone
//! (fewer than 8 digits) and it is bounded by plain separators. A lone hyphen before a word of
//! letters ("USB-C", "e-mail", "guarda-roupa") is not plain, but makes nothing hot unless
//! another hyphen follows the word (a chain, as in a UUID).
//!
//! Every rule reads at most [`MARGIN`] tokens around the tokens it fires on (a code word three
//! tokens before a number, `reais` after it, the name before `ponto com` or `arroba`), and a cold
//! token never takes part in a finding. So the rules are run on *windows*: each run of hot tokens
//! with [`MARGIN`] tokens either side, merged when they touch. A message without a hot token has
//! nothing to find. The result equals the rules run on the whole message; a differential test
//! holds that over the corpora and generated messages.
//!
//! This file is over the project's 700-line guideline on purpose: the main loop is one function
//! so the word path stays in registers (moving parts of it out of line cost 2–7 % in
//! instructions; `bench/results/2026-11-23-moderation-speed.md`).

use super::keywords::{keyword, KW_PIX};
use super::wordset::{leet_byte, push_collapsed, word_hash, Lists, WordSet};
use super::Engine;

/// Tokens of context kept on each side of a hot token.
pub(crate) const MARGIN: usize = 3;

// Byte classes.
const LETTER: u8 = 0;
const DIGIT: u8 = 1;
const SPACE: u8 = 2;
/// Punctuation no rule reads between two ordinary words.
const PUNCT: u8 = 3;
const DOT: u8 = 4;
/// `$`, `-`, `_`, `/`, `\`: they join the tokens around them when alone (`c$ralho`, `GEL-FF`).
const TIGHT: u8 = 5;
/// `@` always starts an address.
const AT: u8 = 6;
/// The lead byte of U+00C0..U+00FF (accented Latin letters, `×`, `÷`).
const C3: u8 = 7;
/// Any other non-ASCII byte: the rules may read it as a letter, a digit or nothing.
const HIGH: u8 = 8;

const fn class_table() -> [u8; 256] {
    let mut t = [HIGH; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphabetic() {
            LETTER
        } else if c.is_ascii_digit() {
            DIGIT
        } else if c <= b' ' {
            SPACE
        } else {
            match c {
                b'.' => DOT,
                b'$' | b'-' | b'_' | b'/' | b'\\' => TIGHT,
                b'@' => AT,
                _ => PUNCT,
            }
        };
        b += 1;
    }
    t[0xC3] = C3;
    t
}

static CLASS: [u8; 256] = class_table();

/// What the characters U+00C0..U+00FF become, indexed by their second UTF-8 byte minus 0x80:
/// a lowercase ASCII letter, or 0 when the character is not a letter.
pub(crate) fn c3_table() -> [u8; 64] {
    let mut t = [0u8; 64];
    for (i, slot) in t.iter_mut().enumerate() {
        let c = char::from_u32(0xC0 + i as u32).unwrap_or(' ');
        if let Some(m) = super::normalize::map_char(c) {
            if m.is_ascii_lowercase() {
                *slot = m;
            }
        }
    }
    t
}

/// Buffers reused across messages.
#[derive(Default)]
pub(crate) struct Prescan {
    word: Vec<u8>,
    collapsed: Vec<u8>,
    /// Byte ranges of the windows the rules must read.
    pub windows: Vec<(usize, usize)>,
    /// The word "pix" appears outside the windows (it only matters next to another key,
    /// anywhere in the message; inside a window the rules see it themselves).
    pub pix: bool,
    /// Byte offsets of "pix" words, until the windows are known.
    pix_at: Vec<usize>,
    last_tokens: Vec<usize>,
}

/// The token starting at `i` is at most 8 capitals and digits, and ends there: a group that
/// may stand inside a split alphanumeric CNPJ (the rules ask the same of the input).
pub(super) fn caps_token(bytes: &[u8], i: usize) -> bool {
    let len = bytes[i..]
        .iter()
        .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        .count();
    len > 0
        && len <= 8
        && bytes
            .get(i + len)
            .is_none_or(|b| !b.is_ascii_alphanumeric() && *b < 0x80)
}

/// A run of number tokens being measured.
struct Chain {
    start: usize,
    /// Where a window holding the run must start.
    lo_byte: usize,
    digits: usize,
    /// Bounded by a separator that is not plain.
    hot: bool,
}

/// What one token is, seen alone.
struct Tok {
    hot: bool,
    single: bool,
    /// Digits it stands for when it is a number (typed or written as a word).
    digits: Option<usize>,
    /// A number typed in digits (no letter in it).
    typed: bool,
    /// The word "pix".
    pix: bool,
}

const COLD: Tok = Tok {
    hot: false,
    single: false,
    digits: None,
    typed: false,
    pix: false,
};

/// Builds the windows as the tokens go by, remembering only the last few token starts.
struct Windows<'a> {
    out: &'a mut Vec<(usize, usize)>,
    /// The last token of each window in `out`.
    last_tokens: &'a mut Vec<usize>,
    /// Start byte of the last [`RING`] tokens, by token number.
    starts: [u32; RING],
    open: bool,
    start: usize,
    last_hot: usize,
    end: usize,
}

const RING: usize = 8;

impl Windows<'_> {
    /// Where a window must start to hold token `k` with its margin (`k` within the ring).
    #[inline(always)]
    fn lo_byte(&self, k: usize) -> usize {
        if k < MARGIN {
            0
        } else {
            self.starts[(k - MARGIN) % RING] as usize
        }
    }

    /// Tokens `lo..=hi` are hot; `lo_byte` is where their window starts. Out of line: it runs
    /// only at hot tokens, and a copy at each call site cost the loops registers.
    #[inline(never)]
    fn hot(&mut self, lo: usize, hi: usize, lo_byte: usize) {
        let first = lo.saturating_sub(MARGIN);
        if self.open && first <= self.last_hot + MARGIN + 1 {
            self.last_hot = self.last_hot.max(hi);
            self.start = self.start.min(lo_byte);
        } else {
            if self.open {
                self.out.push((self.start, self.end));
                self.last_tokens.push(self.last_hot + MARGIN);
            }
            self.open = true;
            self.start = lo_byte;
            self.last_hot = hi;
        }
        // A run of numbers found hot at its end reaches back over windows closed meanwhile:
        // they become one (a window never starts inside another's context).
        while self.last_tokens.last().is_some_and(|&t| first <= t + 1) {
            self.last_tokens.pop();
            if let Some((start, _)) = self.out.pop() {
                self.start = self.start.min(start);
            }
        }
    }

    /// Token `k` (ending at `end`) has gone by.
    #[inline(always)]
    fn passed(&mut self, k: usize, end: usize) {
        if self.open && k <= self.last_hot + MARGIN {
            self.end = end;
        }
    }

    fn finish(mut self, tokens: usize, n: usize) {
        if self.open {
            if self.last_hot + MARGIN + 1 >= tokens {
                self.end = n;
            }
            self.out.push((self.start, self.end));
        }
    }
}

impl Engine {
    /// Fills `p.windows` with the byte ranges the rules must read (empty: nothing to find).
    /// Kept out of its caller: inlined there, its loops had fewer registers (1.6 % more
    /// instructions on the realistic benchmark mix).
    #[inline(never)]
    pub(crate) fn prescan(&self, input: &str, l: Lists<'_>, p: &mut Prescan) {
        let bytes = input.as_bytes();
        let n = bytes.len();
        let Prescan {
            word,
            collapsed,
            windows,
            pix,
            pix_at,
            last_tokens,
        } = p;
        last_tokens.clear();
        windows.clear();
        pix_at.clear();
        *pix = false;
        let mut win = Windows {
            out: windows,
            last_tokens,
            starts: [0; RING],
            open: false,
            start: 0,
            last_hot: 0,
            end: 0,
        };
        let mut i = 0usize;
        let mut k = 0usize;
        let mut prev_digits = false;
        let mut prev_typed = false;
        let mut singles = 0usize;
        let mut chain: Option<Chain> = None;
        // The last short token of letters and digits.
        let mut last_mixed: Option<usize> = None;
        // The word sets have just turned down the next word (on the 8-byte path).
        let mut listed = false;
        loop {
            // The separator before the next token.
            let s0 = i;
            let mut at = false;
            let mut non_ascii = false;
            let mut dot = false;
            let mut tight = false;
            while i < n {
                match CLASS[bytes[i] as usize] {
                    SPACE | PUNCT => {}
                    LETTER | DIGIT => break,
                    DOT => dot = true,
                    TIGHT => tight = true,
                    AT => at = true,
                    C3 => {
                        if self.c3_letter(bytes, i) != 0 {
                            break;
                        }
                        non_ascii = true;
                        i += 1;
                    }
                    _ => non_ascii = true,
                }
                i += 1;
            }
            if i >= n {
                // The separator after the last token joins nothing; only characters the rules
                // may read as letters or digits matter there.
                if non_ascii {
                    if k == 0 {
                        // No token: only odd characters, which the rules may read as some.
                        win.out.push((0, n));
                        return;
                    }
                    win.hot(k - 1, k - 1, win.lo_byte(k - 1));
                    if let Some(c) = chain.as_mut() {
                        c.hot = true;
                    }
                }
                break;
            }
            // What no rule reads between two ordinary words: no address sign, no character the
            // rules may read as a letter, no single joining character, no spaced-out dot.
            let len = i - s0;
            let plain = !at
                && !non_ascii
                && !((dot || tight) && len == 1)
                && !(dot && CLASS[bytes[s0] as usize] == SPACE);

            // The token.
            let t0 = i;
            win.starts[k % RING] = t0 as u32;
            let mut mask = 0u8;
            let mut c3s = 0usize;
            while i < n {
                let c = CLASS[bytes[i] as usize];
                if c > DIGIT {
                    if c == C3 && self.c3_letter(bytes, i) != 0 {
                        c3s += 1;
                        mask |= 1;
                        i += 2;
                        continue;
                    }
                    break;
                }
                mask |= 1 << c;
                i += 1;
            }
            // A word of two or more ASCII letters gets the word sets' check here, once (unless
            // the 8-byte path has just done it; either way `token` decides exactly).
            let checked = mask == 1 && c3s == 0 && i - t0 >= 2;
            let tok = if checked && !std::mem::take(&mut listed) && self.cold_word(&bytes[t0..i], l)
            {
                COLD
            } else if mask == 1 && i - t0 == 1 {
                // One ASCII letter ("e", "a", "o"): listed only if some listed word is one letter.
                let a = bytes[t0] | 0x20;
                Tok {
                    hot: l.quick.may_hold(a, 0, 0),
                    single: true,
                    ..COLD
                }
            } else {
                let chars = i - t0 - c3s;
                let bufs = (&mut *word, &mut *collapsed);
                let kind = (mask & 1 != 0, mask & 2 != 0, checked);
                self.token(&bytes[t0..i], kind, chars, l, bufs)
            };
            if tok.hot {
                win.hot(k, k, win.lo_byte(k));
            }
            // A short code of letters and digits followed within three tokens by another, or by
            // a number of one or two digits, may be groups of one alphanumeric CNPJ split by
            // spaces ("12A BCD 45Z 35"); one alone is a size or a model ("10x sem juros").
            let mixed = mask & 3 == 3 && i - t0 - c3s <= 8;
            if mixed || (mask == 2 && i - t0 <= 2) {
                if let Some(m) = last_mixed.filter(|m| k - m <= 3) {
                    // Only capitals and digits between them, as a CNPJ is printed.
                    let between =
                        (m + 1..k).all(|x| caps_token(bytes, win.starts[x % RING] as usize));
                    if between {
                        win.hot(m, k, win.lo_byte(m));
                    }
                }
            }
            if mixed {
                last_mixed = Some(k);
            }
            if tok.pix {
                pix_at.push(t0);
            }

            let is_digits = tok.digits.is_some();
            // Inside a run of numbers any ASCII separator is part of the number; next to a
            // number written in words (a possible address label) only a plain one is.
            let internal =
                is_digits && prev_digits && !non_ascii && (plain || (tok.typed && prev_typed));
            // A lone hyphen before a word of letters that no hyphen follows ("USB-C dos",
            // "e-mail") makes nothing hot: a rule that reads hyphens (a UUID, an alphanumeric
            // CNPJ, a domain) needs a chain of them, digits after one, or a `.` or `@` next to
            // the word, and all of those make their own tokens hot within the margin. The run of
            // numbers still counts it as not plain.
            if !(plain
                || internal
                || (len == 1 && bytes[s0] == b'-' && mask == 1 && bytes.get(i) != Some(&b'-')))
            {
                let lo = k.saturating_sub(1);
                win.hot(lo, k, win.lo_byte(lo));
            }
            // Three one-character tokens in a row may spell a word ("p o r r a", "p 0 r r 4");
            // the rules start such a run only at a letter ("de 3 a 5 dias" spells nothing).
            singles = match (tok.single, tok.typed) {
                (false, _) => 0,
                (true, false) => singles + 1,
                (true, true) if singles > 0 => singles + 1,
                (true, true) => 0,
            };
            if singles >= 3 {
                let lo = k + 1 - singles.min(3);
                win.hot(lo, k, win.lo_byte(lo));
            }
            if let (Some(c), true) = (chain.as_mut(), internal) {
                c.digits += tok.digits.unwrap_or(0);
            } else {
                if let Some(mut c) = chain.take() {
                    c.hot |= !plain;
                    // Fewer than 8 digits is no document and no phone.
                    if c.hot || c.digits >= 8 {
                        win.hot(c.start, k - 1, c.lo_byte);
                    }
                }
                if let Some(d) = tok.digits {
                    chain = Some(Chain {
                        start: k,
                        lo_byte: win.lo_byte(k),
                        digits: d,
                        hot: !plain,
                    });
                }
            }
            prev_digits = is_digits;
            prev_typed = tok.typed;
            win.passed(k, i);
            k += 1;
            // The common case: ordinary words between plain separators. Each is cold, and all
            // it changes is the token count, the run of one-letter words and the end of an open
            // window (after a number, the first one also ends the run of numbers). Anything
            // else goes back to the loop above.
            while let Some((t0, e)) = self.next_plain_word(bytes, i, l, &mut singles) {
                if let Some(c) = chain.take() {
                    if c.hot || c.digits >= 8 {
                        win.hot(c.start, k - 1, c.lo_byte);
                    }
                    prev_digits = false;
                    prev_typed = false;
                }
                win.starts[k % RING] = t0 as u32;
                win.passed(k, e);
                k += 1;
                (i, listed) = self.short_plain_words(bytes, e, l, &mut win, &mut k, &mut singles);
                if listed {
                    // That word is not cold: no need to ask again.
                    break;
                }
            }
        }
        if let Some(c) = chain.take() {
            if c.hot || c.digits >= 8 {
                win.hot(c.start, k - 1, c.lo_byte);
            }
        }
        win.finish(k, n);
        // A "pix" outside every window: the rules will not see it.
        *pix = pix_at
            .iter()
            .any(|&at| !windows.iter().any(|&(a, b)| a <= at && at < b));
    }

    /// After a word ending at `i`: the next token, when it is a cold word (see [`Self::token`])
    /// behind a plain separator, as its byte range; `singles` counts one-letter words in a row.
    #[inline(always)]
    fn next_plain_word(
        &self,
        bytes: &[u8],
        i: usize,
        l: Lists<'_>,
        singles: &mut usize,
    ) -> Option<(usize, usize)> {
        // Nearly always one space.
        let t0 = if bytes.get(i) == Some(&b' ')
            && bytes.get(i + 1).is_some_and(|b| b.is_ascii_alphabetic())
        {
            i + 1
        } else {
            self.plain_separator(bytes, i)?
        };
        self.plain_word_at(bytes, t0, l, singles)
    }

    /// Where the word after a plain separator starting at `i` starts (see [`Self::next_plain_word`]).
    #[inline(always)]
    fn plain_separator(&self, bytes: &[u8], i: usize) -> Option<usize> {
        let mut j = i;
        let (mut dot, mut tight) = (false, false);
        loop {
            match CLASS[*bytes.get(j)? as usize] {
                SPACE | PUNCT => {}
                DOT => dot = true,
                TIGHT => tight = true,
                LETTER => break,
                C3 if self.c3_letter(bytes, j) != 0 => break,
                _ => return None,
            }
            j += 1;
        }
        let len = j - i;
        if len == 0 || ((dot || tight) && len == 1) || (dot && CLASS[bytes[i] as usize] == SPACE) {
            return None;
        }
        Some(j)
    }

    /// The plainest case of [`Self::next_plain_word`], many words in a row: after a word ending
    /// at `i`, a space (or `,.!?;:` and a space), then a cold word of two or more ASCII letters
    /// followed by neither a digit nor a non-ASCII character, read 8 bytes at a time.
    /// Returns where the run stops (the end of its last word, or `i`), and whether it stopped
    /// because the word sets turned down the next word (a word of two or more ASCII letters,
    /// which the prescan's loop then takes as one token and need not check again).
    #[inline(always)]
    fn short_plain_words(
        &self,
        bytes: &[u8],
        mut i: usize,
        l: Lists<'_>,
        win: &mut Windows<'_>,
        k: &mut usize,
        singles: &mut usize,
    ) -> (usize, bool) {
        loop {
            // One bounds check for the separator and the word's first 8 bytes.
            let Some(head) = bytes.get(i..i + 10) else {
                return (i, false);
            };
            let sep = match head[..2] {
                [b' ', _] => 1,
                [b',' | b'.' | b'!' | b'?' | b';' | b':', b' '] => 2,
                _ => return (i, false),
            };
            let t0 = i + sep;
            let w = u64::from_le_bytes(head[sep..sep + 8].try_into().unwrap_or([0; 8]));
            let others = non_letters(w);
            let mut len = (others.trailing_zeros() / 8) as usize;
            // The byte after the word: in `w`, unless the word fills it.
            let next = if len < 8 {
                Some((w >> (8 * len)) as u8)
            } else {
                len = letters_end(bytes, t0 + 8) - t0;
                bytes.get(t0 + len).copied()
            };
            match next {
                Some(b) if b.is_ascii_digit() => return (i, false),
                Some(b) if b >= 0x80 => {
                    // Accented letters ("não", "você", "é"), when the word ends within `w`.
                    let Some(len) = self.accented_in(w, others, l, singles) else {
                        return (i, false);
                    };
                    win.starts[*k % RING] = t0 as u32;
                    win.passed(*k, t0 + len);
                    *k += 1;
                    i = t0 + len;
                    continue;
                }
                _ if len == 0 => return (i, false),
                _ => {}
            }
            let [a, _, c, ..] = w.to_le_bytes();
            if len == 1 {
                // One letter ("e", "a", "o"), as in `plain_word_at`: a third in a row, or one
                // that starts a listed word, takes the general way (a run may spell a word).
                if !plain_letter(a | 0x20, l, singles) {
                    return (i, false);
                }
                win.starts[*k % RING] = t0 as u32;
                win.passed(*k, t0 + 1);
                *k += 1;
                i = t0 + 1;
                continue;
            }
            let c = if len > 2 { c } else { 0 };
            if l.quick.may_hold_packed(w, c)
                && !self.cold_by_hash(word_hash(bytes[t0..t0 + len].iter().copied()), l.blocked)
            {
                return (i, true);
            }
            *singles = 0;
            win.starts[*k % RING] = t0 as u32;
            win.passed(*k, t0 + len);
            *k += 1;
            i = t0 + len;
        }
    }

    /// For [`Self::short_plain_words`]: the 8 bytes `w` start a word whose ASCII letters stop
    /// (`others`: the high bit of each byte that is no ASCII letter) at a non-ASCII byte. When
    /// the word goes on in accented letters (`0xC3` and a byte the rules read as a letter), ends
    /// within `w` before neither a digit nor a non-ASCII byte, and is cold (as in
    /// [`Self::plain_word_at`]), its length in bytes.
    #[inline(always)]
    fn accented_in(&self, w: u64, others: u64, l: Lists<'_>, singles: &mut usize) -> Option<usize> {
        const LOW_BITS: u64 = 0x7F7F_7F7F_7F7F_7F7F;
        // Bytes equal to 0xC3 (exact: no carry crosses a byte), and continuation bytes.
        let x = w ^ 0xC3C3_C3C3_C3C3_C3C3;
        let lead = !(((x & LOW_BITS) + LOW_BITS) | x) & HIGH_BITS;
        let cont = w & !(w << 1) & HIGH_BITS;
        let stop = others & !lead & !cont;
        // A word that fills `w` takes the general way. In valid UTF-8 a continuation byte in
        // the run follows a 0xC3 (any other lead byte stops it), and a 0xC3 before `stop` has
        // its continuation before `stop` too.
        let len = (stop.trailing_zeros() / 8) as usize;
        if len == 0 || len >= 8 {
            return None;
        }
        let bytes = w.to_le_bytes();
        let next = bytes[len];
        if next.is_ascii_digit() || next >= 0x80 {
            return None;
        }
        // Each accented character must be a letter ("×", "÷", "æ" are not).
        let mut m = lead & ((1u64 << (8 * len)) - 1);
        while m != 0 {
            let p = (m.trailing_zeros() / 8) as usize;
            if self.c3[(bytes[(p + 1) & 7] & 0x3F) as usize] == 0 {
                return None;
            }
            m &= m - 1;
        }
        // The first three letters (two bytes each when accented).
        let mut first = [0u8; 3];
        let mut p = 0;
        let mut chars = 0;
        while p < len && chars < 3 {
            // `lower_at` on the array costs 0.7 M instructions more here (its bounds checks).
            let b = bytes[p];
            first[chars] = if b == 0xC3 {
                p += 2;
                self.c3[(bytes[(p - 1) & 7] & 0x3F) as usize]
            } else {
                p += 1;
                b | 0x20
            };
            chars += 1;
        }
        // One letter ("é", "à"): as in `plain_word_at`.
        if chars == 1 {
            return plain_letter(first[0], l, singles).then_some(len);
        }
        let [a, b, c] = first;
        if l.quick.may_hold(a, b, c) {
            // Maybe listed: the general way decides.
            return None;
        }
        *singles = 0;
        Some(len)
    }

    /// The word starting at `t0`, when it is cold.
    #[inline(always)]
    fn plain_word_at(
        &self,
        bytes: &[u8],
        t0: usize,
        l: Lists<'_>,
        singles: &mut usize,
    ) -> Option<(usize, usize)> {
        let n = bytes.len();
        let mut e = letters_end(bytes, t0);
        let mut c3s = 0;
        while e < n && bytes[e] == 0xC3 && self.c3_letter(bytes, e) != 0 {
            c3s += 1;
            e = letters_end(bytes, e + 2);
        }
        if e < n && CLASS[bytes[e] as usize] == DIGIT {
            return None;
        }
        let w = &bytes[t0..e];
        if e - t0 - c3s == 1 {
            if !plain_letter(self.lower_at(w, 0).0, l, singles) {
                return None;
            }
            return Some((t0, e));
        }
        let cold = if c3s == 0 {
            self.cold_word(w, l)
        } else {
            self.cold_accented(w, e - t0 - c3s, l)
        };
        if !cold {
            return None;
        }
        *singles = 0;
        Some((t0, e))
    }

    /// A word of two or more ASCII letters the rules pass over: it is no offensive word,
    /// keyword or number word (nor a plural of one), of the engine or the account. Most words
    /// are out on their first three letters; the rest by a hash of the whole word.
    #[inline(always)]
    fn cold_word(&self, w: &[u8], l: Lists<'_>) -> bool {
        // Letters compared as `b & 31`: the same letter in either case.
        let c = w.get(2).copied().unwrap_or(0);
        !l.quick.may_hold(w[0], w[1], c)
            || self.cold_by_hash(word_hash(w.iter().copied()), l.blocked)
    }

    /// [`Self::cold_word`] for a word of `chars` letters, some of them accented (two bytes).
    fn cold_accented(&self, w: &[u8], chars: usize, l: Lists<'_>) -> bool {
        // Most accented words start with three ASCII letters ("está", "você").
        let (a, b, c) = if w.len() > 3 && w[0] < 0x80 && w[1] < 0x80 && w[2] < 0x80 {
            (w[0], w[1], w[2])
        } else {
            let (a, wa) = self.lower_at(w, 0);
            let (b, wb) = self.lower_at(w, wa);
            let c = if chars > 2 {
                self.lower_at(w, wa + wb).0
            } else {
                0
            };
            (a, b, c)
        };
        !l.quick.may_hold(a, b, c) || {
            let mut j = 0;
            let letters = std::iter::from_fn(|| {
                (j < w.len()).then(|| {
                    let (l, width) = self.lower_at(w, j);
                    j += width;
                    l
                })
            });
            self.cold_by_hash(word_hash(letters), l.blocked)
        }
    }

    /// No form of any listed word, keyword or number word hashes to `h`.
    #[cold]
    fn cold_by_hash(&self, h: u64, blocked: Option<&WordSet>) -> bool {
        !self.special.may_be(h) && blocked.is_none_or(|x| !x.may_be(h))
    }

    /// The letter a two-byte character starting at `i` (lead byte 0xC3) stands for, or 0.
    #[inline(always)]
    fn c3_letter(&self, bytes: &[u8], i: usize) -> u8 {
        match bytes.get(i + 1) {
            Some(b) if (0x80..0xC0).contains(b) => self.c3[(b - 0x80) as usize],
            _ => 0,
        }
    }

    /// Classifies one token (bounded by plain separators for all it knows): `letters` and
    /// `digits` say what it holds, `checked` that it is a word the word sets do not clear.
    #[inline(always)]
    fn token(
        &self,
        raw: &[u8],
        (letters, digits, checked): (bool, bool, bool),
        chars: usize,
        l: Lists<'_>,
        (word, collapsed): (&mut Vec<u8>, &mut Vec<u8>),
    ) -> Tok {
        let single = chars == 1;
        if !letters {
            // A typed number; a lone digit may still spell a letter ("p 0 r r a").
            return Tok {
                single,
                digits: Some(raw.len()),
                typed: true,
                ..COLD
            };
        }
        if !digits && !single && !checked && self.cold_accented(raw, chars, l) {
            return COLD;
        }
        // The full check: the word as the rules will read it.
        word.clear();
        let mut j = 0;
        while j < raw.len() {
            let (c, w) = self.lower_at(raw, j);
            word.push(c);
            j += w;
        }
        let w = word.as_slice();
        if !digits {
            // A separator spelled out ("ponto", "traço") joins the numbers around it into one
            // run, as a typed one does.
            let joins = super::words::separator_word(w).map(|_| 0);
            let k = keyword(w);
            if k == KW_PIX {
                return Tok {
                    single,
                    pix: true,
                    ..COLD
                };
            }
            if k != 0 {
                return Tok {
                    hot: true,
                    single,
                    digits: joins,
                    ..COLD
                };
            }
            if joins.is_some() {
                return Tok {
                    hot: self.offensive_token(w, false, l.blocked, collapsed),
                    single,
                    digits: joins,
                    ..COLD
                };
            }
            if let Some(d) = super::words::number_word(w) {
                return Tok {
                    hot: self.offensive_token(w, false, l.blocked, collapsed),
                    single,
                    digits: Some(d.len()),
                    ..COLD
                };
            }
        }
        // A 14-character code may be an alphanumeric CNPJ.
        Tok {
            hot: (digits && chars == 14) || self.offensive_token(w, digits, l.blocked, collapsed),
            single,
            ..COLD
        }
    }

    /// The lowercase ASCII letter or digit at `i` of a token, and its width in bytes.
    #[inline(always)]
    fn lower_at(&self, raw: &[u8], i: usize) -> (u8, usize) {
        match raw.get(i) {
            Some(0xC3) => (self.c3_letter(raw, i), 2),
            Some(b) if b.is_ascii_alphabetic() => (b | 0x20, 1),
            Some(b) => (*b, 1),
            None => (0, 1),
        }
    }

    /// Would the word rule flag this one token (letters, or letters and digits read as leet)?
    pub(crate) fn offensive_token(
        &self,
        w: &[u8],
        leet: bool,
        blocked: Option<&WordSet>,
        collapsed: &mut Vec<u8>,
    ) -> bool {
        let mapped = |b: u8| if leet { leet_byte(b) } else { b };
        let first = mapped(w[0]);
        let second = w.iter().map(|b| mapped(*b)).find(|b| *b != first);
        if !(self.offensive.may_start(first, second)
            || blocked.is_some_and(|b| b.may_start(first, second)))
        {
            return false;
        }
        collapsed.clear();
        for &b in w {
            push_collapsed(collapsed, mapped(b));
        }
        collapsed.len() <= 24 && self.listed(collapsed, blocked)
    }
}

/// May the one-letter word `a` (lowercase) stay on a plain-word path? Not when it is the third
/// in a row (a run may spell a word) or a listed word; else it is counted in `singles`.
#[inline(always)]
fn plain_letter(a: u8, l: Lists<'_>, singles: &mut usize) -> bool {
    if *singles >= 2 || l.quick.may_hold(a, 0, 0) {
        return false;
    }
    *singles += 1;
    true
}

const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each of the 8 bytes of `w` that is not an ASCII letter. Per byte, without
/// carries between bytes: fold case, then test 'a' <= b <= 'z'.
#[inline(always)]
fn non_letters(w: u64) -> u64 {
    let lo = (w | 0x2020_2020_2020_2020) & 0x7F7F_7F7F_7F7F_7F7F;
    let from_a = lo + 0x1F1F_1F1F_1F1F_1F1F;
    let past_z = lo + 0x0505_0505_0505_0505;
    !(from_a & !past_z & !w) & HIGH_BITS
}

/// The end of the run of ASCII letters starting at `i`, eight bytes at a time.
#[inline(always)]
fn letters_end(bytes: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = bytes.get(i..i + 8) {
        let others = non_letters(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        if others != 0 {
            return i + (others.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < bytes.len() && CLASS[bytes[i] as usize] == LETTER {
        i += 1;
    }
    i
}
