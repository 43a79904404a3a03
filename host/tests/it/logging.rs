//! Lambda's logging controls (`LoggingConfig`): with the JSON format the
//! Python and Node.js runtimes write their `logging` and `console` lines as
//! Lambda's JSON records, START/END/REPORT become system records, and the
//! application and system levels drop what is below them. Text is covered
//! by the log tests of each language (`python::logging_and_print_*`,
//! `js::console_methods_*`), which this change must leave passing.

use serde_json::{Value, json};
use wasm_lambda::{Function, LogFormat, LogLevel, LoggingConfig};

use crate::common::{guest, invoke, load};

fn json_logging(application: LogLevel, system: LogLevel) -> LoggingConfig {
    LoggingConfig {
        format: LogFormat::Json,
        application_level: application,
        system_level: system,
    }
}

fn probe(language: &str, name: &str, logging: LoggingConfig) -> Function {
    load(
        name,
        guest(&format!("host/tests/guests/{language}/probe")),
        |config| config.logging = logging,
    )
}

/// The lines of a log that are JSON objects.
fn records(log: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(Value::is_object)
        .collect()
}

/// The one line of `log` that contains `needle`.
fn line_with<'a>(log: &'a str, needle: &str) -> &'a str {
    let found: Vec<&str> = log.lines().filter(|line| line.contains(needle)).collect();
    assert_eq!(found.len(), 1, "one line with {needle:?} in:\n{log}");
    found[0]
}

/// The system records of the log, by type.
fn system_types(log: &str) -> Vec<String> {
    records(log)
        .iter()
        .filter_map(|record| record["type"].as_str())
        .filter(|kind| kind.starts_with("platform."))
        .map(str::to_string)
        .collect()
}

/// `2026-12-05T05:20:00Z` (`millis` false) or `2026-12-05T05:20:00.123Z`.
fn assert_utc_time(text: &str, millis: bool) {
    let length = if millis { 24 } else { 20 };
    assert!(
        text.len() == length && text.as_bytes()[10] == b'T' && text.ends_with('Z'),
        "not a UTC time to the {}: {text:?}",
        if millis { "millisecond" } else { "second" }
    );
}

