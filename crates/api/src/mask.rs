//! Masks as they leave the decoder: binary, at the original image size.

/// A binary mask at the original image size, row-major, 1 = inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryMask {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `height * width` values, 0 or 1.
    pub data: Vec<u8>,
}

impl BinaryMask {
    /// Number of foreground pixels.
    pub fn area(&self) -> usize {
        self.data.iter().filter(|&&v| v != 0).count()
    }
}

/// Index of the highest predicted IoU (first on ties): the candidate SAM keeps.
pub fn best_index(iou_predictions: &[f32]) -> usize {
    iou_predictions
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv { (i, v) } else { (bi, bv) }
        })
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_candidate_is_the_first_highest_iou() {
        assert_eq!(best_index(&[0.2, 0.9, 0.9]), 1);
        assert_eq!(best_index(&[0.5]), 0);
        assert_eq!(best_index(&[]), 0);
        assert_eq!(best_index(&[f32::NAN, 0.1]), 1);
    }

    #[test]
    fn the_area_counts_nonzero_pixels() {
        let mask = BinaryMask {
            width: 3,
            height: 1,
            data: vec![0, 1, 2],
        };
        assert_eq!(mask.area(), 2);
    }
}
