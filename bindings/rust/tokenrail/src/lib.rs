//! Safe Rust bindings of libtokenrail, the embeddable engine that runs
//! agent-driven workflows through opaque tokens.
//!
//! ```no_run
//! use serde_json::json;
//! let engine = tokenrail::Engine::open(&json!({"workflows": ["./workflows"]}))?;
//! let mut r = engine.start_workflow("demo", None)?;
//! while r["isComplete"] == false {
//!     println!("{}", r["pending"]["title"]);
//!     r = engine.continue_workflow(
//!         r["stateToken"].as_str().unwrap(),
//!         r["ackToken"].as_str(),
//!         Some(json!({"notesMarkdown": "done"})),
//!     )?;
//! }
//! # Ok::<(), tokenrail::Error>(())
//! ```
//!
//! Requests and responses are `serde_json::Value`s; errors as data become
//! [`Error`] with its [`Family`].
mod error;

pub use error::{Error, Family, Retry};

use serde_json::{json, Map, Value};
use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use tokenrail_sys as sys;

/// The version of the loaded library, "MAJOR.MINOR.PATCH".
pub fn version() -> &'static str {
    // A static NUL-terminated ASCII string (tokenrail.h).
    unsafe { CStr::from_ptr(sys::tokenrail_version()) }.to_str().unwrap_or("?")
}

/// The ABI version of the loaded library.
pub fn abi_version() -> i32 {
    unsafe { sys::tokenrail_abi_version() }
}

/// The names of every operation [`Engine::call`] accepts.
pub fn operations() -> Vec<String> {
    let text = unsafe { sys::tokenrail_operations() };
    if text.is_null() {
        return Vec::new();
    }
    let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    serde_json::from_str(&text).unwrap_or_default()
}

/// The error for a failed status: the thread's last error (read at once,
/// on the thread that made the call, before anything else can replace it).
fn status_error(status: sys::tokenrail_status) -> Error {
    let text = unsafe { sys::tokenrail_last_error() };
    if text.is_null() && status == sys::TOKENRAIL_ERR_NO_MEMORY {
        // tokenrail.h: out of memory may leave no last error at all; report
        // it as what it is, like the library's own OUT_OF_MEMORY fallback.
        let mut e = Error::new("OUT_OF_MEMORY", 5009, "memory ran out");
        e.retry = Retry::RetryableImmediate;
        return e;
    }
    if text.is_null() {
        let name = unsafe { CStr::from_ptr(sys::tokenrail_status_name(status)) }.to_string_lossy().into_owned();
        return Error::new("INTERNAL", 5010, format!("{name} without a last error"));
    }
    Error::from_error_text(&unsafe { CStr::from_ptr(text) }.to_string_lossy(), false)
}

/// An open engine. Closed when dropped (or with [`Engine::close`] to see
/// a failure). Share it between threads with `Arc<Engine>`.
pub struct Engine {
    handle: *mut sys::tokenrail_engine,
}

// SAFETY: tokenrail.h documents the engine handle as thread-safe: any number
// of threads may call on one engine at once, and it may be closed from any
// thread. The handle is an opaque id the library never lets us dereference,
// and Engine owns it: close runs once, in close() or Drop, after every
// borrow has ended.
unsafe impl Send for Engine {}
unsafe impl Sync for Engine {}

impl Engine {
    /// Opens an engine from a JSON config, e.g.
    /// `{"store": {"backend": "lmdb", "path": "/var/lib/app/tr"}, "workflows": ["./workflows"]}`.
    /// `{}` opens one over a memory store.
    pub fn open(config: &Value) -> Result<Engine, Error> {
        Engine::open_str(&config.to_string())
    }

    /// Opens an engine from config text (any bytes; the engine validates them).
    pub fn open_str(config: &str) -> Result<Engine, Error> {
        Engine::open_bytes(config.as_bytes())
    }

    /// Opens an engine from raw config bytes.
    pub fn open_bytes(config: &[u8]) -> Result<Engine, Error> {
        let mut handle: *mut sys::tokenrail_engine = std::ptr::null_mut();
        // The length is passed, so the bytes need no NUL; a non-NULL pointer
        // is required even for zero bytes.
        let ptr = if config.is_empty() { b"".as_ptr() } else { config.as_ptr() };
        let status = unsafe { sys::tokenrail_engine_open(&mut handle, ptr as *const c_char, config.len()) };
        if status != sys::TOKENRAIL_OK {
            return Err(status_error(status));
        }
        Ok(Engine { handle })
    }

    /// Closes the engine, reporting a failure (Drop ignores it).
    pub fn close(mut self) -> Result<(), Error> {
        let handle = std::mem::replace(&mut self.handle, std::ptr::null_mut());
        let status = unsafe { sys::tokenrail_engine_close(handle) };
        if status != sys::TOKENRAIL_OK {
            return Err(status_error(status));
        }
        Ok(())
    }

