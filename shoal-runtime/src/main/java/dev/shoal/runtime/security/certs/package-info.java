/**
 * Making a cluster's certificates ({@code shoal certs}): a cluster CA and one certificate per
 * node. The only code that uses BouncyCastle, an optional dependency of this module, so a worker
 * never loads it: nodes read their files with the JDK ({@link dev.shoal.runtime.security.NodeCredentials}).
 */
package dev.shoal.runtime.security.certs;
