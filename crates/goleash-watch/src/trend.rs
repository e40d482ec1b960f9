//! Trend statistics over a sliding window of counts: a robust slope (Theil–Sen) and a
//! monotonicity test (Mann–Kendall), combined into "grows and never returns" (a leak),
//! "rises and falls" (follows load), steady or shrinking.
//!
//! Both statistics look only at the order of the values and at pairwise slopes, so one
//! outlier scrape (a burst, a GC pause) neither makes nor breaks a trend, and neither
//! assumes the counts are normally distributed.

use serde::Serialize;

/// The median of the slopes between every pair of points with distinct x. `None` when
/// fewer than two distinct x values exist.
pub fn theil_sen(xs: &[f64], ys: &[f64]) -> Option<f64> {
    let n = xs.len().min(ys.len());
    let mut slopes = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            let dx = xs[j] - xs[i];
            if dx != 0.0 {
                slopes.push((ys[j] - ys[i]) / dx);
            }
        }
    }
    median(&mut slopes)
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// The Mann–Kendall trend test on values in time order.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MannKendall {
    /// Σ sign(y_j − y_i) over i < j: positive when later values tend to be larger.
    pub s: i64,
    /// Var(S) under "no trend", corrected for ties (equal counts are common).
    pub variance: f64,
    /// The normal score with continuity correction.
    pub z: f64,
    /// One-sided p-value of "increasing".
    pub p_increasing: f64,
}

pub fn mann_kendall(ys: &[f64]) -> MannKendall {
    let n = ys.len();
    let mut s: i64 = 0;
    for i in 0..n {
        for j in i + 1..n {
            s += match ys[j].total_cmp(&ys[i]) {
                std::cmp::Ordering::Greater => 1,
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
            };
        }
    }
    let mut sorted = ys.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut ties = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j < sorted.len() && sorted[j] == sorted[i] {
            j += 1;
        }
        let t = (j - i) as f64;
        ties += t * (t - 1.0) * (2.0 * t + 5.0);
        i = j;
    }
    let nf = n as f64;
    let variance = ((nf * (nf - 1.0) * (2.0 * nf + 5.0)) - ties) / 18.0;
    let z = if variance <= 0.0 {
        0.0
    } else if s > 0 {
        (s as f64 - 1.0) / variance.sqrt()
    } else if s < 0 {
        (s as f64 + 1.0) / variance.sqrt()
    } else {
        0.0
    };
    MannKendall {
        s,
        variance,
        z,
        p_increasing: normal_sf(z),
    }
}

/// P(Z > z) for a standard normal Z (Abramowitz & Stegun 7.1.26, error below 1.5e-7).
pub fn normal_sf(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc_abs = poly * (-x * x).exp();
    let erfc = if x >= 0.0 { erfc_abs } else { 2.0 - erfc_abs };
    erfc / 2.0
}

/// What a group's counts did over the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrendKind {
    /// Too few scrapes, or too short a span, to say.
    Insufficient,
    /// Did not move (beyond jitter smaller than `min_rise`).
    Steady,
    /// Grew significantly and never gave much back: the shape of a leak.
    Growing,
    /// Rose and fell: follows load.
    FollowsLoad,
    /// Went down significantly.
    Shrinking,
}

impl TrendKind {
    pub fn name(self) -> &'static str {
        match self {
            TrendKind::Insufficient => "insufficient",
            TrendKind::Steady => "steady",
            TrendKind::Growing => "growing",
            TrendKind::FollowsLoad => "follows_load",
            TrendKind::Shrinking => "shrinking",
        }
    }
}

/// When a window of counts counts as growing.
#[derive(Clone, Copy, Debug)]
pub struct TrendParams {
    /// Scrapes needed before judging.
    pub min_samples: usize,
    /// Milliseconds the window must span before judging.
    pub min_span_ms: i64,
    /// Mann–Kendall one-sided p-value at or below which the growth is significant.
    pub alpha: f64,
    /// Goroutines a group must gain over the window (smaller moves are jitter).
    pub min_rise: f64,
    /// The largest drop from an earlier peak, as a fraction of the window's range, that a
    /// growing group may show: a leak gives (almost) nothing back.
    pub max_giveback: f64,
}

