/**
 * Least-privilege access: one principal per role and its Kafka ACL bindings ({@link
 * io.softstream.topology.access.AccessPolicy}), installed by the secure embedded broker and
 * rendered into the Kubernetes KafkaUser manifests.
 */
package io.softstream.topology.access;
