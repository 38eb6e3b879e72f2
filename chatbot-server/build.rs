//! Chooses the widget script the server embeds and names it by its content. The served bytes are
//! `assets/widget.min.js` when it exists (the minified build of the readable `assets/widget.js`),
//! else `assets/widget.js`. They are copied to `$OUT_DIR/widget.js`, and their content hash (the
//! first 20 hex digits of their SHA-256) is `CHATBOT_WIDGET_HASH`: the strong `ETag` of
//! `/widget.js` and the name of the immutable `/widget.{hash}.js`.

// A build script reports a missing asset by failing the build.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use sha2::{Digest, Sha256};

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // The folder, so that a widget.min.js appearing (or going) is noticed too.
    println!("cargo:rerun-if-changed=assets");
    let min = dir.join("assets/widget.min.js");
    let (source, name) =
        if min.is_file() { (min, "widget.min.js") } else { (dir.join("assets/widget.js"), "widget.js") };
    let bytes = std::fs::read(&source).unwrap_or_else(|e| panic!("reading {}: {e}", source.display()));
    let hash = hex(&Sha256::digest(&bytes)[..10]);
    std::fs::write(out.join("widget.js"), &bytes).expect("writing the widget script to OUT_DIR");
    println!("cargo:rustc-env=CHATBOT_WIDGET_HASH={hash}");
    println!("cargo:rustc-env=CHATBOT_WIDGET_SOURCE={name}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
