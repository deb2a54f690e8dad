//! The API reference: the public OpenAPI document rendered as Markdown, one page per tag plus the objects.

use crate::markdown::{generated_note, table};
use serde_json::Value;
use std::path::PathBuf;

const FROM: &str = "the public OpenAPI document (ledger-backend/src/http/public_api.rs)";

/// `(path under src/, text)` of every API reference page.
pub fn pages(doc: &Value) -> Result<Vec<(PathBuf, String)>, String> {
    let tags: Vec<(String, String)> = doc["tags"]
        .as_array()
        .ok_or("the document has no tags")?
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or_default().to_owned(),
                t["description"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut by_tag: Vec<Vec<(String, String, &Value)>> = vec![Vec::new(); tags.len()];
    for (path, item) in doc["paths"].as_object().ok_or("the document has no paths")? {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let tag = operation["tags"][0].as_str().ok_or(format!("{method} {path} has no tag"))?;
            let index =
                tags.iter().position(|(name, _)| name == tag).ok_or(format!("{method} {path}: unknown tag {tag}"))?;
            by_tag[index].push((path.clone(), method.to_ascii_uppercase(), operation));
        }
    }
    let mut pages = Vec::new();
    let mut index = generated_note(FROM);
    index.push_str(&format!(
        "# API reference\n\n{}\n\nThe whole document, to generate a client or load into a tool: \
         [openapi.json](../openapi.json) (OpenAPI 3.1), also served by the edge at `GET /v1/openapi.json`.\n\n",
        doc["info"]["description"].as_str().unwrap_or_default()
    ));
    let mut rows = Vec::new();
    for ((tag, description), operations) in tags.iter().zip(&by_tag) {
        if operations.is_empty() {
            return Err(format!("tag {tag} has no operation"));
        }
        rows.push(vec![format!("[{tag}]({tag}.md)"), description.clone(), operations.len().to_string()]);
        pages.push((PathBuf::from(format!("reference/api/{tag}.md")), tag_page(doc, tag, description, operations)));
    }
    index.push_str(&table(&["section", "what", "operations"], &rows));
    index.push_str(&authentication(doc));
    pages.push(("reference/api/index.md".into(), index));
    pages.push(("reference/api/objects.md".into(), objects(doc)));
    Ok(pages)
}

fn authentication(doc: &Value) -> String {
    let mut out = String::from("\n## Authentication\n\n");
    for (name, scheme) in doc["components"]["securitySchemes"].as_object().into_iter().flatten() {
        out.push_str(&format!("- **{name}**: {}\n", scheme["description"].as_str().unwrap_or_default()));
    }
    out.push_str("\n## Headers\n\n");
    let rows: Vec<Vec<String>> = doc["components"]["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, header)| vec![format!("`{name}`"), header["description"].as_str().unwrap_or_default().to_owned()])
        .collect();
    out.push_str(&table(&["header", "meaning"], &rows));
    out
}

fn tag_page(doc: &Value, tag: &str, description: &str, operations: &[(String, String, &Value)]) -> String {
    let mut out = generated_note(FROM);
    out.push_str(&format!("# {}\n\n{description}.\n\n", title_of(tag)));
    for (path, method, operation) in operations {
        out.push_str(&operation_section(doc, path, method, operation));
    }
    out
}

fn title_of(tag: &str) -> String {
    let spaced = tag.replace('_', " ");
    let mut chars = spaced.chars();
    chars.next().map(|first| first.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}

fn operation_section(doc: &Value, path: &str, method: &str, operation: &Value) -> String {
    let id = operation["operationId"].as_str().unwrap_or_default();
    let summary = operation["summary"].as_str().unwrap_or_default();
    let mut out = format!("## {summary} {{#{id}}}\n\n`{method} {path}`");
    let security: Vec<String> = operation["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|requirement| requirement.as_object()?.keys().next().cloned())
        .map(|scheme| match scheme.as_str() {
            "secretKey" => "secret key".to_owned(),
            "publishableKey" => "publishable key".to_owned(),
            other => other.to_owned(),
        })
        .collect();
    out.push_str(&match security.is_empty() {
        true => " · no API key".to_owned(),
        false => format!(" · {}", security.join(" or ")),
    });
    out.push_str("\n\n");
    let parameters: Vec<Vec<String>> = operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            vec![
                format!("`{}`", p["name"].as_str().unwrap_or_default()),
                p["in"].as_str().unwrap_or_default().to_owned(),
                yes_no(p["required"].as_bool().unwrap_or(false)),
                p["description"].as_str().unwrap_or_default().to_owned(),
            ]
        })
        .collect();
    if !parameters.is_empty() {
        out.push_str("**Parameters**\n\n");
        out.push_str(&table(&["name", "in", "required", "description"], &parameters));
        out.push('\n');
    }
    if let Some(content) = operation["requestBody"]["content"]["application/json"].as_object() {
        out.push_str("**Body** (`application/json`)\n\n");
        let schema = resolve(doc, &content["schema"]);
        out.push_str(&fields(doc, schema));
        if let Some(example) = content.get("example") {
            out.push_str(&format!("\n```json\n{}\n```\n", serde_json::to_string_pretty(example).unwrap_or_default()));
        }
        out.push('\n');
    }
    out.push_str("**Answers**\n\n");
    let answers: Vec<Vec<String>> = operation["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(status, response)| {
            let response = resolve_response(doc, response);
            let body = response["content"]
                .as_object()
                .and_then(|content| content.iter().next())
                .map(|(media, body)| format!("{} `{media}`", type_text(&body["schema"])))
                .unwrap_or_default();
            vec![format!("`{status}`"), response["description"].as_str().unwrap_or_default().to_owned(), body]
        })
        .collect();
    out.push_str(&table(&["status", "meaning", "body"], &answers));
    out.push('\n');
    out
}

