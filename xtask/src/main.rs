//! Build automation for aofd, run as `cargo xtask <task>` (an alias in `.cargo/config.toml`).
//!
//! `cargo xtask dist` builds the stripped release binary (profile `packaging`) and packs it,
//! with the systemd unit, the packaged configuration, the sysusers.d entry and the maintainer
//! scripts, into `target/dist/aofd_<version>_amd64.deb` (cargo-deb) and
//! `target/dist/aofd-<version>-1.x86_64.rpm` (cargo-generate-rpm). The package contents are
//! described in Cargo.toml's `[package.metadata.deb]` and `[package.metadata.generate-rpm]`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The cargo-deb release the package metadata is written for (installed by `.ci/run`).
const CARGO_DEB_VERSION: &str = "3.8.0";
/// The cargo-generate-rpm release the package metadata is written for.
const CARGO_GENERATE_RPM_VERSION: &str = "0.21.1";
/// The build profile of the packaged binary (Cargo.toml: release without debug info, stripped).
const PROFILE: &str = "packaging";

const USAGE: &str = "\
Usage: cargo xtask <task>

Tasks:
  dist    build target/dist/aofd_<version>_amd64.deb and target/dist/aofd-<version>-1.x86_64.rpm
          (needs cargo-deb and cargo-generate-rpm: cargo install --locked cargo-deb@3.8.0
          cargo-generate-rpm@0.21.1)
  help    print this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("dist") if args.len() == 1 => dist(),
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown or missing task\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's directory. `cargo run` (the alias) passes
/// the directory at run time; the compile-time one is the fallback when run directly.
fn root() -> Result<PathBuf, String> {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| "xtask's manifest directory has no parent".to_string())
}

/// The cargo that runs us (so `cargo +toolchain xtask` uses that toolchain throughout).
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// Runs `cmd` in `dir`, failing with the command line when it does not exit 0.
fn run(dir: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: running {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .map_err(|e| format!("can't run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed: {status}", args.join(" ")))
    }
}

/// The version a cargo subcommand reports (`cargo deb --version` prints `cargo-deb 3.8.0`),
/// or an error saying how to install it.
fn tool_version(
    dir: &Path,
    subcommand: &str,
    crate_name: &str,
    wanted: &str,
) -> Result<(), String> {
    let install = format!("cargo install --locked {crate_name}@{wanted}");
    let out = Command::new(cargo())
        .args([subcommand, "--version"])
        .current_dir(dir)
        .output()
        .map_err(|e| format!("can't run cargo {subcommand}: {e}; install it: {install}"))?;
    if !out.status.success() {
        return Err(format!(
            "`cargo {subcommand}` is not installed; install it: {install}"
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let found = text.split_whitespace().last().unwrap_or("");
    if found != wanted {
        // Other releases may read the metadata differently; say so, but go on.
        eprintln!(
            "xtask: warning: {crate_name} {found} found; the packaging is written for {wanted} \
             ({install})"
        );
    }
    Ok(())
}

/// `version = "..."` of the `[package]` table in `Cargo.toml`.
fn package_version(root: &Path) -> Result<String, String> {
    let path = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("can't read {}: {e}", path.display()))?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(value) = line.strip_prefix("version") {
                let value = value.trim_start().trim_start_matches('=').trim();
                return Ok(value.trim_matches('"').to_string());
            }
        }
    }
    Err(format!("no [package] version in {}", path.display()))
}

/// The lines between the `# --- begin setup-user-and-token` and `# --- end` markers.
fn shared_block(path: &Path) -> Result<String, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("can't read {}: {e}", path.display()))?;
    let start = text
        .find("# --- begin setup-user-and-token")
        .and_then(|i| text[i..].find('\n').map(|j| i + j + 1));
    let end = text.find("# --- end setup-user-and-token");
    match (start, end) {
        (Some(start), Some(end)) if start <= end => Ok(text[start..end].to_string()),
        _ => Err(format!(
            "{} lacks the setup-user-and-token markers",
            path.display()
        )),
    }
}

/// The .deb postinst and the .rpm %post share the user and token setup, copied in both (each
/// package format wants one self-contained script); a drift between them is a packaging bug.
fn check_shared_scripts(root: &Path) -> Result<(), String> {
    let deb = shared_block(&root.join("packaging/debian/postinst"))?;
    let rpm = shared_block(&root.join("packaging/rpm/post_install.sh"))?;
    if deb != rpm {
        return Err(
            "the setup-user-and-token blocks of packaging/debian/postinst and \
             packaging/rpm/post_install.sh differ; make them identical"
                .to_string(),
        );
    }
    Ok(())
}

/// Fails unless `path` exists, and prints it with its size.
fn report(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("expected {} to be built: {e}", path.display()))?;
    println!("{} ({} bytes)", path.display(), meta.len());
    Ok(())
}

/// `cargo xtask dist`.
fn dist() -> Result<(), String> {
    let root = root()?;
    check_shared_scripts(&root)?;
    tool_version(&root, "deb", "cargo-deb", CARGO_DEB_VERSION)?;
    tool_version(
        &root,
        "generate-rpm",
        "cargo-generate-rpm",
        CARGO_GENERATE_RPM_VERSION,
    )?;
    let version = package_version(&root)?;
    let cargo = cargo();

    run(
        &root,
        &cargo,
        &[
            "build",
            "--locked",
            "--package",
            "aofd",
            "--bin",
            "aofd",
            "--profile",
            PROFILE,
        ],
    )?;

    let dist = root.join("target/dist");
    std::fs::create_dir_all(&dist).map_err(|e| format!("can't create {}: {e}", dist.display()))?;
    let deb = dist.join(format!("aofd_{version}_amd64.deb"));
    let rpm = dist.join(format!("aofd-{version}-1.x86_64.rpm"));
    for old in [&deb, &rpm] {
        match std::fs::remove_file(old) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("can't remove the old {}: {e}", old.display())),
        }
    }
    let deb_arg = deb.to_string_lossy().into_owned();
    run(
        &root,
        &cargo,
        &[
            "deb",
            "--no-build",
            "--locked",
            "--package",
            "aofd",
            "--profile",
            PROFILE,
            "--output",
            &deb_arg,
        ],
    )?;
    let dist_arg = format!("{}/", dist.to_string_lossy());
    run(
        &root,
        &cargo,
        // The root package is the default (its --package names a directory, not a package).
        &["generate-rpm", "--profile", PROFILE, "--output", &dist_arg],
    )?;
    report(&deb)?;
    report(&rpm)?;
    Ok(())
}
