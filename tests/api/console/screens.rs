//! The Users screens over HTTP: what the pages show and what the admin API returns after
//! their forms are posted.

use axum::http::Method;
use serde_json::{Value, json};

use super::{Client, html, sign_in};
use crate::harness::{CONTACT_CENTRE, TestApp, boss, catalog, local_user, view};

async fn post_fields(
    client: &Client<'_>,
    path: &str,
    fields: &[(String, String)],
) -> crate::harness::TestResponse {
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    client.post(path, &refs).await
}

/// An attribute's value in one HTML tag.
fn attr(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!(" {name}=\""))?;
    let rest = &tag[at + name.len() + 3..];
    rest.split('"').next().map(super::unescape)
}

/// What a browser posts for the user form as shown (inputs, ticked boxes and radios,
/// selected options; not the CSRF field, which `Client::post` adds), with `changes` applied:
/// a change replaces every value of its name; an empty change value unticks a box.
fn form_of(page: &str, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let start = page.find("id=\"user-form\"").expect("user form");
    let form = &page[start..start + page[start..].find("</form>").expect("form end")];
    let mut fields: Vec<(String, String)> = Vec::new();
    for piece in form.split('<').skip(1) {
        let tag = piece.split('>').next().unwrap_or("");
        if tag.starts_with("input ") {
            let Some(name) = attr(tag, "name") else {
                continue;
            };
            let kind = attr(tag, "type").unwrap_or_default();
            if (kind == "checkbox" || kind == "radio") && !tag.contains(" checked") {
                continue;
            }
            if name == "_csrf" {
                continue;
            }
            fields.push((name, attr(tag, "value").unwrap_or_else(|| "on".into())));
        }
    }
    let mut rest = form;
    while let Some(at) = rest.find("<select ") {
        let tag = rest[at..].split('>').next().unwrap_or("");
        let name = attr(tag, "name").expect("select name");
        let end = rest[at..].find("</select>").expect("select end");
        let body = &rest[at..at + end];
        if let Some(opt) = body
            .split("<option")
            .skip(1)
            .find(|o| o.split('>').next().unwrap_or("").contains(" selected"))
        {
            fields.push((
                name,
                attr(
                    &format!(" {}", opt.split('>').next().unwrap_or("")),
                    "value",
                )
                .unwrap_or_default(),
            ));
        }
        rest = &rest[at + end..];
    }
    for (k, _) in changes {
        fields.retain(|(name, _)| name != k);
    }
    for (k, v) in changes {
        if !v.is_empty() || !k.starts_with("skill:") {
            fields.push((k.to_string(), v.to_string()));
        }
    }
    fields
}

#[tokio::test]
async fn the_list_searches_and_filters_by_status() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    let ann = local_user(&app, &token, "ann.lee").await;
    let bob = local_user(&app, &token, "bob.ray").await;
    app.admin(&token, Method::PATCH, &format!("/users/{ann}"), Some(json!({"agentId": "4711", "displayName": "Ann Lee", "licenceType": "AgentDesktop", "agentHierarchy": null})))
        .await;
    app.admin(&token, Method::POST, &format!("/users/{bob}/archive"), None)
        .await
        .assert_admin_ok(200);
    let client = sign_in(&app, &admin_id).await;

    let active = client.get("/console/users").await;
    let page = html(&active);
    assert!(
        page.contains("ann.lee") && !page.contains("bob.ray"),
        "{page}"
    );
    for column in [
        "Name", "Username", "Licence", "Agent ID", "Skills", "Groups", "Status",
    ] {
        assert!(
            page.contains(&format!("<th scope=\"col\">{column}</th>")),
            "column {column}"
        );
    }
    let archived = client.get("/console/users?status=archived").await;
    assert!(html(&archived).contains("bob.ray") && !html(&archived).contains("ann.lee"));
    assert!(html(&archived).contains("<span class=\"badge\">Archived</span>"));
    let all = client.get("/console/users?status=all").await;
    assert!(html(&all).contains("bob.ray") && html(&all).contains("ann.lee"));

    let by_agent_id = client.get("/console/users?q=4711&status=all").await;
    assert!(html(&by_agent_id).contains("ann.lee") && !html(&by_agent_id).contains("bob.ray"));
    let by_name = client.get("/console/users?q=bob&status=all").await;
    assert!(html(&by_name).contains("bob.ray") && !html(&by_name).contains("ann.lee"));
    assert!(html(&by_name).contains("1 user"), "{}", html(&by_name));
}

