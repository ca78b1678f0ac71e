//! Issue 18, items 1 and 2: every user-written field is moderated; a customer without a name is never shown by their e-mail.

use super::*;

/// The block rules of a decided message, as `(tag, fields)`.
fn rules_of(m: &balcao::domain::model::Message) -> Vec<(String, Vec<String>)> {
    m.moderation
        .block_rules
        .iter()
        .map(|r| (r.tags.join(","), r.fields.clone()))
        .collect()
}

both_stores!(every_field_a_customer_writes_is_moderated);
async fn every_field_a_customer_writes_is_moderated(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    let token = token_for(&app, MARIA, json!({"firstName": "Maria"})).await;
    // The review's request, exactly.
    let r = app
        .as_customer("POST", "/v0/customer/conversations", &token, MARIA)
        .json(&json!({
            "seller_id": ACME,
            "display_name": "me liga 11 98765-4321",
            "tags": [{"name": "productId", "value": "GEL-1"},
                     {"name": "productTitle", "value": "cpf 529.982.247-25"}],
            "content": "Oi, tudo bem?",
            "custom_fields": [{"name": "zap", "value": "meu cpf 529.982.247-25 e zap 11 98765-4321"}],
            "attachments": ["https://bit.ly/contato-fora"]
        }))
        .send()
        .await;
    let conv = r.expect(201)["id"].as_str().unwrap().to_owned();
    let first = r.body["last_message"]["id"].as_str().map(str::to_owned);
    let store = app.store();
    let page = balcao::store::PageRequest {
        limit: 10,
        ..Default::default()
    };
    let msgs = store
        .list_messages(
            "lojademo",
            &conv,
            balcao::domain::model::Side::Customer,
            &page,
        )
        .await
        .unwrap();
    let mid = first.unwrap_or_else(|| msgs.items[0].id.clone());
    let m = app.moderated("lojademo", &conv, &mid).await;
    assert_eq!(
        m.moderation.status,
        balcao::domain::model::ModerationStatus::Rejected
    );
    assert_eq!(
        rules_of(&m),
        vec![
            (
                "CPF".to_owned(),
                vec![
                    "custom_fields[0].value".to_owned(),
                    "tags[1].value".to_owned()
                ]
            ),
            (
                "PHONE".to_owned(),
                vec![
                    "custom_fields[0].value".to_owned(),
                    "display_name".to_owned()
                ]
            ),
            ("LINK".to_owned(), vec!["attachments[0]".to_owned()]),
        ]
    );
    // The customer sees why, on the wire too.
    let r = app
        .as_customer(
            "GET",
            &format!("/v0/customer/conversations/{conv}/messages/{mid}"),
            &token,
            MARIA,
        )
        .send()
        .await;
    assert_eq!(
        r.expect(200)["moderation"]["block_rules"][2],
        json!({"reason": "A mensagem contém um link externo", "tags": ["LINK"], "fields": ["attachments[0]"]})
    );
    // Nothing of it reaches the seller.
    let seller = app.seller_token("lojademo", ACME);
    app.call("GET", &format!("/v0/conversations/{conv}"))
        .bearer(&seller)
        .send()
        .await
        .expect_error(404, "NOT_FOUND");
    let list = app
        .call("GET", "/v0/conversations?_limit=100")
        .bearer(&seller)
        .send()
        .await;
    assert!(!list.expect(200).to_string().contains("98765"));
    // A clean message later does not show the conversation's refused text either: it is
    // decided with every message until one is approved.
    let r = app
        .as_customer(
            "POST",
            &format!("/v0/customer/conversations/{conv}/messages"),
            &token,
            MARIA,
        )
        .json(&json!({"content": "Qual a voltagem?"}))
        .send()
        .await;
    let again = r.expect(201)["id"].as_str().unwrap().to_owned();
    let m = app.moderated("lojademo", &conv, &again).await;
    assert_eq!(
        rules_of(&m),
        vec![
            ("CPF".to_owned(), vec!["tags[1].value".to_owned()]),
            ("PHONE".to_owned(), vec!["display_name".to_owned()]),
        ]
    );
    app.call("GET", &format!("/v0/conversations/{conv}"))
        .bearer(&seller)
        .send()
        .await
        .expect_error(404, "NOT_FOUND");

    // Fields one at a time on a clean conversation: each trips its rule alone, and an
    // attachment on the account's allowed domain passes.
    let ok = app
        .open(&token, MARIA, ACME, "GEL-2", "Tem na cor branca?")
        .await;
    app.all_moderated("lojademo", &ok).await;
    for (body, want) in [
        (
            json!({"content": "segue", "attachments": ["https://lojademo.com.br/manual.pdf"]}),
            vec![],
        ),
        (
            json!({"content": "segue", "attachments": ["https://bit.ly/x"]}),
            vec![("LINK".to_owned(), vec!["attachments[0]".to_owned()])],
        ),
        (
            json!({"content": "ok", "custom_fields": [{"name": "email maria@gmail.com", "value": "x"}]}),
            vec![("EMAIL".to_owned(), vec!["custom_fields[0].name".to_owned()])],
        ),
    ] {
        let r = app
            .as_customer(
                "POST",
                &format!("/v0/customer/conversations/{ok}/messages"),
                &token,
                MARIA,
            )
            .json(&body)
            .send()
            .await;
        let id = r.expect(201)["id"].as_str().unwrap().to_owned();
        assert_eq!(
            rules_of(&app.moderated("lojademo", &ok, &id).await),
            want,
            "{body}"
        );
    }
}

