//! The command line: `serve`, `migrate`, `tenant …`, `token …`. Every command takes
//! `--database-url` (or `ROLLCALL_DATABASE_URL`).

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use sea_orm::DatabaseConnection;

use crate::app::{self, AppState};
use crate::store::{self, credentials, tenants};

/// Rollcall: SCIM 2.0 provisioning for contact-centre user directories.
#[derive(Debug, Parser)]
#[command(name = "rollcall", version, about)]
pub struct Cli {
    /// Database URL: `sqlite://path?mode=rwc` or `postgres://user@host/db`.
    #[arg(
        long,
        global = true,
        env = "ROLLCALL_DATABASE_URL",
        default_value = "sqlite://rollcall.db?mode=rwc"
    )]
    pub database_url: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database and serve SCIM until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage API credentials.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ROLLCALL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Do not apply migrations on start.
    #[arg(long, env = "ROLLCALL_SKIP_MIGRATIONS")]
    pub skip_migrations: bool,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Lower-case letters, digits and hyphens.
        slug: String,
    },
    /// List tenants.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a credential and print only its secret on stdout.
    Create {
        #[arg(long)]
        tenant: String,
        /// A tenant-wide SCIM provisioning token.
        #[arg(long)]
        scim: bool,
        /// A label for the credential.
        #[arg(long, default_value = "scim")]
        name: String,
    },
    /// List a tenant's credentials (never their secrets).
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Revoke a credential by id.
    Revoke { id: String },
}

/// Runs a command; errors go to stderr and a non-zero exit code.
pub async fn run(cli: Cli) -> ExitCode {
    init_tracing();
    match execute(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn open(url: &str, migrate: bool) -> Result<DatabaseConnection, String> {
    let db = store::connect(url).await.map_err(|e| e.to_string())?;
    if migrate {
        store::migrate(&db).await.map_err(|e| e.to_string())?;
    }
    Ok(db)
}

async fn execute(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Migrate => {
            open(&cli.database_url, true).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Serve(args) => serve(&cli.database_url, args).await,
        Command::Tenant(TenantCommand::Create { slug }) => {
            let db = open(&cli.database_url, true).await?;
            let tenant = tenants::create(&db, &slug)
                .await
                .map_err(|e| e.to_string())?;
            println!("{}", tenant.slug);
            Ok(())
        }
        Command::Tenant(TenantCommand::List) => {
            let db = open(&cli.database_url, true).await?;
            for tenant in tenants::list(&db).await.map_err(|e| e.to_string())? {
                println!("{}\t{}", tenant.slug, tenant.id);
            }
            Ok(())
        }
        Command::Token(TokenCommand::Create { tenant, scim, name }) => {
            if !scim {
                return Err("say which kind of token: --scim".into());
            }
            let db = open(&cli.database_url, true).await?;
            let tenant = tenants::by_slug(&db, &tenant)
                .await
                .map_err(|e| e.to_string())?;
            let (_, secret) =
                credentials::create(&db, &tenant.id, credentials::Kind::Scim, None, &name)
                    .await
                    .map_err(|e| e.to_string())?;
            println!("{secret}");
            Ok(())
        }
        Command::Token(TokenCommand::List { tenant }) => {
            let db = open(&cli.database_url, true).await?;
            let tenant = tenants::by_slug(&db, &tenant)
                .await
                .map_err(|e| e.to_string())?;
            for c in credentials::list(&db, &tenant.id)
                .await
                .map_err(|e| e.to_string())?
            {
                let kind = match c.kind {
                    credentials::Kind::Scim => "scim",
                    credentials::Kind::User => "user",
                };
                println!(
                    "{}\t{kind}\t{}\t{}",
                    c.id,
                    c.name,
                    crate::scim::resource::format_time(c.created_us)
                );
            }
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            let db = open(&cli.database_url, true).await?;
            credentials::revoke(&db, &id)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!("revoked {id}");
            Ok(())
        }
    }
}

async fn serve(url: &str, args: ServeArgs) -> Result<(), String> {
    let db = open(url, !args.skip_migrations).await?;
    bootstrap(&db, &args.listen).await?;
    let state = AppState::new(db).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%addr, "serving SCIM at http://{addr}/scim/v2");
    app::serve(listener, state).await.map_err(|e| e.to_string())
}

/// On an empty database: tenant `default` and a SCIM token, printed once.
async fn bootstrap(db: &DatabaseConnection, listen: &str) -> Result<(), String> {
    if !tenants::list(db)
        .await
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Ok(());
    }
    let tenant = tenants::create(db, "default")
        .await
        .map_err(|e| e.to_string())?;
    let (_, secret) =
        credentials::create(db, &tenant.id, credentials::Kind::Scim, None, "bootstrap")
            .await
            .map_err(|e| e.to_string())?;
    println!("Created tenant \"default\" with a SCIM token (shown only this once):");
    println!();
    println!("    {secret}");
    println!();
    println!(
        "Point your identity provider at http://{listen}/scim/v2 and send \"Authorization: Bearer <token>\"."
    );
    Ok(())
}
