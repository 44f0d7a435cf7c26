//! One module per subcommand.

pub mod bench_encoder;
pub mod deck;
pub mod embed;
pub mod eval;
pub mod export;
pub mod finetune;
pub mod segment;
pub mod serve;
