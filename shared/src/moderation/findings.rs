//! What the rules found: the seven kinds of finding, the set of them in one text, and the
//! per-field findings of one message that become its block rules.

use crate::domain::model::BlockRule;

/// Kinds of finding, in the order their rules are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Cpf,
    Cnpj,
    Pix,
    Email,
    Phone,
    Link,
    Offensive,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Cpf,
        Kind::Cnpj,
        Kind::Pix,
        Kind::Email,
        Kind::Phone,
        Kind::Link,
        Kind::Offensive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Cpf => "CPF",
            Kind::Cnpj => "CNPJ",
            Kind::Pix => "PIX",
            Kind::Email => "EMAIL",
            Kind::Phone => "PHONE",
            Kind::Link => "LINK",
            Kind::Offensive => "OFFENSIVE",
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Kind::Cpf => "A mensagem contém um CPF",
            Kind::Cnpj => "A mensagem contém um CNPJ",
            Kind::Pix => "A mensagem contém uma chave PIX",
            Kind::Email => "A mensagem contém um endereço de e-mail",
            Kind::Phone => "A mensagem contém um número de telefone",
            Kind::Link => "A mensagem contém um link externo",
            Kind::Offensive => "A mensagem contém linguagem ofensiva",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The set of kinds found in one message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Findings(u8);

impl Findings {
    pub fn add(&mut self, t: Kind) {
        self.0 |= t.bit();
    }
    /// Adds every kind found in `other`.
    #[inline]
    pub fn extend(&mut self, other: Findings) {
        self.0 |= other.0;
    }
    pub fn has(self, t: Kind) -> bool {
        self.0 & t.bit() != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn kinds(self) -> impl Iterator<Item = Kind> {
        Kind::ALL.into_iter().filter(move |t| self.has(*t))
    }
    pub fn block_rules(self) -> Vec<BlockRule> {
        self.kinds()
            .map(|t| BlockRule {
                reason: t.reason().to_owned(),
                tags: vec![t.as_str().to_owned()],
                fields: Vec::new(),
            })
            .collect()
    }
}

/// The findings of one message over all its fields: one decision, with each kind's block rule
/// naming the fields that tripped it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldFindings {
    all: Findings,
    /// (kind, field), in the order found.
    at: Vec<(Kind, String)>,
}

impl FieldFindings {
    pub fn add(&mut self, field: &str, found: Findings) {
        self.all.extend(found);
        for t in found.kinds() {
            self.at.push((t, field.to_owned()));
        }
    }
    pub fn all(&self) -> Findings {
        self.all
    }
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }
    /// One rule per kind, in the kinds' order, each with its fields in the order checked.
    pub fn block_rules(&self) -> Vec<BlockRule> {
        self.all
            .kinds()
            .map(|t| BlockRule {
                reason: t.reason().to_owned(),
                tags: vec![t.as_str().to_owned()],
                fields: self
                    .at
                    .iter()
                    .filter(|(k, _)| *k == t)
                    .map(|(_, f)| f.clone())
                    .collect(),
            })
            .collect()
    }
}
