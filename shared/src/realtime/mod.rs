//! Live updates over WebSockets: who gets which frame after each write, and the socket protocol
//! (`socket`: `$connect`, `$default` with `ping` and `resume`, `$disconnect`).
//!
//! The writers — the HTTP handlers after a message, a read or a status change, the moderation
//! worker after a decision — call [`publish`] once their write is stored. It looks up the
//! connections of each side allowed to see the change (one Query per side, through
//! [`crate::store::ConnectionStore`]), builds one frame per side and posts it to each connection
//! through the [`Pusher`] port. The audience is the HTTP API's visibility rule
//! (`Message::visible_to`, `Conversation::visible_to`), so a frame never shows what a `GET` would
//! not: a message waiting for moderation goes to its sender only, the other side gets it once
//! approved, a rejected one goes back to its sender with its block rules.
//!
//! Pushing never fails nor holds up the write it follows: in Lambda it runs after the write,
//! within a budget ([`Live::with_budget`], 250 ms by default: a Lambda's background work is
//! frozen once it answers); the local stack hands it to one background task
//! ([`Live::detached`]) that pushes in the order the writes happened. Every failure is logged and
//! counted (`PushFailed`), never returned. A client that missed a frame loses nothing: every frame and
//! every `resume` answer carries the messages cursor (`api::paging::settled_cursor`), and
//! `resume` replays everything the viewer may see after it.

pub mod push;
pub mod socket;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

pub use push::{ApiGatewayPusher, LocalSockets, Outgoing, Posted, Pusher};

use crate::api::paging::{encode_cursor, settled_cursor};
use crate::clock::Millis;
use crate::domain::model::{Connection, Conversation, Message, ModerationStatus, Side, Viewer};
use crate::domain::view;
use crate::error::{Error, Result};
use crate::store::{PageRequest, Store};

/// How many of the newest messages a push reads to compute its frames' cursor.
const TAIL: usize = 50;

/// The push side of the stack: off (no WebSocket API configured), API Gateway, or the local
/// stack's own sockets.
#[derive(Clone)]
pub struct Live {
    pusher: Option<Arc<dyn Pusher>>,
    sockets: Option<Arc<LocalSockets>>,
    budget: Duration,
    detached: Option<tokio::sync::mpsc::Sender<Job>>,
}

/// A push handed to the background task of a [`Live::detached`].
struct Job {
    store: Arc<dyn Store>,
    now: Millis,
    conv: Conversation,
    change: OwnedChange,
}

/// How many pushes may wait for the background task before new ones are dropped (and counted).
const BACKLOG: usize = 4096;

/// How long a detached push may take before it is given up.
const DETACHED_BUDGET: Duration = Duration::from_secs(10);

impl Default for Live {
    fn default() -> Self {
        Live::off()
    }
}

impl Live {
    /// Nothing is pushed (and no connection is looked up).
    pub fn off() -> Live {
        Live {
            pusher: None,
            sockets: None,
            budget: Duration::from_millis(250),
            detached: None,
        }
    }

    /// Pushes through `pusher` (API Gateway's `PostToConnection` in AWS).
    pub fn with(pusher: Arc<dyn Pusher>) -> Live {
        Live {
            pusher: Some(pusher),
            ..Live::off()
        }
    }

    /// Pushes to the local stack's own sockets.
    pub fn local(sockets: Arc<LocalSockets>) -> Live {
        Live {
            pusher: Some(sockets.clone()),
            sockets: Some(sockets),
            ..Live::off()
        }
    }

    /// The longest a push may add to the write it follows.
    pub fn with_budget(self, budget: Duration) -> Live {
        Live { budget, ..self }
    }

    /// Pushes from one background task, in the order of the writes, so a write never waits for
    /// its push. Only for a long-lived process (the local stack): a Lambda is frozen as soon as it
    /// answers. Must be called within a Tokio runtime.
    pub fn detached(self) -> Live {
        let Some(pusher) = self.pusher.clone() else {
            return self;
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Job>(BACKLOG);
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                let work = fan_out(
                    job.store.as_ref(),
                    pusher.as_ref(),
                    job.now,
                    &job.conv,
                    job.change.borrow(),
                );
                settle(&job.conv, tokio::time::timeout(DETACHED_BUDGET, work).await);
            }
        });
        Live {
            detached: Some(tx),
            ..self
        }
    }

    pub fn is_on(&self) -> bool {
        self.pusher.is_some()
    }

    pub fn pusher(&self) -> Option<&Arc<dyn Pusher>> {
        self.pusher.as_ref()
    }

    /// The local stack's sockets, when this is the local stack.
    pub fn sockets(&self) -> Option<&Arc<LocalSockets>> {
        self.sockets.as_ref()
    }
}

