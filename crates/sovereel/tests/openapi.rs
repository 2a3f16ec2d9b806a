//! The OpenAPI document at `/openapi.json`: valid OpenAPI 3.1 by a real
//! validator (openapi-spec-validator), every path parameter declared, query
//! parameters in the query, one operation per operationId, every error
//! documented as problem+json, and the routes served outside the API router
//! (the log, the problem pages, the document itself) documented and served
//! as documented. Schemathesis then fuzzes the server against this document
//! (`scripts/schemathesis`, run by `scripts/test`).

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::Command;

use common::*;
use reqwest::{StatusCode, header};
use serde_json::Value;
use sovereel_store::Backend;

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

async fn document(app: &TestApp) -> Value {
    let resp = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
    resp.json().await.unwrap()
}

/// Every operation of the document, as (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if let Some(op) = item.get(*m) {
                out.push((m.to_string(), path.clone(), op.clone()));
            }
        }
    }
    out
}

fn template_names(path: &str) -> BTreeSet<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn the_document_declares_every_parameter_once_and_every_error_as_a_problem() {
    let app = spawn(Backend::Sqlite).await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let ops = operations(&doc);
    assert!(ops.len() > 50, "only {} operations", ops.len());

    let mut ids: HashMap<String, String> = HashMap::new();
    for (method, path, op) in &ops {
        let what = format!("{} {path}", method.to_uppercase());
        // One operation per operationId.
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no operationId"));
        if let Some(other) = ids.insert(id.to_string(), what.clone()) {
            panic!("operationId {id} names both {other} and {what}");
        }
        // Path parameters: exactly the names in the template, required.
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let declared: BTreeSet<String> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(p["required"], true, "{what}: path parameter {p} optional");
                p["name"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(declared, template_names(path), "{what}: path parameters");
        for p in &params {
            assert!(
                ["path", "query", "header", "cookie"].contains(&p["in"].as_str().unwrap()),
                "{what}: {p}"
            );
        }
        // Errors: every documented error is a problem (the log's may also
        // be plain text), and every operation says so for the statuses it
        // does not list.
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.contains_key("default"), "{what}: no default");
        for (status, resp) in responses {
            let error = status == "default" || status.parse::<u16>().unwrap() >= 400;
            if !error {
                continue;
            }
            let content = resp["content"].as_object().unwrap_or_else(|| {
                panic!("{what} {status}: no content");
            });
            assert!(
                !content.contains_key("application/json"),
                "{what} {status}: an error documented as application/json"
            );
            let p = content.get("application/problem+json").unwrap_or_else(|| {
                panic!("{what} {status}: not a problem");
            });
            assert_eq!(
                p["schema"]["$ref"], "#/components/schemas/Problem",
                "{what} {status}"
            );
        }
    }
    // Query parameters are in the query: the pages' cursors and limits.
    let for_you = &doc["paths"]["/v1/feed/for-you"]["get"]["parameters"];
    let cursor = for_you
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "cursor")
        .unwrap();
    assert_eq!(cursor["in"], "query");
    assert_eq!(cursor["required"], false);

    // The Problem schema is RFC 9457's members.
    let problem = &doc["components"]["schemas"]["Problem"];
    for member in ["type", "title", "status", "detail", "instance"] {
        assert!(problem["properties"].get(member).is_some(), "{member}");
    }
    assert!(doc["components"]["schemas"].get("ProblemBody").is_none());
    assert!(doc["components"]["securitySchemes"].get("bearer").is_some());

    // The routes outside the API router are documented too, each region's
    // id listed for the log's routes.
    for path in [
        "/openapi.json",
        "/problems/{slug}",
        "/log/{region}/checkpoint",
        "/log/{region}/vkey",
        "/log/{region}/tile/{level}/{index}",
        "/log/{region}/tile/entries/{index}",
        "/log/{region}/add-checkpoint",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} undocumented");
    }
    let region = doc["paths"]["/log/{region}/checkpoint"]["get"]["parameters"][0].clone();
    let listed: Vec<&str> = region["schema"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(listed, ["us", "au", "nz", "global"]);
}

