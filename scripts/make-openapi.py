#!/usr/bin/env python3
"""Writes docs/openapi.json, the OpenAPI 3.1 document of Balcão's HTTP API.

The document is the API's truth for integrators; this script is where it is written (one place
per schema, shared by the operations that use it). The suite holds the result against the code:
tests/tests/suite/routes.rs (its operations are exactly the template's and the handlers' routes),
tests/openapi/run.py (schemathesis against the local stack: every response must match it, with a
documented status and content type). Run it after changing the API and commit both:

    python3 scripts/make-openapi.py            # scripts/test runs it with --check
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "docs", "openapi.json")

READ = "services:conversations-seller:read"
WRITE = "services:conversations-seller:write"
ID = {"type": "string", "pattern": "^[0-7][0-9A-HJKMNP-TV-Z]{25}$",
      "examples": ["01JD3M0C00000000000000V001"]}
TIME = {"type": "string", "format": "date-time", "examples": ["2026-11-22T10:00:00.000Z"]}


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def obj(props, required=None, closed=True, **extra):
    """An object schema; `closed` (responses) lists every field, so a field the code adds or drops
    without the document fails the schemathesis run."""
    s = {"type": "object", "properties": props,
         "required": list(props) if required is None else required}
    if closed:
        s["additionalProperties"] = False
    s.update(extra)
    return s


def nullable(schema):
    return {"anyOf": [schema, {"type": "null"}]}


SCHEMAS = {
    "Error": obj({
        "status": {"const": "error"},
        "message": {"type": "string"},
        "correlationId": {"type": "string"},
        "category": {"type": "string", "examples": ["VALIDATION_ERROR", "MISSING_SCOPES"]},
        "errors": {"type": "array", "items": obj({
            "message": {"type": "string"},
            "in": {"type": "string"},
            "code": {"type": "string"},
            "context": {"type": "object"},
        }, required=["message", "in", "code"])},
    }, required=["status", "message", "correlationId", "category"],
        description="The one error envelope of every 4xx and 5xx (5xx bodies carry no internals)."),
    "Owner": obj({"name": {"type": "string"}, "external_id": {"type": "string"}}),
    "User": obj({
        "id": {"type": "string"},
        "external_id": {"type": "string"},
        "full_name": {"type": "string"},
        "full_name_normalized": {"type": "string"},
        "type": {"enum": ["CUSTOMER", "SELLER"]},
        "owner": ref("Owner"),
    }, required=["id", "external_id", "full_name", "full_name_normalized", "type"],
        description="`owner` is who wrote on the user's behalf: the seller's attendant, or the "
                    "telesales operator acting as the customer."),
    "NameValue": obj({"name": {"type": "string"}, "value": {"type": "string"}}),
    "MinimalMessage": obj({
        "id": ID,
        "external_id": nullable({"type": "string"}),
        "from_user": ref("User"),
        "content": {"type": "string"},
        "when_at": TIME,
    }),
    "BlockRule": obj({
        "reason": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "fields": {"type": "array", "items": {"type": "string"}},
    }, required=["reason", "tags"]),
    "Moderation": obj({
        "status": {"enum": ["WAITING_MODERATION", "APPROVED", "REJECTED"]},
        "when_at": nullable(TIME),
        "block_rules": {"type": "array", "items": ref("BlockRule")},
    }, required=["status", "block_rules"]),
    "Message": obj({
        "id": ID,
        "external_id": nullable({"type": "string"}),
        "from_user": ref("User"),
        "to_user": ref("User"),
        "content": {"type": "string"},
        "attachments": {"type": "array", "items": {"type": "string", "format": "uri"}},
        "read_by": {"type": "array", "items": {"type": "string"}},
        "moderation": ref("Moderation"),
        "when_at": TIME,
        "custom_fields": {"type": "array", "items": ref("NameValue")},
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
    }),
    "Conversation": obj({
        "id": ID,
        "display_name": nullable({"type": "string"}),
        "owner": ref("Owner"),
        "from_user": ref("User"),
        "to_user": ref("User"),
        "unread_from_count": {"type": "integer", "minimum": 0},
        "unread_to_count": {"type": "integer", "minimum": 0},
        "status": {"enum": ["OPENED", "CLOSED"]},
        "last_message": nullable(ref("MinimalMessage")),
        "is_new_to": {"type": "boolean"},
        "tags": {"type": "array", "items": ref("NameValue")},
        "created_at": TIME,
        "updated_at": TIME,
        "last_interaction_at": nullable(TIME),
        "identified_via": {"enum": ["VISITOR_IDENTIFICATION", "IMPERSONATION"]},
    }),
    "PageMeta": obj({
        "page": obj({
            "limit": {"type": "integer"}, "offset": {"type": "integer"},
            "max_limit": {"type": "integer"}, "count": {"type": "integer"},
        }),
        "links": obj({
            "previous": nullable({"type": "string"}), "next": nullable({"type": "string"}),
            "self": {"type": "string"},
        }),
        "cursor": nullable({"type": "string"}),
    }, required=["page", "links"]),
    "ConversationPage": obj({"meta": ref("PageMeta"),
                             "results": {"type": "array", "items": ref("Conversation")}}),
    "MessagePage": obj({"meta": ref("PageMeta"),
                        "results": {"type": "array", "items": ref("Message")}}),
    "Subscription": obj({
        "id": ID,
        "url": {"type": "string", "format": "uri"},
        "domains": {"type": "array", "items": {"enum": ["conversation", "message"]}},
        "status": {"type": "string"},
        "created_at": TIME,
        "secret": {"type": "string", "pattern": "^whsec_",
                   "description": "The signing secret: in the answer to POST only."},
    }, required=["id", "url", "domains", "status", "created_at"]),
    "SubscriptionList": obj({"results": {"type": "array", "items": ref("Subscription")}}),
    "Token": obj({"token": {"type": "string"}}),
    "SessionValue": obj({"value": {"type": "string"}}),
    "Namespaces": {"type": "object", "additionalProperties": {
        "type": "object", "additionalProperties": ref("SessionValue")}},
    "Session": obj({
        "id": {"type": "string"},
        "sessionToken": {"type": "string"},
        "segmentToken": {"type": "string"},
        "namespaces": ref("Namespaces"),
    }),
    "SessionRead": obj({"id": {"type": "string"}, "namespaces": ref("Namespaces")}),
    "AuditEntry": obj({
        "id": ID, "account": {"type": "string"}, "at": TIME, "action": {"type": "string"},
        "operator": {"type": "string"}, "customer": {"type": "string"},
        "session_id": {"type": "string"}, "reason": {"type": "string"},
        "client_ip": {"type": "string"}, "user_agent": {"type": "string"},
        "conversation_id": {"type": "string"}, "message_id": {"type": "string"},
    }, required=["id", "account", "at", "action", "session_id"]),
    "AuditPage": obj({
        "results": {"type": "array", "items": ref("AuditEntry")},
        "paging": obj({"next": nullable(obj({"after": {"type": "string"}}))}),
    }, required=["results"], description="`paging.next` when there is more."),
    # Request bodies: open (unknown fields are ignored), bounded as the API enforces.
    "PostMessage": obj({
        "content": {"type": "string", "minLength": 1, "maxLength": 2200, "pattern": "\\S",
                    "description": "not blank"},
        "external_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "owner": obj({"name": {"type": "string", "minLength": 1, "maxLength": 128},
                      "external_id": {"type": "string", "minLength": 1, "maxLength": 128}},
                     closed=False),
        "attachments": {"type": "array", "maxItems": 10,
                        "items": {"type": "string", "format": "uri", "pattern": "^https://"}},
        "custom_fields": {"type": "array", "maxItems": 20, "items": obj({
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "value": {"type": "string", "maxLength": 1500}}, closed=False)},
    }, required=["content"], closed=False,
        examples=[{"content": "Temos sim, em 110 V e 220 V.",
                   "owner": {"name": "Ana do Atendimento", "external_id": "ana-42"}}]),
    "SellerPostMessage": {"allOf": [ref("PostMessage"), {"required": ["owner"]}],
                          "description": "A seller's reply names the attendant who wrote it."},
    "OpenConversation": obj({
        "seller_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "display_name": {"type": "string", "maxLength": 200},
        "tags": {"type": "array", "items": obj({
            "name": {"enum": ["productId", "productTitle", "productImage", "productUrl"]},
            "value": {"type": "string", "minLength": 1}}, closed=False)},
        "content": {"type": "string", "minLength": 1, "maxLength": 2200, "pattern": "\\S",
                    "description": "not blank"},
        "external_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "attachments": {"type": "array", "maxItems": 10, "items": {"type": "string"}},
        "custom_fields": {"type": "array", "maxItems": 20, "items": ref("NameValue")},
    }, required=["seller_id", "tags", "content"], closed=False,
        examples=[{"seller_id": "seller-acme", "content": "Tem na cor azul?",
                   "tags": [{"name": "productId", "value": "GEL-375"}]}]),
    "PatchConversation": obj({"status": {"enum": ["OPENED", "CLOSED"]}}, closed=False),
    "CreateToken": obj({
        "email": {"type": "string", "format": "email"},
        "firstName": {"type": "string"}, "lastName": {"type": "string"},
    }, required=["email"], closed=False, examples=[{"email": "maria@example.com",
                                                    "firstName": "Maria"}]),
    "CreateSubscription": obj({
        "url": {"type": "string", "format": "uri", "pattern": "^https://[^/?#@:]+\\.[^/?#@:]+(/|$)",
                "description": "https, a public fully qualified host (no IP in reserved space, no credentials)"},
        "domains": {"type": "array", "items": {"enum": ["conversation", "message"]}},
    }, required=["url"], closed=False),
    "SessionWrite": obj({"public": {"type": "object", "additionalProperties": ref("SessionValue")}},
                        required=["public"], closed=False),
    "WebhookEvent": obj({
        "id": {"type": "string"},
        "account": {"type": "string"},
        "seller_id": {"type": "string"},
        "created_at": TIME,
        "data": obj({"domain": {"enum": ["conversation", "message"]}, "status": {"type": "string"}}),
        "detail": obj({"conversation_id": ID, "message_id": ID}, required=["conversation_id"]),
    }, closed=False),
}

ERRORS = {
    400: "Invalid input: unknown or repeated parameters, a bad cursor, a body that does not parse or validate",
    401: "No or a bad credential",
    403: "A missing scope (`MISSING_SCOPES`) or tier, or an impersonation not allowed",
    404: "No such route or resource, or someone else's (never 403 for another tenant's data)",
    405: "The route exists, the method does not",
    409: "A conflict: an `external_id` used in another conversation; posting to a closed conversation",
    413: "The body is over 64 KiB",
    415: "The body is not `application/json`",
    429: "Over the posting rate limit (see `Retry-After`)",
    503: "A dependency is unavailable; retry after `Retry-After`",
}


def error(status):
    r = {"description": ERRORS[status],
         "content": {"application/json": {"schema": ref("Error")}}}
    if status in (429, 503):
        r["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    return r


def ok(status, schema, description="OK", headers=None):
    r = {"description": description, "content": {"application/json": {"schema": ref(schema)}}}
    if headers:
        r["headers"] = headers
    return r


def op(summary, tag, security, responses, errors, params=(), body=None, op_id=None):
    o = {"summary": summary, "tags": [tag], "operationId": op_id, "security": security,
         "responses": {str(k): v for k, v in responses.items()}}
    for e in errors:
        o["responses"][str(e)] = error(e)
    if params:
        o["parameters"] = list(params)
    if body:
        o["requestBody"] = {"required": True,
                            "content": {"application/json": {"schema": ref(body)}}}
    return o


def links(**targets):
    """OpenAPI links from a response's conversation `id` to the operations that take it: the
    stateful phase of schemathesis follows them (open → post → read)."""
    return {name: {"operationId": target, "parameters": {"id": "$response.body#/id"}}
            for name, target in targets.items()}


OPENED = links(PostMessage="postCustomerMessage", ListMessages="listCustomerMessages",
               MarkRead="markCustomerRead", Get="getCustomerConversation")


def path_param(name, schema=None):
    return {"name": name, "in": "path", "required": True, "schema": schema or ID}


def query(name, schema, description=""):
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


PAGING = [
    query("_offset", {"type": "integer", "minimum": 0, "maximum": 1000}, "items to skip (at most 1000 without a cursor)"),
    query("_limit", {"type": "integer", "minimum": 1, "maximum": 100}),
    query("_after", {"type": "string"}, "an opaque cursor (`links.next`, `meta.cursor`)"),
    query("_before", {"type": "string"}, "an opaque cursor (`links.previous`)"),
]
CONV_FILTERS = [
    query("status", {"enum": ["OPENED", "CLOSED"]}),
    query("last_interaction_at_start", TIME),
    query("last_interaction_at_end", TIME),
    query("_sort", {"enum": ["last_interaction_at:desc", "last_interaction_at:asc"]}),
]
SELLER_R = [{"sellerJwt": [READ]}]
SELLER_W = [{"sellerJwt": [WRITE]}]
CUSTOMER = [{"identificationToken": [], "identificationEmail": []},
            {"sessionCookie": [], "operatorJwt": []}]
SELLER_ERR = [400, 401, 403, 404, 405, 503]
WRITE_ERR = [400, 401, 403, 404, 405, 409, 413, 415, 429, 503]
ID_P = path_param("id")
MSG_P = path_param("message_id")
SET_COOKIE = {"Set-Cookie": {"schema": {"type": "string"},
                             "description": "`vtex_session` and `vtex_segment` (HttpOnly, Secure, SameSite=Lax)"}}

PATHS = {
    "/conversations/v3/visitor-identification/tokens/create": {"post": op(
        "Create a visitor identification token (12 hours) for a logged-in visitor's e-mail",
        "identification", [{"privateAppToken": []}], {200: ok(200, "Token")},
        [400, 401, 403, 405, 413, 415, 503], body="CreateToken", op_id="createToken")},
    "/visitor-identification/v3/tokens/create": {"post": op(
        "Alias of /conversations/v3/visitor-identification/tokens/create", "identification",
        [{"privateAppToken": []}], {200: ok(200, "Token")}, [400, 401, 403, 405, 413, 415, 503],
        body="CreateToken", op_id="createTokenAlias")},
    "/v0/conversations": {"get": op(
        "The seller's conversations, newest interaction first", "seller", SELLER_R,
        {200: ok(200, "ConversationPage")}, SELLER_ERR,
        params=PAGING + CONV_FILTERS + [query("from_user_ref_key", {"type": "string"})],
        op_id="listConversations")},
    "/v0/conversations/{id}": {
        "get": op("One conversation", "seller", SELLER_R, {200: ok(200, "Conversation")},
                  SELLER_ERR, params=[ID_P], op_id="getConversation"),
        "patch": op("Close or reopen a conversation", "seller", SELLER_W,
                    {200: ok(200, "Conversation")}, [400, 401, 403, 404, 405, 413, 415, 503],
                    params=[ID_P], body="PatchConversation", op_id="patchConversation"),
    },
    "/v0/conversations/{id}/messages": {
        "get": op("A conversation's messages as the seller sees them", "seller", SELLER_R,
                  {200: ok(200, "MessagePage")}, SELLER_ERR, params=[ID_P] + PAGING,
                  op_id="listMessages"),
        "post": op("Reply (idempotent on external_id); moderated before the customer sees it",
                   "seller", SELLER_W, {201: ok(201, "MinimalMessage", "Created")}, WRITE_ERR,
                   params=[ID_P], body="SellerPostMessage", op_id="postMessage"),
    },
    "/v0/conversations/{id}/messages/{message_id}": {"get": op(
        "One message", "seller", SELLER_R, {200: ok(200, "Message")}, SELLER_ERR,
        params=[ID_P, MSG_P], op_id="getMessage")},
    "/v0/conversations/{id}/read_by": {"patch": op(
        "Mark the conversation read by the seller", "seller", SELLER_W,
        {200: ok(200, "Conversation")}, [401, 403, 404, 405, 413, 415, 503], params=[ID_P],
        op_id="markRead")},
    "/v0/customer/conversations": {
        "post": op("Open a conversation about a product (200 when it continues one)", "customer",
                   CUSTOMER, {201: dict(ok(201, "Conversation", "Created"), links=OPENED),
                              200: dict(ok(200, "Conversation", "An existing conversation continued"),
                                        links=OPENED)},
                   WRITE_ERR, body="OpenConversation", op_id="openConversation"),
        "get": op("The customer's conversations", "customer", CUSTOMER,
                  {200: ok(200, "ConversationPage")}, [400, 401, 403, 405, 503],
                  params=PAGING + CONV_FILTERS, op_id="listCustomerConversations"),
    },
    "/v0/customer/conversations/{id}": {"get": op(
        "One of the customer's conversations", "customer", CUSTOMER,
        {200: ok(200, "Conversation")}, SELLER_ERR, params=[ID_P],
        op_id="getCustomerConversation")},
    "/v0/customer/conversations/{id}/messages": {
        "get": op("A conversation's messages as the customer sees them", "customer", CUSTOMER,
                  {200: ok(200, "MessagePage")}, SELLER_ERR, params=[ID_P] + PAGING,
                  op_id="listCustomerMessages"),
        "post": op("Write (reopens a closed conversation once approved)", "customer", CUSTOMER,
                   {201: ok(201, "MinimalMessage", "Created")}, WRITE_ERR, params=[ID_P],
                   body="PostMessage", op_id="postCustomerMessage"),
    },
    "/v0/customer/conversations/{id}/messages/{message_id}": {"get": op(
        "One message", "customer", CUSTOMER, {200: ok(200, "Message")}, SELLER_ERR,
        params=[ID_P, MSG_P], op_id="getCustomerMessage")},
    "/v0/customer/conversations/{id}/read_by": {"patch": op(
        "Mark the conversation read by the customer", "customer", CUSTOMER,
        {200: ok(200, "Conversation")}, [401, 403, 404, 405, 413, 415, 503], params=[ID_P],
        op_id="markCustomerRead")},
    "/api/sessions": {
        "post": op("Create a session (or edit the one of the `vtex_session` cookie); with an "
                   "operator credential and `impersonate.storeUserEmail`, impersonate",
                   "sessions", [{}, {"operatorJwt": []}],
                   {201: ok(201, "Session", "Created", SET_COOKIE)},
                   [400, 401, 403, 404, 405, 413, 415, 429, 503], body="SessionWrite",
                   op_id="createSession"),
        "patch": op("Edit the session of the `vtex_session` cookie", "sessions",
                    [{"sessionCookie": []}, {"sessionCookie": [], "operatorJwt": []}],
                    {200: ok(200, "Session", "OK", SET_COOKIE)},
                    [400, 401, 403, 404, 405, 413, 415, 429, 503], body="SessionWrite",
                    op_id="patchSession"),
        "get": op("Read the session's keys (`items=ns.key,…` or `*`)", "sessions",
                  [{"sessionCookie": []}], {200: ok(200, "SessionRead")},
                  [400, 401, 403, 404, 405, 503],
                  params=[query("items", {"type": "string"}, "namespace.key list, or *")],
                  op_id="readSession"),
    },
    "/api/sessions/audit": {"get": op(
        "The account's impersonation audit trail, newest first (account admins)", "sessions",
        [{"operatorJwt": []}], {200: ok(200, "AuditPage")}, [400, 401, 403, 405, 503],
        params=[query("_limit", {"type": "integer", "minimum": 1, "maximum": 100}),
                query("_after", ID)], op_id="readAudit")},
    "/v0/webhooks": {
        "post": op("Subscribe a URL (the secret is shown only here)", "webhooks", SELLER_W,
                   {201: ok(201, "Subscription", "Created")},
                   [400, 401, 403, 405, 409, 413, 415, 503], body="CreateSubscription",
                   op_id="createSubscription"),
        "get": op("The seller's subscriptions (no secrets)", "webhooks", SELLER_R,
                  {200: ok(200, "SubscriptionList")}, [401, 403, 405, 503],
                  op_id="listSubscriptions"),
    },
    "/v0/webhooks/{id}": {"delete": op(
        "Remove a subscription", "webhooks", SELLER_W, {204: {"description": "Removed"}},
        [401, 403, 404, 405, 503], params=[ID_P], op_id="deleteSubscription")},
}

STD_WEBHOOK_HEADERS = [
    {"name": "webhook-id", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "The event id: the same on every retry (deduplicate on it)"},
    {"name": "webhook-timestamp", "in": "header", "required": True,
     "schema": {"type": "integer"}, "description": "Unix seconds of this attempt"},
    {"name": "webhook-signature", "in": "header", "required": True,
     "schema": {"type": "string"},
     "description": "`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the subscription's secret"},
]

DOC = {
    "openapi": "3.1.0",
    "info": {
        "title": "Balcão",
        "version": "0.1.0",
        "summary": "Buyer–seller chat, visitor identification and telesales sessions",
        "description": "The HTTP API of Balcão (see the README for the walk-through, the threat "
                       "model and every decision). Errors always use the `Error` envelope.",
        "license": {"name": "See the repository"},
    },
    "servers": [{"url": "http://127.0.0.1:3000", "description": "the local stack"}],
    "tags": [{"name": n} for n in ["identification", "seller", "customer", "sessions", "webhooks"]],
    "paths": PATHS,
    "webhooks": {"conversationEvent": {"post": {
        "summary": "A conversation or message event, POSTed to each subscription (Standard Webhooks)",
        "parameters": STD_WEBHOOK_HEADERS,
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": ref("WebhookEvent")}}},
        "responses": {"2XX": {"description": "Received; anything else is retried with backoff"}},
    }}},
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "sellerJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                          "description": f"A seller token (`token_use: seller`) with the scopes `{READ}` and/or `{WRITE}`."},
            "operatorJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                            "description": "An operator token (`token_use: operator`), as Bearer or the `VtexIdclientAutCookie` cookie."},
            "privateAppToken": {"type": "http", "scheme": "bearer",
                                "description": "A store backend's private app token (`pat-…`) with `conversations.visitor_identification.tokens.create`."},
            "identificationToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                    "description": "A visitor identification token, with `X-Identification-Email`."},
            "identificationEmail": {"type": "apiKey", "in": "header", "name": "X-Identification-Email",
                                    "description": "The e-mail the identification token was issued for."},
            "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "vtex_session"},
        },
    },
}


def main():
    text = json.dumps(DOC, indent=2, ensure_ascii=False) + "\n"
    if "--check" in sys.argv:
        with open(OUT) as f:
            if f.read() != text:
                sys.exit(f"{os.path.relpath(OUT, ROOT)} is not what scripts/make-openapi.py writes: run it and commit")
        print(f"{os.path.relpath(OUT, ROOT)} is up to date")
        return
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(OUT, ROOT)}: {sum(len(v) for v in PATHS.values())} operations")


if __name__ == "__main__":
    main()
