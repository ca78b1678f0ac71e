//! Isolation and strictness: other sellers, customers and accounts get 404, seller tokens are verified strictly, bad input is a 4xx that writes nothing.

use super::*;

async fn other_sellers_customers_and_accounts_get_404(kind: StoreKind) {
    let Some(a) = app(kind).await else { return };
    let t = a.visitor_token(DEMO_APP_TOKEN, MARIA).await;
    let id = visible_conversation(&a, &t, "SKU-1").await;
    let msg = {
        let m = a
            .as_customer(
                "GET",
                &format!("/v0/customer/conversations/{id}/messages"),
                &t,
                MARIA,
            )
            .send()
            .await;
        first_message_id(m.expect(200))
    };
    let acme = a.seller_token("lojademo", ACME);
    let foreign_bravo = a.seller_token("outraloja", BRAVO);
    let reply = json!({"content": "oi", "owner": {"name": "x", "external_id": "x"}});
    for token in [&acme, &foreign_bravo] {
        a.call("GET", &format!("/v0/conversations/{id}"))
            .bearer(token)
            .send()
            .await
            .expect_error(404, "NOT_FOUND");
        a.call("GET", &format!("/v0/conversations/{id}/messages"))
            .bearer(token)
            .send()
            .await
            .expect_error(404, "NOT_FOUND");
        a.call("GET", &format!("/v0/conversations/{id}/messages/{msg}"))
            .bearer(token)
            .send()
            .await
            .expect_error(404, "NOT_FOUND");
        a.call("POST", &format!("/v0/conversations/{id}/messages"))
            .bearer(token)
            .json(&reply)
            .send()
            .await
            .expect_error(404, "NOT_FOUND");
        a.call("PATCH", &format!("/v0/conversations/{id}/read_by"))
            .bearer(token)
            .send()
            .await
            .expect_error(404, "NOT_FOUND");
        a.call("PATCH", &format!("/v0/conversations/{id}"))
            .bearer(token)
            .json(&json!({"status": "CLOSED"}))
            .send()
            .await
            .expect_error(404, "NOT_FOUND");
        let list = a
            .call("GET", "/v0/conversations")
            .bearer(token)
            .send()
            .await;
        let ids: Vec<&str> = list.expect(200)["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert!(
            !ids.contains(&id.as_str()),
            "another seller lists it: {ids:?}"
        );
    }
    // Another customer of the same account, and the same e-mail in another account.
    let joao = a.visitor_token(DEMO_APP_TOKEN, JOAO).await;
    let maria_elsewhere = a.visitor_token(OTHER_ACCOUNT_APP_TOKEN, MARIA).await;
    for (tok, email) in [(&joao, JOAO), (&maria_elsewhere, MARIA)] {
        a.as_customer(
            "GET",
            &format!("/v0/customer/conversations/{id}"),
            tok,
            email,
        )
        .send()
        .await
        .expect_error(404, "NOT_FOUND");
        a.as_customer(
            "GET",
            &format!("/v0/customer/conversations/{id}/messages"),
            tok,
            email,
        )
        .send()
        .await
        .expect_error(404, "NOT_FOUND");
        a.as_customer(
            "POST",
            &format!("/v0/customer/conversations/{id}/messages"),
            tok,
            email,
        )
        .json(&json!({"content": "oi"}))
        .send()
        .await
        .expect_error(404, "NOT_FOUND");
        a.as_customer(
            "PATCH",
            &format!("/v0/customer/conversations/{id}/read_by"),
            tok,
            email,
        )
        .send()
        .await
        .expect_error(404, "NOT_FOUND");
        let list = a
            .as_customer("GET", "/v0/customer/conversations", tok, email)
            .send()
            .await;
        assert_eq!(list.expect(200)["results"], json!([]));
    }
    // A seller of another account cannot be reached, and bad ids are not found.
    a.as_customer("POST", "/v0/customer/conversations", &t, MARIA)
        .json(&json!({"seller_id": "seller-casa", "tags": [{"name": "productId", "value": "X"}], "content": "oi"}))
        .send()
        .await
        .expect_error(404, "NOT_FOUND");
    let seller = a.seller_token("lojademo", BRAVO);
    for bad in ["nope", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "%00", "..%2F..%2Fetc"] {
        a.call("GET", &format!("/v0/conversations/{bad}"))
            .bearer(&seller)
            .send()
            .await
            .expect_error(404, "NOT_FOUND");
    }
    a.call("GET", &format!("/v0/conversations/{id}/messages/nope"))
        .bearer(&seller)
        .send()
        .await
        .expect_error(404, "NOT_FOUND");
}

// ---- seller credentials ---------------------------------------------------------------------

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