/// Asserts that `keys` appear in this order in a record's text.
fn assert_key_order(line: &str, keys: &[&str]) {
    let positions: Vec<usize> = keys
        .iter()
        .map(|key| {
            line.find(&format!("\"{key}\""))
                .unwrap_or_else(|| panic!("no {key} in {line}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "keys not in the order {keys:?}: {line}"
    );
}

/// The START and REPORT of the JSON format: `platform.start` and
/// `platform.report`, each `{"time","type","record"}`.
fn assert_start_and_report(log: &str, id: &str, function: &str, cold: bool) {
    assert!(
        !log.contains("START RequestId")
            && !log.contains("END RequestId")
            && !log.contains("REPORT RequestId"),
        "{log}"
    );
    let start = line_with(log, "\"platform.start\"");
    let time = start
        .strip_prefix("{\"time\":\"")
        .and_then(|rest| rest.split_once('"'))
        .unwrap_or_else(|| panic!("{start}"))
        .0;
    assert_utc_time(time, true);
    let record: Value = serde_json::from_str(start).unwrap();
    assert_eq!(
        record["record"],
        json!({
            "requestId": id,
            "functionArn": format!("arn:aws:lambda:us-east-1:000000000000:function:{function}"),
            "version": "$LATEST"
        })
    );
    let report: Value = serde_json::from_str(line_with(log, "\"platform.report\"")).unwrap();
    let fields = &report["record"];
    assert_eq!(fields["requestId"], id);
    assert_eq!(fields["status"], "success");
    let metrics = &fields["metrics"];
    assert!(metrics["durationMs"].as_f64().unwrap() > 0.0, "{report}");
    assert!(
        metrics["billedDurationMs"].as_u64().unwrap() >= 1,
        "{report}"
    );
    assert_eq!(metrics["memorySizeMB"], 128);
    assert!(
        metrics["maxMemoryUsedMB"].as_u64().unwrap() >= 1,
        "{report}"
    );
    assert_eq!(metrics.get("initDurationMs").is_some(), cold, "{report}");
    // A cold start is a new environment: `platform.initStart` comes first.
    let expected: &[&str] = if cold {
        &["platform.initStart", "platform.start", "platform.report"]
    } else {
        &["platform.start", "platform.report"]
    };
    assert_eq!(
        system_types(log),
        expected,
        "INFO keeps the init's start, start and report only:\n{log}"
    );
    if cold {
        let init: Value = serde_json::from_str(line_with(log, "\"platform.initStart\"")).unwrap();
        assert_eq!(
            init["record"],
            json!({
                "initializationType": "on-demand",
                "phase": "init",
                "functionName": function,
                "functionVersion": "$LATEST"
            })
        );
    }
}

#[tokio::test]
async fn python_logging_writes_lambdas_json_records_and_system_records() {
    let function = probe(
        "python",
        "probe-json",
        json_logging(LogLevel::Info, LogLevel::Info),
    );
    let invocation = invoke(&function, r#"{"action":"json_log"}"#).await;
    let (id, log) = (&invocation.request_id, &invocation.log);
    assert_eq!(invocation.payload(), "\"logged\"");
    assert_start_and_report(log, id, "probe-json", true);

    // print stays a plain line; a raw record below INFO is dropped.
    assert!(log.lines().any(|line| line == "printed line"), "{log}");
    assert!(!log.contains("raw debug record"), "{log}");
    line_with(log, "raw error record");
    assert!(!log.contains("debug line"), "DEBUG is below INFO: {log}");

    // The runtime's records: Python's separators, Lambda's keys in order.
    let info = line_with(log, "info line");
    let (timestamp, rest) = info
        .strip_prefix("{\"timestamp\": \"")
        .and_then(|rest| rest.split_once('"'))
        .unwrap_or_else(|| panic!("{info}"));
    assert_utc_time(timestamp, false);
    assert_eq!(
        rest,
        format!(
            ", \"level\": \"INFO\", \"message\": \"info line 1\", \"logger\": \"root\", \"requestId\": \"{id}\"}}"
        )
    );
    let warning = line_with(log, "warning line");
    assert!(
        warning.ends_with(&format!(
            "\"level\": \"WARNING\", \"message\": \"warning line\", \"logger\": \"lambda_function\", \"requestId\": \"{id}\", \"order\": 7}}"
        )),
        "{warning}"
    );
    let caught = line_with(log, "\"caught\"");
    assert_key_order(
        caught,
        &[
            "timestamp",
            "level",
            "message",
            "logger",
            "stackTrace",
            "errorType",
            "errorMessage",
            "requestId",
            "location",
        ],
    );
    let caught: Value = serde_json::from_str(caught).unwrap();
    assert_eq!(caught["level"], "ERROR");
    assert_eq!(caught["errorType"], "ValueError");
    assert_eq!(caught["errorMessage"], "caught value");
    let trace = caught["stackTrace"].as_array().unwrap();
    assert!(
        trace
            .iter()
            .any(|frame| frame.as_str().unwrap().contains("in fail")),
        "{caught}"
    );
    let location = caught["location"].as_str().unwrap();
    assert!(
        location.contains("lambda_function.py:lambda_handler:"),
        "{location}"
    );

    let environment = crate::common::json(invoke(&function, r#"{"action":"env"}"#).await.payload());
    assert_eq!(environment["AWS_LAMBDA_LOG_FORMAT"], "JSON");
    assert_eq!(environment["AWS_LAMBDA_LOG_LEVEL"], "INFO");
}

#[tokio::test]
async fn python_levels_drop_records_prints_and_system_records_below_them() {
    // WARN: INFO records, prints and the system's INFO records go; what is
    // WARN or above stays, the unhandled error's record included.
    let function = probe(
        "python",
        "probe-json-warn",
        json_logging(LogLevel::Warn, LogLevel::Warn),
    );
    let invocation = invoke(&function, r#"{"action":"json_log"}"#).await;
    let log = &invocation.log;
    for gone in [
        "printed line",
        "probe init",
        "info line",
        "raw debug record",
    ] {
        assert!(!log.contains(gone), "{gone:?} is below WARN:\n{log}");
    }
    for kept in ["warning line", "\"caught\"", "raw error record"] {
        line_with(log, kept);
    }
    assert_eq!(system_types(log), Vec::<String>::new(), "{log}");

    let failed = invoke(&function, r#"{"action":"raise"}"#).await;
    assert_eq!(failed.function_error().unwrap().error_type, "ValueError");
    let error: Value = serde_json::from_str(line_with(&failed.log, "bad value")).unwrap();
    assert_eq!(error["level"], "ERROR");
    assert_eq!(error["errorType"], "ValueError");
    assert_eq!(error["errorMessage"], "bad value");
    assert_eq!(error["requestId"], failed.request_id.as_str());
    assert!(
        !error["stackTrace"].as_array().unwrap().is_empty(),
        "{error}"
    );
    assert_utc_time(error["timestamp"].as_str().unwrap(), false);

    // DEBUG: the root logger is set to it, raw DEBUG records stay, and
    // the system's DEBUG record of the handler's end appears.
    let function = probe(
        "python",
        "probe-json-debug",
        json_logging(LogLevel::Debug, LogLevel::Debug),
    );
    let invocation = invoke(&function, r#"{"action":"json_log"}"#).await;
    let log = &invocation.log;
    let debug: Value = serde_json::from_str(line_with(log, "debug line")).unwrap();
    assert_eq!(debug["level"], "DEBUG");
    line_with(log, "raw debug record");
    assert_eq!(
        system_types(log),
        [
            "platform.initStart",
            "platform.start",
            "platform.runtimeDone",
            "platform.report"
        ],
        "{log}"
    );
    let done: Value = serde_json::from_str(line_with(log, "platform.runtimeDone")).unwrap();
    assert_eq!(done["record"]["status"], "success");
    assert_eq!(done["record"]["metrics"]["producedBytes"], 8, "{done}");
}

#[tokio::test]
async fn node_console_writes_lambdas_json_records_and_skips_methods_below_the_level() {
    let function = probe(
        "js",
        "probe-js-json",
        json_logging(LogLevel::Info, LogLevel::Info),
    );
    let invocation = invoke(&function, r#"{"action":"json_log"}"#).await;
    let (id, log) = (&invocation.request_id, &invocation.log);
    assert_start_and_report(log, id, "probe-js-json", true);
    // Compact JSON, `timestamp`, `level`, `requestId`, `message`.
    let several = line_with(log, "log line");
    let (timestamp, rest) = several
        .strip_prefix("{\"timestamp\":\"")
        .and_then(|rest| rest.split_once('"'))
        .unwrap_or_else(|| panic!("{several}"));
    assert_utc_time(timestamp, true);
    assert_eq!(
        rest,
        format!(",\"level\":\"INFO\",\"requestId\":\"{id}\",\"message\":\"log line {{ n: 1 }}\"}}")
    );
    let one: Value = serde_json::from_str(line_with(log, "\"order\"")).unwrap();
    assert_eq!(one["message"], json!({ "order": 7, "nested": [1] }));
    assert!(!log.contains("debug line"), "DEBUG is below INFO: {log}");
    assert!(!log.contains("raw debug"), "{log}");
    assert_eq!(
        serde_json::from_str::<Value>(line_with(log, "warn line")).unwrap()["level"],
        "WARN"
    );
    let error: Value = serde_json::from_str(line_with(log, "bad thing")).unwrap();
    assert_eq!(error["level"], "ERROR");
    assert_eq!(error["message"]["errorType"], "TypeError");
    assert_eq!(error["message"]["errorMessage"], "bad thing");
    assert_eq!(
        error["message"]["stackTrace"][0], "TypeError: bad thing",
        "{error}"
    );
    let among: Value = serde_json::from_str(line_with(log, "with error")).unwrap();
    assert!(
        among["message"]
            .as_str()
            .unwrap()
            .starts_with("with error RangeError: far"),
        "{among}"
    );
    assert_eq!(among["errorType"], "RangeError");
    assert_eq!(among["errorMessage"], "far");
    assert!(among["stackTrace"].is_array(), "{among}");

    // WARN: log and info write nothing, warn and error do; an unhandled
    // error is a JSON ERROR record.
    let function = probe(
        "js",
        "probe-js-json-warn",
        json_logging(LogLevel::Warn, LogLevel::Info),
    );
    let invocation = invoke(&function, r#"{"action":"json_log"}"#).await;
    let log = &invocation.log;
    for gone in ["log line", "\"order\"", "probe init"] {
        assert!(!log.contains(gone), "{gone:?} is below WARN:\n{log}");
    }
    for kept in ["warn line", "bad thing", "with error"] {
        line_with(log, kept);
    }
    let failed = invoke(&function, r#"{"action":"throw_error"}"#).await;
    let error_type = &failed.function_error().unwrap().error_type;
    let record: Value = serde_json::from_str(line_with(
        &failed.log,
        &format!("\"errorType\":\"{error_type}\""),
    ))
    .unwrap();
    assert_eq!(record["level"], "ERROR");
    assert_eq!(record["requestId"], failed.request_id.as_str());
    assert!(record["message"]["stackTrace"].is_array(), "{record}");
}
