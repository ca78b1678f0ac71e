//! The wire shapes of seed `002_…` (Conversation, Message, MinimalMessage, User, Owner…), rendered
//! from stored records for one viewer.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::clock::{serde_ms, Millis};
use crate::domain::model::{
    BlockRule, Conversation, CustomField, IdentifiedVia, LastMessage, Message, ModerationStatus,
    Owner, Side, Tag,
};

#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: String,
    pub external_id: String,
    pub full_name: String,
    pub full_name_normalized: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
}

#[derive(Debug, Serialize)]
pub struct MinimalMessageView {
    pub id: String,
    pub external_id: Option<String>,
    pub from_user: UserView,
    pub content: String,
    #[serde(with = "serde_ms")]
    pub when_at: Millis,
}

#[derive(Debug, Serialize)]
pub struct ModerationView {
    pub status: ModerationStatus,
    #[serde(with = "serde_ms::option")]
    pub when_at: Option<Millis>,
    pub block_rules: Vec<BlockRule>,
}

#[derive(Debug, Serialize)]
pub struct MessageView {
    pub id: String,
    pub external_id: Option<String>,
    pub from_user: UserView,
    pub to_user: UserView,
    pub content: String,
    pub attachments: Vec<String>,
    pub read_by: Vec<String>,
    pub moderation: ModerationView,
    #[serde(with = "serde_ms")]
    pub when_at: Millis,
    pub custom_fields: Vec<CustomField>,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct ConversationView {
    pub id: String,
    pub display_name: Option<String>,
    pub owner: Owner,
    pub from_user: UserView,
    pub to_user: UserView,
    pub unread_from_count: i64,
    pub unread_to_count: i64,
    pub status: &'static str,
    pub last_message: Option<MinimalMessageView>,
    pub is_new_to: bool,
    pub tags: Vec<Tag>,
    #[serde(with = "serde_ms")]
    pub created_at: Millis,
    #[serde(with = "serde_ms")]
    pub updated_at: Millis,
    #[serde(with = "serde_ms::option")]
    pub last_interaction_at: Option<Millis>,
    /// Extension: how the customer proved who they are (`VISITOR_IDENTIFICATION`, `IMPERSONATION`).
    pub identified_via: IdentifiedVia,
}

/// "Nome completo sem espaços e caracteres especiais": accents folded, lowercase, alphanumerics only.
pub fn normalize_name(name: &str) -> String {
    name.chars()
        .map(fold_accent)
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Latin-1 and Latin Extended-A letters used in Portuguese and Spanish names, to ASCII.
pub fn fold_accent(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' | 'Á' | 'À' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => 'i',
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'Ó' | 'Ò' | 'Ô' | 'Õ' | 'Ö' => 'o',
        'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ù' | 'Û' | 'Ü' => 'u',
        'ç' | 'Ç' => 'c',
        'ñ' | 'Ñ' => 'n',
        'ý' | 'ÿ' | 'Ý' => 'y',
        other => other,
    }
}

fn user(conv: &Conversation, side: Side, owner: Option<Owner>) -> UserView {
    let p = conv.party(side);
    UserView {
        id: p.id.clone(),
        external_id: p.external_id.clone(),
        full_name: p.full_name.clone(),
        full_name_normalized: normalize_name(&p.full_name),
        kind: side.as_str(),
        owner,
    }
}

fn minimal(conv: &Conversation, m: &LastMessage) -> MinimalMessageView {
    MinimalMessageView {
        id: m.id.clone(),
        external_id: m.external_id.clone(),
        from_user: user(conv, m.sender, m.owner.clone()),
        content: m.content.clone(),
        when_at: m.when_at,
    }
}

pub fn conversation(conv: &Conversation) -> ConversationView {
    ConversationView {
        id: conv.id.clone(),
        display_name: conv.display_name.clone(),
        owner: Owner {
            name: conv.seller.full_name.clone(),
            external_id: conv.seller.external_id.clone(),
        },
        from_user: user(conv, Side::Customer, None),
        to_user: user(conv, Side::Seller, None),
        unread_from_count: conv.unread_from_count,
        unread_to_count: conv.unread_to_count,
        status: conv.status.as_str(),
        last_message: conv.last_message.as_ref().map(|m| minimal(conv, m)),
        is_new_to: conv.is_new_to,
        tags: conv.tags.clone(),
        created_at: conv.created_at,
        updated_at: conv.updated_at,
        last_interaction_at: conv.last_interaction_at,
        identified_via: conv.identified_via,
    }
}

pub fn minimal_message(conv: &Conversation, msg: &Message) -> MinimalMessageView {
    minimal(conv, &msg.minimal())
}

pub fn message(conv: &Conversation, msg: &Message) -> MessageView {
    let recipient = msg.sender.other();
    let mut read_by = Vec::new();
    if let (Some(read_at), Some(approved_at)) = (conv.read_at(recipient), msg.moderation.when_at) {
        if msg.moderation.status == ModerationStatus::Approved && read_at >= approved_at {
            read_by.push(conv.party(recipient).id.clone());
        }
    }
    MessageView {
        id: msg.id.clone(),
        external_id: msg.external_id.clone(),
        from_user: user(conv, msg.sender, msg.owner.clone()),
        to_user: user(conv, recipient, None),
        content: msg.content.clone(),
        attachments: msg.attachments.clone(),
        read_by,
        moderation: ModerationView {
            status: msg.moderation.status,
            when_at: msg.moderation.when_at,
            block_rules: msg.moderation.block_rules.clone(),
        },
        when_at: msg.when_at,
        custom_fields: msg.custom_fields.clone(),
        metadata: msg.metadata.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_names_without_accents_spaces_or_symbols() {
        assert_eq!(normalize_name("João da Silva-Câmara"), "joaodasilvacamara");
        assert_eq!(normalize_name("ACME Ltda."), "acmeltda");
    }
}
