//! The keywords: words that wake a rule (an address sign, a link, the word "pix"). This is their
//! one table; the engine's word sets, the word pass of the rules and the prescan all read it.

/// Keywords some rules need, found in one pass over the words.
pub(super) const KW_AT: u8 = 1;
pub(super) const KW_DOT: u8 = 1 << 1;
pub(super) const KW_WEB: u8 = 1 << 2;
pub(super) const KW_PIX: u8 = 1 << 3;

macro_rules! keywords {
    ($($word:literal => $kind:ident),* $(,)?) => {
        /// Every keyword, for the engine's word sets.
        pub(super) const KEYWORDS: &[&[u8]] = &[$($word),*];

        /// The rule a (lowercase, normalised) word wakes: one of the `KW_*` bits, or 0.
        #[inline(always)]
        pub(super) fn keyword(w: &[u8]) -> u8 {
            match w {
                $($word => $kind,)*
                _ => 0,
            }
        }
    };
}

keywords! {
    b"arroba" => KW_AT,
    b"at" => KW_AT,
    b"ponto" => KW_DOT,
    b"dot" => KW_DOT,
    b"http" => KW_WEB,
    b"https" => KW_WEB,
    b"www" => KW_WEB,
    b"pix" => KW_PIX,
    b"chavepix" => KW_PIX,
}
