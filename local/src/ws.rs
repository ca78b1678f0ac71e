//! The local stack's `/ws`: the WebSocket API on the HTTP port, through the same protocol code as
//! the `realtime` Lambda (`balcao::realtime::socket`). The upgrade request is `$connect` (a bad
//! credential gets the HTTP API's 401/403 and no socket); each text frame is `$default`; the end
//! of the socket is `$disconnect`. Frames the writers push arrive through
//! [`balcao::realtime::LocalSockets`], the local stand-in for `PostToConnection`.

use std::sync::Arc;

use balcao::api::App;
use balcao::error::Error;
use balcao::http::{finish, new_request_id};
use balcao::realtime::{socket, LocalSockets, Outgoing};
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

pub const PATH: &str = "/ws";

/// Serves one request to `/ws`: a WebSocket upgrade, or the HTTP API's error.
pub async fn accept(
    app: App,
    mut req: hyper::Request<Incoming>,
    source_ip: String,
) -> hyper::Response<Full<Bytes>> {
    let fail = |e: Error| super::to_hyper(finish(Err(e), &new_request_id()));
    let Some(sockets) = app.live.sockets().cloned() else {
        return fail(Error::NotFound("route".into()));
    };
    let h = req.headers();
    let has = |name: &str, token: &str| {
        h.get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|v| v.trim().eq_ignore_ascii_case(token))
    };
    if req.method() != http::Method::GET
        || !has("upgrade", "websocket")
        || !has("connection", "upgrade")
        || !has("sec-websocket-version", "13")
    {
        return fail(Error::validation(
            "upgrade",
            "WEBSOCKET_REQUIRED",
            "/ws takes a WebSocket upgrade (GET, Upgrade: websocket, Sec-WebSocket-Version: 13)",
        ));
    }
    let Some(key) = h.get("sec-websocket-key").map(|k| k.as_bytes().to_vec()) else {
        return fail(Error::validation(
            "sec-websocket-key",
            "REQUIRED",
            "Sec-WebSocket-Key is required",
        ));
    };
    // The upgrade request as `$connect` reads it, with the caller's address.
    let mut connect_req = lambda_http::Request::new(lambda_http::Body::Empty);
    *connect_req.uri_mut() = req.uri().clone();
    *connect_req.headers_mut() = req.headers().clone();
    let mut context =
        lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    context.http.source_ip = Some(source_ip);
    let connect_req = lambda_http::RequestExt::with_request_context(
        connect_req,
        lambda_http::request::RequestContext::ApiGatewayV2(context),
    );
    let (id, rx) = sockets.register();
    let accepted = match socket::connect(&app, &connect_req, &id).await {
        Ok(a) => a,
        Err(e) => {
            sockets.unregister(&id);
            return fail(e);
        }
    };
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => run(app, sockets, id, TokioIo::new(upgraded), rx).await,
            Err(_) => {
                sockets.unregister(&id);
                let _ = socket::disconnect(&app, &id).await;
            }
        }
    });
    let mut res = hyper::Response::builder()
        .status(http::StatusCode::SWITCHING_PROTOCOLS)
        .header(http::header::UPGRADE, "websocket")
        .header(http::header::CONNECTION, "Upgrade")
        .header("sec-websocket-accept", derive_accept_key(&key));
    if let Some(p) = accepted.protocol {
        res = res.header("sec-websocket-protocol", p);
    }
    res.body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| fail(Error::unexpected_msg("upgrade response")))
}

async fn run(
    app: App,
    sockets: Arc<LocalSockets>,
    id: String,
    io: TokioIo<hyper::upgrade::Upgraded>,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
) {
    let config = WebSocketConfig::default()
        .max_message_size(Some(socket::MAX_CLIENT_FRAME * 4))
        .max_frame_size(Some(socket::MAX_CLIENT_FRAME * 4));
    let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
    let (mut sink, mut stream) = ws.split();
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Outgoing::Frame(text)) => {
                    if sink.send(WsMessage::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Outgoing::Close) | None => {
                    let _ = sink.send(WsMessage::Close(None)).await;
                    break;
                }
            },
            incoming = stream.next() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    if let Err(e) = socket::receive(&app, &app.live, &id, text.as_str()).await {
                        tracing::warn!(connection_id = %id, error = %balcao::http::ErrorChain(&e), "socket frame failed");
                    }
                }
                Some(Ok(WsMessage::Binary(_))) => {
                    let _ = socket::receive(&app, &app.live, &id, "binary").await;
                }
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    sockets.unregister(&id);
    if let Err(e) = socket::disconnect(&app, &id).await {
        tracing::warn!(connection_id = %id, error = %balcao::http::ErrorChain(&e), "disconnect not stored");
    }
}
