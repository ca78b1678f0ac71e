//! The tokenizer: normalises a text to ASCII bytes ([`super::normalize`]) and cuts it into tokens
//! (runs of letters and digits), each remembering the separator before it as a set of character
//! kinds (`S_*`), so the rules read "digits, then a dot, then digits" without looking back at the
//! text.

use super::normalize;

// ---- separators between tokens ------------------------------------------------------------

pub(super) const S_SPACE: u16 = 1;
pub(super) const S_NL: u16 = 1 << 1;
pub(super) const S_DOT: u16 = 1 << 2;
pub(super) const S_DASH: u16 = 1 << 3;
pub(super) const S_SLASH: u16 = 1 << 4;
pub(super) const S_AT: u16 = 1 << 5;
pub(super) const S_COLON: u16 = 1 << 6;
pub(super) const S_COMMA: u16 = 1 << 7;
pub(super) const S_PAREN: u16 = 1 << 8;
pub(super) const S_PLUS: u16 = 1 << 9;
pub(super) const S_DOLLAR: u16 = 1 << 10;
pub(super) const S_STAR: u16 = 1 << 11;
pub(super) const S_BRACKET: u16 = 1 << 12;
pub(super) const S_OTHER: u16 = 1 << 13;

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

pub(super) const K_ALPHA: u8 = 1;
pub(super) const K_DIGIT: u8 = 2;

#[derive(Debug, Clone, Copy)]
pub(super) struct Token {
    pub(super) start: u32,
    pub(super) end: u32,
    pub(super) kind: u8,
    /// The separator before this token: kinds of character in it, and its length.
    pub(super) sep: u16,
    pub(super) sep_len: u16,
    /// The separator's first three characters (for `://` and ` . `).
    pub(super) sep_head: [u8; 3],
    /// Where it starts in the input (for what normalising loses: capitals).
    pub(super) raw: u32,
}

impl Token {
    pub(super) fn len(&self) -> usize {
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
pub(super) struct Summary {
    /// Every kind of separator character present.
    pub(super) seps: u16,
    /// Digits in all-digit tokens.
    pub(super) digits: usize,
    /// A token of exactly 14 characters (a solid CNPJ).
    pub(super) has14: bool,
    /// A token of letters and digits (a group of an alphanumeric CNPJ).
    pub(super) mixed: bool,
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
pub(super) fn tokenize(input: &str, text: &mut Vec<u8>, out: &mut Vec<Token>) -> Summary {
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
        let mut raw = 0usize;
        while i < n {
            let (m, width) = next_char(input, bytes, i);
            raw = i;
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
        sum.mixed |= kind == K_ALPHA | K_DIGIT;
        out.push(Token {
            start: start as u32,
            end: w as u32,
            kind,
            sep,
            sep_len: sep_len.min(u16::MAX as usize) as u16,
            sep_head,
            raw: raw as u32,
        });
    }
    text.truncate(w);
    sum
}
