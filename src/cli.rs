//! The command line: `serve`, `migrate`, `tenant …`, `token …`. Every command takes
//! `--database-url` (or `ROLLCALL_DATABASE_URL`).

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use sea_orm::DatabaseConnection;

use serde_json::{Map, Value, json};

use crate::app::{self, AppState};
use crate::domain::audit::Actor;
use crate::domain::ownership::CONTACT_CENTRE;
use crate::domain::user::User;
use crate::domain::validation::Surface;
use crate::store::{self, credentials, tenants, users};
use crate::write;

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
    /// Manage local users.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a local user (owned locally in full) and print its id.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        user_name: String,
        /// A security profile of the tenant's catalog; repeat for several.
        #[arg(long = "security-profile", required = true)]
        security_profiles: Vec<String>,
        /// The user's primary email.
        #[arg(long)]
        email: Option<String>,
    },
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
        #[arg(long, conflicts_with = "user")]
        scim: bool,
        /// An admin API token of this user (by userName), carrying its permissions.
        #[arg(long)]
        user: Option<String>,
        /// A label for the credential.
        #[arg(long, default_value = "token")]
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

/// Why a command failed: what it prints on stderr, and its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command was refused: bad input, a rule, a missing tenant or user. Exit code 1.
    #[error("{0}")]
    Refused(String),
    /// The database or the server could not do it. Exit code 2.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Refused(_) => ExitCode::from(1),
            CliError::Failed(_) => ExitCode::from(2),
        }
    }
}

impl From<crate::domain::Error> for CliError {
    fn from(err: crate::domain::Error) -> Self {
        use crate::domain::Error;
        match err {
            Error::NotFound(_)
            | Error::Uniqueness { .. }
            | Error::InvalidValue { .. }
            | Error::Forbidden(_)
            | Error::Conflict { .. }
            | Error::PreconditionFailed => CliError::Refused(err.to_string()),
            Error::VersionConflict | Error::Internal(_) => CliError::Failed(err.to_string()),
        }
    }
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        CliError::Failed(message)
    }
}

impl From<std::io::Error> for CliError {
    fn from(err: std::io::Error) -> Self {
        CliError::Failed(err.to_string())
    }
}

impl From<crate::scim::schema::SchemaFileError> for CliError {
    fn from(err: crate::scim::schema::SchemaFileError) -> Self {
        CliError::Failed(err.to_string())
    }
}

