//! The command line: `serve`, `migrate`, `tenant …`, `token …`. Every command takes
//! `--database-url` (or `ROLLCALL_DATABASE_URL`).

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use serde_json::{Map, Value, json};

use std::time::Duration;

use crate::app::{self, AppState};
use crate::domain::audit::Actor;
use crate::domain::ownership::CONTACT_CENTRE;
use crate::domain::user::User;
use crate::domain::validation::Surface;
use crate::http::edge::server::ConnectionLimits;
use crate::http::edge::{self, EdgeConfig};
use crate::http::provisioning_log::{self, LogConfig};
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

    /// Seconds to wait for a database connection, at start and for each request, before
    /// giving up (503 with Retry-After while serving).
    #[arg(
        long,
        global = true,
        env = "ROLLCALL_DB_ACQUIRE_TIMEOUT",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(1..=300)
    )]
    pub db_acquire_timeout: u64,

    /// Log format on stderr: `text` (colours only on a terminal) or `json` (one object a line).
    #[arg(long, global = true, env = "ROLLCALL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
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
    /// Print a one-time sign-in link to the admin console for a local user (break-glass),
    /// valid 15 minutes.
    ConsoleLink {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The user's userName.
        #[arg(long)]
        user: String,
        /// The URL browsers reach Rollcall at (`https://scim.example.com`).
        #[arg(
            long,
            env = "ROLLCALL_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
    },
    /// Write a consistent copy of the SQLite database to PATH, safe while `serve` runs
    /// (PostgreSQL: use pg_dump).
    Backup {
        /// Where to write the copy; must not exist yet.
        path: std::path::PathBuf,
    },
    /// Print the configuration `serve` would run with (same flags and environment), and
    /// check the database: exit 0 when healthy, 2 when a check fails.
    Doctor(ServeArgs),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a local user (owned locally in full) and print its id.
    Create {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The new user's userName (unique in the tenant, case-insensitively).
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
    /// The URL clients reach Rollcall at (`https://scim.example.com`): the base of
    /// `meta.location` and `Location`. Without it, a trusted proxy's forwarded headers, else
    /// the listen address.
    #[arg(long, env = "ROLLCALL_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Trust `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-For` (only behind a
    /// proxy that sets them).
    #[arg(long, env = "ROLLCALL_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// Requests per second per credential, bursts up to twice that; 0 turns rate limiting
    /// off. A tenant's `rateLimit` setting replaces it for its credentials. Per instance.
    #[arg(long, env = "ROLLCALL_RATE_LIMIT", default_value_t = edge::DEFAULT_RATE_LIMIT)]
    pub rate_limit: u32,
    /// The highest rate a tenant's admin can give its credentials with the `rateLimit`
    /// setting (requests per second).
    #[arg(long, env = "ROLLCALL_RATE_LIMIT_MAX", default_value_t = edge::DEFAULT_RATE_LIMIT_MAX, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_max: u32,
    /// Failed authentications per minute per client address before it gets 429; 0 turns the
    /// throttle off.
    #[arg(long, env = "ROLLCALL_AUTH_FAILURE_LIMIT", default_value_t = edge::DEFAULT_AUTH_FAILURE_LIMIT)]
    pub auth_failure_limit: u32,
    /// Seconds from a request's first byte to the end of its headers before the connection
    /// is closed.
    #[arg(long, env = "ROLLCALL_HEADER_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout: u64,
    /// Seconds a connection with no request in progress may stay silent.
    #[arg(long, env = "ROLLCALL_IDLE_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: u64,
    /// Seconds a request's body may take to arrive (408 after).
    #[arg(long, env = "ROLLCALL_BODY_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout: u64,
    /// Seconds a request may take in all before a 503.
    #[arg(long, env = "ROLLCALL_REQUEST_TIMEOUT", default_value_t = 55, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout: u64,
    /// Connections open at once; more wait in the listen backlog.
    #[arg(long, env = "ROLLCALL_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
    /// Serve `GET /metrics` on this address instead of the main one.
    #[arg(long, env = "ROLLCALL_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// SCIM requests the provisioning log keeps per credential (the newest); 0 turns the
    /// log off.
    #[arg(long, env = "ROLLCALL_PROVISIONING_LOG_ROWS", default_value_t = provisioning_log::DEFAULT_ROWS, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub provisioning_log_rows: u64,
    /// Days the provisioning log keeps a request.
    #[arg(long, env = "ROLLCALL_PROVISIONING_LOG_DAYS", default_value_t = provisioning_log::DEFAULT_DAYS, value_parser = clap::value_parser!(u64).range(1..=365))]
    pub provisioning_log_days: u64,
}

