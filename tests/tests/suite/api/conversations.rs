//! The conversation lifecycle over HTTP: round trip, continuing a topic, idempotent replies, moderation hiding rejected messages, closing and reopening.

use super::*;

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

both_stores!(
    threads = 2;
    conversation_round_trip,
    asking_again_about_a_product_continues_the_conversation,
    replies_are_idempotent_on_external_id,
    moderation_hides_rejected_messages_from_the_recipient,
    closing_and_reopening,
);
