//! The session manager with telesales impersonation, over HTTP on the local stack, on both
//! stores: the seed's own example, every guard, cookie-only and body-only inputs, switching and
//! ending, expiry on the test clock, revocation, the audit trail, forged and foreign credentials,
//! and an operator writing in the chat as the customer.

use balcao::domain::model::Operator;
use balcao_tests::{
    audit_trail as audit, both_stores, operator_token, spawn_app, Res, StoreKind, TestApp,
};
use balcao_tests::{ACME, JOAO, MARIA};
use serde_json::{json, Value};

const ANA: &str = "ana.televendas@lojademo.com.br";
const BRUNO: &str = "bruno.atendimento@lojademo.com.br";
const ADMIN: &str = "admin@lojademo.com.br";
const CARLA: &str = "carla.televendas@outraloja.com.br";
const MARIA_ID: &str = "01JD3M0C00000000000000C001";
const CONVERSATION: &str = "01JD3M0C00000000000000V001";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

fn ana(app: &TestApp) -> String {
    operator_token(app, "lojademo", ANA, 3600)
}

/// The `vtex_session` cookie a response set.
fn session_cookie(r: &Res) -> String {
    let cookies: Vec<String> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let c = cookies
        .iter()
        .find(|c| c.starts_with("vtex_session="))
        .unwrap_or_else(|| panic!("no vtex_session cookie in {cookies:?}"));
    assert!(
        c.contains("HttpOnly") && c.contains("Secure") && c.contains("SameSite=Lax"),
        "{c}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with("vtex_segment=")),
        "{cookies:?}"
    );
    c.split(';').next().unwrap().to_owned()
}

fn impersonate_ns(body: &Value) -> &Value {
    &body["namespaces"]["impersonate"]
}

fn wants(email: &str) -> Value {
    json!({"public": {"vtex-impersonated-customer-email": {"value": email}}})
}

async fn start(app: &TestApp, token: &str, email: &str) -> (Res, String) {
    let r = app
        .call("POST", "/api/sessions")
        .bearer(token)
        .header("x-forwarded-for", "203.0.113.7")
        .header("user-agent", "televendas-toolbar/1.0")
        .json(&wants(email))
        .send()
        .await;
    r.expect(201);
    let cookie = session_cookie(&r);
    (r, cookie)
}

async fn get_items(app: &TestApp, cookie: &str, items: &str) -> Res {
    app.call("GET", &format!("/api/sessions?items={items}"))
        .header("cookie", cookie)
        .send()
        .await
}

/// A GET as the operator: the session cookie and the operator's own credential.
async fn get_as(app: &TestApp, cookie: &str, token: &str, items: &str) -> Res {
    app.call("GET", &format!("/api/sessions?items={items}"))
        .header("cookie", cookie)
        .bearer(token)
        .send()
        .await
}