async fn seller_tokens_are_verified_strictly(kind: StoreKind) {
    let Some(a) = app(kind).await else { return };
    let ok = a.seller_token("lojademo", BRAVO);
    a.call("GET", "/v0/conversations")
        .bearer(&ok)
        .send()
        .await
        .expect(200);
    a.call("GET", "/v0/conversations")
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    a.call("GET", "/v0/conversations")
        .header("authorization", &format!("Basic {ok}"))
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    let expired = a.seller_token_with(
        "lojademo",
        BRAVO,
        "services:conversations-seller:read",
        -120,
    );
    a.call("GET", "/v0/conversations")
        .bearer(&expired)
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    // Bad signature.
    let parts: Vec<&str> = ok.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], parts[1], "c2lnbmF0dXJl");
    a.call("GET", "/v0/conversations")
        .bearer(&forged)
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    // alg none, wrong audience, a string exp: all forged with valid-looking claims.
    let exp = a.clock.peek() / 1000 + 600;
    let claims = |aud: &str, exp: Value| {
        json!({"sub": "x", "account": "lojademo", "seller_id": BRAVO, "scope": "services:conversations-seller:read",
               "token_use": "seller", "iss": balcao::auth::LOCAL_ISSUER, "aud": aud, "exp": exp})
    };
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims(balcao::auth::LOCAL_AUDIENCE, exp.into()))
    );
    a.call("GET", "/v0/conversations")
        .bearer(&none)
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    let sign = |c: &Value| {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        h.kid = Some(balcao::auth::LOCAL_DEV_KID.into());
        jsonwebtoken::encode(
            &h,
            c,
            &jsonwebtoken::EncodingKey::from_secret(balcao::auth::LOCAL_DEV_SECRET.as_bytes()),
        )
        .unwrap()
    };
    a.call("GET", "/v0/conversations")
        .bearer(&sign(&claims("someone-else", exp.into())))
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    a.call("GET", "/v0/conversations")
        .bearer(&sign(&claims(
            balcao::auth::LOCAL_AUDIENCE,
            "99999999999".into(),
        )))
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    a.call("GET", "/v0/conversations")
        .bearer(&sign(&claims(balcao::auth::LOCAL_AUDIENCE, exp.into())))
        .send()
        .await
        .expect(200);
    // Scopes: read-only cannot write, no scope cannot read.
    let t = a.visitor_token(DEMO_APP_TOKEN, MARIA).await;
    let id = visible_conversation(&a, &t, "SKU-1").await;
    let read_only =
        a.seller_token_with("lojademo", BRAVO, "services:conversations-seller:read", 600);
    let r = a
        .call("POST", &format!("/v0/conversations/{id}/messages"))
        .bearer(&read_only)
        .json(&json!({"content": "oi", "owner": {"name": "a", "external_id": "b"}}))
        .send()
        .await;
    assert_eq!(
        r.expect_error(403, "MISSING_SCOPES")["errors"][0]["context"]["requiredScopes"],
        json!(["services:conversations-seller:write"])
    );
    a.call("PATCH", &format!("/v0/conversations/{id}/read_by"))
        .bearer(&read_only)
        .send()
        .await
        .expect_error(403, "MISSING_SCOPES");
    let no_scope = a.seller_token_with("lojademo", BRAVO, "", 600);
    a.call("GET", "/v0/conversations")
        .bearer(&no_scope)
        .send()
        .await
        .expect_error(403, "MISSING_SCOPES");
}

// ---- validation -----------------------------------------------------------------------------

