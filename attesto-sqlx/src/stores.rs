//! The nine store implementations, written once and instantiated per backend
//! by [`sql_stores!`].
//!
//! The invoking module provides:
//!
//! * `type Db` — the `sqlx::Database` (`Sqlite` or `Postgres`);
//! * `async fn begin_write(pool: &Pool<Db>) -> Result<Transaction<'static, Db>, sqlx::Error>`
//!   — a transaction that serialises with every other writer of the same
//!   refresh family (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: `BEGIN`, plus the
//!   `family_lock` statement the stores run first);
//! * `async fn commit_write(tx: Transaction<'static, Db>) -> Result<(), sqlx::Error>`
//!   — its commit. Both log what sqlx itself does not (see
//!   [`STATEMENT_LOG_TARGET`](crate::STATEMENT_LOG_TARGET)).
//!
//! Every operation is one statement, or one short transaction where several
//! rows change together (refresh issue and rotation). Nothing is ever decided
//! by reading a row in Rust and writing it back afterwards: the single-use
//! primitives are conditional `UPDATE … RETURNING`, `DELETE … RETURNING` and
//! `INSERT … ON CONFLICT DO NOTHING`, whose affected rows decide the winner.
//! Follow-up reads after a refused update only classify the refusal.

/// The slow-down step of [RFC 8628 §3.5](https://www.rfc-editor.org/rfc/rfc8628#section-3.5):
/// every `slow_down` raises the polling interval by 5 seconds.
pub(crate) const SLOW_DOWN_STEP_SECONDS: i64 = 5;

/// The rotation of a refresh token found its row already rotated although the
/// family lock was held: another writer ignored the lock. Never expected.
#[derive(Debug, thiserror::Error)]
#[error("a refresh token changed while its family was locked")]
pub(crate) struct LostFamilyLock;