/// The Python that has openapi-spec-validator: the project's virtualenv
/// (made by `scripts/ensure-test-deps`) when it exists, else `python3`.
fn python() -> PathBuf {
    let venv = std::env::var_os("SOVEREEL_PY_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
            Some(cache.join("sovereel/py-venv"))
        });
    match venv.map(|v| v.join("bin/python")) {
        Some(p) if p.exists() => p,
        _ => PathBuf::from("python3"),
    }
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_1() {
    let app = spawn(Backend::Sqlite).await;
    let doc = document(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = Command::new(python())
        .args([
            "-c",
            "import sys, json\n\
             from openapi_spec_validator import validate\n\
             from openapi_spec_validator.validation import OpenAPIV31SpecValidator\n\
             validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)\n\
             print('valid')",
        ])
        .arg(&file)
        .output()
        .expect("python3 runs (scripts/ensure-test-deps installs the validator)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document (or is not installed: run scripts/ensure-test-deps):\n{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "valid");

    // The validator is real: it refuses a document with an undeclared
    // path parameter, the fault this document used to have.
    let mut broken = doc.clone();
    broken["paths"]["/v1/videos/{id}"]["get"]["parameters"] = Value::Array(vec![]);
    std::fs::write(&file, serde_json::to_vec(&broken).unwrap()).unwrap();
    let out = Command::new(python())
        .args([
            "-c",
            "import sys, json\n\
             from openapi_spec_validator import validate\n\
             validate(json.load(open(sys.argv[1])))",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a broken document passed");
}

#[tokio::test]
async fn routes_outside_the_api_router_answer_as_documented() {
    let app = spawn(Backend::Sqlite).await;
    // A log's checkpoint exists from its first start, empty or not.
    let get = |path: &'static str| {
        let url = app.url(path);
        let client = app.client.clone();
        async move {
            let r = client.get(url).send().await.unwrap();
            let status = r.status();
            let ct = r.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .to_string();
            (status, ct, r.bytes().await.unwrap())
        }
    };
    let (s, ct, body) = get("/log/us/checkpoint").await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("text/plain"), "{ct}");
    let note = String::from_utf8(body.to_vec()).unwrap();
    let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();

    let (s, ct, body) = get("/log/us/vkey").await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("text/plain"), "{ct}");
    let origin = note.lines().next().unwrap();
    assert!(
        String::from_utf8_lossy(&body).starts_with(&format!("{origin}+")),
        "the key names the checkpoint's origin"
    );

    // The log's errors: the ledger's plain text, or the problem the
    // server makes of it; both are documented.
    let log_error = |ct: &str| ct.starts_with("text/plain") || ct == "application/problem+json";

    // A full tile exists only past 256 entries: before that, the documented
    // single-group tile is a 404.
    for path in ["/log/us/tile/0/000", "/log/us/tile/entries/000"] {
        let (s, ct, _) = get(path).await;
        if size >= 256 {
            assert_eq!(
                (s, ct.as_str()),
                (StatusCode::OK, "application/octet-stream")
            );
        } else {
            assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
            assert!(log_error(&ct), "{path}: {ct}");
        }
    }

    // A region this server does not know: a problem.
    let (s, ct, _) = get("/log/mars/checkpoint").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(ct, "application/problem+json");

    // The witness refuses a malformed request (400).
    let r = app
        .client
        .post(app.url("/log/au/add-checkpoint"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body("not an add-checkpoint request")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(log_error(
        r.headers()[header::CONTENT_TYPE].to_str().unwrap()
    ));

    let (s, ct, body) = get("/problems/not-found").await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(String::from_utf8_lossy(&body).contains("/problems/not-found"));
    let (s, ct, _) = get("/problems/no-such-problem").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(ct, "application/problem+json");
}
