//! The Prometheus HTTP query API (`/api/v1/query`, `query_range`, `series`), which Prometheus
//! and VictoriaMetrics both serve.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::HarnessError;
use crate::http::{HttpRequest, HttpResponse, encode_form};

/// A series' labels, `__name__` included, sorted by name.
pub type Labels = BTreeMap<String, String>;

/// Samples as `(timestamp_ms, value)`, in time order.
pub type Samples = Vec<(i64, f64)>;

/// One series' labels and samples.
pub type SeriesSamples = (Labels, Samples);

/// The HTTP side of a backend: base URL and optional basic-auth credentials.
#[derive(Debug, Clone)]
pub(crate) struct PromApi {
    pub(crate) base_url: String,
    pub(crate) auth: Option<(String, String)>,
    /// Parameters added to every API query (VictoriaMetrics needs `nocache=1`).
    pub(crate) extra_params: &'static [(&'static str, &'static str)],
}

impl PromApi {
    pub(crate) fn request(&self, method: &str, path_and_query: &str) -> HttpRequest {
        let request = HttpRequest::new(method, format!("{}{path_and_query}", self.base_url));
        match &self.auth {
            Some((user, password)) => request.basic_auth(user, password),
            None => request,
        }
    }

    pub(crate) fn get(&self, path_and_query: &str) -> Result<HttpResponse, HarnessError> {
        Ok(self.request("GET", path_and_query).send()?)
    }

