//! Where a function's code comes from in `CreateFunction` and
//! `UpdateFunctionCode`: the zip in the request (`ZipFile`), an object of
//! the configured S3 endpoint (`S3Bucket`/`S3Key`), or a folder of this
//! machine named by LocalStack's hot-reload convention
//! (`S3Bucket = "hot-reload"`, `S3Key = "/absolute/folder"`).
//!
//! Every source ends as zip bytes, so that the code store, `CodeSha256` and
//! `Code.Location` work the same for all three.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::response::Response;
use serde_json::{Map, Value};

use super::registry::{MAX_UNZIPPED_BYTES, MAX_ZIP_BYTES};
use super::reply::{invalid, service_error};

/// The bucket names LocalStack reads as "this folder of the machine":
/// `hot-reload` today, `__local__` in older tool configurations.
const HOT_RELOAD_BUCKETS: &[&str] = &["hot-reload", "__local__"];

/// How long fetching one S3 object may take.
const S3_TIMEOUT: Duration = Duration::from_secs(120);

/// The zip a `Code` object (or an `UpdateFunctionCode` request) names.
pub(crate) async fn zip_of(
    region: &str,
    s3_endpoint: Option<&str>,
    code: &Map<String, Value>,
) -> Result<Vec<u8>, Response> {
    use base64::Engine as _;
    let text = |key: &str| code.get(key).and_then(Value::as_str).map(str::to_string);
    if let Some(encoded) = text("ZipFile") {
        let zip = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| invalid("ZipFile is not base64."))?;
        if zip.len() > MAX_ZIP_BYTES {
            return Err(service_error(
                413,
                "RequestEntityTooLargeException",
                &format!("Zipped file size must be smaller than {MAX_ZIP_BYTES} bytes."),
            ));
        }
        return Ok(zip);
    }
    if code.contains_key("ImageUri") {
        return Err(invalid(
            "This server deploys Zip functions only (ImageUri is not supported).",
        ));
    }
    let (Some(bucket), Some(key)) = (text("S3Bucket"), text("S3Key")) else {
        return Err(invalid("Please provide a source for function code."));
    };
    if HOT_RELOAD_BUCKETS.contains(&bucket.as_str()) {
        let folder = PathBuf::from(&key);
        return blocking(move || folder_zip(&folder)).await;
    }
    let Some(endpoint) = s3_endpoint.map(str::to_string) else {
        return Err(invalid(&format!(
            "Error occurred while GetObject. This server has no S3 endpoint to fetch s3://{bucket}/{key} from: start it with --s3-endpoint URL (or s3_endpoint in its configuration file)."
        )));
    };
    let version = text("S3ObjectVersion");
    let region = region.to_string();
    blocking(move || get_object(&region, &endpoint, &bucket, &key, version.as_deref())).await
}

/// Runs `work` off the async threads; its error becomes Lambda's
/// `InvalidParameterValueException`.
async fn blocking(
    work: impl FnOnce() -> Result<Vec<u8>, String> + Send + 'static,
) -> Result<Vec<u8>, Response> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(zip)) => Ok(zip),
        Ok(Err(message)) => Err(invalid(&message)),
        Err(error) => Err(service_error(500, "ServiceException", &error.to_string())),
    }
}

/// `GET <endpoint>/<bucket>/<key>` (path-style, as local S3 servers
/// such as moto's and LocalStack's take it), signed, with Lambda's errors
/// when the object cannot be had.
fn get_object(
    region: &str,
    endpoint: &str,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> Result<Vec<u8>, String> {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    // S3's unreserved characters stay as they are; `/` separates the key's
    // parts.
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    let encoded_key = key
        .split('/')
        .map(|part| utf8_percent_encode(part, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/");
    let mut url = format!(
        "{}/{}/{encoded_key}",
        endpoint.trim_end_matches('/'),
        utf8_percent_encode(bucket, SEGMENT)
    );
    if let Some(version) = version {
        url.push_str("?versionId=");
        url.push_str(&utf8_percent_encode(version, SEGMENT).to_string());
    }
    let failed = |why: String| format!("Error occurred while GetObject. {why}");
    let mut request = http::Request::get(&url)
        .body(())
        .map_err(|error| failed(format!("The object's URL {url} is not valid: {error}")))?;
    super::aws::sign(&mut request, &[], region, "s3", super::aws::Rules::S3).map_err(failed)?;
    let agent = super::aws::agent(S3_TIMEOUT);
    let mut response = agent.run(request).map_err(|error| {
        failed(format!(
            "Could not reach the S3 endpoint {endpoint}: {error}"
        ))
    })?;
    // A zip from S3 is not held to the 50 MB of a direct upload, only to
    // the unzipped limit (a zip is never much larger than its contents).
    let limit = MAX_UNZIPPED_BYTES + (1 << 20);
    let body = response
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|_| format!("Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"))?;
    if response.status().is_success() {
        return Ok(body);
    }
    let text = String::from_utf8_lossy(&body);
    let element = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].to_string())
    };
    Err(failed(format!(
        "S3 Error Code: {}. S3 Error Message: {}",
        element("Code").unwrap_or_else(|| response.status().as_u16().to_string()),
        element("Message").unwrap_or_else(|| "the object could not be read".into()),
    )))
}

