/*
 * loadgen: the one load generator of uvnet's benchmark suite (bench/README.md).
 *
 * A single-threaded epoll client (and, for the client benchmarks, an epoll echo server) that is cheap
 * enough per message not to be the bottleneck when it runs on its own core.  Every mode is bounded in
 * time (-d seconds of measurement after -w seconds of warm-up, plus a hard alarm), talks only to
 * loopback addresses or Unix sockets (anything else is refused), and prints one JSON object on stdout.
 *
 *   loadgen pingpong (--tcp HOST:PORT | --unix PATH) [-c CONNS] [-s SIZE] [-d SECS] [-w SECS]
 *       CONNS connections, each sending SIZE bytes and waiting for SIZE bytes back, again and again.
 *       Reports messages/s and the round-trip latency histogram (p50/p90/p99/p99.9/max).
 *   loadgen bulk (--tcp ... | --unix ...) [-c CONNS] [-s CHUNK] [--window BYTES] [-d] [-w]
 *       Writes CHUNK-sized blocks as fast as the peer echoes them back, with at most BYTES unechoed per
 *       connection (so an echo server that buffers without backpressure stays bounded).  Reports MB/s
 *       of echoed bytes (1 MB = 10^6 bytes).
 *   loadgen connrate (--tcp ... | --unix ...) [-c INFLIGHT] [-n MAXCONNS] [-d] [-w]
 *       INFLIGHT slots each doing: connect, write 1 byte, read the echo, close; again and again.
 *       -c 1 is sequential.  Stops after -d seconds or MAXCONNS connections (warm-up included).
 *       Reports connections/s and the cycle latency histogram.
 *   loadgen hold (--tcp ... | --unix ...) [-c N] [-d MAXSECS]
 *       Opens N connections one by one, each pinged with 1 byte and echoed (so the server has accepted
 *       and read it), prints {"ready": N} and holds them until stdin closes (or MAXSECS), then closes
 *       them all and prints its result.  Used to measure the server's RSS per idle connection.
 *   loadgen serve (--tcp HOST:PORT | --unix PATH) [-p NPORTS] [-d MAXSECS]
 *       An epoll echo server (TCP_NODELAY on) for the client benchmarks, on NPORTS TCP ports.  Prints
 *       {"listening": PORT, "ports": [...]} and serves until SIGTERM/SIGINT, stdin EOF, or MAXSECS.
 *
 * TCP client sockets over IPv4 are bound to source addresses spread over 127.0.0.2-251 (see new_socket).
 *
 * Built by bench (gcc -O2); no dependencies beyond libc.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------------ */
/* options */

static const char *mode = NULL;
static int use_unix = 0;
static struct sockaddr_storage peer;
static socklen_t peer_len = 0;
static int conns = 1;
static size_t msg_size = 1024;
static size_t window = 2 * 1024 * 1024;
static double duration = 2.0;
static double warmup = 0.5;
static int nodelay = 1;
static long max_conns = 0; /* connrate: stop after this many connections (-n), warm-up included */
static volatile sig_atomic_t stop_flag = 0;

static void die(const char *what) {
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen MODE (--tcp HOST:PORT | --unix PATH) [-c N] [-s SIZE] [-d SECS] [-w SECS]\n"
            "       [--window BYTES] [--nagle] [-p NPORTS]\n"
            "modes: pingpong bulk connrate hold serve\n");
    exit(2);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void parse_tcp(const char *spec) {
    /* HOST:PORT or [V6]:PORT; loopback only */
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon) usage();
    size_t hl = (size_t)(colon - spec);
    if (hl >= sizeof host) usage();
    memcpy(host, spec, hl);
    host[hl] = 0;
    int port = atoi(colon + 1);
    if (port < 0 || port > 65535) usage();
    memset(&peer, 0, sizeof peer);
    char *h = host;
    if (h[0] == '[') {
        h++;
        char *e = strchr(h, ']');
        if (e) *e = 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)&peer;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&peer;
    if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
        if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127) {
            fprintf(stderr, "loadgen: refusing non-loopback address %s\n", h);
            exit(2);
        }
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        peer_len = sizeof *a4;
    } else if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr)) {
            fprintf(stderr, "loadgen: refusing non-loopback address %s\n", h);
            exit(2);
        }
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        peer_len = sizeof *a6;
    } else {
        fprintf(stderr, "loadgen: not an IP literal: %s\n", h);
        exit(2);
    }
}

