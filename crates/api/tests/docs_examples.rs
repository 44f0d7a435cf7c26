//! Every JSON example in docs/api.md parses into its type in this crate and serialises
//! back to the same JSON, so the documentation cannot drift from the contract. Each
//! fenced `json` block must be claimed by exactly one entry of [`EXAMPLES`]; a new
//! example fails this test until it is mapped to its type there.

use api::{
    AuthStatus, Case, ErrorBody, ModelList, SignIn, SliceInfo, SliceRequest, UploadReply,
    WindowSpec, WireDtype,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// How one example is checked: parsed as its type (and, where the JSON alone does not say
/// it, checked to be the right variant), then compared with what that type writes back.
struct Example {
    /// Text that occurs in this example's block and in no other.
    marker: &'static str,
    /// The type it documents.
    type_name: &'static str,
    parse: fn(&str) -> Result<Value, String>,
}

/// Parses `text` as `T` and serialises it again.
fn round_trip<T: DeserializeOwned + Serialize>(text: &str) -> Result<(T, Value), String> {
    let parsed: T = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
    Ok((parsed, back))
}

fn plain<T: DeserializeOwned + Serialize>(text: &str) -> Result<Value, String> {
    round_trip::<T>(text).map(|(_, back)| back)
}

const EXAMPLES: &[Example] = &[
    Example {
        marker: r#""error": "unsupported_media_type""#,
        type_name: "ErrorBody",
        parse: plain::<ErrorBody>,
    },
    Example {
        marker: r#"{ "id": "9f2c"#,
        type_name: "UploadReply::Image",
        parse: |text| match round_trip::<UploadReply>(text)? {
            (UploadReply::Image(_), back) => Ok(back),
            (other, _) => Err(format!("read as {other:?}, not an image")),
        },
    },
    Example {
        marker: r#""kind": "volume""#,
        type_name: "UploadReply::Volume",
        parse: |text| match round_trip::<UploadReply>(text)? {
            (UploadReply::Volume(v), back) if v.image.is_none() => Ok(back),
            (other, _) => Err(format!("read as {other:?}, not a volume without a slice")),
        },
    },
    Example {
        marker: r#"{ "axis": "axial", "index": 40"#,
        type_name: "SliceRequest",
        parse: |text| match round_trip::<SliceRequest>(text)? {
            (
                SliceRequest {
                    window: Some(WindowSpec::Text(_)),
                    ..
                },
                back,
            ) => Ok(back),
            (other, _) => Err(format!("read as {other:?}, not a window by name")),
        },
    },
    Example {
        marker: r#""volume_id": "5be1…""#,
        type_name: "SliceInfo",
        parse: plain::<SliceInfo>,
    },
    Example {
        marker: r#"{ "models": ["#,
        type_name: "ModelList",
        parse: |text| {
            let (list, back) = round_trip::<ModelList>(text)?;
            let model = list.models.first().ok_or("no model")?;
            if (model.decoder.dtype, model.decoder_f32.dtype) != (WireDtype::F16, WireDtype::F32) {
                return Err("the decoders' dtypes are not f16 and f32".into());
            }
            Ok(back)
        },
    },
    Example {
        marker: r#""title": "amos_0001/z042""#,
        type_name: "Case",
        parse: plain::<Case>,
    },
    Example {
        marker: r#""token_required": "#,
        type_name: "AuthStatus",
        parse: plain::<AuthStatus>,
    },
    Example {
        marker: r#"{ "token": "#,
        type_name: "SignIn",
        parse: plain::<SignIn>,
    },
];

/// The fenced `json` blocks of `markdown`, with their first line number.
fn json_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (number, line) in markdown.lines().enumerate() {
        let fence = line.trim_start();
        match &mut open {
            None if fence.starts_with("```json") => open = Some((number + 2, String::new())),
            Some(_) if fence.starts_with("```") => blocks.extend(open.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    assert!(open.is_none(), "docs/api.md ends inside a json block");
    blocks
}

/// Every number as f64, so `400` and `400.0` compare equal.
fn numbers_as_f64(value: Value) -> Value {
    match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Number(n), Value::Number),
        Value::Array(items) => Value::Array(items.into_iter().map(numbers_as_f64).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, numbers_as_f64(v)))
                .collect(),
        ),
        other => other,
    }
}

#[test]
fn every_json_example_in_the_api_docs_is_an_api_type() {
    // Found at run time: a path compiled in (`env!`) would name whichever checkout first
    // built this test, which Cargo reuses for other checkouts sharing the target folder.
    let package = std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo test");
    let path = std::path::Path::new(&package).join("../../docs/api.md");
    let markdown = std::fs::read_to_string(&path).expect("docs/api.md is readable");
    let blocks = json_blocks(&markdown);
    assert!(!blocks.is_empty(), "no json block found in docs/api.md");
    let mut claimed = vec![0usize; EXAMPLES.len()];
    for (line, text) in &blocks {
        let matching: Vec<usize> = (0..EXAMPLES.len())
            .filter(|&i| text.contains(EXAMPLES[i].marker))
            .collect();
        let [index] = matching[..] else {
            panic!(
                "docs/api.md:{line}: a json example claimed by {} entries of EXAMPLES \
                 (map each new example to its api type there):\n{text}",
                matching.len()
            );
        };
        claimed[index] += 1;
        let example = &EXAMPLES[index];
        let written: Value = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("docs/api.md:{line}: not JSON ({e}):\n{text}"));
        let back = (example.parse)(text).unwrap_or_else(|e| {
            panic!(
                "docs/api.md:{line}: does not parse as {}: {e}\n{text}",
                example.type_name
            )
        });
        assert_eq!(
            numbers_as_f64(back),
            numbers_as_f64(written),
            "docs/api.md:{line}: {} writes back other JSON than the example (a field the \
             type does not have, or one it always writes)",
            example.type_name
        );
    }
    for (example, count) in EXAMPLES.iter().zip(claimed) {
        assert_eq!(
            count, 1,
            "the {} example (marker {:?}) occurs {count} times in docs/api.md",
            example.type_name, example.marker
        );
    }
}

#[test]
fn the_block_reader_finds_fenced_json_only() {
    let markdown = "text\n```json\n{\"a\": 1}\n```\n```\nplain\n```\n  ```json\n[]\n  ```\n";
    assert_eq!(
        json_blocks(markdown),
        vec![(3, "{\"a\": 1}\n".to_string()), (9, "[]\n".to_string())]
    );
}