/// A zip of `folder`'s files, in name order and with fixed times, so that
/// an unchanged folder gives the same `CodeSha256` every time.
///
/// Symbolic links count as the file they point to when it is inside the
/// folder (npm's `node_modules/.bin`); one that leads outside is refused,
/// as an uploaded zip's would be.
fn folder_zip(folder: &Path) -> Result<Vec<u8>, String> {
    if !folder.is_absolute() {
        return Err(format!(
            "The hot-reload S3Key {} is not an absolute path of a folder on the server's machine.",
            folder.display()
        ));
    }
    let root = folder.canonicalize().map_err(|error| {
        format!(
            "The hot-reload folder {} cannot be read: {error}",
            folder.display()
        )
    })?;
    if !root.is_dir() {
        return Err(format!(
            "The hot-reload S3Key {} is not a folder.",
            folder.display()
        ));
    }
    let mut files = Vec::new();
    collect(&root, &root, &mut files)?;
    files.sort();
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .last_modified_time(zip::DateTime::default());
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut budget = MAX_UNZIPPED_BYTES;
    let too_large = || format!("Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes");
    for (relative, path) in files {
        let mut file = std::fs::File::open(&path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let mode = {
            use std::os::unix::fs::PermissionsExt as _;
            file.metadata()
                .map(|metadata| metadata.permissions().mode())
                .unwrap_or(0o644)
        };
        let mut bytes = Vec::new();
        (&mut file)
            .take(budget + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        if bytes.len() as u64 > budget {
            return Err(too_large());
        }
        budget -= bytes.len() as u64;
        zip.start_file(relative, options.unix_permissions(mode & 0o777))
            .and_then(|()| zip.write_all(&bytes).map_err(Into::into))
            .map_err(|error| format!("cannot zip the hot-reload folder: {error}"))?;
    }
    let zip = zip
        .finish()
        .map_err(|error| format!("cannot zip the hot-reload folder: {error}"))?;
    Ok(zip.into_inner())
}

/// Every file under `dir` as (its name in the zip, its path).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| format!("cannot read {}: {error}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|error| format!("cannot read {}: {error}", dir.display()))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let relative = || {
            path.strip_prefix(root)
                .map(|relative| relative.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        if kind.is_dir() {
            collect(root, &path, files)?;
        } else if kind.is_symlink() {
            let target = path
                .canonicalize()
                .ok()
                .filter(|target| target.starts_with(root));
            match target {
                Some(target) if target.is_file() => files.push((relative(), target)),
                // A link to a folder inside: its files are there already.
                Some(_) => {}
                None => {
                    return Err(format!(
                        "The hot-reload folder's entry {} is a symbolic link that leads outside the folder.",
                        relative()
                    ));
                }
            }
        } else if kind.is_file() {
            files.push((relative(), path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unchanged_folder_zips_to_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/a.py"), b"A = 1\n").unwrap();
        std::fs::write(dir.path().join("handler.py"), b"def h(e, c): return 1\n").unwrap();
        let first = folder_zip(dir.path()).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let second = folder_zip(dir.path()).unwrap();
        assert_eq!(first, second);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(first)).unwrap();
        let names: Vec<_> = archive.file_names().map(str::to_string).collect();
        assert_eq!(names, ["handler.py", "pkg/a.py"]);
        let mut text = String::new();
        archive
            .by_name("pkg/a.py")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "A = 1\n");
    }

    #[test]
    fn a_link_out_of_the_folder_is_refused_and_one_inside_is_its_file() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"s3cr3t").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("real.txt"), b"inside").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real.txt"), dir.path().join("link.txt"))
            .unwrap();
        let zip = folder_zip(dir.path()).unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        let mut text = String::new();
        archive
            .by_name("link.txt")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "inside");

        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("leak")).unwrap();
        let refused = folder_zip(dir.path()).unwrap_err();
        assert!(refused.contains("leak"), "{refused}");
    }

    #[test]
    fn a_relative_or_missing_folder_is_refused_with_its_name() {
        let relative = folder_zip(Path::new("functions/hello")).unwrap_err();
        assert!(relative.contains("not an absolute path"), "{relative}");
        let missing = folder_zip(Path::new("/no/such/folder")).unwrap_err();
        assert!(missing.contains("/no/such/folder"), "{missing}");
    }
}
