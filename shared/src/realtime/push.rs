//! The push port: one frame to one open connection. API Gateway's `PostToConnection` in AWS;
//! the local stack's own sockets in-process (the same boundary, so everything above it runs the
//! same code in both).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::error::SdkError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use tokio::sync::mpsc;

use crate::error::Result;

/// What became of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    Sent,
    /// The connection is gone (API Gateway's `410 GoneException`): forget it.
    Gone,
}

#[async_trait]
pub trait Pusher: Send + Sync {
    /// Sends one text frame.
    async fn post(&self, connection_id: &str, frame: &str) -> Result<Posted>;
    /// Ends the connection from the server's side (its credential no longer holds).
    async fn close(&self, connection_id: &str) -> Result<()>;
}

/// `PostToConnection` / `DeleteConnection` on a WebSocket API stage (`BALCAO_WS_ENDPOINT`, the
/// stage's `https://{api}.execute-api.{region}.amazonaws.com/{stage}` URL).
pub struct ApiGatewayPusher {
    client: aws_sdk_apigatewaymanagement::Client,
}

impl ApiGatewayPusher {
    pub fn new(sdk: &aws_types::SdkConfig, endpoint: &str) -> ApiGatewayPusher {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            .build();
        ApiGatewayPusher {
            client: aws_sdk_apigatewaymanagement::Client::from_conf(config),
        }
    }
}

#[async_trait]
impl Pusher for ApiGatewayPusher {
    async fn post(&self, connection_id: &str, frame: &str) -> Result<Posted> {
        let sent = self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(frame.as_bytes()))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Posted::Sent),
            Err(SdkError::ServiceError(se)) if se.err().is_gone_exception() => Ok(Posted::Gone),
            Err(e) => Err(e.into()),
        }
    }

    async fn close(&self, connection_id: &str) -> Result<()> {
        match self
            .client
            .delete_connection()
            .connection_id(connection_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(se)) if se.err().is_gone_exception() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// What the local stack's socket task is told to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Frame(String),
    Close,
}

/// The local stack's open sockets: each registered socket task gets an id (its connection id)
/// and a channel; a post is a send on it.
#[derive(Default)]
pub struct LocalSockets {
    next: AtomicU64,
    sockets: Mutex<HashMap<String, mpsc::UnboundedSender<Outgoing>>>,
}

impl LocalSockets {
    pub fn new() -> LocalSockets {
        LocalSockets::default()
    }

    fn sockets(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<Outgoing>>> {
        self.sockets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new connection id (unguessable, like API Gateway's) and the socket's channel.
    pub fn register(&self) -> (String, mpsc::UnboundedReceiver<Outgoing>) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("L{n:x}{}", uuid::Uuid::new_v4().simple());
        let (tx, rx) = mpsc::unbounded_channel();
        self.sockets().insert(id.clone(), tx);
        (id, rx)
    }

    /// A channel for connection `id` made elsewhere (a `$connect` event run by hand in tests).
    pub fn attach(&self, id: &str) -> mpsc::UnboundedReceiver<Outgoing> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.sockets().insert(id.to_owned(), tx);
        rx
    }

    pub fn unregister(&self, id: &str) {
        self.sockets().remove(id);
    }

    /// Sockets open now.
    pub fn count(&self) -> usize {
        self.sockets().len()
    }

    /// Closes every socket (tests of reconnecting).
    pub fn close_all(&self) {
        for tx in self.sockets().values() {
            let _ = tx.send(Outgoing::Close);
        }
    }
}

#[async_trait]
impl Pusher for LocalSockets {
    async fn post(&self, connection_id: &str, frame: &str) -> Result<Posted> {
        let sent = self
            .sockets()
            .get(connection_id)
            .map(|tx| tx.send(Outgoing::Frame(frame.to_owned())).is_ok());
        Ok(if sent == Some(true) {
            Posted::Sent
        } else {
            Posted::Gone
        })
    }

    async fn close(&self, connection_id: &str) -> Result<()> {
        if let Some(tx) = self.sockets().get(connection_id) {
            let _ = tx.send(Outgoing::Close);
        }
        Ok(())
    }
}
