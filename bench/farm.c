/*
 * One shard of a benchmark socket farm: opens real TCP sockets in every state inside the
 * network namespace it runs in, then holds them until stdin closes, SIGTERM, or --max-seconds.
 * Compiled by bench/run.mjs at bench time; run under `ip netns exec`.
 *
 * Shard W serves on 127.1.W.1 and connects from 127.(K).W.x with explicit ports from the
 * ephemeral range, so no connect() searches for a free port. Ports (the bench installs the
 * iptables rules that hold the transient states):
 *   8080 ESTABLISHED pairs   8090 CLOSE_WAIT / FIN_WAIT2   8091 FIN_WAIT1 (client FINs dropped)
 *   8092 LAST_ACK (server FINs dropped)   8093 SYN_SENT / SYN_RECV (SYN-ACKs dropped)
 *   8094 TIME_WAIT (recreated every --tw-every seconds)   8095 a listener never accept()ed
 *
 * Prints "READY {json}" once every socket is in place. Every loop is bounded.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PORT_EST 8080
#define PORT_CW 8090
#define PORT_FW1 8091
#define PORT_LA 8092
#define PORT_HALF 8093
#define PORT_TW 8094
#define PORT_QUEUE 8095
#define EPH_FIRST 32768
#define EPH_PORTS 28000

static int shard;
static volatile sig_atomic_t stop;

static void die(const char *what) {
  fprintf(stdout, "ERROR shard %d: %s: %s\n", shard, what, strerror(errno));
  fflush(stdout);
  exit(1);
}

static struct sockaddr_in addr4(int a, int b, int c, int d, int port) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)port);
  sa.sin_addr.s_addr = htonl((unsigned)(a << 24 | b << 16 | c << 8 | d));
  return sa;
}

static struct sockaddr_in server_addr(int port) { return addr4(127, 1, shard, 1, port); }

static int listener(int port, int backlog) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = server_addr(port);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind listener");
  if (listen(fd, backlog) < 0) die("listen");
  return fd;
}

/* A client socket bound to 127.<kind>.<shard>.<1 + i / EPH_PORTS>:<EPH_FIRST + i % EPH_PORTS>. */
static int client(int kind, long i, int nonblock) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = addr4(127, kind, shard, 1 + (int)(i / EPH_PORTS), EPH_FIRST + (int)(i % EPH_PORTS));
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind client");
  return fd;
}

static int connect_to(int fd, int port) {
  struct sockaddr_in sa = server_addr(port);
  return connect(fd, (struct sockaddr *)&sa, sizeof sa);
}

