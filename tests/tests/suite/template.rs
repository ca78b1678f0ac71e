//! What on-call relies on, checked in `template.yaml`: every dead-letter queue has an alarm, and
//! the API has a 5xx alarm, all telling the alarm topic.

fn template() -> &'static str {
    include_str!("../../../template.yaml")
}

/// Names of the top-level resources of a type (two-space indent, as the template is written).
fn resources_of(kind: &str) -> Vec<String> {
    let lines: Vec<&str> = template().lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let is_resource =
            l.starts_with("  ") && !l.starts_with("   ") && l.trim_end().ends_with(':');
        if is_resource
            && lines
                .get(i + 1)
                .is_some_and(|n| n.trim() == format!("Type: {kind}"))
        {
            out.push(l.trim().trim_end_matches(':').to_owned());
        }
    }
    out
}

#[test]
fn every_dead_letter_queue_has_an_alarm() {
    let queues = resources_of("AWS::SQS::Queue");
    let dlqs: Vec<&String> = queues
        .iter()
        .filter(|q| q.ends_with("DeadLetterQueue"))
        .collect();
    assert_eq!(dlqs.len(), 3, "{queues:?}");
    let alarms = resources_of("AWS::CloudWatch::Alarm");
    for dlq in dlqs {
        assert!(
            template().contains(&format!("Value: !GetAtt {dlq}.QueueName}}")),
            "{dlq} has no alarm among {alarms:?}"
        );
    }
    assert!(
        template().contains("MetricName: 5xx"),
        "the API has a 5xx alarm"
    );
    // Every alarm tells the topic on-call subscribes to.
    let actions = template()
        .matches("AlarmActions: [!Ref AlarmTopic]")
        .count();
    assert_eq!(actions, alarms.len(), "{alarms:?}");
    // And every queue that can fail a record sends it to a DLQ.
    for q in queues.iter().filter(|q| !q.ends_with("DeadLetterQueue")) {
        let dlq = format!("{}DeadLetterQueue", q.trim_end_matches("Queue"));
        assert!(
            template().contains(&format!("deadLetterTargetArn: !GetAtt {dlq}.Arn")),
            "{q} has no redrive to {dlq}"
        );
    }
}

/// The lines of one top-level resource, up to the next one.
fn resource_body(name: &str) -> String {
    let header = format!("  {name}:");
    let mut lines = template().lines().skip_while(|l| *l != header);
    assert!(lines.next().is_some(), "no resource {name}");
    lines
        .take_while(|l| l.is_empty() || l.starts_with("   "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn sessions_are_throttled_and_keys_go_only_where_used() {
    let api = resource_body("HttpApi");
    for route in ["\"POST /api/sessions\":", "\"PATCH /api/sessions\":"] {
        let at = api
            .find(route)
            .unwrap_or_else(|| panic!("{route} is not throttled"));
        let settings = &api[at..];
        assert!(
            settings.contains("ThrottlingRateLimit") && settings.contains("ThrottlingBurstLimit"),
            "{route}"
        );
    }
    // The webhooks function verifies seller tokens only: no visitor/session key.
    let webhooks = resource_body("WebhooksFunction");
    assert!(webhooks.contains("BALCAO_JWT_KEYS"), "{webhooks}");
    assert!(!webhooks.contains("BALCAO_VISITOR_KEYS"), "{webhooks}");
    assert!(resource_body("ImpersonateFunction").contains("BALCAO_VISITOR_KEYS"));
}

/// The WebSocket API: its three routes go to the realtime function, and the functions that push
/// may manage connections of that API's stage only.
#[test]
fn the_websocket_api_routes_to_realtime_and_pushers_may_post_only_there() {
    for route in ["ConnectRoute", "DisconnectRoute", "DefaultRoute"] {
        let body = resource_body(route);
        assert!(
            body.contains("integrations/${RealtimeIntegration}"),
            "{body}"
        );
    }
    assert!(resource_body("RealtimeIntegration").contains("${RealtimeFunction.Arn}"));
    assert!(resource_body("WebSocketApi").contains("ProtocolType: WEBSOCKET"));
    for pusher in [
        "RealtimeFunction",
        "ConversationsFunction",
        "ModerationWorkerFunction",
    ] {
        let body = resource_body(pusher);
        assert!(body.contains("BALCAO_WS_ENDPOINT"), "{pusher}");
        assert!(body.contains("execute-api:ManageConnections"), "{pusher}");
        assert!(
            body.contains("${WebSocketApi}/live/POST/@connections/*"),
            "{pusher}: only this API's stage"
        );
        assert!(!body.contains("execute-api:*"), "{pusher}");
    }
    for other in [
        "WebhooksFunction",
        "ImpersonateFunction",
        "TokenCreateFunction",
        "AssetsFunction",
    ] {
        assert!(
            !resource_body(other).contains("ManageConnections"),
            "{other}"
        );
    }
}
