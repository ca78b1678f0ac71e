//! Regression tests for the holes a security review found (issue 18), over HTTP (and the queue)
//! on both stores: each fails on the code before the fix. Session and impersonation credentials,
//! the audit trail's inputs, session size, moderation of every user-written field, names, the
//! SSRF guard's spellings, bounded list reads and the healing of a failed enqueue.

use balcao::domain::model::Operator;
use balcao_tests::{
    audit_trail as audit, both_stores, operator_token, spawn_app, Res, StoreKind, TestApp,
    DEMO_APP_TOKEN,
};
use balcao_tests::{ACME, BRAVO, JOAO, MARIA};
use serde_json::{json, Value};

const ANA: &str = "ana.televendas@lojademo.com.br";
const MARIA_ID: &str = "01JD3M0C00000000000000C001";
const CONVERSATION: &str = "01JD3M0C00000000000000V001";

fn ana(app: &TestApp) -> String {
    operator_token(app, "lojademo", ANA, 3600)
}

fn wants(email: &str) -> Value {
    json!({"public": {"vtex-impersonated-customer-email": {"value": email}}})
}

fn session_cookie(r: &Res) -> String {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("vtex_session="))
        .unwrap_or_else(|| panic!("no vtex_session cookie: {:?}", r.headers))
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// Ana starts impersonating `email` in a new session; the session's cookie.
async fn start(app: &TestApp, email: &str) -> String {
    let r = app
        .call("POST", "/api/sessions")
        .bearer(&ana(app))
        .json(&wants(email))
        .send()
        .await;
    assert_eq!(
        r.expect(201)["namespaces"]["impersonate"]["storeUserEmail"],
        json!({"value": email}),
        "{}",
        r.body
    );
    session_cookie(&r)
}

async fn session_items(app: &TestApp, cookie: &str, token: Option<&str>) -> Value {
    let mut call = app
        .call("GET", "/api/sessions?items=*")
        .header("cookie", cookie);
    if let Some(t) = token {
        call = call.bearer(t);
    }
    call.send().await.expect(200)["namespaces"].clone()
}

// ---- 3. impersonation needs the operator's credential on the request that uses it ----------

both_stores!(impersonation_does_not_restart_from_the_cookie);
async fn impersonation_does_not_restart_from_the_cookie(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    let cookie = start(&app, MARIA).await;
    // Ana stops (empty e-mail, with her credential).
    let r = app
        .call("PATCH", "/api/sessions")
        .header("cookie", &cookie)
        .bearer(&ana(&app))
        .json(&wants(""))
        .send()
        .await;
    assert!(r.expect(200)["namespaces"]["impersonate"]
        .get("storeUserId")
        .is_none());
    // Whoever holds only the cookie cannot start again, as anyone.
    let r = app
        .call("PATCH", "/api/sessions")
        .header("cookie", &cookie)
        .json(&wants(JOAO))
        .send()
        .await;
    let ns = r.expect(200)["namespaces"].clone();
    assert!(ns["impersonate"].get("storeUserId").is_none(), "{ns}");
    assert_eq!(
        ns["impersonate"]["canImpersonate"],
        json!({"value": "false"})
    );
    assert!(ns.get("authentication").is_none(), "{ns}");
    // Nor through the cookie of the same name.
    let r = app
        .call("PATCH", "/api/sessions")
        .header(
            "cookie",
            &format!("{cookie}; vtex-impersonated-customer-email=joao%40example.com"),
        )
        .json(&json!({}))
        .send()
        .await;
    assert!(r.expect(200)["namespaces"]["impersonate"]
        .get("storeUserId")
        .is_none());
    let trail = audit(&app).await;
    let actions: Vec<&str> = trail
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["STOP", "START"], "{trail:?}");
}