#[tokio::test]
async fn the_list_pages() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    for i in 0..55 {
        local_user(&app, &token, &format!("agent{i:02}")).await;
    }
    let client = sign_in(&app, &admin_id).await;
    let first = client.get("/console/users").await;
    assert!(
        html(&first).contains("56 users · page 1 of 2"),
        "{}",
        html(&first)
    );
    assert!(html(&first).contains("rel=\"next\""));
    let second = client.get("/console/users?page=2").await;
    assert!(html(&second).contains("page 2 of 2"));
    assert_eq!(
        html(&second).matches("<tr").count(),
        1 + 6,
        "header and 6 rows"
    );
}

#[tokio::test]
async fn routing_profile_and_skills_are_saved_through_the_form() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    catalog(&app, &token, "routing-profiles", json!({"name": "Sales"})).await;
    catalog(&app, &token, "skills", json!({"name": "French"})).await;
    catalog(&app, &token, "skills", json!({"name": "Spanish"})).await;
    let agent = local_user(&app, &token, "agent1").await;
    let client = sign_in(&app, &admin_id).await;
    let page = client.get(&format!("/console/users/{agent}")).await;
    let page = html(&page);
    for section in [
        "User details",
        "Licence status",
        "Agent settings",
        "Routing settings",
        "Security profiles",
        "Agent hierarchy",
        "Personal phone number",
        "Media-less mode",
    ] {
        assert!(
            page.contains(&format!("<legend>{section}</legend>")),
            "section {section}"
        );
    }
    let form = form_of(page, &[("routingProfile", "Sales"), ("skill:French", "7")]);
    let r = post_fields(&client, &format!("/console/users/{agent}"), &form).await;
    assert_eq!(r.status.as_u16(), 303, "{}", html(&r));
    let after = view(&app, &token, &agent).await;
    assert_eq!(after["routingProfile"], "Sales");
    assert_eq!(after["skills"], json!([{"name": "French", "level": 7}]));
    let shown = client.get(r.header("location").unwrap()).await;
    assert!(html(&shown).contains("Saved."));

    // Posting the same form again changes nothing and says so.
    let page = client.get(&format!("/console/users/{agent}")).await;
    let again = form_of(
        html(&page),
        &[("routingProfile", "Sales"), ("skill:French", "7")],
    );
    let r = post_fields(&client, &format!("/console/users/{agent}"), &again).await;
    assert_eq!(
        r.header("location"),
        Some(format!("/console/users/{agent}?done=unchanged").as_str())
    );
}

#[tokio::test]
async fn errors_are_counted_by_save_and_nothing_is_saved() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    let agent = local_user(&app, &token, "agent1").await;
    let before = view(&app, &token, &agent).await;
    let client = sign_in(&app, &admin_id).await;
    let page = client.get(&format!("/console/users/{agent}")).await;
    let form = form_of(
        html(&page),
        &[
            ("personalPhoneNumber", "not a number"),
            ("capacity.mode", "custom"),
            ("capacity.voice", "250"),
        ],
    );
    // The live check (htmx) answers the count and disables Save.
    let check = post_fields(&client, &format!("/console/users/{agent}/check"), &form).await;
    assert_eq!(check.status.as_u16(), 200);
    let fragment = html(&check);
    assert!(
        fragment.contains("2 errors to fix before saving"),
        "{fragment}"
    );
    assert!(
        fragment.contains("id=\"save\" type=\"submit\" disabled"),
        "{fragment}"
    );
    assert!(
        fragment.contains("id=\"error-personalPhoneNumber\" hx-swap-oob=\"true\">"),
        "{fragment}"
    );

    let r = post_fields(&client, &format!("/console/users/{agent}"), &form).await;
    assert_eq!(r.status.as_u16(), 422);
    let page = html(&r);
    assert!(page.contains("Nothing was saved"));
    assert!(page.contains("2 errors to fix before saving"), "{page}");
    assert!(
        page.contains("value=\"not a number\""),
        "the submitted values stay in the form"
    );
    assert_eq!(view(&app, &token, &agent).await, before, "nothing changed");

    let fixed = form_of(
        html(&client.get(&format!("/console/users/{agent}")).await),
        &[("displayName", "Agent One")],
    );
    let check = post_fields(&client, &format!("/console/users/{agent}/check"), &fixed).await;
    assert!(!html(&check).contains("errors to fix"), "{}", html(&check));
    assert!(
        html(&check).contains("id=\"save\" type=\"submit\">"),
        "{}",
        html(&check)
    );
}

