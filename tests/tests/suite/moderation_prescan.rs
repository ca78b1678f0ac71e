//! The prescan may only skip what the rules would pass over: `check_with` (prescan, then rules on
//! the windows) must equal `check_full` (rules on the whole message) for every message. Held over
//! both corpora, over corpus lines joined into long messages, and over generated messages that
//! pile evasions, numbers, separators and look-alike characters next to ordinary words.

use balcao::moderation::{AccountRules, Engine, Findings, Scratch};

fn corpus_lines() -> Vec<String> {
    [
        include_str!("../../corpus/moderation.tsv"),
        include_str!("../../corpus/moderation-holdout.tsv"),
        include_str!("../../corpus/moderation-holdout-2.tsv"),
    ]
    .iter()
    .flat_map(|f| f.lines())
    .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    .filter_map(|l| l.split_once('\t').map(|(_, t)| t.replace("\\n", "\n")))
    .collect()
}

fn names(f: Findings) -> Vec<&'static str> {
    f.kinds().map(|t| t.as_str()).collect()
}

struct Checker {
    engine: Engine,
    scratch: Scratch,
    accounts: Vec<Option<AccountRules>>,
    checked: usize,
    flagged: usize,
}

impl Checker {
    fn new() -> Checker {
        Checker {
            engine: Engine::new(),
            scratch: Scratch::default(),
            accounts: vec![
                None,
                Some(AccountRules::new(
                    &[
                        "concorrente".into(),
                        "dois".into(),
                        "x".into(),
                        "ponto".into(),
                    ],
                    &["lojademo.com.br".into()],
                )),
            ],
            checked: 0,
            flagged: 0,
        }
    }

    fn same(&mut self, text: &str) {
        for account in &self.accounts {
            let fast = self
                .engine
                .check_with(text, account.as_ref(), &mut self.scratch);
            let full = self.engine.check_full(text, account.as_ref());
            assert_eq!(
                names(fast),
                names(full),
                "prescan and full rules disagree (account rules: {}) on {text:?}",
                account.is_some()
            );
            self.checked += 1;
            self.flagged += !full.is_empty() as usize;
        }
    }
}

#[test]
fn corpus_lines_alone_and_joined() {
    let lines = corpus_lines();
    let mut c = Checker::new();
    for l in &lines {
        c.same(l);
    }
    // Joined in many orders and with every separator, so context crosses line boundaries.
    for step in [1usize, 3, 7, 11] {
        for sep in [" ", "\n", ". ", " . ", ", ", "-", "/", " e ", " um "] {
            let mut m = String::new();
            for (k, i) in (0..lines.len()).map(|k| (k, (k * step) % lines.len())) {
                if k % 6 == 5 {
                    c.same(&m);
                    m.clear();
                }
                if !m.is_empty() {
                    m.push_str(sep);
                }
                m.push_str(&lines[i]);
            }
            c.same(&m);
        }
    }
    assert!(
        c.flagged > 0 && c.checked > c.flagged,
        "{} {}",
        c.checked,
        c.flagged
    );
}

/// Small deterministic generator (xorshift64*), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