impl Default for TrendParams {
    fn default() -> Self {
        TrendParams {
            min_samples: 10,
            min_span_ms: 5 * 60_000,
            alpha: 0.01,
            min_rise: 5.0,
            max_giveback: 0.1,
        }
    }
}

/// A window judged.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Trend {
    pub kind: TrendKind,
    /// Theil–Sen slope in goroutines per minute (0 with fewer than two points).
    pub slope_per_min: f64,
    /// Mann–Kendall one-sided p-value of "increasing".
    pub p_increasing: f64,
    pub z: f64,
    /// Last minus first count of the window.
    pub rise: f64,
    /// The largest drop from an earlier peak.
    pub giveback: f64,
    /// Where the growth starts: the last time the window was at its lowest before the end.
    pub since_ms: Option<i64>,
    pub samples: usize,
}

/// The most points the O(n²) statistics look at; longer windows are thinned evenly, always
/// keeping the first and last point.
const MAX_POINTS: usize = 240;

/// Judges one window: times in ms (ascending), counts aligned.
pub fn assess(times_ms: &[i64], counts: &[f64], params: &TrendParams) -> Trend {
    let n = times_ms.len().min(counts.len());
    let (times, values) = thin(&times_ms[..n], &counts[..n]);
    let mut trend = Trend {
        kind: TrendKind::Insufficient,
        slope_per_min: 0.0,
        p_increasing: 1.0,
        z: 0.0,
        rise: 0.0,
        giveback: 0.0,
        since_ms: None,
        samples: n,
    };
    if values.len() < 2 {
        return trend;
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    trend.rise = values[values.len() - 1] - values[0];
    let mut peak = f64::NEG_INFINITY;
    for &v in &values {
        peak = peak.max(v);
        trend.giveback = trend.giveback.max(peak - v);
    }
    let span = times[times.len() - 1] - times[0];
    let enough = n >= params.min_samples && span >= params.min_span_ms;
    if hi == lo {
        trend.kind = if enough {
            TrendKind::Steady
        } else {
            TrendKind::Insufficient
        };
        return trend;
    }
    let minutes: Vec<f64> = times
        .iter()
        .map(|&t| (t - times[0]) as f64 / 60_000.0)
        .collect();
    trend.slope_per_min = theil_sen(&minutes, &values).unwrap_or(0.0);
    let mk = mann_kendall(&values);
    trend.z = mk.z;
    trend.p_increasing = mk.p_increasing;
    let last_low = values[..values.len() - 1]
        .iter()
        .rposition(|&v| v == lo)
        .unwrap_or(0);
    if !enough {
        return trend;
    }
    let significant_up = mk.p_increasing <= params.alpha;
    let significant_down = normal_sf(-mk.z) <= params.alpha;
    trend.kind = if significant_up
        && trend.slope_per_min > 0.0
        && trend.rise >= params.min_rise
        && trend.giveback <= params.max_giveback * (hi - lo)
    {
        trend.since_ms = Some(times[last_low]);
        TrendKind::Growing
    } else if significant_down && trend.rise <= -params.min_rise {
        TrendKind::Shrinking
    } else if hi - lo >= params.min_rise {
        TrendKind::FollowsLoad
    } else {
        TrendKind::Steady
    };
    trend
}

/// The current rate of a series: the Theil–Sen slope over the recent segment where the
/// growth started, with its 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Rate {
    pub per_min: f64,
    /// The 95% interval of the slope (Sen's, from the distribution of Kendall's S).
    pub low_per_min: f64,
    pub high_per_min: f64,
    /// Where the segment starts, and how many points it has (never fewer than
    /// `--min-samples`).
    pub since_ms: i64,
    pub samples: usize,
}

