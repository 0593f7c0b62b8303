//! Limits as a client meets them: attribute lists in any script, tens of thousands of group
//! members in one request, and the bound on each multi-valued attribute of a user.

use serde_json::json;

use crate::harness::{TestApp, q};

#[tokio::test]
async fn attribute_lists_with_non_ascii_names_are_not_server_errors() {
    let app = TestApp::new().await;
    let user = app.user("alice").await;
    let group = app.group("Ops", &[&user]).await;
    let names = [
        "aaa€",
        "€",
        "urn€",
        "urn:€:x",
        "ü.ü",
        "aaaa€,userName",
        "名前.名",
    ];
    for (collection, id) in [("Users", &user), ("Groups", &group)] {
        for param in ["attributes", "excludedAttributes"] {
            for name in names {
                let list = app.get(&format!("/{collection}?{param}={}", q(name))).await;
                list.assert_ok(200);
                assert_eq!(list.body["Resources"][0]["id"], json!(id), "{}", list.body);

                let one = app
                    .get(&format!("/{collection}/{id}?{param}={}", q(name)))
                    .await;
                one.assert_ok(200);
                assert_eq!(one.body["id"], json!(id), "{}", one.body);

                let search = app
                    .post(
                        &format!("/{collection}/.search"),
                        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], param: [name]}),
                    )
                    .await;
                search.assert_ok(200);
                assert_eq!(
                    search.body["Resources"][0]["id"],
                    json!(id),
                    "{}",
                    search.body
                );
            }
        }
    }
    // Unknown names select nothing but the attributes always returned; excluding them
    // leaves the resource whole.
    let only = app
        .fetch(&format!("/Users/{user}?attributes={}", q("aaa€")))
        .await;
    assert!(only.get("userName").is_none(), "{only}");
    let whole = app
        .fetch(&format!("/Users/{user}?excludedAttributes={}", q("aaa€")))
        .await;
    assert_eq!(whole["userName"], "alice", "{whole}");
}
