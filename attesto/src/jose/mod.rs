//! JOSE.