fn yes_no(value: bool) -> String {
    if value { "yes".into() } else { "no".into() }
}

fn resolve_response<'a>(doc: &'a Value, response: &'a Value) -> &'a Value {
    match response["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/responses/")) {
        Some(name) => &doc["components"]["responses"][name],
        None => response,
    }
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    }
}

/// A schema as a short type, with objects linking to their section of the objects page.
fn type_text(schema: &Value) -> String {
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        return format!("[{name}](objects.md#{})", anchor(name));
    }
    if let Some(options) = schema["oneOf"].as_array() {
        return options.iter().map(type_text).collect::<Vec<_>>().join(" or ");
    }
    if schema["properties"]["object"]["const"] == "list" {
        return format!("list of {} (`data`, `has_more`)", type_text(&schema["properties"]["data"]["items"]));
    }
    if let Some(value) = schema.get("const") {
        return format!("`{value}`");
    }
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values.iter().map(|v| format!("`{}`", v.as_str().unwrap_or_default())).collect();
        return format!("one of {}", values.join(", "));
    }
    let kinds: Vec<String> = match &schema["type"] {
        Value::String(kind) => vec![kind.clone()],
        Value::Array(kinds) => kinds.iter().filter_map(|k| k.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    };
    let kinds: Vec<String> = kinds
        .into_iter()
        .map(|kind| match kind.as_str() {
            "array" => format!("array of {}", type_text(&schema["items"])),
            "object" if schema["properties"].is_null() && schema["additionalProperties"].is_object() => {
                format!("map of {}", type_text(&schema["additionalProperties"]))
            }
            _ => kind,
        })
        .collect();
    match kinds.is_empty() {
        true => "any".into(),
        false => kinds.join(" or "),
    }
}

