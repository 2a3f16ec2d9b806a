//! Throughput of the custody scan's matcher: MiB/s of bytes fed through one
//! `StreamScan` in 1 MiB chunks, by number of canaries, on two inputs (random
//! bytes, like media and ciphertext; base64url text with `sf1.` sealed-field
//! prefixes, like database pages), next to the approach it replaced (one
//! `memchr::memmem` finder per canary, each a pass over the bytes).
//!
//! `cargo bench -p sovereel-custody --bench scan` (SCAN_BENCH_MIB, default 64).
//! Nothing is asserted; the figures go to BENCHMARKS.md.

use std::time::Instant;

use memchr::memmem::Finder;
use sovereel_custody::{Canary, CanaryRule, Matcher};
use sovereel_model::ids::RegionId;

/// xorshift64*: reproducible bytes without a dependency.
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A sealed-field-shaped canary (`sf1.<key id>.<nonce>.<ciphertext>`).
fn sealed(r: &mut Bytes) -> String {
    let mut s = String::from("sf1.");
    for len in [16, 32, 40] {
        for _ in 0..len {
            s.push(B64[(r.next() % 64) as usize] as char);
        }
        s.push('.');
    }
    s.pop();
    s
}

fn mib_per_s(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / secs
}

fn main() {
    let mib: usize = std::env::var("SCAN_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let mut r = Bytes(0x5eed_0fc0_570d_1e00);
    let random: Vec<u8> = (0..mib << 20).map(|_| r.next() as u8).collect();
    // Text: base64url with a sealed-looking value every ~100 bytes, so the
    // common `sf1.` prefix keeps the automaton busy.
    let mut text = Vec::with_capacity(mib << 20);
    while text.len() < mib << 20 {
        text.extend_from_slice(sealed(&mut r).as_bytes());
        text.extend_from_slice(b"\",\"");
    }
    text.truncate(mib << 20);
    let home = RegionId::parse("us").unwrap();
    println!("| canaries | input | matcher (Aho-Corasick) | one memmem finder per canary |");
    println!("|---:|---|---:|---:|");
    for k in [16usize, 1_000, 10_000, 100_000] {
        let canaries: Vec<Canary> = (0..k)
            .map(|_| Canary {
                home: home.clone(),
                text: sealed(&mut r),
                rule: CanaryRule::HomeOnly,
            })
            .collect();
        let started = Instant::now();
        let matcher = Matcher::new(&canaries);
        let build = started.elapsed();
        for (name, input) in [("random bytes", &random), ("base64 text", &text)] {
            let started = Instant::now();
            let mut stream = matcher.stream();
            for chunk in input.chunks(1 << 20) {
                stream.feed(chunk);
            }
            let found = stream.findings(None, "bench").len();
            let ac = mib_per_s(input.len(), started.elapsed().as_secs_f64());
            let memmem = if k <= 1_000 {
                let finders: Vec<Finder<'_>> = canaries
                    .iter()
                    .map(|c| Finder::new(c.text.as_bytes()))
                    .collect();
                let started = Instant::now();
                let mut hits = 0;
                for chunk in input.chunks(1 << 20) {
                    hits += finders.iter().filter(|f| f.find(chunk).is_some()).count();
                }
                std::hint::black_box(hits);
                format!(
                    "{:.0} MiB/s",
                    mib_per_s(input.len(), started.elapsed().as_secs_f64())
                )
            } else {
                "(not run)".into()
            };
            println!(
                "| {k} | {name} | {ac:.0} MiB/s (built in {:.0} ms; {found} found) | {memmem} |",
                build.as_secs_f64() * 1e3
            );
        }
    }
}
