//! One module per subcommand.

pub(crate) mod bench;
pub(crate) mod cancel;
pub(crate) mod client;
pub(crate) mod compare;
pub(crate) mod completions;
pub(crate) mod contracts;
pub(crate) mod estimate;
pub(crate) mod explain;
pub(crate) mod jobs;
pub(crate) mod logs;
pub(crate) mod offers;
pub(crate) mod plan;
pub(crate) mod pools;
pub(crate) mod replay;
pub(crate) mod serve;
pub(crate) mod show;
pub(crate) mod simulate;
pub(crate) mod submit;
pub(crate) mod validate;
