//! Black-box tests over HTTP against the local stack, each on the embedded store and on
//! DynamoDB/SQS (moto): every route, the auth failures, tenant isolation, validation, paging,
//! idempotency and the moderation round trip.

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

async fn conversation_round_trip(kind: StoreKind) {
    let Some(a) = app(kind).await else { return };
    let t = a.visitor_token(DEMO_APP_TOKEN, MARIA).await;
    let seller = a.seller_token("lojademo", BRAVO);
    let r = a
        .as_customer("POST", "/v0/customer/conversations", &t, MARIA)
        .json(&json!({
            "seller_id": BRAVO,
            "display_name": "Dúvida sobre a geladeira",
            "tags": [
                {"name": "productId", "value": "GEL-375"},
                {"name": "productTitle", "value": "Geladeira Frost Free 375 L"},
                {"name": "productImage", "value": "https://cdn.lojademo.com.br/gel.png"},
                {"name": "productUrl", "value": "https://lojademo.com.br/p/gel-375"}
            ],
            "content": "Essa geladeira vem com garantia estendida?",
            "custom_fields": [{"name": "canal", "value": "app"}]
        }))
        .send()
        .await;
    let conv = r.expect(201).clone();
    let id = conv["id"].as_str().unwrap().to_owned();
    assert_eq!(conv["status"], "OPENED");
    assert_eq!(conv["from_user"]["type"], "CUSTOMER");
    assert_eq!(conv["from_user"]["external_id"], "cust-1001");
    assert_eq!(conv["to_user"]["id"], BRAVO);
    assert_eq!(conv["identified_via"], "VISITOR_IDENTIFICATION");
    assert_eq!(
        conv["tags"][0],
        json!({"name": "productId", "value": "GEL-375"})
    );
    assert!(conv["created_at"].as_str().unwrap().ends_with('Z'));

    a.all_moderated("lojademo", &id).await;
    // The seller sees it now, with the counters moved by the approval.
    let list = a
        .call("GET", "/v0/conversations")
        .bearer(&seller)
        .send()
        .await;
    let list = list.expect(200);
    assert_eq!(list["meta"]["page"]["count"], 1);
    let c = &list["results"][0];
    assert_eq!(c["id"], id.as_str());
    assert_eq!(c["unread_to_count"], 1);
    assert_eq!(c["is_new_to"], true);
    assert_eq!(
        c["last_message"]["content"],
        "Essa geladeira vem com garantia estendida?"
    );
    assert!(c["last_interaction_at"].is_string());
    let msgs = a
        .call("GET", &format!("/v0/conversations/{id}/messages"))
        .bearer(&seller)
        .send()
        .await;
    let msgs = msgs.expect(200).clone();
    let first = first_message_id(&msgs);
    assert_eq!(msgs["results"][0]["moderation"]["status"], "APPROVED");
    assert_eq!(
        msgs["results"][0]["custom_fields"],
        json!([{"name": "canal", "value": "app"}])
    );
    let one = a
        .call("GET", &format!("/v0/conversations/{id}/messages/{first}"))
        .bearer(&seller)
        .send()
        .await;
    assert_eq!(one.expect(200)["to_user"]["id"], BRAVO);

    // The seller replies; the customer sees it once approved.
    let reply = a
        .call("POST", &format!("/v0/conversations/{id}/messages"))
        .bearer(&seller)
        .json(&json!({
            "content": "Sim! São 12 meses a mais pelo fabricante.",
            "external_id": "erp-msg-1",
            "owner": {"name": "Ana do Atendimento", "external_id": "ana-42"},
            "attachments": ["https://cdn.lojademo.com.br/garantia.pdf"]
        }))
        .send()
        .await;
    let reply = reply.expect(201).clone();
    assert_eq!(reply["external_id"], "erp-msg-1");
    assert_eq!(reply["from_user"]["type"], "SELLER");
    assert_eq!(
        reply["from_user"]["owner"],
        json!({"name": "Ana do Atendimento", "external_id": "ana-42"})
    );
    let reply_id = reply["id"].as_str().unwrap().to_owned();
    // Not yet visible to the customer.
    a.moderated("lojademo", &id, &reply_id).await;
    let cm = a
        .as_customer(
            "GET",
            &format!("/v0/customer/conversations/{id}/messages"),
            &t,
            MARIA,
        )
        .send()
        .await;
    let cm = cm.expect(200);
    assert_eq!(cm["meta"]["page"]["count"], 2);
    assert_eq!(cm["results"][1]["id"], reply_id.as_str());
    assert_eq!(
        cm["results"][1]["attachments"],
        json!(["https://cdn.lojademo.com.br/garantia.pdf"])
    );

    // Reading: the seller's counters reset; the customer message shows it read by the seller.
    let read = a
        .call("PATCH", &format!("/v0/conversations/{id}/read_by"))
        .bearer(&seller)
        .send()
        .await;
    let read = read.expect(200);
    assert_eq!(
        (
            read["unread_to_count"].as_i64(),
            read["is_new_to"].as_bool()
        ),
        (Some(0), Some(false))
    );
    assert_eq!(read["unread_from_count"], 1);
    let m = a
        .call("GET", &format!("/v0/conversations/{id}/messages/{first}"))
        .bearer(&seller)
        .send()
        .await;
    assert_eq!(m.expect(200)["read_by"], json!([BRAVO]));
    let cread = a
        .as_customer(
            "PATCH",
            &format!("/v0/customer/conversations/{id}/read_by"),
            &t,
            MARIA,
        )
        .send()
        .await;
    assert_eq!(cread.expect(200)["unread_from_count"], 0);
    let got = a
        .as_customer(
            "GET",
            &format!("/v0/customer/conversations/{id}"),
            &t,
            MARIA,
        )
        .send()
        .await;
    assert_eq!(got.expect(200)["id"], id.as_str());

    // Events were queued for the seller: the message and the conversation, new.
    let mut events = Vec::new();
    for _ in 0..200 {
        events = a.events().await;
        if events.len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let kinds: Vec<(String, String)> = events
        .iter()
        .map(|e| (e.data.domain.clone(), e.data.status.clone()))
        .collect();
    assert!(
        kinds.contains(&("message".into(), "NEW".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("conversation".into(), "NEW".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("message".into(), "UPDATED".into())),
        "{kinds:?}"
    );
    assert!(events
        .iter()
        .all(|e| e.seller_id == BRAVO && e.detail.conversation_id == id));
}

async fn asking_again_about_a_product_continues_the_conversation(kind: StoreKind) {
    let Some(a) = app(kind).await else { return };
    let t = a.visitor_token(DEMO_APP_TOKEN, MARIA).await;
    let first = a.open(&t, MARIA, BRAVO, "SKU-1", "Tem em inox?").await;
    let again = a
        .as_customer("POST", "/v0/customer/conversations", &t, MARIA)
        .json(&json!({"seller_id": BRAVO, "tags": [{"name": "productId", "value": "SKU-1"}], "content": "E em preto?"}))
        .send()
        .await;
    assert_eq!(again.expect(200)["id"], first.as_str());
    let msgs = a
        .as_customer(
            "GET",
            &format!("/v0/customer/conversations/{first}/messages"),
            &t,
            MARIA,
        )
        .send()
        .await;
    assert_eq!(msgs.expect(200)["meta"]["page"]["count"], 2);
    // Another product or another seller: another conversation.
    let other_product = a.open(&t, MARIA, BRAVO, "SKU-2", "E esse?").await;
    let other_seller = a.open(&t, MARIA, ACME, "SKU-1", "Vocês têm?").await;
    assert_ne!(first, other_product);
    assert_ne!(first, other_seller);
    let mine = a
        .as_customer("GET", "/v0/customer/conversations", &t, MARIA)
        .send()
        .await;
    assert_eq!(
        mine.expect(200)["meta"]["page"]["count"],
        3 + 1,
        "+1: the fixture's conversation"
    );
}

async fn replies_are_idempotent_on_external_id(kind: StoreKind) {
    let Some(a) = app(kind).await else { return };
    let t = a.visitor_token(DEMO_APP_TOKEN, MARIA).await;
    let seller = a.seller_token("lojademo", BRAVO);
    let id = visible_conversation(&a, &t, "SKU-1").await;
    let body = json!({"content": "Chega amanhã", "external_id": "erp-77", "owner": {"name": "Ana", "external_id": "ana"}});
    let r1 = a
        .call("POST", &format!("/v0/conversations/{id}/messages"))
        .bearer(&seller)
        .json(&body)
        .send()
        .await;
    let r2 = a
        .call("POST", &format!("/v0/conversations/{id}/messages"))
        .bearer(&seller)
        .json(&body)
        .send()
        .await;
    assert_eq!(r1.expect(201)["id"], r2.expect(201)["id"]);
    a.all_moderated("lojademo", &id).await;
    let msgs = a
        .call("GET", &format!("/v0/conversations/{id}/messages"))
        .bearer(&seller)
        .send()
        .await;
    assert_eq!(
        msgs.expect(200)["meta"]["page"]["count"],
        2,
        "one customer message, one reply"
    );
    // The same external id in another conversation of the same seller is a conflict.
    let other = visible_conversation(&a, &t, "SKU-2").await;
    a.call("POST", &format!("/v0/conversations/{other}/messages"))
        .bearer(&seller)
        .json(&body)
        .send()
        .await
        .expect_error(409, "CONFLICT");
    let msgs = a
        .call("GET", &format!("/v0/conversations/{other}/messages"))
        .bearer(&seller)
        .send()
        .await;
    assert_eq!(
        msgs.expect(200)["meta"]["page"]["count"],
        1,
        "nothing written"
    );
}

async fn moderation_hides_rejected_messages_from_the_recipient(kind: StoreKind) {
    let Some(a) = app(kind).await else { return };
    let t = a.visitor_token(DEMO_APP_TOKEN, MARIA).await;
    let seller = a.seller_token("lojademo", BRAVO);
    let id = visible_conversation(&a, &t, "SKU-1").await;
    let before = a
        .call("GET", &format!("/v0/conversations/{id}"))
        .bearer(&seller)
        .send()
        .await
        .expect(200)
        .clone();
    let r = a
        .as_customer(
            "POST",
            &format!("/v0/customer/conversations/{id}/messages"),
            &t,
            MARIA,
        )
        .json(&json!({"content": "meu cpf é 529.982.247-25, me liga 11 98765-4321"}))
        .send()
        .await;
    let bad = r.expect(201)["id"].as_str().unwrap().to_owned();
    let decided = a.moderated("lojademo", &id, &bad).await;
    assert_eq!(
        decided.moderation.status,
        balcao::domain::model::ModerationStatus::Rejected
    );
    // The sender sees why.
    let mine = a
        .as_customer(
            "GET",
            &format!("/v0/customer/conversations/{id}/messages/{bad}"),
            &t,
            MARIA,
        )
        .send()
        .await;
    let mine = mine.expect(200);
    assert_eq!(mine["moderation"]["status"], "REJECTED");
    let tags: Vec<&str> = mine["moderation"]["block_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tags"][0].as_str().unwrap())
        .collect();
    assert_eq!(tags, vec!["CPF", "PHONE"]);
    // The seller never does, and nothing moved.
    a.call("GET", &format!("/v0/conversations/{id}/messages/{bad}"))
        .bearer(&seller)
        .send()
        .await
        .expect_error(404, "NOT_FOUND");
    let list = a
        .call("GET", &format!("/v0/conversations/{id}/messages"))
        .bearer(&seller)
        .send()
        .await;
    assert_eq!(list.expect(200)["meta"]["page"]["count"], 1);
    let after = a
        .call("GET", &format!("/v0/conversations/{id}"))
        .bearer(&seller)
        .send()
        .await
        .expect(200)
        .clone();
    assert_eq!(before, after);
    // The account's own blocked words apply too.
    let r = a
        .as_customer(
            "POST",
            &format!("/v0/customer/conversations/{id}/messages"),
            &t,
            MARIA,
        )
        .json(&json!({"content": "no concorrente é mais barato"}))
        .send()
        .await;
    let word = r.expect(201)["id"].as_str().unwrap().to_owned();
    assert_eq!(
        a.moderated("lojademo", &id, &word)
            .await
            .moderation
            .block_rules[0]
            .tags,
        vec!["OFFENSIVE"]
    );
}

async fn closing_and_reopening(kind: StoreKind) {
    let Some(a) = app(kind).await else { return };
    let t = a.visitor_token(DEMO_APP_TOKEN, MARIA).await;
    let seller = a.seller_token("lojademo", BRAVO);
    let id = visible_conversation(&a, &t, "SKU-1").await;
    let closed = a
        .call("PATCH", &format!("/v0/conversations/{id}"))
        .bearer(&seller)
        .json(&json!({"status": "CLOSED"}))
        .send()
        .await;
    assert_eq!(closed.expect(200)["status"], "CLOSED");
    let body =
        json!({"content": "Mais alguma dúvida?", "owner": {"name": "Ana", "external_id": "ana"}});
    a.call("POST", &format!("/v0/conversations/{id}/messages"))
        .bearer(&seller)
        .json(&body)
        .send()
        .await
        .expect_error(409, "CONFLICT");
    let filtered = a
        .call("GET", "/v0/conversations?status=CLOSED")
        .bearer(&seller)
        .send()
        .await;
    assert_eq!(filtered.expect(200)["meta"]["page"]["count"], 1);
    // The customer writes: once approved, the conversation is open again.
    let r = a
        .as_customer(
            "POST",
            &format!("/v0/customer/conversations/{id}/messages"),
            &t,
            MARIA,
        )
        .json(&json!({"content": "Ainda tenho uma dúvida"}))
        .send()
        .await;
    let m = r.expect(201)["id"].as_str().unwrap().to_owned();
    a.moderated("lojademo", &id, &m).await;
    let c = a
        .call("GET", &format!("/v0/conversations/{id}"))
        .bearer(&seller)
        .send()
        .await;
    assert_eq!(c.expect(200)["status"], "OPENED");
    a.call("POST", &format!("/v0/conversations/{id}/messages"))
        .bearer(&seller)
        .json(&body)
        .send()
        .await
        .expect(201);
    a.call("PATCH", &format!("/v0/conversations/{id}"))
        .bearer(&seller)
        .json(&json!({"status": "closed"}))
        .send()
        .await
        .expect_error(400, "VALIDATION_ERROR");
    a.call("PATCH", &format!("/v0/conversations/{id}"))
        .bearer(&seller)
        .json(&json!({}))
        .send()
        .await
        .expect_error(400, "VALIDATION_ERROR");
}

// ---- isolation ------------------------------------------------------------------------------

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

async fn pages_follow_links_both_ways(kind: StoreKind) {
    let Some(a) = app(kind).await else { return };
    let t = a.visitor_token(DEMO_APP_TOKEN, MARIA).await;
    let joao = a.visitor_token(DEMO_APP_TOKEN, JOAO).await;
    let seller = a.seller_token("lojademo", BRAVO);
    let mut ids = Vec::new();
    for i in 0..12 {
        let (tok, email) = if i % 3 == 0 {
            (&joao, JOAO)
        } else {
            (&t, MARIA)
        };
        let id = a
            .open(tok, email, BRAVO, &format!("SKU-{i}"), "Tem disponível?")
            .await;
        a.all_moderated("lojademo", &id).await;
        ids.push(id);
    }
    ids.reverse(); // newest interaction first
    let mut seen = Vec::new();
    let mut link = Some("/v0/conversations?_limit=5".to_owned());
    let mut pages = Vec::new();
    while let Some(l) = link {
        let r = a.call("GET", &l).bearer(&seller).send().await;
        let b = r.expect(200).clone();
        assert_eq!(b["meta"]["page"]["limit"], 5);
        assert_eq!(b["meta"]["page"]["max_limit"], 100);
        seen.extend(
            b["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned()),
        );
        link = b["meta"]["links"]["next"].as_str().map(str::to_owned);
        pages.push(b);
    }
    assert_eq!(seen, ids);
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[2]["meta"]["page"]["offset"], 10);
    assert_eq!(pages[2]["meta"]["page"]["count"], 2);
    assert!(pages[0]["meta"]["links"]["previous"].is_null());
    // Back from the last page.
    let prev = pages[2]["meta"]["links"]["previous"]
        .as_str()
        .unwrap()
        .to_owned();
    let back = a.call("GET", &prev).bearer(&seller).send().await;
    let back = back.expect(200);
    assert_eq!(back["results"], pages[1]["results"]);
    assert_eq!(back["meta"]["page"]["offset"], 5);
    // A bare offset gives the same page.
    let off = a
        .call("GET", "/v0/conversations?_limit=5&_offset=5")
        .bearer(&seller)
        .send()
        .await;
    assert_eq!(off.expect(200)["results"], pages[1]["results"]);
    // Oldest first, and filters carried into the links.
    let asc = a
        .call(
            "GET",
            "/v0/conversations?_sort=last_interaction_at:asc&_limit=2",
        )
        .bearer(&seller)
        .send()
        .await;
    let asc = asc.expect(200);
    assert_eq!(asc["results"][0]["id"], ids[11].as_str());
    assert!(asc["meta"]["links"]["next"]
        .as_str()
        .unwrap()
        .contains("_sort=last_interaction_at%3Aasc"));
    let by_ref = a
        .call(
            "GET",
            "/v0/conversations?from_user_ref_key=cust-1002&_limit=100",
        )
        .bearer(&seller)
        .send()
        .await;
    let by_ref = by_ref.expect(200);
    assert_eq!(by_ref["meta"]["page"]["count"], 4);
    assert!(by_ref["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["from_user"]["external_id"] == "cust-1002"));
    let future = a
        .call(
            "GET",
            "/v0/conversations?last_interaction_at_start=2099-01-01T00:00:00Z",
        )
        .bearer(&seller)
        .send()
        .await;
    assert_eq!(future.expect(200)["results"], json!([]));
    // Messages page the same way.
    let conv = &ids[0];
    for i in 0..6 {
        a.call("POST", &format!("/v0/conversations/{conv}/messages"))
            .bearer(&seller)
            .json(&json!({"content": format!("resposta {i}"), "owner": {"name": "Ana", "external_id": "ana"}}))
            .send()
            .await
            .expect(201);
    }
    a.all_moderated("lojademo", conv).await;
    let p1 = a
        .call(
            "GET",
            &format!("/v0/conversations/{conv}/messages?_limit=4"),
        )
        .bearer(&seller)
        .send()
        .await;
    let p1 = p1.expect(200).clone();
    let next = p1["meta"]["links"]["next"].as_str().unwrap().to_owned();
    let p2 = a.call("GET", &next).bearer(&seller).send().await;
    let p2 = p2.expect(200);
    assert_eq!(p2["meta"]["page"]["count"], 3);
    assert!(p2["meta"]["links"]["next"].is_null());
    assert_eq!(p2["results"][2]["content"], "resposta 5");
}

both_stores!(
    threads = 2;
    identification_tokens_are_issued_per_call,
    identification_tokens_need_a_scoped_app_token_and_a_paid_tier,
    identification_tokens_validate_input,
    customers_are_verified_strictly,
    conversation_round_trip,
    asking_again_about_a_product_continues_the_conversation,
    replies_are_idempotent_on_external_id,
    moderation_hides_rejected_messages_from_the_recipient,
    closing_and_reopening,
    other_sellers_customers_and_accounts_get_404,
    seller_tokens_are_verified_strictly,
    bad_input_is_a_4xx_and_writes_nothing,
    pages_follow_links_both_ways,
);
