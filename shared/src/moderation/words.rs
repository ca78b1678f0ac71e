//! Word lists: offensive pt-BR words (stored with repeated letters collapsed, as the text is),
//! words that mark a number as an order or product code, and the top-level domains that make a
//! bare `name.tld` a link.

/// Offensive words and abbreviations, accent-free, lowercase. Collapsed when the set is built.
pub const OFFENSIVE: &[&str] = &[
    "arrombado",
    "arrombada",
    "babaca",
    "bicha",
    "boceta",
    "bosta",
    "broxa",
    "buceta",
    "cacete",
    "canalha",
    "caralho",
    "corno",
    "cornudo",
    "crl",
    "cu",
    "cuzao",
    "cuzona",
    "desgracado",
    "desgracada",
    "escroto",
    "escrota",
    "fdp",
    "filhodaputa",
    "foda",
    "fodase",
    "foder",
    "fodido",
    "fodida",
    "fuder",
    "fudido",
    "fudida",
    "idiota",
    "imbecil",
    "krl",
    "lazarento",
    "merda",
    "mongoloide",
    "otario",
    "otaria",
    "piranha",
    "porra",
    "pqp",
    "punheta",
    "puta",
    "putaria",
    "putinha",
    "puto",
    "retardado",
    "retardada",
    "safado",
    "safada",
    "traveco",
    "vadia",
    "vagabundo",
    "vagabunda",
    "vagaba",
    "viado",
    "vsf",
    "vtnc",
    "xota",
    "xoxota",
];

/// A plain number right after one of these is an order, invoice or product code, not PII.
pub const CODE_WORDS: &[&str] = &[
    "pedido",
    "pedidos",
    "nf",
    "nfe",
    "nota",
    "notafiscal",
    "fiscal",
    "rastreio",
    "rastreamento",
    "codigo",
    "cod",
    "sku",
    "ean",
    "gtin",
    "protocolo",
    "ref",
    "referencia",
    "serie",
    "serial",
    "boleto",
    "lote",
    "modelo",
    "chamado",
    "ticket",
    "ordem",
    "os",
    "item",
    "anuncio",
];

/// Of [`CODE_WORDS`], those that name a payment or an invoice: a boleto or a nota is issued *to*
/// a CPF or CNPJ, so a valid document after one is a document; only a phone-shaped number there
/// is taken for the code.
pub fn is_payment_word(w: &[u8]) -> bool {
    matches!(
        w,
        b"boleto" | b"nota" | b"notafiscal" | b"fiscal" | b"nf" | b"nfe"
    )
}

/// Words that say the number after them is a document, whatever code word comes before.
pub fn is_document_word(w: &[u8]) -> bool {
    matches!(w, b"cpf" | b"cnpj" | b"documento" | b"doc" | b"titular")
}

/// Separators spelled out between the groups of a number ("sete seis nove ponto oito quatro um
/// traço …"), with the separator each stands for (a `tokens::S_*` kind).
pub fn separator_word(w: &[u8]) -> Option<u16> {
    use super::tokens::{S_COMMA, S_DASH, S_DOT, S_SLASH};
    Some(match w {
        b"ponto" => S_DOT,
        b"traco" | b"tracinho" | b"hifen" => S_DASH,
        b"barra" => S_SLASH,
        b"virgula" => S_COMMA,
        _ => return None,
    })
}

/// Every word [`separator_word`] knows (the prescan must not take them for plain words).
pub const SEPARATOR_WORDS: &[&str] = &["ponto", "traco", "tracinho", "hifen", "barra", "virgula"];

/// Top-level domains that turn `name.tld` into a link.
pub const TLDS: &[&str] = &[
    "ai", "app", "ar", "biz", "br", "cc", "cf", "click", "club", "cn", "co", "com", "de", "dev",
    "es", "eu", "fr", "ga", "gg", "gq", "info", "io", "it", "jp", "link", "live", "ly", "me", "ml",
    "mx", "net", "online", "org", "pt", "ru", "shop", "site", "store", "tk", "to", "top", "tv",
    "uk", "us", "vip", "ws", "xyz",
];

/// Words that cannot start a domain written with "ponto" (`às 10 em ponto com você`).
pub const NOT_A_DOMAIN: &[&str] = &[
    "a", "ao", "as", "com", "da", "de", "do", "e", "em", "na", "no", "o", "os", "por", "um", "uma",
];

/// Every number word [`number_word`] knows.
pub const NUMBER_WORDS: &[&[u8]] = &[
    b"zero",
    b"um",
    b"uma",
    b"dois",
    b"duas",
    b"tres",
    b"quatro",
    b"cinco",
    b"seis",
    b"meia",
    b"sete",
    b"oito",
    b"nove",
    b"dez",
    b"onze",
    b"doze",
    b"treze",
    b"quatorze",
    b"catorze",
    b"quinze",
    b"dezesseis",
    b"dezessete",
    b"dezoito",
    b"dezenove",
];

/// Could `w` be a number word? Its first two letters decide nearly always, for a table lookup.
#[inline]
pub fn maybe_number_word(w: &[u8]) -> bool {
    const fn pairs() -> [u32; 26] {
        let words: [&[u8]; 14] = [
            b"ze", b"um", b"do", b"du", b"tr", b"qu", b"ci", b"se", b"me", b"oi", b"no", b"de",
            b"on", b"ca",
        ];
        let mut t = [0u32; 26];
        let mut i = 0;
        while i < words.len() {
            t[(words[i][0] - b'a') as usize] |= 1 << (words[i][1] - b'a');
            i += 1;
        }
        t
    }
    const PAIRS: [u32; 26] = pairs();
    w.len() >= 2
        && w.len() <= 9
        && w[0].is_ascii_lowercase()
        && w[1].is_ascii_lowercase()
        && PAIRS[(w[0] - b'a') as usize] & (1 << (w[1] - b'a')) != 0
}

/// Digits written as words (and `meia` for six, as phone numbers are read aloud), as digit values.
pub fn number_word(w: &[u8]) -> Option<&'static [u8]> {
    Some(match w {
        b"zero" => &[0],
        b"um" | b"uma" => &[1],
        b"dois" | b"duas" => &[2],
        b"tres" => &[3],
        b"quatro" => &[4],
        b"cinco" => &[5],
        b"seis" | b"meia" => &[6],
        b"sete" => &[7],
        b"oito" => &[8],
        b"nove" => &[9],
        b"dez" => &[1, 0],
        b"onze" => &[1, 1],
        b"doze" => &[1, 2],
        b"treze" => &[1, 3],
        b"quatorze" | b"catorze" => &[1, 4],
        b"quinze" => &[1, 5],
        b"dezesseis" => &[1, 6],
        b"dezessete" => &[1, 7],
        b"dezoito" => &[1, 8],
        b"dezenove" => &[1, 9],
        _ => return None,
    })
}

/// Valid Brazilian area codes (DDD).
pub fn valid_ddd(a: u8, b: u8) -> bool {
    matches!(
        (a, b),
        (1, 1..=9)
            | (2, 1 | 2 | 4 | 7 | 8)
            | (3, 1..=5 | 7 | 8)
            | (4, 1..=9)
            | (5, 1 | 3 | 4 | 5)
            | (6, 1..=9)
            | (7, 1 | 3 | 4 | 5 | 7 | 9)
            | (8, 1..=9)
            | (9, 1..=9)
    )
}
