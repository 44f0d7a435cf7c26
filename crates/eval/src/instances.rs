//! Ground-truth instances: what one prompt is asked to segment.
//!
//! `class` mode (the paper's default): every label value of a layer is one instance, even
//! when its pixels form several pieces. `component` mode: every 8-connected component of
//! every label value is one instance, numbered 1, 2, … in raster order of its first pixel.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use api::BinaryMask;

use crate::error::EvalError;
use crate::ground_truth::GroundTruth;

/// How label maps are split into instances (`--instances`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceMode {
    /// Each label value is one instance.
    Class,
    /// Each 8-connected component of each label value is one instance.
    Component,
}

impl InstanceMode {
    /// The name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceMode::Class => "class",
            InstanceMode::Component => "component",
        }
    }
}

impl fmt::Display for InstanceMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InstanceMode {
    type Err = EvalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "class" => Ok(InstanceMode::Class),
            "component" => Ok(InstanceMode::Component),
            other => Err(EvalError::option(
                "--instances",
                format!("`{other}`; use class or component"),
            )),
        }
    }
}

/// One ground-truth object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Index of its layer in [`GroundTruth::layers`].
    pub layer: usize,
    /// Class name.
    pub class: String,
    /// Label value.
    pub value: u16,
    /// Component number (1-based) in `component` mode, 0 in `class` mode.
    pub component: u32,
    /// Flat pixel indices (`row * width + col`), ascending.
    pub pixels: Vec<u32>,
}

impl Instance {
    /// `"<value>"` in class mode, `"<value>.<component>"` in component mode.
    pub fn key(&self) -> String {
        if self.component == 0 {
            self.value.to_string()
        } else {
            format!("{}.{}", self.value, self.component)
        }
    }

    /// The instance as a full-size mask.
    pub fn mask(&self, width: usize, height: usize) -> BinaryMask {
        let mut data = vec![0u8; width * height];
        for &p in &self.pixels {
            data[p as usize] = 1;
        }
        BinaryMask {
            width,
            height,
            data,
        }
    }
}

/// A declared class with no pixels in an image: skipped and counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmptyClass {
    /// Class name.
    pub class: String,
    /// Its label value.
    pub value: u16,
}

/// The instances of one image and the declared classes it lacks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Instances {
    /// Non-empty instances, by layer, value, component.
    pub instances: Vec<Instance>,
    /// Declared classes without pixels.
    pub empty: Vec<EmptyClass>,
}

/// Splits `gt` into instances.
pub fn extract(gt: &GroundTruth, mode: InstanceMode) -> Instances {
    let mut out = Instances::default();
    for (layer_index, layer) in gt.layers.iter().enumerate() {
        let mut buckets: BTreeMap<u16, Vec<u32>> = BTreeMap::new();
        for (i, &v) in layer.map.data.iter().enumerate() {
            if v != 0 {
                buckets.entry(v).or_default().push(i as u32);
            }
        }
        for (&value, name) in &layer.classes.names {
            if !buckets.contains_key(&value) {
                out.empty.push(EmptyClass {
                    class: name.clone(),
                    value,
                });
            }
        }
        let mut visited = match mode {
            InstanceMode::Class => Vec::new(),
            InstanceMode::Component => vec![false; layer.map.data.len()],
        };
        for (value, pixels) in buckets {
            let class = layer.classes.name(value);
            let pieces = match mode {
                InstanceMode::Class => vec![pixels],
                InstanceMode::Component => components(
                    &layer.map.data,
                    layer.map.width,
                    value,
                    &pixels,
                    &mut visited,
                ),
            };
            for (k, pixels) in pieces.into_iter().enumerate() {
                out.instances.push(Instance {
                    layer: layer_index,
                    class: class.clone(),
                    value,
                    component: match mode {
                        InstanceMode::Class => 0,
                        InstanceMode::Component => k as u32 + 1,
                    },
                    pixels,
                });
            }
        }
    }
    out
}