/// Runs a command; errors go to stderr and a non-zero exit code (1 refused, 2 failed).
pub async fn run(cli: Cli) -> ExitCode {
    init_tracing();
    match execute(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            err.exit_code()
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

async fn open(url: &str, migrate: bool) -> Result<DatabaseConnection, CliError> {
    let db = store::connect(url).await?;
    if migrate {
        store::migrate(&db).await?;
    }
    Ok(db)
}

async fn execute(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Migrate => {
            open(&cli.database_url, true).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Serve(args) => serve(&cli.database_url, args).await,
        Command::Tenant(TenantCommand::Create { slug }) => {
            let db = open(&cli.database_url, true).await?;
            let tenant = write::tenants::create(&db, &Actor::cli(), &slug).await?;
            println!("{}", tenant.slug);
            Ok(())
        }
        Command::Tenant(TenantCommand::List) => {
            let db = open(&cli.database_url, true).await?;
            for tenant in tenants::list(&db).await? {
                println!("{}\t{}", tenant.slug, tenant.id);
            }
            Ok(())
        }
        Command::Token(TokenCommand::Create {
            tenant,
            scim,
            user,
            name,
        }) => {
            let db = open(&cli.database_url, true).await?;
            let tenant = tenants::by_slug(&db, &tenant).await?;
            let (kind, user_id) = match (scim, user) {
                (true, None) => (credentials::Kind::Scim, None),
                (false, Some(user_name)) => {
                    let user = users::by_user_name(&db, &tenant.id, &user_name).await?;
                    if !user.active() {
                        return Err(CliError::Refused(format!("user {user_name} is archived")));
                    }
                    (credentials::Kind::User, Some(user.id))
                }
                _ => {
                    return Err(CliError::Refused(
                        "say which kind of token: --scim, or --user NAME".into(),
                    ));
                }
            };
            let (_, secret) = write::credentials::create(
                &db,
                &tenant.id,
                &Actor::cli(),
                kind,
                user_id.as_deref(),
                &name,
            )
            .await?;
            println!("{secret}");
            Ok(())
        }
        Command::User(UserCommand::Create {
            tenant,
            user_name,
            security_profiles,
            email,
        }) => {
            let db = open(&cli.database_url, true).await?;
            let tenant = tenants::by_slug(&db, &tenant).await?;
            let user = create_local_user(
                &db,
                &tenant.id,
                &user_name,
                &security_profiles,
                email.as_deref(),
            )
            .await?;
            println!("{}", user.id);
            Ok(())
        }
        Command::Token(TokenCommand::List { tenant }) => {
            let db = open(&cli.database_url, true).await?;
            let tenant = tenants::by_slug(&db, &tenant).await?;
            for c in credentials::list(&db, &tenant.id).await? {
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
            let credential = credentials::by_id(&db, &id).await?;
            write::credentials::revoke(&db, &credential.tenant_id, &Actor::cli(), &id).await?;
            eprintln!("revoked {id}");
            Ok(())
        }
    }
}

async fn serve(url: &str, args: ServeArgs) -> Result<(), CliError> {
    let db = open(url, !args.skip_migrations).await?;
    bootstrap(&db, &args.listen).await?;
    let state = AppState::new(db)?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "serving SCIM at http://{addr}/scim/v2");
    app::serve(listener, state).await.map_err(CliError::from)
}

/// Creates a local user with security profiles and an optional primary email.
async fn create_local_user(
    db: &DatabaseConnection,
    tenant_id: &str,
    user_name: &str,
    security_profiles: &[String],
    email: Option<&str>,
) -> Result<User, CliError> {
    let mut doc = Map::new();
    doc.insert("userName".into(), Value::String(user_name.to_string()));
    if let Some(email) = email {
        doc.insert(
            "emails".into(),
            json!([{"value": email, "type": "work", "primary": true}]),
        );
    }
    doc.insert(
        CONTACT_CENTRE.into(),
        json!({"securityProfiles": security_profiles}),
    );
    write::users::create(db, tenant_id, &Actor::cli(), Surface::Local, doc)
        .await
        .map_err(CliError::from)
}

/// On an empty database: tenant `default` with a SCIM token, and a local `admin` user
/// (Administrator) with an admin API token, printed once.
async fn bootstrap(db: &DatabaseConnection, listen: &str) -> Result<(), CliError> {
    if !tenants::list(db).await?.is_empty() {
        return Ok(());
    }
    let tenant = write::tenants::create(db, &Actor::cli(), "default").await?;
    let (_, secret) = write::credentials::create(
        db,
        &tenant.id,
        &Actor::cli(),
        credentials::Kind::Scim,
        None,
        "bootstrap",
    )
    .await?;
    let admin = create_local_user(
        db,
        &tenant.id,
        "admin",
        &["Administrator".to_string()],
        None,
    )
    .await?;
    let (_, admin_secret) = write::credentials::create(
        db,
        &tenant.id,
        &Actor::cli(),
        credentials::Kind::User,
        Some(&admin.id),
        "bootstrap",
    )
    .await?;
    println!("Created tenant \"default\" with a SCIM token (shown only this once):");
    println!();
    println!("    {secret}");
    println!();
    println!(
        "Point your identity provider at http://{listen}/scim/v2 and send \"Authorization: Bearer <token>\"."
    );
    println!();
    println!(
        "Created local user \"admin\" (Administrator) with an admin API token (shown only this once):"
    );
    println!();
    println!("    {admin_secret}");
    println!();
    println!("Use it on http://{listen}/admin/v1 with \"Authorization: Bearer <token>\".");
    Ok(())
}
