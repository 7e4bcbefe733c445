//! Inline SVG charts of readings over time: blood pressure, weight, glucose, questionnaire scores and so on.
//!
//! [`render`] turns a [`Chart`] into one self-contained `<svg>` string, which a page embeds with askama's
//! `|safe`. Every piece of text the caller supplies (title, description, unit, series, band and line labels,
//! date labels) is escaped here, so the string is safe to embed as it is. The only ids are the two derived from
//! [`Chart::id`], and nothing reads a clock or uses randomness: the same chart always gives the same string, with
//! coordinates written to at most one decimal place.
//!
//! Accessibility choices:
//! - The chart is **one image** to assistive technology: `role="img"` with `aria-labelledby` naming its
//!   `<title>` (what the chart is) and `<desc>` (the caller's plain-English summary, such as "Your blood
//!   pressure was in your target range for 9 of your 12 readings"). Everything drawn sits inside an
//!   `aria-hidden="true"` group, so a screen reader announces the title and summary rather than a run of tick
//!   labels. The caller must also show the readings in a data table: the chart is never the only way to get at
//!   the numbers.
//! - Colour is never the only cue. Each series has its own marker shape ([`Marker`]). The target range is a
//!   shaded band with solid edges. Thresholds are dashed lines labelled in words. A legend (text and marker)
//!   appears whenever there is more than one series or a labelled target range.
//! - Series colours, axis lines, band edges and threshold lines all contrast with white by at least 3:1 (WCAG
//!   1.4.11). Text is NHS dark grey, #212b32.
//! - The viewBox is 560 units wide and text is 16–18 units. In an NHS two-thirds column (about 620px) that is
//!   about body-text size; on a 343px-wide phone it shrinks to about 10–11px, which is why the data table matters.
//!   Date labels are thinned (daily, every other day, weekly, monthly, …) until they no longer overlap, judged
//!   from an estimate of how wide the caller's labels are, so shorter labels give more ticks.
//! - No script, and no `style` attribute or `<style>` element, because the Content-Security-Policy forbids inline
//!   styles. Only SVG presentation attributes are used, plus a few `app-chart__*` classes that a stylesheet may
//!   target (for example in print or forced-colours mode).

use std::fmt::Write as _;

use time::{Date, Duration, Month, OffsetDateTime};

/// One reading: when it was taken and its value in the chart's unit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// When the reading was taken.
    pub at: OffsetDateTime,
    /// The value. Non-finite values (NaN, ±∞) are ignored.
    pub value: f64,
}

/// The shape drawn at each reading of a series. Give each series on a chart a different shape (see
/// [`Marker::for_index`]) so that colour is never the only way to tell the series apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    /// A filled circle.
    Circle,
    /// A filled square.
    Square,
    /// A filled triangle, pointing up.
    Triangle,
    /// A filled diamond.
    Diamond,
}

impl Marker {
    /// Every shape, in the order [`Marker::for_index`] hands them out.
    pub const ALL: [Marker; 4] = [Marker::Circle, Marker::Square, Marker::Triangle, Marker::Diamond];

    /// A shape for the `index`th series of a chart (0-based). Shapes repeat after four series.
    pub fn for_index(index: usize) -> Marker {
        Self::ALL[index % Self::ALL.len()]
    }
}

/// One line of readings, such as "Systolic" or "Diastolic".
#[derive(Clone, Copy, Debug)]
pub struct Series<'a> {
    /// The name shown in the legend (which appears when a chart has more than one series).
    pub label: &'a str,
    /// The readings, in any order. Readings outside the chart's window, or with non-finite values, are left out.
    pub points: &'a [Point],
    /// The shape drawn at each reading.
    pub marker: Marker,
}

/// The agreed target range, drawn as a shaded band with solid edges. If `low > high` the two are swapped; a band
/// with a non-finite bound is not drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    /// The bottom of the range.
    pub low: f64,
    /// The top of the range.
    pub high: f64,
}

/// A horizontal reference line, such as an alert threshold. It is drawn dashed, with its label above it (or
/// below it, near the top of the chart).
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    /// Where the line is drawn, in the chart's unit. Non-finite values, and values outside a fixed scale, are
    /// not drawn.
    pub value: f64,
    /// The words drawn on the line, for example "Call your care team above 180".
    pub label: &'a str,
}

/// Everything needed to draw one chart. See [`render`].
pub struct Chart<'a> {
    /// Unique on the page. It is passed through [`sanitise_id`] and used to build the ids `{id}-title` and
    /// `{id}-desc`, which the `<svg>` names in `aria-labelledby`.
    pub id: &'a str,
    /// The chart's name, put in `<title>`.
    pub title: &'a str,
    /// The caller's plain-English summary of what the chart shows, put in `<desc>`.
    pub description: &'a str,
    /// The unit of the readings, shown above the y axis, e.g. "mmHg".
    pub unit: &'a str,
    /// The start of the time window, for example 30 days ago. If `from >= to` the chart shows the calendar day
    /// containing `from` (in `from`'s offset).
    pub from: OffsetDateTime,
    /// The end of the time window, for example now. Date ticks fall at midnight in `from`'s offset.
    pub to: OffsetDateTime,
    /// The lines of readings to draw, each in its own colour and marker shape.
    pub series: Vec<Series<'a>>,
    /// The target range, if there is one.
    pub band: Option<Band>,
    /// The legend entry for the target range, e.g. "Your target range". Empty means no legend entry.
    pub band_label: &'a str,
    /// Reference lines such as alert thresholds.
    pub lines: Vec<Line<'a>>,
    /// A fixed bottom for the y axis (e.g. 0 for PHQ-9). When `None`, a round number below the data, band and
    /// lines. Ignored when not finite, or when both bounds are given and `y_min >= y_max`.
    pub y_min: Option<f64>,
    /// A fixed top for the y axis (e.g. 27 for PHQ-9). When `None`, a round number above the data, band and lines.
    /// Readings beyond a fixed scale are drawn at its edge.
    pub y_max: Option<f64>,
    /// Decimal places in the y tick labels (capped at 6). Tick steps are chosen so the labels are exact.
    pub decimals: u8,
    /// Formats a date tick label in the reader's language, e.g. "3 Mar". Keep labels short: longer labels mean
    /// fewer ticks.
    pub x_label: &'a dyn Fn(Date) -> String,
}

/// Width of the viewBox. The height depends on how many rows the legend needs.
const WIDTH: f64 = 560.0;
/// Space above the plot area, for the unit label.
const TOP: f64 = 40.0;
/// Height of the plot area.
const PLOT_HEIGHT: f64 = 220.0;
/// Space right of the plot area.
const RIGHT_MARGIN: f64 = 16.0;
/// Space below the plot area for the date ticks and labels.
const X_AXIS_SPACE: f64 = 36.0;
/// Height of one row of the legend.
const LEGEND_ROW: f64 = 28.0;
/// Font size of tick labels, the unit and the legend.
const FONT: f64 = 18.0;
/// Font size of reference line labels.
const LINE_FONT: f64 = 16.0;
/// Estimated average glyph width as a fraction of the font size, used to keep labels apart.
const GLYPH_WIDTH: f64 = 0.55;
/// How far below a line a label's baseline goes so that the text looks centred on it.
const BASELINE_SHIFT: f64 = FONT * 0.35;
/// The least space between two neighbouring date labels.
const LABEL_GAP: f64 = 8.0;
/// The most y ticks; the scale aims for 4 to this many.
const MAX_Y_TICKS: f64 = 6.0;
/// The most date ticks considered before trying a coarser step.
const MAX_X_TICKS: usize = 16;
/// The most decimal places in y tick labels.
const MAX_DECIMALS: u8 = 6;

