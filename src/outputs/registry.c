/* The output transports: adding one is a file in this folder and a line here. */
#include "outputs/output.h"

extern const struct ar_transport_ops ar_transport_stdout, ar_transport_file,
    ar_transport_syslog_udp, ar_transport_syslog_tcp, ar_transport_syslog_tls, ar_transport_unix,
    ar_transport_relp, ar_transport_relp_tls, ar_transport_kafka;

const struct ar_transport_ops *const ar_transports[] = {
    &ar_transport_stdout,
    &ar_transport_file,
    &ar_transport_syslog_udp,
    &ar_transport_syslog_tcp,
    &ar_transport_syslog_tls,
    &ar_transport_unix,
    &ar_transport_relp,
    &ar_transport_relp_tls,
#if AR_HAVE_KAFKA
    &ar_transport_kafka,
#endif
    &ar_transport_exec,
    NULL,
};
