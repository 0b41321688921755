//! The four formats of data files, each parsed into JSON values with its
//! errors located at a line and column.

use crate::diagnostics::{Diagnostic, line_col};
use serde_json::{Map, Value};

/// A data file's format, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    Toml,
    Json,
    Yaml,
    Csv,
}

impl Format {
    /// The format of a file with extension `extension`; `None` for files
    /// that are not data.
    pub(super) fn of_extension(extension: &str) -> Option<Format> {
        match extension {
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// The value of the data file `file`, whose bytes are `bytes`.
pub(super) fn parse(file: &str, bytes: &[u8], format: Format) -> Result<Value, Diagnostic> {
    let text = crate::input::utf8(bytes).map_err(|e| e.to_diagnostic(file))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        Format::Json => serde_json::from_str(text).map_err(|e| {
            let message = without_place(&e.to_string(), e.line(), e.column());
            Diagnostic::error(
                file,
                e.line(),
                e.column(),
                format!("invalid JSON: {message}"),
            )
        }),
        Format::Toml => {
            if let Err(line) = crate::content::front_matter::toml_depth_ok(text) {
                return Err(Diagnostic::error(
                    file,
                    line,
                    1,
                    format!(
                        "invalid TOML: nested deeper than {} levels",
                        crate::content::front_matter::MAX_YAML_DEPTH
                    ),
                ));
            }
            let table: toml::Table = toml::from_str(text).map_err(|e| {
                let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
                Diagnostic::error(file, line, column, format!("invalid TOML: {}", e.message()))
            })?;
            crate::content::front_matter::toml_to_json(toml::Value::Table(table)).map_err(|depth| {
                Diagnostic::error(
                    file,
                    1,
                    1,
                    format!(
                        "invalid TOML: nested {depth} levels deep, past {}",
                        crate::content::front_matter::MAX_YAML_DEPTH
                    ),
                )
            })
        }
        Format::Yaml => yaml(file, text),
        Format::Csv => csv(file, text),
    }
}

fn yaml(file: &str, text: &str) -> Result<Value, Diagnostic> {
    if let Err(line) = crate::content::front_matter::yaml_flow_depth_ok(text) {
        return Err(Diagnostic::error(
            file,
            line,
            1,
            format!(
                "invalid YAML: nested deeper than {} levels",
                crate::content::front_matter::MAX_YAML_DEPTH
            ),
        ));
    }
    crate::content::yaml_budget::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
        let message = without_place(&e.to_string(), line, column);
        Diagnostic::error(file, line, column, format!("invalid YAML: {message}"))
    })
}

/// `message` without the ` at line L column C` its parser ends it with:
/// the diagnostic already starts with the place. A place inside the
/// message (YAML's "while parsing a flow sequence at line 2 column 4") is
/// another one, and stays.
fn without_place(message: &str, line: usize, column: usize) -> String {
    message
        .strip_suffix(&format!(" at line {line} column {column}"))
        .unwrap_or(message)
        .to_owned()
}

/// The most bytes of header names a CSV file's rows may repeat in all.
const MAX_CSV_KEY_BYTES: usize = 64 << 20;

/// A CSV file: one object per row, keyed by the header row, every value
/// text (a CSV cell has no type; guessing one would turn a ZIP code or an
/// ISBN into a number). A row with more or fewer fields than the header is
/// an error at its line, not a row padded or cut.
fn csv(file: &str, text: &str) -> Result<Value, Diagnostic> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let located = |e: &::csv::Error| {
        let line = e
            .position()
            .map_or(1, |p| usize::try_from(p.line()).unwrap_or(1));
        // The csv crate words this one for records; a data file's first
        // record is its header, which is what the author compares with.
        let message = match e.kind() {
            ::csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("this row has {len} fields, but the header has {expected_len}"),
            _ => e.to_string(),
        };
        Diagnostic::error(file, line, 1, format!("invalid CSV: {message}"))
    };
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| located(&e))?
        .iter()
        .map(str::to_owned)
        .collect();
    // Every row repeats the header's names: bound what that can add up to.
    let header_bytes: usize = headers.iter().map(String::len).sum::<usize>().max(1);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| located(&e))?;
        if (rows.len() + 1).saturating_mul(header_bytes) > MAX_CSV_KEY_BYTES {
            let line = record
                .position()
                .map_or(1, |p| usize::try_from(p.line()).unwrap_or(1));
            return Err(Diagnostic::error(
                file,
                line,
                1,
                format!(
                    "invalid CSV: its rows repeat a header of {header_bytes} bytes past {} in all",
                    crate::input::size(MAX_CSV_KEY_BYTES as u64)
                ),
            ));
        }
        let row: Map<String, Value> = headers
            .iter()
            .zip(record.iter())
            .map(|(k, v)| (k.clone(), Value::String(v.to_owned())))
            .collect();
        rows.push(Value::Object(row));
    }
    Ok(Value::Array(rows))
}