async fn bad_input_is_a_4xx_and_writes_nothing(kind: StoreKind) {
    let Some(a) = app(kind).await else { return };
    let t = a.visitor_token(DEMO_APP_TOKEN, MARIA).await;
    let seller = a.seller_token("lojademo", BRAVO);
    let id = visible_conversation(&a, &t, "SKU-1").await;
    let post = format!("/v0/conversations/{id}/messages");
    let owner = json!({"name": "Ana", "external_id": "ana"});
    let cases = vec![
        (json!({"owner": owner}), "content"),
        (json!({"content": "   ", "owner": owner}), "content"),
        (
            json!({"content": "x".repeat(2201), "owner": owner}),
            "content",
        ),
        (json!({"content": 5, "owner": owner}), "content"),
        (json!({"content": "ok"}), "owner"),
        (
            json!({"content": "ok", "owner": {"name": "Ana"}}),
            "owner.external_id",
        ),
        (
            json!({"content": "ok", "owner": owner, "custom_fields": [{"name": "n".repeat(101), "value": "v"}]}),
            "custom_fields[0].name",
        ),
        (
            json!({"content": "ok", "owner": owner, "custom_fields": [{"name": "n", "value": "v".repeat(1501)}]}),
            "custom_fields[0].value",
        ),
        (
            json!({"content": "ok", "owner": owner, "attachments": ["http://insecure.example/x.png"]}),
            "attachments[0]",
        ),
        (
            json!({"content": "ok", "owner": owner, "attachments": vec!["https://cdn.example/x.png"; 11]}),
            "attachments",
        ),
        (
            json!({"content": "ok", "owner": owner, "external_id": "e".repeat(129)}),
            "external_id",
        ),
        (
            json!({"content": "ok", "owner": owner, "attachments": "https://x"}),
            "attachments",
        ),
        (json!(["not", "an", "object"]), "body"),
    ];
    for (body, field) in cases {
        let r = a
            .call("POST", &post)
            .bearer(&seller)
            .json(&body)
            .send()
            .await;
        let b = r.expect_error(400, "VALIDATION_ERROR");
        let fields: Vec<&str> = b["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["in"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&field),
            "{field} not in {fields:?} for {body}"
        );
    }
    // Exactly at the limits is fine.
    a.call("POST", &post)
        .bearer(&seller)
        .json(&json!({"content": "ç".repeat(2200), "owner": owner, "custom_fields": [{"name": "n".repeat(100), "value": "v".repeat(1500)}], "attachments": vec!["https://cdn.example/x.png"; 10]}))
        .send()
        .await
        .expect(201);
    a.call("POST", &post)
        .bearer(&seller)
        .raw("application/json", "{\"content\": ")
        .send()
        .await
        .expect_error(400, "VALIDATION_ERROR");
    a.call("POST", &post)
        .bearer(&seller)
        .raw("text/plain", "oi")
        .send()
        .await
        .expect_error(415, "UNSUPPORTED_MEDIA_TYPE");
    a.call("POST", &post)
        .bearer(&seller)
        .send()
        .await
        .expect_error(415, "UNSUPPORTED_MEDIA_TYPE");
    let huge = json!({"content": "ok", "owner": owner, "pad": "x".repeat(100_000)});
    a.call("POST", &post)
        .bearer(&seller)
        .json(&huge)
        .send()
        .await
        .expect_error(413, "PAYLOAD_TOO_LARGE");
    a.call("DELETE", &post)
        .bearer(&seller)
        .send()
        .await
        .expect_error(405, "METHOD_NOT_ALLOWED");
    // Opening a conversation.
    let open = |body: Value| {
        a.as_customer("POST", "/v0/customer/conversations", &t, MARIA)
            .json(&body)
    };
    for (body, field) in [
        (
            json!({"tags": [{"name": "productId", "value": "X"}], "content": "oi"}),
            "seller_id",
        ),
        (json!({"seller_id": BRAVO, "content": "oi"}), "tags"),
        (
            json!({"seller_id": BRAVO, "tags": [{"name": "color", "value": "blue"}], "content": "oi"}),
            "tags[0].name",
        ),
        (
            json!({"seller_id": BRAVO, "tags": [{"name": "productId", "value": "X"}, {"name": "productUrl", "value": "javascript:alert(1)"}], "content": "oi"}),
            "tags[1].value",
        ),
        (
            json!({"seller_id": BRAVO, "tags": [{"name": "productId", "value": "X"}]}),
            "content",
        ),
    ] {
        let r = open(body.clone()).send().await;
        let b = r.expect_error(400, "VALIDATION_ERROR");
        let fields: Vec<&str> = b["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["in"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&field),
            "{field} not in {fields:?} for {body}"
        );
    }
    // Nothing of the above was written.
    a.all_moderated("lojademo", &id).await;
    let msgs = a
        .call("GET", &format!("{post}?_limit=100"))
        .bearer(&seller)
        .send()
        .await;
    assert_eq!(msgs.expect(200)["meta"]["page"]["count"], 2);
    let mine = a
        .as_customer("GET", "/v0/customer/conversations", &t, MARIA)
        .send()
        .await;
    assert_eq!(
        mine.expect(200)["meta"]["page"]["count"],
        1 + 1,
        "+1: the fixture's conversation"
    );
    // Query strings.
    for q in [
        "_limit=0", "_limit=101", "_limit=x", "_offset=-1", "_offset=1001", "status=FOO", "_sort=price", "colour=red",
        "_after=bm9wZQ", "_after=%%%", "last_interaction_at_start=yesterday",
        "last_interaction_at_start=2026-11-21T00:00:00Z&last_interaction_at_end=2026-11-20T00:00:00Z", "_limit=1&_limit=2",
    ] {
        let r = a.call("GET", &format!("/v0/conversations?{q}")).bearer(&seller).send().await;
        r.expect_error(400, "VALIDATION_ERROR");
    }
    a.call("GET", &format!("{post}?_before=bm9wZQ"))
        .bearer(&seller)
        .send()
        .await
        .expect_error(400, "VALIDATION_ERROR");
}

// ---- paging ---------------------------------------------------------------------------------

both_stores!(
    threads = 2;
    other_sellers_customers_and_accounts_get_404,
    seller_tokens_are_verified_strictly,
    bad_input_is_a_4xx_and_writes_nothing,
);
