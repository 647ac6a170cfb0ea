//! Helpers shared by the criterion benches: bench-or-test mode and sizes from the
//! environment.

/// Whether criterion will really measure (`cargo bench` passes `--bench`) rather than
/// run each bench once as a test.
pub fn measuring() -> bool {
    let mut bench = false;
    let mut test = false;
    for a in std::env::args() {
        bench |= a == "--bench";
        test |= a == "--test";
    }
    bench && !test
}

/// `name` from the environment, else `full` when measuring, else `quick`.
pub fn size(name: &str, full: usize, quick: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) if measuring() => full,
        Err(_) => quick,
    }
}
