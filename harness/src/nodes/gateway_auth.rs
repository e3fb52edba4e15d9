//! The reference gateway's authentication interceptor, as operators add one in
//! front of Zeebe's gateway: a bearer token in the `authorization` metadata,
//! verified (signature, expiry, audience), then an authorization rule (client
//! id → allowed gateway methods). Every call writes one audit record; the
//! token never appears in it.
//!
//! Status texts for a missing or unverifiable token are Zeebe's own
//! (`IdentityInterceptor`: "Expected bearer token at header with key
//! [authorization], but found nothing" / "Failed to parse bearer token, see
//! cause for details"); the cause goes to the audit record, not to the
//! client. Authorization is the operator's (Zeebe ships none in 8.4): its
//! PERMISSION_DENIED text is ours.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::jwt::VerifyingKey;
use super::NodeLog;
use crate::error::HarnessError;

/// Every method of Zeebe 8.4's `gateway_protocol.Gateway` service.
pub const GATEWAY_METHODS: &[&str] = &[
    "ActivateJobs",
    "StreamActivatedJobs",
    "CancelProcessInstance",
    "CompleteJob",
    "CreateProcessInstance",
    "CreateProcessInstanceWithResult",
    "EvaluateDecision",
    "DeployProcess",
    "DeployResource",
    "FailJob",
    "ThrowError",
    "PublishMessage",
    "ResolveIncident",
    "SetVariables",
    "Topology",
    "UpdateJobRetries",
    "ModifyProcessInstance",
    "MigrateProcessInstance",
    "UpdateJobTimeout",
    "DeleteResource",
    "BroadcastSignal",
];

/// Zeebe's text for a call without a bearer token.
pub const MISSING_TOKEN: &str =
    "Expected bearer token at header with key [authorization], but found nothing";
/// Zeebe's text for a token that does not verify.
pub const INVALID_TOKEN: &str = "Failed to parse bearer token, see cause for details";

/// One audit record: one per call.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    /// RFC 3339 time of the decision.
    pub time: String,
    /// The client id (the token's subject), when a token verified.
    pub client: Option<String>,
    /// The gateway method called.
    pub method: String,
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// Why.
    pub reason: String,
}

/// Authentication and authorization settings of a gateway.
#[derive(Debug, Clone)]
pub struct GatewayAuth {
    key: VerifyingKey,
    audience: String,
    rules: Option<BTreeMap<String, Vec<String>>>,
    audit_file: Option<PathBuf>,
    records: Arc<Mutex<Vec<AuditRecord>>>,
    log: Option<NodeLog>,
}

impl GatewayAuth {
    /// Trusts tokens signed by `key` for `audience`; `rules` (client id →
    /// method names) restrict what each client may call, none = any
    /// authenticated client may call anything. Unknown method names are an
    /// error naming the rule.
    pub fn new(
        key: VerifyingKey,
        audience: &str,
        rules: Option<BTreeMap<String, Vec<String>>>,
        source: &str,
    ) -> Result<Self, HarnessError> {
        for (client, methods) in rules.iter().flatten() {
            for method in methods {
                if !GATEWAY_METHODS.contains(&method.as_str()) {
                    return Err(HarnessError::invalid(
                        source,
                        format!("rules.{client}"),
                        format!("{method:?} is not a method of gateway_protocol.Gateway"),
                        format!("use one of: {}", GATEWAY_METHODS.join(", ")),
                    ));
                }
            }
        }
        Ok(Self {
            key,
            audience: audience.to_string(),
            rules,
            audit_file: None,
            records: Arc::new(Mutex::new(Vec::new())),
            log: None,
        })
    }

    /// Also appends every audit record to `path` (JSON lines).
    pub fn with_audit_file(mut self, path: PathBuf) -> Self {
        self.audit_file = Some(path);
        self
    }

    /// Also writes every record into a node log (`audit: {...}`).
    pub fn with_log(mut self, log: NodeLog) -> Self {
        self.log = Some(log);
        self
    }

    /// The records so far.
    pub fn records(&self) -> Vec<AuditRecord> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Decides one call of `method` with these request headers; the error is
    /// the gRPC status the client gets.
    pub fn check(&self, headers: &http::HeaderMap, method: &str) -> Result<(), tonic::Status> {
        let now = time::OffsetDateTime::now_utc();
        let (client, result): (Option<String>, Result<String, (tonic::Status, String)>) =
            match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                None => (
                    None,
                    Err((
                        tonic::Status::unauthenticated(MISSING_TOKEN),
                        "no authorization metadata".to_string(),
                    )),
                ),
                Some(value) => match value.strip_prefix("Bearer ") {
                    None => (
                        None,
                        Err((
                            tonic::Status::unauthenticated(INVALID_TOKEN),
                            "authorization metadata is not a Bearer token".to_string(),
                        )),
                    ),
                    Some(token) => {
                        match self.key.verify(token, &self.audience, now.unix_timestamp()) {
                            Err(e) => (
                                None,
                                Err((tonic::Status::unauthenticated(INVALID_TOKEN), e.to_string())),
                            ),
                            Ok(claims) => {
                                let allowed = self.rules.as_ref().is_none_or(|rules| {
                                    rules
                                        .get(&claims.sub)
                                        .is_some_and(|m| m.iter().any(|m| m == method))
                                });
                                let result = if allowed {
                                    Ok("token verified; method allowed".to_string())
                                } else {
                                    Err((
                                        tonic::Status::permission_denied(format!(
                                            "client '{}' is not allowed to call {method}",
                                            claims.sub
                                        )),
                                        format!("no rule allows {method} for this client"),
                                    ))
                                };
                                (Some(claims.sub), result)
                            }
                        }
                    }
                },
            };
        let record = AuditRecord {
            time: now
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            client,
            method: method.to_string(),
            decision: if result.is_ok() { "allow" } else { "deny" },
            reason: match &result {
                Ok(r) | Err((_, r)) => r.clone(),
            },
        };
        self.write(record);
        result.map(|_| ()).map_err(|(status, _)| status)
    }

    fn write(&self, record: AuditRecord) {
        let line = serde_json::to_string(&record).unwrap_or_default();
        if let Some(path) = &self.audit_file {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(f, "{line}");
            }
        }
        if let Some(log) = &self.log {
            log.line(format!("audit: {line}"));
        }
        if let Ok(mut records) = self.records.lock() {
            records.push(record);
        }
    }
}