static void parse_unix(const char *path) {
    struct sockaddr_un *u = (struct sockaddr_un *)&peer;
    memset(&peer, 0, sizeof peer);
    if (strlen(path) >= sizeof u->sun_path) {
        fprintf(stderr, "loadgen: unix path too long\n");
        exit(2);
    }
    u->sun_family = AF_UNIX;
    strcpy(u->sun_path, path);
    peer_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
    use_unix = 1;
}

/* ------------------------------------------------------------------------------------------------ */
/* latency histogram: log-linear, 32 sub-buckets per power of two of nanoseconds (~3% resolution) */

#define SUB_BITS 5
#define SUB (1 << SUB_BITS)
#define NBUCKETS (64 * SUB)
static uint64_t hist[NBUCKETS];
static uint64_t hist_n = 0;
static uint64_t hist_max = 0;
static double hist_sum = 0;

static int bucket_of(uint64_t v) {
    if (v < SUB) return (int)v;
    int e = 63 - __builtin_clzll(v); /* v in [2^e, 2^(e+1)) */
    int sub = (int)((v >> (e - SUB_BITS)) & (SUB - 1));
    return (e - SUB_BITS + 1) * SUB + sub;
}

static double bucket_mid(int b) {
    if (b < SUB) return b;
    int e = b / SUB + SUB_BITS - 1;
    int sub = b % SUB;
    double lo = ldexp(1.0, e) + sub * ldexp(1.0, e - SUB_BITS);
    return lo + ldexp(1.0, e - SUB_BITS) / 2;
}

static void hist_add(uint64_t ns) {
    hist[bucket_of(ns)]++;
    hist_n++;
    hist_sum += (double)ns;
    if (ns > hist_max) hist_max = ns;
}

static void hist_reset(void) {
    memset(hist, 0, sizeof hist);
    hist_n = 0;
    hist_max = 0;
    hist_sum = 0;
}

static double hist_pct_us(double p) {
    if (!hist_n) return 0;
    uint64_t want = (uint64_t)ceil(p / 100.0 * (double)hist_n);
    if (want < 1) want = 1;
    uint64_t acc = 0;
    for (int b = 0; b < NBUCKETS; b++) {
        acc += hist[b];
        if (acc >= want) return bucket_mid(b) / 1000.0;
    }
    return hist_max / 1000.0;
}

static void print_hist_json(void) {
    printf("\"lat_us\": {\"n\": %llu, \"mean\": %.2f, \"p50\": %.2f, \"p90\": %.2f, \"p99\": %.2f, "
           "\"p999\": %.2f, \"max\": %.2f}",
           (unsigned long long)hist_n, hist_n ? hist_sum / hist_n / 1000.0 : 0.0, hist_pct_us(50),
           hist_pct_us(90), hist_pct_us(99), hist_pct_us(99.9), hist_max / 1000.0);
}

static void print_rusage_json(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\"self_cpu\": {\"user\": %.3f, \"sys\": %.3f}", ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
           ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
}

/* ------------------------------------------------------------------------------------------------ */
/* sockets */

static void set_nb(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) die("fcntl");
}

