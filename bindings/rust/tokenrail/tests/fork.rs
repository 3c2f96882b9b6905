mod common;
use common::*;

#[test]
fn advancing_an_old_state_again_forks_the_run() {
    let engine = engine();
    let start = engine.start_workflow("capi-demo", None).unwrap();
    let main = advance(&engine, &start, "first try").unwrap();

    let rehydrated = engine.continue_workflow(str_of(&start, "stateToken"), None, None).unwrap();
    assert_eq!(rehydrated["pending"]["stepId"], "gather");
    assert_ne!(rehydrated["ackToken"], start["ackToken"]);
    let fork = advance(&engine, &rehydrated, "second try").unwrap();

    assert_eq!(fork["pending"]["stepId"], "plan");
    assert_ne!(fork["stateToken"], main["stateToken"]);
    assert_eq!(fork["session"]["runId"], main["session"]["runId"]);
}