    /// GETs an API path and returns its `data` after checking `"status": "success"`.
    pub(crate) fn data(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, HarnessError> {
        let what = format!("GET {path}?{}", encode_form(params));
        let mut all = params.to_vec();
        all.extend_from_slice(self.extra_params);
        let response = self.get(&format!("{path}?{}", encode_form(&all)))?;
        let json = response_json(&what, &response)?;
        if json.get("status").and_then(Value::as_str) != Some("success") {
            return Err(bad(&what, format!("status is not success: {json}")));
        }
        json.get("data").cloned().ok_or_else(|| bad(&what, "no data".into()))
    }

    pub(crate) fn query(
        &self,
        promql: &str,
        time_ms: Option<i64>,
    ) -> Result<Vec<(Labels, f64)>, HarnessError> {
        let time = time_ms.map(format_time);
        let mut params = vec![("query", promql)];
        if let Some(time) = &time {
            params.push(("time", time));
        }
        let data = self.data("/api/v1/query", &params)?;
        parse_instant(promql, &data)
    }

    pub(crate) fn query_range(
        &self,
        promql: &str,
        start_ms: i64,
        end_ms: i64,
        step: Duration,
    ) -> Result<Vec<SeriesSamples>, HarnessError> {
        let (start, end) = (format_time(start_ms), format_time(end_ms));
        let step = format!("{}ms", step.as_millis().max(1));
        let data = self.data(
            "/api/v1/query_range",
            &[("query", promql), ("start", &start), ("end", &end), ("step", &step)],
        )?;
        parse_matrix(promql, &data)
    }

    pub(crate) fn samples(
        &self,
        selector: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<SeriesSamples>, HarnessError> {
        let range = (end_ms - start_ms).max(1);
        let promql = format!("{selector}[{range}ms]");
        let data =
            self.data("/api/v1/query", &[("query", &promql), ("time", &format_time(end_ms))])?;
        parse_matrix(&promql, &data)
    }

    pub(crate) fn series(&self, matcher: &str) -> Result<Vec<Labels>, HarnessError> {
        let data = self.data("/api/v1/series", &[("match[]", matcher)])?;
        let what = format!("series {matcher}");
        let list =
            data.as_array().ok_or_else(|| bad(&what, format!("data is not a list: {data}")))?;
        let mut all: Vec<Labels> =
            list.iter().map(|m| labels(&what, m)).collect::<Result<_, _>>()?;
        all.sort();
        Ok(all)
    }
}

pub(crate) fn bad(what: &str, reason: String) -> HarnessError {
    HarnessError::BadResponse { what: what.to_owned(), reason }
}

/// Checks for a 2xx and parses the body as JSON.
pub(crate) fn response_json(what: &str, response: &HttpResponse) -> Result<Value, HarnessError> {
    if !response.is_success() {
        let mut body = response.text();
        if body.len() > 2048 {
            let mut cut = 2048;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
        }
        return Err(HarnessError::Status { what: what.to_owned(), status: response.status, body });
    }
    serde_json::from_slice(&response.body)
        .map_err(|e| bad(what, format!("not JSON ({e}): {}", response.text())))
}

/// Milliseconds since the epoch as the API's seconds with three decimals.
pub(crate) fn format_time(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
}

/// A sample value as the API writes it: a string, with `NaN`, `+Inf` and `-Inf` spelled out.
pub(crate) fn parse_value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

fn parse_point(what: &str, point: &Value) -> Result<(i64, f64), HarnessError> {
    let pair = point
        .as_array()
        .filter(|p| p.len() == 2)
        .ok_or_else(|| bad(what, format!("bad point {point}")))?;
    let seconds = pair[0].as_f64().ok_or_else(|| bad(what, format!("bad timestamp in {point}")))?;
    let value = pair[1]
        .as_str()
        .and_then(parse_value)
        .ok_or_else(|| bad(what, format!("bad value in {point}")))?;
    // The API prints milliseconds as fractional seconds; round away the binary noise.
    Ok(((seconds * 1000.0).round() as i64, value))
}

fn labels(what: &str, metric: &Value) -> Result<Labels, HarnessError> {
    let object = metric
        .as_object()
        .ok_or_else(|| bad(what, format!("labels are not an object: {metric}")))?;
    object
        .iter()
        .map(|(k, v)| match v.as_str() {
            Some(v) => Ok((k.clone(), v.to_owned())),
            None => Err(bad(what, format!("label {k} is not a string: {v}"))),
        })
        .collect()
}

/// An instant-query result as `(labels, value)`, sorted by labels. Scalars come back as one
/// entry with no labels. Native-histogram results are an error: read them with
/// `histogram_count()` / `histogram_sum()` or the raw JSON.
pub(crate) fn parse_instant(what: &str, data: &Value) -> Result<Vec<(Labels, f64)>, HarnessError> {
    let result = data.get("result").ok_or_else(|| bad(what, format!("no result in {data}")))?;
    match data.get("resultType").and_then(Value::as_str) {
        Some("vector") => {
            let list =
                result.as_array().ok_or_else(|| bad(what, format!("bad vector {result}")))?;
            let mut out = Vec::with_capacity(list.len());
            for element in list {
                let labels = labels(what, element.get("metric").unwrap_or(&Value::Null))?;
                let Some(point) = element.get("value") else {
                    return Err(bad(
                        what,
                        format!(
                            "{element} has no float value (a native histogram? use histogram_count() or the JSON)"
                        ),
                    ));
                };
                out.push((labels, parse_point(what, point)?.1));
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(out)
        }
        Some("scalar") => Ok(vec![(Labels::new(), parse_point(what, result)?.1)]),
        other => Err(bad(what, format!("expected a vector or scalar, got {other:?}"))),
    }
}

/// A range result as `(labels, [(timestamp_ms, value)])`, sorted by labels.
pub(crate) fn parse_matrix(what: &str, data: &Value) -> Result<Vec<SeriesSamples>, HarnessError> {
    if data.get("resultType").and_then(Value::as_str) != Some("matrix") {
        return Err(bad(what, format!("expected a matrix: {data}")));
    }
    let list = data
        .get("result")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(what, format!("bad matrix {data}")))?;
    let mut out = Vec::with_capacity(list.len());
    for element in list {
        let labels = labels(what, element.get("metric").unwrap_or(&Value::Null))?;
        let values =
            element.get("values").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let points = values.iter().map(|p| parse_point(what, p)).collect::<Result<_, _>>()?;
        out.push((labels, points));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_values() {
        assert_eq!(format_time(1_700_000_000_123), "1700000000.123");
        assert_eq!(format_time(5), "0.005");
        assert_eq!(format_time(-1500), "-1.500");
        assert_eq!(parse_value("1.5"), Some(1.5));
        assert_eq!(parse_value("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_value("-Inf"), Some(f64::NEG_INFINITY));
        assert!(parse_value("NaN").unwrap().is_nan());
        assert_eq!(parse_value("x"), None);
    }

    #[test]
    fn parses_vectors_scalars_and_matrices() {
        let vector: Value = serde_json::from_str(
            r#"{"resultType":"vector","result":[
                {"metric":{"__name__":"b"},"value":[1700000000.123,"2"]},
                {"metric":{"__name__":"a","job":"j"},"value":[1700000000.123,"1e3"]}]}"#,
        )
        .unwrap();
        let got = parse_instant("q", &vector).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].0,
            Labels::from([("__name__".into(), "a".into()), ("job".into(), "j".into())])
        );
        assert_eq!(got[0].1, 1000.0);
        assert_eq!(got[1].1, 2.0);

        let scalar: Value =
            serde_json::from_str(r#"{"resultType":"scalar","result":[1.5,"7"]}"#).unwrap();
        assert_eq!(parse_instant("q", &scalar).unwrap(), vec![(Labels::new(), 7.0)]);

        let histogram: Value = serde_json::from_str(
            r#"{"resultType":"vector","result":[{"metric":{},"histogram":[1,{"count":"1"}]}]}"#,
        )
        .unwrap();
        assert!(
            parse_instant("q", &histogram).unwrap_err().to_string().contains("histogram_count")
        );

        let matrix: Value = serde_json::from_str(
            r#"{"resultType":"matrix","result":[{"metric":{"__name__":"m"},"values":[[1700000000.001,"1"],[1700000001,"NaN"]]}]}"#,
        )
        .unwrap();
        let got = parse_matrix("q", &matrix).unwrap();
        assert_eq!(got[0].1[0], (1_700_000_000_001, 1.0));
        assert_eq!(got[0].1[1].0, 1_700_000_001_000);
        assert!(got[0].1[1].1.is_nan());
        assert!(parse_matrix("q", &vector).is_err());
    }
}
