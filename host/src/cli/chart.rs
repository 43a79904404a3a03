//! The chart of `wasm-lambda bench --svg`: drawing is the command line's
//! business, so plotters is a dependency of the binary's `cli` feature, not
//! of the library.

use anyhow::Result;
use wasm_lambda::bench::{BenchResult, human};

/// An SVG bar chart of cold p50 (and warm p50, and the native p50 when
/// measured) per component, on a logarithmic axis so microseconds and
/// milliseconds fit one picture.
pub fn render_svg(results: &[BenchResult], title: &str) -> Result<String> {
    use plotters::prelude::*;

    // (legend, colour, the figure a bar shows)
    type Series = (&'static str, RGBColor, fn(&BenchResult) -> Option<f64>);
    let series: Vec<Series> = vec![
        ("cold start p50", RGBColor(31, 119, 180), |r| {
            Some(r.cold.p50_us)
        }),
        ("warm invoke p50", RGBColor(44, 160, 44), |r| {
            Some(r.warm.p50_us)
        }),
        ("native process p50", RGBColor(214, 39, 40), |r| {
            r.native.as_ref().map(|n| n.stats.p50_us)
        }),
    ];
    let series: Vec<_> = series
        .into_iter()
        .filter(|(_, _, value)| results.iter().any(|r| value(r).is_some()))
        .collect();
    let values: Vec<f64> = results
        .iter()
        .flat_map(|r| series.iter().filter_map(|(_, _, value)| value(r)))
        .collect();
    let low = values
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .max(0.1);
    let high = values.iter().copied().fold(0.0, f64::max).max(low * 10.0);
    let axis_low = 10f64.powf(low.log10().floor());
    // Headroom on the right for the value labels and the legend.
    let axis_high = 10f64.powf((high * 8.0).log10().ceil());

    let labels: Vec<String> = results
        .iter()
        .map(|r| {
            let name = r
                .component
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            format!("{} ({name})", r.language)
        })
        .collect();
    let row_height = 22 * series.len() as u32 + 16;
    let height = 110 + row_height * results.len() as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let rows = results.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .margin_right(40)
            .x_label_area_size(40)
            .y_label_area_size(230)
            .build_cartesian_2d((axis_low..axis_high).log_scale(), 0f64..rows)
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("microseconds (log scale)")
            .y_labels(results.len() * 2 + 1)
            .y_label_formatter(&|y| {
                let index = (rows - y - 0.5).round();
                if (rows - y - 0.5 - index).abs() < 0.01 && index >= 0.0 {
                    labels.get(index as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_label_formatter(&|x| human(*x))
            .draw()
            .map_err(chart_error)?;
        let bar = 0.8 / series.len() as f64;
        let label_style = ("sans-serif", 12).into_font().color(&BLACK);
        for (position, (name, color, value)) in series.iter().enumerate() {
            let color = *color;
            // Each bar, and its value written at its end.
            let (bars, values): (Vec<_>, Vec<_>) = results
                .iter()
                .enumerate()
                .filter_map(|(index, r)| {
                    let top = rows - index as f64 - 0.1 - bar * position as f64;
                    value(r).map(|v| {
                        (
                            Rectangle::new([(axis_low, top - bar), (v, top)], color.filled()),
                            Text::new(
                                format!(" {}", human(v)),
                                (v, top - bar * 0.3),
                                label_style.clone(),
                            ),
                        )
                    })
                })
                .unzip();
            chart.draw_series(values).map_err(chart_error)?;
            chart
                .draw_series(bars)
                .map_err(chart_error)?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

fn chart_error(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("failed to draw the chart: {error}")
}