/// Text colour (NHS dark grey).
const TEXT: &str = "#212b32";
/// Horizontal grid lines (NHS grey 4): decorative, so lighter.
const GRID: &str = "#d8dde0";
/// Axis lines, tick marks and band edges (NHS grey 1, 6.2:1 on white).
const AXIS: &str = "#4c6272";
/// Target range fill (a light tint of NHS blue).
const BAND_FILL: &str = "#e8f1f8";
/// Reference lines (NHS red, 5.1:1 on white).
const THRESHOLD: &str = "#d5281b";
/// Series colours, all at least 4.5:1 on white and on the band: NHS blue, purple, dark pink, dark grey, green.
const PALETTE: [&str; 5] = ["#005eb8", "#330072", "#7c2855", "#212b32", "#007f3b"];

/// Renders `chart` as an inline `<svg>` element. The result is safe to embed with `|safe`: all caller text is
/// escaped. It never panics, whatever the input.
pub fn render(chart: &Chart) -> String {
    let id = sanitise_id(chart.id);
    let window = Window::new(chart.from, chart.to);
    let series: Vec<Vec<(OffsetDateTime, f64)>> = chart.series.iter().map(|s| window.visible(s.points)).collect();
    let lines: Vec<&Line> = chart.lines.iter().filter(|line| line.value.is_finite()).collect();
    let band = chart.band.and_then(normalise_band);
    let scale = YScale::new(chart, &series, band, &lines);
    let band = band.filter(|b| b.high >= scale.lo && b.low <= scale.hi);
    let tick_labels: Vec<String> = scale.ticks.iter().map(|&v| format_value(v, scale.decimals)).collect();
    let left = plot_left(&tick_labels);
    let legend = Legend::new(chart, band.is_some(), left);
    let frame = Frame::new(left, legend.rows);
    let x_ticks = x_ticks(&window, &frame, chart.x_label);

    let mut out = String::new();
    open_svg(&mut out, &id, chart, frame.height);
    out.push_str("<g aria-hidden=\"true\">\n");
    if let Some(band) = band {
        draw_band(&mut out, &frame, &scale, band);
    }
    draw_y_axis(&mut out, &frame, &scale, &tick_labels);
    draw_x_axis(&mut out, &frame, &x_ticks);
    let visible_lines: Vec<&Line> = lines.into_iter().filter(|l| scale.contains(l.value)).collect();
    draw_lines(&mut out, &frame, &scale, &visible_lines);
    for (index, (meta, points)) in chart.series.iter().zip(&series).enumerate() {
        draw_series(&mut out, &frame, &window, &scale, index, meta.marker, points);
    }
    draw_line_labels(&mut out, &frame, &scale, &visible_lines);
    let _ = writeln!(
        out,
        "<text x=\"4\" y=\"20\" fill=\"{TEXT}\" class=\"app-chart__unit\">{}</text>",
        escape(chart.unit)
    );
    legend.draw(&mut out);
    out.push_str("</g>\n</svg>");
    out
}

/// Turns `raw` into an id of lowercase ASCII letters, digits and single hyphens: anything else becomes a hyphen,
/// runs of hyphens become one, and hyphens at either end are dropped. An empty result becomes `chart`, and one
/// starting with a digit gets `chart-` in front. [`render`] uses `{sanitised}-title` and `{sanitised}-desc`.
pub fn sanitise_id(raw: &str) -> String {
    let mut id = String::with_capacity(raw.len());
    for c in raw.chars().map(|c| c.to_ascii_lowercase()) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            id.push(c);
        } else if !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    let id = id.trim_end_matches('-');
    match id.chars().next() {
        None => "chart".to_owned(),
        Some(c) if c.is_ascii_digit() => format!("chart-{id}"),
        Some(_) => id.to_owned(),
    }
}

/// Escapes text for SVG content or a quoted attribute value (`& < > " '`), dropping characters XML forbids
/// (most control characters).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'.. => out.push(c),
            _ => {}
        }
    }
    out
}

