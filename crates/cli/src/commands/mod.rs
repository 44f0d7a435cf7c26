//! One module per subcommand.

pub mod embed;
pub mod export;
pub mod segment;
