/* A Kafka cluster for the tests and bench/forward: librdkafka's built-in mock cluster
 * (in-memory brokers that speak the real protocol on loopback sockets), driven by
 * commands on stdin so a test can fail brokers during a run.
 *
 *   kafka_mock TOPIC PARTITIONS REPLICATION BROKERS
 *
 * Prints "bootstrap HOST:PORT,..." once the cluster is up, then answers one line per
 * command:
 *   down ID | up ID         a broker stops taking connections / takes them again
 *   leader PARTITION ID     moves a partition's leadership (ID -1: no leader)
 *   leaderof PARTITION      prints the partition's leader as the cluster reports it
 *   errors N CODE           the next N Produce requests fail with Kafka error CODE
 *   topic NAME              creates another topic like TOPIC
 *   count [NAME]            prints "count P0 P1 ...": messages appended to each of
 *                           TOPIC's (or NAME's) partitions so far (the high watermarks:
 *                           the mock keeps only the last 5 MB of each partition)
 *   quit (or end of input)  stops.
 * Every command answers "ok ..." or "error ...". */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define PRODUCE_REQUEST 0

static rd_kafka_t *make_client(const char *bootstrap, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (bootstrap && rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, errlen) !=
                         RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set(conf, "log_level", "0", NULL, 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (!rk)
        rd_kafka_conf_destroy(conf);
    return rk;
}

/* The partition's leader from the cluster's metadata; -2 when unknown. */
static int leader_of(rd_kafka_t *rk, const char *topic, int32_t partition)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md;
    int id = -2;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == 0) {
        for (int t = 0; t < md->topic_cnt; t++)
            for (int p = 0; p < md->topics[t].partition_cnt; p++)
                if (md->topics[t].partitions[p].id == partition)
                    id = md->topics[t].partitions[p].leader;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    return id;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: kafka_mock TOPIC PARTITIONS REPLICATION BROKERS\n");
        return 2;
    }
    const char *topic = argv[1];
    int partitions = atoi(argv[2]), replication = atoi(argv[3]), brokers = atoi(argv[4]);
    signal(SIGPIPE, SIG_IGN);
    char err[512];
    rd_kafka_t *host = make_client(NULL, err, sizeof(err));
    if (!host) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(host, brokers);
    if (!mc) {
        fprintf(stderr, "kafka_mock: cannot start the mock cluster\n");
        return 1;
    }
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, topic, partitions, replication);
    if (e) {
        fprintf(stderr, "kafka_mock: topic %s: %s\n", topic, rd_kafka_err2str(e));
        return 1;
    }
    const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
    /* A client of the cluster, for the watermarks "count" reads. */
    rd_kafka_t *reader = make_client(bootstrap, err, sizeof(err));
    if (!reader) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("bootstrap %s\n", bootstrap);

    char line[512], name[256];
    while (fgets(line, sizeof(line), stdin)) {
        char cmd[32] = "";
        long a = 0, b = 0;
        int n = sscanf(line, "%31s %ld %ld", cmd, &a, &b);
        if (n < 1)
            continue;
        if (strcmp(cmd, "quit") == 0)
            break;
        if (strcmp(cmd, "down") == 0 && n == 2) {
            e = rd_kafka_mock_broker_set_down(mc, (int32_t)a);
        } else if (strcmp(cmd, "up") == 0 && n == 2) {
            e = rd_kafka_mock_broker_set_up(mc, (int32_t)a);
        } else if (strcmp(cmd, "leader") == 0 && n == 3 && a >= 0 && a < partitions) {
            e = rd_kafka_mock_partition_set_leader(mc, topic, (int32_t)a, (int32_t)b);
        } else if (strcmp(cmd, "leaderof") == 0 && n == 2 && a >= 0 && a < partitions) {
            int id = leader_of(reader, topic, (int32_t)a);
            if (id >= -1) {
                printf("ok %d\n", id);
                continue;
            }
            e = RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
        } else if (strcmp(cmd, "errors") == 0 && n == 3 && a > 0 && a <= 1000) {
            rd_kafka_resp_err_t *codes = calloc((size_t)a, sizeof(*codes));
            for (long i = 0; i < a; i++)
                codes[i] = (rd_kafka_resp_err_t)b;
            rd_kafka_mock_push_request_errors_array(mc, PRODUCE_REQUEST, (size_t)a, codes);
            free(codes);
            e = 0;
        } else if (strcmp(cmd, "topic") == 0 && sscanf(line, "%*s %255s", name) == 1) {
            e = rd_kafka_mock_topic_create(mc, name, partitions, replication);
        } else if (strcmp(cmd, "count") == 0) {
            char out[1024];
            const char *which = sscanf(line, "%*s %255s", name) == 1 ? name : topic;
            size_t k = (size_t)snprintf(out, sizeof(out), "count");
            for (int p = 0; p < partitions && !e; p++) {
                int64_t lo = 0, hi = 0;
                e = rd_kafka_query_watermark_offsets(reader, which, p, &lo, &hi, 5000);
                k += (size_t)snprintf(out + k, sizeof(out) - k, " %" PRId64, hi);
            }
            if (!e) {
                printf("ok %s\n", out);
                continue;
            }
        } else {
            printf("error unknown command: %s", line);
            continue;
        }
        if (e)
            printf("error %s\n", rd_kafka_err2str(e));
        else
            printf("ok\n");
        e = 0;
    }
    rd_kafka_destroy(reader);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(host);
    return 0;
}
