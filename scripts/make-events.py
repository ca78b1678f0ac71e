#!/usr/bin/env python3
"""Writes events/*.json: real-shaped API Gateway HTTP API (v2) and SQS events, one per route and
worker, addressed to the demo fixture. Tokens are signed with the local development secret and
expire in 2100, so they only work against local-mode keys (`cargo lambda invoke`, the tests).

Run from the repository root after changing routes or the fixture:
    python3 scripts/make-events.py
"""
import json
import subprocess
import time
import uuid
from pathlib import Path

EXP_2100 = 4102444800
ttl = str(EXP_2100 - int(time.time()))
cli = ["cargo", "run", "-q", "-p", "balcao-local", "--"]
seller = subprocess.check_output(cli + ["mint-seller-token", "--account", "lojademo", "--seller", "seller-acme", "--ttl-seconds", ttl, "--name", "Ana (ACME)"], text=True).strip()
visitor = subprocess.check_output(cli + ["mint-visitor-token", "--account", "lojademo", "--email", "maria@example.com", "--ttl-seconds", ttl], text=True).strip()
operator = subprocess.check_output(cli + ["mint-operator-token", "--account", "lojademo", "--email", "ana.televendas@lojademo.com.br", "--ttl-seconds", ttl], text=True).strip()
admin = subprocess.check_output(cli + ["mint-operator-token", "--account", "lojademo", "--email", "admin@lojademo.com.br", "--ttl-seconds", ttl], text=True).strip()


def session_token(session_id):
    """A session token (HS256, the local development key) for a session the tests put in place."""
    import base64, hashlib, hmac
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    head = b64(json.dumps({"typ": "JWT", "alg": "HS256", "kid": "local-dev"}, separators=(",", ":")).encode())
    claims = {"iss": "balcao-session-manager", "aud": "balcao-store", "sub": session_id, "token_use": "session", "exp": EXP_2100}
    body = b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(b"balcao-local-development-secret-not-for-production", f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


CONV = "01JD3M0C00000000000000V001"
MSG = "01JD3M0C00000000000000M001"
WEBHOOK = "01JD3M0C00000000000000W001"
SESSION = "01JD3M0C00000000000000S001"
APP_TOKEN = "pat-demo-lojademo-0000000000000000000000000001"


def http_event(method, route, path, *, query="", body=None, auth=None, extra_headers=None, path_params=None, cookies=None):
    headers = {
        "accept": "application/json",
        "host": "api.balcao.example",
        "user-agent": "curl/8.5.0",
        "x-forwarded-for": "203.0.113.10",
        "x-forwarded-proto": "https",
    }
    if auth:
        headers["authorization"] = f"Bearer {auth}"
    if body is not None:
        headers["content-type"] = "application/json"
    headers.update(extra_headers or {})
    qs = dict(p.split("=", 1) for p in query.split("&")) if query else None
    event = {
        "version": "2.0",
        "routeKey": f"{method} {route}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "b4lc40api",
            "domainName": "api.balcao.example",
            "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "curl/8.5.0"},
            "requestId": "Q1bC2d3EFAMEvxw=",
            "routeKey": f"{method} {route}",
            "stage": "$default",
            "time": "21/Nov/2026:13:36:15 +0000",
            "timeEpoch": 1795786575935,
        },
        "isBase64Encoded": False,
    }
    if qs:
        event["queryStringParameters"] = qs
    if path_params:
        event["pathParameters"] = path_params
    if cookies:
        # API Gateway v2 hands cookies over in their own list.
        event["cookies"] = cookies
    if body is not None:
        event["body"] = json.dumps(body, ensure_ascii=False)
    return event


def ws_event(route, connection_id, *, headers=None, body=None):
    """An API Gateway WebSocket API event (`$connect` carries the upgrade's headers)."""
    event = {
        "requestContext": {
            "routeKey": route,
            "eventType": {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE"),
            "extendedRequestId": "Q1bC2d3EFAMEvxw=",
            "requestTime": "21/Nov/2026:13:36:15 +0000",
            "messageDirection": "IN",
            "stage": "live",
            "connectedAt": 1795786575935,
            "requestTimeEpoch": 1795786575935,
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "Mozilla/5.0"},
            "requestId": "Q1bC2d3EFAMEvxw=",
            "domainName": "b4lc4ws.execute-api.us-east-1.amazonaws.com",
            "connectionId": connection_id,
            "apiId": "b4lc4ws",
        },
        "isBase64Encoded": False,
    }
    if headers is not None:
        event["headers"] = {
            "Host": "b4lc4ws.execute-api.us-east-1.amazonaws.com",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
            "X-Forwarded-For": "203.0.113.10",
            **headers,
        }
    if body is not None:
        event["body"] = json.dumps(body)
    return event


