//! Normalisation to matchable ASCII bytes, in one pass: lowercase, accents folded, full-width and
//! mathematical letters, circled and superscript digits and Cyrillic/Greek look-alikes mapped to
//! ASCII, invisible characters dropped, every other character a space. The rules then match bytes,
//! never Unicode classes, which keeps them fast on accented text.

/// ASCII lowercase table; bytes ≥ 0x80 never reach it.
const fn ascii_table() -> [u8; 128] {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        t[i] = if b.is_ascii_uppercase() {
            b + 32
        } else if b < 0x20 && b != b'\n' {
            b' '
        } else {
            b
        };
        i += 1;
    }
    t
}

static ASCII: [u8; 128] = ascii_table();

/// What a non-ASCII character becomes: `Some(byte)`, or `None` to drop it.
pub(crate) fn map_char(c: char) -> Option<u8> {
    let cp = c as u32;
    let b = match cp {
        // Invisible: zero-width spaces and joiners, word joiner, BOM, soft hyphen, and combining
        // marks (decomposed accents: "o" + U+0302 reads as "o"; a variation selector hides nothing).
        0x200B..=0x200F | 0x2060..=0x2064 | 0xFEFF | 0x00AD | 0x0300..=0x036F | 0xFE00..=0xFE0F => {
            return None
        }
        // Latin-1 and Latin Extended-A letters used in pt-BR.
        0xC0..=0xC5 | 0xE0..=0xE5 | 0x100..=0x105 => b'a',
        0xC7 | 0xE7 | 0x106..=0x10D => b'c',
        0xC8..=0xCB | 0xE8..=0xEB | 0x112..=0x11B => b'e',
        0xCC..=0xCF | 0xEC..=0xEF | 0x128..=0x131 => b'i',
        0xD1 | 0xF1 | 0x143..=0x148 => b'n',
        0xD2..=0xD6 | 0xD8 | 0xF2..=0xF6 | 0xF8 | 0x14C..=0x151 => b'o',
        0xD9..=0xDC | 0xF9..=0xFC | 0x168..=0x173 => b'u',
        0xDD | 0xFD | 0xFF => b'y',
        0xDF => b's',
        0xAA => b'a',
        0xBA => b'o',
        // Superscript and subscript digits.
        0xB9 => b'1',
        0xB2 => b'2',
        0xB3 => b'3',
        0x2070 => b'0',
        0x2074..=0x2079 => b'0' + (cp - 0x2070) as u8,
        0x2080..=0x2089 => b'0' + (cp - 0x2080) as u8,
        // Circled digits and letters.
        0x2460..=0x2468 => b'1' + (cp - 0x2460) as u8,
        0x24EA => b'0',
        0x24B6..=0x24CF => b'a' + (cp - 0x24B6) as u8,
        0x24D0..=0x24E9 => b'a' + (cp - 0x24D0) as u8,
        // Full-width ASCII.
        0xFF01..=0xFF5E => {
            let a = (cp - 0xFF01 + 0x21) as u8;
            ASCII[a as usize]
        }
        0x3000 => b' ',
        // Mathematical alphanumerics: 13 styles of A–Z a–z, then 5 styles of 0–9.
        0x1D400..=0x1D6A3 => {
            let i = ((cp - 0x1D400) % 52) as u8;
            if i < 26 {
                b'a' + i
            } else {
                b'a' + i - 26
            }
        }
        0x1D7CE..=0x1D7FF => b'0' + ((cp - 0x1D7CE) % 10) as u8,
        // Dashes, minus and odd dots.
        0x2010..=0x2015 | 0x2212 | 0xFE63 => b'-',
        0x2024 | 0x3002 | 0xFF61 | 0x00B7 => b'.',
        0xFE6B => b'@',
        // Cyrillic and Greek look-alikes.
        0x0430 | 0x0410 | 0x03B1 | 0x0391 => b'a',
        0x0412 | 0x0392 | 0x0432 => b'b',
        0x0441 | 0x0421 | 0x03F2 => b'c',
        0x0435 | 0x0415 | 0x03B5 | 0x0395 => b'e',
        0x041D | 0x0397 | 0x04BB => b'h',
        0x0456 | 0x0406 | 0x03B9 | 0x0399 => b'i',
        0x0458 | 0x0408 => b'j',
        0x041A | 0x039A | 0x03BA => b'k',
        0x041C | 0x039C => b'm',
        0x039D | 0x03B7 => b'n',
        0x043E | 0x041E | 0x03BF | 0x039F | 0x03C3 => b'o',
        0x0440 | 0x0420 | 0x03C1 | 0x03A1 => b'p',
        0x0455 | 0x0405 => b's',
        0x0422 | 0x03A4 | 0x03C4 => b't',
        0x03C5 | 0x03BC => b'u',
        0x03BD => b'v',
        0x0445 | 0x0425 | 0x03C7 | 0x03A7 => b'x',
        0x0443 | 0x0423 | 0x03B3 | 0x03A5 => b'y',
        0x0396 => b'z',
        _ => b' ',
    };
    Some(b)
}

/// Writes the normalised form of `text` into `out` (cleared first).
pub fn normalize_into(text: &str, out: &mut Vec<u8>) {
    out.clear();
    out.reserve(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // ASCII runs are the common case: copy them through the table in one go.
        let run = bytes[i..]
            .iter()
            .position(|b| *b >= 0x80)
            .unwrap_or(bytes.len() - i);
        if run > 0 {
            // Copy then lowercase in place: both vectorise. Control characters stay as they
            // are; the tokenizer reads them as spaces.
            let at = out.len();
            out.extend_from_slice(&bytes[i..i + run]);
            out[at..].make_ascii_lowercase();
            i += run;
            continue;
        }
        // `text` is a &str, so `i` is on a char boundary here.
        let c = text[i..].chars().next().unwrap_or(' ');
        if let Some(m) = map_char(c) {
            out.push(m);
        }
        i += c.len_utf8();
    }
}

pub fn normalize(text: &str) -> Vec<u8> {
    let mut v = Vec::new();
    normalize_into(text, &mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        String::from_utf8(normalize(s)).unwrap()
    }

    #[test]
    fn folds_case_accents_and_lookalikes() {
        assert_eq!(n("Ação É ÓTIMA"), "acao e otima");
        assert_eq!(n("５２９．９８２"), "529.982");
        assert_eq!(n("𝐩𝐨𝐫𝐫𝐚"), "porra");
        assert_eq!(n("р\u{043E}rra"), "porra");
        assert_eq!(n("①②③"), "123");
        assert_eq!(n("5\u{200B}2\u{200B}9"), "529");
        assert_eq!(n("a\tb\r\nc"), "a\tb\r\nc");
        assert_eq!(n("joão＠gmail"), "joao@gmail");
        // Decomposed accents (NFD) read like composed ones.
        assert_eq!(n("po\u{0302}rra ac\u{0327}a\u{0303}o"), "porra acao");
    }
}