/// The rate over the recent segment: a window that was flat for 25 minutes and leaks for
/// the last 5 has a whole-window slope near 0, not the leak's rate. The segment start is
/// the change point that best splits the series into a level before and a line after
/// (least squares, each start tried); the segment keeps at least `min_samples` points, and
/// with fewer in the whole series there is no rate at all (a slope from 2 or 3 points is
/// noise, not a rate).
pub fn recent_rate(times_ms: &[i64], values: &[f64], min_samples: usize) -> Option<Rate> {
    let n = times_ms.len().min(values.len());
    let (times, values) = thin(&times_ms[..n], &values[..n]);
    let n = times.len();
    let min_samples = min_samples.max(3);
    if n < min_samples {
        return None;
    }
    let minutes: Vec<f64> = times
        .iter()
        .map(|&t| (t - times[0]) as f64 / 60_000.0)
        .collect();
    let mut best = (f64::INFINITY, 0usize);
    for start in 0..=n - min_samples {
        let before = &values[..start];
        let level = before.iter().sum::<f64>() / before.len().max(1) as f64;
        let sse_before: f64 = before.iter().map(|v| (v - level).powi(2)).sum();
        let sse = sse_before + line_sse(&minutes[start..], &values[start..]);
        // Ties go to the earlier start: more points, a narrower interval.
        if sse < best.0 - 1e-9 {
            best = (sse, start);
        }
    }
    let start = best.1;
    let (xs, ys) = (&minutes[start..], &values[start..]);
    let mut slopes = Vec::with_capacity(xs.len() * xs.len() / 2);
    for i in 0..xs.len() {
        for j in i + 1..xs.len() {
            let dx = xs[j] - xs[i];
            if dx != 0.0 {
                slopes.push((ys[j] - ys[i]) / dx);
            }
        }
    }
    if slopes.is_empty() {
        return None;
    }
    slopes.sort_by(f64::total_cmp);
    let per_min = median(&mut slopes.clone())?;
    // Sen (1968): the interval's ends are the order statistics (N ∓ C)/2 of the N pairwise
    // slopes, C = z(0.975) · sd(S) under no ties.
    let m = xs.len() as f64;
    let c = 1.96 * (m * (m - 1.0) * (2.0 * m + 5.0) / 18.0).sqrt();
    let total = slopes.len() as f64;
    let lo = (((total - c) / 2.0).floor().max(0.0)) as usize;
    let hi = (((total + c) / 2.0).ceil() as usize).min(slopes.len() - 1);
    Some(Rate {
        per_min,
        low_per_min: slopes[lo.min(slopes.len() - 1)],
        high_per_min: slopes[hi],
        since_ms: times[start],
        samples: xs.len(),
    })
}

/// Residual sum of squares of the least-squares line through the points.
fn line_sse(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len() as f64;
    if xs.len() < 2 {
        return 0.0;
    }
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let syy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
    if sxx == 0.0 {
        return syy;
    }
    (syy - sxy * sxy / sxx).max(0.0)
}

fn thin(times: &[i64], values: &[f64]) -> (Vec<i64>, Vec<f64>) {
    let n = times.len();
    if n <= MAX_POINTS {
        return (times.to_vec(), values.to_vec());
    }
    let step = (n - 1) as f64 / (MAX_POINTS - 1) as f64;
    (0..MAX_POINTS)
        .map(|k| ((k as f64 * step).round() as usize).min(n - 1))
        .map(|i| (times[i], values[i]))
        .unzip()
}

