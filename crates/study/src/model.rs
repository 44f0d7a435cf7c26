//! Where the evaluation library's data meets the model: a scan read by `eval::sample` as
//! the encoder's input, and a protocol's prompt as the predictor's.

use eval::protocols::Prompt;
use imaging::DecodedImage;
use sam::{PromptInput, RgbImage};

/// The encoder's input for a scan read by `eval::sample`; `None` when its pixels do not
/// match its size.
pub fn encoder_image(image: &DecodedImage) -> Option<RgbImage> {
    RgbImage::new(
        image.width as usize,
        image.height as usize,
        image.rgb.clone(),
    )
}

/// A protocol's prompt (original-image pixels) as [`sam::SamPredictor`] takes it: no mask
/// input, the prompt's own multimask choice.
pub fn prompt_input(prompt: &Prompt) -> PromptInput {
    PromptInput {
        points: prompt.points.clone(),
        labels: prompt.labels.clone(),
        bbox: prompt.bbox,
        mask_input: None,
        multimask: prompt.multimask,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eval::protocols::{Protocol, ProtocolOptions, first_prompt};

    #[test]
    fn prompts_keep_their_points_box_and_output_choice() {
        // A 4×4 image with a 3-pixel instance (pixel indices, row-major).
        let pixels = [5, 6, 9];
        let options = ProtocolOptions::default();
        let (promptless, _) = first_prompt(Protocol::Promptless, &pixels, 4, 4, &options, &[]);
        let input = prompt_input(&promptless);
        assert!(input.points.is_empty() && input.labels.is_empty());
        assert!(input.bbox.is_none() && input.mask_input.is_none() && !input.multimask);
        let (boxed, _) = first_prompt(Protocol::Box, &pixels, 4, 4, &options, &[]);
        let input = prompt_input(&boxed);
        assert_eq!(input.bbox, Some([1.0, 1.0, 2.0, 2.0]));
        assert!(input.points.is_empty() && !input.multimask);
        let (point, _) = first_prompt(Protocol::Centroid, &pixels, 4, 4, &options, &[]);
        let input = prompt_input(&point);
        assert_eq!((input.points, input.labels), (point.points, point.labels));
        assert!(input.multimask && input.bbox.is_none());
    }

    #[test]
    fn scans_become_the_encoders_image_when_their_size_fits() {
        let mut scan = DecodedImage {
            width: 2,
            height: 1,
            rgb: vec![1, 2, 3, 4, 5, 6],
            format: imaging::SourceFormat::Png,
            conversion: imaging::Conversion::Direct,
        };
        let image = encoder_image(&scan).unwrap();
        assert_eq!(
            (image.width, image.height, image.pixels),
            (2, 1, scan.rgb.clone())
        );
        scan.width = 3;
        assert!(encoder_image(&scan).is_none());
    }
}
