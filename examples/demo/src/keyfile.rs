//! The persisted signing keys and server secret.
//!
//! The key file holds one private JWK (ES256, generated on first start): it
//! signs access tokens. The ID-token key (RS256, which OIDC Discovery §3
//! requires every provider to offer) sits next to it in
//! `<key file stem>.rs256.json`, generated on first start as well, and so
//! does the server secret (which keys client-secret hashes and DPoP nonces)
//! in `<key file stem>.secret`. All are created with mode 0600.
//! Registered clients live in memory, so after a restart they are gone
//! anyway; the secret is persisted so that a future persistent client store
//! keeps working across restarts. Deleting either file is harmless: it is
//! regenerated (previously issued tokens then stop verifying).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use attesto::jose::{Algorithm, SigningKey};
use attesto::secret::{OsRandom, RandomSource, Secret};

/// Why the key or secret file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not hold a usable private JWK.
    #[error("{0}: not a usable private JWK")]
    InvalidKey(PathBuf),
    /// The secret file holds fewer than 32 bytes.
    #[error("{0}: the server secret must be at least 32 characters")]
    ShortSecret(PathBuf),
    /// Key generation or randomness failed.
    #[error("key generation failed")]
    Generate,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Write `contents` to a new file readable by the owner only.
fn write_private(path: &Path, contents: &str) -> Result<(), KeyFileError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut file = opts.open(path).map_err(io(path))?;
    file.write_all(contents.as_bytes()).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(md) = fs::metadata(path)
        && md.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(target: "attesto_demo", path = %path.display(), "key material is readable by other users; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// Load the signing key from `path`, generating (ES256) and saving it on
/// first start. Returns the key and whether it was generated.
///
/// # Errors
/// A [`KeyFileError`].
pub fn load_or_generate_key(path: &Path) -> Result<(SigningKey, bool), KeyFileError> {
    load_or_generate(path, Algorithm::ES256)
}

/// Where the ID-token key for key file `key_file` lives.
#[must_use]
pub fn id_token_key_path(key_file: &Path) -> PathBuf {
    key_file.with_extension("rs256.json")
}

/// Load the RS256 ID-token key from `path`, generating and saving it on
/// first start. Returns the key and whether it was generated.
///
/// # Errors
/// A [`KeyFileError`]; [`KeyFileError::InvalidKey`] also when the file holds
/// a key of another algorithm.
pub fn load_or_generate_id_token_key(path: &Path) -> Result<(SigningKey, bool), KeyFileError> {
    load_or_generate(path, Algorithm::RS256)
}

fn load_or_generate(path: &Path, alg: Algorithm) -> Result<(SigningKey, bool), KeyFileError> {
    match fs::read_to_string(path) {
        Ok(json) => {
            warn_if_readable_by_others(path);
            let key = SigningKey::from_jwk_json(json.trim())
                .ok()
                .filter(|k| k.algorithm() == alg)
                .ok_or_else(|| KeyFileError::InvalidKey(path.to_owned()))?;
            Ok((key, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::generate(alg).map_err(|_| KeyFileError::Generate)?;
            let mut json = key.to_private_jwk_json().expose().to_owned();
            json.push('\n');
            write_private(path, &json)?;
            Ok((key, true))
        }
        Err(e) => Err(io(path)(e)),
    }
}

/// Where the server secret for key file `key_file` lives.
#[must_use]
pub fn secret_path(key_file: &Path) -> PathBuf {
    key_file.with_extension("secret")
}

/// Load the server secret from `path`, generating and saving it on first start.
///
/// # Errors
/// A [`KeyFileError`].
pub fn load_or_generate_secret(path: &Path) -> Result<Secret, KeyFileError> {
    match fs::read_to_string(path) {
        Ok(s) => {
            warn_if_readable_by_others(path);
            let s = s.trim();
            if s.len() < 32 {
                return Err(KeyFileError::ShortSecret(path.to_owned()));
            }
            Ok(Secret::new(s))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = OsRandom.token(32).map_err(|_| KeyFileError::Generate)?;
            write_private(path, &format!("{secret}\n"))?;
            Ok(Secret::new(secret))
        }
        Err(e) => Err(io(path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("attesto-demo-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn key_is_generated_once_with_owner_only_permissions_then_loaded() {
        let dir = temp_dir("key");
        let path = dir.join("key.json");
        let (first, generated) = load_or_generate_key(&path).unwrap();
        assert!(generated);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let (second, generated) = load_or_generate_key(&path).unwrap();
        assert!(!generated);
        assert_eq!(first.kid(), second.kid());
        assert_eq!(first.algorithm(), Algorithm::ES256);

        let id_file = id_token_key_path(&path);
        assert_eq!(id_file, dir.join("key.rs256.json"));
        let (rsa, generated) = load_or_generate_id_token_key(&id_file).unwrap();
        assert!(generated);
        assert_eq!(rsa.algorithm(), Algorithm::RS256);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                fs::metadata(&id_file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let (again, generated) = load_or_generate_id_token_key(&id_file).unwrap();
        assert!(!generated);
        assert_eq!(rsa.kid(), again.kid());
        // The ES256 file is not an ID-token key.
        assert!(matches!(
            load_or_generate_id_token_key(&path),
            Err(KeyFileError::InvalidKey(_))
        ));

        let secret_file = secret_path(&path);
        assert_eq!(secret_file, dir.join("key.secret"));
        let s1 = load_or_generate_secret(&secret_file).unwrap();
        let s2 = load_or_generate_secret(&secret_file).unwrap();
        assert_eq!(s1, s2);
        assert!(s1.expose().len() >= 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                fs::metadata(&secret_file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_corrupt_key_file_is_an_error_not_a_new_key() {
        let dir = temp_dir("corrupt");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key.json");
        fs::write(&path, "{\"kty\":\"EC\"}").unwrap();
        assert!(matches!(
            load_or_generate_key(&path),
            Err(KeyFileError::InvalidKey(_))
        ));
        fs::write(dir.join("short.secret"), "tiny").unwrap();
        assert!(matches!(
            load_or_generate_secret(&dir.join("short.secret")),
            Err(KeyFileError::ShortSecret(_))
        ));
        fs::remove_dir_all(&dir).unwrap();
    }
}
