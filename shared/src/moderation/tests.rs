use super::*;

fn tags(text: &str) -> Vec<&'static str> {
    Engine::new()
        .check(text, None)
        .kinds()
        .map(Kind::as_str)
        .collect()
}

fn tags_for(text: &str, rules: &AccountRules) -> Vec<&'static str> {
    Engine::new()
        .check(text, Some(rules))
        .kinds()
        .map(Kind::as_str)
        .collect()
}

#[test]
fn check_digit_algorithms() {
    let d = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<u8>>();
    assert!(cpf_valid(&d("52998224725")));
    assert!(!cpf_valid(&d("52998224726")));
    assert!(!cpf_valid(&d("11111111111")));
    assert!(cnpj_valid_digits(&d("11222333000181")));
    assert!(!cnpj_valid_digits(&d("11222333000182")));
    // The Receita Federal's example of the alphanumeric CNPJ.
    assert!(cnpj_valid_alnum(b"12ABC34501DE35"));
    assert!(!cnpj_valid_alnum(b"12ABC34501DE36"));
}

#[test]
fn cpf_in_any_formatting() {
    for t in [
        "meu cpf é 529.982.247-25",
        "cpf 52998224725",
        "5 2 9 9 8 2 2 4 7 2 5",
        "529 982 247 25",
        "529\n982\n247\n25",
        "cinco dois nove nove oito dois dois quatro sete dois cinco",
        "５２９.９８２.２４７-２５",
        "pedido 529.982.247-25",
    ] {
        assert!(tags(t).contains(&"CPF"), "{t}: {:?}", tags(t));
    }
    assert!(!tags("529.982.247-26").contains(&"CPF"));
}

#[test]
fn cnpj_numeric_and_alphanumeric() {
    assert_eq!(tags("CNPJ 11.222.333/0001-81"), vec!["CNPJ"]);
    assert_eq!(tags("cnpj 12.ABC.345/01DE-35"), vec!["CNPJ"]);
    assert_eq!(tags("12abc34501de35"), vec!["CNPJ"]);
    assert!(tags("12.ABC.345/01DE-36").is_empty());
}

#[test]
fn pix_keys() {
    assert_eq!(
        tags("chave aleatória 123e4567-e89b-12d3-a456-426614174000"),
        vec!["PIX"]
    );
    assert_eq!(tags("faz um pix pro 529.982.247-25"), vec!["CPF", "PIX"]);
    assert_eq!(tags("pix: joao@gmail.com"), vec!["PIX", "EMAIL"]);
    assert!(tags("aceitamos pix e cartão").is_empty());
}

#[test]
fn emails_and_their_evasions() {
    for t in [
        "joao.silva@gmail.com",
        "joao arroba gmail ponto com",
        "joao (at) gmail (dot) com",
        "joao[at]gmail.com.br",
        "joao @ gmail . com",
        "joao＠gmail．com",
    ] {
        assert_eq!(tags(t), vec!["EMAIL"], "{t}");
    }
    assert!(tags("me chama no @ da loja").is_empty());
}

#[test]
fn phones() {
    for t in [
        "(11) 98765-4321",
        "+55 11 98765-4321",
        "11987654321",
        "whats 98765-4321",
        "liga 3333-4444",
        "onze nove oito sete seis cinco quatro três dois um",
        "5511987654321",
    ] {
        assert!(tags(t).contains(&"PHONE"), "{t}: {:?}", tags(t));
    }
}

#[test]
fn links_outside_the_allowlist() {
    for t in [
        "veja https://bit.ly/abc",
        "www.outraloja.com.br",
        "compra em outraloja.com",
        "loja ponto com ponto br",
    ] {
        assert_eq!(tags(t), vec!["LINK"], "{t}");
    }
    let rules = AccountRules::new(&[], &["lojademo.com.br".into()]);
    assert!(tags_for("veja https://www.lojademo.com.br/p/123", &rules).is_empty());
    assert!(tags_for("loja.lojademo.com.br", &rules).is_empty());
    assert_eq!(tags_for("fakelojademo.com.br", &rules), vec!["LINK"]);
    // Sentence ends and "em ponto" are not links.
    assert!(tags("comprei na loja. Com certeza volto").is_empty());
    assert!(tags("chega às 10 em ponto com certeza").is_empty());
}

#[test]
fn offensive_words_and_evasions() {
    for t in [
        "que PORRA é essa",
        "pôrrááá",
        "p0rr4",
        "p o r r a",
        "p.o.r.r.a",
        "c@ralho",
        "𝐦𝐞𝐫𝐝𝐚",
        "vsf",
    ] {
        assert_eq!(tags(t), vec!["OFFENSIVE"], "{t}");
    }
    for t in [
        "computador",
        "cuidado com o cupom",
        "enviado hoje",
        "disputa",
    ] {
        assert!(tags(t).is_empty(), "{t}");
    }
    let rules = AccountRules::new(&["Concorrente".into()], &[]);
    assert_eq!(tags_for("compra no concorrênte", &rules), vec!["OFFENSIVE"]);
}

#[test]
fn what_sellers_write_all_day_passes() {
    for t in [
        "Sai por R$ 1.299,90 à vista ou 10x de R$ 129,99",
        "Seu pedido 1234567890 foi enviado",
        "pedido 52998224725 confirmado",
        "Código de rastreio AA123456789BR",
        "Entrega até 21/11/2026, das 10:30 às 18:00",
        "CEP 01310-100, Av. Paulista",
        "SKU 7891234567895, tamanho 42, 110v",
        "Temos 3 unidades em estoque, 2 na cor azul",
        "A nota fiscal 000123456 segue em anexo",
        "Medidas: 60 x 55 x 185 cm",
        "Geladeira Frost Free 375 litros",
    ] {
        assert!(tags(t).is_empty(), "{t}: {:?}", tags(t));
    }
}

/// The one-pass tokenizer cuts the same words as "normalise, then split on non-alphanumerics".
#[test]
fn tokenizer_agrees_with_the_reference() {
    let samples = [
        "Olá, MARIA! Seu pedido 1234567890 saiu às 10:30 — R$ 1.299,90",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij0123456789 x",
        "joão.silva@GMAIL.com ５２９．９８２ po\u{0302}rra 5\u{200B}2\u{200B}9",
        "aaaaaaaa bbbbbbbbbbbbbbbbb c 12345678 9 ççççç",
        "",
        "   ",
        "x",
    ];
    for s in samples {
        let mut text = Vec::new();
        let mut toks = Vec::new();
        tokenize(s, &mut text, &mut toks);
        let got: Vec<&[u8]> = toks
            .iter()
            .map(|t| &text[t.start as usize..t.end as usize])
            .collect();
        let norm = normalize::normalize(s);
        let want: Vec<&[u8]> = norm
            .split(|b| !b.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        assert_eq!(got, want, "{s}");
    }
}