/* A connected pair: the client fd in *c, the accepted server fd in *s. */
static void pair(int lfd, int kind, long i, int port, int *c, int *s) {
  *c = client(kind, i, 0);
  if (connect_to(*c, port) < 0) die("connect");
  *s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (*s < 0) die("accept");
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static long arg(int argc, char **argv, const char *name, long fallback) {
  size_t n = strlen(name);
  for (int i = 1; i < argc; i++)
    if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') return strtol(argv[i] + n + 1, NULL, 10);
  return fallback;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_term(int sig) { (void)sig; stop = 1; }

/* TIME_WAIT: connect, accept, the client closes first, then the server. Fresh source address per batch. */
static long make_time_wait(int lfd, long count, int batch) {
  long made = 0;
  for (long i = 0; i < count && i < EPH_PORTS; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    struct sockaddr_in sa = addr4(127, 7, shard, 1 + batch % 250, EPH_FIRST + (int)i);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || connect_to(fd, PORT_TW) < 0) {
      close(fd);
      continue;
    }
    int s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    close(fd);
    if (s >= 0) close(s);
    made++;
  }
  return made;
}

int main(int argc, char **argv) {
  shard = (int)arg(argc, argv, "--shard", 0);
  long est = arg(argc, argv, "--established", 0);
  long cw = arg(argc, argv, "--close-wait", 0);
  long fw1 = arg(argc, argv, "--fin-wait1", 0);
  long la = arg(argc, argv, "--last-ack", 0);
  long half = arg(argc, argv, "--half-open", 0);
  long tw = arg(argc, argv, "--time-wait", 0);
  long queued = arg(argc, argv, "--queued", 0);
  long keepalive_every = arg(argc, argv, "--keepalive-every", 10);
  long unread_every = arg(argc, argv, "--unread-every", 20);
  long unsent = arg(argc, argv, "--unsent", 10);
  long tw_every = arg(argc, argv, "--tw-every", 20);
  long max_seconds = arg(argc, argv, "--max-seconds", 3600);
  if (shard < 0 || shard > 250) { fprintf(stdout, "ERROR bad --shard\n"); return 2; }

  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  signal(SIGPIPE, SIG_IGN);

  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  long need = 2 * (est + cw + fw1) + la + half + queued + 64;
  if ((long)rl.rlim_cur < need) {
    fprintf(stdout, "ERROR shard %d needs %ld fds, the limit is %ld\n", shard, need, (long)rl.rlim_cur);
    return 2;
  }

  int l_est = listener(PORT_EST, 4096), l_cw = listener(PORT_CW, 4096), l_fw1 = listener(PORT_FW1, 4096);
  int l_la = listener(PORT_LA, 4096), l_half = listener(PORT_HALF, 4096), l_tw = listener(PORT_TW, 4096);
  int l_q = listener(PORT_QUEUE, (int)(queued + 16));
  (void)l_half;
  (void)l_q;

  static char payload[65536];
  memset(payload, 'x', sizeof payload);
  int c, s, one = 1;

  /* ESTABLISHED pairs: some with keepalive, some with unread bytes, a few with unsent bytes. */
  for (long i = 0; i < est; i++) {
    pair(l_est, 2, i, PORT_EST, &c, &s);
    if (keepalive_every > 0 && i % keepalive_every == 0) setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    if (unread_every > 0 && i % unread_every == 1) {
      if (write(s, payload, 100) != 100) die("write unread");
    }
    if (i < unsent) {
      /* The server never reads: its receive buffer fills, the rest waits in the client's send queue. */
      set_nonblock(c);
      for (int k = 0; k < 64; k++)
        if (write(c, payload, sizeof payload) < 0) break;
    }
  }
  /* CLOSE_WAIT on the server, FIN_WAIT2 on the client. */
  for (long i = 0; i < cw; i++) {
    pair(l_cw, 3, i, PORT_CW, &c, &s);
    shutdown(c, SHUT_WR);
  }
  /* FIN_WAIT1: the client's FIN is dropped; it retransmits it for a long time. */
  for (long i = 0; i < fw1; i++) {
    pair(l_fw1, 4, i, PORT_FW1, &c, &s);
    shutdown(c, SHUT_WR);
  }
  /* LAST_ACK: the server closes after the client's FIN, its own FIN is dropped. */
  for (long i = 0; i < la; i++) {
    pair(l_la, 5, i, PORT_LA, &c, &s);
    shutdown(c, SHUT_WR); /* on loopback the FIN is delivered before shutdown() returns */
    close(s);
  }
  /* SYN_SENT / SYN_RECV: the listener's SYN-ACKs are dropped. */
  for (long i = 0; i < half; i++) {
    int fd = client(6, i, 1);
    if (connect_to(fd, PORT_HALF) < 0 && errno != EINPROGRESS) die("connect half-open");
  }
  /* LISTEN with a non-empty accept queue. */
  for (long i = 0; i < queued; i++) {
    int fd = client(8, i, 0);
    if (connect_to(fd, PORT_QUEUE) < 0) die("connect queued");
  }
  int batch = 0;
  long tw_made = make_time_wait(l_tw, tw, batch++);
  fprintf(stdout, "READY {\"shard\":%d,\"established\":%ld,\"close_wait\":%ld,\"fin_wait1\":%ld,\"last_ack\":%ld,\"half_open\":%ld,\"time_wait\":%ld,\"queued\":%ld}\n",
          shard, est, cw, fw1, la, half, tw_made, queued);
  fflush(stdout);

  double start = now_s(), last_tw = start;
  struct pollfd pfd = {.fd = 0, .events = POLLIN};
  while (!stop && now_s() - start < (double)max_seconds) {
    int r = poll(&pfd, 1, 1000);
    if (r > 0) {
      char buf[64];
      ssize_t n = read(0, buf, sizeof buf);
      if (n <= 0) break; /* stdin closed: the bench is gone */
    }
    if (tw > 0 && tw_every > 0 && now_s() - last_tw >= (double)tw_every) {
      make_time_wait(l_tw, tw / 3 + 1, batch++);
      last_tw = now_s();
    }
  }
  return 0;
}