both_stores!(the_seed_example_loads_nobody);
async fn the_seed_example_loads_nobody(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    // The seed's request, verbatim: an "authentication" entry inside public, no credential.
    let seed = r#"{
    "public": {
        "vtex-impersonated-customer-email": {
            "value": "client@gmail.com"
        },
        "authentication": {
            "value": "operator@gmail.com"
        }
    }
}"#;
    let r = app
        .call("POST", "/api/sessions")
        .header("x-account", "lojademo")
        .raw("application/json", seed)
        .send()
        .await;
    let body = r.expect(201).clone();
    session_cookie(&r);
    assert!(
        body["id"].is_string()
            && body["sessionToken"].is_string()
            && body["segmentToken"].is_string()
    );
    let imp = impersonate_ns(&body);
    assert_eq!(imp["canImpersonate"], json!({"value": "false"}));
    assert_eq!(imp["account"], json!({"value": "lojademo"}));
    assert!(imp.get("storeUserId").is_none() && imp.get("storeUserEmail").is_none());
    // The public namespace is echoed as sent, and trusted for nothing.
    assert_eq!(
        body["namespaces"]["public"]["authentication"],
        json!({"value": "operator@gmail.com"})
    );
    assert!(body["namespaces"].get("authentication").is_none());
    // Anyone may send that: nobody to hold to account, so nothing in the account's trail.
    assert!(audit(&app).await.is_empty());

    // The seed's response: the same request from an operator who may impersonate. The customer
    // `client@gmail.com` is not one of this store's, so nothing is loaded — and the namespaces are
    // the seed's example exactly, with this store's account.
    let r = app
        .call("POST", "/api/sessions")
        .bearer(&ana(&app))
        .raw("application/json", seed)
        .send()
        .await;
    let body = r.expect(201).clone();
    let seed_response: Value = serde_json::from_str(
        r#"{
        "public": {
            "vtex-impersonated-customer-email": {
                "value": "client@gmail.com"
            },
            "authentication": {
                "value": "operator@gmail.com"
            }
        },
        "impersonate": {
            "canImpersonate": {
                "value": "true"
            },
            "account" : {
                "value": "myStore"
            }
        }
    }"#,
    )
    .unwrap();
    let ns = &body["namespaces"];
    assert_eq!(ns["public"], seed_response["public"]);
    assert_eq!(
        ns["impersonate"]["canImpersonate"],
        seed_response["impersonate"]["canImpersonate"]
    );
    assert_eq!(ns["impersonate"]["account"], json!({"value": "lojademo"}));
    assert_eq!(ns["impersonate"].as_object().unwrap().len(), 2, "{ns}");
    // The seed's "authentication" inside public named operator@gmail.com; the one that counts
    // is the verified credential's.
    assert_eq!(
        ns["authentication"]["adminUserEmail"],
        json!({"value": ANA})
    );

    // The same with a known customer changes nothing: no credential, nobody loaded.
    let r = app
        .call("POST", "/api/sessions")
        .header("x-account", "lojademo")
        .json(&wants(MARIA))
        .send()
        .await;
    assert!(impersonate_ns(r.expect(201)).get("storeUserId").is_none());
    // The seed's request exactly as written: no credential, no X-Account. On the store's own
    // host (the local stack serves lojademo on 127.0.0.1) it is the store's session.
    let r = app
        .call("POST", "/api/sessions")
        .raw("application/json", seed)
        .send()
        .await;
    let imp = impersonate_ns(r.expect(201)).clone();
    assert_eq!(imp["canImpersonate"], json!({"value": "false"}));
    assert_eq!(imp["account"], json!({"value": "lojademo"}));
    assert!(imp.get("storeUserId").is_none());
    // On a host that is no store's there is nothing to attach the session to.
    app.call("POST", "/api/sessions")
        .header("host", "unknown.example.com")
        .json(&wants(MARIA))
        .send()
        .await
        .expect_error(400, "VALIDATION_ERROR");
    // Only Ana's credentialed request is in the trail.
    let trail = audit(&app).await;
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert_eq!(trail[0]["operator"], ANA);
}

both_stores!(an_operator_with_televendas_acts_as_a_customer);
async fn an_operator_with_televendas_acts_as_a_customer(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    let (r, cookie) = start(&app, &ana(&app), MARIA).await;
    let imp = impersonate_ns(&r.body);
    assert_eq!(imp["canImpersonate"], json!({"value": "true"}));
    assert_eq!(imp["storeUserId"], json!({"value": MARIA_ID}));
    assert_eq!(imp["storeUserEmail"], json!({"value": MARIA}));
    assert_eq!(
        r.body["namespaces"]["authentication"]["adminUserEmail"],
        json!({"value": ANA})
    );

    // GET with the cookie and Ana's credential, only the asked-for keys.
    let g = get_as(
        &app,
        &cookie,
        &ana(&app),
        "impersonate.storeUserEmail,impersonate.canImpersonate",
    )
    .await;
    let ns = g.expect(200)["namespaces"].clone();
    assert_eq!(
        ns,
        json!({"impersonate": {"storeUserEmail": {"value": MARIA}, "canImpersonate": {"value": "true"}}})
    );
    let all = get_as(&app, &cookie, &ana(&app), "*").await;
    assert!(all.expect(200)["namespaces"]["public"].is_object());
    get_as(&app, &cookie, &ana(&app), "")
        .await
        .expect_error(400, "VALIDATION_ERROR");

    // PATCH switches to another customer (with Ana's credential; the session id rotates), then
    // an empty e-mail ends the impersonation.
    let p = app
        .call("PATCH", "/api/sessions")
        .header("cookie", &cookie)
        .bearer(&ana(&app))
        .json(&wants(JOAO))
        .send()
        .await;
    assert_eq!(
        impersonate_ns(p.expect(200))["storeUserEmail"],
        json!({"value": JOAO})
    );
    let cookie = session_cookie(&p);
    let p = app
        .call("PATCH", "/api/sessions")
        .header("cookie", &cookie)
        .bearer(&ana(&app))
        .json(&wants(""))
        .send()
        .await;
    let imp = impersonate_ns(p.expect(200)).clone();
    assert!(imp.get("storeUserId").is_none(), "{imp}");
    assert_eq!(imp["canImpersonate"], json!({"value": "true"}));
    // PATCH needs the session cookie.
    app.call("PATCH", "/api/sessions")
        .json(&wants(MARIA))
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");

    let actions: Vec<String> = audit(&app)
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, vec!["STOP", "SWITCH", "START"], "newest first");
    let trail = audit(&app).await;
    let start = &trail[2];
    assert_eq!(start["operator"], ANA);
    assert_eq!(start["customer"], MARIA);
    assert_eq!(start["account"], "lojademo");
    assert_eq!(start["session_id"], r.body["id"]);
    // The connection's address: a client's X-Forwarded-For (203.0.113.7 here) is not believed.
    assert_eq!(start["client_ip"], "127.0.0.1");
    assert_eq!(start["user_agent"], "televendas-toolbar/1.0");
    assert!(start["at"].as_str().unwrap().ends_with('Z'));
}

