//! Private row types (`FromRow`, decoded by column name) and their checked
//! conversions into the `attesto::store` records.
//!
//! Every conversion fails with [`StoreError::Corrupt`] instead of guessing: a
//! hash that is not 32 bytes, a generation or interval outside `u32`, an
//! unknown device status, or a device row whose status and approval disagree
//! is never honoured.

use attesto::store::{
    AuthorizationCodeRecord, CachedClientMetadata, CodeIssuance, Confirmation, ConsentGrantRecord,
    DeviceApproval, DeviceCodeRecord, DeviceCodeStatus, FamilyId, LogoutSession, PushedRequest,
    RefreshGrant, RefreshTokenRecord, SealedSuccessor, StoreError, TokenHash,
};
use serde_json::{Map, Value};
use sqlx::types::Json;

use crate::error::corrupt;

/// Declare a row struct and implement `FromRow` for each enabled backend by
/// reading every field from the column of the same name.
macro_rules! row {
    ($(#[$meta:meta])* $name:ident { $($field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        pub(crate) struct $name {
            $(pub(crate) $field: $ty,)*
        }

        impl $name {
            /// The columns this row reads, in declaration order.
            #[allow(dead_code)] // not every row is spelled out by column list
            pub(crate) const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];
        }

        #[cfg(feature = "sqlite")]
        impl<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> for $name {
            fn from_row(row: &'r sqlx::sqlite::SqliteRow) -> Result<Self, sqlx::Error> {
                use sqlx::Row as _;
                Ok(Self { $($field: row.try_get(stringify!($field))?,)* })
            }
        }

        #[cfg(feature = "postgres")]
        impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for $name {
            fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
                use sqlx::Row as _;
                Ok(Self { $($field: row.try_get(stringify!($field))?,)* })
            }
        }
    };
}

/// `a, b, c` for a SELECT or RETURNING list.
pub(crate) fn columns(cols: &[&str]) -> String {
    cols.join(", ")
}