#[test]
fn generated_messages() {
    const WORDS: &[&str] = &[
        "olá",
        "produto",
        "entrega",
        "de",
        "do",
        "que",
        "quando",
        "com",
        "não",
        "você",
        "é",
        "a",
        "o",
        "e",
        "à",
        "loja",
        "gmail",
        "hotmail",
        "br",
        "net",
        "pedido",
        "rastreio",
        "nf",
        "sku",
        "reais",
        "R",
        "pix",
        "chave",
        "arroba",
        "at",
        "ponto",
        "dot",
        "http",
        "https",
        "www",
        "um",
        "uma",
        "dois",
        "três",
        "quatro",
        "cinco",
        "seis",
        "meia",
        "sete",
        "oito",
        "nove",
        "zero",
        "dez",
        "onze",
        "porra",
        "p0rr4",
        "merd4",
        "put4s",
        "car4lho",
        "Idiot4",
        "putá",
        "idiôta",
        "merdaaa",
        "idiotas",
        // Repeated first letters: the three-letter filter must not clear them.
        "pporra",
        "Mmerda",
        "arrooba",
        "ccu",
        "uum",
        "ddois",
        "c",
        "u",
        "p",
        "x",
        "f",
        "d",
        "q",
        "v",
        "s",
        "concorrente",
        "Concorrênte",
        "cu",
        "CU",
        "p",
        "0",
        "r",
        "4",
        "ABC",
        "12ABC34501DE35",
        "123e4567",
        "e89b",
        "12d3",
        "a456",
        "426614174000",
        "abcdefghijkl",
        "quequeque",
        "pix.com",
        "chavepix",
        "dez.com",
        // Spelled separators, payment and document words, short links, split CNPJ groups.
        "traço",
        "tracinho",
        "hífen",
        "barra",
        "vírgula",
        "boleto",
        "nota",
        "cpf",
        "cnpj",
        "goo.gl",
        "is.gd",
        "maps",
        "U7D",
        "WP5",
        "CT04",
        "C8LT",
        "PKB",
        "AR9L",
        "S6",
    ];
    const NUMBERS: &[&str] = &[
        "1",
        "12",
        "529",
        "982",
        "247",
        "25",
        "5299",
        "82247",
        "52998224725",
        "11222333000181",
        "11",
        "9",
        "99999",
        "9999",
        "3333",
        "4444",
        "55",
        "+55",
        "1.299,90",
        "2026",
        "21/11/2026",
        "08:00",
        "10x",
        "110v",
        "01310-100",
        "0001",
        "81",
        "123.456.789-0",
        "42",
        "2",
    ];
    const SEPS: &[&str] = &[
        " ", " ", " ", "  ", "\n", ", ", ". ", " . ", ".", "-", "/", "@", "(at)", " [at] ", "$",
        "R$ ", ": ", "://", "!", "? ", "\"", "'", "(", ")", "*", "+", "_", "\u{200b}", "\u{a0}",
        "×", "·", "…", "–", " — ", "\t", "...", ",.", " ,", ";", ":", " (", ") ", "%", "#", "&",
        "=", " - ", "//", "--", " $ ", "\\", "_", "~",
    ];
    const ODD: &[&str] = &[
        "５", "２", "ａ", "о", "е", "①", "²", "é", "Ç", "\u{301}", "ﬁ", "😀",
    ];
    let mix = Mix {
        words: WORDS,
        numbers: NUMBERS,
        seps: SEPS,
        odd: ODD,
        word_n: 10,
        number_n: 6,
        sep_n: 16,
    };
    generate(&mut Rng(0x005E_EDBA_1CA0), &mut Checker::new(), &mix);
}

/// The pieces of generated messages, and how often each kind comes, out of 20.
struct Mix<'a> {
    words: &'a [&'a str],
    numbers: &'a [&'a str],
    seps: &'a [&'a str],
    odd: &'a [&'a str],
    /// Words and numbers out of 20 pieces (the rest are odd characters).
    word_n: u64,
    number_n: u64,
    /// Pieces followed by a separator, out of 20 (the rest are glued to the next).
    sep_n: u64,
}

/// 40 000 messages of 1 to 24 pieces of `mix`, each checked by `c`.
fn generate(rng: &mut Rng, c: &mut Checker, mix: &Mix<'_>) {
    for _ in 0..40_000 {
        let mut m = String::new();
        let len = 1 + rng.next() % 24;
        for _ in 0..len {
            let piece = rng.next() % 20;
            if piece < mix.word_n {
                m.push_str(rng.pick(mix.words));
            } else if piece < mix.word_n + mix.number_n {
                m.push_str(rng.pick(mix.numbers));
            } else {
                m.push_str(rng.pick(mix.odd));
            }
            if rng.next() % 20 < mix.sep_n {
                m.push_str(rng.pick(mix.seps));
            }
        }
        c.same(&m);
    }
    assert!(
        c.flagged > 1000,
        "the generator should produce findings: {}",
        c.flagged
    );
    assert!(
        c.checked - c.flagged > 1000,
        "and clean messages: {}",
        c.checked
    );
}

