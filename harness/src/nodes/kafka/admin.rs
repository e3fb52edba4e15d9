//! The admin REST API: tokens minted for a tenant's user with the master
//! credentials.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use super::server::Shared;
use super::tenants::{self, GatewayClaims};

fn json(status: u16, body: serde_json::Value) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

/// `POST /auth/tenant/{orgId}-{clusterId}/user/{user}/token` with the master
/// credentials as JSON → `{"data": token}`.
pub(super) async fn admin_api(
    shared: &Shared,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let ["auth", "tenant", tenant, "user", user, "token"] = parts.as_slice() else {
        return json(
            404,
            serde_json::json!({"error": format!("no route {path}")}),
        );
    };
    let (tenant, user) = (tenant.to_string(), user.to_string());
    if req.method() != hyper::Method::POST {
        return json(405, serde_json::json!({"error": "use POST"}));
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return json(400, serde_json::json!({"error": "unreadable body"})),
    };
    let creds: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            shared.log.line(format!(
                "admin API: refused a token request: body is not JSON ({e})"
            ));
            return json(
                400,
                serde_json::json!({"error": format!("request body is not JSON: {e}; send {{\"username\":\"...\",\"password\":\"...\"}}")}),
            );
        }
    };
    let s = &shared.settings;
    if creds["username"] != s.master_username.as_str()
        || creds["password"] != s.master_password.as_str()
    {
        shared
            .log
            .line("admin API: refused a token request: wrong master credentials".to_string());
        return json(
            401,
            serde_json::json!({"error": "invalid master credentials"}),
        );
    }
    let Some((org, cluster)) = tenant
        .split_once('-')
        .and_then(|(o, c)| Some((o.parse::<i64>().ok()?, c.to_string())))
    else {
        return json(
            400,
            serde_json::json!({"error": format!("tenant {tenant:?} is not [organisation id]-[cluster id] with an integer organisation id")}),
        );
    };
    let claims = GatewayClaims {
        org_id: org,
        cluster_id: cluster,
        username: user.clone(),
    };
    shared.log.line(format!(
        "admin API: minted a token for user {user:?} of tenant {:?}",
        claims.tenant()
    ));
    json(
        200,
        serde_json::json!({ "data": tenants::mint(s.secret.as_bytes(), &claims) }),
    )
}
