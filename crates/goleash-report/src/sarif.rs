//! SARIF 2.1.0, typed: the one writer behind `goleash lint --format sarif` and
//! `goleash test --format sarif`. Only the parts GitHub code scanning and other SARIF viewers
//! read are modelled.

use std::collections::BTreeMap;

use serde::Serialize;

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://example.invalid/goleash";

#[derive(Serialize, Debug)]
pub struct Log {
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    pub version: &'static str,
    pub runs: Vec<Run>,
}

impl Log {
    /// One run of goleash with these rules and results.
    pub fn single(
        driver: Driver,
        column_kind: Option<&'static str>,
        results: Vec<Finding>,
    ) -> Self {
        Log {
            schema: SCHEMA,
            version: "2.1.0",
            runs: vec![Run {
                tool: Tool { driver },
                column_kind,
                results,
            }],
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_string())
    }
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub tool: Tool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column_kind: Option<&'static str>,
    pub results: Vec<Finding>,
}

#[derive(Serialize, Debug)]
pub struct Tool {
    pub driver: Driver,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Driver {
    pub name: &'static str,
    pub semantic_version: String,
    pub information_uri: &'static str,
    pub rules: Vec<Rule>,
}

impl Driver {
    pub fn goleash(version: &str, rules: Vec<Rule>) -> Self {
        Driver {
            name: "goleash",
            semantic_version: version.to_string(),
            information_uri: INFORMATION_URI,
            rules,
        }
    }
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub short_description: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_description: Option<Text>,
    pub help: Help,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_configuration: Option<Configuration>,
    #[serde(skip_serializing_if = "Properties::is_empty")]
    pub properties: Properties,
}

/// The property bags goleash writes (SARIF leaves their keys to the tool): every key it uses,
/// typed, and left out when unset.
#[derive(Serialize, Debug, Default)]
pub struct Properties {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<goleash_lint::Confidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<goleash_analyze::Category>,
    /// `lint --evidence`: running goroutines stand in the finding's lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

impl Properties {
    fn is_empty(&self) -> bool {
        self.tags.is_empty()
            && self.precision.is_none()
            && self.confidence.is_none()
            && self.package.is_none()
            && self.test.is_none()
            && self.count.is_none()
            && self.verdict.is_none()
            && self.category.is_none()
            && self.confirmed.is_none()
            && self.evidence.is_none()
    }
}

#[derive(Serialize, Debug)]
pub struct Text {
    pub text: String,
}

impl Text {
    pub fn new(text: impl Into<String>) -> Self {
        Text { text: text.into() }
    }
}

#[derive(Serialize, Debug)]
pub struct Help {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct Configuration {
    pub level: Level,
    pub enabled: bool,
}

#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    Note,
}

/// A SARIF `result`.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub rule_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_index: Option<usize>,
    /// Priority 0–100 (SARIF `rank`); viewers list higher first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<f64>,
    pub level: Level,
    pub message: Text,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<Location>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related_locations: Vec<Location>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub partial_fingerprints: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Properties::is_empty")]
    pub properties: Properties,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// Set on related locations (their index), which viewers link by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Text>,
    pub physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logical_locations: Vec<LogicalLocation>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    pub artifact_location: ArtifactLocation,
    pub region: Region,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactLocation {
    pub uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri_base_id: Option<&'static str>,
}

#[derive(Serialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub start_line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<usize>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct LogicalLocation {
    pub fully_qualified_name: String,
    pub kind: &'static str,
}

impl Location {
    /// A place in a file: `uri` relative to the source root (`%SRCROOT%`) unless absolute.
    pub fn file(uri: &str, region: Region) -> Self {
        let (uri, uri_base_id) = if uri.starts_with('/') {
            (format!("file://{uri}"), None)
        } else {
            (uri.to_string(), Some("%SRCROOT%"))
        };
        Location {
            id: None,
            message: None,
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation { uri, uri_base_id },
                region,
            },
            logical_locations: Vec::new(),
        }
    }

    /// As a related location: its index and what it is.
    pub fn related(mut self, id: usize, message: impl Into<String>) -> Self {
        self.id = Some(id);
        self.message = Some(Text::new(message));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_sarif_shape_viewers_read() {
        let mut finding = Finding {
            rule_id: "GL001".into(),
            rule_index: Some(0),
            rank: None,
            level: Level::Error,
            message: Text::new("leak"),
            locations: vec![Location::file(
                "a/b.go",
                Region {
                    start_line: 3,
                    start_column: Some(2),
                    ..Region::default()
                },
            )],
            related_locations: vec![Location::file(
                "/usr/lib/go/x.go",
                Region {
                    start_line: 9,
                    ..Region::default()
                },
            )
            .related(0, "there")],
            partial_fingerprints: BTreeMap::new(),
            properties: Properties::default(),
        };
        finding
            .partial_fingerprints
            .insert("goleashFingerprint/v1".into(), "abc".into());
        let log = Log::single(
            Driver::goleash("0.1.0", Vec::new()),
            Some("unicodeCodePoints"),
            vec![finding],
        );
        let v: serde_json::Value = serde_json::from_str(&log.to_json()).unwrap();
        assert_eq!(v["$schema"], SCHEMA);
        let result = &v["runs"][0]["results"][0];
        assert_eq!(result["ruleId"], "GL001");
        assert_eq!(result["level"], "error");
        let artifact = &result["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(artifact["uri"], "a/b.go");
        assert_eq!(artifact["uriBaseId"], "%SRCROOT%");
        let related = &result["relatedLocations"][0];
        assert_eq!(related["id"], 0);
        assert_eq!(
            related["physicalLocation"]["artifactLocation"]["uri"],
            "file:///usr/lib/go/x.go"
        );
        assert!(related["physicalLocation"]["artifactLocation"]
            .get("uriBaseId")
            .is_none());
        assert!(result["locations"][0]["physicalLocation"]["region"]
            .get("endLine")
            .is_none());
        assert_eq!(
            result["partialFingerprints"]["goleashFingerprint/v1"],
            "abc"
        );
        assert!(result.get("properties").is_none());
    }
}