both_stores!(every_use_of_an_impersonation_needs_the_credential);
async fn every_use_of_an_impersonation_needs_the_credential(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    let path = format!("/v0/customer/conversations/{CONVERSATION}/messages");
    // With the credential the chat works.
    let cookie = start(&app, MARIA).await;
    app.call("GET", &path)
        .header("cookie", &cookie)
        .bearer(&ana(&app))
        .send()
        .await
        .expect(200);
    // The cookie alone is refused, and ends the impersonation.
    app.call("POST", &path)
        .header("cookie", &cookie)
        .json(&json!({"content": "Oi"}))
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    app.call("GET", &path)
        .header("cookie", &cookie)
        .bearer(&ana(&app))
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    let ns = session_items(&app, &cookie, Some(&ana(&app))).await;
    assert!(ns["impersonate"].get("storeUserId").is_none(), "{ns}");
    let ended = &audit(&app).await[0];
    assert_eq!(ended["action"], "STOP");
    assert_eq!(
        ended["reason"],
        "the request carried no operator credential of this account"
    );

    // An expired credential is refused and ends it too.
    let cookie = start(&app, MARIA).await;
    let expired = operator_token(&app, "lojademo", ANA, -120);
    app.call("GET", &path)
        .header("cookie", &cookie)
        .bearer(&expired)
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    let ns = session_items(&app, &cookie, Some(&ana(&app))).await;
    assert!(ns["impersonate"].get("storeUserId").is_none(), "{ns}");

    // A GET of the session without the credential ends it as well.
    let cookie = start(&app, MARIA).await;
    let ns = session_items(&app, &cookie, None).await;
    assert!(ns["impersonate"].get("storeUserId").is_none(), "{ns}");
    assert_eq!(
        session_items(&app, &cookie, Some(&ana(&app))).await["impersonate"]["storeUserId"],
        Value::Null
    );
    // Another operator of the account (even one with the permission) cannot use it.
    let cookie = start(&app, MARIA).await;
    app.store()
        .put_operator(&Operator {
            account: "lojademo".into(),
            email: "dora.televendas@lojademo.com.br".into(),
            name: "Dora".into(),
            televendas: true,
            admin: false,
        })
        .await
        .unwrap();
    let dora = operator_token(&app, "lojademo", "dora.televendas@lojademo.com.br", 3600);
    app.call("GET", &path)
        .header("cookie", &cookie)
        .bearer(&dora)
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
}

both_stores!(a_revoked_operator_cannot_use_another_accounts_token);
async fn a_revoked_operator_cannot_use_another_accounts_token(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    // Ana also works for outraloja, with Televendas there.
    app.store()
        .put_operator(&Operator {
            account: "outraloja".into(),
            email: ANA.into(),
            name: "Ana".into(),
            televendas: true,
            admin: false,
        })
        .await
        .unwrap();
    let cookie = start(&app, MARIA).await;
    // Revoked in lojademo.
    app.store()
        .put_operator(&Operator {
            account: "lojademo".into(),
            email: ANA.into(),
            name: "Ana".into(),
            televendas: false,
            admin: false,
        })
        .await
        .unwrap();
    let foreign = operator_token(&app, "outraloja", ANA, 3600);
    let path = format!("/v0/customer/conversations/{CONVERSATION}/messages");
    app.call("POST", &path)
        .header("cookie", &cookie)
        .bearer(&foreign)
        .json(&json!({"content": "Fechado então"}))
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    app.call("GET", &path)
        .header("cookie", &cookie)
        .bearer(&ana(&app))
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    assert!(audit(&app).await.iter().all(|e| e["action"] != "MESSAGE"));
}

