//! `spillway completions SHELL` and `spillway man`: generated from the same clap definitions
//! as `--help`, so that they never drift from the commands.

use clap_complete::Shell;
use std::path::PathBuf;

/// Flags of `spillway completions`.
#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell. For bash:
    /// `spillway completions bash > ~/.local/share/bash-completion/completions/spillway`.
    shell: Shell,
}

/// Flags of `spillway man`.
#[derive(Debug, clap::Args)]
pub(crate) struct ManArgs {
    /// Write `spillway.1` and one page per subcommand (`spillway-submit.1`, ...) into this
    /// directory instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

pub(crate) fn completions(args: CompletionsArgs) -> anyhow::Result<()> {
    let mut cmd = crate::cli_command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "spillway", &mut out);
    crate::output::emit(&String::from_utf8(out)?)?;
    Ok(())
}

pub(crate) fn man(args: ManArgs) -> anyhow::Result<()> {
    let cmd = crate::cli_command();
    match args.out_dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            crate::output::emit(&String::from_utf8(out)?)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            clap_mangen::generate_to(cmd, &dir)?;
        }
    }
    Ok(())
}
