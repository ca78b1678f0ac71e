//! Parse-at-the-edge: request bodies and query strings become validated values here, so invalid
//! data never reaches the store. Every rule reports the field it failed on.

use serde::Deserialize;

use crate::domain::model::{ConversationStatus, CustomField, Owner, Tag};
use crate::error::{Error, FieldError};

pub const CONTENT_MAX_CHARS: usize = 2200;
pub const CUSTOM_FIELD_NAME_MAX: usize = 100;
pub const CUSTOM_FIELD_VALUE_MAX: usize = 1500;
pub const CUSTOM_FIELDS_MAX: usize = 20;
pub const ATTACHMENTS_MAX: usize = 10;
pub const URL_MAX: usize = 2048;
pub const EXTERNAL_ID_MAX: usize = 128;
pub const NAME_MAX: usize = 200;
pub const DISPLAY_NAME_MAX: usize = 200;
pub const TAG_VALUE_MAX: usize = 1500;
pub const PAGE_LIMIT_DEFAULT: usize = 10;
pub const PAGE_LIMIT_MAX: usize = 100;
/// Offsets without a cursor are read through; past this, follow `links.next` (a cursor).
pub const OFFSET_MAX: usize = 1000;

/// Collects every field error of one input before failing, so a client fixes all at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn add(&mut self, field: impl Into<String>, code: &'static str, msg: impl Into<String>) {
        self.0.push(FieldError::new(field, code, msg));
    }
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    pub fn finish<T>(self, value: T) -> Result<T, Error> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(Error::Validation(self.0))
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A lowercase e-mail address with a plausible shape (RFC 5321 lengths, dotted domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, String> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err("e-mail is required".into());
        }
        if s.len() > 254 {
            return Err("e-mail is longer than 254 characters".into());
        }
        let (local, domain) = s
            .split_once('@')
            .ok_or_else(|| "e-mail has no @".to_string())?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if local_ok && domain_ok {
            Ok(Email(s))
        } else {
            Err(format!(
                "'{}' is not a valid e-mail address",
                truncate(raw, 80)
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Plain text a person typed: no NUL or other C0 controls but tab and line breaks.
fn has_bad_controls(s: &str) -> bool {
    s.chars()
        .any(|c| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || c == '\u{FFFE}')
}

pub fn check_text(
    p: &mut Problems,
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> Option<String> {
    let n = char_len(value);
    if min > 0 && value.trim().is_empty() {
        p.add(field, "REQUIRED", format!("{field} must not be blank"));
        None
    } else if n > max {
        p.push(
            FieldError::new(
                field,
                "TOO_LONG",
                format!("{field} is longer than {max} characters"),
            )
            .with_context(serde_json::json!({"maxLength": max, "length": n})),
        );
        None
    } else if has_bad_controls(value) {
        p.add(
            field,
            "INVALID_CHARACTERS",
            format!("{field} contains control characters"),
        );
        None
    } else {
        Some(value.to_owned())
    }
}

/// A required text field: REQUIRED when absent, otherwise [`check_text`].
pub fn required_text(
    p: &mut Problems,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    match value {
        Some(v) => check_text(p, field, v, 1, max),
        None => {
            p.add(field, "REQUIRED", format!("{field} is required"));
            None
        }
    }
}

pub fn check_https_url(p: &mut Problems, field: &str, value: &str) -> Option<String> {
    let rest = match value.strip_prefix("https://") {
        Some(r) => r,
        None => {
            p.add(
                field,
                "INVALID_URL",
                format!("{field} must be an https:// URL"),
            );
            return None;
        }
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if value.len() > URL_MAX
        || host.is_empty()
        || host.contains('@')
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        p.add(
            field,
            "INVALID_URL",
            format!("{field} must be an https:// URL"),
        );
        return None;
    }
    Some(value.to_owned())
}

#[derive(Debug, Deserialize)]
pub struct OwnerBody {
    pub name: Option<String>,
    pub external_id: Option<String>,
}

/// `{name, value}` as sent: custom fields and tags.
#[derive(Debug, Deserialize)]
pub struct NameValueBody {
    pub name: Option<String>,
    pub value: Option<String>,
}

pub type CustomFieldBody = NameValueBody;
pub type TagBody = NameValueBody;

/// `POST …/messages` as sent.
#[derive(Debug, Deserialize)]
pub struct PostMessageBody {
    pub content: Option<String>,
    pub external_id: Option<String>,
    pub owner: Option<OwnerBody>,
    pub attachments: Option<Vec<String>>,
    pub custom_fields: Option<Vec<CustomFieldBody>>,
}

/// `POST /v0/customer/conversations` as sent.
#[derive(Debug, Deserialize)]
pub struct OpenConversationBody {
    pub seller_id: Option<String>,
    pub display_name: Option<String>,
    pub tags: Option<Vec<TagBody>>,
    pub content: Option<String>,
    pub external_id: Option<String>,
    pub attachments: Option<Vec<String>>,
    pub custom_fields: Option<Vec<CustomFieldBody>>,
}

/// `PATCH /v0/conversations/{id}` as sent.
#[derive(Debug, Deserialize)]
pub struct PatchConversationBody {
    pub status: Option<String>,
}

/// A message's payload, valid.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub content: String,
    pub external_id: Option<String>,
    pub owner: Option<Owner>,
    pub attachments: Vec<String>,
    pub custom_fields: Vec<CustomField>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OpenConversation {
    pub seller_id: String,
    pub display_name: Option<String>,
    pub product_id: String,
    pub tags: Vec<Tag>,
    pub message: NewMessage,
}

fn check_message_parts(
    p: &mut Problems,
    content: Option<&str>,
    external_id: Option<&str>,
    attachments: Option<&[String]>,
    custom_fields: Option<&[CustomFieldBody]>,
) -> Option<NewMessage> {
    let content = required_text(p, "content", content, CONTENT_MAX_CHARS);
    let external_id = external_id.and_then(|e| check_text(p, "external_id", e, 1, EXTERNAL_ID_MAX));
    let attachments = attachments.unwrap_or_default();
    if attachments.len() > ATTACHMENTS_MAX {
        p.push(
            FieldError::new(
                "attachments",
                "TOO_MANY",
                format!("at most {ATTACHMENTS_MAX} attachments"),
            )
            .with_context(serde_json::json!({"max": ATTACHMENTS_MAX})),
        );
    }
    let attachments: Vec<String> = attachments
        .iter()
        .enumerate()
        .filter_map(|(i, u)| check_https_url(p, &format!("attachments[{i}]"), u))
        .collect();
    let custom_fields = custom_fields.unwrap_or_default();
    if custom_fields.len() > CUSTOM_FIELDS_MAX {
        p.add(
            "custom_fields",
            "TOO_MANY",
            format!("at most {CUSTOM_FIELDS_MAX} custom fields"),
        );
    }
    let mut fields = Vec::new();
    for (i, f) in custom_fields.iter().enumerate() {
        let name = required_text(
            p,
            &format!("custom_fields[{i}].name"),
            f.name.as_deref(),
            CUSTOM_FIELD_NAME_MAX,
        );
        let value = check_text(
            p,
            &format!("custom_fields[{i}].value"),
            f.value.as_deref().unwrap_or(""),
            0,
            CUSTOM_FIELD_VALUE_MAX,
        );
        if let (Some(name), Some(value)) = (name, value) {
            fields.push(CustomField { name, value });
        }
    }
    Some(NewMessage {
        content: content?,
        external_id,
        owner: None,
        attachments,
        custom_fields: fields,
    })
}

impl PostMessageBody {
    /// `owner_required`: sellers must say who wrote (seed `User.owner`); customers may not.
    pub fn validate(self, owner_required: bool) -> Result<NewMessage, Error> {
        let mut p = Problems::default();
        let msg = check_message_parts(
            &mut p,
            self.content.as_deref(),
            self.external_id.as_deref(),
            self.attachments.as_deref(),
            self.custom_fields.as_deref(),
        );
        let owner = match (self.owner, owner_required) {
            (Some(o), true) => check_owner(&mut p, o),
            (None, true) => {
                p.add("owner", "REQUIRED", "owner {name, external_id} is required");
                None
            }
            (_, false) => None,
        };
        let msg = msg.map(|m| NewMessage { owner, ..m });
        p.finish(())?;
        msg.ok_or_else(|| Error::validation("body", "INVALID", "invalid message"))
    }
}

fn check_owner(p: &mut Problems, o: OwnerBody) -> Option<Owner> {
    let name = required_text(p, "owner.name", o.name.as_deref(), NAME_MAX);
    let external_id = required_text(
        p,
        "owner.external_id",
        o.external_id.as_deref(),
        EXTERNAL_ID_MAX,
    );
    Some(Owner {
        name: name?,
        external_id: external_id?,
    })
}

/// The product tags a conversation may carry; `productId` is required.
pub const PRODUCT_TAGS: [&str; 4] = ["productId", "productTitle", "productImage", "productUrl"];

impl OpenConversationBody {
    pub fn validate(self) -> Result<OpenConversation, Error> {
        let mut p = Problems::default();
        let seller_id = required_text(
            &mut p,
            "seller_id",
            self.seller_id.as_deref(),
            EXTERNAL_ID_MAX,
        );
        let display_name = self
            .display_name
            .as_deref()
            .and_then(|d| check_text(&mut p, "display_name", d, 1, DISPLAY_NAME_MAX));
        let mut tags: Vec<Tag> = Vec::new();
        for (i, t) in self.tags.unwrap_or_default().into_iter().enumerate() {
            let field = format!("tags[{i}]");
            let Some(name) = t.name else {
                p.add(format!("{field}.name"), "REQUIRED", "tag name is required");
                continue;
            };
            if !PRODUCT_TAGS.contains(&name.as_str()) {
                p.push(
                    FieldError::new(
                        format!("{field}.name"),
                        "INVALID_ENUM",
                        format!("unknown tag '{}'", truncate(&name, 40)),
                    )
                    .with_context(serde_json::json!({"allowed": PRODUCT_TAGS})),
                );
                continue;
            }
            if tags.iter().any(|t| t.name == name) {
                p.add(
                    format!("{field}.name"),
                    "DUPLICATE",
                    format!("tag {name} is repeated"),
                );
                continue;
            }
            let vfield = format!("{field}.value");
            let raw = t.value.unwrap_or_default();
            let value = match name.as_str() {
                "productImage" | "productUrl" => check_https_url(&mut p, &vfield, &raw),
                "productId" => check_text(&mut p, &vfield, &raw, 1, EXTERNAL_ID_MAX),
                _ => check_text(&mut p, &vfield, &raw, 1, TAG_VALUE_MAX),
            };
            if let Some(value) = value {
                tags.push(Tag { name, value });
            }
        }
        let product_id = tags
            .iter()
            .find(|t| t.name == "productId")
            .map(|t| t.value.clone());
        if product_id.is_none() && p.is_empty() {
            p.add("tags", "REQUIRED", "a productId tag is required");
        }
        let msg = check_message_parts(
            &mut p,
            self.content.as_deref(),
            self.external_id.as_deref(),
            self.attachments.as_deref(),
            self.custom_fields.as_deref(),
        );
        p.finish(())?;
        match (seller_id, product_id, msg) {
            (Some(seller_id), Some(product_id), Some(message)) => Ok(OpenConversation {
                seller_id,
                display_name,
                product_id,
                tags,
                message,
            }),
            _ => Err(Error::validation("body", "INVALID", "invalid conversation")),
        }
    }
}

impl PatchConversationBody {
    pub fn validate(self) -> Result<ConversationStatus, Error> {
        match self.status.as_deref() {
            Some("OPENED") => Ok(ConversationStatus::Opened),
            Some("CLOSED") => Ok(ConversationStatus::Closed),
            Some(other) => Err(Error::Validation(vec![FieldError::new(
                "status",
                "INVALID_ENUM",
                format!("status '{}' is not OPENED or CLOSED", truncate(other, 40)),
            )
            .with_context(serde_json::json!({"allowed": ["OPENED", "CLOSED"]}))])),
            None => Err(Error::validation(
                "status",
                "REQUIRED",
                "status is required",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Gob@Bluth.COM ").unwrap().as_str(),
            "gob@bluth.com"
        );
        for bad in [
            "",
            "gob",
            "gob@",
            "@bluth.com",
            "gob@bluth",
            "g ob@bluth.com",
            "gob@bluth.c0m",
            "a..b@x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    fn body(content: &str) -> PostMessageBody {
        PostMessageBody {
            content: Some(content.into()),
            external_id: None,
            owner: Some(OwnerBody {
                name: Some("Ana".into()),
                external_id: Some("u1".into()),
            }),
            attachments: None,
            custom_fields: None,
        }
    }

    #[test]
    fn content_is_1_to_2200_characters_and_not_blank() {
        assert!(body("oi").validate(true).is_ok());
        assert!(body(&"ã".repeat(2200)).validate(true).is_ok());
        assert!(body(&"a".repeat(2201)).validate(true).is_err());
        assert!(body("  \n ").validate(true).is_err());
        assert!(body("").validate(true).is_err());
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let b = PostMessageBody {
            content: None,
            external_id: Some("x".repeat(200)),
            owner: None,
            attachments: Some(vec!["http://insecure.example/a.png".into()]),
            custom_fields: Some(vec![CustomFieldBody {
                name: Some("n".repeat(101)),
                value: Some("v".repeat(1501)),
            }]),
        };
        let Err(Error::Validation(list)) = b.validate(true) else {
            panic!("expected a validation error")
        };
        let fields: Vec<&str> = list.iter().map(|f| f.field.as_str()).collect();
        for f in [
            "content",
            "external_id",
            "attachments[0]",
            "custom_fields[0].name",
            "custom_fields[0].value",
            "owner",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn attachments_are_https_and_at_most_ten() {
        let mut b = body("ok");
        b.attachments = Some(vec!["https://cdn.example/a.png".into(); 11]);
        assert!(b.validate(true).is_err());
        let mut b = body("ok");
        b.attachments = Some(vec!["https://cdn.example/a.png".into(); 10]);
        assert_eq!(b.validate(true).unwrap().attachments.len(), 10);
        for bad in [
            "https://",
            "https://user@host/x",
            "https://a b/c",
            "ftp://x/y",
        ] {
            let mut b = body("ok");
            b.attachments = Some(vec![bad.into()]);
            assert!(b.validate(true).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_conversation_needs_a_product_id() {
        let b = OpenConversationBody {
            seller_id: Some("s1".into()),
            display_name: None,
            tags: Some(vec![TagBody {
                name: Some("productTitle".into()),
                value: Some("Geladeira".into()),
            }]),
            content: Some("Tem em azul?".into()),
            external_id: None,
            attachments: None,
            custom_fields: None,
        };
        assert!(b.validate().is_err());
    }

    #[test]
    fn status_must_be_known() {
        let ok = PatchConversationBody {
            status: Some("CLOSED".into()),
        };
        assert_eq!(ok.validate().unwrap(), ConversationStatus::Closed);
        let bad = PatchConversationBody {
            status: Some("closed".into()),
        };
        assert!(bad.validate().is_err());
    }
}
