//! The admin API's routes and their documentation in one table: the router is built from
//! it, and so is `/admin/v1/openapi.json` — a route cannot exist without its entry, and an
//! entry names its parameters, its request body and each response status with its schema.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};

use super::auth::AdminAuth;
use super::{AdminBody, DryRun};
use super::{
    audit, bulk, catalogs, credentials, events, import, oidc, openapi, provisioning_log, settings,
    template, users,
};
use crate::app::AppState;
use crate::domain::catalog::CatalogKind;
use crate::http::extract::QueryMap;

/// A query parameter: its name, JSON type and description.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: &'static str,
    pub kind: &'static str,
    pub description: &'static str,
}

/// What a request carries.
#[derive(Debug, Clone)]
pub enum Body {
    /// JSON of a schema in `components.schemas`, with an example.
    Json(&'static str),
    /// A spreadsheet: CSV, .xlsx or a form upload of either.
    Upload,
}

/// What a response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// JSON of a schema in `components.schemas`.
    Json(&'static str),
    Csv,
    Xlsx,
    /// No body (204).
    Empty,
}

/// One route: method, path, what it is, and its handler.
pub struct Route {
    pub method: Method,
    pub path: String,
    pub summary: String,
    /// Who may call it, in words (permission names).
    pub permission: String,
    pub query: Vec<Param>,
    pub body: Option<Body>,
    /// The statuses it answers besides the ones every route may (401, 429, 503) and their
    /// content; errors are `Error`.
    pub responses: Vec<(u16, Content)>,
    handler: MethodRouter<AppState>,
}

impl Route {
    fn new<H, T>(method: Method, path: impl Into<String>, handler: H) -> Route
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        Route {
            method,
            path: path.into(),
            summary: String::new(),
            permission: String::new(),
            query: Vec::new(),
            body: None,
            responses: Vec::new(),
            handler: on(filter, handler),
        }
    }

    fn doc(mut self, summary: impl Into<String>, permission: impl Into<String>) -> Route {
        self.summary = summary.into();
        self.permission = permission.into();
        self
    }

    fn query(mut self, params: &[Param]) -> Route {
        self.query.extend(params.iter().cloned());
        self
    }

    fn json(mut self, schema: &'static str) -> Route {
        self.body = Some(Body::Json(schema));
        self
    }

    fn upload(mut self) -> Route {
        self.body = Some(Body::Upload);
        self
    }

    fn answers(mut self, status: u16, content: Content) -> Route {
        self.responses.push((status, content));
        self
    }

    /// Error statuses, answered as `Error`.
    fn errors(mut self, statuses: &[u16]) -> Route {
        for status in statuses {
            self.responses.push((*status, Content::Json("Error")));
        }
        self
    }

    /// `?dryRun=true|false`: answered 200 in a dry run, 400 for another value.
    fn dry_run(self) -> Route {
        self.query(&[DRY_RUN]).errors(&[400])
    }
}

const DRY_RUN: Param = Param {
    name: "dryRun",
    kind: "boolean",
    description: "true: validate and answer as the real run would, writing nothing",
};

const LIST: [Param; 7] = [
    Param {
        name: "filter",
        kind: "string",
        description: "SCIM filter over the admin view (default values match: telephonyRegion eq \"NAM East\")",
    },
    Param {
        name: "q",
        kind: "string",
        description: "free text: every word starts the userName, a name, an email or the agent ID",
    },
    Param {
        name: "group",
        kind: "string",
        description: "members of this group (its id or display name)",
    },
    Param {
        name: "attributes",
        kind: "string",
        description: "comma-separated fields of each row (id is always there)",
    },
    Param {
        name: "sortBy",
        kind: "string",
        description: "SCIM attribute to sort by",
    },
    Param {
        name: "startIndex",
        kind: "integer",
        description: "1-based index of the first row",
    },
    Param {
        name: "count",
        kind: "integer",
        description: "rows per page",
    },
];