/// Writes a coordinate or length with at most one decimal place (and `0` for anything non-finite).
fn num(value: f64) -> String {
    if !value.is_finite() {
        return "0".to_owned();
    }
    let rounded = (value * 10.0).round() / 10.0;
    if rounded == 0.0 {
        "0".to_owned()
    } else if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

/// Formats a y tick value with `decimals` places, never as "-0".
fn format_value(value: f64, decimals: usize) -> String {
    let half_unit = 0.5 * 10f64.powi(-(decimals as i32));
    let value = if value.abs() < half_unit { 0.0 } else { value };
    format!("{value:.decimals$}")
}

/// The estimated width of `text` at `font_size`, in viewBox units.
fn text_width(text: &str, font_size: f64) -> f64 {
    text.chars().count() as f64 * font_size * GLYPH_WIDTH
}

/// Swaps an upside-down band, and drops one with a non-finite bound.
fn normalise_band(band: Band) -> Option<Band> {
    if !(band.low.is_finite() && band.high.is_finite()) {
        return None;
    }
    Some(Band {
        low: band.low.min(band.high),
        high: band.low.max(band.high),
    })
}

/// The time window along the x axis.
struct Window {
    from: OffsetDateTime,
    to: OffsetDateTime,
    /// Seconds from `from` to `to`, always positive.
    span: f64,
}

impl Window {
    /// The window from `from` to `to`; if that is empty or backwards, the calendar day containing `from`.
    fn new(from: OffsetDateTime, to: OffsetDateTime) -> Self {
        let (from, to) = if from < to { (from, to) } else { day_containing(from) };
        let span = (to - from).as_seconds_f64();
        Self {
            from,
            to,
            span: if span > 0.0 { span } else { 1.0 },
        }
    }

    /// Whether `at` falls inside the window (both ends included).
    fn contains(&self, at: OffsetDateTime) -> bool {
        self.from <= at && at <= self.to
    }

    /// How far through the window `at` is, from 0 to 1.
    fn fraction(&self, at: OffsetDateTime) -> f64 {
        (at - self.from).as_seconds_f64() / self.span
    }

    /// The points inside the window with finite values, in time order.
    fn visible(&self, points: &[Point]) -> Vec<(OffsetDateTime, f64)> {
        let mut visible: Vec<(OffsetDateTime, f64)> = points
            .iter()
            .filter(|p| p.value.is_finite() && self.contains(p.at))
            .map(|p| (p.at, p.value))
            .collect();
        visible.sort_by_key(|&(at, _)| at);
        visible
    }
}

/// Midnight to midnight around `at`, in `at`'s offset (or the day before, at the very end of time).
fn day_containing(at: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let start = at.date().midnight().assume_offset(at.offset());
    match start.checked_add(Duration::DAY) {
        Some(end) => (start, end),
        None => (start.checked_sub(Duration::DAY).unwrap_or(start), start),
    }
}

/// The y axis: its bounds and tick values.
struct YScale {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    decimals: usize,
}

impl YScale {
    /// A scale covering the fixed bounds if given, otherwise round numbers around the visible readings, the band
    /// and the reference lines.
    fn new(chart: &Chart, series: &[Vec<(OffsetDateTime, f64)>], band: Option<Band>, lines: &[&Line]) -> Self {
        let values = series
            .iter()
            .flatten()
            .map(|&(_, v)| v)
            .chain(band.into_iter().flat_map(|b| [b.low, b.high]))
            .chain(lines.iter().map(|line| line.value));
        let fixed = fixed_bounds(chart.y_min, chart.y_max);
        let (lo, hi) = initial_bounds(extent(values), fixed);
        let decimals = usize::from(chart.decimals.min(MAX_DECIMALS));
        let (lo, hi, ticks) = nice_ticks(lo, hi, fixed, decimals);
        Self {
            lo,
            hi,
            ticks,
            decimals,
        }
    }

    /// Whether `value` is within the scale.
    fn contains(&self, value: f64) -> bool {
        self.lo <= value && value <= self.hi
    }

    /// The y coordinate of `value`, held within the plot area.
    fn y(&self, frame: &Frame, value: f64) -> f64 {
        let fraction = (value - self.lo) / (self.hi - self.lo);
        let fraction = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        frame.bottom - fraction * PLOT_HEIGHT
    }
}

/// The smallest and largest of `values`, if there are any.
fn extent(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// The caller's fixed bounds, without non-finite ones, and without both if they are the wrong way round.
fn fixed_bounds(y_min: Option<f64>, y_max: Option<f64>) -> (Option<f64>, Option<f64>) {
    let lo = y_min.filter(|v| v.is_finite());
    let hi = y_max.filter(|v| v.is_finite());
    match (lo, hi) {
        (Some(l), Some(h)) if l >= h => (None, None),
        bounds => bounds,
    }
}

/// Bounds with `lo < hi` from the fixed bounds and the data's extent, before rounding.
fn initial_bounds(extent: Option<(f64, f64)>, fixed: (Option<f64>, Option<f64>)) -> (f64, f64) {
    /// The span used when there is nothing to go on.
    const DEFAULT_SPAN: f64 = 10.0;
    match fixed {
        (Some(lo), Some(hi)) => (lo, hi),
        (Some(lo), None) => (lo, extent.map(|e| e.1).filter(|&h| h > lo).unwrap_or(lo + DEFAULT_SPAN)),
        (None, Some(hi)) => (extent.map(|e| e.0).filter(|&l| l < hi).unwrap_or(hi - DEFAULT_SPAN), hi),
        (None, None) => match extent {
            None => (0.0, DEFAULT_SPAN),
            Some((lo, hi)) if hi > lo => (lo, hi),
            Some((v, _)) => {
                let pad = if v == 0.0 { 1.0 } else { v.abs() * 0.1 };
                (v - pad, v + pad)
            }
        },
    }
}

/// Picks a tick step of 1, 2, 2.5 or 5 × 10ⁿ (one the labels can show exactly with `decimals` places) giving
/// 4–6 ticks if possible, and widens the non-fixed bounds out to whole steps. Returns the final bounds and ticks.
fn nice_ticks(lo: f64, hi: f64, fixed: (Option<f64>, Option<f64>), decimals: usize) -> (f64, f64, Vec<f64>) {
    /// Slack for floating-point error when dividing by the step.
    const EPS: f64 = 1e-6;
    let range = hi - lo;
    if !(range.is_finite() && range > 0.0) {
        return (lo, hi, Vec::new());
    }
    let mut fallback = None;
    for step in candidate_steps(range, decimals) {
        let nlo = if fixed.0.is_some() {
            lo
        } else {
            (lo / step + EPS).floor() * step
        };
        let nhi = if fixed.1.is_some() {
            hi
        } else {
            (hi / step - EPS).ceil() * step
        };
        let first = (nlo / step - EPS).ceil();
        let count = (nhi / step + EPS).floor() - first + 1.0;
        if !(1.0..=MAX_Y_TICKS).contains(&count) {
            continue;
        }
        let ticks: Vec<f64> = (0..count as usize).map(|i| (first + i as f64) * step).collect();
        if count >= 4.0 {
            return (nlo, nhi, ticks);
        }
        if fallback.is_none() {
            fallback = Some((nlo, nhi, ticks));
        }
    }
    fallback.unwrap_or((lo, hi, Vec::new()))
}

/// Nice steps from well below to just above `range`, smallest first, keeping those that are whole multiples of
/// 10^-`decimals`.
fn candidate_steps(range: f64, decimals: usize) -> Vec<f64> {
    let magnitude = range.log10().floor() as i32;
    let top = (magnitude + 1).max(-(decimals as i32));
    let scale = 10f64.powi(decimals as i32);
    let mut steps = Vec::new();
    for exponent in (magnitude - 2)..=top {
        for mantissa in [1.0, 2.0, 2.5, 5.0] {
            let step = mantissa * 10f64.powi(exponent);
            let scaled = step * scale;
            if scaled.round() >= 1.0 && (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0) {
                steps.push(step);
            }
        }
    }
    steps
}

/// The left edge of the plot area: room for the widest y tick label.
fn plot_left(tick_labels: &[String]) -> f64 {
    let widest = tick_labels
        .iter()
        .map(|label| text_width(label, FONT))
        .fold(0.0, f64::max);
    (widest + 14.0).clamp(40.0, WIDTH / 3.0)
}

/// Where the plot area sits in the viewBox, and the viewBox's height.
struct Frame {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    height: f64,
}

impl Frame {
    /// A frame with the plot starting at `left` and room for `legend_rows` rows of legend below the dates.
    fn new(left: f64, legend_rows: usize) -> Self {
        let bottom = TOP + PLOT_HEIGHT;
        let legend = if legend_rows == 0 {
            0.0
        } else {
            legend_rows as f64 * LEGEND_ROW + 4.0
        };
        Self {
            left,
            right: WIDTH - RIGHT_MARGIN,
            top: TOP,
            bottom,
            height: bottom + X_AXIS_SPACE + legend,
        }
    }

    /// The x coordinate a `fraction` (0–1) of the way across the plot.
    fn x(&self, fraction: f64) -> f64 {
        self.left + fraction * (self.right - self.left)
    }
}

/// A date tick: where it is and its label (not yet escaped).
struct XTick {
    x: f64,
    label: String,
}

/// How often date ticks fall. Coarser steps are tried until the labels fit.
#[derive(Clone, Copy)]
enum Every {
    /// Days whose Julian day number is a multiple of the count (so ticks do not jump about as the window moves).
    Days(i32),
    /// Mondays.
    Week,
    /// The first of every month whose number (January = 0) is a multiple of the count.
    Months(u8),
    /// The first of January of years that are a multiple of the count.
    Years(i32),
}

/// The tick steps, finest first.
const SCHEMES: [Every; 14] = [
    Every::Days(1),
    Every::Days(2),
    Every::Week,
    Every::Months(1),
    Every::Months(2),
    Every::Months(3),
    Every::Months(6),
    Every::Years(1),
    Every::Years(2),
    Every::Years(5),
    Every::Years(10),
    Every::Years(20),
    Every::Years(50),
    Every::Years(100),
];

impl Every {
    /// The first candidate date on or after `date` (or shortly before, for months and years).
    fn start(self, date: Date) -> Option<Date> {
        match self {
            Every::Days(_) => Some(date),
            Every::Week => {
                let to_monday = (7 - i64::from(date.weekday().number_days_from_monday())) % 7;
                date.checked_add(Duration::days(to_monday))
            }
            Every::Months(_) => Date::from_calendar_date(date.year(), date.month(), 1).ok(),
            Every::Years(n) => Date::from_calendar_date(round_up(date.year(), n), Month::January, 1).ok(),
        }
    }

    /// The candidate date after `date`.
    fn advance(self, date: Date) -> Option<Date> {
        match self {
            Every::Days(_) => date.next_day(),
            Every::Week => date.checked_add(Duration::weeks(1)),
            Every::Months(_) => {
                let year = if date.month() == Month::December {
                    date.year().checked_add(1)?
                } else {
                    date.year()
                };
                Date::from_calendar_date(year, date.month().next(), 1).ok()
            }
            Every::Years(n) => Date::from_calendar_date(date.year().checked_add(n)?, Month::January, 1).ok(),
        }
    }

    /// Whether a candidate date gets a tick.
    fn includes(self, date: Date) -> bool {
        match self {
            Every::Days(n) => date.to_julian_day().rem_euclid(n) == 0,
            Every::Months(n) => (u8::from(date.month()) - 1) % n == 0,
            Every::Week | Every::Years(_) => true,
        }
    }
}

/// `year` rounded up to a multiple of `n`.
fn round_up(year: i32, n: i32) -> i32 {
    let rem = year.rem_euclid(n);
    if rem == 0 { year } else { year.saturating_add(n - rem) }
}

/// The dates with ticks inside `window` for `every`, stopping once there are more than [`MAX_X_TICKS`].
fn tick_dates(every: Every, window: &Window) -> Vec<Date> {
    let offset = window.from.offset();
    let mut dates = Vec::new();
    let mut next = every.start(window.from.date());
    while let Some(date) = next {
        let at = date.midnight().assume_offset(offset);
        if at > window.to || dates.len() > MAX_X_TICKS {
            break;
        }
        if at >= window.from && every.includes(date) {
            dates.push(date);
        }
        next = every.advance(date);
    }
    dates
}

/// The finest date ticks whose labels do not overlap; if none fit, the window's first (and last) date.
fn x_ticks(window: &Window, frame: &Frame, x_label: &dyn Fn(Date) -> String) -> Vec<XTick> {
    let offset = window.from.offset();
    for every in SCHEMES {
        let dates = tick_dates(every, window);
        if dates.is_empty() || dates.len() > MAX_X_TICKS {
            continue;
        }
        let ticks: Vec<XTick> = dates
            .into_iter()
            .map(|date| {
                let at = date.midnight().assume_offset(offset);
                XTick {
                    x: frame.x(window.fraction(at)),
                    label: x_label(date),
                }
            })
            .collect();
        if labels_fit(&ticks) {
            return ticks;
        }
    }
    let mut ticks = vec![XTick {
        x: frame.left,
        label: x_label(window.from.date()),
    }];
    let last_date = window.to.date();
    if last_date != window.from.date() {
        ticks.push(XTick {
            x: frame.right,
            label: x_label(last_date),
        });
        if !labels_fit(&ticks) {
            ticks.truncate(1);
        }
    }
    ticks
}

/// Whether neighbouring tick labels, centred on their ticks, leave at least [`LABEL_GAP`] between them.
fn labels_fit(ticks: &[XTick]) -> bool {
    ticks.windows(2).all(|pair| match pair {
        [a, b] => {
            let needed = (text_width(&a.label, FONT) + text_width(&b.label, FONT)) / 2.0 + LABEL_GAP;
            b.x - a.x >= needed
        }
        _ => true,
    })
}

/// Writes the `<svg>` start tag, `<title>` and `<desc>`.
fn open_svg(out: &mut String, id: &str, chart: &Chart, height: f64) {
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" width=\"100%\" \
         preserveAspectRatio=\"xMidYMid meet\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" \
         class=\"app-chart\" font-size=\"{}\">",
        num(WIDTH),
        num(height),
        num(FONT),
    );
    let _ = writeln!(out, "<title id=\"{id}-title\">{}</title>", escape(chart.title));
    let _ = writeln!(out, "<desc id=\"{id}-desc\">{}</desc>", escape(chart.description));
}

/// Writes a horizontal `<line>` from `x1` to `x2` at `y`, with extra attributes.
fn hline(out: &mut String, x1: f64, x2: f64, y: f64, attrs: &str) {
    let (x1, x2, y) = (num(x1), num(x2), num(y));
    let _ = writeln!(out, "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" {attrs}/>");
}

/// Writes the target range: a light fill with solid edges.
fn draw_band(out: &mut String, frame: &Frame, scale: &YScale, band: Band) {
    let (top, bottom) = (scale.y(frame, band.high), scale.y(frame, band.low));
    out.push_str("<g class=\"app-chart__band\">\n");
    let _ = writeln!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{BAND_FILL}\"/>",
        num(frame.left),
        num(top),
        num(frame.right - frame.left),
        num(bottom - top),
    );
    let edge = format!("stroke=\"{AXIS}\" stroke-width=\"1\"");
    hline(out, frame.left, frame.right, top, &edge);
    hline(out, frame.left, frame.right, bottom, &edge);
    out.push_str("</g>\n");
}

/// Writes the y axis: a grid line and label for each tick, and the axis line.
fn draw_y_axis(out: &mut String, frame: &Frame, scale: &YScale, labels: &[String]) {
    out.push_str("<g class=\"app-chart__y-axis\">\n");
    for (&value, label) in scale.ticks.iter().zip(labels) {
        let y = scale.y(frame, value);
        hline(
            out,
            frame.left,
            frame.right,
            y,
            &format!("stroke=\"{GRID}\" stroke-width=\"1\""),
        );
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"{TEXT}\">{}</text>",
            num(frame.left - 8.0),
            num(y + BASELINE_SHIFT),
            escape(label),
        );
    }
    let (x, top, bottom) = (num(frame.left), num(frame.top), num(frame.bottom));
    let _ = writeln!(
        out,
        "<line x1=\"{x}\" y1=\"{top}\" x2=\"{x}\" y2=\"{bottom}\" stroke=\"{AXIS}\" stroke-width=\"1\"/>"
    );
    out.push_str("</g>\n");
}