/// The total's growth in goroutines per minute over the last `minutes` of the series, for
/// SLO rules ("alert when goroutines grow faster than N per minute for M minutes"). `None`
/// until the series covers that long.
pub fn growth_per_minute(times_ms: &[i64], totals: &[f64], minutes: f64) -> Option<f64> {
    let n = times_ms.len().min(totals.len());
    let end = *times_ms[..n].last()?;
    let horizon = (minutes * 60_000.0) as i64;
    let start = times_ms[..n].partition_point(|&t| t < end - horizon);
    // The series must reach back (nearly) the whole span: 95% of it allows for jitter in
    // scrape times.
    if start == 0 && end - times_ms[0] < horizon * 95 / 100 {
        return None;
    }
    let first = start.saturating_sub(usize::from(start > 0 && times_ms[start] > end - horizon));
    let (t, v) = thin(&times_ms[first..n], &totals[first..n]);
    let minutes: Vec<f64> = t.iter().map(|&x| (x - t[0]) as f64 / 60_000.0).collect();
    theil_sen(&minutes, &v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> TrendParams {
        TrendParams {
            min_samples: 8,
            min_span_ms: 0,
            alpha: 0.01,
            min_rise: 3.0,
            max_giveback: 0.1,
        }
    }

    fn times(n: usize, step_ms: i64) -> Vec<i64> {
        (0..n as i64).map(|i| 1_000_000 + i * step_ms).collect()
    }

    #[test]
    fn theil_sen_ignores_an_outlier() {
        let xs: Vec<f64> = (0..11).map(f64::from).collect();
        let mut ys: Vec<f64> = xs.iter().map(|x| 2.0 * x + 1.0).collect();
        ys[5] = 1000.0;
        assert_eq!(theil_sen(&xs, &ys), Some(2.0));
        assert_eq!(theil_sen(&[1.0], &[1.0]), None);
        assert_eq!(theil_sen(&[1.0, 1.0], &[1.0, 5.0]), None);
        // Even number of slopes: the mean of the middle two.
        assert_eq!(theil_sen(&[0.0, 1.0, 2.0], &[0.0, 1.0, 4.0]), Some(2.0));
    }

    #[test]
    fn mann_kendall_matches_textbook_values() {
        // Strictly increasing, n = 10: S = 45, Var = 10·9·25/18 = 125, z = 44/√125.
        let ys: Vec<f64> = (0..10).map(f64::from).collect();
        let mk = mann_kendall(&ys);
        assert_eq!(mk.s, 45);
        assert!((mk.variance - 125.0).abs() < 1e-9);
        assert!((mk.z - 44.0 / 125f64.sqrt()).abs() < 1e-9);
        assert!(mk.p_increasing < 1e-4);
        // Ties shrink the variance: [1,1,2,2] has S = 4, Var = (4·3·13 − 2·(2·1·9))/18 = 6.67.
        let mk = mann_kendall(&[1.0, 1.0, 2.0, 2.0]);
        assert_eq!(mk.s, 4);
        assert!((mk.variance - (156.0 - 36.0) / 18.0).abs() < 1e-9);
        // No trend at all.
        let mk = mann_kendall(&[3.0, 3.0, 3.0]);
        assert_eq!((mk.s, mk.z), (0, 0.0));
    }

    #[test]
    fn normal_tail() {
        assert!((normal_sf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_sf(1.644_853_6) - 0.05).abs() < 1e-6);
        assert!((normal_sf(-1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_sf(2.326_347_9) - 0.01).abs() < 1e-6);
    }

    #[test]
    fn a_leak_grows_in_steps_and_never_returns() {
        // Grows during bursts, flat between them: still a leak.
        let counts = [0., 0., 3., 6., 6., 6., 9., 12., 12., 12., 15., 18.];
        let t = times(counts.len(), 200);
        let trend = assess(&t, &counts, &params());
        assert_eq!(trend.kind, TrendKind::Growing, "{trend:?}");
        assert_eq!(trend.since_ms, Some(t[1]));
        // 18 over 11 scrapes of 200 ms: the median slope is 1.5 per scrape = 450/min.
        assert!(trend.slope_per_min > 300.0, "{trend:?}");
    }

    #[test]
    fn load_rises_and_falls() {
        let counts = [2., 8., 9., 3., 2., 8., 10., 2., 2., 9., 8., 2.];
        let trend = assess(&times(counts.len(), 200), &counts, &params());
        assert_eq!(trend.kind, TrendKind::FollowsLoad, "{trend:?}");
        // A ramp that gives back half of what it gained is load, not a leak, even though the
        // values mostly increase.
        let counts = [0., 2., 4., 6., 8., 10., 12., 14., 7., 9., 11., 13.];
        let trend = assess(&times(counts.len(), 200), &counts, &params());
        assert_eq!(trend.kind, TrendKind::FollowsLoad, "{trend:?}");
    }

    #[test]
    fn steady_jitter_and_short_windows() {
        let counts = [10., 11., 10., 10., 11., 10., 10., 11., 10., 10.];
        let trend = assess(&times(counts.len(), 200), &counts, &params());
        assert_eq!(trend.kind, TrendKind::Steady, "{trend:?}");
        let flat = [4.0; 12];
        assert_eq!(
            assess(&times(12, 200), &flat, &params()).kind,
            TrendKind::Steady
        );
        // Growing, but only three scrapes: too early to say.
        let trend = assess(&times(3, 200), &[1., 5., 9.], &params());
        assert_eq!(trend.kind, TrendKind::Insufficient);
        assert!(trend.slope_per_min > 0.0);
        // Enough scrapes, too short a span.
        let long = TrendParams {
            min_span_ms: 60_000,
            ..params()
        };
        let counts: Vec<f64> = (0..12).map(f64::from).collect();
        assert_eq!(
            assess(&times(12, 200), &counts, &long).kind,
            TrendKind::Insufficient
        );
    }

    #[test]
    fn shrinking_and_slow_small_growth() {
        let counts: Vec<f64> = (0..12).rev().map(|x| f64::from(x) * 2.0).collect();
        assert_eq!(
            assess(&times(12, 200), &counts, &params()).kind,
            TrendKind::Shrinking
        );
        // +2 over the window: below min_rise, jitter.
        let counts = [5., 5., 5., 6., 6., 6., 6., 7., 7., 7.];
        assert_eq!(
            assess(&times(10, 200), &counts, &params()).kind,
            TrendKind::Steady
        );
    }

    #[test]
    fn long_windows_are_thinned() {
        let n = 2000;
        let counts: Vec<f64> = (0..n).map(|i| (i / 10) as f64).collect();
        let trend = assess(&times(n, 1000), &counts, &params());
        assert_eq!(trend.kind, TrendKind::Growing);
        assert!((trend.slope_per_min - 6.0).abs() < 0.5, "{trend:?}");
        assert_eq!(trend.samples, n);
    }

    #[test]
    fn total_growth_rate_needs_the_whole_span() {
        // 10 goroutines per minute, one scrape every 10 s, 5 minutes.
        let t: Vec<i64> = (0..31).map(|i| i * 10_000).collect();
        let v: Vec<f64> = (0..31).map(|i| 100.0 + f64::from(i) * 10.0 / 6.0).collect();
        let rate = growth_per_minute(&t, &v, 3.0).unwrap();
        assert!((rate - 10.0).abs() < 1e-6, "{rate}");
        assert!(growth_per_minute(&t, &v, 10.0).is_none());
        assert!(growth_per_minute(&[], &[], 1.0).is_none());
    }

    #[test]
    fn the_rate_is_the_recent_segment_with_an_interval_and_enough_points() {
        // Flat for 40 points, then +2 per 1 s scrape (120/min) for 20.
        let times: Vec<i64> = (0..60).map(|i| i * 1000).collect();
        let values: Vec<f64> = (0..60)
            .map(|i| {
                if i < 40 {
                    50.0
                } else {
                    50.0 + 2.0 * f64::from(i - 39)
                }
            })
            .collect();
        let whole = theil_sen(
            &times
                .iter()
                .map(|&t| t as f64 / 60_000.0)
                .collect::<Vec<_>>(),
            &values,
        )
        .unwrap();
        assert!(whole < 60.0, "the whole window hides the rate: {whole}");
        let r = recent_rate(&times, &values, 8).unwrap();
        assert!((r.per_min - 120.0).abs() < 1.0, "{r:?}");
        assert!(
            r.low_per_min <= r.per_min && r.per_min <= r.high_per_min,
            "{r:?}"
        );
        assert!((38_000..=40_000).contains(&r.since_ms), "{r:?}");
        // Noisy growth: the interval is wider but holds the true rate.
        let noisy: Vec<f64> = (0..60)
            .map(|i| 10.0 + f64::from(i) + f64::from((i * 7919) % 13) - 6.0)
            .collect();
        let r = recent_rate(&times, &noisy, 8).unwrap();
        assert!(r.low_per_min < 60.0 && 60.0 < r.high_per_min, "{r:?}");
        assert!(r.high_per_min - r.low_per_min > 1.0, "{r:?}");
        // Never from fewer than min_samples points.
        assert!(recent_rate(&times[..3], &values[..3], 8).is_none());
        let r = recent_rate(&times[50..], &values[50..], 8).unwrap();
        assert!(r.samples >= 8, "{r:?}");
    }
}