both_stores!(session_ids_rotate_when_an_operator_arrives);
async fn session_ids_rotate_when_an_operator_arrives(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    // An attacker's anonymous session, planted in the operator's browser.
    let r = app
        .call("POST", "/api/sessions")
        .json(&json!({"public": {"utm": {"value": "x"}}}))
        .send()
        .await;
    let planted = session_cookie(&r);
    let planted_id = r.body["id"].as_str().unwrap().to_owned();
    // The operator logs in and impersonates in it: the session gets a new id.
    let r = app
        .call("POST", "/api/sessions")
        .header("cookie", &planted)
        .bearer(&ana(&app))
        .json(&wants(MARIA))
        .send()
        .await;
    let body = r.expect(201).clone();
    assert_eq!(
        body["namespaces"]["impersonate"]["storeUserId"],
        json!({"value": MARIA_ID})
    );
    let fresh = session_cookie(&r);
    assert_ne!(fresh, planted);
    assert_ne!(body["id"].as_str().unwrap(), planted_id);
    assert_eq!(body["namespaces"]["public"]["utm"], json!({"value": "x"}));
    // The planted id is gone.
    app.call("GET", "/api/sessions?items=*")
        .header("cookie", &planted)
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    assert_eq!(audit(&app).await[0]["session_id"], body["id"]);
    // A later switch rotates again.
    let r = app
        .call("PATCH", "/api/sessions")
        .header("cookie", &fresh)
        .bearer(&ana(&app))
        .json(&wants(JOAO))
        .send()
        .await;
    assert_ne!(session_cookie(&r), fresh);
}

// ---- 6. no unauthenticated writes to an account's audit trail ------------------------------

both_stores!(refusals_without_a_credential_are_not_audited);
async fn refusals_without_a_credential_are_not_audited(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    let junk = "x".repeat(2000);
    for _ in 0..5 {
        app.call("POST", "/api/sessions")
            .header("x-account", "lojademo")
            .json(&wants(&junk))
            .send()
            .await
            .expect(201);
    }
    assert!(audit(&app).await.is_empty());
    // A credentialed refusal is audited, but stores only a validated e-mail.
    app.call("POST", "/api/sessions")
        .bearer(&ana(&app))
        .json(&wants(&junk))
        .send()
        .await
        .expect(201);
    let trail = audit(&app).await;
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0]["action"], "REFUSED");
    assert!(trail[0].get("customer").is_none(), "{}", trail[0]);
    assert!(!trail[0].to_string().contains("xxxx"));
}

// ---- 7. a session's size is bounded over all requests ---------------------------------------

both_stores!(sessions_do_not_grow_without_bound);
async fn sessions_do_not_grow_without_bound(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    let r = app
        .call("POST", "/api/sessions")
        .header("x-account", "lojademo")
        .json(&json!({}))
        .send()
        .await;
    let cookie = session_cookie(&r);
    let mut refused = None;
    for round in 0..20 {
        let public: serde_json::Map<String, Value> = (0..64)
            .map(|i| (format!("k{round}-{i}"), json!({"value": "v".repeat(900)})))
            .collect();
        let r = app
            .call("PATCH", "/api/sessions")
            .header("cookie", &cookie)
            .json(&json!({ "public": public }))
            .send()
            .await;
        if r.status != 200 {
            r.expect_error(400, "VALIDATION_ERROR");
            refused = Some(round);
            break;
        }
    }
    assert_eq!(
        refused,
        Some(0),
        "64 values of 900 bytes pass the 16 KiB cap"
    );
    // Small writes add up to the key cap, and then are refused too; the session stays usable.
    let mut ok = 0;
    for i in 0..70 {
        let r = app
            .call("PATCH", "/api/sessions")
            .header("cookie", &cookie)
            .json(&json!({"public": {format!("key{i}"): {"value": "1"}}}))
            .send()
            .await;
        if r.status == 200 {
            ok += 1;
        } else {
            r.expect_error(400, "VALIDATION_ERROR");
        }
    }
    assert_eq!(ok, 64);
    let ns = session_items(&app, &cookie, None).await;
    assert_eq!(ns["public"].as_object().unwrap().len(), 64);
}