#[tokio::test]
async fn a_stale_edit_is_reported_not_written() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    let agent = local_user(&app, &token, "agent1").await;
    let client = sign_in(&app, &admin_id).await;
    let page = client.get(&format!("/console/users/{agent}")).await;
    let form = form_of(html(&page), &[("displayName", "Mine")]);
    app.admin(
        &token,
        Method::PATCH,
        &format!("/users/{agent}"),
        Some(json!({"displayName": "Theirs"})),
    )
    .await
    .assert_admin_ok(200);
    let r = post_fields(&client, &format!("/console/users/{agent}"), &form).await;
    assert_eq!(r.status.as_u16(), 409);
    assert!(html(&r).contains("Someone else saved this user"));
    assert_eq!(view(&app, &token, &agent).await["displayName"], "Theirs");
}

#[tokio::test]
async fn sso_owned_fields_are_read_only_with_why() {
    let app = TestApp::new().await;
    let (admin_id, _) = app.admin_token("boss", &["Administrator"]).await;
    let created = app
        .create_user(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", CONTACT_CENTRE],
            "userName": "idp.user@acme.example",
            "displayName": "From Okta",
            CONTACT_CENTRE: {"securityProfiles": ["Agent"]}
        }))
        .await;
    let id = created["id"].as_str().unwrap();
    let client = sign_in(&app, &admin_id).await;
    let page = client.get(&format!("/console/users/{id}")).await;
    let page = html(&page);
    assert!(page.contains("data-field=\"displayName\">From Okta</span><span class=\"why\">Managed by your identity provider</span>"), "{page}");
    assert!(
        !page.contains("name=\"displayName\""),
        "no input for an SSO-owned field"
    );
    assert!(
        page.contains("name=\"routingProfile\""),
        "locally-owned fields stay editable"
    );
    // Archive is the identity provider's too: disabled, with the reason.
    assert!(
        page.contains("disabled aria-describedby=\"why-archive\">Archive</button>"),
        "{page}"
    );
    // A forged post of the SSO-owned field changes nothing.
    let r = post_fields(
        &client,
        &format!("/console/users/{id}"),
        &form_of(page, &[("displayName", "Forged")]),
    )
    .await;
    assert_eq!(
        r.header("location"),
        Some(format!("/console/users/{id}?done=unchanged").as_str())
    );
    assert_eq!(
        app.get(&format!("/scim/v2/Users/{id}")).await.body["displayName"],
        "From Okta"
    );
}

#[tokio::test]
async fn controls_the_user_may_not_use_are_disabled_with_the_reason() {
    let app = TestApp::new().await;
    let token = boss(&app).await;
    let (sup, _) = app.admin_token("sup", &["Supervisor"]).await;
    let agent = local_user(&app, &token, "agent1").await;
    let client = sign_in(&app, &sup).await;
    let page = client.get(&format!("/console/users/{agent}")).await;
    let page = html(&page);
    assert!(
        page.contains("disabled aria-describedby=\"why-delete\">Delete user</button>"),
        "{page}"
    );
    assert!(
        page.contains("needs the permission(s) DeleteUser"),
        "{page}"
    );
    assert!(
        page.contains("Requires the ManageSecurityProfiles permission"),
        "{page}"
    );
    assert!(!page.contains("name=\"securityProfiles\""));
    // The Supervisor may archive: the button is live.
    assert!(page.contains(&format!("action=\"/console/users/{agent}/archive\"")));
    // And a forged delete is refused by the domain, not just hidden.
    let r = client
        .post(&format!("/console/users/{agent}/delete"), &[])
        .await;
    assert_eq!(r.status.as_u16(), 403);
    assert_eq!(view(&app, &token, &agent).await["userName"], "agent1");
}