both_stores!(a_sellers_owner_is_moderated);
async fn a_sellers_owner_is_moderated(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    let seller = app.seller_token("lojademo", ACME);
    let r = app
        .call("POST", &format!("/v0/conversations/{CONVERSATION}/messages"))
        .bearer(&seller)
        .json(&json!({"content": "Temos sim!",
                      "owner": {"name": "Ana, zap 11 98765-4321", "external_id": "ana@acme.com.br"}}))
        .send()
        .await;
    let id = r.expect(201)["id"].as_str().unwrap().to_owned();
    let m = app.moderated("lojademo", CONVERSATION, &id).await;
    assert_eq!(
        rules_of(&m),
        vec![
            ("EMAIL".to_owned(), vec!["owner.external_id".to_owned()]),
            ("PHONE".to_owned(), vec!["owner.name".to_owned()]),
        ]
    );
    // Maria never sees it.
    let token = token_for(&app, MARIA, json!({})).await;
    app.as_customer(
        "GET",
        &format!("/v0/customer/conversations/{CONVERSATION}/messages/{id}"),
        &token,
        MARIA,
    )
    .send()
    .await
    .expect_error(404, "NOT_FOUND");
}

// ---- 2. a customer without a name is never shown by their e-mail -----------------------------

both_stores!(customers_without_a_name_get_a_neutral_label);
async fn customers_without_a_name_get_a_neutral_label(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    let seller = app.seller_token("lojademo", ACME);
    let mut labels = Vec::new();
    for (email, names) in [
        ("leak@example.com", json!({})),
        ("leak2@example.com", json!({"firstName": "  "})),
        (
            "leak3@example.com",
            json!({"firstName": "leak3@example.com"}),
        ),
        (
            "leak4@example.com",
            json!({"firstName": "Bia", "lastName": "11 98765-4321"}),
        ),
        (
            "leak5@example.com",
            json!({"firstName": "cpf 529.982.247-25"}),
        ),
    ] {
        let token = token_for(&app, email, names).await;
        let conv = app
            .open(&token, email, ACME, "TV-55", "Tem garantia?")
            .await;
        app.all_moderated("lojademo", &conv).await;
        let r = app
            .call("GET", &format!("/v0/conversations/{conv}"))
            .bearer(&seller)
            .send()
            .await;
        let name = r.expect(200)["from_user"]["full_name"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(name.starts_with("Cliente "), "{email}: {name}");
        assert!(!r.body.to_string().contains("leak"), "{}", r.body);
        assert!(!r.body.to_string().contains("98765"), "{}", r.body);
        labels.push(name);
    }
    labels.sort();
    labels.dedup();
    assert_eq!(labels.len(), 5, "each contact its own label: {labels:?}");
    // A real name is kept.
    let token = token_for(
        &app,
        "bia@example.com",
        json!({"firstName": "Bia", "lastName": "Lima"}),
    )
    .await;
    let conv = app
        .open(&token, "bia@example.com", ACME, "TV-55", "Oi")
        .await;
    app.all_moderated("lojademo", &conv).await;
    let r = app
        .call("GET", &format!("/v0/conversations/{conv}"))
        .bearer(&seller)
        .send()
        .await;
    assert_eq!(r.expect(200)["from_user"]["full_name"], "Bia Lima");
}
