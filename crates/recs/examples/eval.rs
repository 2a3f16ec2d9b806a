//! Runs `sovereel eval` without the server binary: `cargo run --release -p sovereel-recs --example eval -- --help`.
use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    eval: sovereel_recs::eval::EvalArgs,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = sovereel_recs::eval::run(&cli.eval) {
        eprintln!("eval failed: {e}");
        std::process::exit(1);
    }
}