static void tune(int fd) {
    if (!use_unix) {
        int one = nodelay;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
}

/* TCP over IPv4: spread the client sockets over the source addresses 127.0.0.2-251 (the port is still
 * chosen by connect(), IP_BIND_ADDRESS_NO_PORT).  A connection-rate run opens tens of thousands of
 * connections, each leaving a TIME_WAIT behind for 60 s; from one source address the 28,000 ephemeral
 * ports of one (source, destination) pair run out within seconds, and connect() then stalls or fails. */
#define SRC_SPREAD 250
static unsigned src_next = 0;

static int new_socket(void) {
    int fd = socket(peer.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    tune(fd);
    if (peer.ss_family == AF_INET) {
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in src;
        memset(&src, 0, sizeof src);
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(0x7f000002u + (src_next++ % SRC_SPREAD));
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) die("bind (source address)");
    }
    return fd;
}

/* A blocking connect bounded by timeout_ms; returns fd (nonblocking afterwards) or -1. */
static int connect_bounded(int timeout_ms) {
    int fd = new_socket();
    set_nb(fd);
    if (connect(fd, (struct sockaddr *)&peer, peer_len) < 0) {
        if (errno == EAGAIN && use_unix) {
            /* Unix listener backlog full: retry until the deadline */
            double dl = now_s() + timeout_ms / 1000.0;
            while (connect(fd, (struct sockaddr *)&peer, peer_len) < 0) {
                if (errno != EAGAIN || now_s() > dl) {
                    close(fd);
                    return -1;
                }
                usleep(200);
            }
            return fd;
        }
        if (errno != EINPROGRESS) {
            close(fd);
            return -1;
        }
        struct pollfd p = {fd, POLLOUT, 0};
        if (poll(&p, 1, timeout_ms) <= 0) {
            close(fd);
            errno = ETIMEDOUT;
            return -1;
        }
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
            close(fd);
            errno = err;
            return -1;
        }
    }
    return fd;
}

static int read_exact_bounded(int fd, char *buf, size_t n, int timeout_ms) {
    size_t got = 0;
    double dl = now_s() + timeout_ms / 1000.0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (r == 0) return -1;
        if (errno != EAGAIN && errno != EINTR) return -1;
        int left = (int)((dl - now_s()) * 1000);
        if (left <= 0) return -1;
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, left);
    }
    return 0;
}

static int write_all_bounded(int fd, const char *buf, size_t n, int timeout_ms) {
    size_t put = 0;
    double dl = now_s() + timeout_ms / 1000.0;
    while (put < n) {
        ssize_t r = write(fd, buf + put, n - put);
        if (r > 0) {
            put += (size_t)r;
            continue;
        }
        if (r < 0 && errno != EAGAIN && errno != EINTR) return -1;
        int left = (int)((dl - now_s()) * 1000);
        if (left <= 0) return -1;
        struct pollfd p = {fd, POLLOUT, 0};
        poll(&p, 1, left);
    }
    return 0;
}

static int epfd;

static void ep_ctl(int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    if (epoll_ctl(epfd, op, fd, &ev) < 0) die("epoll_ctl");
}

static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

/* ------------------------------------------------------------------------------------------------ */
/* pingpong and bulk */

typedef struct {
    int fd;
    size_t to_send; /* bytes of the current message not yet written (pingpong) */
    size_t got;     /* bytes of the current message received (pingpong) */
    uint64_t t0;    /* when the current message started */
    uint64_t sent;  /* bulk: bytes written */
    uint64_t recvd; /* bulk: bytes read */
    int want_out;
    int dead;
} conn_t;

static char *sendbuf;
static char *recvbuf;
#define RECVBUF (256 * 1024)

static void arm(conn_t *c, int idx, int want_out) {
    if (c->want_out == want_out) return;
    c->want_out = want_out;
    ep_ctl(EPOLL_CTL_MOD, c->fd, EPOLLIN | (want_out ? EPOLLOUT : 0), (uint64_t)idx);
}