#[tokio::test]
async fn the_embedded_store_evicts_expired_sessions() {
    use balcao::domain::model::Session;
    use balcao::store::SessionStore;
    let store = balcao::store::memory::MemoryStore::new();
    let session = |i: usize, valid_until: i64| Session {
        id: format!("01JD3M0C000000000000{i:06}"),
        account: "lojademo".into(),
        public: Default::default(),
        admin_user_email: None,
        impersonation_input: None,
        impersonation: None,
        created_at: 1_000,
        valid_until,
    };
    for i in 0..3000 {
        store.put_session(&session(i, 2_000)).await.unwrap();
    }
    // Time passes (the store learns it from reads), and later writes sweep the expired ones.
    assert!(store
        .get_session(&session(0, 0).id, 5_000)
        .await
        .unwrap()
        .is_none());
    for i in 3000..5000 {
        store.put_session(&session(i, 9_000)).await.unwrap();
    }
    let held = store.session_count().await;
    assert!(held <= 2000, "{held} sessions held, 3000 of them expired");
    assert!(store
        .get_session(&session(4999, 0).id, 5_000)
        .await
        .unwrap()
        .is_some());
}

// ---- 11. the seed's own request works on the store's host -----------------------------------

both_stores!(sessions_on_the_stores_own_host);
async fn sessions_on_the_stores_own_host(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    // The seed's request as written: no credential, no X-Account.
    let seed = r#"{"public": {"vtex-impersonated-customer-email": {"value": "client@gmail.com"},
                   "authentication": {"value": "operator@gmail.com"}}}"#;
    let r = app
        .call("POST", "/api/sessions")
        .raw("application/json", seed)
        .send()
        .await;
    let imp = r.expect(201)["namespaces"]["impersonate"].clone();
    assert_eq!(
        imp,
        json!({"canImpersonate": {"value": "false"}, "account": {"value": "lojademo"}})
    );
    // `{account}.localhost` names the store too (the local stack's base domain).
    let r = app
        .call("POST", "/api/sessions")
        .header("host", "outraloja.localhost")
        .raw("application/json", seed)
        .send()
        .await;
    assert_eq!(
        r.expect(201)["namespaces"]["impersonate"]["account"],
        json!({"value": "outraloja"})
    );
    // An unknown store is a 404, an unknown host a 400.
    app.call("POST", "/api/sessions")
        .header("host", "semloja.localhost")
        .raw("application/json", seed)
        .send()
        .await
        .expect_error(404, "NOT_FOUND");
    app.call("POST", "/api/sessions")
        .header("host", "example.com")
        .raw("application/json", seed)
        .send()
        .await
        .expect_error(400, "VALIDATION_ERROR");
    // The visitor-token path is unaffected.
    app.visitor_token(DEMO_APP_TOKEN, MARIA).await;
}

// ---- 1. every user-written field is moderated ------------------------------------------------

