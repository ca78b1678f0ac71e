//! Black-box tests over HTTP against the local stack, each on the embedded store and on
//! DynamoDB/SQS (moto): every route, the auth failures, tenant isolation, validation, paging,
//! idempotency and the moderation round trip.

mod conversations;
mod isolation;
mod paging;

use balcao_tests::*;
use base64::Engine as _;
use serde_json::{json, Value};

async fn app(kind: StoreKind) -> Option<TestApp> {
    spawn_app(kind).await
}

/// Maria opens a conversation about `product` with BRAVO and it is approved; returns its id.
async fn visible_conversation(a: &TestApp, token: &str, product: &str) -> String {
    let id = a
        .open(token, MARIA, BRAVO, product, "Essa geladeira tem garantia?")
        .await;
    a.all_moderated("lojademo", &id).await;
    id
}

fn first_message_id(page: &Value) -> String {
    page["results"][0]["id"].as_str().unwrap().to_owned()
}

// ---- visitor identification -----------------------------------------------------------------

async fn identification_tokens_are_issued_per_call(kind: StoreKind) {
    let Some(a) = app(kind).await else { return };
    let body = json!({"email": "Gob@Bluth.com", "firstName": "Gob", "lastName": "Bluth"});
    let r1 = a
        .call("POST", TOKEN_PATH)
        .bearer(DEMO_APP_TOKEN)
        .json(&body)
        .send()
        .await;
    let r2 = a
        .call("POST", "/visitor-identification/v3/tokens/create")
        .bearer(DEMO_APP_TOKEN)
        .json(&body)
        .send()
        .await;
    let (t1, t2) = (
        r1.expect(200)["token"].as_str().unwrap(),
        r2.expect(200)["token"].as_str().unwrap(),
    );
    assert_ne!(t1, t2, "a new token on every call");
    assert_eq!(r1.headers["content-type"], "application/json");
    // The contact exists with the names; later names do not overwrite known ones.
    let c = a
        .store()
        .get_contact("lojademo", "gob@bluth.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (c.first_name.as_deref(), c.last_name.as_deref()),
        (Some("Gob"), Some("Bluth"))
    );
    a.call("POST", TOKEN_PATH)
        .bearer(DEMO_APP_TOKEN)
        .json(&json!({"email": "gob@bluth.com", "firstName": "George"}))
        .send()
        .await
        .expect(200);
    let c2 = a
        .store()
        .get_contact("lojademo", "gob@bluth.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c2.first_name.as_deref(), Some("Gob"));
    assert_eq!(c2.id, c.id);
    // The token works for the widget with that e-mail, and says nothing to another account.
    let list = a
        .as_customer("GET", "/v0/customer/conversations", t1, "gob@bluth.com")
        .send()
        .await;
    assert_eq!(list.expect(200)["results"], json!([]));
}

async fn identification_tokens_need_a_scoped_app_token_and_a_paid_tier(kind: StoreKind) {
    let Some(a) = app(kind).await else { return };
    let body = json!({"email": "a@b.com"});
    a.call("POST", TOKEN_PATH)
        .json(&body)
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    a.call("POST", TOKEN_PATH)
        .bearer("pat-wrong")
        .json(&body)
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    let r = a
        .call("POST", TOKEN_PATH)
        .bearer(NO_SCOPE_APP_TOKEN)
        .json(&body)
        .send()
        .await;
    let b = r.expect_error(403, "MISSING_SCOPES");
    assert_eq!(
        b["errors"][0]["context"]["requiredScopes"],
        json!(["conversations.visitor_identification.tokens.create"])
    );
    let r = a
        .call("POST", TOKEN_PATH)
        .bearer(STARTER_APP_TOKEN)
        .json(&body)
        .send()
        .await;
    r.expect_error(403, "FORBIDDEN");
    assert!(
        a.store()
            .get_contact("lojastarter", "a@b.com")
            .await
            .unwrap()
            .is_none(),
        "no write on a refusal"
    );
}

async fn identification_tokens_validate_input(kind: StoreKind) {
    let Some(a) = app(kind).await else { return };
    let call = |body: Value| {
        a.call("POST", TOKEN_PATH)
            .bearer(DEMO_APP_TOKEN)
            .json(&body)
    };
    for bad in ["", "not-an-email", "a@b", "a b@c.com"] {
        let r = call(json!({"email": bad})).send().await;
        assert_eq!(
            r.expect_error(400, "VALIDATION_ERROR")["errors"][0]["in"],
            "email",
            "{bad}"
        );
    }
    call(json!({}))
        .send()
        .await
        .expect_error(400, "VALIDATION_ERROR");
    let r = call(json!({"email": 42})).send().await;
    assert_eq!(
        r.expect_error(400, "VALIDATION_ERROR")["errors"][0]["in"],
        "email"
    );
    call(json!({"email": "a@b.com", "firstName": "x".repeat(201)}))
        .send()
        .await
        .expect_error(400, "VALIDATION_ERROR");
    a.call("POST", TOKEN_PATH)
        .bearer(DEMO_APP_TOKEN)
        .raw("application/json", "{\"email\":")
        .send()
        .await
        .expect_error(400, "VALIDATION_ERROR");
    a.call("POST", TOKEN_PATH)
        .bearer(DEMO_APP_TOKEN)
        .raw("application/json", vec![0xff, 0xfe, b'{'])
        .send()
        .await
        .expect_error(400, "VALIDATION_ERROR");
    a.call("POST", TOKEN_PATH)
        .bearer(DEMO_APP_TOKEN)
        .raw("text/plain", "{\"email\":\"a@b.com\"}")
        .send()
        .await
        .expect_error(415, "UNSUPPORTED_MEDIA_TYPE");
    let huge = format!(
        "{{\"email\":\"a@b.com\",\"pad\":\"{}\"}}",
        "x".repeat(200_000)
    );
    a.call("POST", TOKEN_PATH)
        .bearer(DEMO_APP_TOKEN)
        .raw("application/json", huge)
        .send()
        .await
        .expect_error(413, "PAYLOAD_TOO_LARGE");
    a.call("GET", TOKEN_PATH)
        .bearer(DEMO_APP_TOKEN)
        .send()
        .await
        .expect_error(405, "METHOD_NOT_ALLOWED");
    a.call("GET", "/nowhere")
        .send()
        .await
        .expect_error(404, "NOT_FOUND");
}

async fn customers_are_verified_strictly(kind: StoreKind) {
    let Some(a) = app(kind).await else { return };
    let t = a.visitor_token(DEMO_APP_TOKEN, MARIA).await;
    let path = "/v0/customer/conversations";
    a.as_customer("GET", path, &t, MARIA)
        .send()
        .await
        .expect(200);
    a.as_customer("GET", path, &t, &MARIA.to_uppercase())
        .send()
        .await
        .expect(200);
    // Another e-mail, no e-mail header, no token, a tampered token.
    a.as_customer("GET", path, &t, JOAO)
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    a.call("GET", path)
        .bearer(&t)
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    a.call("GET", path)
        .header("x-identification-email", MARIA)
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    let mut tampered = t.clone();
    tampered.pop();
    tampered.push(if t.ends_with('A') { 'B' } else { 'A' });
    a.as_customer("GET", path, &tampered, MARIA)
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    // A token of another account used against this one.
    let other = a.visitor_token(OTHER_ACCOUNT_APP_TOKEN, MARIA).await;
    a.as_customer("GET", path, &other, MARIA)
        .header("x-account", "lojademo")
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    a.as_customer("GET", path, &t, MARIA)
        .header("x-account", "lojademo")
        .send()
        .await
        .expect(200);
    // A seller token is not an identification token.
    let seller = a.seller_token("lojademo", BRAVO);
    a.as_customer("GET", path, &seller, MARIA)
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    // Past 12 hours the token is dead.
    a.clock.advance(12 * 3600 * 1000 + 60_000);
    a.as_customer("GET", path, &t, MARIA)
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
}

// ---- the conversation round trip ------------------------------------------------------------

both_stores!(
    threads = 2;
    identification_tokens_are_issued_per_call,
    identification_tokens_need_a_scoped_app_token_and_a_paid_tier,
    identification_tokens_validate_input,
    customers_are_verified_strictly,
);
