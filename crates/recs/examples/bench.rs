//! Runs `sovereel bench recs` without the server binary:
//! `cargo run --release -p sovereel-recs --example bench -- --help`.
use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    bench: sovereel_recs::bench::BenchArgs,
}

fn main() {
    let cli = Cli::parse();
    match sovereel_recs::bench::run(&cli.bench) {
        Ok(r) => print!("{}", sovereel_recs::bench::render(&r)),
        Err(e) => {
            eprintln!("bench failed: {e}");
            std::process::exit(1);
        }
    }
}