/// What was just written.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// A new message, waiting for moderation: its sender's other tabs and devices see it.
    Written(&'a Message),
    /// Moderation decided a message: approved, both sides (`message.created` for its recipient,
    /// `message.decided` for its sender); rejected, its sender only.
    Decided(&'a Message),
    /// `side` read the conversation (its unread count went to zero).
    Read(Side),
    /// The seller closed or reopened the conversation.
    Status,
}

/// A [`Change`] that owns its message, to outlive the write that made it.
enum OwnedChange {
    Written(Message),
    Decided(Message),
    Read(Side),
    Status,
}

impl OwnedChange {
    fn of(change: Change<'_>) -> OwnedChange {
        match change {
            Change::Written(m) => OwnedChange::Written(m.clone()),
            Change::Decided(m) => OwnedChange::Decided(m.clone()),
            Change::Read(side) => OwnedChange::Read(side),
            Change::Status => OwnedChange::Status,
        }
    }

    fn borrow(&self) -> Change<'_> {
        match self {
            OwnedChange::Written(m) => Change::Written(m),
            OwnedChange::Decided(m) => Change::Decided(m),
            OwnedChange::Read(side) => Change::Read(*side),
            OwnedChange::Status => Change::Status,
        }
    }
}

impl Change<'_> {
    /// The sides allowed to see this change, by the HTTP API's rules.
    fn audience(&self, conv: &Conversation) -> Vec<Side> {
        let seller_sees = conv.visible_to(Side::Seller);
        match self {
            Change::Written(m) => vec![m.sender],
            Change::Decided(m) if m.moderation.status == ModerationStatus::Approved => {
                let mut sides = vec![m.sender];
                if m.sender == Side::Seller || seller_sees {
                    sides.push(m.sender.other());
                }
                sides
            }
            Change::Decided(m) => vec![m.sender],
            Change::Read(_) | Change::Status => {
                let mut sides = vec![Side::Customer];
                if seller_sees {
                    sides.push(Side::Seller);
                }
                sides
            }
        }
    }

    fn message(&self) -> Option<&Message> {
        match self {
            Change::Written(m) | Change::Decided(m) => Some(m),
            Change::Read(_) | Change::Status => None,
        }
    }

    /// The frame's `type` as `side` sees it.
    fn kind(&self, conv: &Conversation, side: Side) -> &'static str {
        match self {
            Change::Written(_) => "message.created",
            Change::Decided(m) if m.sender == side => "message.decided",
            Change::Decided(_) => "message.created",
            Change::Read(_) => "message.read",
            Change::Status if conv.status == crate::domain::model::ConversationStatus::Closed => {
                "conversation.closed"
            }
            Change::Status => "conversation.updated",
        }
    }
}

/// The viewer's unread count in `conv`: approved messages of the other side not yet read.
pub fn unread_count(conv: &Conversation, side: Side) -> i64 {
    match side {
        Side::Customer => conv.unread_from_count,
        Side::Seller => conv.unread_to_count,
    }
}

/// One server → client frame about `conv`, as `side` sees it.
pub fn frame(
    kind: &str,
    conv: &Conversation,
    msg: Option<&Message>,
    side: Side,
    cursor: Option<&str>,
) -> Result<Value> {
    let mut f = json!({
        "type": kind,
        "conversation": serde_json::to_value(view::conversation(conv)).map_err(Error::unexpected)?,
        "unread_count": unread_count(conv, side),
        "cursor": cursor.map(encode_cursor),
    });
    if let Some(m) = msg {
        f["message"] = serde_json::to_value(view::message(conv, m)).map_err(Error::unexpected)?;
    }
    Ok(f)
}

