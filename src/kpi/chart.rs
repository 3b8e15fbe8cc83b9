//! The weekly chart: one PNG, four panels a reader takes in at a glance — resolution time over
//! the last 8 weeks, the backlog, open tasks per owner, and NPS. Drawn with plotters into memory
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
    /// The overload threshold, drawn as a line on the load panel.
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

type Panel<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<SegmentedCoord<RangedCoordusize>, RangedCoordf64>>;

/// One panel: a caption, one labelled slot per x value, a y range, light horizontal lines.
fn panel<'a, 'b>(
    area: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    caption: &str,
    labels: &[String],
    y: std::ops::Range<f64>,
) -> anyhow::Result<Panel<'a, 'b>> {
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
        .light_line_style(WHITE)
        .draw()
        .map_err(fail)?;
    Ok(chart)
}

/// A line through the weeks that have a value, with a dot on each.
fn line(
    chart: &mut Panel<'_, '_>,
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

/// Renders the chart as PNG bytes.
pub fn render(data: &ChartData) -> anyhow::Result<Vec<u8>> {
    REGISTER.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(fail)?;
        let (top, body) = root.split_vertically(56);
        top.draw(&Text::new(
            data.title.clone(),
            (24, 14),
            ("sans-serif", 28).into_font().color(&BLACK),
        ))
        .map_err(fail)?;
        let panels = body.split_evenly((2, 2));
        let weeks = &data.weeks;
        let labels: Vec<String> = weeks.iter().map(|w| w.label.clone()).collect();
        let none = |area: &DrawingArea<BitMapBackend, Shift>, what: &str| {
            let (w, h) = area.dim_in_pixel();
            area.draw(&Text::new(
                what.to_string(),
                (w as i32 / 2 - 60, h as i32 / 2),
                ("sans-serif", 18).into_font().color(&GREY),
            ))
            .map_err(fail)
        };

        // Resolution time (median, business hours) per week.
        let top = weeks.iter().filter_map(|w| w.resolution_median).fold(1.0_f64, f64::max) * 1.2;
        let mut chart = panel(
            &panels[0],
            "Time to resolution (median, business hours)",
            &labels,
            0.0..top,
        )?;
        if line(&mut chart, weeks.iter().map(|w| w.resolution_median), BLUE)? == 0 {
            none(&panels[0], "nothing resolved yet")?;
        }

        // Backlog at each week's end, the overdue part darker.
        let top = weeks.iter().map(|w| w.backlog).max().unwrap_or(0).max(4) as f64 * 1.2;
        let mut chart = panel(&panels[1], "Backlog at week end (dark: overdue)", &labels, 0.0..top)?;
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

        // Open tasks per owner; overloaded owners in orange.
        let names: Vec<String> = data.load.iter().map(|(n, _)| n.clone()).collect();
        let most = data.load.iter().map(|(_, v)| *v).max().unwrap_or(0);
        let caption = format!("Open tasks per owner (overloaded above {})", data.overload);
        let mut chart = panel(&panels[2], &caption, &names, 0.0..most.max(4) as f64 * 1.25)?;
        for (i, (_, open)) in data.load.iter().enumerate() {
            let color = if *open > data.overload { ORANGE } else { GREEN };
            chart
                .draw_series(
                    Histogram::vertical(&chart)
                        .margin(24)
                        .style(color.filled())
                        .data([(i, *open as f64)]),
                )
                .map_err(fail)?;
        }
        if data.load.is_empty() {
            none(&panels[2], "nobody owns open work")?;
        }

        // NPS per week, with the zero line.
        let mut chart = panel(&panels[3], "NPS (−100 to +100)", &labels, -100.0..100.0)?;
        chart
            .draw_series(LineSeries::new(
                [(SegmentValue::Exact(0), 0.0), (SegmentValue::Last, 0.0)],
                GREY.stroke_width(1),
            ))
            .map_err(fail)?;
        if line(&mut chart, weeks.iter().map(|w| w.nps), GREEN)? == 0 {
            none(&panels[3], "no answers yet")?;
        }
        root.present().map_err(fail)?;
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
