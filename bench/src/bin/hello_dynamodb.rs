//! A floor for the cold-start benchmark: the bare `lambda_runtime` hello-world plus the one thing
//! every Balcão function must do at init, build an `aws-sdk-dynamodb` client (region and
//! credentials from the environment). Its HTTP client makes no connection, so no TLS or HTTP
//! stack is linked or built: what it adds over the hello-world is the SDK client alone.

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[derive(Debug)]
struct NoNetwork;

impl HttpConnector for NoNetwork {
    fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
        HttpConnectorFuture::ready(Err(ConnectorError::other("no network".into(), None)))
    }
}

impl HttpClient for NoNetwork {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(NoNetwork)
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let region = std::env::var("AWS_REGION")?;
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(Credentials::new(
            std::env::var("AWS_ACCESS_KEY_ID")?,
            std::env::var("AWS_SECRET_ACCESS_KEY")?,
            None,
            None,
            "environment",
        ))
        .http_client(NoNetwork)
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let client = &client;
    lambda_runtime::run(service_fn(move |e: LambdaEvent<Value>| async move {
        let _ = client;
        Ok::<Value, Error>(e.payload)
    }))
    .await
}