/// The anchor of an object's section (mdBook's id for a heading that is one word).
fn anchor(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// The fields table of an object schema, nested objects' fields under dotted names.
fn fields(doc: &Value, schema: &Value) -> String {
    if let Some(options) = schema["oneOf"].as_array() {
        return options
            .iter()
            .enumerate()
            .map(|(i, option)| {
                format!("{}:\n\n{}", if i == 0 { "Either" } else { "or" }, fields(doc, resolve(doc, option)))
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    let mut rows = Vec::new();
    collect_fields(schema, "", &mut rows);
    if rows.is_empty() {
        return format!("{}\n", schema["description"].as_str().unwrap_or("Any JSON object."));
    }
    table(&["field", "type", "required", "description"], &rows)
}

fn collect_fields(schema: &Value, prefix: &str, rows: &mut Vec<Vec<String>>) {
    let required: Vec<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        let full = format!("{prefix}{name}");
        let nested = property["properties"].is_object() && prefix.matches('.').count() < 2;
        let mut description = match property["description"].as_str() {
            Some(text) => text.to_owned(),
            None => usual_description(name, property),
        };
        if let Some(examples) = property["examples"].as_array() {
            let examples: Vec<String> =
                examples.iter().map(|e| format!("`{}`", e.as_str().unwrap_or_default())).collect();
            description = format!("{description} (e.g. {})", examples.join(", ")).trim().to_owned();
        }
        let kind = if nested { "object".to_owned() } else { type_text(property) };
        rows.push(vec![format!("`{full}`"), kind, yes_no(required.contains(&name.as_str())), description]);
        if nested {
            collect_fields(property, &format!("{full}."), rows);
        }
    }
}

/// What a field that says nothing of itself means, from its name and shape: the fields every object has, ids
/// and times.
fn usual_description(name: &str, schema: &Value) -> String {
    let prefix = schema["pattern"].as_str().and_then(|p| p.strip_prefix('^')?.split('_').next().map(str::to_owned));
    let time = schema["format"] == "date-time";
    match (name, prefix) {
        ("id", Some(prefix)) => format!("Its id, `{prefix}_…`"),
        ("object", _) => "What kind of object this is".into(),
        ("livemode", _) => "`true` in live mode, `false` in test mode".into(),
        ("created", _) => "When it was made (RFC 3339, UTC)".into(),
        (_, Some(prefix)) => format!("A `{prefix}_…` id"),
        _ if time => "A time (RFC 3339, UTC)".into(),
        _ => String::new(),
    }
}

/// Every object the API answers with or takes, with its fields.
fn objects(doc: &Value) -> String {
    let mut out = generated_note(FROM);
    out.push_str(
        "# Objects\n\nEvery object the API answers with or takes. Fields marked required are always present in \
        an answer (`null` when empty); an answer never carries a field that is not listed.\n\n",
    );
    for (name, schema) in doc["components"]["schemas"].as_object().into_iter().flatten() {
        out.push_str(&format!("## {name}\n\n"));
        if let Some(description) = schema["description"].as_str() {
            out.push_str(&format!("{description}\n\n"));
        }
        out.push_str(&fields(doc, schema));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_read_as_a_developer_writes_them() {
        assert_eq!(type_text(&json!({ "$ref": "#/components/schemas/Charge" })), "[Charge](objects.md#charge)");
        assert_eq!(type_text(&json!({ "type": ["string", "null"] })), "string or null");
        assert_eq!(type_text(&json!({ "type": "array", "items": { "type": "integer" } })), "array of integer");
        assert_eq!(type_text(&json!({ "type": "string", "enum": ["a", "b"] })), "one of `a`, `b`");
    }

    #[test]
    fn common_fields_say_what_they_are_when_their_schema_does_not() {
        let id = json!({ "type": "string", "pattern": "^ch_[0-9a-z]{26}$" });
        assert_eq!(usual_description("id", &id), "Its id, `ch_…`");
        assert_eq!(usual_description("charge", &id), "A `ch_…` id");
        assert_eq!(
            usual_description("expires_at", &json!({ "type": "string", "format": "date-time" })),
            "A time (RFC 3339, UTC)"
        );
        assert_eq!(usual_description("note", &json!({ "type": "string" })), "");
    }

    #[test]
    fn nested_fields_are_listed_under_dotted_names() {
        let schema = json!({ "type": "object", "required": ["card"], "properties": {
            "card": { "type": "object", "required": ["number"], "properties": { "number": { "type": "string" } } } } });
        let text = fields(&json!({}), &schema);
        assert!(text.contains("| `card` | object | yes |"), "{text}");
        assert!(text.contains("| `card.number` | string | yes |"), "{text}");
    }
}
