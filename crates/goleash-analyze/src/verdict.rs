use serde::Serialize;

/// How sure goleash is that a group has no reason to live. Ordered from least to most sure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A goroutine known to live long by design (runtime workers, servers, pools, main).
    Expected,
    /// Could be a leak; the data cannot tell (no wait time, short wait, daemon-like).
    Possible,
    /// Blocked long enough on something that can leak, or crowded at one channel site.
    Likely,
    /// The runtime's leak-detecting GC proved it, or the wait can never end by language rules.
    Proven,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Expected => "expected",
            Verdict::Possible => "possible",
            Verdict::Likely => "likely",
            Verdict::Proven => "proven",
        }
    }

    pub fn parse(text: &str) -> Option<Verdict> {
        match text {
            "expected" => Some(Verdict::Expected),
            "possible" => Some(Verdict::Possible),
            "likely" => Some(Verdict::Likely),
            "proven" => Some(Verdict::Proven),
            _ => None,
        }
    }
}
