//! Tests of the harness itself, against the real backends: each one accepts a Remote Write
//! 1.0 series and gives back exactly its labels and value; Prometheus keeps its data across a
//! restart; tinyproxy forwards and logs; the scripted receiver follows its script.

use std::time::{Duration, Instant};

use prw_integration::{
    InfluxDb, Labels, Prometheus, Reply, ScriptedReceiver, TinyProxy, VictoriaMetrics, http,
    wait_until, wire,
};
use prw_proto::{rw1, rw2};

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// One series with two samples a second apart, ending now.
fn one_series(name: &str) -> (rw1::WriteRequest, i64) {
    let now = wire::now_ms();
    let series = wire::rw1_series(
        name,
        &[("job", "harness"), ("instance", "i-1"), ("zone", "a b")],
        &[(now - 1000, 1.5), (now, 42.25)],
    );
    (rw1::WriteRequest { timeseries: vec![series], metadata: vec![] }, now)
}

#[test]
fn prometheus_round_trip_and_restart_keeps_data() {
    prw_integration::require!(Prometheus);
    let mut prometheus =
        Prometheus::builder().lookback_delta(Duration::from_secs(60)).start().unwrap();
    let (request, now) = one_series("harness_writes_total");

    let response = wire::push_rw1(&prometheus.write_url(), &request).unwrap();
    assert_eq!(response.status, 204, "{}", response.text());

    let expected = labels(&[
        ("__name__", "harness_writes_total"),
        ("instance", "i-1"),
        ("job", "harness"),
        ("zone", "a b"),
    ]);
    assert_eq!(
        prometheus.query_at("harness_writes_total", now).unwrap(),
        vec![(expected.clone(), 42.25)]
    );
    assert_eq!(
        prometheus.query_at("harness_writes_total", now - 500).unwrap(),
        vec![(expected.clone(), 1.5)]
    );
    assert_eq!(prometheus.series("harness_writes_total").unwrap(), vec![expected.clone()]);
    let samples = prometheus.samples("harness_writes_total", now - 10_000, now).unwrap();
    assert_eq!(samples, vec![(expected.clone(), vec![(now - 1000, 1.5), (now, 42.25)])]);
    let range = prometheus
        .query_range("harness_writes_total", now - 1000, now, Duration::from_secs(1))
        .unwrap();
    assert_eq!(range, vec![(expected.clone(), vec![(now - 1000, 1.5), (now, 42.25)])]);
    // A scalar comes back as one unlabelled value.
    assert_eq!(
        prometheus.query_at("scalar(harness_writes_total) * 2", now).unwrap(),
        vec![(Labels::new(), 84.5)]
    );

    // Same port, same data dir: the WAL is replayed and the samples are still there.
    let port = prometheus.port();
    let pid = prometheus.pid();
    prometheus.restart().unwrap();
    assert_eq!(prometheus.port(), port);
    assert_ne!(prometheus.pid(), pid);
    assert_eq!(prometheus.samples("harness_writes_total", now - 10_000, now).unwrap(), samples);

    // While stopped, writes fail to connect; after start they land again.
    prometheus.stop();
    assert!(!prometheus.is_running());
    assert!(wire::push_rw1(&prometheus.write_url(), &request).is_err());
    prometheus.start().unwrap();
    let later = wire::rw1_series(
        "harness_writes_total",
        &[("job", "harness"), ("instance", "i-1"), ("zone", "a b")],
        &[(now + 1000, 50.0)],
    );
    let response = wire::push_rw1(
        &prometheus.write_url(),
        &rw1::WriteRequest { timeseries: vec![later], metadata: vec![] },
    )
    .unwrap();
    assert_eq!(response.status, 204, "{}", response.text());
    assert_eq!(
        prometheus.samples("harness_writes_total", now - 10_000, now + 1000).unwrap()[0].1.len(),
        3
    );
    assert!(prometheus.log().matches("==== prw-integration: starting").count() >= 3);
}

