//! The resource: what entity the metrics describe (`service.name` and friends).
//!
//! [`Resource::builder`] starts from what the SDK detects, lowest precedence first:
//! 1. `telemetry.sdk.name` = `prw`, `telemetry.sdk.language` = `rust`,
//!    `telemetry.sdk.version`, `service.name` = `unknown_service:<executable name>`, and a
//!    random `service.instance.id` (a UUID v4, new for each process);
//! 2. `OTEL_RESOURCE_ATTRIBUTES` (`key=value,key2=value2`, values percent-decoded);
//! 3. `OTEL_SERVICE_NAME`;
//! 4. whatever the code sets on the builder.
//!
//! A malformed `OTEL_RESOURCE_ATTRIBUTES` is ignored as a whole, as the specification says,
//! with a warning through [`prw_api::diagnostics`].
//!
//! ```
//! use prw_sdk::Resource;
//!
//! let resource = Resource::builder()
//!     .with_service_name("checkout")
//!     .with_attribute(prw_api::KeyValue::new("deployment.environment.name", "prod"))
//!     .build();
//! assert_eq!(resource.get("service.name").unwrap().as_str(), "checkout");
//! assert!(resource.get("service.instance.id").is_some());
//! ```

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use prw_api::diagnostics::{self, Severity};
use prw_api::{Key, KeyValue, Value};
use prw_proto::otlp::resource::Resource as PResource;

/// The environment variable with extra resource attributes.
pub const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
/// The environment variable with the service name.
pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";

/// A set of attributes with unique keys, sorted by key.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resource {
    attrs: Vec<KeyValue>,
    schema_url: Option<String>,
}

impl Resource {
    /// Starts from the detected attributes (SDK, environment, instance id).
    pub fn builder() -> ResourceBuilder {
        let mut r = Resource::default();
        r.set_all(sdk_defaults());
        let env_attrs = std::env::var(OTEL_RESOURCE_ATTRIBUTES).ok();
        let env_name = std::env::var(OTEL_SERVICE_NAME).ok();
        r.set_all(from_env(env_attrs.as_deref(), env_name.as_deref()));
        ResourceBuilder { resource: r }
    }

    /// Starts from nothing: no detection, no environment.
    pub fn builder_empty() -> ResourceBuilder {
        ResourceBuilder { resource: Resource::default() }
    }

    /// A resource with exactly these attributes (later duplicates win).
    pub fn new(attributes: impl IntoIterator<Item = KeyValue>) -> Self {
        let mut r = Resource::default();
        r.set_all(attributes);
        r
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.attrs
            .binary_search_by(|kv| kv.key.as_str().cmp(key))
            .ok()
            .map(|i| &self.attrs[i].value)
    }

    /// The attributes, sorted by key.
    pub fn attributes(&self) -> &[KeyValue] {
        &self.attrs
    }

    /// The schema URL, if set.
    pub fn schema_url(&self) -> Option<&str> {
        self.schema_url.as_deref()
    }

    /// This resource with `other`'s attributes added; `other` wins on equal keys.
    pub fn merge(&self, other: &Resource) -> Resource {
        let mut r = self.clone();
        r.set_all(other.attrs.iter().cloned());
        if other.schema_url.is_some() {
            r.schema_url.clone_from(&other.schema_url);
        }
        r
    }

    fn set(&mut self, kv: KeyValue) {
        match self.attrs.binary_search_by(|a| a.key.as_str().cmp(kv.key.as_str())) {
            Ok(i) => self.attrs[i] = kv,
            Err(i) => self.attrs.insert(i, kv),
        }
    }

    fn set_all(&mut self, kvs: impl IntoIterator<Item = KeyValue>) {
        for kv in kvs {
            self.set(kv);
        }
    }

    pub(crate) fn to_proto(&self) -> PResource {
        PResource {
            attributes: crate::internal::convert::attributes(&self.attrs),
            dropped_attributes_count: 0,
        }
    }
}

/// Builds a [`Resource`].
#[derive(Debug)]
#[must_use = "call .build() to get the resource"]
pub struct ResourceBuilder {
    resource: Resource,
}

impl ResourceBuilder {
    /// Sets `service.name`.
    pub fn with_service_name(mut self, name: impl Into<Value>) -> Self {
        self.resource.set(KeyValue::new("service.name", name));
        self
    }
    /// Sets one attribute.
    pub fn with_attribute(mut self, kv: KeyValue) -> Self {
        self.resource.set(kv);
        self
    }
    /// Sets several attributes.
    pub fn with_attributes(mut self, kvs: impl IntoIterator<Item = KeyValue>) -> Self {
        self.resource.set_all(kvs);
        self
    }
    /// Sets the schema URL.
    pub fn with_schema_url(mut self, url: impl Into<String>) -> Self {
        self.resource.schema_url = Some(url.into());
        self
    }
    /// Finishes the resource.
    pub fn build(self) -> Resource {
        self.resource
    }
}

