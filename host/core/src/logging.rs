//! Lambda's logging controls (`LoggingConfig`): the log format, Text or
//! JSON, and with JSON the application and system log levels.
//!
//! With Text, nothing changes: the log is byte for byte what it was. With
//! JSON:
//! - `START`, `END` and `REPORT` become Lambda's system records
//!   (`{"time":...,"type":"platform.start","record":{...}}`), kept or
//!   dropped by the system log level;
//! - the handler sees `AWS_LAMBDA_LOG_FORMAT=JSON` and
//!   `AWS_LAMBDA_LOG_LEVEL`, from which the Python and Node.js SDKs write
//!   their `logging` and `console` lines as JSON records, as Lambda's
//!   managed runtimes do;
//! - a line of the function's output that is a JSON object with a `level`
//!   below the application log level is dropped, whatever wrote it
//!   (Powertools' Logger, pino, a Rust or Go handler's own JSON); a missing
//!   or unknown level counts as INFO, and so does a line that is not a JSON
//!   object (`print` output is dropped at WARN and above, as on Lambda).
//!   The host's own lines (a timeout, a crash, a refused connection) are
//!   never dropped.

use std::fmt;
use std::str::FromStr;

/// The log format: Lambda's `LoggingConfig.LogFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Plain lines, as Lambda has always written them (the default).
    #[default]
    Text,
    /// One JSON record per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    /// `Text` or `JSON`, in any case.
    fn from_str(text: &str) -> Result<Self, String> {
        match text.to_ascii_uppercase().as_str() {
            "TEXT" => Ok(LogFormat::Text),
            "JSON" => Ok(LogFormat::Json),
            _ => Err(format!("log format must be Text or JSON, got {text:?}")),
        }
    }
}

impl fmt::Display for LogFormat {
    /// As Lambda's API spells it: `Text`, `JSON`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Text => "Text",
            LogFormat::Json => "JSON",
        })
    }
}

/// A log level, lowest first: Lambda's `ApplicationLogLevel` takes them all,
/// `SystemLogLevel` DEBUG, INFO and WARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum LogLevel {
    /// `TRACE`
    Trace,
    /// `DEBUG`
    Debug,
    /// `INFO` (the default of both levels)
    #[default]
    Info,
    /// `WARN`
    Warn,
    /// `ERROR`
    Error,
    /// `FATAL`
    Fatal,
}

impl LogLevel {
    /// Every level, lowest first.
    pub const ALL: [LogLevel; 6] = [
        LogLevel::Trace,
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warn,
        LogLevel::Error,
        LogLevel::Fatal,
    ];

    /// The levels `SystemLogLevel` takes.
    pub const SYSTEM: [LogLevel; 3] = [LogLevel::Debug, LogLevel::Info, LogLevel::Warn];

    /// The level's name, in capitals.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
            LogLevel::Fatal => "FATAL",
        }
    }

    /// The level a log record's `level` field names, as Lambda reads it to
    /// filter: Lambda's names in any case, and the names Python's `logging`
    /// gives (`WARNING`, `CRITICAL`); `None` for anything else.
    pub fn of_record(text: &str) -> Option<LogLevel> {
        let upper = text.trim().to_ascii_uppercase();
        Some(match upper.as_str() {
            "TRACE" => LogLevel::Trace,
            "DEBUG" => LogLevel::Debug,
            "INFO" => LogLevel::Info,
            "WARN" | "WARNING" => LogLevel::Warn,
            "ERROR" => LogLevel::Error,
            "FATAL" | "CRITICAL" => LogLevel::Fatal,
            _ => return None,
        })
    }
}

impl FromStr for LogLevel {
    type Err = String;

    /// A level's name, in any case.
    fn from_str(text: &str) -> Result<Self, String> {
        LogLevel::ALL
            .into_iter()
            .find(|level| level.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                format!("log level must be TRACE, DEBUG, INFO, WARN, ERROR or FATAL, got {text:?}")
            })
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A function's `LoggingConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoggingConfig {
    /// Text (the default) or JSON.
    pub format: LogFormat,
    /// With JSON: the lowest level of the function's own records that is
    /// kept (INFO by default).
    pub application_level: LogLevel,
    /// With JSON: the lowest level of Lambda's system records that is kept
    /// (INFO by default; DEBUG, INFO or WARN).
    pub system_level: LogLevel,
}

impl LoggingConfig {
    /// True with the JSON format.
    pub fn is_json(&self) -> bool {
        self.format == LogFormat::Json
    }