/// Chat-like messages: runs of words between single spaces, the way most chat is written, so
/// the prescan's word-at-a-time paths (plain and accented words read 8 bytes at a time) meet
/// listed words, accented and look-alike letters, numbers and odd characters right after them.
#[test]
fn chat_like_messages() {
    const WORDS: &[&str] = &[
        "produto",
        "entrega",
        "de",
        "que",
        "quando",
        "porta",
        "não",
        "Não",
        "você",
        "está",
        "também",
        "código",
        "já",
        "só",
        "até",
        "às",
        "é",
        "É",
        "à",
        "a",
        "o",
        "e",
        "uma",
        "um",
        "três",
        "quatro",
        "pix",
        "ponto",
        "arroba",
        "porra",
        "pôrra",
        "pórra",
        "cú",
        "Cú",
        "cu",
        "putá",
        "pUtá",
        "idiôta",
        "merdá",
        "concorrênte",
        "Concorrente",
        "x",
        "ç",
        "p",
        "r",
        "a×b",
        "c×u",
        "p×o×r×r×a",
        "cæsar",
        "æ",
        "Ðe",
        "o÷",
        "éé",
        "éée",
        "dôis",
        "dois",
        "não9",
        "você2",
        "é1",
        "produto3",
        "çú",
        "ão",
        "cãoo",
        "maçã",
        "pão",
        // Listed words behind an accented letter, a look-alike or spelled out letter by letter.
        "ó×cu",
        "pú7a",
        "p ô r r a",
        "m é r d a",
        "c ú z ã o",
        "p ú t á",
    ];
    const NUMBERS: &[&str] = &["1", "39", "52998224725", "1.299,90", "11", "9999", "2026"];
    const SEPS: &[&str] = &[
        " ", " ", " ", " ", " ", " ", " ", " ", " ", " ", ", ", ". ", "? ", "! ", "\n", "-", "@",
        "×", "\u{a0}", "é", "$",
    ];
    const ODD: &[&str] = &["é", "×", "ã", "０", "\u{301}"];
    let mix = Mix {
        words: WORDS,
        numbers: NUMBERS,
        seps: SEPS,
        odd: ODD,
        word_n: 17,
        number_n: 2,
        sep_n: 19,
    };
    generate(&mut Rng(0x000C_4A7A_1CE5), &mut Checker::new(), &mix);
}

/// Context at the edge of the margin: a code word three tokens before a number, `reais` after
/// it, a name before `ponto com`, letters spelled out, numbers in words among ordinary words.
#[test]
fn context_at_the_margin() {
    let mut c = Checker::new();
    for m in [
        "olá, segue o pedido de número 52998224725 ok",
        "segue pedido com numero 52998224725, obrigado",
        "o valor ficou 1299002 reais mesmo",
        "vendo por R$ 52998224725 hoje",
        "me chama em loja ponto com ponto br amanhã",
        "escreve joao arroba gmail ponto com por favor",
        "fala p o r r a sem parar",
        "fala p. o. r. r. a sem parar",
        // Three letters in a row among ordinary words, spelling an insult or nothing.
        "seu f d p safado",
        "isso p q p demora demais",
        "ah v s f mano",
        "chegou em c r l de caixa",
        "comprei o a e o brinde",
        "a e i o u são vogais",
        "um produto e dois brindes, mais três dias úteis",
        "nove nove oito sete seis cinco quatro tres dois um zero",
        "o codigo ABCDEFGH.1.23.4.56 chegou",
        "o codigo 12ABC345.01DE35 chegou",
        "cnpj novo: 1.23.4.56.ABCDEF.66 ok",
        "cnpj novo 1.23.4.56.7.ABCDE.88 ok",
        "pix: 52998224725 valeu",
        "chave pix é a mesma do cadastro, 529 982 247 25 ok",
        "meu cpf é 529.982.247-25, pode usar",
        "frete. Com certeza, tudo certo",
        "loja . com ou loja.com",
        // A run of numbers found hot at its end reaches back over windows closed meanwhile.
        "pix no 390.533.447-05 e FULANO@HOTMAIL.COM e três um nove nove oito sete seis um dois três quatro",
    ] {
        c.same(m);
    }
    assert!(c.flagged >= 16, "{}", c.flagged);
}