static int run_traffic(int bulk) {
    conn_t *cs = calloc((size_t)conns, sizeof *cs);
    size_t chunk = msg_size;
    sendbuf = malloc(chunk);
    recvbuf = malloc(RECVBUF);
    for (size_t i = 0; i < chunk; i++) sendbuf[i] = (char)('a' + i % 26);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < conns; i++) {
        int fd = connect_bounded(10000);
        if (fd < 0) die("connect");
        cs[i].fd = fd;
        ep_ctl(EPOLL_CTL_ADD, fd, EPOLLIN, (uint64_t)i);
    }
    uint64_t count = 0, total = 0, bytes = 0, total_bytes = 0, errors = 0;
    double t_start = now_s();
    double t_meas = t_start + warmup, t_end = t_meas + duration;
    int measuring = warmup <= 0;
    if (measuring) t_meas = t_start;
    /* start traffic */
    for (int i = 0; i < conns; i++) {
        conn_t *c = &cs[i];
        if (!bulk) {
            c->to_send = chunk;
            c->got = 0;
            c->t0 = now_ns();
            ssize_t r = write(c->fd, sendbuf, chunk);
            if (r > 0) c->to_send -= (size_t)r;
            if (c->to_send) arm(c, i, 1);
        } else {
            arm(c, i, 1);
        }
    }
    struct epoll_event evs[256];
    int alive = conns;
    double t = now_s();
    while (t < t_end && alive > 0 && !stop_flag) {
        int n = epoll_wait(epfd, evs, 256, 50);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int k = 0; k < n; k++) {
            int i = (int)evs[k].data.u64;
            conn_t *c = &cs[i];
            if (c->dead) continue;
            if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                for (;;) {
                    ssize_t r = read(c->fd, recvbuf, RECVBUF);
                    if (r > 0) {
                        if (bulk) {
                            c->recvd += (uint64_t)r;
                            bytes += (uint64_t)r;
                            total_bytes += (uint64_t)r;
                        } else {
                            c->got += (size_t)r;
                            if (c->got >= chunk && c->to_send == 0) {
                                uint64_t tn = now_ns();
                                if (measuring) {
                                    hist_add(tn - c->t0);
                                    count++;
                                }
                                total++;
                                c->got -= chunk; /* an echo server never sends more than asked */
                                c->t0 = tn;
                                c->to_send = chunk;
                                ssize_t w = write(c->fd, sendbuf, chunk);
                                if (w > 0) c->to_send -= (size_t)w;
                                if (c->to_send) arm(c, i, 1);
                            }
                        }
                        if ((size_t)r < RECVBUF) break;
                        continue;
                    }
                    if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                        errors++;
                        c->dead = 1;
                        alive--;
                        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
                    }
                    break;
                }
            }
            if (c->dead) continue;
            if (bulk) {
                /* write while the unechoed window allows */
                int blocked = 0;
                while (c->sent - c->recvd + chunk <= window) {
                    ssize_t w = write(c->fd, sendbuf, chunk);
                    if (w > 0) {
                        c->sent += (uint64_t)w;
                        if ((size_t)w < chunk) {
                            blocked = 1;
                            break;
                        }
                    } else {
                        if (w < 0 && errno != EAGAIN && errno != EINTR) {
                            errors++;
                            c->dead = 1;
                            alive--;
                            epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
                        }
                        blocked = 1;
                        break;
                    }
                }
                if (!c->dead) arm(c, i, blocked);
            } else if ((evs[k].events & EPOLLOUT) && c->to_send) {
                ssize_t w = write(c->fd, sendbuf + (chunk - c->to_send), c->to_send);
                if (w > 0) c->to_send -= (size_t)w;
                if (!c->to_send) arm(c, i, 0);
            }
        }
        t = now_s();
        if (!measuring && t >= t_meas) {
            measuring = 1;
            t_meas = t;
            count = 0;
            bytes = 0;
            hist_reset();
        }
    }
    double secs = t - t_meas;
    if (!measuring) secs = 0;
    for (int i = 0; i < conns; i++) close(cs[i].fd);
    printf("{\"mode\": \"%s\", \"conns\": %d, \"size\": %zu, \"secs\": %.4f, \"errors\": %llu, ", mode, conns,
           chunk, secs, (unsigned long long)errors);
    if (bulk) {
        printf("\"bytes\": %llu, \"total_bytes\": %llu, \"mb_per_s\": %.3f, ", (unsigned long long)bytes,
               (unsigned long long)total_bytes, secs > 0 ? bytes / secs / 1e6 : 0.0);
    } else {
        printf("\"count\": %llu, \"total\": %llu, \"rate\": %.2f, ", (unsigned long long)count,
               (unsigned long long)total, secs > 0 ? count / secs : 0.0);
        print_hist_json();
        printf(", ");
    }
    print_rusage_json();
    printf("}\n");
    return errors && alive == 0 ? 1 : 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* connrate */

typedef struct {
    int fd;
    int state; /* 0 idle/retry, 1 connecting, 2 waiting echo */
    uint64_t t0;
} slot_t;