macro_rules! sql_stores {
    (
        backend: $backend:literal,
        bundle: $bundle:ident,
        codes: $codes:ident,
        refresh: $refresh:ident,
        par: $par:ident,
        nonces: $nonces:ident,
        replay: $replay:ident,
        device: $device:ident,
        consent: $consent:ident,
        logout: $logout:ident,
        cimd: $cimd:ident $(,)?
    ) => {
        use std::num::NonZeroU32;
        use std::sync::Arc;

        use attesto::clock::UnixTime;
        use attesto::store::{
            AuthorizationCodeRecord, AuthorizationCodeStore, CachedClientMetadata,
            ClientMetadataCache, CodeIssuance, CodeRedemption, ConsentGrantRecord,
            ConsentGrantStore, ConsentOutcome, DeviceApproval, DeviceCodeRecord, DeviceCodeStatus,
            DeviceCodeStore, DeviceDecision, DevicePoll, DeviceRedemption, DpopNonceRecord,
            DpopNonceStore, FamilyId, LogoutSession, LogoutSessionStore, NewRefreshToken,
            NonceOutcome, ParOutcome, ParStore, PushedRequest, RefreshLookup, RefreshTokenRecord,
            RefreshTokenStore, ReplayNamespace, ReplayOutcome, ReplayStore, RotationOutcome,
            SealedSuccessor, StoreError, Stores, TokenHash, is_live, validate_replay_window,
        };
        use sqlx::types::Json;
        use sqlx::{Pool, query, query_as};

        use crate::TablePrefix;
        use crate::error::store_error;
        use crate::rows::{
            CimdRow, CodeRow, CodeStateRow, ConsentRow, DeviceRow, DeviceStateRow, FamilyIdRow,
            LogoutRow, NonceStateRow, ParRow, RefreshRow, RefreshState, i64_of, limit,
        };
        use crate::sql::Sql;
        use crate::stores::{LostFamilyLock, SLOW_DOWN_STEP_SECONDS};

        type Connection = <Db as sqlx::Database>::Connection;

        /// What every store of a bundle shares: the pool and the statements.
        #[derive(Clone)]
        struct Shared {
            pool: Pool<Db>,
            sql: Arc<Sql>,
        }

        macro_rules! store_struct {
            ($name:ident, $trait_name:literal) => {
                #[doc = concat!("[`", $trait_name, "`](attesto::store::", $trait_name, ") on ", $backend, ".")]
                ///
                /// Obtained from the bundle through [`Stores`]; every clone of the
                /// bundle hands out the same instance. See the trait for the atomic
                /// contract, and the crate documentation for the SQL behind it.
                pub struct $name {
                    shared: Shared,
                }

                impl std::fmt::Debug for $name {
                    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.debug_struct(stringify!($name)).finish_non_exhaustive()
                    }
                }

                impl $name {
                    fn pool(&self) -> &Pool<Db> {
                        &self.shared.pool
                    }

                    fn sql(&self) -> &Sql {
                        &self.shared.sql
                    }
                }
            };
        }

        store_struct!($codes, "AuthorizationCodeStore");
        store_struct!($refresh, "RefreshTokenStore");
        store_struct!($par, "ParStore");
        store_struct!($nonces, "DpopNonceStore");
        store_struct!($replay, "ReplayStore");
        store_struct!($device, "DeviceCodeStore");
        store_struct!($consent, "ConsentGrantStore");
        store_struct!($logout, "LogoutSessionStore");
        store_struct!($cimd, "ClientMetadataCache");

        fn bytes(hash: &TokenHash) -> &[u8] {
            hash.as_bytes().as_slice()
        }

        async fn sweep_with(
            pool: &Pool<Db>,
            statement: &sqlx::SqlStr,
            now: UnixTime,
            batch: NonZeroU32,
        ) -> Result<u64, StoreError> {
            let done = query(statement.clone())
                .bind(now)
                .bind(limit(batch))
                .execute(pool)
                .await
                .map_err(store_error)?;
            Ok(done.rows_affected())
        }

        // -------------------------------------------------------------------
        // The bundle

        #[doc = concat!("One store of each kind over one ", $backend, " pool: the [`Stores`] bundle.")]
        ///
        /// Cloning is cheap and shares the pool and the stores. Two bundles over
        /// two pools of the same database behave like two nodes of a cluster.
        #[derive(Clone)]
        pub struct $bundle {
            pool: Pool<Db>,
            prefix: TablePrefix,
            codes: Arc<$codes>,
            refresh: Arc<$refresh>,
            par: Arc<$par>,
            nonces: Arc<$nonces>,
            replay: Arc<$replay>,
            device: Arc<$device>,
            consent: Arc<$consent>,
            logout: Arc<$logout>,
            cimd: Arc<$cimd>,
        }

        impl std::fmt::Debug for $bundle {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($bundle))
                    .field("prefix", &self.prefix)
                    .finish_non_exhaustive()
            }
        }

        impl $bundle {
            fn assemble(pool: Pool<Db>, prefix: TablePrefix) -> Self {
                let shared = Shared {
                    pool: pool.clone(),
                    sql: Arc::new(Sql::new(&prefix, DIALECT)),
                };
                let s = || shared.clone();
                Self {
                    pool,
                    prefix,
                    codes: Arc::new($codes { shared: s() }),
                    refresh: Arc::new($refresh { shared: s() }),
                    par: Arc::new($par { shared: s() }),
                    nonces: Arc::new($nonces { shared: s() }),
                    replay: Arc::new($replay { shared: s() }),
                    device: Arc::new($device { shared: s() }),
                    consent: Arc::new($consent { shared: s() }),
                    logout: Arc::new($logout { shared: s() }),
                    cimd: Arc::new($cimd { shared: s() }),
                }
            }

            /// The same pool with its tables under `prefix` instead (the
            /// stores are rebuilt; earlier clones keep their prefix).
            #[must_use]
            pub fn with_prefix(self, prefix: TablePrefix) -> Self {
                Self::assemble(self.pool, prefix)
            }

            /// The connection pool.
            #[must_use]
            pub fn pool(&self) -> &Pool<Db> {
                &self.pool
            }

            /// The table prefix.
            #[must_use]
            pub fn prefix(&self) -> &TablePrefix {
                &self.prefix
            }

            /// Apply the pending migrations and return the bundle, for
            /// chaining after `connect`; see
            /// [`apply_migrations`](Self::apply_migrations).
            ///
            /// # Errors
            /// [`SetupError`](crate::SetupError) if a migration fails (nothing
            /// of the run is committed) or the recorded history does not match.
            pub async fn migrate(self) -> Result<Self, crate::SetupError> {
                self.apply_migrations().await?;
                Ok(self)
            }

            /// Apply the pending migrations in one transaction; returns the
            /// versions applied by this call (empty when the schema was
            /// current, so a second call is a no-op).
            ///
            /// # Errors
            /// [`SetupError`](crate::SetupError) if a migration fails (nothing
            /// of the run is committed) or the recorded history does not match.
            pub async fn apply_migrations(&self) -> Result<Vec<i64>, crate::SetupError> {
                migrate(&self.pool, &self.prefix).await
            }

            /// Close the pool: wait for checked-out connections to return,
            /// then close every connection.
            pub async fn close(&self) {
                self.pool.close().await;
            }
        }

        impl Stores for $bundle {
            type Codes = $codes;
            type Refresh = $refresh;
            type Par = $par;
            type Nonces = $nonces;
            type Replay = $replay;
            type Device = $device;
            type Consent = $consent;
            type Logout = $logout;
            type Cimd = $cimd;

            fn authorization_codes(&self) -> Arc<Self::Codes> {
                Arc::clone(&self.codes)
            }
            fn refresh_tokens(&self) -> Arc<Self::Refresh> {
                Arc::clone(&self.refresh)
            }
            fn par(&self) -> Arc<Self::Par> {
                Arc::clone(&self.par)
            }
            fn dpop_nonces(&self) -> Arc<Self::Nonces> {
                Arc::clone(&self.nonces)
            }
            fn replay(&self) -> Arc<Self::Replay> {
                Arc::clone(&self.replay)
            }
            fn device_codes(&self) -> Arc<Self::Device> {
                Arc::clone(&self.device)
            }
            fn consent_grants(&self) -> Arc<Self::Consent> {
                Arc::clone(&self.consent)
            }
            fn logout_sessions(&self) -> Arc<Self::Logout> {
                Arc::clone(&self.logout)
            }
            fn client_metadata(&self) -> Arc<Self::Cimd> {
                Arc::clone(&self.cimd)
            }
        }

        // -------------------------------------------------------------------
        // Authorization codes

        impl AuthorizationCodeStore for $codes {
            async fn insert(&self, record: AuthorizationCodeRecord) -> Result<(), StoreError> {
                record.validate()?;
                query(self.sql().code_insert.clone())
                    .bind(bytes(&record.code_hash))
                    .bind(record.client_id.as_str())
                    .bind(record.redirect_uri.as_deref())
                    .bind(Json(&record.scope))
                    .bind(record.code_challenge.as_deref())
                    .bind(record.nonce.as_deref())
                    .bind(record.subject.as_str())
                    .bind(record.auth_time)
                    .bind(record.acr.as_deref())
                    .bind(Json(&record.amr))
                    .bind(record.sid.as_deref())
                    .bind(Json(&record.resource))
                    .bind(Json(&record.confirmation))
                    .bind(record.claims.as_ref().map(Json))
                    .bind(record.issued_at)
                    .bind(record.expires_at)
                    .execute(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(())
            }

            async fn get(
                &self,
                code_hash: TokenHash,
                now: UnixTime,
            ) -> Result<Option<AuthorizationCodeRecord>, StoreError> {
                query_as::<_, CodeRow>(self.sql().code_get.clone())
                    .bind(bytes(&code_hash))
                    .bind(now)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(store_error)?
                    .map(AuthorizationCodeRecord::try_from)
                    .transpose()
            }

            async fn redeem(
                &self,
                code_hash: TokenHash,
                now: UnixTime,
            ) -> Result<CodeRedemption, StoreError> {
                let won = query_as::<_, CodeRow>(self.sql().code_redeem.clone())
                    .bind(bytes(&code_hash))
                    .bind(now)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(store_error)?;
                if let Some(row) = won {
                    return Ok(CodeRedemption::Redeemed(row.try_into()?));
                }
                // Lost, or nothing to redeem: classify without deciding anything.
                let state = query_as::<_, CodeStateRow>(self.sql().code_state.clone())
                    .bind(bytes(&code_hash))
                    .fetch_optional(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(match state {
                    None => CodeRedemption::NotFound,
                    Some(s) if s.redeemed_at.is_some() => CodeRedemption::AlreadyRedeemed {
                        issued: s.issuance(),
                    },
                    Some(s) if !is_live(s.expires_at, now) => CodeRedemption::Expired,
                    // Live and unredeemed now, so it was inserted after the
                    // update ran: to that update it did not exist.
                    Some(_) => CodeRedemption::NotFound,
                })
            }

            async fn record_issued(
                &self,
                code_hash: TokenHash,
                issuance: CodeIssuance,
            ) -> Result<bool, StoreError> {
                let done = query(self.sql().code_record_issued.clone())
                    .bind(bytes(&code_hash))
                    .bind(issuance.family_id.as_ref().map(FamilyId::as_str))
                    .bind(issuance.access_token_jti.as_deref())
                    .bind(issuance.access_token_expires_at)
                    .execute(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn sweep_expired(
                &self,
                now: UnixTime,
                batch: NonZeroU32,
            ) -> Result<u64, StoreError> {
                sweep_with(self.pool(), &self.sql().code_sweep, now, batch).await
            }
        }

        // -------------------------------------------------------------------
        // Refresh tokens

        /// Insert one token row (unrotated) inside the caller's transaction.
        async fn insert_token(
            conn: &mut Connection,
            sql: &Sql,
            record: &RefreshTokenRecord,
        ) -> Result<(), StoreError> {
            let grant = &record.grant;
            query(sql.refresh_insert.clone())
                .bind(bytes(&record.token_hash))
                .bind(record.family_id.as_str())
                .bind(i64_of(record.generation))
                .bind(record.parent_hash.as_ref().map(bytes))
                .bind(record.issued_at)
                .bind(record.expires_at)
                .bind(record.family_expires_at)
                .bind(grant.client_id.as_str())
                .bind(grant.subject.as_str())
                .bind(Json(&grant.scope))
                .bind(Json(&grant.resource))
                .bind(Json(&grant.confirmation))
                .bind(grant.auth_time)
                .bind(grant.acr.as_deref())
                .bind(Json(&grant.amr))
                .bind(grant.sid.as_deref())
                .bind(grant.claims.as_ref().map(Json))
                .bind(None::<i64>)
                .bind(None::<&[u8]>)
                .bind(None::<&[u8]>)
                .bind(record.effective_expires_at())
                .execute(&mut *conn)
                .await
                .map_err(store_error)?;
            Ok(())
        }

        /// Read a token with its family state.
        async fn read_token<'e, E>(
            executor: E,
            sql: &Sql,
            token_hash: &TokenHash,
        ) -> Result<Option<RefreshState>, StoreError>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            query_as::<_, RefreshRow>(sql.refresh_get.clone())
                .bind(bytes(token_hash))
                .fetch_optional(executor)
                .await
                .map_err(store_error)?
                .map(RefreshState::try_from)
                .transpose()
        }

        /// The decision of [`RefreshTokenStore::rotate`], inside a transaction
        /// that holds the family lock once the family is known.
        async fn rotate_locked(
            conn: &mut Connection,
            sql: &Sql,
            presented: TokenHash,
            successor: NewRefreshToken,
            sealed_successor: Option<SealedSuccessor>,
            now: UnixTime,
            grace_seconds: u32,
        ) -> Result<RotationOutcome, StoreError> {
            let family = query_as::<_, FamilyIdRow>(sql.refresh_family_of.clone())
                .bind(bytes(&presented))
                .fetch_optional(&mut *conn)
                .await
                .map_err(store_error)?;
            let Some(family) = family else {
                return Ok(RotationOutcome::NotFound);
            };
            if let Some(lock) = &sql.family_lock {
                // Serialises with every rotation and revocation of the family;
                // the reads below start after the lock, so they see every
                // change committed before it.
                query(lock.clone())
                    .bind(family.family_id.as_str())
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(store_error)?;
            }
            let Some(state) = read_token(&mut *conn, sql, &presented).await? else {
                return Ok(RotationOutcome::NotFound);
            };
            let parent = state.record.clone();
            if state.family_revoked {
                return Ok(RotationOutcome::Revoked(parent));
            }
            if !is_live(parent.family_expires_at, now) {
                return Ok(RotationOutcome::Expired);
            }
            if let Some(rotated_at) = state.rotated_at {
                if now < rotated_at.saturating_add(i64::from(grace_seconds)) {
                    if let (Some(next_hash), Some(sealed)) =
                        (state.successor_hash, state.sealed_successor)
                    {
                        let next = read_token(&mut *conn, sql, &next_hash).await?;
                        if let Some(next) = next.filter(|n| {
                            n.rotated_at.is_none()
                                && !n.family_revoked
                                && is_live(n.record.effective_expires_at(), now)
                        }) {
                            return Ok(RotationOutcome::Retry {
                                parent,
                                successor: next.record,
                                sealed,
                            });
                        }
                    }
                }
                query(sql.family_revoke.clone())
                    .bind(parent.family_id.as_str())
                    .bind(now)
                    .execute(&mut *conn)
                    .await
                    .map_err(store_error)?;
                return Ok(RotationOutcome::ReuseDetected { presented: parent });
            }
            if !is_live(parent.expires_at, now) {
                return Ok(RotationOutcome::Expired);
            }
            let next = RefreshTokenRecord {
                token_hash: successor.token_hash,
                family_id: parent.family_id.clone(),
                generation: parent.generation.saturating_add(1),
                parent_hash: Some(presented),
                issued_at: successor.issued_at,
                expires_at: successor.expires_at,
                family_expires_at: parent.family_expires_at,
                grant: successor.grant,
            };
            let claimed = query(sql.refresh_mark_rotated.clone())
                .bind(bytes(&presented))
                .bind(now)
                .bind(bytes(&next.token_hash))
                .bind(sealed_successor.as_ref().map(SealedSuccessor::as_bytes))
                .execute(&mut *conn)
                .await
                .map_err(store_error)?;
            if claimed.rows_affected() != 1 {
                return Err(StoreError::unavailable(LostFamilyLock));
            }
            // A duplicate successor hash fails here and the caller's
            // transaction rolls back: the presented token stays unrotated.
            insert_token(&mut *conn, sql, &next).await?;
            Ok(RotationOutcome::Rotated {
                parent,
                successor: next,
            })
        }

        impl RefreshTokenStore for $refresh {
            async fn issue_family(
                &self,
                family_id: FamilyId,
                family_expires_at: UnixTime,
                first: NewRefreshToken,
            ) -> Result<RefreshTokenRecord, StoreError> {
                first.validate_first(&family_id, family_expires_at)?;
                let record = RefreshTokenRecord {
                    token_hash: first.token_hash,
                    family_id,
                    generation: 0,
                    parent_hash: None,
                    issued_at: first.issued_at,
                    expires_at: first.expires_at,
                    family_expires_at,
                    grant: first.grant,
                };
                let mut tx = begin_write(self.pool()).await.map_err(store_error)?;
                query(self.sql().family_insert.clone())
                    .bind(record.family_id.as_str())
                    .bind(family_expires_at)
                    .bind(record.issued_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                insert_token(&mut tx, self.sql(), &record).await?;
                commit_write(tx).await.map_err(store_error)?;
                Ok(record)
            }

            async fn get(
                &self,
                token_hash: TokenHash,
                now: UnixTime,
            ) -> Result<RefreshLookup, StoreError> {
                let Some(state) = read_token(self.pool(), self.sql(), &token_hash).await? else {
                    return Ok(RefreshLookup::NotFound);
                };
                let record = state.record;
                Ok(if state.family_revoked {
                    RefreshLookup::Revoked(record)
                } else if !is_live(record.family_expires_at, now) {
                    RefreshLookup::Expired(record)
                } else if state.rotated_at.is_some() {
                    RefreshLookup::Rotated(record)
                } else if !is_live(record.expires_at, now) {
                    RefreshLookup::Expired(record)
                } else {
                    RefreshLookup::Active(record)
                })
            }

            async fn rotate(
                &self,
                presented: TokenHash,
                successor: NewRefreshToken,
                sealed_successor: Option<SealedSuccessor>,
                now: UnixTime,
                grace_seconds: u32,
            ) -> Result<RotationOutcome, StoreError> {
                successor.validate_successor(presented)?;
                let mut tx = begin_write(self.pool()).await.map_err(store_error)?;
                let outcome = rotate_locked(
                    &mut tx,
                    self.sql(),
                    presented,
                    successor,
                    sealed_successor,
                    now,
                    grace_seconds,
                )
                .await?;
                commit_write(tx).await.map_err(store_error)?;
                Ok(outcome)
            }

            async fn revoke_family(
                &self,
                family_id: FamilyId,
                now: UnixTime,
            ) -> Result<(), StoreError> {
                query(self.sql().family_revoke.clone())
                    .bind(family_id.as_str())
                    .bind(now)
                    .execute(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(())
            }

            async fn revoke_by_token(
                &self,
                token_hash: TokenHash,
                now: UnixTime,
            ) -> Result<Option<FamilyId>, StoreError> {
                let revoked = query_as::<_, FamilyIdRow>(self.sql().family_revoke_by_token.clone())
                    .bind(bytes(&token_hash))
                    .bind(now)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(revoked.map(|row| FamilyId::new(row.family_id)))
            }

            async fn sweep_expired(
                &self,
                now: UnixTime,
                batch: NonZeroU32,
            ) -> Result<u64, StoreError> {
                let swept = sweep_with(self.pool(), &self.sql().refresh_sweep, now, batch).await?;
                // A family row outlives its tokens until its own lifetime is
                // over, so its revocation stays sticky and its id cannot be
                // reused meanwhile. Not counted: the count is of tokens.
                sweep_with(self.pool(), &self.sql().family_sweep, now, batch).await?;
                Ok(swept)
            }
        }

        // -------------------------------------------------------------------
        // PAR

        impl ParStore for $par {
            async fn insert(&self, request: PushedRequest) -> Result<(), StoreError> {
                request.validate()?;
                query(self.sql().par_insert.clone())
                    .bind(bytes(&request.request_uri_hash))
                    .bind(request.client_id.as_str())
                    .bind(Json(&request.params))
                    .bind(request.issued_at)
                    .bind(request.expires_at)
                    .execute(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(())
            }

            async fn fetch(
                &self,
                request_uri_hash: TokenHash,
                client_id: &str,
                now: UnixTime,
            ) -> Result<ParOutcome, StoreError> {
                let row = query_as::<_, ParRow>(self.sql().par_get.clone())
                    .bind(bytes(&request_uri_hash))
                    .fetch_optional(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(match row {
                    None => ParOutcome::NotFound,
                    Some(row) if row.client_id != client_id => ParOutcome::ClientMismatch,
                    Some(row) if !is_live(row.expires_at, now) => ParOutcome::Expired,
                    Some(row) => ParOutcome::Found(row.try_into()?),
                })
            }

            async fn take(
                &self,
                request_uri_hash: TokenHash,
                client_id: &str,
                now: UnixTime,
            ) -> Result<ParOutcome, StoreError> {
                let taken = query_as::<_, ParRow>(self.sql().par_take.clone())
                    .bind(bytes(&request_uri_hash))
                    .bind(client_id)
                    .bind(now)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(store_error)?;
                if let Some(row) = taken {
                    return Ok(ParOutcome::Found(row.try_into()?));
                }
                Ok(match self.fetch(request_uri_hash, client_id, now).await? {
                    // Still there for this client and live: it was pushed after
                    // the delete ran, so to that delete it did not exist.
                    ParOutcome::Found(_) => ParOutcome::NotFound,
                    other => other,
                })
            }

            async fn sweep_expired(
                &self,
                now: UnixTime,
                batch: NonZeroU32,
            ) -> Result<u64, StoreError> {
                sweep_with(self.pool(), &self.sql().par_sweep, now, batch).await
            }
        }

        // -------------------------------------------------------------------
        // DPoP nonces

        impl DpopNonceStore for $nonces {
            async fn issue(&self, nonce: DpopNonceRecord) -> Result<(), StoreError> {
                nonce.validate()?;
                query(self.sql().nonce_insert.clone())
                    .bind(bytes(&nonce.nonce_hash))
                    .bind(nonce.issued_at)
                    .bind(nonce.expires_at)
                    .execute(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(())
            }

            async fn is_valid(
                &self,
                nonce_hash: TokenHash,
                now: UnixTime,
            ) -> Result<bool, StoreError> {
                let row = query_as::<_, NonceStateRow>(self.sql().nonce_valid.clone())
                    .bind(bytes(&nonce_hash))
                    .bind(now)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(row.is_some())
            }

            async fn accept(
                &self,
                nonce_hash: TokenHash,
                now: UnixTime,
            ) -> Result<NonceOutcome, StoreError> {
                let done = query(self.sql().nonce_accept.clone())
                    .bind(bytes(&nonce_hash))
                    .bind(now)
                    .execute(self.pool())
                    .await
                    .map_err(store_error)?;
                if done.rows_affected() == 1 {
                    return Ok(NonceOutcome::Accepted);
                }
                let state = query_as::<_, NonceStateRow>(self.sql().nonce_state.clone())
                    .bind(bytes(&nonce_hash))
                    .fetch_optional(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(match state {
                    None => NonceOutcome::Unknown,
                    Some(s) if s.used_at.is_some() => NonceOutcome::Used,
                    Some(s) if !is_live(s.expires_at, now) => NonceOutcome::Expired,
                    // Issued after the update ran: unknown to it.
                    Some(_) => NonceOutcome::Unknown,
                })
            }

            async fn sweep_expired(
                &self,
                now: UnixTime,
                batch: NonZeroU32,
            ) -> Result<u64, StoreError> {
                sweep_with(self.pool(), &self.sql().nonce_sweep, now, batch).await
            }
        }

        // -------------------------------------------------------------------
        // Replay

        impl ReplayStore for $replay {
            async fn check_and_record(
                &self,
                namespace: ReplayNamespace,
                key: TokenHash,
                expires_at: UnixTime,
                now: UnixTime,
            ) -> Result<ReplayOutcome, StoreError> {
                validate_replay_window(expires_at, now)?;
                let done = query(self.sql().replay_record.clone())
                    .bind(namespace.as_str())
                    .bind(bytes(&key))
                    .bind(expires_at)
                    .bind(now)
                    .execute(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(if done.rows_affected() == 1 {
                    ReplayOutcome::Fresh
                } else {
                    ReplayOutcome::Replayed
                })
            }

            async fn sweep_expired(
                &self,
                now: UnixTime,
                batch: NonZeroU32,
            ) -> Result<u64, StoreError> {
                sweep_with(self.pool(), &self.sql().replay_sweep, now, batch).await
            }
        }

        // -------------------------------------------------------------------
        // Device codes

        impl $device {
            async fn state_by(
                &self,
                statement: &sqlx::SqlStr,
                hash: &TokenHash,
            ) -> Result<Option<DeviceStateRow>, StoreError> {
                query_as::<_, DeviceStateRow>(statement.clone())
                    .bind(bytes(hash))
                    .fetch_optional(self.pool())
                    .await
                    .map_err(store_error)
            }

            async fn decide(
                &self,
                user_code_hash: TokenHash,
                now: UnixTime,
                status: DeviceCodeStatus,
                approval: Option<&DeviceApproval>,
            ) -> Result<DeviceDecision, StoreError> {
                let recorded = query_as::<_, DeviceRow>(self.sql().device_decide.clone())
                    .bind(bytes(&user_code_hash))
                    .bind(now)
                    .bind(status.as_str())
                    .bind(approval.map(Json))
                    .fetch_optional(self.pool())
                    .await
                    .map_err(store_error)?;
                if let Some(row) = recorded {
                    return Ok(DeviceDecision::Recorded(row.try_into()?));
                }
                let state = self
                    .state_by(&self.sql().device_state_by_user, &user_code_hash)
                    .await?;
                Ok(match state {
                    None => DeviceDecision::NotFound,
                    Some(s) if s.status()? != DeviceCodeStatus::Pending => {
                        DeviceDecision::AlreadyDecided
                    }
                    Some(s) if !is_live(s.expires_at, now) => DeviceDecision::Expired,
                    // Inserted after the update ran: unknown to it.
                    Some(_) => DeviceDecision::NotFound,
                })
            }
        }

        impl DeviceCodeStore for $device {
            async fn insert(&self, record: DeviceCodeRecord) -> Result<(), StoreError> {
                record.validate()?;
                query(self.sql().device_insert.clone())
                    .bind(bytes(&record.device_code_hash))
                    .bind(bytes(&record.user_code_hash))
                    .bind(record.client_id.as_str())
                    .bind(Json(&record.scope))
                    .bind(Json(&record.resource))
                    .bind(Json(&record.confirmation))
                    .bind(i64_of(record.interval_seconds))
                    .bind(record.issued_at)
                    .bind(record.expires_at)
                    .bind(record.status.as_str())
                    .bind(record.approval.as_ref().map(Json))
                    .bind(record.last_polled_at)
                    .bind(false)
                    .execute(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(())
            }

            async fn find_pending(
                &self,
                user_code_hash: TokenHash,
                now: UnixTime,
            ) -> Result<Option<DeviceCodeRecord>, StoreError> {
                query_as::<_, DeviceRow>(self.sql().device_find_pending.clone())
                    .bind(bytes(&user_code_hash))
                    .bind(now)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(store_error)?
                    .map(DeviceCodeRecord::try_from)
                    .transpose()
            }

            async fn approve(
                &self,
                user_code_hash: TokenHash,
                approval: DeviceApproval,
                now: UnixTime,
            ) -> Result<DeviceDecision, StoreError> {
                approval.validate()?;
                self.decide(user_code_hash, now, DeviceCodeStatus::Approved, Some(&approval))
                    .await
            }

            async fn deny(
                &self,
                user_code_hash: TokenHash,
                now: UnixTime,
            ) -> Result<DeviceDecision, StoreError> {
                self.decide(user_code_hash, now, DeviceCodeStatus::Denied, None)
                    .await
            }

            async fn poll(
                &self,
                device_code_hash: TokenHash,
                now: UnixTime,
            ) -> Result<DevicePoll, StoreError> {
                let polled = query_as::<_, DeviceRow>(self.sql().device_poll.clone())
                    .bind(bytes(&device_code_hash))
                    .bind(now)
                    .bind(SLOW_DOWN_STEP_SECONDS)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(store_error)?;
                let Some(row) = polled else {
                    let state = self
                        .state_by(&self.sql().device_state_by_device, &device_code_hash)
                        .await?;
                    return Ok(match state {
                        Some(s) if !is_live(s.expires_at, now) => DevicePoll::Expired,
                        // Absent, or inserted after the update ran.
                        _ => DevicePoll::NotFound,
                    });
                };
                let slowed = row.last_poll_slowed;
                let record = DeviceCodeRecord::try_from(row)?;
                if slowed {
                    return Ok(DevicePoll::SlowDown {
                        interval_seconds: record.interval_seconds,
                    });
                }
                Ok(match record.status {
                    DeviceCodeStatus::Pending => DevicePoll::Pending,
                    DeviceCodeStatus::Denied => DevicePoll::Denied,
                    DeviceCodeStatus::Approved => DevicePoll::Approved(record),
                    DeviceCodeStatus::Redeemed => DevicePoll::AlreadyRedeemed,
                    // A status added to attesto later is not one this store
                    // wrote: never honour it.
                    _ => return Err(crate::error::corrupt("device code status")),
                })
            }

            async fn redeem(
                &self,
                device_code_hash: TokenHash,
                now: UnixTime,
            ) -> Result<DeviceRedemption, StoreError> {
                let won = query_as::<_, DeviceRow>(self.sql().device_redeem.clone())
                    .bind(bytes(&device_code_hash))
                    .bind(now)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(store_error)?;
                if let Some(row) = won {
                    return Ok(DeviceRedemption::Redeemed(row.try_into()?));
                }
                let state = self
                    .state_by(&self.sql().device_state_by_device, &device_code_hash)
                    .await?;
                let Some(state) = state else {
                    return Ok(DeviceRedemption::NotFound);
                };
                let status = state.status()?;
                Ok(if status == DeviceCodeStatus::Redeemed {
                    DeviceRedemption::AlreadyRedeemed
                } else if !is_live(state.expires_at, now) {
                    DeviceRedemption::Expired
                } else {
                    DeviceRedemption::NotApproved
                })
            }

            async fn sweep_expired(
                &self,
                now: UnixTime,
                batch: NonZeroU32,
            ) -> Result<u64, StoreError> {
                sweep_with(self.pool(), &self.sql().device_sweep, now, batch).await
            }
        }

        // -------------------------------------------------------------------
        // Consent grants

        impl ConsentGrantStore for $consent {
            async fn mint(&self, grant: ConsentGrantRecord) -> Result<(), StoreError> {
                grant.validate()?;
                query(self.sql().consent_insert.clone())
                    .bind(bytes(&grant.token_hash))
                    .bind(bytes(&grant.binding_hash))
                    .bind(grant.subject.as_str())
                    .bind(grant.issued_at)
                    .bind(grant.expires_at)
                    .bind(None::<i64>)
                    .execute(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(())
            }

            async fn consume(
                &self,
                token_hash: TokenHash,
                binding_hash: TokenHash,
                now: UnixTime,
            ) -> Result<ConsentOutcome, StoreError> {
                let won = query_as::<_, ConsentRow>(self.sql().consent_consume.clone())
                    .bind(bytes(&token_hash))
                    .bind(bytes(&binding_hash))
                    .bind(now)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(store_error)?;
                if let Some(row) = won {
                    return Ok(ConsentOutcome::Consumed(row.try_into()?));
                }
                let row = query_as::<_, ConsentRow>(self.sql().consent_get.clone())
                    .bind(bytes(&token_hash))
                    .fetch_optional(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(match row {
                    None => ConsentOutcome::NotFound,
                    Some(row) if row.binding_hash.as_slice() != bytes(&binding_hash) => {
                        ConsentOutcome::BindingMismatch
                    }
                    Some(row) if row.consumed_at.is_some() => ConsentOutcome::AlreadyConsumed,
                    Some(row) if !is_live(row.expires_at, now) => ConsentOutcome::Expired,
                    // Minted after the update ran: unknown to it.
                    Some(_) => ConsentOutcome::NotFound,
                })
            }

            async fn sweep_expired(
                &self,
                now: UnixTime,
                batch: NonZeroU32,
            ) -> Result<u64, StoreError> {
                sweep_with(self.pool(), &self.sql().consent_sweep, now, batch).await
            }
        }

        // -------------------------------------------------------------------
        // Logout sessions

        impl $logout {
            async fn take_with(
                &self,
                statement: &sqlx::SqlStr,
                key: &str,
                now: UnixTime,
            ) -> Result<Vec<LogoutSession>, StoreError> {
                let rows = query_as::<_, LogoutRow>(statement.clone())
                    .bind(key)
                    .bind(now)
                    .fetch_all(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(rows.into_iter().map(LogoutSession::from).collect())
            }
        }

        impl LogoutSessionStore for $logout {
            async fn record(&self, session: LogoutSession) -> Result<(), StoreError> {
                session.validate()?;
                query(self.sql().logout_upsert.clone())
                    .bind(session.sid.as_str())
                    .bind(session.client_id.as_str())
                    .bind(session.subject.as_str())
                    .bind(session.backchannel_logout_uri.as_str())
                    .bind(session.session_required)
                    .bind(session.recorded_at)
                    .bind(session.expires_at)
                    .execute(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(())
            }

            async fn take_session(
                &self,
                sid: &str,
                now: UnixTime,
            ) -> Result<Vec<LogoutSession>, StoreError> {
                self.take_with(&self.sql().logout_take_session, sid, now).await
            }

            async fn take_subject(
                &self,
                subject: &str,
                now: UnixTime,
            ) -> Result<Vec<LogoutSession>, StoreError> {
                self.take_with(&self.sql().logout_take_subject, subject, now)
                    .await
            }

            async fn sweep_expired(
                &self,
                now: UnixTime,
                batch: NonZeroU32,
            ) -> Result<u64, StoreError> {
                sweep_with(self.pool(), &self.sql().logout_sweep, now, batch).await
            }
        }

        // -------------------------------------------------------------------
        // Client ID Metadata Document cache

        impl ClientMetadataCache for $cimd {
            async fn get(
                &self,
                client_id: &str,
                now: UnixTime,
            ) -> Result<Option<CachedClientMetadata>, StoreError> {
                let row = query_as::<_, CimdRow>(self.sql().cimd_get.clone())
                    .bind(client_id)
                    .bind(now)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(row.map(CachedClientMetadata::from))
            }

            async fn put(&self, entry: CachedClientMetadata) -> Result<(), StoreError> {
                entry.validate()?;
                query(self.sql().cimd_upsert.clone())
                    .bind(entry.client_id.as_str())
                    .bind(Json(&entry.document))
                    .bind(entry.etag.as_deref())
                    .bind(entry.fetched_at)
                    .bind(entry.expires_at)
                    .execute(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(())
            }

            async fn remove(&self, client_id: &str) -> Result<(), StoreError> {
                query(self.sql().cimd_remove.clone())
                    .bind(client_id)
                    .execute(self.pool())
                    .await
                    .map_err(store_error)?;
                Ok(())
            }

            async fn sweep_expired(
                &self,
                now: UnixTime,
                batch: NonZeroU32,
            ) -> Result<u64, StoreError> {
                sweep_with(self.pool(), &self.sql().cimd_sweep, now, batch).await
            }
        }
    };
}

pub(crate) use sql_stores;
