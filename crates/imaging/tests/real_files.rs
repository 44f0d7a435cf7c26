//! Real scans from PyPI packages (`scripts/fetch-testdata.sh`), checked against values that
//! pydicom, nibabel and pynrrd read from the same files (`tools/golden/make_medical_golden.py`,
//! constants in `support/golden.rs`).

#[path = "support/golden.rs"]
#[allow(dead_code)]
mod golden;

use imaging::{
    Axis, ImagingError, Limits, Scan, SourceFormat, Volume, Window, apply_window, decode_labels,
    decode_scan, decode_scan_image, detect,
};
use test_support::{cuts, read_testdata as read};

fn volume(name: &str) -> Volume {
    match decode_scan(&read(name), &Limits::default()) {
        Ok(Scan::Volume(v)) => v,
        Ok(Scan::Image(_)) => panic!("{name}: decoded as a raster image"),
        Err(e) => panic!("{name}: {e}"),
    }
}

fn check_values(
    name: &str,
    v: &Volume,
    dims: [usize; 4],
    values: &[(usize, usize, usize, usize, f64)],
) {
    assert_eq!(
        [v.dims()[0], v.dims()[1], v.dims()[2], v.channels()],
        dims,
        "{name}"
    );
    for &(i, j, k, c, expected) in values {
        let got = v.value_at(i, j, k, c).unwrap();
        assert!(
            (got - expected).abs() <= 1e-9 * expected.abs().max(1.0),
            "{name} at ({i}, {j}, {k}) channel {c}: {got}, pydicom says {expected}"
        );
    }
}

