//! One module per subcommand.

pub(crate) mod estimate;
pub(crate) mod offers;
pub(crate) mod simulate;