static int run_connrate(void) {
    slot_t *ss = calloc((size_t)conns, sizeof *ss);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    uint64_t count = 0, total = 0, errors = 0, retries = 0;
    double t_start = now_s(), t_meas = t_start + warmup, t_end = t_meas + duration;
    int measuring = warmup <= 0;
    if (measuring) t_meas = t_start;
    char one = 'x', back;
    int pending_retry = 0;

#define START(i)                                                                          \
    do {                                                                                  \
        slot_t *s_ = &ss[i];                                                              \
        s_->fd = new_socket();                                                            \
        set_nb(s_->fd);                                                                   \
        s_->t0 = now_ns();                                                                \
        if (connect(s_->fd, (struct sockaddr *)&peer, peer_len) == 0 || errno == EINPROGRESS) { \
            s_->state = 1;                                                                \
            ep_ctl(EPOLL_CTL_ADD, s_->fd, EPOLLOUT, (uint64_t)(i));                       \
        } else {                                                                          \
            if (errno == EAGAIN) retries++; else errors++;                                \
            close(s_->fd);                                                                \
            s_->fd = -1;                                                                  \
            s_->state = 0;                                                                \
            pending_retry = 1;                                                            \
        }                                                                                 \
    } while (0)

    for (int i = 0; i < conns; i++) START(i);
    struct epoll_event evs[256];
    double t = now_s();
    while (t < t_end && !stop_flag) {
        int n = epoll_wait(epfd, evs, 256, pending_retry ? 1 : 50);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int k = 0; k < n; k++) {
            int i = (int)evs[k].data.u64;
            slot_t *s = &ss[i];
            int fail = 0;
            if (s->state == 1) {
                int err = 0;
                socklen_t l = sizeof err;
                getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l);
                if (err || write(s->fd, &one, 1) != 1) {
                    fail = 1;
                } else {
                    s->state = 2;
                    ep_ctl(EPOLL_CTL_MOD, s->fd, EPOLLIN, (uint64_t)i);
                }
            } else if (s->state == 2) {
                ssize_t r = read(s->fd, &back, 1);
                if (r == 1) {
                    uint64_t tn = now_ns();
                    if (measuring) {
                        hist_add(tn - s->t0);
                        count++;
                    }
                    total++;
                    epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
                    close(s->fd);
                    START(i);
                    continue;
                } else if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                    continue;
                } else {
                    fail = 1;
                }
            }
            if (fail) {
                errors++;
                epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
                close(s->fd);
                START(i);
            }
        }
        if (pending_retry) {
            pending_retry = 0;
            for (int i = 0; i < conns; i++)
                if (ss[i].state == 0) START(i);
        }
        t = now_s();
        if (!measuring && t >= t_meas) {
            measuring = 1;
            t_meas = t;
            count = 0;
            hist_reset();
        }
        if (max_conns > 0 && total >= (uint64_t)max_conns) break;
        if (errors > 1000 && errors > total) {
            fprintf(stderr, "loadgen: too many connection errors (%llu), last: %s\n",
                    (unsigned long long)errors, strerror(errno));
            break;
        }
    }
    double secs = measuring ? t - t_meas : 0;
    for (int i = 0; i < conns; i++)
        if (ss[i].state) close(ss[i].fd);
    printf("{\"mode\": \"connrate\", \"conns\": %d, \"secs\": %.4f, \"count\": %llu, \"total\": %llu, "
           "\"errors\": %llu, \"retries\": %llu, \"rate\": %.2f, ",
           conns, secs, (unsigned long long)count, (unsigned long long)total, (unsigned long long)errors,
           (unsigned long long)retries, secs > 0 ? count / secs : 0.0);
    print_hist_json();
    printf(", ");
    print_rusage_json();
    printf("}\n");
    return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* hold */

