//! Query strings and the page envelope:
//! `{"meta":{"page":{limit,offset,max_limit,count},"links":{previous,next,self}},"results":[…]}`.
//!
//! `links.next`/`links.previous` carry an opaque cursor (`_after`/`_before`), so following them
//! costs reads in proportion to the page, whatever the offset. A bare `_offset` is read through and
//! is capped at [`OFFSET_MAX`].

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::clock::Millis;
use crate::domain::input::{OFFSET_MAX, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX};
use crate::domain::model::{Message, ModerationStatus};
use crate::error::{Error, FieldError, Result};
use crate::http::percent_encode;
use crate::store::PageRequest;

/// The query string, checked against the parameters a route knows.
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(pairs: Vec<(String, String)>, allowed: &[&str]) -> Result<Query> {
        let mut problems = Vec::new();
        for (i, (k, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&k.as_str()) {
                problems.push(
                    FieldError::new(
                        k.chars().take(60).collect::<String>(),
                        "UNKNOWN_PARAMETER",
                        "unknown query parameter",
                    )
                    .with_context(json!({"allowed": allowed})),
                );
            } else if pairs[..i].iter().any(|(k2, _)| k2 == k) {
                problems.push(FieldError::new(
                    k.clone(),
                    "DUPLICATE_PARAMETER",
                    "parameter given twice",
                ));
            }
        }
        if problems.is_empty() {
            Ok(Query { pairs })
        } else {
            Err(Error::Validation(problems))
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn number(&self, name: &str, min: usize, max: usize) -> Result<Option<usize>> {
        let Some(raw) = self.get(name) else {
            return Ok(None);
        };
        match raw.parse::<usize>() {
            Ok(v) if (min..=max).contains(&v) => Ok(Some(v)),
            _ => Err(Error::Validation(vec![FieldError::new(
                name,
                "OUT_OF_RANGE",
                format!("{name} must be a whole number from {min} to {max}"),
            )
            .with_context(json!({"min": min, "max": max}))])),
        }
    }

    /// The filters to carry into `links` (everything but the paging parameters).
    pub fn filters(&self) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .filter(|(k, _)| !PAGING.contains(&k.as_str()))
            .cloned()
            .collect()
    }
}

pub const PAGING: [&str; 4] = ["_offset", "_limit", "_after", "_before"];

#[derive(Debug, Clone)]
pub struct PageParams {
    pub limit: usize,
    pub offset: usize,
    pub after: Option<String>,
    pub before: Option<String>,
}

impl PageParams {
    /// `valid_key` says whether a decoded cursor has the shape of this list's sort keys.
    pub fn parse(q: &Query, valid_key: impl Fn(&str) -> bool) -> Result<PageParams> {
        let limit = q
            .number("_limit", 1, PAGE_LIMIT_MAX)?
            .unwrap_or(PAGE_LIMIT_DEFAULT);
        let cursor = |name: &str| -> Result<Option<String>> {
            let Some(raw) = q.get(name) else {
                return Ok(None);
            };
            decode_cursor(raw, &valid_key).map(Some).ok_or_else(|| {
                Error::validation(
                    name,
                    "INVALID_CURSOR",
                    format!("{name} is not a cursor this list issued"),
                )
            })
        };
        let after = cursor("_after")?;
        let before = cursor("_before")?;
        if after.is_some() && before.is_some() {
            return Err(Error::validation(
                "_before",
                "INVALID_CURSOR",
                "use _after or _before, not both",
            ));
        }
        // With a cursor the offset only labels the page; without one it is read through.
        let max_offset = if after.is_some() || before.is_some() {
            usize::MAX / 2
        } else {
            OFFSET_MAX
        };
        let offset = q.number("_offset", 0, max_offset)?.unwrap_or(0);
        Ok(PageParams {
            limit,
            offset,
            after,
            before,
        })
    }

    pub fn request(&self) -> PageRequest {
        match (&self.after, &self.before) {
            (Some(a), _) => PageRequest {
                limit: self.limit,
                after: Some(a.clone()),
                skip: 0,
                backward: false,
            },
            (None, Some(b)) => PageRequest {
                limit: self.limit,
                after: Some(b.clone()),
                skip: 0,
                backward: true,
            },
            (None, None) => PageRequest {
                limit: self.limit,
                after: None,
                skip: self.offset,
                backward: false,
            },
        }
    }
}