#[tokio::test]
async fn archive_revert_and_delete() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    let agent = local_user(&app, &token, "agent1").await;
    let client = sign_in(&app, &admin_id).await;
    let page = client.get(&format!("/console/users/{agent}")).await;
    assert!(
        html(&page).contains("Only archived users can be deleted")
            || html(&page).contains("only archived"),
        "{}",
        html(&page)
    );

    let r = client
        .post(&format!("/console/users/{agent}/archive"), &[])
        .await;
    assert_eq!(
        r.header("location"),
        Some(format!("/console/users/{agent}?done=archived").as_str())
    );
    assert_eq!(view(&app, &token, &agent).await["active"], false);
    let page = client
        .get(&format!("/console/users/{agent}?done=archived"))
        .await;
    assert!(html(&page).contains("The user is archived."));
    assert!(html(&page).contains(">Revert to active</button>"));

    let r = client
        .post(&format!("/console/users/{agent}/reactivate"), &[])
        .await;
    assert_eq!(r.status.as_u16(), 303);
    assert_eq!(view(&app, &token, &agent).await["active"], true);

    // Deleting an active user is refused with the reason.
    let r = client
        .post(&format!("/console/users/{agent}/delete"), &[])
        .await;
    assert_eq!(r.status.as_u16(), 409);
    client
        .post(&format!("/console/users/{agent}/archive"), &[])
        .await;
    let page = client.get(&format!("/console/users/{agent}")).await;
    assert!(html(&page).contains("data-open-dialog=\"delete-dialog\">Delete user</button>"));
    assert!(
        html(&page).contains("API credentials"),
        "the dialog explains the credential rule"
    );
    let r = client
        .post(&format!("/console/users/{agent}/delete"), &[])
        .await;
    assert_eq!(r.status.as_u16(), 303);
    app.admin(&token, Method::GET, &format!("/users/{agent}"), None)
        .await
        .assert_admin_error(404, "not_found");
}

#[tokio::test]
async fn another_tenants_users_are_not_found() {
    let app = TestApp::new().await;
    let (admin_id, _) = app.admin_token("boss", &["Administrator"]).await;
    app.other_tenant("globex").await;
    let globex = rollcall::store::tenants::by_slug(&app.db, "globex")
        .await
        .unwrap();
    let theirs = rollcall::write::users::create(
        &app.db,
        &globex.id,
        &rollcall::domain::audit::Actor::cli(),
        rollcall::domain::validation::Surface::Local,
        json!({"userName": "their.admin", CONTACT_CENTRE: {"securityProfiles": ["Administrator"]}})
            .as_object()
            .unwrap()
            .clone(),
    )
    .await
    .unwrap();
    let client = sign_in(&app, &admin_id).await;
    let r = client.get(&format!("/console/users/{}", theirs.id)).await;
    assert_eq!(r.status.as_u16(), 404);
    let r = client
        .post(&format!("/console/users/{}/archive", theirs.id), &[])
        .await;
    assert_eq!(r.status.as_u16(), 404);
    let list = client.get("/console/users?status=all&q=their").await;
    assert!(!html(&list).contains("their.admin"));
    let _ = Value::Null;
}

#[tokio::test]
async fn several_users_are_edited_at_once_or_none_is() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    catalog(&app, &token, "routing-profiles", json!({"name": "Sales"})).await;
    catalog(&app, &token, "skills", json!({"name": "French"})).await;
    catalog(&app, &token, "skills", json!({"name": "Billing"})).await;
    let ann = local_user(&app, &token, "ann").await;
    let bob = local_user(&app, &token, "bob").await;
    let cara = local_user(&app, &token, "cara").await;
    app.admin(
        &token,
        Method::PATCH,
        &format!("/users/{cara}"),
        Some(json!({"skills": [{"name": "Billing", "level": 3}]})),
    )
    .await
    .assert_admin_ok(200);
    let bob_before = view(&app, &token, &bob).await;
    let client = sign_in(&app, &admin_id).await;

    let list = client.get("/console/users").await;
    assert!(
        html(&list).contains(&format!("name=\"id\" value=\"{ann}\"")),
        "rows can be ticked"
    );
    let page = client
        .get(&format!("/console/users/edit?id={ann}&id={bob}&id={cara}"))
        .await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(html(&page).contains("3 selected users"));
    assert!(
        html(&page).contains(&format!("data-drop=\"sel-{bob}\"")),
        "each with an X"
    );
    assert!(
        !html(&page).contains("name=\"agentId\""),
        "one person's own fields are not offered"
    );

    // Bob was dropped: only Ann and Cara are posted.
    let r = client
        .post(
            "/console/users/edit",
            &[
                ("id", &ann),
                ("id", &cara),
                ("change", "routingProfile"),
                ("routingProfile", "Sales"),
                ("change", "skills"),
                ("skill:French", "5"),
                ("capacity.mode", "default"),
            ],
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", html(&r));
    assert!(html(&r).contains("2 users updated."));
    assert_eq!(html(&r).matches(">Updated<").count(), 2);
    assert_eq!(view(&app, &token, &ann).await["routingProfile"], "Sales");
    assert_eq!(
        view(&app, &token, &cara).await["skills"],
        json!([{"name": "Billing", "level": 3}, {"name": "French", "level": 5}]),
        "other skills stay"
    );
    assert_eq!(
        view(&app, &token, &bob).await,
        bob_before,
        "the dropped user is untouched"
    );

    // A change one user cannot take changes none, and says who and why.
    app.admin(
        &token,
        Method::PATCH,
        &format!("/users/{ann}"),
        Some(json!({"agentId": "77", "licenceType": "AgentDesktop", "webRtcFallbackNumber": "77"})),
    )
    .await
    .assert_admin_ok(200);
    let ann_before = view(&app, &token, &ann).await;
    let r = client
        .post(
            "/console/users/edit",
            &[
                ("id", &ann),
                ("id", &bob),
                ("change", "webRtcEnabled"),
                ("webRtcEnabled", "on"),
                ("capacity.mode", "default"),
            ],
        )
        .await;
    let page = html(&r);
    assert_eq!(r.status.as_u16(), 422, "{page}");
    assert!(
        page.contains("1 of 2 users cannot take this change; nothing was changed"),
        "{page}"
    );
    assert!(page.contains("Failed: "), "{page}");
    assert!(page.contains("Not changed (other users failed)"), "{page}");
    assert_eq!(view(&app, &token, &ann).await, ann_before, "none changed");
    assert_eq!(view(&app, &token, &bob).await, bob_before, "none changed");

    // Nothing ticked: refused, nothing changed.
    let r = client
        .post(
            "/console/users/edit",
            &[
                ("id", &ann),
                ("routingProfile", ""),
                ("capacity.mode", "default"),
            ],
        )
        .await;
    assert_eq!(r.status.as_u16(), 400);
    assert!(html(&r).contains("tick “Change”"));
}