static int run_hold(void) {
    int *fds = malloc(sizeof(int) * (size_t)conns);
    char one = 'x', back;
    double t0 = now_s();
    int opened = 0;
    for (int i = 0; i < conns && !stop_flag; i++) {
        int fd = connect_bounded(10000);
        if (fd < 0) {
            fprintf(stderr, "loadgen: hold: connection %d failed: %s\n", i, strerror(errno));
            break;
        }
        if (write_all_bounded(fd, &one, 1, 10000) < 0 || read_exact_bounded(fd, &back, 1, 10000) < 0) {
            fprintf(stderr, "loadgen: hold: ping on connection %d failed\n", i);
            close(fd);
            break;
        }
        fds[opened++] = fd;
        if (now_s() - t0 > duration) break;
    }
    printf("{\"ready\": %d, \"open_secs\": %.3f}\n", opened, now_s() - t0);
    fflush(stdout);
    /* hold until stdin closes or the bound */
    double dl = t0 + duration;
    while (!stop_flag) {
        int left = (int)((dl - now_s()) * 1000);
        if (left <= 0) break;
        struct pollfd p = {0, POLLIN, 0};
        int r = poll(&p, 1, left);
        if (r > 0) {
            char b[64];
            ssize_t n = read(0, b, sizeof b);
            if (n <= 0) break;
        }
    }
    for (int i = 0; i < opened; i++) close(fds[i]);
    printf("{\"mode\": \"hold\", \"conns\": %d, \"opened\": %d, ", conns, opened);
    print_rusage_json();
    printf("}\n");
    return opened == conns ? 0 : 1;
}

/* ------------------------------------------------------------------------------------------------ */
/* serve: an echo server for the client benchmarks */

typedef struct {
    int fd;
    char *pend;
    size_t pend_off, pend_len;
    int eof;
} sconn_t;

#define MAX_LISTEN 64
static int nports = 1;

static int run_serve(void) {
    /* TCP: listen on nports ports (-p), so that clients rotating over them have nports times the
     * (source port, destination port) pairs before TIME_WAITs exhaust the ephemeral range. */
    int lfds[MAX_LISTEN];
    int ports[MAX_LISTEN];
    if (use_unix || nports < 1) nports = 1;
    if (nports > MAX_LISTEN) nports = MAX_LISTEN;
    epfd = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < nports; i++) {
        int lfd = socket(peer.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (lfd < 0) die("socket");
        int one = 1;
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (use_unix) unlink(((struct sockaddr_un *)&peer)->sun_path);
        if (bind(lfd, (struct sockaddr *)&peer, peer_len) < 0) die("bind");
        if (listen(lfd, 4096) < 0) die("listen");
        ports[i] = 0;
        if (!use_unix) {
            struct sockaddr_storage a;
            socklen_t al = sizeof a;
            getsockname(lfd, (struct sockaddr *)&a, &al);
            ports[i] = ntohs(a.ss_family == AF_INET ? ((struct sockaddr_in *)&a)->sin_port
                                                    : ((struct sockaddr_in6 *)&a)->sin6_port);
        }
        lfds[i] = lfd;
        ep_ctl(EPOLL_CTL_ADD, lfd, EPOLLIN, (uint64_t)(-10 - i));
    }
    printf("{\"listening\": %d, \"ports\": [", ports[0]);
    for (int i = 0; i < nports; i++) printf("%s%d", i ? ", " : "", ports[i]);
    printf("]}\n");
    fflush(stdout);
    {
        /* stop when stdin closes, if stdin is something epoll can watch (a pipe; not /dev/null) */
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)-2};
        epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev);
    }
    size_t cap = 1024;
    sconn_t **tab = calloc(cap, sizeof *tab); /* indexed by fd */
    char *buf = malloc(RECVBUF);
    double dl = now_s() + duration;
    struct epoll_event evs[256];
    uint64_t accepted = 0;
    int stdin_open = 1;
    while (!stop_flag && now_s() < dl) {
        int n = epoll_wait(epfd, evs, 256, 200);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int k = 0; k < n; k++) {
            uint64_t d = evs[k].data.u64;
            if (d == (uint64_t)-2) {
                char b[64];
                ssize_t r = read(0, b, sizeof b);
                if (r <= 0) {
                    stop_flag = 1;
                    stdin_open = 0;
                    epoll_ctl(epfd, EPOLL_CTL_DEL, 0, NULL);
                }
                continue;
            }
            if ((int64_t)d <= -10) {
                int lfd = lfds[-10 - (int64_t)d];
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    accepted++;
                    tune(fd);
                    if ((size_t)fd >= cap) {
                        size_t nc = cap;
                        while (nc <= (size_t)fd) nc *= 2;
                        tab = realloc(tab, nc * sizeof *tab);
                        memset(tab + cap, 0, (nc - cap) * sizeof *tab);
                        cap = nc;
                    }
                    sconn_t *c = calloc(1, sizeof *c);
                    c->fd = fd;
                    tab[fd] = c;
                    ep_ctl(EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP, (uint64_t)fd);
                }
                continue;
            }
            int fd = (int)d;
            sconn_t *c = tab[fd];
            if (!c) continue;
            int closeit = 0;
            if (c->pend_len) {
                /* draining: write what is pending */
                ssize_t w = write(fd, c->pend + c->pend_off, c->pend_len);
                if (w > 0) {
                    c->pend_off += (size_t)w;
                    c->pend_len -= (size_t)w;
                } else if (w < 0 && errno != EAGAIN) {
                    closeit = 1;
                }
                if (!closeit && !c->pend_len) {
                    if (c->eof) closeit = 1;
                    else ep_ctl(EPOLL_CTL_MOD, fd, EPOLLIN | EPOLLRDHUP, (uint64_t)fd);
                }
            } else {
                for (;;) {
                    ssize_t r = read(fd, buf, RECVBUF);
                    if (r > 0) {
                        ssize_t w = write(fd, buf, (size_t)r);
                        if (w < 0) {
                            if (errno != EAGAIN) {
                                closeit = 1;
                                break;
                            }
                            w = 0;
                        }
                        if (w < r) {
                            size_t left = (size_t)(r - w);
                            c->pend = realloc(c->pend, left);
                            memcpy(c->pend, buf + w, left);
                            c->pend_off = 0;
                            c->pend_len = left;
                            ep_ctl(EPOLL_CTL_MOD, fd, EPOLLOUT, (uint64_t)fd);
                            break;
                        }
                        if (r < RECVBUF) break;
                        continue;
                    }
                    if (r == 0) {
                        c->eof = 1;
                        closeit = 1;
                    } else if (errno != EAGAIN && errno != EINTR) {
                        closeit = 1;
                    }
                    break;
                }
            }
            if (closeit) {
                epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                free(c->pend);
                free(c);
                tab[fd] = NULL;
            }
        }
    }
    (void)stdin_open;
    for (int i = 0; i < nports; i++) close(lfds[i]);
    if (use_unix) unlink(((struct sockaddr_un *)&peer)->sun_path);
    fprintf(stderr, "{\"mode\": \"serve\", \"accepted\": %llu}\n", (unsigned long long)accepted);
    return 0;
}

