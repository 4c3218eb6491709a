/* The output transports: adding one is a file in this folder and a line here. */
#include "outputs/output.h"

extern const struct ar_transport_ops ar_transport_stdout, ar_transport_file,
    ar_transport_syslog_udp, ar_transport_syslog_tcp, ar_transport_unix;

/* Modules (meson.build says why): the scheme here, the transport in the file.
 * syslog+tls is syslog/syslog.c built a second time, with GnuTLS. */
static const struct ar_transport_ops syslog_tls_module = {
    .scheme = "syslog+tls", .module = "auditrelay-tls.so",
    .module_symbol = "ar_transport_syslog_tls",
};
static const struct ar_transport_ops relp_module = {
    .scheme = "relp", .module = "auditrelay-relp.so", .module_symbol = "ar_transport_relp",
};
static const struct ar_transport_ops relp_tls_module = {
    .scheme = "relp+tls", .module = "auditrelay-relp.so", .module_symbol = "ar_transport_relp_tls",
};

#if AR_HAVE_KAFKA
static const struct ar_transport_ops kafka_module = {
    .scheme = "kafka", .module = "auditrelay-kafka.so", .module_symbol = "ar_transport_kafka",
};
#endif

const struct ar_transport_ops *const ar_transports[] = {
    &ar_transport_stdout,
    &ar_transport_file,
    &ar_transport_syslog_udp,
    &ar_transport_syslog_tcp,
    &syslog_tls_module,
    &ar_transport_unix,
    &relp_module,
    &relp_tls_module,
#if AR_HAVE_KAFKA
    &kafka_module,
#endif
    &ar_transport_exec,
    NULL,
};
