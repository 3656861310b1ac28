//! Every statement the stores run, rendered once per bundle for its
//! [`TablePrefix`](crate::TablePrefix).
//!
//! The text is shared by both backends: SQLite accepts PostgreSQL's `$1`
//! placeholders, and both support `RETURNING`, `ON CONFLICT` and row values.
//! Batched deletes use `key IN (SELECT key … LIMIT $2)`, which both accept
//! (neither has a portable `DELETE … LIMIT`).

use std::sync::Arc;

use sqlx::{AssertSqlSafe, SqlSafeStr as _, SqlStr};

use crate::TablePrefix;
use crate::rows::{
    CimdRow, CodeRow, CodeStateRow, ConsentRow, DeviceRow, DeviceStateRow, LogoutRow,
    NonceStateRow, ParRow, REFRESH_TOKEN_COLUMNS, RefreshRow, columns, qualified,
};

/// A rendered statement; cloning is a reference-count increment.
fn stmt(text: String) -> SqlStr {
    AssertSqlSafe(Arc::<str>::from(text)).into_sql_str()
}

/// Which backend a statement set is rendered for. Only the family lock and
/// the migration bookkeeping differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    #[cfg(feature = "sqlite")]
    Sqlite,
    #[cfg(feature = "postgres")]
    Postgres,
}

/// The statements of one bundle.
#[derive(Debug)]
pub(crate) struct Sql {
    // authorization codes
    pub(crate) code_insert: SqlStr,
    pub(crate) code_get: SqlStr,
    pub(crate) code_redeem: SqlStr,
    pub(crate) code_state: SqlStr,
    pub(crate) code_record_issued: SqlStr,
    pub(crate) code_sweep: SqlStr,
    // refresh tokens
    pub(crate) family_insert: SqlStr,
    pub(crate) refresh_insert: SqlStr,
    pub(crate) refresh_get: SqlStr,
    pub(crate) refresh_family_of: SqlStr,
    /// `None` on SQLite, whose `BEGIN IMMEDIATE` already serialises writers.
    pub(crate) family_lock: Option<SqlStr>,
    pub(crate) refresh_mark_rotated: SqlStr,
    pub(crate) family_revoke: SqlStr,
    pub(crate) family_revoke_by_token: SqlStr,
    pub(crate) refresh_sweep: SqlStr,
    pub(crate) family_sweep: SqlStr,
    // PAR
    pub(crate) par_insert: SqlStr,
    pub(crate) par_get: SqlStr,
    pub(crate) par_take: SqlStr,
    pub(crate) par_sweep: SqlStr,
    // DPoP nonces
    pub(crate) nonce_insert: SqlStr,
    pub(crate) nonce_valid: SqlStr,
    pub(crate) nonce_accept: SqlStr,
    pub(crate) nonce_state: SqlStr,
    pub(crate) nonce_sweep: SqlStr,
    // replay
    pub(crate) replay_record: SqlStr,
    pub(crate) replay_sweep: SqlStr,
    // device codes
    pub(crate) device_insert: SqlStr,
    pub(crate) device_find_pending: SqlStr,
    pub(crate) device_decide: SqlStr,
    pub(crate) device_state_by_user: SqlStr,
    pub(crate) device_poll: SqlStr,
    pub(crate) device_redeem: SqlStr,
    pub(crate) device_state_by_device: SqlStr,
    pub(crate) device_sweep: SqlStr,
    // consent grants
    pub(crate) consent_insert: SqlStr,
    pub(crate) consent_consume: SqlStr,
    pub(crate) consent_get: SqlStr,
    pub(crate) consent_sweep: SqlStr,
    // logout sessions
    pub(crate) logout_upsert: SqlStr,
    pub(crate) logout_take_session: SqlStr,
    pub(crate) logout_take_subject: SqlStr,
    pub(crate) logout_sweep: SqlStr,
    // client metadata
    pub(crate) cimd_get: SqlStr,
    pub(crate) cimd_upsert: SqlStr,
    pub(crate) cimd_remove: SqlStr,
    pub(crate) cimd_sweep: SqlStr,
}