/// Every route of the admin API, in the order the document lists them.
pub fn table() -> Vec<Route> {
    use Content::{Csv, Empty, Json, Xlsx};
    let mut routes = vec![
        Route::new(Method::GET, "/users", users::list)
            .doc("List users: SCIM filter, free text, group, compact rows", "ViewUsers")
            .query(&LIST)
            .answers(200, Json("UserList"))
            .errors(&[400, 403, 404]),
        Route::new(Method::POST, "/users", users::create)
            .doc("Create a local user", "CreateUser + EditUser")
            .dry_run()
            .json("UserInput")
            .answers(201, Json("User"))
            .answers(200, Json("User"))
            .errors(&[400, 403, 409]),
        Route::new(Method::PATCH, "/users", bulk::edit)
            .doc(
                "Bulk edit {ids, set}: every user that cannot take it is listed with every reason; all or nothing",
                "per field",
            )
            .dry_run()
            .json("BulkEdit")
            .answers(200, Json("BulkResult"))
            .errors(&[400, 403, 409]),
        Route::new(Method::POST, "/users/from-template", template::create)
            .doc(
                "Create users from a template user: one result per user, agent IDs from startingAgentId",
                "CreateUser + EditUser",
            )
            .dry_run()
            .json("FromTemplate")
            .answers(200, Json("FromTemplateResult"))
            .errors(&[400, 403, 409]),
        Route::new(Method::POST, "/users/archive", bulk::archive)
            .doc("Bulk archive {ids}: every refusal listed; all or nothing", "ArchiveUser")
            .dry_run()
            .json("BulkIds")
            .answers(200, Json("BulkResult"))
            .errors(&[400, 409]),
        Route::new(Method::POST, "/users/reactivate", bulk::reactivate)
            .doc("Bulk reactivate {ids}: every refusal listed; all or nothing", "ArchiveUser")
            .dry_run()
            .json("BulkIds")
            .answers(200, Json("BulkResult"))
            .errors(&[400, 409]),
        Route::new(Method::GET, "/users/import-template.csv", |a: AdminAuth| {
            import::template(a, import::Format::Csv)
        })
        .doc("The upload template as CSV", "ViewUsers")
        .answers(200, Csv)
        .errors(&[403]),
        Route::new(Method::GET, "/users/import-template.xlsx", |a: AdminAuth| {
            import::template(a, import::Format::Xlsx)
        })
        .doc("The upload template as an .xlsx workbook", "ViewUsers")
        .answers(200, Xlsx)
        .errors(&[403]),
        Route::new(
            Method::GET,
            "/users/export.csv",
            |s: State<AppState>, a: AdminAuth, q: QueryMap| {
                import::export(s, a, q, import::Format::Csv)
            },
        )
        .doc("Export the users the filter, q and group select, in the upload's columns", "ViewUsers")
        .query(&LIST[..3])
        .answers(200, Csv)
        .errors(&[400, 403, 404]),
        Route::new(
            Method::GET,
            "/users/export.xlsx",
            |s: State<AppState>, a: AdminAuth, q: QueryMap| {
                import::export(s, a, q, import::Format::Xlsx)
            },
        )
        .doc("Export as an .xlsx workbook", "ViewUsers")
        .query(&LIST[..3])
        .answers(200, Xlsx)
        .errors(&[400, 403, 404]),
        Route::new(
            Method::POST,
            "/users/import",
            import::import.layer(DefaultBodyLimit::max(import::MAX_UPLOAD)),
        )
        .doc(
            "Upload CSV (',' or ';'), .xlsx or a form upload: dryRun=true (the default) lists every error of every row; dryRun=false applies all rows or none",
            "per column; CreateUser + EditUser for new users",
        )
        .query(&[DRY_RUN])
        .upload()
        .answers(200, Json("ImportReport"))
        .errors(&[400, 403, 409, 413]),
        Route::new(Method::GET, "/users/{id}", users::get)
            .doc("The admin view of a user, with what the caller may edit and why not", "ViewUsers")
            .answers(200, Json("User"))
            .errors(&[403, 404]),
        Route::new(Method::PATCH, "/users/{id}", users::patch)
            .doc(
                "JSON merge patch of the admin view (skills by name; If-Match honoured); 409 sso_owned_fields",
                "per field",
            )
            .dry_run()
            .json("UserInput")
            .answers(200, Json("User"))
            .errors(&[400, 403, 404, 409, 412]),
        Route::new(Method::DELETE, "/users/{id}", users::delete)
            .doc("Delete an archived local user without API credentials", "DeleteUser")
            .dry_run()
            .answers(204, Empty)
            .answers(200, Json("Deleted"))
            .errors(&[403, 404, 409]),
        Route::new(Method::POST, "/users/{id}/archive", users::archive)
            .doc("Archive a local user", "ArchiveUser")
            .dry_run()
            .answers(200, Json("User"))
            .errors(&[403, 404, 409]),
        Route::new(Method::POST, "/users/{id}/reactivate", users::reactivate)
            .doc("Reactivate a local user", "ArchiveUser")
            .dry_run()
            .answers(200, Json("User"))
            .errors(&[403, 404, 409]),
        Route::new(Method::POST, "/users/{id}/hand-over", users::hand_over)
            .doc(
                "Hand a local user over to the identity provider",
                "EditUser + ArchiveUser + every permission of the user's profiles",
            )
            .dry_run()
            .answers(200, Json("User"))
            .errors(&[403, 404, 409]),
        Route::new(Method::GET, "/settings", settings::get)
            .doc("Tenant settings, with ETag", "ViewUsers")
            .answers(200, Json("Settings"))
            .errors(&[403]),
        Route::new(Method::PATCH, "/settings", settings::patch)
            .doc("Merge patch of the tenant settings (If-Match honoured)", "ManageSettings")
            .dry_run()
            .json("Settings")
            .answers(200, Json("Settings"))
            .errors(&[400, 403, 409, 412]),
        Route::new(Method::GET, "/oidc", oidc::get)
            .doc(
                "The console's OpenID Connect sign-in (never the client secret), the redirect URI to register, the sign-in URL",
                "ManageSettings",
            )
            .answers(200, Json("Oidc"))
            .errors(&[403]),
        Route::new(Method::PUT, "/oidc", oidc::put)
            .doc(
                "Set the console's OpenID Connect sign-in: issuer, clientId, clientSecret (kept when left out)",
                "ManageSettings",
            )
            .dry_run()
            .json("OidcInput")
            .answers(200, Json("Oidc"))
            .errors(&[400, 403]),
        Route::new(Method::DELETE, "/oidc", oidc::delete)
            .doc("Turn the console's OpenID Connect sign-in off", "ManageSettings")
            .dry_run()
            .answers(204, Empty)
            .answers(200, Json("Deleted"))
            .errors(&[403]),
        Route::new(Method::GET, "/credentials", credentials::list)
            .doc("List credentials (never their secrets)", "ManageCredentials")
            .answers(200, Json("CredentialList"))
            .errors(&[403]),
        Route::new(Method::POST, "/credentials", credentials::create)
            .doc(
                "Issue a credential: 201 with its secret, shown only in this answer",
                "ManageCredentials (+ every permission of the user it acts as; all for SCIM)",
            )
            .dry_run()
            .json("CredentialInput")
            .answers(201, Json("Credential"))
            .answers(200, Json("Credential"))
            .errors(&[400, 403, 404]),
        Route::new(Method::DELETE, "/credentials/{id}", credentials::revoke)
            .doc("Revoke a credential, at once", "ManageCredentials")
            .dry_run()
            .answers(204, Empty)
            .answers(200, Json("Deleted"))
            .errors(&[403, 404]),
        Route::new(Method::GET, "/audit", audit::list)
            .doc("The audit log, newest first", "ViewUsers")
            .query(&[
                Param {
                    name: "actor",
                    kind: "string",
                    description: "the acting user's id",
                },
                Param {
                    name: "credential",
                    kind: "string",
                    description: "the acting credential's id",
                },
                Param {
                    name: "target",
                    kind: "string",
                    description: "the changed resource's id",
                },
                Param {
                    name: "since",
                    kind: "string",
                    description: "RFC 3339 date-time",
                },
                Param {
                    name: "until",
                    kind: "string",
                    description: "RFC 3339 date-time",
                },
                LIST[5].clone(),
                LIST[6].clone(),
            ])
            .answers(200, Json("AuditPage"))
            .errors(&[400, 403]),
        Route::new(Method::GET, "/event-receivers", events::list)
            .doc("The tenant's SCIM event receivers, with their delivery counts", "ManageSettings")
            .answers(200, Json("ReceiverList"))
            .errors(&[403]),
        Route::new(Method::POST, "/event-receivers", events::create)
            .doc(
                "Register an event receiver: {url} to push to (https; http only on loopback) or {delivery: poll}; events (names or prefixes, default all), description. The signing secret (HS256) and a poll receiver's pollToken are answered once",
                "ManageSettings",
            )
            .json("ReceiverInput")
            .answers(201, Json("Receiver"))
            .errors(&[400, 403]),
        Route::new(Method::GET, "/event-receivers/{id}", events::get)
            .doc("One event receiver", "ManageSettings")
            .answers(200, Json("Receiver"))
            .errors(&[403, 404]),
        Route::new(Method::PATCH, "/event-receivers/{id}", events::patch)
            .doc(
                "Change an event receiver: url, events, description; rotateSecret: true answers new secrets once (If-Match: its version)",
                "ManageSettings",
            )
            .json("ReceiverInput")
            .answers(200, Json("Receiver"))
            .errors(&[400, 403, 404, 412]),
        Route::new(Method::DELETE, "/event-receivers/{id}", events::delete)
            .doc("Delete an event receiver and its undelivered events", "ManageSettings")
            .answers(204, Empty)
            .errors(&[403, 404]),
        Route::new(Method::GET, "/event-receivers/{id}/deliveries", events::deliveries)
            .doc("A receiver's events in order, with attempts and last error; state=dead lists the dead letters", "ManageSettings")
            .query(&[
                Param {
                    name: "state",
                    kind: "string",
                    description: "pending, delivered or dead",
                },
                LIST[5].clone(),
                LIST[6].clone(),
            ])
            .answers(200, Json("DeliveryPage"))
            .errors(&[400, 403, 404]),
        Route::new(Method::POST, "/event-receivers/{id}/redeliver", events::redeliver)
            .doc("Put a receiver's dead deliveries back in line", "ManageSettings")
            .answers(200, Json("Redelivered"))
            .errors(&[403, 404]),
        Route::new(Method::GET, "/holds", events::holds)
            .doc(
                "The mass-deprovision brake's holds, newest first, with the users each keeps from being deactivated or deleted",
                "ViewUsers",
            )
            .query(&[Param {
                name: "state",
                kind: "string",
                description: "held or released",
            }])
            .answers(200, Json("HoldList"))
            .errors(&[400, 403]),
        Route::new(Method::POST, "/holds/{id}/release", events::release)
            .doc(
                "Release a hold: the identity provider's retries of the held users go through, and a new count starts",
                "ArchiveUser, DeleteUser",
            )
            .answers(200, Json("Hold"))
            .errors(&[403, 404, 409]),
        Route::new(Method::GET, "/provisioning-log", provisioning_log::list)
            .doc(
                "The last SCIM requests of the tenant's credentials (secrets removed), newest first",
                "ViewUsers",
            )
            .query(&[
                Param {
                    name: "status",
                    kind: "string",
                    description: "a status code (409), a class (4xx, 5xx) or error (every status from 400)",
                },
                Param {
                    name: "user",
                    kind: "string",
                    description: "a user's id or userName (any case): the requests naming it",
                },
                Param {
                    name: "credential",
                    kind: "string",
                    description: "the requesting credential's id",
                },
                LIST[5].clone(),
                LIST[6].clone(),
            ])
            .answers(200, Json("ProvisioningLogPage"))
            .errors(&[400, 403]),
        Route::new(Method::GET, "/openapi.json", openapi::document)
            .doc("This document (public: it describes, it does not reveal)", "none")
            .answers(200, Json("OpenApi")),
    ];
    for kind in CatalogKind::ALL {
        let base = format!("/{}", kind.segment());
        let permission = crate::write::catalogs::write_permission(kind).as_str();
        routes.push(
            Route::new(
                Method::GET,
                base.clone(),
                move |s: State<AppState>, a: AdminAuth| catalogs::list(s, a, kind),
            )
            .doc(format!("List {}", kind.segment()), "ViewUsers")
            .answers(200, Json("CatalogList"))
            .errors(&[403]),
        );
        routes.push(
            Route::new(
                Method::POST,
                base.clone(),
                move |s: State<AppState>, a: AdminAuth, d: DryRun, AdminBody(b): AdminBody| {
                    catalogs::create(s, a, kind, d, b)
                },
            )
            .doc(format!("Add to {}", kind.segment()), permission)
            .dry_run()
            .json("CatalogInput")
            .answers(201, Json("CatalogItem"))
            .answers(200, Json("CatalogItem"))
            .errors(&[400, 403, 409]),
        );
        routes.push(
            Route::new(
                Method::PATCH,
                format!("{base}/{{id}}"),
                move |s: State<AppState>,
                      a: AdminAuth,
                      Path(id): Path<String>,
                      d: DryRun,
                      AdminBody(b): AdminBody| {
                    catalogs::patch(s, a, kind, id, d, b)
                },
            )
            .doc(format!("Change an entry of {}", kind.segment()), permission)
            .dry_run()
            .json("CatalogInput")
            .answers(200, Json("CatalogItem"))
            .errors(&[400, 403, 404, 409]),
        );
        routes.push(
            Route::new(
                Method::DELETE,
                format!("{base}/{{id}}"),
                move |s: State<AppState>, a: AdminAuth, Path(id): Path<String>, d: DryRun| {
                    catalogs::delete(s, a, kind, id, d)
                },
            )
            .doc(
                format!("Delete an entry of {} (409 while in use)", kind.segment()),
                permission,
            )
            .dry_run()
            .answers(204, Empty)
            .answers(200, Json("Deleted"))
            .errors(&[403, 404, 409]),
        );
    }
    routes
}

/// The router of `/admin/v1`, built from [`table`].
pub fn router() -> Router<AppState> {
    table().into_iter().fold(Router::new(), |router, route| {
        router.route(&route.path, route.handler)
    })
}
