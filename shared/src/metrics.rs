//! Metrics in CloudWatch Embedded Metric Format: one JSON line on stdout per data point, which
//! Lambda's log pipeline turns into CloudWatch metrics (namespace `Balcao`) with no API call and
//! no agent. In the local stack the lines simply appear in the log.
//!
//! What is counted: moderation decisions by outcome and block tag, webhook attempts, failures,
//! dead letters and disabled subscriptions, and impersonation events by action.

use serde_json::{json, Map, Value};

pub const NAMESPACE: &str = "Balcao";

/// The EMF line for `count` of metric `name`, split by one dimension.
pub fn emf_line(name: &str, dimension: (&str, &str), count: u64, timestamp_ms: i64) -> String {
    let (dim, value) = dimension;
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[dim]],
                "Metrics": [{"Name": name, "Unit": "Count"}],
            }],
        }),
    );
    root.insert(dim.into(), Value::String(value.into()));
    root.insert(name.into(), json!(count));
    Value::Object(root).to_string()
}

/// Writes one data point (stdout, one line, as EMF requires).
pub fn count(name: &str, dimension: (&str, &str), n: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    println!("{}", emf_line(name, dimension, n, now));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_embedded_metric_format() {
        let line = emf_line(
            "WebhookAttempts",
            ("Outcome", "FAILED"),
            3,
            1_795_000_000_000,
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        let m = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(v["_aws"]["Timestamp"], 1_795_000_000_000i64);
        assert_eq!(m["Namespace"], "Balcao");
        assert_eq!(m["Dimensions"], json!([["Outcome"]]));
        assert_eq!(
            m["Metrics"],
            json!([{"Name": "WebhookAttempts", "Unit": "Count"}])
        );
        // The dimension and the value are members of the root object, named as declared.
        assert_eq!(v["Outcome"], "FAILED");
        assert_eq!(v["WebhookAttempts"], 3);
        assert!(!line.contains('\n'));
    }
}
