//! MetaImage files written by SimpleITK (`tests/fixtures/metaimage/make_fixtures.py`, an
//! independent MetaIO writer): the values and geometry SimpleITK reads back from them
//! (`golden.txt`), and the MNI152 NIfTI they were cut from (`scripts/fetch-testdata.sh`).

use imaging::{
    Axis, ImagingError, Limits, Scan, SourceFormat, Volume, decode_labels, decode_scan,
    decode_scan_file, decode_scan_image, detect,
};
use test_support::{cuts, metaimage_fixture as fixture, read_testdata as testdata, scratch_dir};

/// A MetaImage fixture read from its path, as the command line reads it.
fn volume(name: &str) -> Volume {
    let path = fixture(name);
    let bytes = std::fs::read(&path).unwrap();
    match decode_scan_file(&bytes, &path, &Limits::default()) {
        Ok(Scan::Volume(v)) => v,
        Ok(Scan::Image(_)) => panic!("{name}: decoded as a raster image"),
        Err(e) => panic!("{name}: {e}"),
    }
}

/// What SimpleITK read back from one fixture.
#[derive(Default)]
struct Golden {
    file: String,
    dims: Vec<usize>,
    spacing: Vec<f64>,
    origin: Vec<f64>,
    /// ITK's direction matrix, row-major: column `c` is voxel axis `c`.
    direction: Vec<f64>,
    values: Vec<(usize, usize, usize, usize, f64)>,
}

fn golden() -> (Vec<Golden>, [usize; 3]) {
    let text = std::fs::read_to_string(fixture("golden.txt")).unwrap();
    let mut files: Vec<Golden> = Vec::new();
    let mut offset = [0; 3];
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let key = words.next().unwrap();
        let nums: Vec<f64> = words.clone().filter_map(|w| w.parse().ok()).collect();
        match key {
            "file" => files.push(Golden {
                file: words.next().unwrap().to_string(),
                ..Golden::default()
            }),
            "dims" => files.last_mut().unwrap().dims = nums.iter().map(|&d| d as usize).collect(),
            "spacing" => files.last_mut().unwrap().spacing = nums,
            "origin" => files.last_mut().unwrap().origin = nums,
            "direction" => files.last_mut().unwrap().direction = nums,
            "value" => files.last_mut().unwrap().values.push((
                nums[0] as usize,
                nums[1] as usize,
                nums[2] as usize,
                nums[3] as usize,
                nums[4],
            )),
            "crop_offset" => offset = [0, 1, 2].map(|a| nums[a] as usize),
            other => panic!("golden.txt: unknown line {other}"),
        }
    }
    (files, offset)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn every_fixture_reads_as_simpleitk_reads_it() {
    let (files, _) = golden();
    assert_eq!(files.len(), 4);
    for g in &files {
        let v = volume(&g.file);
        let n = g.dims.len();
        let dims: Vec<usize> = (0..3)
            .map(|a| g.dims.get(a).copied().unwrap_or(1))
            .collect();
        assert_eq!(v.dims().to_vec(), dims, "{}", g.file);
        let geometry = v.geometry();
        assert!(geometry.oriented, "{}", g.file);
        for axis in 0..n {
            assert!(close(geometry.spacing[axis], g.spacing[axis]), "{}", g.file);
            assert!(close(geometry.origin[axis], g.origin[axis]), "{}", g.file);
            for row in 0..n {
                assert!(
                    close(geometry.directions[axis][row], g.direction[row * n + axis]),
                    "{}: axis {axis} row {row}",
                    g.file
                );
            }
        }
        assert!(!g.values.is_empty(), "{}: no golden values", g.file);
        for &(i, j, k, c, expected) in &g.values {
            assert_eq!(
                v.value_at(i, j, k, c),
                Some(expected),
                "{} at ({i}, {j}, {k}) channel {c}",
                g.file
            );
        }
    }
    let rgb = volume("rgb_2d.mha");
    assert_eq!(rgb.channels(), 3);
    assert!(rgb.is_single_slice());
}