fn close(a: [f64; 3], b: [f64; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
}

#[test]
fn ct_small_is_in_hounsfield_units_with_its_geometry() {
    let v = volume("CT_small.dcm");
    check_values(
        "CT_small",
        &v,
        golden::CT_SMALL_DIMS,
        golden::CT_SMALL_VALUES,
    );
    let g = v.geometry();
    assert!(g.oriented);
    assert_eq!([g.spacing[0], g.spacing[1]], golden::CT_SMALL_PIXEL_SPACING);
    assert!(close(g.origin, golden::CT_SMALL_ORIGIN));
    let o = golden::CT_SMALL_ORIENTATION;
    assert!(close(g.directions[0], [o[0], o[1], o[2]]));
    assert!(close(g.directions[1], [o[3], o[4], o[5]]));
    // One slice: decode_scan_image renders it with the default window.
    let image = decode_scan_image(&read("CT_small.dcm"), &Limits::default()).unwrap();
    assert_eq!(
        (image.width, image.height, image.format),
        (128, 128, SourceFormat::Dicom)
    );
    // The paper's abdomen window: −991 HU → 0, 362 HU → 255.
    let r = v
        .render(
            Axis::Axial,
            0,
            &"ct_abdomen".parse().unwrap(),
            SourceFormat::Dicom,
        )
        .unwrap();
    for &(i, j, _, _, hu) in golden::CT_SMALL_VALUES {
        let expected = ((hu.clamp(-991.0, 362.0) + 991.0) / 1353.0 * 255.0 + 0.5).floor() as u8;
        assert_eq!(r.image.rgb[3 * (j * 128 + i)], expected, "HU {hu}");
    }
}

#[test]
fn mr_small_reads_the_same_in_every_encoding() {
    let reference = volume("MR_small.dcm");
    check_values(
        "MR_small",
        &reference,
        golden::MR_SMALL_DIMS,
        golden::MR_SMALL_VALUES,
    );
    let (c, w) = golden::MR_SMALL_WINDOW;
    let window = reference.default_window().unwrap();
    assert_eq!((window.center, window.width), (c, w));
    for name in [
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_RLE.dcm",
    ] {
        let v = volume(name);
        check_values(name, &v, golden::MR_SMALL_DIMS, golden::MR_SMALL_VALUES);
        assert_eq!(v.voxels(), reference.voxels(), "{name}");
    }
}

#[test]
fn rt_dose_is_a_multi_frame_volume_with_slice_spacing() {
    let v = volume("rtdose.dcm");
    check_values("rtdose", &v, golden::RTDOSE_DIMS, golden::RTDOSE_VALUES);
    let g = v.geometry();
    assert_eq!(g.spacing, [10.0, 10.0, golden::RTDOSE_SLICE_SPACING]);
    assert!(close(g.origin, golden::RTDOSE_ORIGIN));
    assert_eq!(v.slice_count(Axis::Axial), 15);
    assert_eq!(v.slice_count(Axis::Native), 15);
    assert_eq!(v.slice_count(Axis::Coronal), 10);
    let coronal = v.slice(Axis::Coronal, 3).unwrap();
    assert_eq!((coronal.width, coronal.height), (10, 15));
    assert_eq!(coronal.pixel_spacing, [10.0, golden::RTDOSE_SLICE_SPACING]);
    let err = decode_scan_image(&read("rtdose.dcm"), &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("10×10×15"), "{err}");
}

#[test]
fn monochrome1_chest_radiograph_shows_dark_lungs() {
    let v = volume("RG1_UNCI.dcm");
    check_values(
        "RG1_UNCI",
        &v,
        golden::RG1_UNCI_DIMS,
        golden::RG1_UNCI_VALUES,
    );
    assert!(v.invert(), "MONOCHROME1 is displayed inverted");
    let image = decode_scan_image(&read("RG1_UNCI.dcm"), &Limits::default()).unwrap();
    let (w, h) = (image.width as usize, image.height as usize);
    let mean = |r0: f64, r1: f64, c0: f64, c1: f64| {
        let (r0, r1) = ((r0 * h as f64) as usize, (r1 * h as f64) as usize);
        let (c0, c1) = ((c0 * w as f64) as usize, (c1 * w as f64) as usize);
        let mut sum = 0u64;
        for y in r0..r1 {
            for x in c0..c1 {
                sum += u64::from(image.rgb[3 * (y * w + x)]);
            }
        }
        sum as f64 / ((r1 - r0) * (c1 - c0)) as f64
    };
    let right_lung = mean(0.3, 0.55, 0.2, 0.38);
    let left_lung = mean(0.3, 0.55, 0.62, 0.8);
    let mediastinum = mean(0.3, 0.55, 0.45, 0.55);
    assert!(
        right_lung < 180.0 && left_lung < 180.0 && mediastinum > 200.0,
        "lungs {right_lung:.0}/{left_lung:.0} should be dark, the mediastinum {mediastinum:.0} bright"
    );
}

#[test]
fn jpeg_lossless_is_exact_and_baseline_is_close() {
    let v = volume("JPEG-LL.dcm");
    check_values("JPEG-LL", &v, golden::JPEG_LL_DIMS, golden::JPEG_LL_VALUES);
    let v = volume("SC_rgb_jpeg_dcmtk.dcm");
    assert_eq!(v.channels(), 3);
    for &(i, j, k, c, expected) in golden::SC_RGB_JPEG_DCMTK_VALUES {
        let got = v.value_at(i, j, k, c).unwrap();
        assert!(
            (got - expected).abs() <= 3.0,
            "JPEG baseline at ({i}, {j}) {c}: {got} vs {expected}"
        );
    }
}

#[test]
fn rgb_rle_and_palette_colour_match_pydicom() {
    let v = volume("SC_rgb_rle.dcm");
    check_values(
        "SC_rgb_rle",
        &v,
        golden::SC_RGB_RLE_DIMS,
        golden::SC_RGB_RLE_VALUES,
    );
    let v = volume("examples_palette.dcm");
    check_values(
        "examples_palette",
        &v,
        golden::EXAMPLES_PALETTE_DIMS,
        golden::EXAMPLES_PALETTE_VALUES,
    );
    // 8-bit RGB is shown as it is by default.
    let r = v
        .render(Axis::Native, 0, &Window::Default, SourceFormat::Dicom)
        .unwrap();
    let (i, j, _, _, red) = golden::EXAMPLES_PALETTE_VALUES[0];
    assert_eq!(f64::from(r.image.rgb[3 * (j * 800 + i)]), red);
}

#[test]
fn one_bit_segmentation_is_a_label_map() {
    let v = volume("liver_1frame.dcm");
    check_values(
        "liver_1frame",
        &v,
        golden::LIVER_1FRAME_DIMS,
        golden::LIVER_1FRAME_VALUES,
    );
    let labels = decode_labels(&read("liver_1frame.dcm"), &Limits::default()).unwrap();
    let slice = labels.label_slice(Axis::Native, 0).unwrap();
    let (i, j, ..) = golden::LIVER_1FRAME_VALUES[5];
    assert_eq!(slice.labels[j * 512 + i], 1);
    assert!(slice.labels.iter().all(|&l| l <= 1));
}

#[test]
fn unsupported_and_broken_dicom_get_clear_errors() {
    let err = decode_scan(&read("MR_small_jp2klossless.dcm"), &Limits::default()).unwrap_err();
    assert!(matches!(err, ImagingError::Unsupported(..)), "{err}");
    assert!(err.to_string().contains("JPEG 2000"), "{err}");
    assert!(err.to_string().contains("1.2.840.10008.1.2.4.90"), "{err}");
    let err = decode_scan(&read("MR_truncated.dcm"), &Limits::default()).unwrap_err();
    assert!(matches!(err, ImagingError::Corrupt("DICOM", _)), "{err}");
}

/// The lengths among [`cuts`]`(bytes.len(), n)` at which `bytes` still decode, each
/// checked to decode to exactly the whole file's volume (never to other voxels).
fn decoding_cuts(name: &str, bytes: &[u8], n: usize) -> Vec<usize> {
    let limits = Limits::default();
    let whole = volume(name);
    let mut decoded = Vec::new();
    for len in cuts(bytes.len(), n) {
        match decode_scan(&bytes[..len], &limits) {
            Err(_) => {}
            Ok(Scan::Volume(v)) => {
                assert!(v == whole, "{name} cut at {len} decodes to other voxels");
                decoded.push(len);
            }
            Ok(Scan::Image(_)) => panic!("{name} cut at {len} decodes as a raster image"),
        }
    }
    decoded
}

/// The sequence delimitation item that closes encapsulated (RLE, JPEG) pixel data.
const SEQUENCE_DELIMITER: [u8; 8] = [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0];
/// The tag of the data set trailing padding element (FFFC,FFFC), little-endian.
const TRAILING_PADDING: [u8; 4] = [0xFC, 0xFF, 0xFC, 0xFF];

/// The cuts of a DICOM file whose voxels end at byte `end` that still decode, and must:
/// the decoder takes the end of the bytes as the end of the data set, so a cut anywhere
/// in the sequence delimiter after the last fragment, or after it (or after a native
/// Pixel Data element) leaving less than a whole tag of a trailing padding element, is a
/// complete file of the same voxels. Nothing else may decode.
fn voxel_keeping_dicom_cuts(name: &str, bytes: &[u8], end: usize) -> Vec<usize> {
    let mut cuts = Vec::new();
    let mut at = end;
    if bytes[at..].starts_with(&SEQUENCE_DELIMITER) {
        cuts.extend(at..at + SEQUENCE_DELIMITER.len());
        at += SEQUENCE_DELIMITER.len();
    }
    if at < bytes.len() {
        assert!(
            bytes[at..].starts_with(&TRAILING_PADDING),
            "{name}: trailing padding after the pixel data"
        );
        cuts.extend(at..at + TRAILING_PADDING.len());
    }
    cuts
}

#[test]
fn every_truncation_of_every_real_file_is_an_error_not_a_panic() {
    // Files up to 16 KiB are cut at every length, larger ones at 2048 lengths, densest at
    // both ends (headers, trailing elements). With each, where its voxels end when bytes
    // follow them (pydicom: the end of Pixel Data's value, or of its last fragment).
    for (name, voxels_end) in [
        ("CT_small.dcm", Some(39_068)),
        ("MR_small_implicit.dcm", None),
        ("MR_small_bigendian.dcm", None),
        ("MR_small_RLE.dcm", Some(7_644)),
        ("SC_rgb_jpeg_dcmtk.dcm", Some(3_416)),
        ("examples_palette.dcm", None),
        ("rtdose.dcm", None),
        ("mni152_crop.nrrd", None),
    ] {
        let bytes = read(name);
        let n = if bytes.len() <= 16 << 10 {
            bytes.len()
        } else {
            2048
        };
        let expected = match voxels_end {
            Some(end) => voxel_keeping_dicom_cuts(name, &bytes, end),
            None => Vec::new(),
        };
        assert_eq!(
            decoding_cuts(name, &bytes, n),
            expected,
            "{name}: the cuts that decode"
        );
    }
    // gzip: the decoder inflates exactly the bytes the NIfTI header asks for and stops,
    // so a cut that drops only what follows the last voxel's bits (the 8-byte trailer,
    // CRC-32 and size, and the 2 bytes that end the last deflate block; zlib inflates the
    // whole volume from all but the last 10 bytes, not from all but 11) decodes to the
    // whole volume; every other cut is an error. (256 cuts: each inflates up to 8.6 MB.)
    let gz = read("mni152_t1.nii.gz");
    let after_last_voxel: Vec<usize> = (gz.len() - 10..gz.len()).collect();
    assert_eq!(
        decoding_cuts("mni152_t1.nii.gz", &gz, 256),
        after_last_voxel
    );
}

#[test]
fn mni152_nifti_values_geometry_and_display_slices_match_nibabel() {
    let v = volume("mni152_t1.nii.gz");
    assert_eq!(v.dims(), golden::MNI_DIMS);
    for &(i, j, k, expected) in golden::MNI_VALUES {
        assert_eq!(v.value_at(i, j, k, 0), Some(expected), "({i}, {j}, {k})");
    }
    // RAS affine → LPS geometry.
    let a = golden::MNI_RAS_AFFINE;
    let g = v.geometry();
    assert!(g.oriented);
    assert!(close(g.origin, [-a[0][3], -a[1][3], a[2][3]]));
    assert!(close(
        g.position([1.0, 0.0, 0.0]),
        [
            -(a[0][0] + a[0][3]),
            -(a[1][0] + a[1][3]),
            a[2][0] + a[2][3]
        ]
    ));
    for (axis, (index, size, pixels)) in [
        (Axis::Axial, golden::MNI_AXIAL),
        (Axis::Coronal, golden::MNI_CORONAL),
        (Axis::Sagittal, golden::MNI_SAGITTAL),
    ] {
        let s = v.slice(axis, index).unwrap();
        assert_eq!([s.width, s.height], size, "{axis}");
        for &(x, y, expected) in pixels {
            assert_eq!(
                f64::from(s.values[y * s.width + x]),
                expected,
                "{axis} {index} at ({x}, {y})"
            );
        }
    }
    // Format by content: the same bytes under any name.
    assert_eq!(
        detect(&read("mni152_t1.nii.gz")).unwrap(),
        SourceFormat::Nifti
    );
}

#[test]
fn nrrd_crop_matches_pynrrd_and_the_nifti_it_was_cut_from() {
    let v = volume("mni152_crop.nrrd");
    assert_eq!(v.dims(), golden::NRRD_DIMS);
    for &(i, j, k, expected) in golden::NRRD_VALUES {
        assert_eq!(v.value_at(i, j, k, 0), Some(expected), "({i}, {j}, {k})");
    }
    let o = golden::NRRD_RAS_ORIGIN;
    assert!(close(v.geometry().origin, [-o[0], -o[1], o[2]]));
    let mni = volume("mni152_t1.nii.gz");
    let [di, dj, dk] = golden::NRRD_CROP_OFFSET;
    for &(i, j, k, _) in golden::NRRD_VALUES {
        assert_eq!(
            v.value_at(i, j, k, 0),
            mni.value_at(i + di, j + dj, k + dk, 0)
        );
    }
    // Same orientation as the NIfTI: an axial slice of the crop is a crop of its axial slice.
    let crop = v.slice(Axis::Axial, 10).unwrap();
    let full = mni.slice(Axis::Axial, 10 + dk).unwrap();
    // Columns are flipped (RAS → patient left), so the crop's x = 0 is the MNI's i = 129.
    let x0 = mni.dims()[0] - 1 - (di + v.dims()[0] - 1);
    let y0 = mni.dims()[1] - 1 - (dj + v.dims()[1] - 1);
    for y in (0..crop.height).step_by(7) {
        for x in (0..crop.width).step_by(5) {
            assert_eq!(
                crop.values[y * crop.width + x],
                full.values[(y + y0) * full.width + x + x0]
            );
        }
    }
    // And as labels (uint8, whole numbers) it slices the same way, on the same grid.
    let labels = decode_labels(&read("mni152_crop.nrrd"), &Limits::default()).unwrap();
    assert!(labels.same_grid(&v) && !labels.same_grid(&mni));
    let ls = labels.label_slice(Axis::Sagittal, 40).unwrap();
    let s = v.slice(Axis::Sagittal, 40).unwrap();
    assert!(
        ls.labels
            .iter()
            .zip(&s.values)
            .all(|(&l, &x)| l as f32 == x)
    );
    let r = v.resolve_window(&Window::MR_PERCENTILES).unwrap();
    assert_eq!(apply_window(&s, &r).len(), s.width * s.height * 3);
}
