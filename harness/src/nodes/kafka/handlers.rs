//! The in-memory gateway's answers: SASL PLAIN checks (gateway tokens or
//! the backend's users), ApiVersions, Metadata, Produce, Fetch and
//! ListOffsets over the in-memory log, and Kafka's names and texts.

use bytes::Bytes;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, FetchResponse, ListOffsetsResponse, MetadataResponse,
    ProduceResponse, RequestHeader, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::server::Shared;
use super::{tenants, wire};

/// Apache Kafka's text to a client whose SASL PLAIN credentials were refused
/// (measured on a Kafka 3.8.1 broker, `harness/probes/kafka-java`); the
/// gateway answers it for every refusal and logs the real reason.
pub const AUTHENTICATION_FAILED: &str = "Authentication failed: Invalid username or password";

pub(super) fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

pub(super) fn api_name(api: ApiKey) -> String {
    // Kafka's names are upper snake case (API_VERSIONS, METADATA, ...).
    let debug = format!("{api:?}");
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Checks SASL PLAIN credentials; the error is the reason the log gets.
pub(super) fn authenticate(shared: &Shared, auth_bytes: Bytes) -> Result<String, String> {
    let (user, password) = wire::sasl_plain(auth_bytes).ok_or("malformed SASL/PLAIN message")?;
    let s = &shared.settings;
    if s.multi_tenancy {
        let claims =
            tenants::verify(s.secret.as_bytes(), &password, &user).map_err(|e| e.to_string())?;
        if !s.tenants.contains(&claims.tenant()) {
            return Err(tenants::TokenError::UnknownTenant(claims.tenant()).to_string());
        }
        Ok(format!("{user} (tenant {})", claims.tenant()))
    } else if s.backend_users.get(&user) == Some(&password) {
        Ok(user)
    } else {
        Err(format!(
            "Authentication failed: Invalid username or password for {user:?} (multi-tenancy is off: credentials pass through to the backend)"
        ))
    }
}

pub(super) fn api_versions(header: &RequestHeader) -> ResponseKind {
    let mut resp = ApiVersionsResponse::default();
    if !(0..=3).contains(&header.request_api_version) {
        resp.error_code = 35; // UNSUPPORTED_VERSION
    }
    resp.api_keys = wire::SUPPORTED
        .iter()
        .map(|(key, min, max)| {
            let mut v = ApiVersion::default();
            v.api_key = *key as i16;
            v.min_version = *min;
            v.max_version = *max;
            v
        })
        .collect();
    ResponseKind::ApiVersions(resp)
}

pub(super) fn metadata(
    shared: &Shared,
    r: kafka_protocol::messages::MetadataRequest,
) -> ResponseKind {
    let mut store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
    let names: Vec<String> = match &r.topics {
        None => store.topics(),
        Some(topics) => topics
            .iter()
            .filter_map(|t| t.name.as_ref().map(|n| n.0.as_str().to_string()))
            .collect(),
    };
    let mut resp = MetadataResponse::default();
    let mut broker = MetadataResponseBroker::default();
    broker.node_id = BrokerId(1);
    broker.host = str_bytes(&shared.settings.advertised_host);
    broker.port = i32::from(shared.port);
    resp.brokers = vec![broker];
    resp.cluster_id = Some(str_bytes("tlsmatrix-gateway"));
    resp.controller_id = BrokerId(1);
    resp.topics = names
        .into_iter()
        .map(|name| {
            let mut topic = MetadataResponseTopic::default();
            if r.topics.is_some() && !store.has(&name) {
                if r.allow_auto_topic_creation {
                    store.ensure(&name);
                } else {
                    topic.error_code = 3; // UNKNOWN_TOPIC_OR_PARTITION
                }
            }
            topic.name = Some(TopicName(str_bytes(&name)));
            if topic.error_code == 0 {
                let mut p = MetadataResponsePartition::default();
                p.partition_index = 0;
                p.leader_id = BrokerId(1);
                p.replica_nodes = vec![BrokerId(1)];
                p.isr_nodes = vec![BrokerId(1)];
                topic.partitions = vec![p];
            }
            topic
        })
        .collect();
    ResponseKind::Metadata(resp)
}

pub(super) fn produce(
    shared: &Shared,
    r: kafka_protocol::messages::ProduceRequest,
) -> ResponseKind {
    use kafka_protocol::messages::produce_response::{
        PartitionProduceResponse, TopicProduceResponse,
    };
    let mut store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
    let mut resp = ProduceResponse::default();
    resp.responses = r
        .topic_data
        .into_iter()
        .map(|t| {
            let mut tr = TopicProduceResponse::default();
            let name = t.name.0.as_str().to_string();
            tr.partition_responses = t
                .partition_data
                .into_iter()
                .map(|p| {
                    let mut pr = PartitionProduceResponse::default();
                    pr.index = p.index;
                    pr.log_append_time_ms = -1;
                    if p.index != 0 {
                        pr.error_code = 3;
                        return pr;
                    }
                    match store.append(&name, p.records.as_deref().unwrap_or_default()) {
                        Ok(base) => pr.base_offset = base,
                        Err(e) => {
                            pr.error_code = 2; // CORRUPT_MESSAGE
                            pr.error_message = Some(str_bytes(&e.to_string()));
                            shared.log.line(format!("produce to {name}: {e}"));
                        }
                    }
                    pr
                })
                .collect();
            tr.name = t.name;
            tr
        })
        .collect();
    ResponseKind::Produce(resp)
}

pub(super) fn fetch(shared: &Shared, r: kafka_protocol::messages::FetchRequest) -> ResponseKind {
    use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
    let store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
    let mut resp = FetchResponse::default();
    resp.responses = r
        .topics
        .into_iter()
        .map(|t| {
            let name = t.topic.0.as_str().to_string();
            let mut tr = FetchableTopicResponse::default();
            tr.partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let mut pd = PartitionData::default();
                    pd.partition_index = p.partition;
                    let hw = store.high_watermark(&name);
                    pd.high_watermark = hw;
                    pd.last_stable_offset = hw;
                    pd.log_start_offset = 0;
                    pd.preferred_read_replica = BrokerId(-1);
                    if !store.has(&name) || p.partition != 0 {
                        pd.error_code = 3;
                    } else if p.fetch_offset > hw || p.fetch_offset < 0 {
                        pd.error_code = 1; // OFFSET_OUT_OF_RANGE
                    } else {
                        let max = usize::try_from(p.partition_max_bytes.max(1)).unwrap_or(1);
                        pd.records = Some(store.fetch(&name, p.fetch_offset, max));
                    }
                    pd
                })
                .collect();
            tr.topic = t.topic;
            tr
        })
        .collect();
    ResponseKind::Fetch(resp)
}

pub(super) fn list_offsets(
    shared: &Shared,
    r: kafka_protocol::messages::ListOffsetsRequest,
) -> ResponseKind {
    use kafka_protocol::messages::list_offsets_response::{
        ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
    };
    let store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
    let mut resp = ListOffsetsResponse::default();
    resp.topics = r
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.as_str().to_string();
            let mut tr = ListOffsetsTopicResponse::default();
            tr.partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let mut pr = ListOffsetsPartitionResponse::default();
                    pr.partition_index = p.partition_index;
                    pr.timestamp = -1;
                    if !store.has(&name) || p.partition_index != 0 {
                        pr.error_code = 3;
                    } else {
                        pr.offset = if p.timestamp == -2 {
                            0
                        } else {
                            store.high_watermark(&name)
                        };
                    }
                    pr
                })
                .collect();
            tr.name = t.name;
            tr
        })
        .collect();
    ResponseKind::ListOffsets(resp)
}
