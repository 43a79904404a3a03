//! A handler for the capability tests: it reaches out as the event says
//! (HTTP, raw TCP, files) and reports what happened, errors included, so
//! the tests can tell a refusal inside the guest from a host failure.

use std::io::{Read, Write};

use serde_json::{Value, json};
use wasm_lambda_sdk::{Context, Error};

fn handler(event: Value, _context: Context) -> Result<Value, Error> {
    let text = |key: &str| event[key].as_str().unwrap_or_default().to_string();
    match event["action"].as_str().unwrap_or_default() {
        "http_get" => Ok(http_get(&text("url"))),
        "http_post" => Ok(http_post(
            &text("url"),
            event["bytes"].as_u64().unwrap_or(0) as usize,
        )),
        "tcp" => Ok(tcp_exchange(&text("address"))),
        "write_tmp" => {
            let bytes = event["bytes"].as_u64().unwrap_or(0) as usize;
            let chunk = vec![b'x'; 1 << 20];
            let written = std::fs::File::create("/tmp/data.bin").and_then(|mut file| {
                let mut left = bytes;
                while left > 0 {
                    let now = left.min(chunk.len());
                    file.write_all(&chunk[..now])?;
                    left -= now;
                }
                file.sync_all()
            });
            match written {
                Ok(()) => Ok(
                    json!({ "written": bytes, "read_back": std::fs::metadata("/tmp/data.bin").map(|m| m.len()).unwrap_or(0) }),
                ),
                Err(error) => Ok(json!({ "error": error.to_string() })),
            }
        }
        "list_tmp" => {
            let names: Vec<String> = std::fs::read_dir("/tmp")
                .map(|entries| {
                    entries
                        .filter_map(|entry| entry.ok())
                        .map(|entry| entry.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            Ok(json!(names))
        }
        "read_file" => match std::fs::read_to_string(text("path")) {
            Ok(content) => Ok(json!({ "content": content })),
            Err(error) => Ok(json!({ "error": error.to_string() })),
        },
        "fill_tmp" => Ok(fill_tmp(
            event["how"].as_str().unwrap_or_default(),
            event["count"].as_u64().unwrap_or(0),
            event["depth"].as_u64().unwrap_or(0),
        )),
        "open_many" => {
            // Holds up to `count` handles of one /tmp file, as a guest
            // exhausting descriptors would.
            let count = event["count"].as_u64().unwrap_or(0) as usize;
            let mut held = Vec::new();
            let error = std::fs::write("/tmp/held", b"x").err().or_else(|| {
                (0..count).find_map(|_| match std::fs::File::open("/tmp/held") {
                    Ok(file) => {
                        held.push(file);
                        None
                    }
                    Err(error) => Some(error),
                })
            });
            Ok(json!({ "opened": held.len(), "error": error.map(|e| e.to_string()) }))
        }
        "env" => Ok(json!(
            std::env::vars().collect::<std::collections::BTreeMap<_, _>>()
        )),
        other => Err(Error::new(
            "UnknownAction",
            format!("unknown action {other}"),
        )),
    }
}

/// Fills `/tmp` `how` the event says, `count` times or until refused, and
/// reports how many steps succeeded and the refusal. Everything goes
/// through `/tmp`'s folder handle, as a guest can with no path at all:
/// - `sparse`: one byte every 4 KiB of one file (positional writes);
/// - `tiny_files`: files of one byte each;
/// - `symlinks`: symbolic links;
/// - `deep`: `depth` nested folders, each opened through its parent's
///   handle, then 1 MiB writes into a file at the bottom.
fn fill_tmp(how: &str, count: u64, depth: u64) -> Value {
    use wasip2::filesystem::types::{Descriptor, DescriptorFlags, OpenFlags, PathFlags};
    let Some((tmp, _)) = wasip2::filesystem::preopens::get_directories()
        .into_iter()
        .find(|(_, path)| path == "/tmp")
    else {
        return json!({ "error": "no /tmp" });
    };
    let write = DescriptorFlags::READ | DescriptorFlags::WRITE;
    let create = |dir: &Descriptor, name: &str| {
        dir.open_at(PathFlags::empty(), name, OpenFlags::CREATE, write)
    };
    let mut done = 0u64;
    let error = match how {
        "sparse" => match create(&tmp, "sparse") {
            Ok(file) => (0..count).find_map(|step| {
                let written = file.write(b"x", step * 4096).err();
                done += u64::from(written.is_none());
                written
            }),
            Err(error) => Some(error),
        },
        "tiny_files" => (0..count).find_map(|step| {
            let written = create(&tmp, &format!("f{step}")).and_then(|file| file.write(b"x", 0));
            done += u64::from(written.is_ok());
            written.err()
        }),
        "symlinks" => (0..count).find_map(|step| {
            let made = tmp.symlink_at("target", &format!("l{step}"));
            done += u64::from(made.is_ok());
            made.err()
        }),
        "deep" => {
            let mut folder = None::<Descriptor>;
            let mut failed = None;
            for _ in 0..depth {
                let parent = folder.as_ref().unwrap_or(&tmp);
                let opened = parent.create_directory_at("d").and_then(|()| {
                    parent.open_at(
                        PathFlags::empty(),
                        "d",
                        OpenFlags::DIRECTORY,
                        DescriptorFlags::READ | DescriptorFlags::MUTATE_DIRECTORY,
                    )
                });
                match opened {
                    Ok(child) => folder = Some(child),
                    Err(error) => {
                        failed = Some(error);
                        break;
                    }
                }
            }
            failed.or_else(|| {
                let bottom = folder.as_ref().unwrap_or(&tmp);
                let chunk = vec![b'x'; 1 << 20];
                match create(bottom, "data") {
                    Ok(file) => (0..count).find_map(|step| {
                        let written = file.write(&chunk, step << 20).err();
                        done += u64::from(written.is_none());
                        written
                    }),
                    Err(error) => Some(error),
                }
            })
        }
        other => return json!({ "error": format!("unknown way {other}") }),
    };
    json!({ "done": done, "error": error.map(|code| format!("{code:?}")) })
}

/// GET `url` through wasi:http: the status and body, or the error.
fn http_get(url: &str) -> Value {
    let request = wstd::http::Request::get(url).body(wstd::http::Body::empty());
    send(request.map_err(|error| error.to_string()))
}

/// POSTs `bytes` bytes: more than the host buffers of a request body, so
/// the guest is still writing it when the host answers.
fn http_post(url: &str, bytes: usize) -> Value {
    let request = wstd::http::Request::post(url).body(wstd::http::Body::from(vec![b'x'; bytes]));
    send(request.map_err(|error| error.to_string()))
}

fn send(request: Result<wstd::http::Request<wstd::http::Body>, String>) -> Value {
    wstd::runtime::block_on(async {
        let request = match request {
            Ok(request) => request,
            Err(error) => return json!({ "error": error }),
        };
        match wstd::http::Client::new().send(request).await {
            Ok(response) => {
                let status = response.status().as_u16();
                let mut body = response.into_body();
                match body.str_contents().await {
                    Ok(text) => json!({ "status": status, "body": text }),
                    Err(error) => json!({ "error": format!("{error:?}") }),
                }
            }
            Err(error) => json!({ "error": format!("{error:?}") }),
        }
    })
}

/// Connects to `address`, sends `ping`, and reads one reply.
fn tcp_exchange(address: &str) -> Value {
    let result = std::net::TcpStream::connect(address).and_then(|mut stream| {
        stream.write_all(b"ping")?;
        let mut reply = [0u8; 64];
        let read = stream.read(&mut reply)?;
        Ok(String::from_utf8_lossy(&reply[..read]).into_owned())
    });
    match result {
        Ok(reply) => json!({ "reply": reply }),
        Err(error) => json!({ "error": error.to_string(), "kind": format!("{:?}", error.kind()) }),
    }
}

wasm_lambda_sdk::handler!(handler);