/// The 8-connected components of the pixels equal to `value`, each sorted, numbered by
/// their first pixel in raster order.
fn components(
    data: &[u16],
    width: usize,
    value: u16,
    seeds: &[u32],
    visited: &mut [bool],
) -> Vec<Vec<u32>> {
    let height = data.len() / width;
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for &seed in seeds {
        if visited[seed as usize] {
            continue;
        }
        visited[seed as usize] = true;
        stack.push(seed);
        let mut piece = Vec::new();
        while let Some(p) = stack.pop() {
            piece.push(p);
            let (r, c) = (p as usize / width, p as usize % width);
            for dr in -1i64..=1 {
                for dc in -1i64..=1 {
                    let (nr, nc) = (r as i64 + dr, c as i64 + dc);
                    if (dr, dc) == (0, 0)
                        || nr < 0
                        || nc < 0
                        || nr >= height as i64
                        || nc >= width as i64
                    {
                        continue;
                    }
                    let n = nr as usize * width + nc as usize;
                    if data[n] == value && !visited[n] {
                        visited[n] = true;
                        stack.push(n as u32);
                    }
                }
            }
        }
        piece.sort_unstable();
        out.push(piece);
    }
    out
}

/// The 8-connected components of the non-zero pixels of a binary mask (for error regions),
/// each sorted, in raster order of their first pixel.
pub fn mask_components(mask: &[bool], width: usize) -> Vec<Vec<u32>> {
    let data: Vec<u16> = mask.iter().map(|&m| u16::from(m)).collect();
    let seeds: Vec<u32> = (0..mask.len() as u32)
        .filter(|&i| mask[i as usize])
        .collect();
    let mut visited = vec![false; mask.len()];
    components(&data, width, 1, &seeds, &mut visited)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ground_truth::{Classes, LabelMap, Layer};

    fn gt(width: usize, data: Vec<u16>, classes: Classes) -> GroundTruth {
        let height = data.len() / width;
        GroundTruth {
            width,
            height,
            layers: vec![Layer {
                map: LabelMap {
                    width,
                    height,
                    data,
                },
                classes,
            }],
        }
    }

    #[test]
    fn class_mode_keeps_split_labels_whole_component_mode_splits_them() {
        // Label 2 has two pieces; label 1 touches itself diagonally (one 8-component).
        #[rustfmt::skip]
        let data = vec![
            2, 0, 0, 2,
            0, 1, 0, 0,
            0, 0, 1, 0,
        ];
        let truth = gt(
            4,
            data,
            Classes::from_pairs(&[(1, "a"), (2, "b"), (3, "c")]),
        );
        let by_class = extract(&truth, InstanceMode::Class);
        assert_eq!(by_class.instances.len(), 2);
        assert_eq!(by_class.instances[0].pixels, [5, 10]);
        assert_eq!(by_class.instances[1].pixels, [0, 3]);
        assert_eq!(by_class.instances[1].key(), "2");
        assert_eq!(
            by_class.empty,
            [EmptyClass {
                class: "c".into(),
                value: 3
            }]
        );

        let by_component = extract(&truth, InstanceMode::Component);
        let keys: Vec<_> = by_component.instances.iter().map(Instance::key).collect();
        assert_eq!(keys, ["1.1", "2.1", "2.2"]);
        assert_eq!(by_component.instances[0].pixels, [5, 10]);
        assert_eq!(by_component.instances[2].pixels, [3]);
        assert_eq!(by_component.instances[2].class, "b");
    }

    #[test]
    fn undeclared_values_are_instances_named_by_number() {
        let truth = gt(2, vec![0, 9], Classes::default());
        let found = extract(&truth, InstanceMode::Class);
        assert_eq!(found.instances[0].class, "9");
        assert!(found.empty.is_empty());
        let mask = found.instances[0].mask(2, 1);
        assert_eq!(mask.data, [0, 1]);
    }

    #[test]
    fn mask_components_are_eight_connected() {
        #[rustfmt::skip]
        let mask = [
            true, false, false,
            false, true, false,
            false, false, false,
        ];
        assert_eq!(mask_components(&mask, 3), vec![vec![0, 4]]);
    }
}
