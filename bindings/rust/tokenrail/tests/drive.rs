mod common;
use common::*;

#[test]
fn drives_a_workflow_to_completion() {
    let engine = engine();
    let mut r = engine.start_workflow("capi-demo", None).unwrap();
    let mut steps = Vec::new();
    while r["isComplete"] == false {
        assert_eq!(r["nextIntent"], "perform_pending_then_continue");
        steps.push(r["pending"]["stepId"].as_str().unwrap().to_owned());
        r = advance(&engine, &r, "done").unwrap();
        assert_eq!(r["kind"], "ok");
        assert!(steps.len() <= 10);
    }
    assert_eq!(steps, ["gather", "plan", "report"]);
    assert_eq!(r["nextIntent"], "complete");
}

#[test]
fn version_and_operations() {
    assert_eq!(tokenrail::abi_version(), 1);
    assert_eq!(tokenrail::version(), env!("CARGO_PKG_VERSION"));
    let ops = tokenrail::operations();
    assert!(ops.iter().any(|o| o == "start_workflow"));
    assert!(ops.iter().any(|o| o == "continue_workflow"));
}

#[test]
fn one_engine_serves_many_threads() {
    let engine = std::sync::Arc::new(engine());
    let start = engine.start_workflow("capi-demo", None).unwrap();
    let state = str_of(&start, "stateToken").to_owned();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let engine = engine.clone();
            let state = state.clone();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    let r = engine.continue_workflow(&state, None, None).unwrap();
                    assert_eq!(r["pending"]["stepId"], "gather");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn close_reports_success() {
    engine().close().unwrap();
}

#[test]
fn an_advance_carries_context() {
    let engine = engine();
    let r = engine.start_workflow("capi-demo", None).unwrap();
    let n = engine
        .continue_with_context(
            str_of(&r, "stateToken"),
            Some(str_of(&r, "ackToken")),
            Some(serde_json::json!({"ticket": "T-1"})),
            Some(serde_json::json!({"notesMarkdown": "gathered"})),
        )
        .unwrap();
    assert_eq!(n["pending"]["stepId"], "plan");
    let session = n["session"]["sessionId"].as_str().unwrap();
    let bundle = engine.call("export_session", &serde_json::json!({ "sessionId": session })).unwrap();
    let events = bundle["bundle"]["events"].as_array().unwrap();
    let set: Vec<_> = events.iter().filter(|e| e["kind"] == "context_set").collect();
    assert_eq!(set.len(), 1);
    assert_eq!(set[0]["data"]["context"]["ticket"], "T-1");
}
