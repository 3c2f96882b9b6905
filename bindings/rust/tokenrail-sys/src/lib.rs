//! Raw declarations of libtokenrail's C ABI, written by hand from
//! `capi/tokenrail.h` (the specification: read it for ownership, lifetime,
//! thread-safety and every status of each function). Use the `tokenrail`
//! crate for a safe interface.
#![allow(non_camel_case_types)]
#![no_std]

use core::ffi::{c_char, c_int};
use core::marker::{PhantomData, PhantomPinned};

/// The ABI version these declarations match (`TOKENRAIL_ABI_VERSION`).
pub const TOKENRAIL_ABI_VERSION: c_int = 1;

/// A length meaning "up to the first NUL" (`TOKENRAIL_NUL_TERMINATED`).
pub const TOKENRAIL_NUL_TERMINATED: usize = usize::MAX;

/// `tokenrail_status`: a C enum, int-sized.
pub type tokenrail_status = c_int;
pub const TOKENRAIL_OK: tokenrail_status = 0;
pub const TOKENRAIL_ERR_RESPONSE: tokenrail_status = 1;
pub const TOKENRAIL_ERR_INVALID_ARGUMENT: tokenrail_status = 2;
pub const TOKENRAIL_ERR_CLOSED: tokenrail_status = 3;
pub const TOKENRAIL_ERR_NO_MEMORY: tokenrail_status = 4;
pub const TOKENRAIL_ERR_OPEN_FAILED: tokenrail_status = 5;
pub const TOKENRAIL_ERR_INTERNAL: tokenrail_status = 6;

/// The opaque engine handle (`tokenrail_engine`). Never dereferenced.
#[repr(C)]
pub struct tokenrail_engine {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

extern "C" {
    pub fn tokenrail_version() -> *const c_char;
    pub fn tokenrail_abi_version() -> c_int;
    pub fn tokenrail_status_name(status: tokenrail_status) -> *const c_char;
    pub fn tokenrail_last_error() -> *const c_char;
    pub fn tokenrail_engine_open(
        out_engine: *mut *mut tokenrail_engine,
        config_json: *const c_char,
        config_len: usize,
    ) -> tokenrail_status;
    pub fn tokenrail_engine_close(engine: *mut tokenrail_engine) -> tokenrail_status;
    pub fn tokenrail_call(
        engine: *mut tokenrail_engine,
        operation: *const c_char,
        request_json: *const c_char,
        request_len: usize,
        out_response: *mut *mut c_char,
        out_len: *mut usize,
    ) -> tokenrail_status;
    pub fn tokenrail_string_free(str: *mut c_char);
    pub fn tokenrail_operations() -> *const c_char;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_linked_library_has_the_declared_abi() {
        assert_eq!(unsafe { tokenrail_abi_version() }, TOKENRAIL_ABI_VERSION);
    }

    #[test]
    fn status_names_match_the_constants() {
        let name = unsafe { core::ffi::CStr::from_ptr(tokenrail_status_name(TOKENRAIL_ERR_CLOSED)) };
        assert_eq!(name.to_bytes(), b"TOKENRAIL_ERR_CLOSED");
        let name = unsafe { core::ffi::CStr::from_ptr(tokenrail_status_name(TOKENRAIL_ERR_INTERNAL)) };
        assert_eq!(name.to_bytes(), b"TOKENRAIL_ERR_INTERNAL");
    }
}
