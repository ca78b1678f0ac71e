//! Check digits of the Brazilian documents.

pub fn cpf_valid(d: &[u8]) -> bool {
    if d.len() != 11 || d.iter().all(|x| *x == d[0]) {
        return false;
    }
    let dv = |n: usize| {
        let s: u32 = (0..n)
            .map(|i| d[i] as u32 * (n as u32 + 1 - i as u32))
            .sum();
        ((s * 10) % 11 % 10) as u8
    };
    dv(9) == d[9] && dv(10) == d[10]
}

fn cnpj_dv(v: &[u32]) -> u32 {
    const W: [u32; 13] = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
    let w = &W[13 - v.len()..];
    let s: u32 = v.iter().zip(w).map(|(a, b)| a * b).sum();
    let r = s % 11;
    if r < 2 {
        0
    } else {
        11 - r
    }
}

/// Numeric CNPJ given as digit values.
pub fn cnpj_valid_digits(d: &[u8]) -> bool {
    if d.len() != 14 || d.iter().all(|x| *x == d[0]) {
        return false;
    }
    let v: Vec<u32> = d.iter().map(|x| *x as u32).collect();
    cnpj_dv(&v[..12]) == v[12] && cnpj_dv(&v[..13]) == v[13]
}

/// Alphanumeric CNPJ given as characters: each worth its ASCII code minus 48.
pub fn cnpj_valid_alnum(chars: &[u8]) -> bool {
    if chars.len() != 14 {
        return false;
    }
    let v: Vec<u32> = chars
        .iter()
        .map(|c| c.to_ascii_uppercase() as u32 - 48)
        .collect();
    cnpj_dv(&v[..12]) == v[12] && cnpj_dv(&v[..13]) == v[13]
}