impl ServeArgs {
    /// The edge configuration these flags describe; `listen_base` from the bound address.
    pub fn edge(&self, listen_base: String) -> Result<EdgeConfig, CliError> {
        let public_url = match &self.public_url {
            Some(url) => Some(edge::parse_public_url(url).map_err(CliError::Refused)?),
            None => None,
        };
        Ok(EdgeConfig {
            public_url,
            listen_base,
            trust_proxy: self.trust_proxy,
            rate_limit: self.rate_limit,
            rate_limit_max: self.rate_limit_max,
            auth_failure_limit: self.auth_failure_limit,
            request_timeout: Duration::from_secs(self.request_timeout),
            body_timeout: Duration::from_secs(self.body_timeout),
            metrics_on_main: self.metrics_listen.is_none(),
        })
    }

    /// What the provisioning log keeps.
    pub fn provisioning_log(&self) -> LogConfig {
        LogConfig {
            rows_per_credential: self.provisioning_log_rows,
            max_age: Duration::from_secs(self.provisioning_log_days * 24 * 3600),
        }
    }

    pub fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: Duration::from_secs(self.header_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Lower-case letters, digits and hyphens.
        slug: String,
    },
    /// List tenants: slug, id, status (active or disabled).
    List,
    /// Disable a tenant: its credentials get 401 until it is enabled again; its data stays.
    Disable {
        /// The tenant's slug.
        slug: String,
    },
    /// Enable a disabled tenant again.
    Enable {
        /// The tenant's slug.
        slug: String,
    },
    /// Delete a tenant with its users, groups, credentials and catalogs; its audit log is
    /// kept. Refused while it has users, unless --force.
    Delete {
        /// The tenant's slug.
        slug: String,
        /// Delete it even though it has users.
        #[arg(long)]
        force: bool,
    },
    /// Set the tenant's OpenID Connect sign-in to the admin console (its identity
    /// provider's issuer and the client Rollcall signs in as), or remove it.
    Oidc {
        /// The tenant's slug.
        slug: String,
        /// The identity provider's issuer URL (https://; http:// only on loopback).
        #[arg(long, required_unless_present = "remove")]
        issuer: Option<String>,
        /// The client id registered at the identity provider.
        #[arg(long, required_unless_present = "remove")]
        client_id: Option<String>,
        /// The client secret (better from the environment); kept when left out on a change.
        #[arg(long, env = "ROLLCALL_OIDC_CLIENT_SECRET", hide_env_values = true)]
        client_secret: Option<String>,
        /// Turn the OpenID Connect sign-in off.
        #[arg(long, conflicts_with_all = ["issuer", "client_id", "client_secret"])]
        remove: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a credential and print only its secret on stdout.
    Create {
        /// The tenant's slug.
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
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
    },
    /// Revoke a credential by id.
    Revoke {
        /// The credential's id (from `token list`).
        id: String,
    },
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
            | Error::PreconditionFailed
            | Error::Held { .. } => CliError::Refused(err.to_string()),
            Error::VersionConflict | Error::Unavailable(_) | Error::Internal(_) => {
                CliError::Failed(err.to_string())
            }
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
    init_tracing(cli.log_format);
    match execute(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            err.exit_code()
        }
    }
}