/// Writes the x axis: the axis line, and a tick mark and date label for each tick.
fn draw_x_axis(out: &mut String, frame: &Frame, ticks: &[XTick]) {
    out.push_str("<g class=\"app-chart__x-axis\">\n");
    hline(
        out,
        frame.left,
        frame.right,
        frame.bottom,
        &format!("stroke=\"{AXIS}\" stroke-width=\"1.5\""),
    );
    for tick in ticks {
        let (x, y1, y2) = (num(tick.x), num(frame.bottom), num(frame.bottom + 6.0));
        let _ = writeln!(
            out,
            "<line x1=\"{x}\" y1=\"{y1}\" x2=\"{x}\" y2=\"{y2}\" stroke=\"{AXIS}\" stroke-width=\"1\"/>"
        );
        let half = text_width(&tick.label, FONT) / 2.0;
        let centre = tick.x.min(WIDTH - half - 2.0).max(half + 2.0);
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{TEXT}\">{}</text>",
            num(centre),
            num(frame.bottom + 24.0),
            escape(&tick.label),
        );
    }
    out.push_str("</g>\n");
}

/// Writes the dashed reference lines (their labels come later, on top of the series).
fn draw_lines(out: &mut String, frame: &Frame, scale: &YScale, lines: &[&Line]) {
    if lines.is_empty() {
        return;
    }
    out.push_str("<g class=\"app-chart__threshold\">\n");
    let attrs = format!("stroke=\"{THRESHOLD}\" stroke-width=\"2\" stroke-dasharray=\"8 5\"");
    for line in lines {
        hline(out, frame.left, frame.right, scale.y(frame, line.value), &attrs);
    }
    out.push_str("</g>\n");
}