#[tokio::test]
async fn user_details_title_department_and_time_zone_are_edited_and_checked() {
    let app = TestApp::new().await;
    let (admin_id, token) = app.admin_token("boss", &["Administrator"]).await;
    let agent = local_user(&app, &token, "agent1").await;
    let client = sign_in(&app, &admin_id).await;
    let page = client.get(&format!("/console/users/{agent}")).await;
    let bad = form_of(
        html(&page),
        &[("title", "Team lead"), ("timezone", "Mars/Olympus")],
    );
    let r = post_fields(&client, &format!("/console/users/{agent}"), &bad).await;
    assert_eq!(r.status.as_u16(), 422, "{}", html(&r));
    assert!(
        html(&r).contains("id=\"error-timezone\">timezone"),
        "{}",
        html(&r)
    );
    let good = form_of(
        html(&page),
        &[
            ("title", "Team lead"),
            ("department", "Sales"),
            ("timezone", "Europe/London"),
        ],
    );
    let r = post_fields(&client, &format!("/console/users/{agent}"), &good).await;
    assert_eq!(r.status.as_u16(), 303, "{}", html(&r));
    let after = view(&app, &token, &agent).await;
    assert_eq!(
        (
            after["title"].as_str(),
            after["department"].as_str(),
            after["timezone"].as_str()
        ),
        (Some("Team lead"), Some("Sales"), Some("Europe/London"))
    );
}

#[tokio::test]
async fn the_console_list_counts_up_to_a_cap_and_the_admin_api_exactly() {
    use rollcall::domain::filter::ListQuery;
    use rollcall::domain::user::View;
    let app = TestApp::new().await;
    let token = crate::harness::boss(&app).await;
    for i in 0..6 {
        local_user(&app, &token, &format!("u{i}")).await;
    }
    let capped = ListQuery {
        limit: 2,
        offset: 4,
        count_cap: Some(3),
        ..Default::default()
    };
    let (rows, total) =
        rollcall::store::users::list(&app.db, &app.tenant_id, &capped, View::Tenant)
            .await
            .unwrap();
    assert_eq!(total, 4, "more than the cap of 3: cap + 1");
    assert_eq!(rows.len(), 2, "the page itself is whole");
    let exact = ListQuery {
        limit: 2,
        offset: 4,
        ..Default::default()
    };
    let (_, total) = rollcall::store::users::list(&app.db, &app.tenant_id, &exact, View::Tenant)
        .await
        .unwrap();
    assert_eq!(total, 7);
    let api = app.admin(&token, Method::GET, "/users?count=2", None).await;
    assert_eq!(api.body["totalResults"], 7, "the admin API counts exactly");
}
