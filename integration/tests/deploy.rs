//! Docker cannot run here, so the docker-compose demo is checked statically: the files parse,
//! and the services, ports, tenant and URLs in docker-compose.yml, deploy/mimir/mimir.yaml and
//! deploy/grafana/ agree with each other.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load_yaml(relative: &str) -> Yaml {
    let path = repo().join(relative);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut docs =
        YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{relative} is not YAML: {e}"));
    assert_eq!(docs.len(), 1, "{relative} should hold one YAML document");
    docs.remove(0)
}

fn strings(node: &Yaml) -> Vec<String> {
    node.as_vec()
        .map(|items| {
            items
                .iter()
                .map(|i| i.as_str().unwrap_or_else(|| panic!("not a string: {i:?}")).to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn str_at<'a>(node: &'a Yaml, what: &str) -> &'a str {
    node.as_str().unwrap_or_else(|| panic!("{what} should be a string, is {node:?}"))
}

/// `host:port` and path of an `http://` URL.
fn split_url(url: &str) -> (String, u16, String) {
    let rest = url.strip_prefix("http://").unwrap_or_else(|| panic!("{url} should be http://"));
    let (authority, path) =
        rest.split_once('/').map_or((rest, String::new()), |(a, p)| (a, format!("/{p}")));
    let (host, port) =
        authority.split_once(':').unwrap_or_else(|| panic!("{url} should name its port"));
    (host.to_owned(), port.parse().unwrap_or_else(|_| panic!("bad port in {url}")), path)
}

/// The `--flag value` pairs of a command list.
fn flag_value(command: &[String], flag: &str) -> String {
    let at = command
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("{flag} missing from {command:?}"));
    command.get(at + 1).unwrap_or_else(|| panic!("{flag} has no value")).clone()
}

/// `(host path, container path)` of each bind mount, and the named volumes used.
fn mounts(service: &Yaml) -> (Vec<(String, String)>, Vec<String>) {
    let mut binds = Vec::new();
    let mut named = Vec::new();
    for volume in strings(&service["volumes"]) {
        let mut parts = volume.split(':');
        let (Some(host), Some(container)) = (parts.next(), parts.next()) else {
            panic!("bad volume {volume}")
        };
        if host.starts_with("./") {
            binds.push((host.to_owned(), container.to_owned()));
        } else {
            named.push(host.to_owned());
        }
    }
    (binds, named)
}

/// Where a container path comes from in the repository, through the service's bind mounts.
fn host_path_of(binds: &[(String, String)], container_path: &str) -> PathBuf {
    for (host, container) in binds {
        if let Ok(rest) = Path::new(container_path).strip_prefix(container) {
            let host = repo().join(host.trim_start_matches("./"));
            return if rest.as_os_str().is_empty() { host } else { host.join(rest) };
        }
    }
    panic!("{container_path} is not mounted from the repository: {binds:?}")
}

fn mimir_port() -> u16 {
    let config = load_yaml("deploy/mimir/mimir.yaml");
    let port = config["server"]["http_listen_port"].as_i64().expect("server.http_listen_port");
    u16::try_from(port).expect("a port")
}

#[test]
fn services_are_the_demo_ones_and_every_mount_exists() {
    let compose = load_yaml("docker-compose.yml");
    let services = compose["services"].as_hash().expect("services");
    let names: BTreeSet<&str> = services.keys().map(|k| str_at(k, "service name")).collect();
    assert_eq!(names, BTreeSet::from(["grafana", "mimir", "sample_app"]));

    let declared: BTreeSet<&str> = compose["volumes"]
        .as_hash()
        .map(|v| v.keys().map(|k| str_at(k, "volume")).collect())
        .unwrap_or_default();
    for (name, service) in services {
        let name = str_at(name, "service name");
        let (binds, named) = mounts(service);
        for (host, _) in binds {
            assert!(
                repo().join(&host).exists(),
                "{name} mounts {host}, which is not in the repository"
            );
        }
        for volume in named {
            assert!(
                declared.contains(volume.as_str()),
                "{name} uses volume {volume}, not declared at the top level"
            );
        }
        if let Some(image) = service["image"].as_str() {
            let (_, tag) = image
                .rsplit_once(':')
                .unwrap_or_else(|| panic!("{name}: image {image} should be pinned"));
            assert!(
                tag != "latest" && tag.chars().next().is_some_and(|c| c.is_ascii_digit()),
                "{name}: {image}"
            );
        }
        for dependency in strings(&service["depends_on"]) {
            assert!(names.contains(dependency.as_str()), "{name} depends on unknown {dependency}");
        }
    }
}

#[test]
fn mimir_is_multi_tenant_on_the_published_port() {
    let compose = load_yaml("docker-compose.yml");
    let mimir = &compose["services"]["mimir"];
    assert!(str_at(&mimir["image"], "mimir image").starts_with("grafana/mimir:"));
    let command = strings(&mimir["command"]);
    assert!(command.contains(&"-target=all".to_owned()), "{command:?}");
    assert!(command.contains(&"-auth.multitenancy-enabled=true".to_owned()), "{command:?}");

    let config_in_container = command
        .iter()
        .find_map(|a| a.strip_prefix("-config.file="))
        .unwrap_or_else(|| panic!("no -config.file in {command:?}"));
    let (binds, _) = mounts(mimir);
    let config_on_host = host_path_of(&binds, config_in_container);
    assert_eq!(
        fs::canonicalize(config_on_host).unwrap(),
        fs::canonicalize(repo().join("deploy/mimir/mimir.yaml")).unwrap()
    );

    let config = load_yaml("deploy/mimir/mimir.yaml");
    assert_eq!(config["multitenancy_enabled"].as_bool(), Some(true));
    assert_eq!(config["target"].as_str(), Some("all"));
    assert_eq!(config["limits"]["native_histograms_ingestion_enabled"].as_bool(), Some(true));
    let port = mimir_port();
    let published: Vec<u16> = strings(&mimir["ports"])
        .iter()
        .map(|p| {
            p.rsplit(':').next().unwrap().parse().unwrap_or_else(|_| panic!("bad port mapping {p}"))
        })
        .collect();
    assert!(published.contains(&port), "mimir listens on {port} but publishes {published:?}");
}

#[test]
fn the_app_pushes_to_mimir_as_the_tenant_grafana_reads() {
    let compose = load_yaml("docker-compose.yml");
    let app = &compose["services"]["sample_app"];
    let command = strings(&app["command"]);

    let (host, port, path) = split_url(&flag_value(&command, "--endpoint"));
    assert_eq!(host, "mimir", "the app must push to the mimir service");
    assert_eq!(port, mimir_port(), "the app must push to the port Mimir listens on");
    assert_eq!(path, "/api/v1/push");
    assert!(strings(&app["depends_on"]).contains(&"mimir".to_owned()));

    let header = flag_value(&command, "--header");
    let (name, tenant) =
        header.split_once('=').unwrap_or_else(|| panic!("--header {header} should be NAME=VALUE"));
    assert_eq!(name, "X-Scope-OrgID");
    assert!(!tenant.is_empty());

    let datasources = load_yaml("deploy/grafana/provisioning/datasources/mimir.yaml");
    let mimir_source = datasources["datasources"]
        .as_vec()
        .expect("datasources")
        .iter()
        .find(|d| d["type"].as_str() == Some("prometheus"))
        .expect("a prometheus data source");
    let (host, port, path) = split_url(str_at(&mimir_source["url"], "datasource url"));
    assert_eq!((host.as_str(), port, path.as_str()), ("mimir", mimir_port(), "/prometheus"));
    assert_eq!(mimir_source["jsonData"]["httpHeaderName1"].as_str(), Some("X-Scope-OrgID"));
    assert_eq!(
        mimir_source["secureJsonData"]["httpHeaderValue1"].as_str(),
        Some(tenant),
        "Grafana must read the app's tenant"
    );
}

#[test]
fn grafana_provisions_the_datasource_and_dashboards_it_mounts() {
    let compose = load_yaml("docker-compose.yml");
    let grafana = &compose["services"]["grafana"];
    let (binds, _) = mounts(grafana);
    let provisioning = host_path_of(&binds, "/etc/grafana/provisioning");
    assert_eq!(
        fs::canonicalize(&provisioning).unwrap(),
        fs::canonicalize(repo().join("deploy/grafana/provisioning")).unwrap()
    );

    let datasources = load_yaml("deploy/grafana/provisioning/datasources/mimir.yaml");
    let uids: BTreeSet<&str> = datasources["datasources"]
        .as_vec()
        .expect("datasources")
        .iter()
        .map(|d| str_at(&d["uid"], "datasource uid"))
        .collect();

    let providers = load_yaml("deploy/grafana/provisioning/dashboards/prw.yaml");
    let dashboards_in_container =
        str_at(&providers["providers"][0]["options"]["path"], "provider path");
    let dashboards_dir = host_path_of(&binds, dashboards_in_container);
    let mut dashboards = 0;
    for entry in fs::read_dir(&dashboards_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        dashboards += 1;
        let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        assert!(json["uid"].is_string() && json["title"].is_string(), "{}", path.display());
        let mut referenced = Vec::new();
        collect_datasource_uids(&json, &mut referenced);
        assert!(!referenced.is_empty(), "{} uses no data source", path.display());
        for uid in referenced {
            assert!(
                uids.contains(uid.as_str()),
                "{} uses data source {uid}, not provisioned",
                path.display()
            );
        }
    }
    assert!(dashboards > 0, "no dashboard in {}", dashboards_dir.display());

    let home = str_at(
        &grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"],
        "home dashboard",
    );
    assert!(
        host_path_of(&binds, home).is_file(),
        "the home dashboard {home} is not in the repository"
    );
}

fn collect_datasource_uids(json: &serde_json::Value, out: &mut Vec<String>) {
    match json {
        serde_json::Value::Object(map) => {
            if let Some(uid) =
                map.get("datasource").and_then(|d| d.get("uid")).and_then(|u| u.as_str())
            {
                out.push(uid.to_owned());
            }
            map.values().for_each(|v| collect_datasource_uids(v, out));
        }
        serde_json::Value::Array(items) => {
            items.iter().for_each(|v| collect_datasource_uids(v, out))
        }
        _ => {}
    }
}

#[test]
fn the_app_image_builds_the_sample_app_from_the_workspace() {
    let compose = load_yaml("docker-compose.yml");
    let build = &compose["services"]["sample_app"]["build"];
    assert_eq!(build["context"].as_str(), Some("."));
    let dockerfile = repo().join(str_at(&build["dockerfile"], "dockerfile"));
    let text =
        fs::read_to_string(&dockerfile).unwrap_or_else(|e| panic!("{}: {e}", dockerfile.display()));
    assert!(text.contains("cargo build --release --locked -p sample_app"), "{text}");
    assert!(text.contains("ENTRYPOINT [\"/usr/local/bin/sample_app\"]"), "{text}");
    let ignore = fs::read_to_string(dockerfile.with_file_name("Dockerfile.dockerignore")).unwrap();
    assert!(
        ignore.lines().any(|l| l.trim() == "target/"),
        "the build context must leave target/ out"
    );
}
