//! The `semsift` command line: a thin layer over the library.
//!
//! Exit codes: 0 success; 1 the job failed (bad input, missing model, I/O);
//! 2 the command line itself was wrong.

mod cli;

use std::process::ExitCode;

use clap::Parser;
use mimalloc::MiMalloc;

// candle allocates a fresh buffer per tensor op; glibc malloc maps and unmaps
// each large one. mimalloc measured +30–70 % on long texts (see ARCHITECTURE.md).
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(args.global.verbose, args.global.quiet);
    if let Some(n) = args.global.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
        {
            eprintln!("semsift: error: cannot set up {n} threads: {e}");
            return ExitCode::from(1);
        }
    }
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("semsift: error: {err:#}");
            ExitCode::from(1)
        }
    }
}