fn init_tracing(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}

/// The database URL with any password replaced, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The file path and query of a SQLite URL.
fn sqlite_file(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    Some(rest.split_once('?').unwrap_or((rest, "")))
}

/// Checks a database URL before connecting, so the common mistakes get a message that says
/// what to do.
fn check_url(url: &str) -> Result<(), CliError> {
    if let Some((path, query)) = sqlite_file(url) {
        let creates = query
            .split('&')
            .any(|p| p == "mode=rwc" || p == "mode=memory");
        if !creates
            && path != ":memory:"
            && !path.is_empty()
            && !std::path::Path::new(path).exists()
        {
            return Err(CliError::Refused(format!(
                "the SQLite database file {path} does not exist; to create it, add ?mode=rwc to the URL: --database-url 'sqlite://{path}?mode=rwc'"
            )));
        }
        return Ok(());
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(());
    }
    Err(CliError::Refused(format!(
        "unsupported database URL {}: use sqlite://PATH?mode=rwc or postgres://USER@HOST/DB",
        redacted(url)
    )))
}

/// Which database to open, and how long to wait for it.
pub struct Target {
    pub url: String,
    pub acquire_timeout: Duration,
}

async fn open(target: &Target, migrate: bool) -> Result<DatabaseConnection, CliError> {
    let url = &target.url;
    check_url(url)?;
    let db = store::connect_with(url, target.acquire_timeout)
        .await
        .map_err(|e| {
            let cause = match e {
                crate::domain::Error::Unavailable(c) | crate::domain::Error::Internal(c) => c,
                other => other.to_string(),
            };
            CliError::Failed(format!(
                "cannot open the database {}: {cause}; check that it is running and that --database-url is right",
                redacted(url)
            ))
        })?;
    if migrate {
        store::migrate(&db).await.map_err(|e| {
            CliError::Failed(format!(
                "cannot migrate the database {}: {e}",
                redacted(url)
            ))
        })?;
    }
    Ok(db)
}