both_stores!(cookie_only_inputs);
async fn cookie_only_inputs(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    // The operator credential in VtexIdclientAutCookie, the e-mail in its own cookie.
    let r = app
        .call("POST", "/api/sessions")
        .header(
            "cookie",
            &format!(
                "VtexIdclientAutCookie={}; vtex-impersonated-customer-email=maria%40example.com",
                ana(&app)
            ),
        )
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(
        impersonate_ns(r.expect(201))["storeUserEmail"],
        json!({"value": MARIA})
    );
}

both_stores!(guards);
async fn guards(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    // Without the permission: nothing is loaded.
    let bruno = operator_token(&app, "lojademo", BRUNO, 3600);
    let (r, _) = start(&app, &bruno, MARIA).await;
    assert_eq!(
        impersonate_ns(&r.body)["canImpersonate"],
        json!({"value": "false"})
    );
    assert!(impersonate_ns(&r.body).get("storeUserId").is_none());
    // Not an operator, not an admin, not another account's customer, not a stranger.
    for target in [
        BRUNO,
        ADMIN,
        ANA,
        "pedro@example.com",
        "ninguem@example.com",
        "not-an-email",
    ] {
        let (r, _) = start(&app, &ana(&app), target).await;
        assert!(
            impersonate_ns(&r.body).get("storeUserId").is_none(),
            "{target}: {}",
            r.body
        );
    }
    // An admin does not impersonate either.
    let admin = operator_token(&app, "lojademo", ADMIN, 3600);
    let (r, _) = start(&app, &admin, MARIA).await;
    assert!(impersonate_ns(&r.body).get("storeUserId").is_none());

    let trail = audit(&app).await;
    let reasons: Vec<&str> = trail.iter().filter_map(|e| e["reason"].as_str()).collect();
    assert!(
        reasons.contains(&"the operator does not have the Televendas permission"),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"operators and account admins cannot be impersonated"),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"no customer with this e-mail in this account"),
        "{reasons:?}"
    );
    assert!(trail.iter().all(|e| e["action"] == "REFUSED"), "{trail:?}");
    assert_eq!(trail.len(), 8);
}

both_stores!(expiry_and_revocation);
async fn expiry_and_revocation(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    // An impersonation ends a day after it started, on the next request.
    let long = operator_token(&app, "lojademo", ANA, 3 * 86_400);
    let (_, cookie) = start(&app, &long, MARIA).await;
    app.clock.advance(DAY_MS - 60_000);
    let g = get_as(&app, &cookie, &long, "impersonate.storeUserId").await;
    assert_eq!(
        g.expect(200)["namespaces"]["impersonate"]["storeUserId"],
        json!({"value": MARIA_ID})
    );
    app.clock.advance(120_000);
    let g = get_as(&app, &cookie, &long, "impersonate.storeUserId").await;
    assert_eq!(g.expect(200)["namespaces"], json!({}));
    assert_eq!(audit(&app).await[0]["action"], "EXPIRED");

    // Revoking Televendas ends every impersonation the operator holds at its next request.
    let (_, one) = start(&app, &ana(&app), MARIA).await;
    let (_, two) = start(&app, &ana(&app), JOAO).await;
    app.store()
        .put_operator(&Operator {
            account: "lojademo".into(),
            email: ANA.into(),
            name: "Ana (Televendas)".into(),
            televendas: false,
            admin: false,
        })
        .await
        .unwrap();
    for cookie in [&one, &two] {
        let g = get_as(
            &app,
            cookie,
            &ana(&app),
            "impersonate.storeUserId,impersonate.canImpersonate",
        )
        .await;
        assert_eq!(
            g.expect(200)["namespaces"],
            json!({"impersonate": {"canImpersonate": {"value": "false"}}})
        );
    }
    let trail = audit(&app).await;
    assert_eq!(trail.iter().filter(|e| e["action"] == "REVOKED").count(), 2);
    // And the chat refuses the session from then on.
    app.call("GET", "/v0/customer/conversations")
        .header("cookie", &one)
        .bearer(&ana(&app))
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");

    // The session itself lasts a week.
    app.clock.advance(8 * DAY_MS);
    get_items(&app, &one, "*")
        .await
        .expect_error(401, "UNAUTHORIZED");
}

