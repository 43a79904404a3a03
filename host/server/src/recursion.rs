//! Recursive loop detection, as Lambda does it: a function that invokes
//! itself, or a loop of functions, through the Invoke API is stopped when
//! the chain would run it a 17th time, with `RecursiveInvocationException`,
//! unless its recursion config is `Allow` (`recursive_loop = "Allow"`,
//! `PutFunctionRecursionConfig`).
//!
//! The chain is counted in the trace header, as Lambda counts it: each
//! invocation's header gains a `Lineage` part with an entry per function of
//! the chain (`1:<8 hex of the function's ARN>:<runs before this one>`),
//! and the AWS SDKs copy the handler's `_X_AMZN_TRACE_ID` onto the calls it
//! makes (botocore percent-encodes it). A caller's own header is otherwise
//! kept as it came.

use sha2::{Digest as _, Sha256};

/// How many times one chain of invocations may run a function.
pub(crate) const MAX_RUNS: u32 = 16;

/// The `RecursiveLoop` values of `PutFunctionRecursionConfig`.
pub(crate) const ALLOW: &str = "Allow";
/// The default: loops are stopped.
pub(crate) const TERMINATE: &str = "Terminate";

/// The error message of a stopped loop.
pub(crate) fn stopped_message(function: &str) -> String {
    format!(
        "Lambda function {function} was invoked recursively in a loop and stopped: this chain of \
         invocations already ran it {MAX_RUNS} times. Set its recursive loop configuration to \
         Allow if the loop is intended."
    )
}

/// The entry of a function in a `Lineage`: the first 4 bytes of its ARN's
/// SHA-256, in hex.
fn function_hash(function_arn: &str) -> String {
    Sha256::digest(function_arn.as_bytes())[..4]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The trace header for one more run of `function_arn` (its unqualified
/// ARN) in the chain `header` belongs to, with its count raised; `None`
/// when the chain already ran it [`MAX_RUNS`] times and `allowed` is false.
pub(crate) fn next_run(header: &str, function_arn: &str, allowed: bool) -> Option<String> {
    let hash = function_hash(function_arn);
    let mut parts: Vec<String> = Vec::new();
    let mut entries: Vec<(String, u32)> = Vec::new();
    for part in header
        .split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        let Some(lineage) = part.strip_prefix("Lineage=") else {
            parts.push(part.to_string());
            continue;
        };
        // botocore sends the header percent-encoded.
        let decoded = lineage
            .replace("%7C", "|")
            .replace("%7c", "|")
            .replace("%3A", ":")
            .replace("%3a", ":");
        for entry in decoded.split('|') {
            let fields: Vec<&str> = entry.split(':').collect();
            if let [_version, entry_hash, count] = fields[..]
                && let Ok(count) = count.parse::<u32>()
            {
                entries.push((entry_hash.to_string(), count));
            }
        }
    }
    let runs = match entries
        .iter_mut()
        .find(|(entry_hash, _)| *entry_hash == hash)
    {
        Some((_, count)) => {
            *count = count.saturating_add(1);
            *count
        }
        None => {
            entries.push((hash, 0));
            0
        }
    };
    if runs >= MAX_RUNS && !allowed {
        return None;
    }
    let lineage: Vec<String> = entries
        .iter()
        .map(|(entry_hash, count)| format!("1:{entry_hash}:{count}"))
        .collect();
    parts.push(format!("Lineage={}", lineage.join("|")));
    Some(parts.join(";"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0";
    const F: &str = "arn:aws:lambda:us-east-1:000000000000:function:f";
    const G: &str = "arn:aws:lambda:us-east-1:000000000000:function:g";

    #[test]
    fn a_chain_runs_a_function_sixteen_times_then_stops_unless_allowed() {
        let mut header = ROOT.to_string();
        for run in 0..MAX_RUNS {
            header = next_run(&header, F, false)
                .unwrap_or_else(|| panic!("run {run} was stopped: {header}"));
            assert!(
                header.starts_with(ROOT),
                "the caller's parts stay: {header}"
            );
            assert!(header.ends_with(&format!(":{run}")), "{header}");
        }
        assert_eq!(next_run(&header, F, false), None);
        assert!(next_run(&header, F, true).unwrap().ends_with(":16"));
    }

    #[test]
    fn each_function_of_a_loop_has_its_own_count_and_encoded_headers_are_read() {
        let mut header = ROOT.to_string();
        for _ in 0..MAX_RUNS {
            header = next_run(&header, F, false).unwrap();
            header = next_run(&header, G, false).unwrap();
        }
        assert_eq!(header.matches("1:").count(), 2, "{header}");
        // As botocore sends it.
        let encoded = header.replace('|', "%7C");
        assert_eq!(next_run(&encoded, F, false), None);
        assert_eq!(next_run(&encoded, G, false), None);
        // Another function starts its own count.
        let other = "arn:aws:lambda:us-east-1:000000000000:function:h";
        assert!(next_run(&encoded, other, false).unwrap().ends_with(":0"));
    }

    #[test]
    fn a_malformed_lineage_counts_as_none() {
        let header = format!("{ROOT};Lineage=nonsense|1:zz");
        assert_eq!(
            next_run(&header, F, false).unwrap(),
            format!("{ROOT};Lineage=1:{}:0", function_hash(F))
        );
    }
}
