/**
 * Who may talk to whom: the cluster's mutual TLS (certificates, trust, roles), the authorisation
 * of each worker call by the caller's role, and the coordinator's lease on a worker.
 */
package dev.shoal.runtime.security;