/// Writes the labels of the reference lines at the right-hand end, above each line (below it near the top),
/// nudged apart if two would overlap, with a white halo so they stay legible over the series.
fn draw_line_labels(out: &mut String, frame: &Frame, scale: &YScale, lines: &[&Line]) {
    if lines.is_empty() {
        return;
    }
    let mut placed: Vec<(f64, &str)> = lines
        .iter()
        .map(|line| {
            let y = scale.y(frame, line.value);
            let above = y - 6.0;
            (
                if above - LINE_FONT < frame.top {
                    y + LINE_FONT + 4.0
                } else {
                    above
                },
                line.label,
            )
        })
        .collect();
    placed.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut previous: Option<f64> = None;
    out.push_str("<g class=\"app-chart__threshold-labels\">\n");
    for (y, label) in placed {
        let y = previous.map_or(y, |p| y.max(p + LINE_FONT + 2.0));
        previous = Some(y);
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"{}\" fill=\"{TEXT}\" stroke=\"#ffffff\" \
             stroke-width=\"4\" stroke-linejoin=\"round\" paint-order=\"stroke\">{}</text>",
            num(frame.right - 4.0),
            num(y),
            num(LINE_FONT),
            escape(label),
        );
    }
    out.push_str("</g>\n");
}

/// The colour of the `index`th series.
fn colour(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

/// Writes one series: a line joining its readings in time order, and a marker at each reading.
fn draw_series(
    out: &mut String,
    frame: &Frame,
    window: &Window,
    scale: &YScale,
    index: usize,
    marker: Marker,
    points: &[(OffsetDateTime, f64)],
) {
    let colour = colour(index);
    let _ = writeln!(out, "<g class=\"app-chart__series app-chart__series--{}\">", index + 1);
    let coords: Vec<(f64, f64)> = points
        .iter()
        .map(|&(at, v)| (frame.x(window.fraction(at)), scale.y(frame, v)))
        .collect();
    if coords.len() > 1 {
        let joined: Vec<String> = coords.iter().map(|&(x, y)| format!("{},{}", num(x), num(y))).collect();
        let _ = writeln!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.5\" \
             stroke-linejoin=\"round\" stroke-linecap=\"round\"/>",
            joined.join(" "),
        );
    }
    let size = if coords.len() > 60 { 3.5 } else { 4.5 };
    let _ = writeln!(out, "<g fill=\"{colour}\" stroke=\"#ffffff\" stroke-width=\"1\">");
    for (x, y) in coords {
        draw_marker(out, marker, x, y, size);
    }
    out.push_str("</g>\n</g>\n");
}

/// Writes one marker shape centred on (`x`, `y`); `size` is roughly its radius. Fill and stroke come from the
/// enclosing group.
fn draw_marker(out: &mut String, marker: Marker, x: f64, y: f64, size: f64) {
    let polygon = |out: &mut String, corners: &[(f64, f64)]| {
        let joined: Vec<String> = corners
            .iter()
            .map(|&(dx, dy)| format!("{},{}", num(x + dx), num(y + dy)))
            .collect();
        let _ = writeln!(out, "<polygon points=\"{}\"/>", joined.join(" "));
    };
    match marker {
        Marker::Circle => {
            let _ = writeln!(out, "<circle cx=\"{}\" cy=\"{}\" r=\"{}\"/>", num(x), num(y), num(size));
        }
        Marker::Square => {
            let half = size * 0.9;
            let side = num(half * 2.0);
            let _ = writeln!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{side}\" height=\"{side}\"/>",
                num(x - half),
                num(y - half),
            );
        }
        Marker::Triangle => {
            polygon(
                out,
                &[
                    (0.0, -1.25 * size),
                    (1.15 * size, 0.8 * size),
                    (-1.15 * size, 0.8 * size),
                ],
            );
        }
        Marker::Diamond => {
            let d = 1.3 * size;
            polygon(out, &[(0.0, -d), (d, 0.0), (0.0, d), (-d, 0.0)]);
        }
    }
}

/// What a legend entry shows.
#[derive(Clone, Copy)]
enum Key {
    /// The `index`th series: a short line in its colour with its marker.
    Series(usize, Marker),
    /// The target range: a swatch of the band.
    Band,
}

/// One legend entry, placed.
struct Entry<'a> {
    key: Key,
    label: &'a str,
    x: f64,
    y: f64,
}

/// The legend below the dates, wrapped into rows.
struct Legend<'a> {
    entries: Vec<Entry<'a>>,
    rows: usize,
}

impl<'a> Legend<'a> {
    /// Width of an entry's key (the line-and-marker or swatch) and the space after it.
    const KEY_WIDTH: f64 = 36.0;
    /// Space between entries on a row.
    const ENTRY_GAP: f64 = 20.0;

    /// A legend of every series (plus the band, if shown and labelled), when there is more than one series or a
    /// labelled band; otherwise an empty one. Rows start at `left`.
    fn new(chart: &Chart<'a>, band_shown: bool, left: f64) -> Self {
        let band = band_shown && !chart.band_label.trim().is_empty();
        if chart.series.len() < 2 && !band {
            return Self {
                entries: Vec::new(),
                rows: 0,
            };
        }
        let keys = chart
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| (Key::Series(i, s.marker), s.label));
        let keys: Vec<(Key, &'a str)> = keys.chain(band.then_some((Key::Band, chart.band_label))).collect();
        let first_row = TOP + PLOT_HEIGHT + X_AXIS_SPACE + LEGEND_ROW / 2.0;
        let (mut x, mut row) = (left, 0);
        let mut entries = Vec::with_capacity(keys.len());
        for (key, label) in keys {
            let width = Self::KEY_WIDTH + text_width(label, FONT);
            if x > left && x + width > WIDTH - RIGHT_MARGIN {
                x = left;
                row += 1;
            }
            entries.push(Entry {
                key,
                label,
                x,
                y: first_row + row as f64 * LEGEND_ROW,
            });
            x += width + Self::ENTRY_GAP;
        }
        Self { entries, rows: row + 1 }
    }