fn sdk_defaults() -> Vec<KeyValue> {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let service = if exe.is_empty() {
        "unknown_service".to_owned()
    } else {
        format!("unknown_service:{exe}")
    };
    vec![
        KeyValue::new("telemetry.sdk.name", "prw"),
        KeyValue::new("telemetry.sdk.language", "rust"),
        KeyValue::new("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
        KeyValue::new("service.name", service),
        KeyValue::new("service.instance.id", new_instance_id()),
    ]
}

/// Attributes from the two environment variables' values, warning about malformed ones.
pub(crate) fn from_env(attributes: Option<&str>, service_name: Option<&str>) -> Vec<KeyValue> {
    let mut out = Vec::new();
    if let Some(raw) = attributes.filter(|s| !s.trim().is_empty()) {
        match parse_resource_attributes(raw) {
            Ok(kvs) => out.extend(kvs),
            Err(why) => diagnostics::report(
                Severity::Warning,
                format!(
                    "{OTEL_RESOURCE_ATTRIBUTES} ignored: {why}; expected key1=value1,key2=value2 with values percent-encoded"
                ),
            ),
        }
    }
    if let Some(name) = service_name.map(str::trim).filter(|s| !s.is_empty()) {
        out.push(KeyValue::new("service.name", name.to_owned()));
    }
    out
}

/// Parses `key=value,key=value` (W3C baggage-like, values percent-encoded).
pub(crate) fn parse_resource_attributes(raw: &str) -> Result<Vec<KeyValue>, String> {
    let mut out = Vec::new();
    for entry in raw.split(',') {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let Some((k, v)) = entry.split_once('=') else {
            return Err(format!("entry {entry:?} has no '='"));
        };
        let k = k.trim();
        if k.is_empty() {
            return Err(format!("entry {entry:?} has an empty key"));
        }
        let key =
            percent_decode(k).ok_or_else(|| format!("key {k:?} has a bad percent-encoding"))?;
        let value = percent_decode(v.trim())
            .ok_or_else(|| format!("value of {k:?} has a bad percent-encoding"))?;
        out.push(KeyValue::new(Key::new(key), value));
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A random UUID v4. `RandomState` is seeded from the OS, so no random-number crate is needed.
fn new_instance_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let word = || {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        h.write_u32(std::process::id());
        h.finish()
    };
    let (hi, lo) = (word(), word());
    let hi = (hi & !0xf000) | 0x4000; // version 4
    let lo = (lo & !(0xc << 60)) | (0x8 << 60); // variant 10xx
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn parses_env_attributes() {
        let kvs = parse_resource_attributes("a=1, b = x%20y ,c=%E2%9C%93,,d=").unwrap();
        let got: Vec<(String, String)> =
            kvs.iter().map(|kv| (kv.key.to_string(), kv.value.to_string())).collect();
        assert_eq!(
            got,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), "✓".into()),
                ("d".into(), "".into())
            ]
        );
    }

    #[test]
    fn malformed_env_is_an_error() {
        for bad in ["a", "=1", "a=%zz", "a=%4", "a=%ff%fe"] {
            assert!(parse_resource_attributes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn precedence_and_warning() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        diagnostics::set_handler(move |d| s2.lock().unwrap().push(d.message().to_owned()));
        let kvs = from_env(Some("service.name=from-attrs,team=x"), Some("from-name"));
        let r = Resource::new(kvs);
        assert_eq!(r.get("service.name").unwrap().as_str(), "from-name");
        assert_eq!(r.get("team").unwrap().as_str(), "x");
        let kvs = from_env(Some("team=x,broken"), None);
        assert!(kvs.is_empty());
        diagnostics::reset_handler();
        let seen = seen.lock().unwrap();
        assert!(seen.iter().any(|m| m.contains("OTEL_RESOURCE_ATTRIBUTES ignored")), "{seen:?}");
    }

    #[test]
    fn defaults() {
        let r = Resource::builder().with_service_name("svc").build();
        assert_eq!(r.get("service.name").unwrap().as_str(), "svc");
        assert_eq!(r.get("telemetry.sdk.language").unwrap().as_str(), "rust");
        let id = r.get("service.instance.id").unwrap().as_str().into_owned();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        let other = Resource::builder().build();
        assert_ne!(other.get("service.instance.id").unwrap().as_str(), id);
        assert!(other.get("service.name").unwrap().as_str().starts_with("unknown_service"));
    }

    #[test]
    fn merge_prefers_other() {
        let a = Resource::new([KeyValue::new("k", "a"), KeyValue::new("x", 1)]);
        let b = Resource::new([KeyValue::new("k", "b")]);
        let m = a.merge(&b);
        assert_eq!(m.get("k").unwrap().as_str(), "b");
        assert_eq!(m.get("x").unwrap().as_str(), "1");
    }

    /// Percent-encodes everything but unreserved characters.
    fn encode(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    proptest! {
        #[test]
        fn resource_attributes_from_the_environment_round_trip(
            entries in proptest::collection::btree_map("[a-z][a-z.]{0,10}", "\\PC{0,16}", 1..5)
        ) {
            let raw: Vec<String> = entries.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
            let parsed = parse_resource_attributes(&raw.join(",")).unwrap();
            let r = Resource::new(parsed);
            for (k, v) in &entries {
                prop_assert_eq!(r.get(k).map(|v| v.as_str().into_owned()), Some(v.clone()));
            }
        }

        #[test]
        fn malformed_environment_never_panics(raw in "\\PC{0,40}") {
            let _ = parse_resource_attributes(&raw);
        }
    }
}
