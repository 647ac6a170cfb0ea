//! Fuzz target: JSON Lines / JSON array reader (`dataset::open`) and `dataset::split` on a `.jsonl` file.
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
    fuzz_checks::check_jsonl(SCRATCH.get_or_init(Scratch::new), data);
});
