//! Prometheus as the fleet's eyes (`--prometheus URL`): every instance's goroutine count is
//! read from Prometheus's HTTP API (one range query over the window), judged by the same
//! trend test as the watcher's own series, and only the instances that grow are scraped for
//! stacks. Cost follows the growing instances, not the fleet.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::targets::{parse_url, SourceFault, Target};
use crate::trend::{assess, Trend, TrendKind, TrendParams};

/// One instance's series as Prometheus returned it.
#[derive(Clone, Debug)]
pub struct Instance {
    pub labels: BTreeMap<String, String>,
    pub times_ms: Vec<i64>,
    pub values: Vec<f64>,
}

/// An instance judged: its trend, and the pprof URL it maps to.
#[derive(Clone, Debug)]
pub struct Judged {
    pub instance: Instance,
    pub trend: Trend,
    pub target: Result<Target, String>,
}

/// `query_range` of `selector` over the `window` ending now, one point per `step`.
pub fn query_range(
    base: &str,
    selector: &str,
    window: Duration,
    step: Duration,
    timeout: Duration,
) -> Result<Vec<Instance>, SourceFault> {
    let end = crate::clock::now_ms() as f64 / 1000.0;
    let start = end - window.as_secs_f64();
    let url = format!(
        "{}/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step={}",
        base.trim_end_matches('/'),
        encode(selector),
        step.as_secs_f64().max(1.0)
    );
    let agent = goleash_source::http::agent(timeout, 1);
    let (status, text) = goleash_source::http::get_api(&agent, &url, timeout, 256 << 20)
        .map_err(|e| SourceFault::of_request(e, "--prometheus"))?;
    if status == 404 {
        return Err(format!(
            "--prometheus {base}: HTTP status 404 for /api/v1/query_range; is it Prometheus's address?"
        )
        .into());
    }
    // Prometheus explains a refusal in the body (a bad selector: 400 with "parse error …").
    parse_matrix(&text).map_err(|e| {
        SourceFault::of_status(
            status,
            match status {
                200 => format!("--prometheus {base}: query `{selector}`: {e}"),
                _ => format!("--prometheus {base}: query `{selector}`: HTTP status {status}: {e}"),
            },
        )
    })
}

/// Prometheus's `{"status": …, "data": {"resultType": "matrix", "result": […]}}`.
pub fn parse_matrix(text: &str) -> Result<Vec<Instance>, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not Prometheus API JSON: {e}"))?;
    if v["status"] != "success" {
        return Err(format!(
            "Prometheus answered {}: {}",
            v["errorType"].as_str().unwrap_or("an error"),
            v["error"].as_str().unwrap_or("(no message)")
        ));
    }
    if v["data"]["resultType"] != "matrix" {
        return Err(format!(
            "expected a matrix (a range query of a selector), got {}",
            v["data"]["resultType"]
        ));
    }
    let mut out = Vec::new();
    for series in v["data"]["result"].as_array().into_iter().flatten() {
        let labels = series["metric"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let mut times_ms = Vec::new();
        let mut values = Vec::new();
        for point in series["values"].as_array().into_iter().flatten() {
            let (Some(ts), Some(value)) = (
                point[0].as_f64(),
                point[1].as_str().and_then(|s| s.parse::<f64>().ok()),
            ) else {
                continue;
            };
            if value.is_finite() {
                times_ms.push((ts * 1000.0) as i64);
                values.push(value);
            }
        }
        out.push(Instance {
            labels,
            times_ms,
            values,
        });
    }
    Ok(out)
}

/// Judges each instance and maps it to its pprof URL with `template`.
pub fn judge(instances: Vec<Instance>, params: &TrendParams, template: &str) -> Vec<Judged> {
    instances
        .into_iter()
        .map(|instance| {
            let trend = assess(&instance.times_ms, &instance.values, params);
            let target = pprof_target(template, &instance.labels);
            Judged {
                instance,
                trend,
                target,
            }
        })
        .collect()
}

/// The instances to scrape: those whose count grows.
pub fn growing(judged: &[Judged]) -> impl Iterator<Item = &Judged> {
    judged.iter().filter(|j| j.trend.kind == TrendKind::Growing)
}

/// `http://{{instance}}/debug/pprof` with the instance's labels put in; a label the
/// instance lacks is an error naming it. The instance's other labels (job, …) go with it.
pub fn pprof_target(template: &str, labels: &BTreeMap<String, String>) -> Result<Target, String> {
    let mut url = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        url.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| format!("--pprof-url {template}: `{{{{` without `}}}}`"))?;
        let name = after[..close].trim().trim_start_matches('.');
        let value = labels.get(name).ok_or_else(|| {
            format!(
                "--pprof-url {template}: the series has no label `{name}` (it has {})",
                labels.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        url.push_str(value);
        rest = &after[close + 2..];
    }
    url.push_str(rest);
    let mut target = parse_url(&url)?;
    target.labels = labels
        .iter()
        .filter(|(k, _)| !k.starts_with("__"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(target)
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_answer_and_its_errors() {
        let ok = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"go_goroutines","instance":"127.0.0.1:8080","job":"api"},
             "values":[[1700000000,"10"],[1700000060,"12"],[1700000120,"NaN"]]}]}}"#;
        let instances = parse_matrix(ok).unwrap();
        assert_eq!(instances[0].values, [10.0, 12.0]);
        assert_eq!(instances[0].times_ms[1], 1_700_000_060_000);
        let bad = r#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#;
        let e = parse_matrix(bad).unwrap_err();
        assert!(e.contains("bad_data") && e.contains("parse error"), "{e}");
        assert!(parse_matrix("<html>")
            .unwrap_err()
            .contains("not Prometheus API JSON"));
    }

    #[test]
    fn the_template_takes_the_instance_labels() {
        let labels: BTreeMap<String, String> = [
            ("__name__", "go_goroutines"),
            ("instance", "127.0.0.1:8080"),
            ("job", "api"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let t = pprof_target("http://{{instance}}/debug/pprof", &labels).unwrap();
        assert_eq!(t.url, "http://127.0.0.1:8080/debug/pprof");
        assert_eq!(t.labels.get("job").map(String::as_str), Some("api"));
        assert!(!t.labels.contains_key("__name__"));
        let e = pprof_target("http://{{ .pod_ip }}:6060", &labels).unwrap_err();
        assert!(
            e.contains("no label `pod_ip`") && e.contains("instance"),
            "{e}"
        );
    }
}