#[test]
fn prometheus_rejects_out_of_order_and_ignores_rw2() {
    prw_integration::require!(Prometheus);
    let prometheus = Prometheus::builder().start().unwrap();
    let (request, now) = one_series("harness_order");
    assert_eq!(wire::push_rw1(&prometheus.write_url(), &request).unwrap().status, 204);

    // An older sample of the same series: 400, as the spec's receivers must answer.
    let old = wire::rw1_series(
        "harness_order",
        &[("job", "harness"), ("instance", "i-1"), ("zone", "a b")],
        &[(now - 5000, 1.0)],
    );
    let response = wire::push_rw1(
        &prometheus.write_url(),
        &rw1::WriteRequest { timeseries: vec![old], metadata: vec![] },
    )
    .unwrap();
    assert_eq!(response.status, 400, "{}", response.text());
    assert!(response.text().contains("out of order"), "{}", response.text());

    // Prometheus 2.42 predates RW 2.0: it reads the body as 1.0, finds no series, and answers
    // 204 without the Written headers, which a RW 2.0 sender must take as "unsupported".
    let v2 = rw2::Request {
        symbols: vec!["".into(), "__name__".into(), "harness_v2".into()],
        timeseries: vec![rw2::TimeSeries {
            labels_refs: vec![1, 2],
            samples: vec![rw2::Sample { value: 1.0, timestamp: now, start_timestamp: 0 }],
            ..Default::default()
        }],
    };
    let response = prometheus.push_rw2(&v2).unwrap();
    assert_eq!(response.status, 204);
    assert_eq!(response.header(wire::SAMPLES_WRITTEN), None);
    assert!(prometheus.query_at("harness_v2", now).unwrap().is_empty());
}

#[test]
fn prometheus_basic_auth() {
    prw_integration::require!(Prometheus);
    if prw_integration::find_binary("htpasswd").is_none() {
        assert!(!prw_integration::in_ci(), "htpasswd (apache2-utils) is missing under CI");
        return;
    }
    let prometheus = Prometheus::builder().basic_auth("alice", "wonder land").start().unwrap();
    let (request, now) = one_series("harness_auth");
    // Without credentials: 401. The harness's own queries carry them.
    assert_eq!(wire::push_rw1(&prometheus.write_url(), &request).unwrap().status, 401);
    assert_eq!(prometheus.push_rw1(&request).unwrap().status, 204);
    assert_eq!(prometheus.query_at("harness_auth", now).unwrap().len(), 1);
    let wrong =
        http::HttpRequest::new("GET", format!("{}/api/v1/query?query=up", prometheus.base_url()))
            .basic_auth("alice", "wrong")
            .send()
            .unwrap();
    assert_eq!(wrong.status, 401);
}

#[test]
fn victoria_metrics_round_trip() {
    prw_integration::require!(VictoriaMetrics);
    let vm = VictoriaMetrics::builder().start().unwrap();
    let (request, now) = one_series("harness_vm_total");
    let response = wire::push_rw1(&vm.write_url(), &request).unwrap();
    assert_eq!(response.status, 204, "{}", response.text());

    let expected = labels(&[
        ("__name__", "harness_vm_total"),
        ("instance", "i-1"),
        ("job", "harness"),
        ("zone", "a b"),
    ]);
    assert_eq!(
        vm.export("{__name__=\"harness_vm_total\"}").unwrap(),
        vec![(expected.clone(), vec![(now - 1000, 1.5), (now, 42.25)])]
    );
    assert_eq!(vm.query_at("harness_vm_total", now).unwrap(), vec![(expected.clone(), 42.25)]);
    assert_eq!(vm.query_at("harness_vm_total", now - 500).unwrap(), vec![(expected.clone(), 1.5)]);
    assert_eq!(vm.query("harness_vm_total").unwrap(), vec![(expected.clone(), 42.25)]);
    let range =
        vm.query_range("harness_vm_total", now - 1000, now, Duration::from_secs(1)).unwrap();
    assert_eq!(range, vec![(expected.clone(), vec![(now - 1000, 1.5), (now, 42.25)])]);
    assert_eq!(vm.series("harness_vm_total").unwrap(), vec![expected]);
    assert!(vm.export("{__name__=\"harness_absent\"}").unwrap().is_empty());
}

#[test]
fn influxdb_round_trip() {
    prw_integration::require!(InfluxDb);
    let influx = InfluxDb::builder().database("harness").start().unwrap();
    assert!(influx.write_url().ends_with("/api/v1/prom/write?db=harness"));
    let (request, now) = one_series("harness_influx_total");
    let response = wire::push_rw1(&influx.write_url(), &request).unwrap();
    assert_eq!(response.status, 204, "{}", response.text());

    // The metric name becomes the measurement; every label, `__name__` included, a tag.
    let expected = labels(&[
        ("__name__", "harness_influx_total"),
        ("instance", "i-1"),
        ("job", "harness"),
        ("zone", "a b"),
    ]);
    assert_eq!(
        influx.points("harness_influx_total").unwrap(),
        vec![(expected, vec![(now - 1000, 1.5), (now, 42.25)])]
    );
    assert!(influx.points("harness_absent").unwrap().is_empty());

    // An unknown database is refused, as the reference says.
    let other = influx.write_url().replace("db=harness", "db=nope");
    assert_eq!(wire::push_rw1(&other, &request).unwrap().status, 404);
    assert!(influx.query("SELEC nonsense").is_err());
}

