//! Discovery (RFC 7644 §4): what `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas`
//! advertise, without authentication.

use axum::http::Method;
use serde_json::{Value, json};

use crate::harness::{
    CONTACT_CENTRE, ENTERPRISE, GROUP_SCHEMA, LIST_SCHEMA, TestApp, USER_SCHEMA, q,
};

/// GET without credentials.
async fn anonymous(app: &TestApp, path: &str) -> Value {
    let r = app.send_as("", Method::GET, path, None, &[]).await;
    r.assert_ok(200);
    r.body
}

#[tokio::test]
async fn service_provider_config_advertises_what_works() {
    let app = TestApp::new().await;
    let spc = anonymous(&app, "/ServiceProviderConfig").await;
    assert_eq!(
        spc["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    );
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"]["supported"], true);
    assert!(
        spc["filter"]["maxResults"].as_u64().is_some_and(|n| n > 0),
        "{spc}"
    );
    assert_eq!(spc["etag"]["supported"], true);
    assert_eq!(spc["sort"]["supported"], true);
    assert!(spc["bulk"]["supported"].is_boolean());
    assert!(spc["changePassword"]["supported"].is_boolean());
    let schemes = spc["authenticationSchemes"]
        .as_array()
        .expect("authenticationSchemes");
    assert!(!schemes.is_empty());
    assert!(
        schemes
            .iter()
            .all(|s| s["type"].is_string() && s["name"].is_string()),
        "{spc}"
    );
    assert!(
        schemes.iter().any(|s| s["type"] == "oauthbearertoken"),
        "{spc}"
    );
}

#[tokio::test]
async fn filter_max_results_is_enforced_as_the_page_cap() {
    let app = TestApp::new().await;
    let spc = anonymous(&app, "/ServiceProviderConfig").await;
    let max = spc["filter"]["maxResults"].as_u64().unwrap();
    app.user("alice").await;
    let r = app.get(&format!("/Users?count={}", max + 1000)).await;
    r.assert_ok(200);
    assert_eq!(r.body["totalResults"], json!(1));
    assert_eq!(r.body["itemsPerPage"], json!(1));
}

#[tokio::test]
async fn resource_types_list_user_with_both_extensions_and_group() {
    let app = TestApp::new().await;
    let list = anonymous(&app, "/ResourceTypes").await;
    assert_eq!(list["schemas"][0], LIST_SCHEMA);
    assert_eq!(list["totalResults"], json!(2));
    let resources = list["Resources"].as_array().unwrap();
    let user = resources.iter().find(|r| r["id"] == "User").expect("User");
    let group = resources
        .iter()
        .find(|r| r["id"] == "Group")
        .expect("Group");
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(user["schema"], USER_SCHEMA);
    let extensions: Vec<&Value> = user["schemaExtensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["schema"])
        .collect();
    assert!(extensions.contains(&&json!(ENTERPRISE)), "{user}");
    assert!(extensions.contains(&&json!(CONTACT_CENTRE)), "{user}");
    assert_eq!(group["endpoint"], "/Groups");
    assert_eq!(group["schema"], GROUP_SCHEMA);

    let one = anonymous(&app, "/ResourceTypes/User").await;
    assert_eq!(one["id"], "User");
    assert_eq!(one["schema"], USER_SCHEMA);
    assert!(
        one["meta"]["location"]
            .as_str()
            .unwrap()
            .ends_with("/scim/v2/ResourceTypes/User")
    );
    assert_eq!(
        anonymous(&app, "/ResourceTypes/Group").await["endpoint"],
        "/Groups"
    );
    app.get("/ResourceTypes/Printer")
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn schemas_list_the_four_and_the_contact_centre_mutability() {
    let app = TestApp::new().await;
    let list = anonymous(&app, "/Schemas").await;
    assert_eq!(list["schemas"][0], LIST_SCHEMA);
    assert_eq!(list["totalResults"], json!(4), "{list}");
    let ids: Vec<&str> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    for urn in [USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE, CONTACT_CENTRE] {
        assert!(ids.contains(&urn), "{urn} missing from {ids:?}");
    }
    let cc = anonymous(&app, &format!("/Schemas/{}", q(CONTACT_CENTRE))).await;
    assert_eq!(cc["id"], CONTACT_CENTRE);
    let attr = |name: &str| -> Value {
        cc["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .clone()
    };
    assert_eq!(attr("routingProfile")["mutability"], "readOnly");
    assert_eq!(attr("securityProfiles")["mutability"], "readWrite");
    assert!(
        cc["meta"]["location"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/Schemas/{CONTACT_CENTRE}")),
        "{cc}"
    );

    let user = anonymous(&app, &format!("/Schemas/{USER_SCHEMA}")).await;
    let user_name = user["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "userName")
        .expect("userName");
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["caseExact"], false);
    assert_eq!(user_name["required"], true);
    let password = user["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "password")
        .expect("password");
    assert_eq!(password["returned"], "never");
    assert_eq!(
        anonymous(&app, &format!("/Schemas/{ENTERPRISE}")).await["id"],
        ENTERPRISE
    );

    app.get("/Schemas/urn:example:not:a:schema")
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn unknown_endpoint_is_a_404_scim_error() {
    let app = TestApp::new().await;
    app.get("/Printers").await.assert_error(404, None);
    app.get("/Users/abc/def").await.assert_error(404, None);
}
