//! Running the independent JOSE peer (Python joserfc) from Rust tests.
//!
//! The peer lives in `interop/` at the workspace root; `interop/setup.sh`
//! creates its virtualenv. When the peer is unavailable the tests say so
//! loudly and skip — unless `ATTESTO_REQUIRE_INTEROP=1` (set by `.ci/run`),
//! in which case a missing peer fails the test.
#![allow(dead_code, clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The workspace's `interop/` directory.
pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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

/// Run `interop/<script>` with `args`, feeding `stdin`; returns its stdout.
/// `None` means the peer is not installed and the test should return early.
pub fn run_peer(script: &str, args: &[&str], stdin: &str) -> Option<String> {
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
    let mut child = Command::new(py)
        .arg(interop_dir().join(script))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn interop peer");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().expect("interop peer output");
    assert!(
        out.status.success(),
        "interop peer {script} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).expect("peer output is UTF-8"))
}
