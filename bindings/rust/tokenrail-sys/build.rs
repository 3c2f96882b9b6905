//! Finds libtokenrail to link against:
//! 1. `TOKENRAIL_LIB_DIR`: a directory holding libtokenrail.so (a build
//!    tree's `capi/` folder or an install's `lib/`); links it dynamically.
//! 2. otherwise pkg-config (`tokenrail.pc`, installed with the library);
//!    `TOKENRAIL_STATIC=1` asks it for the static library and its
//!    dependencies (`pkg-config --static`).
//! At run time the dynamic loader must find the library too (an install
//! prefix it knows, or LD_LIBRARY_PATH; run-tests.sh sets it).
use std::env;

fn main() {
    println!("cargo:rerun-if-env-changed=TOKENRAIL_LIB_DIR");
    println!("cargo:rerun-if-env-changed=TOKENRAIL_STATIC");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    if let Ok(dir) = env::var("TOKENRAIL_LIB_DIR") {
        println!("cargo:rustc-link-search=native={dir}");
        println!("cargo:rustc-link-lib=dylib=tokenrail");
        return;
    }
    let statik = env::var("TOKENRAIL_STATIC").map(|v| v == "1").unwrap_or(false);
    match pkg_config::Config::new().atleast_version("0.1.0").statik(statik).probe("tokenrail") {
        Ok(_) => {}
        Err(e) => {
            // Let the linker try its default paths; say why if it fails.
            println!("cargo:warning=tokenrail-sys: pkg-config did not find tokenrail ({e}); set TOKENRAIL_LIB_DIR");
            println!("cargo:rustc-link-lib=dylib=tokenrail");
        }
    }
}
