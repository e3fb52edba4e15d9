//! The in-memory log the gateway serves when no Kafka backend is configured:
//! topics with one partition, record batches kept as the producer sent them
//! with their base offsets assigned, fetched back from an offset.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};

/// One partition's batches: (base offset, record count, batch bytes).
#[derive(Debug, Default)]
struct Partition {
    batches: Vec<(i64, i64, Bytes)>,
    next: i64,
}

/// Every topic.
#[derive(Debug, Default)]
pub struct LogStore {
    topics: BTreeMap<String, Partition>,
}

/// Why a produce request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt record batch: {0}")]
pub struct CorruptBatch(pub String);

impl LogStore {
    /// The topic names.
    pub fn topics(&self) -> Vec<String> {
        self.topics.keys().cloned().collect()
    }

    /// Creates a topic if it does not exist.
    pub fn ensure(&mut self, topic: &str) {
        self.topics.entry(topic.to_string()).or_default();
    }

    /// True when the topic exists.
    pub fn has(&self, topic: &str) -> bool {
        self.topics.contains_key(topic)
    }

    /// Appends the record batches of a produce request (magic 2 batches,
    /// concatenated); returns the base offset of the first.
    pub fn append(&mut self, topic: &str, records: &[u8]) -> Result<i64, CorruptBatch> {
        let partition = self.topics.entry(topic.to_string()).or_default();
        let first = partition.next;
        let mut rest = records;
        let mut staged = Vec::new();
        let mut next = partition.next;
        while !rest.is_empty() {
            if rest.len() < 61 {
                return Err(CorruptBatch(format!("{} trailing bytes", rest.len())));
            }
            let length = i32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]);
            if length < 49 || 12 + length as usize > rest.len() {
                return Err(CorruptBatch(format!("batch length {length}")));
            }
            if rest[16] != 2 {
                return Err(CorruptBatch(format!(
                    "magic {} (only v2 batches)",
                    rest[16]
                )));
            }
            let total = 12 + length as usize;
            let last_delta = i32::from_be_bytes([rest[23], rest[24], rest[25], rest[26]]);
            let mut batch = BytesMut::from(&rest[..total]);
            // baseOffset is outside the CRC (which starts at attributes).
            batch[..8].copy_from_slice(&next.to_be_bytes());
            let count = i64::from(last_delta.max(0)) + 1;
            staged.push((next, count, batch.freeze()));
            next += count;
            rest = &rest[total..];
        }
        partition.batches.extend(staged);
        partition.next = next;
        Ok(first)
    }

    /// The next offset (high watermark) of a topic.
    pub fn high_watermark(&self, topic: &str) -> i64 {
        self.topics.get(topic).map_or(0, |p| p.next)
    }

    /// Batches holding offsets at or after `offset`, up to about `max_bytes`
    /// (at least one batch).
    pub fn fetch(&self, topic: &str, offset: i64, max_bytes: usize) -> Bytes {
        let Some(p) = self.topics.get(topic) else {
            return Bytes::new();
        };
        let mut out = BytesMut::new();
        for (base, count, batch) in &p.batches {
            if base + count <= offset {
                continue;
            }
            if !out.is_empty() && out.len() + batch.len() > max_bytes {
                break;
            }
            out.extend_from_slice(batch);
        }
        out.freeze()
    }
}