/// `DELETE FROM t WHERE (key…) IN (SELECT key… FROM t WHERE col < $1 LIMIT $2)`.
fn sweep(table: &str, key: &[&str], column: &str) -> SqlStr {
    let select = key.join(", ");
    let target = if key.len() == 1 {
        select.clone()
    } else {
        format!("({select})")
    };
    stmt(format!(
        "DELETE FROM {table} WHERE {target} IN \
         (SELECT {select} FROM {table} WHERE {column} < $1 LIMIT $2)"
    ))
}

/// `$1, $2, …, $n`.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Sql {
    #[allow(clippy::too_many_lines)] // one flat list of statements reads best
    pub(crate) fn new(prefix: &TablePrefix, dialect: Dialect) -> Self {
        let p = prefix.as_str();
        let codes = format!("{p}authorization_codes");
        let families = format!("{p}refresh_families");
        let tokens = format!("{p}refresh_tokens");
        let par = format!("{p}pushed_authorization_requests");
        let nonces = format!("{p}dpop_nonces");
        let replays = format!("{p}jti_replays");
        let device = format!("{p}device_codes");
        let consent = format!("{p}consent_grants");
        let logout = format!("{p}logout_sessions");
        let cimd = format!("{p}client_id_metadata");

        let code_cols = columns(CodeRow::COLUMNS);
        let code_state_cols = columns(CodeStateRow::COLUMNS);
        let token_cols: Vec<&str> = RefreshRow::COLUMNS
            .iter()
            .copied()
            .take(REFRESH_TOKEN_COLUMNS)
            .collect();
        let refresh_select = format!(
            "SELECT {}, f.expires_at AS family_row_expires_at, f.revoked_at AS family_revoked_at \
             FROM {tokens} t LEFT JOIN {families} f ON f.family_id = t.family_id \
             WHERE t.token_hash = $1",
            qualified("t", &token_cols)
        );
        let par_cols = columns(ParRow::COLUMNS);
        let nonce_state_cols = columns(NonceStateRow::COLUMNS);
        let device_cols = columns(DeviceRow::COLUMNS);
        let device_state_cols = columns(DeviceStateRow::COLUMNS);
        let consent_cols = columns(ConsentRow::COLUMNS);
        let logout_cols = columns(LogoutRow::COLUMNS);
        let cimd_cols = columns(CimdRow::COLUMNS);

        let family_lock = match dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => None,
            #[cfg(feature = "postgres")]
            Dialect::Postgres => Some(stmt(format!(
                "SELECT family_id FROM {families} WHERE family_id = $1 FOR UPDATE"
            ))),
        };

        Self {
            code_insert: stmt(format!(
                "INSERT INTO {codes} ({code_cols}) VALUES ({})",
                placeholders(CodeRow::COLUMNS.len())
            )),
            code_get: stmt(format!(
                "SELECT {code_cols} FROM {codes} \
                 WHERE code_hash = $1 AND redeemed_at IS NULL AND expires_at > $2"
            )),
            code_redeem: stmt(format!(
                "UPDATE {codes} SET redeemed_at = $2 \
                 WHERE code_hash = $1 AND redeemed_at IS NULL AND expires_at > $2 \
                 RETURNING {code_cols}"
            )),
            code_state: stmt(format!(
                "SELECT {code_state_cols} FROM {codes} WHERE code_hash = $1"
            )),
            code_record_issued: stmt(format!(
                "UPDATE {codes} SET issuance_recorded = TRUE, issued_family_id = $2, \
                 issued_access_token_jti = $3, issued_access_token_expires_at = $4 \
                 WHERE code_hash = $1 AND redeemed_at IS NOT NULL AND NOT issuance_recorded"
            )),
            code_sweep: sweep(&codes, &["code_hash"], "expires_at"),

            family_insert: stmt(format!(
                "INSERT INTO {families} (family_id, expires_at, revoked_at, created_at) \
                 VALUES ($1, $2, NULL, $3)"
            )),
            refresh_insert: stmt(format!(
                "INSERT INTO {tokens} ({}, sweep_at) VALUES ({}, $21)",
                columns(&token_cols),
                placeholders(REFRESH_TOKEN_COLUMNS)
            )),
            refresh_get: stmt(refresh_select),
            refresh_family_of: stmt(format!(
                "SELECT family_id FROM {tokens} WHERE token_hash = $1"
            )),
            family_lock,
            refresh_mark_rotated: stmt(format!(
                "UPDATE {tokens} SET rotated_at = $2, successor_hash = $3, sealed_successor = $4 \
                 WHERE token_hash = $1 AND rotated_at IS NULL"
            )),
            family_revoke: stmt(format!(
                "UPDATE {families} SET revoked_at = COALESCE(revoked_at, $2) WHERE family_id = $1"
            )),
            family_revoke_by_token: stmt(format!(
                "UPDATE {families} SET revoked_at = COALESCE(revoked_at, $2) \
                 WHERE family_id = (SELECT family_id FROM {tokens} WHERE token_hash = $1) \
                 RETURNING family_id"
            )),
            refresh_sweep: sweep(&tokens, &["token_hash"], "sweep_at"),
            family_sweep: stmt(format!(
                "DELETE FROM {families} WHERE family_id IN \
                 (SELECT f.family_id FROM {families} f WHERE f.expires_at < $1 \
                  AND NOT EXISTS (SELECT 1 FROM {tokens} t WHERE t.family_id = f.family_id) \
                  LIMIT $2)"
            )),

            par_insert: stmt(format!(
                "INSERT INTO {par} ({par_cols}) VALUES ({})",
                placeholders(ParRow::COLUMNS.len())
            )),
            par_get: stmt(format!(
                "SELECT {par_cols} FROM {par} WHERE request_uri_hash = $1"
            )),
            par_take: stmt(format!(
                "DELETE FROM {par} \
                 WHERE request_uri_hash = $1 AND client_id = $2 AND expires_at > $3 \
                 RETURNING {par_cols}"
            )),
            par_sweep: sweep(&par, &["request_uri_hash"], "expires_at"),

            nonce_insert: stmt(format!(
                "INSERT INTO {nonces} (nonce_hash, issued_at, expires_at, used_at) \
                 VALUES ($1, $2, $3, NULL)"
            )),
            nonce_valid: stmt(format!(
                "SELECT {nonce_state_cols} FROM {nonces} \
                 WHERE nonce_hash = $1 AND used_at IS NULL AND expires_at > $2"
            )),
            nonce_accept: stmt(format!(
                "UPDATE {nonces} SET used_at = $2 \
                 WHERE nonce_hash = $1 AND used_at IS NULL AND expires_at > $2"
            )),
            nonce_state: stmt(format!(
                "SELECT {nonce_state_cols} FROM {nonces} WHERE nonce_hash = $1"
            )),
            nonce_sweep: sweep(&nonces, &["nonce_hash"], "expires_at"),

            replay_record: stmt(format!(
                "INSERT INTO {replays} (namespace, key_hash, expires_at, recorded_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
            )),
            replay_sweep: sweep(&replays, &["namespace", "key_hash"], "expires_at"),

            device_insert: stmt(format!(
                "INSERT INTO {device} ({device_cols}) VALUES ({})",
                placeholders(DeviceRow::COLUMNS.len())
            )),
            device_find_pending: stmt(format!(
                "SELECT {device_cols} FROM {device} \
                 WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $2"
            )),
            device_decide: stmt(format!(
                "UPDATE {device} SET status = $3, approval = $4 \
                 WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $2 \
                 RETURNING {device_cols}"
            )),
            device_state_by_user: stmt(format!(
                "SELECT {device_state_cols} FROM {device} WHERE user_code_hash = $1"
            )),
            // Every SET expression reads the row as it was before the update,
            // so the interval guard and the state read are one statement.
            device_poll: stmt(format!(
                "UPDATE {device} SET \
                 last_poll_slowed = (last_polled_at IS NOT NULL AND $2 < last_polled_at + interval_seconds), \
                 interval_seconds = CASE \
                   WHEN last_polled_at IS NOT NULL AND $2 < last_polled_at + interval_seconds \
                   THEN CASE WHEN interval_seconds > {max} - $3 THEN {max} ELSE interval_seconds + $3 END \
                   ELSE interval_seconds END, \
                 last_polled_at = $2 \
                 WHERE device_code_hash = $1 AND expires_at > $2 \
                 RETURNING {device_cols}",
                max = u32::MAX
            )),
            device_redeem: stmt(format!(
                "UPDATE {device} SET status = 'redeemed' \
                 WHERE device_code_hash = $1 AND status = 'approved' AND expires_at > $2 \
                 RETURNING {device_cols}"
            )),
            device_state_by_device: stmt(format!(
                "SELECT {device_state_cols} FROM {device} WHERE device_code_hash = $1"
            )),
            device_sweep: sweep(&device, &["device_code_hash"], "expires_at"),

            consent_insert: stmt(format!(
                "INSERT INTO {consent} ({consent_cols}) VALUES ({})",
                placeholders(ConsentRow::COLUMNS.len())
            )),
            consent_consume: stmt(format!(
                "UPDATE {consent} SET consumed_at = $3 \
                 WHERE token_hash = $1 AND binding_hash = $2 AND consumed_at IS NULL \
                 AND expires_at > $3 \
                 RETURNING {consent_cols}"
            )),
            consent_get: stmt(format!(
                "SELECT {consent_cols} FROM {consent} WHERE token_hash = $1"
            )),
            consent_sweep: sweep(&consent, &["token_hash"], "expires_at"),

            logout_upsert: stmt(format!(
                "INSERT INTO {logout} ({logout_cols}) VALUES ({}) \
                 ON CONFLICT (sid, client_id) DO UPDATE SET \
                 subject = excluded.subject, \
                 backchannel_logout_uri = excluded.backchannel_logout_uri, \
                 session_required = excluded.session_required, \
                 recorded_at = excluded.recorded_at, \
                 expires_at = excluded.expires_at",
                placeholders(LogoutRow::COLUMNS.len())
            )),
            logout_take_session: stmt(format!(
                "DELETE FROM {logout} WHERE sid = $1 AND expires_at > $2 RETURNING {logout_cols}"
            )),
            logout_take_subject: stmt(format!(
                "DELETE FROM {logout} WHERE subject = $1 AND expires_at > $2 \
                 RETURNING {logout_cols}"
            )),
            logout_sweep: sweep(&logout, &["sid", "client_id"], "expires_at"),

            cimd_get: stmt(format!(
                "SELECT {cimd_cols} FROM {cimd} WHERE client_id = $1 AND expires_at > $2"
            )),
            cimd_upsert: stmt(format!(
                "INSERT INTO {cimd} ({cimd_cols}) VALUES ({}) \
                 ON CONFLICT (client_id) DO UPDATE SET \
                 document = excluded.document, etag = excluded.etag, \
                 fetched_at = excluded.fetched_at, expires_at = excluded.expires_at",
                placeholders(CimdRow::COLUMNS.len())
            )),
            cimd_remove: stmt(format!("DELETE FROM {cimd} WHERE client_id = $1")),
            cimd_sweep: sweep(&cimd, &["client_id"], "expires_at"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_row_lists_token_columns_first() {
        assert_eq!(
            RefreshRow::COLUMNS.get(REFRESH_TOKEN_COLUMNS),
            Some(&"family_row_expires_at")
        );
        assert_eq!(RefreshRow::COLUMNS.len(), REFRESH_TOKEN_COLUMNS + 2);
    }

    #[test]
    fn every_statement_uses_the_prefix() {
        let prefix = TablePrefix::new("zz_").unwrap();
        #[cfg(feature = "sqlite")]
        let sql = Sql::new(&prefix, Dialect::Sqlite);
        #[cfg(all(not(feature = "sqlite"), feature = "postgres"))]
        let sql = Sql::new(&prefix, Dialect::Postgres);
        let text = format!("{sql:?}");
        assert!(!text.contains("attesto_"), "{text}");
        assert!(sql.code_redeem.as_str().contains("zz_authorization_codes"));
        assert!(sql.cimd_sweep.as_str().contains("zz_client_id_metadata"));
    }
}