    /// Checks the levels as Lambda does: the system level is DEBUG, INFO or
    /// WARN.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !LogLevel::SYSTEM.contains(&self.system_level) {
            return Err(format!(
                "system log level {} is not one of DEBUG, INFO or WARN",
                self.system_level
            ));
        }
        Ok(())
    }

    /// The variables the handler sees: `AWS_LAMBDA_LOG_FORMAT` and
    /// `AWS_LAMBDA_LOG_LEVEL` with JSON, none with Text.
    pub(crate) fn variables(&self) -> Vec<(String, String)> {
        if !self.is_json() {
            return Vec::new();
        }
        vec![
            (FORMAT_VARIABLE.into(), "JSON".into()),
            (LEVEL_VARIABLE.into(), self.application_level.name().into()),
        ]
    }

    /// Whether a line of the function's output is kept: with JSON, one
    /// whose level is below the application level is not. A line's level is
    /// its `level` field's when it is a JSON object that has one naming a
    /// level, and INFO otherwise (Lambda's rule for a missing or invalid
    /// level; a plain line has none).
    pub(crate) fn keeps_line(&self, line: &[u8]) -> bool {
        // At TRACE, DEBUG or INFO only records that name a lower level are
        // dropped; at TRACE none: no line needs reading.
        if !self.is_json() || self.application_level == LogLevel::Trace {
            return true;
        }
        line_level(line) >= self.application_level
    }
}

/// The variable that holds the log format.
pub(crate) const FORMAT_VARIABLE: &str = "AWS_LAMBDA_LOG_FORMAT";
/// The variable that holds the application log level.
pub(crate) const LEVEL_VARIABLE: &str = "AWS_LAMBDA_LOG_LEVEL";

/// The level of a line: its `level` field's when it is a JSON object with
/// one that names a level, INFO otherwise.
fn line_level(line: &[u8]) -> LogLevel {
    let text = line.trim_ascii();
    if text.first() != Some(&b'{') || text.last() != Some(&b'}') {
        return LogLevel::Info;
    }
    #[derive(serde::Deserialize)]
    struct Record<'a> {
        #[serde(borrow, default)]
        level: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_slice::<Record>(text)
        .ok()
        .and_then(|record| record.level.as_deref().and_then(LogLevel::of_record))
        .unwrap_or(LogLevel::Info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(level: LogLevel) -> LoggingConfig {
        LoggingConfig {
            format: LogFormat::Json,
            application_level: level,
            system_level: LogLevel::Info,
        }
    }

    #[test]
    fn a_json_record_below_the_application_level_is_dropped_and_others_kept() {
        let warn = json(LogLevel::Warn);
        assert!(!warn.keeps_line(br#"{"level":"INFO","message":"a"}"#));
        assert!(!warn.keeps_line(br#"{"level":"debug","message":"a"}"#));
        assert!(warn.keeps_line(br#"{"level":"WARNING","message":"a"}"#));
        assert!(warn.keeps_line(br#"{"level":"ERROR","message":"a"}"#));
        assert!(warn.keeps_line(br#"{"level":"CRITICAL","message":"a"}"#));
        // No level, or one that names none, counts as INFO.
        assert!(!warn.keeps_line(br#"{"message":"a"}"#));
        assert!(!warn.keeps_line(br#"{"level":"LOUD","message":"a"}"#));
        assert!(!warn.keeps_line(br#"{"level":3,"message":"a"}"#));
        // Not a JSON object: INFO too.
        assert!(!warn.keeps_line(b"plain text"));
        assert!(!warn.keeps_line(b"[1,2]"));
        assert!(!warn.keeps_line(br#"{"level":"ERROR""#));
        assert!(!warn.keeps_line(b"{ not json }"));
        let info = json(LogLevel::Info);
        assert!(info.keeps_line(b"plain text"));
        assert!(info.keeps_line(br#"{"level":"ERROR""#));
        assert!(!info.keeps_line(br#"{"level":"DEBUG"}"#));
        assert!(!info.keeps_line(b"  {\"level\": \"TRACE\"}\n"));
        assert!(info.keeps_line(br#"{"message":"a"}"#));
        let trace = json(LogLevel::Trace);
        assert!(trace.keeps_line(br#"{"level":"TRACE"}"#));
    }

    #[test]
    fn text_keeps_every_line_and_sets_no_variable() {
        let text = LoggingConfig {
            application_level: LogLevel::Fatal,
            ..LoggingConfig::default()
        };
        assert!(text.keeps_line(br#"{"level":"DEBUG"}"#));
        assert!(text.variables().is_empty());
        assert_eq!(
            json(LogLevel::Debug).variables(),
            vec![
                ("AWS_LAMBDA_LOG_FORMAT".to_string(), "JSON".to_string()),
                ("AWS_LAMBDA_LOG_LEVEL".to_string(), "DEBUG".to_string())
            ]
        );
    }

    #[test]
    fn names_parse_in_any_case_and_print_as_lambda_spells_them() {
        assert_eq!("json".parse::<LogFormat>().unwrap().to_string(), "JSON");
        assert_eq!("TEXT".parse::<LogFormat>().unwrap().to_string(), "Text");
        assert!("yaml".parse::<LogFormat>().is_err());
        assert_eq!("warn".parse::<LogLevel>().unwrap(), LogLevel::Warn);
        assert!("WARNING".parse::<LogLevel>().is_err());
        let config = LoggingConfig {
            format: LogFormat::Json,
            application_level: LogLevel::Info,
            system_level: LogLevel::Error,
        };
        assert!(
            config
                .validate()
                .unwrap_err()
                .contains("DEBUG, INFO or WARN")
        );
    }
}
