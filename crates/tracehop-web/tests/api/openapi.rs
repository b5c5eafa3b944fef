//! The OpenAPI 3.1 document the server serves, generated from the routes, and the reference page
//! rendered from it.

use serde_json::Value;
use tracehop_web::testing::TestApp;

use crate::support::{MONDAY_10AM_NY, at};

async fn document(t: &TestApp) -> Value {
    let response = t.http.get(t.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[tokio::test]
async fn the_document_is_openapi_3_1_and_unchanged() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let document = document(&t).await;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "tracehop API");
    assert_eq!(document["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.keys().all(|p| p.starts_with("/api/v1/")), "{:?}", paths.keys());
    for (path, item) in paths {
        for method in METHODS {
            let Some(operation) = item.get(method) else { continue };
            let responses = operation["responses"].as_object().unwrap();
            for (status, response) in responses {
                assert!(
                    response["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status} has a description"
                );
            }
            assert!(responses.contains_key("401"), "{method} {path} documents 401");
            assert!(operation["security"][0].get("bearer").is_some(), "{method} {path} names its scope");
            // Uploads in other content types are idempotent by their own keys.
            let json_or_empty =
                operation["requestBody"]["content"].as_object().is_none_or(|c| c.contains_key("application/json"));
            if method == "post" && json_or_empty {
                let parameters = operation["parameters"].as_array().unwrap();
                assert!(
                    parameters.iter().any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
                    "{method} {path}"
                );
            }
        }
    }
    insta::assert_json_snapshot!("openapi", document);
}

#[tokio::test]
async fn the_reference_page_shows_every_operation() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let document = document(&t).await;
    let page = t.http.get(t.url("/api/v1/docs")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = page.text().await.unwrap();
    assert!(!page.contains("<script"), "no scripts");
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        let shown = format!("<code>{path}</code>");
        assert!(page.contains(&shown), "the page shows {path}");
        for method in METHODS.into_iter().filter(|m| item.get(*m).is_some()) {
            operations += 1;
            let heading = format!("<span class=\"method {method}\">{method}</span><code>{path}</code>");
            assert!(page.contains(&heading), "the page shows {method} {path}");
        }
    }
    assert_eq!(page.matches("<div class=\"op\">").count(), operations, "each operation once");
    for schema in document["components"]["schemas"].as_object().unwrap().keys() {
        assert!(page.contains(&format!("id=\"schema-{schema}\"")), "the page describes {schema}");
    }
}
