//! localspaces: an AWS WorkSpaces-compatible service.
//!
//! Request path: [`edge`] (route, auth, decode, validate) → typed handler per operation in
//! [`service`] (no HTTP) → [`localspaces_store`] → encode in the request's protocol.

pub mod admin;
pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod conn;
pub mod console;
pub mod desktop;
pub mod edge;
pub mod engine;
pub mod logging;
pub mod membership;
pub mod replicas;
pub mod server;
pub mod service;
pub mod state;
