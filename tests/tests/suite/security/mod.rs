//! Regression tests for the holes a security review found (issue 18), over HTTP (and the queue)
//! on both stores: each fails on the code before the fix. Session and impersonation credentials,
//! the audit trail's inputs, session size, moderation of every user-written field, names, the
//! SSRF guard's spellings, bounded list reads and the healing of a failed enqueue.

mod moderation;
mod writes;

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

// Helpers of `moderation` and `writes`.

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
