//! `keel`: parse the command line, load the configuration, run. Wiring only.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match keel::cli::parse_args() {
        Ok(cli) => cli,
        Err(f) => return fail(f),
    };
    let config = match keel::cli::load_config(&cli) {
        Ok(c) => c,
        Err(f) => return fail(f),
    };
    keel::logging::init(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            return fail(keel::cli::Failure {
                code: 2,
                message: format!("cannot start the runtime: {e}"),
            })
        }
    };
    match runtime.block_on(keel::cli::run(cli, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => fail(f),
    }
}

fn fail(f: keel::cli::Failure) -> ExitCode {
    eprintln!("keel: {}", f.message);
    ExitCode::from(u8::try_from(f.code).unwrap_or(1))
}