/* ------------------------------------------------------------------------------------------------ */

int main(int argc, char **argv) {
    if (argc < 2) usage();
    mode = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (usage(), ""))
        if (!strcmp(a, "--tcp")) parse_tcp(NEXT());
        else if (!strcmp(a, "--unix")) parse_unix(NEXT());
        else if (!strcmp(a, "-c")) conns = atoi(NEXT());
        else if (!strcmp(a, "-s")) msg_size = (size_t)atol(NEXT());
        else if (!strcmp(a, "-d")) duration = atof(NEXT());
        else if (!strcmp(a, "-w")) warmup = atof(NEXT());
        else if (!strcmp(a, "--window")) window = (size_t)atol(NEXT());
        else if (!strcmp(a, "--nagle")) nodelay = 0;
        else if (!strcmp(a, "-p")) nports = atoi(NEXT());
        else if (!strcmp(a, "-n")) max_conns = atol(NEXT());
        else usage();
    }
    if (!peer_len || conns < 1 || msg_size < 1 || duration <= 0) usage();
    if (window < msg_size) window = msg_size;
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* the hard bound: whatever happens, this process ends */
    alarm((unsigned)(duration + warmup + 60));
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (!strcmp(mode, "pingpong")) return run_traffic(0);
    if (!strcmp(mode, "bulk")) {
        if (msg_size == 1024) msg_size = 65536;
        return run_traffic(1);
    }
    if (!strcmp(mode, "connrate")) return run_connrate();
    if (!strcmp(mode, "hold")) return run_hold();
    if (!strcmp(mode, "serve")) return run_serve();
    usage();
    return 2;
}
