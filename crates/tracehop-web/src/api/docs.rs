//! The human-readable API reference, rendered on the server from the OpenAPI document: no
//! scripts, nothing fetched from elsewhere.

use std::fmt::Write as _;

use serde_json::Value;

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A page with the reference's style.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{} — tracehop API</title><style>\
body{{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1d2430}}\
code,pre{{font-family:ui-monospace,monospace;font-size:13px}}pre{{background:#f4f6f8;padding:.6rem;overflow:auto}}\
table{{border-collapse:collapse;width:100%;margin:.5rem 0}}td,th{{border:1px solid #d8dde3;padding:.3rem .5rem;text-align:left;vertical-align:top}}\
.op{{border:1px solid #d8dde3;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}}.method{{font-weight:700;text-transform:uppercase;margin-right:.5rem}}\
.get{{color:#0b6e2e}}.post{{color:#8a4b00}}.delete{{color:#a3162c}}.patch{{color:#5b2a9a}}nav a{{margin-right:1rem}}</style></head><body>{body}</body></html>",
        escape(title)
    )
}

fn schema_name(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("<a href=\"#schema-{name}\">{name}</a>");
    }
    if let Some(items) = schema.get("items") {
        return format!("array of {}", schema_name(items));
    }
    match schema.get("type") {
        Some(Value::String(kind)) => {
            schema.get("format").and_then(Value::as_str).map_or_else(|| kind.clone(), |f| format!("{kind} ({f})"))
        }
        Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "),
        _ => ["oneOf", "allOf", "anyOf"]
            .iter()
            .find_map(|k| schema.get(*k))
            .and_then(Value::as_array)
            .map_or_else(|| "object".to_owned(), |parts| parts.iter().map(schema_name).collect::<Vec<_>>().join(" | ")),
    }
}

fn text(value: Option<&Value>) -> String {
    value.and_then(Value::as_str).map(escape).unwrap_or_default()
}

/// The whole reference page.
pub fn render(openapi: &utoipa::openapi::OpenApi) -> String {
    let document = serde_json::to_value(openapi).unwrap_or(Value::Null);
    let mut body = String::new();
    let info = &document["info"];
    let _ = write!(
        body,
        "<h1>{} <small>v{}</small></h1><p>{}</p>",
        text(info.get("title")),
        text(info.get("version")),
        text(info.get("description"))
    );
    let _ = write!(
        body,
        "<p>Machine-readable: <a href=\"/api/v1/openapi.json\"><code>/api/v1/openapi.json</code></a> (OpenAPI {}). Errors: <a href=\"/api/v1/problems\">problem types</a>.</p>",
        text(document.get("openapi"))
    );
    let tags: Vec<(String, String)> = document["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .map(|t| {
                    (
                        t["name"].as_str().unwrap_or_default().to_owned(),
                        t["description"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let _ = write!(
        body,
        "<nav>{}<a href=\"#schemas\">schemas</a></nav>",
        tags.iter().map(|(name, _)| format!("<a href=\"#tag-{name}\">{name}</a>")).collect::<String>()
    );
    let paths = document["paths"].as_object().cloned().unwrap_or_default();
    for (tag, description) in &tags {
        let _ = write!(body, "<h2 id=\"tag-{tag}\">{}</h2><p>{}</p>", escape(tag), escape(description));
        for (path, item) in &paths {
            for method in ["get", "post", "patch", "put", "delete"] {
                let Some(operation) = item.get(method) else { continue };
                let in_tag =
                    operation["tags"].as_array().is_some_and(|t| t.iter().any(|x| x.as_str() == Some(tag.as_str())));
                if in_tag {
                    render_operation(&mut body, method, path, operation);
                }
            }
        }
    }
    let _ = write!(body, "<h2 id=\"schemas\">Schemas</h2>");
    if let Some(schemas) = document["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            let _ = write!(body, "<h3 id=\"schema-{name}\">{name}</h3>");
            if let Some(description) = schema.get("description").and_then(Value::as_str) {
                let _ = write!(body, "<p>{}</p>", escape(description));
            }
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                let required: Vec<&str> = schema["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let _ =
                    write!(body, "<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>");
                for (field, property) in properties {
                    let _ = write!(
                        body,
                        "<tr><td><code>{field}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        schema_name(property),
                        if required.contains(&field.as_str()) { "yes" } else { "" },
                        text(property.get("description"))
                    );
                }
                let _ = write!(body, "</table>");
            } else {
                let _ =
                    write!(body, "<pre>{}</pre>", escape(&serde_json::to_string_pretty(schema).unwrap_or_default()));
            }
        }
    }
    page("Reference", &body)
}

fn render_operation(body: &mut String, method: &str, path: &str, operation: &Value) {
    let _ = write!(
        body,
        "<div class=\"op\"><p><span class=\"method {method}\">{method}</span><code>{}</code></p>",
        escape(path)
    );
    let _ = write!(body, "<p><strong>{}</strong></p>", text(operation.get("summary")));
    if let Some(description) = operation.get("description").and_then(Value::as_str) {
        let _ = write!(body, "<p>{}</p>", escape(description));
    }
    if let Some(security) = operation["security"].as_array() {
        let scopes: Vec<String> = security
            .iter()
            .filter_map(|s| s["bearer"].as_array())
            .flatten()
            .filter_map(Value::as_str)
            .map(|s| format!("<code>{s}</code>"))
            .collect();
        let _ = write!(
            body,
            "<p>Bearer token{}</p>",
            if scopes.is_empty() { String::new() } else { format!(" with scope {}", scopes.join(", ")) }
        );
    }
    if let Some(parameters) = operation["parameters"].as_array() {
        let _ = write!(
            body,
            "<table><tr><th>parameter</th><th>in</th><th>type</th><th>required</th><th>description</th></tr>"
        );
        for parameter in parameters {
            let _ = write!(
                body,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                text(parameter.get("name")),
                text(parameter.get("in")),
                parameter.get("schema").map(schema_name).unwrap_or_default(),
                if parameter["required"].as_bool() == Some(true) { "yes" } else { "" },
                text(parameter.get("description"))
            );
        }
        let _ = write!(body, "</table>");
    }
    if let Some(schema) = operation["requestBody"]["content"]["application/json"].get("schema") {
        let _ = write!(body, "<p>Body: {}</p>", schema_name(schema));
    }
    if let Some(responses) = operation["responses"].as_object() {
        let listed: Vec<String> = responses
            .iter()
            .map(|(status, response)| {
                let schema = response["content"]
                    .as_object()
                    .and_then(|c| c.values().next())
                    .and_then(|c| c.get("schema"))
                    .map(schema_name);
                format!("<code>{status}</code>{}", schema.map(|s| format!(" {s}")).unwrap_or_default())
            })
            .collect();
        let _ = write!(body, "<p>Responses: {}</p>", listed.join(", "));
    }
    let _ = write!(body, "</div>");
}
