//! The weekly chart: one PNG, four panels a reader takes in at a glance — resolution time over
//! the last 8 weeks, the backlog, open tasks per owner, and NPS. Drawn with plotters into memory
//! with an embedded font (DejaVu Sans), so no system library or font is needed.

use std::sync::Once;

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
        let n = weeks.len().max(1);
        let week_label = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                weeks.get(*i).map(|w| w.label.clone()).unwrap_or_default()
            }
            SegmentValue::Last => String::new(),
        };
        let none = |area: &DrawingArea<BitMapBackend, plotters::coord::Shift>, what: &str| {
            let (w, h) = area.dim_in_pixel();
            area.draw(&Text::new(
                what.to_string(),
                (w as i32 / 2 - 60, h as i32 / 2),
                ("sans-serif", 18).into_font().color(&GREY),
            ))
        };

        // Resolution time (median, business hours) per week.
        let points: Vec<(SegmentValue<usize>, f64)> = weeks
            .iter()
            .enumerate()
            .filter_map(|(i, w)| w.resolution_median.map(|h| (SegmentValue::CenterOf(i), h)))
            .collect();
        let top = points.iter().map(|p| p.1).fold(1.0_f64, f64::max) * 1.2;
        let mut chart = ChartBuilder::on(&panels[0])
            .caption("Time to resolution (median, business hours)", ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(30)
            .y_label_area_size(44)
            .build_cartesian_2d((0usize..n - 1).into_segmented(), 0.0..top)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&week_label)
            .light_line_style(WHITE)
            .draw()
            .map_err(fail)?;
        chart
            .draw_series(LineSeries::new(points.clone(), BLUE.stroke_width(3)))
            .map_err(fail)?;
        chart
            .draw_series(points.iter().map(|p| Circle::new(p.clone(), 5, BLUE.filled())))
            .map_err(fail)?;
        if points.is_empty() {
            none(&panels[0], "nothing resolved yet").map_err(fail)?;
        }

        // Backlog at each week's end, the overdue part darker.
        let top = weeks.iter().map(|w| w.backlog).max().unwrap_or(0).max(4) as f64 * 1.2;
        let mut chart = ChartBuilder::on(&panels[1])
            .caption("Backlog at week end (dark: overdue)", ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(30)
            .y_label_area_size(44)
            .build_cartesian_2d((0usize..n - 1).into_segmented(), 0.0..top)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&week_label)
            .light_line_style(WHITE)
            .draw()
            .map_err(fail)?;
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .margin(12)
                    .style(LIGHT_ORANGE.filled())
                    .data(weeks.iter().enumerate().map(|(i, w)| (i, w.backlog as f64))),
            )
            .map_err(fail)?;
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .margin(12)
                    .style(ORANGE.filled())
                    .data(weeks.iter().enumerate().map(|(i, w)| (i, w.overdue as f64))),
            )
            .map_err(fail)?;

        // Open tasks per owner; overloaded owners in orange.
        let owners = data.load.len().max(1);
        let most = data.load.iter().map(|(_, v)| *v).max().unwrap_or(0);
        let top = most.max(4) as f64 * 1.25;
        let mut chart = ChartBuilder::on(&panels[2])
            .caption(
                format!("Open tasks per owner (overloaded above {})", data.overload),
                ("sans-serif", 20),
            )
            .margin(14)
            .x_label_area_size(30)
            .y_label_area_size(44)
            .build_cartesian_2d((0usize..owners - 1).into_segmented(), 0.0..top)
            .map_err(fail)?;
        let names: Vec<String> = data.load.iter().map(|(n, _)| n.clone()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(owners)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => names.get(*i).cloned().unwrap_or_default(),
                SegmentValue::Last => String::new(),
            })
            .light_line_style(WHITE)
            .draw()
            .map_err(fail)?;
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
            none(&panels[2], "nobody owns open work").map_err(fail)?;
        }

        // NPS per week.
        let points: Vec<(SegmentValue<usize>, f64)> = weeks
            .iter()
            .enumerate()
            .filter_map(|(i, w)| w.nps.map(|v| (SegmentValue::CenterOf(i), v)))
            .collect();
        let mut chart = ChartBuilder::on(&panels[3])
            .caption("NPS (−100 to +100)", ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(30)
            .y_label_area_size(44)
            .build_cartesian_2d((0usize..n - 1).into_segmented(), -100.0..100.0)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&week_label)
            .light_line_style(WHITE)
            .draw()
            .map_err(fail)?;
        chart
            .draw_series(LineSeries::new(
                [(SegmentValue::Exact(0), 0.0), (SegmentValue::Last, 0.0)],
                GREY.stroke_width(1),
            ))
            .map_err(fail)?;
        chart
            .draw_series(LineSeries::new(points.clone(), GREEN.stroke_width(3)))
            .map_err(fail)?;
        chart
            .draw_series(points.iter().map(|p| Circle::new(p.clone(), 5, GREEN.filled())))
            .map_err(fail)?;
        if points.is_empty() {
            none(&panels[3], "no answers yet").map_err(fail)?;
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
