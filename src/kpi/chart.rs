//! The weekly chart: four panels a reader takes in at a glance — resolution time over the last 8
//! weeks, the backlog, open tasks per owner, and NPS. One drawing, on two backends: a PNG for
//! chat and an SVG for the dashboard, so the two never disagree. Drawn with plotters into memory
//! with an embedded font (DejaVu Sans), so no system library or font is needed.

use std::sync::Once;

use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordusize};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 800;
/// The most owners the load panel names: more would not be readable side by side.
const MAX_OWNERS: usize = 10;
/// The longest owner name shown whole.
const MAX_NAME: usize = 9;

/// One week's figures for the trend panels.
#[derive(Debug, Clone, PartialEq)]
pub struct Week {
    /// `W47`.
    pub label: String,
    pub resolution_median: Option<f64>,
    pub backlog: i64,
    pub overdue: i64,
    pub nps: Option<f64>,
}

/// What the chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartData {
    pub title: String,
    /// Oldest first.
    pub weeks: Vec<Week>,
    /// Open tasks per owner at the end of the last week.
    pub load: Vec<(String, i64)>,
    /// The overload threshold: owners above it are drawn in orange.
    pub overload: i64,
}

fn fail<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart: {e}")
}

const BLUE: RGBColor = RGBColor(37, 99, 235);
const ORANGE: RGBColor = RGBColor(234, 88, 12);
const GREEN: RGBColor = RGBColor(22, 163, 74);
const GREY: RGBColor = RGBColor(120, 120, 120);
const LIGHT_ORANGE: RGBColor = RGBColor(250, 190, 150);

type Panel<'a, DB> = ChartContext<'a, DB, Cartesian2d<SegmentedCoord<RangedCoordusize>, RangedCoordf64>>;

/// One panel: a caption, one labelled slot per x value, a y range, light horizontal lines.
fn panel<'a, DB: DrawingBackend>(
    area: &'a Area<DB>,
    caption: &str,
    labels: &[String],
    y: std::ops::Range<f64>,
) -> anyhow::Result<Panel<'a, DB>> {
    let n = labels.len().max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(30)
        .y_label_area_size(44)
        .build_cartesian_2d((0usize..n - 1).into_segmented(), y)
        .map_err(fail)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => labels.get(*i).cloned().unwrap_or_default(),
            SegmentValue::Last => String::new(),
        })
        .y_label_formatter(&|v| {
            if v.abs() >= 10.0 || *v == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        })
        .light_line_style(WHITE)
        .draw()
        .map_err(fail)?;
    Ok(chart)
}

/// A line through the weeks that have a value, with a dot on each.
fn line<DB: DrawingBackend>(
    chart: &mut Panel<'_, DB>,
    values: impl Iterator<Item = Option<f64>>,
    color: RGBColor,
) -> anyhow::Result<usize> {
    let points: Vec<(SegmentValue<usize>, f64)> = values
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (SegmentValue::CenterOf(i), v)))
        .collect();
    chart
        .draw_series(LineSeries::new(points.clone(), color.stroke_width(3)))
        .map_err(fail)?;
    chart
        .draw_series(points.iter().map(|p| Circle::new(p.clone(), 5, color.filled())))
        .map_err(fail)?;
    Ok(points.len())
}

/// A panel's place in the picture.
type Area<DB> = DrawingArea<DB, Shift>;

/// Draws the whole chart on `root`, whatever the backend.
fn draw<DB: DrawingBackend>(root: &Area<DB>, data: &ChartData) -> anyhow::Result<()> {
    REGISTER.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
    root.fill(&WHITE).map_err(fail)?;
    let (top, body) = root.split_vertically(56);
    top.draw(&Text::new(
        data.title.clone(),
        (24, 14),
        ("sans-serif", 28).into_font().color(&BLACK),
    ))
    .map_err(fail)?;
    let panels = body.split_evenly((2, 2));
    let labels: Vec<String> = data.weeks.iter().map(|w| w.label.clone()).collect();
    resolution_panel(&panels[0], &data.weeks, &labels)?;
    backlog_panel(&panels[1], &data.weeks, &labels)?;
    load_panel(&panels[2], data)?;
    nps_panel(&panels[3], &data.weeks, &labels)?;
    root.present().map_err(fail)
}

/// The chart as an SVG document that scales to the width it is given.
pub fn render_svg(data: &ChartData) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, data)?;
    }
    Ok(svg)
}

/// Renders the chart as PNG bytes.
pub fn render(data: &ChartData) -> anyhow::Result<Vec<u8>> {
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, data)?;
    }
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(fail)?;
        writer.write_image_data(&rgb).map_err(fail)?;
    }
    Ok(png)
}

/// `what` in grey in the middle of an empty panel.
fn nothing<DB: DrawingBackend>(area: &Area<DB>, what: &str) -> anyhow::Result<()> {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        what.to_string(),
        (w as i32 / 2 - 60, h as i32 / 2),
        ("sans-serif", 18).into_font().color(&GREY),
    ))
    .map_err(fail)
}

/// Resolution time (median, business hours) per week.
fn resolution_panel<DB: DrawingBackend>(area: &Area<DB>, weeks: &[Week], labels: &[String]) -> anyhow::Result<()> {
    let top = weeks.iter().filter_map(|w| w.resolution_median).fold(1.0_f64, f64::max) * 1.2;
    let mut chart = panel(area, "Time to resolution (median, business hours)", labels, 0.0..top)?;
    if line(&mut chart, weeks.iter().map(|w| w.resolution_median), BLUE)? == 0 {
        nothing(area, "nothing resolved yet")?;
    }
    Ok(())
}

