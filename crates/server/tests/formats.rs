//! Medical formats through the server: DICOM / NIfTI uploads become volumes, slices become
//! images whose ids name the slice and window, and nothing of a DICOM file's patient, study
//! or institution attributes is ever stored, logged or returned.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};

use std::sync::{Arc, Mutex, OnceLock};

use hyper::Method;
use hyper::body::Bytes;
use support::{TestServer, json};
use test_support::read_testdata as testdata;
use test_support::scans::dicom::Dataset;

/// Every log line of this test binary, at every level.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Capture(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");
        logs
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn post_json(
    server: &TestServer,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value, hyper::Response<Bytes>) {
    let response = server
        .request(
            Method::POST,
            path,
            &[("content-type", "application/json")],
            body.to_string().into_bytes(),
        )
        .await;
    (response.status().as_u16(), json(&response), response)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ct_slice_is_an_image_whose_id_names_slice_and_window() {
    let server = TestServer::fresh("ct", |_| {}).await;
    let (status, up) = server.upload(testdata("CT_small.dcm"), &[]).await;
    assert_eq!(status, 200, "{up}");
    assert_eq!(up["kind"], "volume");
    assert_eq!(up["format"], "dicom");
    let volume = up["volume"]["id"].as_str().unwrap().to_string();
    assert_eq!(up["volume"]["dims"], serde_json::json!([128, 128, 1]));
    assert_eq!(up["volume"]["slices"]["native"], 1);
    assert_eq!(up["volume"]["presets"]["ct_abdomen"]["width"], 1353.0);
    // A single slice: the response is also the image, as for a PNG.
    let default_id = up["id"].as_str().unwrap().to_string();
    assert_eq!(
        (up["width"].as_u64(), up["height"].as_u64()),
        (Some(128), Some(128))
    );
    let png = server.get(&format!("/api/v1/images/{default_id}")).await;
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");

    let slice = |window: serde_json::Value| serde_json::json!({"axis": "native", "index": 0, "window": window});
    let path = format!("/api/v1/volumes/{volume}/slices");
    let (s, abdomen, _) = post_json(&server, &path, slice("ct_abdomen".into())).await;
    assert_eq!(s, 200, "{abdomen}");
    assert_eq!(abdomen["window"]["lower"], -991.0);
    assert_eq!(abdomen["window"]["upper"], 362.0);
    assert_eq!(
        abdomen["pixel_spacing_mm"],
        serde_json::json!([0.661468, 0.661468])
    );
    let (_, again, _) = post_json(
        &server,
        &path,
        slice(serde_json::json!({"preset": "ct_abdomen"})),
    )
    .await;
    assert_eq!(again["id"], abdomen["id"], "same slice and window, same id");
    let (_, lung, _) = post_json(
        &server,
        &path,
        slice(serde_json::json!({"center": -600, "width": 1500})),
    )
    .await;
    let (_, pct, _) = post_json(
        &server,
        &path,
        slice(serde_json::json!({"percentiles": [0.5, 99.5]})),
    )
    .await;
    let ids = [
        default_id.clone(),
        abdomen["id"].to_string(),
        lung["id"].to_string(),
        pct["id"].to_string(),
    ]
    .map(|v| v.trim_matches('"').to_string());
    for (i, a) in ids.iter().enumerate() {
        for b in &ids[i + 1..] {
            assert_ne!(a, b, "every window has its own id");
        }
    }
    // The slice's embedding is computed like any image's.
    let emb = server
        .get(&format!(
            "/api/v1/images/{}/embedding",
            abdomen["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(emb.status(), 200);

    // Bad requests.
    for (body, code) in [
        (serde_json::json!({"axis": "native", "index": 1}), 400),
        (serde_json::json!({"axis": "oblique", "index": 0}), 400),
        (
            serde_json::json!({"axis": "native", "index": 0, "window": "40,0"}),
            400,
        ),
        (serde_json::json!({"axis": "native"}), 400),
    ] {
        let (s, e, _) = post_json(&server, &path, body.clone()).await;
        assert_eq!(s, code, "{body}: {e}");
        assert_eq!(e["error"], "bad_request");
    }
    let missing = format!("/api/v1/volumes/{}/slices", "0".repeat(64));
    let (s, e, _) = post_json(&server, &missing, slice("default".into())).await;
    assert_eq!((s, e["error"].as_str()), (404, Some("volume_not_found")));
    let info = server.get(&format!("/api/v1/volumes/{volume}")).await;
    assert_eq!(json(&info)["dims"], up["volume"]["dims"]);
    server.stop_and_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nifti_volume_slices_along_every_axis_and_bad_files_get_4xx() {
    let server = TestServer::fresh("nifti", |_| {}).await;
    let (status, up) = server.upload(testdata("mni152_t1.nii.gz"), &[]).await;
    assert_eq!(status, 200, "{up}");
    assert_eq!(up["kind"], "volume");
    assert!(up.get("id").is_none(), "a volume has no default image");
    let v = &up["volume"];
    assert_eq!(v["dims"], serde_json::json!([197, 233, 189]));
    assert_eq!(
        v["slices"],
        serde_json::json!({"axial": 189, "coronal": 233, "sagittal": 197, "native": 189})
    );
    assert_eq!(v["slice_size"]["sagittal"], serde_json::json!([233, 189]));
    let path = format!("/api/v1/volumes/{}/slices", v["id"].as_str().unwrap());
    let mut ids = Vec::new();
    for (axis, index) in [
        ("axial", 90),
        ("coronal", 120),
        ("sagittal", 80),
        ("axial", 91),
    ] {
        let (s, r, _) = post_json(
            &server,
            &path,
            serde_json::json!({"axis": axis, "index": index, "window": "p0.5-99.5"}),
        )
        .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["axis"], axis);
        ids.push(r["id"].as_str().unwrap().to_string());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
    // A window whose label cannot be stored: 400 with a reason, not 500.
    for window in [
        serde_json::json!({"center": 1e308, "width": 1e308}),
        serde_json::json!({"center": 1e20, "width": 1e-20}),
        serde_json::json!("1e308,1e308"),
    ] {
        let (s, r, _) = post_json(
            &server,
            &path,
            serde_json::json!({"axis": "axial", "index": 90, "window": window}),
        )
        .await;
        assert_eq!((s, r["error"].as_str()), (400, Some("bad_request")), "{r}");
    }

    let (s, e) = server
        .upload(testdata("MR_small_jp2klossless.dcm"), &[])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    assert!(e["detail"].as_str().unwrap().contains("JPEG 2000"), "{e}");
    let (s, e) = server.upload(testdata("MR_truncated.dcm"), &[]).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (422, Some("unprocessable_image")),
        "{e}"
    );
    let mut nrrd = testdata("mni152_crop.nrrd");
    nrrd.truncate(nrrd.len() - 10);
    let (s, e) = server.upload(nrrd, &[]).await;
    assert_eq!(s, 422, "{e}");
    server.stop_and_clean().await;
}

const PATIENT_NAME: &str = "Zyxwvut^Quortlebeck";
const PATIENT_ID: &str = "PID-938174-XQJ";
const INSTITUTION: &str = "Institute of Qwertyuiopasdf";
const OTHERS: [&str; 4] = [
    "19230817",
    "Dr^Vexmorrow",
    "Blorptown General",
    "STUDY-ZZ-4471",
];

/// A CT-like DICOM file carrying distinctive patient, study and institution attributes.
fn identifiable_dicom() -> Vec<u8> {
    let pixels: Vec<u8> = (0..96u32)
        .flat_map(|y| {
            (0..128u32).map(move |x| {
                if (x as i32 - 64).pow(2) + (y as i32 - 48).pow(2) < 900 {
                    200
                } else {
                    (x + y) as u8 / 4
                }
            })
        })
        .collect();
    Dataset::new()
        .text((0x0008, 0x0016), b"UI", "1.2.840.10008.5.1.4.1.1.2") // CT Image Storage
        .text((0x0008, 0x0018), b"UI", "1.2.826.0.1.3680043.2.1125.1.1")
        .text((0x0008, 0x0060), b"CS", "CT")
        .text((0x0008, 0x0080), b"LO", INSTITUTION)
        .text((0x0008, 0x0081), b"ST", OTHERS[2]) // institution address
        .text((0x0008, 0x0090), b"PN", OTHERS[1]) // referring physician
        .text((0x0010, 0x0010), b"PN", PATIENT_NAME)
        .text((0x0010, 0x0020), b"LO", PATIENT_ID)
        .text((0x0010, 0x0030), b"DA", OTHERS[0]) // birth date
        .text((0x0020, 0x0010), b"SH", OTHERS[3]) // study id
        .us((0x0028, 0x0002), 1) // samples per pixel
        .text((0x0028, 0x0004), b"CS", "MONOCHROME2")
        .us((0x0028, 0x0010), 96) // rows
        .us((0x0028, 0x0011), 128) // columns
        .text((0x0028, 0x0030), b"DS", "0.7\\0.8") // pixel spacing
        .us((0x0028, 0x0100), 8) // bits allocated
        .us((0x0028, 0x0101), 8) // bits stored
        .us((0x0028, 0x0102), 7) // high bit
        .us((0x0028, 0x0103), 0) // unsigned
        .text((0x0028, 0x1052), b"DS", "-1024") // rescale intercept
        .text((0x0028, 0x1053), b"DS", "8") // rescale slope
        .put((0x7FE0, 0x0010), b"OB", &pixels)
        .file()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn assert_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes).to_lowercase();
    let needles = [
        PATIENT_NAME,
        PATIENT_ID,
        INSTITUTION,
        "Zyxwvut",
        "Quortlebeck",
        "Qwertyuiopasdf",
    ]
    .into_iter()
    .chain(OTHERS);
    for needle in needles {
        assert!(
            !text.contains(&needle.to_lowercase()),
            "{what} contains `{needle}`"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dicom_patient_attributes_never_reach_the_store_the_logs_or_a_response() {
    let logs = captured_logs();
    let dicom = identifiable_dicom();
    assert!(
        String::from_utf8_lossy(&dicom).contains(PATIENT_NAME),
        "the fixture carries them"
    );

    let server = TestServer::fresh("deid", |_| {}).await;
    let mut responses: Vec<hyper::Response<Bytes>> = Vec::new();
    let upload = server
        .request(Method::POST, "/api/v1/images", &[], dicom.clone())
        .await;
    let up = json(&upload);
    assert_eq!(upload.status(), 200, "{up}");
    responses.push(upload);
    let volume = up["volume"]["id"].as_str().unwrap().to_string();
    let image = up["id"].as_str().unwrap().to_string();
    // The pixels made it: 8-bit × 8 − 1024 HU, a bright disc in the middle.
    assert_eq!(
        up["volume"]["value_range"],
        serde_json::json!([-1024.0, 576.0])
    );
    assert_eq!(up["pixel_spacing_mm"], serde_json::json!([0.8, 0.7]));

    for path in [
        format!("/api/v1/volumes/{volume}"),
        format!("/api/v1/images/{image}"),
        format!("/api/v1/images/{image}/embedding"),
        "/metrics".to_string(),
    ] {
        let r = server.get(&path).await;
        assert_eq!(r.status(), 200, "{path}");
        responses.push(r);
    }
    let (_, slice, r) = post_json(
        &server,
        &format!("/api/v1/volumes/{volume}/slices"),
        serde_json::json!({"axis": "axial", "index": 0, "window": "soft_tissue"}),
    )
    .await;
    responses.push(r);
    responses.push(
        server
            .get(&format!("/api/v1/images/{}", slice["id"].as_str().unwrap()))
            .await,
    );
    // A broken copy of the same file: its error must not quote it either.
    let r = server
        .request(
            Method::POST,
            "/api/v1/images",
            &[],
            dicom[..dicom.len() - 100].to_vec(),
        )
        .await;
    assert_eq!(r.status(), 422);
    responses.push(r);

    let data_dir = server.data_dir.clone();
    server.stop().await;
    for response in &responses {
        let mut head = format!("{:?}", response.headers());
        head.push_str(&format!("{}", response.status()));
        assert_clean("a response header", head.as_bytes());
        assert_clean("a response body", response.body());
    }
    let stored = files(&data_dir);
    assert!(
        stored
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "vol")),
        "the volume is stored"
    );
    for path in &stored {
        assert_clean(&path.display().to_string(), &std::fs::read(path).unwrap());
    }
    let logs = logs.lock().unwrap().clone();
    assert!(
        String::from_utf8_lossy(&logs).contains(&volume),
        "the logs were captured"
    );
    assert_clean("the server log", &logs);
    let _ = std::fs::remove_dir_all(data_dir);
}
