//! Load generator for a ledger (a local directory, or `s3://bucket/prefix`
//! with the `AWS_*` variables and a PostgreSQL lock backend in
//! `SOVEREEL_LEDGER_LOCK`): appends entries from many concurrent tasks and
//! prints one line per acknowledgment
//! (`ACK <index> <sha256 of entry> <checkpoint size> <checkpoint root>`),
//! flushed at once. The crash test SIGKILLs it at random moments and checks
//! that everything it printed survived.
//!
//! Usage: sovereel-ledger-appender <dir or URL> <origin> <hex seed> <run> <tasks>

use std::io::Write;

use base64::Engine;
use bytes::Bytes;
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};
use sovereel_ledger::{Log, LogConfig, LogStorage, NoteSigner, PostgresLock};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(
        args.len() == 6,
        "usage: {} <dir or URL> <origin> <hex seed> <run> <tasks>",
        args[0]
    );
    let seed: [u8; 32] = hex::decode(&args[3])?
        .try_into()
        .map_err(|_| anyhow::anyhow!("seed must be 32 bytes"))?;
    let run: u64 = args[4].parse()?;
    let tasks: u64 = args[5].parse()?;
    let signer = NoteSigner::new(&args[2], SigningKey::from_bytes(&seed))?;
    let mut config = LogConfig::new(&args[2]);
    config.max_age = std::time::Duration::from_millis(2);
    if let Ok(url) = std::env::var("SOVEREEL_LEDGER_LOCK") {
        config.lock = Some(std::sync::Arc::new(
            PostgresLock::connect(&url, &args[2]).await?,
        ));
    }
    let log = Log::open(LogStorage::from_url(&args[1])?, signer, config).await?;
    println!("READY {}", log.checkpoint().checkpoint.size);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    for t in 0..tasks {
        let log = log.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            for n in 0u64.. {
                let body = format!(
                    "{{\"run\":{run},\"task\":{t},\"n\":{n},\"pad\":\"{}\"}}",
                    "x".repeat((n % 97) as usize)
                );
                let hash = hex::encode(Sha256::digest(body.as_bytes()));
                match log.append(Bytes::from(body)).await {
                    Ok(r) => {
                        let cp = &r.checkpoint.checkpoint;
                        let root = base64::engine::general_purpose::STANDARD.encode(cp.root);
                        if tx
                            .send(format!("ACK {} {hash} {} {root}\n", r.index, cp.size))
                            .is_err()
                        {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(format!("ERR {e}\n"));
                        return;
                    }
                }
            }
        });
    }
    drop(tx);
    let mut out = std::io::stdout().lock();
    while let Some(line) = rx.recv().await {
        out.write_all(line.as_bytes())?;
        out.flush()?;
    }
    Ok(())
}
