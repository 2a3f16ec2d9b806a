//! `sovereel`: the one binary. `sovereel serve` (the default) runs every
//! configured region in one process; other subcommands seed, configure and
//! inspect it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use sovereel_server::{Config, Server};

mod custody_cli;
mod demo;
mod seed;

#[derive(Parser)]
#[command(
    name = "sovereel",
    version,
    about = "A short-video platform on the trusted-custodian model",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Without a command, `sovereel --listen … --data-dir …` serves, as
    /// `sovereel serve …` does.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(clap::Args, Clone, Default)]
struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "SOVEREEL_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "SOVEREEL_LISTEN")]
    listen: Option<String>,
    /// Data directory (default ./sovereel-data).
    #[arg(long, env = "SOVEREEL_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

impl ServeArgs {
    fn load(&self) -> anyhow::Result<Config> {
        let mut cfg = Config::load(self.config.as_deref())?;
        if let Some(l) = &self.listen {
            cfg.listen = l.clone();
        }
        if let Some(d) = &self.data_dir {
            cfg.data_dir = d.clone();
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform (the default when no subcommand is given).
    Serve(ServeCmd),
    /// The split deployment: one service per region, stateless edges.
    Cluster {
        #[command(subcommand)]
        what: ClusterCommand,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        what: ConfigCommand,
    },
    /// Start a fresh platform seeded with creators, viewers in every region,
    /// a few hundred clips, viewing history and staff activity.
    Demo(demo::DemoArgs),
    /// Fill the platform's stores with synthetic users and videos (for benchmarks).
    Seed(seed::SeedArgs),
    /// The auditor's tool: verify, check inclusion in, or monitor a transparency log.
    Audit(sovereel_ledger::audit::AuditCommand),
    /// Evaluate the recommendation engine (MovieLens-100K, simulator, baselines).
    Eval(sovereel_recs::eval::EvalArgs),
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// Algorithm releases: create, sign (platform), approve (custodian), activate (region).
    Release {
        #[command(subcommand)]
        what: ReleaseCli,
    },
    /// Staff accounts (custodian operators, moderators, support; platform staff).
    Staff {
        #[command(subcommand)]
        what: StaffCommand,
    },
    /// Custody checks on a data directory.
    Custody {
        #[command(subcommand)]
        what: CustodyCommand,
    },
    /// Region keys.
    Keys {
        #[command(subcommand)]
        what: KeysCommand,
    },
}

#[derive(clap::Args, Clone, Default)]
struct ServeCmd {
    #[command(flatten)]
    serve: ServeArgs,
    /// `region:<id>` runs one region's plane service; `edge` runs the
    /// public API and web client with no region inside. Without a role,
    /// every region runs in this process (the embedded default).
    #[arg(long, env = "SOVEREEL_ROLE")]
    role: Option<String>,
}

#[derive(Subcommand)]
enum ClusterCommand {
    /// Write a cluster: DIR/cluster.toml, one secrets directory per role,
    /// and DIR/roles.tsv (each role's start command).
    Init {
        #[arg(long)]
        out: PathBuf,
        /// Regions to run (default: every region of the default configuration).
        #[arg(long, value_delimiter = ',')]
        regions: Vec<String>,
        /// A PostgreSQL server; one database per region and one for the
        /// catalog are created on it (default: SQLite in each region's directory).
        #[arg(long)]
        postgres: Option<String>,
        #[arg(long, default_value = "nats://127.0.0.1:4222")]
        nats: String,
        /// The address every role listens on and is reached at.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Edges listen on this port, regions on the next ones.
        #[arg(long, default_value_t = 7100)]
        base_port: u16,
        /// The cluster's name: prefixes its databases and names its stream.
        #[arg(long)]
        name: Option<String>,
    },
    /// Start every role of a cluster on this machine, for trying.
    Up {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Remove a cluster's databases and NATS stream.
    Destroy {
        #[arg(long)]
        dir: PathBuf,
        /// A PostgreSQL URL with the right to drop the cluster's databases.
        #[arg(long)]
        postgres: Option<String>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Ranking latency, learning throughput and memory of the engine at scale.
    Recs(sovereel_recs::bench::BenchArgs),
}

#[derive(Subcommand)]
enum ReleaseCli {
    #[command(flatten)]
    Steps(sovereel_recs::release::cli::ReleaseCommand),
    /// Region step: install an approved release note in a region and make it
    /// active (a running server switches within seconds; a refused release
    /// leaves the previous one running).
    Activate {
        #[arg(long)]
        region: String,
        #[arg(long)]
        note: PathBuf,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Print the release keys a region trusts (platform, custodian).
    Keys {
        #[arg(long)]
        region: String,
        #[command(flatten)]
        serve: ServeArgs,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Create a staff account. Custodian staff belong to one region; platform
    /// staff are kept in the default (platform-run) region. The password comes
    /// from SOVEREEL_STAFF_PASSWORD, or is generated and printed once.
    Create {
        #[arg(long)]
        handle: String,
        /// operator, moderator or support.
        #[arg(long)]
        role: String,
        /// custodian or platform.
        #[arg(long, default_value = "custodian")]
        org: String,
        /// The custodian's region (ignored for platform staff).
        #[arg(long)]
        region: Option<String>,
        /// The custodian they work for, when it is not the one the
        /// configuration names: the incoming custodian of a hand-over. They
        /// act for the region once (and while) it holds it.
        #[arg(long)]
        custodian: Option<String>,
        #[command(flatten)]
        serve: ServeArgs,
    },
}

#[derive(Subcommand)]
enum CustodyCommand {
    /// Read every region's files directly: report any protected datum outside
    /// its home region and any plaintext where ciphertext is expected.
    /// Exits non-zero on a finding.
    Scan(ServeArgs),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Rotate a region's key-encryption key: every data key is re-wrapped,
    /// no data is re-encrypted. Run it with the server stopped.
    Rotate {
        #[arg(long)]
        region: String,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Print each region's log verifier key (what `GET /log/<region>/vkey`
    /// serves) and witness key, for auditors to pin out of band. Creates
    /// the keys if this data directory has none yet.
    Show(ServeArgs),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print a commented example configuration.
    Example,
    /// Print the effective configuration (file plus environment), validated.
    Show(ServeArgs),
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("SOVEREEL_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

fn init_logging_quiet() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("SOVEREEL_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

/// Stops the roles `cluster up` started: SIGTERM to each, so that each
/// finishes its requests and closes its log, then SIGKILL for any that is
/// still running after ten seconds.
async fn stop_roles(children: &mut [tokio::process::Child]) {
    #[cfg(unix)]
    for c in children.iter() {
        if let Some(pid) = c.id().and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) with a child's own pid and a valid signal
            // number touches no memory of this process.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    for c in children.iter_mut() {
        if tokio::time::timeout_at(deadline, c.wait()).await.is_err() {
            let _ = c.kill().await;
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("sovereel: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let Cli { command, serve } = cli;
    match command.unwrap_or(Command::Serve(ServeCmd { serve, role: None })) {
        Command::Serve(cmd) => {
            init_logging();
            let cfg = match cmd.serve.load() {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("sovereel: {e}");
                    std::process::exit(2);
                }
            };
            match cmd.role.as_deref() {
                None | Some("all") => {
                    let server = Server::build(cfg).await?;
                    let addr = server.local_addr();
                    let ffmpeg = if server.app.processor.transcodes() {
                        "ffmpeg found: uploads are transcoded"
                    } else {
                        "no ffmpeg: browser-playable uploads are served as uploaded"
                    };
                    println!(
                        "Sovereel is running at http://{addr}/  ({} regions; {ffmpeg})",
                        server.app.locals().count()
                    );
                    server.run(shutdown_signal()).await?;
                }
                Some("edge") => {
                    let edge = sovereel_server::edge::Edge::build(cfg).await?;
                    println!("Sovereel edge at http://{}/", edge.local_addr());
                    edge.run(shutdown_signal()).await?;
                }
                Some(r) => {
                    let Some(id) = r.strip_prefix("region:") else {
                        anyhow::bail!("--role: `{r}` is not `edge` or `region:<id>`");
                    };
                    let server =
                        Server::build_as(cfg, sovereel_server::Role::Region(id.to_string()))
                            .await?;
                    println!(
                        "Sovereel region {id} plane service at https://{}/",
                        server.local_addr()
                    );
                    server.run(shutdown_signal()).await?;
                }
            }
        }
        Command::Cluster { what } => cluster(what).await?,
        Command::Config {
            what: ConfigCommand::Example,
        } => print!("{}", sovereel_server::config::EXAMPLE),
        Command::Config {
            what: ConfigCommand::Show(args),
        } => {
            let cfg = args.load()?;
            println!("{}", toml_like(&cfg)?);
        }
        Command::Seed(args) => seed::run(args).await?,
        Command::Demo(args) => {
            init_logging_quiet();
            demo::run(args).await?;
        }
        Command::Eval(args) => match sovereel_recs::eval::run(&args) {
            Ok(r) => println!("{}", sovereel_recs::eval::render(&r)),
            Err(e) => {
                eprintln!("sovereel eval: {e}");
                std::process::exit(1);
            }
        },
        Command::Bench {
            what: BenchCommand::Recs(args),
        } => match sovereel_recs::bench::run(&args) {
            Ok(r) => println!("{}", sovereel_recs::bench::render(&r)),
            Err(e) => {
                eprintln!("sovereel bench recs: {e}");
                std::process::exit(1);
            }
        },
        Command::Release {
            what: ReleaseCli::Steps(cmd),
        } => match sovereel_recs::release::cli::run(&cmd) {
            Ok(out) => println!("{out}"),
            Err(e) => {
                eprintln!("sovereel release: {e}");
                std::process::exit(1);
            }
        },
        Command::Release {
            what:
                ReleaseCli::Activate {
                    region,
                    note,
                    serve,
                },
        } => {
            let cfg = serve.load()?;
            let bytes = std::fs::read(&note)?;
            match sovereel_server::recommend::stage_activation(&cfg, &region, &bytes) {
                Ok(id) => println!("release {id} is active in {region}"),
                Err(e) => {
                    eprintln!("sovereel release activate: {e}");
                    std::process::exit(1);
                }
            }
        }
        Command::Release {
            what: ReleaseCli::Keys { region, serve },
        } => {
            let cfg = serve.load()?;
            let (p, c) = sovereel_server::recommend::release_vkeys(&cfg, &region)?;
            println!("platform  {p}\ncustodian {c}");
        }
        Command::Staff {
            what:
                StaffCommand::Create {
                    handle,
                    role,
                    org,
                    region,
                    custodian,
                    serve,
                },
        } => {
            let cfg = serve.load()?;
            let org = match (org.as_str(), custodian) {
                ("custodian", Some(name)) if !name.trim().is_empty() => {
                    format!("custodian:{}", name.trim())
                }
                (_, Some(_)) => anyhow::bail!("--custodian names a custodian's staff"),
                _ => org,
            };
            println!(
                "{}",
                custody_cli::create_staff(&cfg, &handle, &role, &org, region.as_deref()).await?
            );
        }
        Command::Custody {
            what: CustodyCommand::Scan(args),
        } => {
            let cfg = args.load()?;
            if !custody_cli::scan_command(&cfg).await? {
                std::process::exit(1);
            }
        }
        Command::Keys {
            what: KeysCommand::Rotate { region, serve },
        } => {
            let cfg = serve.load()?;
            println!("{}", custody_cli::rotate(&cfg, &region)?);
        }
        Command::Audit(cmd) => {
            if let Err(e) = sovereel_ledger::audit::run(&cmd).await {
                eprintln!("sovereel audit: {e}");
                std::process::exit(1);
            }
        }
        Command::Keys {
            what: KeysCommand::Show(args),
        } => {
            let cfg = args.load()?;
            let ids: Vec<String> = cfg.regions.iter().map(|r| r.id.clone()).collect();
            let keys = sovereel_server::transparency::load_keys(&cfg, &ids)?;
            for (region, k) in keys {
                println!("{region} log     {}", k.log.verifier().vkey());
                println!("{region} witness {}", k.witness.verifier().vkey());
            }
        }
    }
    Ok(())
}

fn toml_like(cfg: &Config) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(cfg)?)
}

async fn cluster(what: ClusterCommand) -> anyhow::Result<()> {
    match what {
        ClusterCommand::Init {
            out,
            regions,
            postgres,
            nats,
            host,
            base_port,
            name,
        } => {
            let name = name.unwrap_or_else(|| format!("c{}", sovereel_model::random_hex(4)));
            let out = std::path::absolute(&out)?;
            sovereel_server::cluster::init(&sovereel_server::cluster::InitOptions {
                out: out.clone(),
                regions,
                postgres,
                nats,
                host,
                base_port,
                name,
                binary: std::env::current_exe()?,
            })
            .await?;
            println!("cluster written to {}", out.display());
            print!("{}", std::fs::read_to_string(out.join("roles.tsv"))?);
        }
        ClusterCommand::Up { dir } => {
            let roles = std::fs::read_to_string(dir.join("roles.tsv"))?;
            let mut children = vec![];
            // Regions first, then edges.
            let mut lines: Vec<(&str, &str)> =
                roles.lines().filter_map(|l| l.split_once('\t')).collect();
            lines.sort_by_key(|(role, _)| *role == "edge");
            for (role, cmd) in lines {
                println!("starting {role}");
                children.push(
                    tokio::process::Command::new("sh")
                        .arg("-c")
                        .arg(format!("exec {cmd}"))
                        .kill_on_drop(true)
                        .spawn()?,
                );
                if role != "edge" {
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                }
            }
            shutdown_signal().await;
            stop_roles(&mut children).await;
        }
        ClusterCommand::Destroy { dir, postgres } => {
            let cfg = Config::load(Some(&dir.join("cluster.toml")))?;
            sovereel_server::cluster::destroy(&cfg, postgres.as_deref()).await?;
        }
    }
    Ok(())
}
