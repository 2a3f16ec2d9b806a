//! A small SVG line chart, enough for learning curves; written by hand to keep
//! the evaluation free of a plotting stack.

use std::fmt::Write as _;

pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Drawn as a dashed horizontal reference line instead of a curve.
    pub flat: bool,
}

const COLOURS: [&str; 8] = [
    "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let (w, h, ml, mr, mt, mb) = (720.0, 440.0, 60.0, 200.0, 40.0, 50.0);
    let pts = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, 0f64);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    if !x0.is_finite() || x1 <= x0 {
        (x0, x1) = (0.0, 1.0);
    }
    let y1 = if y1 > 0.0 { y1 * 1.1 } else { 1.0 };
    let px = |x: f64| ml + (x - x0) / (x1 - x0) * (w - ml - mr);
    let py = |y: f64| h - mb - y / y1 * (h - mt - mb);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"#,
        (w - mr + ml) / 2.0,
        esc(title)
    );
    let _ = write!(
        s,
        r#"<line x1="{ml}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#,
        h - mb,
        w - mr,
        h - mb
    );
    let _ = write!(
        s,
        r#"<line x1="{ml}" y1="{mt}" x2="{ml}" y2="{}" stroke="black"/>"#,
        h - mb
    );
    for i in 0..=5 {
        let yv = y1 * i as f64 / 5.0;
        let xv = x0 + (x1 - x0) * i as f64 / 5.0;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{yv:.3}</text>"#,
            ml - 5.0,
            py(yv) + 4.0
        );
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{xv:.2}</text>"#,
            px(xv),
            h - mb + 16.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (w - mr + ml) / 2.0,
        h - 10.0,
        esc(x_label)
    );
    let _ = write!(
        s,
        r#"<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle">{}</text>"#,
        h / 2.0,
        h / 2.0,
        esc(y_label)
    );
    for (i, ser) in series.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        let dash = if ser.flat {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let path: Vec<String> = if ser.flat {
            let y = ser.points.first().map_or(0.0, |p| p.1);
            vec![
                format!("{:.1},{:.1}", px(x0), py(y)),
                format!("{:.1},{:.1}", px(x1), py(y)),
            ]
        } else {
            ser.points
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
                .collect()
        };
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{c}" stroke-width="2"{dash} points="{}"/>"#,
            path.join(" ")
        );
        let ly = mt + 10.0 + 18.0 * i as f64;
        let _ = write!(
            s,
            r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{c}" stroke-width="2"{dash}/>"#,
            w - mr + 10.0,
            w - mr + 30.0
        );
        let _ = write!(
            s,
            r#"<text x="{}" y="{}">{}</text>"#,
            w - mr + 35.0,
            ly + 4.0,
            esc(&ser.name)
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_contains_every_series_and_escapes() {
        let svg = line_chart(
            "a<b",
            "x",
            "y",
            &[
                Series {
                    name: "engine".into(),
                    points: vec![(0.0, 0.1), (1.0, 0.3)],
                    flat: false,
                },
                Series {
                    name: "EASE".into(),
                    points: vec![(0.0, 0.2)],
                    flat: true,
                },
            ],
        );
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a&lt;b") && svg.contains("engine") && svg.contains("EASE"));
        assert_eq!(svg.matches("<polyline").count(), 2);
    }
}