#[test]
fn tinyproxy_forwards_and_logs() {
    prw_integration::require!(TinyProxy, VictoriaMetrics);
    let proxy = TinyProxy::builder().start().unwrap();
    let vm = VictoriaMetrics::builder().start().unwrap();
    let response = http::HttpRequest::new("GET", format!("{}/health", vm.base_url()))
        .send_via_proxy(&proxy.url())
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.text().trim(), "OK");
    let expected = format!("GET http://127.0.0.1:{}/health HTTP/1.1", vm.port());
    assert!(
        wait_until(Duration::from_secs(5), || proxy.requests().contains(&expected)),
        "{}",
        proxy.log()
    );
}

#[test]
fn tinyproxy_requires_its_credentials() {
    prw_integration::require!(TinyProxy);
    let receiver = ScriptedReceiver::start(vec![]).unwrap();
    let proxy = TinyProxy::builder().basic_auth("proxyuser", "proxypass").start().unwrap();
    // (A GET: tinyproxy answers 407 without reading a body, and closing on an unread body
    // resets the connection before the answer can be read.)
    let anonymous =
        http::HttpRequest::new("GET", receiver.url()).send_via_proxy(&proxy.url()).unwrap();
    assert_eq!(anonymous.status, 407);
    assert_eq!(receiver.request_count(), 0);
    let authorised = http::HttpRequest::new("POST", receiver.url())
        .body("x")
        .header("Proxy-Authorization", "Basic cHJveHl1c2VyOnByb3h5cGFzcw==")
        .send_via_proxy(&proxy.url())
        .unwrap();
    assert_eq!(authorised.status, 204);
    assert_eq!(receiver.requests()[0].body, b"x");
}

#[test]
fn scripted_receiver_follows_its_script() {
    let receiver = ScriptedReceiver::start(vec![
        Reply::status(500).body("try again"),
        Reply::status(429).retry_after(7),
        Reply::status(400).body("bad sample"),
        Reply::status(413),
        Reply::no_content().delay(Duration::from_millis(200)),
    ])
    .unwrap();
    let (request, _) = one_series("scripted");

    let first = wire::push_rw1(&receiver.url(), &request).unwrap();
    assert_eq!((first.status, first.text().as_str()), (500, "try again"));
    let second = wire::push_rw1(&receiver.url(), &request).unwrap();
    assert_eq!((second.status, second.header("retry-after")), (429, Some("7")));
    assert_eq!(wire::push_rw1(&receiver.url(), &request).unwrap().status, 400);
    assert_eq!(wire::push_rw1(&receiver.url(), &request).unwrap().status, 413);
    let started = Instant::now();
    assert_eq!(wire::push_rw1(&receiver.url(), &request).unwrap().status, 204);
    assert!(started.elapsed() >= Duration::from_millis(200));
    // After the script: accept.
    assert_eq!(wire::push_rw1(&receiver.url(), &request).unwrap().status, 204);

    let requests = receiver.requests();
    assert_eq!(requests.len(), 6);
    for (i, r) in requests.iter().enumerate() {
        assert_eq!(r.index, i);
        assert_eq!((r.method.as_str(), r.target.as_str()), ("POST", "/api/v1/write"));
        assert_eq!(r.header("content-encoding"), Some("snappy"));
        assert_eq!(r.header("X-Prometheus-Remote-Write-Version"), Some("0.1.0"));
        assert!(!r.is_rw2());
        assert_eq!(r.decode_rw1().unwrap(), request);
    }
    assert!(requests.windows(2).all(|w| w[0].received_at <= w[1].received_at));
    // The harness client opens one connection per request.
    assert_eq!(receiver.connection_count(), 6);
}

