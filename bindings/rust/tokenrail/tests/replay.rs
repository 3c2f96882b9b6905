mod common;
use common::*;
use serde_json::json;

#[test]
fn a_replayed_advance_is_byte_identical() {
    let engine = engine();
    let start = engine.start_workflow("capi-demo", None).unwrap();
    let request = json!({
        "stateToken": start["stateToken"], "ackToken": start["ackToken"],
        "output": {"notesMarkdown": "gathered"}
    })
    .to_string();
    let first = engine.call_text("continue_workflow", request.as_bytes()).unwrap();
    let second = engine.call_text("continue_workflow", request.as_bytes()).unwrap();
    assert_eq!(first, second);
    assert!(first.contains("\"plan\""));
}

#[test]
fn the_same_ack_with_another_body_is_ack_already_used() {
    let engine = engine();
    let start = engine.start_workflow("capi-demo", None).unwrap();
    advance(&engine, &start, "one").unwrap();
    let err = advance(&engine, &start, "another").unwrap_err();
    assert!(err.is("ACK_ALREADY_USED"));
    assert_eq!(err.numeric_code, 2008);
    assert_eq!(err.family(), tokenrail::Family::Token);
    assert_eq!(err.retry, tokenrail::Retry::NotRetryable);
    assert!(err.details.as_ref().map(|d| d.is_object()).unwrap_or(false));
    assert!(err.response.unwrap().contains("ACK_ALREADY_USED"));
}
