//! Outbound network: sockets and `wasi:http`, each destination checked
//! against the function's grants (`outbound.rs`), on a TLS configuration of
//! the host's.

use std::sync::Arc;

use anyhow::Context as _;
use wasmtime::component::Linker;

use super::{Capability, CapabilityViews, Equipment, Prepared};
use crate::outbound::{Outbound, socket_check};

pub(super) struct Network;

impl<T: CapabilityViews> Capability<T> for Network {
    fn link(&self, linker: &mut Linker<T>) -> anyhow::Result<()> {
        // Outbound HTTP for every handler; what it may reach is the
        // function's grants.
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)
            .map_err(anyhow::Error::from)
            .context("failed to link wasi:http")
    }

    fn equip(&self, prepared: &Prepared<'_>, sandbox: &mut Equipment<'_>) -> anyhow::Result<()> {
        let grants = prepared.grants;
        let tcp = grants.any_for_scheme("tcp");
        let udp = grants.any_for_scheme("udp");
        // A TCP socket exists only with a grant that needs one. UDP sockets
        // may be created without (libraries create theirs at import, as the
        // X-Ray SDK and Powertools' Tracer do); binding, connecting and
        // sending are checked against the grants, and every socket counts
        // against the sandbox's handle cap (`limits.rs`).
        sandbox
            .wasi
            .allow_tcp(tcp)
            .allow_udp(true)
            .allow_ip_name_lookup(tcp || udp)
            .socket_addr_check(socket_check(grants.clone(), sandbox.log.clone()));
        sandbox.parts.outbound = Some(Outbound {
            grants: grants.clone(),
            tls: prepared.tls.clone(),
            connections: Arc::new(tokio::sync::Semaphore::new(
                prepared.max_outbound_connections,
            )),
            log: sandbox.log.clone(),
            credentials: crate::outbound::Credentials::for_environment(sandbox.environment),
        });
        Ok(())
    }
}
