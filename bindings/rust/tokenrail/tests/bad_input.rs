mod common;
use common::*;
use serde_json::json;
use tokenrail::{Engine, Family};

#[test]
fn not_json_is_a_request_error() {
    let engine = engine();
    let err = engine.call_text("start_workflow", b"{workflowId: nope").unwrap_err();
    assert!(err.is("INVALID_JSON"), "{err}");
    assert_eq!(err.family(), Family::Request);
}

#[test]
fn invalid_utf8_is_a_request_error() {
    let engine = engine();
    let err = engine.call_text("start_workflow", b"{\"workflowId\": \"x\xc3\x28\"}").unwrap_err();
    assert!(err.is("INVALID_UTF8"), "{err}");
}

#[test]
fn zero_bytes_is_a_request_error() {
    let err = engine().call_text("start_workflow", b"").unwrap_err();
    assert!(err.is("INVALID_JSON"), "{err}");
}

#[test]
fn unknown_operation_and_nul_in_the_name() {
    let engine = engine();
    assert!(engine.call("launch_missiles", &json!({})).unwrap_err().is("UNKNOWN_OPERATION"));
    let err = engine.call("start\0workflow", &json!({})).unwrap_err();
    assert!(err.is("INVALID_ARGUMENT"));
    assert_eq!(err.numeric_code, 1010);
}

#[test]
fn unknown_workflow_is_a_workflow_error() {
    let err = engine().start_workflow("no-such-workflow", None).unwrap_err();
    assert!(err.is("WORKFLOW_NOT_FOUND"));
    assert_eq!(err.family(), Family::Workflow);
}

#[test]
fn forged_tokens_are_refused() {
    let engine = engine();
    for token in ["", "st1_", "garbage", "ak1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let err = engine.continue_workflow(token, None, None).unwrap_err();
        assert!(matches!(err.family(), Family::Token | Family::Request), "{token}: {err}");
    }
}

#[test]
fn a_refused_config_is_an_open_error() {
    let err = Engine::open(&json!({"store": {"backend": "floppy"}})).unwrap_err();
    assert!(err.is("INVALID_CONFIG"), "{err}");
    assert!(Engine::open_str("{not json").is_err());
    assert!(Engine::open_bytes(b"").is_err());
    assert!(Engine::open_bytes(b"{\"x\": \"\xff\"}").is_err());
}
