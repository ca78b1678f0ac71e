//! Paging: links followed both ways over a seller's messages and conversations.

use super::*;

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
    // Minutes later everything is settled: the cursor may pass it (see `settled_cursor`).
    a.clock.advance(6 * 60 * 1000);
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
    // The last page has no `next`, but its `meta.cursor` is where a client polls from: nothing
    // yet, then exactly what came after.
    let cursor = p2["meta"]["cursor"].as_str().unwrap().to_owned();
    assert_eq!(
        p1["meta"]["cursor"],
        p1["meta"]["links"]["next"]
            .as_str()
            .unwrap()
            .split("_after=")
            .nth(1)
            .unwrap()
    );
    let poll = |after: String| {
        let seller = seller.clone();
        let a = &a;
        async move {
            a.call(
                "GET",
                &format!("/v0/conversations/{conv}/messages?_after={after}"),
            )
            .bearer(&seller)
            .send()
            .await
            .expect(200)
            .clone()
        }
    };
    let empty = poll(cursor.clone()).await;
    assert_eq!(empty["results"], json!([]));
    assert_eq!(
        empty["meta"]["cursor"],
        cursor.as_str(),
        "an empty poll keeps its cursor"
    );
    a.call("POST", &format!("/v0/conversations/{conv}/messages"))
        .bearer(&seller)
        .json(&json!({"content": "resposta 6", "owner": {"name": "Ana", "external_id": "ana"}}))
        .send()
        .await
        .expect(201);
    let later = poll(cursor.clone()).await;
    assert_eq!(later["meta"]["page"]["count"], 1);
    assert_eq!(later["results"][0]["content"], "resposta 6");
    // A message of moments ago may still change (or another writer's, with a nearby id, may
    // still be committing): the cursor does not pass it yet, so polls see it again…
    assert_eq!(later["meta"]["cursor"], cursor.as_str());
    let ids: Vec<String> = later["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    a.all_moderated("lojademo", conv).await;
    // …until it settled.
    a.clock.advance(6 * 60 * 1000);
    let settled = poll(cursor).await;
    assert_eq!(settled["results"][0]["id"], ids[0].as_str());
    assert_ne!(settled["meta"]["cursor"], empty["meta"]["cursor"]);
    let after = poll(settled["meta"]["cursor"].as_str().unwrap().to_owned()).await;
    assert_eq!(after["results"], json!([]));
}

both_stores!(
    threads = 2;
    pages_follow_links_both_ways,
);