async fn execute(cli: Cli) -> Result<(), CliError> {
    let target = Target {
        url: cli.database_url.clone(),
        acquire_timeout: Duration::from_secs(cli.db_acquire_timeout),
    };
    match cli.command {
        Command::Migrate => {
            open(&target, true).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Serve(args) => serve(&target, &args).await,
        Command::Tenant(TenantCommand::Create { slug }) => {
            let db = open(&target, true).await?;
            let tenant = write::tenants::create(&db, &Actor::cli(), &slug).await?;
            println!("{}", tenant.slug);
            Ok(())
        }
        Command::Tenant(TenantCommand::List) => {
            let db = open(&target, true).await?;
            for tenant in tenants::list(&db).await? {
                let status = if tenant.disabled_us.is_some() {
                    "disabled"
                } else {
                    "active"
                };
                println!("{}\t{}\t{status}", tenant.slug, tenant.id);
            }
            Ok(())
        }
        Command::Tenant(TenantCommand::Disable { slug }) => {
            let db = open(&target, true).await?;
            if write::tenants::set_disabled(&db, &Actor::cli(), &slug, true).await? {
                eprintln!(
                    "tenant {slug} disabled: its credentials are refused until `rollcall tenant enable {slug}`"
                );
            } else {
                eprintln!("tenant {slug} was already disabled; nothing changed");
            }
            Ok(())
        }
        Command::Tenant(TenantCommand::Enable { slug }) => {
            let db = open(&target, true).await?;
            if write::tenants::set_disabled(&db, &Actor::cli(), &slug, false).await? {
                eprintln!("tenant {slug} enabled");
            } else {
                eprintln!("tenant {slug} was not disabled; nothing changed");
            }
            Ok(())
        }
        Command::Tenant(TenantCommand::Delete { slug, force }) => {
            let db = open(&target, true).await?;
            let gone = write::tenants::delete(&db, &Actor::cli(), &slug, force).await?;
            eprintln!(
                "tenant {slug} deleted with {} user(s), {} group(s) and {} credential(s); its audit log is kept",
                gone.users, gone.groups, gone.credentials
            );
            Ok(())
        }
        Command::ConsoleLink {
            tenant,
            user,
            public_url,
        } => {
            let base = crate::http::edge::parse_public_url(&public_url)
                .map_err(|e| CliError::Refused(format!("--public-url: {e}")))?;
            let db = open(&target, true).await?;
            let tenant = tenants::by_slug(&db, &tenant).await?;
            let user = users::by_user_name(&db, &tenant.id, &user).await?;
            if !user.active() {
                return Err(CliError::Refused(format!(
                    "user {} is archived: it cannot sign in",
                    user.user_name()
                )));
            }
            let ttl = crate::http::console::session::LINK_TTL;
            let secret = crate::store::console::create_link(
                &db,
                &tenant.id,
                &user.id,
                i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX),
            )
            .await?;
            println!("{base}/console/sign-in/link?token={secret}");
            eprintln!(
                "one-time sign-in link for {} in {}, valid {} minutes",
                user.user_name(),
                tenant.slug,
                ttl.as_secs() / 60
            );
            Ok(())
        }
        Command::Tenant(TenantCommand::Oidc {
            slug,
            issuer,
            client_id,
            client_secret,
            remove,
        }) => {
            let db = open(&target, true).await?;
            let tenant = tenants::by_slug(&db, &slug).await?;
            let input = (!remove).then(|| write::oidc::OidcInput {
                issuer: issuer.unwrap_or_default(),
                client_id: client_id.unwrap_or_default(),
                client_secret,
            });
            match write::oidc::set(&db, &tenant.id, &Actor::cli(), input).await? {
                Some(c) => eprintln!(
                    "tenant {slug} signs in to the console through {} as client {}; register the redirect URI <public URL>{}",
                    c.issuer,
                    c.client_id,
                    crate::http::admin::oidc::CALLBACK
                ),
                None => eprintln!("tenant {slug}: OpenID Connect sign-in is off"),
            }
            Ok(())
        }
        Command::Backup { path } => backup(&target, &path).await,
        Command::Doctor(args) => doctor(&target, &args).await,
        Command::Token(TokenCommand::Create {
            tenant,
            scim,
            user,
            name,
        }) => {
            let db = open(&target, true).await?;
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
            let db = open(&target, true).await?;
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
            let db = open(&target, true).await?;
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
            let db = open(&target, true).await?;
            let credential = credentials::by_id(&db, &id).await?;
            write::credentials::revoke(&db, &credential.tenant_id, &Actor::cli(), &id).await?;
            eprintln!("revoked {id}");
            Ok(())
        }
    }
}

async fn bind(address: &str, what: &str) -> Result<tokio::net::TcpListener, CliError> {
    tokio::net::TcpListener::bind(address).await.map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                " (another process is listening there: stop it or choose another address)"
            }
            std::io::ErrorKind::PermissionDenied => {
                " (ports below 1024 need privileges: choose a port above 1024)"
            }
            _ => "",
        };
        CliError::Failed(format!("cannot listen on {address} for {what}: {e}{hint}"))
    })
}