/// An identification token for `email`, asked for with `names` (e.g. `{}` for none).
async fn token_for(app: &TestApp, email: &str, names: Value) -> String {
    let mut body = names;
    body["email"] = json!(email);
    app.call("POST", balcao_tests::TOKEN_PATH)
        .bearer(DEMO_APP_TOKEN)
        .json(&body)
        .send()
        .await
        .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

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

// ---- 9. no message lost when queueing fails after the write ----------------------------------

/// A queue whose first send of a moderation job fails (SQS unavailable for a moment).
struct FailsOnce {
    inner: std::sync::Arc<dyn balcao::queue::Queue>,
    failed: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl balcao::queue::Queue for FailsOnce {
    async fn send(&self, queue: balcao::queue::QueueName, body: String) -> balcao::Result<()> {
        if queue == balcao::queue::QueueName::Moderation
            && !self.failed.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(balcao::Error::unexpected_msg("injected: SQS send failed"));
        }
        self.inner.send(queue, body).await
    }
    async fn send_delayed(
        &self,
        queue: balcao::queue::QueueName,
        body: String,
        delay: std::time::Duration,
    ) -> balcao::Result<()> {
        self.inner.send_delayed(queue, body, delay).await
    }
}

both_stores!(a_failed_enqueue_is_healed_by_the_sweeper);
async fn a_failed_enqueue_is_healed_by_the_sweeper(kind: StoreKind) {
    use balcao::domain::model::{ModerationStatus, Side};
    let Some(app) = balcao_tests::spawn_app_wrapping_queue(kind, |inner| {
        std::sync::Arc::new(FailsOnce {
            inner,
            failed: Default::default(),
        })
    })
    .await
    else {
        return;
    };
    let token = token_for(&app, MARIA, json!({"firstName": "Maria"})).await;
    // The message is stored; the job is not queued. The client still gets its 201: nothing for
    // it to retry (a retry without external_id would be a second message).
    let r = app
        .as_customer(
            "POST",
            &format!("/v0/customer/conversations/{CONVERSATION}/messages"),
            &token,
            MARIA,
        )
        .json(&json!({"content": "Vocês entregam no sábado?"}))
        .send()
        .await;
    let id = r.expect(201)["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let store = app.store();
    let waiting = store
        .get_message("lojademo", CONVERSATION, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        waiting.moderation.status,
        ModerationStatus::WaitingModeration
    );
    let sweeper = balcao::workers::sweeper::Sweeper::new(
        app.stack.app.store.clone(),
        app.stack.app.queue.clone(),
        app.stack.app.clock.clone(),
    );
    assert_eq!(
        sweeper.run_once().await.unwrap(),
        0,
        "not yet: it may still be on its way"
    );
    app.clock.advance(3 * 60 * 1000);
    assert_eq!(sweeper.run_once().await.unwrap(), 1);
    let decided = app.moderated("lojademo", CONVERSATION, &id).await;
    assert_eq!(decided.moderation.status, ModerationStatus::Approved);
    // Decided once, and the marker went with the decision: the next sweep finds nothing.
    assert_eq!(sweeper.run_once().await.unwrap(), 0);
    let page = balcao::store::PageRequest {
        limit: 100,
        ..Default::default()
    };
    let all = store
        .list_messages("lojademo", CONVERSATION, Side::Customer, &page)
        .await
        .unwrap();
    let copies = all
        .items
        .iter()
        .filter(|m| m.content == "Vocês entregam no sábado?")
        .count();
    assert_eq!(copies, 1, "no duplicate");
    let seller = app.seller_token("lojademo", ACME);
    app.call(
        "GET",
        &format!("/v0/conversations/{CONVERSATION}/messages/{id}"),
    )
    .bearer(&seller)
    .send()
    .await
    .expect(200);
}

// ---- 10. the subscription cap holds under concurrent requests --------------------------------

both_stores!(the_subscription_cap_is_a_condition_of_the_write);
async fn the_subscription_cap_is_a_condition_of_the_write(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    let app = std::sync::Arc::new(app);
    let post = |app: std::sync::Arc<TestApp>, seller: String, i: usize| async move {
        let r = app
            .call("POST", "/v0/webhooks")
            .bearer(&seller)
            .json(&json!({"url": format!("http://127.0.0.1:9/hook-{i}")}))
            .send()
            .await;
        if r.status != 201 {
            r.expect_error(409, "CONFLICT");
        }
        (r.status, r.body["id"].as_str().map(str::to_owned))
    };
    let seller = app.seller_token("lojademo", ACME);
    let mut created = Vec::new();
    if kind == StoreKind::Embedded {
        // Twenty at once: exactly ten pass.
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..20 {
            tasks.spawn(post(app.clone(), seller.clone(), i));
        }
        while let Some(done) = tasks.join_next().await {
            if let (201, Some(id)) = done.unwrap() {
                created.push(id);
            }
        }
    } else {
        // moto does not serialise concurrent transactions as DynamoDB does, so the race itself
        // is shown on the embedded store; here, that the cap is the write's own condition and
        // not a read before it: a counter at the cap refuses a seller whose list reads empty.
        let store = app.stack.dynamo.as_ref().unwrap();
        let sdk = balcao::config::aws_config().await;
        aws_sdk_dynamodb::Client::new(&sdk)
            .put_item()
            .table_name(store.table())
            .item(
                "PK",
                aws_sdk_dynamodb::types::AttributeValue::S("ACCOUNT#lojademo".into()),
            )
            .item(
                "SK",
                aws_sdk_dynamodb::types::AttributeValue::S("WEBHOOKCOUNT#seller-bravo".into()),
            )
            .item(
                "subscriptions",
                aws_sdk_dynamodb::types::AttributeValue::N("10".into()),
            )
            .send()
            .await
            .unwrap();
        let bravo = app.seller_token("lojademo", BRAVO);
        assert_eq!(post(app.clone(), bravo, 0).await.0, 409);
        for i in 0..12 {
            if let (201, Some(id)) = post(app.clone(), seller.clone(), i).await {
                created.push(id);
            }
        }
    }
    assert_eq!(created.len(), 10, "at most 10 subscriptions per seller");
    let list = app.call("GET", "/v0/webhooks").bearer(&seller).send().await;
    assert_eq!(list.expect(200)["results"].as_array().unwrap().len(), 10);
    // Deleting one frees its place, once.
    let id = &created[0];
    app.call("DELETE", &format!("/v0/webhooks/{id}"))
        .bearer(&seller)
        .send()
        .await
        .expect(204);
    app.call("DELETE", &format!("/v0/webhooks/{id}"))
        .bearer(&seller)
        .send()
        .await
        .expect_error(404, "NOT_FOUND");
    assert_eq!(post(app.clone(), seller.clone(), 100).await.0, 201);
    assert_eq!(post(app.clone(), seller.clone(), 101).await.0, 409);
}

// ---- 8. posts are rate-limited per sender ----------------------------------------------------

both_stores!(posts_are_rate_limited_per_sender);
async fn posts_are_rate_limited_per_sender(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    let limit = balcao::api::PostLimits::default().customer_per_minute;
    // Start at the beginning of a minute of the test clock, so the window does not turn over.
    app.clock
        .advance(60_000 - app.clock.peek().rem_euclid(60_000));
    let token = token_for(&app, MARIA, json!({"firstName": "Maria"})).await;
    let path = format!("/v0/customer/conversations/{CONVERSATION}/messages");
    let post = |n: u32| {
        app.as_customer("POST", &path, &token, MARIA)
            .json(&json!({ "content": format!("mensagem {n}") }))
            .send()
    };
    for n in 0..limit {
        post(n).await.expect(201);
    }
    let r = post(limit).await;
    r.expect_error(429, "RATE_LIMITS");
    let after: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&after), "{after}");
    // Another sender is not held up by Maria's limit; the seller's is its own.
    let joao = token_for(&app, JOAO, json!({"firstName": "João"})).await;
    app.as_customer("GET", "/v0/customer/conversations", &joao, JOAO)
        .send()
        .await
        .expect(200);
    let seller = app.seller_token("lojademo", ACME);
    app.call(
        "POST",
        &format!("/v0/conversations/{CONVERSATION}/messages"),
    )
    .bearer(&seller)
    .json(&json!({"content": "Entregamos sim.", "owner": {"name": "Ana", "external_id": "ana-1"}}))
    .send()
    .await
    .expect(201);
    // Opening a conversation is a post too.
    app.as_customer("POST", "/v0/customer/conversations", &token, MARIA)
        .json(&json!({"seller_id": ACME, "tags": [{"name": "productId", "value": "NOVO-1"}], "content": "Oi"}))
        .send()
        .await
        .expect_error(429, "RATE_LIMITS");
    // The next minute it may post again; nothing refused was written.
    app.clock.advance(after as i64 * 1000);
    post(1000).await.expect(201);
    let page = balcao::store::PageRequest {
        limit: 100,
        ..Default::default()
    };
    let mine = app
        .store()
        .list_messages(
            "lojademo",
            CONVERSATION,
            balcao::domain::model::Side::Customer,
            &page,
        )
        .await
        .unwrap();
    let count = mine
        .items
        .iter()
        .filter(|m| m.content.starts_with("mensagem "))
        .count();
    assert_eq!(count, limit as usize + 1);
}
