#![allow(dead_code)]
use serde_json::{json, Value};

pub fn demo_definition() -> Value {
    json!({
        "id": "capi-demo", "name": "C ABI demo", "description": "three plain steps", "version": "1.0.0",
        "steps": [
            {"id": "gather", "title": "Gather the facts", "prompt": "List what you know."},
            {"id": "plan", "title": "Make a plan", "prompt": "Write a short plan."},
            {"id": "report", "title": "Report", "prompt": "Summarise what was done."}
        ]
    })
}

pub fn engine() -> tokenrail::Engine {
    tokenrail::Engine::open(&json!({"store": {"backend": "memory"}, "definitions": [demo_definition()]}))
        .expect("open")
}

pub fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} missing in {v}"))
}

pub fn advance(engine: &tokenrail::Engine, from: &Value, notes: &str) -> Result<Value, tokenrail::Error> {
    engine.continue_workflow(str_of(from, "stateToken"), from["ackToken"].as_str(), Some(json!({"notesMarkdown": notes})))
}
