//! Standalone auditor: the same commands as `sovereel audit`, for auditors
//! who build only this crate.

use clap::Parser;
use sovereel_ledger::audit::{AuditCommand, run};

#[derive(Parser)]
#[command(
    name = "sovereel-audit",
    about = "Verify and monitor a Sovereel transparency log"
)]
struct Cli {
    #[command(flatten)]
    audit: AuditCommand,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(&cli.audit).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sovereel-audit: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
