//! The Upload and Create-from-template screens over HTTP.

use axum::http::Method;
use serde_json::json;

use super::{Client, find_user, html, sign_in, user_id};
use crate::harness::{TestApp, TestResponse, view};

/// Posts a file as the upload form does (multipart, CSRF token in the header, as htmx sends).
pub async fn upload(client: &Client<'_>, path: &str, csv: &str) -> TestResponse {
    let boundary = "rollcall-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"users.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    client
        .app
        .dispatch(
            "",
            Method::POST,
            path,
            Some((&format!("multipart/form-data; boundary={boundary}"), body)),
            &[("cookie", &client.cookie), ("x-csrf-token", &client.csrf)],
        )
        .await
}

const WITH_ERRORS: &str = "email,userName,givenName,familyName,securityProfiles\n\
    new1@acme.example,new1,New,One,Agent\n\
    new2@acme.example,new2,New,Two,NoSuchProfile\n";
const CLEAN: &str = "email,userName,givenName,familyName,securityProfiles\n\
    new1@acme.example,new1,New,One,Agent\n\
    new2@acme.example,new2,New,Two,Agent\n";

#[tokio::test]
async fn an_upload_lists_every_error_then_a_clean_file_is_saved() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    let client = sign_in(&app, &admin_id).await;
    let page = client.get("/console/upload").await;
    assert!(
        html(&page).contains("Template (CSV)")
            && html(&page).contains("<label for=\"file\">Choose file</label>")
    );
    let template = client.get("/console/upload/template.csv").await;
    assert_eq!(template.status.as_u16(), 200);
    assert!(
        html(&template).starts_with("email,userName"),
        "{}",
        html(&template)
    );

    let checked = upload(&client, "/console/upload/check", WITH_ERRORS).await;
    assert_eq!(checked.status.as_u16(), 200);
    let fragment = html(&checked);
    assert!(
        fragment.contains("1 error: nothing was saved"),
        "{fragment}"
    );
    assert!(
        fragment.contains("<td>3</td><td>securityProfiles</td><td>NoSuchProfile</td>"),
        "{fragment}"
    );
    // Saving the file with errors is refused the same way, and nothing is created.
    let refused = upload(&client, "/console/upload/apply", WITH_ERRORS).await;
    assert!(html(&refused).contains("nothing was saved"));
    assert!(find_user(&app, &token, "new1").await.is_none());

    let checked = upload(&client, "/console/upload/check", CLEAN).await;
    assert!(
        html(&checked).contains("No errors in 2 rows: 2 to create"),
        "{}",
        html(&checked)
    );
    assert!(html(&checked).contains("id=\"upload-save\""));
    let saved = upload(&client, "/console/upload/apply", CLEAN).await;
    assert!(
        html(&saved).contains("Saved: 2 users created, 0 updated."),
        "{}",
        html(&saved)
    );
    let created = user_id(&app, &token, "new2").await;
    assert_eq!(
        view(&app, &token, &created).await["name"]["familyName"],
        "Two"
    );

    // Without the CSRF header the upload is refused.
    let forged = app
        .dispatch(
            "",
            Method::POST,
            "/console/upload/apply",
            Some(("multipart/form-data; boundary=x", "--x--".into())),
            &[("cookie", &client.cookie)],
        )
        .await;
    assert_eq!(forged.status.as_u16(), 403);
}

#[tokio::test]
async fn users_are_created_from_a_template_with_generated_agent_ids() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    crate::harness::catalog(&app, &token, "routing-profiles", json!({"name": "Sales"})).await;
    let template = crate::harness::local_user(&app, &token, "tmpl").await;
    app.admin(
        &token,
        Method::PATCH,
        &format!("/users/{template}"),
        Some(json!({"routingProfile": "Sales", "licenceType": "AgentDesktop"})),
    )
    .await
    .assert_admin_ok(200);
    let client = sign_in(&app, &admin_id).await;
    let page = client.get("/console/from-template").await;
    assert!(html(&page).contains(">Generate Agent IDs</button>"));
    let users =
        "ann@acme.example, Ann, Lee\nbob@acme.example, Bob, Ray\nann@acme.example, Ann, Again";
    let preview = client
        .post(
            "/console/from-template",
            &[
                ("template", "tmpl"),
                ("users", users),
                ("startingAgentId", "7000"),
                ("action", "preview"),
            ],
        )
        .await;
    let body = html(&preview);
    assert_eq!(preview.status.as_u16(), 200, "{body}");
    assert!(body.contains("Preview: nothing created yet"), "{body}");
    assert!(
        body.contains("<td>7000</td>") && body.contains("<td>7001</td>"),
        "{body}"
    );
    assert!(
        find_user(&app, &token, "ann@acme.example").await.is_none(),
        "a preview creates nothing"
    );

    let created = client
        .post(
            "/console/from-template",
            &[
                ("template", "tmpl"),
                ("users", users),
                ("startingAgentId", "7000"),
                ("action", "create"),
            ],
        )
        .await;
    let body = html(&created);
    assert!(body.contains("2 created, 1 failed."), "{body}");
    assert!(body.contains("Failed"), "{body}");
    let ann = user_id(&app, &token, "ann@acme.example").await;
    let ann = view(&app, &token, &ann).await;
    assert_eq!(
        (ann["routingProfile"].as_str(), ann["agentId"].as_str()),
        (Some("Sales"), Some("7000"))
    );

    let unknown = client
        .post(
            "/console/from-template",
            &[
                ("template", "nobody"),
                ("users", users),
                ("action", "create"),
            ],
        )
        .await;
    assert_eq!(unknown.status.as_u16(), 400);
    assert!(html(&unknown).contains("No user is named"));
}