async fn serve(target: &Target, args: &ServeArgs) -> Result<(), CliError> {
    // Flags are checked before anything is opened or bound.
    args.edge(String::new())?;
    let listener = bind(&args.listen, "--listen").await?;
    let metrics_listener = match &args.metrics_listen {
        Some(address) => Some(bind(address, "--metrics-listen").await?),
        None => None,
    };
    let db = open(target, !args.skip_migrations).await?;
    let addr = listener.local_addr()?;
    let listen_base = format!("http://{addr}");
    let config = args.edge(listen_base.clone())?;
    if config.public_url.is_none() && !config.trust_proxy && addr.ip().is_unspecified() {
        tracing::warn!(
            "listening on every interface without --public-url: links in answers name {listen_base}; set --public-url to the address clients use"
        );
    }
    let base = config.public_url.clone().unwrap_or(listen_base);
    bootstrap(&db, &base).await?;
    let state = AppState::with_edge(db, config)?.with_provisioning_log(args.provisioning_log());
    let log = state.provisioning_log.clone();
    log.start();
    if let Some(listener) = metrics_listener {
        let metrics = app::metrics_router(state.clone());
        let metrics_addr = listener.local_addr()?;
        tracing::info!(%metrics_addr, "serving metrics at http://{metrics_addr}/metrics");
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, metrics).await {
                tracing::error!(%err, "the metrics listener stopped");
            }
        });
    }
    let deliverer = crate::events::Deliverer::new(
        state.db.clone(),
        crate::events::DeliveryConfig::new(format!("{}/scim/v2", base_for_log(&state))),
    );
    tokio::spawn(deliverer.run(app::shutdown_signal()));
    tracing::info!(%addr, "serving SCIM at {base}/scim/v2", base = base_for_log(&state));
    let served = app::serve(listener, state, args.connection_limits()).await;
    // What the provisioning log has not written yet.
    log.flush(Duration::from_secs(5)).await;
    served.map_err(CliError::from)
}

fn base_for_log(state: &AppState) -> String {
    state.edge.base(&axum::http::HeaderMap::new())
}

/// `rollcall backup PATH`: SQLite's `VACUUM INTO`, a consistent copy taken inside one read
/// transaction while writers go on.
async fn backup(target: &Target, path: &std::path::Path) -> Result<(), CliError> {
    if !target.url.starts_with("sqlite:") {
        return Err(CliError::Refused(
            "backup copies SQLite databases; for PostgreSQL use pg_dump, e.g. pg_dump --format=custom --file=rollcall.dump \"$ROLLCALL_DATABASE_URL\"".into(),
        ));
    }
    if path.exists() {
        return Err(CliError::Refused(format!(
            "{} already exists; choose a new file name",
            path.display()
        )));
    }
    let text = path
        .to_str()
        .ok_or_else(|| CliError::Refused(format!("{} is not a UTF-8 path", path.display())))?;
    let db = open(target, false).await?;
    let quoted = text.replace('\'', "''");
    db.execute_unprepared(&format!("VACUUM INTO '{quoted}'"))
        .await
        .map_err(|e| CliError::Failed(format!("cannot write the backup to {text}: {e}")))?;
    let size = std::fs::metadata(path)?.len();
    println!("{text}");
    eprintln!("backed up to {text} ({size} bytes)");
    Ok(())
}