WS_CONNECTION = "Ab1CdEfGhIJKLmn="


def sqs_event(records, queue="balcao-moderation"):
    return {
        "Records": [
            {
                "messageId": mid,
                "receiptHandle": f"AQEB{mid[:8]}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795786575935",
                    "SenderId": "AROAEXAMPLE:balcao-conversations",
                    "ApproximateFirstReceiveTimestamp": "1795786575940",
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
                "awsRegion": "us-east-1",
            }
            for mid, body in records
        ]
    }


customer = {"x-identification-email": "maria@example.com"}
owner = {"name": "Ana do Atendimento", "external_id": "ana-42"}
events = {
    "token-create": http_event("POST", "/conversations/v3/visitor-identification/tokens/create", "/conversations/v3/visitor-identification/tokens/create",
                               body={"email": "gob@bluth.com", "firstName": "Gob", "lastName": "Bluth"}, auth=APP_TOKEN),
    "token-create-alias": http_event("POST", "/visitor-identification/v3/tokens/create", "/visitor-identification/v3/tokens/create",
                                     body={"email": "maria@example.com"}, auth=APP_TOKEN),
    "conversations-list": http_event("GET", "/v0/conversations", "/v0/conversations", query="_limit=10&status=OPENED", auth=seller),
    "conversations-get": http_event("GET", "/v0/conversations/{id}", f"/v0/conversations/{CONV}", auth=seller, path_params={"id": CONV}),
    "conversations-patch-status": http_event("PATCH", "/v0/conversations/{id}", f"/v0/conversations/{CONV}", body={"status": "CLOSED"}, auth=seller, path_params={"id": CONV}),
    "conversations-messages-list": http_event("GET", "/v0/conversations/{id}/messages", f"/v0/conversations/{CONV}/messages", query="_limit=20", auth=seller, path_params={"id": CONV}),
    "conversations-messages-post": http_event("POST", "/v0/conversations/{id}/messages", f"/v0/conversations/{CONV}/messages",
                                              body={"content": "Temos sim, chega em 3 dias úteis.", "external_id": "erp-1001", "owner": owner}, auth=seller, path_params={"id": CONV}),
    "conversations-messages-get": http_event("GET", "/v0/conversations/{id}/messages/{message_id}", f"/v0/conversations/{CONV}/messages/{MSG}", auth=seller,
                                             path_params={"id": CONV, "message_id": MSG}),
    "conversations-read-by": http_event("PATCH", "/v0/conversations/{id}/read_by", f"/v0/conversations/{CONV}/read_by", auth=seller, path_params={"id": CONV}),
    "customer-conversations-open": http_event("POST", "/v0/customer/conversations", "/v0/customer/conversations",
                                              body={"seller_id": "seller-bravo", "tags": [{"name": "productId", "value": "SOFA-3L"}, {"name": "productTitle", "value": "Sofá 3 lugares"}],
                                                    "content": "Esse sofá tem na cor cinza?"}, auth=visitor, extra_headers=customer),
    "customer-conversations-list": http_event("GET", "/v0/customer/conversations", "/v0/customer/conversations", auth=visitor, extra_headers=customer),
    "customer-conversations-get": http_event("GET", "/v0/customer/conversations/{id}", f"/v0/customer/conversations/{CONV}", auth=visitor, extra_headers=customer, path_params={"id": CONV}),
    "customer-messages-list": http_event("GET", "/v0/customer/conversations/{id}/messages", f"/v0/customer/conversations/{CONV}/messages", auth=visitor, extra_headers=customer,
                                         path_params={"id": CONV}),
    "customer-messages-post": http_event("POST", "/v0/customer/conversations/{id}/messages", f"/v0/customer/conversations/{CONV}/messages",
                                         body={"content": "Perfeito, vou fechar a compra!"}, auth=visitor, extra_headers=customer, path_params={"id": CONV}),
    "customer-messages-get": http_event("GET", "/v0/customer/conversations/{id}/messages/{message_id}", f"/v0/customer/conversations/{CONV}/messages/{MSG}", auth=visitor,
                                        extra_headers=customer, path_params={"id": CONV, "message_id": MSG}),
    "customer-read-by": http_event("PATCH", "/v0/customer/conversations/{id}/read_by", f"/v0/customer/conversations/{CONV}/read_by", auth=visitor, extra_headers=customer,
                                   path_params={"id": CONV}),
    "realtime-connect": ws_event("$connect", WS_CONNECTION, headers={"Authorization": f"Bearer {seller}", "Sec-WebSocket-Protocol": "balcao.v1"}),
    "realtime-connect-refused": ws_event("$connect", "Zz9YxWvUtSrQpOn=", headers={"Sec-WebSocket-Protocol": "balcao.v1, bearer.not-a-token"}),
    "realtime-ping": ws_event("$default", WS_CONNECTION, body={"action": "ping"}),
    "realtime-disconnect": ws_event("$disconnect", WS_CONNECTION),
    "moderation-worker-batch": sqs_event([
        ("5f0c1a9e-0001-4c4f-9e52-1b2d3c4d5e61", json.dumps({"account": "lojademo", "conversation_id": CONV, "message_id": MSG})),
        ("5f0c1a9e-0002-4c4f-9e52-1b2d3c4d5e62", json.dumps({"account": "lojademo", "conversation_id": CONV, "message_id": "01JD3M0C00000000000000M0ZZ"})),
        ("5f0c1a9e-0003-4c4f-9e52-1b2d3c4d5e63", "this is not a moderation job"),
    ]),
    # What EventBridge's schedule hands the sweeper (its content is not read).
    "moderation-sweeper-schedule": {
        "version": "0", "id": "6f1b2c3d-0001-4e5f-8a9b-0c1d2e3f4a5b", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-11-21T13:40:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/balcao-moderation-sweeper"], "detail": {},
    },
    "sessions-create": http_event("POST", "/api/sessions", "/api/sessions",
                                  body={"public": {"vtex-impersonated-customer-email": {"value": "client@gmail.com"},
                                                   "authentication": {"value": "operator@gmail.com"}}},
                                  extra_headers={"x-account": "lojademo"}),
    "sessions-impersonate": http_event("POST", "/api/sessions", "/api/sessions",
                                       body={"public": {"vtex-impersonated-customer-email": {"value": "maria@example.com"}}}, auth=operator),
    "sessions-patch": http_event("PATCH", "/api/sessions", "/api/sessions",
                                 body={"public": {"vtex-impersonated-customer-email": {"value": "joao@example.com"}}},
                                 cookies=[f"vtex_session={session_token(SESSION)}"], auth=operator),
    "sessions-get": http_event("GET", "/api/sessions", "/api/sessions", query="items=impersonate.storeUserEmail,impersonate.canImpersonate",
                               cookies=[f"vtex_session={session_token(SESSION)}"]),
    "sessions-audit": http_event("GET", "/api/sessions/audit", "/api/sessions/audit", query="_limit=20", auth=admin),
    "webhooks-create": http_event("POST", "/v0/webhooks", "/v0/webhooks",
                                  body={"url": "https://erp.lojademo.com.br/balcao/webhooks", "domains": ["message"]}, auth=seller),
    "webhooks-list": http_event("GET", "/v0/webhooks", "/v0/webhooks", auth=seller),
    "webhooks-delete": http_event("DELETE", "/v0/webhooks/{id}", f"/v0/webhooks/{WEBHOOK}", auth=seller, path_params={"id": WEBHOOK}),
    "webhook-dispatcher-events": sqs_event([
        ("7a1e2b3c-0001-4d5e-8f90-a1b2c3d4e5f1", json.dumps({
            "id": "evt_0f1e2d3c4b5a69788796a5b4c3d2e1f0", "account": "lojademo", "seller_id": "seller-acme",
            "created_at": "2026-11-22T10:15:00.000Z", "data": {"domain": "conversation", "status": "UPDATED"},
            "detail": {"conversation_id": CONV}})),
        ("7a1e2b3c-0002-4d5e-8f90-a1b2c3d4e5f2", "this is not a webhook job"),
    ], queue="balcao-webhook-events"),
    "webhook-dispatcher-deliveries": sqs_event([
        ("7a1e2b3c-0003-4d5e-8f90-a1b2c3d4e5f3", json.dumps({
            "subscription_id": WEBHOOK, "attempt": 1,
            "event": {"id": "evt_8a7b6c5d4e3f20110213243546576879", "account": "lojademo", "seller_id": "seller-acme",
                      "created_at": "2026-11-22T10:16:00.000Z", "data": {"domain": "message", "status": "NEW"},
                      "detail": {"conversation_id": CONV, "message_id": MSG}},
            "last_error": "HTTP 503"})),
        ("7a1e2b3c-0004-4d5e-8f90-a1b2c3d4e5f4", json.dumps({"subscription_id": 42})),
    ], queue="balcao-webhook-deliveries"),
}

out = Path("events")
out.mkdir(exist_ok=True)
for name, event in events.items():
    (out / f"{name}.json").write_text(json.dumps(event, ensure_ascii=False, indent=2) + "\n")
print(f"wrote {len(events)} events")