#[test]
fn scripted_receiver_answers_rw2_with_written_counts() {
    // 415 to RW 2.0, accept RW 1.0: the fallback scenario.
    let picky = ScriptedReceiver::start_with(|r| {
        if r.is_rw2() { Reply::status(415) } else { Reply::accept(r) }
    })
    .unwrap();
    let v2 = rw2::Request {
        symbols: vec!["".into(), "__name__".into(), "m".into()],
        timeseries: vec![rw2::TimeSeries {
            labels_refs: vec![1, 2],
            samples: vec![rw2::Sample { value: 1.0, timestamp: 1, start_timestamp: 0 }; 3],
            ..Default::default()
        }],
    };
    assert_eq!(wire::push_rw2(&picky.url(), &v2).unwrap().status, 415);
    let (v1, _) = one_series("m");
    assert_eq!(wire::push_rw1(&picky.url(), &v1).unwrap().status, 204);

    // The default after the script counts what a RW 2.0 request carried.
    let compliant = ScriptedReceiver::start(vec![]).unwrap();
    let response = wire::push_rw2(&compliant.url(), &v2).unwrap();
    assert_eq!(response.status, 204);
    assert_eq!(response.header(wire::SAMPLES_WRITTEN), Some("3"));
    assert_eq!(response.header(wire::HISTOGRAMS_WRITTEN), Some("0"));
    assert_eq!(response.header(wire::EXEMPLARS_WRITTEN), Some("0"));
    let received = compliant.requests();
    assert!(received[0].is_rw2());
    let decoded = received[0].decode_rw2().unwrap();
    assert_eq!(
        wire::rw2_labels(&decoded, &decoded.timeseries[0]).unwrap(),
        labels(&[("__name__", "m")])
    );
}

#[test]
fn scripted_receiver_keeps_connections_alive_and_hangs_on_request() {
    use std::io::{BufRead, BufReader, Read, Write};

    let receiver = ScriptedReceiver::start_with(|r| {
        if r.index == 2 { Reply::hang() } else { Reply::status(503).body("busy") }
    })
    .unwrap();
    let mut stream = std::net::TcpStream::connect(receiver.addr()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    for body in ["one", "two"] {
        write!(
            stream,
            "POST /push HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert_eq!(status, "HTTP/1.1 503 Service Unavailable\r\n");
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        assert_eq!(body, b"busy");
    }
    assert_eq!(receiver.connection_count(), 1);

    // The third request is recorded but never answered.
    write!(stream, "POST /push HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nthree").unwrap();
    assert!(receiver.wait_for_requests(3, Duration::from_secs(5)));
    stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut byte = [0; 1];
    let err = reader.read(&mut byte).unwrap_err();
    assert!(
        matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
        "{err}"
    );
    let bodies: Vec<_> = receiver.requests().into_iter().map(|r| (r.target, r.body)).collect();
    assert_eq!(
        bodies,
        vec![
            ("/push".to_owned(), b"one".to_vec()),
            ("/push".to_owned(), b"two".to_vec()),
            ("/push".to_owned(), b"three".to_vec())
        ]
    );

    // Dropping the receiver ends the hung exchange promptly.
    let started = Instant::now();
    drop(receiver);
    assert!(started.elapsed() < Duration::from_secs(5));
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(reader.read(&mut byte).unwrap_or(0), 0);
}

#[test]
fn scripted_receiver_answers_malformed_requests_with_400() {
    use std::io::{Read, Write};
    let receiver = ScriptedReceiver::start(vec![]).unwrap();
    let mut stream = std::net::TcpStream::connect(receiver.addr()).unwrap();
    stream.write_all(b"POST / HTTP/1.1\r\nContent-Length: lots\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
    assert_eq!(receiver.request_count(), 0);
}

#[test]
fn prometheus_serves_tls_and_can_drop_it_to_read_back() {
    prw_integration::require!(Prometheus);
    let Some(openssl) = prw_integration::require_binary("openssl", "openssl") else { return };
    let certs = prw_integration::TestDir::new("certs").unwrap();
    let (cert, key) = (certs.join("server.pem"), certs.join("server.key"));
    let status = std::process::Command::new(openssl)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

    let mut prometheus = Prometheus::builder().tls(&cert, &key).start().unwrap();
    assert!(prometheus.write_url().starts_with("https://127.0.0.1:"));
    // The harness cannot speak TLS; Go's TLS server answers plain HTTP with this 400.
    let plain = http::get(&format!("http://127.0.0.1:{}/-/ready", prometheus.port())).unwrap();
    assert_eq!(plain.status, 400);
    assert!(plain.text().contains("HTTP request to an HTTPS server"), "{}", plain.text());
    assert!(matches!(
        prometheus.query("up"),
        Err(prw_integration::HarnessError::Http(http::HttpError::InvalidUrl { .. }))
    ));

    // A TLS test reads back by restarting the same data over plain HTTP.
    prometheus.set_web_config(prw_integration::WebConfig::default(), None);
    prometheus.restart().unwrap();
    assert!(prometheus.write_url().starts_with("http://127.0.0.1:"));
    assert!(prometheus.query("up").unwrap().is_empty());
}