/// Pushes `change` of `conv` to every connection allowed to see it. Never fails and never takes
/// longer than the budget (a detached `Live` only queues it): failures are logged and counted.
pub async fn publish(
    store: &Arc<dyn Store>,
    live: &Live,
    now: Millis,
    conv: &Conversation,
    change: Change<'_>,
) {
    let Some(pusher) = live.pusher() else {
        return;
    };
    if let Some(tx) = &live.detached {
        let job = Job {
            store: store.clone(),
            now,
            conv: conv.clone(),
            change: OwnedChange::of(change),
        };
        if tx.try_send(job).is_err() {
            tracing::warn!(conversation_id = %conv.id, "push backlog full: push dropped");
            crate::metrics::count("PushFailed", ("Stage", "backlog"), 1);
        }
        return;
    }
    let work = fan_out(store.as_ref(), pusher.as_ref(), now, conv, change);
    settle(conv, tokio::time::timeout(live.budget, work).await);
}

/// Logs and counts what went wrong with one push.
fn settle(
    conv: &Conversation,
    outcome: std::result::Result<Result<()>, tokio::time::error::Elapsed>,
) {
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(conversation_id = %conv.id, error = %crate::http::ErrorChain(&e), "push failed");
            crate::metrics::count("PushFailed", ("Stage", "lookup"), 1);
        }
        Err(_) => {
            tracing::warn!(conversation_id = %conv.id, "push ran out of its budget");
            crate::metrics::count("PushFailed", ("Stage", "budget"), 1);
        }
    }
}

async fn fan_out(
    store: &dyn Store,
    pusher: &dyn Pusher,
    now: Millis,
    conv: &Conversation,
    change: Change<'_>,
) -> Result<()> {
    for side in change.audience(conv) {
        let viewer = Viewer::of(conv, side);
        let conns = store.connections_of(&conv.account, &viewer, now).await?;
        if conns.is_empty() {
            continue;
        }
        let tail = store
            .list_messages(
                &conv.account,
                &conv.id,
                side,
                &PageRequest {
                    limit: TAIL,
                    after: None,
                    skip: 0,
                    backward: true,
                },
            )
            .await?;
        let cursor = settled_cursor(&tail.items, None, now);
        let body = frame(
            change.kind(conv, side),
            conv,
            change.message(),
            side,
            cursor,
        )?;
        let body = body.to_string();
        let posts = conns.iter().map(|c| deliver(store, pusher, now, c, &body));
        for (c, r) in conns
            .iter()
            .zip(futures_util::future::join_all(posts).await)
        {
            if let Err(e) = r {
                tracing::warn!(connection_id = %c.id, error = %crate::http::ErrorChain(&e), "frame not delivered");
                crate::metrics::count("PushFailed", ("Stage", "post"), 1);
            }
        }
    }
    Ok(())
}

/// One frame to one connection: checked first when it is an impersonation, forgotten when gone.
pub(crate) async fn deliver(
    store: &dyn Store,
    pusher: &dyn Pusher,
    now: Millis,
    conn: &Connection,
    body: &str,
) -> Result<Posted> {
    if !still_holds(store, conn, now).await? {
        end(store, pusher, &conn.id).await?;
        return Ok(Posted::Gone);
    }
    let posted = pusher.post(&conn.id, body).await?;
    if posted == Posted::Gone {
        store.delete_connection(&conn.id).await?;
        crate::metrics::count("ConnectionsGone", ("Reason", "gone"), 1);
    }
    Ok(posted)
}

/// Closes a connection from the server's side and forgets it.
pub(crate) async fn end(store: &dyn Store, pusher: &dyn Pusher, id: &str) -> Result<()> {
    pusher.close(id).await?;
    store.delete_connection(id).await?;
    crate::metrics::count("ConnectionsGone", ("Reason", "revoked"), 1);
    Ok(())
}

/// A connection made through an impersonated session holds while that session still
/// impersonates the same customer (the operator stopping or switching ends it); every other
/// connection until `valid_until` (checked by the store's reads).
async fn still_holds(store: &dyn Store, conn: &Connection, now: Millis) -> Result<bool> {
    let Some(sid) = &conn.session_id else {
        return Ok(true);
    };
    let Viewer::Customer(customer) = &conn.viewer else {
        return Ok(false);
    };
    let session = store.get_session(sid, now).await?;
    Ok(session.is_some_and(|s| {
        s.account == conn.account
            && s.impersonation
                .as_ref()
                .is_some_and(|i| &i.customer_id == customer)
    }))
}
