//! Running the Python interop peers (interop/) from the demo's tests: the same
//! skip/require logic as `attesto/tests/support/interop.rs`. When the peer is
//! unavailable the test says so loudly and skips — unless
//! `ATTESTO_REQUIRE_INTEROP=1` (set by `.ci/run`), which makes it a failure.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The workspace's `interop/` directory.
pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
        .join("interop")
}

fn python() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("ATTESTO_INTEROP_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv = interop_dir().join(".venv").join("bin").join("python");
    venv.exists().then_some(venv)
}

/// Run `interop/<script>` with `args` (asynchronously, so the in-process
/// server keeps serving); returns its stdout. `None` means the peer is not
/// installed and the test should return early.
pub async fn run_peer(script: &str, args: &[&str]) -> Option<String> {
    let required = std::env::var("ATTESTO_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    let Some(py) = python() else {
        if required {
            panic!(
                "ATTESTO_REQUIRE_INTEROP=1 but the interop peer is missing: run interop/setup.sh"
            );
        }
        eprintln!(
            "\n*** SKIPPED: interop peer not installed (run interop/setup.sh); {script} {args:?} did not run ***\n"
        );
        return None;
    };
    let mut cmd = Command::new(py);
    cmd.arg(interop_dir().join(script))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = tokio::process::Command::from(cmd)
        .output()
        .await
        .expect("spawn interop peer");
    assert!(
        out.status.success(),
        "interop peer {script} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).expect("peer output is UTF-8"))
}