/// Issue 23's kinds: documents after payment words, numbers read out with punctuation or
/// spelled separators between the groups (runs longer than the margin between two separators),
/// alphanumeric CNPJs split by spaces and line breaks, short links with a path, part numbers
/// ending in a check digit. Each is found (or not) alike with and without the prescan.
#[test]
fn spelled_separators_split_codes_and_short_links() {
    let mut c = Checker::new();
    let cases = [
        ("manda o boleto no cpf 37759458061 ok", true),
        (
            "olá! pode gerar o boleto pra 43121890050 por favor, obrigado",
            true,
        ),
        ("a nota vai no 79440217669", true),
        ("pedido 98624760445 chegou, obrigado", false),
        (
            "três sete sete, cinco nove quatro, cinco oito zero, seis um",
            true,
        ),
        (
            "ok sete nove oito ponto seis nove quatro ponto um um um traço um oito valeu",
            true,
        ),
        (
            "cinco um zero barra nove cinco quatro barra nove quatro um barra nove oito",
            true,
        ),
        (
            "um um traço nove oito sete seis cinco traço quatro três dois um",
            true,
        ),
        (
            "meu zap: um um, nove oito sete seis cinco, quatro três dois um, tá?",
            true,
        ),
        (
            "nove oito três dois um vírgula quatro cinco seis sete",
            true,
        ),
        (
            "um ponto importante: chega em dois dias, traço e barra",
            false,
        ),
        ("olha só cnpj U7D WP5 R0P CT04 2 da loja", true),
        ("o da filial: 7425 C8LT U1XY 66 ok", true),
        ("6181E4\n6YATN2\n05", true),
        ("tamanho GG cor azul 42 e modelo X 12", false),
        ("kit 3 em 1 modelo 10x de 42", false),
        ("goo.gl/maps/q8Zr5 fica ali", true),
        ("olha o v.gd/oferta hoje", true),
        ("shorturl.at/qwe45", true),
        (
            "peça 321.654.987-0 e a referência 112.233.445-6 servem?",
            false,
        ),
    ];
    for (m, flagged) in cases {
        c.same(m);
        assert_eq!(!c.engine.check(m, None).is_empty(), flagged, "{m}");
    }
}

/// A lone hyphen before a word of letters that is not followed by another hyphen ("USB-C dos",
/// "e-mail cadastrado") makes no token hot. Not in a chain of hyphens (a UUID of letters only),
/// nor before a word with digits (an alphanumeric CNPJ split before its check digits).
#[test]
fn hyphens_between_words() {
    let mut c = Checker::new();
    let cases = [
        ("cabo USB-C dos dois lados", false),
        ("chega por e-mail cadastrado na plataforma", false),
        ("chave abcdefab-abcd-abcd-abcd-abcdefabcdef ok", true),
        ("chave ABCDEFAB-ABCD-ABCD-ABCD-ABCDEFABCDEF.", true),
        ("cnpj ABCDEFGHIJKL-80 ok", true),
        ("cnpj novo ABCDEFGHIJKL-80", true),
        ("cnpj ABCDEFGHIJK-L80 ok", true),
        ("cinco-dois-nove-nove-oito-dois-dois-quatro ok", true),
        // A look-alike letter after the hyphen is read as a letter: "bla-porra".
        ("bla-\u{440}orra ok", true),
        (
            "escreve para fulano@minha-loja-de-roupas-baratas-femininas-online-barato.com hoje",
            true,
        ),
        ("meu email: maria-silva@gmail.com valeu", true),
        ("site minha-loja.com mesmo", true),
        ("me chama no pôrra-louca agora", true),
    ];
    for (m, flagged) in cases {
        c.same(m);
        let found = !c.engine.check_full(m, None).is_empty();
        assert_eq!(found, flagged, "{m:?}");
    }
    // Hyphens everywhere, between words of hex letters, other letters, digits and keywords.
    const WORDS: &[&str] = &[
        "abcdefab",
        "abcd",
        "abcdefabcdef",
        "ABCDEFGHIJKL",
        "USB",
        "C",
        "e",
        "mail",
        "guarda",
        "roupa",
        "bem",
        "vindo",
        "dois",
        "três",
        "um",
        "arroba",
        "ponto",
        "com",
        "pix",
        "porra",
        "cú",
        "gmail",
        "minha",
        "loja",
        "pré",
        "venda",
    ];
    const NUMBERS: &[&str] = &[
        "80",
        "35",
        "12ABC34501DE",
        "529",
        "982",
        "247",
        "25",
        "2026",
    ];
    const SEPS: &[&str] = &[
        "-", "-", "-", "-", " ", " ", " ", ", ", ". ", "@", ".", " - ", "--",
    ];
    let mix = Mix {
        words: WORDS,
        numbers: NUMBERS,
        seps: SEPS,
        odd: &["é", "\u{a0}"],
        word_n: 16,
        number_n: 3,
        sep_n: 18,
    };
    generate(&mut Rng(0x0000_4A1F_E4E5), &mut c, &mix);
}