/// `t.a, t.b, t.c`.
pub(crate) fn qualified(alias: &str, cols: &[&str]) -> String {
    cols.iter()
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn hash(bytes: &[u8], what: &'static str) -> Result<TokenHash, StoreError> {
    TokenHash::from_slice(bytes).map_err(|_| corrupt(what))
}

fn opt_hash(bytes: Option<&[u8]>, what: &'static str) -> Result<Option<TokenHash>, StoreError> {
    bytes.map(|b| hash(b, what)).transpose()
}

fn u32_of(value: i64, what: &'static str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| corrupt(what))
}

/// A `u32` as the `BIGINT` / `INTEGER` it is stored as.
pub(crate) fn i64_of(value: u32) -> i64 {
    i64::from(value)
}

/// A sweep batch size as a `LIMIT`.
pub(crate) fn limit(batch: std::num::NonZeroU32) -> i64 {
    i64::from(batch.get())
}

// ---------------------------------------------------------------------------
// Authorization codes

row! {
    /// `authorization_codes`.
    CodeRow {
        code_hash: Vec<u8>,
        client_id: String,
        redirect_uri: Option<String>,
        scope: Json<Vec<String>>,
        code_challenge: Option<String>,
        nonce: Option<String>,
        subject: String,
        auth_time: Option<i64>,
        acr: Option<String>,
        amr: Json<Vec<String>>,
        sid: Option<String>,
        resource: Json<Vec<String>>,
        cnf: Json<Confirmation>,
        claims: Option<Json<Value>>,
        issued_at: i64,
        expires_at: i64,
    }
}

impl TryFrom<CodeRow> for AuthorizationCodeRecord {
    type Error = StoreError;

    fn try_from(row: CodeRow) -> Result<Self, StoreError> {
        Ok(Self {
            code_hash: hash(&row.code_hash, "authorization code")?,
            client_id: row.client_id,
            redirect_uri: row.redirect_uri,
            scope: row.scope.0,
            code_challenge: row.code_challenge,
            nonce: row.nonce,
            subject: row.subject,
            auth_time: row.auth_time,
            acr: row.acr,
            amr: row.amr.0,
            sid: row.sid,
            resource: row.resource.0,
            confirmation: row.cnf.0,
            claims: row.claims.map(|c| c.0),
            issued_at: row.issued_at,
            expires_at: row.expires_at,
        })
    }
}

row! {
    /// The state columns of `authorization_codes`, to classify a refused
    /// redemption.
    CodeStateRow {
        expires_at: i64,
        redeemed_at: Option<i64>,
        issuance_recorded: bool,
        issued_family_id: Option<String>,
        issued_access_token_jti: Option<String>,
        issued_access_token_expires_at: Option<i64>,
    }
}

impl CodeStateRow {
    /// What the first redemption recorded, if it did.
    pub(crate) fn issuance(self) -> Option<CodeIssuance> {
        self.issuance_recorded.then(|| CodeIssuance {
            family_id: self.issued_family_id.map(FamilyId::new),
            access_token_jti: self.issued_access_token_jti,
            access_token_expires_at: self.issued_access_token_expires_at,
        })
    }
}

// ---------------------------------------------------------------------------
// Refresh tokens

row! {
    /// `refresh_tokens` joined with its `refresh_families` row.
    RefreshRow {
        token_hash: Vec<u8>,
        family_id: String,
        generation: i64,
        parent_hash: Option<Vec<u8>>,
        issued_at: i64,
        expires_at: i64,
        family_expires_at: i64,
        client_id: String,
        subject: String,
        scope: Json<Vec<String>>,
        resource: Json<Vec<String>>,
        cnf: Json<Confirmation>,
        auth_time: Option<i64>,
        acr: Option<String>,
        amr: Json<Vec<String>>,
        sid: Option<String>,
        claims: Option<Json<Value>>,
        rotated_at: Option<i64>,
        successor_hash: Option<Vec<u8>>,
        sealed_successor: Option<Vec<u8>>,
        // From the family row (LEFT JOIN): `None` means the row is missing.
        family_row_expires_at: Option<i64>,
        family_revoked_at: Option<i64>,
    }
}

/// The token columns of [`RefreshRow`] (those of `refresh_tokens`).
pub(crate) const REFRESH_TOKEN_COLUMNS: usize = 20;

/// A decoded refresh row: the record plus its rotation and family state.
pub(crate) struct RefreshState {
    pub(crate) record: RefreshTokenRecord,
    pub(crate) rotated_at: Option<i64>,
    pub(crate) successor_hash: Option<TokenHash>,
    pub(crate) sealed_successor: Option<SealedSuccessor>,
    pub(crate) family_revoked: bool,
}

impl TryFrom<RefreshRow> for RefreshState {
    type Error = StoreError;

    fn try_from(row: RefreshRow) -> Result<Self, StoreError> {
        let family_expires_at = row
            .family_row_expires_at
            .ok_or_else(|| corrupt("refresh token without a family"))?;
        if family_expires_at != row.family_expires_at {
            return Err(corrupt("refresh family expiry"));
        }
        let record = RefreshTokenRecord {
            token_hash: hash(&row.token_hash, "refresh token")?,
            family_id: FamilyId::new(row.family_id),
            generation: u32_of(row.generation, "refresh token generation")?,
            parent_hash: opt_hash(row.parent_hash.as_deref(), "refresh parent hash")?,
            issued_at: row.issued_at,
            expires_at: row.expires_at,
            family_expires_at: row.family_expires_at,
            grant: RefreshGrant {
                client_id: row.client_id,
                subject: row.subject,
                scope: row.scope.0,
                resource: row.resource.0,
                confirmation: row.cnf.0,
                auth_time: row.auth_time,
                acr: row.acr,
                amr: row.amr.0,
                sid: row.sid,
                claims: row.claims.map(|c| c.0),
            },
        };
        Ok(Self {
            record,
            rotated_at: row.rotated_at,
            successor_hash: opt_hash(row.successor_hash.as_deref(), "refresh successor hash")?,
            sealed_successor: row.sealed_successor.map(SealedSuccessor::new),
            family_revoked: row.family_revoked_at.is_some(),
        })
    }
}

row! {
    /// The family of a refresh token (lock target and revocation flag).
    FamilyIdRow {
        family_id: String,
    }
}

// ---------------------------------------------------------------------------
// PAR

row! {
    /// `pushed_authorization_requests`.
    ParRow {
        request_uri_hash: Vec<u8>,
        client_id: String,
        params: Json<Map<String, Value>>,
        issued_at: i64,
        expires_at: i64,
    }
}

impl TryFrom<ParRow> for PushedRequest {
    type Error = StoreError;

    fn try_from(row: ParRow) -> Result<Self, StoreError> {
        Ok(Self {
            request_uri_hash: hash(&row.request_uri_hash, "pushed request")?,
            client_id: row.client_id,
            params: row.params.0,
            issued_at: row.issued_at,
            expires_at: row.expires_at,
        })
    }
}

// ---------------------------------------------------------------------------
// DPoP nonces

row! {
    /// The state columns of `dpop_nonces`.
    NonceStateRow {
        expires_at: i64,
        used_at: Option<i64>,
    }
}

// ---------------------------------------------------------------------------
// Device codes

row! {
    /// `device_codes`.
    DeviceRow {
        device_code_hash: Vec<u8>,
        user_code_hash: Vec<u8>,
        client_id: String,
        scope: Json<Vec<String>>,
        resource: Json<Vec<String>>,
        cnf: Json<Confirmation>,
        interval_seconds: i64,
        issued_at: i64,
        expires_at: i64,
        status: String,
        approval: Option<Json<DeviceApproval>>,
        last_polled_at: Option<i64>,
        last_poll_slowed: bool,
    }
}

impl TryFrom<DeviceRow> for DeviceCodeRecord {
    type Error = StoreError;

    fn try_from(row: DeviceRow) -> Result<Self, StoreError> {
        let status =
            DeviceCodeStatus::parse(&row.status).ok_or_else(|| corrupt("device code status"))?;
        let approval = row.approval.map(|a| a.0);
        let approved = matches!(
            status,
            DeviceCodeStatus::Approved | DeviceCodeStatus::Redeemed
        );
        if approved != approval.is_some() {
            return Err(corrupt("device code approval"));
        }
        Ok(Self {
            device_code_hash: hash(&row.device_code_hash, "device code")?,
            user_code_hash: hash(&row.user_code_hash, "device user code")?,
            client_id: row.client_id,
            scope: row.scope.0,
            resource: row.resource.0,
            confirmation: row.cnf.0,
            interval_seconds: u32_of(row.interval_seconds, "device poll interval")?,
            issued_at: row.issued_at,
            expires_at: row.expires_at,
            status,
            approval,
            last_polled_at: row.last_polled_at,
        })
    }
}

row! {
    /// The state columns of `device_codes`.
    DeviceStateRow {
        status: String,
        expires_at: i64,
    }
}

impl DeviceStateRow {
    pub(crate) fn status(&self) -> Result<DeviceCodeStatus, StoreError> {
        DeviceCodeStatus::parse(&self.status).ok_or_else(|| corrupt("device code status"))
    }
}

// ---------------------------------------------------------------------------
// Consent grants

row! {
    /// `consent_grants`.
    ConsentRow {
        token_hash: Vec<u8>,
        binding_hash: Vec<u8>,
        subject: String,
        issued_at: i64,
        expires_at: i64,
        consumed_at: Option<i64>,
    }
}

impl TryFrom<ConsentRow> for ConsentGrantRecord {
    type Error = StoreError;

    fn try_from(row: ConsentRow) -> Result<Self, StoreError> {
        Ok(Self {
            token_hash: hash(&row.token_hash, "consent grant")?,
            binding_hash: hash(&row.binding_hash, "consent binding")?,
            subject: row.subject,
            issued_at: row.issued_at,
            expires_at: row.expires_at,
        })
    }
}

// ---------------------------------------------------------------------------
// Logout sessions

row! {
    /// `logout_sessions`.
    LogoutRow {
        sid: String,
        client_id: String,
        subject: String,
        backchannel_logout_uri: String,
        session_required: bool,
        recorded_at: i64,
        expires_at: i64,
    }
}

impl From<LogoutRow> for LogoutSession {
    fn from(row: LogoutRow) -> Self {
        Self {
            sid: row.sid,
            client_id: row.client_id,
            subject: row.subject,
            backchannel_logout_uri: row.backchannel_logout_uri,
            session_required: row.session_required,
            recorded_at: row.recorded_at,
            expires_at: row.expires_at,
        }
    }
}

// ---------------------------------------------------------------------------
// Client metadata

row! {
    /// `client_id_metadata`.
    CimdRow {
        client_id: String,
        document: Json<Map<String, Value>>,
        etag: Option<String>,
        fetched_at: i64,
        expires_at: i64,
    }
}

impl From<CimdRow> for CachedClientMetadata {
    fn from(row: CimdRow) -> Self {
        Self {
            client_id: row.client_id,
            document: row.document.0,
            etag: row.etag,
            fetched_at: row.fetched_at,
            expires_at: row.expires_at,
        }
    }
}

// ---------------------------------------------------------------------------
// Migrations

row! {
    /// `schema_migrations`.
    MigrationRow {
        version: i64,
        checksum: Vec<u8>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn device_row(status: &str, approval: Option<DeviceApproval>) -> DeviceRow {
        DeviceRow {
            device_code_hash: vec![1; 32],
            user_code_hash: vec![2; 32],
            client_id: "c".into(),
            scope: Json(vec![]),
            resource: Json(vec![]),
            cnf: Json(Confirmation::none()),
            interval_seconds: 5,
            issued_at: 1,
            expires_at: 2,
            status: status.into(),
            approval: approval.map(Json),
            last_polled_at: None,
            last_poll_slowed: false,
        }
    }

    fn approval() -> DeviceApproval {
        DeviceApproval {
            subject: "u".into(),
            scope: vec![],
            auth_time: None,
            acr: None,
            amr: vec![],
            claims: None,
            approved_at: 1,
        }
    }

    #[test]
    fn device_rows_whose_status_and_approval_disagree_are_corrupt() {
        assert!(DeviceCodeRecord::try_from(device_row("pending", None)).is_ok());
        assert!(DeviceCodeRecord::try_from(device_row("approved", Some(approval()))).is_ok());
        for row in [
            device_row("pending", Some(approval())),
            device_row("approved", None),
            device_row("redeemed", None),
            device_row("PENDING", None),
            device_row("", None),
        ] {
            assert!(matches!(
                DeviceCodeRecord::try_from(row),
                Err(StoreError::Corrupt(_))
            ));
        }
    }

    #[test]
    fn out_of_range_integers_are_corrupt() {
        let mut row = device_row("pending", None);
        row.interval_seconds = i64::from(u32::MAX) + 1;
        assert!(matches!(
            DeviceCodeRecord::try_from(row),
            Err(StoreError::Corrupt(_))
        ));
        assert!(u32_of(-1, "x").is_err());
        assert_eq!(u32_of(7, "x").unwrap(), 7);
    }

    #[test]
    fn code_state_reports_issuance_only_when_recorded() {
        let state = |recorded| CodeStateRow {
            expires_at: 1,
            redeemed_at: Some(1),
            issuance_recorded: recorded,
            issued_family_id: Some("f".into()),
            issued_access_token_jti: None,
            issued_access_token_expires_at: None,
        };
        assert_eq!(state(false).issuance(), None);
        assert_eq!(
            state(true).issuance(),
            Some(CodeIssuance {
                family_id: Some(FamilyId::new("f")),
                access_token_jti: None,
                access_token_expires_at: None,
            })
        );
    }

    proptest! {
        #[test]
        fn arbitrary_hash_bytes_decode_only_at_32_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let decoded = hash(&bytes, "x");
            prop_assert_eq!(decoded.is_ok(), bytes.len() == 32);
            if let Ok(h) = decoded {
                prop_assert_eq!(&h.as_bytes()[..], &bytes[..]);
            }
        }

        #[test]
        fn arbitrary_device_status_strings_decode_only_when_canonical(status in any::<String>()) {
            let known = ["pending", "approved", "denied", "redeemed"].contains(&status.as_str());
            let row = DeviceStateRow { status, expires_at: 0 };
            prop_assert_eq!(row.status().is_ok(), known);
        }

        #[test]
        fn arbitrary_generations_decode_only_within_u32(value in any::<i64>()) {
            prop_assert_eq!(u32_of(value, "x").is_ok(), (0..=i64::from(u32::MAX)).contains(&value));
        }
    }
}
