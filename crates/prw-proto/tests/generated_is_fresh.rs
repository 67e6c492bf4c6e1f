//! The generated code under `src/generated/` is checked in, so that nobody who builds prw
//! needs `protoc` or a code-generation step. This test regenerates it from `proto/` with
//! protox (a pure-Rust protobuf compiler) and prost-build, and fails when the checked-in
//! files are stale. Run `scripts/regen-proto` (which sets `PRW_REGENERATE=1`) to update them.

use std::path::{Path, PathBuf};

const PROTO_FILES: &[&str] = &[
    "prometheus/types.proto",
    "prometheus/remote.proto",
    "io/prometheus/write/v2/types.proto",
    "opentelemetry/proto/common/v1/common.proto",
    "opentelemetry/proto/resource/v1/resource.proto",
    "opentelemetry/proto/metrics/v1/metrics.proto",
    "opentelemetry/proto/collector/metrics/v1/metrics_service.proto",
];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn generate(out: &Path) {
    let proto_root = manifest_dir().join("../../proto");
    let files: Vec<PathBuf> = PROTO_FILES.iter().map(|f| proto_root.join(f)).collect();
    let descriptors = protox::compile(&files, [&proto_root]).expect("the .proto files compile");
    prost_build::Config::new()
        .out_dir(out)
        .compile_fds(descriptors)
        .expect("prost-build generates code");
}

#[test]
fn generated_code_is_fresh() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    generate(tmp.path());
    let checked_in = manifest_dir().join("src/generated");
    let regenerate = std::env::var_os("PRW_REGENERATE").is_some();

    let mut names: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("read generated dir")
        .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(!names.is_empty(), "prost-build produced no files");

    let mut stale = Vec::new();
    for name in &names {
        let fresh = std::fs::read_to_string(tmp.path().join(name)).expect("read fresh file");
        let path = checked_in.join(name);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != fresh {
            if regenerate {
                std::fs::write(&path, &fresh).expect("write generated file");
            } else {
                stale.push(name.clone());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "generated code is stale for {stale:?}: run scripts/regen-proto and commit the result"
    );
}
