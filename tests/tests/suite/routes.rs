//! The routes of `template.yaml`, the handlers' route lists and the local router are the same set:
//! every template route reaches a handler locally (never "route not found" or 405), and nothing
//! is served locally that the template does not deploy. The OpenAPI document
//! (`docs/openapi.json`, served at `/openapi.json`) documents exactly the API's routes: all of
//! them but the browser side's files.

use std::collections::BTreeSet;

use balcao_tests::{spawn_app, StoreKind};

/// (method, path) of every `Type: HttpApi` event in the template.
fn template_routes() -> BTreeSet<(String, String)> {
    let template = include_str!("../../../template.yaml");
    template
        .lines()
        .filter(|l| l.contains("ApiId: !Ref HttpApi"))
        .map(|l| {
            let field = |name: &str| {
                let at = l.find(name).unwrap_or_else(|| panic!("{name} in {l}")) + name.len();
                let rest = l[at..].trim_start();
                match rest.strip_prefix('"') {
                    Some(quoted) => quoted.split('"').next().unwrap().to_owned(),
                    None => rest.split([',', '}']).next().unwrap().trim().to_owned(),
                }
            };
            (field("Method:"), field("Path:"))
        })
        .collect()
}

fn handler_routes() -> BTreeSet<(String, String)> {
    let conversations = balcao::api::conversations::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()));
    let tokens = balcao::api::token_create::PATHS
        .iter()
        .map(|p| ("POST".to_owned(), p.to_string()));
    let webhooks = balcao::api::webhooks::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()));
    let sessions = balcao::api::sessions::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()));
    let assets = balcao::api::assets::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()));
    conversations
        .chain(tokens)
        .chain(webhooks)
        .chain(sessions)
        .chain(assets)
        .collect()
}

#[test]
fn the_template_deploys_exactly_the_routes_the_handlers_serve() {
    let template = template_routes();
    assert_eq!(template.len(), 27, "{template:?}");
    assert_eq!(template, handler_routes());
}

/// (method, path) of every operation of the OpenAPI document.
fn documented_routes(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .expect("operations")
                .keys()
                .filter(|m| m.as_str() != "parameters")
                .map(move |m| (m.to_ascii_uppercase(), path.clone()))
        })
        .collect()
}

#[test]
fn the_openapi_document_covers_exactly_the_api_routes() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../../../docs/openapi.json")).expect("valid JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let assets: BTreeSet<(String, String)> = balcao::api::assets::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let api: BTreeSet<_> = template_routes().difference(&assets).cloned().collect();
    assert_eq!(documented_routes(&doc), api);
    // Every operation answers the error envelope for each error it documents, names its
    // security, and every $ref resolves.
    let text = doc.to_string();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            assert!(op["security"].is_array(), "{method} {path}: no security");
            for (status, r) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/Error",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    for name in text.split("\"#/components/schemas/").skip(1) {
        let name = name.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling $ref {name}"
        );
    }
    assert!(doc["webhooks"]["conversationEvent"]["post"].is_object());
}

#[tokio::test]
async fn every_route_reaches_its_handler_on_the_local_stack() {
    let app = spawn_app(StoreKind::Embedded).await.unwrap();
    for (method, path) in handler_routes() {
        let concrete = path
            .replace("{id}", "01JD3M0C00000000000000V001")
            .replace("{message_id}", "01JD3M0C00000000000000M001")
            .replace("/widget/v1/{file}", "/widget/v1/balcao.js")
            .replace("/inbox/{file}", "/inbox/inbox.js");
        assert!(
            balcao_local::function_for(&concrete).is_some(),
            "{concrete}"
        );
        // Without credentials every served route answers 401: never the router's 404 or 405.
        let r = app.call(&method, &concrete).send().await;
        assert_ne!(r.status, 405, "{method} {concrete}: {}", r.body);
        assert!(
            !(r.status == 404 && r.body["message"] == "route not found"),
            "{method} {concrete} is not routed"
        );
        // Creating a session needs no credential (the storefront does it): its body is missing.
        // The browser side's files are public.
        let anonymous = method == "POST" && concrete == "/api/sessions";
        let public = concrete.starts_with("/widget/")
            || concrete.starts_with("/inbox")
            || concrete == "/openapi.json";
        let expected = match (anonymous, public) {
            (_, true) => 200,
            (true, _) => 415,
            _ => 401,
        };
        assert_eq!(r.status, expected, "{method} {concrete}: {}", r.body);
    }
    // And a method the template does not deploy is refused.
    app.call("DELETE", "/v0/conversations")
        .send()
        .await
        .expect_error(405, "METHOD_NOT_ALLOWED");
    app.call("GET", "/v0/unknown")
        .send()
        .await
        .expect_error(404, "NOT_FOUND");
}