/// Backlog at each week's end, the overdue part darker.
fn backlog_panel<DB: DrawingBackend>(area: &Area<DB>, weeks: &[Week], labels: &[String]) -> anyhow::Result<()> {
    let top = weeks.iter().map(|w| w.backlog).max().unwrap_or(0).max(4) as f64 * 1.2;
    let mut chart = panel(area, "Backlog at week end (dark: overdue)", labels, 0.0..top)?;
    for (values, color) in [
        (weeks.iter().map(|w| w.backlog).collect::<Vec<_>>(), LIGHT_ORANGE),
        (weeks.iter().map(|w| w.overdue).collect(), ORANGE),
    ] {
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .margin(12)
                    .style(color.filled())
                    .data(values.into_iter().enumerate().map(|(i, v)| (i, v as f64))),
            )
            .map_err(fail)?;
    }
    Ok(())
}

/// Open tasks per owner, the busiest first (at most `MAX_OWNERS`); overloaded in orange.
fn load_panel<DB: DrawingBackend>(area: &Area<DB>, data: &ChartData) -> anyhow::Result<()> {
    let mut load = data.load.clone();
    load.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    load.truncate(MAX_OWNERS);
    let names: Vec<String> = load
        .iter()
        .map(|(n, _)| {
            if n.chars().count() > MAX_NAME {
                format!("{}…", n.chars().take(MAX_NAME - 1).collect::<String>())
            } else {
                n.clone()
            }
        })
        .collect();
    let most = load.iter().map(|(_, v)| *v).max().unwrap_or(0);
    let caption = if data.load.len() > load.len() {
        format!(
            "Open tasks, busiest {} of {} owners (overloaded > {})",
            load.len(),
            data.load.len(),
            data.overload
        )
    } else {
        format!("Open tasks per owner (overloaded above {})", data.overload)
    };
    let mut chart = panel(area, &caption, &names, 0.0..most.max(4) as f64 * 1.25)?;
    // Bars five sixths of their slot (the panel is about 520 px wide), whatever the number of owners.
    let margin = (520 / load.len().max(1) as u32 / 6).clamp(2, 24);
    for (i, (_, open)) in load.iter().enumerate() {
        let color = if *open > data.overload { ORANGE } else { GREEN };
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .margin(margin)
                    .style(color.filled())
                    .data([(i, *open as f64)]),
            )
            .map_err(fail)?;
    }
    if data.load.is_empty() {
        nothing(area, "nobody owns open work")?;
    }
    Ok(())
}

/// NPS per week, with the zero line.
fn nps_panel<DB: DrawingBackend>(area: &Area<DB>, weeks: &[Week], labels: &[String]) -> anyhow::Result<()> {
    let mut chart = panel(area, "NPS (−100 to +100)", labels, -100.0..100.0)?;
    chart
        .draw_series(LineSeries::new(
            [(SegmentValue::Exact(0), 0.0), (SegmentValue::Last, 0.0)],
            GREY.stroke_width(1),
        ))
        .map_err(fail)?;
    if line(&mut chart, weeks.iter().map(|w| w.nps), GREEN)? == 0 {
        nothing(area, "no answers yet")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> ChartData {
        ChartData {
            title: "keel — client service, 2026-W49".into(),
            weeks: (0..8)
                .map(|i| Week {
                    label: format!("{} Oct", i + 1),
                    resolution_median: (i % 3 != 0).then_some(i as f64 * 1.5),
                    backlog: 10 + i,
                    overdue: i,
                    nps: (i > 2).then_some(i as f64 * 10.0 - 40.0),
                })
                .collect(),
            load: vec![("lea".into(), 40), ("sam".into(), 12), ("a-very-long-name".into(), 3)],
            overload: 30,
        }
    }

    /// Pixels of exactly `color` in a PNG.
    fn pixels(png: &[u8], color: RGBColor) -> usize {
        let mut reader = png::Decoder::new(std::io::Cursor::new(png)).read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("a frame");
        buf[..info.buffer_size()]
            .chunks(3)
            .filter(|p| p == &[color.0, color.1, color.2])
            .count()
    }

    #[test]
    fn the_png_and_the_svg_are_one_drawing() {
        let data = data();
        let svg = render_svg(&data).expect("an SVG");
        let png = render(&data).expect("a PNG");
        assert!(svg.starts_with("<svg") && svg.contains(&format!("viewBox=\"0 0 {WIDTH} {HEIGHT}\"")));
        assert!(svg.contains(&data.title), "{svg}");
        for label in data
            .weeks
            .iter()
            .map(|w| w.label.as_str())
            .chain(["lea", "sam", "a-very-l…"])
        {
            assert!(svg.contains(&format!(">\n{label}\n<")), "{label} missing");
        }
        // Orange: the 8 overdue bars and the one overloaded owner, in both.
        let orange = format!("fill=\"#{:02X}{:02X}{:02X}\"", ORANGE.0, ORANGE.1, ORANGE.2);
        assert_eq!(svg.matches(&orange).count(), 8 + 1, "{svg}");
        assert!(pixels(&png, ORANGE) > 1000);
        assert!(pixels(&png, BLUE) > 100, "the resolution line");
    }
}