/// `rollcall doctor`: the effective configuration, then the checks; exit 2 if one fails.
async fn doctor(target: &Target, args: &ServeArgs) -> Result<(), CliError> {
    let mut failed = Vec::new();
    println!("configuration:");
    println!("  database-url        {}", redacted(&target.url));
    println!(
        "  db-acquire-timeout  {} s",
        target.acquire_timeout.as_secs()
    );
    println!("  listen              {}", args.listen);
    let links = match &args.public_url {
        Some(url) => url.clone(),
        None if args.trust_proxy => "the proxy's X-Forwarded-Proto and X-Forwarded-Host".into(),
        None => format!("http://{} (the listen address)", args.listen),
    };
    println!("  public-url          {links}");
    println!("  trust-proxy         {}", args.trust_proxy);
    let rate = match args.rate_limit {
        0 => "off".to_string(),
        n => format!(
            "{n} requests/s per credential, bursts of {}",
            u64::from(n) * 2
        ),
    };
    println!("  rate-limit          {rate}");
    println!(
        "  rate-limit-max      {} requests/s (the most a tenant's rateLimit setting gives)",
        args.rate_limit_max
    );
    let failures = match args.auth_failure_limit {
        0 => "off".to_string(),
        n => format!("{n} per minute per client address"),
    };
    println!("  auth-failure-limit  {failures}");
    println!("  header-timeout      {} s", args.header_timeout);
    println!("  idle-timeout        {} s", args.idle_timeout);
    println!("  body-timeout        {} s", args.body_timeout);
    println!("  request-timeout     {} s", args.request_timeout);
    println!("  max-connections     {}", args.max_connections);
    println!(
        "  metrics             {}",
        args.metrics_listen.as_deref().map_or(
            "GET /metrics on the listen address".to_string(),
            |a| format!("GET /metrics on {a}")
        )
    );
    let log = match args.provisioning_log_rows {
        0 => "off".to_string(),
        n => format!(
            "the last {n} SCIM requests per credential, for {} days",
            args.provisioning_log_days
        ),
    };
    println!("  provisioning-log    {log}");
    println!("  skip-migrations     {}", args.skip_migrations);
    println!("checks:");
    match args.edge(String::new()) {
        Ok(_) => println!("  ok    flags"),
        Err(e) => {
            println!("  FAIL  flags: {e}");
            failed.push("flags");
        }
    }
    let missing_file = sqlite_file(&target.url)
        .map(|(path, _)| path)
        .filter(|path| *path != ":memory:" && !std::path::Path::new(path).exists());
    let opened = match missing_file {
        Some(path) => Err(CliError::Refused(format!(
            "the SQLite file {path} does not exist yet (serve creates it with ?mode=rwc)"
        ))),
        None => open(target, false).await,
    };
    match opened {
        Err(e) => {
            println!("  FAIL  database: {e}");
            failed.push("database");
        }
        Ok(db) => {
            println!("  ok    database opens");
            use migrations::MigratorTrait;
            match migrations::Migrator::get_pending_migrations_read_only(&db).await {
                Ok(pending) if pending.is_empty() => println!("  ok    migrations: all applied"),
                Ok(pending) => {
                    println!(
                        "  FAIL  migrations: {} not applied; run `rollcall migrate` (serve does unless --skip-migrations)",
                        pending.len()
                    );
                    failed.push("migrations");
                }
                Err(e) => {
                    println!(
                        "  FAIL  migrations: cannot read their state ({e}); run `rollcall migrate`"
                    );
                    failed.push("migrations");
                }
            }
            if failed.is_empty() {
                match tenants::list(&db).await {
                    Ok(all) => {
                        let disabled = all.iter().filter(|t| t.disabled_us.is_some()).count();
                        println!("  ok    tenants: {} ({disabled} disabled)", all.len());
                    }
                    Err(e) => {
                        println!("  FAIL  tenants: {e}");
                        failed.push("tenants");
                    }
                }
            }
        }
    }
    if failed.is_empty() {
        println!("healthy");
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "doctor: {} check(s) failed: {}",
            failed.len(),
            failed.join(", ")
        )))
    }
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
async fn bootstrap(db: &DatabaseConnection, base: &str) -> Result<(), CliError> {
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
        "Point your identity provider at {base}/scim/v2 and send \"Authorization: Bearer <token>\"."
    );
    println!();
    println!(
        "Created local user \"admin\" (Administrator) with an admin API token (shown only this once):"
    );
    println!();
    println!("    {admin_secret}");
    println!();
    println!("Use it on {base}/admin/v1 with \"Authorization: Bearer <token>\".");
    let ttl = crate::http::console::session::LINK_TTL;
    let link = crate::store::console::create_link(
        db,
        &tenant.id,
        &admin.id,
        i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX),
    )
    .await?;
    println!();
    println!(
        "Open the admin console as \"admin\" (one-time link, valid {} minutes):",
        ttl.as_secs() / 60
    );
    println!();
    println!("    {base}/console/sign-in/link?token={link}");
    println!();
    println!("Later: rollcall console-link --tenant default --user admin");
    Ok(())
}