    /// Runs an operation on raw request bytes and returns the raw response
    /// text: for a replay, byte-identical to the first. An error as data is
    /// `Err` with [`Error::response`] holding its text.
    pub fn call_text(&self, operation: &str, request: &[u8]) -> Result<String, Error> {
        let op = CString::new(operation).map_err(|_| {
            let mut e = Error::new("INVALID_ARGUMENT", 1010, "the operation name contains a NUL byte");
            e.details = Some(json!({"argument": "operation"}));
            e
        })?;
        let ptr = if request.is_empty() { b"".as_ptr() } else { request.as_ptr() };
        let mut out: *mut c_char = std::ptr::null_mut();
        let mut len: usize = 0;
        let status = unsafe {
            sys::tokenrail_call(self.handle, op.as_ptr(), ptr as *const c_char, request.len(), &mut out, &mut len)
        };
        if status != sys::TOKENRAIL_OK && status != sys::TOKENRAIL_ERR_RESPONSE {
            return Err(status_error(status));
        }
        // SAFETY: on these two statuses out is a NUL-terminated string of len
        // bytes owned by us until tokenrail_string_free.
        let text = unsafe { std::slice::from_raw_parts(out as *const u8, len) };
        let text = String::from_utf8_lossy(text).into_owned();
        unsafe { sys::tokenrail_string_free(out) };
        if status == sys::TOKENRAIL_ERR_RESPONSE {
            return Err(Error::from_error_text(&text, true));
        }
        Ok(text)
    }

    /// Runs an operation: request value in, response value out.
    pub fn call(&self, operation: &str, request: &Value) -> Result<Value, Error> {
        let text = self.call_text(operation, request.to_string().as_bytes())?;
        serde_json::from_str(&text).map_err(|e| Error::new("INTERNAL", 5010, format!("unreadable response: {e}")))
    }

    /// `start_workflow {workflowId, context?}`.
    pub fn start_workflow(&self, workflow_id: &str, context: Option<Value>) -> Result<Value, Error> {
        let mut request = Map::new();
        request.insert("workflowId".into(), workflow_id.into());
        if let Some(context) = context {
            request.insert("context".into(), context);
        }
        self.call("start_workflow", &Value::Object(request))
    }

    /// `continue_workflow {stateToken, ackToken?, output?}`: advances with an
    /// ack token, rehydrates (a new attempt, read-only) without one.
    pub fn continue_workflow(
        &self,
        state_token: &str,
        ack_token: Option<&str>,
        output: Option<Value>,
    ) -> Result<Value, Error> {
        self.continue_with_context(state_token, ack_token, None, output)
    }

    /// `continue_workflow {stateToken, ackToken?, context?, output?}`: as
    /// `continue_workflow`, with `context` (D6: external facts merged into the
    /// run's context as the step advances; a null member removes a key).
    pub fn continue_with_context(
        &self,
        state_token: &str,
        ack_token: Option<&str>,
        context: Option<Value>,
        output: Option<Value>,
    ) -> Result<Value, Error> {
        let mut request = Map::new();
        request.insert("stateToken".into(), state_token.into());
        if let Some(ack) = ack_token {
            request.insert("ackToken".into(), ack.into());
        }
        if let Some(context) = context {
            request.insert("context".into(), context);
        }
        if let Some(output) = output {
            request.insert("output".into(), output);
        }
        self.call("continue_workflow", &Value::Object(request))
    }

    /// `get_run {runId}`: the run resource.
    pub fn get_run(&self, run_id: &str) -> Result<Value, Error> {
        self.call("get_run", &json!({ "runId": run_id }))
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if !self.handle.is_null() {
            unsafe { sys::tokenrail_engine_close(self.handle) };
        }
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_memory_without_a_last_error_is_out_of_memory() {
        // tokenrail.h: TOKENRAIL_ERR_NO_MEMORY leaves "no last error at all if
        // even that could not be allocated". After a successful call on this
        // thread the last error is NULL, which is what that case looks like.
        let engine = Engine::open(&json!({})).unwrap();
        engine.call("list_workflows", &json!({})).unwrap();
        assert!(unsafe { sys::tokenrail_last_error() }.is_null());
        let err = status_error(sys::TOKENRAIL_ERR_NO_MEMORY);
        assert!(err.is("OUT_OF_MEMORY"), "{err}");
        assert_eq!(err.numeric_code, 5009);
        assert_eq!(err.family(), Family::Storage);
        assert_eq!(err.retry, Retry::RetryableImmediate);
    }
}
