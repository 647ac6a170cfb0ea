//! Fuzz target: vector files: `VectorFile::open` on the bytes as a file, and on a valid file changed
//! as the bytes say; `VectorWriter::resume_or_create` on the changed file as a `.partial`.
//! The invariants are in `tests/common/fuzz_checks.rs` (shared with
//! `tests/fuzz_regressions.rs`).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/fuzz_checks.rs"]
mod fuzz_checks;

use fuzz_checks::Scratch;

static SCRATCH: OnceLock<Scratch> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    fuzz_checks::check_store(SCRATCH.get_or_init(Scratch::new), data);
});