both_stores!(forged_expired_and_foreign_credentials);
async fn forged_expired_and_foreign_credentials(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    let (_, cookie) = start(&app, &ana(&app), MARIA).await;
    // A session token signed with another key, or not a token at all.
    let forged = {
        let token = cookie.trim_start_matches("vtex_session=");
        let (head, _) = token.rsplit_once('.').unwrap();
        format!("vtex_session={head}.c2lnbmF0dXJl")
    };
    for bad in [forged.as_str(), "vtex_session=garbage"] {
        get_items(&app, bad, "*")
            .await
            .expect_error(401, "UNAUTHORIZED");
    }
    // A seller or visitor token is not an operator token; an expired one is refused.
    let seller = app.seller_token("lojademo", ACME);
    let expired = operator_token(&app, "lojademo", ANA, -120);
    for token in [seller.as_str(), expired.as_str(), "not.a.jwt"] {
        app.call("POST", "/api/sessions")
            .bearer(token)
            .json(&wants(MARIA))
            .send()
            .await
            .expect_error(401, "UNAUTHORIZED");
    }
    // Another account's operator cannot take over this session, nor impersonate here.
    let carla = operator_token(&app, "outraloja", CARLA, 3600);
    app.call("PATCH", "/api/sessions")
        .bearer(&carla)
        .header("cookie", &cookie)
        .json(&wants(MARIA))
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    let (r, _) = start(&app, &carla, MARIA).await;
    // Carla's Maria is outraloja's own customer: the account is the operator's.
    assert_eq!(
        impersonate_ns(&r.body)["account"],
        json!({"value": "outraloja"})
    );
    assert_eq!(
        impersonate_ns(&r.body)["storeUserId"],
        json!({"value": "01JD3M0C00000000000000C003"})
    );
    // Only an account admin reads the audit trail, and only their account's.
    app.call("GET", "/api/sessions/audit")
        .bearer(&ana(&app))
        .send()
        .await
        .expect_error(403, "FORBIDDEN");
    app.call("GET", "/api/sessions/audit")
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
    assert!(audit(&app).await.iter().all(|e| e["account"] == "lojademo"));
}

