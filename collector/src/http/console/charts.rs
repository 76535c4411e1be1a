//! Server-rendered SVG charts, hand-built: a few rectangles and lines in
//! maud (so every label is escaped) come to a few kilobytes, where a
//! charting crate would add a drawing backend and a font stack to draw the
//! same bars. No inline styles or scripts: colours are classes from the
//! console's stylesheet, so the strict CSP holds. Each chart has a
//! `<title>` and `<desc>` and stands beside a table of its numbers.

use maud::{Markup, html};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 76.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 36.0;

/// One series: its name, the stylesheet class that colours it, and a
/// value per category.
pub struct Series<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub values: Vec<i64>,
}

/// A horizontal line across the plot (a target), with its label.
pub struct Line<'a> {
    pub name: &'a str,
    pub value: i64,
}

struct Rect<'a> {
    class: &'a str,
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    tip: String,
}

fn fmt(value: f64) -> String {
    format!("{value:.1}")
}

/// Round numbers for the value axis: 0 and four steps up to at least `max`.
fn ticks(max: i64) -> Vec<i64> {
    let max = max.max(1);
    let raw = (max as f64 / 4.0).max(1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(raw)
        .ceil() as i64;
    (0..=4).map(|i| i * step.max(1)).collect()
}

/// Vertical bars per category: stacked series, or side by side.
pub fn bars(
    title: &str,
    desc: &str,
    categories: &[String],
    series: &[Series<'_>],
    stacked: bool,
    line: Option<Line<'_>>,
    label: impl Fn(i64) -> String,
) -> Markup {
    let totals: Vec<i64> = (0..categories.len())
        .map(|i| {
            let values = series.iter().map(|s| s.values.get(i).copied().unwrap_or(0));
            if stacked {
                values.sum()
            } else {
                values.max().unwrap_or(0)
            }
        })
        .collect();
    let top = totals
        .iter()
        .copied()
        .chain(line.as_ref().map(|l| l.value))
        .max()
        .unwrap_or(0);
    let ticks = ticks(top);
    let scale_max = *ticks.last().unwrap_or(&1) as f64;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let y = |v: i64| TOP + plot_h - (v as f64 / scale_max) * plot_h;
    let slot = (WIDTH - LEFT - RIGHT) / categories.len().max(1) as f64;
    let groups = if stacked { 1 } else { series.len().max(1) };
    let bar_w = (slot * 0.7) / groups as f64;
    // At most about a dozen labels fit under the axis.
    let every = categories.len().div_ceil(12).max(1);
    let mut rects = Vec::new();
    for (i, category) in categories.iter().enumerate() {
        let x0 = LEFT + slot * i as f64 + slot * 0.15;
        let mut base = 0;
        for (j, s) in series.iter().enumerate() {
            let v = s.values.get(i).copied().unwrap_or(0);
            if v <= 0 {
                continue;
            }
            let (x, from) = if stacked {
                (x0, base)
            } else {
                (x0 + bar_w * j as f64, 0)
            };
            rects.push(Rect {
                class: s.class,
                x,
                y: y(from + v),
                w: bar_w,
                h: y(from) - y(from + v),
                tip: format!("{category}: {} {}", s.name, label(v)),
            });
            base += v;
        }
    }
    html! {
        svg.chart viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            desc { (desc) }
            @for t in &ticks {
                line.grid x1=(LEFT) x2=(WIDTH - RIGHT) y1=(fmt(y(*t))) y2=(fmt(y(*t))) {}
                text.axis x=(LEFT - 6.0) y=(fmt(y(*t) + 4.0)) text-anchor="end" { (label(*t)) }
            }
            @for r in &rects {
                rect class=(r.class) x=(fmt(r.x)) y=(fmt(r.y)) width=(fmt(r.w)) height=(fmt(r.h)) { title { (r.tip) } }
            }
            @for (i, category) in categories.iter().enumerate().filter(|(i, _)| i % every == 0) {
                text.axis x=(fmt(LEFT + slot * (i as f64 + 0.5))) y=(HEIGHT - BOTTOM + 16.0) text-anchor="middle" { (category) }
            }
            @if let Some(l) = &line {
                line.target x1=(LEFT) x2=(WIDTH - RIGHT) y1=(fmt(y(l.value))) y2=(fmt(y(l.value))) {
                    title { (l.name) " " (label(l.value)) }
                }
            }
        }
        (legend(series, line.as_ref()))
    }
}

/// Horizontal bars, one row per label, series side by side.
pub fn hbars(
    title: &str,
    desc: &str,
    labels: &[String],
    series: &[Series<'_>],
    label: impl Fn(i64) -> String,
) -> Markup {
    let row_h = 14.0 * series.len().max(1) as f64 + 10.0;
    let height = TOP + row_h * labels.len().max(1) as f64 + 8.0;
    let left = 180.0;
    let top = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let w = |v: i64| (v as f64 / top) * (WIDTH - left - 90.0);
    html! {
        svg.chart viewBox={ "0 0 " (WIDTH) " " (fmt(height)) } role="img" xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            desc { (desc) }
            @for (i, name) in labels.iter().enumerate() {
                @let y0 = TOP + row_h * i as f64;
                @let short: String = if name.chars().count() > 28 { name.chars().take(27).chain(['…']).collect() } else { name.clone() };
                text.axis x=(left - 8.0) y=(fmt(y0 + 12.0)) text-anchor="end" { title { (name) } (short) }
                @for (j, s) in series.iter().enumerate() {
                    @let v = s.values.get(i).copied().unwrap_or(0);
                    rect class=(s.class) x=(left) y=(fmt(y0 + 14.0 * j as f64)) width=(fmt(w(v))) height="12" {
                        title { (name) ": " (s.name) " " (label(v)) }
                    }
                    text.value x=(fmt(left + w(v) + 6.0)) y=(fmt(y0 + 14.0 * j as f64 + 10.0)) { (label(v)) }
                }
            }
        }
        (legend(series, None))
    }
}

fn legend(series: &[Series<'_>], line: Option<&Line<'_>>) -> Markup {
    html! {
        @if series.len() > 1 || line.is_some() {
            ul.legend aria-hidden="true" {
                @for s in series { li { span class={ "swatch " (s.class) } {} (s.name) } }
                @if let Some(l) = line { li { span.swatch.target {} (l.name) } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        assert_eq!(ticks(0), [0, 1, 2, 3, 4]);
        assert_eq!(ticks(7), [0, 2, 4, 6, 8]);
        assert_eq!(ticks(95), [0, 25, 50, 75, 100]);
        assert!(*ticks(123_456).last().unwrap() >= 123_456);
    }

    #[test]
    fn labels_are_escaped_and_nothing_is_inline_styled() {
        let svg = bars(
            "<b>t</b>",
            "d",
            &["<script>".to_owned()],
            &[Series {
                name: "a&b",
                class: "k-idea",
                values: vec![3],
            }],
            true,
            None,
            |v| v.to_string(),
        )
        .into_string();
        assert!(svg.contains("&lt;script&gt;") && svg.contains("a&amp;b"));
        assert!(!svg.contains("<script>") && !svg.contains("style="));
    }
}
