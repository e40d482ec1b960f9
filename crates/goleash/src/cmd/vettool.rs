//! `go vet -vettool=$(command -v goleash)`: the go command's protocol, in
//! `goleash_lint::vettool`; this only connects it to the process.

use std::ffi::OsString;
use std::process::ExitCode;

use goleash_lint::vettool::{self, Request};

use super::exit;

/// Whether the go command is running goleash as a vet tool (checked before clap, which would
/// reject `-V=full`, `-flags` and a bare `vet.cfg`).
pub fn is_invocation(args: &[OsString]) -> bool {
    vettool::is_invocation(args)
}

pub fn run(args: &[OsString]) -> ExitCode {
    let request = match vettool::parse_args(args) {
        Ok(request) => request,
        Err(e) => {
            eprintln!("goleash: {e}");
            return exit::code(exit::ERROR);
        }
    };
    match request {
        Request::Version => {
            let exe = std::env::current_exe().ok();
            let cwd = std::env::current_dir().unwrap_or_default();
            let line = vettool::version_line(env!("CARGO_PKG_VERSION"), exe.as_deref(), &cwd);
            print_or_fail(&(line + "\n"))
        }
        Request::Flags => print_or_fail(&(vettool::flags_json() + "\n")),
        Request::Run(run) => {
            let load = |dir: &std::path::Path| {
                let Some(path) = goleash_lint::config::find_upward(dir) else {
                    return Ok(None);
                };
                let file = super::config::GoleashToml::load(&path)?;
                let parent = path.parent().map(|p| p.to_path_buf()).unwrap_or_default();
                Ok(Some((file.lint, parent)))
            };
            let code = vettool::run(
                &run,
                &load,
                &mut std::io::stdout().lock(),
                &mut std::io::stderr().lock(),
            );
            exit::code(code)
        }
    }
}

fn print_or_fail(text: &str) -> ExitCode {
    if super::print(text) {
        exit::code(exit::CLEAN)
    } else {
        exit::code(exit::ERROR)
    }
}