/// Sets `meta.cursor` of a page envelope: the opaque cursor after `key` (`null` without one).
pub fn with_cursor(envelope: &mut Value, key: Option<&str>) {
    if let Some(meta) = envelope.get_mut("meta").and_then(Value::as_object_mut) {
        meta.insert(
            "cursor".into(),
            key.map_or(Value::Null, |k| Value::String(encode_cursor(k))),
        );
    }
}

/// The opaque cursor of a sort key.
pub fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

/// The sort key a cursor stands for, when it is one this list issued (`valid_key`).
pub fn decode_cursor(raw: &str, valid_key: impl Fn(&str) -> bool) -> Option<String> {
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|k| valid_key(k))
}

/// How long after its last change (written, decided) a message counts as settled.
pub const SETTLE_MS: Millis = 5 * 60 * 1000;

/// The messages cursor a client may resume or poll from: after the last message of `items` (in
/// list order, as the viewer sees them) that is *settled* — decided, and neither written nor
/// decided in the last [`SETTLE_MS`] — and before the first one that is not; `start` (where the
/// page began) when the first one is not.
///
/// It never passes what could still change or still appear: a message waiting for moderation
/// (the sender's own, shown as pending, will be decided), one decided moments ago (its frame may
/// still be on its way), or a gap where another writer's message with a nearby id has not been
/// committed yet, nor (as ids follow time) a message hidden from the viewer that is still waiting
/// — unless it waited longer than [`SETTLE_MS`], which the sweeper prevents. So a client that
/// resumes from it misses nothing, and sees again at most the last few minutes (by id).
pub fn settled_cursor<'a>(
    items: impl IntoIterator<Item = &'a Message>,
    start: Option<&'a str>,
    now: Millis,
) -> Option<&'a str> {
    let mut cursor = start;
    for m in items {
        let changed = m.moderation.when_at.map_or(m.when_at, |d| d.max(m.when_at));
        if m.moderation.status == ModerationStatus::WaitingModeration || changed > now - SETTLE_MS {
            break;
        }
        cursor = Some(m.id.as_str());
    }
    cursor
}

fn link(path: &str, filters: &[(String, String)], extra: &[(&str, String)]) -> String {
    let mut parts: Vec<String> = filters
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    parts.extend(
        extra
            .iter()
            .map(|(k, v)| format!("{k}={}", percent_encode(v))),
    );
    if parts.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", parts.join("&"))
    }
}

/// Builds the page envelope. `first_key`/`last_key` are the sort keys of the first and last item.
#[allow(clippy::too_many_arguments)]
pub fn envelope(
    path: &str,
    q: &Query,
    p: &PageParams,
    results: Vec<Value>,
    more: bool,
    first_key: Option<String>,
    last_key: Option<String>,
) -> Value {
    let filters = q.filters();
    let count = results.len();
    let backward = p.before.is_some();
    let has_next = if backward { count > 0 } else { more };
    let has_previous = if backward {
        more
    } else {
        p.offset > 0 && count > 0
    };
    let limit = p.limit.to_string();
    let next = match (has_next, last_key) {
        (true, Some(k)) => Some(link(
            path,
            &filters,
            &[
                ("_offset", (p.offset + count).to_string()),
                ("_limit", limit.clone()),
                ("_after", encode_cursor(&k)),
            ],
        )),
        _ => None,
    };
    let previous = match (has_previous, first_key) {
        (true, Some(k)) => Some(link(
            path,
            &filters,
            &[
                ("_offset", p.offset.saturating_sub(p.limit).to_string()),
                ("_limit", limit.clone()),
                ("_before", encode_cursor(&k)),
            ],
        )),
        _ => None,
    };
    let mut self_extra = vec![("_offset", p.offset.to_string()), ("_limit", limit)];
    if let Some(a) = &p.after {
        self_extra.push(("_after", encode_cursor(a)));
    }
    if let Some(b) = &p.before {
        self_extra.push(("_before", encode_cursor(b)));
    }
    json!({
        "meta": {
            "page": {"limit": p.limit, "offset": p.offset, "max_limit": PAGE_LIMIT_MAX, "count": count},
            "links": {"previous": previous, "next": next, "self": link(path, &filters, &self_extra)},
        },
        "results": results,
    })
}