    /// Writes the legend, if there is one.
    fn draw(&self, out: &mut String) {
        if self.entries.is_empty() {
            return;
        }
        out.push_str("<g class=\"app-chart__legend\">\n");
        for entry in &self.entries {
            Self::draw_key(out, entry);
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" fill=\"{TEXT}\">{}</text>",
                num(entry.x + Self::KEY_WIDTH),
                num(entry.y + BASELINE_SHIFT),
                escape(entry.label),
            );
        }
        out.push_str("</g>\n");
    }

    /// Writes an entry's key: a line with the series' marker, or a swatch of the band.
    fn draw_key(out: &mut String, entry: &Entry) {
        match entry.key {
            Key::Series(index, marker) => {
                let colour = colour(index);
                let attrs = format!("stroke=\"{colour}\" stroke-width=\"2.5\"");
                hline(out, entry.x, entry.x + 28.0, entry.y, &attrs);
                let _ = writeln!(out, "<g fill=\"{colour}\" stroke=\"#ffffff\" stroke-width=\"1\">");
                draw_marker(out, marker, entry.x + 14.0, entry.y, 4.5);
                out.push_str("</g>\n");
            }
            Key::Band => {
                let _ = writeln!(
                    out,
                    "<rect x=\"{}\" y=\"{}\" width=\"28\" height=\"16\" fill=\"{BAND_FILL}\" stroke=\"{AXIS}\" \
                     stroke-width=\"1\"/>",
                    num(entry.x),
                    num(entry.y - 8.0),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn label(date: Date) -> String {
        format!("{} {}", date.day(), &date.month().to_string()[..3])
    }

    fn chart<'a>(series: Vec<Series<'a>>) -> Chart<'a> {
        Chart {
            id: "bp",
            title: "Blood pressure",
            description: "Your readings over the last 30 days.",
            unit: "mmHg",
            from: datetime!(2025-03-01 00:00 UTC),
            to: datetime!(2025-03-31 00:00 UTC),
            series,
            band: None,
            band_label: "",
            lines: Vec::new(),
            y_min: None,
            y_max: None,
            decimals: 0,
            x_label: &label,
        }
    }

    fn points(values: &[(u8, f64)]) -> Vec<Point> {
        values
            .iter()
            .map(|&(day, value)| Point {
                at: Date::from_calendar_date(2025, Month::March, day)
                    .expect("day")
                    .midnight()
                    .assume_utc()
                    + Duration::hours(9),
                value,
            })
            .collect()
    }

    /// A tiny XML well-formedness check: one root `<svg>`, balanced tags, quoted and unique attributes, and no
    /// bare `<` or `&` in text or attribute values. Also checks the CSP rules: no `style` and no `script`.
    fn assert_well_formed(svg: &str) {
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = svg;
        let mut roots = 0;
        while let Some(start) = rest.find('<') {
            assert_text(&rest[..start]);
            let end = start + rest[start..].find('>').expect("unterminated tag");
            let tag = &rest[start + 1..end];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name), "mismatched close tag in {svg}");
            } else {
                let self_closing = tag.ends_with('/');
                let body = tag.trim_end_matches('/');
                let name = body.split_whitespace().next().expect("tag name");
                assert!(name.chars().all(|c| c.is_ascii_alphanumeric()), "odd tag name {name}");
                assert_ne!(name, "script");
                assert_ne!(name, "style");
                assert_attributes(&body[name.len()..]);
                if stack.is_empty() {
                    roots += 1;
                    assert_eq!(name, "svg");
                }
                if !self_closing {
                    stack.push(name);
                }
            }
            rest = &rest[end + 1..];
        }
        assert_text(rest);
        assert!(stack.is_empty(), "unclosed {stack:?}");
        assert_eq!(roots, 1);
    }

    fn assert_text(text: &str) {
        assert!(!text.contains('>'), "bare > in {text:?}");
        let mut parts = text.split('&');
        parts.next();
        for part in parts {
            assert!(
                ["amp;", "lt;", "gt;", "quot;", "#39;"]
                    .iter()
                    .any(|e| part.starts_with(e)),
                "bare & in {text:?}"
            );
        }
    }

    fn assert_attributes(mut attrs: &str) {
        let mut seen = Vec::new();
        loop {
            attrs = attrs.trim_start();
            if attrs.is_empty() {
                break;
            }
            let eq = attrs.find('=').expect("attribute without value");
            let name = &attrs[..eq];
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':'),
                "odd attribute {name}"
            );
            assert_ne!(name, "style");
            assert!(!name.starts_with("on"), "event handler {name}");
            assert!(!seen.contains(&name), "duplicate attribute {name}");
            seen.push(name);
            let value = attrs[eq + 1..].strip_prefix('"').expect("unquoted attribute");
            let close = value.find('"').expect("unterminated attribute");
            assert_text(&value[..close]);
            attrs = &value[close + 1..];
        }
    }

    /// The `<text>` contents in the output.
    fn texts(svg: &str) -> Vec<&str> {
        svg.split("<text ")
            .skip(1)
            .filter_map(|t| t.split_once('>').and_then(|(_, r)| r.split_once("</text>")))
            .map(|(t, _)| t)
            .collect()
    }

    #[test]
    fn root_element_has_the_accessible_name_and_description() {
        let svg = render(&chart(Vec::new()));
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 560 296\""));
        assert!(svg.contains("role=\"img\" aria-labelledby=\"bp-title bp-desc\" class=\"app-chart\""));
        assert!(svg.contains("preserveAspectRatio=\"xMidYMid meet\""));
        assert!(svg.contains("width=\"100%\""));
        assert!(svg.contains("<title id=\"bp-title\">Blood pressure</title>"));
        assert!(svg.contains("<desc id=\"bp-desc\">Your readings over the last 30 days.</desc>"));
        assert!(svg.contains("<g aria-hidden=\"true\">"));
        assert!(svg.ends_with("</svg>"));
        assert_well_formed(&svg);
    }

    #[test]
    fn every_caller_text_is_escaped() {
        let evil = "<script>alert('x & \"y\"')</script>";
        let pts = points(&[(2, 120.0), (3, 130.0)]);
        let line_label = "limit <b>";
        let mut c = chart(vec![
            Series {
                label: evil,
                points: &pts,
                marker: Marker::Circle,
            },
            Series {
                label: "b",
                points: &pts,
                marker: Marker::Square,
            },
        ]);
        c.title = evil;
        c.description = evil;
        c.unit = evil;
        c.band = Some(Band {
            low: 110.0,
            high: 125.0,
        });
        c.band_label = evil;
        c.lines = vec![Line {
            value: 140.0,
            label: line_label,
        }];
        let x_label = |_: Date| "<i>".to_owned();
        c.x_label = &x_label;
        let svg = render(&c);
        assert!(!svg.contains("<script"));
        assert!(!svg.contains("<b>"));
        assert!(!svg.contains("<i>"));
        let escaped = "&lt;script&gt;alert(&#39;x &amp; &quot;y&quot;&#39;)&lt;/script&gt;";
        assert!(svg.contains(&format!("<title id=\"bp-title\">{escaped}</title>")));
        assert!(svg.contains(&format!("<desc id=\"bp-desc\">{escaped}</desc>")));
        // Unit, series label and band label.
        assert_eq!(texts(&svg).iter().filter(|t| **t == escaped).count(), 3);
        assert!(texts(&svg).contains(&"limit &lt;b&gt;"));
        assert!(texts(&svg).contains(&"&lt;i&gt;"));
        assert_well_formed(&svg);
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(escape("a\u{0}b\u{1b}c\td"), "abc\td");
    }

    #[test]
    fn ids_are_sanitised() {
        assert_eq!(sanitise_id("Blood Pressure (mmHg)"), "blood-pressure-mmhg");
        assert_eq!(sanitise_id("a\"><script>"), "a-script");
        assert_eq!(sanitise_id("--x--y--"), "x-y");
        assert_eq!(sanitise_id("9-day"), "chart-9-day");
        assert_eq!(sanitise_id("ünï"), "n");
        assert_eq!(sanitise_id("<>"), "chart");
        let mut c = chart(Vec::new());
        c.id = "Weight \"chart\"";
        let svg = render(&c);
        assert!(svg.contains("aria-labelledby=\"weight-chart-title weight-chart-desc\""));
        assert!(svg.contains("<title id=\"weight-chart-title\">"));
    }

    #[test]
    fn points_outside_the_window_are_dropped() {
        let mut pts = points(&[(5, 120.0), (10, 130.0)]);
        pts.push(Point {
            at: datetime!(2025-02-27 09:00 UTC),
            value: 999.0,
        });
        pts.push(Point {
            at: datetime!(2025-04-02 09:00 UTC),
            value: -50.0,
        });
        let series = [Series {
            label: "Systolic",
            points: &pts,
            marker: Marker::Circle,
        }];
        let svg = render(&chart(series.to_vec()));
        assert_eq!(svg.matches("<circle ").count(), 2);
        // The scale follows the visible readings only.
        assert!(texts(&svg).contains(&"130"));
        assert!(
            !texts(&svg)
                .iter()
                .any(|t| t.starts_with('-') || *t == "0" || *t == "1000")
        );
        assert_well_formed(&svg);
    }

    #[test]
    fn series_lines_join_points_in_time_order() {
        let pts = points(&[(20, 140.0), (2, 120.0), (11, 130.0)]);
        let series = [Series {
            label: "Systolic",
            points: &pts,
            marker: Marker::Circle,
        }];
        let svg = render(&chart(series.to_vec()));
        let polyline = svg
            .split("<polyline points=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("polyline");
        let xs: Vec<f64> = polyline
            .split(' ')
            .map(|p| p.split(',').next().and_then(|x| x.parse().ok()).expect("x"))
            .collect();
        assert_eq!(xs.len(), 3);
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "{xs:?}");
    }

    #[test]
    fn nice_ticks_round_out_the_data() {
        assert_eq!(
            nice_ticks(118.0, 162.0, (None, None), 0),
            (100.0, 180.0, vec![100.0, 120.0, 140.0, 160.0, 180.0])
        );
        let (lo, hi, ticks) = nice_ticks(80.2, 84.7, (None, None), 1);
        assert_eq!((lo, hi), (80.0, 85.0));
        assert_eq!(ticks.len(), 6);
        // Steps of 2.5 need a decimal place.
        let (_, _, ticks) = nice_ticks(0.0, 10.0, (None, None), 0);
        assert_eq!(ticks, vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let (_, _, ticks) = nice_ticks(3.9, 11.8, (None, None), 1);
        assert_eq!(ticks, vec![2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
        // A fixed PHQ-9 scale keeps its bounds.
        let (lo, hi, ticks) = nice_ticks(0.0, 27.0, (Some(0.0), Some(27.0)), 0);
        assert_eq!((lo, hi), (0.0, 27.0));
        assert_eq!(ticks, vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0]);
    }

    #[test]
    fn y_labels_come_from_the_data_range() {
        let pts = points(&[(2, 118.0), (9, 162.0), (16, 140.0)]);
        let series = [Series {
            label: "Systolic",
            points: &pts,
            marker: Marker::Circle,
        }];
        let svg = render(&chart(series.to_vec()));
        for tick in ["100", "120", "140", "160", "180"] {
            assert!(texts(&svg).contains(&tick), "{tick} missing");
        }
    }

    #[test]
    fn decimals_format_tick_labels() {
        let pts = points(&[(2, 4.2), (3, 6.3)]);
        let series = [Series {
            label: "Glucose",
            points: &pts,
            marker: Marker::Circle,
        }];
        let mut c = chart(series.to_vec());
        c.decimals = 1;
        let svg = render(&c);
        assert!(texts(&svg).contains(&"4.5"), "{:?}", texts(&svg));
        assert!(!texts(&svg).contains(&"-0.0"));
    }

    #[test]
    fn each_series_gets_its_own_marker_colour_and_a_legend() {
        let a = points(&[(2, 120.0), (3, 125.0)]);
        let b = points(&[(2, 80.0), (3, 82.0)]);
        let c = points(&[(4, 90.0)]);
        let d = points(&[(5, 100.0)]);
        let svg = render(&chart(vec![
            Series {
                label: "Systolic",
                points: &a,
                marker: Marker::Circle,
            },
            Series {
                label: "Diastolic",
                points: &b,
                marker: Marker::Square,
            },
            Series {
                label: "Pulse",
                points: &c,
                marker: Marker::Triangle,
            },
            Series {
                label: "Other",
                points: &d,
                marker: Marker::Diamond,
            },
        ]));
        // Two readings plus one legend key each.
        assert_eq!(svg.matches("<circle ").count(), 3);
        assert_eq!(svg.matches("<rect x").count(), 3);
        assert_eq!(svg.matches("<polygon ").count(), 4);
        for colour in &PALETTE[..4] {
            assert!(svg.contains(&format!("stroke=\"{colour}\"")), "{colour}");
        }
        assert!(svg.contains("<g class=\"app-chart__legend\">"));
        for label in ["Systolic", "Diastolic", "Pulse", "Other"] {
            assert!(texts(&svg).contains(&label));
        }
        assert!(svg.contains("app-chart__series--4"));
        assert_well_formed(&svg);
    }

    #[test]
    fn one_series_has_no_legend() {
        let pts = points(&[(2, 70.0), (9, 71.0)]);
        let svg = render(&chart(vec![Series {
            label: "Weight",
            points: &pts,
            marker: Marker::Circle,
        }]));
        assert!(!svg.contains("app-chart__legend"));
        assert!(!texts(&svg).contains(&"Weight"));
        assert!(svg.contains("viewBox=\"0 0 560 296\""));
    }

    #[test]
    fn markers_for_index_differ() {
        assert_eq!(Marker::for_index(0), Marker::Circle);
        assert_eq!(Marker::for_index(3), Marker::Diamond);
        assert_eq!(Marker::for_index(4), Marker::Circle);
    }

    #[test]
    fn band_and_lines_are_drawn() {
        let pts = points(&[(2, 120.0), (9, 150.0)]);
        let mut c = chart(vec![Series {
            label: "Systolic",
            points: &pts,
            marker: Marker::Circle,
        }]);
        c.band = Some(Band { low: 130.0, high: 90.0 });
        c.band_label = "Your target range";
        c.lines = vec![
            Line {
                value: 180.0,
                label: "Call us above 180",
            },
            Line {
                value: f64::NAN,
                label: "nan",
            },
        ];
        let svg = render(&c);
        assert!(svg.contains("<g class=\"app-chart__band\">"));
        assert!(svg.contains(&format!("fill=\"{BAND_FILL}\"")));
        assert!(svg.contains("stroke-dasharray=\"8 5\""));
        assert_eq!(svg.matches("stroke-dasharray").count(), 1);
        assert!(texts(&svg).contains(&"Call us above 180"));
        assert!(!texts(&svg).contains(&"nan"));
        // The band gets a legend entry, so the series does too; both bounds and the line are on the scale.
        assert!(texts(&svg).contains(&"Your target range"));
        assert!(texts(&svg).contains(&"Systolic"));
        assert!(texts(&svg).contains(&"80"));
        assert!(texts(&svg).contains(&"180"));
        assert_well_formed(&svg);
    }

    #[test]
    fn lines_outside_a_fixed_scale_are_skipped() {
        let mut c = chart(Vec::new());
        c.y_min = Some(0.0);
        c.y_max = Some(27.0);
        c.lines = vec![
            Line {
                value: 30.0,
                label: "too high",
            },
            Line {
                value: 20.0,
                label: "Severe",
            },
        ];
        let svg = render(&c);
        assert!(!texts(&svg).contains(&"too high"));
        assert!(texts(&svg).contains(&"Severe"));
        assert!(texts(&svg).contains(&"25"));
        assert!(!texts(&svg).contains(&"30"));
    }

    #[test]
    fn non_finite_values_are_ignored() {
        let mut pts = points(&[(2, 120.0), (3, 130.0)]);
        pts.push(Point {
            at: datetime!(2025-03-04 09:00 UTC),
            value: f64::NAN,
        });
        pts.push(Point {
            at: datetime!(2025-03-05 09:00 UTC),
            value: f64::INFINITY,
        });
        pts.push(Point {
            at: datetime!(2025-03-06 09:00 UTC),
            value: f64::NEG_INFINITY,
        });
        let mut c = chart(vec![Series {
            label: "Systolic",
            points: &pts,
            marker: Marker::Circle,
        }]);
        c.band = Some(Band {
            low: f64::NAN,
            high: 100.0,
        });
        c.y_min = Some(f64::NAN);
        c.y_max = Some(f64::INFINITY);
        let svg = render(&c);
        assert_eq!(svg.matches("<circle ").count(), 2);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert!(!svg.contains("app-chart__band"));
        assert_well_formed(&svg);
    }

    #[test]
    fn empty_chart_still_has_axes_band_and_lines() {
        let mut c = chart(Vec::new());
        c.band = Some(Band { low: 4.0, high: 7.0 });
        c.lines = vec![Line {
            value: 3.0,
            label: "Hypo",
        }];
        c.decimals = 1;
        let svg = render(&c);
        assert!(svg.contains("app-chart__y-axis"));
        assert!(svg.contains("app-chart__x-axis"));
        assert!(svg.contains("app-chart__band"));
        assert!(texts(&svg).contains(&"Hypo"));
        assert!(!svg.contains("<polyline"));
        assert_well_formed(&svg);
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let pts = [
            Point {
                at: OffsetDateTime::UNIX_EPOCH,
                value: 5.0,
            },
            Point {
                at: OffsetDateTime::UNIX_EPOCH,
                value: 5.0,
            },
        ];
        let extremes = [
            Point {
                at: datetime!(2025-03-02 0:00 UTC),
                value: f64::MAX,
            },
            Point {
                at: datetime!(2025-03-03 0:00 UTC),
                value: -f64::MAX,
            },
        ];
        let windows = [
            (OffsetDateTime::UNIX_EPOCH, OffsetDateTime::UNIX_EPOCH),
            (datetime!(2025-03-31 0:00 UTC), datetime!(2025-03-01 0:00 UTC)),
            (datetime!(-9999-01-01 0:00 UTC), datetime!(9999-12-31 23:59 UTC)),
            (datetime!(9999-12-31 12:00 UTC), datetime!(9999-12-31 12:00 UTC)),
            (datetime!(2025-03-01 10:00 UTC), datetime!(2025-03-01 11:00 UTC)),
        ];
        for (from, to) in windows {
            for decimals in [0, 1, 255] {
                let mut c = chart(vec![
                    Series {
                        label: "",
                        points: &pts,
                        marker: Marker::Diamond,
                    },
                    Series {
                        label: "",
                        points: &extremes,
                        marker: Marker::Triangle,
                    },
                ]);
                c.from = from;
                c.to = to;
                c.decimals = decimals;
                c.y_min = Some(3.0);
                c.y_max = Some(1.0);
                c.id = "";
                let svg = render(&c);
                assert!(svg.contains("aria-labelledby=\"chart-title chart-desc\""));
                assert!(!svg.contains("NaN") && !svg.contains("inf"));
                assert_well_formed(&svg);
            }
        }
    }

    #[test]
    fn from_equal_to_shows_that_day() {
        let mut c = chart(Vec::new());
        let pts = [
            Point {
                at: datetime!(2025-03-10 08:00 UTC),
                value: 5.0,
            },
            Point {
                at: datetime!(2025-03-10 20:00 UTC),
                value: 6.0,
            },
            Point {
                at: datetime!(2025-03-11 08:00 UTC),
                value: 7.0,
            },
        ];
        c.series = vec![Series {
            label: "Glucose",
            points: &pts,
            marker: Marker::Circle,
        }];
        c.from = datetime!(2025-03-10 12:00 UTC);
        c.to = c.from;
        let svg = render(&c);
        assert_eq!(svg.matches("<circle ").count(), 2);
        assert!(texts(&svg).contains(&"10 Mar"));
    }

    #[test]
    fn date_ticks_suit_the_window() {
        let labels = |from: OffsetDateTime, days: i64| -> Vec<String> {
            let window = Window::new(from, from + Duration::days(days));
            x_ticks(&window, &Frame::new(48.0, 0), &label)
                .into_iter()
                .map(|t| t.label)
                .collect()
        };
        let start = datetime!(2025-03-01 09:30 UTC);
        // A week: daily.
        assert_eq!(
            labels(start, 7),
            ["2 Mar", "3 Mar", "4 Mar", "5 Mar", "6 Mar", "7 Mar", "8 Mar"]
        );
        // A month: Mondays.
        assert_eq!(labels(start, 30), ["3 Mar", "10 Mar", "17 Mar", "24 Mar", "31 Mar"]);
        // A quarter: monthly.
        assert_eq!(labels(start, 90), ["1 Apr", "1 May"]);
        // A year: months, thinned so labels do not overlap.
        let year = labels(start, 365);
        assert!((4..=12).contains(&year.len()), "{year:?}");
        assert!(year.iter().all(|l| l.starts_with("1 ")), "{year:?}");
    }

    #[test]
    fn x_labels_stay_inside_the_view_box() {
        let long = |_: Date| "A very long date label indeed".to_owned();
        let mut c = chart(Vec::new());
        c.x_label = &long;
        let svg = render(&c);
        assert_eq!(texts(&svg).iter().filter(|t| t.starts_with("A very")).count(), 1);
        assert_well_formed(&svg);
    }

    #[test]
    fn numbers_have_at_most_one_decimal_place() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(1.25), "1.3");
        assert_eq!(num(-0.04), "0");
        assert_eq!(num(f64::NAN), "0");
        let pts = points(&[(2, 120.123), (3, 130.987)]);
        let svg = render(&chart(vec![Series {
            label: "S",
            points: &pts,
            marker: Marker::Triangle,
        }]));
        for number in svg
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|n| n.contains('.'))
        {
            assert!(number.split('.').nth(1).is_some_and(|d| d.len() <= 1), "{number}");
        }
    }

    #[test]
    fn many_readings_get_smaller_markers() {
        let pts: Vec<Point> = (0..100)
            .map(|i| Point {
                at: datetime!(2025-03-01 0:00 UTC) + Duration::hours(i * 7),
                value: 5.0,
            })
            .collect();
        let svg = render(&chart(vec![Series {
            label: "S",
            points: &pts,
            marker: Marker::Circle,
        }]));
        assert!(svg.contains("r=\"3.5\""));
    }
}
