//! Running a model for a user, around the network of [`crate::model`]: the facade
//! [`predictor`] (`set_image` / `predict`, prompts and masks mapped between the original
//! image and the model frame), image and coordinate [`transforms`], click-by-click
//! [`session`]s, and reduced [`precision`] for GPU backends.

pub mod precision;
pub mod predictor;
pub mod session;
pub mod transforms;