#[test]
fn single_files_upload_and_detached_headers_say_what_they_need() {
    let limits = Limits::default();
    for name in [
        "mni152_crop.mha",
        "rgb_2d.mha",
        "mni152_crop_i16.mhd",
        "mni152_crop_f32.mhd",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        assert_eq!(detect(&bytes).unwrap(), SourceFormat::MetaImage, "{name}");
    }
    // A .mha decodes from memory (an upload) as from its path.
    let mha = std::fs::read(fixture("mni152_crop.mha")).unwrap();
    let Scan::Volume(from_memory) = decode_scan(&mha, &limits).unwrap() else {
        panic!("a volume")
    };
    assert_eq!(from_memory, volume("mni152_crop.mha"));
    // A 2-D one is an image for the encoder; labels read too.
    let rgb = decode_scan_image(&std::fs::read(fixture("rgb_2d.mha")).unwrap(), &limits).unwrap();
    assert_eq!((rgb.width, rgb.height), (32, 32));
    assert_eq!(&rgb.rgb[..3], &[75, 180, 37]);
    assert!(
        decode_labels(&mha, &limits)
            .unwrap()
            .same_grid(&from_memory)
    );
    // A detached header cannot be decoded from its bytes alone.
    let mhd = std::fs::read(fixture("mni152_crop_i16.mhd")).unwrap();
    let err = decode_scan(&mhd, &limits).unwrap_err();
    assert!(matches!(err, ImagingError::Unsupported(..)), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(".mhd") && text.contains("ElementDataFile") && text.contains(".mha"),
        "{text}"
    );
    // Nor from a header whose data file is not beside it.
    let elsewhere = std::env::temp_dir().join("samscope-no-such-folder/scan.mhd");
    let err = decode_scan_file(&mhd, &elsewhere, &limits)
        .unwrap_err()
        .to_string();
    assert!(err.contains("mni152_crop_i16.raw"), "{err}");
}

#[test]
fn crops_match_the_nifti_they_were_cut_from() {
    let Scan::Volume(mni) = decode_scan(&testdata("mni152_t1.nii.gz"), &Limits::default()).unwrap()
    else {
        panic!("a volume")
    };
    let (_, [di, dj, dk]) = golden();
    let u8s = volume("mni152_crop.mha");
    let i16s = volume("mni152_crop_i16.mhd");
    let f32s = volume("mni152_crop_f32.mhd");
    let [x, y, z] = u8s.dims();
    for k in 0..z {
        for j in 0..y {
            for i in 0..x {
                let v = mni.value_at(i + di, j + dj, k + dk, 0).unwrap();
                assert_eq!(u8s.value_at(i, j, k, 0), Some(v), "({i}, {j}, {k})");
                assert_eq!(i16s.value_at(i, j, k, 0), Some(3.0 * v - 100.0));
                assert_eq!(f32s.value_at(i, j, k, 0), Some(v / 2.0));
            }
        }
    }
    // The same place in the patient: every corner of the crop, and the same axes.
    let (a, b) = (u8s.geometry(), mni.geometry());
    assert_eq!(a.directions, b.directions);
    assert_eq!(a.spacing, b.spacing);
    for corner in [
        [0, 0, 0],
        [x - 1, 0, 0],
        [0, y - 1, 0],
        [x - 1, y - 1, z - 1],
    ] {
        let at = |g: &imaging::Geometry, c: [usize; 3]| g.position(c.map(|v| v as f64));
        let p = at(a, corner);
        let q = at(b, [corner[0] + di, corner[1] + dj, corner[2] + dk]);
        assert!(
            p.iter().zip(q).all(|(p, q)| (p - q).abs() < 1e-6),
            "{p:?} {q:?}"
        );
    }
    assert!(u8s.same_grid(&i16s) && u8s.same_grid(&f32s));
    // So an axial slice of the crop is a crop of the NIfTI's axial slice (both are shown
    // with the patient's right on the left: the columns run the same way).
    let crop = u8s.slice(Axis::Axial, 5).unwrap();
    let full = mni.slice(Axis::Axial, 5 + dk).unwrap();
    let x0 = mni.dims()[0] - 1 - (di + x - 1);
    let y0 = mni.dims()[1] - 1 - (dj + y - 1);
    for row in 0..crop.height {
        for col in 0..crop.width {
            assert_eq!(
                crop.values[row * crop.width + col],
                full.values[(row + y0) * full.width + col + x0]
            );
        }
    }
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let limits = Limits::default();
    for name in ["mni152_crop.mha", "rgb_2d.mha"] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        for len in 0..bytes.len() {
            assert!(
                decode_scan(&bytes[..len], &limits).is_err(),
                "{name}[..{len}]"
            );
        }
    }
    // A detached header, and data files cut short beside it.
    let dir = scratch_dir("mha-cut", "data");
    for (header, data) in [
        ("mni152_crop_i16.mhd", "mni152_crop_i16.raw"),
        ("mni152_crop_f32.mhd", "mni152_crop_f32.zraw"),
    ] {
        let head = std::fs::read(fixture(header)).unwrap();
        let body = std::fs::read(fixture(data)).unwrap();
        let path = dir.join(header);
        std::fs::write(dir.join(data), &body).unwrap();
        for len in 1..head.len() - 1 {
            assert!(
                decode_scan_file(&head[..len], &path, &limits).is_err(),
                "{header}[..{len}]"
            );
        }
        for len in cuts(body.len(), 1024) {
            std::fs::write(dir.join(data), &body[..len]).unwrap();
            let err = decode_scan_file(&head, &path, &limits).unwrap_err();
            assert!(
                matches!(err, ImagingError::Corrupt(..)),
                "{data}[..{len}]: {err}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
