//! The reads both sides share: lists of conversations and of messages (paging, cursors, the
//! visibility filter), one message, and marking a conversation read.

use super::*;
use crate::domain::model::MessageKey;

fn conversation_key_shape(k: &str) -> bool {
    match k.split_once('#') {
        Some((t, id)) => t.len() == 15 && t.bytes().all(|b| b.is_ascii_digit()) && is_id(id),
        None => false,
    }
}

pub(super) async fn list_conversations(
    app: &App,
    req: &Request,
    q: &Query,
    account: &str,
    viewer: Viewer,
) -> Result<Reply> {
    let page = PageParams::parse(q, conversation_key_shape)?;
    let mut p = Problems::default();
    let status = match q.get("status") {
        None => None,
        Some("OPENED") => Some(ConversationStatus::Opened),
        Some("CLOSED") => Some(ConversationStatus::Closed),
        Some(_) => {
            p.add("status", "INVALID_ENUM", "status must be OPENED or CLOSED");
            None
        }
    };
    let from_user_ref_key = q
        .get("from_user_ref_key")
        .and_then(|r| check_text(&mut p, "from_user_ref_key", r, 1, EXTERNAL_ID_MAX));
    let mut time = |name: &str| {
        q.get(name).and_then(|raw| {
            let t = parse_rfc3339(raw);
            if t.is_none() {
                p.add(
                    name,
                    "INVALID_DATE",
                    format!("{name} must be an ISO-8601 timestamp"),
                );
            }
            t
        })
    };
    let start = time("last_interaction_at_start");
    let end = time("last_interaction_at_end");
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            p.add(
                "last_interaction_at_end",
                "INVALID_RANGE",
                "the end is before the start",
            );
        }
    }
    let ascending = match q.get("_sort") {
        None | Some("last_interaction_at:desc") | Some("-last_interaction_at") => false,
        Some("last_interaction_at:asc") | Some("last_interaction_at") => true,
        Some(_) => {
            p.add(
                "_sort",
                "INVALID_ENUM",
                "_sort must be last_interaction_at:asc or last_interaction_at:desc",
            );
            false
        }
    };
    p.finish(())?;
    let filter = ConversationFilter {
        viewer: viewer.clone(),
        status,
        from_user_ref_key,
        start,
        end,
        ascending,
    };
    let got = app
        .store
        .list_conversations(account, &filter, &page.request())
        .await?;
    let key = |c: &Conversation| list_sort_key(c, &viewer);
    let (first, last) = page_edges(
        &page,
        got.resume_after.clone(),
        got.items.first().and_then(key),
        got.items.last().and_then(key),
    );
    let results: Vec<Value> = got
        .items
        .iter()
        .map(|c| serde_json::to_value(view::conversation(c)).map_err(Error::unexpected))
        .collect::<Result<_>>()?;
    Reply::ok(&envelope(
        req.uri().path(),
        q,
        &page,
        results,
        got.more,
        first,
        last,
    ))
}

/// The keys the page's links continue from: its first and last items, or — when the store
/// stopped at its bound of items evaluated — the key where it stopped, in the direction read.
fn page_edges(
    page: &PageParams,
    resume_after: Option<String>,
    first: Option<String>,
    last: Option<String>,
) -> (Option<String>, Option<String>) {
    match resume_after {
        Some(k) if page.before.is_some() => (Some(k), last.or_else(|| page.before.clone())),
        Some(k) => (first.or_else(|| page.after.clone()), Some(k)),
        None => (first, last),
    }
}

pub(super) async fn list_messages(
    app: &App,
    req: &Request,
    conv: &Conversation,
    side: Side,
) -> Result<Reply> {
    let q = Query::parse(query_pairs(req)?, &PAGING)?;
    let page = PageParams::parse(&q, is_id)?;
    let got = app
        .store
        .list_messages(&conv.account, &conv.id, side, &page.request())
        .await?;
    let (first, last) = page_edges(
        &page,
        got.resume_after.clone(),
        got.items.first().map(|m| m.id.clone()),
        got.items.last().map(|m| m.id.clone()),
    );
    let results: Vec<Value> = got
        .items
        .iter()
        .map(|m| serde_json::to_value(view::message(conv, m)).map_err(Error::unexpected))
        .collect::<Result<_>>()?;
    // Where a client polls or resumes from: past what is settled on this page (or where it
    // asked from), also when `links.next` is null because nothing came after yet.
    let cursor = settled_cursor(&got.items, page.after.as_deref(), app.clock.now_ms());
    let cursor = cursor.map(str::to_owned);
    let mut body = envelope(req.uri().path(), &q, &page, results, got.more, first, last);
    with_cursor(&mut body, cursor.as_deref());
    Reply::ok(&body)
}

pub(super) async fn get_message(
    app: &App,
    conv: &Conversation,
    id: &str,
    side: Side,
) -> Result<Reply> {
    if !is_id(id) {
        return Err(Error::NotFound("message".into()));
    }
    let msg = app
        .store
        .get_message(MessageKey {
            account: &conv.account,
            conversation: &conv.id,
            message: id,
        })
        .await?
        .filter(|m| m.visible_to(side))
        .ok_or_else(|| Error::NotFound("message".into()))?;
    Reply::ok(&view::message(conv, &msg))
}

pub(super) async fn mark_read(
    app: &App,
    req: &Request,
    conv: &Conversation,
    side: Side,
) -> Result<Reply> {
    optional_body_ok(req)?;
    let conv = app
        .store
        .mark_read(&conv.account, &conv.id, side, app.clock.now_ms())
        .await?
        .ok_or_else(not_found)?;
    live(app, &conv, crate::realtime::Change::Read(side)).await;
    Reply::ok(&view::conversation(&conv))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys;

    #[test]
    fn cursors_have_the_shape_of_the_sort_keys() {
        assert!(conversation_key_shape(&keys::interaction_sort_key(
            0,
            "01ARZ3NDEKTSV4RRFFQ69G5FAV"
        )));
        assert!(!conversation_key_shape("12#01ARZ3NDEKTSV4RRFFQ69G5FAV"));
        assert!(!conversation_key_shape("000000000000000#nope"));
    }
}