both_stores!(audit_pages);
async fn audit_pages(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    for who in [MARIA, JOAO, MARIA, JOAO, MARIA] {
        start(&app, &ana(&app), who).await;
    }
    let admin = operator_token(&app, "lojademo", ADMIN, 3600);
    let mut seen = Vec::new();
    let mut path = "/api/sessions/audit?_limit=2".to_owned();
    loop {
        let r = app.call("GET", &path).bearer(&admin).send().await;
        let body = r.expect(200).clone();
        let page = body["results"].as_array().unwrap().clone();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        match body["paging"]["next"]["after"].as_str() {
            Some(after) => path = format!("/api/sessions/audit?_limit=2&_after={after}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(seen, sorted, "newest first, no repeats");
    app.call("GET", "/api/sessions/audit?_limit=0")
        .bearer(&admin)
        .send()
        .await
        .expect_error(400, "VALIDATION_ERROR");
}

both_stores!(an_operator_writes_in_the_chat_as_the_customer);
async fn an_operator_writes_in_the_chat_as_the_customer(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    let (r, cookie) = start(&app, &ana(&app), MARIA).await;
    let session_id = r.body["id"].as_str().unwrap().to_owned();
    let posted = app
        .call(
            "POST",
            &format!("/v0/customer/conversations/{CONVERSATION}/messages"),
        )
        .header("cookie", &cookie)
        .bearer(&ana(&app))
        .json(&json!({"content": "Pode fechar o pedido com entrega expressa, por favor."}))
        .send()
        .await;
    let mid = posted.expect(201)["id"].as_str().unwrap().to_owned();
    let m = app.moderated("lojademo", CONVERSATION, &mid).await;
    assert_eq!(
        m.sender,
        balcao::domain::model::Side::Customer,
        "from_user is the customer"
    );
    let owner = m.owner.expect("the operator is the owner");
    // An opaque operator id, never the operator's internal e-mail.
    let ana_ref = balcao::domain::model::operator_ref("lojademo", ANA);
    assert_eq!(owner.external_id, ana_ref);
    assert!(ana_ref.starts_with("op_") && !ana_ref.contains('@'));
    // The seller sees it from Maria, written by Ana.
    let seller = app.seller_token("lojademo", ACME);
    let r = app
        .call(
            "GET",
            &format!("/v0/conversations/{CONVERSATION}/messages/{mid}"),
        )
        .bearer(&seller)
        .send()
        .await;
    let msg = r.expect(200).clone();
    assert_eq!(msg["from_user"]["id"], MARIA_ID, "{msg}");
    assert_eq!(
        msg["from_user"]["owner"]["external_id"],
        ana_ref.as_str(),
        "{msg}"
    );
    assert!(!msg.to_string().contains(ANA), "{msg}");
    // The audit trail links the message to the session and the operator.
    let trail = audit(&app).await;
    let written = trail
        .iter()
        .find(|e| e["action"] == "MESSAGE")
        .expect("a MESSAGE entry");
    assert_eq!(written["message_id"], mid.as_str());
    assert_eq!(written["conversation_id"], CONVERSATION);
    assert_eq!(written["session_id"], session_id.as_str());
    assert_eq!(written["operator"], ANA);
    assert_eq!(written["customer"], MARIA);
    // A session that impersonates nobody is not a customer.
    let (_, nobody) = start(&app, &ana(&app), "").await;
    app.call("GET", "/v0/customer/conversations")
        .header("cookie", &nobody)
        .bearer(&ana(&app))
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");
}

both_stores!(an_impersonated_socket_ends_with_the_impersonation);
/// A live socket opened in an impersonated session receives what the customer would, only from
/// the store's own site, and stops when the operator stops impersonating.
async fn an_impersonated_socket_ends_with_the_impersonation(kind: StoreKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    let (_, cookie) = start(&app, &ana(&app), MARIA).await;
    let auth = format!("Bearer {}", ana(&app));
    let own = format!("http://{}", app.addr);
    let refused = balcao_tests::live::connect(
        &app,
        &[
            ("cookie", &cookie),
            ("authorization", &auth),
            ("origin", "https://evil.example"),
        ],
    )
    .await;
    assert_eq!(
        refused.err().map(|(s, _)| s),
        Some(403),
        "another site's page"
    );
    let mut socket = balcao_tests::live::connect(
        &app,
        &[
            ("cookie", &cookie),
            ("authorization", &auth),
            ("origin", &own),
        ],
    )
    .await
    .unwrap_or_else(|(s, b)| panic!("refused: {s} {b}"));
    let seller = app.seller_token("lojademo", ACME);
    let reply = |text: &'static str| {
        let seller = seller.clone();
        let app = &app;
        async move {
            app.call(
                "POST",
                &format!("/v0/conversations/{CONVERSATION}/messages"),
            )
            .bearer(&seller)
            .json(&json!({"content": text, "owner": {"name": "Ana", "external_id": "ana"}}))
            .send()
            .await
            .expect(201)["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let first = reply("Chegou amanhã cedo.").await;
    socket
        .until(|f| f.iter().any(|f| f["message"]["id"] == first.as_str()))
        .await;
    app.call("PATCH", "/api/sessions")
        .header("cookie", &cookie)
        .bearer(&ana(&app))
        .json(&wants(""))
        .send()
        .await
        .expect(200);
    let second = reply("Mais alguma dúvida?").await;
    app.moderated("lojademo", CONVERSATION, &second).await;
    while let Some(f) = socket.next_within(500).await {
        assert_ne!(
            f["message"]["id"],
            second.as_str(),
            "a frame after the impersonation ended"
        );
    }
    let sockets = app.stack.app.live.sockets().unwrap();
    assert_eq!(sockets.count(), 0, "the server closed it");
}
